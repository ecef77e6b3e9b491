"""Storage: SQLAlchemy models, repositories returning domain records, and units of work."""

from __future__ import annotations

from bot.storage.db import Database, sqlite_url
from bot.storage.repositories import FeedRepository, ItemRepository, StoredItem
from bot.storage.unit_of_work import UnitOfWork

__all__ = ["Database", "FeedRepository", "ItemRepository", "StoredItem", "UnitOfWork", "sqlite_url"]
