"""Group items into stories, one story per event across outlets. Pure functions of data, no I/O.

How an item finds its story (the contract with storage):

1. ``signature(item, entities=..., numbers=..., dates=..., places=...)`` reads the item once: a MinHash of
   its word shingles (near-copies), its content terms, and the canonical entities (``places``: those naming
   a town or crossing), people counts and ISO event dates that fact extraction found (these make Korean,
   Chinese and English reports comparable).
2. ``index_keys(sig)`` gives at most ``BANDS + MAX_FEATURE_KEYS`` (16 + 16) strings: LSH band keys
   ``b<i>:<hex>`` and keys for its telling entities ``e:``, event dates ``d:``, counts ``n:``, terms ``t:``.
   Storage keeps a table (key, story_id, last_seen) and, for a new item, returns the profiles of stories
   sharing any of its keys whose last_seen is within the *follow-up* window (the larger one), at most
   ``MAX_STORIES_PER_KEY`` most recently seen stories per key and ``MAX_CANDIDATES`` stories in all (most
   shared keys first). Those caps are what keep the cost per item flat however many stories are stored.
3. ``decide(sig, candidates, window=..., followup_window=...)`` joins a story or opens a new one, perhaps
   pointing at an earlier related story. A join needs one kept member that agrees and none that contradicts
   its count or event date, and it must name one of the story's towns or crossings if it names any: a
   report joins the story's core, never a chain of members. ``absorb`` / ``profile_for`` give the profile
   to store, and the item's keys are added to the key table for that story.

``cluster_stream`` does all of this in memory, exactly as described, for tests and benchmarks.

Keys are chosen by intrinsic rules (entities, dates, counts, then title words, names and long words),
because the df of a key is not known before the key is stored; a caller that keeps key counts may pass
``df`` to prefer rare keys instead. In doubt the decision is "new story": a wrong merge hides news.
"""

from __future__ import annotations

import hashlib
import json
import math
import operator
import re
import struct
import unicodedata
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from bot.domain import Item
from bot.text.dates import EVENT_DATE as _DATE
from bot.text.scripts import HAN_COMPATIBILITY, HAN_EXTENSION_A, HAN_UNIFIED, HANGUL_SYLLABLES, KANA

# --- parameters -----------------------------------------------------------------------------------------

DEFAULT_WINDOW = timedelta(days=4)  # reports of one event arrive within days (config: story_window_days)
DEFAULT_FOLLOWUP_WINDOW = timedelta(days=45)  # config: followup_window_days

NUM_PERM = 64  # estimates a Jaccard of 0.5 within +-0.06 (1 sd): enough to tell copies from rewrites
BANDS = 16
ROWS = NUM_PERM // BANDS  # 16 bands x 4 rows: pairs at Jaccard 0.7 share a band with p 0.99, at 0.3 p 0.12

MAX_TERMS = 256  # terms kept per item (most telling first); longer articles add mostly repeats and clutter
MAX_SALIENT = 24  # term candidates for keys
MAX_FEATURE_KEYS = 16  # e:/d:/n:/t: keys per item; with the 16 band keys, at most 32 keys per item
MAX_ENTITY_KEYS = 6
MAX_DATE_KEYS = 3
MAX_NUMBER_KEYS = 3
MAX_MEMBERS = 6  # member signatures a profile keeps: the first report and the latest ones
MAX_STORIES_PER_KEY = 16  # storage: per key, only the most recently seen stories are candidates
MAX_CANDIDATES = 32  # storage: candidate stories per item, most shared keys first

# Every item reaching clustering has already matched the topic (North Koreans sent back from China), so
# these names are on nearly every item and cannot tell two events apart. They count little as agreement
# and are never index keys. Compared case-folded.
# The capitals too: datelines ("SEOUL, Oct 10") and stand-ins for governments ("Beijing denied") put them
# on most reports of any event. As specific names they let a generic report join a story on "Beijing" and
# "Seoul" plus the date, and other events then chained on through that member (bench/replay_scale.py
# --items 2000: stories of up to 46 sources from 9 events, precision 0.16). They match the gazetteer's
# `background: true` places (tests/test_cluster.py checks that the two lists agree).
BACKGROUND_ENTITIES = frozenset(
    {"china", "north korea", "south korea", "korea", "dprk", "prc", "rok", "beijing", "seoul", "pyongyang"}
)

# Near-copy: estimated Jaccard of shingle sets. Fixture "wire copy with page clutter" (tests/fixtures/
# cluster/reports.yaml, a1/a2, a3/a6, a4/a7) gives 0.61-0.83; two different reports of one event by two
# outlets give under 0.06; one outlet's stories sharing its footer (b1, f1, g1) give 0.19-0.27.
NEAR_COPY_JACCARD = 0.5
# ...and their titles agree: pages of one site share banners and footers, which can outweigh two short
# stories (fixture b1/f1/g1: titles 0.0-0.14). Copies keep their title words (a1/a2, a4/a7: 1.0); a copy
# given a new title (a3/a6: 0.33) is left to the same-event test, which its shared words and facts pass.
NEAR_COPY_TITLES = 0.5

# Same event: score = 0.5 * min(1, words / LEX_FULL) + 0.5 * min(1, points / POINTS_FULL) >= JOIN_SCORE,
# corroborated (below), and no contradiction. words: cosine of the two term sets. In the fixture, English
# reports of one event by different outlets score 0.24-0.30 (a1, a3, a8; the brief a9 0.15-0.43), while
# English reports of other events on the same topic reach 0.37 (a1/h1, two months apart; 0.26 within the
# window, c1/a9): words tell the topic more than the event, so they are half the score and alone reach
# JOIN_SCORE only at LEX_FULL, which only copies reach in the fixture (0.84-0.85). (SemEval-2022 pairs in
# bench/cluster_eval.py, measured afterwards and not used to set it: same-story median 0.27.)
LEX_FULL = 0.6
# points: 1 per shared specific entity (at most 3), 0.25 per shared background entity (at most 2), 1 for
# an agreeing count, 1 for the same event day (0.5 same month). A report in another language has no words
# in common, so it needs POINTS_FULL points alone: e.g. two places + count + day (fixture a4/a5 vs a1: 5.5,
# b1/b2, c1/c2: 4.25); the missile test of the same day reaches 1.25 (b1 vs a1), the fishermen 1.5 (c1/a3).
POINTS_FULL = 4.0
JOIN_SCORE = 0.5
# Corroborated: places and organisations alone do not make one event (fixture g1, border trade over the same
# bridges a day later, scores 0.43-0.48 against a1/a2/a8). A join also needs an agreeing count, the same
# event day, or this much word overlap (a9/a3: 0.43; different events within the window: at most 0.26).
CORROBORATING_WORDS = 0.35
# Follow-up: shared specific entities + agreeing count + event day, without background names, at least
# this many points, and not places alone unless three of them. Fixture: the UN statement three weeks later
# (e1 vs a1) has count + day = 2, the disappearance report (h1 vs e1) 3; the missile test (b1) and the
# fishermen (c1) share at most one; border trade (g1) shares two places with a1 but no count or day.
FOLLOWUP_POINTS = 2.0

# Counts agree when less than 25% apart: HRW's "over 500" and TJWG's "about 600" for the 9 Oct 2023 event
# (fixture a1/a4: 1.2). Strictly less: 48 and 60 (exactly 1.25) were two transfers through Dandong three days
# apart in bench/replay_scale.py --items 10000, and small counts are given exactly, not rounded.
NUMBER_AGREE_RATIO = 1.25
# Counts contradict when no pair agrees: 60 people vs 600 (fixture d1 vs a4), and 80 vs 110 on the same
# day in the same province (bench/replay_scale.py: such pairs, between 1.25 and 2 apart, were once let
# through and merged different transfers). Outlets that count one event differently stay within 25% (a1/a4).
# A revised count is no contradiction when the report agrees on the event day and on this many specific
# names (tests/test_cluster.py: 400 revised to 600 at Tumen, Onsong and Dandong on one day); two are not
# enough, since a rights group and a province are shared by many transfers (bench/replay_scale.py
# --items 2000: same-day transfers both told by NKDB in Jilin).
REVISED_COUNT_ENTITIES = 3
# ...and a revision refines a count, it does not multiply it: 60 vs 600 stays a contradiction however much
# else agrees (fixture d1 vs a4; bench/replay_scale.py --items 2000: 3 vs 400 people through Ji'an on the
# same day, both told by NKDB, merged when any ratio was allowed).
REVISED_COUNT_RATIO = 2.0
# A later report on the same people is a development, not another event, when its own dates are after
# every date the other report gives and fall near its own publication (a press conference, a plea), and it
# names the same count and at least this many specific names: tests/fixtures/stories, E2, the families'
# plea of 27 Oct about the five arrested in Kunming on 19 Oct (Kunming, Shenyang, Amnesty International).
DEVELOPMENT_ENTITIES = 3
# A report in another language shares no words with the story, so half of its score is always missing; it
# may still join with this many key points (specific names, count, day) and no contradiction: one
# organisation + the count + the day (tests/fixtures/stories N-fishermen, Korean vs English report of the
# ministry's return of two fishermen on 2 Nov: 3). The missile test of the same day shares 1 (fixture b1).
CROSS_LANGUAGE_POINTS = 3.0
# Event dates contradict when no pair is within this many days: outlets date one event by when it happened
# or when it was confirmed (9 Oct vs the ministry's 13 Oct in fixture a3), so a few days is no contradiction.
DATE_SLACK_DAYS = 4

# --- text ---------------------------------------------------------------------------------------------------

_CJK = KANA + HAN_EXTENSION_A + HAN_UNIFIED + HAN_COMPATIBILITY  # kana and Han: no spaces between words
_HANGUL = HANGUL_SYLLABLES
_TOKEN = re.compile(
    rf"(?P<han>[{_CJK}]+)|(?P<hangul>[{_HANGUL}]+)|(?P<num>\d+(?:[.,]\d+)*)"
    rf"|(?P<word>[^\W\d_{_CJK}{_HANGUL}]+)"
)
_SENTENCE_END = frozenset(".!?:;\n")
_OPENERS = frozenset(" \t\r\"'“‘«([-—–")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOP_EN = _words(
    """
    a about above after again against all also am an and any are aren as at be because been before being
    below between both but by can cannot could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just me more
    most my myself no nor not now of off on once only or other our ours ourselves out over own same she should
    so some such than that the their theirs them themselves then there these they this those through to too
    under until up upon very was we were what when where which while who whom why will with would you your
    yours yourself yourselves said says say told tell according added also among around amid via per since
    would could may might must shall one two three new news report reported reports reporting year years
    week weeks day days monday tuesday wednesday thursday friday saturday sunday today yesterday time times
    mr mrs ms people many much more most still yet however including include includes like well back get got
    made make makes way even just first last next another other others us it's that's there's
    """
)
# Korean endings and function words that form bigrams in any sentence.
_STOP_KO = _words(
    "했다 한다 있다 있는 없다 이다 했습 습니 니다 으로 에서 에게 하는 라고 했고 하고 이라 이번 지난 것으 "
    "것이 것은 대해 통해 관련 밝혔 혔다 말했 그러 그는 이는 한편 또한 따르 르면 기자 뉴스"
)
# Chinese function-word bigrams.
_STOP_ZH = _words(
    "我们 他们 你们 这个 那个 一个 没有 已经 进行 以及 表示 认为 可以 因为 所以 但是 如果 这些 那些 "
    "其中 目前 记者 报道 新闻 据悉 称为 指出 此外 同时 方面 之后 之前 以上 以下 其他 对于 关于 由于 "
    "是否 据报"
)
# Light English suffix stripping so "deported", "deportation" and "deports" meet; longest suffix first.
_SUFFIXES = (
    "ations", "ation", "ating", "ated", "ates", "ions", "ion", "ings", "ing", "ments", "ment",
    "ors", "or", "ers", "er", "ees", "ee", "ies", "ied", "ed", "ly", "s",
)


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word


def _sentence_initial(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and text[i] in _OPENERS:
        i -= 1
    return i < 0 or text[i] in _SENTENCE_END


@dataclass(slots=True)
class _Reading:
    """Mutable scratch of one text reading (never leaves this module)."""

    units: list[str] = field(default_factory=list)  # shingle units: words, numbers, single Han characters
    han_units: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    title_terms: set[str] = field(default_factory=set)
    proper: set[str] = field(default_factory=set)


def _read(text: str, reading: _Reading, *, title: bool) -> None:
    text = unicodedata.normalize("NFKC", text)
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        raw = m.group()
        terms: list[str] = []
        if kind == "han":
            reading.units.extend(raw)
            reading.han_units += len(raw)
            terms = [raw[i : i + 2] for i in range(len(raw) - 1)]
            terms = [t for t in terms if t not in _STOP_ZH]
        elif kind == "hangul":
            reading.units.append(raw)
            terms = [raw[i : i + 2] for i in range(len(raw) - 1)]
            terms = [t for t in terms if t not in _STOP_KO]
        elif kind == "num":
            reading.units.append(raw.replace(",", "").replace(".", ""))
        else:
            word = raw.casefold()
            reading.units.append(word)
            if len(word) >= 3 and word not in _STOP_EN:
                term = _stem(word)
                terms = [term]
                # A capital inside a sentence marks a name; titles capitalise every word, so not there.
                if not title and raw[0].isupper() and not _sentence_initial(text, m.start()):
                    reading.proper.add(term)
        for term in terms:
            reading.counts[term] += 1
            if title:
                reading.title_terms.add(term)


def _shingles(units: list[str], han_units: int) -> set[str]:
    # Three words, or five Han characters (about three Chinese words) when Han script dominates.
    k = 5 if han_units * 2 > len(units) else 3
    if not units:
        return set()
    if len(units) <= k:
        return {"\x1f".join(units)}
    return {"\x1f".join(units[i : i + k]) for i in range(len(units) - k + 1)}


# --- MinHash ------------------------------------------------------------------------------------------------

# Each shingle's SHAKE-128 digest gives NUM_PERM independent 32-bit hash values; the MinHash keeps, per
# position, the smallest over the shingles. A fixed hash, not Python's salted hash(): the same text gives the
# same MinHash in every process. Unpacking and the column minimum run in C, so this costs about 1 us/shingle.
_HASH_BYTES = 4 * NUM_PERM
_UNPACK = struct.Struct(f">{NUM_PERM}I").unpack
_SALT = b"bot.cluster/minhash\x00"


def _minhash(shingles: set[str]) -> tuple[int, ...]:
    if not shingles:
        return ()
    rows = [_UNPACK(hashlib.shake_128(_SALT + s.encode()).digest(_HASH_BYTES)) for s in shingles]
    return tuple(map(min, zip(*rows, strict=True)))


def estimated_jaccard(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """Share of equal MinHash values: estimates the Jaccard similarity of two shingle sets (0 if empty)."""
    if not a or not b or len(a) != len(b):
        return 0.0
    equal: int = sum(map(operator.eq, a, b))
    return equal / len(a)


# --- signatures ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Signature:
    """What clustering knows of one item: MinHash of its shingles, its terms and the facts found in it."""

    minhash: tuple[int, ...]  # NUM_PERM 32-bit values, or () when the text has no words
    terms: frozenset[str]  # stemmed content words; Hangul and Han character bigrams
    salient: tuple[str, ...]  # the most telling terms first (title words, names, long words): key candidates
    title: frozenset[str]  # terms of the title (at most MAX_SALIENT): the part of a page never boilerplate
    entities: frozenset[str]  # canonical names, as fact extraction spells them
    numbers: frozenset[int]  # people counts
    dates: frozenset[str]  # event dates, YYYY-MM-DD or YYYY-MM
    language: str
    published: datetime
    outlet: str = ""
    places: frozenset[str] = frozenset()  # the entities that pin a place down (a city, town or crossing)


@lru_cache(maxsize=4096)
def _date_span(text: str) -> tuple[int, int, bool]:
    """(first day ordinal, last day ordinal, is a single day) of 'YYYY-MM-DD' or 'YYYY-MM'."""
    m = _DATE.fullmatch(text)
    if m is None:
        raise ValueError(f"event date {text!r} is not YYYY-MM-DD or YYYY-MM")
    year, month = int(m.group(1)), int(m.group(2))
    if m.group(3) is not None:
        day = date(year, month, int(m.group(3))).toordinal()
        return day, day, True
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return first.toordinal(), following.toordinal() - 1, False


def signature(
    item: Item,
    *,
    entities: frozenset[str] = frozenset(),
    numbers: frozenset[int] = frozenset(),
    dates: frozenset[str] = frozenset(),
    places: frozenset[str] = frozenset(),
) -> Signature:
    """Read `item` once. Raises ValueError on a naive published time or a date not YYYY-MM(-DD).

    `places` are those of `entities` that name one spot (facts.PINPOINT_PLACE_KINDS): reports naming such
    places, none of them in common, are about different transfers.
    """
    if item.published.tzinfo is None:
        raise ValueError(f"item {item.guid!r}: published time must be timezone-aware")
    for text in dates:
        _date_span(text)
    reading = _Reading()
    _read(item.title, reading, title=True)
    body = "\n".join(p for p in (item.summary, item.content if item.content != item.summary else "") if p)
    _read(body, reading, title=False)

    def salience(term: str) -> tuple[int, str]:
        score = min(reading.counts[term], 3)
        score += 3 if term in reading.title_terms else 0
        score += 2 if term in reading.proper else 0
        score += 1 if len(term) >= 7 else 0
        return -score, term

    ranked = sorted(reading.counts, key=salience)[:MAX_TERMS]
    return Signature(
        minhash=_minhash(_shingles(reading.units, reading.han_units)),
        terms=frozenset(ranked),
        salient=tuple(ranked[:MAX_SALIENT]),
        title=frozenset(sorted(reading.title_terms)[:MAX_SALIENT]),
        entities=frozenset(e.strip() for e in entities if e.strip()),
        numbers=frozenset(numbers),
        dates=frozenset(dates),
        language=item.language,
        published=item.published,
        outlet=item.outlet,
        places=frozenset(p.strip() for p in places if p.strip()),
    )


@lru_cache(maxsize=16)
def _background_words(background: frozenset[str]) -> frozenset[str]:
    """Terms of background names ('north', 'korea'): on every item, so useless as keys."""
    return frozenset(_stem(w) for name in background for w in name.split())


def index_keys(
    sig: Signature,
    *,
    df: Callable[[str], int] | Mapping[str, int] | None = None,
    background: frozenset[str] = BACKGROUND_ENTITIES,
) -> tuple[str, ...]:
    """Band keys 'b<i>:<hex>', then at most MAX_FEATURE_KEYS 'e:', 'd:', 'n:', 't:' keys (rarest first)."""
    keys: list[str] = []
    if sig.minhash:
        for band in range(BANDS):
            rows = sig.minhash[band * ROWS : (band + 1) * ROWS]
            packed = b"".join(v.to_bytes(4, "big") for v in rows)
            keys.append(f"b{band}:{hashlib.blake2b(packed, digest_size=8).hexdigest()}")
    folded = sorted({e.casefold() for e in sig.entities} - background, key=lambda e: (-len(e), e))
    days = sorted(sig.dates, key=lambda d: (-len(d), d))
    numbers = sorted(sig.numbers, reverse=True)  # larger counts are rarer
    features = (
        [f"e:{e}" for e in folded[:MAX_ENTITY_KEYS]]
        + [f"d:{d}" for d in days[:MAX_DATE_KEYS]]
        + [f"n:{n}" for n in numbers[:MAX_NUMBER_KEYS]]
        + [f"t:{t}" for t in sig.salient if t not in _background_words(background)]
    )
    if df is not None:
        counts = df
        order = {key: i for i, key in enumerate(features)}

        def rarity(key: str) -> tuple[int, int]:
            found = counts.get(key, 0) if isinstance(counts, Mapping) else counts(key)
            return found or 0, order[key]

        features.sort(key=rarity)
    seen: set[str] = set()
    for key in features:
        if key not in seen:
            seen.add(key)
            keys.append(key)
            if len(seen) == MAX_FEATURE_KEYS:
                break
    return tuple(keys)


# --- story profiles -----------------------------------------------------------------------------------------


def _sig_to_dict(sig: Signature) -> dict[str, Any]:
    return {
        "minhash": "".join(f"{v:08x}" for v in sig.minhash),
        "terms": sorted(sig.terms),
        "salient": list(sig.salient),
        "title": sorted(sig.title),
        "entities": sorted(sig.entities),
        "numbers": sorted(sig.numbers),
        "dates": sorted(sig.dates),
        "language": sig.language,
        "published": sig.published.isoformat(),
        "outlet": sig.outlet,
        "places": sorted(sig.places),
    }


def _sig_from_dict(data: Mapping[str, Any]) -> Signature:
    packed = str(data["minhash"])
    if len(packed) % 8:
        raise ValueError("minhash is not a string of 8-digit hex values")
    published = datetime.fromisoformat(str(data["published"]))
    if published.tzinfo is None:
        raise ValueError("published time must be timezone-aware")
    return Signature(
        minhash=tuple(int(packed[i : i + 8], 16) for i in range(0, len(packed), 8)),
        terms=frozenset(str(t) for t in data["terms"]),
        salient=tuple(str(t) for t in data["salient"]),
        title=frozenset(str(t) for t in data.get("title", ())),  # absent in profiles stored before it existed
        entities=frozenset(str(e) for e in data["entities"]),
        numbers=frozenset(int(n) for n in data["numbers"]),
        dates=frozenset(str(d) for d in data["dates"]),
        language=str(data["language"]),
        published=published,
        outlet=str(data.get("outlet", "")),
        places=frozenset(str(p) for p in data.get("places", ())),  # absent in profiles stored before it existed
    )


@dataclass(frozen=True, slots=True)
class StoryProfile:
    """What storage keeps per story to decide membership: time span, size and some member signatures."""

    story_id: int
    first_published: datetime
    last_published: datetime
    size: int
    members: tuple[Signature, ...]  # by published time: the first report and the latest, at most MAX_MEMBERS

    @property
    def minhashes(self) -> tuple[tuple[int, ...], ...]:
        """MinHashes of the kept members."""
        return tuple(m.minhash for m in self.members)

    @property
    def terms(self) -> frozenset[str]:
        """Terms of the kept members."""
        return frozenset[str]().union(*(m.terms for m in self.members))

    @property
    def entities(self) -> frozenset[str]:
        """Entities of the kept members."""
        return frozenset[str]().union(*(m.entities for m in self.members))

    @property
    def numbers(self) -> frozenset[int]:
        """Counts of the kept members."""
        return frozenset[int]().union(*(m.numbers for m in self.members))

    @property
    def dates(self) -> frozenset[str]:
        """Event dates of the kept members."""
        return frozenset[str]().union(*(m.dates for m in self.members))

    @property
    def languages(self) -> frozenset[str]:
        """Languages of the kept members."""
        return frozenset(m.language for m in self.members)

    def to_json(self) -> str:
        """Deterministic JSON (sorted sets, hex MinHash), read back by from_json."""
        return json.dumps(
            {
                "story_id": self.story_id,
                "first_published": self.first_published.isoformat(),
                "last_published": self.last_published.isoformat(),
                "size": self.size,
                "members": [_sig_to_dict(m) for m in self.members],
            },
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
        )

    @staticmethod
    def from_json(text: str) -> StoryProfile:
        """Profile from to_json output. Raises ValueError on malformed data."""
        try:
            data = json.loads(text)
            members = tuple(_sig_from_dict(m) for m in data["members"])
            first = datetime.fromisoformat(str(data["first_published"]))
            last = datetime.fromisoformat(str(data["last_published"]))
            profile = StoryProfile(int(data["story_id"]), first, last, int(data["size"]), members)
        except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
            raise ValueError(f"malformed story profile: {exc}") from exc
        if not members or first.tzinfo is None or last.tzinfo is None:
            raise ValueError("malformed story profile: no members or naive times")
        return profile


def profile_for(story_id: int, sig: Signature) -> StoryProfile:
    """The profile of a new story whose first report is `sig`."""
    return StoryProfile(story_id, sig.published, sig.published, 1, (sig,))


def absorb(profile: StoryProfile, sig: Signature) -> StoryProfile:
    """`profile` with `sig` added: span widened, size + 1, members = first report + latest ones."""
    members = sorted((*profile.members, sig), key=lambda m: m.published)
    if len(members) > MAX_MEMBERS:
        # The first report anchors the story; the latest ones follow how it is being told now.
        members = [members[0], *members[-(MAX_MEMBERS - 1) :]]
    return StoryProfile(
        story_id=profile.story_id,
        first_published=min(profile.first_published, sig.published),
        last_published=max(profile.last_published, sig.published),
        size=profile.size + 1,
        members=tuple(members),
    )


# --- comparing two reports ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Evidence:
    """How two reports agree: copy likeness, shared words, names, counts, dates, and any contradiction."""

    jaccard: float
    titles: float  # share of the shorter title's terms (background words aside) found in the other; 1 if none
    words: float  # cosine of the term sets; 0 between two pages of one outlet (their boilerplate is alike)
    entities: tuple[str, ...]  # shared specific entities
    background: tuple[str, ...]  # shared background entities
    numbers: tuple[int, ...]  # counts of the new report that agree
    dates: tuple[str, ...]  # event dates of the new report that agree
    date_points: float
    contradiction: str | None  # why the two cannot be one event (names, dates or counts), or None
    conflict: str | None = None  # the date or count contradiction alone, even when names are what contradicts
    cross_language: bool = False  # written in different languages: their words cannot be compared

    @property
    def points(self) -> float:
        """Agreement on what matters: specific entities (max 3), background (0.25, max 2), count, date."""
        return self.key_points + 0.25 * min(len(self.background), 2)

    @property
    def key_points(self) -> float:
        """Points without background entities: what a follow-up must share."""
        return min(len(self.entities), 3) + (1.0 if self.numbers else 0.0) + self.date_points

    @property
    def corroborated(self) -> bool:
        """Agreement beyond names: a count, the event day, or many shared words."""
        return bool(self.numbers) or self.date_points == 1.0 or self.words >= CORROBORATING_WORDS

    @property
    def joins(self) -> bool:
        """Same event: no contradiction, corroborated, and the score or (across languages) the key points."""
        if self.contradiction is not None or not self.corroborated:
            return False
        return self.score >= JOIN_SCORE or (self.cross_language and self.key_points >= CROSS_LANGUAGE_POINTS)

    @property
    def score(self) -> float:
        """Same-event score in 0..1: half words, half agreement points."""
        return 0.5 * min(1.0, self.words / LEX_FULL) + 0.5 * min(1.0, self.points / POINTS_FULL)

    def describe(self) -> str:
        """'entities Tumen, TJWG; numbers 600; dates 2023-10-09; words 0.31'."""
        parts = []
        if self.entities:
            parts.append("entities " + ", ".join(self.entities))
        if self.numbers:
            parts.append("numbers " + ", ".join(str(n) for n in self.numbers))
        if self.dates:
            parts.append("dates " + ", ".join(self.dates))
        parts.append(f"words {self.words:.2f}")
        return "; ".join(parts)


def _near(a: int, b: int) -> bool:
    if a == b:
        return True
    low, high = min(a, b), max(a, b)
    return low >= 10 and high < low * NUMBER_AGREE_RATIO


@lru_cache(maxsize=4096)
def _fold(entities: frozenset[str]) -> frozenset[str]:
    return frozenset(e.casefold() for e in entities)


def compare(new: Signature, old: Signature, *, background: frozenset[str] = BACKGROUND_ENTITIES) -> Evidence:
    """How `new` agrees with `old`; the shared names, counts and dates listed are spelled as in `new`."""
    words = 0.0
    # Two pages of one outlet share its header and footer words, so their words say nothing.
    if new.terms and old.terms and not (new.outlet and new.outlet == old.outlet):
        words = len(new.terms & old.terms) / math.sqrt(len(new.terms) * len(old.terms))

    old_folded = _fold(old.entities)
    shared = sorted(e for e in new.entities if e.casefold() in old_folded)
    specific = tuple(e for e in shared if e.casefold() not in background)
    common = tuple(e for e in shared if e.casefold() in background)

    numbers = tuple(sorted(n for n in new.numbers if any(_near(n, m) for m in old.numbers)))
    number_clash = bool(new.numbers and old.numbers) and not numbers
    revisable = number_clash and any(
        max(n, m) < REVISED_COUNT_RATIO * min(n, m) for n in new.numbers for m in old.numbers
    )

    date_points = 0.0
    agreeing: list[str] = []
    compatible = False
    for d_new in sorted(new.dates):
        a0, a1, a_day = _date_span(d_new)
        for d_old in old.dates:
            b0, b1, b_day = _date_span(d_old)
            if a0 <= b1 + DATE_SLACK_DAYS and b0 <= a1 + DATE_SLACK_DAYS:
                compatible = True
            if a_day and b_day and a0 == b0:
                date_points = 1.0
                agreeing.append(d_new)
            elif a0 <= b1 and b0 <= a1:  # a month containing the day, or the same month
                date_points = max(date_points, 0.5)
                agreeing.append(d_new)
    date_clash = bool(new.dates and old.dates) and not compatible
    if date_clash and numbers and len(specific) >= DEVELOPMENT_ENTITIES and _development(new, old):
        date_clash = False

    new_specific = _fold(new.entities) - background
    old_specific = old_folded - background
    conflict: str | None = None
    if date_clash:
        new_d, old_d = ", ".join(sorted(new.dates)), ", ".join(sorted(old.dates))
        conflict = f"different event dates ({new_d} vs {old_d})"
    elif number_clash and not (revisable and date_points == 1.0 and len(specific) >= REVISED_COUNT_ENTITIES):
        # A revised count of the same day's event at the same places is an update, not another event.
        new_n = ", ".join(str(n) for n in sorted(new.numbers))
        old_n = ", ".join(str(n) for n in sorted(old.numbers))
        conflict = f"different counts ({new_n} vs {old_n})"
    contradiction = conflict
    if len(new_specific) >= 2 and len(old_specific) >= 2 and not specific:
        # Each names several places or organisations and none in common (fixture f1/g1, b1/f1).
        contradiction = "no place or organisation in common"
    elif _disjoint(new.places, old.places):
        # Each pins the event to towns or crossings, none the same: a shared province or rights group does
        # not make them one transfer (bench/replay_scale.py: same-day transfers in Jilin, both told by RFA).
        contradiction = f"different places ({', '.join(sorted(new.places))} vs {', '.join(sorted(old.places))})"
    common_words = _background_words(background)
    new_title, old_title = new.title - common_words, old.title - common_words
    titles = 1.0
    if new_title and old_title:
        titles = len(new_title & old_title) / min(len(new_title), len(old_title))
    return Evidence(
        jaccard=estimated_jaccard(new.minhash, old.minhash),
        titles=titles,
        words=words,
        entities=specific,
        background=common,
        numbers=numbers,
        dates=tuple(dict.fromkeys(agreeing)),
        date_points=date_points,
        contradiction=contradiction,
        conflict=conflict,
        cross_language=_cross_language(new.language, old.language),
    )


def _disjoint(a: frozenset[str], b: frozenset[str]) -> bool:
    return bool(a and b) and not (_fold(a) & _fold(b))


def _cross_language(a: str, b: str) -> bool:
    base_a, base_b = a.split("-")[0].casefold(), b.split("-")[0].casefold()
    return base_a != base_b and "und" not in (base_a, base_b) and "" not in (base_a, base_b)


def _development(new: Signature, old: Signature) -> bool:
    """Every event date of `new` is after all of `old`'s and near `new`'s own publication: news of the day."""
    published = new.published.date().toordinal()
    latest_old = max(_date_span(d)[1] for d in old.dates)
    return all(
        _date_span(d)[0] > latest_old and abs(_date_span(d)[0] - published) <= DATE_SLACK_DAYS
        for d in new.dates
    )


# --- deciding -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decision:
    """Join story `story_id`, or (None) open a new story, perhaps a follow-up of an earlier one."""

    story_id: int | None
    follow_up_of: int | None
    reason: str
    score: float


def _distance(when: datetime, profile: StoryProfile) -> timedelta:
    if when < profile.first_published:
        return profile.first_published - when
    if when > profile.last_published:
        return when - profile.last_published
    return timedelta(0)


def decide(
    sig: Signature,
    candidates: Sequence[StoryProfile],
    *,
    window: timedelta = DEFAULT_WINDOW,
    followup_window: timedelta = DEFAULT_FOLLOWUP_WINDOW,
    background: frozenset[str] = BACKGROUND_ENTITIES,
) -> Decision:
    """Which candidate story `sig` belongs to; a near-copy first, then the best same-event score; else new."""
    pub = sig.published
    best_join: tuple[tuple[float, float, int], Decision] | None = None
    best_follow: tuple[tuple[float, datetime, int], int, Evidence] | None = None
    closest: tuple[float, int, str | None] | None = None  # score, story, why not joined
    for profile in sorted(candidates, key=lambda p: p.story_id):
        near_reach = _distance(pub, profile) <= window
        # A story spans at most `window`: weeks of reports on one situation become separate stories.
        span_ok = max(profile.last_published, pub) - min(profile.first_published, pub) <= window
        follow_reach = profile.first_published <= pub and pub - profile.last_published <= followup_window
        if not (near_reach or follow_reach):
            continue
        evidences = [compare(sig, member, background=background) for member in profile.members]
        # The story's core: a report whose count or event date contradicts any kept member (the first report
        # among them) does not join through another member that happens to lack a count or a date. Joining
        # through the most lenient member let other transfers chain on (bench/replay_scale.py --items 2000).
        core_conflict = next((ev.conflict for ev in evidences if ev.conflict is not None), None)
        # Likewise a report naming towns or crossings that none of the kept members name.
        story_places = frozenset[str]().union(*(m.places for m in profile.members))
        if core_conflict is None and _disjoint(sig.places, story_places):
            core_conflict = f"no town or crossing of the story ({', '.join(sorted(sig.places))})"
        for ev in evidences:
            if core_conflict is not None:
                break
            if (
                near_reach
                and ev.contradiction is None
                and ev.jaccard >= NEAR_COPY_JACCARD
                and ev.titles >= NEAR_COPY_TITLES
            ):
                key = (2.0, ev.jaccard, -profile.story_id)
                reason = f"near-copy of story {profile.story_id} (jaccard {ev.jaccard:.2f})"
                if best_join is None or key > best_join[0]:
                    best_join = (key, Decision(profile.story_id, None, reason, ev.jaccard))
            elif span_ok and ev.joins:
                key = (1.0, ev.score, -profile.story_id)
                reason = f"same event as story {profile.story_id} (score {ev.score:.2f}: {ev.describe()})"
                if best_join is None or key > best_join[0]:
                    best_join = (key, Decision(profile.story_id, None, reason, ev.score))
        top = max(evidences, key=lambda e: (e.score, e.key_points))
        if closest is None or (top.score, -profile.story_id) > (closest[0], -closest[1]):
            closest = (top.score, profile.story_id, top.contradiction or core_conflict)
        if follow_reach:
            related = max(evidences, key=lambda e: (e.key_points, e.score))
            beyond_places = bool(related.numbers) or related.date_points > 0 or len(related.entities) >= 3
            if related.key_points >= FOLLOWUP_POINTS and beyond_places:
                fkey = (related.key_points, profile.last_published, -profile.story_id)
                if best_follow is None or fkey > best_follow[0]:
                    best_follow = (fkey, profile.story_id, related)
    if best_join is not None:
        return best_join[1]
    if best_follow is not None:
        _, story_id, ev = best_follow
        reason = f"new story, follow-up of story {story_id} ({ev.describe()})"
        return Decision(None, story_id, reason, ev.score)
    if closest is None:
        return Decision(None, None, "new story (no candidate)", 0.0)
    score, story_id, conflict = closest
    why = f"; {conflict}" if conflict else ""
    return Decision(None, None, f"new story (closest: story {story_id}, score {score:.2f}{why})", score)


# --- in-memory clustering (the storage contract, for tests and benchmarks) ----------------------------------


@dataclass(frozen=True, slots=True)
class Assignment:
    """The story an item ended in (its id, new or existing) and the decision that put it there."""

    story_id: int
    decision: Decision


def cluster_stream(
    sigs: Iterable[Signature],
    *,
    window: timedelta = DEFAULT_WINDOW,
    followup_window: timedelta = DEFAULT_FOLLOWUP_WINDOW,
    background: frozenset[str] = BACKGROUND_ENTITIES,
    first_story_id: int = 1,
) -> Iterator[Assignment]:
    """Cluster signatures in the given order with an in-memory key index that follows the storage contract."""
    postings: dict[str, OrderedDict[int, None]] = {}  # key -> story ids, most recently touched last
    profiles: dict[int, StoryProfile] = {}
    recency: OrderedDict[int, datetime] = OrderedDict()  # story id -> last_published, for eviction
    story_keys: dict[int, set[str]] = {}
    next_id = first_story_id
    for sig in sigs:
        cutoff = sig.published - followup_window
        while recency:  # stories nobody can join or follow any more leave the index
            oldest_id, oldest_seen = next(iter(recency.items()))
            if oldest_seen >= cutoff:
                break
            recency.popitem(last=False)
            del profiles[oldest_id]
            for key in story_keys.pop(oldest_id, ()):
                posting = postings.get(key)
                if posting is not None:
                    posting.pop(oldest_id, None)
                    if not posting:
                        del postings[key]
        keys = index_keys(sig, background=background)
        hits: Counter[int] = Counter()
        for key in keys:
            posting = postings.get(key)
            if not posting:
                continue
            for scanned, story_id in enumerate(reversed(posting)):
                if scanned == MAX_STORIES_PER_KEY:
                    break
                if story_id in profiles:
                    hits[story_id] += 1
        ranked = sorted(hits, key=lambda s: (-hits[s], -profiles[s].last_published.timestamp(), s))
        candidates = [profiles[s] for s in ranked[:MAX_CANDIDATES]]
        decision = decide(
            sig, candidates, window=window, followup_window=followup_window, background=background
        )
        if decision.story_id is None:
            story_id = next_id
            next_id += 1
            profile = profile_for(story_id, sig)
        else:
            story_id = decision.story_id
            profile = absorb(profiles[story_id], sig)
        profiles[story_id] = profile
        recency[story_id] = profile.last_published
        recency.move_to_end(story_id)
        story_keys.setdefault(story_id, set()).update(keys)
        for key in keys:
            posting = postings.setdefault(key, OrderedDict())
            posting[story_id] = None
            posting.move_to_end(story_id)
            if len(posting) > 4 * MAX_STORIES_PER_KEY:  # only the most recent are ever read
                posting.popitem(last=False)
        yield Assignment(story_id, decision)
