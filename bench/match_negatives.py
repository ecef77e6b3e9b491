"""Run the default topics of feeds.yaml over real headlines that should (nearly) never match, and time it.

    .venv/bin/python bench/match_negatives.py [--explain] [--data DIR] [--config FILE]

Keyword tiers only (bench/topic_quality.py measures the examples tier).
Data: ../shared/eval-public/ beside the repository (negative_headlines.tsv, 863 headlines picked for
trap words; kcna_headlines_2024_sample300.json, North Korean state media). Prints, per topic, how many
fire and which, so a maintainer can judge each one; then the time to match 10,000 items.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script from anywhere, without installing the package

from bot.config import load_config  # noqa: E402
from bot.domain import Feed, Item  # noqa: E402
from bot.ingest.match import CompiledTopic, compile_topics, explain, match_item, matches  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "eval-public"
NEGATIVES = "negative_headlines.tsv"
KCNA = "kcna_headlines_2024_sample300.json"
TIMED_ITEMS = 10_000


def read_negatives(path: Path) -> list[str]:
    """The `title` column of the TSV (header row first)."""
    with path.open(encoding="utf-8", newline="") as f:
        return [row["title"] for row in csv.DictReader(f, delimiter="\t") if row.get("title")]


def read_kcna(path: Path) -> list[tuple[str, str]]:
    """(headline, first characters of the story) of each KCNA article."""
    records = json.loads(path.read_text(encoding="utf-8"))
    return [(r.get("headline", ""), r.get("story_text", "")) for r in records]


def report(label: str, texts: Sequence[tuple[str, str]], topics: Sequence[CompiledTopic], show: bool) -> None:
    """Print how many of `texts` (headline, body) each topic fires on, with the headlines."""
    print(f"\n=== {label}: {len(texts)} items")
    for topic in topics:
        fired = [(head, body) for head, body in texts if matches(topic, f"{head}\n{body}")]
        print(f"--- {topic.id}: {len(fired)} fire")
        for head, body in fired:
            print(f"  * {head[:160]}")
            if show:
                print("    " + explain(topic, f"{head}\n{body}").replace("\n", "\n    "))


def time_matching(texts: Sequence[tuple[str, str]], topics: Sequence[CompiledTopic]) -> None:
    """Time `match_item` (as the pipeline calls it) over TIMED_ITEMS items made by cycling the real texts."""
    now = datetime.now(UTC)
    feed = Feed(name="bench", url="https://example.org/feed", language="en", interval_seconds=900, outlet="b")
    items = [
        Item(
            feed="bench", outlet="b", guid=str(i), link=f"https://example.org/{i}", title=head,
            summary=body, content="", language="en", published=now, fetched=now,
        )
        for i, (head, body) in enumerate(texts[i % len(texts)] for i in range(TIMED_ITEMS))
    ]
    start = time.perf_counter()
    hits = sum(1 for item in items if match_item(topics, item, feed))
    elapsed = time.perf_counter() - start
    print(
        f"\n=== timing: {len(items)} items x {len(topics)} topics in {elapsed:.3f}s "
        f"({elapsed / len(items) * 1e6:.1f} us/item, {hits} items matched)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code (2 when the data is missing)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of the eval-public files")
    parser.add_argument(
        "--config", type=Path, default=REPO / "feeds.yaml", help="feeds.yaml to take topics from"
    )
    parser.add_argument("--explain", action="store_true", help="show which terms made each headline fire")
    args = parser.parse_args(argv)

    missing = [name for name in (NEGATIVES, KCNA) if not (args.data / name).is_file()]
    if missing:
        print(
            f"match_negatives: missing {', '.join(missing)} in {args.data}\n"
            "  (expected the shared eval-public folder beside the repository; pass --data DIR)",
            file=sys.stderr,
        )
        return 2

    config = load_config(args.config)
    # The keyword tier only: a topic's examples tier (and its false alarms and cost on these same items) is
    # measured by bench/topic_quality.py.
    topics = compile_topics([replace(t, examples=(), near_misses=(), anchor=()) for t in config.topics])
    negatives = [(title, "") for title in read_negatives(args.data / NEGATIVES)]
    kcna = read_kcna(args.data / KCNA)

    print(f"topics from {args.config}: {', '.join(t.id for t in topics)}")
    report(f"{NEGATIVES} (title)", negatives, topics, args.explain)
    report(f"{KCNA} (headline + story start)", kcna, topics, args.explain)
    time_matching(negatives + kcna, topics)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
