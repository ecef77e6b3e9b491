"""Storage against a real database: SQLite by default, PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

import importlib.resources
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, text
from sqlalchemy.exc import IntegrityError, StatementError

from bot.domain import Feed, Item
from bot.errors import SchemaError
from bot.storage.db import SCHEMA_REVISION, Database, sqlite_url
from bot.storage.models import Base

T0 = datetime(2023, 10, 9, 12, 0, tzinfo=UTC)
KST = timezone(timedelta(hours=9))


def make_feed(name: str = "nknews", url: str | None = None, outlet: str = "NK News") -> Feed:
    return Feed(
        name=name,
        url=url or f"https://{name}.example.org/rss",
        language="en",
        interval_seconds=900,
        outlet=outlet,
    )


def make_item(
    n: int = 1,
    *,
    feed: str = "nknews",
    outlet: str = "NK News",
    guid: str | None = None,
    link: str | None = None,
    title: str | None = None,
    published: datetime = T0,
) -> Item:
    return Item(
        feed=feed,
        outlet=outlet,
        guid=guid or f"{feed}-guid-{n}",
        link=link or f"https://{feed}.example.org/articles/{n}",
        title=title or f"Report number {n} on returns across the Tumen",
        summary=f"Short summary {n}.",
        content=f"Longer body text of report {n}.",
        language="en",
        published=published,
        fetched=published + timedelta(minutes=5),
    )


def sync(database: Database, *feeds: Feed, now: datetime = T0) -> None:
    with database.unit_of_work() as uow:
        uow.feeds.sync(feeds, now)


def add(database: Database, item: Item, *topics: str, title_key: str | None = None) -> int:
    with database.unit_of_work() as uow:
        return uow.items.add(item, title_key=title_key or item.title.lower(), topics=topics)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(importlib.resources.files("bot.migrations")))
    config.set_main_option("sqlalchemy.url", url)
    return config


# --- schema -----------------------------------------------------------------------------------------


def test_upgraded_database_passes_the_schema_check(database: Database) -> None:
    database.check_schema()
    assert database.current_revision() == database.head_revision() == SCHEMA_REVISION == "0009"


def test_the_schema_check_of_a_current_database_needs_neither_alembic_nor_trafilatura(
    database: Database, database_url: str
) -> None:
    # Each holds over 10 MB in a process that imports it; `run` checks the schema at start and most feeds
    # never fetch an article page.
    script = (
        "import sys\n"
        "import bot.cli, bot.pipeline\n"
        "from bot.storage.db import Database\n"
        f"db = Database({database_url!r})\n"
        "db.check_schema()\n"
        "print(sorted(m for m in ('alembic', 'trafilatura') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_empty_database_fails_the_schema_check_with_the_fix(database_url: str) -> None:
    db = Database(database_url)
    try:
        assert db.current_revision() is None
        with pytest.raises(SchemaError) as raised:
            db.check_schema()
        message = str(raised.value)
        assert "is at revision none, code needs 0009" in message
        assert "run `advocacy-bot db upgrade`" in message
        db.upgrade()
        db.check_schema()
    finally:
        db.dispose()


def test_upgrade_twice_is_harmless(database: Database) -> None:
    database.upgrade()
    database.check_schema()


def test_downgrade_to_base_and_back(database: Database, database_url: str) -> None:
    sync(database, make_feed())
    database.dispose()
    command.downgrade(alembic_config(database_url), "base")
    assert database.current_revision() is None
    with pytest.raises(SchemaError):
        database.check_schema()
    command.upgrade(alembic_config(database_url), "head")
    database.check_schema()


def test_models_and_migration_agree(database: Database, database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            # The comparison itself must be able to fail: a table the migration lacks is reported.
            extended = MetaData()
            for table in Base.metadata.tables.values():
                table.to_metadata(extended)
            Table("not_in_the_migrations", extended, Column("id", Integer, primary_key=True))
            diffs = compare_metadata(context, extended)
            assert [diff[0] for diff in diffs] == ["add_table"]
    finally:
        engine.dispose()


def test_foreign_keys_are_enforced(database: Database) -> None:
    with pytest.raises(IntegrityError), database.unit_of_work() as uow:
        uow.session.execute(text("INSERT INTO item_topics (item_id, topic) VALUES (999, 'repatriation')"))


def test_sqlite_file_is_created_with_its_folder_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "state" / "nested" / "bot.sqlite3"
    db = Database(sqlite_url(path))
    db.upgrade()
    db.dispose()
    assert path.exists()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql+psycopg://bot:s3cret@db.example:5432/bot",
            "postgresql+psycopg://bot:***@db.example:5432/bot",
        ),
        (
            "postgresql+psycopg://postgres@127.0.0.1:5432/test",
            "postgresql+psycopg://postgres@127.0.0.1:5432/test",
        ),
        ("sqlite:////var/lib/bot/bot.sqlite3", "sqlite:////var/lib/bot/bot.sqlite3"),
    ],
)
def test_url_for_display_masks_the_password(url: str, shown: str) -> None:
    db = Database(url)  # engines connect lazily: nothing is reached here
    assert db.url_for_display == shown
    db.dispose()


def test_sqlite_url_is_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert sqlite_url("data/bot.sqlite3") == f"sqlite:///{tmp_path.resolve()}/data/bot.sqlite3"


# --- feeds ------------------------------------------------------------------------------------------


def test_sync_inserts_configured_feeds_due_at_once(database: Database) -> None:
    sync(database, make_feed("nknews"), make_feed("dailynk", outlet="Daily NK"))
    with database.unit_of_work() as uow:
        states = uow.feeds.all()
    assert [s.name for s in states] == ["dailynk", "nknews"]
    nknews = states[1]
    assert nknews.url == "https://nknews.example.org/rss"
    assert nknews.next_check_at == T0
    assert (nknews.error_count, nknews.disabled, nknews.etag, nknews.last_success_at) == (
        0,
        False,
        None,
        None,
    )


def test_config_url_change_resets_url_and_validators_but_keeps_health(database: Database) -> None:
    sync(database, make_feed())
    with database.unit_of_work() as uow:
        uow.feeds.record_fetched(
            "nknews",
            T0,
            next_check_at=T0 + timedelta(minutes=15),
            etag='"v1"',
            last_modified="Mon, 09 Oct 2023 12:00:00 GMT",
            body_hash="abc",
            new_url="https://nknews.example.org/feed.xml",
            malformed=None,
        )
        uow.feeds.record_failure(
            "nknews", T0 + timedelta(minutes=15), reason="timeout", next_check_at=T0 + timedelta(hours=2)
        )

    sync(database, make_feed(url="https://nknews.example.org/new.rss"), now=T0 + timedelta(minutes=20))

    with database.unit_of_work() as uow:
        state = uow.feeds.get("nknews")
    assert state.url == "https://nknews.example.org/new.rss"
    assert (state.etag, state.last_modified, state.body_hash) == (None, None, None)
    assert (state.error_count, state.last_error) == (1, "timeout")
    assert state.last_success_at == T0
    # The new URL is looked at now, not after the old URL's backoff.
    assert state.next_check_at == T0 + timedelta(minutes=20)


def test_permanent_redirect_survives_a_sync_with_the_same_config(database: Database) -> None:
    sync(database, make_feed())
    with database.unit_of_work() as uow:
        uow.feeds.record_not_modified(
            "nknews", T0, next_check_at=T0 + timedelta(minutes=15), new_url="https://nknews.example.org/moved"
        )
    sync(database, make_feed(), now=T0 + timedelta(minutes=1))
    with database.unit_of_work() as uow:
        assert uow.feeds.get("nknews").url == "https://nknews.example.org/moved"


def test_feed_removed_from_config_is_disabled_and_comes_back_when_re_added(database: Database) -> None:
    sync(database, make_feed("nknews"), make_feed("dailynk"))
    with database.unit_of_work() as uow:
        uow.feeds.record_failure("dailynk", T0, reason="http-503", next_check_at=T0 + timedelta(minutes=30))

    sync(database, make_feed("nknews"), now=T0 + timedelta(hours=1))
    with database.unit_of_work() as uow:
        removed = uow.feeds.get("dailynk")
        due = [s.name for s in uow.feeds.due(T0 + timedelta(days=1))]
    assert (removed.disabled, removed.disabled_reason) == (True, "removed from config")
    assert removed.last_error == "http-503"
    assert due == ["nknews"]

    sync(database, make_feed("nknews"), make_feed("dailynk"), now=T0 + timedelta(hours=2))
    with database.unit_of_work() as uow:
        back = uow.feeds.get("dailynk")
    assert (back.disabled, back.disabled_reason) == (False, None)
    assert (back.error_count, back.last_error) == (1, "http-503")


def test_feed_gone_stays_disabled_until_its_config_url_changes(database: Database) -> None:
    sync(database, make_feed())
    with database.unit_of_work() as uow:
        uow.feeds.record_failure(
            "nknews", T0, reason="gone: 410", next_check_at=T0 + timedelta(days=1), disable=True
        )
    with database.unit_of_work() as uow:
        gone = uow.feeds.get("nknews")
        assert uow.feeds.due(T0 + timedelta(days=30)) == []
    assert (gone.disabled, gone.disabled_reason, gone.error_count) == (True, "gone: 410", 1)

    # Restarting with the same feeds.yaml changes nothing; neither does removing and re-adding it.
    sync(database, make_feed(), now=T0 + timedelta(hours=1))
    sync(database, now=T0 + timedelta(hours=2))
    sync(database, make_feed(), now=T0 + timedelta(hours=3))
    with database.unit_of_work() as uow:
        assert uow.feeds.get("nknews").disabled_reason == "gone: 410"

    sync(database, make_feed(url="https://nknews.example.org/rss2"), now=T0 + timedelta(hours=4))
    with database.unit_of_work() as uow:
        revived = uow.feeds.get("nknews")
        due = [s.name for s in uow.feeds.due(T0 + timedelta(hours=4))]
    assert (revived.disabled, revived.url) == (False, "https://nknews.example.org/rss2")
    assert due == ["nknews"]


def test_due_lists_enabled_feeds_oldest_first(database: Database) -> None:
    names = ["a-late", "b-early", "c-future", "d-gone", "e-middle"]
    sync(database, *(make_feed(name) for name in names))
    next_checks = {
        "a-late": T0 + timedelta(minutes=50),
        "b-early": T0 + timedelta(minutes=10),
        "c-future": T0 + timedelta(hours=3),
        "d-gone": T0,
        "e-middle": T0 + timedelta(minutes=30),
    }
    with database.unit_of_work() as uow:
        for name, at in next_checks.items():
            uow.feeds.record_not_modified(name, T0, next_check_at=at)
        uow.feeds.record_failure("d-gone", T0, reason="gone", next_check_at=T0, disable=True)

    with database.unit_of_work() as uow:
        due = uow.feeds.due(T0 + timedelta(hours=1))
    assert [s.name for s in due] == ["b-early", "e-middle", "a-late"]
    assert due[0].next_check_at == T0 + timedelta(minutes=10)


def test_failure_then_success_bookkeeping(database: Database) -> None:
    sync(database, make_feed())
    t1, t2, t3 = T0 + timedelta(minutes=15), T0 + timedelta(minutes=45), T0 + timedelta(hours=2)
    with database.unit_of_work() as uow:
        uow.feeds.record_failure("nknews", T0, reason="timeout", next_check_at=t1)
        uow.feeds.record_failure("nknews", t1, reason="http-500: Internal Server Error", next_check_at=t2)
    with database.unit_of_work() as uow:
        failing = uow.feeds.get("nknews")
    assert failing.error_count == 2
    assert (failing.last_error, failing.last_error_at) == ("http-500: Internal Server Error", t1)
    assert (failing.next_check_at, failing.last_success_at, failing.disabled) == (t2, None, False)

    with database.unit_of_work() as uow:
        uow.feeds.record_fetched(
            "nknews",
            t2,
            next_check_at=t3,
            etag='W/"7f"',
            last_modified="Mon, 09 Oct 2023 12:40:00 GMT",
            body_hash="d41d8cd9",
            new_url=None,
            malformed="not well-formed (invalid token)",
        )
    with database.unit_of_work() as uow:
        fetched = uow.feeds.get("nknews")
    assert (fetched.error_count, fetched.last_error, fetched.last_error_at) == (0, None, None)
    assert (fetched.last_success_at, fetched.next_check_at) == (t2, t3)
    assert (fetched.etag, fetched.last_modified, fetched.body_hash) == (
        'W/"7f"',
        "Mon, 09 Oct 2023 12:40:00 GMT",
        "d41d8cd9",
    )
    assert fetched.malformed == "not well-formed (invalid token)"
    assert fetched.url == "https://nknews.example.org/rss"

    t4 = t3 + timedelta(minutes=15)
    with database.unit_of_work() as uow:
        uow.feeds.record_failure("nknews", t3, reason="timeout", next_check_at=t4)
        uow.feeds.record_not_modified("nknews", t4, next_check_at=t4 + timedelta(minutes=15))
    with database.unit_of_work() as uow:
        unchanged = uow.feeds.get("nknews")
    assert (unchanged.error_count, unchanged.last_error, unchanged.last_success_at) == (0, None, t4)
    # 304 keeps the validators the next conditional GET needs.
    assert (unchanged.etag, unchanged.body_hash) == ('W/"7f"', "d41d8cd9")


def test_unknown_feed_is_a_key_error(database: Database) -> None:
    with database.unit_of_work() as uow, pytest.raises(KeyError, match="nosuch"):
        uow.feeds.get("nosuch")


# --- items ------------------------------------------------------------------------------------------


def test_item_round_trip_with_topics(database: Database) -> None:
    sync(database, make_feed())
    item = make_item(published=T0 - timedelta(hours=3))
    item_id = add(database, item, "repatriation", "detention", "repatriation", title_key="report 1")
    with database.unit_of_work() as uow:
        stored = uow.items.get(item_id)
        assert uow.items.count() == 1
    assert stored.item == item
    assert stored.topics == ("detention", "repatriation")
    assert (stored.id, stored.story_id) == (item_id, None)


def test_adding_an_item_of_an_unknown_feed_fails(database: Database) -> None:
    with database.unit_of_work() as uow, pytest.raises(KeyError, match="ghost"):
        uow.items.add(make_item(feed="ghost"), title_key="x", topics=())


STORED = make_item(1, guid="tag:nknews,2023:1", link="https://nknews.example.org/a/1", title="Stored title")


@pytest.mark.parametrize(
    ("candidate", "feed_name", "title_key", "since", "expected"),
    [
        pytest.param(
            make_item(2, guid="tag:nknews,2023:1"),
            "nknews",
            "stored title",
            T0 + timedelta(days=9),
            STORED.link,
            id="same-guid-same-feed-new-link",
        ),
        pytest.param(
            make_item(2, guid="tag:nknews,2023:1", link="https://nknews.example.org/a/1?page=1"),
            "nknews",
            "",
            T0,
            None,
            id="same-guid-untitled-other-link",
        ),
        pytest.param(
            make_item(2, guid="tag:nknews,2023:1"),
            "nknews",
            "other",
            T0,
            None,
            id="same-guid-reused-for-another-article",
        ),
        pytest.param(
            make_item(2, feed="dailynk", outlet="Daily NK", guid="tag:nknews,2023:1"),
            "dailynk",
            "other",
            T0,
            None,
            id="same-guid-other-feed",
        ),
        pytest.param(
            make_item(2, feed="dailynk", outlet="Daily NK", link="https://nknews.example.org/a/1"),
            "dailynk",
            "other",
            T0,
            STORED.link,
            id="same-link-other-feed",
        ),
        pytest.param(make_item(2), "nknews", "stored title", T0, STORED.link, id="same-title-same-outlet"),
        pytest.param(
            make_item(2, feed="mirror", outlet="NK News"),
            "mirror",
            "stored title",
            T0 - timedelta(days=2),
            STORED.link,
            id="same-title-same-outlet-other-feed",
        ),
        pytest.param(
            make_item(2, feed="dailynk", outlet="Daily NK"),
            "dailynk",
            "stored title",
            T0,
            None,
            id="same-title-other-outlet",
        ),
        pytest.param(
            make_item(2),
            "nknews",
            "stored title",
            T0 + timedelta(seconds=1),
            None,
            id="same-title-too-old",
        ),
        pytest.param(make_item(2), "nknews", "", T0 - timedelta(days=1), None, id="empty-title-key"),
        pytest.param(make_item(2), "nknews", "another title", T0 - timedelta(days=1), None, id="new"),
    ],
)
def test_find_duplicate(
    database: Database, candidate: Item, feed_name: str, title_key: str, since: datetime, expected: str | None
) -> None:
    sync(database, make_feed("nknews"), make_feed("dailynk", outlet="Daily NK"), make_feed("mirror"))
    add(database, STORED, "repatriation", title_key="stored title")
    add(database, make_item(9, title="Untitled"), title_key="")
    with database.unit_of_work() as uow:
        found = uow.items.find_duplicate(candidate, feed_name=feed_name, title_key=title_key, since=since)
    assert (found.link if found else None) == expected


def test_recent_matched_filters_by_topic_newest_first(database: Database) -> None:
    sync(database, make_feed("nknews"), make_feed("dailynk", outlet="Daily NK"))
    first = add(database, make_item(1, published=T0), "repatriation")
    second = add(database, make_item(2, feed="dailynk", published=T0 + timedelta(hours=2)), "detention")
    third = add(database, make_item(3, published=T0 + timedelta(hours=1)), "repatriation", "detention")
    add(database, make_item(4, published=T0 + timedelta(hours=3)))  # matched no topic

    with database.unit_of_work() as uow:
        everything = uow.items.recent_matched(None, 10)
        repatriation = uow.items.recent_matched("repatriation", 10)
        newest = uow.items.recent_matched(None, 1)
        none = uow.items.recent_matched("repatriation", 0)
    assert [s.id for s in everything] == [second, third, first]
    assert [s.id for s in repatriation] == [third, first]
    assert repatriation[0].topics == ("detention", "repatriation")
    assert everything[0].item.feed == "dailynk"
    assert [s.id for s in newest] == [second]
    assert none == []


# --- time and transactions --------------------------------------------------------------------------


def test_datetimes_come_back_aware_in_utc(database: Database) -> None:
    seoul_noon = datetime(2023, 10, 10, 12, 0, 0, 123456, tzinfo=KST)
    sync(database, make_feed(), now=seoul_noon)
    item_id = add(database, make_item(published=seoul_noon))
    with database.unit_of_work() as uow:
        if uow.session.get_bind().dialect.name == "postgresql":
            # A server set to local time answers in that zone; the records must still say UTC.
            uow.session.execute(text("SET LOCAL TIME ZONE 'Asia/Seoul'"))
        state = uow.feeds.get("nknews")
        stored = uow.items.get(item_id).item
        due = uow.feeds.due(datetime(2023, 10, 10, 3, 0, 0, 123456, tzinfo=UTC))
    for value in (state.next_check_at, stored.published, stored.fetched):
        assert value.tzinfo is not None and value.utcoffset() == timedelta(0)
    assert stored.published == datetime(2023, 10, 10, 3, 0, 0, 123456, tzinfo=UTC)
    assert str(stored.published) == "2023-10-10 03:00:00.123456+00:00"
    # Comparisons happen on the instant, whatever zone the query was written in.
    assert [s.name for s in due] == ["nknews"]


def test_naive_datetimes_are_refused(database: Database) -> None:
    with pytest.raises(StatementError, match="naive datetime"), database.unit_of_work() as uow:
        uow.feeds.sync([make_feed()], datetime(2023, 10, 9, 12, 0))


def test_failed_unit_of_work_keeps_what_was_committed_before(database: Database) -> None:
    sync(database, make_feed())
    add(database, make_item(1), "repatriation")

    with pytest.raises(RuntimeError, match="crash mid-feed"), database.unit_of_work() as uow:
        uow.items.add(make_item(2), title_key="two", topics=["repatriation"])
        uow.feeds.record_failure("nknews", T0, reason="timeout", next_check_at=T0 + timedelta(hours=1))
        raise RuntimeError("crash mid-feed")

    with database.unit_of_work() as uow:
        assert uow.items.count() == 1
        assert [s.item.link for s in uow.items.recent_matched("repatriation", 10)] == [make_item(1).link]
        state = uow.feeds.get("nknews")
    assert (state.error_count, state.last_error, state.next_check_at) == (0, None, T0)


def test_concurrent_read_then_write_units_of_work_all_commit(database: Database, database_url: str) -> None:
    # The bot writes from the pipeline and from Telegram handlers at once. On SQLite a transaction that
    # reads and then writes used to fail with "database is locked" when another writer got in between.
    names = [f"feed-{n}" for n in range(3)]
    sync(database, *(make_feed(name) for name in names))
    errors: list[BaseException] = []

    def work(name: str) -> None:
        db = Database(database_url)
        try:
            for step in range(10):
                with db.unit_of_work() as uow:
                    uow.feeds.get(name)
                    time.sleep(0.002)  # let the other threads read before this one writes
                    uow.feeds.record_failure(name, T0, reason="timeout", next_check_at=T0 + timedelta(step))
        except BaseException as error:
            errors.append(error)
        finally:
            db.dispose()

    threads = [threading.Thread(target=work, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with database.unit_of_work() as uow:
        assert [s.error_count for s in uow.feeds.all()] == [10, 10, 10]


LATER_REVISION = '''
"""a later revision that rebuilds the items table, as adding its story foreign key will on SQLite"""

import sqlalchemy as sa
from alembic import op

revision = "9999"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("later_stories", sa.Column("id", sa.Integer(), primary_key=True))
    with op.batch_alter_table("items") as batch:
        batch.create_foreign_key("fk_items_story_id_later_stories", "later_stories", ["story_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_constraint("fk_items_story_id_later_stories", type_="foreignkey")
    op.drop_table("later_stories")
'''


def test_a_later_migration_rebuilding_items_keeps_their_topics(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    # SQLite rebuilds a table to alter it; dropping the old copy with foreign keys on would cascade
    # into item_topics and silently delete every item's topics.
    sync(database, make_feed())
    item_id = add(database, make_item(), "repatriation")
    database.dispose()
    scripts = tmp_path / "migrations"
    shutil.copytree(
        Path(str(importlib.resources.files("bot.migrations"))),
        scripts,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (scripts / "versions" / "9999_later.py").write_text(LATER_REVISION.replace("{head}", str(database.head_revision())))

    later = Database(database_url, script_location=str(scripts))
    try:
        later.upgrade()
        assert later.current_revision() == "9999"
        with later.unit_of_work() as uow:
            assert uow.items.get(item_id).topics == ("repatriation",)
            # Foreign keys are back on for ordinary work afterwards.
            with pytest.raises(IntegrityError):
                uow.session.execute(text("INSERT INTO item_topics (item_id, topic) VALUES (999, 'x')"))
    finally:
        later.dispose()
