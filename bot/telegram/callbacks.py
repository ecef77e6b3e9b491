"""Buttons and their callback data: the records the renderers return and the parsers the handlers use.

Nothing here imports python-telegram-bot: buttons are `Button` records that the sender turns into an
InlineKeyboardMarkup. Every callback_data fits Telegram's 64 bytes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain import Story, Topic
from bot.telegram.html import plain_ref as _plain_ref

MAX_CALLBACK_BYTES = 64  # Telegram's limit on callback_data, in bytes of UTF-8


@dataclass(frozen=True, slots=True)
class Button:
    """One inline button: exactly one of callback_data (at most 64 bytes of UTF-8) or an http(s) url."""

    label: str
    callback_data: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        if (self.callback_data is None) == (self.url is None):
            raise ValueError(f"button {self.label!r}: give exactly one of callback_data and url")
        if self.callback_data is not None and len(self.callback_data.encode()) > MAX_CALLBACK_BYTES:
            raise ValueError(f"button {self.label!r}: callback_data over {MAX_CALLBACK_BYTES} bytes")
        if not self.label.strip():
            raise ValueError("button label is empty")


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message's HTML text (within MAX_MESSAGE UTF-16 units) and its inline keyboard, row by row."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()


# --- callback data ------------------------------------------------------------------------------------
# Formats, each within 64 bytes:
#   act:<story_id>:<action_id>    the action card; "act:<story_id>:#<n>" (index into story.actions)
#                                 when the action id is too long for the limit
#   src:<story_id>                all sources of a story
#   mute:<topic_id>               mute a topic; "mute:<story_id>:#<n>" (index into story.topics) when the
#                                 topic id is too long
#   unmute:...                    the same forms: undo a mute (follow the topic again)
#   tog:<chat_id>:<topic_id>      the /subscribe picker: toggle a topic ("tog:<chat_id>:#<n>" by index)
#   set:<chat_id>:<word>[:<word>] a /settings, /language or /pause button: the words of the typed command
# The fallbacks use an index rather than a cut id: a cut id could name another action or topic.


@dataclass(frozen=True, slots=True)
class ActionCallback:
    """'Show this action of this story': by id, or by index into story.actions when the id was too long."""

    story_id: int
    action_id: str | None = None
    index: int | None = None


@dataclass(frozen=True, slots=True)
class SourcesCallback:
    """'Show every source of this story'."""

    story_id: int


@dataclass(frozen=True, slots=True)
class MuteCallback:
    """'Mute this topic' (or, with `undo`, follow it again): by id, or by index in a story's topics."""

    topic_id: str | None = None
    story_id: int | None = None
    index: int | None = None
    undo: bool = False


Callback = ActionCallback | SourcesCallback | MuteCallback


def action_callback(story: Story, index: int) -> str:
    """callback_data for story.actions[index]: by id when it fits in 64 bytes, else by index."""
    ref = story.actions[index].id
    if _plain_ref(ref) and _fits_callback(f"act:{story.id}:{ref}"):
        return f"act:{story.id}:{ref}"
    return f"act:{story.id}:#{index}"


def sources_callback(story: Story) -> str:
    """callback_data for the story's 'All sources' button."""
    return f"src:{story.id}"


def mute_callback(story: Story, index: int = 0, *, undo: bool = False) -> str:
    """callback_data muting (or with `undo` unmuting) story.topics[index]: by id when it fits, else by index."""
    kind = "unmute" if undo else "mute"
    topic = story.topics[index]
    if _plain_ref(topic) and ":" not in topic and _fits_callback(f"{kind}:{topic}"):
        return f"{kind}:{topic}"
    return f"{kind}:{story.id}:#{index}"


def parse_callback(data: str) -> Callback | None:
    """The request behind callback_data made by this module; None when it is not one of ours."""
    kind, _, rest = data.partition(":")
    if kind == "src":
        return SourcesCallback(int(rest)) if _NUMBER.fullmatch(rest) else None
    if kind == "act":
        story, _, ref = rest.partition(":")
        if not _NUMBER.fullmatch(story) or not ref:
            return None
        if ref.startswith("#"):
            return ActionCallback(int(story), index=int(ref[1:])) if _NUMBER.fullmatch(ref[1:]) else None
        return ActionCallback(int(story), action_id=ref)
    if kind in ("mute", "unmute"):
        undo = kind == "unmute"
        story, sep, ref = rest.partition(":")
        if not sep:
            return MuteCallback(topic_id=rest, undo=undo) if rest else None
        if _NUMBER.fullmatch(story) and ref.startswith("#") and _NUMBER.fullmatch(ref[1:]):
            return MuteCallback(story_id=int(story), index=int(ref[1:]), undo=undo)
        return None
    return None


# ASCII digits only: str.isdigit() accepts '²', which int() rejects.
# At most 16 digits, so a forged id still fits the database's 64-bit integers; Telegram's chat ids have at
# most 52 bits (16 digits).
_NUMBER = re.compile(r"[0-9]{1,16}")
_CHAT_ID = re.compile(r"-?[0-9]{1,16}")


def _fits_callback(data: str) -> bool:
    return len(data.encode()) <= MAX_CALLBACK_BYTES



_SUBSCRIBE_PREFIX = "tog"
_SETTINGS_PREFIX = "set"
# A settings word: an hour or hour range ('8', '22-7'), a duration ('6h', '30m'), or a keyword ('lang').
_SETTING_WORD = re.compile(r"[0-9]{1,3}[a-z]?(?:-[0-9]{1,2})?|[a-z-]{1,16}")


def subscribe_callback(chat_id: int, topics: Sequence[Topic], index: int) -> str:
    """callback_data toggling topics[index] for `chat_id`: by topic id when it fits 64 bytes, else by index."""
    data = f"{_SUBSCRIBE_PREFIX}:{chat_id}:{topics[index].id}"
    return data if _plain_ref(topics[index].id) and _fits_callback(data) else f"{_SUBSCRIBE_PREFIX}:{chat_id}:#{index}"


def parse_subscribe_callback(data: str) -> tuple[int, str | None, int | None] | None:
    """(chat id, topic id or None, topic index or None) from a topic picker button; None if not one."""
    kind, _, rest = data.partition(":")
    chat, _, ref = rest.partition(":")
    if kind != _SUBSCRIBE_PREFIX or not _CHAT_ID.fullmatch(chat) or not ref:
        return None
    if ref.startswith("#"):
        return (int(chat), None, int(ref[1:])) if _NUMBER.fullmatch(ref[1:]) else None
    return int(chat), ref, None


def settings_callback(chat_id: int, *words: str) -> str:
    """callback_data applying a change (`words`: 'quiet', '22-7'; 'lang', 'ko'; 'pause', '6h') to a chat."""
    return ":".join((_SETTINGS_PREFIX, str(chat_id), *words))


def parse_settings_callback(data: str) -> tuple[int, list[str]] | None:
    """(chat id, settings words) from a settings button; None when `data` is not one."""
    kind, _, rest = data.partition(":")
    chat, _, words = rest.partition(":")
    parts = words.split(":") if words else []
    if kind != _SETTINGS_PREFIX or not _CHAT_ID.fullmatch(chat) or not 1 <= len(parts) <= 2:
        return None
    if not all(_SETTING_WORD.fullmatch(part) for part in parts):
        return None
    return int(chat), parts
