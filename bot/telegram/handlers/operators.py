"""Operator handlers: /sources, /status, /reload, and the story corrections /merge and /split."""

from __future__ import annotations

from telegram import (
    Update,
)

from bot.services import (
    InputError,
    parse_story_id,
)
from bot.telegram.handlers.base import Context, HandlerBase, reply, run, said
from bot.telegram.messages.health import render_feed_health, render_reload, render_status
from bot.telegram.messages.view import View


class OperatorHandlers(HandlerBase):
    """What the operators (`admin_ids`) may ask: feed health, status, reload, story corrections."""

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
