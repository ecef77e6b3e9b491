"""Throughput and memory of the real pipeline on synthetic feeds (the story step's own cost: story_cost.py).

    .venv/bin/python bench/replay_scale.py [--items 10000] [--tracemalloc] [--keep DIR]

Replay: --items synthetic articles (most off-topic; about 10% retellings of North Korean repatriation
   events; a few syndicated copies and re-posts) are written as RSS files, one per feed, into a temporary
   folder, then replayed in-process exactly as `advocacy-bot replay` does (bot.tools.replay.replay into a scratch
   SQLite file, every record serialized with bot.tools.replay.dumps). Prints wall time, items/s and peak memory
   (ru_maxrss of the whole process; with --tracemalloc also the Python heap peak of the replay, which slows
   it down several times), and pairwise precision and recall of "same story" against the synthetic events,
   also counting as one the events no method can tell apart (same count, same crossing, days apart).
Everything is seeded, so two runs write the same feeds; only the timings vary.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from bot.config import Config, load_config  # noqa: E402
from bot.storage.db import Database, sqlite_url  # noqa: E402
from bot.stories.facts import Gazetteer, load_gazetteer  # noqa: E402
from bot.tools.replay import dumps, replay  # noqa: E402

CONFIG = ROOT / "feeds.yaml"
TOPIC = "nk-repatriation"
START = datetime(2024, 3, 1, tzinfo=UTC)
SEED = 20231009

# --- synthetic articles --------------------------------------------------------------------------------------
# Written for this benchmark: vocabulary pools and sentence templates, filled at random with a fixed seed.

CITIES = (
    "Lisbon", "Nairobi", "Osaka", "Denver", "Krakow", "Porto Alegre", "Adelaide", "Leeds", "Bergen", "Tucson",
    "Valencia", "Cebu", "Quito", "Halifax", "Tbilisi", "Cork", "Dresden", "Mombasa", "Perth", "Turin",
)  # fmt: skip
MASCOTS = ("Rovers", "Falcons", "Mariners", "Comets", "Lions", "Wanderers", "Harriers", "Rangers", "Owls", "Stags")
COMPANIES = (
    "Northwind Systems", "Halvard Foods", "Corvex Motors", "Pellucid Bio", "Quayline Shipping", "Arbor Retail",
    "Tessellate Chips", "Brightwater Energy", "Kestrel Air", "Montague Insurance", "Olvera Mining", "Sablefin Media",
)  # fmt: skip
PRODUCTS = ("tablet", "electric van", "heat pump", "smartwatch", "cloud service", "drone", "battery pack", "router")
STORMS = ("Storm Anwen", "Cyclone Belal", "Tropical Storm Kiko", "Storm Ciara", "Typhoon Haikui", "Storm Dara")
REGIONS = ("the northern coast", "the river valley", "the capital region", "the southern islands", "the highlands")
BILLS = ("housing", "pension", "data protection", "farm subsidy", "transport", "school meals", "border tariff")
ILLNESSES = ("measles", "dengue", "seasonal flu", "cholera", "whooping cough")
MOVES = ("rose", "fell", "jumped", "slid", "climbed", "dropped")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

OFF_TOPIC: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "{team} beat {team2} {a}-{b} in front of {homes} fans",
        (
            "{team} came from behind to win {a}-{b} against {team2} on {day}.",
            "The winning goal came in the {minute}th minute after a long spell of pressure.",
            "{team2} remain {rank} in the table with {games} games left to play.",
            "Their coach said the squad had worked hard on set pieces during the week.",
        ),
    ),
    (
        "{company} shares {move} {pct} percent as revenue reaches {money} million dollars",
        (
            "Shares in {company} {move} {pct} percent in early trading on {day}.",
            "The group reported quarterly revenue of {money} million dollars, against forecasts of {money2} million.",
            "Analysts pointed to weaker demand in {city} and rising costs for materials.",
            "The board kept its dividend unchanged and said it would buy back shares.",
        ),
    ),
    (
        "{storm} leaves {homes} homes without power in {region}",
        (
            "{storm} dropped up to {mm} millimetres of rain on {region} overnight into {day}.",
            "About {homes} homes lost power and several roads were closed by flooding.",
            "Forecasters expect the winds to ease by the weekend as the system moves east.",
            "Schools in {city} stayed shut as a precaution.",
        ),
    ),
    (
        "{company} unveils a {money}-dollar {product} in {city}",
        (
            "{company} showed its new {product} at an event in {city} on {day}.",
            "The device goes on sale next month at a price of {money} dollars.",
            "Reviewers praised its battery life but questioned the lack of repair options.",
            "The company said it expects to ship {homes} units in the first year.",
        ),
    ),
    (
        "Parliament in {city} passes {bill} bill by {a}{b} votes to {games}",
        (
            "Lawmakers approved the {bill} bill by {a}{b} votes to {games} on {day}.",
            "Opposition parties said the measure would cost more than the government admits.",
            "The law takes effect in {month}, with a review after two years.",
            "Ministers promised further consultation with local councils.",
        ),
    ),
    (
        "Health officials report {homes} {illness} cases around {city}",
        (
            "Clinics in {city} recorded {homes} cases of {illness} in the past four weeks.",
            "Officials urged parents to check that vaccinations are up to date.",
            "Hospital admissions remain below last year's peak, the health department said on {day}.",
            "A mobile clinic will visit outlying districts from next week.",
        ),
    ),
    (
        "Museum in {city} shows {games}0 {century}th-century textiles from {money} workshops",
        (
            "More than {games}0 pieces are on show, many of them lent by private collectors.",
            "The curators spent {a} years tracing the workshops that made them.",
            "The exhibition runs until {month} and entry is free on {day}s.",
            "A catalogue with new research accompanies the show.",
        ),
    ),
    (
        # A near miss: North Korea in the news, nobody sent back.
        "North Korea fires {a} short-range missiles {mm}0 km into the sea, Seoul says",
        (
            "South Korea's military said it detected the launches from near Pyongyang early on {day}.",
            "The missiles flew about {mm}0 kilometres before falling into the sea.",
            "Tokyo and Seoul condemned the tests and called for a return to talks.",
            "It was the {rank} launch this year.",
        ),
    ),
    (
        # Another near miss: the border towns, but trade rather than people.
        "Trade through Dandong up {pct} percent as {money} freight wagons cross in a week",
        (
            "Cargo trains between Dandong and Sinuiju are running every day again, traders said on {day}.",
            "Shipments of fertiliser and textiles made up most of the freight.",
            "Customs figures showed trade up {pct} percent on the same month last year.",
            "Local officials hope the route will draw more tourists in {month}.",
        ),
    ),
)

# On-topic events: where people were sent back, who reported it, and how the reports are worded.
CROSSINGS = (
    ("Tumen", "Onsong", "Jilin"),
    ("Dandong", "Sinuiju", "Liaoning"),
    ("Changbai", "Hyesan", "Jilin"),
    ("Hunchun", "Rason", "Jilin"),
    ("Nanping", "Musan", "Jilin"),
    ("Ji'an", "Manpo", "Jilin"),
    ("Helong", "Hoeryong", "Jilin"),
)
REPORTERS = (
    "the Transitional Justice Working Group", "Human Rights Watch", "Amnesty International", "the NKDB",
    "Daily NK", "Radio Free Asia", "the Ministry of Unification",
)  # fmt: skip
COUNTS = (3, 5, 7, 12, 20, 35, 48, 60, 80, 110, 150, 200, 300, 400, 600)
GROUPS = ("detainees", "escapees", "defectors", "women and children", "North Koreans")

ON_TITLES = (
    "China sends {count} North Koreans back across the border at {kp}",
    "About {count} North Korean escapees forcibly returned from {cn}, rights group says",
    "{reporter_t} says China repatriated {count} North Koreans through {cn}",
    "Forced return of {count} North Koreans from {province} draws protest",
    "{count} detained North Koreans handed back to Pyongyang via {cn}",
    "Rights groups condemn China's deportation of {count} North Koreans",
)
ON_SENTENCES = (
    "Chinese authorities returned about {count} {group} to North Korea through {cn} on {date_text}, {reporter} said.",
    "The {group} had been held in detention centres in {province} province before being driven to the border.",
    "Vehicles crossed to {kp} on the night of {date_text}, according to people who watched the transfer.",
    "{reporter_c} said many of those returned were women, and urged China to stop the forced repatriations.",
    "Those sent back face interrogation, prison camps and possibly torture, rights groups warned.",
    "China treats North Koreans who cross the border as illegal migrants rather than refugees.",
    "The Foreign Ministry in Beijing did not respond to a request for comment.",
    "Seoul said it had raised the forced returns of North Korean defectors with Chinese officials.",
    "It was the largest such return from {province} reported since the border reopened.",
)
ON_KOREAN = (
    "중국, 탈북민 {count}명 {kp}로 강제 북송",
    (
        "중국 당국이 {date_ko} {cn}에서 탈북민 약 {count}명을 북한으로 강제 북송했다고 인권단체가 밝혔다.",
        "이들은 {province} 지역 구금시설에 수감돼 있었던 것으로 알려졌다.",
        "정부는 강제 북송 문제를 중국 측에 제기했다고 밝혔다.",
    ),
)


@dataclass(frozen=True, slots=True)
class Event:
    """A synthetic repatriation: count, crossing, when, who reported it."""

    number: int
    count: int
    cn: str
    kp: str
    province: str
    day: datetime
    reporter: str


@dataclass(frozen=True, slots=True)
class Article:
    """One synthetic feed entry."""

    feed: int
    link: str
    title: str
    body: str
    published: datetime
    event: int | None  # the synthetic repatriation it retells; None when off-topic


@dataclass(slots=True)
class Corpus:
    """The generated feeds: articles per feed, and what was generated (for the printed summary)."""

    feeds: int
    articles: list[Article] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    events: dict[int, Event] = field(default_factory=dict)  # by number


def _draw(rng: random.Random) -> dict[str, object]:
    teams = rng.sample([f"{c} {m}" for c in CITIES[:10] for m in MASCOTS[:4]], 2)
    values: dict[str, object] = {
        "team": teams[0], "team2": teams[1], "a": rng.randint(1, 5), "b": rng.randint(0, 4),
        "city": rng.choice(CITIES), "day": rng.choice(WEEKDAYS), "minute": rng.randint(10, 89),
        "rank": rng.choice(("second", "third", "fifth", "eighth", "tenth")), "games": rng.randint(3, 19),
        "company": rng.choice(COMPANIES), "move": rng.choice(MOVES), "pct": rng.randint(2, 19),
        "money": rng.randint(40, 900), "money2": rng.randint(40, 900), "storm": rng.choice(STORMS),
        "region": rng.choice(REGIONS), "mm": rng.randint(30, 250), "homes": rng.randint(200, 90000),
        "product": rng.choice(PRODUCTS), "bill": rng.choice(BILLS), "illness": rng.choice(ILLNESSES),
        "month": rng.choice(("March", "June", "September", "December")), "century": rng.randint(14, 19),
    }  # fmt: skip
    return values


def _fill(template: str, rng: random.Random, **known: object) -> str:
    values = _draw(rng)
    values.update(known)
    return template.format(**values)


def off_topic(rng: random.Random) -> tuple[str, str]:
    """A title and body for an article on anything but forced returns."""
    title_t, sentences = rng.choice(OFF_TOPIC)
    # The title's subject and numbers are drawn once, so that the body tells of the same thing.
    known = _draw(rng)
    title = _fill(title_t, rng, **known)
    # Keep the first sentence (it names the subject), then a random order of the rest.
    picked = [sentences[0], *rng.sample(sentences[1:], rng.randint(1, len(sentences) - 1))]
    body = " ".join(_fill(s, rng, **known) for s in picked)
    return title, body


def new_event(number: int, rng: random.Random, day: datetime) -> Event:
    """A repatriation event on `day`."""
    cn, kp, province = rng.choice(CROSSINGS)
    return Event(number, rng.choice(COUNTS), cn, kp, province, day, rng.choice(REPORTERS))


def on_topic(event: Event, rng: random.Random) -> tuple[str, str]:
    """One outlet's retelling of `event`: a different title and a different choice and order of sentences."""
    reporter = event.reporter
    known: dict[str, object] = {
        "count": event.count, "cn": event.cn, "kp": event.kp, "province": event.province,
        "date_text": f"{event.day.day} {event.day.strftime('%B')}", "reporter": reporter,
        "reporter_t": reporter.removeprefix("the ").replace("Transitional", "The Transitional"),
        "reporter_c": reporter[0].upper() + reporter[1:], "group": rng.choice(GROUPS),
        "date_ko": f"{event.day.month}월 {event.day.day}일",
    }  # fmt: skip
    if rng.random() < 0.15:
        title_t, sentences = ON_KOREAN
        return title_t.format(**known), " ".join(s.format(**known) for s in sentences)
    title = rng.choice(ON_TITLES).format(**known)
    rest = rng.sample(ON_SENTENCES[1:], rng.randint(2, 5))
    body = " ".join(s.format(**known) for s in [ON_SENTENCES[0], *rest])
    return title, body


def span_days(n: int) -> float:
    """How many days `n` generated items are spread over: about 800 a day, at least a week."""
    return max(7.0, n / 800)


def generate(n: int, feeds: int, *, on_share: float = 0.1, dup_share: float = 0.03, seed: int = SEED) -> Corpus:
    """`n` articles over `feeds` feeds and max(7, n/800) days; on-topic events are retold 2-15 times."""
    rng = random.Random(seed)
    corpus = Corpus(feeds)
    days = span_days(n)
    event: Event | None = None
    retellings = 0
    events = 0
    for k in range(n):
        published = START + timedelta(days=days * k / n, minutes=rng.randint(0, 59))
        feed = rng.randrange(feeds)
        roll = rng.random()
        if roll < dup_share and corpus.articles:
            # A syndicated copy (same link in another feed) or a re-post (same title, new link, same feed).
            original = rng.choice(corpus.articles[-200:])
            if rng.random() < 0.5:
                copy = Article((original.feed + 1) % feeds, original.link, original.title, original.body,
                               published, original.event)  # fmt: skip
                corpus.kinds["syndicated copy"] += 1
            else:
                copy = Article(original.feed, f"https://feed{original.feed}.example/a/{k}", original.title,
                               original.body, published, original.event)  # fmt: skip
                corpus.kinds["re-post"] += 1
            corpus.articles.append(copy)
            continue
        if roll < dup_share + on_share:
            if event is None or retellings == 0 or (published - event.day) > timedelta(days=2):
                events += 1
                event = new_event(events, rng, published - timedelta(hours=rng.randint(6, 30)))
                corpus.events[events] = event
                retellings = rng.randint(2, 15)
            retellings -= 1
            title, body = on_topic(event, rng)
            corpus.kinds["on-topic"] += 1
            link = f"https://feed{feed}.example/a/{k}"
            corpus.articles.append(Article(feed, link, title, body, published, event.number))
            continue
        title, body = off_topic(rng)
        corpus.kinds["off-topic"] += 1
        corpus.articles.append(Article(feed, f"https://feed{feed}.example/a/{k}", title, body, published, None))
    corpus.kinds["events"] = events
    return corpus


def write_feeds(corpus: Corpus, folder: Path) -> list[Path]:
    """One RSS 2.0 file per feed, newest entry first as feeds publish them."""
    paths: list[Path] = []
    for feed in range(corpus.feeds):
        entries = sorted((a for a in corpus.articles if a.feed == feed), key=lambda a: a.published, reverse=True)
        parts = [
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
            f"<title>Synthetic Feed {feed:03d}</title><link>https://feed{feed}.example/</link>",
            "<description>generated by bench/replay_scale.py</description>",
        ]
        for a in entries:
            parts.append(
                f"<item><title>{escape(a.title)}</title><link>{escape(a.link)}</link>"
                f"<guid isPermaLink=\"false\">{escape(a.link)}#{a.published.timestamp():.0f}</guid>"
                f"<pubDate>{format_datetime(a.published)}</pubDate>"
                f"<description>{escape(a.body)}</description></item>"
            )
        parts.append("</channel></rss>\n")
        path = folder / f"feed{feed:03d}.xml"
        path.write_text("\n".join(parts), encoding="utf-8")
        paths.append(path)
    return paths


# --- 1. replay throughput ------------------------------------------------------------------------------------


def _maxrss_mb() -> float:
    # Linux reports kilobytes (macOS bytes); this benchmark runs on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pair_counts(grouped: Sequence[tuple[object, int]]) -> tuple[int, int, int]:
    """(same event and story, same story, same event) pair counts, from the contingency table."""

    def pairs(counts: Counter[object]) -> int:
        return sum(n * (n - 1) // 2 for n in counts.values())

    return pairs(Counter(grouped)), pairs(Counter(s for _, s in grouped)), pairs(Counter(e for e, _ in grouped))


def bench_replay(n: int, feeds: int, folder: Path, config: Config, gazetteer: Gazetteer, *, trace: bool) -> None:
    """Generate, write and replay `n` items; print the timings and memory."""
    t0 = time.perf_counter()
    corpus = generate(n, feeds)
    files = write_feeds(corpus, folder)
    size = sum(p.stat().st_size for p in files)
    t1 = time.perf_counter()
    kinds = ", ".join(f"{v} {k}" for k, v in sorted(corpus.kinds.items()))
    print(f"replay: {n} items in {len(files)} RSS files ({size / 1e6:.1f} MB) over {span_days(n):.1f} days: {kinds}")
    print(f"  generated and written in {t1 - t0:.1f} s; ru_maxrss before replay {_maxrss_mb():.0f} MB")

    db = Database(sqlite_url(folder / "replay.sqlite3"))
    records: Counter[str] = Counter()
    matched = duplicates = 0
    stories: set[int] = set()
    event_of = {a.link: a.event for a in corpus.articles}
    grouped: list[tuple[int, int]] = []  # (synthetic event, story) of stored on-topic items
    try:
        t2 = time.perf_counter()
        db.upgrade()
        t3, c3 = time.perf_counter(), time.process_time()
        if trace:
            tracemalloc.start()
        for record in replay(config, [folder], db, START + timedelta(days=400), gazetteer):
            dumps(record)  # the CLI prints every record; its serialization is part of the cost
            records[str(record["type"])] += 1
            if record["type"] == "item":
                matched += bool(record["topics"])
                duplicates += record["duplicate_of"] is not None
                if record["story"] is not None:
                    stories.add(int(record["story"]))
                    event = event_of.get(str(record["link"]))
                    if event is not None and record["duplicate_of"] is None:
                        grouped.append((event, int(record["story"])))
        t4, c4 = time.perf_counter(), time.process_time()
        heap = tracemalloc.get_traced_memory()[1] if trace else None
        if trace:
            tracemalloc.stop()
    finally:
        db.dispose()
    items = records["item"]
    print(f"  schema upgrade: {t3 - t2:.2f} s")
    print(
        f"  replay: {t4 - t3:.1f} s wall ({c4 - c3:.1f} s CPU) for {items} items = {items / (t4 - t3):.0f} items/s "
        f"wall, {items / (c4 - c3):.0f} items/s CPU"
    )
    print(
        f"  {matched} matched a topic, {duplicates} duplicates, {len(stories)} stories, "
        f"{records['error']} file errors"
    )
    tp, predicted, gold = _pair_counts(grouped)
    print(
        f"  same story on the synthetic events (template text: a smoke check, not a quality measure): "
        f"precision {tp / predicted if predicted else 1:.3f}, recall {tp / gold if gold else 1:.3f} "
        f"over {len(grouped)} stored on-topic items in stories"
    )
    # Events are drawn from 7 crossings and 15 counts, so some days later one repeats another's count and
    # crossing, with only the reporter to tell them apart; no method can, so this line shows what is left.
    twins = {number: (event.count, event.cn) for number, event in corpus.events.items()}
    tp2, predicted2, _ = _pair_counts([(twins[e], s) for e, s in grouped])
    print(
        f"  precision counting events with the same count and crossing as one: "
        f"{tp2 / predicted2 if predicted2 else 1:.3f}"
    )
    sizes = sorted(Counter(story for _, story in grouped).values(), reverse=True)
    if sizes:
        print(f"  largest stories (sources): {', '.join(map(str, sizes[:8]))}")
    print(f"  peak memory: ru_maxrss {_maxrss_mb():.0f} MB (whole process)", end="")
    print(f", tracemalloc peak {heap / 1e6:.0f} MB (replay only)" if heap is not None else "")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--items", type=int, default=10_000, help="synthetic items to replay (default 10000)")
    parser.add_argument("--feeds", type=int, default=0, help="feeds to spread them over (default items/250, >= 5)")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace the Python heap (slow)")
    parser.add_argument("--keep", type=Path, help="write feeds and databases here instead of a temporary folder")
    args = parser.parse_args(argv)
    feeds = args.feeds or max(5, args.items // 250)

    # Read once: the configuration and the gazetteer (compiling its patterns) are start-up costs, not per item.
    started = time.perf_counter()
    config = load_config(CONFIG)
    gazetteer = load_gazetteer()
    print(f"start-up (feeds.yaml, gazetteer): {time.perf_counter() - started:.2f} s")
    with tempfile.TemporaryDirectory(prefix="replay-scale-") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        feed_folder = folder / "feeds"
        feed_folder.mkdir(exist_ok=True)
        bench_replay(args.items, feeds, feed_folder, config, gazetteer, trace=args.tracemalloc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
