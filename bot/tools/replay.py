"""Offline replay: saved feed files through the real pipeline into a database, one JSON record per item."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.config import Config
from bot.domain import Feed, Item, Story
from bot.errors import BotError, FeedError
from bot.ingest.match import CompiledTopic, Decision, compile_topics, decide_items, explain_item
from bot.ingest.parse import parse_feed
from bot.pipeline import IngestedItem, ingest_items, place_stories, story_rules
from bot.storage.db import Database
from bot.stories.facts import Gazetteer
from bot.text.language import guess_language

# Files a folder is searched for; each may also be gzipped (a saved feed.xml.gz), or any .gz file.
FEED_SUFFIXES = (".xml", ".rss", ".atom", ".rdf", ".feed", ".gz")
GZIP_MAGIC = b"\x1f\x8b"
# The stored feed name's length (feeds.name, items.outlet): a saved feed's title can be longer.
MAX_FEED_NAME = 200


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


def read_body(path: Path, feed: Feed, limit: int) -> bytes:
    """The file's bytes, decompressed when they are gzip; FeedError when the file cannot be read, is a broken
    gzip stream, or holds more than `limit` bytes (the fetcher's cap on a body, so a gzip bomb is refused)."""
    try:
        with path.open("rb") as raw:
            if raw.read(2) != GZIP_MAGIC:
                raw.seek(0)
                body = raw.read(limit + 1)
            else:
                raw.seek(0)
                with gzip.GzipFile(fileobj=raw) as unzipped:
                    body = unzipped.read(limit + 1)
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise FeedError(feed.name, feed.url, "unreadable", str(exc) or type(exc).__name__) from None
    if len(body) > limit:
        raise FeedError(feed.name, feed.url, "too-large", f"more than {limit} bytes")
    return body


def load_file(path: Path, config: Config, fetched: datetime) -> ReplayFile:
    """Parse a saved feed; it is named by its own title, and takes a configured feed's settings of that name."""
    stem = path.name.removesuffix(".gz").rsplit(".", 1)[0] or path.name
    probe = Feed(
        name=stem[:MAX_FEED_NAME], url=path.resolve().as_uri(), language="und",
        interval_seconds=config.defaults.interval_seconds, outlet=stem[:MAX_FEED_NAME],
    )
    body = read_body(path, probe, config.defaults.max_body_bytes)
    parsed = parse_feed(body, feed=probe, fetched=fetched, base_url=probe.url)
    name = parsed.title[:MAX_FEED_NAME].rstrip() or probe.name
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
    config: Config, paths: Sequence[str | Path], db: Database, fetched: datetime, gazetteer: Gazetteer,
    explain: bool = False,
) -> Iterator[dict[str, Any]]:
    """Yield one record per item, in published-time order across all files, then one per story touched.

    Files with the same title are snapshots of one feed: its settings come from the first, and an entry
    listed in several snapshots is a repeat (same guid) after the first. Each item record says which rule
    took or refused it for each topic (`match`); with `explain`, also each topic's full explanation.
    """
    files: list[ReplayFile] = []
    for path in feed_files(paths):
        try:
            files.append(load_file(path, config, fetched))
        except FeedError as exc:
            yield {"type": "error", "file": str(path), "error": exc.reason}
    topics = compile_topics(config.topics)
    rules = story_rules(config, gazetteer)
    story_ids: dict[int, None] = {}
    feeds = {f.feed.name: f.feed for f in reversed(files)}  # the first file of a name wins
    decisions = {
        (f.path, n): d for f in files for n, d in enumerate(decide_items(topics, f.items, feeds[f.feed.name]))
    }
    queue = sorted(
        ((item, f.path, n) for f in files for n, item in enumerate(f.items)),
        key=lambda entry: (entry[0].published, entry[0].feed, entry[2]),
    )
    with db.unit_of_work() as uow:
        # The replayed files are this database's feeds (a scratch database: see --db in the README).
        uow.feeds.sync(list(feeds.values()), fetched)
        results = [
            (result, path, n)
            for item, path, n in queue
            for result in ingest_items(uow, [item], feeds[item.feed], topics, config, rules, fetched)
        ]
        # As one poll cycle would: every report stored first, then placed into stories together.
        placed = place_stories(uow, rules, fetched).placed
        for result, path, n in results:
            own = result.item_id if result.item_id is not None else result.original_id
            if result.story_id is None and own is not None:
                # Placed just now (a new report), or earlier (the report a repeat repeats).
                result = replace(result, story_id=placed.get(own) or uow.stories.story_of_item(own))
            if result.story_id is not None:
                story_ids[uow.stories.resolve(result.story_id)] = None
            if result.error is not None:
                yield {"type": "error", "file": str(path), "error": f"item not stored: {result.error}"}
            else:
                yield item_record(result, decisions[(path, n)], topics if explain else ())
        for story_id in sorted(story_ids):
            yield story_record(uow.stories.get(story_id))


def item_record(
    result: IngestedItem, decisions: Sequence[Decision] = (), explained: Sequence[CompiledTopic] = ()
) -> dict[str, Any]:
    """The stable JSON shape of one replayed item (documented in the README): `match` gives, for each topic
    tried, the rule that took the item or why none did; `explain` (with `explained` topics) the details."""
    item = result.item
    record: dict[str, Any] = {
        "type": "item",
        "feed": item.feed,
        "title": item.title,
        "link": item.link,
        "published": item.published.isoformat(),
        "topics": list(result.topics),
        "match": {d.topic: d.reason for d in decisions},
        "duplicate_of": result.duplicate_of,
        "duplicate_reason": result.duplicate_reason,
        "story": result.story_id,
    }
    if explained:
        record["explain"] = {t.id: explain_item(t, item).splitlines() for t in explained}
    return record


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
