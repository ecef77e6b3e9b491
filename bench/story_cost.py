"""What the story step costs: a join into a story of 10 members against one of 10,000, and ms per item.

    .venv/bin/python bench/story_cost.py [--sizes 10,10000] [--probes 30] [--batch 300]

1. Join cost by story size. For each size N a scratch SQLite file gets one story of N members, built by the
   real step (bot.stories.step.place_pending) from stored reports whose vectors all lie close together
   (random, seeded: the members' text does not matter to the cost). Then --probes new reports per size,
   one at a time and alternating between the sizes, are stored with their analysis and placed
   (`place_stories`, as a poll cycle does); each joins the big story. Printed: median and p90 ms per
   placement, and the ratio largest/smallest (target <= 1.5).
2. Per item, batched: --batch matched reports in three languages (the realistic fixtures' items) are
   analysed (clean text, facts, the sentence vector in one batch) and placed, as one cycle would; the
   total is divided by the count (target <= 5 ms per item, vector included). The model is loaded before
   timing: it loads once per process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

# As `bot` sets it for the bot itself (see bot/__init__.py): numpy is imported here first.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import load_config  # noqa: E402
from bot.domain import Analysis, Facts, Feed, Item  # noqa: E402
from bot.ingest.parse import normalize_title, parse_feed  # noqa: E402
from bot.pipeline import place_stories, story_rules  # noqa: E402
from bot.storage.db import Database, sqlite_url  # noqa: E402
from bot.stories.analyse import analyse  # noqa: E402
from bot.stories.facts import load_gazetteer  # noqa: E402
from bot.stories.similarity import DIMENSIONS, shared_embedder, to_bytes  # noqa: E402
from bot.stories.step import StoryRules, analyse_new  # noqa: E402

START = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
FEED = Feed(name="Bench", url="https://bench.example/feed.xml", language="en", interval_seconds=600,
            outlet="Bench")
TOPIC = "nk-repatriation"
REALISTIC = ROOT / "tests" / "fixtures" / "realistic"


def _item(n: int, published: datetime) -> Item:
    link = f"https://bench.example/{n}"
    return Item(feed=FEED.name, outlet=f"Outlet {n % 40}", guid=link, link=link, title=f"Report {n}",
                summary="", content="", language="en", published=published, fetched=published)


def _analysis(vector: np.ndarray, version: str) -> Analysis:
    return Analysis(language="en", text="", facts=Facts(), entities=frozenset(), numbers=frozenset(),
                    places=frozenset(), vector=to_bytes(vector), version=version)


def _near(rng: np.random.Generator, centre: np.ndarray) -> np.ndarray:
    v = centre + rng.normal(0, 0.01, DIMENSIONS).astype(np.float32)
    return v / np.linalg.norm(v)


def build(db: Database, size: int, rules: StoryRules) -> np.ndarray:
    """One story of `size` members made by the real step; returns the direction its members lie near."""
    rng = np.random.default_rng(size)
    centre = rng.normal(0, 1, DIMENSIONS).astype(np.float32)
    centre /= np.linalg.norm(centre)
    span = timedelta(hours=20) / max(size, 1)
    with db.unit_of_work() as uow:
        uow.feeds.sync([FEED], START)
        for n in range(size):
            item = _item(n, START + span * n)
            item_id = uow.items.add(item, title_key=normalize_title(item.title), topics=(TOPIC,))
            uow.analyses.add(item_id, item.title, _analysis(_near(rng, centre), rules.version))
    while True:  # the step places a bounded number of reports per run
        with db.unit_of_work() as uow:
            if not place_stories(uow, rules, START + timedelta(days=1)).placed:
                break
    with db.unit_of_work() as uow:
        assert uow.stories.count() == 1, "the seeded reports did not make one story"
    return centre


def probe(db: Database, size: int, k: int, centre: np.ndarray, rules: StoryRules) -> float:
    """Store the k-th new report near the story, then time placing it (as a cycle does); ms."""
    rng = np.random.default_rng(size * 1000 + k)
    when = START + timedelta(hours=21, minutes=k)
    with db.unit_of_work() as uow:
        item = _item(size + k, when)
        item_id = uow.items.add(item, title_key=normalize_title(item.title), topics=(TOPIC,))
        uow.analyses.add(item_id, item.title, _analysis(_near(rng, centre), rules.version))
    started = time.perf_counter()
    with db.unit_of_work() as uow:
        report = place_stories(uow, rules, when)
    took = (time.perf_counter() - started) * 1000
    assert len(report.placed) == 1 and not report.created, "a probe did not join the story"
    return took


def realistic_items(limit: int) -> list[Item]:
    """The realistic fixtures' items, repeated with fresh links up to `limit`."""
    items: list[Item] = []
    for path in sorted(REALISTIC.glob("*.xml")):
        parsed = parse_feed(path.read_bytes(), feed=FEED, fetched=START, base_url=FEED.url)
        items.extend(parsed.items)
    out = [items[n % len(items)] for n in range(limit)]
    return [Item(**{**_fields(i), "link": f"{i.link}#{n}", "guid": f"{i.guid}#{n}"}) for n, i in enumerate(out)]


def _fields(item: Item) -> dict[str, object]:
    return {name: getattr(item, name) for name in item.__dataclass_fields__}


def per_item(db: Database, batch: int, rules: StoryRules) -> tuple[float, float]:
    """ms per item for analysing (vector included) and for placing `batch` matched reports as one cycle."""
    items = realistic_items(batch)
    with db.unit_of_work() as uow:
        uow.feeds.sync([FEED], START)
        ids = [uow.items.add(i, title_key=normalize_title(i.title) + str(n), topics=(TOPIC,))
               for n, i in enumerate(items)]
    started = time.perf_counter()
    with db.unit_of_work() as uow:
        analyse_new(uow, list(zip(ids, items, strict=True)), rules)
    analysed = time.perf_counter() - started
    started = time.perf_counter()
    with db.unit_of_work() as uow:
        place_stories(uow, rules, START + timedelta(days=30))
    placed = time.perf_counter() - started
    return analysed * 1000 / batch, placed * 1000 / batch


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="10,10000")
    parser.add_argument("--probes", type=int, default=30)
    parser.add_argument("--batch", type=int, default=300)
    args = parser.parse_args(argv)
    config = load_config(ROOT / "feeds.yaml")
    rules = story_rules(config, load_gazetteer())
    started = time.perf_counter()
    analyse([_item(0, START)], rules.gazetteer, shared_embedder())
    print(f"model load and first vector: {time.perf_counter() - started:.2f} s (once per process)")
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="story-cost-") as scratch:
        dbs = {size: Database(sqlite_url(Path(scratch) / f"size-{size}.sqlite3")) for size in sizes}
        centres = {}
        for size, db in dbs.items():
            db.upgrade()
            centres[size] = build(db, size, rules)
        # Probes alternate between the sizes, so a busy moment of the machine falls on all of them alike.
        timings: dict[int, list[float]] = {size: [] for size in sizes}
        for k in range(args.probes):
            for size, db in dbs.items():
                timings[size].append(probe(db, size, k, centres[size], rules))
        medians = {size: statistics.median(t) for size, t in timings.items()}
        for size in sizes:
            p90 = statistics.quantiles(timings[size], n=10)[-1]
            print(f"join into a story of {size:>6,} members: median {medians[size]:.2f} ms, p90 {p90:.2f} ms")
            dbs[size].dispose()
        if len(medians) > 1:
            ratio = medians[max(medians)] / medians[min(medians)]
            print(f"ratio largest/smallest: {ratio:.2f} (target <= 1.5)")
        db = Database(sqlite_url(Path(scratch) / "batch.sqlite3"))
        db.upgrade()
        analysed, placed = per_item(db, args.batch, rules)
        print(f"{args.batch} matched reports in one cycle: analyse {analysed:.2f} ms/item (vector included), "
              f"place {placed:.2f} ms/item, total {analysed + placed:.2f} ms/item (target <= 5)")
        db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
