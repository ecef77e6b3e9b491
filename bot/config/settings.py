"""Settings from the environment (the token, the database, admins, logging)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from bot import __version__
from bot.config.records import _TOKEN, DEFAULT_TELEGRAM_API_URL, Secret, Settings
from bot.errors import ConfigError

# --- environment ----------------------------------------------------------------------------------

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_DEFAULT_DB_PATH = "data/advocacy-bot.sqlite3"


def load_settings(env: Mapping[str, str]) -> Settings:
    """Settings from environment variables (pass os.environ); ConfigError naming each bad variable.

    DATABASE_URL (else BOT_DB_PATH, a SQLite file, default data/advocacy-bot.sqlite3), FEEDS_CONFIG
    (default feeds.yaml), LOG_LEVEL (default INFO), BOT_USER_AGENT (default names this bot and version),
    TELEGRAM_BOT_TOKEN (needed only by `run`), TELEGRAM_API_URL (default Telegram's), ADMIN_USER_IDS (comma or
    space separated user ids allowed to use admin commands) and ADMIN_CHAT_ID (where admin reports go).
    """
    problems: list[str] = []

    database_url = env.get("DATABASE_URL", "").strip()
    if database_url:
        if not re.match(r"[A-Za-z][A-Za-z0-9+.\-]*://", database_url):
            problems.append(
                "DATABASE_URL: must be a database URL such as sqlite:////var/lib/bot.sqlite3 "
                "or postgresql+psycopg://user@host/db"
            )
    else:
        db_path = env.get("BOT_DB_PATH", "").strip() or _DEFAULT_DB_PATH
        database_url = f"sqlite:///{Path(db_path).expanduser().resolve()}"

    config_path = env.get("FEEDS_CONFIG", "").strip() or "feeds.yaml"

    log_level = (env.get("LOG_LEVEL", "").strip() or "INFO").upper()
    log_level = "WARNING" if log_level == "WARN" else log_level
    if log_level not in _LOG_LEVELS:
        problems.append(f"LOG_LEVEL: must be one of {', '.join(_LOG_LEVELS)} (got {env.get('LOG_LEVEL')!r})")

    user_agent = env.get("BOT_USER_AGENT", "").strip() or (
        f"advocacy-bot/{__version__} (+https://github.com/advocacy-bot/advocacy-bot)"
    )
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in user_agent):
        problems.append("BOT_USER_AGENT: must not contain control characters such as newlines")

    token_text = env.get("TELEGRAM_BOT_TOKEN", "").strip()
    token: Secret | None = None
    if token_text:
        if _TOKEN.fullmatch(token_text):
            token = Secret(token_text)
        else:
            # The value itself is never echoed: a near-miss token is still a secret.
            problems.append(
                "TELEGRAM_BOT_TOKEN: not a Bot API token (expected '<digits>:<letters, digits, _ or ->' as "
                "@BotFather gives it); to try the bot without one, run `advocacy-bot demo`"
            )

    api_url = env.get("TELEGRAM_API_URL", "").strip() or DEFAULT_TELEGRAM_API_URL
    if not re.match(r"https?://[^\s/]+", api_url):
        problems.append(f"TELEGRAM_API_URL: must be an http(s) URL such as {DEFAULT_TELEGRAM_API_URL}")

    admin_ids: set[int] = set()
    for part in re.split(r"[,\s]+", env.get("ADMIN_USER_IDS", "").strip()):
        if not part:
            continue
        if re.fullmatch(r"[0-9]{1,20}", part):
            admin_ids.add(int(part))
        else:
            problems.append(f"ADMIN_USER_IDS: {part!r} is not a Telegram user id (a positive whole number)")

    admin_chat_text = env.get("ADMIN_CHAT_ID", "").strip()
    admin_chat_id: int | None = None
    if admin_chat_text:
        if re.fullmatch(r"-?[0-9]{1,20}", admin_chat_text):
            admin_chat_id = int(admin_chat_text)
        else:
            problems.append(f"ADMIN_CHAT_ID: {admin_chat_text!r} is not a Telegram chat id (a whole number)")

    if problems:
        raise ConfigError("environment", problems)
    return Settings(
        database_url=database_url, config_path=config_path, log_level=log_level, user_agent=user_agent,
        telegram_token=token, telegram_api_url=api_url, admin_ids=frozenset(admin_ids), admin_chat_id=admin_chat_id,
    )

