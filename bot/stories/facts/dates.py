"""Event dates of a report, resolved against its publication time; the report's own days left out."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta, timezone

from bot.text.clutter import dateline_length

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
# A month that bounds a period on both sides or closes one ("612 cases between January and September", "올해
# 9월까지", "1~9월", "截至9月") dates no event: two outlets' reports of one tally then agree. A period's opening
# ("since April 2023", "自2023年4月开通以来") stays a date: it is often the day something began.
_PERIOD_BEFORE = re.compile(
    r"(?:\b(?i:between|through|until|till|to|and|by(?: the end of)?)\s+(?:(?i:early|late|mid)-?\s*)?"
    r"|(?<![A-Za-z])[~∼～\-–—]\s*|(?:截至|截止|至|到)\s*)$"
)
_PERIOD_AFTER = re.compile(
    r"\s*(?:[~∼～\-–—]|까지|말까지|至|到|底前)"
    r"|\s+(?i:to|through|until|and)\s+(?:(?i:early|late|mid)-?\s*)?" + _MON.replace("?P<mon>", "?:")
)


def _not_the_event(text: str, start: int, end: int, datelines: Sequence[tuple[int, int]]) -> bool:
    """Whether the date at text[start:end] is the report's own day, a statement's, or one still to come."""
    if any(s <= start < e for s, e in datelines):
        return True
    before = text[max(0, start - _CONTEXT) : start]
    # Only in its own line: a title's closing "sources say" does not speak of the teaser's first day.
    if _EN_STATEMENT_BEFORE.search(before[before.rfind("\n") + 1 :]):
        return True
    if _EN_SENTENCE_START.search(before) and _EN_SPEAKER_AFTER.match(text, end, end + _CONTEXT):
        return True
    breaks = list(_SENTENCE_BREAK.finditer(before))
    sentence = before[breaks[-1].end() :] if breaks else before
    if _EN_FUTURE_BEFORE.search(sentence):
        return True
    return bool(_KO_STATEMENT_AFTER.match(text, end, end + 24) or _ZH_STATEMENT_AFTER.match(text, end, end + 24))


def _bounds_a_period(text: str, start: int, end: int) -> bool:
    """Whether the month at text[start:end] bounds a period on both sides or closes one, rather than dating an
    event (see _PERIOD_BEFORE)."""
    return bool(_PERIOD_BEFORE.search(text[max(0, start - 20) : start]) or _PERIOD_AFTER.match(text, end, end + 24))


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
            if len(value) == 7 and _bounds_a_period(text, start, end):
                continue
            if not _not_the_event(text, start, end, datelines):
                found.append((start, value))
    found.sort()
    return tuple(dict.fromkeys(value for _, value in found))
