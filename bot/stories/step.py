"""The story step, as one flow: analyse new reports once, then place every waiting report into its story.

The pipeline calls `analyse_new` when it stores a feed's matched items, and `place_pending` once per cycle,
after every feed of the cycle is stored: the cycle's reports are placed together, in published-time order,
so the same reports give the same stories whatever order the feeds answered in. A report stored but not yet
placed (a crash between the two) is simply placed by the next cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.domain import ActionRule, Analysis, Item, OpenStoryRecord, StoryContent
from bot.storage.items import StoredItem
from bot.storage.unit_of_work import UnitOfWork
from bot.stories.analyse import analyse, analysis_version
from bot.stories.assign import KEPT_FIRST, KEPT_LATEST, OpenStory, Report, Thresholds
from bot.stories.compose import Member, compose
from bot.stories.facts import Gazetteer
from bot.stories.place import Batch, place
from bot.stories.similarity import Embedder, shared_embedder
from bot.stories.state import rebuilt, to_open, to_state

# Reports placed per run of the step, a bound on one transaction's memory: a first poll of 300 feeds of
# 30 on-topic items (9,000 reports) is placed at once; a larger backlog over the next cycles.
MAX_PENDING = 20_000
# Open stories a batch compares against: the most recently active ones.
MAX_OPEN = 2000


@dataclass(frozen=True, slots=True)
class StoryRules:
    """What the story step needs, built once from the configuration."""

    gazetteer: Gazetteer
    actions: tuple[ActionRule, ...]
    window: timedelta
    followup_window: timedelta
    thresholds: Thresholds = field(default_factory=Thresholds)
    embedder: Embedder = field(default_factory=shared_embedder, compare=False, repr=False)
    version: str = ""

    def __post_init__(self) -> None:
        if not self.version:
            # Computed once: the version every stored analysis is compared with.
            object.__setattr__(self, "version", analysis_version(self.gazetteer))


@dataclass(frozen=True, slots=True)
class StepReport:
    """What one run of the step did: each placed item's story, the stories created, changed and merged."""

    placed: dict[int, int] = field(default_factory=dict)
    created: tuple[int, ...] = ()
    changed: tuple[int, ...] = ()
    merged: tuple[tuple[int, int], ...] = ()


def analyse_items(items: Sequence[Item], rules: StoryRules) -> dict[Item, Analysis]:
    """Analyse items before their transaction (the pipeline does, so the vectors are not made while the
    database is locked); `analyse_new` then stores them."""
    return dict(zip(items, analyse(items, rules.gazetteer, rules.embedder), strict=True)) if items else {}


def analyse_new(
    uow: UnitOfWork, stored: Sequence[tuple[int, Item]], rules: StoryRules, made: Mapping[Item, Analysis] | None = None
) -> None:
    """Store the analyses of newly stored matched items (those not in `made` are analysed now, in one batch
    for their vectors): such an item waits for `place_pending`."""
    made = made or {}
    missing = [item for _, item in stored if made.get(item) is None or made[item].version != rules.version]
    fresh = {**made, **analyse_items(missing, rules)}
    for item_id, item in stored:
        uow.analyses.add(item_id, item.title, fresh[item])


def place_pending(uow: UnitOfWork, rules: StoryRules, now: datetime) -> StepReport:
    """Place every analysed report that has no story yet; store the stories and owe their alerts."""
    pending = fresh_analyses(uow, uow.analyses.pending(MAX_PENDING), rules)
    if not pending:
        return StepReport()
    reports = [Report(s.id, s.item.published, a) for s, a in pending]
    since = min(r.published for r in reports) - rules.followup_window
    records = uow.stories.open_stories(since, MAX_OPEN)
    extras: dict[int, Extras] = {}
    stories = [opened(uow, record, rules, extras) for record in records]
    batch = place(
        reports, stories, window=rules.window, followup_window=rules.followup_window, thresholds=rules.thresholds
    )
    return _store(uow, batch, {s.id: (s, a) for s, a in pending}, extras, rules, now)


@dataclass(slots=True)
class Extras:
    """What a story's state keeps beside the working form: the outlets and topics its members gave."""

    outlets: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)

    def add(self, outlets: Iterable[str], topics: Iterable[str]) -> None:
        self.outlets.extend(o for o in outlets if o not in self.outlets)
        self.topics.extend(t for t in topics if t not in self.topics)


def fresh_analyses(
    uow: UnitOfWork, found: Sequence[tuple[StoredItem, Analysis | None]], rules: StoryRules
) -> list[tuple[StoredItem, Analysis]]:
    """`found` with stale or missing analyses made again (and stored): the gazetteer or model changed."""
    stale = [s for s, a in found if a is None or a.version != rules.version]
    remade: dict[int, Analysis] = {}
    if stale:
        made = analyse([s.item for s in stale], rules.gazetteer, rules.embedder)
        for item, fresh in zip(stale, made, strict=True):
            uow.analyses.replace(item.id, item.item.title, fresh)
            remade[item.id] = fresh
    out: list[tuple[StoredItem, Analysis]] = []
    for stored, analysis in found:
        best = remade.get(stored.id, analysis)
        if best is not None:
            out.append((stored, best))
    return out


def opened(uow: UnitOfWork, record: OpenStoryRecord, rules: StoryRules, extras: dict[int, Extras]) -> OpenStory:
    """The working form of a stored story: from its state, or rebuilt from its kept members when it has
    none or one made with another analysis version."""
    state = record.state
    if state is not None and state.version == rules.version:
        extras[record.story_id] = Extras(list(state.outlets), list(state.topics))
        return to_open(record, state)
    ids, size = uow.stories.member_ids(record.story_id, KEPT_FIRST, KEPT_LATEST)
    members = fresh_analyses(uow, uow.analyses.items(ids), rules)
    extra = Extras()
    for stored, _ in members:
        extra.add([stored.item.outlet], stored.topics)
    if state is not None:
        extra.add(state.outlets, state.topics)
    extras[record.story_id] = extra
    return rebuilt(record, [Report(s.id, s.item.published, a) for s, a in members], size)


def _store(
    uow: UnitOfWork,
    batch: Batch,
    pending: dict[int, tuple[StoredItem, Analysis]],
    extras: dict[int, Extras],
    rules: StoryRules,
    now: datetime,
) -> StepReport:
    """Write what `place` decided: new stories, sources, merges, each changed story's content and state."""
    real: dict[int, int] = {}  # the batch's story ids (negative for new ones) -> stored ids
    for frm, into in batch.merged:
        extras.setdefault(into, Extras()).add(*_pair(extras.get(frm)))
    for placement in batch.placements:
        stored, _ = pending[placement.report.item_id]
        extras.setdefault(placement.story_id, Extras()).add([stored.item.outlet], stored.topics)
    created: list[int] = []
    changed: list[int] = []
    for story_id in sorted(batch.stories, key=lambda s: (s > 0, abs(s))):  # new ones first, in batch order
        story = batch.stories[story_id]
        extra = extras[story_id]
        follow = story.follow_up_of
        story.follow_up_of = real.get(follow, follow) if follow is not None else None
        real[story_id], owed = save_story(uow, story, extra, pending, rules, now)
        if story_id < 0:
            created.append(real[story_id])
        elif owed:
            changed.append(story_id)
    placed = {p.report.item_id: real[p.story_id] for p in batch.placements}
    uow.stories.attach_all(placed)
    uow.analyses.placed(list(placed))
    merged: list[tuple[int, int]] = []
    for frm, into in batch.merged:
        if frm > 0:  # a stored story found to be one event with an older one; a batch's own need no row
            merge_stored(uow, frm, real.get(into, into), now)
            merged.append((frm, real.get(into, into)))
    return StepReport(placed, tuple(created), tuple(changed), tuple(merged))


def save_story(
    uow: UnitOfWork,
    story: OpenStory,
    extra: Extras,
    pending: Mapping[int, tuple[StoredItem, Analysis]],
    rules: StoryRules,
    now: datetime,
) -> tuple[int, bool]:
    """Store a story the step or an admin's correction made or changed: its content (from its kept members)
    and state, a new row when its id is not a stored one (at most 0). Its alerts are owed, in the same
    transaction, when it is new or what an alert shows changed. Returns (its stored id, whether owed)."""
    content = story_content(uow, story, extra, pending, rules)
    state = to_state(story, rules.version, extra.outlets, extra.topics)
    if story.story_id <= 0:
        story_id, owed = uow.stories.create(content, state, now), True
    else:
        story_id, owed = story.story_id, uow.stories.update(story.story_id, content, state, now)
    if owed:
        uow.outbox.enqueue(story_id, now)
    return story_id, owed


def merge_stored(uow: UnitOfWork, story_id: int, into_id: int, now: datetime) -> None:
    """Make a stored story part of another: sources and alerts follow (bot.storage: stories, outbox)."""
    uow.stories.merge(story_id, into_id, now)
    uow.outbox.merge(story_id, into_id, now)


def _pair(extra: Extras | None) -> tuple[list[str], list[str]]:
    return (extra.outlets, extra.topics) if extra is not None else ([], [])


def story_content(
    uow: UnitOfWork,
    story: OpenStory,
    extra: Extras,
    pending: Mapping[int, tuple[StoredItem, Analysis]],
    rules: StoryRules,
) -> StoryContent:
    """The story's content from its kept members (pending reports, or read back from storage)."""
    stored_ids = [m for m in story.members if m not in pending]
    found = {s.id: (s, a) for s, a in fresh_analyses(uow, uow.analyses.items(stored_ids), rules)}
    found.update((m, pending[m]) for m in story.members if m in pending)
    members = [
        Member(found[m][0].item, found[m][0].topics, found[m][1]) for m in story.members if m in found
    ]
    members.sort(key=lambda m: m.item.published)
    return compose(
        members, outlets=len(extra.outlets), topics=extra.topics, rules=rules.actions,
        first_published=story.first_published, last_published=story.last_published, size=story.size,
        follow_up_of=story.follow_up_of,
    )
