"""Topic matching: the term syntax on small topics, and the default topics of feeds.yaml on headlines.

The headlines are written for these tests (not copied from any outlet): real-looking reports that must
match, and the traps the default topics were designed against.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import load_config
from bot.domain import Feed, Item, Topic
from bot.ingest.match import CompiledTopic, compile_topics, explain, match_item, matches, term_problem

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def default_topics() -> dict[str, CompiledTopic]:
    config = load_config(REPO / "feeds.yaml")
    return {t.id: t for t in compile_topics(config.topics)}


def one_term(term: str) -> CompiledTopic:
    return compile_topics([Topic(id="t", name="T", require=((term,),))])[0]


# --- term syntax --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "text", "expected"),
    [
        # plain words match whole words only
        ("deport", "They threatened to deport him.", True),
        ("deport", "Deportivo win the derby", False),
        ("deport", "He was deported last year", False),
        ("deport", "a deportation order", False),
        # a trailing * is a prefix
        ("deport*", "He was deported last year", True),
        ("deport*", "a deportation order", True),
        ("deport*", "Deportivo win the derby", True),  # why feeds.yaml spells the forms out
        ("deport*", "undeported", False),  # still starts at a word boundary
        ("repatriat*", "Repatriation resumed", True),
        # case
        ("dprk", "DPRK statement", True),
        ("North Korea", "north korea", True),
        # phrases across spaces, newlines, hyphens and dashes, but not glued together
        ("north korea", "North-Korea border", True),
        ("north korea", "north\nkorea", True),
        ("north korea", "North  \t Korea", True),
        ("north korea", "North \u2013 Korea", True),
        ("north korea", "northkorea", False),
        ("north korea", "North Koreans", False),
        ("north korea*", "North Koreans", True),
        ("kim jong-un", "Kim Jong Un spoke", True),
        ("send* back", "Beijing is sending them back", False),
        ("send* back", "Beijing keeps sending back escapees", True),
        # after a word ending in punctuation the gap may be empty
        ("n. korea*", "N.Korean defectors", True),
        ("n. korea*", "N. Korea says", True),
        # curly quotes, full-width letters, soft hyphens
        ("soldiers' remains", "the soldiers\u2019 remains were flown home", True),
        ("dprk", "\uff24\uff30\uff32\uff2b envoy", True),
        ("deported", "depor\u00adted", True),
        # Hangul, CJK and kana match as substrings; a space there is optional; * is ignored
        ("북송", "탈북민 강제북송을 규탄", True),
        ("강제 북송", "강제북송 중단", True),
        ("강제 북송", "강제 북송 중단", True),
        ("遣返*", "中国遣返脱北者", True),
        ("脱北", "脫北者", False),  # simplified and traditional are different characters: list both
        ("強制送還", "脱北者を強制送還", True),
    ],
)
def test_term_syntax(term: str, text: str, expected: bool) -> None:
    assert matches(one_term(term), text) is expected


@pytest.mark.parametrize(
    ("term", "problem"),
    [
        ("", "empty term"),
        ("   ", "empty term"),
        ("*", "no letters or digits"),
        ("y*z", "only allowed at the end of a word"),
        ("north * korea", "'*' must follow a word"),
    ],
)
def test_bad_terms_are_refused(term: str, problem: str) -> None:
    found = term_problem(term)
    assert found is not None and problem in found
    with pytest.raises(ValueError):
        compile_topics([Topic(id="t", name="T", require=((term,),))])


def test_require_groups_and_exclusions() -> None:
    topic = compile_topics(
        [Topic(id="t", name="T", require=(("apple", "pear"), ("pie*",)), exclude=("recipe",))]
    )[0]
    assert matches(topic, "Pear pies at the fair")
    assert not matches(topic, "Pear harvest")  # second group missing
    assert not matches(topic, "Apple pie recipe")  # exclusion fires


def test_explain_names_the_terms() -> None:
    topic = compile_topics(
        [Topic(id="t", name="T", require=(("apple", "pear"), ("pie*",)), exclude=("recipe",))]
    )[0]
    text = explain(topic, "Apple pies: a recipe")
    assert text.splitlines() == [
        "t: no match",
        "  require[0]: 'apple' matched 'apple'",
        "  require[1]: 'pie*' matched 'pies'",
        "  exclude: 'recipe' fired on 'recipe'",
    ]
    assert "require[1]: nothing matched (terms: pie*)" in explain(topic, "apple")


# --- the default topics -------------------------------------------------------------------------

SHOULD_MATCH = [
    "China forcibly repatriates hundreds of North Korean escapees, rights group says",
    "Beijing sends 60 defectors back to North Korea despite Seoul's protest",
    "UN experts urge China to halt forced returns of North Koreans",
    "Fears grow for North Korean women deported from Jilin detention centres",
    "Rights group: 500 North Koreans handed over to Pyongyang\u2019s security agents",
    "N. Korean defectors face torture after repatriation from China",
    "Non-refoulement: activists say Beijing is breaking its word on North Korean refugees",
    "Mass deportations to North Korea resume after border reopening",
    "Escapees repatriated\nBuses took detainees over the bridge at night to North-\nKorea, witnesses said.",
    "중국, 탈북민 500여명 강제북송…정부 \"깊은 유감\"",
    "탈북민 북송 우려 커져…인권단체, 중국에 중단 촉구",
    "북한 주민 수백 명 중국서 강제 송환된 듯",
    "中国强制遣返数百名脱北者 人权组织表示关切",
    "联合国呼吁中国停止遣返朝鲜难民",
    "中國再度遣返脫北者 南韓表達遺憾",
    "北韓難民遭強制送回 人權團體譴責",
    "中国、脱北者を強制送還 韓国政府が遺憾表明",
]

SHOULD_NOT_MATCH = [
    "North Korea fires ballistic missile into sea east of the peninsula",
    "North Korea test-launches cruise missiles; Seoul condemns provocation",
    "ICE deportation flights to Central America hit a record",
    "Judge halts deportation of asylum seekers to El Salvador",
    "Remains of US soldiers killed in Korean War repatriated from North Korea",
    "North Korean defectors attend ceremony as soldiers\u2019 remains are repatriated",
    "Malaysia expels North Korean ambassador over murder inquiry",
    "Kuwait deports North Korean diplomats after sanctions review",
    "Deportivo beat Celta in the Galician derby",
    "GM recalls half a million cars over ignition defect",
    "North Korean-flagged tanker escapes Libyan port with crude oil",
    "North Korean women's football team returns home after Asian Games",
    "Seoul urges Pyongyang to repatriate detained missionaries",
    "Kim Jong Un inspects new destroyer at Nampho shipyard",
    "6·25 전사자 유해 송환식 거행…북한 지역서 발굴",
    "북한, 동해상으로 탄도미사일 발사",
    "朝鲜战争志愿军烈士遗骸遣返仪式举行",
    "朝鲜试射弹道导弹 韩日表示抗议",
]


@pytest.mark.parametrize("headline", SHOULD_MATCH)
def test_nk_repatriation_matches(default_topics: dict[str, CompiledTopic], headline: str) -> None:
    topic = default_topics["nk-repatriation"]
    assert matches(topic, headline), explain(topic, headline)


@pytest.mark.parametrize("headline", SHOULD_NOT_MATCH)
def test_nk_repatriation_ignores_traps(default_topics: dict[str, CompiledTopic], headline: str) -> None:
    topic = default_topics["nk-repatriation"]
    assert not matches(topic, headline), explain(topic, headline)


@pytest.mark.parametrize(
    ("headline", "expected"),
    [
        ("Greece pushes back refugees? Court finds pushbacks at sea were illegal", True),
        ("Lebanon deports hundreds of Syrian refugees, rights groups say", True),
        ("Asylum seekers forcibly returned to Afghanistan from Iran", True),
        ("UN warns against refoulement of Rohingya", True),
        ("中国遣返脱北者", True),
        ("Deportivo return to La Liga", False),
        ("ICE deports migrants on charter flights", False),  # migrants in general are not this topic
        ("Refugee agency welcomes voluntary repatriation to Burundi", False),
        ("North Korea fires missile", False),
    ],
)
def test_refugee_returns(default_topics: dict[str, CompiledTopic], headline: str, expected: bool) -> None:
    topic = default_topics["refugee-returns"]
    assert matches(topic, headline) is expected, explain(topic, headline)


def test_default_topics_are_the_documented_ones() -> None:
    config = load_config(REPO / "feeds.yaml")
    defaults = [(t.id, t.default) for t in config.topics]
    assert defaults == [("nk-repatriation", True), ("refugee-returns", False)]


# --- match_item: which topics an item of a feed gets ---------------------------------------------

NOW = datetime(2023, 10, 12, 9, 0, tzinfo=UTC)


def item(title: str, summary: str = "", content: str = "") -> Item:
    return Item(
        feed="f", outlet="o", guid="g", link="https://example.org/a", title=title, summary=summary,
        content=content, language="en", published=NOW, fetched=NOW,
    )


def feed(topics: tuple[str, ...] = (), on_topic: tuple[str, ...] = ()) -> Feed:
    return Feed(
        name="f", url="https://example.org/feed", language="en", interval_seconds=900, outlet="o",
        topics=topics, on_topic=on_topic,
    )


FRUIT = compile_topics(
    [
        Topic(id="apples", name="Apples", require=(("apple*",),)),
        Topic(id="pears", name="Pears", require=(("pear*",),)),
        Topic(id="plums", name="Plums", require=(("plum*",),)),
    ]
)


@pytest.mark.parametrize(
    ("the_item", "the_feed", "expected"),
    [
        (item("Apples and plums"), feed(), ("apples", "plums")),  # config order, every topic tried
        (item("Market news", summary="pears are cheap"), feed(), ("pears",)),  # summary is read
        (item("Market news", content="plums are late"), feed(), ("plums",)),  # content is read
        (item("Nothing here"), feed(), ()),
        (item("Apples and plums"), feed(topics=("plums",)), ("plums",)),  # restricted to feed.topics
        (item("Nothing here"), feed(on_topic=("pears",)), ("pears",)),  # on_topic always
        (item("Apples"), feed(topics=("plums",), on_topic=("pears",)), ("pears",)),
        (item("Plums, apples"), feed(on_topic=("pears",)), ("apples", "pears", "plums")),
    ],
)
def test_match_item(the_item: Item, the_feed: Feed, expected: tuple[str, ...]) -> None:
    assert match_item(FRUIT, the_item, the_feed) == expected


def test_a_report_split_over_title_and_summary(default_topics: dict[str, CompiledTopic]) -> None:
    report = item(
        "Seoul protests to Beijing",
        summary="Hundreds of North Korean escapees were deported overnight, a rights group said.",
    )
    topics = tuple(default_topics.values())
    # Escapees are also refugees in general, so the opt-in topic takes the report too.
    assert match_item(topics, report, feed()) == ("nk-repatriation", "refugee-returns")
    assert match_item(topics, report, feed(topics=("nk-repatriation",))) == ("nk-repatriation",)
    assert match_item(topics, replace(report, summary=""), feed()) == ()
