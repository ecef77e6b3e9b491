"""Counts of people in a report: a number counts only when a people word or counter follows it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.stories.facts.gazetteer import _is_cjk_text, _lower, _render, _trie

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
_EN_OTHERS_AFTER = re.compile(r"\b(?:and|with|plus)\s+$")
_EN_PART = re.compile(r"\b(?:including|among\s+(?:them|whom)|of\s+whom|of\s+them|plus)\b", re.IGNORECASE)

# Numbers start with a digit not preceded by a digit, point or comma (the look-behind comes after the
# first digit so the pattern starts with a character class, which the engine skips to quickly).
_KO_NUM_REST = r"[0-9,.]*(?:\s?[만천백](?:\s?[0-9][0-9,]*)?)*"
_KO_COUNT = re.compile(
    rf"(?P<a>[0-9](?<![0-9.,].){_KO_NUM_REST})"
    rf"(?:\s*(?:명\s*)?(?:~|∼|〜|～|-|–|—|에서)\s*(?P<b>[0-9]{_KO_NUM_REST}))?"
    r"\s*(?:여|남짓|가량|이상|안팎|정도|내외)?\s*명(?![단절령예])"
)
# Korean's native numerals, which outlets use for small groups: "열두 명" (twelve), "아홉 명" (nine).
_KO_NATIVE_TENS = {"열": 10, "스물": 20, "스무": 20, "서른": 30, "마흔": 40, "쉰": 50, "예순": 60, "일흔": 70,
                   "여든": 80, "아흔": 90}  # fmt: skip
_KO_NATIVE_UNITS = {"한": 1, "두": 2, "세": 3, "네": 4, "다섯": 5, "여섯": 6, "일곱": 7, "여덟": 8, "아홉": 9}
_KO_NATIVE_COUNT = re.compile(
    rf"(?<![가-힣])(?P<tens>{'|'.join(_KO_NATIVE_TENS)})?(?P<units>{'|'.join(_KO_NATIVE_UNITS)})?"
    r"(?<=[가-힣])\s*(?:여|남짓|가량)?\s*명(?![단절령예])"
)
_KO_PART_BEFORE = re.compile(r"(?:이|그)\s?중(?!국)|가운데|(?:^|\s)중(?:에는|에서|엔)?\s")
_KO_PART_AFTER = re.compile(r"^\s*(?:을|를|이|가)?\s*포함")

_ZH_DIGITS = "零〇一二两兩三四五六七八九"
_ZH_UNITS = "十百千万萬"
# A Chinese number starts with a digit or 十: 百人, 千人, 万人 alone are idioms ("千人计划"), not counts.
_ZH_NUM_REST = rf"[0-9.,{_ZH_DIGITS}{_ZH_UNITS}]*"
_ZH_COUNT = re.compile(
    rf"(?P<a>[0-9{_ZH_DIGITS}十](?<![第数數几幾上成下0-9.,{_ZH_DIGITS}{_ZH_UNITS}].){_ZH_NUM_REST})"
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
        # "her daughter and two others": the others are a part of the group, not all of it.
        others = match.group("noun") == "others" and _EN_OTHERS_AFTER.search(lowered, max(0, start - 8), start)
        part = part or bool(others)
        found.append(_Count(start, end, *pair, part=part))
    if "명" in text:
        for match in _KO_COUNT.finditer(text):
            b = match.group("b")
            pair = _range(_cjk_value(match.group("a")), _cjk_value(b) if b else None)
            if pair is not None:
                part = bool(_KO_PART_AFTER.search(text[match.end() : match.end() + 12]))
                found.append(_Count(match.start(), match.end(), *pair, part=part))
        for match in _KO_NATIVE_COUNT.finditer(text):
            tens, units = match.group("tens"), match.group("units")
            pair = _range(_KO_NATIVE_TENS.get(tens or "", 0) + _KO_NATIVE_UNITS.get(units or "", 0), None)
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
    # Only parts ("her daughter and two others", "at least 20 of the detainees"): the whole is not given.
    chosen = next((c for c in counts if not c.part), None)
    return None if chosen is None else (chosen.low, chosen.high)
