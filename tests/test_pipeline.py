"""A polling cycle end to end: real HTTP from a local server, the real pipeline, a real database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import Config, parse_config
from bot.ingest.fetch import Fetcher, FetchLimits
from bot.pipeline import CycleReport, Poller
from bot.storage.db import Database
from bot.stories.facts import Gazetteer, load_gazetteer
from tests.support.feeds import rss
from tests.support.feedserver import FeedServer

START = datetime(2023, 10, 13, 12, 0, tzinfo=UTC)

TOPICS = """
topics:
  - id: nk-repatriation
    name: Forced repatriation of North Koreans
    default: true
    require:
      - [north korea*, 북한, 탈북*]
      - [repatriat*, forcibly return*, sent back, 북송]
"""


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return load_gazetteer()


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


WIRE_ITEMS = [
    (
        "China sends hundreds of North Korean escapees back across the border",
        "https://wire.example.com/asia/2023/10/12/north-koreans-returned?utm_source=rss",
        "Chinese police forcibly returned about 600 North Koreans through Tumen and Dandong on the night of "
        "9 October, the Transitional Justice Working Group said on Thursday. Most of those repatriated were women.",
        datetime(2023, 10, 12, 9, 0, tzinfo=UTC),
    ),
    (
        "North Korea test-fires a ballistic missile into the sea",
        "https://wire.example.com/asia/2023/10/12/missile",
        "The launch came days after a military parade in Pyongyang, officials in Seoul said.",
        datetime(2023, 10, 12, 10, 0, tzinfo=UTC),
    ),
]

DAILY_ITEMS = [
    (
        "중국, 탈북민 600여 명 강제북송…인권단체 \"대부분 여성\"",
        "https://daily.example.kr/news/20231013/1",
        "중국 당국이 10월 9일 밤 투먼과 단둥을 통해 탈북민 600여 명을 북송했다고 전환기정의워킹그룹이 밝혔다.",
        datetime(2023, 10, 13, 1, 0, tzinfo=UTC),
    ),
]


def make_config(server: FeedServer, feeds: dict[str, str], extra: str = "") -> Config:
    lines = [TOPICS, "feeds:"]
    for name, path in feeds.items():
        language = "ko" if "daily" in path else "en"
        lines.append(f"  - name: {name}\n    url: {server.url(path)}\n    language: {language}\n    interval: 10m")
    return parse_config("\n".join(lines) + "\n" + extra + "\ndefaults:\n  timeout: 2s\n  max_body: 256KB\n")


def poll(config: Config, db: Database, clock: Clock, gazetteer: Gazetteer) -> CycleReport:
    with db.unit_of_work() as uow:
        uow.feeds.sync(config.feeds, clock())
    limits = FetchLimits(
        timeout_seconds=config.defaults.timeout_seconds, max_bytes=config.defaults.max_body_bytes, max_redirects=3
    )

    async def run() -> CycleReport:
        async with Fetcher(limits, concurrency=4) as fetcher:
            return await Poller(config, db, fetcher, clock, gazetteer).run_cycle()

    return asyncio.run(run())


def by_feed(report: CycleReport) -> dict[str, tuple[str, int, int, str | None]]:
    return {o.feed: (o.status, o.new_items, o.matched_items, o.error) for o in report.outcomes}


def test_first_cycle_stores_matches_and_groups_then_the_next_asks_politely(
    feed_server: FeedServer, database: Database, gazetteer: Gazetteer
) -> None:
    feed_server.add("/wire.xml", body=rss("Wire", WIRE_ITEMS), etag='"w1"')
    feed_server.add("/daily.xml", body=rss("Daily", DAILY_ITEMS))
    config = make_config(feed_server, {"Wire": "/wire.xml", "Daily": "/daily.xml"})
    clock = Clock(START)

    report = poll(config, database, clock, gazetteer)
    assert by_feed(report) == {"Wire": ("ok", 2, 1, None), "Daily": ("ok", 1, 1, None)}
    with database.unit_of_work() as uow:
        assert uow.items.count() == 3
        (story,) = uow.stories.recent(10)
    # The English wire report and the Korean daily's tell one event: one story, two outlets.
    assert story.facts.outlets == 2
    assert {s.feed for s in story.sources} == {"Wire", "Daily"}
    assert story.facts.count_text == "600"
    assert {"Tumen", "Dandong"} <= set(story.facts.places)
    assert "2023-10-09" in story.facts.dates
    assert "utm_source" not in " ".join(s.link for s in story.sources)

    # Not due yet: nothing is fetched.
    assert poll(config, database, clock, gazetteer).outcomes == ()
    clock.now += timedelta(minutes=11)
    report = poll(config, database, clock, gazetteer)
    # The wire has an ETag: a conditional GET answered 304. The daily has none: same body, not parsed again.
    assert by_feed(report) == {"Wire": ("not-modified", 0, 0, None), "Daily": ("unchanged", 0, 0, None)}
    assert feed_server.requests[-2:] != []
    assert any(h.get("if-none-match") == '"w1"' for path, h in feed_server.requests if path == "/wire.xml")
    with database.unit_of_work() as uow:
        assert uow.items.count() == 3
        assert uow.feeds.get("Wire").last_success_at == clock.now


def test_a_repeated_item_is_stored_once_and_a_new_outlet_joins_the_story(
    feed_server: FeedServer, database: Database, gazetteer: Gazetteer
) -> None:
    feed_server.add("/wire.xml", body=rss("Wire", WIRE_ITEMS[:1]))
    clock = Clock(START)
    poll(make_config(feed_server, {"Wire": "/wire.xml"}), database, clock, gazetteer)
    # Another feed republishes the wire's article under the same canonical link (tracking removed).
    copy = (WIRE_ITEMS[0][0], WIRE_ITEMS[0][1] + "&fbclid=x", WIRE_ITEMS[0][2], START)
    feed_server.add("/copy.xml", body=rss("Copy", [copy]))
    config = make_config(feed_server, {"Wire": "/wire.xml", "Copy": "/copy.xml"})
    assert by_feed(poll(config, database, clock, gazetteer))["Copy"] == ("ok", 0, 0, None)
    with database.unit_of_work() as uow:
        assert uow.items.count() == 1
        (story,) = uow.stories.recent(10)
        assert story.facts.outlets == 1

    feed_server.add("/daily.xml", body=rss("Daily", DAILY_ITEMS))
    config = make_config(feed_server, {"Wire": "/wire.xml", "Copy": "/copy.xml", "Daily": "/daily.xml"})
    poll(config, database, clock, gazetteer)
    with database.unit_of_work() as uow:
        (joined,) = uow.stories.recent(10)
    assert joined.id == story.id
    assert joined.facts.outlets == 2
    assert joined.revision > story.revision


def test_faults_are_recorded_on_their_feed_and_the_cycle_goes_on(
    feed_server: FeedServer, database: Database, gazetteer: Gazetteer
) -> None:
    feed_server.add("/good.xml", body=rss("Good", WIRE_ITEMS))
    feed_server.fail("/down.xml", status=500)
    feed_server.fail("/gone.xml", status=410)
    feed_server.fail("/missing.xml", status=404)
    feed_server.huge("/huge.xml", size=2 * 2**20)
    feed_server.gzip_bomb("/bomb.xml", size=20 * 2**20)
    feed_server.add("/page.xml", body=b"<!doctype html><html><body><p>Welcome to our site</p></body></html>",
                    content_type="text/html")
    feed_server.add("/truncated.xml", body=b'<?xml version="1.0"?><rss version="2.0"><channel><title>T')
    feed_server.redirect("/loop-a.xml", "/loop-b.xml")
    feed_server.redirect("/loop-b.xml", "/loop-a.xml")
    feed_server.slow("/drip.xml", body=rss("Drip", WIRE_ITEMS), delay_per_chunk=0.5, chunk_size=16)
    feed_server.reset("/reset.xml")
    feeds = {name: f"/{name}.xml" for name in
             ["good", "down", "gone", "missing", "huge", "bomb", "page", "truncated", "loop-a", "drip", "reset"]}
    config = make_config(feed_server, feeds)
    clock = Clock(START)

    outcomes = by_feed(poll(config, database, clock, gazetteer))
    assert outcomes["good"] == ("ok", 2, 1, None)
    expected_kinds = {
        "down": "http-500", "gone": "gone", "missing": "http-404", "huge": "too-large", "bomb": "too-large",
        "page": "not-a-feed", "truncated": "not-a-feed", "loop-a": "redirect-loop", "drip": "timeout",
        "reset": "network",
    }
    for name, kind in expected_kinds.items():
        status, _, _, error = outcomes[name]
        assert error is not None and error.startswith(kind), (name, error)
        assert status == ("disabled" if name == "gone" else "error")
    with database.unit_of_work() as uow:
        states = {s.name: s for s in uow.feeds.all()}
    assert states["good"].error_count == 0 and states["good"].last_success_at == START
    for name, kind in expected_kinds.items():
        state = states[name]
        assert state.error_count == 1 and state.last_error is not None and state.last_error.startswith(kind)
        assert state.next_check_at == START + timedelta(minutes=10)  # first failure: one interval
    assert states["gone"].disabled and not states["down"].disabled

    # A second failure doubles the wait; the disabled feed is not asked again.
    clock.now += timedelta(minutes=10)
    gone_hits = feed_server.hits("/gone.xml")
    outcomes = by_feed(poll(config, database, clock, gazetteer))
    assert "gone" not in outcomes and feed_server.hits("/gone.xml") == gone_hits
    with database.unit_of_work() as uow:
        down = uow.feeds.get("down")
    assert down.error_count == 2 and down.next_check_at == clock.now + timedelta(minutes=20)


def test_a_permanent_redirect_moves_the_feed_and_a_malformed_feed_is_used(
    feed_server: FeedServer, database: Database, gazetteer: Gazetteer
) -> None:
    feed_server.redirect("/old.xml", "/new.xml", status=301)
    feed_server.add("/new.xml", body=rss("Moved", WIRE_ITEMS[:1]))
    broken = rss("Broken", WIRE_ITEMS[1:]).replace(b"<description>The launch", b"<description>R&D launch")
    feed_server.add("/broken.xml", body=broken)
    config = make_config(feed_server, {"Moved": "/old.xml", "Broken": "/broken.xml"})
    clock = Clock(START)
    outcomes = by_feed(poll(config, database, clock, gazetteer))
    assert outcomes["Moved"][0] == "ok" and outcomes["Broken"] == ("ok", 1, 0, None)
    with database.unit_of_work() as uow:
        assert uow.feeds.get("Moved").url == feed_server.url("/new.xml")
        assert uow.feeds.get("Broken").malformed
