"""The command line: the one place where configuration, storage, fetching and the pipeline are wired together."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bot import __version__
from bot.config import Config, Settings, describe, load_config, load_settings
from bot.errors import BotError
from bot.facts import load_gazetteer
from bot.fetch import Fetcher, FetchLimits
from bot.pipeline import CycleReport, FeedOutcome, Poller
from bot.replay import dumps, replay
from bot.storage.db import Database, sqlite_url

log = logging.getLogger("bot")


def utc_now() -> datetime:
    """The real clock; tests and replays pass their own."""
    return datetime.now(UTC)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="advocacy-bot",
        description="Telegram alerts on forced repatriation of North Koreans.",
    )
    parser.add_argument("--version", action="version", version=f"advocacy-bot {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def config_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", help="feeds.yaml to use (default: $FEEDS_CONFIG or ./feeds.yaml)")

    p = sub.add_parser("check-config", help="validate feeds.yaml and summarize it (exit 1 on error)")
    config_arg(p)

    p = sub.add_parser("db", help="database schema: upgrade or show the current revision")
    p.add_argument("action", choices=["upgrade", "current"])

    p = sub.add_parser("poll", help="poll the due feeds once and print a table of what happened")
    p.add_argument("--once", action="store_true", required=True, help="run one cycle and exit")
    config_arg(p)

    p = sub.add_parser("replay", help="offline: run saved feed files through the pipeline, print JSON lines")
    config_arg(p)
    p.add_argument("--db", help="SQLAlchemy URL to keep the results in (default: a scratch SQLite file)")
    p.add_argument("paths", nargs="+", metavar="PATH", help="saved RSS/Atom files, or folders of them")
    return parser


def _config(args: argparse.Namespace, settings: Settings) -> Config:
    return load_config(args.config or settings.config_path)


def cmd_check_config(args: argparse.Namespace, settings: Settings) -> int:
    config = _config(args, settings)
    print(describe(config))
    return 0


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    db = Database(settings.database_url)
    try:
        if args.action == "upgrade":
            db.upgrade()
            print(f"database {db.url_for_display} is at revision {db.current_revision()}")
        else:
            print(db.current_revision() or "empty (run `advocacy-bot db upgrade`)")
    finally:
        db.dispose()
    return 0


def _progress(outcome: FeedOutcome) -> None:
    detail = outcome.error or (f"{outcome.new_items} new, {outcome.matched_items} matched")
    print(f"  {outcome.feed}: {outcome.status} ({detail})", flush=True)


def format_table(report: CycleReport) -> str:
    """The end-of-poll table: one row per feed with its status, counts and error."""
    header = ("feed", "status", "new", "matched", "error")
    rows = [
        (o.feed, o.status, str(o.new_items), str(o.matched_items), o.error or "")
        for o in sorted(report.outcomes, key=lambda o: o.feed.casefold())
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    widths[-1] = 0  # the error column is last and not padded

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths[:-1]] + ["-----"]), *map(line, rows)])


def cmd_poll(args: argparse.Namespace, settings: Settings) -> int:
    config = _config(args, settings)
    db = Database(settings.database_url)
    try:
        db.check_schema()
        gazetteer = load_gazetteer()
        with db.unit_of_work() as uow:
            uow.feeds.sync(config.feeds, utc_now())
        limits = FetchLimits(
            timeout_seconds=config.defaults.timeout_seconds,
            max_bytes=config.defaults.max_body_bytes,
            max_redirects=config.defaults.max_redirects,
            user_agent=settings.user_agent,
        )

        async def cycle() -> CycleReport:
            async with Fetcher(limits, concurrency=config.defaults.concurrency) as fetcher:
                poller = Poller(config, db, fetcher, utc_now, gazetteer)
                return await poller.run_cycle(progress=_progress)

        print(f"polling due feeds of {config.source} into {db.url_for_display}", flush=True)
        report = asyncio.run(cycle())
    finally:
        db.dispose()
    if not report.outcomes:
        print("no feed is due (each feed waits its interval; see next_check_at)")
        return 0
    print()
    print(format_table(report))
    return 0


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    config = _config(args, settings)
    with tempfile.TemporaryDirectory(prefix="advocacy-replay-") as scratch:
        db = Database(args.db or sqlite_url(Path(scratch) / "replay.sqlite3"))
        try:
            db.upgrade()
            for record in replay(config, args.paths, db, utc_now(), load_gazetteer()):
                print(dumps(record), flush=False)
            sys.stdout.flush()
        finally:
            db.dispose()
    return 0


COMMANDS = {
    "check-config": cmd_check_config,
    "db": cmd_db,
    "poll": cmd_poll,
    "replay": cmd_replay,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `advocacy-bot` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(os.environ)
        logging.basicConfig(
            level=settings.log_level, stream=sys.stderr,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        return COMMANDS[args.command](args, settings)
    except BotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
