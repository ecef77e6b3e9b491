"""Keyword topic matching: terms compiled once to regexes, then pure functions of text. No I/O.

Term syntax (the contract feeds.yaml documents):

* A term is a word or a phrase. Latin-script terms (and any other script written with spaces) match
  case-insensitively on word boundaries: ``deport`` matches "Deport" but not "deported" nor "Deportivo".
* A ``*`` at the end of a word makes it a prefix: ``deport*`` matches "deported" and "deportation" (and,
  beware, "Deportivo"); ``send* back`` matches "sends back" and "sending back".
* Words of a phrase match across any run of spaces, newlines and hyphens: ``north korea`` matches
  "North-Korea" and "North\\nKorea"; ``kim jong-un`` matches "Kim Jong Un". After a word ending in
  punctuation the gap may be empty, so ``n. korea*`` matches "N.Korean".
* Terms containing Hangul, CJK ideographs or kana match as substrings (those scripts do not mark words
  with spaces). There ``*`` is ignored and a space means "optional whitespace": ``강제 북송`` matches both
  "강제북송" and "강제 북송".
* Text and terms are both NFKC-normalized, case-folded, with curly quotes made straight and every dash
  made a hyphen, so "North Korea’s" matches ``north korea's``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain import Feed, Item, Topic

# Scripts written without spaces between words: a term containing any of these matches as a substring.
_UNSPACED = re.compile(
    "["
    "\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff"  # Hangul
    "\u3040-\u30ff\u31f0-\u31ff"  # Hiragana, Katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"  # CJK ideographs
    "]"
)

# Applied after NFKC: quotes that NFKC leaves curly, dashes it leaves alone, and invisible characters that
# split words ("depor\u00adted") or join them.
_TRANSLATE = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u02bc": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u00ab": '"', "\u00bb": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
        "\u2212": "-", "\ufe58": "-",
        "\u00ad": None, "\u200c": None, "\u200d": None, "\u2060": None, "\ufeff": None,
        "\u200b": " ",
    }
)

_GAP = r"[\s\-]"  # what may stand between the words of a phrase
_WORD_SPLIT = re.compile(r"[\s\-]+")


def normalize(text: str) -> str:
    """The form both text and terms are matched in: NFKC, straight quotes, plain hyphens, case-folded."""
    return unicodedata.normalize("NFKC", text).translate(_TRANSLATE).casefold()


def is_unspaced(term: str) -> bool:
    """True when the term holds Hangul, CJK ideographs or kana, so it matches as a substring."""
    return _UNSPACED.search(unicodedata.normalize("NFKC", term)) is not None


def term_problem(term: str) -> str | None:
    """Why `term` is not a valid term (for config errors), or None when it is fine."""
    norm = normalize(term).strip()
    if not norm:
        return "empty term"
    if not any(ch.isalnum() for ch in norm):
        return f"term {term!r} has no letters or digits"
    if is_unspaced(norm):
        return None
    for word in _WORD_SPLIT.split(norm):
        body = word.removesuffix("*")
        if "*" in body:
            return f"term {term!r}: '*' is only allowed at the end of a word"
        if not body:
            return f"term {term!r}: '*' must follow a word"
    return None


def term_pattern(term: str) -> str:
    """The regex source of one term, to be searched in `normalize`d text. Raises ValueError if invalid."""
    problem = term_problem(term)
    if problem is not None:
        raise ValueError(problem)
    norm = normalize(term).strip()
    if is_unspaced(norm):
        parts = [p for p in re.split(r"\s+", norm.replace("*", "")) if p]
        return r"\s*".join(re.escape(p) for p in parts)
    words = [w for w in _WORD_SPLIT.split(norm) if w]
    pieces: list[str] = []
    for i, word in enumerate(words):
        prefix = word.endswith("*")
        body = word.removesuffix("*")
        if i == 0 and body[0].isalnum():
            # "(?<!\w)x..." written as "x(?<!\wx)...": the same test, but the pattern now starts with a
            # literal, so the regex engine can skip positions by first character (about 6x faster).
            first = re.escape(body[0])
            pieces.append(f"{first}(?<!\\w{first}){re.escape(body[1:])}")
        else:
            pieces.append(re.escape(body))
        if prefix:
            pieces.append(r"\w*")
        last = i == len(words) - 1
        if not last:
            # "n." then "korea": the dot already separates, so "N.Korea" must match too.
            pieces.append(f"{_GAP}+" if (body[-1].isalnum() or prefix) else f"{_GAP}*")
        elif not prefix and body[-1].isalnum():
            pieces.append(r"(?!\w)")
    return "".join(pieces)


@dataclass(frozen=True, slots=True)
class _Group:
    """One set of alternative terms, compiled together and also one by one (for `explain`)."""

    terms: tuple[str, ...]
    regex: re.Pattern[str]
    term_regexes: tuple[re.Pattern[str], ...]


def _group(terms: Sequence[str]) -> _Group:
    sources = [term_pattern(t) for t in terms]
    if not sources:
        raise ValueError("a term group needs at least one term")
    return _Group(
        terms=tuple(terms),
        regex=re.compile("|".join(f"(?:{s})" for s in sources)),
        term_regexes=tuple(re.compile(s) for s in sources),
    )


@dataclass(frozen=True, slots=True)
class CompiledTopic:
    """A Topic with its require groups and exclusions compiled; build with `compile_topics`."""

    topic: Topic
    require: tuple[_Group, ...]
    exclude: _Group | None

    @property
    def id(self) -> str:
        """The topic id."""
        return self.topic.id


def compile_topics(topics: Sequence[Topic]) -> tuple[CompiledTopic, ...]:
    """Compile topics in order. Raises ValueError on an empty require list, empty group or bad term."""
    compiled = []
    for topic in topics:
        if not topic.require:
            raise ValueError(f"topic {topic.id!r} has no require groups")
        try:
            require = tuple(_group(g) for g in topic.require)
            exclude = _group(topic.exclude) if topic.exclude else None
        except ValueError as exc:
            raise ValueError(f"topic {topic.id!r}: {exc}") from None
        compiled.append(CompiledTopic(topic, require, exclude))
    return tuple(compiled)


def _matches_normalized(topic: CompiledTopic, norm: str) -> bool:
    # Require groups first: most text fails one of them, and then the exclusions need not be scanned.
    if not all(g.regex.search(norm) for g in topic.require):
        return False
    return topic.exclude is None or topic.exclude.regex.search(norm) is None


def matches(topic: CompiledTopic, text: str) -> bool:
    """True when every require group has a term in `text` and no exclusion does."""
    return _matches_normalized(topic, normalize(text))


def match_item(compiled: Sequence[CompiledTopic], item: Item, feed: Feed) -> tuple[str, ...]:
    """Topic ids of `item` in config order: the feed's on_topic ones always, others when their rule matches.

    Rules are only tried for the feed's `topics` when it lists some (empty means every topic).
    """
    norm: str | None = None  # normalized lazily: an on_topic-only feed never needs it
    found: list[str] = []
    for topic in compiled:
        if topic.id in feed.on_topic:
            found.append(topic.id)
            continue
        if feed.topics and topic.id not in feed.topics:
            continue
        if norm is None:
            norm = normalize(item.text)
        if _matches_normalized(topic, norm):
            found.append(topic.id)
    return tuple(found)


def _first_hit(group: _Group, norm: str) -> tuple[str, str] | None:
    """The first term of `group` found in `norm` (in term order) and the text it matched."""
    for term, regex in zip(group.terms, group.term_regexes, strict=True):
        hit = regex.search(norm)
        if hit:
            return term, hit.group(0)
    return None


def _shorten(terms: Sequence[str], limit: int = 6) -> str:
    shown = ", ".join(terms[:limit])
    return shown + (f", ... ({len(terms) - limit} more)" if len(terms) > limit else "")


def explain(topic: CompiledTopic, text: str) -> str:
    """A few lines saying which term satisfied each require group and which exclusion fired, if any."""
    norm = normalize(text)
    verdict = "MATCH" if _matches_normalized(topic, norm) else "no match"
    lines = [f"{topic.id}: {verdict}"]
    for i, group in enumerate(topic.require):
        hit = _first_hit(group, norm)
        if hit is None:
            lines.append(f"  require[{i}]: nothing matched (terms: {_shorten(group.terms)})")
        else:
            lines.append(f"  require[{i}]: {hit[0]!r} matched {hit[1]!r}")
    if topic.exclude is not None:
        hit = _first_hit(topic.exclude, norm)
        if hit is None:
            lines.append("  exclude: none fired")
        else:
            lines.append(f"  exclude: {hit[0]!r} fired on {hit[1]!r}")
    return "\n".join(lines)
