"""The python-telegram-bot Application: token and Bot API address from Settings, every handler, one error handler."""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from typing import Any

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.config import Settings
from bot.errors import ConfigError
from bot.i18n import LANGUAGES, TELEGRAM_CODES
from bot.services import Services
from bot.telegram.format import command_menu
from bot.telegram.handlers import STORY_COMMAND, Handlers

log = logging.getLogger(__name__)

BotApplication = Application[Any, Any, Any, Any, Any, Any]

# Commands are answered in messages and in channel posts (a channel subscribes by posting /subscribe),
# never in edited messages: editing an old "/subscribe" must not subscribe again.
_COMMAND_UPDATES = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST


def file_url(api_url: str) -> str:
    """The Bot API's file address beside `api_url`: .../bot -> .../file/bot (how Telegram lays them out)."""
    base = api_url.rstrip("/")
    if base.endswith("/bot"):
        return base[: -len("bot")] + "file/bot"
    return base + "/file/bot"


def build_application(settings: Settings, services: Services) -> BotApplication:
    """An Application for settings.telegram_token at settings.telegram_api_url, its handlers over `services`.

    ConfigError when no token is set. setMyCommands runs at start-up through post_init (run_polling);
    callers driving the Application themselves call `register_commands`.
    """
    if settings.telegram_token is None:
        raise ConfigError("environment", ["TELEGRAM_BOT_TOKEN: not set; @BotFather gives a bot its token"])
    # httpx logs each request's URL at INFO, and a Bot API URL holds the token.
    httpx_log = logging.getLogger("httpx")
    httpx_log.setLevel(max(httpx_log.getEffectiveLevel(), logging.WARNING))

    async def post_init(application: BotApplication) -> None:
        await register_commands(application.bot, settings.admin_ids)

    application: BotApplication = (
        ApplicationBuilder()
        .token(settings.telegram_token.value)
        .base_url(settings.telegram_api_url)
        .base_file_url(file_url(settings.telegram_api_url))
        .post_init(post_init)
        .build()
    )
    install(application, Handlers(services, settings.admin_ids))
    return application


def install(application: BotApplication, handlers: Handlers) -> None:
    """Register every command, the buttons, group upgrades, the unknown-command answer and the error handler."""
    commands = {
        "start": handlers.start,
        "help": handlers.help,
        "subscribe": handlers.subscribe,
        "unsubscribe": handlers.unsubscribe,
        "settings": handlers.settings,
        "language": handlers.language,
        "pause": handlers.pause,
        "list": handlers.show_list,
        "recent": handlers.recent,
        "story": handlers.story,
        "search": handlers.search,
        "actions": handlers.actions,
        "sources": handlers.sources,
        "status": handlers.status,
        "reload": handlers.reload,
        "merge": handlers.merge,
        "split": handlers.split,
    }
    for name, callback in commands.items():
        application.add_handler(CommandHandler(name, callback, filters=_COMMAND_UPDATES))
    # '/story_12', the tappable form of '/story 12' in alerts and lists.
    tapped = filters.Regex(re.compile(rf"^{STORY_COMMAND.pattern}(?:\s|$)"))
    application.add_handler(MessageHandler(filters.COMMAND & tapped & _COMMAND_UPDATES, handlers.story))
    application.add_handler(CallbackQueryHandler(handlers.button))
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, handlers.migrated))
    # Only in private chats: in a group an unknown command is most likely another bot's.
    application.add_handler(
        MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE, handlers.unknown)
    )
    application.add_error_handler(handlers.error)


async def register_commands(bot: Bot, admin_ids: Collection[int] = ()) -> None:
    """setMyCommands in every language (the default list is English; Telegram shows a user the list of
    their app's language), plus /status and /reload in each operator's chat."""
    for language in LANGUAGES:
        code = TELEGRAM_CODES[language] or None
        await bot.set_my_commands([BotCommand(n, d) for n, d in command_menu(language)], language_code=code)
    for admin in admin_ids:
        for language in LANGUAGES:
            operator = [BotCommand(n, d) for n, d in command_menu(language, admin=True)]
            try:
                await bot.set_my_commands(
                    operator, scope=BotCommandScopeChat(admin), language_code=TELEGRAM_CODES[language] or None
                )
            except TelegramError as error:  # an operator who never opened a chat with the bot: fine
                log.info("operator commands not set for %s: %s", admin, error)
                break
