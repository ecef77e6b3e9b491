"""The outbox: messages owed to chats about stories, written with the story, drained by delivery."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Exists, Select, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from bot.domain import DeliveryMode, OutboxEntry, OutboxKind, OutboxStatus, Urgency
from bot.storage.heartbeats import live
from bot.storage.models import ChatRow, OutboxRow, StoryRow, SubscriptionRow

# Rows per INSERT statement in enqueue.
INSERT_CHUNK = 500


def _entry(row: OutboxRow, chat_id: int) -> OutboxEntry:
    return OutboxEntry(
        id=row.id,
        story_id=row.story_id,
        chat_id=chat_id,
        kind=OutboxKind(row.kind),
        status=OutboxStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
        message_id=row.message_id,
        sent_at=row.sent_at,
        sent_revision=row.sent_revision,
        sent_urgency=None if row.sent_urgency is None else Urgency(row.sent_urgency),
        edited_at=row.edited_at,
        last_error=row.last_error,
    )


def _waits_for_followed_story() -> Exists:
    """Whether the row's story follows another whose alert to the same chat is still pending (correlated
    with OutboxRow and StoryRow of the enclosing query)."""
    followed = aliased(OutboxRow)
    return exists().where(
        StoryRow.follow_up_of.is_not(None),
        followed.story_id == StoryRow.follow_up_of,
        followed.chat_id == OutboxRow.chat_id,
        followed.kind == OutboxKind.ALERT.value,
        followed.status == OutboxStatus.PENDING.value,
    )


def _entries_query() -> Select[OutboxRow, int]:
    return select(OutboxRow, ChatRow.telegram_id).join(ChatRow, ChatRow.id == OutboxRow.chat_id)


def _claimable(now: datetime, limit: int, live_since: datetime) -> Select[OutboxRow, int]:
    """Pending rows due at `now` that no live claim holds and no pending followed alert holds back."""
    return (
        _entries_query()
        .join(StoryRow, StoryRow.id == OutboxRow.story_id)
        .where(
            OutboxRow.status == OutboxStatus.PENDING.value,
            OutboxRow.next_attempt_at <= now,
            or_(
                OutboxRow.claimed_until.is_(None),
                OutboxRow.claimed_until <= now,
                ~live(OutboxRow.claimed_by, live_since),
            ),
            ~_waits_for_followed_story(),
        )
        .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
        .limit(limit)
    )


class OutboxRepository:
    """Outbox rows, one per (story, chat, kind); entries name chats by their Telegram id."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def enqueue(self, story_id: int, now: datetime) -> int:
        """Owe the story to the chats that should hear of it now; returns how many rows were created.

        ALERT: every active immediate-mode chat subscribed to one of the story's topics since before the story
        was stored (old stories are not pushed to new subscribers), urgent-only chats only for urgent stories.
        FOLLOWUP: the story is urgent now and the chat's alert went out while it was an update.
        Calling it again creates nothing that exists: the unique key decides, without raising.
        """
        story = self._session.execute(
            select(StoryRow.topics, StoryRow.urgency, StoryRow.created_at).where(StoryRow.id == story_id)
        ).one_or_none()
        if story is None:
            raise KeyError(f"story {story_id} is not in the database")
        topics: list[str] = json.loads(story.topics)
        urgent = story.urgency == Urgency.URGENT.value

        alert_chats: list[int] = []
        if topics:
            query = (
                select(ChatRow.id)
                .join(SubscriptionRow, SubscriptionRow.chat_id == ChatRow.id)
                .where(
                    ChatRow.active.is_(True),
                    ChatRow.mode == DeliveryMode.IMMEDIATE.value,
                    SubscriptionRow.topic.in_(topics),
                    # Per topic: a chat that added this topic after the story began is not pushed it either.
                    SubscriptionRow.created_at <= story.created_at,
                )
                .distinct()
            )
            if not urgent:
                query = query.where(ChatRow.urgent_only.is_(False))
            alert_chats = sorted(self._session.scalars(query))
        created = self._insert_absent(story_id, alert_chats, OutboxKind.ALERT, now)

        if urgent:
            followup_chats = sorted(
                self._session.scalars(
                    select(OutboxRow.chat_id)
                    .join(ChatRow, ChatRow.id == OutboxRow.chat_id)
                    .where(
                        OutboxRow.story_id == story_id,
                        OutboxRow.kind == OutboxKind.ALERT.value,
                        OutboxRow.status == OutboxStatus.SENT.value,
                        OutboxRow.sent_urgency == Urgency.UPDATE.value,
                        ChatRow.active.is_(True),
                    )
                )
            )
            created += self._insert_absent(story_id, followup_chats, OutboxKind.FOLLOWUP, now)
        return created

    def due(self, now: datetime, limit: int) -> list[OutboxEntry]:
        """Pending rows whose next attempt is due at `now`, the longest waiting first: what is owed now,
        whoever sends it (delivery takes its rows with `claim`)."""
        query = (
            _entries_query()
            .where(OutboxRow.status == OutboxStatus.PENDING.value, OutboxRow.next_attempt_at <= now)
            .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
            .limit(limit)
        )
        return [_entry(row, chat_id) for row, chat_id in self._session.execute(query)]

    def claim(
        self, now: datetime, limit: int, owner: str, until: datetime, *, live_since: datetime
    ) -> list[OutboxEntry]:
        """The due rows to send next, claimed by `owner` until `until`; the longest waiting first.

        Left out: rows another worker's claim holds (until it runs out, or at once when that worker has not
        beaten since `live_since`: it was killed or stopped), and a follow-up story's row while the chat's alert
        of the story it follows is still pending: a reader must never get the sequel before the story (a
        retried or postponed first alert would otherwise be overtaken); once that alert is sent or given up,
        the follow-up goes. On PostgreSQL the rows are locked with SKIP LOCKED, so workers claiming at once
        get different rows; SQLite lets one writer in at a time. Only outbox rows are locked, never chats
        or stories.
        """
        query = _claimable(now, limit, live_since).with_for_update(of=OutboxRow, skip_locked=True)
        found = list(self._session.execute(query))
        if found:
            self._session.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_([row.id for row, _ in found]))
                .values(claimed_by=owner, claimed_until=until)
                .execution_options(synchronize_session=False)
            )
        return [_entry(row, chat_id) for row, chat_id in found]

    def held_by(self, entry_id: int, owner: str, now: datetime) -> bool:
        """Whether `owner`'s claim on the row still stands (a claim that ran out may be another's now)."""
        row = self._require(entry_id)
        return row.claimed_by == owner and row.claimed_until is not None and row.claimed_until > now

    def release_all(self) -> int:
        """Drop every claim (only when no other worker can be running: SQLite's single process, at start);
        returns how many rows were claimed."""
        result = self._session.execute(
            update(OutboxRow)
            .where(OutboxRow.claimed_by.is_not(None))
            .values(claimed_by=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def release(self, entry_ids: Sequence[int], owner: str) -> None:
        """Give back `owner`'s claims on these rows (those it did not get to), so any worker may send them."""
        if entry_ids:
            self._session.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_(list(entry_ids)), OutboxRow.claimed_by == owner)
                .values(claimed_by=None, claimed_until=None)
                .execution_options(synchronize_session=False)
            )

    def get(self, entry_id: int) -> OutboxEntry:
        """The row with this id; KeyError when there is none."""
        found = self._session.execute(_entries_query().where(OutboxRow.id == entry_id)).one_or_none()
        if found is None:
            raise KeyError(f"outbox entry {entry_id} is not in the database")
        return _entry(*found)

    def mark_sent(self, entry_id: int, message_id: int, revision: int, urgency: Urgency, now: datetime) -> None:
        """The message went out as Telegram message `message_id`, showing the story at `revision`."""
        row = self._require(entry_id)
        row.status = OutboxStatus.SENT.value
        row.message_id = message_id
        row.sent_at = now
        row.sent_revision = revision
        row.sent_urgency = urgency.value
        row.claimed_by = row.claimed_until = None
        self._session.flush()

    def mark_retry(self, entry_id: int, next_attempt_at: datetime, error: str) -> None:
        """An attempt failed for now: count it, keep the row pending, try again at `next_attempt_at`."""
        row = self._require(entry_id)
        row.attempts += 1
        row.next_attempt_at = next_attempt_at
        row.last_error = error
        row.claimed_by = row.claimed_until = None
        self._session.flush()

    def mark_failed(self, entry_id: int, reason: str, now: datetime) -> None:
        """Give up on the row, with a reason an admin can read."""
        row = self._require(entry_id)
        row.status = OutboxStatus.FAILED.value
        row.last_error = reason
        row.failed_at = now
        row.claimed_by = row.claimed_until = None
        self._session.flush()

    def postpone_chat(self, chat_id: int, until: datetime) -> None:
        """Hold every pending row of the chat (Telegram id) until at least `until` (Telegram asked to wait)."""
        chat_pk = select(ChatRow.id).where(ChatRow.telegram_id == chat_id).scalar_subquery()
        self._session.execute(
            update(OutboxRow)
            .where(
                OutboxRow.chat_id == chat_pk,
                OutboxRow.status == OutboxStatus.PENDING.value,
                OutboxRow.next_attempt_at < until,
            )
            .values(next_attempt_at=until)
            .execution_options(synchronize_session="fetch")
        )

    def edits_due(self, now: datetime, min_interval: timedelta, limit: int) -> list[OutboxEntry]:
        """Sent alerts of active chats showing an older revision than the story's, last touched at least
        `min_interval` before `now`; the longest untouched first."""
        touched = func.coalesce(OutboxRow.edited_at, OutboxRow.sent_at)
        query = (
            _entries_query()
            .join(StoryRow, StoryRow.id == OutboxRow.story_id)
            .where(
                OutboxRow.status == OutboxStatus.SENT.value,
                OutboxRow.kind == OutboxKind.ALERT.value,
                OutboxRow.message_id.is_not(None),
                StoryRow.revision > OutboxRow.sent_revision,
                touched <= now - min_interval,
                ChatRow.active.is_(True),
            )
            .order_by(touched, OutboxRow.id)
            .limit(limit)
        )
        return [_entry(row, chat_id) for row, chat_id in self._session.execute(query)]

    def mark_edited(self, entry_id: int, revision: int, now: datetime) -> None:
        """The sent message was edited to show the story at `revision`."""
        row = self._require(entry_id)
        row.sent_revision = revision
        row.edited_at = now
        self._session.flush()

    def merge(self, story_id: int, into_id: int, now: datetime) -> None:
        """Story `story_id` became part of `into_id`: what was owed about it is owed about `into_id`, and no
        chat gets a second message. A chat with no row for `into_id` has its row moved there (sent: its
        message is edited into the merged story; pending: it gets the merged story instead). A chat that has
        both keeps its sent message, edited into a pointer; a pending one is dropped."""
        rows = self._session.scalars(select(OutboxRow).where(OutboxRow.story_id == story_id)).all()
        have = {
            (chat_id, kind)
            for chat_id, kind in self._session.execute(
                select(OutboxRow.chat_id, OutboxRow.kind).where(OutboxRow.story_id == into_id)
            )
        }
        for row in rows:
            if (row.chat_id, row.kind) not in have:
                row.story_id = into_id
                if row.status == OutboxStatus.SENT.value:
                    row.sent_revision = 0  # shows another story: edit it whatever the revisions
            elif row.status == OutboxStatus.PENDING.value:
                row.status = OutboxStatus.FAILED.value
                row.last_error = f"not sent: the story became part of story {into_id}"
                row.failed_at = now
        self._session.flush()

    def pending_count(self) -> int:
        return int(
            self._session.scalar(
                select(func.count()).select_from(OutboxRow).where(OutboxRow.status == OutboxStatus.PENDING.value)
            )
            or 0
        )

    def counts(self) -> dict[str, int]:
        """Rows by status; every status is present, zero or not."""
        found = dict(
            self._session.execute(select(OutboxRow.status, func.count()).group_by(OutboxRow.status)).all()
        )
        return {status.value: int(found.get(status.value, 0)) for status in OutboxStatus}

    def recent_failures(self, limit: int, *, since: datetime | None = None) -> list[OutboxEntry]:
        """Failed rows, the most recently given up first; only those given up after `since`, when given."""
        query = _entries_query().where(OutboxRow.status == OutboxStatus.FAILED.value)
        if since is not None:
            query = query.where(OutboxRow.failed_at > since)
        query = query.order_by(OutboxRow.failed_at.desc(), OutboxRow.id.desc()).limit(limit)
        return [_entry(row, chat_id) for row, chat_id in self._session.execute(query)]

    # --- helpers ------------------------------------------------------------------------------------

    def _require(self, entry_id: int) -> OutboxRow:
        row = self._session.get(OutboxRow, entry_id)
        if row is None:
            raise KeyError(f"outbox entry {entry_id} is not in the database")
        return row

    def _insert_absent(self, story_id: int, chat_pks: Sequence[int], kind: OutboxKind, now: datetime) -> int:
        """Insert pending rows for the chats that have none of this kind for the story; returns how many."""
        if chat_pks:
            # Skip the rows that exist before asking the database: on PostgreSQL a conflicting insert still
            # uses up an id, and the story step calls this on every change of a story.
            have = set(
                self._session.scalars(
                    select(OutboxRow.chat_id).where(OutboxRow.story_id == story_id, OutboxRow.kind == kind.value)
                )
            )
            chat_pks = [pk for pk in chat_pks if pk not in have]
        if not chat_pks:
            return 0
        created = 0
        # In chunks: one statement's parameters stay far below SQLite's limit (32766) however many subscribe.
        for start in range(0, len(chat_pks), INSERT_CHUNK):
            values: list[dict[str, Any]] = [
                {
                    "story_id": story_id, "chat_id": chat_pk, "kind": kind.value,
                    "status": OutboxStatus.PENDING.value, "attempts": 0, "next_attempt_at": now, "created_at": now,
                }
                for chat_pk in chat_pks[start : start + INSERT_CHUNK]
            ]
            # ON CONFLICT DO NOTHING (both SQLite and PostgreSQL): a row another transaction inserted meanwhile
            # is skipped instead of failing the whole story step; RETURNING counts only the rows really added.
            statement = self._insert().values(values).on_conflict_do_nothing(
                index_elements=["story_id", "chat_id", "kind"]
            )
            created += len(self._session.execute(statement.returning(OutboxRow.id)).all())
        return created

    def _insert(self) -> sqlite.Insert | postgresql.Insert:
        dialect = self._session.get_bind().dialect.name
        if dialect == "sqlite":
            return sqlite.insert(OutboxRow)
        if dialect == "postgresql":
            return postgresql.insert(OutboxRow)
        raise NotImplementedError(f"the outbox supports SQLite and PostgreSQL, not {dialect}")

