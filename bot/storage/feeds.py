"""The feeds table: configured feeds and their polling state, and how workers claim due feeds. Rows never leave here."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, text, true
from sqlalchemy.orm import Session

from bot.domain import Feed, FeedState
from bot.storage.heartbeats import live
from bot.storage.models import FeedRow

REMOVED_FROM_CONFIG = "removed from config"
# The PostgreSQL advisory lock key of the story step (any fixed number no other lock of the bot uses).
STORY_LOCK_KEY = 0x0AD0_5707


@dataclass(frozen=True, slots=True)
class Claim:
    """How a worker sharing the database takes due feeds: how many at a time, for how long, as whom."""

    owner: str
    batch: int
    hold: timedelta  # far longer than one poll: only a claimant that died loses it before the poll ends
    live_within: timedelta  # a claimant whose worker beat is older than this is gone



def _feed_state(row: FeedRow) -> FeedState:
    return FeedState(
        name=row.name,
        url=row.url,
        etag=row.etag,
        last_modified=row.last_modified,
        body_hash=row.body_hash,
        next_check_at=row.next_check_at,
        error_count=row.error_count,
        last_error=row.last_error,
        last_error_at=row.last_error_at,
        last_success_at=row.last_success_at,
        disabled=row.disabled,
        disabled_reason=row.disabled_reason,
        malformed=row.malformed,
    )


class FeedRepository:
    """Configured feeds and their polling state."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def _row(self, name: str) -> FeedRow:
        row = self._session.scalars(select(FeedRow).where(FeedRow.name == name)).one_or_none()
        if row is None:
            raise KeyError(f"feed {name!r} is not in the database")
        return row

    def sync(self, feeds: Sequence[Feed], now: datetime) -> None:
        """Make the stored feeds match the configured ones, keeping each feed's health and history."""
        names = [feed.name for feed in feeds]
        # Workers reloading one feeds.yaml together would each insert its new feeds (the second insert
        # fails on the unique name); one at a time, the later ones find them stored.
        self.lock_stories()
        if len(set(names)) != len(names):
            raise ValueError(f"feed names repeat: {sorted(n for n in set(names) if names.count(n) > 1)}")
        rows = {row.name: row for row in self._session.scalars(select(FeedRow))}

        for feed in feeds:
            row = rows.get(feed.name)
            if row is None:
                self._session.add(
                    FeedRow(
                        name=feed.name,
                        config_url=feed.url,
                        url=feed.url,
                        next_check_at=now,
                        error_count=0,
                        disabled=False,
                        created_at=now,
                        updated_at=now,
                    )
                )
                continue
            url_changed = row.config_url != feed.url
            if url_changed:
                # The operator pointed the feed elsewhere: forget redirects and validators of the old URL,
                # and look at the new one now rather than after the old backoff.
                row.config_url = feed.url
                row.url = feed.url
                row.etag = None
                row.last_modified = None
                row.body_hash = None
                row.malformed = None
                row.next_check_at = min(row.next_check_at, now)
                row.updated_at = now
            # A feed disabled by its server (410 Gone) stays off until the operator changes its URL;
            # one disabled only because it left feeds.yaml comes back when it returns.
            if row.disabled and (url_changed or row.disabled_reason == REMOVED_FROM_CONFIG):
                row.disabled = False
                row.disabled_reason = None
                row.next_check_at = min(row.next_check_at, now)
                row.updated_at = now

        configured = set(names)
        for name, row in rows.items():
            # A feed already disabled keeps its reason: "gone" says more than "removed".
            if name not in configured and not row.disabled:
                row.disabled = True
                row.disabled_reason = REMOVED_FROM_CONFIG
                row.updated_at = now

    def due(
        self, now: datetime, *, claim: Claim | None = None, among: Collection[str] | None = None
    ) -> list[FeedState]:
        """Enabled feeds whose next check is at or before `now`, the longest waiting first.

        `among`: only these feed names. A worker claims only the feeds of its own config: one that has not
        yet reloaded a feeds.yaml another worker has synced would otherwise claim the new feed, skip it,
        and hold it from the others until the claim ran out.

        With `claim`, at most claim.batch feeds, claimed for claim.owner: their next check moves to the
        claim's end in the same transaction (on PostgreSQL the rows are locked with SKIP LOCKED, so two
        workers asking at once get different feeds), and the poll then sets the real next check. A feed still
        showing the claim's end is due again at once when its claimant is no live worker (killed, or
        stopped), else when the claim runs out.
        """
        due = FeedRow.next_check_at <= now
        if claim is not None:
            abandoned = and_(
                FeedRow.claimed_by.is_not(None),
                FeedRow.claimed_by != claim.owner,
                FeedRow.next_check_at == FeedRow.claimed_until,  # the poll, which rewrites it, never came
                ~live(FeedRow.claimed_by, now - claim.live_within),
            )
            due = or_(due, abandoned)
        query = (
            select(FeedRow)
            .where(FeedRow.disabled.is_(False), due, true() if among is None else FeedRow.name.in_(among))
            .order_by(FeedRow.next_check_at, FeedRow.name)
            .limit(None if claim is None else claim.batch)
        )
        if claim is None:
            return [_feed_state(row) for row in self._session.scalars(query)]
        # SQLite renders no FOR UPDATE; its BEGIN IMMEDIATE already lets one writer at a time in.
        rows = list(self._session.scalars(query.with_for_update(skip_locked=True)))
        states = [_feed_state(row) for row in rows]  # as they were: the poll reads the state it claimed
        until = now + claim.hold
        for row in rows:
            row.next_check_at = row.claimed_until = until
            row.claimed_by = claim.owner
        self._session.flush()
        return states

    def lock_stories(self) -> None:
        """Hold the story step's lock until this transaction ends: one worker at a time stores items.

        Clustering reads the stories others write; two workers storing at once would each open a story for
        the same event, and each story is alerted. `sync` takes it too, so workers syncing one feeds.yaml do
        not both insert a new feed. A no-op on SQLite, where the transaction holds the database's write lock
        anyway.
        """
        if self._session.get_bind().dialect.name == "postgresql":
            self._session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": STORY_LOCK_KEY})

    def get(self, name: str) -> FeedState:
        """The stored state of feed `name`; KeyError when there is none."""
        return _feed_state(self._row(name))

    def all(self) -> list[FeedState]:
        """Every stored feed, disabled ones included, by name."""
        return [_feed_state(row) for row in self._session.scalars(select(FeedRow).order_by(FeedRow.name))]

    def record_fetched(
        self,
        name: str,
        now: datetime,
        *,
        next_check_at: datetime,
        etag: str | None,
        last_modified: str | None,
        body_hash: str | None,
        new_url: str | None,
        malformed: str | None,
    ) -> None:
        """A body was fetched: store its validators, clear the error state, follow a permanent redirect."""
        row = self._row(name)
        row.etag = etag
        row.last_modified = last_modified
        row.body_hash = body_hash
        row.malformed = malformed
        if new_url:
            row.url = new_url
        self._succeeded(row, now, next_check_at)

    def record_not_modified(
        self, name: str, now: datetime, *, next_check_at: datetime, new_url: str | None = None
    ) -> None:
        """The server answered 304 (or the same body): a success that keeps the stored validators."""
        row = self._row(name)
        if new_url:
            row.url = new_url
        self._succeeded(row, now, next_check_at)

    @staticmethod
    def _succeeded(row: FeedRow, now: datetime, next_check_at: datetime) -> None:
        row.error_count = 0
        row.last_error = None
        row.last_error_at = None
        row.last_success_at = now
        row.next_check_at = next_check_at
        row.updated_at = now

    def record_failure(
        self, name: str, now: datetime, *, reason: str, next_check_at: datetime, disable: bool = False
    ) -> None:
        """A fetch or parse failed: count it and keep the reason; `disable` (410 Gone) stops polling."""
        row = self._row(name)
        row.error_count += 1
        row.last_error = reason
        row.last_error_at = now
        row.next_check_at = next_check_at
        if disable:
            row.disabled = True
            row.disabled_reason = reason
        row.updated_at = now
