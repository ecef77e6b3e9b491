"""Text helpers, one copy of each, used by every step that reads text."""
