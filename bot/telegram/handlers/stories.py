"""Handlers that show stories: /recent, /story, /search and /actions."""

from __future__ import annotations

import re

from telegram import (
    Update,
)

from bot.services import (
    RECENT_DEFAULT,
    RECENT_MAX,
    InputError,
    parse_count,
    parse_story_id,
)
from bot.telegram.handlers.base import Context, HandlerBase, reply, run, said
from bot.telegram.html import clean, clip
from bot.telegram.messages.lists import render_actions, render_story_list
from bot.telegram.messages.story import render_story_full

# '/story_12' and '/story_12@SomeBot': the tappable form of '/story 12' in alerts and lists.
STORY_COMMAND = re.compile(r"/story_([0-9]{1,12})(?:@[A-Za-z0-9_]{1,64})?")


class StoryHandlers(HandlerBase):
    """Reading stories: lists, one story in full, search, the actions to take."""

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
