"""Precision and recall of a topic (default: nk-repatriation) on our labeled items, and its false alarms on
all public negatives (and the UCI headlines), with the time matching takes.

    .venv/bin/python bench/topic_quality.py [--topic ID] [--config FILE] [--data DIR] [--show] [--grid]

Labeled items: tests/fixtures/topics/nk_labeled.tsv (written by the project; see the README there): a title
and a one-sentence teaser, or a news-search "Title - Outlet" with no teaser, in English, Korean and
Chinese; returns told in every phrasing, the responses the topic promises (UN, parliaments, rallies,
families, rights groups), and traps. The split is fixed: an item is in the "tune" half when the first
byte of the BLAKE2b hash of its title is even, else in the "report" half. Thresholds are chosen on tune
(and on the public negatives: zero false alarms); the report half is what the README quotes.

Public negatives: ../shared/eval-public/negative_headlines.tsv (863 headlines) and
kcna_headlines_2024_sample300.json (300 state-media items, headline and first characters as teaser).

--show lists every tune item the topic gets wrong (--show-report: every labeled item) and every public item it
fires on, with the reason;
--grid prints precision/recall on tune and public false alarms for a grid of thresholds and margins.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script from anywhere, without installing the package

from bot.config import load_config  # noqa: E402
from bot.domain import Feed, Item, Topic  # noqa: E402
from bot.ingest.match import CompiledTopic, Decision, compile_topics, decide_items  # noqa: E402
from bot.stories.similarity import DIMENSIONS, Embedder, shared_embedder  # noqa: E402

LABELED = REPO / "tests" / "fixtures" / "topics" / "nk_labeled.tsv"
# Sets written by helpers who saw neither the topic's rule nor nk_labeled.tsv (README there): the first six
# were scored once each ("dev" to "dev6"; most then used to improve the rule); the last is held out ("blind").
DEV = REPO / "tests" / "fixtures" / "topics" / "nk_dev.tsv"
DEV2 = REPO / "tests" / "fixtures" / "topics" / "nk_dev2.tsv"
DEV3 = REPO / "tests" / "fixtures" / "topics" / "nk_dev3.tsv"
DEV4 = REPO / "tests" / "fixtures" / "topics" / "nk_dev4.tsv"
DEV5 = REPO / "tests" / "fixtures" / "topics" / "nk_dev5.tsv"
DEV6 = REPO / "tests" / "fixtures" / "topics" / "nk_dev6.tsv"
BLIND = REPO / "tests" / "fixtures" / "topics" / "nk_blind.tsv"
BLIND2 = REPO / "tests" / "fixtures" / "topics" / "nk_blind2.tsv"
BLIND3 = REPO / "tests" / "fixtures" / "topics" / "nk_blind3.tsv"
DEFAULT_DATA = REPO.parent / "shared" / "eval-public"
NEGATIVES = "negative_headlines.tsv"
KCNA = "kcna_headlines_2024_sample300.json"
UCI = "uci_news_aggregator_subset.csv"  # 2014 business, science, entertainment and health headlines: none on topic
NOW = datetime(2024, 5, 1, tzinfo=UTC)
HALVES = ("tune", "report", "dev", "dev2", "dev3", "dev4", "dev5", "dev6", "blind", "blind2", "blind3")


@dataclass(frozen=True, slots=True)
class Labeled:
    """One item with its label (True: on topic) and half ("tune" or "report")."""

    item: Item
    positive: bool
    half: str


def half_of(title: str) -> str:
    """The fixed split: "tune" when the first byte of the title's BLAKE2b hash is even, else "report"."""
    return "tune" if hashlib.blake2b(title.encode()).digest()[0] % 2 == 0 else "report"


def make_item(n: int, title: str, teaser: str, language: str, source: str) -> Item:
    """An item as a feed of that language would give it (a news-search item has no teaser)."""
    return Item(
        feed=source, outlet=source, guid=f"{source}-{n}", link=f"https://{source}.example/{n}", title=title,
        summary=teaser, content="", language=language, published=NOW, fetched=NOW,
    )


def read_labeled(path: Path = LABELED, half: str | None = None) -> list[Labeled]:
    """The labeled items of the TSV (label, lang, shape, title, teaser), in `half` (default: by hash)."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [
        Labeled(make_item(n, r["title"], r["teaser"] or "", r["lang"], path.stem), r["label"] == "1",
                half or half_of(r["title"]))
        for n, r in enumerate(rows)
    ]


def read_public(data: Path) -> list[Item]:
    """All public negatives as items: the 863 headlines (no teaser) and the 300 KCNA items."""
    with (data / NEGATIVES).open(encoding="utf-8", newline="") as f:
        heads = [row["title"] for row in csv.DictReader(f, delimiter="\t") if row.get("title")]
    kcna = json.loads((data / KCNA).read_text(encoding="utf-8"))
    items = [make_item(n, h, "", "und", "public") for n, h in enumerate(heads)]
    items += [
        make_item(len(heads) + n, r.get("headline", ""), r.get("story_text", ""), "en", "kcna")
        for n, r in enumerate(kcna)
    ]
    return items


def read_uci(data: Path) -> list[Item]:
    """The UCI News Aggregator headlines (titles only, as a news-search feed gives them), when present."""
    if not (data / UCI).is_file():
        return []
    with (data / UCI).open(encoding="utf-8", newline="") as f:
        return [make_item(n, row["TITLE"], "", "en", "uci") for n, row in enumerate(csv.DictReader(f))]


def decide(topic: CompiledTopic, items: Sequence[Item]) -> list[Decision]:
    """The topic's decision on each item, batched per language as a feed would be."""
    out: dict[int, Decision] = {}
    by_language: dict[str, list[int]] = {}
    for n, item in enumerate(items):
        by_language.setdefault(item.language, []).append(n)
    for language, indexes in by_language.items():
        feed = Feed(name=language, url="https://example.org/feed", language=language, interval_seconds=900,
                    outlet=language)
        for n, decisions in zip(indexes, decide_items([topic], [items[i] for i in indexes], feed), strict=True):
            out[n] = decisions[0]
    return [out[n] for n in range(len(items))]


def scores(labeled: Sequence[Labeled], decisions: Sequence[Decision], half: str) -> tuple[float, float, str]:
    """(precision, recall, counts) on one half ("all" for both)."""
    tp = fp = fn = 0
    for entry, decision in zip(labeled, decisions, strict=True):
        if half != "all" and entry.half != half:
            continue
        if decision.matched and entry.positive:
            tp += 1
        elif decision.matched:
            fp += 1
        elif entry.positive:
            fn += 1
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, f"tp {tp} fp {fp} fn {fn}"


class CachedEmbedder(Embedder):
    """The real embedder, remembering each text's vector: to time matching beyond the vector, and to try
    many thresholds without embedding again."""

    def __init__(self) -> None:
        super().__init__()
        self.cache: dict[str, np.ndarray] = {}
        self.real = shared_embedder()

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        missing = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if missing:
            for text, vector in zip(missing, self.real.embed(missing), strict=True):
                self.cache[text] = vector
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.vstack([self.cache[t] for t in texts]).astype(np.float32)


def grid(topic: Topic, labeled: Sequence[Labeled], public: Sequence[Item], embedder: Embedder) -> None:
    """Precision/recall on tune and public false alarms for thresholds x margins."""
    tune = [e for e in labeled if e.half == "tune"]
    print("threshold margin  tune-P  tune-R  public-FA")
    for threshold in np.arange(0.50, 0.76, 0.02):
        for margin in (0.0, 0.02, 0.04, 0.06, 0.08):
            rule = compile_topics([replace(topic, threshold=float(threshold), margin=margin)], embedder)[0]
            p, r, counts = scores(tune, decide(rule, [e.item for e in tune]), "tune")
            fa = sum(1 for d in decide(rule, public) if d.matched)
            print(f"  {threshold:.2f}    {margin:.2f}    {p:.3f}   {r:.3f}   {fa}   ({counts})")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code (2 when the public data is missing)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--topic", default="nk-repatriation")
    parser.add_argument("--config", default=str(REPO / "feeds.yaml"))
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="the eval-public folder")
    parser.add_argument("--show", action="store_true", help="list the mistakes on tune and the public false alarms")
    parser.add_argument("--show-report", action="store_true", help="--show, with the report half's mistakes too")
    parser.add_argument("--grid", action="store_true", help="print a grid of thresholds and margins on tune")
    args = parser.parse_args(argv)
    data = Path(args.data)
    if not (data / NEGATIVES).is_file() or not (data / KCNA).is_file():
        print(f"public data not found in {data}", file=sys.stderr)
        return 2

    config = load_config(args.config)
    embedder = CachedEmbedder()
    configured = {t.id: t for t in config.topics}[args.topic]
    topic = compile_topics([configured], embedder)[0]
    keywords_only = compile_topics([replace(configured, examples=(), near_misses=(), anchor=(),
                                            threshold=None, margin=None)])[0]
    labeled = [*read_labeled(), *read_labeled(DEV, "dev"), *read_labeled(DEV2, "dev2"), *read_labeled(DEV3, "dev3"),
               *read_labeled(DEV4, "dev4"), *read_labeled(DEV5, "dev5"), *read_labeled(DEV6, "dev6"),
               *(read_labeled(BLIND, "blind") if BLIND.exists() else []),
               *(read_labeled(BLIND2, "blind2") if BLIND2.exists() else []),
               *(read_labeled(BLIND3, "blind3") if BLIND3.exists() else [])]
    public = read_public(data)
    if args.grid:
        grid(configured, labeled, public, embedder)
        return 0

    items = [e.item for e in labeled]
    n_pos = sum(1 for e in labeled if e.positive)
    sizes = ", ".join(f"{h} {sum(1 for e in labeled if e.half == h)}" for h in HALVES)
    print(f"{len(labeled)} labeled items ({n_pos} on topic): {sizes}")
    for name, rule in (("keywords only", keywords_only), ("keywords + examples", topic)):
        decisions = decide(rule, items)
        for half in HALVES:
            p, r, counts = scores(labeled, decisions, half)
            print(f"  {name:20s} {half:6s}: precision {p:.3f} recall {r:.3f} ({counts})")
    decisions = decide(topic, items)
    added = sum(1 for d in decisions if d.tier == "examples")
    print(f"  the examples tier added {added} labeled items")

    start = time.perf_counter()
    public_decisions = decide(topic, public)  # embeds the items that reach the examples tier
    first = time.perf_counter() - start
    fired = [(item, d) for item, d in zip(public, public_decisions, strict=True) if d.matched]
    print(f"public negatives: {len(fired)} of {len(public)} fire")
    uci = read_uci(data)
    uci_fired = [(item, d) for item, d in zip(uci, decide(topic, uci), strict=True) if d.matched]
    print(f"UCI headlines: {len(uci_fired)} of {len(uci)} fire")
    fired += uci_fired
    reached = sum(1 for d in public_decisions if d.tier == "examples" or "examples:" in d.reason)
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        decide(topic, public)  # vectors now come from the cache: what is left is matching
        runs.append(time.perf_counter() - start)
    per_item = min(runs) / len(public) * 1000
    print(
        f"timing: {len(public)} public items, {reached} reached the examples tier: {first * 1000:.0f} ms with "
        f"embedding; {min(runs) * 1000:.0f} ms with the vectors given (best of 3): matching costs at most "
        f"{per_item:.3f} ms/item beyond the vector (this still counts making the vector texts)"
    )
    if args.show or args.show_report:
        print("\nmistakes on the labeled items:")
        for entry, d in zip(labeled, decisions, strict=True):
            if d.matched != entry.positive and (entry.half not in ("report", "blind3") or args.show_report):
                label = "MISSED" if entry.positive else "FALSE ALARM"
                print(f"  [{entry.half}] {label}: {entry.item.title} | {entry.item.summary[:60]}\n      {d.reason}")
        print("\npublic false alarms:")
        for item, d in fired:
            print(f"  {item.title[:120]}\n      {d.reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
