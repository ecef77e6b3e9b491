"""What a story tells subscribers, computed from its sources: facts, title, summary, urgency, actions. Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bot.actions import classify_urgency, suggest_actions
from bot.domain import Action, ActionRule, Facts, Item, Urgency
from bot.facts import Gazetteer, extract_facts, extract_numbers, find_entities, merge_facts
from bot.summarize import SummaryInput, strip_clutter, summarize

# Sources read for the summary and urgency: the lead reports carry the story; a long tail adds little
# and would make each new source cost more than the last.
MAX_SOURCES_READ = 12


@dataclass(frozen=True, slots=True)
class Analysis:
    """Facts of one report, with the entities and people counts clustering compares."""

    facts: Facts
    entities: frozenset[str]
    numbers: frozenset[int]


@dataclass(frozen=True, slots=True)
class Composed:
    """A story's content as computed from its sources (ids and bookkeeping are storage's)."""

    title: str
    summary: str
    facts: Facts
    urgency: Urgency
    topics: tuple[str, ...]
    actions: tuple[Action, ...]
    language: str
    entities: frozenset[str]


def analyze(item: Item, gazetteer: Gazetteer) -> Analysis:
    """Facts, entities and counts of one report, read from its clutter-free text."""
    text = _clean_text(item)
    return Analysis(
        facts=extract_facts(text, item.language, item.published, gazetteer),
        entities=find_entities(text, gazetteer),
        numbers=extract_numbers(text, item.language),
    )


def _clean_text(item: Item) -> str:
    return "\n".join(part for part in (item.title, strip_clutter(item.summary), strip_clutter(item.content)) if part)


def _base_language(language: str) -> str:
    return language.split("-")[0].lower() or "und"


def story_language(sources: Sequence[Item]) -> str:
    """The language most sources are in; a tie goes to the language of the earliest source."""
    counts = Counter(_base_language(s.language) for s in sources)
    order = {lang: i for i, lang in reversed(list(enumerate(_base_language(s.language) for s in sources)))}
    return min(counts, key=lambda lang: (-counts[lang], order[lang]))


def compose(
    sources: Sequence[tuple[Item, Sequence[str]]],
    *,
    gazetteer: Gazetteer,
    rules: Sequence[ActionRule],
) -> tuple[Composed, tuple[Analysis, ...]]:
    """The story told by `sources` (items with their topics, oldest first), and each source's analysis."""
    if not sources:
        raise ValueError("a story needs at least one source")
    all_items = [item for item, _ in sources]
    outlets = len({item.outlet for item in all_items})
    # Reading every source of a large story on each new report would make a report cost more the bigger its
    # story; the first reports and the latest ones carry the facts and how they changed.
    items = all_items if len(all_items) <= 2 * MAX_SOURCES_READ else [
        *all_items[:MAX_SOURCES_READ], *all_items[-MAX_SOURCES_READ:]
    ]
    analyses = tuple(analyze(item, gazetteer) for item in items)
    facts = merge_facts([a.facts for a in analyses], outlets)
    language = story_language(items)
    in_language = [(i, a) for i, a in zip(items, analyses, strict=True) if _base_language(i.language) == language]
    lead = in_language[0][0]
    read = in_language[:MAX_SOURCES_READ]
    summary = summarize(
        [
            SummaryInput(
                title=item.title,
                body="\n\n".join(p for p in (item.summary, item.content) if p),
                language=item.language,
                fact_terms=_fact_terms(analysis.facts),
            )
            for item, analysis in read
        ]
    )
    texts = [_clean_text(item) for item in items[:MAX_SOURCES_READ]]
    urgent = any(
        classify_urgency(text, a.facts, language=item.language) is Urgency.URGENT
        for text, item, a in zip(texts, items, analyses, strict=False)
    )
    urgency = Urgency.URGENT if urgent else Urgency.UPDATE
    topic_order: dict[str, None] = {}
    for _, topics in sources:
        topic_order.update(dict.fromkeys(topics))
    entities = frozenset[str]().union(*(a.entities for a in analyses))
    actions = suggest_actions(
        rules, topics=tuple(topic_order), text="\n".join(texts), entities=entities, facts=facts, urgency=urgency
    )
    composed = Composed(
        title=lead.title,
        summary=summary or lead.title,
        facts=facts,
        urgency=urgency,
        topics=tuple(topic_order),
        actions=actions,
        language=language,
        entities=entities,
    )
    return composed, analyses


def _fact_terms(facts: Facts) -> tuple[str, ...]:
    terms: list[str] = []
    for value in (facts.count_low, facts.count_high):
        if value is not None:
            terms.append(str(value))
    terms.extend(facts.places)
    terms.extend(facts.reporters)
    return tuple(dict.fromkeys(terms))

