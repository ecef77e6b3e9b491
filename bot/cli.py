"""The command line: the one place where configuration, storage, fetching and the pipeline are wired together."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot import __version__
from bot.config import Config, Settings, describe, load_config, load_settings
from bot.errors import BotError, ConfigError
from bot.ingest.fetch import Fetcher
from bot.logs import setup_logging
from bot.pipeline import CycleReport, FeedOutcome, Poller, fetch_limits
from bot.storage.db import Database, sqlite_url
from bot.stories.facts import load_gazetteer
from bot.tools.demo import run_demo
from bot.tools.operations import export_document, healthcheck, import_document, recent_stories
from bot.tools.replay import dumps, replay, story_record

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
    p.add_argument("--explain", action="store_true",
                   help="add to each item how every topic's keywords and examples judged it")
    p.add_argument("paths", nargs="+", metavar="PATH", help="saved RSS/Atom files, or folders of them")

    p = sub.add_parser(
        "demo", help="offline demo: bundled sample feeds through the real pipeline, alerts printed (no token)"
    )
    p.add_argument("--db", metavar="FILE", help="new SQLite file to keep the results in (default: a temporary one)")

    p = sub.add_parser("run", help="run the bot: poll feeds, send alerts, answer commands (needs TELEGRAM_BOT_TOKEN)")
    config_arg(p)

    p = sub.add_parser("healthcheck", help="exit 0 when the running bot's scheduler ticked recently, else 1")
    p.add_argument("--max-age", type=int, default=120, metavar="SECONDS",
                   help="oldest acceptable heartbeat (default 120; the scheduler beats every 30 s)")

    p = sub.add_parser("export", help="print chats, subscriptions and settings as JSON (to move to a new bot)")
    p.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of standard output")

    p = sub.add_parser("import", help="load chats, subscriptions and settings from an `export` file")
    config_arg(p)
    p.add_argument("file", metavar="FILE", help="a file written by `advocacy-bot export` (- for standard input)")

    p = sub.add_parser("stories", help="list recent stories")
    p.add_argument("--limit", "-n", type=int, default=10, help="how many (default 10, at most 500)")
    p.add_argument("--json", action="store_true", help="one JSON object per story, as `replay` prints them")
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
        limits = fetch_limits(config, settings.user_agent)

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
    if report.failed == len(report.outcomes):
        # Nothing was polled at all: a script or a cron job must see that as a failure.
        print(f"error: every feed polled failed ({report.failed} of {len(report.outcomes)}); see the table above",
              file=sys.stderr)
        return 1
    return 0


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    config = _config(args, settings)
    with tempfile.TemporaryDirectory(prefix="advocacy-replay-") as scratch:
        db = Database(args.db or sqlite_url(Path(scratch) / "replay.sqlite3"))
        try:
            db.upgrade()
            for record in replay(config, args.paths, db, utc_now(), load_gazetteer(), explain=args.explain):
                print(dumps(record), flush=False)
            sys.stdout.flush()
        finally:
            db.dispose()
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    # Bold and wrapping only for a terminal: piped or captured output stays plain, one line per line.
    tty = sys.stdout.isatty()
    if isinstance(sys.stdout, io.TextIOWrapper):
        # A terminal without UTF-8 shows '?' for the emoji and scripts it cannot print, rather than crashing.
        sys.stdout.reconfigure(errors="replace")
    width = min(shutil.get_terminal_size().columns, 100) if tty else None
    run_demo(sys.stdout, db_path=Path(args.db) if args.db else None, bold=tty, width=width,
             user_agent=settings.user_agent)
    return 0


def _database(settings: Settings) -> Database:
    """The configured database, refusing an out-of-date schema (`advocacy-bot db upgrade` fixes it)."""
    db = Database(settings.database_url)
    try:
        db.check_schema()
    except BaseException:
        db.dispose()
        raise
    return db


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    if settings.telegram_token is None:
        raise ConfigError("environment", [
            "TELEGRAM_BOT_TOKEN: not set. Get a token from @BotFather and set it, "
            "or try the bot without one: `advocacy-bot demo`"
        ])
    config = _config(args, settings)
    db = _database(settings)
    try:
        # Imported here: python-telegram-bot is loaded only by the command that talks to Telegram.
        from bot.run.process import Runner

        Runner(settings, config, db, load_gazetteer(), clock=utc_now).run()
    finally:
        db.dispose()
    return 0


def cmd_healthcheck(args: argparse.Namespace, settings: Settings) -> int:
    db = _database(settings)
    try:
        health = healthcheck(db, utc_now(), timedelta(seconds=max(args.max_age, 1)))
    finally:
        db.dispose()
    print(health.message)
    return 0 if health.ok else 1


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    db = _database(settings)
    try:
        document = export_document(db, utc_now())
    finally:
        db.dispose()
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"{len(document['chats'])} chats written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    config = _config(args, settings)
    source = "standard input" if args.file == "-" else args.file
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BotError(f"{source}: cannot read: {exc}") from None
    db = _database(settings)
    try:
        count = import_document(db, text, source, [t.id for t in config.topics])
    finally:
        db.dispose()
    print(f"{count} chats imported from {source}")
    return 0


def cmd_stories(args: argparse.Namespace, settings: Settings) -> int:
    db = _database(settings)
    try:
        stories = recent_stories(db, min(max(args.limit, 1), 500))
    finally:
        db.dispose()
    for story in stories:
        if args.json:
            print(dumps(story_record(story)))
        else:
            day = story.last_seen.strftime("%Y-%m-%d %H:%M") if story.last_seen else "?"
            outlets = len({s.outlet for s in story.sources})
            print(f"#{story.id}  {day}  {story.urgency.value:<7} {outlets} outlet(s)  {story.title}")
    if not stories and not args.json:
        print("no stories yet")
    return 0


COMMANDS = {
    "check-config": cmd_check_config,
    "db": cmd_db,
    "poll": cmd_poll,
    "replay": cmd_replay,
    "demo": cmd_demo,
    "run": cmd_run,
    "healthcheck": cmd_healthcheck,
    "export": cmd_export,
    "import": cmd_import,
    "stories": cmd_stories,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `advocacy-bot` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        # The demo is self-contained: no DATABASE_URL, FEEDS_CONFIG or token from the environment can change it.
        settings = load_settings({} if args.command == "demo" else os.environ)
        secrets = [settings.telegram_token.value] if settings.telegram_token else []
        setup_logging(settings.log_level, secrets)
        return COMMANDS[args.command](args, settings)
    except BotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `advocacy-bot stories | head`: the reader left; nothing more to say. Point stdout at /dev/null so the
        # interpreter's final flush does not complain either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
