"""Stories and their candidate index. Takes and returns records of bot.domain and bot.cluster; rows stay here."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, false, func, or_, select, update
from sqlalchemy.orm import Session

from bot.cluster import MAX_CANDIDATES, MAX_STORIES_PER_KEY, StoryProfile
from bot.domain import Action, Facts, Source, Story, Urgency
from bot.storage.models import FeedRow, ItemRow, ItemTopicRow, StoryKeyRow, StoryRow, StorySearchRow
from bot.storage.repositories import StoredItem, _item


@dataclass(frozen=True, slots=True)
class StoryContent:
    """What the story step computed for a story: everything but its id, sources and bookkeeping."""

    title: str
    summary: str
    facts: Facts
    urgency: Urgency
    topics: tuple[str, ...]
    actions: tuple[Action, ...]
    language: str
    first_published: datetime
    last_published: datetime
    source_count: int
    follow_up_of: int | None = None


def _facts_json(facts: Facts) -> str:
    return json.dumps(
        {
            "count_low": facts.count_low,
            "count_high": facts.count_high,
            "places": list(facts.places),
            "dates": list(facts.dates),
            "reporters": list(facts.reporters),
            "outlets": facts.outlets,
        },
        ensure_ascii=False,
    )


def _facts(text: str) -> Facts:
    data: dict[str, Any] = json.loads(text)
    return Facts(
        count_low=data.get("count_low"),
        count_high=data.get("count_high"),
        places=tuple(data.get("places", ())),
        dates=tuple(data.get("dates", ())),
        reporters=tuple(data.get("reporters", ())),
        outlets=int(data.get("outlets", 0)),
    )


def _actions_json(actions: Sequence[Action]) -> str:
    return json.dumps(
        [
            {"id": a.id, "title": a.title, "text": a.text, "url": a.url, "targets": list(a.targets)}
            for a in actions
        ],
        ensure_ascii=False,
    )


def _actions(text: str) -> tuple[Action, ...]:
    return tuple(
        Action(id=a["id"], title=a["title"], text=a["text"], url=a.get("url"), targets=tuple(a.get("targets", ())))
        for a in json.loads(text)
    )


def search_text(parts: Sequence[str]) -> str:
    """Text as search compares it: NFKC-normalized (full-width letters become plain ones) and lowercased."""
    return unicodedata.normalize("NFKC", "\n".join(p for p in parts if p)).lower()


def like_pattern(word: str) -> str:
    """A LIKE pattern matching `word` anywhere, its own %, _ and backslash taken literally (ESCAPE '\\')."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


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

    def candidates(self, keys: Sequence[str], since: datetime) -> list[StoryProfile]:
        """Profiles of the stories sharing most keys, among each key's most recent stories seen since `since`.

        Each key reads at most MAX_STORIES_PER_KEY index rows, so the cost per item is bounded by the number
        of keys, not by how many stories are stored.
        """
        hits: Counter[int] = Counter()
        recency: dict[int, datetime] = {}
        for key in dict.fromkeys(keys):
            rows = self._session.execute(
                select(StoryKeyRow.story_id, StoryKeyRow.last_published)
                .where(StoryKeyRow.key == key, StoryKeyRow.last_published >= since)
                .order_by(StoryKeyRow.last_published.desc())
                .limit(MAX_STORIES_PER_KEY)
            ).all()
            for story_id, seen in rows:
                hits[story_id] += 1
                recency[story_id] = max(seen, recency.get(story_id, seen))
        ranked = sorted(hits, key=lambda s: (-hits[s], -recency[s].timestamp(), s))[:MAX_CANDIDATES]
        if not ranked:
            return []
        profiles = self._session.execute(select(StoryRow.id, StoryRow.profile).where(StoryRow.id.in_(ranked))).all()
        by_id = {story_id: StoryProfile.from_json(text) for story_id, text in profiles}
        return [by_id[s] for s in ranked if s in by_id]

    def create(self, content: StoryContent, profile: StoryProfile, now: datetime) -> int:
        """Store a new story (its profile's id is replaced by the new row's id) and return the id."""
        row = StoryRow(
            title=content.title, summary=content.summary, urgency=content.urgency.value,
            topics=json.dumps(list(content.topics)), facts=_facts_json(content.facts),
            actions=_actions_json(content.actions), language=content.language,
            first_published=content.first_published, last_published=content.last_published,
            source_count=content.source_count, revision=1, follow_up_of=content.follow_up_of,
            profile="{}", created_at=now, updated_at=now,
        )
        self._session.add(row)
        self._session.flush()
        row.profile = StoryProfile(
            row.id, profile.first_published, profile.last_published, profile.size, profile.members
        ).to_json()
        self._session.add(StorySearchRow(story_id=row.id, text=search_text([row.title, row.summary]), sources=""))
        return row.id

    def update(self, story_id: int, content: StoryContent, profile: StoryProfile, now: datetime) -> bool:
        """Replace a story's content and profile; bump its revision when what an alert shows changed."""
        row = self._session.get(StoryRow, story_id)
        if row is None:
            raise KeyError(f"story {story_id} is not in the database")
        before = (row.title, row.summary, row.urgency, row.facts, row.actions, row.source_count)
        row.title = content.title
        row.summary = content.summary
        row.urgency = content.urgency.value
        row.topics = json.dumps(list(content.topics))
        row.facts = _facts_json(content.facts)
        row.actions = _actions_json(content.actions)
        row.language = content.language
        row.first_published = content.first_published
        row.last_published = content.last_published
        row.source_count = content.source_count
        row.profile = profile.to_json()
        after = (row.title, row.summary, row.urgency, row.facts, row.actions, row.source_count)
        changed = before != after
        if changed:
            row.revision += 1
            row.updated_at = now
            self._search_row(story_id).text = search_text([row.title, row.summary])
        return changed

    def index(self, story_id: int, keys: Sequence[str], last_published: datetime) -> None:
        """Point `keys` at the story, refreshing when it was last seen (used for the window and recency)."""
        unique = list(dict.fromkeys(keys))
        rows = self._session.scalars(
            select(StoryKeyRow).where(StoryKeyRow.story_id == story_id, StoryKeyRow.key.in_(unique))
        ).all()
        by_key = {row.key: row for row in rows}
        for key in unique:
            row = by_key.get(key)
            if row is None:
                self._session.add(StoryKeyRow(key=key, story_id=story_id, last_published=last_published))
            elif row.last_published < last_published:
                row.last_published = last_published
        self._session.flush()

    def get_follow_up_of(self, story_id: int) -> int | None:
        """The earlier story this one follows up, if any."""
        return self._session.scalar(select(StoryRow.follow_up_of).where(StoryRow.id == story_id))

    def attach(self, item_id: int, story_id: int) -> None:
        """Record that the stored item is a source of the story."""
        self._session.execute(update(ItemRow).where(ItemRow.id == item_id).values(story_id=story_id))
        title = search_text([self._session.scalar(select(ItemRow.title).where(ItemRow.id == item_id)) or ""])
        row = self._search_row(story_id)
        # Appended, never rebuilt: joining a story costs the same however many sources it has.
        if title and title not in row.sources.split("\n"):
            row.sources = f"{row.sources}\n{title}" if row.sources else title

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
        query = select(StoryRow).order_by(StoryRow.last_published.desc(), StoryRow.id.desc()).limit(limit)
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
            .where(
                *(
                    or_(
                        StorySearchRow.text.like(like_pattern(t), escape="\\"),
                        StorySearchRow.sources.like(like_pattern(t), escape="\\"),
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
        query = select(StoryRow).where(StoryRow.created_at > at)
        if urgent_only:
            query = query.where(StoryRow.urgency == Urgency.URGENT.value)
        query = query.order_by(StoryRow.created_at.desc(), StoryRow.id.desc())
        return [self._story(row) for row in self._session.scalars(_in_topics(query, topics))]

    def latest_urgent(self, topics: Sequence[str] | None, limit: int) -> list[Story]:
        """The most recently active urgent stories, newest first."""
        query = (
            select(StoryRow)
            .where(StoryRow.urgency == Urgency.URGENT.value)
            .order_by(StoryRow.last_published.desc(), StoryRow.id.desc())
            .limit(limit)
        )
        return [self._story(row) for row in self._session.scalars(_in_topics(query, topics))]

    def all_ids(self) -> list[int]:
        """Every story id, oldest first."""
        return list(self._session.scalars(select(StoryRow.id).order_by(StoryRow.id)))

    def count(self) -> int:
        return int(self._session.scalar(select(func.count()).select_from(StoryRow)) or 0)

    def prune_keys(self, before: datetime) -> int:
        """Drop index rows no item can reach any more (last seen before `before`)."""
        result = self._session.execute(delete(StoryKeyRow).where(StoryKeyRow.last_published < before))
        return int(getattr(result, "rowcount", 0) or 0)

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
            id=row.id, title=row.title, summary=row.summary, facts=_facts(row.facts),
            urgency=Urgency(row.urgency), topics=tuple(json.loads(row.topics)), sources=sources,
            actions=_actions(row.actions), first_seen=row.first_published, last_seen=row.last_published,
            follow_up_of=row.follow_up_of, revision=row.revision, language=row.language,
        )
