"""Urgency, placeholder filling and action choice, called directly with sentences written for these tests."""

from __future__ import annotations

import re

import pytest

from bot.domain import Action, ActionRule, Facts, Urgency
from bot.ingest.match import is_unspaced, normalize, term_pattern
from bot.stories.actions import UNKNOWN_DATE, fill, suggest_actions, unknown_placeholders
from bot.stories.urgency import classify_urgency

URGENT = Urgency.URGENT
UPDATE = Urgency.UPDATE
NO_FACTS = Facts()

# --- urgency ---------------------------------------------------------------------------------------

ENGLISH = [
    # People held and about to be sent back, or on their way.
    ("Chinese police detained 62 North Koreans in Yanji; they face forced repatriation.", URGENT),
    ("Dozens of women held in a Dandong jail are about to be repatriated, activists warn.", URGENT),
    ("A family of five caught near Hunchun faces imminent deportation to North Korea.", URGENT),
    ("Relatives fear China will deport a defector held in Dalian within days.", URGENT),
    ("Nine North Koreans are being handed over at the Tumen bridge, a witness says.", URGENT),
    ("Two busloads of detainees are being driven towards the border crossing at Namyang.", URGENT),
    ("Three defectors held in Shenyang are still detained and face being sent back.", URGENT),
    # A return that has just happened.
    ("About 40 escapees were sent back across the Yalu last night.", URGENT),
    ("Detainees from Tumen were bused to the border on Tuesday, witnesses said.", URGENT),
    ("China deports 200 North Koreans", URGENT),
    ("Dozens of North Korean defectors repatriated by China", URGENT),
    ("North Korean defectors repatriated overnight from Dandong", URGENT),
    ("Chinese border guards handed over 45 North Koreans to the North at Sinuiju today.", URGENT),
    ("Repatriation of 200 North Koreans under way at Namyang crossing, sources say", URGENT),
    (
        "China is preparing to repatriate a group of 15 North Korean women held in Changbai, a pastor says.",
        URGENT,
    ),
    ("Beijing sent 80 North Koreans back across the border on Sunday, Seoul officials said.", URGENT),
    ("600 North Koreans deported from China have vanished, rights group says", UPDATE),
    # Reports, calls and statements that carry fresh news of a return are still urgent.
    ("Report finds 600 were repatriated on Monday from five detention centres.", URGENT),
    ("Rights group urges China to halt the repatriation of 60 North Koreans held in Shenyang.", URGENT),
    ("Seoul urged Beijing not to send back the 25 escapees it arrested in Jilin.", URGENT),
    ("Statement on the border situation\nTwenty North Koreans were sent back yesterday.", URGENT),
    # A held, counted group facing return is the event itself, even inside a call or a statement.
    ("Rights group urges China to free 62 North Koreans held in Yanji who face forced repatriation.", URGENT),
    ("Statement: three defectors remain detained in Shenyang and face being sent back.", URGENT),
    # Reports, anniversaries, calls, hearings, analysis.
    ("A year after China sent back 600 North Koreans, their families still have no news.", UPDATE),
    ("Report finds women repatriated in October 2023 were sent to labour camps.", UPDATE),
    ("Human Rights Watch urged China to stop forcibly returning North Koreans.", UPDATE),
    ("Analysis: why Beijing keeps deporting North Korean escapees", UPDATE),
    ("What happens to North Koreans sent back from China", UPDATE),
    ("Lawmakers held a hearing on the forced repatriation of North Koreans.", UPDATE),
    ("North Koreans caught in China face forced repatriation and torture, the report says.", UPDATE),
    # A return with no time, in a report: history unless something dates it.
    ("The group's annual report says hundreds of North Koreans were repatriated from Jilin.", UPDATE),
    # A weekday that dates a vigil, not a return.
    ("On Monday, the anniversary of the mass repatriation, activists held a vigil in Seoul.", UPDATE),
    # A recent statement about an old return: the calendar date dates the return.
    ("The ministry said on Thursday that about 500 people were repatriated on Oct. 9.", UPDATE),
    ("In 2019, nine North Koreans were deported to the North from Laos.", UPDATE),
    ("Those who had been deported over the years described beatings in holding centres.", UPDATE),
    ("Officials said the group was not repatriated last night.", UPDATE),
    ("If they were sent back today, they would face prison.", UPDATE),
    # The lead is the headline and the next two sentences, for both return and genre.
    ("Border news\nChina deported 200 North Koreans, a rights group said.", URGENT),
    ("China deports 200 North Koreans\nAn analysis of satellite images shows buses at the crossing.", UPDATE),
    # Background lines deep in an article do not make it urgent.
    (
        "Seminar reviews China's refugee policy\nSpeakers met in Seoul.\nThey compared figures.\n"
        "North Koreans who are caught could be sent back.",
        UPDATE,
    ),
    ("Unification minister visits a resettlement centre", UPDATE),
]

KOREAN = [
    ("선양에서 체포된 탈북민 50명이 강제북송 위기에 놓였다.", URGENT),
    ("탈북민 20여 명이 어젯밤 북송됐다.", URGENT),
    ("중국 공안이 탈북민들을 국경으로 압송했다.", URGENT),
    ("억류된 탈북민 30명 북송 저지 촉구 기자회견", URGENT),
    ("구금된 탈북 여성 10명이 곧 북송될 예정이다.", URGENT),
    ("탈북민들이 지금 단둥에서 북송되고 있다는 증언이 나왔다.", URGENT),
    ("탈북민 600명 북송됐다", URGENT),
    ("중국, 탈북민 600명 강제북송", URGENT),
    ("탈북민 40여 명이 지난 3일 북송된 것으로 확인됐다.", URGENT),
    ("탈북민 600명 강제북송 후 행방불명", UPDATE),
    ("인권단체는 구금된 탈북민 30명이 북송될 우려가 있다는 성명을 냈다.", URGENT),
    ("대규모 강제북송 1년, 행방 여전히 묘연", UPDATE),
    ("보고서에 따르면 탈북민 수백 명이 북송됐다.", UPDATE),
    ("인권단체가 지난해 북송된 탈북민 실태 보고서를 발간했다.", UPDATE),
    # "북송 중단" asks for a halt; it is not a return under way.
    ("정부는 중국에 강제북송 중단을 촉구하는 성명을 냈다.", UPDATE),
    ("2023년 10월 9일 600명이 북송됐다는 보고서가 나왔다.", UPDATE),
    ("탈북민은 북송되면 고문을 당한다는 분석이 나왔다.", UPDATE),
]

CHINESE = [
    ("约60名脱北者在沈阳被捕，即将被遣返朝鲜。", URGENT),
    ("数十名脱北者昨晚已被遣返。", URGENT),
    ("若干名脱北者昨晚已被遣返。", URGENT),
    ("中国强制遣返500名脱北者", URGENT),
    ("被拘押的20名脱北者面临强制遣返", URGENT),
    ("北韓脫北者即將被強制遣返", URGENT),
    ("人权组织敦促中国停止遣返这30名脱北者", URGENT),
    ("消息人士称，中方昨日将40余名脱北者移交朝方。", URGENT),
    ("中国遣返政策违反国际法", UPDATE),
    ("脱北者将被遣返的消息令人担忧，专家说", UPDATE),
    ("人权组织发表声明：被拘押的20名脱北者面临强制遣返", URGENT),
    ("大规模遣返一周年：脱北者下落不明", UPDATE),
    ("报告称，数百名脱北者已被遣返。", UPDATE),
    ("报告：去年被遣返的脱北者遭受酷刑", UPDATE),
    ("专家分析称，脱北者一旦被遣返将面临酷刑", UPDATE),
    ("韩国外交部就遣返问题发表声明", UPDATE),
    ("这批脱北者未被遣返", UPDATE),
]


@pytest.mark.parametrize(("text", "expected"), ENGLISH)
def test_urgency_english(text: str, expected: Urgency) -> None:
    assert classify_urgency(text, NO_FACTS, language="en") is expected


@pytest.mark.parametrize(("text", "expected"), KOREAN)
def test_urgency_korean(text: str, expected: Urgency) -> None:
    assert classify_urgency(text, NO_FACTS, language="ko") is expected


@pytest.mark.parametrize(("text", "expected"), CHINESE)
def test_urgency_chinese(text: str, expected: Urgency) -> None:
    assert classify_urgency(text, NO_FACTS, language="zh") is expected


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        # No language: every cue set is read.
        ("탈북민 20여 명이 어젯밤 북송됐다.", None, URGENT),
        ("数十名脱北者昨晚已被遣返。", None, URGENT),
        ("About 40 escapees were sent back across the Yalu last night.", None, URGENT),
        # Region tags and a language without cues of its own.
        ("탈북민 20여 명이 어젯밤 북송됐다.", "ko-KR", URGENT),
        ("北韓脫北者即將被強制遣返", "zh-TW", URGENT),
        ("About 40 escapees were sent back across the Yalu last night.", "ja", URGENT),
        # A named language reads only its own cues.
        ("탈북민 20여 명이 어젯밤 북송됐다.", "en", UPDATE),
    ],
)
def test_urgency_language_selection(text: str, language: str | None, expected: Urgency) -> None:
    assert classify_urgency(text, NO_FACTS, language=language) is expected


def test_urgency_ignores_facts() -> None:
    """Facts carry no publication time, so a big count does not make an old story urgent."""
    text = "A year after China sent back 600 North Koreans, their families still have no news."
    facts = Facts(count_low=600, count_high=600, dates=("2023-10-09",))
    assert classify_urgency(text, facts, language="en") is UPDATE


# --- fill --------------------------------------------------------------------------------------------

TEMPLATE = "{count} North Koreans were returned {date} near {places}, say {reporters}."

FULL = Facts(
    count_low=500,
    count_high=600,
    places=("Tumen", "Dandong"),
    dates=("2023-10-09",),
    reporters=("TJWG", "Human Rights Watch"),
    outlets=4,
)


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (
            FULL,
            "500-600 North Koreans were returned on 9 October 2023 near Tumen and Dandong, "
            "say TJWG and Human Rights Watch.",
        ),
        (
            NO_FACTS,
            "An unknown number of North Koreans were returned recently near an unknown place, say sources.",
        ),
        (
            Facts(count_low=600, count_high=600, places=("Onsong",), dates=("2023-10",), reporters=("HRW",)),
            "600 North Koreans were returned in October 2023 near Onsong, say HRW.",
        ),
        (
            Facts(places=("Tumen", "Onsong", "Dandong"), reporters=("TJWG", "HRW", "Amnesty International")),
            "An unknown number of North Koreans were returned recently near Tumen, Onsong and Dandong, "
            "say TJWG, HRW and Amnesty International.",
        ),
        (
            # Long lists are cut; repeats (in any case) are dropped.
            Facts(
                places=("Tumen", "tumen", "Onsong", "Dandong", "Sinuiju", "Hyesan"),
                reporters=("TJWG", "TJWG", " "),
            ),
            "An unknown number of North Koreans were returned recently near Tumen, Onsong, Dandong "
            "and others, say TJWG.",
        ),
    ],
)
def test_fill(facts: Facts, expected: str) -> None:
    assert fill(TEMPLATE, facts) == expected


@pytest.mark.parametrize(
    ("dates", "phrase"),
    [
        (("2023-10-09",), "on 9 October 2023"),
        (("2023-10",), "in October 2023"),
        # One date, the one the facts list first (most sources give it): never a range no source states.
        (("2023-10-12", "2023-10-09"), "on 12 October 2023"),
        (("2023-10-09", "2023-10-09"), "on 9 October 2023"),
        (("2023-08-20", "2023-10-09"), "on 20 August 2023"),
        # A month and a day inside it: the day says more.
        (("2023-10", "2023-10-09"), "on 9 October 2023"),
        (("2023-12", "2024-01-02"), "in December 2023"),
        (("sometime", "2023-10"), "in October 2023"),
        (("sometime", "2023-13-01", ""), UNKNOWN_DATE),
        ((), UNKNOWN_DATE),
    ],
)
def test_fill_date(dates: tuple[str, ...], phrase: str) -> None:
    assert fill("Sent back {date}.", Facts(dates=dates)) == f"Sent back {phrase}."


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        # Unknown facts are said to be unknown, never guessed ("the border", "rights groups").
        ("{reporters} say so.", "Sources say so."),
        ("Known facts are few. {places} is closed.\n{date}, more were held.",
         "Known facts are few. An unknown place is closed.\nRecently, more were held."),
        ("Ask why {reporters} were ignored", "Ask why sources were ignored"),
        ("TJWG: {count} people", "TJWG: an unknown number of people"),
        ("Nothing to fill.", "Nothing to fill."),
        ("Keep {victims} and {{braces}} as written, fill {count}.",
         "Keep {victims} and {{braces}} as written, fill an unknown number of."),
    ],
)  # fmt: skip
def test_fill_capitals_and_unknown_names(template: str, expected: str) -> None:
    assert fill(template, NO_FACTS) == expected


@pytest.mark.parametrize(
    ("template", "unknown"),
    [
        ("{count} {places} {date} {reporters}", ()),
        ("{victims} near {place} and {victims}", ("victims", "place")),
    ],
)
def test_unknown_placeholders(template: str, unknown: tuple[str, ...]) -> None:
    assert unknown_placeholders(template) == unknown


# --- suggest_actions ---------------------------------------------------------------------------------

TOPIC = "nk-repatriation"

GOVERNMENT_NOW = ActionRule(
    id="government-now",
    title="Call your government today",
    text="{count} North Koreans near {places} face return. Call your foreign ministry today.",
    targets=("your foreign ministry",),
    topics=(TOPIC,),
    urgency=(URGENT,),
    priority=40,
)
RAISE_LATER = ActionRule(
    id="raise-later",
    title="Ask your government to raise it",
    text="{reporters} report returns {date}. Write to your MP.",
    topics=(TOPIC,),
    urgency=(UPDATE,),
    priority=30,
)
UN_REVIEW = ActionRule(
    id="un-review",
    title="Raise it at the UN",
    text="Ask for a recommendation to China.",
    topics=(TOPIC,),
    terms=("Universal Periodic Review", "UPR", "인권이사회", "人权理事会", "repatriat*"),
    priority=25,
)
AMPLIFY = ActionRule(
    id="amplify",
    title="Share the findings",
    text="{reporters} documented the returns.",
    topics=(TOPIC,),
    entities=("TJWG", "Human Rights Watch"),
    priority=20,
)
EMBASSY = ActionRule(
    id="embassy",
    title="Write to China's embassy",
    text="Cite non-refoulement about the return of {count} North Koreans.",
    url="https://example.org/embassies",
    targets=("China's embassy",),
    topics=(TOPIC,),
    priority=20,
)
RAPPORTEUR = ActionRule(
    id="rapporteur",
    title="Inform the Special Rapporteur",
    text="Send first-hand information.",
    url="https://www.ohchr.org/en/special-procedures/sr-dprk",
    topics=(TOPIC,),
    priority=15,
)
UNHCR = ActionRule(
    id="unhcr",
    title="Back UNHCR",
    text="{count} people were sent back {date}.",
    topics=("refugee-returns",),
    priority=10,
)
RULES = (GOVERNMENT_NOW, RAISE_LATER, UN_REVIEW, AMPLIFY, EMBASSY, RAPPORTEUR, UNHCR)


def ids(actions: tuple[Action, ...]) -> list[str]:
    return [a.id for a in actions]


def suggest(
    *,
    topics: tuple[str, ...] = (TOPIC,),
    text: str = "China sent people back.",
    entities: frozenset[str] = frozenset(),
    urgency: Urgency = UPDATE,
    facts: Facts = NO_FACTS,
    rules: tuple[ActionRule, ...] = RULES,
    limit: int = 10,
) -> tuple[Action, ...]:
    return suggest_actions(
        rules, topics=topics, text=text, entities=entities, facts=facts, urgency=urgency, limit=limit
    )


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        # Urgency decides between the two government rules.
        ({"urgency": URGENT}, ["government-now", "embassy", "rapporteur"]),
        ({"urgency": UPDATE}, ["raise-later", "embassy", "rapporteur"]),
        # Topics: none of ours, another one, or several.
        ({"topics": ()}, []),
        ({"topics": ("other",)}, []),
        ({"topics": ("refugee-returns",)}, ["unhcr"]),
        ({"topics": ("refugee-returns", TOPIC)}, ["raise-later", "embassy", "rapporteur", "unhcr"]),
        # Terms: a Latin word on word boundaries, a wildcard, Korean and Chinese substrings.
        ({"text": "China's UPR in Geneva"}, ["raise-later", "un-review", "embassy", "rapporteur"]),
        ({"text": "an upright statement"}, ["raise-later", "embassy", "rapporteur"]),
        ({"text": "the universal   periodic\nreview"}, ["raise-later", "un-review", "embassy", "rapporteur"]),
        ({"text": "Forced REPATRIATIONS continue"}, ["raise-later", "un-review", "embassy", "rapporteur"]),
        ({"text": "유엔인권이사회에서 논의"}, ["raise-later", "un-review", "embassy", "rapporteur"]),
        ({"text": "联合国人权理事会会议"}, ["raise-later", "un-review", "embassy", "rapporteur"]),
        # Entities: canonical names, compared without case; other groups do not count.
        ({"entities": frozenset({"TJWG"})}, ["raise-later", "amplify", "embassy", "rapporteur"]),
        (
            {"entities": frozenset({"human rights WATCH"})},
            ["raise-later", "amplify", "embassy", "rapporteur"],
        ),
        ({"entities": frozenset({"Tumen", "UNHCR"})}, ["raise-later", "embassy", "rapporteur"]),
    ],
)
def test_each_condition_can_exclude(context: dict[str, object], expected: list[str]) -> None:
    assert ids(suggest(**context)) == expected  # type: ignore[arg-type]


def test_all_conditions_must_hold() -> None:
    strict = ActionRule(
        id="strict",
        title="t",
        text="x",
        topics=(TOPIC,),
        terms=("Shenyang",),
        entities=("TJWG",),
        urgency=(URGENT,),
    )
    ok = {"text": "held in Shenyang", "entities": frozenset({"TJWG"}), "urgency": URGENT}
    assert ids(suggest(rules=(strict,), **ok)) == ["strict"]  # type: ignore[arg-type]
    for key, failing in [
        ("topics", ("refugee-returns",)),
        ("text", "held in Dandong"),
        ("entities", frozenset({"HRW"})),
        ("urgency", UPDATE),
    ]:
        assert suggest(rules=(strict,), **{**ok, key: failing}) == ()  # type: ignore[arg-type]


def test_term_next_to_korean_particle() -> None:
    rule = ActionRule(id="r", title="t", text="x", terms=("TJWG",))
    assert ids(suggest(rules=(rule,), text="TJWG는 보고서를 냈다")) == ["r"]
    assert suggest(rules=(rule,), text="TJWGX report") == ()


@pytest.mark.parametrize(
    ("term", "text", "found"),
    [
        ("deport", "They were deported.", False),  # a whole word, as in topics
        ("deport*", "The deportation began.", True),
        ("north korea*", "North-Korean escapees", True),  # a hyphen between words, as in topics
        ("n. korea*", "N.Korean escapees", True),
        ("north korea's", "North Korea\u2019s border", True),  # a curly apostrophe, as in topics
        ("human rights council", "the Human\nRights Council", True),
        ("UPR", "UPR에서 권고가 나왔다", True),  # a Korean particle after a Latin name
        ("UPR", "UPRISING", False),
        ("인권이사회", "UN인권이사회에서", True),
        ("UN 인권이사회", "UN인권이사회에서", True),  # a space in a CJK term is optional
        ("강제 북송", "강제북송 중단", True),
    ],
)
def test_terms_read_as_topic_terms_do(term: str, text: str, found: bool) -> None:
    rule = ActionRule(id="r", title="t", text="x", terms=(term,))
    assert bool(suggest(rules=(rule,), text=text)) == found
    if not is_unspaced(text):
        # Without Korean or Chinese next to a name, the topic matcher's own pattern gives the same answer.
        assert (re.search(term_pattern(term), normalize(text)) is not None) == found


def test_order_priority_then_specificity_then_config_order() -> None:
    plain_a = ActionRule(id="plain-a", title="t", text="x", priority=5)
    specific = ActionRule(id="specific", title="t", text="x", topics=(TOPIC,), urgency=(UPDATE,), priority=5)
    plain_b = ActionRule(id="plain-b", title="t", text="x", priority=5)
    one_condition = ActionRule(id="one-condition", title="t", text="x", topics=(TOPIC,), priority=5)
    top = ActionRule(id="top", title="t", text="x", priority=9)
    low = ActionRule(id="low", title="t", text="x", topics=(TOPIC,), urgency=(UPDATE,), priority=-1)
    rules = (low, plain_a, specific, plain_b, one_condition, top)
    assert ids(suggest(rules=rules)) == ["top", "specific", "one-condition", "plain-a", "plain-b", "low"]


@pytest.mark.parametrize(("limit", "expected"), [(0, []), (-1, []), (1, ["amplify"]), (2, ["amplify", "embassy"])])
def test_limit(limit: int, expected: list[str]) -> None:
    actions = suggest(rules=(EMBASSY, AMPLIFY, RAPPORTEUR), entities=frozenset({"TJWG"}), limit=limit)
    assert ids(actions) == expected


def test_default_limit_is_three() -> None:
    assert len(suggest_actions(RULES, topics=(TOPIC,), text="UPR", entities=frozenset({"TJWG"}),
                               facts=NO_FACTS, urgency=UPDATE)) == 3  # fmt: skip


def test_never_a_failing_action_even_when_few_pass() -> None:
    """Failing rules are not used to make up the limit."""
    assert ids(suggest(topics=("refugee-returns",), urgency=URGENT, limit=5)) == ["unhcr"]
    assert suggest(topics=("nothing",), urgency=URGENT, limit=5) == ()


def test_duplicate_ids_suggested_once() -> None:
    again = ActionRule(id="embassy", title="Other", text="other", topics=(TOPIC,), priority=1)
    assert ids(suggest(rules=(EMBASSY, again))) == ["embassy"]


def test_actions_are_filled_from_facts() -> None:
    actions = suggest(urgency=URGENT, facts=FULL, rules=(GOVERNMENT_NOW, EMBASSY, RAISE_LATER))
    assert actions == (
        Action(
            id="government-now",
            title="Call your government today",
            text="500-600 North Koreans near Tumen and Dandong face return. Call your foreign ministry today.",
            targets=("your foreign ministry",),
        ),
        Action(
            id="embassy",
            title="Write to China's embassy",
            text="Cite non-refoulement about the return of 500-600 North Koreans.",
            url="https://example.org/embassies",
            targets=("China's embassy",),
        ),
    )


def test_actions_read_well_without_facts() -> None:
    (action,) = suggest(urgency=UPDATE, rules=(RAISE_LATER,))
    assert action.text == "Sources report returns recently. Write to your MP."
