"""Extractive story summaries: the lead and fact-bearing sentences of a story's sources, page clutter removed.

Pure functions of text, no I/O. Feed and page text is noisy (cookie banners, photo credits, share and
donation prompts, bylines), so every sentence goes through one multilingual clutter detector before it can
reach a summary. Sentences are picked, never rewritten or translated; the only edits are the removal of a
leading dateline ("SEOUL, Dec 7 (Reuters) -", "(서울=연합뉴스) ... 기자 =", "新华社北京10月13日电") and a cut
with "…" when a single sentence is longer than the limit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.text.clutter import is_clutter, strip_clutter, strip_dateline
from bot.text.sentences import collapse_spaces, primary_language, split_sentences

__all__ = ["SummaryInput", "summarize"]


@dataclass(frozen=True, slots=True)
class SummaryInput:
    """One source of a story: title, body (summary + content, may hold clutter), language, fact strings."""

    title: str
    body: str
    language: str
    fact_terms: tuple[str, ...] = ()


# --- scoring and selection -------------------------------------------------------------------------------

_CJK_LANGUAGES = frozenset({"zh", "ja", "ko"})
# Length sanity per script: shorter units are headings or fragments, longer ones run-ons or lists. A Korean
# news sentence is about half the characters of its English twin, a Chinese one about a third.
_MIN_CHARS = {"ko": 15, "zh": 10, "ja": 10}
_MAX_CHARS = {"ko": 220, "zh": 160, "ja": 160}
_LATIN_MIN_CHARS = 25
_LATIN_MAX_CHARS = 300
_REDUNDANT = 0.5  # Jaccard at or above which a sentence repeats one already chosen
_LIKE_TITLE = 0.7  # Jaccard at or above which a sentence is the headline again
_OTHER_SOURCE_WEIGHT = 0.6  # the lead source is the story's first report; later sources add facts

_TERMINATED = re.compile(r"[.!。！][\"'”’»」』）)\]]*$")
_QUESTION = re.compile(r"[?？][\"'”’»」』）)\]]*$")
_OPEN_QUOTE = re.compile(r"^[\"'“‘「『«]")
_ATTRIBUTION = re.compile(
    r"\b(?:said|says|say|told|added|reported|reports|according to|confirmed|estimated|stated|wrote)\b"
    r"|밝혔다|전했다|말했다|따르면|보도했다|주장했다|확인했다|강조했다|설명했다|발표했다"
    r"|表示|称|据|报道|指出|透露|证实|说",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\d|\b(?:hundreds|thousands|dozens)\b|수백|수십|수천|数百|数十|数千|上百|上千", re.IGNORECASE)
# A sentence that opens with a pronoun or connective leans on the one before it and reads badly alone.
_DANGLING = re.compile(
    r"^(?:(?:they|he|she|it|this|these|those|but|and|also|however|meanwhile|still|yet|so|his|her|their|its)\b"
    r"|그는|그녀는|그들은|그러나|하지만|또한|이는|이에|그러면서|이어|한편|他|她|但|而|此外|另外|同时|这)",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def _keys(text: str, language: str) -> frozenset[str]:
    """Comparison keys: lower-case words for Latin scripts, character bigrams for Chinese and Korean."""
    if language in _CJK_LANGUAGES:
        letters = "".join(_WORD.findall(text.lower()))
        return frozenset(letters[i : i + 2] for i in range(len(letters) - 1))
    return frozenset(w for w in _WORD.findall(text.lower()) if len(w) > 2 or w.isdigit())


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two key sets; 0 when either is empty."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def _fact_hits(sentence: str, terms: Sequence[str]) -> int:
    """How many distinct fact terms occur in `sentence` (whole words for Latin terms, substrings for CJK)."""
    lowered = sentence.lower()
    hits = 0
    for term in dict.fromkeys(t.strip().lower() for t in terms if t.strip()):
        if term.isascii():
            if re.search(rf"(?<![\w]){re.escape(term)}(?![\w])", lowered):
                hits += 1
        elif term in lowered:
            hits += 1
    return hits


def _facts_of(sentence: str, terms: Sequence[str]) -> frozenset[str]:
    """The numbers (digits only, "1,500" -> "1500") and fact terms a sentence carries, lower case."""
    numbers = {re.sub(r"[,.]", "", n) for n in re.findall(r"\d[\d,.]*\d|\d", sentence)}
    lowered = sentence.lower()
    found = {t.strip().lower() for t in terms if t.strip() and _fact_hits(lowered, (t,))}
    return frozenset(numbers | found)


_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"|‘[^’]*’|「[^」]*」|『[^』]*』|«[^»]*»")
_QUOTE_FRAME = 30  # '"…," he said.' leaves this little outside the quotation: a quote fragment, not a report


def _is_quote_only(sentence: str) -> bool:
    """A sentence that opens with a quotation and says little else ('"…," he said.'): colour, not fact."""
    if not _OPEN_QUOTE.match(sentence):
        return False
    outside = _QUOTED.sub("", sentence).strip(" .!,。！，")
    return len(outside) < _QUOTE_FRAME


def _usable(sentence: str, language: str) -> bool:
    """Not too short for its script, not clutter, not a question, not a bare quotation."""
    if len(sentence) < _MIN_CHARS.get(language, _LATIN_MIN_CHARS):
        return False
    if _QUESTION.search(sentence) or is_clutter(sentence):
        return False
    return not _is_quote_only(sentence)


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A sentence that may enter the summary, with where it came from and how strongly it is favoured."""

    text: str
    source: int
    position: int
    score: float
    keys: frozenset[str]
    facts: frozenset[str]


def _score(sentence: str, source: int, position: int, terms: Sequence[str]) -> float:
    """Lead first (earlier is better, the lead source before others), then facts: terms, numbers, attribution."""
    lead = 3.0 / (1.0 + 0.35 * position)
    if source:
        lead *= _OTHER_SOURCE_WEIGHT
    score = lead + 0.4 * min(_fact_hits(sentence, terms), 3)
    if _NUMBER.search(sentence):
        score += 0.6  # counts of people and dates are what alerts are about
    if _ATTRIBUTION.search(sentence):
        score += 0.2  # who reports it
    if _DANGLING.match(sentence):
        score -= 0.5
    if _OPEN_QUOTE.match(sentence):
        score -= 0.5  # a quote-led sentence is colour, not the fact
    return score


def _cut(text: str, max_chars: int, language: str) -> str:
    """`text` cut to at most `max_chars` at a word (or Chinese clause) boundary, ending with '…'."""
    if len(text) <= max_chars:
        return text
    if max_chars <= 1:
        return "…"[:max_chars]
    budget = text[: max_chars - 1]
    breaks = "，、；：,; " if language in {"zh", "ja"} else " "
    at = max(budget.rfind(ch) for ch in breaks)
    if at > len(budget) // 2:
        budget = budget[:at]
    return budget.rstrip(" ,;:—–-(，、；：") + "…"


_TIERS = 3  # proper sentences, then unterminated ones, then over-long ones: each used only if all before are empty


_TITLE_MIN = 12  # shorter titles ("t", "News") are too common to be cut from the start of a sentence


def _opens_with(sentence: str, title_norm: str) -> bool:
    """Whether `sentence` starts with the (lower-case) title as whole words and goes on after it."""
    return (
        len(title_norm) >= _TITLE_MIN
        and len(sentence) > len(title_norm)
        and sentence.lower().startswith(title_norm)
        and not sentence[len(title_norm)].isalnum()
    )


def _candidates(item: SummaryInput, source: int, language: str) -> list[list[_Candidate]]:
    """Usable sentences of one input by tier: ending properly; unterminated; longer than sane (to be cut)."""
    title_keys = _keys(item.title, language)
    title_norm = collapse_spaces(item.title).lower()
    longest = _MAX_CHARS.get(language, _LATIN_MAX_CHARS)
    tiers: list[list[_Candidate]] = [[] for _ in range(_TIERS)]
    for raw in split_sentences(strip_clutter(item.body), language):
        sentence = strip_dateline(raw)
        while _opens_with(sentence, title_norm):
            # The headline flattened into the first sentence ("Title Lead sentence."): the alert shows it.
            sentence = strip_dateline(sentence[len(title_norm) :].lstrip(" :-—–|"))
        if not _usable(sentence, language):
            continue
        keys = _keys(sentence, language)
        if sentence.lower() == title_norm or _jaccard(keys, title_keys) >= _LIKE_TITLE:
            continue  # the headline again: the alert already shows it
        # Headings, tag lines and truncated teasers lack end punctuation; run-ons (often a teaser whose
        # paragraphs were flattened into one line) are too long. Both serve only when nothing else does.
        # Positions count within each tier, so the lead is position 0.
        tier = 2 if len(sentence) > longest else 0 if _TERMINATED.search(sentence) else 1
        group = tiers[tier]
        position = len(group)
        score = _score(sentence, source, position, item.fact_terms)
        facts = _facts_of(sentence, item.fact_terms)
        group.append(_Candidate(sentence, source, position, score, keys, facts))
    return tiers


def _retells(candidate: _Candidate, chosen: Sequence[_Candidate]) -> bool:
    """Whether another source's sentence only repeats facts already chosen (a paraphrase of them)."""
    if not chosen or not candidate.facts or any(c.source == candidate.source for c in chosen):
        return False
    known = frozenset().union(*(c.facts for c in chosen))
    return candidate.facts <= known


def summarize(texts: Sequence[SummaryInput], *, max_chars: int = 400, max_sentences: int = 3) -> str:
    """1-`max_sentences` sentences of the lead source's language, in source order, within `max_chars`; "" if none."""
    if not texts or max_chars <= 0 or max_sentences <= 0:
        return ""
    language = primary_language(texts[0].language)
    tiers: list[list[_Candidate]] = [[] for _ in range(_TIERS)]
    for source, item in enumerate(texts):
        if primary_language(item.language) != language:
            continue  # no translation: a summary is in one language, the lead source's
        for tier, found in zip(tiers, _candidates(item, source, language), strict=True):
            tier.extend(found)
    pool = next((tier for tier in tiers if tier), [])
    if not pool:
        return ""
    order = lambda c: (c.source, c.position)  # noqa: E731 - the reading order of the sources
    joiner = "" if language in {"zh", "ja"} else " "
    chosen: list[_Candidate] = []
    for candidate in sorted(pool, key=lambda c: (-c.score, c.source, c.position)):
        if len(chosen) == max_sentences:
            break
        if any(_jaccard(candidate.keys, c.keys) >= _REDUNDANT for c in chosen):
            continue
        if _retells(candidate, chosen):
            continue
        trial = joiner.join(c.text for c in sorted([*chosen, candidate], key=order))
        if len(trial) > max_chars:
            if not chosen:
                return _cut(candidate.text, max_chars, language)  # the best sentence alone is too long
            continue
        chosen.append(candidate)
    return joiner.join(c.text for c in sorted(chosen, key=order))
