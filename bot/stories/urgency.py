"""A story's urgency: URGENT when people are about to be, are being or have just been returned, else UPDATE.

Pure functions of text and facts: no I/O, no clock, nothing read at import time beyond compiling patterns.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.domain import Facts, Urgency

# URGENT means people are about to be returned, a return is under way, or one has just happened: the
# window in which a call or a letter can still change something, or in which the news is hours old.
# UPDATE is everything else about the topic: reports, statements, hearings, anniversaries, analysis.
#
# Cues are read per sentence, so a time marker only qualifies the return it shares a sentence with.
# Three strengths:
#   strong  - imminent or under-way returns, and a return next to a recency marker ("last night").
#             Decisive wherever they appear: a report saying 600 "were repatriated on Monday" is news.
#   weak    - a return stated without any time ("China deported 500 North Koreans"), or people facing
#             return with nothing to show they are a specific group. Read in the lead only (headline and
#             first sentences), because background paragraphs repeat such lines in every article.
#   update  - genre markers (report, statement, anniversary...), also read in the lead only: the
#             headline and lead say what a story is; a "statement" quoted in paragraph nine does not.
# A retrospective marker in the sentence ("a year after", "in 2019", "Oct. 9") cancels a past-tense
# return in it: the sentence tells history, not news.


@dataclass(frozen=True, slots=True)
class _Cues:
    """One language's urgency patterns, each compiled from alternatives on casefolded NFKC text."""

    imminent: re.Pattern[str]  # strong on its own
    returned: re.Pattern[str]  # a return that happened; strong with `recent`, weak without
    at_risk: re.Pattern[str]  # people facing return; strong with `detained` or `count`, else weak
    detained: re.Pattern[str]  # people held now (only meaningful next to `at_risk`)
    count: re.Pattern[str]  # a number of people: the sentence is about a specific group
    recent: re.Pattern[str]  # hours or days ago
    retro: re.Pattern[str]  # history: cancels `returned` and `at_risk` in the same sentence
    hypothetical: re.Pattern[str]  # "if / once returned": cancels `returned`
    update: re.Pattern[str]  # genre of the story, read in the lead
    headline: re.Pattern[str]  # a return in headline style (no auxiliary verb): `returned`, first sentence only


_NEVER = re.compile(r"(?!)")


def _alt(*patterns: str) -> re.Pattern[str]:
    """Compile alternatives into one pattern (text is casefolded before matching)."""
    return re.compile("|".join(f"(?:{p})" for p in patterns))


# "handed over" alone is any transfer (a list, a building); only a handover to the North or at the
# border is a return.
_HANDED_OVER_EN = (
    r"handed over (?:to (?:north korea\w*|the north|pyongyang|the dprk)"
    r"|at (?:the |a )?(?:[\w-]+ )?(?:border|bridge|crossing|checkpoint))"
)
_RET_EN = rf"repatriated|deported|sent back|returned|{_HANDED_OVER_EN}|expelled|refouled"
_MONTH_EN = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_PEOPLE_EN = r"north koreans?|defectors?|escapees?|refugees?|people|women|detainees|asylum[- ]seekers"
_GROUP_EN = (
    rf"(?:\d[\d,]*|dozens of|scores of|hundreds of|a group of|another group of)\s+(?:[\w-]+\s+){{0,2}}?"
    rf"(?:{_PEOPLE_EN})\b"
)
_WEEKDAY_EN = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_MOVE_EN = r"bused|bussed|driven|trucked|taken|transported|moved|transferred|escorted|marched"

_EN = _Cues(
    imminent=_alt(
        # Explicitly about to happen.
        rf"\babout to be (?:forcibly )?(?:{_RET_EN})\b",
        rf"\b(?:set|due|scheduled|expected|poised|slated) to be (?:forcibly )?(?:{_RET_EN})\b",
        r"\b(?:imminent|impending) (?:forced |forcible |mass )?"
        r"(?:repatriation|deportation|return|refoulement)",
        r"\b(?:repatriation|deportation|return)s? (?:is |are |appears? |seems? )?(?:imminent|under ?way)\b",
        r"\b(?:repatriation|deportation|return)s? of\b.{0,60}?\bunder ?way\b",
        r"\bawaiting (?:forced |forcible )?(?:repatriation|deportation|return)\b",
        r"\bat imminent risk of\b",
        # Under way: progressive passive of a return, or of a transfer towards the border.
        rf"\b(?:are|is) (?:now |currently )?being (?:forcibly )?(?:{_RET_EN})\b",
        rf"\b(?:are|is) (?:now |currently )?being (?:{_MOVE_EN})\b.{{0,60}}"
        r"\b(?:border|frontier|crossing|bridge|north korea)",
        rf"\bin the process of being (?:{_RET_EN})\b",
        # A return expected within days or at any moment, in any voice.
        r"\b(?:repatriat\w*|deport\w*|sen(?:t|d|ds|ding) back|return\w*|hand\w* over)\b.{0,60}?"
        r"\b(?:within (?:days|hours|the week)|any day now|at any (?:moment|time))\b",
        # Active voice, still to come: "China is preparing to repatriate 15 women". Not the noun "a plan
        # to deport": that is a policy proposal, not people about to be moved.
        r"\b(?:preparing|prepares|planning|plans|poised|set|about|moving|ready|readying) to (?:forcibly )?"
        r"(?:repatriate|deport|send\b.{0,30}?\bback|return|hand over)\b",
        # A call to stop the return of a counted group is about people not yet returned.
        r"\b(?:stop|halt|suspend|prevent|block)\b.{0,20}\b(?:repatriation|deportation|return)s? of "
        r"(?:at least |about |around |some |more than |nearly )?(?:\d|dozens|scores)",
        r"\bnot to (?:forcibly )?(?:repatriate|deport|send back|return)\b.{0,20}"
        r"(?:\d|dozens|scores|those (?:held|detained))",
    ),
    returned=_alt(
        # Passive past or present perfect: "were sent back", "have been deported". "had been" is left
        # out on purpose: the pluperfect is how background paragraphs recount earlier returns.
        rf"\b(?:were|was|have been|has been|have just been|has just been)"
        rf" (?:forcibly |reportedly |allegedly |all |secretly )*(?:{_RET_EN})\b",
        # Active voice with China as the subject, including headline present tense ("China deports").
        r"\b(?:china|beijing|chinese (?:authorities|police|officials|security forces))"
        r" (?:has |have )?(?:forcibly |reportedly |secretly )?"
        r"(?:repatriat(?:ed|es)|deport(?:ed|s)|return(?:ed|s)|expel(?:led|s))\b",
        # Active voice with a counted group as object, whoever the subject ("guards handed over 45 North
        # Koreans"). The count is required: "deported defectors" is an adjective, not an event.
        r"\b(?:repatriated|deported|expelled|returned|handed over)\s+"
        r"(?:(?:about|around|some|at least|more than|over|nearly|another|a further)\s+)*"
        rf"(?:{_GROUP_EN})",
        # "sent 80 North Koreans back": the object sits inside the phrasal verb.
        r"\bsen(?:t|ds)\s+(?:(?:about|around|some|at least|more than|over|nearly|another)\s+)*"
        rf"(?:{_GROUP_EN})\s+back\b",
        # A transfer to the border; its time decides whether it is news.
        rf"\b(?:{_MOVE_EN})\b.{{0,60}}\b(?:to|towards?|across|over) (?:[\w-]+ ){{0,2}}"
        r"(?:border|frontier|crossings?|bridges?)\b",
    ),
    at_risk=_alt(
        r"\b(?:fac(?:e|es|ing)|at (?:high |grave |serious )?risk of|in danger of|threatened with|fears? of)"
        r" (?:being )?(?:forced |forcible |possible )?"
        r"(?:repatriat\w*|deport\w*|sent back|return(?:ed)?\b|refoulement)",
        rf"\b(?:could|may|might|will|would) (?:soon )?be (?:forcibly )?(?:{_RET_EN})\b",
        rf"\brisk (?:being )?(?:forcibly )?(?:{_RET_EN})\b",
    ),
    detained=_alt(
        # Held now. Not the simple present ("are detained"): English uses it for what happens in general.
        r"\b(?:are|is) being (?:detained|held|jailed|imprisoned)\b",
        r"\b(?:remain|remains|still|currently|now) (?:being )?"
        r"(?:detained|held|jailed|imprisoned|in (?:detention|custody|jail|prison))\b",
        r"\b(?:have|has) (?:recently )?been (?:detained|arrested|caught|rounded up|seized)\b",
        r"\b(?:detained|arrested|caught|rounded up|seized) (?:last|this) (?:week|month|night|weekend)\b",
    ),
    count=_alt(
        r"\b\d[\d,]*\s+(?:north koreans?|people|defectors?|escapees?|refugees?|women|men|children|persons"
        r"|individuals|detainees|asylum[- ]seekers|family members)\b",
        r"\b(?:dozens|scores) of\b",
    ),
    recent=_alt(
        r"\blast (?:night|week|weekend)\b",
        r"\bthis (?:week|morning|afternoon|evening|weekend)\b",
        r"\b(?:yesterday|today|tonight|overnight)\b",
        r"\b(?:hours|(?:a few|two|three|four|several) days) ago\b",
        r"\bin recent days\b",
        # Weekday names: news style (AP) names the weekday for events of the past seven days and the
        # calendar date for older ones, so a weekday next to a return dates it within the week.
        rf"\b(?:{_WEEKDAY_EN})\b",
    ),
    retro=_alt(
        r"\b(?:a|an|one|two|three|four|five|six|ten|\d+|several|many) (?:years?|decades?|months?)"
        r" (?:ago|after|later|since|on)\b",
        r"\banniversary\b",
        r"\b(?:in|during|by|until) (?:19|20)\d\d\b",
        r"\b(?:19|20)\d0s\b",
        r"\bover the (?:years|decades|(?:past|last) (?:\w+ )?(?:years|decades|months))\b",
        r"\b(?:for (?:years|decades)|historically|in the past)\b",
        r"\bsince (?:they|their|then|being)\b",
        r"\b(?:last (?:month|year)|earlier this (?:month|year))\b",
        # A month name or a calendar date: by the same news style, older than a week.
        rf"\bin (?:{_MONTH_EN})\b",
        rf"\b(?:{_MONTH_EN})\.? \d{{1,2}}\b",
        rf"\b\d{{1,2}} (?:{_MONTH_EN})\b",
    ),
    hypothetical=_alt(r"\b(?:if|once|whenever|unless)\b"),
    # Headlines drop the auxiliary: "Dozens of defectors repatriated by China" means "were repatriated".
    # The same words followed by a verb ("600 North Koreans deported from China have vanished") are a
    # noun phrase about people returned earlier, so any later finite verb cancels the match.
    headline=_alt(
        r"(?:\b(?:\d[\d,]*|dozens of|scores of|hundreds of)\s+)?(?:[\w-]+\s+){0,3}"
        r"(?:north koreans?|defectors?|escapees?|refugees?|people|women)\s+(?:forcibly\s+|reportedly\s+)?"
        rf"(?:repatriated|deported|sent back|returned|{_HANDED_OVER_EN})\b"
        r"(?!.*\b(?:have|has|are|is|were|was|face|faces|remain|remains|still|vanish\w*|missing)\b)"
    ),
    update=_alt(
        r"\breports? (?:finds?|found|says?|said|shows?|showed|documents?|documented|details?)\b",
        r"\b(?:new|annual|latest|a|the|its|their) report\b",
        r"\b(?:years?|months?) (?:after|on|since|later)\b",
        r"\banniversary\b",
        r"\burg(?:e|es|ed|ing)\b",
        r"\bcall(?:s|ed|ing)? (?:on|for)\b",
        r"\bappeal(?:s|ed)? to\b",
        r"\b(?:condemn|denounc)\w*",
        r"\b(?:statement|hearing|testimony|testif\w*|resolution|analysis|opinion|commentary|op-ed"
        r"|editorial|interview|podcast|webinar|conference|forum|symposium|documentary|vigil|rally"
        r"|petition|explainer|review|what happens)\b",
    ),
)

_RET_KO = r"북송|강제\s*송환|송환|추방|강제\s*북송"

_KO = _Cues(
    imminent=_alt(
        # "북송 위기 / 임박 / 직전": the standard headline words for people about to be sent back.
        r"북송\s*(?:위기|임박|직전|대기|위험에\s*처)",
        rf"(?:{_RET_KO})(?:될|당할)\s*(?:위기|처지|예정|상황)",
        rf"(?:{_RET_KO})\s*(?:예정|절차에|을\s*앞두|를\s*앞두)",
        rf"곧\s*(?:{_RET_KO})",
        # Progressive: "북송되고 있다", "송환 중".
        # "중" must end the word: "북송 중단" (a halt to returns) is not a return under way.
        rf"(?:{_RET_KO})(?:되고\s*있|하고\s*있|\s*중(?:이|인|에|(?![가-힣])))",
        # A call to stop the return of a counted group ("60명 북송 저지").
        rf"\d+\s*명.{{0,20}}(?:{_RET_KO})\s*(?:저지|중단|막)",
    ),
    returned=_alt(
        # "북송됐다", "강제송환되었다", active "북송했다 / 북송시켰다".
        rf"(?:{_RET_KO})(?:됐|되었|당했|시켰|했다|했으며|했고)",
        # "북송된 것으로 확인됐다 / 북송된 사실이": a return confirmed after the fact.
        rf"(?:{_RET_KO})된\s*(?:것으로|사실)",
        # Escorted across the border ("국경으로 압송됐다").
        r"(?:국경|북한|북측|세관|다리)\S*\s*(?:으로\s*|로\s*)?(?:이송|호송|압송)(?:됐|되었|했)",
    ),
    at_risk=_alt(
        rf"(?:{_RET_KO})\s*(?:우려|위험|가능성)",
        rf"(?:{_RET_KO})될\s*(?:수|가능성|우려)",
        rf"(?:{_RET_KO})\s*될까",
    ),
    detained=_alt(r"(?:체포|구금|억류|수감|구류|검거|붙잡)(?:돼|되어|된|됐|되었|중|\s*중)"),
    count=_alt(r"\d+\s*명", r"수십\s*명"),
    recent=_alt(
        r"어젯?밤|어제|오늘|지난밤|이날|이번\s*주|새벽|최근\s*며칠|며칠\s*전|방금",
        # "지난 9일" (a day without a month) is how Korean news dates an event of this month.
        r"지난\s*\d{1,2}\s*일",
        r"[월화수목금토일]요일",
    ),
    retro=_alt(
        r"지난해|작년|재작년|지난달|그동안|수년간|수십\s*년|매년|해마다|과거",
        r"\d+\s*년\s*(?:전|만|이\s*지나|째)",
        r"\d+\s*주년",
        r"(?:19|20)\d\d\s*년",
        # A calendar date with its month: Korean news writes "지난 9일" for this month's events.
        r"\d{1,2}\s*월\s*\d{1,2}\s*일",
    ),
    hypothetical=_alt(r"(?:되면|될\s*경우|경우|한다면|된다면)"),
    # Korean headlines end on a noun: "탈북민 600명 강제북송" reports a return.
    headline=_alt(rf"\d+\s*명\s*(?:을|를)?\s*(?:{_RET_KO})\s*[….!?\"'”’]*$"),
    update=_alt(
        r"보고서|주년|촉구|성명|청문회|토론회|세미나|포럼|심포지엄|기자회견|규탄|결의안|분석|칼럼|사설"
        r"|기고|인터뷰|회고|추모|발간",
        r"\d+\s*년\s*(?:만|이\s*지나|째|전)",
        # Anniversary headlines: "강제북송 1년".
        rf"(?:{_RET_KO})\s*\d+\s*년",
    ),
)

# "移交" alone is any handover (to the police, of a document); only one to the North is a return.
_RET_ZH = r"遣返|遣送|送回|移交(?:给|給)?\s*(?:朝鲜|朝鮮|北韩|北韓|朝方)"
_FORCED_ZH = r"(?:强制|強制|强行|強行)?"

_ZH = _Cues(
    imminent=_alt(
        rf"即[将將]\s*被?\s*{_FORCED_ZH}\s*(?:{_RET_ZH})",
        r"(?:遣返|遣送)在即",
        r"(?:随时|隨時|隨即).{0,8}(?:遣返|遣送)",
        rf"正在\s*被?\s*{_FORCED_ZH}\s*(?:{_RET_ZH}|押送|押解)",
        r"(?:等待|等候|待)\s*(?:遣返|遣送)",
        rf"(?:准备|準備|计划|計劃|打算)\s*{_FORCED_ZH}\s*(?:遣返|遣送)",
        # A call not to return, or to stop returning, a counted group.
        r"(?:停止|阻止|暂停|暫停|不要|勿|不得).{0,6}(?:遣返|遣送).{0,10}(?:\d+|数十|數十|几十|幾十)\s*(?:名|人)",
    ),
    returned=_alt(
        rf"已(?:经|經)?\s*被?\s*{_FORCED_ZH}\s*(?:{_RET_ZH})",
        # "遭/被遣返", but not "未被 / 没被 / 不被" (not returned).
        rf"(?<![未没沒不])(?:遭|被)\s*(?:中国|中國|中方)?\s*{_FORCED_ZH}\s*(?:遣返|遣送)",
        # China as the subject; not "中国遣返政策" (the policy, a noun phrase).
        rf"(?:中国|中國|中方|北京)\s*(?:已|已经|已經)?\s*{_FORCED_ZH}\s*(?:遣返|遣送)"
        r"(?!\s*(?:政策|问题|問題|行为|行為|做法|制度))",
        # The 把/将 construction with people as object: "将40余名脱北者移交朝方". 将 directly before a
        # verb or 被 means "will" instead, so people must stand between.
        r"[将將把].{0,12}(?:脱北者|脫北者|朝鲜人|朝鮮人|北韩人|北韓人|难民|難民|名|人).{0,6}"
        rf"(?:{_RET_ZH}|押送|押解)",
        r"(?:押送|押解|移送).{0,12}(?:边境|邊境|口岸|边界|邊界|图们|圖們|丹东|丹東|朝鲜|朝鮮)",
    ),
    at_risk=_alt(
        rf"(?:面临|面臨).{{0,6}}{_FORCED_ZH}\s*(?:遣返|遣送)",
        rf"(?:可能|恐|恐怕)\s*(?:被|遭)\s*{_FORCED_ZH}\s*(?:遣返|遣送)",
        r"(?:遣返|遣送)\s*(?:风险|風險|危险|危險)",
    ),
    detained=_alt(r"被捕|被抓|拘留|关押|關押|羁押|羈押|扣押|拘押|被拘"),
    count=_alt(r"\d+\s*(?:名|人|位)", r"(?:数十|數十|几十|幾十)\s*(?:名|人)"),
    recent=_alt(
        r"昨晚|昨夜|昨天|昨日|今天|今日|今晨|本周|本週|这周|這週|上周|上週|凌晨|日前|近日|连日|連日"
        r"|当晚|當晚|当天|當天",
        r"(?:周|週|星期|礼拜|禮拜)[一二三四五六日天]",
    ),
    retro=_alt(
        # Not "以来 / 多年来": breaking news says "the largest in years" with them.
        r"去年|前年|年前|历年|歷年|周年|週年|长期|長期|上个?月|上個?月|过去(?:几|幾|数|數)?年|過去(?:幾|數)?年",
        r"(?:19|20)\d\d\s*年",
    ),
    hypothetical=_alt(r"一旦|如果|若(?!干)|如被|假如|倘若"),  # not 若干, "several"
    # Chinese headlines keep the verb ("中国遣返500名脱北者"), which `returned` already reads.
    headline=_NEVER,
    update=_alt(
        r"报告|報告|专家|專家|周年|週年|一年(?:后|後|前)|敦促|呼吁|呼籲|声明|聲明|听证|聽證|分析|评论|評論|社论|社論"
        r"|专访|專訪|采访|採訪|研讨|研討|论坛|論壇|记者会|記者會|发布会|發布會|决议|決議|谴责|譴責|抗议|抗議",
    ),
)

_CUES_BY_LANGUAGE: dict[str, tuple[_Cues, ...]] = {"en": (_EN,), "ko": (_KO,), "zh": (_ZH,)}
_ALL_CUES = (_EN, _KO, _ZH)

# Headline plus the first two sentences: enough for a lead, short enough to skip background paragraphs.
_LEAD_SENTENCES = 3

# Sentence ends: Latin punctuation followed by a space and something other than a lowercase letter or a
# digit (keeps "U.S. and" and "Oct. 9" whole), CJK full stops, and line breaks (headline, paragraphs).
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[^a-z0-9])|(?<=[。！？])|\n+")


def _sentences(text: str) -> list[str]:
    """Split into non-empty sentences, each NFKC-normalised and casefolded."""
    return [s for s in (_normalize(p).strip() for p in _SENTENCE_BREAK.split(text)) if s]


def _normalize(text: str) -> str:
    """NFKC (full-width Latin to ASCII) and casefold, so patterns are written once in lower case."""
    return unicodedata.normalize("NFKC", text).casefold()


def _strength(sentence: str, cues: _Cues, *, headline: bool = False) -> tuple[bool, bool]:
    """(strong, weak) urgency evidence in one sentence; `headline` also reads headline-style returns."""
    if cues.imminent.search(sentence):
        return True, False
    retro = cues.retro.search(sentence) is not None
    strong = weak = False
    returned = cues.returned.search(sentence) or (headline and cues.headline.search(sentence))
    if not retro and returned and not cues.hypothetical.search(sentence):
        if cues.recent.search(sentence):
            strong = True
        else:
            weak = True
    if not retro and cues.at_risk.search(sentence):
        # Background lines say "North Koreans caught in China face repatriation"; a held, counted group
        # facing return is the event itself.
        if cues.detained.search(sentence) or cues.count.search(sentence):
            strong = True
        else:
            weak = True
    return strong, weak


def classify_urgency(text: str, facts: Facts, *, language: str | None = None) -> Urgency:
    """URGENT when people are about to be returned, a return is under way or has just happened; else UPDATE.

    `language` ('en', 'ko', 'zh', or a tag like 'zh-TW') picks the cue set; None or another language
    uses all three. `facts` is accepted so every step takes the same story shape, but the decision reads
    only the text: facts carry event dates and no publication time to measure recency against.
    """
    del facts
    primary = (language or "").split("-")[0].split("_")[0].lower()
    cue_sets = _CUES_BY_LANGUAGE.get(primary, _ALL_CUES)
    sentences = _sentences(text)
    lead = sentences[:_LEAD_SENTENCES]
    weak_in_lead = update_in_lead = False
    for index, sentence in enumerate(sentences):
        for cues in cue_sets:
            strong, weak = _strength(sentence, cues, headline=index == 0)
            if strong:
                return Urgency.URGENT
            if index < _LEAD_SENTENCES:
                weak_in_lead = weak_in_lead or weak
    for sentence in lead:
        update_in_lead = update_in_lead or any(c.update.search(sentence) for c in cue_sets)
    if weak_in_lead and not update_in_lead:
        return Urgency.URGENT
    return Urgency.UPDATE
