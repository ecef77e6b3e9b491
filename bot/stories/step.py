"""The story step of the pipeline: put a new report into its story and recompute what the story tells."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.cluster import Decision, absorb, decide, index_keys, profile_for, signature
from bot.compose import AnalysisCache, analysis_key, analyze, compose, sources_read
from bot.domain import ActionRule, Item
from bot.facts import Gazetteer
from bot.storage.stories import StoryContent
from bot.storage.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class StoryRules:
    """What the story step needs, built once from the configuration."""

    gazetteer: Gazetteer
    actions: tuple[ActionRule, ...]
    window: timedelta
    followup_window: timedelta
    # Reports already analysed with `gazetteer`: a new report is analysed once for its signature, and its
    # story's other sources are not analysed again each time the story grows. Bounded; no schema change.
    analyses: AnalysisCache = field(default_factory=AnalysisCache, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class StoryChange:
    """Which story a report went to, whether that story is new, and whether its alert content changed."""

    story_id: int
    created: bool
    changed: bool
    decision: Decision


def assign_story(
    uow: UnitOfWork, item_id: int, item: Item, topics: Sequence[str], rules: StoryRules, now: datetime
) -> StoryChange:
    """Cluster the stored item into a story (new or existing) and store the story's recomputed content."""
    analysis = rules.analyses.get(analysis_key(item))
    if analysis is None:
        analysis = analyze(item, rules.gazetteer)
        rules.analyses.remember([(item, analysis)])
    sig = signature(
        item,
        entities=analysis.entities,
        numbers=analysis.numbers,
        dates=frozenset(analysis.facts.dates),
        places=analysis.places,
    )
    keys = index_keys(sig)
    candidates = uow.stories.candidates(keys, since=item.published - rules.followup_window)
    decision = decide(sig, candidates, window=rules.window, followup_window=rules.followup_window)
    if decision.story_id is None:
        content = _content([(item, topics)], rules, follow_up_of=decision.follow_up_of)
        story_id = uow.stories.create(content, profile_for(0, sig), now)
        uow.stories.attach(item_id, story_id)
        uow.stories.index(story_id, keys, item.published)
        return StoryChange(story_id, True, True, decision)
    story_id = decision.story_id
    profile = absorb(next(p for p in candidates if p.story_id == story_id), sig)
    uow.stories.attach(item_id, story_id)
    sources = [(s.item, s.topics) for s in uow.stories.sources(story_id)]
    previous = uow.stories.get_follow_up_of(story_id)
    content = _content(sources, rules, follow_up_of=previous)
    changed = uow.stories.update(story_id, content, profile, now)
    uow.stories.index(story_id, keys, profile.last_published)
    return StoryChange(story_id, False, changed, decision)


def _content(
    sources: Sequence[tuple[Item, Sequence[str]]], rules: StoryRules, *, follow_up_of: int | None
) -> StoryContent:
    items = [item for item, _ in sources]
    # The new report was analysed for its signature, and earlier sources when they joined: compose reuses
    # those analyses, and any it had to make (a source stored before a restart) are kept for next time.
    composed, analyses = compose(sources, gazetteer=rules.gazetteer, rules=rules.actions, known=rules.analyses)
    rules.analyses.remember(zip(sources_read(items), analyses, strict=True))
    return StoryContent(
        title=composed.title,
        summary=composed.summary,
        facts=composed.facts,
        urgency=composed.urgency,
        topics=composed.topics,
        actions=composed.actions,
        language=composed.language,
        first_published=min(i.published for i in items),
        last_published=max(i.published for i in items),
        source_count=len(items),
        follow_up_of=follow_up_of,
    )

