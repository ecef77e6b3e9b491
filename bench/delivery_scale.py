"""Delivery at scale: one urgent story to many subscribed chats through the fake Bot API enforcing Telegram's limits.

    .venv/bin/python bench/delivery_scale.py [--chats 10000] [--concurrency 8] [--per-second 28] [--server-gc]

The fake Bot API server (tests/support/fake_telegram.py) runs in a child process on 127.0.0.1 with
enforce_limits(per_chat_per_second=1, global_per_second=30, group_per_minute=20): a send beyond any of
them is answered 429 with retry_after, as Telegram does. The parent holds a migrated SQLite file with
--chats private chats subscribed to the topic, stores one urgent story, writes its outbox rows (as the
pipeline does) and runs the real Deliverer with TelegramSender over python-telegram-bot until nothing
is pending. Printed: messages a second sustained (first to last successful send, as the server saw
them), 429s received, chats missed, chats sent twice, rows by status, and the ratio to the target of
27 messages a second (90% of Telegram's 30).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import multiprocessing
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telegram import Bot  # noqa: E402
from telegram.request import HTTPXRequest  # noqa: E402

from bot.delivery.deliverer import Deliverer, DeliveryReport  # noqa: E402
from bot.delivery.ratelimit import Limits, Pacer  # noqa: E402
from bot.domain import (  # noqa: E402
    ChatKind,
    Facts,
    Feed,
    Item,
    StoryContent,
    Urgency,
)
from bot.storage.db import Database, sqlite_url  # noqa: E402
from bot.telegram.sender import TelegramSender  # noqa: E402
from tests.support.fake_telegram import FakeTelegram  # noqa: E402

TARGET = 27.0  # messages a second: 90% of Telegram's documented 30
TOPIC = "nk-repatriation"
FIRST_CHAT = 10_000_000


@dataclass(frozen=True, slots=True)
class ServerFigures:
    """What the fake server saw: successful sends per chat, 429s, and the first and last send times."""

    sends: dict[int, int]
    too_many: int
    first: float
    last: float
    stalls: int  # gaps of more than 100 ms between two sends arriving (the bot or the server stalled)
    longest_gap: float


def serve(chats: int, pipe: Connection, collect: bool) -> None:
    """Child process: a FakeTelegram with `chats` private chats and Telegram's limits, until told to stop."""
    if not collect:
        # The fake keeps every call it answered; collecting that heap pauses all its threads for ~100 ms,
        # after which the requests queued meanwhile arrive at once. Telegram's servers do not pause with
        # this bot's traffic, so by default the stand-in does not either (--server-gc to see the effect).
        gc.disable()
    server = FakeTelegram()
    for n in range(chats):
        server.private_chat(server.user(FIRST_CHAT + n, f"Reader {n}"))
    server.enforce_limits(per_chat_per_second=1, global_per_second=30, group_per_minute=20)
    server.start()
    pipe.send((server.token, server.base_url))
    pipe.recv()  # "stop"
    ok = [call for call in server.calls if call.method == "sendMessage" and call.ok]
    sends = Counter(call.result["chat"]["id"] for call in ok)
    times = sorted(call.at for call in ok)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    pipe.send(
        ServerFigures(
            dict(sends), server.too_many_requests, min(times, default=0.0), max(times, default=0.0),
            sum(1 for gap in gaps if gap > 0.1), max(gaps, default=0.0),
        )
    )
    server.stop()


def prepare(db: Database, chats: int, now: datetime) -> None:
    """Subscribe the chats, store one urgent story and write its outbox rows (the pipeline's last step)."""
    before = now - timedelta(days=1)
    with db.unit_of_work() as uow:
        for n in range(chats):
            uow.chats.ensure(FIRST_CHAT + n, ChatKind.PRIVATE, f"Reader {n}", before)
            uow.chats.subscribe(FIRST_CHAT + n, [TOPIC], before)
    with db.unit_of_work() as uow:
        content = StoryContent(
            title="Hundreds of escapees forced back across the border overnight",
            summary="Rights groups report buses leaving detention centres in Jilin for the river crossings.",
            facts=Facts(count_low=500, count_high=600, places=("Tumen",), outlets=1),
            urgency=Urgency.URGENT, topics=(TOPIC,), actions=(), language="en",
            first_published=now, last_published=now, source_count=1,
        )
        story_id = uow.stories.create(content, None, now)
        feed = Feed(name="wire", url="https://wire.example/rss", language="en", interval_seconds=900, outlet="Wire")
        uow.feeds.sync([feed], now)
        item = Item(
            feed="wire", outlet="Wire", guid="g1", link="https://wire.example/1", title=content.title,
            summary="", content="", language="en", published=now, fetched=now,
        )
        uow.stories.attach(uow.items.add(item, title_key="g1", topics=[TOPIC]), story_id)
        rows = uow.outbox.enqueue(story_id, now)
    if rows != chats:
        raise SystemExit(f"expected {chats} outbox rows, got {rows}")


async def deliver(db: Database, token: str, base_url: str, concurrency: int, per_second: float) -> DeliveryReport:
    request = HTTPXRequest(connection_pool_size=concurrency * 2)
    async with Bot(token, base_url=base_url, request=request) as bot:
        deliverer = Deliverer(
            db, TelegramSender(bot, {TOPIC: "Forced repatriation"}), lambda: datetime.now(UTC),
            pacer=Pacer(Limits(per_second=per_second)), concurrency=concurrency,
        )
        total = DeliveryReport()
        while True:
            report = await deliverer.drain()
            total = DeliveryReport(
                total.sent + report.sent, total.edited + report.edited, total.retried + report.retried,
                total.failed + report.failed, total.deactivated + report.deactivated,
                total.postponed + report.postponed,
            )
            with db.unit_of_work() as uow:
                if uow.outbox.pending_count() == 0:
                    return total
            await asyncio.sleep(0.5)  # something was postponed: the scheduler would tick again


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--per-second", type=float, default=Limits().per_second, help="the pacer's overall rate")
    parser.add_argument("--server-gc", action="store_true", help="leave the fake server's garbage collector on")
    args = parser.parse_args(argv)

    parent, child = multiprocessing.Pipe()
    context = multiprocessing.get_context("fork")
    process = context.Process(target=serve, args=(args.chats, child, args.server_gc), daemon=True)
    process.start()
    token, base_url = parent.recv()
    with tempfile.TemporaryDirectory() as folder:
        db = Database(sqlite_url(Path(folder) / "bench.sqlite3"))
        db.upgrade()
        prepare(db, args.chats, datetime.now(UTC))
        started = time.monotonic()
        report = asyncio.run(deliver(db, token, base_url, args.concurrency, args.per_second))
        wall = time.monotonic() - started
        with db.unit_of_work() as uow:
            statuses = uow.outbox.counts()
        db.dispose()
    parent.send("stop")
    figures: ServerFigures = parent.recv()
    process.join(timeout=10)

    sent = sum(figures.sends.values())
    span = figures.last - figures.first
    rate = (sent - 1) / span if sent > 1 and span > 0 else 0.0
    missed = args.chats - len(figures.sends)
    twice = sum(1 for count in figures.sends.values() if count > 1)
    print(f"chats                {args.chats}")
    print(f"concurrency          {args.concurrency}, pacer {args.per_second:g}/s")
    print(f"wall time            {wall:.1f} s (drain until nothing pending)")
    print(f"messages sent        {sent} (deliverer: {report})")
    print(f"sustained rate       {rate:.2f} messages/s over {span:.1f} s")
    print(f"ratio to target      {rate / TARGET:.3f} (target {TARGET:g}/s)")
    print(f"429s received        {figures.too_many}")
    print(f"arrival stalls       {figures.stalls} gaps over 100 ms, longest {figures.longest_gap * 1000:.0f} ms")
    print(f"chats missed         {missed}")
    print(f"chats sent twice     {twice}")
    print(f"outbox rows          {statuses}")
    ok = rate >= TARGET and figures.too_many == 0 and missed == 0 and twice == 0
    print("result               " + ("target met" if ok else "TARGET MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
