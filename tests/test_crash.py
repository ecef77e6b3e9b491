"""Crash: `python -m bot run` killed with SIGKILL mid-poll and mid-delivery, then started again.

A real process against the local feed server and the fake Bot API server, as an operator runs it. After the
restart every item and story is stored once and every chat has its alert. A chat may get an alert twice
only in the window between Telegram's answer and the commit that marks the row sent: at most the sends in
flight at the kill (the Deliverer's concurrency, 8). The delivery test prints how many it saw; to measure
the window over several kills at different points:

    CRASH_DELIVERY_RUNS=10 .venv/bin/pytest tests/test_crash.py -k delivery -s -q

CRASH_ANSWER_SECONDS (default 0.15) is how long the fake Bot API server takes to answer a send, as Telegram
does over the internet; 0 answers at once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.storage.db import Database
from tests.support.fake_telegram import Chat, FakeTelegram
from tests.support.feedserver import FeedServer
from tests.test_pipeline import rss
from tests.test_run import BotProcess

ROOT = Path(__file__).resolve().parent.parent
TOPIC = "nk-repatriation"
TOPICS = f"""
topics:
  - id: {TOPIC}
    name: Forced repatriation of North Koreans
    default: true
    require:
      - [north korea*, 북한, 탈북*]
      - [repatriat*, forcibly return*, sent back, 북송]
"""
# The most sends in flight at once: Deliverer's default concurrency, which the runner does not change.
IN_FLIGHT = 8
PUBLISHED = datetime.now(UTC) - timedelta(hours=1)

# Six outlets telling one event in their own words: the pipeline groups them into a single story.
HUNCHUN = [
    ("China forcibly returns 70 North Korean defectors through Hunchun",
     "Border police in Hunchun handed about 70 North Korean defectors to North Korean guards on 14 November, "
     "a Seoul rights group said. Most were women caught in Jilin."),
    ("Rights group: about 70 North Koreans forcibly repatriated at Hunchun",
     "Around 70 North Koreans held in Jilin province were forcibly returned across the border at Hunchun on "
     "14 November, activists in Seoul reported."),
    ("Seventy North Korean escapees sent back from Hunchun, activists say",
     "Chinese authorities repatriated some 70 North Korean escapees via the Hunchun crossing on 14 November, "
     "according to a group in Seoul."),
    ("Hunchun: China deports about 70 North Koreans, group says",
     "About 70 North Koreans detained in Jilin were repatriated through Hunchun on 14 November, said a "
     "Seoul-based group monitoring the border."),
    ("UN rapporteur alarmed after 70 North Koreans repatriated via Hunchun",
     "The repatriation of about 70 North Koreans through Hunchun on 14 November drew concern from a UN "
     "rapporteur, who said they face torture."),
    ("Families fear for 70 North Koreans sent back at Hunchun",
     "Relatives in Seoul said about 70 North Koreans were forcibly repatriated through Hunchun on 14 November "
     "after months in Jilin detention."),
]


def outlet_feed(n: int) -> bytes:
    """Outlet `n`'s feed: its report of the Hunchun event and an unrelated item."""
    title, text = HUNCHUN[n]
    return rss(f"Outlet {n}", [
        (title, f"https://outlet{n}.example.net/2026/11/hunchun", text, PUBLISHED + timedelta(minutes=n)),
        (f"Outlet {n} weather: first snow in the hills", f"https://outlet{n}.example.net/2026/11/snow",
         "Light snow fell overnight; roads stayed open.", PUBLISHED),
    ])


def feeds_yaml(server: FeedServer, paths: list[str]) -> str:
    lines = [TOPICS, "feeds:"]
    for n, path in enumerate(paths):
        lines.append(f"  - name: Outlet {n}\n    url: {server.url(path)}\n    language: en\n    interval: 10m")
    # A whole-request deadline well above the slow feed's drip, so the restart's fetch of it succeeds.
    return "\n".join(lines) + "\ndefaults:\n  timeout: 15s\n"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """The bot's database, upgraded; the test reads it while the bot process writes it."""
    database = Database(database_url)
    database.upgrade()
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def env(tmp_path: Path, database_url: str, db: Database, fake_telegram: FakeTelegram) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_", "BOT_"))}
    values.update(
        DATABASE_URL=database_url,
        TELEGRAM_BOT_TOKEN=fake_telegram.token,
        TELEGRAM_API_URL=fake_telegram.base_url,
        FEEDS_CONFIG=str(tmp_path / "feeds.yaml"),
        LOG_LEVEL="INFO",
        NO_PROXY="127.0.0.1,localhost",
        PYTHONPATH=str(ROOT),
    )
    return values


@pytest.fixture
def bots() -> Iterator[list[BotProcess]]:
    started: list[BotProcess] = []
    yield started
    for bot in started:
        if bot.process.poll() is None:
            bot.stop(signal.SIGKILL)


def readers(fake: FakeTelegram, count: int) -> list[Chat]:
    """`count` private chats the fake knows, with user ids 5000 on."""
    return [fake.private_chat(fake.user(5000 + n, f"Reader {n}")) for n in range(count)]


def import_subscribers(env: dict[str, str], tmp_path: Path, chats: list[Chat]) -> None:
    """Subscribe `chats` through `advocacy-bot import` of an export document, as a migrating operator does."""
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    document = {
        "format": "advocacy-bot/chats",
        "version": 1,
        "chats": [
            {"id": chat.id, "kind": "private", "title": chat.title or "", "topics": [TOPIC], "subscribed_at": since}
            for chat in chats
        ],
    }
    path = tmp_path / "chats.json"
    path.write_text(json.dumps(document))
    done = subprocess.run([sys.executable, "-m", "bot", "import", str(path)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"{len(chats)} chats imported" in done.stdout


def alerts_by_chat(fake: FakeTelegram, chats: list[Chat]) -> dict[int, int]:
    """How many alerts (successful sendMessage calls) each chat received. They only ever receive alerts:
    imported chats never wrote to the bot."""
    counts = {chat.id: 0 for chat in chats}
    for call in fake.sent():
        if call.params["chat_id"] in counts:
            counts[call.params["chat_id"]] += 1
    return counts


def wait(predicate: Callable[[], bool], timeout: float, what: str, bot: BotProcess) -> None:
    """Poll `predicate` (reads the database or the fakes) until true; fail with the bot's log otherwise."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; bot log:\n{bot.text()[-3000:]}")
        if bot.process.poll() is not None:
            pytest.fail(f"bot exited ({bot.process.returncode}) waiting for {what}:\n{bot.text()[-3000:]}")
        time.sleep(0.02)


def outbox(db: Database) -> dict[str, int]:
    """Outbox rows by status."""
    with db.unit_of_work() as uow:
        return uow.outbox.counts()


def stored(db: Database) -> tuple[int, int]:
    """(items, stories) in the database."""
    with db.unit_of_work() as uow:
        return uow.items.count(), uow.stories.count()


def test_kill_during_a_poll_then_restart_stores_each_item_and_story_once_and_alerts_each_chat_once(
    env: dict[str, str], tmp_path: Path, feed_server: FeedServer, fake_telegram: FakeTelegram,
    bots: list[BotProcess], db: Database,
) -> None:
    # Five outlets answer after staggered delays; a sixth drips its body for about 1.6 seconds. The kill
    # lands when the first outlet is stored: others are in flight, or parsed and waiting to be stored.
    paths = [f"/outlet{n}.xml" for n in range(6)]
    for n, path in enumerate(paths[:5]):
        feed_server.add(path, outlet_feed(n), delay=0.4 + 0.3 * n)
    slow = outlet_feed(5)
    feed_server.slow(paths[5], slow, delay_per_chunk=0.1, chunk_size=len(slow) // 16 + 1)
    Path(env["FEEDS_CONFIG"]).write_text(feeds_yaml(feed_server, paths))
    chats = readers(fake_telegram, 3)
    import_subscribers(env, tmp_path, chats)

    bot = BotProcess(env, tmp_path / "bot.log")
    bots.append(bot)
    wait(lambda: stored(db)[0] > 0, 30, "the first outlet to be stored", bot)
    bot.stop(signal.SIGKILL)
    items_at_kill, _ = stored(db)
    assert 0 < items_at_kill < 12, "the kill must land mid-poll for this test to mean anything"

    bot = BotProcess(env, tmp_path / "bot.log")
    bots.append(bot)
    wait(lambda: stored(db)[0] == 12 and outbox(db)["sent"] == 3, 30, "every outlet stored and alert sent", bot)
    assert bot.stop() == 0, bot.text()

    with db.unit_of_work() as uow:
        (story,) = uow.stories.recent(10)
    counts = outbox(db)
    assert stored(db) == (12, 1)
    assert sorted(s.feed for s in story.sources) == [f"Outlet {n}" for n in range(6)]
    assert alerts_by_chat(fake_telegram, chats) == {chat.id: 1 for chat in chats}
    assert counts["sent"] == 3 and counts["pending"] == 0 and counts["failed"] == 0
    assert feed_server.hits(paths[5]) == 2  # the slow outlet, cut off by the kill, was fetched again
    assert "Traceback" not in bot.text()


RUNS = int(os.environ.get("CRASH_DELIVERY_RUNS", "1"))
ANSWER_SECONDS = float(os.environ.get("CRASH_ANSWER_SECONDS", "0.15"))


@pytest.mark.parametrize("run", range(RUNS))
def test_kill_during_delivery_then_restart_alerts_every_chat_and_repeats_at_most_the_sends_in_flight(
    run: int, env: dict[str, str], tmp_path: Path, feed_server: FeedServer, fake_telegram: FakeTelegram,
    bots: list[BotProcess], db: Database, record_property: Callable[[str, object], None],
) -> None:
    feed_server.add("/outlet0.xml", outlet_feed(0))
    Path(env["FEEDS_CONFIG"]).write_text(feeds_yaml(feed_server, ["/outlet0.xml"]))
    chats = readers(fake_telegram, 150)
    import_subscribers(env, tmp_path, chats)
    # Telegram's limits make 150 alerts take about five seconds, so the kill lands mid-delivery.
    fake_telegram.enforce_limits(per_chat_per_second=1, global_per_second=30, group_per_minute=20)
    # Telegram answers a send in about 0.1-0.3 s; over that time several sends are in flight at once, which is
    # what opens the window. (On 127.0.0.1 with instant answers only one ever is.)
    fake_telegram.hang_next("sendMessage", ANSWER_SECONDS, count=1000)
    # Later runs kill at other points of the drain: 40, 53, 66, ... alerts out.
    kill_after = 40 + (13 * run) % 90

    bot = BotProcess(env, tmp_path / "bot.log")
    bots.append(bot)
    # The fake wakes this thread the moment it answers a send: the kill lands in the window on purpose, while
    # that answer is on its way back and the row is not yet marked sent.
    fake_telegram.wait_until(lambda: sum(alerts_by_chat(fake_telegram, chats).values()) >= kill_after, 30)
    bot.stop(signal.SIGKILL)
    at_kill = sum(alerts_by_chat(fake_telegram, chats).values())
    assert at_kill < len(chats), "the kill must land mid-delivery for this test to mean anything"

    bot = BotProcess(env, tmp_path / "bot.log")
    bots.append(bot)
    # Every row sent: from then on nothing can be sent again (rows are marked sent for good).
    wait(lambda: outbox(db)["sent"] == len(chats), 30, "every alert to be marked sent", bot)
    assert bot.stop() == 0, bot.text()

    received = alerts_by_chat(fake_telegram, chats)
    duplicates = sum(n - 1 for n in received.values() if n > 1)
    print(f"\ncrash during delivery (answers after {ANSWER_SECONDS:g} s): killed after {at_kill} of {len(chats)} "
          f"alerts; {duplicates} sent twice")
    record_property("duplicates", duplicates)
    record_property("alerts_at_kill", at_kill)
    assert min(received.values()) == 1
    assert duplicates <= IN_FLIGHT
    assert max(received.values()) <= 2
    counts = outbox(db)
    assert stored(db) == (2, 1)
    assert counts["sent"] == len(chats) and counts["pending"] == 0 and counts["failed"] == 0
    assert "Traceback" not in bot.text()
