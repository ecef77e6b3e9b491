"""Topic matching: keyword rules compiled once to regexes, and an optional semantic tier. No I/O.

Two tiers, tried in order for each topic:

1. Keywords: every ``require`` group has a term in the item, and no ``exclude`` term does.
2. Examples (only for a topic that lists ``examples``): an item the keywords reject still matches when no
   exclusion fires, it names one of the topic's ``anchor`` terms, and the sentence vector of its title and
   first teaser sentences (the one the stories step reads, ``bot.stories.analyse.vector_text``) has cosine
   similarity at least ``threshold`` with its closest example, and exceeds its similarity to the closest
   ``near_misses`` entry by at least ``margin``. Example vectors are made once per process, on first use;
   only items that reach this tier are embedded, in one batch per call of `decide_items`.

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
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.domain import Feed, Item, Topic
from bot.stories.analyse import clean_text, vector_text
from bot.stories.similarity import Embedder, shared_embedder
from bot.text.language import guess_language

# The semantic tier's defaults, chosen by bench/topic_quality.py on the "tune" half of our labeled NK items
# with zero false alarms on the 863 + 300 public negatives of ../shared/eval-public (see the README).
DEFAULT_THRESHOLD = 0.60
DEFAULT_MARGIN = 0.06

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


Matrix = npt.NDArray[np.float32]


class _Semantic:
    """A topic's semantic tier: the anchor compiled, the example and near-miss vectors made once, lazily."""

    def __init__(
        self, topic: Topic, anchor: _Group, embedder: Embedder | None
    ) -> None:
        self.anchor = anchor
        self.examples = tuple(text for _, text in topic.examples)
        self.near_misses = tuple(text for _, text in topic.near_misses)
        # An item is compared with the examples of its own language when there are some: a short headline
        # scores less reliably against a translation than against text in its own language.
        self.example_languages = np.array([_base_language(lang) for lang, _ in topic.examples])
        self.near_languages = np.array([_base_language(lang) for lang, _ in topic.near_misses])
        self.threshold = DEFAULT_THRESHOLD if topic.threshold is None else topic.threshold
        self.margin = DEFAULT_MARGIN if topic.margin is None else topic.margin
        self._embedder = embedder
        self._lock = threading.Lock()
        self._vectors: tuple[Matrix, Matrix] | None = None

    @property
    def embedder(self) -> Embedder:
        """The embedder given to `compile_topics`, else the process's shared one."""
        return self._embedder or shared_embedder()

    def vectors(self) -> tuple[Matrix, Matrix]:
        """(example vectors, near-miss vectors), as matrix rows; computed on the first call only."""
        with self._lock:
            if self._vectors is None:
                vectors = self.embedder.embed([*self.examples, *self.near_misses])
                self._vectors = (vectors[: len(self.examples)], vectors[len(self.examples) :])
            return self._vectors


@dataclass(frozen=True, slots=True)
class CompiledTopic:
    """A Topic with its require groups and exclusions compiled; build with `compile_topics`."""

    topic: Topic
    require: tuple[_Group, ...]
    exclude: _Group | None
    semantic: _Semantic | None = None

    @property
    def id(self) -> str:
        """The topic id."""
        return self.topic.id


def compile_topics(topics: Sequence[Topic], embedder: Embedder | None = None) -> tuple[CompiledTopic, ...]:
    """Compile topics in order. Raises ValueError on an empty require list, empty group or bad term, or on
    examples without an anchor. Example vectors are made on first use, with `embedder` (default: shared)."""
    compiled = []
    for topic in topics:
        if not topic.require:
            raise ValueError(f"topic {topic.id!r} has no require groups")
        if topic.examples and not topic.anchor:
            raise ValueError(f"topic {topic.id!r}: examples need an anchor")
        try:
            require = tuple(_group(g) for g in topic.require)
            exclude = _group(topic.exclude) if topic.exclude else None
            semantic = _Semantic(topic, _group(topic.anchor), embedder) if topic.examples else None
        except ValueError as exc:
            raise ValueError(f"topic {topic.id!r}: {exc}") from None
        compiled.append(CompiledTopic(topic, require, exclude, semantic))
    return tuple(compiled)


def _matches_normalized(topic: CompiledTopic, norm: str) -> bool:
    # Require groups first: most text fails one of them, and then the exclusions need not be scanned.
    if not all(g.regex.search(norm) for g in topic.require):
        return False
    return topic.exclude is None or topic.exclude.regex.search(norm) is None


def matches(topic: CompiledTopic, text: str) -> bool:
    """True when every require group has a term in `text` and no exclusion does."""
    return _matches_normalized(topic, normalize(text))


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether one topic took one item, by which tier ("on_topic", "keywords", "examples" or "" when it did
    not), and why, in a line a maintainer can act on: the terms that matched, or the closest example."""

    topic: str
    matched: bool
    tier: str
    reason: str


@dataclass(frozen=True, slots=True)
class _Pending:
    """An item waiting for the semantic tier of one topic: where its decision goes, and what was found."""

    item: int
    slot: int
    topic: CompiledTopic
    keywords: str  # why the keywords rejected it
    anchor: str  # the anchor term it names


def match_item(compiled: Sequence[CompiledTopic], item: Item, feed: Feed) -> tuple[str, ...]:
    """Topic ids of `item` in config order: the feed's on_topic ones always, others when their rule matches.

    Rules are only tried for the feed's `topics` when it lists some (empty means every topic).
    """
    return match_items(compiled, [item], feed)[0]


def match_items(compiled: Sequence[CompiledTopic], items: Sequence[Item], feed: Feed) -> list[tuple[str, ...]]:
    """`match_item` for each of a feed's items, in order; items that reach a semantic tier are embedded in one
    batch."""
    return [tuple(d.topic for d in decisions if d.matched) for decisions in decide_items(compiled, items, feed)]


def decide_items(
    compiled: Sequence[CompiledTopic], items: Sequence[Item], feed: Feed
) -> list[tuple[Decision, ...]]:
    """For each item, one Decision per topic tried on it (on_topic ones and the feed's topics), in config order."""
    out: list[list[Decision]] = []
    pending: list[_Pending] = []
    for index, item in enumerate(items):
        norm: str | None = None  # normalized lazily: an on_topic-only feed never needs it
        decisions: list[Decision] = []
        for topic in compiled:
            if topic.id in feed.on_topic:
                decisions.append(Decision(topic.id, True, "on_topic", "the feed is on this topic"))
                continue
            if feed.topics and topic.id not in feed.topics:
                continue
            if norm is None:
                norm = normalize(item.text)
            decision, anchor = _keyword_decision(topic, norm)
            if decision.matched or anchor is None:
                decisions.append(decision)
                continue
            pending.append(_Pending(index, len(decisions), topic, decision.reason, anchor))
            decisions.append(decision)  # replaced below
        out.append(decisions)
    if pending:
        _semantic_decisions(pending, items, out)
    return [tuple(d) for d in out]


def _keyword_decision(topic: CompiledTopic, norm: str) -> tuple[Decision, str | None]:
    """The keyword tier's decision, and the anchor term named when the semantic tier should be tried."""
    # Require groups first: most text fails one of them, and then the exclusions need not be scanned.
    missing = next((i for i, g in enumerate(topic.require) if not g.regex.search(norm)), None)
    if missing is not None and topic.semantic is None:
        return Decision(topic.id, False, "", f"keywords: require[{missing}] missing"), None
    excluded = topic.exclude is not None and topic.exclude.regex.search(norm) is not None
    fired = _first_hit(topic.exclude, norm) if excluded and topic.exclude is not None else None
    if fired is not None:
        return Decision(topic.id, False, "", f"excluded: {fired[0]!r} fired on {fired[1]!r}"), None
    if missing is None:
        terms = []
        for group in topic.require:
            hit = _first_hit(group, norm)
            terms.append(hit[0] if hit else "?")
        return Decision(topic.id, True, "keywords", "keywords: " + " + ".join(terms)), None
    reason = f"keywords: require[{missing}] missing"
    assert topic.semantic is not None
    anchor = _first_hit(topic.semantic.anchor, norm)
    if anchor is None:
        return Decision(topic.id, False, "", f"{reason}; no anchor term"), None
    return Decision(topic.id, False, "", reason), anchor[0]


def _base_language(tag: str) -> str:
    """The language of a tag without script or region: zh-Hans and zh-CN are zh."""
    return tag.split("-")[0].lower()


def item_language(item: Item) -> str:
    """The item's language as the semantic tier compares it: the feed's, or the one its text is written in."""
    base = _base_language(item.language)
    return base if base and base != "und" else _base_language(guess_language(item.text))


def item_vector_text(item: Item) -> str:
    """What the semantic tier reads of an item: the stories step's vector text (title and first sentences)."""
    return vector_text(clean_text(item), item_language(item))


def _semantic_decisions(pending: Sequence[_Pending], items: Sequence[Item], out: list[list[Decision]]) -> None:
    """Embed the pending items once (per embedder) and settle each pending decision by its closest example."""
    by_embedder: dict[int, list[_Pending]] = {}
    embedders: dict[int, Embedder] = {}
    for p in pending:
        assert p.topic.semantic is not None
        embedder = p.topic.semantic.embedder
        by_embedder.setdefault(id(embedder), []).append(p)
        embedders[id(embedder)] = embedder
    for key, group in by_embedder.items():
        indexes = sorted({p.item for p in group})
        vectors = embedders[key].embed([item_vector_text(items[i]) for i in indexes])
        row = {index: n for n, index in enumerate(indexes)}
        languages = {i: item_language(items[i]) for i in indexes}
        for p in group:
            out[p.item][p.slot] = _closeness(p, vectors[row[p.item]], languages[p.item])


def _closest(vectors: Matrix, languages: npt.NDArray[np.str_], vector: Matrix, language: str) -> tuple[int, float]:
    """(row, similarity) of the row closest to `vector`, among the rows in `language` when there are some;
    (-1, -1.0) when there are no rows."""
    if vectors.shape[0] == 0:
        return -1, -1.0
    scores = vectors @ vector
    same = languages == language
    if same.any():
        scores = np.where(same, scores, np.float32(-2.0))
    row = int(np.argmax(scores))
    return row, float(scores[row])


def _closeness(p: _Pending, vector: Matrix, language: str) -> Decision:
    """The semantic tier's decision for one item vector: closest example against threshold and near-misses."""
    semantic = p.topic.semantic
    assert semantic is not None
    examples, near = semantic.vectors()
    best, score = _closest(examples, semantic.example_languages, vector, language)
    worst, near_score = _closest(near, semantic.near_languages, vector, language)
    shown = f"{score:.2f} to example {semantic.examples[best]!r}"
    if score < semantic.threshold:
        return Decision(p.topic.id, False, "", f"{p.keywords}; examples: {shown} < {semantic.threshold:.2f}")
    if score - near_score < semantic.margin:
        return Decision(
            p.topic.id, False, "",
            f"{p.keywords}; examples: {shown}, but {near_score:.2f} to near-miss "
            f"{semantic.near_misses[worst]!r}",
        )
    return Decision(p.topic.id, True, "examples", f"examples: {shown} (anchor {p.anchor!r})")


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


def explain_item(topic: CompiledTopic, item: Item) -> str:
    """`explain` for one item, with the verdict of both tiers: the keyword groups, then (for a topic with
    examples) the anchor, the closest examples and near-miss with their scores, and the threshold."""
    everywhere = Feed(name=item.feed, url="", language=item.language, interval_seconds=0, outlet=item.outlet)
    decision = decide_items([topic], [item], everywhere)[0][0]
    keyword_lines = explain(topic, item.text).splitlines()[1:]
    verdict = f"MATCH by {decision.tier}" if decision.matched else "no match"
    lines = [f"{topic.id}: {verdict}: {decision.reason}", *keyword_lines]
    semantic = topic.semantic
    if semantic is None:
        return "\n".join(lines)
    anchor = _first_hit(semantic.anchor, normalize(item.text))
    lines.append(f"  anchor: {anchor[0]!r} matched {anchor[1]!r}" if anchor else
                 f"  anchor: nothing matched (terms: {_shorten(semantic.anchor.terms)})")
    text = item_vector_text(item)
    vector = semantic.embedder.embed([text])[0]
    examples, near = semantic.vectors()
    language = item_language(item)
    lines.append(f"  vector text ({language}): {text!r}")
    scores = examples @ vector
    same = semantic.example_languages == language
    if same.any():  # the tier compares the item with the examples of its own language only
        scores = np.where(same, scores, np.float32(-2.0))
    for row in np.argsort(-scores)[:3]:
        lines.append(f"  example {float(scores[row]):.2f}: {semantic.examples[row]!r}")
    worst, near_score = _closest(near, semantic.near_languages, vector, language)
    if worst >= 0:
        lines.append(f"  closest near-miss {near_score:.2f}: {semantic.near_misses[worst]!r}")
    lines.append(
        f"  examples tier: needs {semantic.threshold:.2f} to an example of the item's language "
        f"and {semantic.margin:.2f} more than to any near-miss"
    )
    return "\n".join(lines)
