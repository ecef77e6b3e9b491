"""What every handler shares: the Telegram context type, replies, admin checks, and who reads and who may act."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from telegram import (
    Bot,
    CallbackQuery,
    ChatFullInfo,
    LinkPreviewOptions,
    Message,
    Update,
    User,
)
from telegram import Chat as TgChat
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import BadRequest, Forbidden
from telegram.ext import ContextTypes

from bot.domain import ChatKind
from bot.i18n import Translator, negotiate
from bot.services import (
    ChatRef,
    InputError,
    Services,
)
from bot.telegram.callbacks import (
    Button,
)
from bot.telegram.html import clean, clip, escape
from bot.telegram.messages.view import View, chat_view
from bot.telegram.sender import keyboard

Context = ContextTypes.DEFAULT_TYPE
P = ParamSpec("P")
T = TypeVar("T")

_ADMIN = (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)
# Telegram usernames are 5-32 characters of letters, digits and underscores, starting with a letter.
_USERNAME = re.compile(r"@[A-Za-z][A-Za-z0-9_]{3,31}")
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


@dataclass(frozen=True, slots=True)
class Target:
    """The chat a command acts on and, when it is not the chat the command came from, its name."""

    chat: ChatRef
    label: str | None = None


def chat_ref(chat: TgChat | ChatFullInfo, user: User | None = None) -> ChatRef:
    """Our reference to a Telegram chat: id, kind, a title to store (a person's name in private), and the
    language of `user` (who wrote), which a chat stored for the first time takes as its own."""
    title = chat.effective_name or (f"@{chat.username}" if chat.username else str(chat.id))
    # Our kinds are named as Telegram names chat types; anything newer is treated like a group.
    kind = ChatKind(chat.type) if chat.type in set(ChatKind) else ChatKind.GROUP
    return ChatRef(chat.id, kind, clean(title)[:200], negotiate(user.language_code if user else None))


def redact(text: str, token: str) -> str:
    """`text` with the bot token (and its secret half alone) replaced, for logs."""
    if token:
        text = text.replace(token, "<token>")
        secret = token.partition(":")[2]
        if len(secret) >= 8:
            text = text.replace(secret, "<token>")
    return text


def said(error: InputError, t: Translator) -> str:
    """A service's message to the user as HTML in their language; what they typed is cleaned and escaped."""
    return t.html(error.template, **{name: escape(clean(value)) for name, value in error.values.items()})


async def run(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a synchronous service call in a worker thread."""
    return await asyncio.to_thread(fn, *args, **kwargs)


async def reply(message: Message, texts: str | Sequence[str], buttons: Sequence[Sequence[Button]] = ()) -> None:
    """Send HTML `texts` (one message each) to the message's chat (its forum topic, if any); the buttons
    go under the last one."""
    parts = [texts] if isinstance(texts, str) else list(texts)
    for index, text in enumerate(parts):
        markup = keyboard(buttons) if index == len(parts) - 1 else None
        await message.reply_text(
            text, parse_mode=ParseMode.HTML, reply_markup=markup, link_preview_options=NO_PREVIEW, do_quote=False
        )


async def is_admin(bot: Bot, chat_id: int, user_id: int) -> bool:
    """Whether `user_id` owns or administers `chat_id` (False when Telegram will not say)."""
    try:
        member = await bot.get_chat_member(chat_id, user_id)
    except (BadRequest, Forbidden):
        return False
    return member.status in _ADMIN


class HandlerBase:
    """Handlers over one Services; `admin_ids` may use the operator commands (/status, /reload, ...)."""

    def __init__(self, services: Services, admin_ids: frozenset[int]) -> None:
        self.services = services
        self.admin_ids = admin_ids

    # --- who reads --------------------------------------------------------------------------------------

    async def _view(self, chat_id: int, user: User | None) -> View:
        """The View of chat `chat_id`: its stored language and zone, else the language of `user`."""
        stored = await run(self.services.chat, chat_id)
        return chat_view(stored, self.services.config, language=negotiate(user.language_code if user else None))

    async def _view_of(self, update: Update) -> View:
        chat = update.effective_chat
        assert chat is not None
        return await self._view(chat.id, update.effective_user)

    # --- who may act -----------------------------------------------------------------------------------

    async def _may_manage(self, update: Update, context: Context) -> bool:
        """Whether the sender may change the subscriptions and settings of the chat they wrote in."""
        chat, message, user = update.effective_chat, update.effective_message, update.effective_user
        if chat is None or message is None:
            return False
        if chat.type == ChatType.PRIVATE:
            return True
        if chat.type == ChatType.CHANNEL:
            return update.channel_post is not None  # only a channel's admins can post in it
        if message.sender_chat is not None and message.sender_chat.id == chat.id:
            return True  # an anonymous admin writes as the group itself
        return user is not None and await is_admin(context.bot, chat.id, user.id)

    async def _target(
        self, update: Update, context: Context, args: list[str], command: str, view: View
    ) -> Target | None:
        """The chat `command` changes: this one, or '@channel' from a private chat; None after refusing."""
        message, chat = update.effective_message, update.effective_chat
        assert message is not None and chat is not None
        t = view.t
        if args and args[0].startswith("@"):
            if chat.type != ChatType.PRIVATE:
                text = t.html("To manage a channel, send {example} to me in a private chat.",
                              example=f"<code>/{command} @channel</code>")
                await reply(message, text)
                return None
            return await self._channel(update, context, args.pop(0), view)
        if not await self._may_manage(update, context):
            await reply(message, t.html("Only admins of this group can change its subscriptions and settings."))
            return None
        return Target(chat_ref(chat, update.effective_user))

    async def _channel(self, update: Update, context: Context, name: str, view: View) -> Target | None:
        """The channel `name` when the sender administers it and the bot can post there; else say why."""
        message, user = update.effective_message, update.effective_user
        assert message is not None
        t = view.t
        shown = f"<code>{clip(clean(name), 40)}</code>"
        if user is None:
            return None
        if not _USERNAME.fullmatch(name):
            await reply(message, t.html("{name} is not a channel username; write it like {example}.", name=shown,
                                        example="<code>@mychannel</code>"))
            return None
        bot = context.bot
        try:
            channel = await bot.get_chat(name)
        except (BadRequest, Forbidden):
            await reply(
                message,
                t.html("I cannot find {name}. Check the username; a private channel must first add me as an admin.",
                       name=shown),
            )
            return None
        if channel.type != ChatType.CHANNEL:
            await reply(message, t.html("{name} is not a channel. For a group, send the command in the group itself.",
                                        name=shown))
            return None
        title = f"<b>{clip(clean(channel.title or name), 100)}</b>"
        try:
            me = await bot.get_chat_member(channel.id, bot.id)
            # can_post_messages is None for a bot admin of a group; only an explicit False refuses.
            allowed = getattr(me, "can_post_messages", None) is not False
            can_post = me.status == ChatMemberStatus.ADMINISTRATOR and allowed
        except (BadRequest, Forbidden):
            can_post = False
        if not can_post:
            await reply(
                message,
                t.html("I am not an admin of {channel}, so I cannot post there. Add me to the channel as an "
                       "administrator allowed to post messages, then send this again.", channel=title),
            )
            return None
        if not await is_admin(bot, channel.id, user.id):
            await reply(message, t.html("Only admins of {channel} can change its subscriptions; you are not one.",
                                        channel=title))
            return None
        return Target(chat_ref(channel, user), label=clean(channel.title or name))

    async def _may_press(self, query: CallbackQuery, bot: Bot, target_id: int, t: Translator) -> bool:
        """Whether the user pressing a button may change chat `target_id`; answers the query when not."""
        if target_id == query.from_user.id or await is_admin(bot, target_id, query.from_user.id):
            return True
        await query.answer(t.gettext("Only admins of this chat can change that."), show_alert=True)
        return False


def user_language(user: User | None) -> str:
    return negotiate(user.language_code if user else None)
