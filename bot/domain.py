"""Frozen records that flow through the pipeline. This module imports nothing else of ours."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

# --- configuration records (built once by bot.config, passed explicitly) ---------------------------


@dataclass(frozen=True, slots=True)
class Topic:
    """A topic: every group in `require` must match (any one of its terms), no `exclude` term may; or, when it
    has `examples`, an item that names an `anchor` term and reads like an example matches too."""

    id: str
    name: str
    require: tuple[tuple[str, ...], ...]
    exclude: tuple[str, ...] = ()
    default: bool = False
    description: str = ""
    names: tuple[tuple[str, str], ...] = ()  # (language, name) translations of `name` from feeds.yaml
    # The semantic tier (see bot/match.py): an item the keywords reject still matches when it names an
    # `anchor` term and reads close enough to one of the `examples` (and not closer to a near-miss).
    examples: tuple[tuple[str, str], ...] = ()  # (language, short description of a report on this topic)
    near_misses: tuple[tuple[str, str], ...] = ()  # (language, short description of a report that is NOT)
    anchor: tuple[str, ...] = ()  # terms, one of which an item must name for the semantic tier
    threshold: float | None = None  # least cosine similarity to the closest example; None: the default
    margin: float | None = None  # how much closer to an example than to any near-miss; None: the default


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
class Analysis:
    """What the story step reads of one report, computed once at ingest and stored (bot.stories.analyse).

    `text` is the clean text (clutter and captions removed, one paragraph per line); facts, entities and
    counts come from it only. `vector` is the report's sentence vector as stored bytes (bot.stories.similarity).
    `version` names the gazetteer and model that made it: another version is re-analysed when next read.
    """

    language: str
    text: str
    facts: Facts
    entities: frozenset[str]
    numbers: frozenset[int]
    places: frozenset[str]
    vector: bytes
    version: str
    organisations: frozenset[str] = frozenset()  # the entities that are bodies, not places (gazetteer kinds)


@dataclass(frozen=True, slots=True)
class StoryContent:
    """What the story step computed for a story (bot.stories.compose): everything but its id, sources and
    bookkeeping."""

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


@dataclass(frozen=True, slots=True)
class StoryState:
    """What the story step keeps on a story row to decide joins, bounded whatever the story's size.

    `centre` is the sum of every member's vector (float32 bytes); `members` are the kept members' item ids
    (the first reports and the latest ones) and `vectors` their vectors (float16 bytes, in that order).
    Counts, event dates, names, places, languages, outlets and topics are those the members gave, bounded
    too. `version` is the analysis version it was built from: another version is rebuilt from the kept
    members when next read.
    """

    version: str
    size: int
    centre: bytes
    members: tuple[int, ...]
    vectors: bytes
    counts: tuple[tuple[int, int], ...] = ()
    dates: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    outlets: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OpenStoryRecord:
    """A story a new report may join, as stored: its times, its state (None before the step first kept
    one), the story it follows up, and the stories an admin split apart from it."""

    story_id: int
    first_published: datetime
    last_published: datetime
    state: StoryState | None
    follow_up_of: int | None = None
    apart: frozenset[int] = frozenset()


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
    # (language, title, text) translations from feeds.yaml; `title` and `text` above are the English ones.
    translations: tuple[tuple[str, str, str], ...] = ()


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
    merged_into: int | None = None  # the story this one became part of (its alerts point there)


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


# --- subscribers and delivery -------------------------------------------------------------------------


class ChatKind(enum.StrEnum):
    PRIVATE = "private"
    GROUP = "group"
    SUPERGROUP = "supergroup"
    CHANNEL = "channel"


class DeliveryMode(enum.StrEnum):
    IMMEDIATE = "immediate"  # each story as it breaks
    DIGEST = "digest"  # one summary a day at digest_hour in the chat's time zone


@dataclass(frozen=True, slots=True)
class ChatSettings:
    """How a chat wants its alerts. Hours are 0-23 in `timezone` (an IANA name such as 'Asia/Seoul').

    Quiet hours run from quiet_start up to quiet_end (wrapping past midnight when start > end); alerts in them
    are still sent, but silently (no notification sound), so nothing urgent is held back.
    """

    mode: DeliveryMode = DeliveryMode.IMMEDIATE
    digest_hour: int = 8
    timezone: str = "UTC"
    urgent_only: bool = False
    quiet_start: int | None = None
    quiet_end: int | None = None
    language: str = "en"  # what the bot writes to the chat in: "en", "ko" or "zh-Hans"


@dataclass(frozen=True, slots=True)
class Chat:
    """A Telegram chat the bot serves (private, group or channel) with its topics and settings."""

    id: int  # Telegram's chat id
    kind: ChatKind
    title: str
    topics: tuple[str, ...]
    settings: ChatSettings
    active: bool = True
    inactive_reason: str | None = None
    subscribed_at: datetime | None = None  # when the chat first subscribed; older stories are not pushed
    last_digest_at: datetime | None = None
    thread_id: int | None = None  # the forum topic alerts go to (None: the chat itself, or General)
    paused_until: datetime | None = None  # /pause: nothing is sent before this


class OutboxKind(enum.StrEnum):
    ALERT = "alert"  # the story's alert; later edited as outlets join
    FOLLOWUP = "followup"  # a short post when a story's urgency rises after its alert went out


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One message owed to one chat about one story; unique per (story, chat, kind)."""

    id: int
    story_id: int
    chat_id: int
    kind: OutboxKind
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    message_id: int | None = None  # Telegram's id of the sent message, for edits
    sent_at: datetime | None = None
    sent_revision: int | None = None  # the story revision the message shows
    sent_urgency: Urgency | None = None  # the story's urgency when the message went out
    edited_at: datetime | None = None
    last_error: str | None = None
