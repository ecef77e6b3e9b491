"""Thin command and button handlers: read the arguments, check who may do it, call a service, reply.

Replies are Telegram HTML made by bot.telegram.messages in the chat's language (a stored chat's own setting;
for a chat not stored yet, the language of the Telegram user who wrote), escaping everything from feeds
and users. Services are synchronous database work; they run in a worker thread so a SQLite writer holding
its lock (the pipeline storing a feed) never freezes the event loop that answers everyone else.

Who may change what: anyone in their private chat; in a group, its admins (checked with getChatMember;
an anonymous admin posts as the group itself); in a channel, whoever can post there (only admins can),
or, from a private chat, `/subscribe @channel` after checking both the sender and the bot administer it.
Buttons are checked again when pressed: a channel's readers can press buttons too.

By area: `subscriptions` (what a chat follows, its settings), `stories` (/recent, /story, /search,
/actions), `operators` (/sources, /status, /reload, /merge, /split) and `buttons`; `base` holds what they
share. `Handlers` joins them and is the one error handler; bot.telegram.app registers its methods.
"""

from __future__ import annotations

import logging
import traceback

from telegram import Update
from telegram.error import TelegramError

from bot.i18n import N_
from bot.telegram.handlers.base import Context, redact, reply, user_language
from bot.telegram.handlers.buttons import ButtonHandlers
from bot.telegram.handlers.operators import OperatorHandlers
from bot.telegram.handlers.stories import STORY_COMMAND, StoryHandlers
from bot.telegram.messages.view import chat_view
from bot.telegram.sender import keyboard

__all__ = ["SORRY", "STORY_COMMAND", "Handlers", "keyboard", "redact"]

# Named, not __name__: operators filter logs on this name, which stays when the module moves.
log = logging.getLogger("bot.telegram.handlers")

SORRY = N_("Sorry, something went wrong on my side. Please try again later.")


class Handlers(ButtonHandlers, StoryHandlers, OperatorHandlers):
    """Every command and button of the bot, over one Services; `admin_ids` may use /status and /reload."""

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
            view = chat_view(None, None, language=user_language(update.effective_user))
            if update.callback_query is not None:
                await update.callback_query.answer(view.t.gettext(SORRY)[:200])
            elif update.effective_message is not None:
                await reply(update.effective_message, view.t.html(SORRY))
        except TelegramError as failure:  # the apology failing must not raise into PTB again
            log.warning("could not tell the user about the error: %s", redact(str(failure), context.bot.token))

