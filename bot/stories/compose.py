"""What a story tells subscribers, from its kept members' stored analyses: facts, title, summary, urgency,
actions. Pure; reads a bounded number of members whatever the story's size."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain import ActionRule, Analysis, Facts, Item, StoryContent, Urgency
from bot.stories.actions import suggest_actions
from bot.stories.analyse import event_title
from bot.stories.facts import merge_facts
from bot.stories.summarize import SummaryInput, summarize
from bot.stories.urgency import classify_urgency

# Members read for the summary and urgency: the lead reports carry the story; a long tail adds little.
MAX_SOURCES_READ = 12


@dataclass(frozen=True, slots=True)
class Member:
    """One source of a story as compose reads it: the item, its topics and its stored analysis."""

    item: Item
    topics: tuple[str, ...]
    analysis: Analysis


def story_language(members: Sequence[Member]) -> str:
    """The language most members are in; a tie goes to the language of the earliest member."""
    languages = [m.analysis.language or "und" for m in members]
    counts = Counter(languages)
    order = {lang: i for i, lang in reversed(list(enumerate(languages)))}
    return min(counts, key=lambda lang: (-counts[lang], order[lang]))


def compose(
    members: Sequence[Member],
    *,
    outlets: int,
    topics: Sequence[str],
    rules: Sequence[ActionRule],
    first_published: datetime,
    last_published: datetime,
    size: int,
    follow_up_of: int | None,
) -> StoryContent:
    """The story told by `members` (oldest first, the story's kept ones), which `outlets` outlets reported,
    in `topics`; the times, size and follow-up are the story's own."""
    if not members:
        raise ValueError("a story needs at least one source")
    analyses = [m.analysis for m in members]
    facts = merge_facts([a.facts for a in analyses], outlets)
    language = story_language(members)
    in_language = [m for m in members if (m.analysis.language or "und") == language]
    lead = in_language[0]
    read = in_language[:MAX_SOURCES_READ]
    summary = summarize(
        [
            SummaryInput(
                title=event_title(m.item),
                body=m.analysis.text.partition("\n")[2],
                language=m.analysis.language,
                fact_terms=_fact_terms(m.analysis.facts),
            )
            for m in read
        ]
    )
    first = members[:MAX_SOURCES_READ]
    urgent = any(
        classify_urgency(m.analysis.text, m.analysis.facts, language=m.analysis.language) is Urgency.URGENT
        for m in first
    )
    urgency = Urgency.URGENT if urgent else Urgency.UPDATE
    entities = frozenset[str]().union(*(a.entities for a in analyses))
    actions = suggest_actions(
        rules, topics=tuple(topics), text="\n".join(m.analysis.text for m in first), entities=entities,
        facts=facts, urgency=urgency,
    )
    return StoryContent(
        title=event_title(lead.item),
        summary=summary or event_title(lead.item),
        facts=facts,
        urgency=urgency,
        topics=tuple(topics),
        actions=actions,
        language=language,
        first_published=first_published,
        last_published=last_published,
        source_count=size,
        follow_up_of=follow_up_of,
    )


def _fact_terms(facts: Facts) -> tuple[str, ...]:
    terms: list[str] = []
    for value in (facts.count_low, facts.count_high):
        if value is not None:
            terms.append(str(value))
    terms.extend(facts.places)
    terms.extend(facts.reporters)
    return tuple(dict.fromkeys(terms))
