"""The gazetteer of places and organisations: loading and validating its YAML, and finding its names in a text."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from bot.errors import ConfigError
from bot.text.scripts import HAN as _HAN
from bot.text.scripts import HANGUL as _HANGUL
from bot.text.scripts import HANGUL_OR_HAN as _CJK_CHAR

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
ORGANISATION_KINDS = frozenset({"rights-group", "government", "un-body", "media", "research", "venue"})




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
