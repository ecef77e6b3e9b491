"""Text helpers, one copy of each: writing systems by code point (scripts), event dates, language by script."""
