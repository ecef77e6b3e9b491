"""Polling at scale: the real Poller and Fetcher over many local feeds, against feedparser alone.

    .venv/bin/python bench/poll_scale.py [--feeds 2000] [--items 30] [--on-topic] [--concurrency N]
                                         [--profile CYCLE] [--keep DIR]

A feed server runs in a child process on 127.0.0.1 (a ThreadingHTTPServer speaking HTTP/1.1 with
keep-alive; it answers 304 when If-None-Match or If-Modified-Since matches, unless told to ignore
validators). Each feed holds --items synthetic items: headlines filled from word lists, about one feed
in ten also carrying a report of a forced repatriation, so matching and clustering do real work.
The project's feeds.yaml supplies topics and actions; the feeds are replaced by the synthetic ones.
A migrated SQLite file in a temporary folder holds the state. Three cycles run, the clock moved past
every feed's interval before each:

1. first: every item new (fetch, parse, match, store, cluster);
2. steady, 304: every server answer is 304 Not Modified;
3. steady, unchanged: the server ignores validators and sends the same body (the body-hash path).

The floor is feedparser alone parsing the same bodies sequentially, in a child process of its own (so
its memory is not counted in this process's peak). Printed: wall times, the ratios first/floor
(target <= 2) and steady/first (target <= 0.1), and this process's peak RSS (target < 300 MB).

--profile first|steady|unchanged writes a cProfile of that cycle (sorted by cumulative time) to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import http.server
import io
import json
import os
import pstats
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Config, load_config  # noqa: E402
from bot.domain import Feed  # noqa: E402
from bot.ingest.fetch import Fetcher, FetchLimits  # noqa: E402
from bot.pipeline import CycleReport, Poller  # noqa: E402
from bot.storage.db import Database, sqlite_url  # noqa: E402
from bot.stories.facts import load_gazetteer  # noqa: E402

START = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
INTERVAL_SECONDS = 900
SEED = 424242
LAST_MODIFIED = "Mon, 06 May 2024 08:00:00 GMT"
IGNORE_VALIDATORS = "/control/ignore-validators"

# --- synthetic feeds ----------------------------------------------------------------------------------------
# Word lists written for this benchmark; a seeded Random per feed makes every run serve the same bytes.

PLACES = (
    "Harrowgate", "Port Ellis", "Mirefield", "Caldera Bay", "Westmarch", "Oakhollow", "Saltmere", "Dunmore",
    "Kittering", "Brackenridge", "Lowell Point", "Ashby Vale", "Corran", "Fernhill", "Stonebridge",
)  # fmt: skip
SUBJECTS = (
    "city council", "regional rail operator", "school board", "chamber orchestra", "football club",
    "harbour authority", "tech start-up", "farmers' cooperative", "public library", "water utility",
    "university hospital", "bakery chain", "ferry company", "science museum", "cycling federation",
)  # fmt: skip
VERBS = (
    "approves", "delays", "unveils", "rejects", "celebrates", "reviews", "cancels", "expands", "announces",
    "postpones", "defends", "questions", "funds", "launches", "trims",
)  # fmt: skip
OBJECTS = (
    "new budget", "summer timetable", "parking plan", "anniversary concert", "stadium upgrade", "pay deal",
    "recycling scheme", "night bus pilot", "heritage trail", "flood barrier", "tram extension",
    "tourism campaign", "housing project", "tree planting drive", "market hall repairs",
)  # fmt: skip
DETAILS = (
    "Officials said the decision followed months of consultation with residents.",
    "Critics argued the costs had been underestimated from the start.",
    "The plan is expected to take effect before the end of the year.",
    "Local businesses welcomed the move but asked for clearer timelines.",
    "A spokesperson declined to comment on the figures ahead of the next meeting.",
    "Turnout at the public hearing was higher than organisers had expected.",
    "The vote passed narrowly after a long debate that ran past midnight.",
    "Engineers will present a revised estimate at a later session.",
)  # fmt: skip
# On-topic reports, written for this benchmark: a handful of retellings so clustering has work to do.
ON_TOPIC = (
    (
        "China forcibly returns dozens of North Korean defectors near {place}",
        "Rights monitors say Chinese border police sent back about {count} North Koreans who had fled, "
        "handing them to guards across the river. Families fear they face punishment after repatriation.",
    ),
    (
        "Activists condemn repatriation of North Korean escapees detained in China",
        "A group of roughly {count} North Korean women held in a detention centre were repatriated this week, "
        "according to a Seoul-based monitoring group that urged Beijing to halt forced returns.",
    ),
)


# With --on-topic every item is a report: ON_TOPIC with these places and counts, so that items of many
# feeds retell the same few dozen events and the story step groups, merges and composes at full load.
ON_TOPIC_PLACES = ("Tumen", "Dandong", "Hunchun", "Changbai", "Ji'an", "Nanping", "Linjiang", "Sanhe")
ON_TOPIC_COUNTS = (40, 60, 80, 120, 200, 350)
ALL_ON_TOPIC = "--on-topic" in sys.argv


def feed_body(index: int, items: int) -> bytes:
    """The RSS 2.0 body of bench feed `index`: `items` items, the same bytes on every call."""
    rng = random.Random(SEED * 100_003 + index)
    entries: list[str] = []
    for n in range(items):
        published = START - timedelta(minutes=7 * n + rng.randrange(7))
        if ALL_ON_TOPIC:
            # Titles differ from item to item, as real reports' do (a repeated title is a duplicate).
            title_t, text_t = rng.choice(ON_TOPIC)
            count = rng.choice(ON_TOPIC_COUNTS)
            title = f"{title_t.format(place=rng.choice(ON_TOPIC_PLACES))}: {count} held, {rng.choice(OBJECTS)} {n}"
            text = text_t.format(count=count)
        elif index % 10 == 3 and n == 0:
            title_t, text_t = rng.choice(ON_TOPIC)
            count = rng.choice((40, 60, 80, 120))
            title = title_t.format(place=rng.choice(("Tumen", "Dandong", "Hunchun")))
            text = text_t.format(count=count)
        else:
            place, subject = rng.choice(PLACES), rng.choice(SUBJECTS)
            title = f"{place} {subject} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"
            text = " ".join(rng.sample(DETAILS, 3))
        link = f"https://outlet{index}.example/news/{published:%Y/%m/%d}/{index}-{n}"
        entries.append(
            f"<item><title>{escape(title)}</title><link>{link}?utm_source=rss</link>"
            f'<guid isPermaLink="false">bench-{index}-{n}</guid><pubDate>{format_datetime(published)}</pubDate>'
            f"<description>{escape('<p>' + text + '</p>')}</description></item>\n"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>Bench outlet {index}</title><link>https://outlet{index}.example/</link>"
        f"<description>Synthetic news for the polling benchmark</description>\n{''.join(entries)}</channel></rss>\n"
    ).encode()


def etag_of(index: int) -> str:
    return f'"bench-{index}-v1"'


# --- the feed server (child process) -----------------------------------------------------------------------


class _BenchHandler(http.server.BaseHTTPRequestHandler):
    """Serves /feed/<n>.xml from memory; 304 on a matching validator unless validators are ignored."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle on, the body waits for the client's delayed ACK
    # (40 ms on Linux), which measured the benchmark's server, not the bot. Real servers set TCP_NODELAY too.
    disable_nagle_algorithm = True
    bodies: ClassVar[list[bytes]] = []
    ignore_validators: ClassVar[threading.Event] = threading.Event()

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == IGNORE_VALIDATORS:
            type(self).ignore_validators.set()
            self._send(200, b"ok\n", "text/plain", ())
            return
        try:
            index = int(path.removeprefix("/feed/").removesuffix(".xml"))
            body = self.bodies[index]
        except (ValueError, IndexError):
            self._send(404, b"no such feed\n", "text/plain", ())
            return
        validators = (("ETag", etag_of(index)), ("Last-Modified", LAST_MODIFIED))
        if not self.ignore_validators.is_set() and (
            self.headers.get("If-None-Match") == etag_of(index)
            or (self.headers.get("If-None-Match") is None and self.headers.get("If-Modified-Since") == LAST_MODIFIED)
        ):
            self.send_response(304)
            for name, value in validators:
                self.send_header(name, value)
            self.end_headers()
            return
        self._send(200, body, "application/rss+xml; charset=utf-8", validators)

    def _send(self, status: int, body: bytes, content_type: str, extra: tuple[tuple[str, str], ...]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in extra:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(feeds: int, items: int) -> None:
    """Run the feed server until stdin closes; its port goes to stdout first."""
    _BenchHandler.bodies = [feed_body(i, items) for i in range(feeds)]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _BenchHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()  # the parent closes our stdin (or dies): time to go
    server.shutdown()


# --- the floor (child process) -----------------------------------------------------------------------------


def floor(feeds: int, items: int) -> None:
    """Print, as JSON, the seconds feedparser alone takes over the same bodies, one after another."""
    import feedparser

    bodies = [feed_body(i, items) for i in range(feeds)]
    headers = {"content-type": "application/rss+xml; charset=utf-8"}
    started, cpu = time.perf_counter(), time.process_time()
    entries = 0
    for body in bodies:
        entries += len(feedparser.parse(io.BytesIO(body), response_headers=headers).entries)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(json.dumps({"seconds": seconds, "cpu": cpu, "entries": entries, "bytes": sum(map(len, bodies))}))


# --- the poller (this process) -----------------------------------------------------------------------------


class Clock:
    """A clock the benchmark moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def bench_config(port: int, feeds: int) -> Config:
    """feeds.yaml's topics and actions, with `feeds` synthetic feeds on the local server."""
    base = load_config(ROOT / "feeds.yaml")
    synthetic = tuple(
        Feed(
            name=f"bench-{i}",
            url=f"http://127.0.0.1:{port}/feed/{i}.xml",
            language="en",
            interval_seconds=INTERVAL_SECONDS,
            outlet=f"Bench outlet {i}",
        )
        for i in range(feeds)
    )
    return replace(base, feeds=synthetic)


def run_cycle(poller: Poller, fetcher_limits: FetchLimits, concurrency: int) -> tuple[CycleReport, float]:
    """One cycle in a fresh event loop (as `advocacy-bot poll` runs it); (report, wall seconds)."""

    async def go() -> CycleReport:
        async with Fetcher(fetcher_limits, concurrency=concurrency) as fetcher:
            poller.fetcher = fetcher
            return await poller.run_cycle()

    started = time.perf_counter()
    report = asyncio.run(go())
    return report, time.perf_counter() - started


def cpu_seconds() -> float:
    """User + system CPU of this process, all threads (the feed server is another process)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def statuses(report: CycleReport) -> str:
    counts: dict[str, int] = {}
    for outcome in report.outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _time_workers(poller: Poller) -> dict[str, float]:
    """Sum the seconds spent in the Poller's worker-thread steps during one cycle: parse, prepare (topics and
    analyses), store, and placing the cycle's reports into stories."""
    spent = {"_parse": 0.0, "_prepare": 0.0, "_store": 0.0, "_place_stories": 0.0}
    for name in spent:
        method = getattr(poller, name)

        def timed(*args: Any, _method: Any = method, _name: str = name) -> Any:
            started = time.perf_counter()
            try:
                return _method(*args)
            finally:
                spent[_name] += time.perf_counter() - started

        setattr(poller, name, timed)
    return spent


def _profile_workers(poller: Poller, into: list[cProfile.Profile]) -> None:
    """Profile the Poller's steps that run in worker threads, which cProfile alone misses."""
    for name in ("_parse", "_prepare", "_store", "_place_stories"):
        method = getattr(poller, name)

        def profiled(*args: Any, _method: Any = method) -> Any:
            profile = cProfile.Profile()
            into.append(profile)
            return profile.runcall(_method, *args)

        # An instance attribute shadows the method for this Poller only; removed after the cycle.
        setattr(poller, name, profiled)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=None, help="default: feeds.yaml's (defaults.concurrency)")
    parser.add_argument("--profile", choices=("first", "steady", "unchanged"))
    parser.add_argument("--keep", type=Path, help="keep the SQLite file in this folder")
    parser.add_argument("--on-topic", action="store_true", help="every item a report (the story step's worst case)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--floor", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.feeds, args.items)
        return 0
    if args.floor:
        floor(args.feeds, args.items)
        return 0

    size = ["--feeds", str(args.feeds), "--items", str(args.items), *(["--on-topic"] if args.on_topic else [])]
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", *size], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        return _bench(args, port)
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=10)


def _bench(args: argparse.Namespace, port: int) -> int:
    config = bench_config(port, args.feeds)
    concurrency = args.concurrency or config.defaults.concurrency
    limits = FetchLimits(
        timeout_seconds=config.defaults.timeout_seconds,
        max_bytes=config.defaults.max_body_bytes,
        max_redirects=config.defaults.max_redirects,
    )
    folder = args.keep or Path(tempfile.mkdtemp(prefix="poll-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = sqlite_url(folder / "bench.sqlite3")
    db = Database(url)
    # Migrated by a child process, as the image's entrypoint runs `db upgrade` before `run`: alembic is not
    # part of the polling process's memory.
    upgrade = f"from bot.storage.db import Database; Database({url!r}).upgrade()"
    subprocess.run([sys.executable, "-c", upgrade], check=True, cwd=ROOT)
    clock = Clock(START)
    with db.unit_of_work() as uow:
        uow.feeds.sync(config.feeds, clock())
    poller = Poller(config, db, Fetcher(limits), clock, load_gazetteer())
    poller.rules.embedder.embed(["warm up"])  # the model loads once per process, at start (as `run` does)
    print(f"{args.feeds} feeds x {args.items} items, fetch concurrency {concurrency}, server 127.0.0.1:{port}")

    times: dict[str, float] = {}
    cpu_times: dict[str, float] = {}
    expected = {"first": "ok", "steady": "not-modified", "unchanged": "unchanged"}
    wrong: list[str] = []
    for name in ("first", "steady", "unchanged"):
        if name == "unchanged":
            _control(port, IGNORE_VALIDATORS)
        profiler = cProfile.Profile() if args.profile == name else None
        worker_profiles: list[cProfile.Profile] = []
        if profiler:
            _profile_workers(poller, worker_profiles)
            profiler.enable()
        spent = _time_workers(poller) if profiler is None else None
        cpu_before = cpu_seconds()
        report, seconds = run_cycle(poller, limits, concurrency)
        cpu = cpu_times[name] = cpu_seconds() - cpu_before
        if profiler:
            profiler.disable()
        if spent is not None or profiler:
            del poller._parse, poller._store
        times[name] = seconds
        new = sum(o.new_items for o in report.outcomes)
        matched = sum(o.matched_items for o in report.outcomes)
        errors = [o for o in report.outcomes if o.error]
        print(f"cycle {name:<9} {seconds:8.2f} s (CPU {cpu:.2f} s)  {len(report.outcomes)} feeds ({statuses(report)}); "
              f"{new} new items, {matched} matched; peak RSS so far {peak_rss_mb():.0f} MB")
        if spent is not None and (spent["_parse"] or spent["_store"]):
            print(f"    inside worker threads: parse {spent['_parse']:.2f} s, prepare {spent['_prepare']:.2f} s, "
                  f"store {spent['_store']:.2f} s, stories {spent['_place_stories']:.2f} s "
                  "(summed over calls)")
        for outcome in errors[:3]:
            print(f"    e.g. {outcome.feed}: {outcome.error}")
        if len(report.outcomes) != args.feeds or any(o.status != expected[name] for o in report.outcomes):
            wrong.append(f"cycle {name}: expected {args.feeds} feeds {expected[name]}, got {statuses(report)}")
        if profiler:
            print("--- event loop thread ---")
            pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(30)
            if worker_profiles:
                print(f"--- worker threads ({len(worker_profiles)} parse/store calls) ---")
                workers = pstats.Stats(worker_profiles[0], stream=sys.stdout)
                for extra in worker_profiles[1:]:
                    workers.add(extra)
                workers.sort_stats("cumulative").print_stats(45)
        clock.now += timedelta(seconds=INTERVAL_SECONDS + 1)
    with db.unit_of_work() as uow:
        stored = uow.items.count()
    db.dispose()

    result = subprocess.run(
        [sys.executable, __file__, "--floor", "--feeds", str(args.feeds), "--items", str(args.items),
         *(["--on-topic"] if args.on_topic else [])],
        capture_output=True, text=True, check=True,
    )
    measured: dict[str, Any] = json.loads(result.stdout)
    times["floor"] = float(measured["seconds"])
    cpu_times["floor"] = float(measured["cpu"])
    rss = peak_rss_mb()
    print(f"floor (feedparser alone, sequential, {measured['bytes'] / 2**20:.1f} MB of bodies, "
          f"{measured['entries']} entries) {times['floor']:.2f} s (CPU {cpu_times['floor']:.2f} s)")
    print(f"items stored: {stored}")
    print()
    checks = [
        ("first / floor", times["first"] / times["floor"], 2.0),
        ("steady 304 / first", times["steady"] / times["first"], 0.1),
        ("steady unchanged / first", times["unchanged"] / times["first"], 0.1),
        ("peak RSS MB", rss, 300.0),
    ]
    for label, value, target in checks:
        verdict = "ok" if value <= target else "MISSED"
        print(f"{label:<26} {value:8.3f}   target <= {target:g}   {verdict}")
    # CPU seconds hardly move when other processes share the cores; wall times do.
    print(f"(CPU ratios: first / floor {cpu_times['first'] / cpu_times['floor']:.2f}, "
          f"steady 304 / first {cpu_times['steady'] / cpu_times['first']:.3f}, "
          f"unchanged / first {cpu_times['unchanged'] / cpu_times['first']:.3f}; load average now "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    for problem in wrong:
        print(f"INVALID RUN: {problem}")
    if args.keep is None:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
    return 1 if wrong else 0


def _control(port: int, path: str) -> None:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
        answer.read()


if __name__ == "__main__":
    sys.exit(main())
