"""The inline buttons: action cards, all sources, mute and undo, the topic picker, settings and pause."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from telegram import (
    Bot,
    CallbackQuery,
    Message,
    Update,
    User,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, Forbidden

from bot.domain import Story
from bot.i18n import Translator
from bot.services import (
    InputError,
)
from bot.telegram.callbacks import (
    ActionCallback,
    MuteCallback,
    SourcesCallback,
    parse_callback,
    parse_settings_callback,
    parse_subscribe_callback,
)
from bot.telegram.handlers.base import NO_PREVIEW, Context, Target, chat_ref, reply, run
from bot.telegram.handlers.subscriptions import SubscriptionHandlers
from bot.telegram.html import clean
from bot.telegram.messages.alert import mute_undo_buttons, render_alert
from bot.telegram.messages.commands import (
    render_language_changed,
    render_language_picker,
    render_topic_picker,
)
from bot.telegram.messages.story import render_action_card, render_sources
from bot.telegram.messages.view import View
from bot.telegram.sender import keyboard

# Named, not __name__: operators filter logs on this name, which stays when the module moves.
log = logging.getLogger("bot.telegram.handlers")


class ButtonHandlers(SubscriptionHandlers):
    """Every inline button; settings and pause buttons redraw the views of /settings and /pause."""

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
            link_preview_options=NO_PREVIEW,
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
                link_preview_options=NO_PREVIEW,
            )
            return
        await query.answer(t.gettext("Saved.") if after != before else t.gettext("Already so."))
        if after != before:
            text, buttons = await self._settings_view(target, query.from_user)
            await query.edit_message_text(
                text, parse_mode=ParseMode.HTML, reply_markup=keyboard(buttons), link_preview_options=NO_PREVIEW
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
                text, parse_mode=ParseMode.HTML, reply_markup=keyboard(buttons), link_preview_options=NO_PREVIEW
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
            await bot.send_message(user.id, text, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW)
    except (Forbidden, BadRequest):
        return False
    return True
