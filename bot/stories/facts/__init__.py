"""Key facts of a report (how many people, where, when, who says so) in English, Korean and Chinese.

Pure functions of text; the gazetteer of places and organisations is loaded once and passed in.

Rules, with their reasons:

* Count. A number counts people only when a people word follows it: an English people noun within three
  words ("600 North Korean defectors", "five hundred escapees", "600-odd women"), the Korean counter 명
  ("600여 명", "500~600명") or a Chinese counter (名, 人, 位: "约600名", "500至600人", "六百人",
  "五六百人" = 500-600). So years, ages, percentages, money, durations ("three years") and ids never
  count. Four-digit English numbers from 1800 to 2100 are always years ("2000 people" is lost; news
  style writes "2,000"), a number right after a month name is a day, and counts below 2 or of a
  million and more (national populations) are dropped. The story's count is the first count in the
  text that is not part of another ("including 200 women", "of whom", "이 중", "그 가운데", "포함",
  "其中", "包括"): news puts the event's figure in the title and lead, while later figures are parts of it
  or history ("8,000 repatriated since 2000"). A range in one text ("500 to 600") is the count's range.
* Dates. Explicit dates are resolved against the publication time, read in the language's usual time
  zone (Korean UTC+9, Chinese UTC+8, else UTC): a date without a year takes the latest year that puts
  it at or before publication, with one day of slack for time zones (a January report about
  "December 28" means last year). Month names give "YYYY-MM" ("in October", "10월", "10月"). Relative
  words are resolved where they name one day or month: weekdays ("on Monday", "지난 월요일", "上周一"),
  yesterday (어제, 昨天), last/this month (지난달, 本月), a day of the month (지난 9일, 9일 밤, 9日晚).
  "Last week", "recently" and future dates ("오는 15일", "next Monday", "is set to speak ... on Friday")
  are left out. So are the report's own days, which are not the event's: a dateline ("SEOUL, Dec 7
  (Reuters) -", "新华社北京10月13日电") and the day of a statement or publication ("said on Tuesday",
  "said in a statement Thursday", "a report published on Monday", "told reporters on ...", "On Tuesday,
  the group said", "11일 기자회견을 열고", "11日在例行记者会上表示", "7日发布报告称"). A report that gives
  only such days has no event date: better none than the day someone spoke, which would contradict the
  event's day in other reports. Photo captions never get here: clutter removal drops them as blocks.
  Merging ranks dates by how many sources give them.
* Places: gazetteer places in order of first appearance, where the event happened. A place people were
  heading for is not one ("arrested in Kunming on their way to Laos", "라오스로 가던", "前往老挝"): a place
  named only as a destination is left out; both ends of a transfer ("from Tumen to Onsong") stay.
  Background places (China, North Korea, South Korea, their capitals) are named in nearly every report,
  so they are listed only when nothing more specific is; they still count as entities for clustering.
* Reporters: gazetteer organisations marked as reporters, mentioned in a sentence that also carries an
  attribution word ("said", "according to", "밝혔다", "따르면", "表示", "据"). In doubt a mention is kept.
  A government body right after another country's name (老挝外交部, 러시아 외교부) is that country's,
  not the one the gazetteer lists, and is not counted at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain import Facts
from bot.stories.facts.counts import _main_count, extract_numbers
from bot.stories.facts.dates import _dates, _reference_date
from bot.stories.facts.entities import _places, _reporters, find_entities, find_entities_and_pinpoints
from bot.stories.facts.gazetteer import (
    ORGANISATION_KINDS,
    PLACE_KINDS,
    Gazetteer,
    GazetteerEntry,
    _lower,
    _mentions,
    load_gazetteer,
    parse_gazetteer,
)

__all__ = [
    "ORGANISATION_KINDS",
    "PLACE_KINDS",
    "Gazetteer",
    "GazetteerEntry",
    "extract_facts",
    "extract_numbers",
    "find_entities",
    "find_entities_and_pinpoints",
    "load_gazetteer",
    "merge_facts",
    "parse_gazetteer",
]


# ====================================================================================================
# Facts of one report, and of a story
# ====================================================================================================


def extract_facts(text: str, language: str, published: datetime, gazetteer: Gazetteer) -> Facts:
    """Count, places, event dates and reporters of one report (outlets=0); see the module rules."""
    lowered = _lower(text)
    mentions = _mentions(text, gazetteer, lowered)
    count = _main_count(text, lowered)
    return Facts(
        count_low=count[0] if count else None,
        count_high=count[1] if count else None,
        places=_places(text, mentions),
        dates=_dates(text, _reference_date(published, language)),
        reporters=_reporters(text, lowered, mentions),
        outlets=0,
    )


# Counts agree when their ranges overlap or their nearest ends are this close: "about 500" and "up to 600"
# tell of one group, 50 and 600 do not (the same ratio bot.stories.assign reads as no contradiction).
COUNT_AGREE_RATIO = 1.25


def _counts_agree(a: tuple[int, int], b: tuple[int, int]) -> bool:
    if a[0] <= b[1] and b[0] <= a[1]:
        return True
    low, high = (a[1], b[0]) if a[1] < b[0] else (b[1], a[0])
    return low > 0 and high / low <= COUNT_AGREE_RATIO


def _story_count(parts: Sequence[Facts]) -> tuple[int, int] | None:
    """The count most sources give (the first of equals), widened by the counts that agree with it.

    Both ends are figures a source gives; counts that disagree with it ("50" beside "600") are left out,
    since "50-600" is what no source says."""
    counts = [(p.count_low, p.count_high) for p in parts if p.count_low is not None and p.count_high is not None]
    if not counts:
        return None
    backing = {c: sum(_counts_agree(c, other) for other in counts) for c in counts}
    reference = max(dict.fromkeys(counts), key=lambda c: backing[c])  # max keeps the first of equals
    agreeing = [c for c in counts if _counts_agree(c, reference)]
    return min(c[0] for c in agreeing), max(c[1] for c in agreeing)


def merge_facts(parts: Sequence[Facts], outlets: int) -> Facts:
    """One story's facts: the count most sources back, as a range over the counts that agree with it;
    places, dates and reporters unioned, those more sources give first, then in order of first appearance.
    Every value is one a source gives."""
    count = _story_count(parts)
    return Facts(
        count_low=count[0] if count else None,
        count_high=count[1] if count else None,
        places=_union([p.places for p in parts]),
        dates=_union([p.dates for p in parts]),
        reporters=_union([p.reporters for p in parts]),
        outlets=outlets,
    )


def _union(lists: Sequence[Sequence[str]]) -> tuple[str, ...]:
    sources: dict[str, int] = {}
    first: dict[str, tuple[int, int]] = {}
    for i, values in enumerate(lists):
        for j, value in enumerate(dict.fromkeys(values)):
            sources[value] = sources.get(value, 0) + 1
            first.setdefault(value, (i, j))
    return tuple(sorted(sources, key=lambda v: (-sources[v], first[v])))
