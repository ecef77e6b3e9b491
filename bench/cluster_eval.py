"""Measure bot.cluster on public data and its cost per item; thresholds are NOT tuned here.

    .venv/bin/python bench/cluster_eval.py [--items 100000] [--skip-synthetic]

1. UCI News Aggregator subset (headlines with gold STORY ids): greedy clustering in time order through
   cluster_stream (the in-memory form of the storage contract); pairwise precision/recall of "same story".
2. SemEval-2022 task 8 test pairs: Overall <= 1.5 counts as the same story, >= 3 as different (pairs in
   between are skipped); decide() on a one-report profile; pair precision/recall.
   Both are run without facts (no entities, counts or dates: words and near-copies only) and with cheap
   entities (capitalised word runs), a crude stand-in for the real fact extraction.
3. Cost per item over synthetic items (1,000 a day): mean seconds for the first and the last 10,000.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.cluster import Signature, cluster_stream, decide, profile_for, signature  # noqa: E402
from bot.domain import Item  # noqa: E402

EVAL = (ROOT / ".." / "shared" / "eval-public").resolve()
UCI = EVAL / "uci_news_aggregator_subset.csv"
SEMEVAL = EVAL / "semeval2022_task8_testing.csv"
WINDOW = timedelta(days=4)
FOLLOWUP = timedelta(days=45)

# --- helpers -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Score:
    """Pairwise counts of 'same story': true positives, predicted positives, gold positives."""

    tp: int
    predicted: int
    gold: int

    def line(self) -> str:
        """'precision 0.931 recall 0.512 (tp 100, predicted 107, gold 195)'."""
        precision = self.tp / self.predicted if self.predicted else float("nan")
        recall = self.tp / self.gold if self.gold else float("nan")
        return (
            f"precision {precision:.3f} recall {recall:.3f} "
            f"(tp {self.tp}, predicted {self.predicted}, gold {self.gold})"
        )


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def cluster_pair_score(predicted: Sequence[Hashable], gold: Sequence[Hashable]) -> Score:
    """Pairwise agreement of two labelings of the same items, from their contingency table."""
    cells = Counter(zip(predicted, gold, strict=True))
    return Score(
        tp=sum(_pairs(n) for n in cells.values()),
        predicted=sum(_pairs(n) for n in Counter(predicted).values()),
        gold=sum(_pairs(n) for n in Counter(gold).values()),
    )


_CAPS = re.compile(r"\b(?:[A-Z][\w'’.-]*\s+)*[A-Z][\w'’.-]*")
_FUNCTION = frozenset(
    re.findall(
        r"\w+",
        "The A An In On At Of For And But Or To With By From As Is Are Was Were It Its He She They We I This "
        "That These Those His Her Their Our After Before Why How What When Who Will Would Can Could New",
    )
)


def cheap_entities(text: str) -> frozenset[str]:
    """Capitalised word runs not at a sentence start; nothing from Title-Case lines (every word capital)."""
    found: set[str] = set()
    for line in text.splitlines():
        words = re.findall(r"[A-Za-z][\w'’-]*", line)
        if not words or sum(w[0].isupper() for w in words) > 0.6 * len(words):
            continue  # a Title-Case headline: capitals say nothing there
        for m in _CAPS.finditer(line):
            name = " ".join(w for w in m.group().split() if w not in _FUNCTION).strip(" .'’-")
            start = line[: m.start()].rstrip()
            sentence_start = not start or start[-1] in ".!?:\"“"
            if len(name) < 3 or (sentence_start and len(name.split()) < 2):
                continue  # a lone capitalised word opening a sentence is just a sentence opening
            found.add(name)
    return frozenset(sorted(found)[:24])


def split_title(text: str, limit: int = 20) -> tuple[str, str]:
    """(title, body) of a scraped text: its first line, or its first `limit` words when that line runs on."""
    title, _, body = text.partition("\n")
    words = title.split()
    if len(words) > limit:
        return " ".join(words[:limit]), " ".join(words[limit:]) + "\n" + body
    return title, body


def _item(outlet: str, guid: str, title: str, body: str, language: str, when: datetime) -> Item:
    return Item(outlet, outlet, guid, f"https://example.org/{guid}", title, body, "", language, when, when)


def _missing(path: Path) -> bool:
    if path.is_file():
        return False
    print(f"  missing {path}: put the public evaluation files in ../shared/eval-public (see its README)")
    return True


# --- 1. UCI headlines ----------------------------------------------------------------------------------------


def run_uci() -> None:
    print(f"UCI News Aggregator subset ({UCI})")
    if _missing(UCI):
        return
    with UCI.open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r.get("TIMESTAMP") and r.get("STORY")]
    rows = [r for r in rows if r["TIMESTAMP"].isdigit()]  # the truncated last row has no timestamp
    rows.sort(key=lambda r: (int(r["TIMESTAMP"]), int(r["ID"])))
    gold = [r["STORY"] for r in rows]
    print(f"  {len(rows)} headlines, {len(set(gold))} gold stories, {cluster_pair_score(gold, gold).gold} gold pairs")
    for mode in ("no facts", "cheap entities"):
        sigs = []
        for r in rows:
            when = datetime.fromtimestamp(int(r["TIMESTAMP"]) / 1000, tz=UTC)
            item = _item(r["PUBLISHER"], r["ID"], r["TITLE"], "", "en", when)
            entities = cheap_entities(r["TITLE"]) if mode == "cheap entities" else frozenset()
            sigs.append(signature(item, entities=entities))
        start = time.perf_counter()
        predicted = [a.story_id for a in cluster_stream(sigs, window=WINDOW, followup_window=FOLLOWUP)]
        elapsed = time.perf_counter() - start
        score = cluster_pair_score(predicted, gold)
        print(f"  {mode:15s}: {len(set(predicted))} stories; {score.line()}; {elapsed:.1f}s")


# --- 2. SemEval pairs ----------------------------------------------------------------------------------------


def run_semeval() -> None:
    print(f"SemEval-2022 task 8 test pairs ({SEMEVAL})")
    if _missing(SEMEVAL):
        return
    csv.field_size_limit(1 << 30)
    with SEMEVAL.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    when = datetime(2020, 1, 1, tzinfo=UTC)  # the file gives no dates: both reports fall in the window
    for mode in ("no facts", "cheap entities"):
        counts: dict[str, list[int]] = {}
        for r in rows:
            overall = float(r["Overall"])
            if 1.5 < overall < 3:
                continue
            same_gold = overall <= 1.5
            sigs: list[Signature] = []
            for side in ("1", "2"):
                text = r[f"text{side}"].strip()
                title, body = split_title(text)
                entities = cheap_entities(text) if mode == "cheap entities" else frozenset()
                item = _item(f"outlet{side}", f"{r['pair_id']}/{side}", title, body, r[f"lang{side}"], when)
                sigs.append(signature(item, entities=entities))
            decision = decide(sigs[1], [profile_for(1, sigs[0])], window=WINDOW, followup_window=FOLLOWUP)
            same_pred = decision.story_id == 1
            group = "en-en" if r["lang1"] == r["lang2"] == "en" else (
                "same language" if r["lang1"] == r["lang2"] else "cross-language"
            )
            for key in ("all", group):
                c = counts.setdefault(key, [0, 0, 0])
                c[0] += same_gold and same_pred
                c[1] += same_pred
                c[2] += same_gold
        print(f"  {mode}:")
        for key in ("all", "en-en", "same language", "cross-language"):
            tp, predicted, gold = counts.get(key, [0, 0, 0])
            print(f"    {key:15s} {Score(tp, predicted, gold).line()}")


# --- 3. cost per item ----------------------------------------------------------------------------------------


def synthetic_items(n: int, *, per_day: int = 1000, seed: int = 20231009) -> Iterator[Item]:
    """`n` English items in time order: events told 1-8 times over two days, Zipf words, random facts."""
    rng = random.Random(seed)
    vocab = [f"{rng.choice('bcdfghklmnprstvz')}{rng.choice('aeiou')}{i:x}word" for i in range(30000)]
    weights = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(vocab))))
    names = [f"Name{i}" for i in range(20000)]
    start = datetime(2023, 1, 1, tzinfo=UTC)
    span = timedelta(days=n / per_day)
    pending: list[tuple[datetime, Item]] = []
    made = 0
    while made < n:
        first = start + span * rng.random()
        event_words = rng.sample(vocab[2000:], 6)
        entities = rng.sample(names, 3)
        count = rng.randrange(10, 2000)
        day = first.date().isoformat()
        for _ in range(min(1 + int(rng.expovariate(1 / 2)), 8)):
            if made == n:
                break
            when = first + timedelta(hours=48 * rng.random())
            title = " ".join(rng.sample(event_words, 4) + rng.choices(vocab, cum_weights=weights, k=4))
            body = " ".join(rng.choices(event_words, k=15) + rng.choices(vocab, cum_weights=weights, k=45))
            guid = f"{made}|{','.join(rng.sample(entities, 2))}|{count if rng.random() < 0.7 else ''}|{day}"
            pending.append((when, _item(f"outlet{rng.randrange(200)}", guid, title, body, "en", when)))
            made += 1
    pending.sort(key=lambda p: p[0])
    for _, item in pending:
        yield item


def _signatures(items: Iterable[Item]) -> Iterator[Signature]:
    for item in items:
        _, entities, count, day = item.guid.split("|")
        yield signature(
            item,
            entities=frozenset(entities.split(",")),
            numbers=frozenset({int(count)}) if count else frozenset(),
            dates=frozenset({day}),
        )


def run_cost(n: int) -> None:
    print(f"Cost per item: {n} synthetic items, 1,000 a day (signature + keys + lookup + decide + absorb)")
    items = list(synthetic_items(n))
    stream = cluster_stream(_signatures(items), window=WINDOW, followup_window=FOLLOWUP)
    costs: list[float] = []
    stories = set()
    for _ in range(n):
        start = time.perf_counter()
        assigned = next(stream)
        costs.append(time.perf_counter() - start)
        stories.add(assigned.story_id)
    block = min(10000, n // 2)
    first, last = statistics.fmean(costs[:block]), statistics.fmean(costs[-block:])
    print(f"  {len(stories)} stories; total {sum(costs):.1f}s")
    print(f"  mean first {block}: {first * 1000:.3f} ms; last {block}: {last * 1000:.3f} ms; ratio {last / first:.2f}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the three measurements and print their numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--items", type=int, default=100_000, help="synthetic items for the cost run")
    parser.add_argument("--skip-synthetic", action="store_true")
    args = parser.parse_args(argv)
    run_uci()
    run_semeval()
    if not args.skip_synthetic:
        run_cost(args.items)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
