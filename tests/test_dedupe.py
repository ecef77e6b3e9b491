"""Deduplication never hides an on-topic report, and says what it dropped and why (issue 12, failure 3)."""

from __future__ import annotations

import logging
from datetime import timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

import pytest

from bot.storage.db import Database
from bot.stories.facts import Gazetteer, load_gazetteer
from tests.support.feedserver import FeedServer
from tests.test_pipeline import START, WIRE_ITEMS, Clock, by_feed, make_config, poll, rss

REPORT_TITLE, REPORT_LINK, REPORT_TEXT, REPORT_WHEN = WIRE_ITEMS[0]
CANONICAL = REPORT_LINK.split("?")[0]
# What an aggregator shows of that report: a headline with none of the topic's words, and a link to it.
TEASER = ("Border police act overnight", REPORT_LINK, "Read the full story at the Wire.", REPORT_WHEN)


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return load_gazetteer()


def story_links(database: Database) -> set[str]:
    """The source links of every story: what subscribers are alerted about."""
    with database.unit_of_work() as uow:
        return {source.link for story in uow.stories.recent(100) for source in story.sources}


def entries(items: list[tuple[str, str, str, str]]) -> bytes:
    """An RSS body whose items give (guid, title, link, description) as they are."""
    body = "".join(
        f"<item><guid isPermaLink='false'>{escape(g)}</guid><title>{escape(t)}</title><link>{escape(link)}</link>"
        f"<pubDate>{format_datetime(REPORT_WHEN)}</pubDate><description>{escape(d)}</description></item>"
        for g, t, link, d in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Desk</title>'
        f"<link>https://desk.example.org/</link><description>news</description>{body}</channel></rss>"
    ).encode()


def test_a_full_report_first_stored_as_an_off_topic_teaser_goes_on_to_its_story(
    feed_server: FeedServer, database: Database, gazetteer: Gazetteer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.pipeline")
    feed_server.add("/aggregator.xml", body=rss("Aggregator", [TEASER]))
    clock = Clock(START)
    assert by_feed(poll(make_config(feed_server, {"Aggregator": "/aggregator.xml"}), database, clock, gazetteer)) == {
        "Aggregator": ("ok", 1, 0, None)
    }
    assert story_links(database) == set()

    # The outlet's own feed brings the full report under the same canonical link.
    feed_server.add("/wire.xml", body=rss("Wire", [WIRE_ITEMS[0]]))
    config = make_config(feed_server, {"Aggregator": "/aggregator.xml", "Wire": "/wire.xml"})
    assert by_feed(poll(config, database, clock, gazetteer))["Wire"] == ("ok", 1, 1, None)
    assert story_links(database) == {CANONICAL}
    with database.unit_of_work() as uow:
        assert uow.items.count() == 1
        (story,) = uow.stories.recent(10)
    assert story.title and story.sources[0].title == REPORT_TITLE

    # The teaser seen again is a repeat, and the log says of what and why.
    clock.now += timedelta(minutes=11)
    feed_server.add("/aggregator.xml", body=rss("Aggregator", [TEASER, WIRE_ITEMS[1]]))
    assert by_feed(poll(config, database, clock, gazetteer))["Aggregator"] == ("ok", 1, 0, None)
    assert f"feed 'Aggregator': duplicate dropped: {CANONICAL} (same link as {CANONICAL})" in caplog.messages


def test_an_entry_updated_in_place_that_becomes_on_topic_goes_on_to_its_story(
    feed_server: FeedServer, database: Database, gazetteer: Gazetteer
) -> None:
    first = [("desk-17", "Border incident reported", "https://desk.example.org/17", "Details to follow.")]
    feed_server.add("/desk.xml", body=entries(first))
    config = make_config(feed_server, {"Desk": "/desk.xml"})
    clock = Clock(START)
    assert by_feed(poll(config, database, clock, gazetteer))["Desk"] == ("ok", 1, 0, None)

    updated = [("desk-17", REPORT_TITLE, "https://desk.example.org/17", REPORT_TEXT)]
    feed_server.add("/desk.xml", body=entries(updated))
    clock.now += timedelta(minutes=11)
    assert by_feed(poll(config, database, clock, gazetteer))["Desk"] == ("ok", 1, 1, None)
    assert story_links(database) == {"https://desk.example.org/17"}

    # Seen once more, it is a repeat: no second item, no second story.
    clock.now += timedelta(minutes=11)
    feed_server.add("/desk.xml", body=entries(updated) + b" ")
    assert by_feed(poll(config, database, clock, gazetteer))["Desk"] == ("ok", 0, 0, None)
    with database.unit_of_work() as uow:
        assert uow.items.count() == 1
        assert uow.stories.count() == 1


def test_a_feed_that_gives_every_article_the_same_guid_loses_none(
    feed_server: FeedServer, database: Database, gazetteer: Gazetteer
) -> None:
    places = ["Tumen", "Dandong", "Hunchun"]
    on_topic = [
        ("one-guid", f"China repatriates North Koreans held in {place}", f"https://desk.example.org/r/{n}",
         f"Chinese police forcibly returned {10 + n} North Koreans caught in {place} in {2015 + n}.")
        for n, place in enumerate(places)
    ]
    off_topic = [
        ("one-guid", f"Market report number {n}", f"https://desk.example.org/m/{n}", "Prices rose.")
        for n in range(17)
    ]
    feed_server.add("/desk.xml", body=entries(on_topic + off_topic))
    config = make_config(feed_server, {"Desk": "/desk.xml"})
    assert by_feed(poll(config, database, Clock(START), gazetteer))["Desk"] == ("ok", 20, 3, None)
    assert story_links(database) == {link for _, _, link, _ in on_topic}
