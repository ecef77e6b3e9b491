"""Who reads a message: their language, time zone, and feeds.yaml's names and action templates in it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.domain import Chat
from bot.i18n import Translator, translator

if TYPE_CHECKING:  # records of the replies; only their attributes are read here
    from bot.config import Config


@dataclass(frozen=True, slots=True)
class View:
    """The reader: language, time zone, and feeds.yaml's topic names and action templates in that language.

    `actions` maps an action id to its (title, text) templates in the language; an action without one is
    shown as the pipeline filled it (in English).
    """

    t: Translator = field(default_factory=lambda: translator("en"))
    zone: str = "UTC"
    topic_names: Mapping[str, str] = field(default_factory=dict)
    actions: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def language(self) -> str:
        """The reader's language: "en", "ko" or "zh-Hans"."""
        return self.t.language


def view_for(language: str | None, zone: str = "UTC", config: Config | None = None) -> View:
    """The View for a reader of `language` in `zone`, with the names of `config` (when given) translated."""
    t = translator(language)
    if config is None:
        return View(t, zone)
    names = {topic.id: dict(topic.names).get(t.language, topic.name) for topic in config.topics}
    actions = {
        rule.id: (title, text)
        for rule in config.actions
        for lang, title, text in rule.translations
        if lang == t.language
    }
    return View(t, zone, names, actions)


def chat_view(chat: Chat | None, config: Config | None = None, *, language: str | None = None) -> View:
    """The View of a stored chat (its language and time zone); `language` for a chat not stored yet."""
    if chat is None:
        return view_for(language, "UTC", config)
    return view_for(chat.settings.language, chat.settings.timezone, config)
