"""Entities, places and reporters of a report: gazetteer mentions read for where the event happened and who says so."""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

from bot.stories.facts.gazetteer import Gazetteer, GazetteerEntry, _letter_led, _lower, _Mention, _mentions, _trie


def find_entities(text: str, gazetteer: Gazetteer) -> frozenset[str]:
    """Canonical names of every gazetteer place and organisation the text mentions, in any language."""
    return frozenset(m.entry.name for m in _mentions(text, gazetteer))


# Places that pin an event to one spot: a city, county, town or crossing. Provinces, prefectures, rivers and
# countries each hold many spots, so two reports naming only those may still tell of different transfers.
PINPOINT_PLACE_KINDS = frozenset({"cn-city", "cn-county", "cn-town", "crossing", "kp-city", "kp-town"})


def find_entities_and_pinpoints(
    text: str, gazetteer: Gazetteer
) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(find_entities(text), those of them that are event places of a PINPOINT_PLACE_KINDS kind, those of them
    that are organisations), in one reading. A place named only as where people were heading is an entity but
    no pinpoint."""
    mentions = _mentions(text, gazetteer)
    names = frozenset(m.entry.name for m in mentions)
    pinpoints = frozenset(e.name for e in _event_places(text, mentions) if e.kind in PINPOINT_PLACE_KINDS)
    return names, pinpoints, frozenset(m.entry.name for m in mentions if not m.entry.place)


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


def _clauses_after(cue: re.Pattern[str], text: str, reach: int) -> list[tuple[int, int]]:
    """Spans from the end of each English cue (matched on the lower-cased text) to the end of its clause, at
    most `reach` characters."""
    spans: list[tuple[int, int]] = []
    for found in cue.finditer(_lower(text)):
        end = _EN_CLAUSE_END.search(text, found.end(), found.end() + reach)
        spans.append((found.end(), end.start() if end else min(len(text), found.end() + reach)))
    return spans


def _destination_mentions(text: str, mentions: Sequence[_Mention]) -> set[int]:
    """Indexes of the mentions that name where people were heading, not where the event happened."""
    found: set[int] = set()
    if not mentions:
        return found
    spans = _clauses_after(_EN_DESTINATION, text, _DESTINATION_REACH)
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


# An earlier event named in passing is no place of this one: "two days after the Dandong handover", "투먼 이어
# 단둥서도" (after Tumen, in Dandong too), "단둥 북송 이틀 만에" (two days after the Dandong return), "继丹东之后".
# No change on the measured sets' grouping (bench/story_public.py); the places fact no longer lists them.
_EN_EARLIER = re.compile(
    r"\b(?:(?:a|one|two|three|four|five|six|seven|ten|several|a few|[0-9]+)\s+(?:days?|weeks?|months?)\s+after"
    r"|(?:shortly|soon|just|days|weeks|months)\s+after|after\s+(?:the|last|this)|following\s+(?:the|last|this)"
    r"|in\s+the\s+wake\s+of|on\s+the\s+heels\s+of)\b"
)
_EARLIER_REACH = 60  # characters after an English cue that can still name the earlier event's place
# The Korean "N days after" names the earlier event itself ("단둥 북송 이틀 만에"); "투먼에서 닷새 만에 또 북송"
# (in Tumen, again five days on) names this one.
_KO_EARLIER_AFTER = re.compile(
    r"\s*(?:에\s*)?이어(?![가-힣])|[^,.…\n]{0,6}?(?:북송|송환|체포|검거|집회|인계)[^,.…\n]{0,4}?"
    r"(?:하루|이틀|사흘|나흘|닷새|엿새|열흘|일주일|보름|[0-9]+\s*일|[0-9]+\s*주)\s*만에"
)
_ZH_EARLIER = (re.compile(r"继\s*$|繼\s*$"), re.compile(r"[^，。、\n]{0,10}?之后|[^，。、\n]{0,10}?之後"))


def _earlier_mentions(text: str, mentions: Sequence[_Mention]) -> set[int]:
    """Indexes of the mentions that name an earlier event the report names in passing."""
    found: set[int] = set()
    if not mentions:
        return found
    spans = _clauses_after(_EN_EARLIER, text, _EARLIER_REACH)
    for index, mention in enumerate(mentions):
        in_span = any(start <= mention.start < end for start, end in spans)
        korean = _KO_EARLIER_AFTER.match(text, mention.end)
        chinese = _ZH_EARLIER[0].search(text, max(0, mention.start - 4), mention.start) and _ZH_EARLIER[1].match(
            text, mention.end
        )
        if in_span or korean or chinese:
            found.add(index)
    return found


# Where a return goes is a place of the return: buses "heading for Onsong" or "前往稳城" are the event itself.
# Only escapees' destinations (Laos, Thailand, South Korea) are places the event did not happen.
_RETURN_DESTINATION_KINDS = frozenset({"kp-province", "kp-city", "kp-town", "crossing"})


def _event_places(text: str, mentions: Sequence[_Mention]) -> list[GazetteerEntry]:
    """Gazetteer places in order of first mention, less those named only as where escapees were heading or as
    the place of an earlier event."""
    places = [m for m in mentions if m.entry.place]
    destinations = {
        i for i in _destination_mentions(text, places) if places[i].entry.kind not in _RETURN_DESTINATION_KINDS
    }
    elsewhere = destinations | _earlier_mentions(text, places)
    at_event = {m.entry.name for i, m in enumerate(places) if i not in elsewhere}
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
