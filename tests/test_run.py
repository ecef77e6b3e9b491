"""`advocacy-bot run` as an operator runs it: a real process against the local feed server and the fake Bot
API server. A chat subscribes, a story appears in the feeds, the alert arrives; a stop while alerts are
queued and a restart deliver each exactly once; SIGHUP with a broken feeds.yaml keeps the bot going.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.storage.db import Database
from tests.support.fake_telegram import Chat, FakeTelegram
from tests.support.feedserver import FeedServer
from tests.test_pipeline import rss
from tests.test_story_order import PUBLISHED, SEEDS, seed_feed

ROOT = Path(__file__).resolve().parent.parent
ORDER_END = "004"  # the latest seed report: the others are placed back from it as PUBLISHED has them

TOPICS = """
topics:
  - id: nk-repatriation
    name: Forced repatriation of North Koreans
    default: true
    require:
      - [north korea*, 북한, 탈북*]
      - [repatriat*, forcibly return*, sent back, 북송]
"""

STORY = [(
    "China sends 40 North Korean escapees back across the Tumen river",
    "https://wire.example.com/2026/11/tumen-returns",
    "Chinese border police forcibly returned about 40 North Koreans at Tumen on Friday night, a rights "
    "group in Seoul said. The group fears they face prison camps.",
    datetime.now(UTC) - timedelta(hours=2),
)]
CALM = [(
    "Harvest festival draws crowds in Jeonju",
    "https://wire.example.com/2026/11/festival",
    "Thousands visited the old town for the autumn festival.",
    datetime.now(UTC) - timedelta(hours=3),
)]


def feeds_yaml(server: FeedServer, feeds: dict[str, str]) -> str:
    lines = [TOPICS, "feeds:"]
    for name, path in feeds.items():
        lines.append(f"  - name: {name}\n    url: {server.url(path)}\n    language: en\n    interval: 10m")
    return "\n".join(lines) + "\ndefaults:\n  timeout: 3s\n"


class BotProcess:
    """`python -m bot run` in a subprocess, with its stderr kept for the assertions."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self._log_file = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], env=env, cwd=ROOT, stdout=self._log_file, stderr=self._log_file
        )

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self._log_file.close()
        return code

    def text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def env(tmp_path: Path, database_url: str, fake_telegram: FakeTelegram) -> dict[str, str]:
    values = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_", "BOT_"))}
    values.update(
        DATABASE_URL=database_url,
        TELEGRAM_BOT_TOKEN=fake_telegram.token,
        TELEGRAM_API_URL=fake_telegram.base_url,
        FEEDS_CONFIG=str(tmp_path / "feeds.yaml"),
        ADMIN_USER_IDS="900",
        LOG_LEVEL="INFO",
        NO_PROXY="127.0.0.1,localhost",
        PYTHONPATH=str(ROOT),
    )
    upgrade = subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], env=values, cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
    assert upgrade.returncode == 0, upgrade.stderr
    return values


@pytest.fixture
def bots(tmp_path: Path) -> Iterator[list[BotProcess]]:
    started: list[BotProcess] = []
    yield started
    for bot in started:
        if bot.process.poll() is None:
            bot.stop(signal.SIGKILL)


def test_subscribe_then_alert_then_stop_with_queue_and_restart_delivers_each_once(
    env: dict[str, str], tmp_path: Path, feed_server: FeedServer, fake_telegram: FakeTelegram,
    bots: list[BotProcess], database_url: str,
) -> None:
    config = Path(env["FEEDS_CONFIG"])
    feed_server.add("/calm.xml", rss("Calm", CALM))
    config.write_text(feeds_yaml(feed_server, {"Calm": "/calm.xml"}))
    alice = fake_telegram.user(101, "Alice")
    dm = fake_telegram.private_chat(alice)
    # Forty more readers, so alerts are still queued when the bot is told to stop.
    readers = [fake_telegram.private_chat(fake_telegram.user(2000 + n, f"Reader {n}")) for n in range(40)]

    bot = BotProcess(env, tmp_path / "bot.log")
    bots.append(bot)
    fake_telegram.wait_until(lambda: fake_telegram.calls_to("setMyCommands"), timeout=30)
    group = fake_telegram.group(-1001, "Advocates", admins=[alice])
    channel = fake_telegram.channel(-100200, "NK Watch", username="@nkwatch", admins=[alice], bot_is_admin=True)
    fake_telegram.command(dm, alice, "/subscribe nk-repatriation")
    fake_telegram.command(group, alice, "/subscribe nk-repatriation")
    fake_telegram.channel_post(channel, "/subscribe nk-repatriation")
    for n, chat in enumerate(readers):
        fake_telegram.command(chat, fake_telegram.user(2000 + n, f"Reader {n}"), "/subscribe nk-repatriation")
    everyone = [dm, group, channel, *readers]
    fake_telegram.wait_until(lambda: all(fake_telegram.sent(c.id) for c in everyone), timeout=30)
    assert bot.stop() == 0, bot.text()

    # The story breaks in a feed the operator adds while the bot is down; then the bot starts again.
    feed_server.add("/wire.xml", rss("Wire", STORY))
    config.write_text(feeds_yaml(feed_server, {"Calm": "/calm.xml", "Wire": "/wire.xml"}))
    fake_telegram.enforce_limits(per_chat_per_second=1, global_per_second=30, group_per_minute=20)
    bot = BotProcess(env, tmp_path / "bot.log")
    bots.append(bot)

    def alerted() -> list[int]:
        return [c.id for c in everyone if any(STORY[0][0] in t for t in fake_telegram.messages(c.id).values())]

    fake_telegram.wait_until(lambda: len(alerted()) >= 5, timeout=30)
    assert bot.stop() == 0, bot.text()  # stopped with most alerts still queued

    bot = BotProcess(env, tmp_path / "bot.log")
    bots.append(bot)
    fake_telegram.wait_until(lambda: len(alerted()) == len(everyone), timeout=30)
    time.sleep(2.5)  # a delivery tick or two more: nothing may be sent again
    assert bot.stop() == 0, bot.text()

    for chat in everyone:
        alerts = [c for c in fake_telegram.sent(chat.id) if STORY[0][0] in str(c.params.get("text", ""))]
        assert len(alerts) == 1, (chat.id, len(alerts))
    assert fake_telegram.too_many_requests == 0
    assert fake_telegram.internal_errors == []
    log = bot.text()
    assert env["TELEGRAM_BOT_TOKEN"] not in log
    assert "Traceback" not in log

    db = Database(database_url)
    try:
        with db.unit_of_work() as uow:
            counts = uow.outbox.counts()
    finally:
        db.dispose()
    assert counts.get("sent") == len(everyone) and not counts.get("pending") and not counts.get("failed")


def test_sighup_with_a_broken_feeds_yaml_keeps_the_old_one_and_healthcheck_sees_the_heartbeat(
    env: dict[str, str], tmp_path: Path, feed_server: FeedServer, fake_telegram: FakeTelegram,
    bots: list[BotProcess],
) -> None:
    config = Path(env["FEEDS_CONFIG"])
    feed_server.add("/calm.xml", rss("Calm", CALM))
    config.write_text(feeds_yaml(feed_server, {"Calm": "/calm.xml"}))
    bot = BotProcess(env, tmp_path / "bot.log")
    bots.append(bot)
    fake_telegram.wait_until(lambda: fake_telegram.calls_to("setMyCommands"), timeout=30)

    deadline = time.monotonic() + 20
    while True:
        health = subprocess.run([sys.executable, "-m", "bot", "healthcheck"], env=env, cwd=ROOT,
                                capture_output=True, text=True, timeout=60)
        if health.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert health.returncode == 0, health.stdout + health.stderr
    assert health.stdout.startswith("ok: last scheduler tick")

    config.write_text("feeds: [this is not valid\n")
    bot.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "reload on SIGHUP refused" not in bot.text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "reload on SIGHUP refused" in bot.text()
    assert bot.process.poll() is None  # still running on the old config

    admin = fake_telegram.user(900, "Operator")
    fake_telegram.command(fake_telegram.private_chat(admin), admin, "/sources")
    reply = fake_telegram.wait_until(lambda: fake_telegram.sent(900), timeout=10)
    assert "Calm" in str(reply[-1].params["text"])
    assert bot.stop() == 0, bot.text()

    time.sleep(1.1)
    stopped = subprocess.run([sys.executable, "-m", "bot", "healthcheck", "--max-age", "1"], env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
    assert stopped.returncode == 1 and stopped.stdout.startswith("unhealthy")


def test_run_without_a_token_points_at_the_demo(env: dict[str, str]) -> None:
    env = {**env, "TELEGRAM_BOT_TOKEN": ""}
    result = subprocess.run([sys.executable, "-m", "bot", "run"], env=env, cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    assert "TELEGRAM_BOT_TOKEN: not set" in result.stderr and "advocacy-bot demo" in result.stderr


def subscribe_alice(
    env: dict[str, str], tmp_path: Path, feed_server: FeedServer, fake_telegram: FakeTelegram,
    bots: list[BotProcess],
) -> Chat:
    """Alice subscribes in her private chat while the bot polls a calm feed; then the bot is stopped."""
    config = Path(env["FEEDS_CONFIG"])
    feed_server.add("/calm.xml", rss("Calm", CALM))
    config.write_text(feeds_yaml(feed_server, {"Calm": "/calm.xml"}))
    alice = fake_telegram.user(101, "Alice")
    dm = fake_telegram.private_chat(alice)
    bot = BotProcess(env, tmp_path / "bot.log")
    bots.append(bot)
    fake_telegram.wait_until(lambda: fake_telegram.calls_to("setMyCommands"), timeout=30)
    fake_telegram.command(dm, alice, "/subscribe nk-repatriation")
    fake_telegram.wait_until(lambda: fake_telegram.sent(dm.id), timeout=15)
    assert bot.stop() == 0, bot.text()
    return dm


def test_export_then_import_moves_chats_to_a_new_database(
    env: dict[str, str], tmp_path: Path, feed_server: FeedServer, fake_telegram: FakeTelegram,
    bots: list[BotProcess],
) -> None:
    subscribe_alice(env, tmp_path, feed_server, fake_telegram, bots)

    exported = subprocess.run([sys.executable, "-m", "bot", "export"], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=60)
    assert exported.returncode == 0, exported.stderr
    document = json.loads(exported.stdout)
    assert [(c["id"], c["topics"]) for c in document["chats"]] == [(101, ["nk-repatriation"])]

    new_env = {**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'new.sqlite3'}"}
    subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], env=new_env, cwd=ROOT, check=True,
                   capture_output=True, timeout=60)
    (tmp_path / "chats.json").write_text(exported.stdout)
    imported = subprocess.run([sys.executable, "-m", "bot", "import", str(tmp_path / "chats.json")], env=new_env,
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert imported.returncode == 0, imported.stderr
    assert "1 chats imported" in imported.stdout
    again = subprocess.run([sys.executable, "-m", "bot", "export"], env=new_env, cwd=ROOT, capture_output=True,
                           text=True, timeout=60)
    assert json.loads(again.stdout)["chats"] == document["chats"]

    (tmp_path / "bad.json").write_text('{"format": "advocacy-bot/chats", "version": 1, "chats": [{"id": "x"}]}')
    bad = subprocess.run([sys.executable, "-m", "bot", "import", str(tmp_path / "bad.json")], env=new_env,
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "chats.0.id" in bad.stderr


def test_the_seed_articles_as_five_feeds_reach_a_subscriber_as_two_alerts(
    env: dict[str, str], tmp_path: Path, feed_server: FeedServer, fake_telegram: FakeTelegram,
    bots: list[BotProcess], database_url: str,
) -> None:
    """The five seed articles (../shared/seeds) as five feeds, polled by `run` in one cycle: the December
    2023 "vanished" report told by four outlets is one alert, and the earlier report of the returns another."""
    if not SEEDS.is_dir():
        pytest.skip("../shared/seeds is not checked out beside the repo")
    config = Path(env["FEEDS_CONFIG"])
    dm = subscribe_alice(env, tmp_path, feed_server, fake_telegram, bots)

    feeds = {"Calm": "/calm.xml"}
    for n, path in enumerate(sorted(SEEDS.glob("*.txt"))):
        name = path.name[:3]
        # Relative to now: `run` polls with the real clock; the feeds answer in a scrambled order.
        published = datetime.now(UTC) - (PUBLISHED[ORDER_END] - PUBLISHED[name])
        feed_server.add(f"/{name}.xml", seed_feed(path, published), delay=0.2 * ((3 * n) % 5))
        feeds[f"Seed {name}"] = f"/{name}.xml"
    config.write_text(feeds_yaml(feed_server, feeds))
    bot = BotProcess(env, tmp_path / "bot.log")
    bots.append(bot)

    def alerts() -> list[str]:
        return [str(c.params.get("text", "")) for c in fake_telegram.sent(dm.id)[1:]]

    fake_telegram.wait_until(lambda: len(alerts()) >= 2, timeout=60)
    time.sleep(3)  # a few more poll and delivery ticks: no third alert may follow
    assert bot.stop() == 0, bot.text()
    texts = alerts()
    assert len(texts) == 2, texts
    assert "Traceback" not in bot.text()
    db = Database(database_url)
    try:
        with db.unit_of_work() as uow:
            stories = uow.stories.recent(10)
    finally:
        db.dispose()
    told = sorted(sorted(s.feed[-3:] for s in story.sources) for story in stories)
    assert told == [["000", "001", "003", "004"], ["002"]]
    assert all(f"/story_{story.id}" in " ".join(texts) for story in stories)
