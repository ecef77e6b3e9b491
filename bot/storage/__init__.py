"""Storage: SQLAlchemy models, one repository per table returning domain records, and units of work."""

from __future__ import annotations

from bot.storage.chats import ChatRepository
from bot.storage.db import Database, sqlite_url
from bot.storage.feeds import FeedRepository
from bot.storage.heartbeats import HeartbeatRepository
from bot.storage.items import ItemRepository, StoredItem
from bot.storage.outbox import OutboxRepository
from bot.storage.stories import StoryRepository
from bot.storage.unit_of_work import UnitOfWork

__all__ = [
    "ChatRepository",
    "Database",
    "FeedRepository",
    "HeartbeatRepository",
    "ItemRepository",
    "OutboxRepository",
    "StoredItem",
    "StoryRepository",
    "UnitOfWork",
    "sqlite_url",
]
