"""The Sender of bot.delivery over python-telegram-bot: render with bot.telegram.format, send, map errors.

Every Telegram failure leaves this module as one of the DeliveryError subclasses, named by what delivery
should do about it; the bot token never appears in a reason.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.warnings import PTBDeprecationWarning

from bot.domain import Chat, Story, Urgency
from bot.errors import (
    ChatMoved,
    ChatUnreachable,
    DeliveryError,
    DeliveryUncertain,
    MessageRejected,
    RetryLater,
    ThreadGone,
    TransientDeliveryError,
)
from bot.i18n import translator
from bot.telegram.format import (
    Button,
    Rendered,
    View,
    merged_pointer,
    render_alert,
    render_digest,
    render_followup,
    thread_gone_note,
    view_for,
)

if TYPE_CHECKING:
    from bot.config import Config

log = logging.getLogger(__name__)

# 400 answers that mean the chat itself is out of reach, not that this message was wrong. Telegram's
# wording varies by chat type and client generation; these are the ones it is known to send.
_UNREACHABLE = (
    "chat not found",
    "bot was blocked",
    "bot was kicked",
    "user is deactivated",
    "group chat was deactivated",
    "peer_id_invalid",
    "chat_write_forbidden",
    "not enough rights to send",
    "have no rights to send",
    "need administrator rights",
    "bot is not a member",
)
_NOT_MODIFIED = "message is not modified"
# What Telegram answers when a forum topic was deleted under the bot.
_THREAD_GONE = ("message thread not found", "topic_deleted")
# How long to hold every send when Telegram refuses the token: the operator must fix it, and the
# outbox keeps every row pending meanwhile instead of failing them one by one.
_BAD_TOKEN_PAUSE = 300.0
# httpx's exception for "the request went out, the answer did not come back in time". PTB wraps it in
# TimedOut; only this module may know PTB's internals, and httpx stays imported by bot.fetch alone.
_READ_TIMEOUT = "ReadTimeout"


def keyboard(rows: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup | None:
    """Format's button rows as Telegram's inline keyboard (None when there are none)."""
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(button.label, url=button.url)
                if button.url is not None
                else InlineKeyboardButton(button.label, callback_data=button.callback_data)
                for button in row
            ]
            for row in rows
            if row
        ]
    )


def _seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        # PTB 22 warns that retry_after will become a timedelta; either form is read here.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramSender:
    """Sends alerts, follow-ups, edits and digests as Telegram HTML messages through `bot`.

    `bot` needs a connection pool at least as large as delivery's concurrency (PTB's default Bot has 256).
    """

    def __init__(
        self, bot: Bot, topic_names: Mapping[str, str], *, config: Callable[[], Config] | None = None
    ) -> None:
        """`config` gives the config in force, for topic and action names in each chat's language; without
        it every chat reads the English `topic_names`."""
        self.bot = bot
        self.topic_names = dict(topic_names)
        self.config = config

    def view(self, chat: Chat) -> View:
        """How `chat` reads: its language, its time zone, names from feeds.yaml in its language."""
        if self.config is not None:
            return view_for(chat.settings.language, chat.settings.timezone, self.config())
        return View(translator(chat.settings.language), chat.settings.timezone, self.topic_names)

    async def send_alert(self, chat: Chat, story: Story, *, silent: bool) -> int:
        """Post the story's alert; returns Telegram's message id."""
        return await self._send(chat, render_alert(story, view=self.view(chat)), silent=silent)

    async def send_followup(self, chat: Chat, story: Story, previous: Urgency, *, silent: bool) -> int:
        """Post the short note that the story's urgency changed; returns the message id."""
        return await self._send(chat, render_followup(story, previous, view=self.view(chat)), silent=silent)

    async def edit_alert(self, chat: Chat, message_id: int, story: Story) -> None:
        """Show the story as it is now in the alert already sent ("not modified" is success); a story merged
        into another becomes a one-line pointer to it."""
        view = self.view(chat)
        if story.merged_into is not None:
            rendered = merged_pointer(story.id, story.merged_into, view)
        else:
            rendered = render_alert(story, view=view)
        try:
            await self.bot.edit_message_text(
                rendered.text,
                chat_id=chat.id,
                message_id=message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard(rendered.buttons),
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        except BadRequest as error:
            if _NOT_MODIFIED in error.message.lower():
                return
            raise self._mapped(error, chat.id) from None
        except TelegramError as error:
            raise self._mapped(error, chat.id, editing=True) from None

    async def send_digest(self, chat: Chat, stories: Sequence[Story], since: datetime) -> None:
        """Post the digest, over as many messages as it needs (a failure midway raises; parts sent stay)."""
        for text in render_digest(stories, since=since, view=self.view(chat)):
            await self._send(chat, Rendered(text), silent=False)

    async def _send(self, chat: Chat, rendered: Rendered, *, silent: bool) -> int:
        try:
            message = await self.bot.send_message(
                chat.id,
                rendered.text,
                message_thread_id=chat.thread_id,
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard(rendered.buttons),
                disable_notification=silent,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        except BadRequest as error:
            if chat.thread_id is not None and any(p in error.message.lower() for p in _THREAD_GONE):
                await self._thread_gone(chat)
                raise ThreadGone(chat.id, self._reason(error)) from None
            raise self._mapped(error, chat.id) from None
        except TelegramError as error:
            raise self._mapped(error, chat.id) from None
        except Exception as error:
            # Not a Telegram answer PTB understood (an answer of the wrong shape, say): the request went
            # out and may have been taken, so it must not be sent again blindly.
            reason = self._masked(f"unreadable answer ({type(error).__name__}: {error})")
            raise DeliveryUncertain(chat.id, reason) from None
        return message.message_id

    async def _thread_gone(self, chat: Chat) -> None:
        """Tell the chat's admins, in General, that alerts now arrive there (best effort: delivery goes on)."""
        try:
            await self.bot.send_message(chat.id, thread_gone_note(self.view(chat)), parse_mode=ParseMode.HTML)
        except TelegramError as error:
            log.info("chat %d: note about its deleted topic not sent: %s", chat.id, self._reason(error))

    def _mapped(self, error: TelegramError, chat_id: int, *, editing: bool = False) -> DeliveryError:
        """The DeliveryError that tells delivery what to do about `error` (token masked)."""
        reason = self._reason(error)
        if isinstance(error, RetryAfter):
            return RetryLater(chat_id, _seconds(error))
        if isinstance(error, ChatMigrated):
            return ChatMoved(chat_id, error.new_chat_id)
        if isinstance(error, Forbidden):
            return ChatUnreachable(chat_id, reason)
        if isinstance(error, InvalidToken):
            log.error("Telegram refused the bot token (%s); holding all sends for %.0f s", reason, _BAD_TOKEN_PAUSE)
            return RetryLater(chat_id, _BAD_TOKEN_PAUSE, whole_bot=True)
        if isinstance(error, BadRequest):  # before NetworkError: PTB makes BadRequest one of those
            lowered = reason.lower()
            if any(phrase in lowered for phrase in _UNREACHABLE):
                return ChatUnreachable(chat_id, reason)
            return MessageRejected(chat_id, reason)
        if isinstance(error, TimedOut):
            cause = error.__cause__
            if not editing and cause is not None and type(cause).__name__ == _READ_TIMEOUT:
                return DeliveryUncertain(chat_id, f"timed out after sending: {reason}")
            return TransientDeliveryError(chat_id, f"timed out: {reason}")
        if isinstance(error, NetworkError):  # connection errors and 5xx answers
            return TransientDeliveryError(chat_id, reason)
        if type(error) is TelegramError and not editing:
            # A bare TelegramError is PTB failing to read an answer that came back ("Invalid server
            # response"): the message may be in the chat. Only a resend could double it; an edit cannot.
            return DeliveryUncertain(chat_id, f"unreadable answer: {reason}")
        return TransientDeliveryError(chat_id, f"{type(error).__name__}: {reason}")

    def _reason(self, error: TelegramError) -> str:
        return self._masked(error.message or type(error).__name__)

    def _masked(self, text: str) -> str:
        return text.replace(self.bot.token, "<token>") if self.bot.token else text
