"""Advocacy actions for a story: filled action texts, and which configured actions apply.

Pure functions of data: no I/O, no clock, nothing read at import time beyond compiling patterns.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence

from bot.domain import Action, ActionRule, Facts, Urgency
from bot.ingest.match import normalize, term_pattern
from bot.text.dates import event_date_parts
from bot.text.scripts import HAN_CHARS, HAN_COMPATIBILITY, HANGUL_CHARS, KANA

# =====================================================================================================
# Filling placeholders
# =====================================================================================================

PLACEHOLDERS: tuple[str, ...] = ("count", "places", "date", "reporters")

# What each placeholder becomes when the fact is unknown; each reads well where the fact would stand and
# says that it is unknown, never a guess: "the China–North Korea border" or "rights groups" would state what
# no source said (a letter quoting it could be wrong about the place, or about who reported).
UNKNOWN_COUNT = "an unknown number of"
UNKNOWN_PLACES = "an unknown place"
UNKNOWN_DATE = "recently"
UNKNOWN_REPORTERS = "sources"

# Long lists do not fit a phone screen; the story's own message lists them all.
_MAX_LISTED = 3

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def unknown_placeholders(template: str) -> tuple[str, ...]:
    """Names in braces that `fill` does not know, in order of first use: for config validation."""
    seen: list[str] = []
    for match in _PLACEHOLDER.finditer(template):
        name = match.group(1)
        if name not in PLACEHOLDERS and name not in seen:
            seen.append(name)
    return tuple(seen)


def _join(names: Iterable[str]) -> str:
    """'A', 'A and B', 'A, B and C', 'A, B, C and others' (duplicates and blanks dropped)."""
    unique: list[str] = []
    keys: set[str] = set()
    for name in names:
        name = name.strip()
        if name and name.casefold() not in keys:
            keys.add(name.casefold())
            unique.append(name)
    if len(unique) > _MAX_LISTED:
        return ", ".join(unique[:_MAX_LISTED]) + " and others"
    if len(unique) <= 1:
        return "".join(unique)
    return ", ".join(unique[:-1]) + " and " + unique[-1]


def _parse_date(value: str) -> tuple[int, int, int | None] | None:
    """(year, month, day or None) from 'YYYY-MM-DD' or 'YYYY-MM'; None when malformed or impossible."""
    parts = event_date_parts(value.strip())
    if parts is None:
        return None
    year, month, day = parts
    if not 1 <= month <= 12 or (day is not None and not 1 <= day <= 31):
        return None
    return year, month, day


def _date_phrase(dates: Sequence[str]) -> str:
    """'on 9 October 2023', 'in October 2023', or 'recently': the first valid date of the facts (merged
    facts list first the event date most sources give), made a day when a later one is a day of its month.

    Never a range ("between 9 and 12 October") that no source states, nor the latest date, which is as
    often a later statement's as the event's."""
    parsed = [d for d in (_parse_date(v) for v in dates) if d is not None]
    if not parsed:
        return UNKNOWN_DATE
    year, month, day = parsed[0]
    if day is None:
        day = next((d[2] for d in parsed if d[:2] == (year, month) and d[2] is not None), None)
    if day is None:
        return f"in {_MONTHS[month - 1]} {year}"
    return f"on {day} {_MONTHS[month - 1]} {year}"


def _values(facts: Facts) -> dict[str, str]:
    """Each placeholder's text for these facts, with the unknown-fact wording where a fact is missing."""
    return {
        "count": facts.count_text or UNKNOWN_COUNT,
        "places": _join(facts.places) or UNKNOWN_PLACES,
        "date": _date_phrase(facts.dates),
        "reporters": _join(facts.reporters) or UNKNOWN_REPORTERS,
    }


def _starts_sentence(text: str, position: int) -> bool:
    """True when `position` begins the text, a line, or a sentence (after . ! ? and spaces)."""
    before = text[:position].rstrip(" \t")
    return not before or before[-1] in ".!?\n"


def fill(template: str, facts: Facts) -> str:
    """The template with {count} {places} {date} {reporters} filled; unknown {names} are left as written.

    {count}: '500-600' or 'an unknown number of'. {places}: 'Tumen and Dandong' or 'an unknown place'.
    {date}: a whole time phrase, 'on 9 October 2023', 'in October 2023' or 'recently' (write 'returned
    {date}', not 'on {date}'). {reporters}: 'TJWG and Human Rights Watch' or 'sources'. Only values the
    facts hold are written. A value starting a sentence gets a capital letter.
    """
    values = _values(facts)

    def replace(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        if value is None:
            return match.group(0)
        if _starts_sentence(template, match.start()):
            return value[:1].upper() + value[1:]
        return value

    return _PLACEHOLDER.sub(replace, template)


# =====================================================================================================
# Choosing actions
# =====================================================================================================

# Korean attaches particles to a Latin name ("TJWG는"), while bot.match ends a Latin word only where word
# characters end, Hangul included. A space between Latin and Hangul or CJK runs, put into both the text and
# the term, lets the topic matcher's own patterns find such names (tests/test_actions.py, Korean particle).
_UNSPACED_CHARS = HANGUL_CHARS + KANA + HAN_CHARS + HAN_COMPATIBILITY
_LATIN_CHARS = r"0-9a-z\u00c0-\u024f"
_SEAM = re.compile(rf"(?<=[{_LATIN_CHARS}])(?=[{_UNSPACED_CHARS}])|(?<=[{_UNSPACED_CHARS}])(?=[{_LATIN_CHARS}])")


def _term_text(text: str) -> str:
    """`text` as action terms are searched in: bot.match.normalize, then a space at each Latin/CJK seam."""
    return _SEAM.sub(" ", normalize(text))


@functools.lru_cache(maxsize=2048)
def _term_regex(term: str) -> re.Pattern[str]:
    """One term compiled by bot.match.term_pattern, so topics and actions read terms alike.

    Raises ValueError on a term bot.match refuses (configuration validation refuses those first).
    """
    return re.compile(term_pattern(_term_text(term)))


def _mentions(term_text: str, terms: Sequence[str]) -> bool:
    """True when at least one term occurs in the text (already passed through _term_text)."""
    return any(_term_regex(term).search(term_text) for term in terms)


def _conditions_met(
    rule: ActionRule,
    *,
    topics: frozenset[str],
    normalized_text: str,
    entities: frozenset[str],
    urgency: Urgency,
) -> int | None:
    """How many conditions the rule gives when every one holds; None when any fails."""
    given = 0
    if rule.topics:
        if topics.isdisjoint(rule.topics):
            return None
        given += 1
    if rule.terms:
        if not _mentions(normalized_text, rule.terms):
            return None
        given += 1
    if rule.entities:
        # Canonical names compared without case: "Human Rights Watch" in config, "Human rights Watch" found.
        if entities.isdisjoint(e.casefold() for e in rule.entities):
            return None
        given += 1
    if rule.urgency:
        if urgency not in rule.urgency:
            return None
        given += 1
    return given


def suggest_actions(
    rules: Sequence[ActionRule],
    *,
    topics: Sequence[str],
    text: str,
    entities: frozenset[str],
    facts: Facts,
    urgency: Urgency,
    limit: int = 3,
) -> tuple[Action, ...]:
    """At most `limit` actions whose every condition holds, filled from `facts`.

    Best first: higher priority, then more conditions satisfied (a more specific rule), then config
    order. A rule id appearing twice is suggested once.
    """
    if limit <= 0:
        return ()
    topic_set = frozenset(topics)
    normalized_text = _term_text(text)
    entity_set = frozenset(e.casefold() for e in entities)
    ranked: list[tuple[int, int, int, ActionRule]] = []
    for order, rule in enumerate(rules):
        met = _conditions_met(
            rule, topics=topic_set, normalized_text=normalized_text, entities=entity_set, urgency=urgency
        )
        if met is not None:
            ranked.append((-rule.priority, -met, order, rule))
    ranked.sort(key=lambda r: r[:3])
    chosen: list[Action] = []
    seen: set[str] = set()
    for *_, rule in ranked:
        if rule.id in seen:
            continue
        seen.add(rule.id)
        chosen.append(
            Action(
                id=rule.id,
                title=fill(rule.title, facts),
                text=fill(rule.text, facts),
                url=rule.url,
                targets=rule.targets,
            )
        )
        if len(chosen) == limit:
            break
    return tuple(chosen)
