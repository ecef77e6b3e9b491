"""Several `advocacy-bot run` processes on one PostgreSQL database: nothing doubled, nothing lost, work shared.

    .venv/bin/python bench/workers.py [--workers 2,3] [--feeds 2000] [--items 10] [--chats 1000]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_workers]

For each worker count: the database (created when missing; never the tests' one, its schema is dropped)
is upgraded and holds --chats private chats subscribed to the topic. A feed server on 127.0.0.1 serves
--feeds feeds of --items items; two of them carry a report of a forced return (two distinct events), the
rest are off-topic. The fake Bot API server (tests/support/fake_telegram.py) plays Telegram with its
limits enforced (30 a second overall, 1 a second per chat). Then N real `python -m bot run` processes
start at once on that database and run until every feed was polled and no outbox row is pending; then
they get SIGTERM.

Printed per run: the first cycle (every feed polled once) and feeds polled per worker, from the workers'
own log lines; messages sent per worker and the overall rate (first to last send, as the fake saw them);
429s; and the checks: alerts doubled (one chat getting one story's alert twice, at the fake), alerts lost
(outbox rows not sent, or a chat that did not get a story it is owed).
"""

from __future__ import annotations

import argparse
import gc
import http.server
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, make_url, text  # noqa: E402

from bot.domain import ChatKind  # noqa: E402
from bot.storage.db import Database  # noqa: E402
from tests.support.fake_telegram import FakeTelegram  # noqa: E402

TOPIC = "nk-repatriation"
FIRST_CHAT = 20_000_000
NOW = datetime.now(UTC)
TOPICS = """
topics:
  - id: nk-repatriation
    name: Forced repatriation of North Koreans
    default: true
    require:
      - [north korea*, 북한, 탈북*]
      - [repatriat*, forcibly return*, sent back, 북송]
"""
# Two events far apart (place, date, count): two stories, each owed to every chat.
EVENTS = (
    ("China sends 40 North Korean escapees back across the Tumen river",
     "Chinese border police forcibly returned about 40 North Koreans at Tumen on Friday night, a rights group "
     "in Seoul said. The group fears they face prison camps.", NOW - timedelta(hours=2)),
    ("Dozens of North Korean women repatriated from Dandong detention centre",
     "About 200 North Korean women held in Dandong were sent back across the Yalu river last month, "
     "according to a monitoring group, which urged Beijing to halt forced returns.", NOW - timedelta(days=30)),
)
OFF_TOPIC = ("Harbour authority approves new ferry timetable", "City council debates the budget again",
             "Regional orchestra announces its autumn season", "Farmers report a record rice harvest")


def feed_body(index: int, items: int) -> bytes:
    """Bench feed `index`: off-topic items, plus a forced-return report in feeds 0 and 1."""
    entries = []
    for n in range(items):
        if index < len(EVENTS) and n == 0:
            title, summary, published = EVENTS[index]
        else:
            title = f"{OFF_TOPIC[(index + n) % len(OFF_TOPIC)]} ({index}-{n})"
            summary, published = "Nothing to report beyond the usual.", NOW - timedelta(hours=3, minutes=n)
        entries.append(
            f"<item><title>{escape(title)}</title><link>https://outlet{index}.example/{n}</link>"
            f"<guid>w-{index}-{n}</guid><pubDate>{format_datetime(published)}</pubDate>"
            f"<description>{escape(summary)}</description></item>"
        )
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Outlet {index}</title>'
            f"<link>https://outlet{index}.example/</link><description>bench</description>{''.join(entries)}"
            "</channel></rss>").encode()


class _Feeds(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    bodies: ClassVar[list[bytes]] = []

    def do_GET(self) -> None:
        try:
            body = self.bodies[int(urlsplit(self.path).path.removeprefix("/feed/").removesuffix(".xml"))]
        except (ValueError, IndexError):
            body = b""
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def fresh_database(url: str) -> Database:
    """`url`'s database, created when missing, with an empty public schema, upgraded."""
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if not connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}).first():
            connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    engine = create_engine(parsed)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    db = Database(url)
    db.upgrade()
    return db


def subscribe(db: Database, fake: FakeTelegram, chats: int) -> None:
    before = NOW - timedelta(days=1)
    with db.unit_of_work() as uow:
        for n in range(chats):
            uow.chats.ensure(FIRST_CHAT + n, ChatKind.PRIVATE, f"Reader {n}", before)
            uow.chats.subscribe(FIRST_CHAT + n, [TOPIC], before)
    for n in range(chats):
        fake.private_chat(fake.user(FIRST_CHAT + n, f"Reader {n}"))


def progress(db: Database, feeds: int) -> tuple[int, dict[str, int]]:
    """Feeds polled at least once, and outbox rows by status."""
    with db.unit_of_work() as uow:
        polled = sum(1 for f in uow.feeds.all() if f.last_success_at or f.last_error_at)
        return polled, uow.outbox.counts()


def run(workers: int, args: argparse.Namespace, port: int, folder: Path) -> dict[str, object]:
    db = fresh_database(args.database_url)
    fake = FakeTelegram()
    subscribe(db, fake, args.chats)
    fake.enforce_limits(per_chat_per_second=1, global_per_second=30, group_per_minute=20)
    fake.start()
    config = folder / "feeds.yaml"
    lines = [TOPICS, "feeds:"] + [
        f"  - name: feed-{i}\n    url: http://127.0.0.1:{port}/feed/{i}.xml\n    language: en\n    interval: 6h"
        for i in range(args.feeds)
    ]
    config.write_text("\n".join(lines) + "\ndefaults:\n  timeout: 20s\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_", "BOT_"))}
    env.update(DATABASE_URL=args.database_url, TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_URL=fake.base_url,
               FEEDS_CONFIG=str(config), LOG_LEVEL="INFO", NO_PROXY="127.0.0.1,localhost", PYTHONPATH=str(ROOT))
    logs = [folder / f"worker-{workers}-{n}.log" for n in range(workers)]
    started = time.monotonic()
    processes = [subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, cwd=ROOT,
                                  stdout=log.open("wb"), stderr=subprocess.STDOUT) for log in logs]
    first_cycle = None
    try:
        deadline = started + args.timeout
        while time.monotonic() < deadline:
            polled, counts = progress(db, args.feeds)
            if first_cycle is None and polled == args.feeds:
                first_cycle = time.monotonic() - started
            if first_cycle is not None and counts["sent"] and not counts["pending"]:
                break
            for process, log in zip(processes, logs, strict=True):
                if process.poll() is not None:
                    tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
                    raise SystemExit(f"worker {log.name} exited early:\n{tail}")
            time.sleep(0.5)
        else:
            raise SystemExit(f"not done after {args.timeout} s: {progress(db, args.feeds)}")
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)
    total = time.monotonic() - started
    _, counts = progress(db, args.feeds)
    with db.unit_of_work() as uow:
        owed = Counter(e.chat_id for e in uow.outbox.due(NOW + timedelta(days=1), 10**6))  # none: all done
        stories = {s.id: s.title for s in uow.stories.since(NOW - timedelta(days=60), None, urgent_only=False)}
    db.dispose()
    fake.stop()

    sends = [c for c in fake.sent() if c.ok]
    per_chat_story = Counter((c.params["chat_id"], title) for c in sends for title in stories.values()
                             if escape(title) in str(c.params.get("text", "")))
    doubled = sum(1 for n in per_chat_story.values() if n > 1)
    missing = args.chats * len(stories) - len(per_chat_story)
    times = sorted(c.at for c in sends)
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0
    texts = [log.read_text(errors="replace") for log in logs]
    polled_by = [sum(int(m) for m in re.findall(r"poll: (\d+) feeds", t)) for t in texts]
    sent_by = [len(re.findall(r" sent to chat ", t)) for t in texts]
    tracebacks = sum(t.count("Traceback") for t in texts)
    return dict(workers=workers, first_cycle=first_cycle, total=total, polled_by=polled_by, sent_by=sent_by,
                messages=len(sends), rate=rate, too_many=fake.too_many_requests, stories=len(stories),
                rows=counts, doubled=doubled, missing=missing, left=sum(owed.values()), tracebacks=tracebacks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="2,3", help="worker counts to run, comma-separated")
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--chats", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=1200.0)
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/bench_workers")
    args = parser.parse_args(argv)
    # The fake keeps every call; its collector pausing all threads would show up as bursts (delivery_scale.py).
    gc.disable()
    _Feeds.bodies = [feed_body(i, args.items) for i in range(args.feeds)]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Feeds)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ok = True
    with tempfile.TemporaryDirectory() as folder:
        for workers in (int(n) for n in args.workers.split(",")):
            r = run(workers, args, int(server.server_address[1]), Path(folder))
            polled_by, sent_by = r["polled_by"], r["sent_by"]
            assert isinstance(polled_by, list) and isinstance(sent_by, list)
            print(f"== {workers} worker(s): {args.feeds} feeds x {args.items} items, {args.chats} chats, "
                  f"{r['stories']} stories")
            print(f"first cycle           {r['first_cycle']:.1f} s (start to every feed polled once)")
            print(f"feeds polled, each    {polled_by} -> {args.feeds / r['first_cycle'] / workers:.1f} feeds/s "
                  f"per worker")
            print(f"messages sent, each   {sent_by} (fake saw {r['messages']}), {r['rate']:.1f} messages/s "
                  f"overall, {r['rate'] / workers:.1f} per worker; {r['too_many']} answered 429")
            print(f"all done after        {r['total']:.1f} s; outbox {r['rows']}")
            print(f"alerts doubled        {r['doubled']}")
            print(f"alerts lost           {r['missing']} missing at the fake, {r['left']} rows left pending")
            print(f"tracebacks in logs    {r['tracebacks']}")
            ok = ok and r["doubled"] == 0 and r["missing"] == 0 and r["left"] == 0
    server.shutdown()
    print("result                " + ("nothing doubled, nothing lost" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
