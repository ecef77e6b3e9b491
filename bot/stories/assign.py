"""Which story a report belongs to: a pure decision over the open stories near it in time.

The rule has two tiers, on the cosine similarity of sentence vectors (bot.stories.similarity), which
survives short items and other languages where shared words do not:
- a report joins the story it is most similar to when the similarity reaches JOIN_SIMILARITY;
- or when it reaches ANCHORED_SIMILARITY and the two share an anchor: an agreeing people count, the same
  event day, or a specific place or organisation (not background such as China or Seoul);
- never when their counts or event dates clearly contradict: two transfers of 200 and 50 people in one
  week are two events however alike their words.
A story's similarity is a blend of its closest member and its centre, so a story is not chained along
from member to member into a neighbouring event. The thresholds are set by bench/story_public.py on one
half of public data and the project's realistic fixtures, and reported on the other half.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from bot.domain import Analysis
from bot.stories.similarity import DIMENSIONS, Vector, from_bytes, similarities, stack

# bench/story_public.py, tune half (UCI headlines and the realistic fixtures): see the README's Measurements.
JOIN_SIMILARITY = 0.55
ANCHORED_SIMILARITY = 0.45
# Two open stories a report joins merge when their centres are this alike.
MERGE_SIMILARITY = 0.85
# Weight of the closest member against the story's centre (the mean of its members' vectors).
CLOSEST_WEIGHT = 0.7
# People counts agree when within this ratio ("about 500" and "up to 600" do; 200 and 50 do not).
COUNT_AGREE_RATIO = 1.25
# Event dates agree when this close: outlets date an overnight event to either day.
DATE_AGREE_DAYS = 1
# Members whose vectors a story keeps for comparison: the first reports and the latest ones. A join then
# costs the same whatever the story's size (bench/story_cost.py).
KEPT_FIRST = 8
KEPT_LATEST = 8
# Counts and dates a story keeps for contradiction checks (the earliest ones seen).
KEPT_FACTS = 12
# Places and organisations that say nothing about which event: every report in this domain names them.
BACKGROUND_ENTITIES = frozenset(
    {"china", "north korea", "south korea", "korea", "dprk", "prc", "rok", "beijing", "seoul", "pyongyang"}
)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The two similarity tiers (a bench passes others to tune them)."""

    join: float = JOIN_SIMILARITY
    anchored: float = ANCHORED_SIMILARITY
    merge: float = MERGE_SIMILARITY


@dataclass(frozen=True, slots=True)
class Report:
    """A stored, analysed item waiting for its story."""

    item_id: int
    published: datetime
    analysis: Analysis

    @property
    def vector(self) -> Vector:
        return from_bytes(self.analysis.vector)


@dataclass(slots=True)
class OpenStory:
    """What the decision needs of one story; kept on the story row, bounded whatever the story's size."""

    story_id: int
    first_published: datetime
    last_published: datetime
    size: int
    centre: Vector  # the sum of all members' vectors
    members: list[int] = field(default_factory=list)  # item ids whose vectors are kept
    vectors: list[Vector] = field(default_factory=list)
    counts: list[tuple[int, int]] = field(default_factory=list)  # (low, high) people counts of members
    dates: list[str] = field(default_factory=list)  # event dates of members, YYYY-MM-DD or YYYY-MM
    entities: frozenset[str] = frozenset()  # specific places and organisations of members
    follow_up_of: int | None = None
    apart: set[int] = field(default_factory=set)  # stories an admin split from this one: never merged

    @staticmethod
    def empty(story_id: int, published: datetime) -> OpenStory:
        return OpenStory(story_id, published, published, 0, np.zeros(DIMENSIONS, dtype=np.float32))

    def merge(self, other: OpenStory) -> None:
        """Take in every member of `other`, a story found to tell the same event."""
        self.size += other.size
        self.centre = self.centre + other.centre
        self.first_published = min(self.first_published, other.first_published)
        self.last_published = max(self.last_published, other.last_published)
        room = KEPT_FIRST + KEPT_LATEST - len(self.members)
        self.members.extend(other.members[:room])
        self.vectors.extend(other.vectors[:room])
        self.counts.extend(other.counts[: max(0, KEPT_FACTS - len(self.counts))])
        self.dates.extend(d for d in other.dates if d not in self.dates)
        del self.dates[KEPT_FACTS:]
        self.entities = self.entities | other.entities
        self.apart |= other.apart

    def absorb(self, report: Report) -> None:
        """Take `report` in as a member: its vector, counts, dates and names, within the kept bounds."""
        vector = report.vector
        self.size += 1
        self.centre = self.centre + vector
        self.first_published = min(self.first_published, report.published)
        self.last_published = max(self.last_published, report.published)
        if len(self.members) >= KEPT_FIRST + KEPT_LATEST:
            del self.members[KEPT_FIRST]  # the oldest of the latest ones
            del self.vectors[KEPT_FIRST]
        self.members.append(report.item_id)
        self.vectors.append(vector)
        facts = report.analysis.facts
        if facts.count_low is not None and facts.count_high is not None and len(self.counts) < KEPT_FACTS:
            self.counts.append((facts.count_low, facts.count_high))
        for day in facts.dates:
            if day not in self.dates and len(self.dates) < KEPT_FACTS:
                self.dates.append(day)
        self.entities = self.entities | specific(report.analysis.entities)


@dataclass(frozen=True, slots=True)
class Decision:
    """Where a report goes: an open story, or a new one (maybe a follow-up of an older story); and why."""

    story_id: int | None
    score: float
    reason: str
    follow_up_of: int | None = None
    also: tuple[int, ...] = ()  # other open stories the report joins as well: one event told twice


def specific(entities: frozenset[str]) -> frozenset[str]:
    """The names that tell events apart: all but the background ones."""
    return frozenset(e for e in entities if e.casefold() not in BACKGROUND_ENTITIES)


def score(story: OpenStory, vector: Vector) -> float:
    """How alike the report and the story are: its closest kept member blended with its centre."""
    if not story.vectors:
        return 0.0
    closest = float(similarities(stack(story.vectors), vector).max())
    norm = float(np.linalg.norm(story.centre))
    centre = float(story.centre @ vector) / norm if norm > 0 else 0.0
    return CLOSEST_WEIGHT * closest + (1 - CLOSEST_WEIGHT) * centre


def _alike(a: OpenStory, b: OpenStory, thresholds: Thresholds) -> bool:
    """Whether two stories a report joins are one event: their centres are as close as a join needs.

    A report can sit between two events (a rally about a repatriation, between the rally and the
    repatriation); only when the stories themselves are alike does it show they are one.
    """
    na, nb = float(np.linalg.norm(a.centre)), float(np.linalg.norm(b.centre))
    return na > 0 and nb > 0 and float(a.centre @ b.centre) / (na * nb) >= thresholds.merge


def _counts_agree(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Two count ranges agree when they overlap or their nearest ends are within COUNT_AGREE_RATIO."""
    if a[0] <= b[1] and b[0] <= a[1]:
        return True
    low, high = (a[1], b[0]) if a[1] < b[0] else (b[1], a[0])
    return low > 0 and high / low <= COUNT_AGREE_RATIO


def _day(value: str) -> datetime | None:
    try:
        return datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        return None


def _dates_agree(a: str, b: str) -> bool:
    """Two event dates agree when equal, or days at most DATE_AGREE_DAYS apart, or a month holding the day."""
    if a == b or a.startswith(b) or b.startswith(a):
        return True
    da, db = _day(a), _day(b)
    return da is not None and db is not None and abs((da - db).days) <= DATE_AGREE_DAYS


def contradiction(story: OpenStory, analysis: Analysis) -> str | None:
    """Why the report cannot be the story's event (counts or event dates disagree), or None."""
    facts = analysis.facts
    if facts.count_low is not None and facts.count_high is not None and story.counts:
        mine = (facts.count_low, facts.count_high)
        if not any(_counts_agree(mine, c) for c in story.counts):
            return f"count {facts.count_text} vs {story.counts[0][0]}"
    if facts.dates and story.dates and not any(_dates_agree(a, b) for a in facts.dates for b in story.dates):
        return f"event date {facts.dates[0]} vs {story.dates[0]}"
    return None


def anchor(story: OpenStory, analysis: Analysis) -> str | None:
    """What the report and the story share that pins the event down (a count, a day, a name), or None."""
    facts = analysis.facts
    if facts.count_low is not None and facts.count_high is not None:
        mine = (facts.count_low, facts.count_high)
        if any(_counts_agree(mine, c) for c in story.counts):
            return f"count {facts.count_text}"
    if any(_dates_agree(a, b) for a in facts.dates for b in story.dates):
        return f"date {facts.dates[0]}"
    shared = specific(analysis.entities) & story.entities
    if shared:
        return f"name {sorted(shared)[0]}"
    return None


def decide(
    report: Report,
    stories: Sequence[OpenStory],
    *,
    window: timedelta,
    followup_window: timedelta,
    thresholds: Thresholds = Thresholds(),
) -> Decision:
    """The story `report` joins, or a new story (a follow-up when an older story is clearly its event)."""
    vector = report.vector
    by_id = {s.story_id: s for s in stories}
    joinable: list[tuple[float, int, str]] = []
    follow: tuple[float, int] | None = None
    for story in stories:
        similarity = score(story, vector)
        if similarity < thresholds.anchored:
            continue
        if contradiction(story, report.analysis) is not None:
            continue
        near = story.first_published - window <= report.published <= story.last_published + window
        if near:
            reason = "similar" if similarity >= thresholds.join else anchor(story, report.analysis)
            if reason is not None:
                joinable.append((similarity, story.story_id, reason))
        elif (
            similarity >= thresholds.join
            and report.published - story.last_published <= followup_window
            and (follow is None or similarity > follow[0])
        ):
            follow = (similarity, story.story_id)
    if joinable:
        joinable.sort(key=lambda j: (-j[0], j[1]))
        best, story_id, reason = joinable[0]
        others = tuple(sorted(
            s for sim, s, _ in joinable[1:] if sim >= thresholds.join and _alike(by_id[story_id], by_id[s], thresholds)
        ))
        return Decision(story_id, best, f"{reason} ({best:.2f})", also=others)
    if follow is not None:
        return Decision(None, follow[0], f"follow-up ({follow[0]:.2f})", follow_up_of=follow[1])
    return Decision(None, 0.0, "new")


@dataclass(frozen=True, slots=True)
class Placement:
    """A report's story. Ids below zero stand for stories this batch opened (storage gives them real ids)."""

    report: Report
    story_id: int
    decision: Decision


@dataclass(frozen=True, slots=True)
class Batch:
    """What placing a batch of reports did: each report's story, the stories changed, and stories merged."""

    placements: tuple[Placement, ...]
    stories: dict[int, OpenStory]  # every story the batch opened or changed, by id
    merged: tuple[tuple[int, int], ...]  # (story, the story it became part of), in order


def _age(story_id: int) -> tuple[int, int]:
    """Stored stories (ids above zero) are older than the batch's new ones (-1 first, then -2, ...)."""
    return (0, story_id) if story_id > 0 else (1, -story_id)


def place(
    reports: Sequence[Report],
    stories: Sequence[OpenStory],
    *,
    window: timedelta,
    followup_window: timedelta,
    thresholds: Thresholds = Thresholds(),
) -> Batch:
    """Put `reports` into stories in published-time order, so the same reports give the same stories
    whatever order their feeds answered in. A report that joins two open stories shows they are one
    event: the newer merges into the older."""
    open_stories = {s.story_id: s for s in stories}
    alias: dict[int, int] = {}  # merged story -> the story it became part of
    changed: set[int] = set()
    placements: list[Placement] = []
    merged: list[tuple[int, int]] = []
    next_new = -1
    for report in sorted(reports, key=lambda r: (r.published, r.item_id)):
        near = [s for s in open_stories.values() if s.last_published >= report.published - followup_window]
        decision = decide(report, near, window=window, followup_window=followup_window, thresholds=thresholds)
        if decision.story_id is None:
            target = next_new
            next_new -= 1
            open_stories[target] = OpenStory.empty(target, report.published)
            open_stories[target].follow_up_of = decision.follow_up_of
        else:
            chosen = open_stories[decision.story_id]
            group = sorted(
                (decision.story_id, *(s for s in decision.also if s not in chosen.apart)), key=_age
            )
            target = group[0]
            for other in group[1:]:
                open_stories[target].merge(open_stories.pop(other))
                alias[other] = target
                merged.append((other, target))
                changed.discard(other)
        open_stories[target].absorb(report)
        changed.add(target)
        placements.append(Placement(report, target, decision))
    final = [Placement(p.report, _resolve(alias, p.story_id), p.decision) for p in placements]
    return Batch(tuple(final), {s: open_stories[s] for s in changed}, tuple(merged))


def _resolve(alias: dict[int, int], story_id: int) -> int:
    while story_id in alias:
        story_id = alias[story_id]
    return story_id
