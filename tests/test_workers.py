"""Several `advocacy-bot run` processes on one database, as operators start them by accident or on purpose.

On SQLite a second process refuses to start and names the first, and a first one killed with -9 never blocks
the restart. On PostgreSQL two processes share the work: every alert arrives exactly once and every command
is answered once. At start, a Telegram that cannot be reached is waited for, not a reason to exit.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import make_url

from bot.domain import ChatKind, Feed
from bot.storage.db import Database
from bot.storage.feeds import Claim
from bot.storage.heartbeats import WORKER_BEAT
from bot.storage.instance import gone_from_this_host, this_worker
from tests.support.fake_telegram import FakeTelegram
from tests.support.feedserver import FeedServer
from tests.test_delivery import new_story
from tests.test_pipeline import rss
from tests.test_run import CALM, ROOT, STORY, BotProcess, bots, env, feeds_yaml  # noqa: F401 (fixtures)


def started(bot: BotProcess) -> bool:
    return "bot started" in bot.text()


def test_a_second_run_on_one_database_never_doubles_alerts(
    env: dict[str, str], tmp_path: Path, feed_server: FeedServer, fake_telegram: FakeTelegram,  # noqa: F811
    bots: list[BotProcess], database_url: str,  # noqa: F811
) -> None:
    config = Path(env["FEEDS_CONFIG"])
    feed_server.add("/calm.xml", rss("Calm", CALM))
    config.write_text(feeds_yaml(feed_server, {"Calm": "/calm.xml"}))
    first = BotProcess(env, tmp_path / "first.log")
    bots.append(first)
    fake_telegram.wait_until(lambda: started(first), timeout=30)
    second = BotProcess(env, tmp_path / "second.log")
    bots.append(second)

    if make_url(database_url).get_backend_name() == "sqlite":
        # The second process stops at once with a message naming the first; nothing was sent by it.
        assert second.process.wait(timeout=60) == 1
        refusal = second.text()
        assert f"pid {first.process.pid} on {socket.gethostname()}, since " in refusal, refusal
        assert "would send every alert twice" in refusal and "Traceback" not in refusal
        # A first process killed with -9 leaves no lock behind: the restart runs.
        first.stop(signal.SIGKILL)
        again = BotProcess(env, tmp_path / "again.log")
        bots.append(again)
        fake_telegram.wait_until(lambda: started(again), timeout=30)
        workers = [again]
    else:
        fake_telegram.wait_until(lambda: started(second), timeout=30)
        workers = [first, second]

    alice = fake_telegram.user(101, "Alice")
    readers = [fake_telegram.private_chat(fake_telegram.user(3000 + n, f"Reader {n}")) for n in range(30)]
    for n, chat in enumerate(readers):
        fake_telegram.command(chat, fake_telegram.user(3000 + n, f"Reader {n}"), "/subscribe nk-repatriation")
    fake_telegram.wait_until(lambda: all(fake_telegram.sent(c.id) for c in readers), timeout=60)

    # The story breaks in a feed the operator adds and reloads into every worker.
    feed_server.add("/wire.xml", rss("Wire", STORY))
    config.write_text(feeds_yaml(feed_server, {"Calm": "/calm.xml", "Wire": "/wire.xml"}))
    for bot in workers:
        bot.process.send_signal(signal.SIGHUP)

    def alerted() -> list[int]:
        return [c.id for c in readers if any(STORY[0][0] in t for t in fake_telegram.messages(c.id).values())]

    try:
        fake_telegram.wait_until(lambda: len(alerted()) == len(readers), timeout=60)
    except AssertionError as timeout:  # what the workers logged tells why
        raise AssertionError("\n".join([str(timeout), *(bot.text()[-3000:] for bot in workers)])) from None
    for bot in workers:
        assert bot.stop() == 0, bot.text()

    # Each reader: one answer to /subscribe, one alert; nothing sent twice, by any worker.
    for chat in readers:
        texts = [str(c.params.get("text", "")) for c in fake_telegram.sent(chat.id)]
        assert len(texts) == 2 and sum(STORY[0][0] in t for t in texts) == 1, (chat.id, texts)
    assert alice.id not in {c.id for c in readers}
    for bot in workers:
        assert env["TELEGRAM_BOT_TOKEN"] not in bot.text()


def test_run_waits_for_telegram_at_start_and_then_serves(
    env: dict[str, str], tmp_path: Path, feed_server: FeedServer, fake_telegram: FakeTelegram,  # noqa: F811
    bots: list[BotProcess],  # noqa: F811
) -> None:
    feed_server.add("/calm.xml", rss("Calm", CALM))
    Path(env["FEEDS_CONFIG"]).write_text(feeds_yaml(feed_server, {"Calm": "/calm.xml"}))
    # The first attempts find no Telegram: a dropped connection, then a gateway error.
    fake_telegram.drop_next("getMe")
    fake_telegram.fail_next("getMe", 502)
    port = free_port()
    bot = BotProcess({**env, "METRICS_PORT": str(port)}, tmp_path / "bot.log")
    bots.append(bot)

    fake_telegram.wait_until(lambda: fake_telegram.calls_to("setMyCommands"), timeout=60)
    # METRICS_PORT set: the running bot serves its metrics (the first poll of the calm feed counted).
    scrape = fake_telegram.wait_until(lambda: polled(port), timeout=30)
    assert "advocacy_bot_alerts_queued 0.0" in scrape
    alice = fake_telegram.user(101, "Alice")
    dm = fake_telegram.private_chat(alice)
    fake_telegram.command(dm, alice, "/start")
    fake_telegram.wait_until(lambda: fake_telegram.sent(dm.id), timeout=30)
    assert bot.stop() == 0, bot.text()

    log = bot.text()
    waits = [line for line in log.splitlines() if "is unreachable" in line]
    assert len(waits) == 2, log
    assert all(f"Telegram at {urlhost(env['TELEGRAM_API_URL'])} is unreachable" in w for w in waits)
    assert "trying again in 1 s" in waits[0] and "trying again in 2 s" in waits[1]
    assert env["TELEGRAM_BOT_TOKEN"] not in log and "Traceback" not in log


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def polled(port: int) -> str | None:
    """The metrics page once it counts a poll, else None (not served yet, or no poll yet)."""
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return None
    return text if 'advocacy_bot_feeds_polled_total{outcome="ok"} 1.0' in text else None


def urlhost(url: str) -> str:
    return url.split("//", 1)[1].split("/", 1)[0]


def test_a_refused_token_stops_run_with_a_clear_error(
    env: dict[str, str], tmp_path: Path, feed_server: FeedServer, fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    feed_server.add("/calm.xml", rss("Calm", CALM))
    Path(env["FEEDS_CONFIG"]).write_text(feeds_yaml(feed_server, {"Calm": "/calm.xml"}))
    fake_telegram.fail_next("getMe", 401)
    result = subprocess.run([sys.executable, "-m", "bot", "run"], env=env, cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    assert "refused TELEGRAM_BOT_TOKEN" in result.stderr and "Traceback" not in result.stderr
    assert env["TELEGRAM_BOT_TOKEN"] not in result.stderr


# --- the claims and leases the workers share, in the database ------------------------------------------------

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def owed_to(db: Database, chats: int) -> int:
    """A story owed to `chats` subscribed chats (as the story step leaves it); returns the story id."""
    with db.unit_of_work() as uow:
        for chat_id in range(1, chats + 1):
            uow.chats.ensure(chat_id, ChatKind.PRIVATE, f"chat {chat_id}", T0 - timedelta(days=1))
            uow.chats.subscribe(chat_id, ["nk-repatriation"], T0 - timedelta(days=1))
    return new_story(db, T0)


def beat(db: Database, *workers: str, at: datetime = T0) -> None:
    """The workers beat, as each running `run` does every few seconds."""
    with db.unit_of_work() as uow:
        for worker in workers:
            uow.heartbeats.beat(WORKER_BEAT + worker, at)


LIVE = timedelta(seconds=30)


def some_feeds(count: int) -> list[Feed]:
    return [Feed(name=f"f{n}", url=f"https://f{n}.example/rss", language="en", interval_seconds=900,
                 outlet=f"F{n}") for n in range(count)]


def claim_rows(db: Database, owner: str, limit: int, at: datetime = T0) -> set[int]:
    with db.unit_of_work() as uow:
        return {e.chat_id for e in uow.outbox.claim(at, limit, owner, at + timedelta(minutes=2), live_since=at - LIVE)}


def test_outbox_claims_split_the_rows_and_a_dead_workers_claims_are_void(database: Database) -> None:
    owed_to(database, 10)
    beat(database, "a", "b", "c")
    first, second = claim_rows(database, "a", 4), claim_rows(database, "b", 100)
    assert len(first) == 4 and len(second) == 6 and not first & second
    assert claim_rows(database, "c", 100) == set()

    with database.unit_of_work() as uow:
        uow.outbox.release([e.id for e in uow.outbox.due(T0, 100)], "b")  # b gives back what it did not send
    assert claim_rows(database, "c", 100) == second
    # a stops beating (killed): its claims are void once its beat is older than the live window, long
    # before they would run out; c's, still beating, hold.
    later = T0 + timedelta(seconds=31)
    beat(database, "c", at=later)
    assert claim_rows(database, "d", 100, at=later) == first
    # A claim that runs out is free whoever holds it.
    beat(database, "c", "d", at=T0 + timedelta(minutes=3))
    assert claim_rows(database, "e", 100, at=T0 + timedelta(minutes=3)) == first | second


def test_two_workers_claiming_at_once_get_different_rows(database: Database) -> None:
    """One claim's transaction is still open while the other claims: SKIP LOCKED passes over its rows."""
    if database.url_for_display.startswith("sqlite"):
        pytest.skip("SQLite takes one writer at a time: the second claim would wait for the first to commit")
    owed_to(database, 10)
    beat(database, "a", "b")
    until = T0 + timedelta(minutes=5)
    with database.unit_of_work() as uow:
        held = {e.chat_id for e in uow.outbox.claim(T0, 6, "a", until, live_since=T0 - LIVE)}
        with ThreadPoolExecutor(1) as pool:
            other = pool.submit(lambda: claim_rows(database, "b", 100)).result(timeout=60)
    assert len(held) == 6 and len(other) == 4 and not held & other


def test_due_feeds_are_claimed_in_batches_and_a_dead_workers_claims_are_void(database: Database) -> None:
    feeds = some_feeds(5)
    with database.unit_of_work() as uow:
        uow.feeds.sync(feeds, T0)
    beat(database, "a", "b")

    def due(owner: str, at: datetime = T0) -> set[str]:
        claim = Claim(owner, batch=3, hold=timedelta(minutes=10), live_within=LIVE)
        with database.unit_of_work() as uow:
            return {s.name for s in uow.feeds.due(at, claim=claim)}

    first, rest = due("a"), due("b")
    assert len(first) == 3 and rest == {f.name for f in feeds} - first and due("b") == set()
    with database.unit_of_work() as uow:  # b polls its feeds: the real next check replaces the claim's
        for name in rest:
            uow.feeds.record_not_modified(name, T0, next_check_at=T0 + timedelta(minutes=15), new_url=None)
    # Both stop beating; c, running, finds a's feeds abandoned at once, not b's, which were polled.
    later = T0 + timedelta(seconds=31)
    beat(database, "c", at=later)
    assert due("c", later) == first


def test_a_worker_claims_only_the_feeds_of_its_own_config(database: Database) -> None:
    """A worker that has not yet reloaded a feeds.yaml another has synced leaves the new feed to the others."""
    feeds = some_feeds(3)
    with database.unit_of_work() as uow:
        uow.feeds.sync(feeds, T0)
    beat(database, "stale", "fresh")

    def due(owner: str, among: set[str]) -> set[str]:
        claim = Claim(owner, batch=10, hold=timedelta(minutes=10), live_within=LIVE)
        with database.unit_of_work() as uow:
            return {s.name for s in uow.feeds.due(T0, claim=claim, among=among)}

    stale = due("stale", {"f0", "f1"})
    fresh = due("fresh", {"f0", "f1", "f2"})
    assert (stale, fresh) == ({"f0", "f1"}, {"f2"})


def test_two_workers_reloading_one_config_together_both_keep_it(database: Database) -> None:
    """The second sync waits for the first and finds the new feed stored, instead of inserting it again."""
    if database.url_for_display.startswith("sqlite"):
        pytest.skip("SQLite takes one writer at a time: the second sync waits for the first's commit anyway")
    feeds = some_feeds(2)

    def sync() -> None:
        with database.unit_of_work() as uow:
            uow.feeds.sync(feeds, T0)

    with ThreadPoolExecutor(1) as pool:
        with database.unit_of_work() as uow:
            uow.feeds.sync(feeds, T0)
            other = pool.submit(sync)  # starts while the first sync's transaction is still open
            with pytest.raises(TimeoutError):
                other.result(timeout=1)  # it waits for the first to commit
        other.result(timeout=60)  # and then succeeds
    with database.unit_of_work() as uow:
        assert sorted(s.name for s in uow.feeds.all()) == ["f0", "f1"]


def test_one_worker_holds_the_updates_lease_until_it_stops_or_goes_silent(database: Database) -> None:
    def take(owner: str, at: datetime) -> bool:
        beat(database, owner, at=at)
        with database.unit_of_work() as uow:
            return uow.heartbeats.take_lease("telegram-updates", owner, at, at + LIVE, live_since=at - LIVE)

    assert take("a", T0) and not take("b", T0 + timedelta(seconds=1))
    assert take("a", T0 + timedelta(seconds=20))  # renewed: good until +50 s
    assert not take("b", T0 + timedelta(seconds=45))
    assert take("b", T0 + timedelta(seconds=50))  # a went silent
    with database.unit_of_work() as uow:
        uow.heartbeats.drop_lease("telegram-updates", "b")  # a clean stop hands it over at once
    assert take("a", T0 + timedelta(seconds=56))
    with database.unit_of_work() as uow:  # a is killed and its host's next worker forgets it: c takes over
        assert uow.heartbeats.forget_workers(lambda worker: worker == "a") == ["a"]
    assert take("c", T0 + timedelta(seconds=57))
    with database.unit_of_work() as uow:
        lease = uow.heartbeats.lease("telegram-updates")
    assert lease is not None and (lease.owner, lease.acquired_at) == ("c", T0 + timedelta(seconds=57))


def test_a_worker_of_this_host_that_no_longer_runs_is_recognised(tmp_path: Path) -> None:
    me = this_worker()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert gone_from_this_host(f"{me.host}/{dead.pid}/abc123", me)
    assert gone_from_this_host(f"{me.host}/{me.pid}/000000", me)  # our pid, before us
    assert not gone_from_this_host(me.id, me)
    assert not gone_from_this_host(f"{me.host}/{os.getppid()}/abc123", me)  # pytest's parent runs
    assert not gone_from_this_host(f"other-host/{dead.pid}/abc123", me)  # never judged from here
