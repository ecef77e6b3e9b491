"""Repositories over one transaction. They take and return frozen records; ORM rows never leave here."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, func, insert, or_, select, text
from sqlalchemy.orm import Session

from bot.domain import Feed, FeedState, Item
from bot.storage.heartbeats import live
from bot.storage.models import FeedRow, ItemRow, ItemTopicRow

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


@dataclass(frozen=True, slots=True)
class StoredItem:
    """An item as stored: its id, the item, its topics (sorted) and the story it joined, if any."""

    id: int
    item: Item
    topics: tuple[str, ...]
    story_id: int | None


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


def _item(row: ItemRow, feed_name: str) -> Item:
    return Item(
        feed=feed_name,
        outlet=row.outlet,
        guid=row.guid,
        link=row.link,
        title=row.title,
        summary=row.summary,
        content=row.content,
        language=row.language,
        published=row.published_at,
        fetched=row.fetched_at,
        published_estimated=row.published_estimated,
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

    def due(self, now: datetime, *, claim: Claim | None = None) -> list[FeedState]:
        """Enabled feeds whose next check is at or before `now`, the longest waiting first.

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
            .where(FeedRow.disabled.is_(False), due)
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
        the same event, and each story is alerted. A no-op on SQLite, where the transaction holds the
        database's write lock anyway.
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


@dataclass(frozen=True, slots=True)
class KnownKeys:
    """The dedupe keys of a batch that some stored item already has."""

    guids: frozenset[str]
    links: frozenset[str]
    title_keys: frozenset[str]


# IN lists stay well under SQLite's and PostgreSQL's parameter limits.
_CHUNK = 500


def _chunks(values: Sequence[str]) -> list[Sequence[str]]:
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]


class ItemRepository:
    """Stored feed items and the topics they matched."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def find_duplicate(self, item: Item, *, feed_name: str, title_key: str, since: datetime) -> str | None:
        """The link of a stored item that `item` repeats, or None when it is new.

        Checked in order: the same guid in the same feed; the same canonical link in any feed; the same
        normalized title (`title_key`) from the same outlet, published at or after `since`.
        """
        queries = []
        if item.guid:
            queries.append(
                select(ItemRow.link)
                .join(FeedRow, ItemRow.feed_id == FeedRow.id)
                .where(FeedRow.name == feed_name, ItemRow.guid == item.guid)
            )
        if item.link:
            queries.append(select(ItemRow.link).where(ItemRow.link == item.link))
        # An empty key would make every untitled item of an outlet a copy of the first one.
        if title_key:
            queries.append(
                select(ItemRow.link).where(
                    ItemRow.outlet == item.outlet,
                    ItemRow.title_key == title_key,
                    ItemRow.published_at >= since,
                )
            )
        for query in queries:
            link = self._session.scalars(query.order_by(ItemRow.id).limit(1)).first()
            if link is not None:
                return link
        return None

    def add(self, item: Item, *, title_key: str, topics: Sequence[str]) -> int:
        """Store `item` (its feed must be stored) with its topics; returns the new item's id."""
        feed_id = self._session.scalars(select(FeedRow.id).where(FeedRow.name == item.feed)).one_or_none()
        if feed_id is None:
            raise KeyError(f"feed {item.feed!r} of item {item.link} is not in the database")
        row = ItemRow(
            feed_id=feed_id,
            outlet=item.outlet,
            guid=item.guid,
            link=item.link,
            title=item.title,
            title_key=title_key,
            summary=item.summary,
            content=item.content,
            language=item.language,
            published_at=item.published,
            fetched_at=item.fetched,
            published_estimated=item.published_estimated,
            story_id=None,
        )
        self._session.add(row)
        self._session.flush()  # assigns row.id
        self._session.add_all(ItemTopicRow(item_id=row.id, topic=topic) for topic in sorted(set(topics)))
        self._session.flush()
        return row.id

    def add_many(self, items: Sequence[tuple[Item, str]]) -> list[int]:
        """Store (item, title_key) pairs that matched no topic, in one INSERT; their ids, in the same order.

        Most items of a feed match no topic and are kept only as dedupe keys: one statement for all of them
        instead of a flush each (bench/poll_scale.py measured the store step at more than half a first cycle).
        """
        if not items:
            return []
        feed_ids: dict[str, int] = {}
        for name in {item.feed for item, _ in items}:
            feed_id = self._session.scalars(select(FeedRow.id).where(FeedRow.name == name)).one_or_none()
            if feed_id is None:
                raise KeyError(f"feed {name!r} is not in the database")
            feed_ids[name] = feed_id
        rows = [
            {
                "feed_id": feed_ids[item.feed], "outlet": item.outlet, "guid": item.guid, "link": item.link,
                "title": item.title, "title_key": key, "summary": item.summary, "content": item.content,
                "language": item.language, "published_at": item.published, "fetched_at": item.fetched,
                "published_estimated": item.published_estimated, "story_id": None,
            }
            for item, key in items
        ]
        statement = insert(ItemRow).returning(ItemRow.id, sort_by_parameter_order=True)
        return list(self._session.scalars(statement, rows).all())

    def known_keys(
        self, *, feed_name: str, outlet: str, guids: Collection[str], links: Collection[str],
        title_keys: Collection[str],
    ) -> KnownKeys:
        """Which of these guids (in this feed), links (anywhere) and title keys (of this outlet) are stored.

        A superset test: the title keys ignore the dedupe window, so a key found here still needs the exact
        check of `find_duplicate`; a key not found here cannot be a duplicate.
        """
        feed_id = self._session.scalars(select(FeedRow.id).where(FeedRow.name == feed_name)).one_or_none()
        found_guids: set[str] = set()
        found_links: set[str] = set()
        found_titles: set[str] = set()
        for chunk in _chunks(sorted(set(guids) - {""})):
            found_guids.update(self._session.scalars(
                select(ItemRow.guid).where(ItemRow.feed_id == feed_id, ItemRow.guid.in_(chunk))
            ))
        for chunk in _chunks(sorted(set(links) - {""})):
            found_links.update(self._session.scalars(select(ItemRow.link).where(ItemRow.link.in_(chunk))))
        for chunk in _chunks(sorted(set(title_keys) - {""})):
            found_titles.update(self._session.scalars(
                select(ItemRow.title_key).where(ItemRow.outlet == outlet, ItemRow.title_key.in_(chunk))
            ))
        return KnownKeys(frozenset(found_guids), frozenset(found_links), frozenset(found_titles))

    def _topics(self, item_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
        found: dict[int, list[str]] = {item_id: [] for item_id in item_ids}
        if item_ids:
            rows = self._session.execute(
                select(ItemTopicRow.item_id, ItemTopicRow.topic)
                .where(ItemTopicRow.item_id.in_(item_ids))
                .order_by(ItemTopicRow.item_id, ItemTopicRow.topic)
            )
            for item_id, topic in rows:
                found[item_id].append(topic)
        return {item_id: tuple(topics) for item_id, topics in found.items()}

    def get(self, item_id: int) -> StoredItem:
        """The stored item with id `item_id`; KeyError when there is none."""
        result = self._session.execute(
            select(ItemRow, FeedRow.name)
            .join(FeedRow, ItemRow.feed_id == FeedRow.id)
            .where(ItemRow.id == item_id)
        ).one_or_none()
        if result is None:
            raise KeyError(f"item {item_id} is not in the database")
        row, feed_name = result
        return StoredItem(row.id, _item(row, feed_name), self._topics([row.id])[row.id], row.story_id)

    def count(self) -> int:
        """How many items are stored."""
        return self._session.scalar(select(func.count()).select_from(ItemRow)) or 0

    def count_since(self, since: datetime) -> int:
        """How many items were fetched at or after `since` (the admin report's daily count)."""
        query = select(func.count()).select_from(ItemRow).where(ItemRow.fetched_at >= since)
        return self._session.scalar(query) or 0

    def latest_published(self) -> dict[str, datetime]:
        """Each feed's newest stored item's publication time, by feed name (feeds with no item absent)."""
        rows = self._session.execute(
            select(FeedRow.name, func.max(ItemRow.published_at))
            .join(ItemRow, ItemRow.feed_id == FeedRow.id)
            .group_by(FeedRow.name)
        )
        return {name: latest for name, latest in rows if latest is not None}

    def prune(self, before: datetime) -> int:
        """Delete items published before `before` that belong to no story; returns how many went.

        Story sources stay, so /story keeps every source link; what goes is the items that matched no topic,
        kept only as dedupe keys. If a feed still lists one, it is stored again as what it was, an item that
        matches no topic: no story, no alert.
        """
        old = select(ItemRow.id).where(ItemRow.published_at < before, ItemRow.story_id.is_(None))
        self._session.execute(delete(ItemTopicRow).where(ItemTopicRow.item_id.in_(old)))
        result = self._session.execute(
            delete(ItemRow).where(ItemRow.published_at < before, ItemRow.story_id.is_(None))
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def recent_matched(self, topic: str | None, limit: int) -> list[StoredItem]:
        """Up to `limit` items that matched `topic` (any topic when None), newest published first."""
        if limit <= 0:
            return []
        matched = select(ItemTopicRow.item_id).where(ItemTopicRow.item_id == ItemRow.id)
        if topic is not None:
            matched = matched.where(ItemTopicRow.topic == topic)
        results = self._session.execute(
            select(ItemRow, FeedRow.name)
            .join(FeedRow, ItemRow.feed_id == FeedRow.id)
            .where(exists(matched))
            .order_by(ItemRow.published_at.desc(), ItemRow.id.desc())
            .limit(limit)
        ).all()
        rows = [(row, name) for row, name in results]
        topics = self._topics([row.id for row, _ in rows])
        return [StoredItem(row.id, _item(row, name), topics[row.id], row.story_id) for row, name in rows]
