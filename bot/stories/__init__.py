"""The story step: analyse each matched item once, put it into its story, and say what the story tells."""
