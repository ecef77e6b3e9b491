"""Latency: from an item appearing in a feed to its alert leaving the bot, with the real `run` process.

    .venv/bin/python bench/latency.py [--items 5] [--span 180] [--interval 1m] [--adversarial] [--seed N]

The feed server (tests/support/feedserver.py) and the fake Bot API server (tests/support/fake_telegram.py)
run in this process on 127.0.0.1; `python -m bot run` runs as a child process with a fresh SQLite file and
--items feeds polled every --interval (1m, the shortest feeds.yaml allows). Each feed gets one new report of
a distinct event, which makes a new story and a new alert for a reader subscribed to that event's topic
(chats loaded with `advocacy-bot import`). By default each item appears at a random moment within --span
seconds after the bot's first poll; --adversarial makes each appear just after its feed was polled, the
worst case.

Latency is the time from the item appearing (added to the feed server) to the fake server receiving the
sendMessage of its alert, both on this process's monotonic clock. Printed per item: the latency, split into
the wait for the feed's next poll and the time from that poll to the alert; then the feeds' poll period as
the feed server saw it, the maximum latency, the target (interval + 5 s) and the ratio max / target.
"""

from __future__ import annotations

import argparse
import html
import itertools
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import parse_duration  # noqa: E402
from bot.storage.db import Database, sqlite_url  # noqa: E402
from tests.support.fake_telegram import FakeTelegram  # noqa: E402
from tests.support.feeds import rss  # noqa: E402
from tests.support.feedserver import FeedServer  # noqa: E402

SLACK = 5.0  # seconds the issue allows beyond the feed's poll interval
FIRST_READER = 4200

# Distinct events (places, counts and dates differ), written for this benchmark: each opens its own story. Each
# has a topic of its own (its place) and a reader subscribed to that topic alone: Telegram lets a bot send one
# message a second to a chat, and alerts of events polled in the same minute queueing for one reader would
# measure that limit instead of the bot.
PLACES = ["Dandong", "Shenyang", "Yanji", "Kunming", "Changbai", "Qingdao", "Harbin", "Nanning"]
EVENTS = [
    ("Dandong police send 12 North Korean workers back to Sinuiju",
     "Twelve North Korean seafood workers who fled a factory in Dandong were repatriated to Sinuiju on "
     "2 November, a Seoul group said."),
    ("Mother and two daughters repatriated to North Korea from Shenyang",
     "A North Korean woman and her two daughters arrested in Shenyang were forcibly returned on 30 October, "
     "her brother in Seoul told reporters."),
    ("Yanji detention centre empties as 45 North Koreans are sent back",
     "About 45 North Koreans were repatriated from the Yanji detention centre on 5 November, according to a "
     "monitoring group."),
    ("Kunming arrests end in repatriation of eight North Korean escapees",
     "Eight North Korean escapees stopped near the Laos border in Kunming were sent back to North Korea on "
     "21 October, a missionary said."),
    ("China repatriates 25 North Koreans through Tumen after Changbai raids",
     "Raids in Changbai led to 25 North Koreans being forcibly returned through Tumen on 8 November, "
     "activists reported."),
    ("North Korean teenager repatriated from Qingdao despite appeals",
     "A 17-year-old North Korean girl caught in Qingdao was repatriated on 11 November, despite appeals from "
     "lawmakers in Seoul."),
    ("Harbin: 31 North Korean loggers returned against their will",
     "Thirty-one North Korean loggers who escaped a camp near Harbin were forcibly returned on 26 October, "
     "a Russian-language outlet reported."),
    ("Nanning checkpoint leads to repatriation of five North Koreans",
     "Five North Koreans travelling toward Vietnam were held at a Nanning checkpoint and repatriated on "
     "17 November, a broker said."),
]


@dataclass(frozen=True, slots=True)
class Measured:
    """One item: when it appeared, when its feed was next polled and when its alert was sent (monotonic)."""

    feed: str
    title: str
    appeared: float
    polled: float | None
    alerted: float | None

    @property
    def latency(self) -> float | None:
        return None if self.alerted is None else self.alerted - self.appeared


def feed_body(n: int, with_event: bool) -> bytes:
    """Feed `n`: an unrelated item, and its event's report once it has appeared."""
    now = datetime.now(UTC)
    items = [(f"Outlet {n} weather: clear skies all week", f"https://outlet{n}.example.org/weather",
              "No rain is expected before the weekend.", now - timedelta(hours=3))]
    if with_event:
        title, text = EVENTS[n]
        items.insert(0, (title, f"https://outlet{n}.example.org/event", text, now))
    return rss(f"Outlet {n}", items)


def feeds_yaml(server: FeedServer, count: int, interval: str) -> str:
    lines = ["topics:"]
    for n, place in enumerate(PLACES):
        lines.append(f"  - id: event-{n}\n    name: Returns reported from {place}\n    require:\n"
                     f"      - [north korea*]\n      - [repatriat*, forcibly return*, sent back]\n"
                     f"      - [{place.lower()}]")
    lines.append("feeds:")
    for n in range(count):
        lines.append(f"  - name: Outlet {n}\n    url: {server.url(f'/outlet{n}.xml')}\n    language: en\n"
                     f"    interval: {interval}")
    return "\n".join(lines) + "\ndefaults:\n  timeout: 10s\n"


def alert_time(fake: FakeTelegram, n: int) -> float | None:
    """When the fake received the first successful sendMessage to reader `n` naming event `n`."""
    title = EVENTS[n][0]
    for call in fake.sent(FIRST_READER + n):
        if title in html.unescape(str(call.params.get("text", ""))):
            return call.at
    return None


class PollWatch:
    """Notes when each feed path was requested, by watching the feed server's request count."""

    def __init__(self, server: FeedServer, paths: Sequence[str]) -> None:
        self.server = server
        self.seen = {path: server.hits(path) for path in paths}
        self.times: dict[str, list[float]] = {path: [] for path in paths}

    def look(self) -> None:
        now = time.monotonic()
        for path, before in self.seen.items():
            hits = self.server.hits(path)
            if hits > before:
                self.times[path].append(now)
                self.seen[path] = hits

    def first_after(self, path: str, moment: float) -> float | None:
        return next((t for t in self.times[path] if t >= moment), None)


def start_bot(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    return subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, cwd=ROOT, stdout=out, stderr=out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--items", type=int, default=5, help=f"items to publish, one per feed (1-{len(EVENTS)})")
    parser.add_argument("--span", type=float, default=180.0, help="seconds over which they appear (default 180)")
    parser.add_argument("--interval", default="1m", help="the feeds' poll interval (default 1m, the minimum)")
    parser.add_argument("--adversarial", action="store_true", help="each item appears just after its feed's poll")
    parser.add_argument("--seed", type=int, default=None, help="random seed for the appearance moments")
    args = parser.parse_args(argv)
    if not 1 <= args.items <= len(EVENTS):
        parser.error(f"--items must be between 1 and {len(EVENTS)}")
    interval = int(parse_duration(args.interval))
    target = interval + SLACK
    rng = random.Random(args.seed)

    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    feeds = FeedServer()
    fake = FakeTelegram()
    feeds.start()
    fake.start()
    paths = [f"/outlet{n}.xml" for n in range(args.items)]
    for n, path in enumerate(paths):
        feeds.add(path, feed_body(n, with_event=False))
    readers = [fake.private_chat(fake.user(FIRST_READER + n, f"Reader {n}")) for n in range(args.items)]

    with tempfile.TemporaryDirectory(prefix="latency-") as scratch:
        folder = Path(scratch)
        config = folder / "feeds.yaml"
        config.write_text(feeds_yaml(feeds, args.items, args.interval))
        url = sqlite_url(folder / "bot.sqlite3")
        db = Database(url)
        db.upgrade()
        db.dispose()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_", "BOT_"))}
        env.update(DATABASE_URL=url, TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_URL=fake.base_url,
                   FEEDS_CONFIG=str(config), LOG_LEVEL="INFO", NO_PROXY="127.0.0.1,localhost", PYTHONPATH=str(ROOT))
        since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
        document = {"format": "advocacy-bot/chats", "version": 1, "chats": [
            {"id": reader.id, "kind": "private", "topics": [f"event-{n}"], "subscribed_at": since}
            for n, reader in enumerate(readers)
        ]}
        (folder / "chats.json").write_text(json.dumps(document))
        subprocess.run([sys.executable, "-m", "bot", "import", str(folder / "chats.json")], env=env, cwd=ROOT,
                       check=True, capture_output=True, timeout=60)

        bot = start_bot(env, folder / "bot.log")
        try:
            watch = PollWatch(feeds, paths)
            start, measured = run(args, fake, feeds, watch, rng, interval, bot)
        finally:
            if bot.poll() is None:
                bot.send_signal(signal.SIGTERM)
                try:
                    bot.wait(30)
                except subprocess.TimeoutExpired:
                    bot.kill()
            log = (folder / "bot.log").read_text(errors="replace")
            fake.stop()
            feeds.stop()
        if "Traceback" in log:
            print("the bot logged a traceback:\n" + log[-3000:])

    print(f"\n{'feed':<10} {'appeared':>9} {'wait for poll':>14} {'poll to alert':>14} {'latency':>9}")
    for m in measured:
        wait = "-" if m.polled is None else f"{m.polled - m.appeared:.2f} s"
        work = "-" if m.polled is None or m.alerted is None else f"{m.alerted - m.polled:.2f} s"
        latency = "missed" if m.latency is None else f"{m.latency:.2f} s"
        print(f"{m.feed:<10} {m.appeared - start:>7.1f} s {wait:>14} {work:>14} {latency:>9}")
    latencies = [m.latency for m in measured if m.latency is not None]
    missed = len(measured) - len(latencies)
    worst = max(latencies, default=float("nan"))
    periods = [later - earlier for times in watch.times.values() for earlier, later in itertools.pairwise(times)]
    if periods:
        print(f"\npoll period      min {min(periods):.2f} s, mean {sum(periods) / len(periods):.2f} s, "
              f"max {max(periods):.2f} s over {len(periods)} polls (interval {interval} s)")
    print(f"items            {len(measured)} ({missed} without an alert)")
    print(f"max latency      {worst:.2f} s")
    print(f"target           {target:.0f} s (interval {interval} s + {SLACK:g} s)")
    print(f"ratio max/target {worst / target:.3f}")
    return 0 if missed == 0 and worst <= target else 1


def run(
    args: argparse.Namespace, fake: FakeTelegram, feeds: FeedServer, watch: PollWatch, rng: random.Random,
    interval: int, bot: subprocess.Popen[bytes],
) -> tuple[float, list[Measured]]:
    """Publish the items on schedule and watch until each is alerted (or interval + 30 s passed); returns when
    the clock started (just after the bot's first poll) and the measurements."""
    paths = list(watch.times)
    # The bot's first poll of every feed stores the unrelated items: the clock starts after it.
    deadline = time.monotonic() + 60
    while not all(feeds.hits(path) for path in paths):
        if time.monotonic() > deadline or bot.poll() is not None:
            raise SystemExit("the bot did not poll the feeds within 60 s (see its log)")
        time.sleep(0.05)
    watch.look()
    start = time.monotonic()
    # A moment to appear at, or None: just after the feed's next poll, so the item waits a whole interval.
    plan: dict[int, float | None] = {
        n: None if args.adversarial else start + rng.uniform(1.0, args.span) for n in range(len(paths))
    }
    appeared: dict[int, float] = {}
    polls_seen = {path: len(watch.times[path]) for path in paths}
    if args.adversarial:
        how, longest = "each just after its feed's next poll", 2 * interval + 35
    else:
        how, longest = f"at random moments within {args.span:g} s", args.span + interval + 35
    print(f"{len(paths)} items, {how}; this takes up to {longest:.0f} s", flush=True)
    while True:
        now = time.monotonic()
        watch.look()
        for n, when in plan.items():
            if n in appeared:
                continue
            due = (len(watch.times[paths[n]]) > polls_seen[paths[n]]) if when is None else now >= when
            if due:
                feeds.add(paths[n], feed_body(n, with_event=True))
                appeared[n] = time.monotonic()
                print(f"  item {n} appeared at {appeared[n] - start:6.1f} s", flush=True)
        done = len(appeared) == len(paths) and all(alert_time(fake, n) for n in appeared)
        late = len(appeared) == len(paths) and now > max(appeared.values()) + interval + 30
        if done or late or bot.poll() is not None:
            break
        time.sleep(0.05)
    return start, [
        Measured(f"Outlet {n}", EVENTS[n][0], appeared[n], watch.first_after(paths[n], appeared[n]),
                 alert_time(fake, n))
        for n in sorted(appeared)
    ]


if __name__ == "__main__":
    raise SystemExit(main())
