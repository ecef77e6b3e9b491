"""What a story tells subscribers, computed from its sources: facts, title, summary, urgency, actions. Pure."""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from bot.actions import classify_urgency, suggest_actions
from bot.domain import Action, ActionRule, Facts, Item, Urgency
from bot.facts import Gazetteer, extract_facts, extract_numbers, find_entities_and_pinpoints, merge_facts
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
    places: frozenset[str] = frozenset()  # those of `entities` that pin a place down (facts.PINPOINT_PLACE_KINDS)


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
    entities, places = find_entities_and_pinpoints(text, gazetteer)
    return Analysis(
        facts=extract_facts(text, item.language, item.published, gazetteer),
        entities=entities,
        numbers=extract_numbers(text, item.language),
        places=places,
    )


def analysis_key(item: Item) -> Hashable:
    """What `analyze` reads of an item: its identity, text, language and publication time (for relative dates).

    The same report read back from storage gives the same key, so an analysis made before it was stored can
    be passed to `compose` instead of being made again.
    """
    return (item.guid, item.link, item.title, item.summary, item.content, item.language, item.published)


class AnalysisCache(Mapping[Hashable, Analysis]):
    """The analyses of the latest reports by `analysis_key`, at most `size`; the least recently used go first.

    A story is recomposed from all its sources each time one joins, so without this every source would be
    analysed again for every later source. One cache serves one gazetteer (it lives beside it in StoryRules).
    """

    def __init__(self, size: int = 512) -> None:
        if size < 1:
            raise ValueError(f"analysis cache size must be at least 1, not {size}")
        self._size = size
        self._entries: OrderedDict[Hashable, Analysis] = OrderedDict()

    def __getitem__(self, key: Hashable) -> Analysis:
        found = self._entries[key]
        self._entries.move_to_end(key)
        return found

    def __iter__(self) -> Iterator[Hashable]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def remember(self, pairs: Iterable[tuple[Item, Analysis]]) -> None:
        """Keep these analyses, dropping the least recently used beyond the size."""
        for item, analysis in pairs:
            key = analysis_key(item)
            self._entries[key] = analysis
            self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)


def _clean_text(item: Item) -> str:
    return "\n".join(part for part in (item.title, strip_clutter(item.summary), strip_clutter(item.content)) if part)


def _base_language(language: str) -> str:
    return language.split("-")[0].lower() or "und"


def story_language(sources: Sequence[Item]) -> str:
    """The language most sources are in; a tie goes to the language of the earliest source."""
    counts = Counter(_base_language(s.language) for s in sources)
    order = {lang: i for i, lang in reversed(list(enumerate(_base_language(s.language) for s in sources)))}
    return min(counts, key=lambda lang: (-counts[lang], order[lang]))


def sources_read(items: Sequence[Item]) -> list[Item]:
    """The sources `compose` analyses, in order: all, or the first and the latest MAX_SOURCES_READ."""
    # Reading every source of a large story on each new report would make a report cost more the bigger its
    # story; the first reports and the latest ones carry the facts and how they changed.
    if len(items) <= 2 * MAX_SOURCES_READ:
        return list(items)
    return [*items[:MAX_SOURCES_READ], *items[-MAX_SOURCES_READ:]]


def compose(
    sources: Sequence[tuple[Item, Sequence[str]]],
    *,
    gazetteer: Gazetteer,
    rules: Sequence[ActionRule],
    known: Mapping[Hashable, Analysis] | None = None,
) -> tuple[Composed, tuple[Analysis, ...]]:
    """The story told by `sources` (items with their topics, oldest first), and the analyses of sources_read.

    `known` maps `analysis_key(item)` to analyses already made with the same gazetteer; those are not redone.
    """
    if not sources:
        raise ValueError("a story needs at least one source")
    all_items = [item for item, _ in sources]
    outlets = len({item.outlet for item in all_items})
    items = sources_read(all_items)
    known = known or {}
    analyses = tuple(_known_or_new(item, gazetteer, known) for item in items)
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


def _known_or_new(item: Item, gazetteer: Gazetteer, known: Mapping[Hashable, Analysis]) -> Analysis:
    found = known.get(analysis_key(item))
    return found if found is not None else analyze(item, gazetteer)


def _fact_terms(facts: Facts) -> tuple[str, ...]:
    terms: list[str] = []
    for value in (facts.count_low, facts.count_high):
        if value is not None:
            terms.append(str(value))
    terms.extend(facts.places)
    terms.extend(facts.reporters)
    return tuple(dict.fromkeys(terms))

