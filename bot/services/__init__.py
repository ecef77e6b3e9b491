"""What the bot can be asked to do, over the database and the current config; no Telegram types here.

The Telegram handlers read arguments, call one method of `Services` and render what it returns. Every
rule about arguments (which topic ids exist, what a setting may be, how many stories /recent shows) lives
in this package (the pure ones in `rules`, the records returned in `records`), so the handlers stay thin
and the rules are tested without a chat. A user's mistake raises
`InputError` carrying a plain-text sentence that says what to do instead; anything else is a bug.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from bot.config import Config
from bot.domain import (
    Chat,
    ChatSettings,
    Story,
    Topic,
)
from bot.errors import ConfigError
from bot.pipeline import Clock, story_rules
from bot.services.records import (
    ChatRef,
    FeedHealth,
    Listing,
    ReloadResult,
    Status,
    Subscription,
)
from bot.services.rules import (
    ACTIONS_STORIES,
    FAILING_AFTER,
    PAUSE_MAX,
    PAUSE_USAGE,
    QUIET_PRESETS,
    RECENT_DEFAULT,
    RECENT_MAX,
    SEARCH_LIMIT,
    SEARCH_MAX_CHARS,
    SEARCH_MAX_WORDS,
    SETTINGS_USAGE,
    STATUS_FAILURES,
    InputError,
    UnknownTopics,
    change_settings,
    feed_health,
    last_poll,
    parse_count,
    parse_hour,
    parse_language,
    parse_pause,
    parse_story_id,
    parse_timezone,
    search_words,
)
from bot.storage.db import Database
from bot.stories.facts import Gazetteer, load_gazetteer
from bot.stories.merge import Refused, merge_stories, split_story
from bot.stories.step import StoryRules

__all__ = [
    "ACTIONS_STORIES",
    "FAILING_AFTER",
    "PAUSE_MAX",
    "PAUSE_USAGE",
    "QUIET_PRESETS",
    "RECENT_DEFAULT",
    "RECENT_MAX",
    "SEARCH_LIMIT",
    "SEARCH_MAX_CHARS",
    "SEARCH_MAX_WORDS",
    "SETTINGS_USAGE",
    "STATUS_FAILURES",
    "ChatRef",
    "ConfigRef",
    "FeedHealth",
    "InputError",
    "Listing",
    "ReloadResult",
    "Services",
    "Status",
    "Subscription",
    "UnknownTopics",
    "change_settings",
    "feed_health",
    "last_poll",
    "parse_count",
    "parse_hour",
    "parse_language",
    "parse_pause",
    "parse_story_id",
    "parse_timezone",
    "search_words",
]


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
