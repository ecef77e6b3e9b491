"""Records the services return: plain frozen values the handlers render (no Telegram types, no rows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain import (
    ChatKind,
    OutboxEntry,
    Story,
)

# --- records the services return ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChatRef:
    """The chat a request is about, as the transport saw it: Telegram id, kind, a title to store, and the
    language of whoever wrote (the chat's language if the chat is new)."""

    id: int
    kind: ChatKind
    title: str
    language: str = "en"


@dataclass(frozen=True, slots=True)
class Subscription:
    """A chat's topics after a change: what was added, what was removed, what it follows now."""

    chat_id: int
    added: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: tuple[str, ...]  # asked for but already so (already subscribed, or not subscribed)
    topics: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Listing:
    """Stories for a chat and the topics they were chosen from (`all_topics` when the chat follows none)."""

    stories: tuple[Story, ...]
    topics: tuple[str, ...]
    all_topics: bool


@dataclass(frozen=True, slots=True)
class FeedHealth:
    """A configured feed with how its polling goes: state is ok, new, retrying, failing or disabled."""

    name: str
    outlet: str
    language: str
    state: str
    errors: int = 0
    last_error: str | None = None
    last_success_at: datetime | None = None
    disabled_reason: str | None = None
    malformed: str | None = None

    @property
    def healthy(self) -> bool:
        """Whether the feed's last polls worked (a feed not polled yet is not unhealthy)."""
        return self.state in ("ok", "new")


@dataclass(frozen=True, slots=True)
class Status:
    """What an operator checks first: queue, last poll, failing feeds, chats, stories, delivery failures."""

    pending: int
    outbox: tuple[tuple[str, int], ...]  # (status, rows) for each outbox status
    last_poll: datetime | None
    feeds: int
    failing: tuple[FeedHealth, ...]
    chats_active: int
    chats_inactive: int
    stories: int
    recent_failures: tuple[OutboxEntry, ...]
    config_source: str
    now: datetime


@dataclass(frozen=True, slots=True)
class ReloadResult:
    """The outcome of re-reading feeds.yaml: on failure the old config stays and `problems` says why."""

    ok: bool
    source: str
    problems: tuple[str, ...] = ()
    topics: int = 0
    feeds: int = 0
    actions: int = 0
    added_feeds: tuple[str, ...] = ()
    removed_feeds: tuple[str, ...] = ()
