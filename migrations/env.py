"""Alembic environment. Database.upgrade passes its connection in; the alembic CLI builds one from the URL."""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection

from bot.storage.db import make_engine, schema_change
from bot.storage.models import Base, UTCDateTime

config = context.config
if config.config_file_name is not None:
    # Only the alembic CLI has an ini file; Database.upgrade leaves the bot's logging alone.
    fileConfig(config.config_file_name)
target_metadata = Base.metadata


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write UTCDateTime as a plain timezone-aware DateTime, so revisions never import the models."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        # Batch operations let ALTERs run on SQLite (by copying the table) and are plain ALTERs elsewhere.
        render_as_batch=True,
        compare_type=True,
        # Our SQLite engine emits BEGIN itself, so DDL there is transactional too: a failed upgrade leaves
        # the schema as it was.
        transactional_ddl=True,
        render_item=render_item,
        **kwargs,
    )


def _run_on(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """Print the SQL instead of running it (`alembic upgrade head --sql`)."""
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run on the connection Database.upgrade gave, or on a fresh engine with the bot's SQLite settings."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no sqlalchemy.url in the Alembic configuration")
    engine = make_engine(url)
    try:
        with schema_change(engine) as fresh:
            _run_on(fresh)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
