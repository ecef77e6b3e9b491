"""Items without a usable link (issue 12, failure 1): they are stored, and never block the rest of their feed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from bot.config import load_config
from bot.domain import Item
from bot.ingest.match import compile_topics
from bot.pipeline import ingest_items, place_stories, story_rules
from bot.services import ConfigRef, Services
from bot.storage.db import Database
from bot.stories.facts import load_gazetteer
from bot.telegram.messages.health import render_feed_health
from tests.support.feedserver import FeedServer
from tests.test_cli import REPO, run
from tests.test_pipeline import WIRE_ITEMS

ON_TOPIC_TITLE, ON_TOPIC_LINK, ON_TOPIC_TEXT, ON_TOPIC_WHEN = WIRE_ITEMS[0]


def linkless_feed(title: str, *, report: bool, note: str = "briefs") -> bytes:
    """Two entries with only a title; with `report`, also one whose link is far too long to keep and an
    on-topic report."""
    when = format_datetime(ON_TOPIC_WHEN)
    long_link = "https://bulletin.example.org/" + "x" * 4_000
    extra = (
        f"<item><title>Traffic notice</title><link>{long_link}</link></item>"
        f"<item><title>{ON_TOPIC_TITLE}</title><link>{ON_TOPIC_LINK}</link><pubDate>{when}</pubDate>"
        f"<description>{ON_TOPIC_TEXT}</description></item>"
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>https://bulletin.example.org/</link><description>{note}</description>"
        "<item><title>Weather for the weekend</title></item>"
        "<item><title>Market prices in Seoul</title></item>"
        f"{extra if report else ''}</channel></rss>"
    ).encode()


def write_config(tmp_path: Path, server: FeedServer, feeds: dict[str, str]) -> Path:
    """feeds.yaml with the shipped topics and actions, and `feeds` (name: path on the server)."""
    shipped = (REPO / "feeds.yaml").read_text()
    lines = [f"  - name: {name}\n    url: {server.url(path)}\n    language: en\n" for name, path in feeds.items()]
    path = tmp_path / "feeds.yaml"
    head, actions = shipped.split("\nfeeds:\n")[0], shipped.split("\nactions:", 1)[1]
    path.write_text(head + "\nfeeds:\n" + "".join(lines) + "\nactions:" + actions)
    return path


def poll_rows(config: Path, env: dict[str, str]) -> dict[str, list[str]]:
    """`advocacy-bot poll --once`: its table, by feed name."""
    polled = run("poll", "--once", "--config", str(config), env=env)
    assert polled.returncode == 0, polled.stdout + polled.stderr
    lines = polled.stdout.splitlines()
    table = lines[lines.index(next(line for line in lines if line.startswith("feed "))) + 2 :]
    return {line.split()[0]: line.split() for line in table}


def test_linkless_items_are_stored_and_the_on_topic_report_of_their_feed_is_alerted(
    tmp_path: Path, feed_server: FeedServer, database_url: str
) -> None:
    feed_server.add("/bulletin.xml", body=linkless_feed("Bulletin", report=True))
    feed_server.add("/other.xml", body=linkless_feed("Other", report=False))
    config = write_config(tmp_path, feed_server, {"Bulletin": "/bulletin.xml", "Other": "/other.xml"})
    env = {"DATABASE_URL": database_url}
    assert run("db", "upgrade", env=env).returncode == 0

    rows = poll_rows(config, env)
    # Both feeds carry two linkless items with the same titles: each is stored, in its own feed.
    assert rows["Bulletin"][1:4] == ["ok", "4", "1"]
    assert rows["Other"][1:4] == ["ok", "2", "0"]

    stories = run("stories", "--json", env=env)
    assert stories.returncode == 0, stories.stderr
    (story,) = [json.loads(line) for line in stories.stdout.splitlines()]
    assert [s["link"] for s in story["sources"]] == [ON_TOPIC_LINK.split("?")[0]]

    # /sources, which anyone may ask for, shows both feeds healthy.
    db = Database(database_url)
    try:
        services = Services(ConfigRef(load_config(config)), db, lambda: datetime.now(UTC), lambda: load_config(config))
        shown = render_feed_health(services.sources())
    finally:
        db.dispose()
    assert "2 healthy" in shown[0]
    assert "Error" not in shown[0] and "SQL" not in shown[0]

    # The feed moves (a new URL is polled at once) and lists the same items: they are repeats, not new items.
    feed_server.add("/moved.xml", body=linkless_feed("Bulletin", report=True, note="briefs, moved"))
    config = write_config(tmp_path, feed_server, {"Bulletin": "/moved.xml", "Other": "/other.xml"})
    assert poll_rows(config, env)["Bulletin"][1:4] == ["ok", "0", "0"]


def test_a_storage_error_on_one_item_keeps_the_other_items_of_the_batch(database: Database) -> None:
    config = load_config(REPO / "feeds.yaml")
    (feed,) = [f for f in config.feeds if f.language == "en"][:1]
    now = datetime(2023, 10, 13, 12, 0, tzinfo=UTC)
    with database.unit_of_work() as uow:
        uow.feeds.sync([feed], now)

    def item(n: int, title: str, text: str, published: datetime) -> Item:
        return Item(
            feed=feed.name, outlet=feed.outlet, guid=f"g{n}", link=f"https://example.org/{n}", title=title,
            summary=text, content="", language="en", published=published, fetched=now,
        )

    # A naive datetime is refused by the database layer: a real storage error, on two of the four items.
    naive = ON_TOPIC_WHEN.replace(tzinfo=None)
    items = [
        item(1, "Weather for the weekend", "", now - timedelta(hours=1)),
        item(2, "Market prices", "", naive),
        item(3, ON_TOPIC_TITLE, ON_TOPIC_TEXT, naive),
        item(4, ON_TOPIC_TITLE + " (update)", ON_TOPIC_TEXT, ON_TOPIC_WHEN),
    ]
    rules = story_rules(config, load_gazetteer())
    with database.unit_of_work() as uow:
        results = ingest_items(uow, items, feed, compile_topics(config.topics), config, rules, now)
    with database.unit_of_work() as uow:
        place_stories(uow, rules, now)  # as the cycle does once its feeds are stored
    assert [r.item_id is not None for r in results] == [True, False, False, True]
    assert [bool(r.error) for r in results] == [False, True, True, False]
    with database.unit_of_work() as uow:
        assert uow.items.count() == 2
        assert uow.stories.count() == 1
