"""Chats the bot serves and their topic subscriptions. Takes and returns bot.domain records; rows stay here."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import Select, delete, exists, func, select, update
from sqlalchemy.orm import Session

from bot.domain import Chat, ChatKind, ChatSettings, DeliveryMode, OutboxStatus
from bot.storage.models import ChatRow, OutboxRow, SubscriptionRow

# The subscription time given to imported chats that carry none: they were subscribed before this database.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _settings(row: ChatRow) -> ChatSettings:
    return ChatSettings(
        mode=DeliveryMode(row.mode),
        digest_hour=row.digest_hour,
        timezone=row.timezone,
        urgent_only=row.urgent_only,
        quiet_start=row.quiet_start,
        quiet_end=row.quiet_end,
        language=row.language,
    )


def _apply_settings(row: ChatRow, settings: ChatSettings) -> None:
    row.mode = settings.mode.value
    row.digest_hour = settings.digest_hour
    row.timezone = settings.timezone
    row.urgent_only = settings.urgent_only
    row.quiet_start = settings.quiet_start
    row.quiet_end = settings.quiet_end
    row.language = settings.language


def _chat(row: ChatRow, topics: Iterable[str]) -> Chat:
    return Chat(
        id=row.telegram_id,
        kind=ChatKind(row.kind),
        title=row.title,
        topics=tuple(sorted(topics)),
        settings=_settings(row),
        active=row.active,
        inactive_reason=row.inactive_reason,
        subscribed_at=row.subscribed_at,
        last_digest_at=row.last_digest_at,
        thread_id=row.thread_id,
        paused_until=row.paused_until,
    )


def fail_pending(session: Session, chat_pk: int, reason: str, now: datetime) -> int:
    """Mark every pending outbox row of the chat (internal id) failed with `reason`; returns how many."""
    result = session.execute(
        update(OutboxRow)
        .where(OutboxRow.chat_id == chat_pk, OutboxRow.status == OutboxStatus.PENDING.value)
        .values(status=OutboxStatus.FAILED.value, last_error=reason, failed_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return int(getattr(result, "rowcount", 0) or 0)


class ChatRepository:
    """Chats keyed by their Telegram id, with settings, topics and whether the bot can still reach them.

    Every method taking a chat id raises KeyError for a chat never stored, except get and unsubscribe.
    """

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, chat_id: int) -> Chat | None:
        """The chat with this Telegram id, or None."""
        row = self._row(chat_id)
        return None if row is None else self._to_chat(row)

    def ensure(self, chat_id: int, kind: ChatKind, title: str, now: datetime, *, language: str = "en") -> Chat:
        """The chat, created with default settings and no topics when missing; its kind and title refreshed.

        A new chat gets `language` (from the Telegram user who first wrote); an existing one keeps its own.
        """
        row = self._row(chat_id)
        if row is None:
            row = ChatRow(
                telegram_id=chat_id, kind=kind.value, title=title, active=True, inactive_reason=None,
                created_at=now, subscribed_at=None, last_digest_at=None,
            )
            _apply_settings(row, ChatSettings(language=language))
            self._session.add(row)
            self._session.flush()
        else:
            row.kind = kind.value
            row.title = title
        return self._to_chat(row)

    def subscribe(self, chat_id: int, topics: Sequence[str], now: datetime) -> tuple[str, ...]:
        """Add topics; returns those newly added. The chat becomes active again (someone is asking for it)."""
        row = self._require(chat_id)
        have = set(self._topics(row.id))
        added = tuple(t for t in dict.fromkeys(topics) if t not in have)
        for topic in added:
            self._session.add(SubscriptionRow(chat_id=row.id, topic=topic, created_at=now))
        row.active = True
        row.inactive_reason = None
        if row.subscribed_at is None:
            row.subscribed_at = now
        self._session.flush()
        return added

    def unsubscribe(self, chat_id: int, topics: Sequence[str]) -> tuple[str, ...]:
        """Remove topics; returns those actually removed (none for a chat never stored)."""
        row = self._row(chat_id)
        if row is None:
            return ()
        have = set(self._topics(row.id))
        removed = tuple(t for t in dict.fromkeys(topics) if t in have)
        if removed:
            self._session.execute(
                delete(SubscriptionRow).where(SubscriptionRow.chat_id == row.id, SubscriptionRow.topic.in_(removed))
            )
        return removed

    def set_settings(self, chat_id: int, settings: ChatSettings) -> None:
        """Replace the chat's delivery settings."""
        _apply_settings(self._require(chat_id), settings)
        self._session.flush()

    def set_thread(self, chat_id: int, thread_id: int | None) -> None:
        """Send the chat's alerts to forum topic `thread_id` (None: the chat itself, or General)."""
        self._require(chat_id).thread_id = thread_id
        self._session.flush()

    def set_pause(self, chat_id: int, until: datetime | None) -> None:
        """Hold the chat's alerts until `until` (None: not paused)."""
        self._require(chat_id).paused_until = until
        self._session.flush()

    def deactivate(self, chat_id: int, reason: str, now: datetime) -> None:
        """Stop serving the chat (blocked, kicked, gone) and fail its pending messages with `reason`."""
        row = self._require(chat_id)
        row.active = False
        row.inactive_reason = reason
        self._session.flush()
        fail_pending(self._session, row.id, reason, now)

    def move(self, chat_id: int, new_chat_id: int) -> None:
        """Follow a group upgraded to a supergroup: the chat row takes `new_chat_id`.

        When a row with the new id exists already (the supergroup was seen first), the old chat's topics are
        merged into it and its pending messages moved there (unless the new chat is owed the same one), and
        the old chat is deactivated with "moved to <new id>".
        """
        row = self._require(chat_id)
        target = self._row(new_chat_id)
        if target is None:
            row.telegram_id = new_chat_id
            if row.kind == ChatKind.GROUP.value:
                row.kind = ChatKind.SUPERGROUP.value
            self._session.flush()
            return

        reason = f"moved to {new_chat_id}"
        old = {s.topic: s.created_at for s in self._subscriptions(row.id)}
        new = {s.topic: s for s in self._subscriptions(target.id)}
        if not new:
            # The new row was only created in passing: the settings the chat chose live on the old one.
            _apply_settings(target, _settings(row))
        for topic, created_at in old.items():
            if topic in new:
                # The earlier start keeps stories that came out in between pushed as before.
                new[topic].created_at = min(new[topic].created_at, created_at)
            else:
                self._session.add(SubscriptionRow(chat_id=target.id, topic=topic, created_at=created_at))
        if row.subscribed_at is not None and (target.subscribed_at is None or row.subscribed_at < target.subscribed_at):
            target.subscribed_at = row.subscribed_at
        target.active = True
        target.inactive_reason = None
        self._session.flush()

        taken = set(
            self._session.execute(select(OutboxRow.story_id, OutboxRow.kind).where(OutboxRow.chat_id == target.id))
            .all()
        )
        pending = self._session.scalars(
            select(OutboxRow).where(OutboxRow.chat_id == row.id, OutboxRow.status == OutboxStatus.PENDING.value)
        ).all()
        for entry in pending:
            if (entry.story_id, entry.kind) not in taken:
                entry.chat_id = target.id
        self._session.flush()

        row.active = False
        row.inactive_reason = reason
        self._session.flush()
        # Only messages the new chat is owed already are left; the spec'd signature has no `now`, and this
        # time only orders the failure list.
        fail_pending(self._session, row.id, reason, datetime.now(UTC))

    def subscribers(self, topics: Sequence[str]) -> list[Chat]:
        """Active chats subscribed to any of `topics` (every delivery mode), by Telegram id."""
        if not topics:
            return []
        subscribed = exists().where(SubscriptionRow.chat_id == ChatRow.id, SubscriptionRow.topic.in_(list(topics)))
        return self._chats(select(ChatRow).where(ChatRow.active.is_(True), subscribed))

    def digest_chats(self) -> list[Chat]:
        """Active chats in digest mode with at least one topic, by Telegram id."""
        subscribed = exists().where(SubscriptionRow.chat_id == ChatRow.id)
        return self._chats(
            select(ChatRow).where(ChatRow.active.is_(True), ChatRow.mode == DeliveryMode.DIGEST.value, subscribed)
        )

    def mark_digest(self, chat_id: int, at: datetime) -> None:
        """Record that the chat's digest covering stories up to `at` was sent."""
        self._require(chat_id).last_digest_at = at
        self._session.flush()

    def all(self) -> list[Chat]:
        """Every stored chat, active or not, by Telegram id."""
        return self._chats(select(ChatRow))

    def count_active(self) -> int:
        return int(self._session.scalar(select(func.count()).where(ChatRow.active.is_(True))) or 0)

    def count_inactive(self) -> int:
        return int(self._session.scalar(select(func.count()).where(ChatRow.active.is_(False))) or 0)

    def put(self, chat: Chat) -> None:
        """Store the chat exactly as given (insert or overwrite, topics replaced): what `import` needs.

        New subscriptions start at the chat's subscribed_at, or at the epoch when it has none.
        """
        row = self._row(chat.id)
        start = chat.subscribed_at or EPOCH
        if row is None:
            row = ChatRow(telegram_id=chat.id, created_at=start)
            self._session.add(row)
        row.kind = chat.kind.value
        row.title = chat.title
        _apply_settings(row, chat.settings)
        row.active = chat.active
        row.inactive_reason = chat.inactive_reason
        row.subscribed_at = chat.subscribed_at
        row.last_digest_at = chat.last_digest_at
        row.thread_id = chat.thread_id
        row.paused_until = chat.paused_until
        self._session.flush()
        have = set(self._topics(row.id))
        wanted = set(chat.topics)
        if have - wanted:
            self._session.execute(
                delete(SubscriptionRow).where(
                    SubscriptionRow.chat_id == row.id, SubscriptionRow.topic.in_(sorted(have - wanted))
                )
            )
        for topic in sorted(wanted - have):
            self._session.add(SubscriptionRow(chat_id=row.id, topic=topic, created_at=start))
        self._session.flush()

    # --- helpers ------------------------------------------------------------------------------------

    def _row(self, chat_id: int) -> ChatRow | None:
        return self._session.scalar(select(ChatRow).where(ChatRow.telegram_id == chat_id))

    def _require(self, chat_id: int) -> ChatRow:
        row = self._row(chat_id)
        if row is None:
            raise KeyError(f"chat {chat_id} is not in the database")
        return row

    def _subscriptions(self, chat_pk: int) -> Sequence[SubscriptionRow]:
        return self._session.scalars(select(SubscriptionRow).where(SubscriptionRow.chat_id == chat_pk)).all()

    def _topics(self, chat_pk: int) -> list[str]:
        return list(self._session.scalars(select(SubscriptionRow.topic).where(SubscriptionRow.chat_id == chat_pk)))

    def _to_chat(self, row: ChatRow) -> Chat:
        return _chat(row, self._topics(row.id))

    def _chats(self, query: Select[ChatRow]) -> list[Chat]:
        rows = self._session.scalars(query.order_by(ChatRow.telegram_id)).all()
        if not rows:
            return []
        topics: dict[int, list[str]] = {}
        for chat_pk, topic in self._session.execute(
            select(SubscriptionRow.chat_id, SubscriptionRow.topic).where(
                SubscriptionRow.chat_id.in_([r.id for r in rows])
            )
        ):
            topics.setdefault(chat_pk, []).append(topic)
        return [_chat(row, topics.get(row.id, ())) for row in rows]
