"""Text helpers, one copy of each: writing systems by code point (scripts), sentences, page clutter, event dates,
language by script."""
