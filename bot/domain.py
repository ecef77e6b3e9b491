"""Frozen records that flow through the pipeline. This module imports nothing else of ours."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

# --- configuration records (built once by bot.config, passed explicitly) ---------------------------


@dataclass(frozen=True, slots=True)
class Topic:
    """A keyword topic: every group in `require` must match (any one of its terms), no `exclude` term may."""

    id: str
    name: str
    require: tuple[tuple[str, ...], ...]
    exclude: tuple[str, ...] = ()
    default: bool = False
    description: str = ""


@dataclass(frozen=True, slots=True)
class Feed:
    """A configured feed. `topics` empty means every topic; `on_topic` items belong to those topics as-is."""

    name: str
    url: str
    language: str
    interval_seconds: int
    outlet: str
    topics: tuple[str, ...] = ()
    on_topic: tuple[str, ...] = ()
    full_text: bool = False


# --- pipeline records ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Item:
    """One feed entry, cleaned: canonical link, plain text, published time in UTC (aware datetimes)."""

    feed: str
    outlet: str
    guid: str
    link: str
    title: str
    summary: str
    content: str
    language: str
    published: datetime
    fetched: datetime
    published_estimated: bool = False

    @property
    def text(self) -> str:
        """Title, summary and content joined: what matching and clustering read."""
        parts = [self.title, self.summary]
        if self.content and self.content != self.summary:
            parts.append(self.content)
        return "\n".join(p for p in parts if p)


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What a feed body gave: its title, its items, and the malformation feedparser noticed (if any)."""

    title: str
    items: tuple[Item, ...]
    malformed: str | None = None


# --- story records (clustering, facts, summary, actions) ---------------------------------------------


class Urgency(enum.StrEnum):
    URGENT = "urgent"
    UPDATE = "update"


@dataclass(frozen=True, slots=True)
class Facts:
    """Facts of one report or of a merged story. Counts are a range: (500, 600) or (600, 600)."""

    count_low: int | None = None
    count_high: int | None = None
    places: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()  # ISO dates (YYYY-MM-DD) or months (YYYY-MM) of the event, not publication
    reporters: tuple[str, ...] = ()
    outlets: int = 0

    @property
    def count_text(self) -> str:
        """'500-600', '600' or '' when no count is known."""
        if self.count_low is None or self.count_high is None:
            return ""
        if self.count_low == self.count_high:
            return str(self.count_low)
        return f"{self.count_low}-{self.count_high}"


@dataclass(frozen=True, slots=True)
class ActionRule:
    """An advocacy action from feeds.yaml; `text` has {count} {places} {date} {reporters} placeholders."""

    id: str
    title: str
    text: str
    url: str | None = None
    targets: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    urgency: tuple[Urgency, ...] = ()
    priority: int = 0


@dataclass(frozen=True, slots=True)
class Action:
    """An action suggested for one story, placeholders filled."""

    id: str
    title: str
    text: str
    url: str | None = None
    targets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Source:
    """One outlet's report inside a story."""

    feed: str
    outlet: str
    title: str
    link: str
    published: datetime


@dataclass(frozen=True, slots=True)
class Story:
    """A group of reports of one event, with what subscribers are told about it."""

    id: int
    title: str
    summary: str
    facts: Facts
    urgency: Urgency
    topics: tuple[str, ...]
    sources: tuple[Source, ...]
    actions: tuple[Action, ...] = ()
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    follow_up_of: int | None = None
    revision: int = 1
    language: str = "en"


@dataclass(frozen=True, slots=True)
class FeedState:
    """A feed's polling state as stored: where to fetch it, validators, health and when to look next."""

    name: str
    url: str
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    next_check_at: datetime
    error_count: int
    last_error: str | None
    last_error_at: datetime | None
    last_success_at: datetime | None
    disabled: bool
    disabled_reason: str | None
    malformed: str | None
