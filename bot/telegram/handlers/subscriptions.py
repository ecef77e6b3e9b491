"""Handlers of a chat's subscription and settings: /start, /help, /subscribe, /unsubscribe, /settings,
/language, /pause, /list, unknown commands and group upgrades."""

from __future__ import annotations

import logging
import re
from dataclasses import replace

from telegram import (
    Update,
    User,
)
from telegram.constants import ChatType

from bot.i18n import N_, negotiate
from bot.services import (
    QUIET_PRESETS,
    InputError,
)
from bot.telegram.callbacks import (
    Button,
)
from bot.telegram.handlers.base import Context, HandlerBase, Target, chat_ref, reply, run, said, user_language
from bot.telegram.html import clean, clip
from bot.telegram.messages.commands import (
    render_help,
    render_language_changed,
    render_language_picker,
    render_list,
    render_pause,
    render_settings,
    render_subscription,
    render_topic_picker,
)
from bot.telegram.messages.story import render_action_card, render_sources, render_story_full
from bot.telegram.messages.view import View, chat_view

# Named, not __name__: operators filter logs on this name, which stays when the module moves.
log = logging.getLogger("bot.telegram.handlers")

_START_PAYLOAD = re.compile(r"(story|src|act)-([0-9]{1,12})(?:-([0-9]{1,3}))?")
_PAUSE_USAGE = N_("Usage: /pause DURATION (30m, 6h, 2d; at most 30 days) or /pause off")


class SubscriptionHandlers(HandlerBase):
    """What a chat follows and how its alerts arrive."""

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
        view = chat_view(stored, self.services.config, language=user_language(update.effective_user))
        await reply(message, render_list(stored, view=view, now=self.services.now()))

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
