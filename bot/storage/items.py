"""The items table (with item topics): storing, deduplicating and reading items. Rows never leave here."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, exists, false, func, insert, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.domain import Item
from bot.storage.models import FeedRow, ItemAnalysisRow, ItemRow, ItemTopicRow


@dataclass(frozen=True, slots=True)
class StoredItem:
    """An item as stored: its id, the item, its topics (sorted) and the story it joined, if any."""

    id: int
    item: Item
    topics: tuple[str, ...]
    story_id: int | None


def _item(row: ItemRow, feed_name: str) -> Item:
    return Item(
        feed=feed_name,
        outlet=row.outlet,
        guid=row.guid,
        link=row.link or "",  # NULL in the database: the domain's "no link" is ''
        title=row.title,
        summary=row.summary,
        content=row.content,
        language=row.language,
        published=row.published_at,
        fetched=row.fetched_at,
        published_estimated=row.published_estimated,
    )



@dataclass(frozen=True, slots=True)
class KnownKeys:
    """The dedupe keys of a batch that some stored item already has."""

    guids: frozenset[str]
    links: frozenset[str]
    title_keys: frozenset[str]


class DuplicateReason:
    """Why a new item counts as a repeat of a stored one (the words the log and `replay` show)."""

    SAME_GUID = "same guid"
    SAME_LINK = "same link"
    SAME_TITLE = "same outlet title"


@dataclass(frozen=True, slots=True)
class Original:
    """The stored item a new one repeats: its id, link ('' when it has none), guid, story, why it is the
    same, and whether it matched a topic (an item that did not is stored only as a dedupe key, without text)."""

    id: int
    link: str
    guid: str
    story_id: int | None
    reason: str
    on_topic: bool


class ItemRejected(Exception):
    """The database refused one item; `reason` says why in a few words (no SQL). Its transaction goes on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _rejection(exc: SQLAlchemyError) -> str:
    """A short reason for a refused item: the driver's own message's first line, without the SQL SQLAlchemy
    appends (it can be long and holds feed text)."""
    cause = getattr(exc, "orig", None) or exc.__cause__ or exc
    first = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    return f"{type(cause).__name__}: {first}"[:200]


# IN lists stay well under SQLite's and PostgreSQL's parameter limits.
_CHUNK = 500


def _chunks(values: Sequence[str]) -> list[Sequence[str]]:
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]


class ItemRepository:
    """Stored feed items and the topics they matched."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def find_duplicate(self, item: Item, *, feed_name: str, title_key: str, since: datetime) -> Original | None:
        """The stored item that `item` repeats, or None when it is new.

        Checked in order: the same guid in the same feed, unless the stored entry under that guid differs in
        every key both have (link, title: some feeds give one guid to every article); the same canonical link
        in any feed; the same normalized title (`title_key`) from the same outlet, published at or after `since`.
        """
        if item.guid:
            query = (
                select(ItemRow)
                .join(FeedRow, ItemRow.feed_id == FeedRow.id)
                .where(FeedRow.name == feed_name, ItemRow.guid == item.guid, _same_entry(item.link, title_key))
            )
            row = self._session.scalars(query.order_by(ItemRow.id).limit(1)).first()
            if row is not None:
                return self._original(row, DuplicateReason.SAME_GUID)
        if item.link:
            row = self._session.scalars(select(ItemRow).where(ItemRow.link == item.link)).first()
            if row is not None:
                return self._original(row, DuplicateReason.SAME_LINK)
        # An empty key would make every untitled item of an outlet a copy of the first one.
        if title_key:
            query = select(ItemRow).where(
                ItemRow.outlet == item.outlet, ItemRow.title_key == title_key, ItemRow.published_at >= since
            )
            row = self._session.scalars(query.order_by(ItemRow.id).limit(1)).first()
            if row is not None:
                return self._original(row, DuplicateReason.SAME_TITLE)
        return None

    def _original(self, row: ItemRow, reason: str) -> Original:
        matched = self._session.scalar(select(exists().where(ItemTopicRow.item_id == row.id)))
        return Original(row.id, row.link or "", row.guid, row.story_id, reason, bool(matched))

    def upgrade(self, item_id: int, item: Item, *, title_key: str, topics: Sequence[str]) -> int:
        """Replace the stored item `item_id`, kept only as a dedupe key (it matched no topic), with `item`,
        which repeats it and matched `topics`; returns `item_id`. ItemRejected when the database refuses.

        The row becomes the on-topic copy (its feed, guid, text): a teaser stored first must not hide the
        full report, nor an entry's first version the update that made it on-topic. The stored link stays
        when `item` has none, or when another stored item already has `item`'s link.
        """
        row = self._session.get_one(ItemRow, item_id)
        link = item.link or row.link
        if link != row.link and self._session.scalar(select(exists().where(ItemRow.link == link))):
            link = row.link  # the unique key allows the link to one stored item only
        values = _row_values(item, title_key, self._feed_id(item.feed))
        try:
            with self._session.begin_nested():
                for name, value in {**values, "link": link}.items():
                    setattr(row, name, value)
                self._session.add_all(ItemTopicRow(item_id=item_id, topic=t) for t in sorted(set(topics)))
                self._session.flush()
        except SQLAlchemyError as exc:
            raise ItemRejected(_rejection(exc)) from exc
        return item_id

    def _feed_id(self, name: str) -> int:
        feed_id = self._session.scalars(select(FeedRow.id).where(FeedRow.name == name)).one_or_none()
        if feed_id is None:
            raise KeyError(f"feed {name!r} is not in the database")
        return feed_id

    def add(self, item: Item, *, title_key: str, topics: Sequence[str]) -> int:
        """Store `item` (its feed must be stored) with its topics; returns the new item's id.

        ItemRejected when the database refuses it; the transaction goes on without it (a savepoint), so one
        bad item never takes its feed's other items down with it.
        """
        row = ItemRow(**_row_values(item, title_key, self._feed_id(item.feed)), story_id=None)
        try:
            with self._session.begin_nested():
                self._session.add(row)
                self._session.flush()  # assigns row.id
                self._session.add_all(ItemTopicRow(item_id=row.id, topic=topic) for topic in sorted(set(topics)))
                self._session.flush()
        except SQLAlchemyError as exc:
            raise ItemRejected(_rejection(exc)) from exc
        return row.id

    def add_many(self, items: Sequence[tuple[Item, str]]) -> list[int | ItemRejected]:
        """Store (item, title_key) pairs that matched no topic; their ids, in the same order, or for an item
        the database refused, the ItemRejected saying why (the others are stored all the same).

        Most items of a feed match no topic and are kept only as dedupe keys: one statement for all of them
        instead of a flush each (bench/poll_scale.py measured the store step at more than half a first cycle).
        Only when that statement fails is each item tried on its own, to find the one the database refuses.
        """
        if not items:
            return []
        feed_ids = {name: self._feed_id(name) for name in {item.feed for item, _ in items}}
        rows = [{**_row_values(item, key, feed_ids[item.feed]), "story_id": None} for item, key in items]
        statement = insert(ItemRow).returning(ItemRow.id, sort_by_parameter_order=True)
        try:
            with self._session.begin_nested():
                return list(self._session.scalars(statement, rows).all())
        except SQLAlchemyError:
            pass  # rolled back to the savepoint; the loop below finds which rows were refused
        results: list[int | ItemRejected] = []
        for row in rows:
            try:
                with self._session.begin_nested():
                    results.append(self._session.scalars(statement, [row]).one())
            except SQLAlchemyError as exc:
                results.append(ItemRejected(_rejection(exc)))
        return results

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
        self._session.execute(delete(ItemAnalysisRow).where(ItemAnalysisRow.item_id.in_(old)))
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


def _row_values(item: Item, title_key: str, feed_id: int) -> dict[str, object]:
    """The column values of `item` (all but id and story_id); no link is NULL, never '' (see ItemRow)."""
    return {
        "feed_id": feed_id, "outlet": item.outlet, "guid": item.guid, "link": item.link or None,
        "title": item.title, "title_key": title_key, "summary": item.summary, "content": item.content,
        "language": item.language, "published_at": item.published, "fetched_at": item.fetched,
        "published_estimated": item.published_estimated,
    }


def _same_entry(link: str, title_key: str) -> ColumnElement[bool]:
    """Whether a stored entry under an item's guid is that item: yes unless every key both have differs.

    An entry updated in place keeps its link (or, rarely, its title); a feed that reuses one guid for its
    articles gives each a new link and title. A key one side lacks proves nothing either way. In SQL, so a
    feed with one guid for thousands of stored articles costs one indexed lookup, not a scan in Python.
    """
    link_same = ItemRow.link == link if link else false()
    title_same = ItemRow.title_key == title_key if title_key else false()
    link_known = ItemRow.link.is_not(None) if link else false()
    title_known = ItemRow.title_key != "" if title_key else false()
    return or_(link_same, title_same, and_(~link_known, ~title_known))
