"""What the bot can be asked to do, over the database and the current config; no Telegram types here.

The Telegram handlers read arguments, call one method of `Services` and render what it returns. Every
rule about arguments (which topic ids exist, what a setting may be, how many stories /recent shows) lives
here, so the handlers stay thin and the rules are tested without a chat. A user's mistake raises
`InputError` carrying a plain-text sentence that says what to do instead; anything else is a bug.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.config import Config
from bot.domain import (
    Chat,
    ChatKind,
    ChatSettings,
    DeliveryMode,
    Feed,
    FeedState,
    OutboxEntry,
    Story,
    Topic,
)
from bot.errors import BotError, ConfigError
from bot.i18n import N_, negotiate
from bot.pipeline import Clock, story_rules
from bot.storage.db import Database
from bot.stories.facts import Gazetteer, load_gazetteer
from bot.stories.merge import Refused, merge_stories, split_story
from bot.stories.step import StoryRules

# /recent shows this many stories unless asked, and never more than RECENT_MAX (one message of lines).
RECENT_DEFAULT = 5
RECENT_MAX = 20
SEARCH_LIMIT = 10
# Longer queries are a paste, not a search; they would only make the database scan slower.
SEARCH_MAX_CHARS = 200
SEARCH_MAX_WORDS = 10
ACTIONS_STORIES = 3
# A feed counts as failing after this many errors in a row: one timeout is weather, three (with the
# exponential backoff between them, an hour or more) is a feed an operator should look at.
FAILING_AFTER = 3
STATUS_FAILURES = 5
# Quiet-hour presets offered on buttons; any other pair can be typed with /settings quiet START END.
QUIET_PRESETS = ((22, 7), (23, 8), (0, 8))


class InputError(BotError):
    """A user's request cannot be done as asked; `message` is plain English text telling them what to do.

    `template` is that sentence's msgid (bot.i18n) with {names} for `values` (plain text, maybe typed by
    the user), so the reply can be given in the chat's language.
    """

    def __init__(self, template: str, /, **values: str) -> None:
        self.template = template
        self.values = values
        self.message = template.format(**values)
        super().__init__(self.message)


class UnknownTopics(InputError):
    """Topic words that are not topic ids; `valid` lists the topics there are."""

    def __init__(self, unknown: Sequence[str], valid: Sequence[Topic]) -> None:
        self.unknown = tuple(unknown)
        self.valid = tuple(valid)
        shown = ", ".join(_short(word, 40) for word in self.unknown[:5])
        more = f" +{len(self.unknown) - 5}" if len(self.unknown) > 5 else ""
        ids = ", ".join(topic.id for topic in self.valid)
        super().__init__(N_("Unknown topic: {words}. Topics: {topics}."), words=shown + more, topics=ids)


def _short(text: str, limit: int) -> str:
    """`text` on one line, at most `limit` characters (with '…'): for echoing what a user typed."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# --- the current config -----------------------------------------------------------------------------


class ConfigRef:
    """Holder of the current Config: readers take `.current` each time, /reload swaps it."""

    def __init__(self, config: Config) -> None:
        self._config = config

    @property
    def current(self) -> Config:
        """The config in force now."""
        return self._config

    def swap(self, config: Config) -> Config:
        """Put `config` in force; returns the one it replaces."""
        old, self._config = self._config, config
        return old


# --- records the services return ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChatRef:
    """The chat a request is about, as the transport saw it: Telegram id, kind, a title to store, and the
    language of whoever wrote (the chat's language if the chat is new)."""

    id: int
    kind: ChatKind
    title: str
    language: str = "en"


@dataclass(frozen=True, slots=True)
class Subscription:
    """A chat's topics after a change: what was added, what was removed, what it follows now."""

    chat_id: int
    added: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: tuple[str, ...]  # asked for but already so (already subscribed, or not subscribed)
    topics: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Listing:
    """Stories for a chat and the topics they were chosen from (`all_topics` when the chat follows none)."""

    stories: tuple[Story, ...]
    topics: tuple[str, ...]
    all_topics: bool


@dataclass(frozen=True, slots=True)
class FeedHealth:
    """A configured feed with how its polling goes: state is ok, new, retrying, failing or disabled."""

    name: str
    outlet: str
    language: str
    state: str
    errors: int = 0
    last_error: str | None = None
    last_success_at: datetime | None = None
    disabled_reason: str | None = None
    malformed: str | None = None

    @property
    def healthy(self) -> bool:
        """Whether the feed's last polls worked (a feed not polled yet is not unhealthy)."""
        return self.state in ("ok", "new")


@dataclass(frozen=True, slots=True)
class Status:
    """What an operator checks first: queue, last poll, failing feeds, chats, stories, delivery failures."""

    pending: int
    outbox: tuple[tuple[str, int], ...]  # (status, rows) for each outbox status
    last_poll: datetime | None
    feeds: int
    failing: tuple[FeedHealth, ...]
    chats_active: int
    chats_inactive: int
    stories: int
    recent_failures: tuple[OutboxEntry, ...]
    config_source: str
    now: datetime


@dataclass(frozen=True, slots=True)
class ReloadResult:
    """The outcome of re-reading feeds.yaml: on failure the old config stays and `problems` says why."""

    ok: bool
    source: str
    problems: tuple[str, ...] = ()
    topics: int = 0
    feeds: int = 0
    actions: int = 0
    added_feeds: tuple[str, ...] = ()
    removed_feeds: tuple[str, ...] = ()


# --- pure rules -----------------------------------------------------------------------------------------

_HOUR = re.compile(r"([01]?[0-9]|2[0-3])(?::00|h)?")
_HOUR_PAIR = re.compile(r"([0-9]{1,2}(?::00)?)[-–]([0-9]{1,2}(?::00)?)")
_ZONE = re.compile(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+){0,2}")

SETTINGS_USAGE = N_(
    "Usage: /settings [immediate | digest [HOUR] | hour HOUR | tz ZONE | urgent | all | quiet START END | "
    "quiet off | lang en|ko|zh], e.g. /settings digest 8, /settings tz Asia/Seoul, /settings quiet 22 7"
)


def parse_hour(word: str) -> int:
    """An hour 0-23 from '8', '08', '8:00' or '8h'; InputError otherwise."""
    match = _HOUR.fullmatch(word.strip().lower())
    if match is None:
        raise InputError("'{word}' is not an hour; give 0 to 23, e.g. 8 or 22.", word=_short(word, 20))
    return int(match.group(1))


@functools.cache
def _zones() -> Mapping[str, str]:
    """Every IANA zone name this system knows, by its lowercase form (read once; the scan is slow)."""
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def parse_timezone(word: str) -> str:
    """The IANA name for `word` ('Asia/Seoul', 'asia/seoul', 'UTC'); InputError for anything else."""
    text = word.strip()
    # The shape check comes first so no user text ever reaches the file lookups of zoneinfo as a path.
    name = _zones().get(text.lower()) if _ZONE.fullmatch(text) and len(text) <= 64 else None
    if name is None:
        raise InputError(
            "'{word}' is not a time zone. Use an IANA name such as Asia/Seoul, Europe/London, "
            "America/New_York or UTC.",
            word=_short(word, 40),
        )
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise InputError("The time zone {zone} is not installed on this server.", zone=name) from None
    return name


def change_settings(current: ChatSettings, words: Sequence[str]) -> ChatSettings:
    """`current` changed as `words` ask (the /settings arguments, or a button's); InputError with usage.

    immediate | digest [HOUR] | hour HOUR | tz ZONE | urgent | all | quiet START END | quiet START-END |
    quiet off.
    """
    if not words:
        raise InputError(SETTINGS_USAGE)
    key, rest = words[0].lower(), list(words[1:])
    if key in ("immediate", "instant") and not rest:
        return replace(current, mode=DeliveryMode.IMMEDIATE)
    if key == "digest" and len(rest) <= 1:
        hour = parse_hour(rest[0]) if rest else current.digest_hour
        return replace(current, mode=DeliveryMode.DIGEST, digest_hour=hour)
    if key == "hour" and len(rest) == 1:
        return replace(current, digest_hour=parse_hour(rest[0]))
    if key in ("tz", "timezone", "zone") and len(rest) == 1:
        return replace(current, timezone=parse_timezone(rest[0]))
    if key in ("urgent", "urgent-only") and not rest:
        return replace(current, urgent_only=True)
    if key in ("all", "everything") and not rest:
        return replace(current, urgent_only=False)
    if key in ("lang", "language") and len(rest) == 1:
        return replace(current, language=parse_language(rest[0]))
    if key == "quiet":
        if len(rest) == 1 and rest[0].lower() in ("off", "none", "no"):
            return replace(current, quiet_start=None, quiet_end=None)
        pair = _HOUR_PAIR.fullmatch(rest[0]) if len(rest) == 1 else None
        hours = [pair.group(1), pair.group(2)] if pair else rest
        if len(hours) == 2:
            start, end = parse_hour(hours[0]), parse_hour(hours[1])
            if start == end:
                raise InputError("Quiet hours need a different start and end, e.g. /settings quiet 22 7.")
            return replace(current, quiet_start=start, quiet_end=end)
        raise InputError("Usage: /settings quiet START END (hours 0-23, e.g. 22 7) or /settings quiet off")
    raise InputError(SETTINGS_USAGE)


# Language words a user may type after /settings lang (or /language): codes, and each language's own name.
_LANGUAGE_WORDS = {"english": "en", "한국어": "ko", "korean": "ko", "中文": "zh-Hans", "简体中文": "zh-Hans",
                   "chinese": "zh-Hans"}


def parse_language(word: str) -> str:
    """Our language for 'ko', 'zh', 'zh-Hans', 'en', 'korean', '한국어' ...; InputError for anything else."""
    text = word.strip().lower()
    if text in _LANGUAGE_WORDS:
        return _LANGUAGE_WORDS[text]
    language = negotiate(text)
    if language == "en" and text.split("-", 1)[0] != "en":
        raise InputError("'{word}' is not a language I speak: en (English), ko (한국어) or zh (简体中文).",
                         word=_short(word, 20))
    return language


# /pause: a number and a unit; the longest pause is PAUSE_MAX (a forgotten pause should not last forever).
_PAUSE = re.compile(r"([0-9]{1,4})\s*(m|min|h|d)")
_PAUSE_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86400}
PAUSE_MAX = timedelta(days=30)
PAUSE_USAGE = N_("Usage: /pause DURATION (30m, 6h, 2d; at most 30 days) or /pause off")


def parse_pause(word: str) -> timedelta | None:
    """How long to pause for '30m', '6h', '2d' ('off', 'resume', '0' give None: resume); InputError otherwise."""
    text = word.strip().lower()
    if text in ("off", "resume", "stop", "0", "no"):
        return None
    match = _PAUSE.fullmatch(text)
    if match is None:
        raise InputError(PAUSE_USAGE)
    length = timedelta(seconds=int(match.group(1)) * _PAUSE_UNITS[match.group(2)])
    if not timedelta(0) < length <= PAUSE_MAX:
        raise InputError(PAUSE_USAGE)
    return length


def parse_count(word: str, default: int, most: int) -> int:
    """A count 1..most from `word`; `default` for ''; InputError otherwise."""
    if not word:
        return default
    if not re.fullmatch(r"[0-9]{1,4}", word) or not 1 <= int(word) <= most:
        raise InputError("Usage: /recent [N], N from 1 to {most}", most=str(most))
    return int(word)


def parse_story_id(word: str) -> int:
    """A story id from '12' or '#12'; InputError otherwise."""
    match = re.fullmatch(r"#?([0-9]{1,12})", word.strip())
    if match is None:
        raise InputError("Usage: /story ID, e.g. /story 12 (the number after # in /recent)")
    return int(match.group(1))


def search_words(text: str) -> str:
    """The words of a search, spaces collapsed; InputError when empty or too long."""
    words = text.split()
    if not words:
        raise InputError("Usage: /search WORDS, e.g. /search Dandong or /search 강제북송")
    joined = " ".join(words)
    if len(joined) > SEARCH_MAX_CHARS or len(words) > SEARCH_MAX_WORDS:
        raise InputError(
            "That search is too long: use at most {words} words and {chars} characters.",
            words=str(SEARCH_MAX_WORDS), chars=str(SEARCH_MAX_CHARS),
        )
    return joined


def feed_health(feed: Feed, state: FeedState | None) -> FeedHealth:
    """How a configured feed is doing, from its stored state (None: not polled yet)."""
    if state is None:
        return FeedHealth(feed.name, feed.outlet, feed.language, "new")
    if state.disabled:
        label = "disabled"
    elif state.error_count >= FAILING_AFTER:
        label = "failing"
    elif state.error_count > 0:
        label = "retrying"
    elif state.last_success_at is None:
        label = "new"
    else:
        label = "ok"
    return FeedHealth(
        feed.name,
        feed.outlet,
        feed.language,
        label,
        errors=state.error_count,
        last_error=state.last_error,
        last_success_at=state.last_success_at,
        disabled_reason=state.disabled_reason,
        malformed=state.malformed,
    )


def last_poll(states: Sequence[FeedState]) -> datetime | None:
    """When any feed was last fetched, successfully or not (None before the first poll)."""
    moments = [m for s in states for m in (s.last_success_at, s.last_error_at) if m is not None]
    return max(moments, default=None)


# --- the services ---------------------------------------------------------------------------------------


class Services:
    """The bot's requests over one Database and the current config; methods are synchronous and short."""

    def __init__(
        self, config_ref: ConfigRef, db: Database, clock: Clock, reload: Callable[[], Config],
        gazetteer: Gazetteer | None = None,
    ) -> None:
        self._config_ref = config_ref
        self._db = db
        self._clock = clock
        self._reload = reload
        self._gazetteer = gazetteer

    # --- topics and subscriptions ---

    @property
    def config(self) -> Config:
        """The config in force now."""
        return self._config_ref.current

    def topics(self) -> tuple[Topic, ...]:
        """The configured topics, in file order."""
        return self.config.topics

    def topic_names(self, language: str = "en") -> dict[str, str]:
        """Topic id -> name in `language` (the English name where feeds.yaml gives no translation)."""
        return {topic.id: dict(topic.names).get(language, topic.name) for topic in self.config.topics}

    def resolve_topics(self, words: Sequence[str]) -> tuple[str, ...]:
        """Topic ids named by `words` (ids, any case; 'all' for every topic), in config order.

        No words gives the topics marked default (every topic when none is). UnknownTopics names the
        words that are not topic ids, with the valid ones.
        """
        topics = self.config.topics
        if not words:
            chosen = {t.id for t in topics if t.default} or {t.id for t in topics}
            return tuple(t.id for t in topics if t.id in chosen)
        by_id = {t.id.lower(): t.id for t in topics}
        wanted: set[str] = set()
        unknown: list[str] = []
        for word in words:
            key = word.strip().strip(",").lower()
            if key == "all":
                wanted.update(by_id.values())
            elif key in by_id:
                wanted.add(by_id[key])
            elif key:
                unknown.append(word)
        if unknown:
            raise UnknownTopics(unknown, topics)
        return tuple(t.id for t in topics if t.id in wanted)

    def chat(self, chat_id: int) -> Chat | None:
        """The stored chat, or None when it never subscribed or set anything."""
        with self._db.unit_of_work() as uow:
            return uow.chats.get(chat_id)

    def subscribe(
        self, target: ChatRef, words: Sequence[str], *, forum: bool = False, thread_id: int | None = None
    ) -> Subscription:
        """Subscribe the chat to the topics `words` name (registering the chat); UnknownTopics on a typo.

        In a forum (`forum`), alerts go to the topic the command was sent in (`thread_id`; None is General).
        """
        wanted = self.resolve_topics(words)
        now = self._clock()
        with self._db.unit_of_work() as uow:
            uow.chats.ensure(target.id, target.kind, target.title, now, language=target.language)
            added = uow.chats.subscribe(target.id, wanted, now)
            if forum:
                uow.chats.set_thread(target.id, thread_id)
            chat = uow.chats.get(target.id)
        topics = chat.topics if chat else wanted
        return Subscription(target.id, tuple(added), (), tuple(t for t in wanted if t not in added), topics)

    def unsubscribe(self, chat_id: int, words: Sequence[str]) -> Subscription:
        """Remove the topics `words` name; no words removes every topic. UnknownTopics on a typo."""
        with self._db.unit_of_work() as uow:
            chat = uow.chats.get(chat_id)
            current = chat.topics if chat else ()
            wanted = self.resolve_topics(words) if words else current
            removed = uow.chats.unsubscribe(chat_id, wanted) if chat and wanted else ()
            after = uow.chats.get(chat_id)
        topics = after.topics if after else ()
        return Subscription(chat_id, (), tuple(removed), tuple(t for t in wanted if t not in removed), topics)

    def toggle(self, target: ChatRef, topic_id: str) -> Subscription:
        """Subscribe to `topic_id` if the chat does not follow it, else unsubscribe (the picker's buttons)."""
        chat = self.chat(target.id)
        if chat is not None and topic_id in chat.topics:
            return self.unsubscribe(target.id, [topic_id])
        return self.subscribe(target, [topic_id])

    def mute(
        self, chat_id: int, topic_id: str | None = None, *, story_id: int | None = None, index: int | None = None
    ) -> tuple[str, Subscription]:
        """Unsubscribe the chat from a topic named by id, or by its index in a story's topics (alert buttons).

        Returns the topic id and the subscription after; InputError when the story or topic is gone. A
        topic that left the config is still removed: an old alert's button may name it.
        """
        if topic_id is None:
            story = self.story(story_id) if story_id is not None else None
            if story is None or index is None or not 0 <= index < len(story.topics):
                raise InputError("That story is not available any more.")
            topic_id = story.topics[index]
        with self._db.unit_of_work() as uow:
            removed = uow.chats.unsubscribe(chat_id, [topic_id]) if uow.chats.get(chat_id) else ()
            after = uow.chats.get(chat_id)
        unchanged = () if removed else (topic_id,)
        return topic_id, Subscription(chat_id, (), tuple(removed), unchanged, after.topics if after else ())

    def unmute(
        self, target: ChatRef, topic_id: str | None = None, *, story_id: int | None = None, index: int | None = None
    ) -> tuple[str, Subscription]:
        """Undo a mute: follow the topic again (named as `mute` names it). InputError when it is gone."""
        if topic_id is None:
            story = self.story(story_id) if story_id is not None else None
            if story is None or index is None or not 0 <= index < len(story.topics):
                raise InputError("That story is not available any more.")
            topic_id = story.topics[index]
        now = self._clock()
        with self._db.unit_of_work() as uow:
            uow.chats.ensure(target.id, target.kind, target.title, now, language=target.language)
            added = uow.chats.subscribe(target.id, [topic_id], now)
            after = uow.chats.get(target.id)
        unchanged = () if added else (topic_id,)
        return topic_id, Subscription(target.id, tuple(added), (), unchanged, after.topics if after else ())

    def set_thread(self, target: ChatRef, thread_id: int | None) -> None:
        """Send the chat's alerts to forum topic `thread_id` (None: General), registering the chat."""
        with self._db.unit_of_work() as uow:
            uow.chats.ensure(target.id, target.kind, target.title, self._clock(), language=target.language)
            uow.chats.set_thread(target.id, thread_id)

    def move(self, old_chat_id: int, new_chat_id: int) -> bool:
        """A group became a supergroup: its subscription follows the new id. False when nothing was to move.

        Telegram announces the upgrade twice (in the old group and in the new supergroup), and delivery may
        have moved the chat already on a send; a chat not found or no longer active is left alone.
        """
        with self._db.unit_of_work() as uow:
            chat = uow.chats.get(old_chat_id)
            if chat is None or not chat.active or old_chat_id == new_chat_id:
                return False
            uow.chats.move(old_chat_id, new_chat_id)
        return True

    # --- settings ---

    def settings(self, chat_id: int) -> ChatSettings:
        """The chat's settings (the defaults for a chat never seen)."""
        chat = self.chat(chat_id)
        return chat.settings if chat else ChatSettings()

    def change_settings(self, target: ChatRef, words: Sequence[str]) -> ChatSettings:
        """Apply a settings change (see `change_settings`) and store it; returns the new settings."""
        now = self._clock()
        with self._db.unit_of_work() as uow:
            chat = uow.chats.ensure(target.id, target.kind, target.title, now, language=target.language)
            settings = change_settings(chat.settings, words)
            if settings != chat.settings:
                uow.chats.set_settings(target.id, settings)
        return settings

    def pause(self, target: ChatRef, word: str) -> Chat:
        """Pause the chat's alerts for the length `word` gives ('6h'), or resume ('off'); InputError on a typo."""
        length = parse_pause(word)
        now = self._clock()
        with self._db.unit_of_work() as uow:
            uow.chats.ensure(target.id, target.kind, target.title, now, language=target.language)
            uow.chats.set_pause(target.id, now + length if length is not None else None)
            chat = uow.chats.get(target.id)
        assert chat is not None
        return chat

    def now(self) -> datetime:
        """The services' clock."""
        return self._clock()

    # --- reading stories ---

    def _chat_topics(self, chat_id: int) -> tuple[tuple[str, ...], bool]:
        chat = self.chat(chat_id)
        if chat and chat.topics:
            return chat.topics, False
        return tuple(t.id for t in self.config.topics), True

    def recent(self, chat_id: int, count: int = RECENT_DEFAULT) -> Listing:
        """The latest stories of the chat's topics (all topics when it follows none), newest first."""
        count = max(1, min(count, RECENT_MAX))
        topics, every = self._chat_topics(chat_id)
        with self._db.unit_of_work() as uow:
            stories = uow.stories.recent(count, topics)
        return Listing(tuple(stories), topics, every)

    def story(self, story_id: int) -> Story | None:
        """The story with its sources and actions, or None when there is no such story. A story merged into
        another gives the one it became part of."""
        with self._db.unit_of_work() as uow:
            try:
                return uow.stories.get(uow.stories.resolve(story_id))
            except KeyError:
                return None

    def search(self, text: str) -> tuple[str, tuple[Story, ...]]:
        """Stories matching every word of `text`, newest first, over all topics; InputError on bad words."""
        words = search_words(text)
        with self._db.unit_of_work() as uow:
            return words, tuple(uow.stories.search(words, None, SEARCH_LIMIT))

    def actions(self, chat_id: int, limit: int = ACTIONS_STORIES) -> Listing:
        """The latest urgent stories of the chat's topics (all topics when it follows none), with actions."""
        topics, every = self._chat_topics(chat_id)
        with self._db.unit_of_work() as uow:
            stories = uow.stories.latest_urgent(topics, limit)
        return Listing(tuple(stories), topics, every)

    # --- operators ---

    def sources(self) -> tuple[FeedHealth, ...]:
        """Every configured feed, in file order, with its health from the database."""
        with self._db.unit_of_work() as uow:
            states = {state.name: state for state in uow.feeds.all()}
        return tuple(feed_health(feed, states.get(feed.name)) for feed in self.config.feeds)

    def status(self) -> Status:
        """Queue depth, last poll, failing feeds, chat and story counts and recent delivery failures."""
        config = self.config
        with self._db.unit_of_work() as uow:
            states = uow.feeds.all()
            pending = uow.outbox.pending_count()
            counts = uow.outbox.counts()
            failures = uow.outbox.recent_failures(STATUS_FAILURES)
            active, inactive = uow.chats.count_active(), uow.chats.count_inactive()
            stories = uow.stories.count()
        by_name = {state.name: state for state in states}
        health = [feed_health(feed, by_name.get(feed.name)) for feed in config.feeds]
        return Status(
            pending=pending,
            outbox=tuple(sorted(counts.items())),
            last_poll=last_poll(states),
            feeds=len(config.feeds),
            failing=tuple(h for h in health if h.state in ("failing", "disabled", "retrying")),
            chats_active=active,
            chats_inactive=inactive,
            stories=stories,
            recent_failures=tuple(failures),
            config_source=config.source,
            now=self._clock(),
        )

    def merge_stories(self, a: int, b: int) -> Story:
        """Join two stories into the older (operators' correction); InputError when it cannot be done."""
        with self._db.unit_of_work() as uow:
            try:
                kept = merge_stories(uow, self._story_rules(), a, b, self._clock())
            except Refused as refused:
                raise InputError(refused.template, **refused.values) from None
            return uow.stories.get(kept)

    def split_story(self, story_id: int, source: str) -> tuple[Story, Story]:
        """Move one source out of a story into its own (operators' correction): (the story, the new one)."""
        with self._db.unit_of_work() as uow:
            try:
                new = split_story(uow, self._story_rules(), story_id, source, self._clock())
            except Refused as refused:
                raise InputError(refused.template, **refused.values) from None
            return uow.stories.get(uow.stories.resolve(story_id)), uow.stories.get(new)

    def _story_rules(self) -> StoryRules:
        if self._gazetteer is None:
            self._gazetteer = load_gazetteer()
        return story_rules(self.config, self._gazetteer)

    def reload(self) -> ReloadResult:
        """Re-read feeds.yaml; when valid put it in force and sync the feeds, else keep the old one."""
        old = self.config
        try:
            new = self._reload()
        except ConfigError as error:
            return ReloadResult(False, error.path, tuple(error.problems))
        with self._db.unit_of_work() as uow:
            uow.feeds.sync(new.feeds, self._clock())
        self._config_ref.swap(new)
        before = {feed.name for feed in old.feeds}
        after = {feed.name for feed in new.feeds}
        return ReloadResult(
            True,
            new.source,
            topics=len(new.topics),
            feeds=len(new.feeds),
            actions=len(new.actions),
            added_feeds=tuple(f.name for f in new.feeds if f.name not in before),
            removed_feeds=tuple(f.name for f in old.feeds if f.name not in after),
        )
