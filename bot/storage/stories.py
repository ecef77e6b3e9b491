"""Stories, their sources and what the story step keeps on them. Takes and returns records of bot.domain."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Select, exists, false, func, or_, select, update
from sqlalchemy.orm import Session

from bot.domain import OpenStoryRecord, Source, Story, StoryContent, StoryState, Urgency
from bot.storage.codec import (
    actions_from_json,
    actions_json,
    facts_from_json,
    facts_json,
    like_pattern,
    search_text,
    state_from_json,
    state_json,
)
from bot.storage.items import StoredItem, _item
from bot.storage.models import (
    FeedRow,
    ItemAnalysisRow,
    ItemRow,
    ItemTopicRow,
    StoryApartRow,
    StoryRow,
    StorySearchRow,
)

__all__ = ["StoryContent", "StoryRepository", "like_pattern", "search_text"]


def _in_topics(query: Select[StoryRow], topics: Sequence[str] | None) -> Select[StoryRow]:
    """`query` narrowed to stories in one of `topics`; unchanged when topics is None (every topic)."""
    if topics is None:
        return query
    # topics is a JSON list of ids; ids are plain words (config checks), so the quoted id is exact.
    return query.where(or_(false(), *(StoryRow.topics.contains(json.dumps(t)) for t in topics)))


class StoryRepository:
    """Stories, the items that are their sources, and the key index clustering searches."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def open_stories(self, since: datetime, limit: int) -> list[OpenStoryRecord]:
        """The stories a report published after `since` may join or follow up: not merged away, active since
        `since`; the most recently active `limit` of them."""
        rows = self._session.execute(
            select(
                StoryRow.id, StoryRow.first_published, StoryRow.last_published, StoryRow.follow_up_of,
                StoryRow.state, StoryRow.centre, StoryRow.vectors,
            )
            .where(StoryRow.merged_into.is_(None), StoryRow.last_published >= since)
            .order_by(StoryRow.last_published.desc(), StoryRow.id.desc())
            .limit(limit)
        ).all()
        apart = self.apart([row.id for row in rows])
        return [
            OpenStoryRecord(
                story_id=row.id, first_published=row.first_published, last_published=row.last_published,
                state=_state(row.state, row.centre, row.vectors), follow_up_of=row.follow_up_of,
                apart=apart.get(row.id, frozenset()),
            )
            for row in rows
        ]

    def open_story(self, story_id: int) -> OpenStoryRecord:
        """One story as open_stories gives it (merged or not); KeyError when there is none."""
        row = self._session.get(StoryRow, story_id)
        if row is None:
            raise KeyError(f"story {story_id} is not in the database")
        return OpenStoryRecord(
            story_id=row.id, first_published=row.first_published, last_published=row.last_published,
            state=_state(row.state, row.centre, row.vectors), follow_up_of=row.follow_up_of,
            apart=self.apart([row.id]).get(row.id, frozenset()),
        )

    def apart(self, story_ids: Sequence[int]) -> dict[int, frozenset[int]]:
        """For each story, the stories an admin split apart from it."""
        if not story_ids:
            return {}
        found: dict[int, set[int]] = {}
        ids = list(story_ids)
        for a, b in self._session.execute(
            select(StoryApartRow.story_id, StoryApartRow.other_id).where(
                or_(StoryApartRow.story_id.in_(ids), StoryApartRow.other_id.in_(ids))
            )
        ):
            found.setdefault(a, set()).add(b)
            found.setdefault(b, set()).add(a)
        return {story: frozenset(others) for story, others in found.items()}

    def keep_apart(self, a: int, b: int) -> None:
        """Record that stories `a` and `b` are different events (an admin said so)."""
        low, high = min(a, b), max(a, b)
        if self._session.get(StoryApartRow, (low, high)) is None:
            self._session.add(StoryApartRow(story_id=low, other_id=high))

    def forget_apart(self, a: int, b: int) -> None:
        """Stories `a` and `b` may be one story after all (an admin merged them)."""
        low, high = min(a, b), max(a, b)
        row = self._session.get(StoryApartRow, (low, high))
        if row is not None:
            self._session.delete(row)

    def create(self, content: StoryContent, state: StoryState | None, now: datetime) -> int:
        """Store a new story and return its id."""
        row = StoryRow(
            title=content.title, summary=content.summary, urgency=content.urgency.value,
            topics=json.dumps(list(content.topics)), facts=facts_json(content.facts),
            actions=actions_json(content.actions), language=content.language,
            first_published=content.first_published, last_published=content.last_published,
            source_count=content.source_count, revision=1, follow_up_of=content.follow_up_of,
            created_at=now, updated_at=now,
        )
        _set_state(row, state)
        self._session.add(row)
        self._session.flush()
        self._session.add(StorySearchRow(story_id=row.id, text=search_text([row.title, row.summary])))
        return row.id

    def update(self, story_id: int, content: StoryContent, state: StoryState | None, now: datetime) -> bool:
        """Replace a story's content and state; bump its revision when what an alert shows changed."""
        row = self._require(story_id)
        before = (row.title, row.summary, row.urgency, row.facts, row.actions, row.source_count)
        row.title = content.title
        row.summary = content.summary
        row.urgency = content.urgency.value
        row.topics = json.dumps(list(content.topics))
        row.facts = facts_json(content.facts)
        row.actions = actions_json(content.actions)
        row.language = content.language
        row.first_published = content.first_published
        row.last_published = content.last_published
        row.source_count = content.source_count
        row.follow_up_of = content.follow_up_of
        _set_state(row, state)
        after = (row.title, row.summary, row.urgency, row.facts, row.actions, row.source_count)
        changed = before != after
        if changed:
            row.revision += 1
            row.updated_at = now
            self._search_row(story_id).text = search_text([row.title, row.summary])
        return changed

    def merge(self, story_id: int, into_id: int, now: datetime) -> None:
        """Make story `story_id` part of `into_id`: its sources move, it points there, and its revision is
        bumped so that its sent alerts are edited into a pointer. Stories that followed it follow `into_id`."""
        if story_id == into_id:
            raise ValueError(f"story {story_id} cannot be merged into itself")
        row = self._require(story_id)
        self._require(into_id)
        self._session.execute(update(ItemRow).where(ItemRow.story_id == story_id).values(story_id=into_id))
        self._session.execute(
            update(StoryRow).where(StoryRow.follow_up_of == story_id).values(follow_up_of=into_id)
        )
        self._session.execute(update(StoryRow).where(StoryRow.merged_into == story_id).values(merged_into=into_id))
        for other in self.apart([story_id]).get(story_id, frozenset()):
            if other != into_id:
                self.keep_apart(into_id, other)
        row.merged_into = into_id
        row.state = row.centre = row.vectors = None
        row.source_count = 0
        row.revision += 1
        row.updated_at = now
        self._session.flush()

    def resolve(self, story_id: int) -> int:
        """The story `story_id` is now part of (itself when it was never merged); KeyError when there is none."""
        seen = {story_id}
        current = story_id
        while True:
            merged = self._session.execute(select(StoryRow.merged_into).where(StoryRow.id == current)).one_or_none()
            if merged is None:
                raise KeyError(f"story {story_id} is not in the database")
            if merged[0] is None or merged[0] in seen:
                return current
            current = merged[0]
            seen.add(current)

    def member_ids(self, story_id: int, first: int, latest: int) -> tuple[list[int], int]:
        """The ids of the story's first `first` and latest `latest` sources (oldest first), and how many
        sources it has: what rebuilding its state reads, bounded whatever its size."""
        count = int(self._session.scalar(select(func.count()).where(ItemRow.story_id == story_id)) or 0)
        order = (ItemRow.published_at, ItemRow.id)
        head = list(self._session.scalars(
            select(ItemRow.id).where(ItemRow.story_id == story_id).order_by(*order).limit(first)
        ))
        tail = list(self._session.scalars(
            select(ItemRow.id).where(ItemRow.story_id == story_id)
            .order_by(ItemRow.published_at.desc(), ItemRow.id.desc()).limit(latest)
        ))
        return [*head, *(i for i in reversed(tail) if i not in head)], count

    def get_follow_up_of(self, story_id: int) -> int | None:
        """The earlier story this one follows up, if any."""
        return self._session.scalar(select(StoryRow.follow_up_of).where(StoryRow.id == story_id))

    def attach(self, item_id: int, story_id: int) -> None:
        """Record that the stored item is a source of the story."""
        self.attach_all({item_id: story_id})

    def attach_all(self, stories: Mapping[int, int]) -> None:
        """Record many items' stories ({item id: story id}) with one UPDATE per story, not per item: a cycle
        places hundreds of reports into a few stories, and each statement is a round trip on PostgreSQL."""
        by_story: dict[int, list[int]] = {}
        for item_id, story_id in stories.items():
            by_story.setdefault(story_id, []).append(item_id)
        for story_id, item_ids in sorted(by_story.items()):
            self._session.execute(update(ItemRow).where(ItemRow.id.in_(sorted(item_ids))).values(story_id=story_id))

    def story_of_item(self, item_id: int) -> int | None:
        """The story of the stored item, if it has one."""
        return self._session.scalar(select(ItemRow.story_id).where(ItemRow.id == item_id))

    def story_of_link(self, link: str) -> int | None:
        """The story of the stored item with this canonical link, if it has one."""
        return self._session.scalar(select(ItemRow.story_id).where(ItemRow.link == link))

    def sources(self, story_id: int) -> list[StoredItem]:
        """The story's stored items, oldest first."""
        rows = self._session.execute(
            select(ItemRow, FeedRow.name)
            .join(FeedRow, FeedRow.id == ItemRow.feed_id)
            .where(ItemRow.story_id == story_id)
            .order_by(ItemRow.published_at, ItemRow.id)
        ).all()
        topics: dict[int, list[str]] = {}
        ids = [row.id for row, _ in rows]
        if ids:
            for item_id, topic in self._session.execute(
                select(ItemTopicRow.item_id, ItemTopicRow.topic).where(ItemTopicRow.item_id.in_(ids))
            ):
                topics.setdefault(item_id, []).append(topic)
        return [
            StoredItem(row.id, _item(row, name), tuple(sorted(topics.get(row.id, ()))), story_id)
            for row, name in rows
        ]

    def get(self, story_id: int) -> Story:
        """The story with its sources; KeyError when there is none."""
        row = self._session.get(StoryRow, story_id)
        if row is None:
            raise KeyError(f"story {story_id} is not in the database")
        return self._story(row)

    def recent(self, limit: int, topics: Sequence[str] | None = None) -> list[Story]:
        """The most recently active stories, newest first, optionally only those in one of `topics`."""
        query = (
            select(StoryRow)
            .where(StoryRow.merged_into.is_(None))
            .order_by(StoryRow.last_published.desc(), StoryRow.id.desc())
            .limit(limit)
        )
        return [self._story(row) for row in self._session.scalars(_in_topics(query, topics))]

    def created_at(self, story_id: int) -> datetime:
        """When the story was first stored; KeyError when there is none."""
        created = self._session.scalar(select(StoryRow.created_at).where(StoryRow.id == story_id))
        if created is None:
            raise KeyError(f"story {story_id} is not in the database")
        return created

    def search(self, words: str, topics: Sequence[str] | None, limit: int) -> list[Story]:
        """Stories whose title, summary or a source title contains every word of `words`, newest first.

        A substring match (LIKE) on normalized text, the same on SQLite and PostgreSQL: SQLite's FTS5 and
        PostgreSQL's tsvector do not split Korean or Chinese into words (FTS5's trigram tokenizer cannot
        find the two-syllable Korean words people search for, such as 북송), and a scan is cheap at this
        bot's scale: 5,000 stories of ~1.5 KB took 16 ms on SQLite and 45 ms on PostgreSQL with no match
        (measured 2026-11-23). No words, no stories.
        """
        terms = search_text([words]).split()
        if not terms or limit <= 0:
            return []
        query = (
            select(StoryRow)
            .join(StorySearchRow, StorySearchRow.story_id == StoryRow.id)
            .where(StoryRow.merged_into.is_(None))
            .where(
                *(
                    or_(
                        StorySearchRow.text.like(like_pattern(t), escape="\\"),
                        exists(
                            select(ItemAnalysisRow.item_id)
                            .join(ItemRow, ItemRow.id == ItemAnalysisRow.item_id)
                            .where(
                                ItemRow.story_id == StoryRow.id,
                                ItemAnalysisRow.search_title.like(like_pattern(t), escape="\\"),
                            )
                        ),
                    )
                    for t in terms
                )
            )
            .order_by(StoryRow.last_published.desc(), StoryRow.id.desc())
            .limit(limit)
        )
        return [self._story(row) for row in self._session.scalars(_in_topics(query, topics))]

    def since(self, at: datetime, topics: Sequence[str] | None, *, urgent_only: bool = False) -> list[Story]:
        """Stories first stored after `at` (what a digest covers), newest first, optionally urgent ones only."""
        query = select(StoryRow).where(StoryRow.created_at > at, StoryRow.merged_into.is_(None))
        if urgent_only:
            query = query.where(StoryRow.urgency == Urgency.URGENT.value)
        query = query.order_by(StoryRow.created_at.desc(), StoryRow.id.desc())
        return [self._story(row) for row in self._session.scalars(_in_topics(query, topics))]

    def latest_urgent(self, topics: Sequence[str] | None, limit: int) -> list[Story]:
        """The most recently active urgent stories, newest first."""
        query = (
            select(StoryRow)
            .where(StoryRow.urgency == Urgency.URGENT.value, StoryRow.merged_into.is_(None))
            .order_by(StoryRow.last_published.desc(), StoryRow.id.desc())
            .limit(limit)
        )
        return [self._story(row) for row in self._session.scalars(_in_topics(query, topics))]

    def all_ids(self) -> list[int]:
        """Every story id, oldest first."""
        return list(self._session.scalars(select(StoryRow.id).order_by(StoryRow.id)))

    def count(self) -> int:
        return int(self._session.scalar(select(func.count()).select_from(StoryRow)) or 0)

    def _require(self, story_id: int) -> StoryRow:
        row = self._session.get(StoryRow, story_id)
        if row is None:
            raise KeyError(f"story {story_id} is not in the database")
        return row

    def _search_row(self, story_id: int) -> StorySearchRow:
        row = self._session.get(StorySearchRow, story_id)
        if row is None:
            raise KeyError(f"story {story_id} is not in the database")
        return row

    def _story(self, row: StoryRow) -> Story:
        sources = tuple(
            Source(feed=s.item.feed, outlet=s.item.outlet, title=s.item.title, link=s.item.link,
                   published=s.item.published)
            for s in self.sources(row.id)
        )
        return Story(
            id=row.id, title=row.title, summary=row.summary, facts=facts_from_json(row.facts),
            urgency=Urgency(row.urgency), topics=tuple(json.loads(row.topics)), sources=sources,
            actions=actions_from_json(row.actions), first_seen=row.first_published, last_seen=row.last_published,
            follow_up_of=row.follow_up_of, revision=row.revision, language=row.language,
            merged_into=row.merged_into,
        )


def _state(text: str | None, centre: bytes | None, vectors: bytes | None) -> StoryState | None:
    if text is None or centre is None or vectors is None:
        return None
    return state_from_json(text, centre, vectors)


def _set_state(row: StoryRow, state: StoryState | None) -> None:
    if state is None:
        row.state = row.centre = row.vectors = None
    else:
        row.state, row.centre, row.vectors = state_json(state), state.centre, state.vectors
