"""Database fixtures: a SQLite file per test, or the PostgreSQL database named by TEST_DATABASE_URL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import OperationalError

from bot.storage.db import Database, sqlite_url

# Every test process resetting the shared PostgreSQL database takes this advisory lock first and keeps
# it until its test ends, so two pytest runs at once queue instead of dropping each other's tables.
_PG_LOCK_KEY = 0x5EED_DB


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database for this test (not upgraded); CLI subprocesses may use it too."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield sqlite_url(tmp_path / "bot.sqlite3")
        return

    shown = make_url(url).render_as_string(hide_password=True)
    engine = create_engine(url)
    try:
        lock = engine.connect()
    except OperationalError as error:
        engine.dispose()
        pytest.skip(f"TEST_DATABASE_URL={shown} is unreachable: {error.orig or error}")
    try:
        lock.execute(text("SET lock_timeout = '120s'"))
        lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_LOCK_KEY})
        lock.commit()
        with engine.begin() as connection:
            # A connection leaked by an earlier test would make the drop wait forever; fail instead.
            connection.execute(text("SET LOCAL lock_timeout = '30s'"))
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        yield url
    finally:
        lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_LOCK_KEY})
        lock.commit()
        lock.close()
        engine.dispose()


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """An upgraded Database, disposed after the test."""
    db = Database(database_url)
    db.upgrade()
    try:
        yield db
    finally:
        db.dispose()
