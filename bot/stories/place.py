"""Placing a batch of reports: each into its story in published-time order, then regrouping the stories the
batch shows to be one event. The decision for one report is bot.stories.assign's."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from bot.stories.assign import (
    REGROUP_DAYS,
    Decision,
    OpenStory,
    Report,
    Thresholds,
    counts_agree,
    decide,
    disagreement,
)
from bot.stories.index import VectorIndex
from bot.stories.similarity import Vector

_PRODUCTION = Thresholds()  # the tuned rule (a bench passes others)

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
    thresholds: Thresholds = _PRODUCTION,
) -> Batch:
    """Put `reports` into stories in published-time order, so the same reports give the same stories
    whatever order their feeds answered in. A report that joins two open stories shows they are one
    event: the newer merges into the older."""
    open_stories = {s.story_id: s for s in stories}
    index = VectorIndex()
    for story in stories:
        index.sync(story.story_id, story.vectors, story.centre)
    # No story whose closest member and centre are both below this can score a tier: the score blends the
    # two and adds at most the cross-language lift.
    floor = min(thresholds.anchored, thresholds.pinned, thresholds.join, thresholds.clear) - max(thresholds.cross, 0)
    alias: dict[int, int] = {}  # merged story -> the story it became part of
    changed: set[int] = set()
    placements: list[Placement] = []
    merged: list[tuple[int, int]] = []
    next_new = -1
    for report in sorted(reports, key=lambda r: (r.published, r.item_id)):
        since = report.published - followup_window
        near = sorted(
            (open_stories[s] for s in index.reachable(report.vector, floor) if s in open_stories),
            key=lambda s: s.story_id,
        )
        near = [s for s in near if s.last_published >= since]
        decision = decide(report, near, window=window, followup_window=followup_window, thresholds=thresholds)
        if decision.story_id is None:
            target = next_new
            next_new -= 1
            open_stories[target] = OpenStory.empty(target, report.published)
            open_stories[target].follow_up_of = decision.follow_up_of
        else:
            chosen = open_stories[decision.story_id]
            kept_apart = chosen.apart | {s for s in decision.also if chosen.story_id in open_stories[s].apart}
            group = sorted((decision.story_id, *(s for s in decision.also if s not in kept_apart)), key=_age)
            target = group[0]
            for other in group[1:]:
                open_stories[target].merge(open_stories.pop(other))
                index.remove(other)
                alias[other] = target
                merged.append((other, target))
                changed.discard(other)
        story = open_stories[target]
        story.absorb(report)
        index.sync(target, story.vectors, story.centre)
        changed.add(target)
        placements.append(Placement(report, target, decision))
    for gone, target in regroup(open_stories, changed, thresholds):
        alias[gone] = target
        merged.append((gone, target))
    for story_id in changed:  # a follow-up of a story that was merged follows the story it became part of
        story = open_stories[story_id]
        if story.follow_up_of is not None:
            follow = _resolve(alias, story.follow_up_of)
            story.follow_up_of = None if follow == story_id else follow
    final = [Placement(p.report, _resolve(alias, p.story_id), p.decision) for p in placements]
    return Batch(tuple(final), {s: open_stories[s] for s in changed}, tuple(merged))


def _regroup_pairs(
    stories: dict[int, OpenStory], changed: set[int], thresholds: Thresholds
) -> list[tuple[float, int, int]]:
    """(similarity, story, other) for each changed story and open story begun within REGROUP_DAYS of it
    that are alike enough to be one event, best first."""
    by_start = sorted(stories.values(), key=lambda s: (s.first_published, s.story_id))
    starts = [s.first_published for s in by_start]
    units: dict[int, Vector] = {}
    for story in by_start:
        norm = float(np.linalg.norm(story.centre))
        units[story.story_id] = story.centre / norm if norm > 0 else story.centre
    within = timedelta(days=REGROUP_DAYS)
    pairs: list[tuple[float, int, int]] = []
    for story_id in sorted(changed):
        a = stories[story_id]
        low, high = bisect_left(starts, a.first_published - within), bisect_right(starts, a.first_published + within)
        for b in by_start[low:high]:
            if b.story_id == story_id or (b.story_id in changed and b.story_id < story_id):
                continue  # itself, or a pair already seen from the other side
            if b.story_id in a.apart or story_id in b.apart or _stories_contradict(a, b):
                continue
            lift = thresholds.cross if a.languages and b.languages and not a.languages & b.languages else 0.0
            similarity = float(units[story_id] @ units[b.story_id]) + lift
            need = thresholds.regroup_pinned if _stories_pinned(a, b) else thresholds.regroup
            if similarity >= need:
                keep, gone = sorted((story_id, b.story_id), key=_age)
                pairs.append((similarity, keep, gone))
    return sorted(pairs, key=lambda p: (-p[0], _age(p[1]), _age(p[2])))


def regroup(stories: dict[int, OpenStory], changed: set[int], thresholds: Thresholds) -> list[tuple[int, int]]:
    """Merge, in place, the open stories a placed batch shows to be one event (see REGROUP_SIMILARITY): the
    newer into the older, best-matched pairs first, until no pair is left. Returns (merged, kept) pairs in
    order; `changed` then holds the kept stories instead of the merged ones."""
    done: list[tuple[int, int]] = []
    while True:
        taken: set[int] = set()
        for _, keep, gone in _regroup_pairs(stories, changed, thresholds):
            if keep in taken or gone in taken:
                continue  # compared again in the next round, with the merged centre
            taken |= {keep, gone}
            stories[keep].merge(stories.pop(gone))
            changed.discard(gone)
            changed.add(keep)
            done.append((gone, keep))
        if not taken:
            return done


def _resolve(alias: dict[int, int], story_id: int) -> int:
    while story_id in alias:
        story_id = alias[story_id]
    return story_id


def _stories_contradict(a: OpenStory, b: OpenStory) -> bool:
    """Whether two stories' counts, event dates or parliaments clearly disagree (the rule a report meets)."""
    return disagreement(a.counts, a.dates, a.entities, b) is not None


def _stories_pinned(a: OpenStory, b: OpenStory) -> bool:
    """Whether two stories share what pins an event down: a town or crossing, or an agreeing count."""
    return bool(a.places & b.places) or any(counts_agree(x, y) for x in a.counts for y in b.counts)
