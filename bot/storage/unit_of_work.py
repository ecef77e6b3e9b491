"""The repositories of one transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.storage.analyses import AnalysisRepository
from bot.storage.chats import ChatRepository
from bot.storage.feeds import FeedRepository
from bot.storage.heartbeats import HeartbeatRepository
from bot.storage.items import ItemRepository
from bot.storage.outbox import OutboxRepository
from bot.storage.stories import StoryRepository


class UnitOfWork:
    """The repositories of one transaction. Built by Database.unit_of_work, which commits or rolls back."""

    def __init__(self, session: Session) -> None:
        # The session is for repositories in bot.storage; code outside uses the repositories.
        self.session = session
        self.feeds = FeedRepository(session)
        self.items = ItemRepository(session)
        self.analyses = AnalysisRepository(session)
        self.stories = StoryRepository(session)
        self.chats = ChatRepository(session)
        self.outbox = OutboxRepository(session)
        self.heartbeats = HeartbeatRepository(session)
