"""Delivery end to end: a real database, python-telegram-bot, and the fake Bot API server playing Telegram.

Time is virtual (a clock the deliverer's sleeps advance) except in the test that lets the server enforce
Telegram's limits, which needs real seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.delivery.deliverer import (
    Deliverer,
    DeliveryReport,
    digest_moment,
    in_quiet_hours,
    readable,
    retry_delay,
    zone,
)
from bot.domain import (
    Chat,
    ChatKind,
    ChatSettings,
    DeliveryMode,
    Facts,
    Feed,
    Item,
    OutboxEntry,
    OutboxKind,
    OutboxStatus,
    Story,
    StoryContent,
    Urgency,
)
from bot.storage.db import Database
from bot.storage.unit_of_work import UnitOfWork
from bot.telegram.sender import TelegramSender
from tests.support.fake_telegram import FakeTelegram

T = TypeVar("T")
T0 = datetime(2023, 10, 9, 12, 0, tzinfo=UTC)
REPAT = "nk-repatriation"
TOPICS = {REPAT: "Forced repatriation of North Koreans"}
FEED = Feed(name="wire", url="https://wire.example.com/rss", language="en", interval_seconds=900, outlet="Wire")


# =====================================================================================================
# Pure helpers
# =====================================================================================================


@pytest.mark.parametrize(
    ("start", "end", "tz", "utc_hour", "quiet"),
    [
        (None, None, "UTC", 3, False),
        (22, 7, "UTC", 23, True),  # wraps past midnight
        (22, 7, "UTC", 3, True),
        (22, 7, "UTC", 7, False),  # the end hour is awake
        (22, 7, "UTC", 12, False),
        (1, 5, "UTC", 1, True),
        (1, 5, "UTC", 5, False),
        (22, 7, "Asia/Seoul", 14, True),  # 23:00 in Seoul
        (22, 7, "Asia/Seoul", 23, False),  # 08:00 in Seoul
        (22, 7, "Not/AZone", 23, True),  # a bad zone counts as UTC
        (9, 9, "UTC", 9, False),  # an empty range is no quiet hours
    ],
)
def test_quiet_hours(start: int | None, end: int | None, tz: str, utc_hour: int, quiet: bool) -> None:
    settings = ChatSettings(timezone=tz, quiet_start=start, quiet_end=end)
    assert in_quiet_hours(settings, datetime(2024, 1, 15, utc_hour, 30, tzinfo=UTC)) is quiet


@pytest.mark.parametrize(
    ("tz", "hour", "now", "moment"),
    [
        ("UTC", 8, datetime(2024, 1, 15, 12, 0, tzinfo=UTC), datetime(2024, 1, 15, 8, 0, tzinfo=UTC)),
        # 02:00 UTC is 11:00 in Seoul, the same local day as 08:00 there (23:00 UTC the day before).
        ("Asia/Seoul", 8, datetime(2024, 1, 15, 2, 0, tzinfo=UTC), datetime(2024, 1, 14, 23, 0, tzinfo=UTC)),
        # 22:00 UTC is 07:00 the next day in Seoul: today's digest there is still an hour away.
        ("Asia/Seoul", 8, datetime(2024, 1, 15, 22, 0, tzinfo=UTC), datetime(2024, 1, 15, 23, 0, tzinfo=UTC)),
        # New York in summer is UTC-4.
        ("America/New_York", 18, datetime(2024, 7, 1, 23, 0, tzinfo=UTC), datetime(2024, 7, 1, 22, 0, tzinfo=UTC)),
        ("Mars/Olympus", 8, datetime(2024, 1, 15, 12, 0, tzinfo=UTC), datetime(2024, 1, 15, 8, 0, tzinfo=UTC)),
    ],
)
def test_digest_moment_is_the_hour_in_the_chats_zone(tz: str, hour: int, now: datetime, moment: datetime) -> None:
    assert digest_moment(ChatSettings(timezone=tz, digest_hour=hour), now) == moment


@pytest.mark.parametrize(
    ("attempt", "delay"), [(1, 5.0), (2, 10.0), (3, 20.0), (6, 160.0), (9, 900.0), (500, 900.0)]
)
def test_retry_delay_doubles_up_to_a_cap(attempt: int, delay: float) -> None:
    assert retry_delay(attempt, base=5.0, cap=900.0) == delay


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("Forbidden: bot was blocked by the user", "Forbidden: bot was blocked by the user"),
        ("bad url https://x/bot7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage",
         "bad url https://x/bot<token>/sendMessage"),
        ("two\nlines", "two lines"),
        ("x" * 900, "x" * 499 + "…"),
    ],
)
def test_readable_reasons_are_one_bounded_line_without_a_token(raw: str, shown: str) -> None:
    assert readable(raw) == shown


def test_a_bad_zone_falls_back_to_utc() -> None:
    assert zone("../../etc/passwd").key == "UTC"
    assert zone("Asia/Seoul").key == "Asia/Seoul"


# =====================================================================================================
# The world: a virtual clock, stories and chats in the database, a deliverer on the fake server
# =====================================================================================================


@dataclass
class VirtualClock:
    """Aware UTC time that moves only when told to or when the deliverer sleeps."""

    now: datetime = T0
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    async def sleep(self, seconds: float) -> None:
        target = self.now + timedelta(seconds=seconds)
        self.slept.append(seconds)
        await asyncio.sleep(0)
        self.now = max(self.now, target)  # concurrent sleeps overlap, as real ones do


def subscribe(
    db: Database, chat_id: int, kind: ChatKind = ChatKind.PRIVATE, settings: ChatSettings | None = None,
    at: datetime = T0 - timedelta(days=1),
) -> None:
    with db.unit_of_work() as uow:
        uow.chats.ensure(chat_id, kind, f"chat {chat_id}", at)
        uow.chats.subscribe(chat_id, [REPAT], at)
        if settings is not None:
            uow.chats.set_settings(chat_id, settings)


def content(*, urgency: Urgency, sources: int, title: str) -> StoryContent:
    return StoryContent(
        title=title, summary="Rights groups say hundreds held in Jilin were driven to the border overnight.",
        facts=Facts(count_low=500, count_high=600, places=("Tumen",), outlets=sources), urgency=urgency,
        topics=(REPAT,), actions=(), language="en", first_published=T0, last_published=T0, source_count=sources,
    )


def add_source(uow: UnitOfWork, story_id: int, outlet: str, at: datetime) -> None:
    uow.feeds.sync([FEED], at)
    n = uow.items.count() + 1
    item = Item(
        feed=FEED.name, outlet=outlet, guid=f"g{n}", link=f"https://{outlet.lower()}.example/{n}",
        title=f"{outlet} reports the returns", summary="", content="", language="en", published=at, fetched=at,
    )
    uow.stories.attach(uow.items.add(item, title_key=f"{outlet} reports {n}", topics=[REPAT]), story_id)


def new_story(
    db: Database, at: datetime, *, urgency: Urgency = Urgency.URGENT, title: str = "Hundreds sent back at Tumen"
) -> int:
    """A story with one outlet, stored at `at` and owed to its subscribers (as the pipeline does)."""
    with db.unit_of_work() as uow:
        story_id = uow.stories.create(
            content(urgency=urgency, sources=1, title=title), None, at
        )
        add_source(uow, story_id, "Wire", at)
        uow.outbox.enqueue(story_id, at)
    return story_id


def grow_story(db: Database, story_id: int, at: datetime, outlet: str, *, urgency: Urgency = Urgency.URGENT) -> None:
    """Another outlet joins the story (its revision rises); the outbox is told, as the pipeline does."""
    with db.unit_of_work() as uow:
        add_source(uow, story_id, outlet, at)
        sources = len(uow.stories.get(story_id).sources)
        story = uow.stories.get(story_id)
        uow.stories.update(
            story_id, content(urgency=urgency, sources=sources, title=story.title),
            None, at,
        )
        uow.outbox.enqueue(story_id, at)


def all_rows(db: Database, count: int) -> list[OutboxEntry]:
    """Outbox rows 1..count (ids are assigned in order)."""
    with db.unit_of_work() as uow:
        return [uow.outbox.get(i) for i in range(1, count + 1)]


def chat(db: Database, chat_id: int) -> Chat | None:
    with db.unit_of_work() as uow:
        return uow.chats.get(chat_id)


def pending(db: Database) -> int:
    with db.unit_of_work() as uow:
        return uow.outbox.pending_count()


Scenario = Callable[[Deliverer, VirtualClock], Awaitable[T]]


def run(
    db: Database,
    server: FakeTelegram,
    scenario: Scenario[T],
    *,
    clock: VirtualClock | None = None,
    read_timeout: float = 5.0,
    **options: object,
) -> T:
    """Run `scenario` with a deliverer on a Bot talking to `server`, on a virtual clock."""
    virtual = clock or VirtualClock()

    async def main() -> T:
        request = HTTPXRequest(connection_pool_size=16, read_timeout=read_timeout)
        async with Bot(server.token, base_url=server.base_url, request=request) as bot:
            deliverer = Deliverer(
                db, TelegramSender(bot, TOPICS), virtual, sleep=virtual.sleep, **options  # type: ignore[arg-type]
            )
            return await scenario(deliverer, virtual)

    return asyncio.run(main())


async def drain_until_done(db: Database, deliverer: Deliverer, clock: VirtualClock, rounds: int = 30) -> DeliveryReport:
    """Drain, let a minute pass, drain again... until nothing is pending; the summed report."""
    total = DeliveryReport()
    for _ in range(rounds):
        report = await deliverer.drain()
        total = DeliveryReport(*(a + b for a, b in zip(_fields(total), _fields(report), strict=True)))
        if pending(db) == 0:
            return total
        clock.advance(minutes=1)
    raise AssertionError(f"still {pending(db)} rows pending after {rounds} drains")


def _fields(report: DeliveryReport) -> tuple[int, ...]:
    return (report.sent, report.edited, report.retried, report.failed, report.deactivated, report.postponed)


def private_chats(server: FakeTelegram, db: Database, ids: Sequence[int]) -> list[int]:
    for chat_id in ids:
        server.private_chat(server.user(chat_id, f"User {chat_id}"))
        subscribe(db, chat_id)
    return list(ids)


def assert_each_once(server: FakeTelegram, chat_ids: Sequence[int]) -> None:
    counts = {chat_id: len(server.sent(chat_id)) for chat_id in chat_ids}
    assert counts == dict.fromkeys(chat_ids, 1)


# =====================================================================================================
# Scenarios
# =====================================================================================================


def test_a_private_chat_a_group_and_a_channel_each_get_the_alert_once(
    database: Database, fake_telegram: FakeTelegram
) -> None:
    alice = fake_telegram.user(101, "Alice")
    fake_telegram.private_chat(alice)
    fake_telegram.group(-1001, "Advocates", admins=[alice])
    fake_telegram.channel(-100200, "NK Watch", admins=[alice])
    subscribe(database, 101)
    subscribe(database, -1001, ChatKind.GROUP)
    subscribe(database, -100200, ChatKind.CHANNEL)
    new_story(database, T0)

    async def scenario(deliverer: Deliverer, clock: VirtualClock) -> tuple[DeliveryReport, DeliveryReport]:
        first = await deliverer.drain()
        clock.advance(minutes=10)
        return first, await deliverer.drain()

    first, second = run(database, fake_telegram, scenario)

    assert first == DeliveryReport(sent=3)
    assert second == DeliveryReport()
    assert_each_once(fake_telegram, [101, -1001, -100200])
    for entry in all_rows(database, 3):
        assert entry.status is OutboxStatus.SENT
        assert entry.message_id is not None
        assert "Hundreds sent back at Tumen" in fake_telegram.messages(entry.chat_id)[entry.message_id]
        assert entry.sent_urgency is Urgency.URGENT


def test_a_429_storm_delays_but_delivers_everything_exactly_once(
    database: Database, fake_telegram: FakeTelegram
) -> None:
    chats = private_chats(fake_telegram, database, range(201, 231))
    new_story(database, T0)
    fake_telegram.fail_next("sendMessage", 429, retry_after=2, count=25)

    report = run(database, fake_telegram, lambda d, c: drain_until_done(database, d, c))

    assert_each_once(fake_telegram, chats)
    entries = all_rows(database, len(chats))
    assert {e.status for e in entries} == {OutboxStatus.SENT}
    assert all(e.attempts == 0 for e in entries)  # waiting as asked is not a failed attempt
    assert report.sent == 30
    assert report.postponed >= 1
    assert fake_telegram.too_many_requests == 25


def test_flood_control_holds_the_chat_for_the_time_telegram_asked_without_counting_an_attempt(
    database: Database, fake_telegram: FakeTelegram
) -> None:
    private_chats(fake_telegram, database, [251])
    new_story(database, T0)
    fake_telegram.fail_next("sendMessage", 429, retry_after=5)

    async def scenario(deliverer: Deliverer, clock: VirtualClock) -> list[DeliveryReport]:
        reports = [await deliverer.drain()]
        clock.now = T0 + timedelta(seconds=4)
        reports.append(await deliverer.drain())
        clock.now = T0 + timedelta(seconds=5, milliseconds=100)
        reports.append(await deliverer.drain())
        return reports

    reports = run(database, fake_telegram, scenario)

    assert reports == [DeliveryReport(postponed=1), DeliveryReport(), DeliveryReport(sent=1)]
    [entry] = all_rows(database, 1)
    assert entry.status is OutboxStatus.SENT
    assert entry.attempts == 0
    assert entry.sent_at is not None
    assert entry.sent_at >= T0 + timedelta(seconds=5)
    assert len(fake_telegram.sent(251)) == 1


def test_chats_that_blocked_or_kicked_the_bot_are_deactivated_with_the_reason(
    database: Database, fake_telegram: FakeTelegram
) -> None:
    chats = private_chats(fake_telegram, database, range(301, 311))
    fake_telegram.group(-3001, "Left group")
    subscribe(database, -3001, ChatKind.GROUP)
    for chat_id in (303, 307):
        fake_telegram.block(chat_id)
    fake_telegram.kick(-3001)
    new_story(database, T0)

    report = run(database, fake_telegram, lambda d, c: drain_until_done(database, d, c))

    reachable = [c for c in chats if c not in (303, 307)]
    assert_each_once(fake_telegram, reachable)
    assert report.deactivated == 3
    for chat_id, reason in ((303, "blocked by the user"), (307, "blocked by the user"), (-3001, "kicked")):
        stored = chat(database, chat_id)
        assert stored is not None
        assert not stored.active
        assert reason in (stored.inactive_reason or "")
    with database.unit_of_work() as uow:
        failures = {e.chat_id: e.last_error for e in uow.outbox.recent_failures(10)}
    assert set(failures) == {303, 307, -3001}
    assert "blocked by the user" in (failures[303] or "")


def test_a_5xx_burst_is_retried_with_backoff_and_nothing_is_sent_twice(
    database: Database, fake_telegram: FakeTelegram
) -> None:
    chats = private_chats(fake_telegram, database, range(401, 421))
    new_story(database, T0)
    fake_telegram.fail_next("sendMessage", 500, count=8)
    fake_telegram.fail_next("sendMessage", 502, count=4)
    fake_telegram.drop_next("sendMessage", count=3)

    report = run(database, fake_telegram, lambda d, c: drain_until_done(database, d, c))

    assert_each_once(fake_telegram, chats)
    entries = all_rows(database, len(chats))
    assert {e.status for e in entries} == {OutboxStatus.SENT}
    assert sum(e.attempts for e in entries) == 15  # one counted attempt per fault
    assert report.retried == 15


def test_a_chat_that_keeps_failing_is_given_up_with_the_last_reason(
    database: Database, fake_telegram: FakeTelegram
) -> None:
    private_chats(fake_telegram, database, [501])
    new_story(database, T0)
    fake_telegram.fail_next("sendMessage", 503, count=10)

    report = run(database, fake_telegram, lambda d, c: drain_until_done(database, d, c), max_attempts=4)

    [entry] = all_rows(database, 1)
    assert entry.status is OutboxStatus.FAILED
    assert entry.last_error is not None
    assert "gave up after 4 attempts" in entry.last_error
    assert "Service Unavailable" in entry.last_error
    assert report == DeliveryReport(retried=3, failed=1)
    assert fake_telegram.sent(501) == []


def test_a_hanging_server_never_makes_a_chat_see_an_alert_twice(
    database: Database, fake_telegram: FakeTelegram
) -> None:
    chats = private_chats(fake_telegram, database, range(601, 609))
    new_story(database, T0)
    fake_telegram.hang_next("sendMessage", 1.5, count=3)

    started = time.monotonic()
    run(database, fake_telegram, lambda d, c: drain_until_done(database, d, c), read_timeout=0.3)
    assert time.monotonic() - started < 5

    # Every chat sees the alert exactly once: the three unanswered sends had arrived.
    assert {c: len(fake_telegram.messages(c)) for c in chats} == dict.fromkeys(chats, 1)
    entries = all_rows(database, len(chats))
    failed = [e for e in entries if e.status is OutboxStatus.FAILED]
    assert len(failed) == 3
    assert all("may have arrived" in (e.last_error or "") for e in failed)
    assert {e.status for e in entries} == {OutboxStatus.SENT, OutboxStatus.FAILED}


@pytest.mark.parametrize(
    "answer",
    [
        "<html><body>502 upstream answered, then the proxy mangled it</body></html>",  # no JSON at all
        {"ok": True, "result": True},  # JSON, but no message where one must be (version drift)
    ],
    ids=["not-json", "wrong-shape"],
)
def test_an_unreadable_answer_after_a_send_is_uncertain_and_never_resent(
    database: Database, fake_telegram: FakeTelegram, answer: dict[str, object] | str
) -> None:
    chats = private_chats(fake_telegram, database, [611, 612])
    new_story(database, T0)
    fake_telegram.garble_next("sendMessage", answer)

    run(database, fake_telegram, lambda d, c: drain_until_done(database, d, c))

    # Telegram took both messages; the one whose answer could not be read is not sent again.
    assert {c: len(fake_telegram.messages(c)) for c in chats} == dict.fromkeys(chats, 1)
    entries = all_rows(database, len(chats))
    assert sorted(e.status.value for e in entries) == ["failed", "sent"]
    (failed,) = [e for e in entries if e.status is OutboxStatus.FAILED]
    assert "may have arrived" in (failed.last_error or "") and failed.attempts == 0
    assert fake_telegram.token not in (failed.last_error or "")


def test_a_group_upgraded_to_a_supergroup_gets_its_alert_at_the_new_id(
    database: Database, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.group(-7001, "Advocates")
    subscribe(database, -7001, ChatKind.GROUP)
    fake_telegram.migrate(-7001, -1007001, notify=False)
    new_story(database, T0)

    report = run(database, fake_telegram, lambda d, c: d.drain())  # one drain: sent at once to the new id

    assert report.sent == 1
    assert len(fake_telegram.sent(-1007001)) == 1
    assert chat(database, -7001) is None
    moved = chat(database, -1007001)
    assert moved is not None
    assert moved.active
    assert moved.topics == (REPAT,)
    [entry] = all_rows(database, 1)
    assert (entry.status, entry.chat_id) == (OutboxStatus.SENT, -1007001)


def test_a_second_outlet_edits_the_alert_at_most_once_per_interval(
    database: Database, fake_telegram: FakeTelegram
) -> None:
    private_chats(fake_telegram, database, [801])
    story_id = new_story(database, T0)

    async def scenario(deliverer: Deliverer, clock: VirtualClock) -> list[int]:
        edits: list[int] = []
        await deliverer.drain()  # the alert, at T0
        clock.now = T0 + timedelta(minutes=1)
        grow_story(database, story_id, clock.now, "Herald")
        await deliverer.drain()  # too soon after the send: no edit yet
        edits.append(len(fake_telegram.edits(801)))
        clock.now = T0 + timedelta(minutes=3, seconds=1)
        await deliverer.drain()  # three minutes after the send: edited
        edits.append(len(fake_telegram.edits(801)))
        clock.now = T0 + timedelta(minutes=4)
        grow_story(database, story_id, clock.now, "Gazette")
        await deliverer.drain()  # a minute after the edit: wait
        edits.append(len(fake_telegram.edits(801)))
        clock.now = T0 + timedelta(minutes=6, seconds=2)
        report = await deliverer.drain()
        edits.append(len(fake_telegram.edits(801)))
        assert report.edited == 1
        clock.now = T0 + timedelta(minutes=20)
        await deliverer.drain()  # nothing new: nothing edited
        edits.append(len(fake_telegram.edits(801)))
        return edits

    edits = run(database, fake_telegram, scenario)

    assert edits == [0, 1, 1, 2, 2]
    [message] = fake_telegram.messages(801).values()
    assert "Herald" in message
    assert "Gazette" in message
    assert len(fake_telegram.sent(801)) == 1
    [entry] = all_rows(database, 1)
    assert entry.sent_revision == 3


def test_a_story_turning_urgent_posts_a_short_followup(database: Database, fake_telegram: FakeTelegram) -> None:
    private_chats(fake_telegram, database, [901])
    story_id = new_story(database, T0, urgency=Urgency.UPDATE)

    async def scenario(deliverer: Deliverer, clock: VirtualClock) -> None:
        await deliverer.drain()
        clock.now = T0 + timedelta(minutes=5)
        grow_story(database, story_id, clock.now, "Herald", urgency=Urgency.URGENT)
        await deliverer.drain()

    run(database, fake_telegram, scenario)

    sent = [call.params["text"] for call in fake_telegram.sent(901)]
    assert len(sent) == 2
    assert "Now URGENT" in sent[1]
    assert "URGENT" not in sent[0]
    with database.unit_of_work() as uow:
        kinds = sorted((e.kind, e.status) for e in (uow.outbox.get(1), uow.outbox.get(2)))
    assert kinds == [(OutboxKind.ALERT, OutboxStatus.SENT), (OutboxKind.FOLLOWUP, OutboxStatus.SENT)]
    # The alert itself was also brought up to date.
    assert len(fake_telegram.edits(901)) == 1


def test_a_follow_up_storys_alert_waits_for_the_alert_of_the_story_it_follows(
    database: Database, fake_telegram: FakeTelegram
) -> None:
    private_chats(fake_telegram, database, [951, 952])
    first = new_story(database, T0, title="Hundreds held at Tumen")
    with database.unit_of_work() as uow:
        later = replace(content(urgency=Urgency.URGENT, sources=1, title="Tumen detainees sent back"),
                        follow_up_of=first)
        follow_up = uow.stories.create(later, None, T0)
        add_source(uow, follow_up, "Herald", T0)
        uow.outbox.enqueue(follow_up, T0)
    # Chat 951's first alert fails for now (a 5xx) and waits its backoff; chat 952's is refused for good.
    fake_telegram.fail_next("sendMessage", 500)
    fake_telegram.fail_next("sendMessage", 400, description="Bad Request: message is too long")

    # One send at a time, in row order, so the two faults hit the first story's rows.
    run(database, fake_telegram, lambda d, c: drain_until_done(database, d, c), concurrency=1)

    # 951 reads the story, then its follow-up; 952 gets the follow-up once the first was given up.
    def stories_sent(chat_id: int) -> list[str]:
        texts = [str(call.params["text"]) for call in fake_telegram.sent(chat_id)]
        return ["first" if "Hundreds held" in t else "follow-up" if "detainees sent back" in t else t for t in texts]

    assert stories_sent(951) == ["first", "follow-up"]
    assert stories_sent(952) == ["follow-up"]
    with database.unit_of_work() as uow:
        assert uow.stories.get(follow_up).follow_up_of == first


def test_alerts_in_quiet_hours_arrive_silently(database: Database, fake_telegram: FakeTelegram) -> None:
    fake_telegram.private_chat(fake_telegram.user(1001, "Night owl"))
    fake_telegram.private_chat(fake_telegram.user(1002, "Day person"))
    # T0 is 12:00 UTC, 21:00 in Seoul: inside 20-7 there, outside 22-7 in UTC.
    subscribe(database, 1001, settings=ChatSettings(timezone="Asia/Seoul", quiet_start=20, quiet_end=7))
    subscribe(database, 1002, settings=ChatSettings(timezone="UTC", quiet_start=22, quiet_end=7))
    new_story(database, T0)

    run(database, fake_telegram, lambda d, c: d.drain())

    assert fake_telegram.sent(1001)[0].params.get("disable_notification") is True
    assert fake_telegram.sent(1002)[0].params.get("disable_notification") in (None, False)


def test_a_chat_unsubscribed_before_delivery_is_not_sent_the_story(
    database: Database, fake_telegram: FakeTelegram
) -> None:
    private_chats(fake_telegram, database, [1101, 1102])
    new_story(database, T0)
    with database.unit_of_work() as uow:
        uow.chats.unsubscribe(1102, [REPAT])

    run(database, fake_telegram, lambda d, c: d.drain())

    assert_each_once(fake_telegram, [1101])
    assert fake_telegram.sent(1102) == []
    entries = {e.chat_id: e for e in all_rows(database, 2)}
    assert entries[1102].status is OutboxStatus.FAILED
    assert "unsubscribed" in (entries[1102].last_error or "")


class BrokenFor:
    """A Sender that fails with a bug for one chat and sends through TelegramSender for the others."""

    def __init__(self, inner: TelegramSender, broken: int) -> None:
        self.inner = inner
        self.broken = broken

    async def send_alert(self, chat: Chat, story: Story, *, silent: bool) -> int:
        if chat.id == self.broken:
            raise RuntimeError(f"renderer exploded on story {story.id}")
        return await self.inner.send_alert(chat, story, silent=silent)

    async def send_followup(self, chat: Chat, story: Story, previous: Urgency, *, silent: bool) -> int:
        return await self.inner.send_followup(chat, story, previous, silent=silent)

    async def edit_alert(self, chat: Chat, message_id: int, story: Story) -> None:
        await self.inner.edit_alert(chat, message_id, story)

    async def send_digest(self, chat: Chat, stories: Sequence[Story], since: datetime) -> None:
        await self.inner.send_digest(chat, stories, since)


def test_an_unexpected_error_for_one_chat_is_recorded_and_the_others_still_get_theirs(
    database: Database, fake_telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    chats = private_chats(fake_telegram, database, [1201, 1202, 1203])
    new_story(database, T0)
    clock = VirtualClock()

    async def main() -> DeliveryReport:
        async with Bot(fake_telegram.token, base_url=fake_telegram.base_url) as bot:
            sender = BrokenFor(TelegramSender(bot, TOPICS), broken=1202)
            deliverer = Deliverer(database, sender, clock, sleep=clock.sleep, max_attempts=2)
            return await drain_until_done(database, deliverer, clock)

    report = asyncio.run(main())

    assert_each_once(fake_telegram, [1201, 1203])
    entries = {e.chat_id: e for e in all_rows(database, len(chats))}
    assert entries[1202].status is OutboxStatus.FAILED
    assert "RuntimeError: renderer exploded" in (entries[1202].last_error or "")
    assert report.sent == 2
    assert any("chat 1202" in r.getMessage() for r in caplog.records)


def test_a_digest_goes_out_at_the_chats_hour_in_its_time_zone(
    database: Database, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.private_chat(fake_telegram.user(1301, "Seoul reader"))
    seoul = ChatSettings(mode=DeliveryMode.DIGEST, digest_hour=8, timezone="Asia/Seoul")
    subscribe(database, 1301, settings=seoul)
    # Stories on 9 Oct; 08:00 in Seoul on 10 Oct is 23:00 UTC on 9 Oct.
    new_story(database, T0, title="Buses seen leaving the Tumen detention centre")
    new_story(database, T0 + timedelta(hours=2), urgency=Urgency.UPDATE, title="Families ask for news")
    clock = VirtualClock(now=datetime(2023, 10, 9, 22, 30, tzinfo=UTC))  # 07:30 in Seoul

    async def scenario(deliverer: Deliverer, c: VirtualClock) -> list[int]:
        sent = [await deliverer.send_digests()]  # before the hour
        c.now = datetime(2023, 10, 9, 23, 5, tzinfo=UTC)  # 08:05 in Seoul
        sent.append(await deliverer.send_digests())
        c.now = datetime(2023, 10, 10, 6, 0, tzinfo=UTC)  # later the same Seoul day
        sent.append(await deliverer.send_digests())
        new_story(database, datetime(2023, 10, 10, 9, 0, tzinfo=UTC), title="A third report from Dandong")
        c.now = datetime(2023, 10, 10, 23, 1, tzinfo=UTC)  # 08:01 the next Seoul day
        sent.append(await deliverer.send_digests())
        return sent

    sent = run(database, fake_telegram, scenario, clock=clock)

    assert sent == [0, 1, 0, 1]
    first, second = (call.params["text"] for call in fake_telegram.sent(1301))
    assert "Buses seen leaving" in first
    assert "Families ask for news" in first
    assert "Dandong" not in first
    assert "Dandong" in second
    assert "Buses seen leaving" not in second
    stored = chat(database, 1301)
    assert stored is not None
    assert stored.last_digest_at == datetime(2023, 10, 10, 23, 1, tzinfo=UTC)


def test_one_bad_digest_chat_does_not_stop_the_others(database: Database, fake_telegram: FakeTelegram) -> None:
    digest = ChatSettings(mode=DeliveryMode.DIGEST, digest_hour=8, timezone="No/Such_Zone")
    for chat_id in (1401, 1402, 1403):
        fake_telegram.private_chat(fake_telegram.user(chat_id, f"Reader {chat_id}"))
        subscribe(database, chat_id, settings=digest)
    fake_telegram.block(1402)
    new_story(database, T0)

    sent = run(database, fake_telegram, lambda d, c: d.send_digests())  # 12:00 UTC: past 08:00 (UTC fallback)

    assert sent == 2
    assert_each_once(fake_telegram, [1401, 1403])
    blocked = chat(database, 1402)
    assert blocked is not None
    assert not blocked.active


def test_paced_sends_never_trip_the_servers_limits(database: Database, fake_telegram: FakeTelegram) -> None:
    """Real time: the server enforces Telegram's limits and answers 429 beyond them."""
    chats = private_chats(fake_telegram, database, range(1501, 1521))
    fake_telegram.group(-1550, "Busy group")
    subscribe(database, -1550, ChatKind.GROUP)
    for n in range(2):
        new_story(database, T0 - timedelta(minutes=n), title=f"Report {n} of people sent back")
    fake_telegram.enforce_limits(per_chat_per_second=1, global_per_second=30, group_per_minute=20)

    async def main() -> DeliveryReport:
        async with Bot(fake_telegram.token, base_url=fake_telegram.base_url) as bot:
            deliverer = Deliverer(database, TelegramSender(bot, TOPICS), lambda: datetime.now(UTC))
            return await deliverer.drain()

    started = time.monotonic()
    report = asyncio.run(main())
    elapsed = time.monotonic() - started

    assert fake_telegram.too_many_requests == 0
    assert report.sent == 2 * 21
    assert {c: len(fake_telegram.sent(c)) for c in [*chats, -1550]} == dict.fromkeys([*chats, -1550], 2)
    assert elapsed >= (2 * 21 - 1) / 28 - 0.1  # paced, not burst
