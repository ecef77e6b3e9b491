"""Story quality on a labeled folder of saved feeds: grouping, topic matching, facts, urgency, clutter.

    .venv/bin/python bench/story_quality.py [--config feeds.yaml] [--strict] [FOLDER]

FOLDER (default tests/fixtures/stories) holds saved feeds and a labels.json (its "about" key explains it).
The feeds are replayed in-process through `advocacy-bot replay` itself (bot.cli.main, scratch SQLite), so
what is measured is what the CLI prints. The report covers:

1. pairwise precision and recall of "same story" over stored items that got a story (TP, FP, FN, and the
   wrong and missed merges by title);
2. topic matching: items of each nk-repatriation event that matched the topic, and near-miss items (events
   labeled with no topic) that matched it anyway (false alarms);
3. facts of each event that became (mostly) one story, against the labeled expected_facts;
4. urgency of those stories against the labels, and whether follow-ups point at the right story;
5. clutter in the story summaries (bot.text.clutter.has_clutter), every summary printed.

Targets: precision >= 0.95, recall >= 0.9, no summary with clutter. The exit code is 0 (this is a report)
unless --strict is given and a target fails. The test tests/test_story_quality.py imports `evaluate` and
the helpers below through importlib, so the numbers it checks are the numbers printed here.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.cli import main as cli_main  # noqa: E402
from bot.ingest.parse import canonical_url  # noqa: E402
from bot.text.clutter import has_clutter  # noqa: E402

DEFAULT_FOLDER = ROOT / "tests" / "fixtures" / "stories"
DEFAULT_CONFIG = ROOT / "feeds.yaml"
TOPIC = "nk-repatriation"
TARGET_PRECISION = 0.95
TARGET_RECALL = 0.9
MAX_LISTED = 25  # pairs listed per kind; a bad run can produce hundreds of wrong pairs

# --- labels ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExpectedFacts:
    """An event's labeled facts; for events with no topic only `dates` and `outlets` are meaningful."""

    count_low: int | None
    count_high: int | None
    places: frozenset[str]
    dates: tuple[str, ...]
    reporters: frozenset[str]
    outlets: int


@dataclass(frozen=True, slots=True)
class Event:
    """One labeled event: its topic (None for near misses), urgency and the event it follows up."""

    id: str
    title: str
    topic: str | None
    urgency: str | None
    follow_up_of: str | None
    expected: ExpectedFacts


@dataclass(frozen=True, slots=True)
class Labels:
    """Events by id, and canonical item link -> event id."""

    events: Mapping[str, Event]
    items: Mapping[str, str]


def load_labels(path: Path) -> Labels:
    """Read labels.json; item links are canonicalized the way the parser canonicalizes feed links."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    events: dict[str, Event] = {}
    for event_id, raw in data["events"].items():
        facts = raw["expected_facts"]
        events[event_id] = Event(
            id=event_id,
            title=str(raw["title"]),
            topic=raw.get("topic"),
            urgency=raw.get("urgency"),
            follow_up_of=raw.get("follow_up_of"),
            expected=ExpectedFacts(
                count_low=facts.get("count_low"),
                count_high=facts.get("count_high"),
                places=frozenset(facts.get("places", ())),
                dates=tuple(facts.get("dates", ())),
                reporters=frozenset(facts.get("reporters", ())),
                outlets=int(facts.get("outlets", 0)),
            ),
        )
    items: dict[str, str] = {}
    for link, event_id in data["items"].items():
        if event_id not in events:
            raise ValueError(f"{path}: item {link} names unknown event {event_id!r}")
        items[canonical_url(link)] = event_id
    return Labels(events, items)


# --- replay output -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReplayItem:
    """One `item` line of `advocacy-bot replay`."""

    feed: str
    title: str
    link: str
    published: str
    topics: tuple[str, ...]
    duplicate_of: str | None
    story: int | None

    @property
    def stored(self) -> bool:
        """Whether the item was stored (a duplicate only points at the stored one)."""
        return self.duplicate_of is None


@dataclass(frozen=True, slots=True)
class ReplayStory:
    """One `story` line of `advocacy-bot replay`, facts flattened."""

    id: int
    title: str
    summary: str
    count_low: int | None
    count_high: int | None
    places: tuple[str, ...]
    dates: tuple[str, ...]
    reporters: tuple[str, ...]
    outlets: int
    urgency: str
    topics: tuple[str, ...]
    follow_up_of: int | None
    source_links: tuple[str, ...]
    actions: tuple[str, ...]  # action ids, in the order shown


@dataclass(frozen=True, slots=True)
class ReplayOutput:
    """Everything one replay printed: items in replay order, stories by id, and per-file errors."""

    items: tuple[ReplayItem, ...]
    stories: Mapping[int, ReplayStory]
    errors: tuple[str, ...]


def parse_replay(lines: Iterable[str]) -> ReplayOutput:
    """Read replay's JSON lines; an unknown record type is an error (the output shape changed)."""
    items: list[ReplayItem] = []
    stories: dict[int, ReplayStory] = {}
    errors: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        record: dict[str, Any] = json.loads(line)
        kind = record.get("type")
        if kind == "item":
            items.append(
                ReplayItem(
                    feed=record["feed"], title=record["title"], link=record["link"],
                    published=record["published"], topics=tuple(record["topics"]),
                    duplicate_of=record["duplicate_of"], story=record["story"],
                )
            )
        elif kind == "story":
            facts = record["facts"]
            stories[int(record["id"])] = ReplayStory(
                id=int(record["id"]), title=record["title"], summary=record["summary"],
                count_low=facts["count_low"], count_high=facts["count_high"],
                places=tuple(facts["places"]), dates=tuple(facts["dates"]),
                reporters=tuple(facts["reporters"]), outlets=int(facts["outlets"]),
                urgency=record["urgency"], topics=tuple(record["topics"]),
                follow_up_of=record["follow_up_of"],
                source_links=tuple(s["link"] for s in record["sources"]),
                actions=tuple(a["id"] for a in record["actions"]),
            )
        elif kind == "error":
            errors.append(f"{record.get('file')}: {record.get('error')}")
        else:
            raise ValueError(f"unknown replay record type {kind!r}")
    return ReplayOutput(tuple(items), stories, tuple(errors))


def run_replay(folder: Path, config: Path) -> ReplayOutput:
    """Run `advocacy-bot replay --config CONFIG FOLDER` in this process; RuntimeError if it fails.

    Only stdout is captured: the CLI's logging (set up on its first call) and its error line stay on stderr.
    """
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli_main(["replay", "--config", str(config), str(folder)])
    if code != 0:
        raise RuntimeError(f"advocacy-bot replay exited {code} (its error is on stderr above)")
    return parse_replay(out.getvalue().splitlines())


# --- 1. pairwise "same story" ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pair:
    """Two items (titles), their events and their stories."""

    first: str
    second: str
    events: tuple[str, str]
    stories: tuple[int, int]


@dataclass(frozen=True, slots=True)
class PairScore:
    """Pairwise counts of 'same story', and the pairs that went wrong."""

    tp: int
    fp: int
    fn: int
    wrong_merges: tuple[Pair, ...]  # same story, different events
    missed_merges: tuple[Pair, ...]  # same event, different stories

    @property
    def precision(self) -> float:
        """TP / (TP + FP); 1.0 when nothing was merged (no merge can be wrong)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """TP / (TP + FN); 1.0 when no two items share an event."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def pair_score(members: Sequence[tuple[str, str, int]]) -> PairScore:
    """Score (title, gold event, predicted story) triples: every unordered pair of distinct entries counts."""
    tp = fp = fn = 0
    wrong: list[Pair] = []
    missed: list[Pair] = []
    for (title_a, event_a, story_a), (title_b, event_b, story_b) in combinations(members, 2):
        same_event, same_story = event_a == event_b, story_a == story_b
        pair = Pair(title_a, title_b, (event_a, event_b), (story_a, story_b))
        if same_event and same_story:
            tp += 1
        elif same_story:
            fp += 1
            wrong.append(pair)
        elif same_event:
            fn += 1
            missed.append(pair)
    return PairScore(tp, fp, fn, tuple(wrong), tuple(missed))


# --- 2. topic matching -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TopicRow:
    """How many stored items of one on-topic event matched the topic, and the titles that did not."""

    event: str
    matched: int
    total: int
    missed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FalseAlarm:
    """A stored item of a no-topic event that matched the topic anyway."""

    event: str
    title: str
    story: int | None


# --- 3. facts ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FactRow:
    """One event's story facts against its labels; a field is None when the label does not assess it."""

    event: str
    story: int
    share: str  # "5/5": the event's storied items in this story
    count_ok: bool | None
    places_recall: float | None
    places_precision: float | None
    places_missing: tuple[str, ...]
    places_extra: tuple[str, ...]
    dates_ok: bool
    dates_missing: tuple[str, ...]
    reporters_recall: float | None
    reporters_missing: tuple[str, ...]
    outlets_ok: bool
    outlets: tuple[int, int]  # (got, expected)
    count: tuple[str, str]  # (got, expected) as text

    @property
    def places_ok(self) -> bool | None:
        """Every labeled place is named (extra places are reported, not counted wrong)."""
        return None if self.places_recall is None else self.places_recall == 1.0

    @property
    def reporters_ok(self) -> bool | None:
        """Every labeled reporter is named."""
        return None if self.reporters_recall is None else self.reporters_recall == 1.0

    @property
    def fields(self) -> tuple[bool, ...]:
        """The assessed fields' verdicts: count, places, dates, reporters, outlets (unassessed left out)."""
        verdicts = (self.count_ok, self.places_ok, self.dates_ok, self.reporters_ok, self.outlets_ok)
        return tuple(v for v in verdicts if v is not None)


def _range_text(low: int | None, high: int | None) -> str:
    if low is None or high is None:
        return "-"
    return str(low) if low == high else f"{low}-{high}"


def _share(found: int, total: int) -> float:
    return found / total if total else 1.0


def compare_facts(event: Event, story: ReplayStory, share: str) -> FactRow:
    """Compare a story's facts with the event's labels (count, places, reporters only for on-topic events)."""
    expected = event.expected
    assessed = event.topic is not None
    places = frozenset(story.places)
    reporters = frozenset(story.reporters)
    return FactRow(
        event=event.id,
        story=story.id,
        share=share,
        count_ok=(story.count_low, story.count_high) == (expected.count_low, expected.count_high)
        if assessed else None,
        places_recall=_share(len(places & expected.places), len(expected.places)) if assessed else None,
        places_precision=_share(len(places & expected.places), len(places)) if assessed else None,
        places_missing=tuple(sorted(expected.places - places)) if assessed else (),
        places_extra=tuple(sorted(places - expected.places)) if assessed else (),
        dates_ok=all(d in story.dates for d in expected.dates),
        dates_missing=tuple(d for d in expected.dates if d not in story.dates),
        reporters_recall=_share(len(reporters & expected.reporters), len(expected.reporters))
        if assessed else None,
        reporters_missing=tuple(sorted(expected.reporters - reporters)) if assessed else (),
        outlets_ok=story.outlets == expected.outlets,
        outlets=(story.outlets, expected.outlets),
        count=(_range_text(story.count_low, story.count_high), _range_text(expected.count_low, expected.count_high)),
    )


# --- 4. urgency and follow-ups -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UrgencyRow:
    """An event's story urgency against its label."""

    event: str
    story: int
    got: str
    expected: str

    @property
    def ok(self) -> bool:
        return self.got == self.expected


@dataclass(frozen=True, slots=True)
class FollowUpRow:
    """Whether an event's story points at the story of the event it follows up."""

    event: str
    story: int
    got: int | None
    expected: int | None  # None when the earlier event became no single story

    @property
    def ok(self) -> bool:
        return self.expected is not None and self.got == self.expected


# --- 5. clutter --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """One story's summary and whether it holds clutter."""

    story: int
    title: str
    summary: str
    clutter: bool


# --- the whole evaluation ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Quality:
    """Every measurement of one replay against its labels."""

    replay: ReplayOutput
    labels: Labels
    unlabeled: tuple[str, ...]  # titles of stored items whose link labels.json does not know
    unseen: tuple[str, ...]  # labeled links no replayed item carries
    pairs: PairScore
    topic_rows: tuple[TopicRow, ...]
    false_alarms: tuple[FalseAlarm, ...]
    event_stories: Mapping[str, int]  # events that became (mostly) one story -> that story
    facts: tuple[FactRow, ...]
    urgency: tuple[UrgencyRow, ...]
    follow_ups: tuple[FollowUpRow, ...]
    summaries: tuple[SummaryRow, ...]

    @property
    def stored(self) -> tuple[ReplayItem, ...]:
        """The stored (not duplicate) items, in replay order."""
        return tuple(i for i in self.replay.items if i.stored)

    def event_of(self, item: ReplayItem) -> str | None:
        """The labeled event of an item, None when unlabeled."""
        return self.labels.items.get(item.link)

    def items_of(self, event: str) -> tuple[ReplayItem, ...]:
        """The stored items labeled with `event`."""
        return tuple(i for i in self.stored if self.event_of(i) == event)

    def story_of(self, event: str) -> ReplayStory | None:
        """The story an event (mostly) became, if any."""
        story_id = self.event_stories.get(event)
        return None if story_id is None else self.replay.stories[story_id]

    @property
    def facts_correct(self) -> tuple[int, int]:
        """(correct, assessed) fact fields over all compared events."""
        verdicts = [v for row in self.facts for v in row.fields]
        return sum(verdicts), len(verdicts)

    @property
    def clutter_share(self) -> float:
        """Share of story summaries with clutter (0.0 when there are no stories)."""
        return sum(r.clutter for r in self.summaries) / len(self.summaries) if self.summaries else 0.0


def main_stories(items: Sequence[ReplayItem], labels: Labels) -> dict[str, tuple[int, int, int]]:
    """Event -> (story, items of the event in it, items of the event with a story), for events where one
    story holds more than half of the event's storied items."""
    by_event: dict[str, Counter[int]] = defaultdict(Counter)
    for item in items:
        event = labels.items.get(item.link)
        if event is not None and item.story is not None:
            by_event[event][item.story] += 1
    result: dict[str, tuple[int, int, int]] = {}
    for event, stories in by_event.items():
        total = sum(stories.values())
        # Ties go to the lower (earlier) story id, so the choice is deterministic.
        story, held = min(stories.items(), key=lambda kv: (-kv[1], kv[0]))
        if 2 * held > total:
            result[event] = (story, held, total)
    return result


def evaluate(folder: Path = DEFAULT_FOLDER, config: Path = DEFAULT_CONFIG) -> Quality:
    """Replay `folder` through the CLI and measure it against `folder`/labels.json."""
    labels = load_labels(folder / "labels.json")
    replay = run_replay(folder, config)
    return measure(replay, labels)


def measure(replay: ReplayOutput, labels: Labels) -> Quality:
    """All measurements of a replay against labels (no I/O)."""
    stored = [i for i in replay.items if i.stored]
    seen_links = {i.link for i in replay.items}
    unlabeled = tuple(i.title for i in stored if i.link not in labels.items)
    unseen = tuple(sorted(link for link in labels.items if link not in seen_links))

    pairs = pair_score(
        [(i.title, labels.items[i.link], i.story) for i in stored if i.story is not None and i.link in labels.items]
    )

    topic_rows: list[TopicRow] = []
    false_alarms: list[FalseAlarm] = []
    for event in labels.events.values():
        items = [i for i in stored if labels.items.get(i.link) == event.id]
        if event.topic == TOPIC:
            matched = [i for i in items if TOPIC in i.topics]
            missed = tuple(i.title for i in items if TOPIC not in i.topics)
            topic_rows.append(TopicRow(event.id, len(matched), len(items), missed))
        elif event.topic is None:
            false_alarms.extend(FalseAlarm(event.id, i.title, i.story) for i in items if TOPIC in i.topics)

    mains = main_stories(stored, labels)
    event_stories = {event: story for event, (story, _, _) in mains.items()}
    facts: list[FactRow] = []
    urgency: list[UrgencyRow] = []
    follow_ups: list[FollowUpRow] = []
    for event in labels.events.values():
        if event.id not in mains:
            continue
        story_id, held, total = mains[event.id]
        story = replay.stories[story_id]
        facts.append(compare_facts(event, story, f"{held}/{total}"))
        if event.urgency is not None:
            urgency.append(UrgencyRow(event.id, story_id, story.urgency, event.urgency))
        if event.follow_up_of is not None:
            earlier = event_stories.get(event.follow_up_of)
            follow_ups.append(FollowUpRow(event.id, story_id, story.follow_up_of, earlier))

    summaries = tuple(
        SummaryRow(s.id, s.title, s.summary, has_clutter(s.summary))
        for s in sorted(replay.stories.values(), key=lambda s: s.id)
    )
    return Quality(
        replay=replay, labels=labels, unlabeled=unlabeled, unseen=unseen, pairs=pairs,
        topic_rows=tuple(topic_rows), false_alarms=tuple(false_alarms), event_stories=event_stories,
        facts=tuple(facts), urgency=tuple(urgency), follow_ups=tuple(follow_ups), summaries=summaries,
    )


# --- targets and the printed report ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """One promised number: its name, whether it holds, and the measured value as text."""

    name: str
    ok: bool
    value: str


def targets(quality: Quality) -> tuple[Target, ...]:
    """The targets this benchmark holds the pipeline to."""
    p = quality.pairs
    cluttered = sum(r.clutter for r in quality.summaries)
    return (
        Target(f"pairwise precision >= {TARGET_PRECISION}", p.precision >= TARGET_PRECISION, f"{p.precision:.3f}"),
        Target(f"pairwise recall >= {TARGET_RECALL}", p.recall >= TARGET_RECALL, f"{p.recall:.3f}"),
        Target("no summary with clutter", cluttered == 0, f"{cluttered} of {len(quality.summaries)}"),
    )


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _mark(ok: bool | None) -> str:
    return "n/a" if ok is None else ("ok" if ok else "WRONG")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _pair_lines(pairs: Sequence[Pair]) -> list[str]:
    lines = [
        f"    story {p.stories[0]}/{p.stories[1]}  [{p.events[0]}] {p.first!r}  +  [{p.events[1]}] {p.second!r}"
        for p in pairs[:MAX_LISTED]
    ]
    if len(pairs) > MAX_LISTED:
        lines.append(f"    ... and {len(pairs) - MAX_LISTED} more")
    return lines


def format_report(quality: Quality, folder: Path) -> str:
    """The human-readable report, deterministic for a given replay."""
    out: list[str] = []
    items, stored = quality.replay.items, quality.stored
    out.append(f"story quality of {folder}")
    out.append(
        f"  {len(items)} items replayed: {len(stored)} stored, {len(items) - len(stored)} duplicates; "
        f"{sum(1 for i in stored if i.story is not None)} in {len(quality.replay.stories)} stories"
    )
    for error in quality.replay.errors:
        out.append(f"  ERROR {error}")
    for title in quality.unlabeled:
        out.append(f"  unlabeled item (left out of every measure): {title!r}")
    for link in quality.unseen:
        out.append(f"  labeled link not in the replay: {link}")

    p = quality.pairs
    out += ["", "1. same story, pairwise over stored items with a story"]
    out.append(f"  precision {p.precision:.3f}  recall {p.recall:.3f}  (TP {p.tp}, FP {p.fp}, FN {p.fn})")
    out.append(f"  wrong merges ({len(p.wrong_merges)}):")
    out += _pair_lines(p.wrong_merges) or ["    none"]
    out.append(f"  missed merges ({len(p.missed_merges)}):")
    out += _pair_lines(p.missed_merges) or ["    none"]

    out += ["", f"2. topic {TOPIC}"]
    for row in quality.topic_rows:
        out.append(f"  {row.event}: {row.matched}/{row.total} items matched")
        out += [f"    not matched: {t!r}" for t in row.missed]
    out.append(f"  near-miss items matched (false alarms): {len(quality.false_alarms)}")
    out += [
        f"    [{a.event}] {a.title!r}" + (f" -> story {a.story}" if a.story is not None else "")
        for a in quality.false_alarms
    ]

    out += ["", "3. facts of events that became (mostly) one story"]
    rows = [
        [
            r.event, str(r.story), r.share, f"{r.count[0]} ({r.count[1]}) {_mark(r.count_ok)}",
            f"{_ratio(r.places_recall)}/{_ratio(r.places_precision)}", _mark(r.dates_ok),
            _ratio(r.reporters_recall), f"{r.outlets[0]} ({r.outlets[1]}) {_mark(r.outlets_ok)}",
        ]
        for r in quality.facts
    ]
    out += [
        "  " + line
        for line in _table(
            ["event", "story", "items", "count (want)", "places R/P", "dates", "reporters R", "outlets (want)"], rows
        )
    ]
    for r in quality.facts:
        notes = []
        if r.places_missing:
            notes.append(f"places missing {', '.join(r.places_missing)}")
        if r.places_extra:
            notes.append(f"places extra {', '.join(r.places_extra)}")
        if r.dates_missing:
            notes.append(f"dates missing {', '.join(r.dates_missing)}")
        if r.reporters_missing:
            notes.append(f"reporters missing {', '.join(r.reporters_missing)}")
        if notes:
            out.append(f"  {r.event}: " + "; ".join(notes))
    good, assessed = quality.facts_correct
    share = good / assessed if assessed else 1.0
    out.append(
        f"  correct fact fields: {good}/{assessed} ({share:.0%}); places and reporters count as correct when every "
        "labeled name is found; no-topic events are assessed on dates and outlets only"
    )
    storied = {quality.event_of(i) for i in quality.stored if i.story is not None}
    split = sorted(e for e in storied if e is not None and e not in quality.event_stories)
    none = sorted(e for e in quality.labels.events if e not in storied)
    out.append(f"  events split over stories with no majority (not compared): {', '.join(split) or 'none'}")
    out.append(f"  events with no story at all: {', '.join(none) or 'none'}")

    out += ["", "4. urgency and follow-ups"]
    correct = sum(r.ok for r in quality.urgency)
    out.append(f"  urgency correct: {correct}/{len(quality.urgency)}")
    out += [f"    {r.event}: story {r.story} {r.got} (want {r.expected}) {_mark(r.ok)}" for r in quality.urgency]
    for f in quality.follow_ups:
        out.append(f"  follow-up {f.event}: story {f.story} follows {f.got} (want {f.expected}) {_mark(f.ok)}")

    cluttered = sum(r.clutter for r in quality.summaries)
    out += ["", f"5. summaries: {cluttered} of {len(quality.summaries)} with clutter ({quality.clutter_share:.0%})"]
    for summary in quality.summaries:
        out.append(f"  [{summary.story}] {'CLUTTER ' if summary.clutter else ''}{summary.title}")
        out.append(f"      {summary.summary}")

    out += ["", "targets"]
    out += [f"  {'PASS' if t.ok else 'FAIL'}  {t.name}: {t.value}" for t in targets(quality)]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the report; exit 1 only with --strict and a failed target, 2 when nothing could be measured."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="feeds.yaml (default: the repo's)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    parser.add_argument("folder", type=Path, nargs="?", default=DEFAULT_FOLDER, help="saved feeds + labels.json")
    args = parser.parse_args(argv)
    try:
        quality = evaluate(args.folder, args.config)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        # A missing folder, bad labels or a failed replay: no report, and no traceback for a usage mistake.
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_report(quality, args.folder))
    failed = [t for t in targets(quality) if not t.ok]
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    sys.exit(main())
