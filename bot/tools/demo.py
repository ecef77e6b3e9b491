"""`advocacy-bot demo`: bundled sample feeds, served from 127.0.0.1, through the real pipeline; alerts printed.

Self-contained on purpose: the sample feeds and their feeds.yaml ship inside the package (bot/data/demo),
the database is a scratch SQLite file, and nothing from the environment (DATABASE_URL, FEEDS_CONFIG, a
token) is read, so it works on any machine with no token and no internet. What it runs is not a copy of
the pipeline: the real Poller fetches every feed over HTTP with the real Fetcher, parses, matches, dedupes,
clusters and stores; the alerts are the real formatter's HTML, turned into terminal text.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http.server
import logging
import os
import tempfile
import textwrap
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

from bot.config import Config, parse_config
from bot.domain import ChatKind, OutboxKind, Story
from bot.errors import BotError
from bot.ingest.fetch import Fetcher
from bot.pipeline import CycleReport, Poller, fetch_limits
from bot.storage.db import Database, sqlite_url
from bot.stories.facts import load_gazetteer
from bot.telegram.callbacks import Button, Rendered
from bot.telegram.html import clean
from bot.telegram.messages.alert import render_alert
from bot.telegram.messages.pieces import story_command
from bot.telegram.messages.story import render_action_card, render_story_full
from bot.telegram.messages.view import View

# Every feed URL in the bundled feeds.yaml starts with this. The .invalid domain is reserved (RFC 2606)
# and never resolves, so a URL the demo failed to rewrite can only fail, never reach the internet.
PLACEHOLDER_ORIGIN = "http://demo.invalid/"
DEMO_FOLDER = "demo"  # inside the bot.data package
CONFIG_NAME = "feeds.yaml"
DEMO_CHAT_ID = 1001  # the demo subscriber's (made-up) Telegram chat id

RULE_WIDTH = 72
_BOLD_ON, _BOLD_OFF = "\x1b[1m", "\x1b[22m"

# Named, not __name__: operators filter logs on this name, which stays when the module moves.
log = logging.getLogger("bot.demo")

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class DemoAccount:
    """What the demo did: feeds polled (and failed), items read (new and repeats), matched, stories, alerts."""

    feeds: int
    failed: int
    items: int
    new_items: int
    repeats: int
    matched: int
    stories: int
    alerts: int

    def line(self) -> str:
        """The closing account, one line: 'feeds polled: 6 · items: 20 (19 new, 1 repeat) · matched: 9 · ...'."""
        repeats = f"{self.repeats} repeat" if self.repeats == 1 else f"{self.repeats} repeats"
        failed = f" ({self.failed} failed)" if self.failed else ""
        return (
            f"feeds polled: {self.feeds}{failed} · items: {self.items} ({self.new_items} new, {repeats})"
            f" · matched: {self.matched} · stories: {self.stories} · alerts: {self.alerts}"
        )


# =====================================================================================================
# The bundled files and their server
# =====================================================================================================


@contextlib.contextmanager
def demo_folder() -> Iterator[Path]:
    """The folder of bundled sample feeds as a real path (extracted first if the package is zipped)."""
    with resources.as_file(resources.files("bot.data").joinpath(DEMO_FOLDER)) as folder:
        if not (folder / CONFIG_NAME).is_file():
            raise BotError(f"demo: the sample feeds are missing from the installed package ({folder})")
        yield folder


def demo_config(folder: Path, base_url: str) -> Config:
    """The bundled feeds.yaml with each feed URL moved from PLACEHOLDER_ORIGIN to `base_url` (ending in '/')."""
    path = folder / CONFIG_NAME
    config = parse_config(path.read_text(encoding="utf-8"), str(path))
    feeds = []
    for feed in config.feeds:
        if not feed.url.startswith(PLACEHOLDER_ORIGIN):
            # Only bundled files may be fetched: a demo that went to the internet would not be a demo.
            raise BotError(f"demo: {path}: feed {feed.name!r} has URL {feed.url}, not under {PLACEHOLDER_ORIGIN}")
        feeds.append(replace(feed, url=base_url + feed.url.removeprefix(PLACEHOLDER_ORIGIN)))
    return replace(config, feeds=tuple(feeds))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the demo folder; request lines are not printed over the demo's output."""

    extensions_map = {  # noqa: RUF012 - the base class declares it a plain class attribute
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".xml": "application/rss+xml",
        ".atom": "application/atom+xml",
    }

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("demo server: " + format, *args)


@contextlib.contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """Serve `folder` over HTTP on 127.0.0.1 (a free port) in a thread; yields the base URL, ending in '/'."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    except OSError as exc:
        raise BotError(f"demo: cannot start the local feed server on 127.0.0.1: {exc}") from exc
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="demo-feed-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _bypass_proxies_for_localhost() -> None:
    """Keep requests to 127.0.0.1 off any HTTP proxy named in the environment (httpx honours those)."""
    if not any(os.environ.get(name) for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")):
        return
    for name in ("NO_PROXY", "no_proxy"):
        hosts = [h for h in os.environ.get(name, "").split(",") if h.strip()]
        if "127.0.0.1" not in hosts:
            os.environ[name] = ",".join([*hosts, "127.0.0.1"])


# =====================================================================================================
# Telegram HTML as terminal text
# =====================================================================================================


class _PlainText(HTMLParser):
    """Telegram's HTML subset as plain text: tags dropped, entities decoded, links as 'label <url>', bold
    as ANSI when asked. Only our formatter's output comes here, so the subset is all it has to know."""

    def __init__(self, *, bold: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.bold = bold
        self.parts: list[str] = []
        self._depth = 0  # nested <b>: bold ends only when the outermost closes
        self._links: list[tuple[str | None, int]] = []  # (href, index in parts where the label starts)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "b":
            if self.bold and self._depth == 0:
                self.parts.append(_BOLD_ON)
            self._depth += 1
        elif tag == "a":
            self._links.append((dict(attrs).get("href"), len(self.parts)))

    def handle_endtag(self, tag: str) -> None:
        if tag == "b" and self._depth:
            self._depth -= 1
            if self.bold and self._depth == 0:
                self.parts.append(_BOLD_OFF)
        elif tag == "a" and self._links:
            href, start = self._links.pop()
            label = "".join(p for p in self.parts[start:] if p not in (_BOLD_ON, _BOLD_OFF)).strip()
            if href and href != label:
                self.parts.append(f" <{href}>")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def text(self) -> str:
        if self.bold and self._depth:
            self.parts.append(_BOLD_OFF)  # never leave the terminal bold
        return "".join(self.parts)


def html_to_text(html: str, *, bold: bool = False) -> str:
    """Telegram HTML (as bot.telegram.messages writes it) as readable text: no tags, entities decoded, links
    as 'label <url>', <b> as ANSI bold when `bold`."""
    parser = _PlainText(bold=bold)
    parser.feed(html)
    parser.close()
    return parser.text()


def buttons_text(rendered: Rendered) -> str:
    """The inline keyboard, one row per line: '[✍️ Write to China's embassy]' or '[label] <url>'."""
    def one(button: Button) -> str:
        return f"[{button.label}]" + (f" <{button.url}>" if button.url else "")

    return "\n".join("  ".join(one(b) for b in row) for row in rendered.buttons)


def _rule(title: str) -> str:
    head = f"── {title} "
    return head + "─" * max(RULE_WIDTH - len(head), 3)


def story_block(story: Story, topic_names: Mapping[str, str], *, number: int, total: int, bold: bool) -> str:
    """One alert as a subscriber sees it, then the story's sources and its actions, as terminal text."""
    view = View(topic_names=dict(topic_names))
    alert = render_alert(story, view=view)
    parts = [
        _rule(f"alert {number} of {total}"),
        html_to_text(alert.text, bold=bold),
        "",
        buttons_text(alert),
        "",
        _rule(f"📖 The story in full ({story_command(story.id)}, every source)"),
        "\n\n".join(html_to_text(message, bold=bold) for message in render_story_full(story, view=view)),
    ]
    if story.actions:
        parts += ["", _rule("✍️ Action cards (one per action button)")]
        cards = (render_action_card(story, action, view=view) for action in story.actions)
        parts.append("\n\n".join(html_to_text(card, bold=bold) for card in cards))
    return "\n".join(parts)


def wrap(text: str, width: int) -> str:
    """Each line of `text` wrapped to `width` columns at spaces (links and long words are never split)."""
    lines: list[str] = []
    for line in text.split("\n"):
        if len(line) <= width:
            lines.append(line)
            continue
        lines.extend(
            textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False, subsequent_indent="  ")
            or [""]
        )
    return "\n".join(lines)


# =====================================================================================================
# The run
# =====================================================================================================


def utc_now() -> datetime:
    """The real clock (aware UTC); tests may pass their own to run_demo."""
    return datetime.now(UTC)


def _open_database(db_path: Path | None, scratch: Path) -> Database:
    if db_path is None:
        db = Database(sqlite_url(scratch / "demo.sqlite3"))
    else:
        # A used file would hold feeds not yet due and stories from before: the demo would show nothing new.
        if db_path.exists() and db_path.stat().st_size > 0:
            raise BotError(f"demo: {db_path} already exists; give --db a new file, or leave --db out")
        if not db_path.parent.is_dir():
            raise BotError(f"demo: {db_path.parent} is not a folder")
        db = Database(sqlite_url(db_path))
    db.upgrade()
    return db


async def _poll(config: Config, db: Database, clock: Clock, user_agent: str) -> CycleReport:
    async with Fetcher(fetch_limits(config, user_agent), concurrency=config.defaults.concurrency) as fetcher:
        poller = Poller(config, db, fetcher, clock, load_gazetteer())
        return await poller.run_cycle()


def _account(report: CycleReport, stories: int, alerts: int) -> DemoAccount:
    new = sum(o.new_items for o in report.outcomes)
    repeats = sum(o.duplicates for o in report.outcomes)
    return DemoAccount(
        feeds=len(report.outcomes), failed=report.failed, items=new + repeats, new_items=new, repeats=repeats,
        matched=sum(o.matched_items for o in report.outcomes), stories=stories, alerts=alerts,
    )


def run_demo(
    out: TextIO, *, db_path: Path | None = None, bold: bool = False, width: int | None = None,
    user_agent: str = "advocacy-bot demo", clock: Clock = utc_now,
) -> DemoAccount:
    """Serve the bundled feeds, poll them once into a fresh SQLite file for one subscriber, print every alert
    the outbox owes that subscriber (with the story's sources and actions), then the account, to `out`.
    `bold`: ANSI bold for <b>; `width`: wrap lines to it (None: never). Raises BotError naming what failed."""
    # Schema migrations and HTTP requests log each step at INFO: plumbing, not what the demo shows.
    for name in ("alembic", "httpx"):
        logger = logging.getLogger(name)
        logger.setLevel(max(logging.WARNING, logger.getEffectiveLevel()))
    _bypass_proxies_for_localhost()
    with demo_folder() as folder, tempfile.TemporaryDirectory(prefix="advocacy-demo-") as scratch:
        db = _open_database(db_path, Path(scratch))
        try:
            with serve_folder(folder) as base_url:
                config = demo_config(folder, base_url)
                print(
                    f"advocacy-bot demo: {len(config.feeds)} sample feeds (invented outlets, texts written for "
                    f"this project) served from {base_url}",
                    file=out, flush=True,
                )
                followed = _subscribe(db, config, clock())
                report = asyncio.run(_poll(config, db, clock, user_agent))
            failures = [o for o in report.outcomes if o.status in ("error", "disabled")]
            if failures:
                detail = "; ".join(f"{o.feed}: {o.error}" for o in failures)
                raise BotError(f"demo: {len(failures)} sample feed(s) failed: {detail}")
            if len(report.outcomes) != len(config.feeds):
                raise BotError(f"demo: only {len(report.outcomes)} of {len(config.feeds)} sample feeds were polled")
            with db.unit_of_work() as uow:
                stories = [uow.stories.get(story_id) for story_id in sorted(uow.stories.all_ids())]
                owed = [
                    e for e in uow.outbox.due(clock(), limit=10_000)
                    if e.chat_id == DEMO_CHAT_ID and e.kind is OutboxKind.ALERT
                ]
        finally:
            db.dispose()
    by_id = {s.id: s for s in stories}
    # In the order the events broke: story ids and outbox order follow which feed happened to be stored first.
    alerts = sorted((by_id[e.story_id] for e in owed), key=_first_published)
    return _print(out, config, report, stories, alerts, followed, bold=bold, width=width)


def _first_published(story: Story) -> tuple[datetime, int]:
    return min((s.published for s in story.sources), default=datetime.max.replace(tzinfo=UTC)), story.id


def _subscribe(db: Database, config: Config, now: datetime) -> tuple[str, ...]:
    """The demo subscriber: a private chat that kept the default topics, as /start leaves a new chat."""
    followed = tuple(t.id for t in config.topics if t.default)
    with db.unit_of_work() as uow:
        uow.feeds.sync(config.feeds, now)
        uow.chats.ensure(DEMO_CHAT_ID, ChatKind.PRIVATE, "Demo subscriber", now)
        uow.chats.subscribe(DEMO_CHAT_ID, followed, now)
    return followed


def _print(
    out: TextIO, config: Config, report: CycleReport, stories: Sequence[Story], alerts: Sequence[Story],
    followed: Sequence[str], *, bold: bool, width: int | None,
) -> DemoAccount:
    topic_names = {t.id: t.name for t in config.topics}
    print(f"a subscriber following the default topics ({', '.join(followed) or 'none'}) gets {len(alerts)} alert(s):",
          file=out)
    for number, story in enumerate(alerts, 1):
        print(file=out)
        block = story_block(story, topic_names, number=number, total=len(alerts), bold=bold)
        print(wrap(block, width) if width else block, file=out)
    alerted = {s.id for s in alerts}
    others = [s for s in stories if s.id not in alerted]
    if others:
        print(file=out)
        print(_rule("stories on topics the subscriber did not choose (no alert)"), file=out)
        for story in others:
            print(f"story #{story.id} [{', '.join(story.topics)}]: {clean(story.title)}", file=out)
    account = _account(report, len(stories), len(alerts))
    print(file=out)
    print(_rule("account"), file=out)
    print(account.line(), file=out)
    print("next: set TELEGRAM_BOT_TOKEN and run `advocacy-bot run` to send these alerts to Telegram chats", file=out)
    out.flush()
    return account
