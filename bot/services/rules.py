"""The rules about a request's arguments, pure: limits, parsing what a user typed, and InputError for their mistakes."""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from bot.domain import (
    ChatSettings,
    DeliveryMode,
    Feed,
    FeedState,
    Topic,
)
from bot.errors import BotError
from bot.i18n import N_, negotiate
from bot.services.records import FeedHealth

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
