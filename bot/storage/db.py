"""The database handle: engine settings, schema upgrade and check, and units of work."""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from bot.errors import SchemaError
from bot.storage.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from alembic.config import Config

# The newest revision in bot/migrations (tests/test_storage.py checks it is alembic's head). `run` checks the
# database against it without importing alembic, which holds 11 MB in the process (bench/poll_scale.py);
# alembic is imported to migrate, and to explain a database at another revision.
SCHEMA_REVISION = "0009"

# How long a SQLite writer waits for another one to finish before failing with "database is locked".
# Units of work are short (one feed's items), so this only matters when the disk stalls.
SQLITE_BUSY_TIMEOUT_MS = 15_000


def sqlite_url(path: str | Path) -> str:
    """The SQLAlchemy URL of a SQLite file at `path` (made absolute, so the cwd never matters later)."""
    return f"sqlite:///{Path(path).expanduser().resolve()}"


def make_engine(url: str | URL) -> Engine:
    """An engine for `url`; on SQLite: WAL, foreign keys, a busy timeout and BEGIN IMMEDIATE transactions."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # pool_pre_ping: the bot runs for weeks and PostgreSQL may restart under it.
        return create_engine(parsed, pool_pre_ping=True)

    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module, which would not BEGIN before a SELECT
        # or DDL; the "begin" listener below emits BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # WAL lets readers (the Telegram handlers) go on while the pipeline writes.
            cursor.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL still never corrupts the file; a power cut may undo the last commits, which
            # the next poll fetches again (feeds) or the outbox sends again. FULL fsyncs every commit, and
            # bench/poll_scale.py measured that as half of a steady (all-304) cycle.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front, so it waits on the busy timeout. A deferred
        # transaction that reads and then writes fails at once if another writer committed meanwhile.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _script_location() -> str:
    """The folder holding env.py and versions/, found through the installed package, not the cwd."""
    return str(importlib.resources.files("bot.migrations"))


def _driver_execute(connection: Connection, sql: str) -> None:
    """Run `sql` on the driver connection itself, outside any transaction SQLAlchemy would begin."""
    connection.connection.driver_connection.execute(sql)  # type: ignore[union-attr]


@contextmanager
def schema_change(engine: Engine) -> Iterator[Connection]:
    """A connection inside one transaction for migrations; commits at the end, rolls back on error.

    On SQLite, foreign keys are off inside and checked before commit: SQLite alters a table by copying
    it and dropping the old one, and with foreign keys on that drop cascades into the tables referring
    to it (rebuilding `items` would empty `item_topics`). The pragma only works outside a transaction,
    so it goes to the driver before BEGIN.
    """
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _driver_execute(connection, "PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise SchemaError(
                            f"schema change rolled back: it would leave {len(broken)} rows with dangling "
                            f"foreign keys, first (table, rowid, parent, fk) = {tuple(broken[0])}"
                        )
        finally:
            if sqlite:
                _driver_execute(connection, "PRAGMA foreign_keys=ON")


class Database:
    """One database: its engine, its schema revision, and units of work on it."""

    def __init__(self, url: str, *, script_location: str | None = None) -> None:
        """`script_location` replaces the packaged migrations folder (for tests of future migrations)."""
        self._url = make_url(url)
        self._engine = make_engine(self._url)
        self._script_location = script_location or _script_location()

    @property
    def url_for_display(self) -> str:
        """The URL with its password masked, safe for logs and error messages."""
        return self._url.render_as_string(hide_password=True)

    def _alembic_config(self) -> Config:
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", self._script_location)
        # Config values go through ConfigParser interpolation, so a '%' in a password must be doubled.
        url = self._url.render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
        return config

    def upgrade(self) -> None:
        """Bring the schema to the newest revision (alembic upgrade head), in one transaction."""
        from alembic import command

        config = self._alembic_config()
        with schema_change(self._engine) as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def head_revision(self) -> str | None:
        """The revision this code needs."""
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self._alembic_config()).get_current_head()

    def current_revision(self) -> str | None:
        """The revision the database is at, or None when it has no schema yet."""
        with self._engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()

    def check_schema(self) -> None:
        """Raise SchemaError unless the database is at the revision this code needs."""
        current = self.current_revision()
        if current == SCHEMA_REVISION and self._script_location == _script_location():
            return
        from alembic.script import ScriptDirectory

        script = ScriptDirectory.from_config(self._alembic_config())
        head = script.get_current_head()
        if current == head:
            return
        known = current is None or current in {rev.revision for rev in script.walk_revisions()}
        if known:
            raise SchemaError(
                f"database at {self.url_for_display} is at revision {current or 'none'}, "
                f"code needs {head}: run `advocacy-bot db upgrade`"
            )
        # Upgrading cannot help here: the database was migrated by a newer release of the bot.
        raise SchemaError(
            f"database at {self.url_for_display} is at revision {current}, which this code does not know "
            f"(code needs {head}): run the release that created it, or a newer one"
        )

    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        """One transaction: commits when the block ends normally, rolls back when it raises."""
        with Session(self._engine) as session, session.begin():
            yield UnitOfWork(session)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()
