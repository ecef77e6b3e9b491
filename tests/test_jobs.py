"""A full day of the bot's jobs on a driven clock: feeds change through the day, the jobs tick every minute,
and what subscribers receive is checked at the end: each story's alert once, one edit when an outlet joins,
the digest once at its hour, and the admin report once with its alarms.

The parts are real: the feed server over HTTP, the pipeline, SQLite or PostgreSQL, python-telegram-bot talking
to the fake Bot API server. Only time is driven, so a day takes seconds.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from telegram import Bot
from telegram.request import HTTPXRequest

from bot.config import Config, parse_config
from bot.delivery.deliverer import Deliverer
from bot.domain import ChatKind, ChatSettings, DeliveryMode
from bot.ingest.fetch import Fetcher, FetchLimits
from bot.pipeline import Poller
from bot.run.jobs import HEARTBEAT, Jobs
from bot.storage.db import Database
from bot.stories.facts import load_gazetteer
from bot.telegram.sender import TelegramSender
from tests.support.fake_telegram import FakeTelegram
from tests.support.feedserver import FeedServer
from tests.test_pipeline import rss

DAY = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)

BREAKS = (
    "China forcibly returns about 70 North Korean escapees at Tumen",
    "https://wire.example.com/2026/03/02/tumen",
    "Chinese border guards forcibly returned about 70 North Koreans across the Tumen river on 1 March, a rights "
    "group in Seoul said on Monday. Families fear the escapees face prison camps.",
    DAY + timedelta(hours=7, minutes=50),
)
JOINS = (
    "Rights group: 70 North Koreans repatriated through Tumen on 1 March",
    "https://asia.example.org/news/tumen-70",
    "About 70 North Korean escapees were repatriated by China through the Tumen crossing on 1 March, according "
    "to a Seoul-based rights group, which urged Beijing to stop forced returns.",
    DAY + timedelta(hours=9, minutes=40),
)
LATER = (
    "Ten North Korean women held in Shenyang face forced return, families say",
    "https://asia.example.org/news/shenyang-ten",
    "Ten North Korean women detained in Shenyang in late February are about to be sent back, their relatives in "
    "Seoul said on Monday, asking governments to press Beijing before the transfer.",
    DAY + timedelta(hours=14),
)
OFF_TOPIC = (
    "Spring rain expected across the peninsula",
    "https://wire.example.com/2026/03/02/weather",
    "Forecasters expect rain from Tuesday.",
    DAY + timedelta(hours=6),
)

TOPICS = """
topics:
  - id: nk-repatriation
    name: Forced repatriation of North Koreans
    default: true
    require:
      - [north korea*, 북한, 탈북*]
      - [repatriat*, forcibly return*, sent back, forced return*, 북송]
"""


def config_for(server: FeedServer) -> Config:
    return parse_config(
        TOPICS + "feeds:\n"
        f"  - name: Wire\n    url: {server.url('/wire.xml')}\n    language: en\n    interval: 10m\n"
        f"  - name: Asia Desk\n    url: {server.url('/asia.xml')}\n    language: en\n    interval: 10m\n"
        f"  - name: Broken\n    url: {server.url('/broken.xml')}\n    language: en\n    interval: 10m\n"
        "defaults:\n  timeout: 2s\n  silent_after: 7d\n"
    )


@dataclass
class DrivenClock:
    """Aware UTC time that moves when the test says so, or when the deliverer sleeps."""

    now: datetime
    naps: list[float] = field(default_factory=list)

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.naps.append(seconds)
        await asyncio.sleep(0)
        self.now = max(self.now, self.now + timedelta(seconds=seconds))


def test_a_day_of_ticks_sends_each_alert_once_edits_once_and_digests_once(
    database: Database, feed_server: FeedServer, fake_telegram: FakeTelegram
) -> None:
    clock = DrivenClock(DAY)
    config = config_for(feed_server)
    feed_server.add("/wire.xml", rss("Wire", [OFF_TOPIC]))
    feed_server.add("/asia.xml", rss("Asia Desk", []))
    feed_server.fail("/broken.xml", 500)

    alice = fake_telegram.user(101, "Alice")
    dm = fake_telegram.private_chat(alice)
    group = fake_telegram.group(-1001, "Advocates", admins=[alice])
    with database.unit_of_work() as uow:
        uow.feeds.sync(config.feeds, clock())
        uow.chats.ensure(dm.id, ChatKind.PRIVATE, "Alice", clock())
        uow.chats.subscribe(dm.id, ["nk-repatriation"], clock())
        uow.chats.ensure(group.id, ChatKind.GROUP, "Advocates", clock())
        uow.chats.subscribe(group.id, ["nk-repatriation"], clock())
        uow.chats.set_settings(group.id, ChatSettings(mode=DeliveryMode.DIGEST, digest_hour=18, timezone="UTC"))
    reports: list[tuple[datetime, str]] = []

    async def notify(text: str) -> None:
        reports.append((clock(), text))

    async def day() -> None:
        limits = FetchLimits(timeout_seconds=2, max_bytes=1 << 20, max_redirects=3)
        request = HTTPXRequest(connection_pool_size=8, read_timeout=5)
        async with Fetcher(limits, concurrency=4) as fetcher, Bot(
            fake_telegram.token, base_url=fake_telegram.base_url, request=request
        ) as bot:
            deliverer = Deliverer(database, TelegramSender(bot, {"nk-repatriation": "Forced repatriation"}), clock,
                                  sleep=clock.sleep)
            jobs = Jobs(config, database, Poller(config, database, fetcher, clock, load_gazetteer()), deliverer,
                        clock, notify_admins=notify)
            end = DAY + timedelta(days=1)
            while clock.now < end:
                minute = clock.now - DAY
                if minute == timedelta(hours=8):
                    feed_server.add("/wire.xml", rss("Wire", [BREAKS, OFF_TOPIC]))
                if minute == timedelta(hours=10):
                    feed_server.add("/asia.xml", rss("Asia Desk", [JOINS]))
                if minute == timedelta(hours=14, minutes=5):
                    feed_server.add("/asia.xml", rss("Asia Desk", [LATER, JOINS]))
                await jobs.heartbeat()
                await jobs.poll()
                await jobs.deliver()
                await jobs.digests()
                if clock.now.minute == 0:
                    await jobs.maintain()
                clock.now = max(clock.now, DAY + minute + timedelta(minutes=1))

    asyncio.run(day())

    # Alice follows immediately: the Tumen story, then the Shenyang one, each once.
    alerts = fake_telegram.sent(dm.id)
    titles = [str(c.params["text"]).split("\n", 2)[1] for c in alerts]
    assert len(alerts) == len(set(titles)), titles
    assert any("Tumen" in t and "70" in t for t in titles)
    assert len(alerts) == 2, titles  # the Asia Desk report of Tumen joined the break rather than alerting again
    assert any("Shenyang" in t for t in titles)
    first = alerts[0]
    first_id = first.result["message_id"]  # type: ignore[index]
    shown = fake_telegram.messages(dm.id)[first_id]
    assert "📰 Wire, Asia Desk" in shown  # the alert was edited when the second outlet joined
    assert len([e for e in fake_telegram.edits(dm.id) if e.params["message_id"] == first_id]) == 1

    # The group takes a digest: once, at 18:00 UTC, naming the stories of the day.
    digests = fake_telegram.sent(group.id)
    assert len(digests) == 1
    assert "Digest" in str(digests[0].params["text"]) and "Tumen" in str(digests[0].params["text"])

    # The admins heard about the broken feed once (not every hour), and got one daily count.
    broken = [text for _, text in reports if "Broken" in text]
    assert len(broken) == 1 and "failing" in broken[0]
    assert len([text for _, text in reports if "Past day" in text]) == 1

    with database.unit_of_work() as uow:
        counts = uow.outbox.counts()
        assert uow.heartbeats.last(HEARTBEAT) is not None
    assert counts["pending"] == 0 and counts["failed"] == 0
    assert fake_telegram.internal_errors == []


def test_each_failed_delivery_is_reported_to_the_admins_once(
    database: Database, feed_server: FeedServer, fake_telegram: FakeTelegram
) -> None:
    clock = DrivenClock(DAY + timedelta(hours=8))
    config = config_for(feed_server)
    feed_server.add("/wire.xml", rss("Wire", [BREAKS]))
    feed_server.add("/asia.xml", rss("Asia Desk", []))
    feed_server.add("/broken.xml", rss("Broken", []))
    blocked = fake_telegram.private_chat(fake_telegram.user(201, "Gone"))
    later = fake_telegram.private_chat(fake_telegram.user(202, "Later"))
    fake_telegram.block(blocked)
    fake_telegram.block(later)
    with database.unit_of_work() as uow:
        uow.feeds.sync(config.feeds, clock())
        uow.chats.ensure(blocked.id, ChatKind.PRIVATE, "Gone", clock() - timedelta(days=1))
        uow.chats.subscribe(blocked.id, ["nk-repatriation"], clock() - timedelta(days=1))
    reports: list[str] = []

    async def notify(text: str) -> None:
        reports.append(text)

    async def run() -> None:
        limits = FetchLimits(timeout_seconds=2, max_bytes=1 << 20, max_redirects=3)
        async with Fetcher(limits, concurrency=4) as fetcher, Bot(
            fake_telegram.token, base_url=fake_telegram.base_url
        ) as bot:
            deliverer = Deliverer(database, TelegramSender(bot, {}), clock, sleep=clock.sleep)
            jobs = Jobs(config, database, Poller(config, database, fetcher, clock, load_gazetteer()), deliverer,
                        clock, notify_admins=notify)
            await jobs.poll()
            await jobs.deliver()
            await jobs.maintain()
            clock.now += timedelta(hours=1)
            await jobs.maintain()  # nothing new: no second line about the same failure
            # A second reader subscribes, the story grows, and their alert fails too.
            with database.unit_of_work() as uow:
                uow.chats.ensure(later.id, ChatKind.PRIVATE, "Later", clock() - timedelta(days=1))
                uow.chats.subscribe(later.id, ["nk-repatriation"], clock() - timedelta(days=1))
            feed_server.add("/asia.xml", rss("Asia Desk", [JOINS]))
            clock.now += timedelta(minutes=15)
            await jobs.poll()
            await jobs.deliver()
            clock.now += timedelta(hours=1)
            await jobs.maintain()

    asyncio.run(run())
    told = [line for text in reports for line in text.splitlines() if "failed:" in line]
    assert len(told) == 2, reports
    assert "chat 201" in told[0] and "blocked" in told[0].lower()
    assert "chat 202" in told[1]
