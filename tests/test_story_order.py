"""The five seed articles as five feeds: one cycle gives the same stories whatever order the feeds answer in.

The seeds (../shared/seeds) are one event told by four outlets (the December 2023 report that some 600
people returned in October had vanished: 000, 001, 003, 004) and an earlier report of the returns
themselves (002). Each is served as a one-item feed whose description is the page text, clutter and all,
as a full-content feed gives it; the seeds' text is read at test time, never copied here. The feeds are
delayed so that they finish in a chosen order: the story step places the cycle's reports together, in
published-time order, so the order of arrival must not change the stories.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from bot.storage.db import Database
from bot.stories.facts import Gazetteer, load_gazetteer
from bot.stories.similarity import shared_embedder
from tests.support.feedserver import FeedServer
from tests.test_pipeline import Clock, make_config, poll

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
NOW = datetime(2023, 12, 16, 12, 0, tzinfo=UTC)
# When each seed's item says it was published: the vanished report over two days, 002 weeks before.
PUBLISHED = {"000": NOW - timedelta(hours=40), "001": NOW - timedelta(hours=30), "002": NOW - timedelta(days=40),
             "003": NOW - timedelta(hours=20), "004": NOW - timedelta(hours=6)}
ONE_EVENT = {"000", "001", "003", "004"}

pytestmark = pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not checked out beside the repo")


def headline(lines: list[str]) -> str:
    """The seed page's headline: its first line of 6 to 25 words that is not a sentence or cookie text."""
    for line in lines:
        words = line.split()
        if 6 <= len(words) <= 25 and not line.rstrip().endswith(".") and "cookie" not in line.lower():
            return line.strip()
    raise AssertionError("no headline found in a seed")


def seed_feed(path: Path, published: datetime) -> bytes:
    """An RSS feed with the seed page as its one item: the headline, and the page's blocks as paragraphs."""
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    title = headline(lines)
    body = "".join(f"<p>{escape(line)}</p>" for line in lines)
    link = f"https://seed{path.name[:3]}.example.org/story"
    stamp = published.strftime("%a, %d %b %Y %H:%M:%S +0000")
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Seed {path.name[:3]}</title>'
        f"<link>https://seed{path.name[:3]}.example.org/</link><description>seed</description>"
        f"<item><title>{escape(title)}</title><link>{link}</link><guid>{link}</guid><pubDate>{stamp}</pubDate>"
        f"<description>{escape(body)}</description></item></channel></rss>"
    ).encode()


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    shared_embedder().embed(["warm up"])  # the model loads once, before the feeds' delays start counting
    return load_gazetteer()


def grouping(db: Database) -> set[frozenset[str]]:
    """The seeds each story holds, by the number in their links."""
    with db.unit_of_work() as uow:
        stories = uow.stories.recent(50)
    seed = re.compile(r"seed(\d{3})\.")
    return {frozenset(m.group(1) for s in story.sources if (m := seed.search(s.link))) for story in stories}


ORDERS = ["01234", "43210", "24103", "31402", "10432"]


@pytest.mark.parametrize("order", ORDERS)
def test_the_seeds_give_the_same_stories_in_any_order_of_arrival(
    order: str, feed_server: FeedServer, database: Database, gazetteer: Gazetteer
) -> None:
    paths = sorted(SEEDS.glob("*.txt"))
    feeds = {}
    for rank, index in enumerate(order):
        path = paths[int(index)]
        name = path.name[:3]
        # Later in the order answers later: 0.3 s apart (within the 2 s fetch timeout) is more than the
        # parse and store of one item; on a loaded machine two may swap, which only makes another order.
        feed_server.add(f"/{name}.xml", seed_feed(path, PUBLISHED[name]), delay=0.3 * rank)
        feeds[f"Seed {name}"] = f"/{name}.xml"
    report = poll(make_config(feed_server, feeds), database, Clock(NOW), gazetteer)
    assert all(o.status == "ok" and o.matched_items == 1 for o in report.outcomes), report.outcomes
    assert grouping(database) == {frozenset(ONE_EVENT), frozenset({"002"})}
