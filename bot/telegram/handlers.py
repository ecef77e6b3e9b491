"""Thin command and button handlers: read the arguments, check who may do it, call a service, reply.

Replies are Telegram HTML made by bot.telegram.format in the chat's language (a stored chat's own setting;
for a chat not stored yet, the language of the Telegram user who wrote), escaping everything from feeds
and users. Services are synchronous database work; they run in a worker thread so a SQLite writer holding
its lock (the pipeline storing a feed) never freezes the event loop that answers everyone else.

Who may change what: anyone in their private chat; in a group, its admins (checked with getChatMember;
an anonymous admin posts as the group itself); in a channel, whoever can post there (only admins can),
or, from a private chat, `/subscribe @channel` after checking both the sender and the bot administer it.
Buttons are checked again when pressed: a channel's readers can press buttons too.
"""

from __future__ import annotations

import asyncio
import logging
import re
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
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
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ContextTypes

from bot.domain import ChatKind, Story
from bot.i18n import N_, Translator, negotiate
from bot.services import (
    QUIET_PRESETS,
    RECENT_DEFAULT,
    RECENT_MAX,
    ChatRef,
    InputError,
    Services,
    parse_count,
    parse_story_id,
)
from bot.telegram.format import (
    ActionCallback,
    Button,
    MuteCallback,
    SourcesCallback,
    View,
    chat_view,
    clean,
    clip,
    escape,
    mute_undo_buttons,
    parse_callback,
    parse_settings_callback,
    parse_subscribe_callback,
    render_action_card,
    render_actions,
    render_alert,
    render_feed_health,
    render_help,
    render_language_changed,
    render_language_picker,
    render_list,
    render_pause,
    render_reload,
    render_settings,
    render_sources,
    render_status,
    render_story_full,
    render_story_list,
    render_subscription,
    render_topic_picker,
)
from bot.telegram.sender import keyboard

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
P = ParamSpec("P")
T = TypeVar("T")

_ADMIN = (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)
# Telegram usernames are 5-32 characters of letters, digits and underscores, starting with a letter.
_USERNAME = re.compile(r"@[A-Za-z][A-Za-z0-9_]{3,31}")
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
_START_PAYLOAD = re.compile(r"(story|src|act)-([0-9]{1,12})(?:-([0-9]{1,3}))?")
# '/story_12' and '/story_12@SomeBot': the tappable form of '/story 12' in alerts and lists.
STORY_COMMAND = re.compile(r"/story_([0-9]{1,12})(?:@[A-Za-z0-9_]{1,64})?")

SORRY = N_("Sorry, something went wrong on my side. Please try again later.")


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
            text, parse_mode=ParseMode.HTML, reply_markup=markup, link_preview_options=_NO_PREVIEW, do_quote=False
        )


async def is_admin(bot: Bot, chat_id: int, user_id: int) -> bool:
    """Whether `user_id` owns or administers `chat_id` (False when Telegram will not say)."""
    try:
        member = await bot.get_chat_member(chat_id, user_id)
    except (BadRequest, Forbidden):
        return False
    return member.status in _ADMIN


class Handlers:
    """Every command and button of the bot, over one Services; `admin_ids` may use /status and /reload."""

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

    # --- commands --------------------------------------------------------------------------------------

    async def start(self, update: Update, context: Context) -> None:
        """/start [payload]: help, or what a deep link from a button in a group or channel asked for."""
        message = update.effective_message
        assert message is not None
        view = await self._view_of(update)
        payload = _START_PAYLOAD.fullmatch(context.args[0]) if context.args else None
        if payload is not None:
            kind, number, index = payload.group(1), int(payload.group(2)), payload.group(3)
            story = await run(self.services.story, number)
            if story is None:
                await reply(message, view.t.html("No story #{id}. /recent lists the latest.", id=str(number)))
            elif kind == "src":
                await reply(message, render_sources(story, view=view))
            elif kind == "act" and index is not None and int(index) < len(story.actions):
                await reply(message, render_action_card(story, story.actions[int(index)], view=view))
            else:
                await reply(message, render_story_full(story, view=view))
            return
        await self._help(update, view)

    async def help(self, update: Update, context: Context) -> None:
        """/help: what the bot does, topics, commands."""
        await self._help(update, await self._view_of(update))

    async def _help(self, update: Update, view: View) -> None:
        message, user = update.effective_message, update.effective_user
        assert message is not None
        admin = user is not None and user.id in self.admin_ids and message.chat.type == ChatType.PRIVATE
        await reply(message, render_help(self.services.topics(), admin=admin, view=view))

    async def subscribe(self, update: Update, context: Context) -> None:
        """/subscribe [@channel] [topic...]: follow topics; no topic shows the picker. In a forum, the topic
        the command is sent in becomes where alerts go."""
        message = update.effective_message
        assert message is not None
        view = await self._view_of(update)
        args = list(context.args or [])
        target = await self._target(update, context, args, "subscribe", view)
        if target is None:
            return
        # In a forum the command's own topic (None: General) is where the alerts go.
        forum = target.label is None and bool(message.chat.is_forum)
        thread = message.message_thread_id if forum and message.is_topic_message else None
        if target.label is not None:  # a channel managed from a private chat: its own language
            view = await self._view(target.chat.id, update.effective_user)
        if not args:
            if forum:
                await run(self.services.set_thread, target.chat, thread)
            chat = await run(self.services.chat, target.chat.id)
            picker = render_topic_picker(
                target.chat.id, self.services.topics(), chat.topics if chat else (), target=target.label, view=view
            )
            await reply(message, picker.text, picker.buttons)
            return
        try:
            done = await run(self.services.subscribe, target.chat, args, forum=forum, thread_id=thread)
        except InputError as error:
            await reply(message, said(error, view.t) + "\n" + view.t.html("Usage: /subscribe [topic...]"))
            return
        view = await self._view(target.chat.id, update.effective_user)
        text = render_subscription(
            done.added, (), done.unchanged, done.topics, subscribing=True, target=target.label, view=view,
            thread=thread is not None,
        )
        await reply(message, text)

    async def unsubscribe(self, update: Update, context: Context) -> None:
        """/unsubscribe [@channel] [topic...]: stop topics; no topic stops all of them."""
        message = update.effective_message
        assert message is not None
        view = await self._view_of(update)
        args = list(context.args or [])
        target = await self._target(update, context, args, "unsubscribe", view)
        if target is None:
            return
        try:
            done = await run(self.services.unsubscribe, target.chat.id, args)
        except InputError as error:
            await reply(message, said(error, view.t) + "\n" + view.t.html("Usage: /unsubscribe [topic...]"))
            return
        text = render_subscription((), done.removed, done.unchanged, done.topics, subscribing=False,
                                   target=target.label, view=view)
        await reply(message, text)

    async def settings(self, update: Update, context: Context) -> None:
        """/settings [@channel] [change]: show the settings with buttons, or apply a typed change."""
        message, chat = update.effective_message, update.effective_chat
        assert message is not None and chat is not None
        view = await self._view_of(update)
        args = list(context.args or [])
        if not args:  # anyone may look; pressing a button is checked
            target: Target | None = Target(chat_ref(chat, update.effective_user))
        else:
            target = await self._target(update, context, args, "settings", view)
        if target is None:
            return
        if args:
            try:
                await run(self.services.change_settings, target.chat, args)
            except InputError as error:
                await reply(message, said(error, view.t))
                return
        await reply(message, *await self._settings_view(target, update.effective_user))

    async def _settings_view(self, target: Target, user: User | None) -> tuple[str, tuple[tuple[Button, ...], ...]]:
        chat = await run(self.services.chat, target.chat.id)
        view = chat_view(chat, self.services.config, language=negotiate(user.language_code if user else None))
        settings = await run(self.services.settings, target.chat.id)
        if chat is None:  # a chat not stored yet shows the language it would get
            settings = replace(settings, language=view.language)
        shown = render_settings(
            target.chat.id, settings, chat.topics if chat else (), target=target.label, quiet_presets=QUIET_PRESETS,
            view=view,
        )
        return shown.text, shown.buttons

    async def language(self, update: Update, context: Context) -> None:
        """/language [@channel] [en|ko|zh]: the language buttons, or a typed change."""
        message = update.effective_message
        assert message is not None
        view = await self._view_of(update)
        args = list(context.args or [])
        if args and not args[0].startswith("@") and len(args) != 1:
            await reply(message, view.t.html("Usage: /language [en | ko | zh]"))
            return
        target = await self._target(update, context, args, "language", view)
        if target is None:
            return
        if args:
            try:
                await run(self.services.change_settings, target.chat, ["lang", args[0]])
            except InputError as error:
                await reply(message, said(error, view.t))
                return
            await reply(message, render_language_changed(await self._view(target.chat.id, update.effective_user)))
            return
        view = await self._view(target.chat.id, update.effective_user)
        picker = render_language_picker(target.chat.id, target=target.label, view=view)
        await reply(message, picker.text, picker.buttons)

    async def pause(self, update: Update, context: Context) -> None:
        """/pause [@channel] [DURATION | off]: hold alerts for a while, or show the pause with buttons."""
        message = update.effective_message
        assert message is not None
        view = await self._view_of(update)
        args = list(context.args or [])
        target = await self._target(update, context, args, "pause", view)
        if target is None:
            return
        if len(args) > 1:
            await reply(message, said(InputError(_PAUSE_USAGE), view.t))
            return
        if args:
            try:
                await run(self.services.pause, target.chat, args[0])
            except InputError as error:
                await reply(message, said(error, view.t))
                return
        await reply(message, *await self._pause_view(target, update.effective_user))

    async def _pause_view(self, target: Target, user: User | None) -> tuple[str, tuple[tuple[Button, ...], ...]]:
        chat = await run(self.services.chat, target.chat.id)
        view = chat_view(chat, self.services.config, language=negotiate(user.language_code if user else None))
        settings = chat.settings if chat else await run(self.services.settings, target.chat.id)
        shown = render_pause(target.chat.id, chat.paused_until if chat else None, settings, view=view,
                             now=self.services.now())
        return shown.text, shown.buttons

    async def show_list(self, update: Update, context: Context) -> None:
        """/list: what this chat follows and how its alerts arrive."""
        message, chat = update.effective_message, update.effective_chat
        assert message is not None and chat is not None
        stored = await run(self.services.chat, chat.id)
        view = chat_view(stored, self.services.config, language=_language(update.effective_user))
        await reply(message, render_list(stored, view=view, now=self.services.now()))

    async def recent(self, update: Update, context: Context) -> None:
        """/recent [N]: the latest stories of this chat's topics, one line each."""
        message, chat = update.effective_message, update.effective_chat
        assert message is not None and chat is not None
        view = await self._view_of(update)
        t = view.t
        args = context.args or []
        try:
            if len(args) > 1:
                raise InputError("Usage: /recent [N], N from 1 to {most}", most=str(RECENT_MAX))
            count = parse_count(args[0] if args else "", RECENT_DEFAULT, RECENT_MAX)
        except InputError as error:
            await reply(message, said(error, t))
            return
        listing = await run(self.services.recent, chat.id, count)
        heading = "🗞 <b>" + t.html("Latest stories") + "</b>"
        if listing.all_topics:
            heading += " " + t.html("(all topics; /subscribe to choose yours)")
        await reply(message, render_story_list(heading, listing.stories, empty=t.html("No stories yet."), view=view))

    async def story(self, update: Update, context: Context) -> None:
        """/story ID (or the tappable /story_ID): the whole story."""
        message = update.effective_message
        assert message is not None
        view = await self._view_of(update)
        tapped = STORY_COMMAND.fullmatch((message.text or "").split(maxsplit=1)[0]) if message.text else None
        args = [tapped.group(1)] if tapped else (context.args or [])
        try:
            if len(args) != 1:
                raise InputError("Usage: /story ID, e.g. /story 12 (the number after # in /recent)")
            story_id = parse_story_id(args[0])
        except InputError as error:
            await reply(message, said(error, view.t))
            return
        story = await run(self.services.story, story_id)
        if story is None:
            await reply(message, view.t.html("No story #{id}. /recent lists the latest.", id=str(story_id)))
            return
        if story.id != story_id:
            await reply(message, view.t.html("Story #{old} is now part of story #{story}.", old=str(story_id),
                                             story=str(story.id)))
        await reply(message, render_story_full(story, view=view))

    async def merge(self, update: Update, context: Context) -> None:
        """/merge A B (operators): two stories are one event; the older keeps both, alerts are edited."""
        message = update.effective_message
        assert message is not None
        view = await self._view_of(update)
        if not await self._operator(update, "merge", view):
            return
        args = context.args or []
        try:
            if len(args) != 2:
                raise InputError("Usage: /merge A B, e.g. /merge 12 15 (two story numbers)")
            a, b = parse_story_id(args[0]), parse_story_id(args[1])
            story = await run(self.services.merge_stories, a, b)
        except InputError as error:
            await reply(message, said(error, view.t))
            return
        await reply(message, view.t.html("Stories #{a} and #{b} are now one story, #{story}; alerts already sent "
                                         "are edited.", a=str(a), b=str(b), story=str(story.id)))

    async def split(self, update: Update, context: Context) -> None:
        """/split ID SOURCE (operators): move one report out of a story into a story of its own."""
        message = update.effective_message
        assert message is not None
        view = await self._view_of(update)
        if not await self._operator(update, "split", view):
            return
        args = context.args or []
        try:
            if len(args) != 2:
                raise InputError("Usage: /split ID SOURCE, e.g. /split 12 3 (the source's number in /story_12, "
                                 "or its link)")
            story_id = parse_story_id(args[0])
            kept, new = await run(self.services.split_story, story_id, args[1])
        except InputError as error:
            await reply(message, said(error, view.t))
            return
        await reply(message, view.t.html("Moved out of story #{story} into its own story #{new}; the two are kept "
                                         "apart from now on.", story=str(kept.id), new=str(new.id)))

    async def search(self, update: Update, context: Context) -> None:
        """/search WORDS: stories matching every word, newest first."""
        message = update.effective_message
        assert message is not None
        view = await self._view_of(update)
        t = view.t
        try:
            words, found = await run(self.services.search, " ".join(context.args or []))
        except InputError as error:
            await reply(message, said(error, t))
            return
        heading = "🔎 " + t.html("Stories matching {words}", words=f"“{clip(clean(words), 100)}”")
        empty = t.html("Nothing found. Try fewer or other words.")
        await reply(message, render_story_list(heading, found, empty=empty, view=view))

    async def actions(self, update: Update, context: Context) -> None:
        """/actions: the actions of the latest urgent stories of this chat's topics, as buttons."""
        message, chat = update.effective_message, update.effective_chat
        assert message is not None and chat is not None
        view = await self._view_of(update)
        if context.args:
            await reply(message, view.t.html("Usage: /actions (no arguments)"))
            return
        listing = await run(self.services.actions, chat.id)
        shown = render_actions(listing.stories, view=view)
        await reply(message, shown.text, shown.buttons)

    async def sources(self, update: Update, context: Context) -> None:
        """/sources: the monitored feeds and their health."""
        message = update.effective_message
        assert message is not None
        view = await self._view_of(update)
        if context.args:
            await reply(message, view.t.html("Usage: /sources (no arguments)"))
            return
        await reply(message, render_feed_health(await run(self.services.sources), view=view))

    async def _operator(self, update: Update, command: str, view: View) -> bool:
        """Whether the sender is an operator; refuses politely, saying nothing else, when not."""
        message, user = update.effective_message, update.effective_user
        assert message is not None
        if user is not None and user.id in self.admin_ids:
            return True
        await reply(message, view.t.html("Sorry, /{command} is only for the operators of this bot.", command=command))
        return False

    async def status(self, update: Update, context: Context) -> None:
        """/status (operators): queue, last poll, failing feeds, counts, delivery failures."""
        message = update.effective_message
        assert message is not None
        view = await self._view_of(update)
        if not await self._operator(update, "status", view):
            return
        if context.args:
            await reply(message, view.t.html("Usage: /status (no arguments)"))
            return
        await reply(message, render_status(await run(self.services.status), view=view))

    async def reload(self, update: Update, context: Context) -> None:
        """/reload (operators): re-read feeds.yaml; a broken file keeps the config in force."""
        message = update.effective_message
        assert message is not None
        view = await self._view_of(update)
        if not await self._operator(update, "reload", view):
            return
        if context.args:
            await reply(message, view.t.html("Usage: /reload (no arguments)"))
            return
        await reply(message, render_reload(await run(self.services.reload), view=view))

    async def unknown(self, update: Update, context: Context) -> None:
        """A command this bot does not have (private chats only: in groups it may be another bot's)."""
        message = update.effective_message
        assert message is not None
        view = await self._view_of(update)
        command = (message.text or "").split(maxsplit=1)[0] if message.text else ""
        await reply(message, view.t.html("I do not know {command}. /help lists what I can do.",
                                         command=f"<code>{clip(clean(command), 40)}</code>"))

    async def migrated(self, update: Update, context: Context) -> None:
        """A group was upgraded to a supergroup: move its subscription to the new chat id."""
        message = update.effective_message
        assert message is not None
        if message.migrate_to_chat_id is not None:
            old, new = message.chat.id, message.migrate_to_chat_id
        elif message.migrate_from_chat_id is not None:
            old, new = message.migrate_from_chat_id, message.chat.id
        else:
            return
        if await run(self.services.move, old, new):
            log.info("chat %s moved to %s (group upgraded to a supergroup)", old, new)

    # --- buttons ---------------------------------------------------------------------------------------

    async def button(self, update: Update, context: Context) -> None:
        """Every inline button: action card, all sources, mute topic and undo, topic picker, settings."""
        query = update.callback_query
        assert query is not None
        data = query.data or ""
        message = query.message
        chat_id = message.chat.id if isinstance(message, Message) else query.from_user.id
        view = await self._view(chat_id, query.from_user)
        parsed = parse_callback(data)
        if isinstance(parsed, ActionCallback | SourcesCallback):
            await self._show_story_part(query, context, parsed)
        elif isinstance(parsed, MuteCallback):
            await self._mute(query, context, parsed, view)
        elif (toggle := parse_subscribe_callback(data)) is not None:
            await self._toggle(query, context, *toggle, view=view)
        elif (change := parse_settings_callback(data)) is not None:
            await self._change_setting(query, context, *change, view=view)
        else:
            await query.answer(view.t.gettext("This button is no longer valid."))

    async def _show_story_part(
        self, query: CallbackQuery, context: Context, request: ActionCallback | SourcesCallback
    ) -> None:
        # The card goes to the presser: in their own chat's language (their private chat with the bot).
        view = await self._view(query.from_user.id, query.from_user)
        t = view.t
        story = await run(self.services.story, request.story_id)
        if story is None:
            await query.answer(t.gettext("That story is no longer available."))
            return
        if isinstance(request, SourcesCallback):
            texts, payload = render_sources(story, view=view), f"src-{story.id}"
        else:
            index = _action_index(story, request)
            if index is None:
                await query.answer(t.gettext("That action is no longer available."))
                return
            texts = [render_action_card(story, story.actions[index], view=view)]
            payload = f"act-{story.id}-{index}"
        message = query.message
        if isinstance(message, Message) and message.chat.type == ChatType.PRIVATE:
            await reply(message, texts)
            await query.answer()
            return
        # In a group or channel the card goes to the presser privately, not to everyone in the chat.
        if await _send_private(context.bot, query.from_user, texts):
            await query.answer(t.gettext("Sent to you in a private chat with me."))
        else:  # the user never started a chat with the bot: a deep link opens one with the request
            await query.answer(url=f"https://t.me/{context.bot.username}?start={payload}")

    async def _mute(self, query: CallbackQuery, context: Context, request: MuteCallback, view: View) -> None:
        t = view.t
        message = query.message
        if not isinstance(message, Message):
            await query.answer(t.gettext("This message is too old to change."))
            return
        if not await self._may_press(query, context.bot, message.chat.id, t):
            return
        target = chat_ref(message.chat, query.from_user)
        try:
            if request.undo:
                topic, done = await run(
                    self.services.unmute, target, request.topic_id, story_id=request.story_id, index=request.index
                )
            else:
                topic, done = await run(
                    self.services.mute, message.chat.id, request.topic_id, story_id=request.story_id,
                    index=request.index,
                )
        except InputError as error:
            await query.answer(t.gettext(error.template).format(**error.values)[:200])
            return
        name = clean(view.topic_names.get(topic, topic))[:120]
        story_id = _story_of(request, message)
        story = await run(self.services.story, story_id) if story_id is not None else None
        if request.undo:
            await query.answer(t.gettext("Following {topic} again.").format(topic=name))
            rows = render_alert(story, view=view).buttons if story is not None else ()
        elif done.removed:
            await query.answer(t.gettext("Muted: {topic}. Tap Undo to follow it again.").format(topic=name))
            rows = mute_undo_buttons(story, view) if story is not None else ()
        else:
            await query.answer(t.gettext("This chat was not following {topic}.").format(topic=name))
            return
        if rows:
            try:
                await query.edit_message_reply_markup(reply_markup=keyboard(rows))
            except BadRequest as error:  # an old message, or the keyboard is already so
                log.info("keyboard of message %s not changed: %s", message.message_id, error.message)

    async def _toggle(
        self, query: CallbackQuery, context: Context, chat_id: int, topic_id: str | None, index: int | None,
        *, view: View,
    ) -> None:
        t = view.t
        topics = self.services.topics()
        if topic_id is None and index is not None and index < len(topics):
            topic_id = topics[index].id
        if topic_id is None or all(x.id != topic_id for x in topics):
            await query.answer(t.gettext("That topic is no longer offered."))
            return
        if not await self._may_press(query, context.bot, chat_id, t):
            return
        target = await self._press_target(query, context, chat_id, t)
        if target is None:
            return
        done = await run(self.services.toggle, target.chat, topic_id)
        view = await self._view(chat_id, query.from_user)
        name = clean(view.topic_names.get(topic_id, topic_id))[:120]
        text = t.gettext("Following: {topic}") if done.added else t.gettext("Stopped: {topic}")
        await query.answer(text.format(topic=name))
        picker = render_topic_picker(chat_id, topics, done.topics, target=target.label, view=view)
        await query.edit_message_text(
            picker.text, parse_mode=ParseMode.HTML, reply_markup=keyboard(picker.buttons),
            link_preview_options=_NO_PREVIEW,
        )

    async def _change_setting(
        self, query: CallbackQuery, context: Context, chat_id: int, words: list[str], *, view: View
    ) -> None:
        t = view.t
        if not await self._may_press(query, context.bot, chat_id, t):
            return
        target = await self._press_target(query, context, chat_id, t)
        if target is None:
            return
        if words[0] == "pause" and len(words) == 2:
            await self._press_pause(query, target, words[1], view)
            return
        before = await run(self.services.settings, chat_id)
        try:
            after = await run(self.services.change_settings, target.chat, words)
        except InputError as error:
            await query.answer(t.gettext(error.template).format(**error.values)[:200])
            return
        if words[0] == "lang":
            new_view = await self._view(chat_id, query.from_user)
            await query.answer(new_view.t.gettext("Saved."))
            picker = render_language_picker(chat_id, target=target.label, view=new_view)
            text = picker.text + "\n\n" + render_language_changed(new_view)
            await query.edit_message_text(
                text, parse_mode=ParseMode.HTML, reply_markup=keyboard(picker.buttons),
                link_preview_options=_NO_PREVIEW,
            )
            return
        await query.answer(t.gettext("Saved.") if after != before else t.gettext("Already so."))
        if after != before:
            text, buttons = await self._settings_view(target, query.from_user)
            await query.edit_message_text(
                text, parse_mode=ParseMode.HTML, reply_markup=keyboard(buttons), link_preview_options=_NO_PREVIEW
            )

    async def _press_pause(self, query: CallbackQuery, target: Target, word: str, view: View) -> None:
        try:
            await run(self.services.pause, target.chat, word)
        except InputError as error:
            await query.answer(view.t.gettext(error.template).format(**error.values)[:200])
            return
        await query.answer(view.t.gettext("Saved."))
        text, buttons = await self._pause_view(target, query.from_user)
        try:
            await query.edit_message_text(
                text, parse_mode=ParseMode.HTML, reply_markup=keyboard(buttons), link_preview_options=_NO_PREVIEW
            )
        except BadRequest as error:  # the same pause pressed twice: "message is not modified"
            log.info("pause message not changed: %s", error.message)

    async def _press_target(self, query: CallbackQuery, context: Context, chat_id: int, t: Translator) -> Target | None:
        """The chat a button changes: the message's own chat, or a channel managed from a private chat."""
        message = query.message
        if isinstance(message, Message) and message.chat.id == chat_id:
            return Target(chat_ref(message.chat, query.from_user))
        try:
            chat = await context.bot.get_chat(chat_id)
        except (BadRequest, Forbidden):
            await query.answer(t.gettext("I cannot reach that chat any more."))
            return None
        return Target(chat_ref(chat, query.from_user), label=clean(chat.title or str(chat_id)))

    # --- errors ----------------------------------------------------------------------------------------

    async def error(self, update: object, context: Context) -> None:
        """The one error handler: log the traceback (token redacted), tell the user briefly."""
        error = context.error
        trace = "".join(traceback.format_exception(error)) if error is not None else "no exception"
        trace = redact(trace, context.bot.token)
        if not isinstance(update, Update):
            # Polling and network trouble arrive without an update; PTB retries them itself.
            log.warning("telegram error outside an update: %s", trace.strip().splitlines()[-1])
            return
        log.error("update %s failed:\n%s", update.update_id, trace)
        try:
            view = chat_view(None, None, language=_language(update.effective_user))
            if update.callback_query is not None:
                await update.callback_query.answer(view.t.gettext(SORRY)[:200])
            elif update.effective_message is not None:
                await reply(update.effective_message, view.t.html(SORRY))
        except TelegramError as failure:  # the apology failing must not raise into PTB again
            log.warning("could not tell the user about the error: %s", redact(str(failure), context.bot.token))


_PAUSE_USAGE = N_("Usage: /pause DURATION (30m, 6h, 2d; at most 30 days) or /pause off")


def _language(user: User | None) -> str:
    return negotiate(user.language_code if user else None)


def _story_of(request: MuteCallback, message: Message) -> int | None:
    """The story whose alert carries the mute button: from the callback, or the alert's '/story_N' line."""
    if request.story_id is not None:
        return request.story_id
    found = re.findall(r"/story_([0-9]{1,12})", message.text or "")
    return int(found[-1]) if found else None


def _action_index(story: Story, request: ActionCallback) -> int | None:
    if request.index is not None:
        return request.index if request.index < len(story.actions) else None
    for index, action in enumerate(story.actions):
        if action.id == request.action_id:
            return index
    return None


async def _send_private(bot: Bot, user: User, texts: Sequence[str]) -> bool:
    """Send `texts` to the user's private chat with the bot; False when Telegram will not let it."""
    try:
        for text in texts:
            await bot.send_message(user.id, text, parse_mode=ParseMode.HTML, link_preview_options=_NO_PREVIEW)
    except (Forbidden, BadRequest):
        return False
    return True

