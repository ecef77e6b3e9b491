"""Offline replay: saved feed files through the real pipeline into a database, one JSON record per item."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.config import Config
from bot.domain import Feed, Item, Story
from bot.errors import BotError, FeedError
from bot.facts import Gazetteer
from bot.language import guess_language
from bot.match import compile_topics
from bot.parse import parse_feed
from bot.pipeline import IngestedItem, ingest_items, story_rules
from bot.storage.db import Database

FEED_SUFFIXES = (".xml", ".rss", ".atom", ".rdf", ".feed")


@dataclass(frozen=True, slots=True)
class ReplayFile:
    """One saved feed: the path, and the feed record it stands for."""

    path: Path
    feed: Feed
    items: tuple[Item, ...]
    malformed: str | None


def feed_files(paths: Sequence[str | Path]) -> list[Path]:
    """The files named, and the feed files inside the folders named, sorted; missing paths are errors."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in FEED_SUFFIXES))
        elif path.is_file():
            found.append(path)
        else:
            raise BotError(f"{path}: no such file or folder")
    return found


def load_file(path: Path, config: Config, fetched: datetime) -> ReplayFile:
    """Parse a saved feed; it is named by its own title, and takes a configured feed's settings of that name."""
    body = path.read_bytes()
    probe = Feed(
        name=path.stem, url=path.resolve().as_uri(), language="und",
        interval_seconds=config.defaults.interval_seconds, outlet=path.stem,
    )
    parsed = parse_feed(body, feed=probe, fetched=fetched, base_url=probe.url)
    name = parsed.title or path.stem
    configured = {f.name: f for f in config.feeds}.get(name)
    feed = configured or replace(probe, name=name, outlet=name)
    items = tuple(
        replace(
            item, feed=feed.name, outlet=feed.outlet,
            language=feed.language if feed.language != "und" else guess_language(item.text),
        )
        for item in parsed.items
    )
    return ReplayFile(path, feed, items, parsed.malformed)


def replay(
    config: Config, paths: Sequence[str | Path], db: Database, fetched: datetime, gazetteer: Gazetteer
) -> Iterator[dict[str, Any]]:
    """Yield one record per item, in published-time order across all files, then one per story touched."""
    files: list[ReplayFile] = []
    for path in feed_files(paths):
        try:
            files.append(load_file(path, config, fetched))
        except FeedError as exc:
            yield {"type": "error", "file": str(path), "error": exc.reason}
    topics = compile_topics(config.topics)
    rules = story_rules(config, gazetteer)
    story_ids: dict[int, None] = {}
    queue = sorted(
        ((item, f.feed, n) for f in files for n, item in enumerate(f.items)),
        key=lambda entry: (entry[0].published, entry[1].name, entry[2]),
    )
    with db.unit_of_work() as uow:
        # The replayed files are this database's feeds (a scratch database: see --db in the README).
        uow.feeds.sync([f.feed for f in files], fetched)
        for item, feed, _ in queue:
            for result in ingest_items(uow, [item], feed, topics, config, rules, fetched):
                if result.story_id is not None:
                    story_ids[result.story_id] = None
                yield item_record(result)
        for story_id in sorted(story_ids):
            yield story_record(uow.stories.get(story_id))


def item_record(result: IngestedItem) -> dict[str, Any]:
    """The stable JSON shape of one replayed item (documented in the README)."""
    item = result.item
    return {
        "type": "item",
        "feed": item.feed,
        "title": item.title,
        "link": item.link,
        "published": item.published.isoformat(),
        "topics": list(result.topics),
        "duplicate_of": result.duplicate_of,
        "story": result.story_id,
    }


def story_record(story: Story) -> dict[str, Any]:
    """The stable JSON shape of one story (documented in the README)."""
    facts = story.facts
    return {
        "type": "story",
        "id": story.id,
        "title": story.title,
        "summary": story.summary,
        "facts": {
            "count": facts.count_text or None,
            "count_low": facts.count_low,
            "count_high": facts.count_high,
            "places": list(facts.places),
            "dates": list(facts.dates),
            "reporters": list(facts.reporters),
            "outlets": facts.outlets,
        },
        "urgency": story.urgency.value,
        "topics": list(story.topics),
        "follow_up_of": story.follow_up_of,
        "sources": [
            {"feed": s.feed, "title": s.title, "link": s.link, "published": s.published.isoformat()}
            for s in story.sources
        ],
        "actions": [{"id": a.id, "title": a.title, "text": a.text, "url": a.url} for a in story.actions],
    }


def dumps(record: dict[str, Any]) -> str:
    """One line of replay output: compact JSON, non-ASCII kept readable."""
    return json.dumps(record, ensure_ascii=False, separators=(", ", ": "))
