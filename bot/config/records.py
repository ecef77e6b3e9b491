"""The configuration as the rest of the bot reads it: frozen records made once, at start."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.domain import ActionRule, Feed, Topic

# --- public records -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Defaults:
    """Settings shared by all feeds; feeds.yaml `defaults:` overrides any of them."""

    interval_seconds: int = 900  # per-feed poll interval default
    max_backoff_seconds: int = 6 * 3600  # ceiling of exponential backoff after failures
    timeout_seconds: float = 30.0  # whole-request timeout
    max_body_bytes: int = 5 * 1024 * 1024
    max_redirects: int = 5
    concurrency: int = 8  # feeds in flight at once
    dedupe_window_days: int = 30  # same normalized title from the same outlet is a duplicate this long
    story_window_days: int = 4  # reports this close in time may be one story (clustering)
    followup_window_days: int = 45  # a later report may be a follow-up of a story this old (clustering)
    retention_days: int = 180  # items older than this are pruned (stories and their source lists stay)
    silent_after_days: int = 7  # a feed that published nothing this long is reported to the admins


@dataclass(frozen=True, slots=True)
class Config:
    """feeds.yaml, validated: topics, feeds and actions in file order, and where it came from."""

    source: str
    defaults: Defaults
    topics: tuple[Topic, ...]
    feeds: tuple[Feed, ...]
    actions: tuple[ActionRule, ...]

    def topic(self, topic_id: str) -> Topic:
        """The topic with this id; KeyError if there is none."""
        for topic in self.topics:
            if topic.id == topic_id:
                return topic
        raise KeyError(topic_id)

    def feed(self, name: str) -> Feed:
        """The feed with this name; KeyError if there is none."""
        for feed in self.feeds:
            if feed.name == name:
                return feed
        raise KeyError(name)


DEFAULT_TELEGRAM_API_URL = "https://api.telegram.org/bot"
# A Bot API token is '<bot id>:<35 characters of [A-Za-z0-9_-]>'; the length of the second part has varied,
# so only its alphabet and a sane minimum are checked.
_TOKEN = re.compile(r"[0-9]{3,20}:[A-Za-z0-9_-]{30,60}")


@dataclass(frozen=True, slots=True)
class Secret:
    """A value that must never be printed: repr and str show only that it is set."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class Settings:
    """Process settings from the environment (see `load_settings`)."""

    database_url: str
    config_path: str
    log_level: str
    user_agent: str
    telegram_token: Secret | None = None
    telegram_api_url: str = DEFAULT_TELEGRAM_API_URL
    admin_ids: frozenset[int] = frozenset()
    admin_chat_id: int | None = None


