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

import bisect
import contextlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from bot.domain import Facts
from bot.errors import ConfigError
from bot.stories.summarize import dateline_length
from bot.text.scripts import HAN as _HAN
from bot.text.scripts import HANGUL as _HANGUL
from bot.text.scripts import HANGUL_OR_HAN as _CJK_CHAR

__all__ = [
    "ORGANISATION_KINDS",
    "PLACE_KINDS",
    "Gazetteer",
    "GazetteerEntry",
    "extract_facts",
    "extract_numbers",
    "find_entities",
    "load_gazetteer",
    "merge_facts",
    "parse_gazetteer",
]

PLACE_KINDS = frozenset(
    {
        "country",
        "capital",
        "cn-province",
        "cn-prefecture",
        "cn-city",
        "cn-county",
        "cn-town",
        "crossing",
        "kp-province",
        "kp-city",
        "kp-town",
        "river",
        "mountain",
    }
)
ORGANISATION_KINDS = frozenset({"rights-group", "government", "un-body", "media", "research"})

# ====================================================================================================
# Gazetteer
# ====================================================================================================


@dataclass(frozen=True, slots=True)
class GazetteerEntry:
    """A place or organisation: canonical English name, kind, and every alias (name included)."""

    name: str
    kind: str
    aliases: tuple[str, ...]
    place: bool
    reporter: bool = False
    background: bool = False
    country: str | None = None  # a government body's country


@dataclass(frozen=True, slots=True)
class _Alias:
    """What a matched alias key stands for and how its letter case must look in the text."""

    entry: GazetteerEntry
    case: str  # "any", "capital" (one word: first letter upper) or "upper" (acronym: all capitals)


@dataclass(frozen=True, slots=True)
class _Mention:
    start: int
    end: int
    entry: GazetteerEntry


@dataclass(frozen=True, slots=True)
class Gazetteer:
    """Places and organisations with their compiled matchers. Build with load_gazetteer or Gazetteer.build."""

    entries: tuple[GazetteerEntry, ...]
    ignore: tuple[str, ...]
    latin: re.Pattern[str] = field(compare=False, repr=False)
    latin_in_cjk: re.Pattern[str] = field(compare=False, repr=False)
    hangul: re.Pattern[str] = field(compare=False, repr=False)
    han: re.Pattern[str] = field(compare=False, repr=False)
    by_key: Mapping[str, _Alias | None] = field(compare=False, repr=False)

    @classmethod
    def build(
        cls, entries: Iterable[GazetteerEntry], ignore: Iterable[str] = (), source: str = "<gazetteer>"
    ) -> Gazetteer:
        """Compile the matchers; ConfigError naming the entries if two of them share an alias."""
        entries = tuple(entries)
        ignore = tuple(ignore)
        problems: list[str] = []
        by_key: dict[str, _Alias | None] = {}
        owner: dict[str, str] = {}
        latin: set[str] = set()
        cjk: set[str] = set()
        for entry in entries:
            for alias in entry.aliases:
                key = _key(alias)
                if not key:
                    problems.append(f"{entry.name!r}: an alias is empty")
                    continue
                if owner.setdefault(key, entry.name) != entry.name:
                    problems.append(f"{entry.name!r}: alias {alias!r} is also an alias of {owner[key]!r}")
                    continue
                is_latin = _is_latin_start(alias)
                rule = _case_rule(alias) if is_latin else "any"
                # Spellings of one entry that share a key ("Vietnam", "Viet Nam"): the loosest case rule.
                known = by_key.get(key)
                if known is not None and _CASE_RULES.index(known.case) < _CASE_RULES.index(rule):
                    rule = known.case
                by_key[key] = _Alias(entry, rule)
                (latin if is_latin else cjk).add(alias)
        for phrase in ignore:
            key = _key(phrase)
            if key in owner:
                problems.append(f"ignore: {phrase!r} is an alias of {owner[key]!r}")
                continue
            by_key[key] = None
            (latin if _is_latin_start(phrase) else cjk).add(phrase)
        if problems:
            raise ConfigError(source, problems)
        return cls(entries, ignore, *_compile_matchers(latin, cjk), by_key=MappingProxyType(by_key))

    def entry(self, name: str) -> GazetteerEntry:
        """The entry with this canonical name; KeyError if there is none."""
        for entry in self.entries:
            if entry.name == name:
                return entry
        raise KeyError(name)


_LATIN_LETTER = "a-z0-9à-ɏ"
_CJK_SAMPLE = 400  # characters looked at to tell Korean or Chinese text from Latin text


def _is_cjk_text(text: str) -> bool:
    """Whether the text's opening is Korean or Chinese: picks the faster of two equivalent regexes."""
    return _CJK_CHAR.search(text, 0, _CJK_SAMPLE) is not None


_SPACE_CJK = r"\s*"  # Korean spacing varies; Chinese has none
_SPACE_LATIN = r"\s+"
_END = ""  # trie key marking the end of an alias


def _is_latin_start(alias: str) -> bool:
    return alias[:1].isascii() or "\u00c0" <= alias[:1] <= "\u024f"


def _key(text: str) -> str:
    """Lookup key of an alias or matched text: lower case, no spaces, one apostrophe, one hyphen."""
    text = text.lower()
    text = re.sub(r"\s+", "", text)
    return text.translate(_KEY_TABLE)


_KEY_TABLE = str.maketrans({"’": "'", "‘": "'", "‐": "-", "‑": "-", "–": "-"})


_CASE_RULES = ("any", "capital", "upper")  # loosest first


def _case_rule(alias: str) -> str:
    if " " in alias.strip():
        return "any"
    letters = [c for c in alias if c.isalpha()]
    if len(letters) >= 2 and all(c.isupper() for c in letters):
        return "upper"
    return "capital"


def _case_ok(found: str, rule: str) -> bool:
    if rule == "upper":
        return found == found.upper()
    if rule == "capital":
        return found[:1].isupper()
    return True


def _units(alias: str) -> list[str]:
    """Regex pieces of an alias, one per character; spaces and punctuation variants folded."""
    units: list[str] = []
    space = _SPACE_CJK if _HANGUL.search(alias) or _HAN.search(alias) else _SPACE_LATIN
    for ch in alias.lower().strip():
        if ch.isspace():
            if not units or units[-1] != space:
                units.append(space)
        elif ch in "'’‘":
            units.append("['’‘]")
        elif ch in "-‐‑–":
            units.append("[-‐‑–]")
        else:
            units.append(re.escape(ch))
    return units


def _trie(words: Iterable[str]) -> dict[str, Any]:
    """A character trie of words (see _units); the empty key marks where a word ends."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for unit in _units(word):
            node = node.setdefault(unit, {})
        node[_END] = {}
    return root


def _letter_led(trie: Mapping[str, Any]) -> str:
    """A Latin trie as one alternation whose branches start with their first letter, so the engine skips
    to those letters; the word boundary before it is checked just after it (a look-behind of two)."""
    if not trie:
        return r"(?!)"
    return "|".join(f"{first}(?<![{_LATIN_LETTER}].){_render(child, True)}" for first, child in sorted(trie.items()))


def _compile_matchers(
    latin: Iterable[str], cjk: Iterable[str]
) -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """Regexes over lower-cased text, each a trie of aliases so the longest alias at a place wins:
    Latin aliases in Latin text, Latin aliases in Korean or Chinese text, Korean aliases, Chinese aliases.

    Speed comes from how a regex starts: the engine skips in C to characters that can start a match.
    In Latin text, the Latin regex starts with "a character that is not a letter or digit" (the word
    boundary before the alias; the text gets a space in front), so only positions between words are
    tried. In Korean or Chinese text nearly every character is such a position, so there the Latin
    regex starts with the alias's first letter instead. The Korean and the Chinese regexes start with
    a literal per branch; they are apart because every candidate position tries every branch.
    Within a trie each level compares one character instead of trying every alias.
    """
    latin_trie = _trie(latin)
    cjk = list(cjk)
    hangul_trie = _trie(a for a in cjk if _HANGUL.search(a))
    han_trie = _trie(a for a in cjk if not _HANGUL.search(a))
    never = r"(?!)"
    return (
        re.compile(f"[^{_LATIN_LETTER}]({_render(latin_trie, True) if latin_trie else never})"),
        re.compile(f"({_letter_led(latin_trie)})"),
        re.compile(_render(hangul_trie, False) if hangul_trie else never),
        re.compile(_render(han_trie, False) if han_trie else never),
    )


def _render(node: Mapping[str, Any], latin: bool) -> str:
    alternatives = [unit + _render(child, latin) for unit, child in sorted(node.items()) if unit != _END]
    if _END in node:
        # Last, so that longer aliases are tried first.
        alternatives.append(f"(?![{_LATIN_LETTER}])" if latin else "")
    if len(alternatives) == 1:
        return alternatives[0]
    return "(?:" + "|".join(alternatives) + ")"


def _lower(text: str) -> str:
    """Lower-cased text of the same length, so match offsets are offsets in the original."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return text.translate(_ASCII_LOWER)  # a few letters (İ) grow when lower-cased


_ASCII_LOWER = str.maketrans({chr(c): chr(c + 32) for c in range(ord("A"), ord("Z") + 1)})


def _mentions(text: str, gazetteer: Gazetteer, lowered: str | None = None) -> list[_Mention]:
    """Every alias occurrence, in text order; where two overlap, the earlier (then longer) one."""
    if lowered is None:
        lowered = _lower(text)
    spans: list[tuple[int, int]] = []
    if _is_cjk_text(text):
        spans.extend(m.span(1) for m in gazetteer.latin_in_cjk.finditer(lowered))
    else:
        # The leading space gives an alias at the very start its word boundary; offsets shift back by one.
        spans.extend((m.start(1) - 1, m.end(1) - 1) for m in gazetteer.latin.finditer(" " + lowered))
    if _HANGUL.search(text):
        spans.extend(m.span() for m in gazetteer.hangul.finditer(lowered))
    if _HAN.search(text):
        spans.extend(m.span() for m in gazetteer.han.finditer(lowered))
    spans.sort(key=lambda span: (span[0], -span[1]))
    found: list[_Mention] = []
    taken_until = 0
    for start, end in spans:
        if start < taken_until:
            continue
        taken_until = end
        alias = gazetteer.by_key.get(_key(lowered[start:end]))
        if alias is None:  # an ignored phrase: it hides the alias inside it
            continue
        if not _case_ok(text[start:end], alias.case):
            continue
        previous = found[-1] if found else None
        if (
            alias.entry.country is not None
            and previous is not None
            and previous.entry.kind == "country"
            and previous.entry.name != alias.entry.country
            and text[previous.end : start].strip() in ("", "'s", "’s")
        ):
            continue  # 老挝外交部, 러시아 외교부: that country's ministry, which the gazetteer does not list
        found.append(_Mention(start, end, alias.entry))
    return found


# --- loading and validating the YAML ---------------------------------------------------------------


class _EntryModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str
    kind: str
    background: bool = False
    en: list[str] = []
    ko: list[str] = []
    zh: list[str] = []


class _OrganisationModel(_EntryModel):
    reporter: bool = True
    country: str | None = None


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    ignore: list[str] = []
    places: list[_EntryModel]
    organisations: list[_OrganisationModel] = []


def load_gazetteer(path: Path | None = None) -> Gazetteer:
    """Read and check the gazetteer (default: the bundled bot/data/gazetteer.yaml); ConfigError if bad."""
    if path is None:
        source = "bot/data/gazetteer.yaml"
        text = resources.files("bot.data").joinpath("gazetteer.yaml").read_text(encoding="utf-8")
    else:
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(source, [f"{source}: cannot read: {exc.strerror or exc}"]) from None
    return parse_gazetteer(text, source)


def parse_gazetteer(text: str, source: str = "<gazetteer>") -> Gazetteer:
    """Check gazetteer YAML text and build the Gazetteer; ConfigError lists each problem by entry."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(source, [f"{source}{where}: invalid YAML: {exc}"]) from None
    try:
        model = _FileModel.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, [_describe(err, data) for err in exc.errors()]) from None

    problems: list[str] = []
    entries: list[GazetteerEntry] = []
    names: set[str] = set()
    sections: list[tuple[str, Sequence[_EntryModel], frozenset[str]]] = [
        ("places", model.places, PLACE_KINDS),
        ("organisations", model.organisations, ORGANISATION_KINDS),
    ]
    for section, items, kinds in sections:
        for index, item in enumerate(items):
            label = f"{section}[{index}] {item.name!r}"
            problems.extend(f"{label}: {p}" for p in _entry_problems(item, kinds))
            if item.name.casefold() in names:
                problems.append(f"{label}: the name is used by another entry")
            names.add(item.name.casefold())
            aliases = list(dict.fromkeys([item.name, *item.en, *item.ko, *item.zh]))
            entries.append(
                GazetteerEntry(
                    name=item.name,
                    kind=item.kind,
                    aliases=tuple(aliases),
                    place=section == "places",
                    reporter=isinstance(item, _OrganisationModel) and item.reporter,
                    background=item.background,
                    country=item.country if isinstance(item, _OrganisationModel) else None,
                )
            )
    countries = {e.name for e in entries if e.place and e.kind == "country"}
    for index, item in enumerate(model.organisations):
        if item.country is not None and item.country not in countries:
            problems.append(f"organisations[{index}] {item.name!r}: country {item.country!r} is not a country entry")
    for index, phrase in enumerate(model.ignore):
        if len(re.sub(r"\s", "", phrase)) < 2:
            problems.append(f"ignore[{index}]: {phrase!r} is too short")
    if problems:
        raise ConfigError(source, problems)
    return Gazetteer.build(entries, model.ignore, source)


def _entry_problems(item: _EntryModel, kinds: frozenset[str]) -> list[str]:
    problems: list[str] = []
    if not item.name.strip():
        problems.append("name is empty")
    if item.kind not in kinds:
        problems.append(f"kind {item.kind!r} is not one of {', '.join(sorted(kinds))}")
    for language, aliases in (("en", [item.name, *item.en]), ("ko", item.ko), ("zh", item.zh)):
        for alias in aliases:
            bare = re.sub(r"\s", "", alias)
            if language == "en":
                if not bare[:1].isalpha() or not _is_latin_start(bare) or _HANGUL.search(bare) or _HAN.search(
                    bare
                ):
                    problems.append(f"{language}: {alias!r} must be Latin script, starting with a letter")
                elif len(bare) < 2:
                    problems.append(f"{language}: {alias!r} is too short")
            else:
                script = _HANGUL if language == "ko" else _HAN
                if not script.search(bare) or (language == "zh" and _HANGUL.search(bare)):
                    name = "Hangul" if language == "ko" else "Chinese characters"
                    problems.append(f"{language}: {alias!r} must be written in {name}")
                elif len(bare) < 2:
                    # One syllable or character occurs inside countless unrelated words.
                    problems.append(f"{language}: {alias!r} is too short to match safely")
    return problems


def _describe(err: Mapping[str, Any], data: Any) -> str:
    """'places[3] 'Tumen': ko.1: what is wrong' for a pydantic error, naming the entry when there is one."""
    loc = list(err.get("loc", ()))
    label = ""
    if len(loc) >= 2 and loc[0] in ("places", "organisations") and isinstance(loc[1], int):
        section, index = loc[0], loc[1]
        name = None
        with contextlib.suppress(KeyError, IndexError, TypeError, AttributeError):
            name = data[section][index].get("name")
        label = f"{section}[{index}]" + (f" {name!r}" if name else "") + ": "
        loc = loc[2:]
    path = ".".join(str(part) for part in loc)
    return f"{label}{path + ': ' if path else ''}{err.get('msg', 'invalid')}"


# ====================================================================================================
# Entities, places and reporters
# ====================================================================================================


def find_entities(text: str, gazetteer: Gazetteer) -> frozenset[str]:
    """Canonical names of every gazetteer place and organisation the text mentions, in any language."""
    return frozenset(m.entry.name for m in _mentions(text, gazetteer))


# Places that pin an event to one spot: a city, county, town or crossing. Provinces, prefectures, rivers and
# countries each hold many spots, so two reports naming only those may still tell of different transfers.
PINPOINT_PLACE_KINDS = frozenset({"cn-city", "cn-county", "cn-town", "crossing", "kp-city", "kp-town"})


def find_entities_and_pinpoints(text: str, gazetteer: Gazetteer) -> tuple[frozenset[str], frozenset[str]]:
    """(find_entities(text), those of them that are event places of a PINPOINT_PLACE_KINDS kind), in one
    reading. A place named only as where people were heading is an entity but no pinpoint."""
    mentions = _mentions(text, gazetteer)
    names = frozenset(m.entry.name for m in mentions)
    return names, frozenset(
        e.name for e in _event_places(text, mentions) if e.kind in PINPOINT_PLACE_KINDS
    )


# Where people were heading, in English: the place names after one of these, up to the end of the clause.
# Phrases in a trie (as the gazetteer's), read on the lower-cased text: the engine skips to their letters.
_EN_TRYING = ("trying", "attempting", "seeking", "hoping", "planning", "intending", "wanting", "tried",
              "attempted", "sought", "hoped", "planned", "intended", "wanted", "attempt")  # fmt: skip
_EN_GOING = ("reach", "get to", "go to", "travel to", "enter", "cross into", "flee to", "escape to", "defect to",
             "make it to", "head to", "head for")  # fmt: skip
_EN_DESTINATION_PHRASES = (
    *(f"on {whose}way {to}" for whose in ("", "the ", "their ", "his ", "her ", "its ", "our ")
      for to in ("to", "toward", "towards")),
    "en route to", "bound for", "destined for", "making their way to", "making his way to", "making her way to",
    *(f"{verb} {to}" for verb in ("headed", "heading") for to in ("to", "for", "toward", "towards")),
    "fleeing to", "escaping to", "defecting to",
    *(f"{trying} to {going}" for trying in _EN_TRYING for going in _EN_GOING),
)  # fmt: skip
_EN_DESTINATION = re.compile(_letter_led(_trie(_EN_DESTINATION_PHRASES)))
_EN_CLAUSE_END = re.compile(
    r"[.;:!?\n,(]|\b(?:were|was|are|is|had|have|has|when|where|after|before|but|while|who|which|that|until"
    r"|from|by)\b"
)
_DESTINATION_REACH = 80  # characters after an English cue that can still name its destination
# Korean marks the destination after the name: "라오스로 가던", "라오스 국경으로 향하던", "라오스행".
_KO_DESTINATION_AFTER = re.compile(
    r"\s*(?:(?:\s?(?:국경|접경\s?지역|방면|방향|쪽))?(?:으로|로|에)\s*(?:가던|가려|가는|가기|가다가|향하|향해|넘어가려|건너가려|들어가려|탈출하려|도피하려|이동하려"
    r"|입국하려|밀입국하려|망명하려)|행(?![정사위방]))"
)
# Chinese marks it before: "前往老挝", "逃往泰国", "取道老挝".
_ZH_DESTINATION_BEFORE = re.compile(
    r"(?:前往|去往|逃往|奔往|赶往|趕往|开往|開往|驶往|駛往|飞往|飛往|取道|欲往|投奔|试图进入|試圖進入|试图前往|試圖前往)\s*$"
)
# Names listed together share their role: "Laos and Thailand", "태국이나 라오스", "老挝、泰国". Not a comma:
# "on their way to Laos, Kunming police said" names the event's place after it.
_LISTED_WITH = re.compile(r"\s*(?:、|和|或|及|与|與|와|과|이나|나|및|and|or)\s*", re.IGNORECASE)


def _destination_mentions(text: str, mentions: Sequence[_Mention]) -> set[int]:
    """Indexes of the mentions that name where people were heading, not where the event happened."""
    found: set[int] = set()
    if not mentions:
        return found
    spans: list[tuple[int, int]] = []
    for cue in _EN_DESTINATION.finditer(_lower(text)):
        end = _EN_CLAUSE_END.search(text, cue.end(), cue.end() + _DESTINATION_REACH)
        spans.append((cue.end(), end.start() if end else min(len(text), cue.end() + _DESTINATION_REACH)))
    for index, mention in enumerate(mentions):
        in_span = any(start <= mention.start < end for start, end in spans)
        marked = _KO_DESTINATION_AFTER.match(text, mention.end) or _ZH_DESTINATION_BEFORE.search(
            text, max(0, mention.start - 8), mention.start
        )
        if in_span or marked:
            found.add(index)
    # A name listed right beside a destination is one too: backwards for Korean, forwards for Chinese.
    for index in range(len(mentions) - 2, -1, -1):
        if index + 1 in found and _listed(text, mentions[index], mentions[index + 1]):
            found.add(index)
    for index in range(1, len(mentions)):
        if index - 1 in found and _listed(text, mentions[index - 1], mentions[index]):
            found.add(index)
    return found


def _listed(text: str, first: _Mention, second: _Mention) -> bool:
    gap = _LISTED_WITH.fullmatch(text, first.end, second.start)
    return gap is not None


# Where a return goes is a place of the return: buses "heading for Onsong" or "前往稳城" are the event itself.
# Only escapees' destinations (Laos, Thailand, South Korea) are places the event did not happen.
_RETURN_DESTINATION_KINDS = frozenset({"kp-province", "kp-city", "kp-town", "crossing"})


def _event_places(text: str, mentions: Sequence[_Mention]) -> list[GazetteerEntry]:
    """Gazetteer places in order of first mention, less those named only as where escapees were heading."""
    places = [m for m in mentions if m.entry.place]
    destinations = {
        i for i in _destination_mentions(text, places) if places[i].entry.kind not in _RETURN_DESTINATION_KINDS
    }
    at_event = {m.entry.name for i, m in enumerate(places) if i not in destinations}
    return [m.entry for m in places if m.entry.name in at_event]


def _places(text: str, mentions: Sequence[_Mention]) -> tuple[str, ...]:
    places = _event_places(text, mentions)
    specific = [e.name for e in places if not e.background]
    if specific:
        return tuple(dict.fromkeys(specific))
    return tuple(dict.fromkeys(e.name for e in places if e.kind == "country"))


# Words that attribute a statement. English ones are matched on the lower-cased text.
_CUE_WORDS_EN = (
    "said", "says", "say", "saying", "told", "tells", "according to", "report", "reports", "reported",
    "reporting", "statement", "statements", "stated", "states", "revealed", "reveals", "confirm", "confirms",
    "confirmed", "announced", "announces", "estimated", "estimates", "cited", "cites", "citing", "warned",
    "warns", "claimed", "claims", "added", "adds", "documented", "documents", "found", "finds", "noted",
    "notes", "urged", "urges", "called on", "calls on", "alleged", "alleges", "disclosed", "spokesperson",
    "spokesman", "spokeswoman", "briefing", "wrote", "released", "releases", "published", "denied",
    "denies", "acknowledged", "acknowledges", "testimony", "testimonies", "data",
)  # fmt: skip
_CUE_WORDS_CJK = (
    "밝혔", "밝힌", "따르면", "전했", "말했", "발표", "보고서", "주장", "확인", "집계", "지적", "강조", "촉구", "성명",
    "보도", "추정", "알렸", "설명", "경고", "폭로", "대변인", "브리핑", "서한", "부인했", "논평", "입장", "증언",
    "表示", "据", "據", "称", "稱", "指出", "报告", "報告", "发表", "發表", "声明", "聲明", "说", "說", "透露", "证实",
    "證實", "宣布", "呼吁", "呼籲", "报道", "報導", "報道", "援引", "估计", "估計", "发布", "發布", "发言人", "發言人",
    "否认", "否認", "回应", "回應", "记者会", "記者會",
)  # fmt: skip
_CUE_EN = re.compile(_letter_led(_trie(_CUE_WORDS_EN)))
_CUE_CJK = re.compile("|".join(sorted(_CUE_WORDS_CJK, key=len, reverse=True)))
_SENTENCE_END = re.compile(r"[。！？!?]|\.(?=[\s\"”’')\]]|$)|\n")
_ABBREVIATIONS = frozenset(
    ["mr", "ms", "mrs", "dr", "st", "no", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept",
     "oct", "nov", "dec", "vs", "gen", "lt", "col", "sgt", "gov", "sen", "rep"]
)  # fmt: skip
_SENTENCE_REACH = 400  # characters each way: a cue further away belongs to another statement


def _sentence_bounds(text: str) -> list[int]:
    bounds: list[int] = []
    for match in _SENTENCE_END.finditer(text):
        pos = match.start()
        if text[pos] == "." and pos > 0 and text[pos - 1].isascii() and text[pos - 1].isalpha():
            word = re.search(r"([A-Za-z]+)$", text[max(0, pos - 6) : pos])
            # "U.S.", "U.N." and "Oct." end no sentence.
            if word and (len(word.group(1)) == 1 or word.group(1).lower() in _ABBREVIATIONS):
                continue
        bounds.append(pos)
    return bounds


def _reporters(text: str, lowered: str, mentions: Sequence[_Mention]) -> tuple[str, ...]:
    reporters: list[str] = []
    bounds: list[int] | None = None
    for mention in mentions:
        if not mention.entry.reporter or mention.entry.name in reporters:
            continue
        if bounds is None:
            bounds = _sentence_bounds(text)
        i = bisect.bisect_left(bounds, mention.start)
        left = bounds[i - 1] + 1 if i > 0 else 0
        j = bisect.bisect_left(bounds, mention.end)
        right = bounds[j] if j < len(bounds) else len(text)
        left = max(left, mention.start - _SENTENCE_REACH)
        right = min(right, mention.end + _SENTENCE_REACH)
        if _CUE_CJK.search(text, left, right) or _CUE_EN.search(lowered, left, right):
            reporters.append(mention.entry.name)
    return tuple(reporters)


# ====================================================================================================
# Counts of people
# ====================================================================================================

_EN_SMALL = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_EN_SCALES = {"dozen": 12, "hundred": 100, "thousand": 1_000, "million": 1_000_000}
# Counts are read on the lower-cased text: no case-insensitive matching, which would keep the regex
# engine from skipping quickly to where a number may start.
_EN_WORD = _render(_trie([*_EN_SMALL, *_EN_SCALES]), True)
_EN_WORDNUM = rf"(?:an?\s+)?{_EN_WORD}(?:(?:[\s-]+|(?:(?<=hundred)|(?<=thousand))\s+and\s+){_EN_WORD})*"
_EN_DIGNUM = r"(?:[0-9]{1,3}(?:,[0-9]{3})+(?![0-9,])|[0-9]+(?:\.[0-9]+)?)(?:\s+(?:thousand|million)\b)?"
_EN_NUM = rf"(?:{_EN_DIGNUM}|{_EN_WORDNUM})"
_EN_NOUNS = (
    r"people|persons|individuals|(?:north\s+|n\.\s*)?koreans|defectors|escapees|escapers|refugees|"
    r"asylum[\s-]seekers|migrants|women|men|children|girls|boys|minors|detainees|prisoners|inmates|"
    r"deportees|returnees|repatriates|victims|nationals|citizens|residents|workers|labou?rers|fishermen|"
    r"soldiers|diplomats|hackers|students|family\s+members|relatives|captives|fugitives|others"
)
# Words that cannot stand between a number and its people noun: units, times, and words that end a
# noun phrase. "three years of...", "70 percent of the women", "9 October North Koreans" stop here.
_EN_STOP = (
    r"years?|months?|weeks?|days?|hours?|minutes?|decades?|centur(?:y|ies)|times?|percent|per|cent|"
    r"km|kilomet(?:er|re)s?|miles?|met(?:er|re)s?|dollars?|yuan|won|euros?|pounds?|yen|"
    r"from|to|in|at|on|by|for|with|were|was|have|had|has|are|is|be|been|who|that|which|than|since|after|"
    r"before|ago|and|or|but|when|where|while|old|aged?|"
    r"january|february|march|april|may|june|july|august|september|october|november|december|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday"
)
_EN_AFTER_NUMBER = rf"""
    (?:\s*(?:-|–|—|\bto\b|\band\b|\bor\b)\s*(?P<b>{_EN_NUM}))?
    (?:-odd|\s+odd)?
    (?:
        (?P<gap>(?:\s+(?!(?:{_EN_STOP})\b)[a-z][a-z'’\-]*){{0,3}}?)\s+(?P<noun>{_EN_NOUNS})\b
      | (?=\s*,\s*(?:including|among\s+them|of\s+whom)\b)
    )
"""
_EN_NOT_BEFORE = r"\w$€£¥₩.,/#:%\-"  # a number after these is part of a word, amount, decimal, id or time
# Run on the text with a space in front. It starts with the character before the number, so the engine
# only tries positions between words.
_EN_COUNT = re.compile(rf"[^{_EN_NOT_BEFORE}](?P<a>{_EN_NUM}){_EN_AFTER_NUMBER}", re.VERBOSE)
# For Korean and Chinese text, where nearly every character is "between words": figures only, starting
# with the digit (English number words do not occur there).
_EN_COUNT_FIGURES = re.compile(
    rf"(?P<a>[0-9](?<![{_EN_NOT_BEFORE}].)(?:[0-9]{{0,2}}(?:,[0-9]{{3}})+(?![0-9,])|[0-9]*(?:\.[0-9]+)?)"
    rf"(?:\s+(?:thousand|million)\b)?){_EN_AFTER_NUMBER}",
    re.VERBOSE,
)
_EN_BEFORE_DAY = re.compile(
    r"(?:\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?|\b(?i:aged?|age\s+of))\s*$"
)
_EN_PART = re.compile(r"\b(?:including|among\s+(?:them|whom)|of\s+whom|of\s+them|plus)\b", re.IGNORECASE)

# Numbers start with a digit not preceded by a digit, point or comma (the look-behind comes after the
# first digit so the pattern starts with a character class, which the engine skips to quickly).
_KO_NUM_REST = r"[0-9,.]*(?:\s?[만천백](?:\s?[0-9][0-9,]*)?)*"
_KO_COUNT = re.compile(
    rf"(?P<a>[0-9](?<![0-9.,].){_KO_NUM_REST})"
    rf"(?:\s*(?:명\s*)?(?:~|∼|〜|～|-|–|—|에서)\s*(?P<b>[0-9]{_KO_NUM_REST}))?"
    r"\s*(?:여|남짓|가량|이상|안팎|정도|내외)?\s*명(?![단절령예])"
)
_KO_PART_BEFORE = re.compile(r"(?:이|그)\s?중(?!국)|가운데|(?:^|\s)중(?:에는|에서|엔)?\s")
_KO_PART_AFTER = re.compile(r"^\s*(?:을|를|이|가)?\s*포함")

_ZH_DIGITS = "零〇一二两兩三四五六七八九"
_ZH_UNITS = "十百千万萬"
# A Chinese number starts with a digit or 十: 百人, 千人, 万人 alone are idioms ("千人计划"), not counts.
_ZH_NUM_REST = rf"[0-9.,{_ZH_DIGITS}{_ZH_UNITS}]*"
_ZH_COUNT = re.compile(
    rf"(?P<a>[0-9{_ZH_DIGITS}十](?<![第数數几幾上成下[0-9].,{_ZH_DIGITS}{_ZH_UNITS}].){_ZH_NUM_REST})"
    rf"(?:\s*(?:至|到|~|～|-|–|—)\s*(?P<b>[0-9{_ZH_DIGITS}十]{_ZH_NUM_REST}))?"
    r"\s*(?:余|餘|多)?\s*(?:名|人(?![民口])|位(?![数數置於于])|[个個](?=人))"
)
_ZH_PART_BEFORE = re.compile(r"其中|包括|当中|當中|中有")
_ZH_DIGIT_VALUE = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5,
                   "六": 6, "七": 7, "八": 8, "九": 9}  # fmt: skip
_CJK_SMALL_UNIT = {"十": 10, "百": 100, "백": 100, "千": 1000, "천": 1000}
_CJK_BIG_UNIT = {"万": 10_000, "萬": 10_000, "만": 10_000}
_ZH_ADJACENT = re.compile(rf"^([{_ZH_DIGITS}])([{_ZH_DIGITS}])([{_ZH_UNITS}]?)$")  # 五六百 = 500-600

_MIN_COUNT = 2  # "one defector" is a person's story, not a count
_MAX_COUNT = 1_000_000  # "the country's 26 million people" is a population, not an event


@dataclass(frozen=True, slots=True)
class _Count:
    start: int
    end: int
    low: int
    high: int
    part: bool  # a part of another count ("including 200 women")


def _en_value(text: str) -> float | None:
    text = text.lower().strip()
    digits = re.match(r"([0-9,]+(?:\.[0-9]+)?)(?:\s+(thousand|million))?$", text)
    if digits:
        value = float(digits.group(1).replace(",", ""))
        return value * _EN_SCALES[digits.group(2)] if digits.group(2) else value
    total = 0.0
    current = 0.0
    for word in re.split(r"[\s-]+", text):
        if word in ("a", "an"):
            current = current or 1
        elif word in _EN_SMALL:
            current += _EN_SMALL[word]
        elif word in ("dozen", "hundred"):
            current = (current or 1) * _EN_SCALES[word]
        elif word in ("thousand", "million"):
            total += (current or 1) * _EN_SCALES[word]
            current = 0
        elif word != "and":
            return None
    return total + current


def _cjk_value(text: str) -> float | None:
    """Value of '1만2천', '2,000', '六百', '一千二百', '1.5万'; None if it is not a number."""
    text = re.sub(r"[\s,]", "", text)
    total = section = 0.0
    current: float | None = None
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isascii() and (ch.isdigit() or ch == "."):
            j = i
            while j < len(text) and text[j].isascii() and (text[j].isdigit() or text[j] == "."):
                j += 1
            try:
                current = float(text[i:j])
            except ValueError:
                return None
            i = j
            continue
        if ch in _ZH_DIGIT_VALUE:
            # Consecutive digits read as figures: 二〇二三 is 2023.
            current = _ZH_DIGIT_VALUE[ch] if current is None else current * 10 + _ZH_DIGIT_VALUE[ch]
        elif ch in _CJK_SMALL_UNIT:
            section += (1 if current is None else current) * _CJK_SMALL_UNIT[ch]
            current = None
        elif ch in _CJK_BIG_UNIT:
            total += ((section + (current or 0)) or 1) * _CJK_BIG_UNIT[ch]
            section, current = 0.0, None
        else:
            return None
        i += 1
    return total + section + (current or 0)


def _range(low: float | None, high: float | None) -> tuple[int, int] | None:
    """A checked (low, high) pair, 'five to six hundred' read as 500-600; None if not a people count."""
    if low is None:
        return None
    if high is None:
        high = low
    if low < 10 and high >= 100:
        low *= 10 ** (len(str(int(high))) - 1)
    low_i, high_i = sorted((int(low), int(high)))
    if low_i < _MIN_COUNT or high_i >= _MAX_COUNT:
        return None
    return low_i, high_i


def _is_year(number: str) -> bool:
    return bool(re.fullmatch(r"[0-9]{4}", number.strip())) and 1800 <= int(number) <= 2100


def _counts(text: str, lowered: str | None = None) -> list[_Count]:
    found: list[_Count] = []
    cjk = _is_cjk_text(text)
    if lowered is None:
        lowered = _lower(text)
    matches = _EN_COUNT_FIGURES.finditer(lowered) if cjk else _EN_COUNT.finditer(" " + lowered)
    shift = 0 if cjk else 1  # the space put in front
    for match in matches:
        a, b = match.group("a"), match.group("b")
        start, end = match.start("a") - shift, match.end() - shift
        if _is_year(a) or (b is not None and _is_year(b)):
            continue
        if _EN_BEFORE_DAY.search(text, max(0, start - 12), start):
            continue
        pair = _range(_en_value(a), _en_value(b) if b else None)
        if pair is None:
            continue
        gap = match.group("gap") or ""
        part = bool(re.search(r"\bof\b", gap))  # "200 of the detainees"
        found.append(_Count(start, end, *pair, part=part))
    if "명" in text:
        for match in _KO_COUNT.finditer(text):
            b = match.group("b")
            pair = _range(_cjk_value(match.group("a")), _cjk_value(b) if b else None)
            if pair is not None:
                part = bool(_KO_PART_AFTER.search(text[match.end() : match.end() + 12]))
                found.append(_Count(match.start(), match.end(), *pair, part=part))
    if "名" in text or "人" in text or "位" in text:
        for match in _ZH_COUNT.finditer(text):
            a, b = match.group("a"), match.group("b")
            adjacent = _ZH_ADJACENT.match(a) if b is None else None
            if adjacent:
                first, second = _ZH_DIGIT_VALUE[adjacent.group(1)], _ZH_DIGIT_VALUE[adjacent.group(2)]
                unit = _CJK_SMALL_UNIT.get(adjacent.group(3), _CJK_BIG_UNIT.get(adjacent.group(3), 1))
                pair = _range(first * unit, second * unit) if second == first + 1 else None
            else:
                pair = _range(_cjk_value(a), _cjk_value(b) if b else None)
            if pair is not None:
                found.append(_Count(match.start(), match.end(), *pair, part=False))
    found.sort(key=lambda c: c.start)

    # Parts named before the count: text since the previous count, so "包括200名妇女在内的600名"
    # marks 200 as a part and leaves 600 whole.
    marked: list[_Count] = []
    previous_end = 0
    for count in found:
        before = text[max(previous_end, count.start - 40) : count.start]
        part = (
            count.part
            or bool(_EN_PART.search(before))
            or bool(_KO_PART_BEFORE.search(before))
            or bool(_ZH_PART_BEFORE.search(before))
        )
        marked.append(_Count(count.start, count.end, count.low, count.high, part))
        previous_end = count.end
    return marked


def extract_numbers(text: str, language: str) -> frozenset[int]:
    """Every people count the text gives (both ends of ranges), by the same rules as the count fact."""
    del language  # the three languages' patterns cannot match each other's text, so all always run
    numbers: set[int] = set()
    for count in _counts(text):
        numbers.update((count.low, count.high))
    return frozenset(numbers)


def _main_count(text: str, lowered: str) -> tuple[int, int] | None:
    counts = _counts(text, lowered)
    if not counts:
        return None
    chosen = next((c for c in counts if not c.part), counts[0])
    return chosen.low, chosen.high


# ====================================================================================================
# Dates
# ====================================================================================================

_ZONES = {"ko": timezone(timedelta(hours=9)), "ja": timezone(timedelta(hours=9)),
          "zh": timezone(timedelta(hours=8))}  # fmt: skip
_SLACK = timedelta(days=1)  # a date "after" publication by a day is a time-zone difference, not the future

_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12, "jan": 1, "feb": 2, "mar": 3,
    "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MON = (
    r"(?P<mon>January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\b\.?"
)
_WEEKDAYS = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5,
             "sunday": 6, "월": 0, "화": 1, "수": 2, "목": 3, "금": 4, "토": 5, "일": 6, "一": 0, "二": 1,
             "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}  # fmt: skip
# Words before a month name that make it a time ("in May"), not a verb or a name ("May", "March").
_EN_MONTH_CONTEXT = re.compile(
    r"\b(?i:in|since|during|until|till|from|by|through|throughout|last|this|between|before|after|early|"
    r"late|mid)(?:[\s-]+(?i:early|late|mid))?[\s-]+$"
)
_EN_WEEKDAY_CONTEXT = re.compile(r"\b(?i:(last|this|past|next|coming))\s+$")
_EN_DATE_AFTER = re.compile(rf",?\s+(?:{_MON}|[0-9])")
_KO_WEEK_CONTEXT = re.compile(r"(지난\s?주|이번\s?주|다음\s?주|지난|오는|다음)\s*$")
_KO_FUTURE = re.compile(r"(?:오는|다음\s?달)\s*$")

_Resolver = Callable[[re.Match[str], date], str | None]


def _iso(day: date) -> str:
    return day.isoformat()


def _month_iso(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def _make_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _month_day(month: int, day: int, ref: date) -> str | None:
    """The latest date with this month and day at or before `ref` (one day of slack)."""
    for year in range(ref.year, ref.year - 5, -1):  # five years find a 29 February
        found = _make_date(year, month, day)
        if found is not None and found <= ref + _SLACK:
            return _iso(found)
    return None


def _month_only(month: int, ref: date) -> str | None:
    if not 1 <= month <= 12:
        return None
    return _month_iso(ref.year if month <= ref.month else ref.year - 1, month)


def _shift_month(year: int, month: int, back: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) - back
    return index // 12, index % 12 + 1


def _day_of_month(day: int, ref: date, months_back: int | None = None) -> str | None:
    """Day `day` of ref's month less `months_back`, or (None) the latest such day at or before ref."""
    if months_back is not None:
        found = _make_date(*_shift_month(ref.year, ref.month, months_back), day)
        return _iso(found) if found else None
    for back in range(3):
        found = _make_date(*_shift_month(ref.year, ref.month, back), day)
        if found is not None and found <= ref + _SLACK:
            return _iso(found)
    return None


def _weekday(target: int, ref: date, week: int | None = None, strictly_before: bool = False) -> str:
    """Weekday `target` in the week `week` weeks before ref's, or (None) the latest one at or before ref."""
    if week is not None:
        monday = ref - timedelta(days=ref.weekday()) - timedelta(weeks=week)
        return _iso(monday + timedelta(days=target))
    back = (ref.weekday() - target) % 7
    if back == 0 and strictly_before:
        back = 7
    return _iso(ref - timedelta(days=back))


def _before(m: re.Match[str], width: int = 30) -> str:
    """The text just before the match, where context words sit."""
    return m.string[max(0, m.start() - width) : m.start()]


def _int(m: re.Match[str], group: str) -> int:
    return int(m.group(group))


def _en_month(m: re.Match[str]) -> int:
    return _MONTHS[m.group("mon").lower().rstrip(".")]


def _en_day_first(m: re.Match[str], ref: date) -> str | None:
    if m.group("year"):
        found = _make_date(_int(m, "year"), _en_month(m), _int(m, "day"))
        return _iso(found) if found else None
    return _month_day(_en_month(m), _int(m, "day"), ref)


def _en_month_first(m: re.Match[str], ref: date) -> str | None:
    if m.start() > 0 and m.string[m.start() - 1].isalpha():
        return None
    if m.group("day"):
        return _en_day_first(m, ref)
    if m.group("myear"):
        return _month_iso(_int(m, "myear"), _en_month(m))
    if _EN_MONTH_CONTEXT.search(_before(m)):
        return _month_only(_en_month(m), ref)
    return None  # "May" the verb, "March" the walk


def _en_weekday(m: re.Match[str], ref: date) -> str | None:
    if _EN_DATE_AFTER.match(m.string, m.end()):
        return None  # "on Tuesday, March 6, 2018": the date that follows says it (a caption, often)
    context = _EN_WEEKDAY_CONTEXT.search(_before(m, 12))
    rel = context.group(1).lower() if context else ""
    if rel in ("next", "coming"):
        return None
    return _weekday(_WEEKDAYS[m.group("wd").lower()], ref, strictly_before=rel == "last")


def _yesterday(m: re.Match[str], ref: date) -> str | None:
    days = 2 if re.search(r"(?i:day\s+before\s+)$", _before(m, 16)) else 1
    return _iso(ref - timedelta(days=days))


def _days_back(days: int) -> _Resolver:
    return lambda m, ref: _iso(ref - timedelta(days=days))


def _relative_month(m: re.Match[str], ref: date) -> str | None:
    word = m.group().lower()
    back = 1 if word.startswith(("last", "지난", "上")) else 0
    return _month_iso(*_shift_month(ref.year, ref.month, back))


def _year_word_md(m: re.Match[str], ref: date) -> str | None:
    back = {"지난해": 1, "작년": 1, "去年": 1, "前年": 2}.get(re.sub(r"\s", "", m.group("rel")), 0)
    month = _int(m, "mon")
    if m.group("day"):
        found = _make_date(ref.year - back, month, _int(m, "day"))
        return _iso(found) if found else None
    return _month_iso(ref.year - back, month) if 1 <= month <= 12 else None


def _month_word_day(m: re.Match[str], ref: date) -> str | None:
    back = 1 if m.group("rel").startswith(("지난", "上", "전달")) else 0
    return _day_of_month(_int(m, "day"), ref, back)


def _bare_day(m: re.Match[str], ref: date) -> str | None:
    if _KO_FUTURE.search(_before(m, 8)):
        return None
    return _day_of_month(_int(m, "day"), ref)


def _ko_weekday(m: re.Match[str], ref: date) -> str | None:
    context = _KO_WEEK_CONTEXT.search(_before(m, 10))
    rel = re.sub(r"\s", "", context.group(1)) if context else ""
    target = _WEEKDAYS[m.group("wd")]
    if rel in ("다음주", "오는", "다음"):
        return None
    if rel in ("지난주", "이번주"):
        return _weekday(target, ref, week=1 if rel == "지난주" else 0)
    return _weekday(target, ref, strictly_before=rel == "지난")


def _zh_weekday(m: re.Match[str], ref: date) -> str | None:
    before = m.string[m.start() - 1] if m.start() > 0 else ""
    target = _WEEKDAYS[m.group("wd")]
    if before in ("下", "每", "一"):  # next week's, every week's, 一周一次 ("once a week")
        return None
    if before == "上":
        return _weekday(target, ref, week=1)
    if before in ("本", "这", "這"):
        return _weekday(target, ref, week=0)
    return _weekday(target, ref)


def _digit_led(m: re.Match[str], ref: date) -> str | None:
    """Resolve a match of _DIGIT_DATE by the form that matched (the group that closed last)."""
    form = m.lastgroup or ""
    n = m.group("n")
    if form in ("iso", "kofull", "zhfull", "koym", "zhym"):
        if len(n) != 4:
            return None
        year, month = int(n), int(m.group(form + "_m"))
        if form.endswith("ym"):
            return _month_iso(year, month) if 1 <= month <= 12 else None
        found = _make_date(year, month, int(m.group(form + "_d")))
        return _iso(found) if found else None
    if len(n) > 2 or _KO_FUTURE.search(_before(m, 8)):
        return None
    if form == "enday":
        month = _MONTHS[m.group("mon").lower().rstrip(".")]
        if m.group("enday_y"):
            found = _make_date(int(m.group("enday_y")), month, int(n))
            return _iso(found) if found else None
        return _month_day(month, int(n), ref)
    if form in ("komd", "zhmd"):
        return _month_day(int(n), int(m.group(form + "_d")), ref)
    if form in ("koday", "zhday"):
        return _day_of_month(int(n), ref)
    return _month_only(int(n), ref)  # komon, zhmon


# Every date form that starts with a number, in one pass: the number, then the form's continuation,
# tried in order of priority (full dates before partial ones). One pass instead of twelve matters:
# each pass over a text costs about as much as the whole match work.
_DIGIT_DATE = re.compile(
    rf"""
    (?P<n>[0-9](?<![0-9.,].)[0-9]{{0,3}})
    (?:
        (?P<iso>-(?P<iso_m>[0-9]{{2}})-(?P<iso_d>[0-9]{{2}})(?![0-9]))
      | (?P<kofull>\s*년\s*(?P<kofull_m>[0-9]{{1,2}})\s*월\s*(?P<kofull_d>[0-9]{{1,2}})\s*일)
      | (?P<zhfull>\s*年\s*(?P<zhfull_m>[0-9]{{1,2}})\s*月\s*(?P<zhfull_d>[0-9]{{1,2}})\s*[日号號])
      | (?P<koym>\s*년\s*(?P<koym_m>[0-9]{{1,2}})\s*월(?!\s*[0-9]))
      | (?P<zhym>\s*年\s*(?P<zhym_m>[0-9]{{1,2}})\s*月(?!\s*[0-9]))
      | (?P<enday>(?:st|nd|rd|th)?\s+(?:of\s+)?{_MON}(?:,?\s+(?P<enday_y>[0-9]{{4}})\b)?)
      | (?P<komd>\s*월\s*(?P<komd_d>[0-9]{{1,2}})\s*일)
      | (?P<zhmd>\s*月\s*(?P<zhmd_d>[0-9]{{1,2}})\s*[日号號])
      | (?P<koday>\s*일(?=\s*(?:밤|새벽|오전|오후|저녁|낮|께|경|\(현지)))
      | (?P<zhday>\s*日(?![本元币幣圆圓内內]))
      | (?P<komon>\s*월(?![0-9]|\s+[0-9]))
      | (?P<zhmon>\s*月份?(?![0-9]|\s+[0-9]))
    )
    """,
    re.VERBOSE,
)

# (needles, pattern, resolver): the rule runs only on texts containing one of the needles (None: always).
# Every pattern starts with a literal or a character class, never with a look-behind or \b, so the
# engine skips quickly to where it may match; look-behinds come after the first character instead.
# Order is priority: a match overlapping an earlier rule's is dropped. Forms that start with a word
# but end in a number ("지난달 9일") come before the number forms, which would read "9일" alone.
_DATE_RULES: tuple[tuple[tuple[str, ...] | None, re.Pattern[str], _Resolver], ...] = (
    (("월",), re.compile(r"(?P<rel>지난\s?해|작년|올해|금년)\s*(?P<mon>[0-9]{1,2})\s*월"
                         r"(?:\s*(?P<day>[0-9]{1,2})\s*일)?"), _year_word_md),
    (("年",), re.compile(r"(?P<rel>去年|今年|前年)\s*(?P<mon>[0-9]{1,2})\s*月"
                         r"(?:\s*(?P<day>[0-9]{1,2})\s*[日号號])?"), _year_word_md),
    (("달",), re.compile(r"(?P<rel>지난\s?달|이달|이번\s?달|전달)\s*(?P<day>[0-9]{1,2})\s*일"), _month_word_day),
    (("月",), re.compile(r"(?P<rel>上个?月|上個月|本月|这个月|這個月|当月|當月)\s*(?P<day>[0-9]{1,2})\s*[日号號]"),
     _month_word_day),
    (("지난",), re.compile(r"지난\s*(?P<day>[0-9]{1,2})\s*일"), _bare_day),
    (None, _DIGIT_DATE, _digit_led),
    (None, re.compile(rf"{_MON}(?:\s+(?P<day>[0-9]{{1,2}})(?:st|nd|rd|th)?\b(?![:%]|\.[0-9])"
                      rf"(?:,?\s+(?P<year>[0-9]{{4}})\b)?|,?\s+(?P<myear>[0-9]{{4}})\b)?"),
     _en_month_first),
    (("esterday", "어제", "어젯", "昨"), re.compile(r"yesterday|Yesterday|어젯밤|어제|昨天|昨日|昨晚|昨夜"),
     _yesterday),
    (("night", "Night"), re.compile(r"(?:last|Last)\s+(?:night|Night)(?![a-z])"), _days_back(1)),
    (("그저께", "前天"), re.compile(r"그저께|前天"), _days_back(2)),
    (("month", "Month"), re.compile(r"(?:last|Last|this|This)\s+(?:month|Month)(?![a-z])"), _relative_month),
    (("달",), re.compile(r"지난\s?달|이달|이번\s?달"), _relative_month),
    (("月",), re.compile(r"上个?月|上個月|本月|这个月|這個月"), _relative_month),
    (("day",), re.compile(r"(?P<wd>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)(?![A-Za-z])"),
     _en_weekday),
    (("요일",), re.compile(r"(?P<wd>[월화수목금토일])요일"), _ko_weekday),
    (("周", "週", "星期", "礼拜", "禮拜"),
     re.compile(r"(?:周|週|星期|礼拜|禮拜)(?P<wd>[一二三四五六日天])(?![到至次])"), _zh_weekday),
)  # fmt: skip


def _reference_date(published: datetime, language: str) -> date:
    """The publication day in the zone where the language's outlets write ('어제' is Seoul's yesterday)."""
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    zone = _ZONES.get(language.lower().split("-")[0].split("_")[0], UTC)
    return published.astimezone(zone).date()


# --- days that are not the event's: the report's own, a statement's, one still to come ---------------

_STATEMENT_VERBS_EN = (
    r"said|says|say|told|tells|announced|announces|stated|states|reported|reports|confirmed|confirms|added|adds"
    r"|wrote|writes|warned|warns|urged|urges|denied|denies|published|publishes|issued|disclosed|revealed"
    r"|noted|claimed|claims|comment|commented|comments|respond|responded|replied|testified"
)  # not "released": detainees are released on a day too
# Not "release", "hearing" or "post": a release of detainees, a court hearing, a border post are events.
_STATEMENT_NOUNS_EN = (
    r"statement|report|study|survey|conference|briefing|press release|news release|letter|interview|testimony"
    r"|speech|announcement|remarks"
)
# Just before the day: "said (on)", "told reporters on", "said in a statement on", "a report published on",
# "at a press conference on".
_EN_STATEMENT_BEFORE = re.compile(
    rf"\b(?:(?:{_STATEMENT_VERBS_EN})(?:\s+(?:reporters|journalists|lawmakers|[A-Z][\w.&’'-]*(?:\s+[A-Z][\w.&’'-]*){{0,3}}))?"
    rf"|(?:{_STATEMENT_NOUNS_EN})s?(?:\s+(?:published|released|issued|held|given|sent|dated|posted|made|delivered))?)"
    rf"(?:\s+(?:in|at|during|to|on|via)\s+(?:a|an|the|its|their|his|her)\s+(?:[\w-]+\s+){{0,2}}"
    rf"(?:{_STATEMENT_NOUNS_EN}|call|session|meeting|website|account))?"
    r"(?:\s+(?:late|early))?(?:\s+(?:on|dated))?\s*$"
)
# A day opening its sentence, then the one who spoke: "On Tuesday, the group said ...".
_EN_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+|\n)(?:[Oo]n\s+|[Ll]ate\s+|[Ee]arly\s+)?$")
_EN_SPEAKER_AFTER = re.compile(
    rf",?\s+(?:[\w'’.-]+\s+){{0,5}}?(?:{_STATEMENT_VERBS_EN}|called|calls)\b"
)
# What is still to come: "is set to speak ... on Friday", "will meet on Monday".
_EN_FUTURE_BEFORE = re.compile(r"\b(?:will|(?:is|are) (?:set|due|scheduled|expected|slated|going) to)\b")
_SENTENCE_BREAK = re.compile(r"[.!?。！？\n](?=\s|$)|[。！？\n]")
_KO_STATEMENT_AFTER = re.compile(
    r"\s*(?:\S+\s+){0,2}?\S*?(?:기자회견|브리핑|성명|보고서|발표|논평|인터뷰|회견|서한|담화)"
    r"|\s*(?:밝혔|말했|전했|발표했|주장했|강조했|설명했|보도했|확인했|공개했)"
)
# The day, maybe a venue ("在例行记者会上", "在纽约"), then the speaking: "11日在例行记者会上表示", "7日发布报告称",
# "周四在首尔召开记者会". Not "举行" alone: "19日在莫斯科举行的会议" is an event of its own.
_ZH_STATEMENT_AFTER = re.compile(
    r"(?:晚|上午|下午)?\s*(?:在[^，,。；;！？\n]{0,12}?)?(?:表示|称|稱|说|說|指出|发表|發表|发布|發布|宣布|透露|证实"
    r"|證實|回应|回應|接受|报道|報道|致函|致信|(?:召开|召開|举行|舉行|的)(?:了|的)?(?:例行)?(?:新闻|新聞)?"
    r"(?:记者会|記者會|发布会|發布會|记者招待会|記者招待會))"
)
_CONTEXT = 80  # characters of text before a date read for its context


def _not_the_event(text: str, start: int, end: int, datelines: Sequence[tuple[int, int]]) -> bool:
    """Whether the date at text[start:end] is the report's own day, a statement's, or one still to come."""
    if any(s <= start < e for s, e in datelines):
        return True
    before = text[max(0, start - _CONTEXT) : start]
    if _EN_STATEMENT_BEFORE.search(before):
        return True
    if _EN_SENTENCE_START.search(before) and _EN_SPEAKER_AFTER.match(text, end, end + _CONTEXT):
        return True
    breaks = list(_SENTENCE_BREAK.finditer(before))
    sentence = before[breaks[-1].end() :] if breaks else before
    if _EN_FUTURE_BEFORE.search(sentence):
        return True
    return bool(_KO_STATEMENT_AFTER.match(text, end, end + 24) or _ZH_STATEMENT_AFTER.match(text, end, end + 24))


def _datelines(text: str) -> list[tuple[int, int]]:
    """Spans of the datelines that open lines of the text."""
    spans: list[tuple[int, int]] = []
    start = 0
    for line in text.split("\n"):
        length = dateline_length(line)
        if length:
            spans.append((start, start + length))
        start += len(line) + 1
    return spans


def _dates(text: str, ref: date) -> tuple[str, ...]:
    taken: list[tuple[int, int]] = []
    found: list[tuple[int, str]] = []
    datelines: list[tuple[int, int]] | None = None
    for needles, pattern, resolve in _DATE_RULES:
        if needles is not None and not any(needle in text for needle in needles):
            continue
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < e and s < end for s, e in taken):
                continue
            value = resolve(match, ref)
            if value is None:
                continue
            taken.append((start, end))
            if datelines is None:
                datelines = _datelines(text)
            if not _not_the_event(text, start, end, datelines):
                found.append((start, value))
    found.sort()
    return tuple(dict.fromkeys(value for _, value in found))


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
