"""Story grouping measured on public data nobody on the project wrote, with a fixed split.

    python bench/story_public.py                 # report half, production thresholds
    python bench/story_public.py --tune          # tune half: a grid of thresholds to choose from

- UCI News Aggregator headlines (../shared/eval-public): titles only, as a news-search feed gives them,
  streamed in publication order through the production analysis and placement (bot.stories); pairwise
  precision and recall against the gold story ids. The split is by story id (a hash): each half holds
  whole stories, so a half is a stream of its own.
- SemEval-2022 Task 8 pairs: the first 320 characters of each article (title and lead, the shape of a feed
  teaser); same story = Overall <= 2. A pair is joined by the production rule for two reports; F1 on
  English pairs and on pairs in two different languages. The split is by pair id (a hash).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.domain import Item  # noqa: E402
from bot.facts import load_gazetteer  # noqa: E402
from bot.stories.analyse import analyse  # noqa: E402
from bot.stories.assign import OpenStory, Report, Thresholds, decide, place  # noqa: E402
from bot.stories.similarity import shared_embedder  # noqa: E402

PUBLIC = ROOT.parent / "shared" / "eval-public"
WINDOW = timedelta(days=4)
FOLLOWUP = timedelta(days=45)
TEASER_CHARS = 320


def half(key: str) -> str:
    """'tune' or 'report', fixed by a hash of the key."""
    return "tune" if int(hashlib.sha1(key.encode()).hexdigest(), 16) % 2 == 0 else "report"


def uci_items(which: str) -> tuple[list[Item], list[str]]:
    items: list[Item] = []
    gold: list[str] = []
    csv.field_size_limit(10**9)
    with (PUBLIC / "uci_news_aggregator_subset.csv").open(newline="", encoding="utf-8", errors="replace") as f:
        for row in csv.DictReader(f):
            try:
                when = datetime.fromtimestamp(int(row["TIMESTAMP"]) / 1000, UTC)
            except (TypeError, ValueError):
                continue  # the file's last row is cut short
            if not row["STORY"] or not row["TITLE"] or half(row["STORY"]) != which:
                continue
            items.append(
                Item(feed=row["PUBLISHER"], outlet=row["PUBLISHER"], guid=row["ID"], link=row["URL"],
                     title=row["TITLE"], summary="", content="", language="en", published=when, fetched=when)
            )
            gold.append(row["STORY"])
    return items, gold


def pairwise(gold: Sequence[str], predicted: Sequence[int]) -> tuple[float, float]:
    """Pairwise precision and recall of a clustering against gold labels."""
    def pairs(counts: Counter[object]) -> int:
        return sum(n * (n - 1) // 2 for n in counts.values())

    both = pairs(Counter(zip(gold, predicted, strict=True)))
    found, true = pairs(Counter(predicted)), pairs(Counter(gold))
    return (both / found if found else 1.0), (both / true if true else 1.0)


def uci(which: str, grid: Sequence[Thresholds]) -> None:
    items, gold = uci_items(which)
    analyses = analyse(items, load_gazetteer(), shared_embedder())
    reports = [Report(n, item.published, a) for n, (item, a) in enumerate(zip(items, analyses, strict=True))]
    for thresholds in grid:
        batch = place(reports, [], window=WINDOW, followup_window=FOLLOWUP, thresholds=thresholds)
        story = {p.report.item_id: p.story_id for p in batch.placements}
        precision, recall = pairwise(gold, [story[n] for n in range(len(items))])
        print(f"uci {which}: join {thresholds.join:.2f} anchored {thresholds.anchored:.2f}: "
              f"{len(items)} headlines, {len(set(gold))} stories -> {len(set(story.values()))}; "
              f"pairwise precision {precision:.3f} recall {recall:.3f}")


def _repair(text: str) -> str:
    """The SemEval file's text was decoded as cp1252 once too often; undo it where the bytes survived."""
    text = text.replace("1⁄4", "¼").replace("1⁄2", "½").replace("3⁄4", "¾")
    raw = bytearray()
    for ch in text:
        if ord(ch) < 256:
            raw.append(ord(ch))
        else:
            try:
                raw += ch.encode("cp1252")
            except UnicodeEncodeError:
                raw += ch.encode("utf-8")
    return raw.decode("utf-8", errors="replace").replace("\ufffd", "")


def semeval(which: str, grid: Sequence[Thresholds]) -> None:
    rows = []
    csv.field_size_limit(10**9)
    with (PUBLIC / "semeval2022_task8_testing.csv").open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if half(row["pair_id"]) == which:
                rows.append(row)
    when = datetime(2020, 1, 1, tzinfo=UTC)

    def item(text: str, lang: str, n: int) -> Item:
        teaser = " ".join(_repair(text).split())[:TEASER_CHARS]
        title, _, rest = teaser.partition(". ")
        return Item(feed="s", outlet="s", guid=str(n), link=str(n), title=title, summary=rest, content="",
                    language=lang, published=when, fetched=when)

    items = [item(r[f"text{k}"], r[f"lang{k}"], 2 * n + k) for n, r in enumerate(rows) for k in (1, 2)]
    analyses = analyse(items, load_gazetteer(), shared_embedder())
    for thresholds in grid:
        scores: dict[str, Counter[str]] = {"english": Counter(), "cross-language": Counter()}
        for n, row in enumerate(rows):
            kind = "english" if row["lang1"] == row["lang2"] == "en" else (
                "cross-language" if row["lang1"] != row["lang2"] else "")
            if not kind:
                continue
            first, second = analyses[2 * n], analyses[2 * n + 1]
            story = OpenStory.empty(1, when)
            story.absorb(Report(1, when, first))
            joined = decide(Report(2, when, second), [story], window=WINDOW, followup_window=FOLLOWUP,
                            thresholds=thresholds).story_id == 1
            same = float(row["Overall"]) <= 2
            scores[kind]["tp" if joined and same else "fp" if joined else "fn" if same else "tn"] += 1
        for kind, c in scores.items():
            p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
            r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
            f1 = 2 * p * r / (p + r) if p + r else 0.0
            print(f"semeval {which} {kind}: join {thresholds.join:.2f} anchored {thresholds.anchored:.2f}: "
                  f"{sum(c.values())} pairs, precision {p:.3f} recall {r:.3f} F1 {f1:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tune", action="store_true", help="the tune half, over a grid of thresholds")
    parser.add_argument("--only", choices=("uci", "semeval"), help="one data set")
    args = parser.parse_args()
    which = "tune" if args.tune else "report"
    grid = (
        [Thresholds(j, a) for j in (0.5, 0.55, 0.58, 0.6, 0.62, 0.65, 0.7) for a in (0.45,)]
        if args.tune else [Thresholds()]
    )
    if args.only in (None, "uci"):
        uci(which, grid)
    if args.only in (None, "semeval"):
        semeval(which, grid)


if __name__ == "__main__":
    main()
