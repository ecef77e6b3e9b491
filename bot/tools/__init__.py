"""Operator tools beside the bot: the demo, replay of saved feeds, export/import of chats, health and listings."""
