"""Fact extraction: counts, places, dates, reporters and entities in English, Korean and Chinese."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain import Facts, Feed
from bot.errors import ConfigError
from bot.ingest.parse import parse_feed
from bot.stories.analyse import clean_text
from bot.stories.facts import (
    ORGANISATION_KINDS,
    PLACE_KINDS,
    Gazetteer,
    extract_facts,
    extract_numbers,
    find_entities,
    load_gazetteer,
    merge_facts,
)
from bot.text.clutter import is_clutter

# A Thursday: "on Monday" is 9 October 2023.
OCT_12 = datetime(2023, 10, 12, 3, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return load_gazetteer()


def count_of(text: str, language: str, gazetteer: Gazetteer) -> str:
    return extract_facts(text, language, OCT_12, gazetteer).count_text


# --- counts -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        # English: a number tied to a people noun, with the usual qualifiers.
        ("en", "Up to 600 North Koreans were handed to border guards.", "600"),
        ("en", "Between 500 and 600 North Koreans were driven across the bridge.", "500-600"),
        ("en", "China returned 500 to 600 North Korean escapees in one night.", "500-600"),
        ("en", "Buses carried 500-600 detainees to the border.", "500-600"),
        ("en", "Some 500 escapees were moved from detention centres.", "500"),
        ("en", "About 600 defectors may now face prison camps.", "600"),
        ("en", "More than 500 women were among those sent back.", "500"),
        ("en", "Witnesses counted 600-odd prisoners at the crossing.", "600"),
        ("en", "Five hundred people were put on buses, activists say.", "500"),
        ("en", "Two dozen fishermen were returned by sea.", "24"),
        ("en", "Five to six hundred refugees are feared lost.", "500-600"),
        ("en", "Officials confirmed that 1,200 North Koreans were held in Jilin.", "1200"),
        # The event's figure is the first whole one; parts of it and history come later.
        ("en", "China sent back some 600, including 200 women, the group said.", "600"),
        ("en", "Among them, including 200 women, were 600 North Koreans from two prisons.", "600"),
        (
            "en",
            "A rights group said 600 North Koreans were deported on Monday. Since 2000, more than "
            "8,000 North Koreans have been repatriated, most of them from China.",
            "600",
        ),
        # Korean: the counter 명.
        ("ko", "중국 당국이 탈북민 600여 명을 강제로 돌려보냈다.", "600"),
        ("ko", "북송된 인원은 500~600명으로 추정된다.", "500-600"),
        ("ko", "구금된 탈북민은 약 2천 명에 이른다.", "2000"),
        ("ko", "지금까지 1만2천 명이 넘는 사람이 송환됐다.", "12000"),
        ("ko", "여성 200명을 포함해 모두 600명이 북송됐다.", "600"),
        ("ko", "600명 가운데 여성은 400명이었다.", "600"),
        # Korean's native numerals, for small groups.
        ("ko", "투먼에서 탈북민 열두 명이 넘겨졌다.", "12"),
        ("ko", "도주한 노동자 아홉 명이 북송됐다.", "9"),
        ("ko", "탈북민 스무 명가량이 붙잡혔다.", "20"),
        # Chinese: the counters 名, 人, 位; Chinese numerals.
        ("zh", "约600名脱北者被遣返朝鲜。", "600"),
        ("zh", "当晚共有500至600人被送回。", "500-600"),
        ("zh", "600余名脱北者被押上巴士。", "600"),
        ("zh", "边境上有六百人被移交。", "600"),
        ("zh", "据估计有五六百人被强制遣返。", "500-600"),
        ("zh", "一千二百名朝鲜人被关押。", "1200"),
        ("zh", "包括200名妇女在内的600名朝鲜人被遣返。", "600"),
        ("zh", "600名朝鲜人被遣返，其中200名是妇女。", "600"),
    ],
)
def test_count_is_read_from_a_number_tied_to_people(
    language: str, text: str, expected: str, gazetteer: Gazetteer
) -> None:
    assert count_of(text, language, gazetteer) == expected


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "In 2023 North Koreans fled in smaller numbers."),
        ("en", "She left home when she was 14 and never returned."),
        ("en", "More than 70% of them are women."),
        ("en", "Nearly 70 percent of the women were trafficked."),
        ("en", "The return came after three years of border closure."),
        ("en", "She fled during the 1998 famine."),
        ("en", "On October 9 North Koreans were loaded onto buses."),
        ("en", "Families paid $500 to brokers for each crossing."),
        ("en", "Call 02-2345-6789 for help; see article 48213."),
        ("en", "The country's 26 million people live under tight control."),
        ("en", "A 14-year-old girl was among them."),
        ("en", "One defector spoke to reporters."),
        ("en", "Only one of the detainees was released."),
        ("ko", "탈북민 1명이 추가로 체포됐다."),
        ("ko", "탈북민 한 명이 추가로 체포됐다."),
        ("ko", "한국 명절을 앞두고 관세 명목의 돈을 냈다."),
        ("ko", "2023년 국경이 다시 열렸다."),
        ("ko", "그는 14세 때 탈북했다."),
        ("ko", "북송된 이들 중 70%가 여성이다."),
        ("ko", "3년간의 국경 봉쇄가 끝났다."),
        ("ko", "1998년 대기근 때 강을 건넜다."),
        ("zh", "2023年边境重新开放。"),
        ("zh", "她14岁时离开朝鲜。"),
        ("zh", "其中70%是女性。"),
        ("zh", "边境关闭了三年。"),
        ("zh", "她在1998年大饥荒时逃离。"),
        # "Some tens", "several tens": no number is given.
        ("zh", "11日，数十人在总领事馆附近举牌抗议。"),
        ("zh", "幾十名家屬聚集在使館外。"),
        ("zh", "她是第十名被遣返的人。"),
        ("zh", "中介收取600人民币。"),
        ("zh", "他入选了千人计划。"),
    ],
)
def test_years_ages_percentages_money_and_durations_are_not_counts(
    language: str, text: str, gazetteer: Gazetteer
) -> None:
    assert count_of(text, language, gazetteer) == ""
    assert extract_numbers(text, language) == frozenset()


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("She was stopped with her little girl and two others.", 2),
        ("At least 20 of the detainees are now in a prison camp.", 20),
    ],
)
def test_a_part_alone_is_no_count_of_the_event(text: str, part: int, gazetteer: Gazetteer) -> None:
    """The whole is not given: no part stands in for it (a story of 4 is not contradicted by "two others")."""
    assert count_of(text, "en", gazetteer) == ""
    assert extract_numbers(text, "en") == {part}


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "Some 600 North Koreans, including 200 women, were sent back.", {200, 600}),
        ("en", "Over 300 detainees crossed at one point and 180 prisoners at another.", {180, 300}),
        ("ko", "탈북민 500~600명 중 여성은 400명이다.", {400, 500, 600}),
        ("zh", "600名朝鲜人被遣返，其中200名是妇女。", {200, 600}),
        ("en", "In 2023 she was 14; 70% of the group were women.", set()),
    ],
)
def test_extract_numbers_lists_every_people_count(language: str, text: str, expected: set[int]) -> None:
    assert extract_numbers(text, language) == frozenset(expected)


# --- dates --------------------------------------------------------------------------------------------


def dates_of(text: str, language: str, published: datetime, gazetteer: Gazetteer) -> tuple[str, ...]:
    return extract_facts(text, language, published, gazetteer).dates


@pytest.mark.parametrize(
    ("language", "text", "published", "expected"),
    [
        ("en", "They were moved on Oct. 9, a witness said.", OCT_12, ("2023-10-09",)),
        ("en", "The convoys left on October 9, 2023.", OCT_12, ("2023-10-09",)),
        ("en", "The handover took place on 9 Oct 2023.", OCT_12, ("2023-10-09",)),
        ("en", "On the night of 9 October buses crossed the bridge.", OCT_12, ("2023-10-09",)),
        ("en", "The deportations happened in October.", datetime(2023, 12, 7, tzinfo=UTC), ("2023-10",)),
        ("en", "The buses crossed on Monday night.", OCT_12, ("2023-10-09",)),
        ("en", "The group was detained last Monday.", datetime(2023, 10, 16, tzinfo=UTC), ("2023-10-09",)),
        ("en", "Guards moved them yesterday.", datetime(2023, 10, 10, 2, 0, tzinfo=UTC), ("2023-10-09",)),
        ("en", "Arrests rose sharply last month.", datetime(2024, 1, 5, tzinfo=UTC), ("2023-12",)),
        ("en", "China may deport them; activists will march.", OCT_12, ()),
        ("en", "A guard post in Changbai on Tuesday, March 6, 2018.", OCT_12, ("2018-03-06",)),
        # A day without a year is the latest one at or before publication: across the year boundary.
        ("en", "They were arrested on December 28.", datetime(2024, 1, 5, tzinfo=UTC), ("2023-12-28",)),
        ("ko", "10월 9일 밤 버스가 국경을 넘었다.", OCT_12, ("2023-10-09",)),
        ("ko", "2023년 10월 9일 대규모 북송이 있었다.", OCT_12, ("2023-10-09",)),
        ("ko", "지난 9일 밤 투먼에서 북송이 이뤄졌다.", OCT_12, ("2023-10-09",)),
        ("ko", "이들은 지난 28일 체포됐다.", datetime(2024, 1, 5, tzinfo=UTC), ("2023-12-28",)),
        ("ko", "이들은 지난달 28일 체포됐다.", datetime(2024, 1, 5, tzinfo=UTC), ("2023-12-28",)),
        ("ko", "지난해 10월 대규모 북송이 있었다.", datetime(2024, 1, 5, tzinfo=UTC), ("2023-10",)),
        ("ko", "북송은 10월에 이뤄졌다.", datetime(2024, 1, 5, tzinfo=UTC), ("2023-10",)),
        # Published 00:30 in Seoul on 10 October (still 9 October in UTC): 어제 is Seoul's 9 October.
        ("ko", "어제 국경에서 북송이 있었다.", datetime(2023, 10, 9, 15, 30, tzinfo=UTC), ("2023-10-09",)),
        ("ko", "지난 월요일 버스가 떠났다.", OCT_12, ("2023-10-09",)),
        ("ko", "3일 동안 구금됐다가 3개월 뒤 풀려났다.", OCT_12, ()),
        ("ko", "오는 15일 밤 회의가 열린다.", OCT_12, ()),
        ("zh", "10月9日晚，数百人被遣返。", OCT_12, ("2023-10-09",)),
        ("zh", "2023年10月9日，大批朝鲜人被遣返。", OCT_12, ("2023-10-09",)),
        ("zh", "9日晚，巴士驶过大桥。", OCT_12, ("2023-10-09",)),
        ("zh", "上周一，他们被押送出境。", datetime(2023, 10, 19, tzinfo=UTC), ("2023-10-09",)),
        ("zh", "他们昨天被遣返。", datetime(2023, 10, 10, 1, 0, tzinfo=UTC), ("2023-10-09",)),
        ("zh", "她在12月28日被捕。", datetime(2024, 1, 5, tzinfo=UTC), ("2023-12-28",)),
        ("zh", "去年12月28日她被捕。", datetime(2024, 1, 5, tzinfo=UTC), ("2023-12-28",)),
        ("zh", "她被关押了3个月，每周一接受审问。", OCT_12, ()),
    ],
)
def test_event_dates_are_resolved_against_publication(
    language: str, text: str, published: datetime, expected: tuple[str, ...], gazetteer: Gazetteer
) -> None:
    assert dates_of(text, language, published, gazetteer) == expected


def test_dates_keep_their_order_and_repeat_once(gazetteer: Gazetteer) -> None:
    text = "More left on Oct. 12. The convoys left on October 9; on Oct. 9 guards waited."
    assert dates_of(text, "en", OCT_12, gazetteer) == ("2023-10-12", "2023-10-09")


@pytest.mark.parametrize(
    ("language", "text", "published", "expected"),
    [
        # The day a statement was made or a report came out is not the event's day.
        ("en", "The group said on Tuesday that about 500 North Koreans were sent back on 9 October.", OCT_12,
         ("2023-10-09",)),
        ("en", "The buses crossed on Monday night, a rights group said Wednesday.", OCT_12, ("2023-10-09",)),
        ("en", "TJWG said in a statement on Wednesday that the buses had crossed on Monday.", OCT_12,
         ("2023-10-09",)),
        ("en", "A report published on Monday says hundreds were returned in October.",
         datetime(2023, 12, 7, tzinfo=UTC), ("2023-10",)),
        ("en", "Speaking at a press conference on Wednesday, the minister said 500 were returned on Oct. 9.",
         OCT_12, ("2023-10-09",)),
        ("en", "On Wednesday, the group told reporters that the buses had crossed on Monday night.", OCT_12,
         ("2023-10-09",)),
        ("en", "Officials in Seoul did not immediately comment on Wednesday.", OCT_12, ()),
        # A dateline is the report's own place and day.
        ("en", "SEOUL, Oct 11 (Example Wire) - Up to 500 North Koreans were sent back on Monday.", OCT_12,
         ("2023-10-09",)),
        # What is still to come is no event yet.
        ("en", "Her sister is set to speak at an event in Geneva on Friday.", OCT_12, ()),
        # The event's own day stays, wherever the attribution stands.
        ("en", "The buses crossed on Monday, the group said.", OCT_12, ("2023-10-09",)),
        ("en", "On Monday, guards drove the detainees to the bridge, witnesses said.", OCT_12, ("2023-10-09",)),
        ("ko", "전환기정의워킹그룹은 10월 11일 기자회견을 열고 지난 9일 탈북민 500여 명이 북송됐다고 밝혔다.", OCT_12,
         ("2023-10-09",)),
        ("ko", "통일부는 지난 11일 정례 브리핑에서 지난 9일 밤 북송이 있었다고 밝혔다.", OCT_12, ("2023-10-09",)),
        ("ko", "지난 9일 밤 탈북민 500여 명이 투먼에서 북송됐다.", OCT_12, ("2023-10-09",)),
        ("zh", "外交部发言人10月11日在例行记者会上表示，中方依法处理。据报道，9日晚约500名脱北者被遣返。", OCT_12,
         ("2023-10-09",)),
        ("zh", "该组织10月11日发布报告称，9日晚约500人被遣返。", OCT_12, ("2023-10-09",)),
        ("zh", "10月9日晚，约500名脱北者被遣返，该组织称。", OCT_12, ("2023-10-09",)),
        ("zh", "9日据称有约500人在图们被遣返。", OCT_12, ("2023-10-09",)),
        ("zh", "家属们10月11日在首尔召开记者会，称亲人9日被遣返。", OCT_12, ("2023-10-09",)),
        ("zh", "约300名代表将出席9日在首尔举行的会议。", OCT_12, ("2023-10-09",)),
        ("en", "The four were released on Monday and a court hearing on Tuesday was cancelled.", OCT_12,
         ("2023-10-09", "2023-10-10")),
        ("zh", "新华社北京10月11日电 9日晚，约500人经图们被遣返。", OCT_12, ("2023-10-09",)),
        # A title's closing attribution does not reach into the teaser's first line.
        ("en", "About 300 North Koreans sent back, sources say\nMonday's transfer crossed at Tumen.", OCT_12,
         ("2023-10-09",)),
        # A period's bounds date no event; where a period opens, something began.
        ("en", "The group verified 612 returns between January and September.", OCT_12, ()),
        ("en", "From January to September, 612 people were returned.", OCT_12, ()),
        ("ko", "올해 9월까지 탈북민 612명이 강제북송됐다.", OCT_12, ()),
        ("ko", "올해 1~9월 612명이 북송됐다.", OCT_12, ()),
        ("zh", "截至9月已有612人被遣返。", OCT_12, ()),
        ("en", "China returned about 40 people in mid-September.", OCT_12, ("2023-09",)),
        ("en", "China returned 40 in September and 20 in October.", OCT_12, ("2023-09", "2023-10")),
        ("zh", "中老铁路自2022年4月开通以来客流持续增长。", OCT_12, ("2022-04",)),
    ],
)  # fmt: skip
def test_the_event_date_is_not_the_day_of_a_statement_or_report(
    language: str, text: str, published: datetime, expected: tuple[str, ...], gazetteer: Gazetteer
) -> None:
    assert dates_of(text, language, published, gazetteer) == expected


# --- places, entities, reporters --------------------------------------------------------------------


def test_one_event_in_three_languages_gives_the_same_facts(gazetteer: Gazetteer) -> None:
    english = (
        "Human Rights Watch said about 600 North Korean escapees were sent back from Tumen and Dandong "
        "in Jilin and Liaoning on the night of October 9."
    )
    korean = (
        "휴먼라이츠워치에 따르면 중국은 10월 9일 밤 투먼과 단둥에서 탈북민 약 600명을 북한으로 돌려보냈다. "
        "지린성과 랴오닝성의 수용소에서 옮겨졌다."
    )
    chinese = "据人权观察称，10月9日晚，约600名脱北者从吉林图们和辽宁丹东被遣返朝鲜。"
    facts = [
        extract_facts(english, "en", OCT_12, gazetteer),
        extract_facts(korean, "ko", OCT_12, gazetteer),
        extract_facts(chinese, "zh", OCT_12, gazetteer),
    ]
    for found in facts:
        assert found.count_text == "600"
        assert found.dates == ("2023-10-09",)
        assert found.reporters == ("Human Rights Watch",)
        assert set(found.places) == {"Tumen", "Dandong", "Jilin", "Liaoning"}
        assert found.outlets == 0
    assert facts[0].places == ("Tumen", "Dandong", "Jilin", "Liaoning")
    entities = [find_entities(text, gazetteer) for text in (english, korean, chinese)]
    expected = {"Human Rights Watch", "Tumen", "Dandong", "Jilin", "Liaoning", "North Korea"}
    for found_entities in entities:
        assert expected <= found_entities


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TJWG said the buses crossed at Onsong.", {"TJWG", "Onsong"}),
        ("전환기정의워킹그룹은 온성으로 넘어갔다고 밝혔다.", {"TJWG", "Onsong"}),
        ("전환기 정의 워킹그룹은 온성으로 넘어갔다고 밝혔다.", {"TJWG", "Onsong"}),
        ("转型正义工作组表示，巴士经稳城口岸入境。", {"TJWG", "Onsong"}),
        ("TJWG는 신의주를 거쳐 북송됐다고 밝혔다.", {"TJWG", "Sinuiju"}),
        ("South Korea's Ministry of Unification confirmed it.", {"South Korea's Ministry of Unification"}),
        ("Seoul's unification ministry confirmed it.", {"South Korea's Ministry of Unification", "Seoul"}),
        ("통일부가 확인했다.", {"South Korea's Ministry of Unification"}),
        ("韩国统一部予以证实。", {"South Korea's Ministry of Unification"}),
        ("The Tumen River froze early.", {"Tumen River"}),
        ("두만강이 일찍 얼었다.", {"Tumen River"}),
        ("图们江提前结冰。", {"Tumen River"}),
        ("Crowds gathered at Mount Paektu, which Chinese maps call Changbai Mountain.", {"Mount Paektu", "China"}),
        ("China's Foreign Ministry denied it.", {"China's Foreign Ministry"}),
        ("중국 외교부가 부인했다.", {"China's Foreign Ministry"}),
        ("中 외교부 \"탈북자는 불법 월경자\"", {"China's Foreign Ministry"}),
        ("外交部发言人否认。", {"China's Foreign Ministry"}),
        ("首爾外交部稱已向中方轉達關切。", {"South Korea's Foreign Ministry"}),
        ("South Korean lawmakers passed the motion.", {"South Korea's National Assembly"}),
        # A ministry right after another country's name is that country's.
        ("老挝外交部表示已将九人遣返。", {"Laos"}),
        ("러시아 외교부는 논평하지 않았다.", {"Russia"}),
        # Venues tell one rally from another in the same city.
        ("About 300 rallied outside the Chinese embassy in Seoul.", {"Chinese Embassy in Seoul"}),
        ("탈북민들이 주한 중국대사관 앞에서 촛불을 들었다.", {"Chinese Embassy in Seoul"}),
        ("워싱턴 중국대사관 앞에서도 시위가 열렸다.", set()),
        ("광화문에서 촛불집회가 열렸다.", {"Gwanghwamun"}),
        ("Prayer letter: standing with the families in Myeong-dong", {"Chinese Embassy in Seoul"}),
        ("A House panel heard two women who were sent back.", {"US Congress"}),
        ("美众议院小组委员会举行听证会", {"US Congress"}),
        ("About 80 people held candles in Tokyo.", {"Tokyo"}),
        ("수백 명이 중국대사관 앞에 모였다.", {"Chinese Embassy in Seoul"}),  # Seoul's, to a Korean outlet
        ("한인 60여명이 주미 중국대사관 앞에 모였다.", set()),  # but not Washington's
        ("数百人在中国驻韩大使馆前集会。", {"Chinese Embassy in Seoul"}),
        ("Exiles gathered at the Broken Chair in Geneva.", {"Broken Chair"}),
        ("제네바 '부러진 의자' 앞 집회", {"Broken Chair"}),
        ("Returnees were sent to the women's prison in Kaechon.", {"Kaechon"}),
        ("북송된 20여명이 개천 교화소로 이송됐다.", {"Kaechon"}),
        # Traps: words that contain an alias but mean something else.
        ("개천에서 용 난다는 말이 있다.", set()),
        ("개천절 연휴가 시작됐다.", set()),
        ("협상이 결국 무산됐다.", set()),
        ("그는 국위 선양에 힘썼다.", set()),
        ("延边朝鲜族自治州举行了活动。", {"Yanbian"}),
        ("政府统一部署了工作。", set()),
        ("He was granted amnesty after the war.", set()),
        ("They had dinner in Chinatown.", set()),
        ("le un et le deux", set()),
    ],
)
def test_entities_map_every_language_to_one_canonical_name(
    text: str, expected: set[str], gazetteer: Gazetteer
) -> None:
    assert find_entities(text, gazetteer) == frozenset(expected)


def test_a_venue_is_a_name_but_never_a_place_of_the_event(gazetteer: Gazetteer) -> None:
    facts = extract_facts("Around 300 people rallied outside the Chinese embassy in Seoul on Saturday.", "en",
                          OCT_12, gazetteer)
    assert "Chinese Embassy in Seoul" not in facts.places
    assert "Chinese Embassy in Seoul" not in facts.reporters


def test_places_skip_the_countries_every_report_names_unless_nothing_else(gazetteer: Gazetteer) -> None:
    specific = "China sent the North Koreans back through Dandong and Sinuiju."
    general = "China sent 50 North Koreans back, officials in South Korea said."
    assert extract_facts(specific, "en", OCT_12, gazetteer).places == ("Dandong", "Sinuiju")
    assert extract_facts(general, "en", OCT_12, gazetteer).places == ("China", "North Korea", "South Korea")


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        # Where people were heading is not where the event happened.
        ("en", "Police arrested five North Koreans in Kunming on their way to Laos, a church group said.",
         ("Kunming",)),
        ("en", "Five escapees bound for Laos and Thailand were caught in Kunming.", ("Kunming",)),
        ("en", "Five were on their way to Laos, Kunming police said.", ("Kunming",)),
        ("en", "Activists say five held in Kunming on way to Laos", ("Kunming",)),  # a headline drops "their"
        ("en", "Five were held in Kunming while trying to reach Laos.", ("Kunming",)),
        ("en", "Five were held in Kunming en route to Laos; Laos police later confirmed it.", ("Kunming", "Laos")),
        ("ko", "라오스로 가던 탈북민 5명이 쿤밍에서 체포됐다.", ("Kunming",)),
        ("ko", "라오스 국경으로 향하던 탈북민 5명이 쿤밍에서 붙잡혔다.", ("Kunming",)),
        ("ko", "탈북민 5명이 라오스행 버스를 타려다 쿤밍에서 붙잡혔다.", ("Kunming",)),
        ("zh", "5名脱北者在昆明被捕，他们当时正前往老挝。", ("Kunming",)),
        ("zh", "5名试图取道老挝前往泰国的脱北者在昆明被捕。", ("Kunming",)),
        # A crossing's both ends are places of the return.
        ("en", "About 300 were taken from Tumen to Onsong, the group said.", ("Tumen", "Onsong")),
        ("ko", "약 300명이 투먼에서 온성으로 넘겨졌다.", ("Tumen", "Onsong")),
        ("zh", "约300人从图们被押送至稳城。", ("Tumen", "Onsong")),
        # An earlier event named in passing is no place of this one.
        ("en", "Seven were held in Kunming, two days after the Yanji arrests.", ("Kunming",)),
        ("en", "Twelve women were sent back via Tumen following the Dandong handover.", ("Tumen",)),
        ("ko", "투먼 이어 단둥서도 탈북민 25명이 신의주로 북송됐다.", ("Dandong", "Sinuiju")),
        ("ko", "단둥 북송 이틀 만에 투먼에서 12명이 또 넘겨졌다.", ("Tumen",)),
        ("ko", "투먼에서 닷새 만에 탈북민 12명이 또 북송됐다.", ("Tumen",)),
        ("zh", "继丹东之后，图们口岸又有12人被遣返。", ("Tumen",)),
        # Where a return is heading is a place of the return.
        ("en", "Buses carrying 300 detainees left Tumen heading for Onsong.", ("Tumen", "Onsong")),
        ("ko", "탈북민 300명을 태운 버스가 투먼을 떠나 온성으로 향하던 중 목격됐다.", ("Tumen", "Onsong")),
        ("zh", "载有300人的大巴从图们出发前往稳城。", ("Tumen", "Onsong")),
    ],
)  # fmt: skip
def test_places_are_where_the_event_happened_not_where_people_were_heading(
    language: str, text: str, expected: tuple[str, ...], gazetteer: Gazetteer
) -> None:
    assert extract_facts(text, language, OCT_12, gazetteer).places == expected


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "According to Human Rights Watch, the buses left at night.", ("Human Rights Watch",)),
        ("en", "“They vanished,” said a researcher at TJWG.", ("TJWG",)),
        ("en", "The U.S. State Department said it was troubled.", ("US State Department",)),
        ("en", "Amnesty International has campaigned on the issue for years.", ()),
        ("en", "The buses passed through Dandong. Witnesses said nothing.", ()),
        ("ko", "통일부는 북송이 사실로 보인다고 밝혔다.", ("South Korea's Ministry of Unification",)),
        ("ko", "데일리NK에 따르면 이들은 보위부로 넘겨졌다.", ("Daily NK",)),
        ("zh", "据自由亚洲电台报道，他们已被移交。", ("Radio Free Asia",)),
        ("zh", "外交部发言人表示不存在所谓脱北者。", ("China's Foreign Ministry",)),
    ],
)
def test_reporters_are_organisations_cited_as_a_source(
    language: str, text: str, expected: tuple[str, ...], gazetteer: Gazetteer
) -> None:
    assert extract_facts(text, language, OCT_12, gazetteer).reporters == expected


# --- merging a story's sources ------------------------------------------------------------------------


def test_merge_gives_a_range_and_ranks_what_more_sources_give() -> None:
    parts = [
        Facts(count_low=500, count_high=500, places=("Dandong", "Tumen"), dates=("2023-10-12", "2023-10-09"),
              reporters=("Human Rights Watch",)),
        Facts(count_low=600, count_high=600, places=("Tumen",), dates=("2023-10-09",), reporters=("TJWG",)),
        Facts(places=("Onsong", "Tumen"), dates=("2023-10",), reporters=("TJWG", "Human Rights Watch")),
    ]  # fmt: skip
    merged = merge_facts(parts, outlets=3)
    assert merged.count_text == "500-600"
    assert merged.places == ("Tumen", "Dandong", "Onsong")
    assert merged.dates == ("2023-10-09", "2023-10-12", "2023-10")
    assert merged.reporters == ("Human Rights Watch", "TJWG")
    assert merged.outlets == 3


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ([(500, 500), (600, 600)], "500-600"),
        ([(500, 600), (600, 600)], "500-600"),
        ([(None, None), (600, 600)], "600"),
        ([(550, 600), (500, 520)], "500-600"),
        ([(None, None), (None, None)], ""),
        ([], ""),
    ],
)
def test_merged_count_spans_the_sources(counts: list[tuple[int | None, int | None]], expected: str) -> None:
    parts = [Facts(count_low=low, count_high=high) for low, high in counts]
    assert merge_facts(parts, outlets=len(parts)).count_text == expected


def test_merged_count_never_spans_counts_that_disagree() -> None:
    # "50-600" is what no source says: the count most sources give, with those that agree with it.
    parts = [
        Facts(count_low=600, count_high=600),
        Facts(count_low=50, count_high=50),
        Facts(count_low=500, count_high=600),
    ]
    assert merge_facts(parts, outlets=3).count_text == "500-600"
    assert merge_facts(parts[:2], outlets=2).count_text == "600"


def test_facts_merge_across_languages(gazetteer: Gazetteer) -> None:
    english = extract_facts("TJWG said 500 North Koreans were returned via Tumen.", "en", OCT_12, gazetteer)
    korean = extract_facts("전환기정의워킹그룹은 투먼을 통해 600명이 북송됐다고 밝혔다.", "ko", OCT_12, gazetteer)
    merged = merge_facts([english, korean], outlets=2)
    assert (merged.count_text, merged.places, merged.reporters) == ("500-600", ("Tumen",), ("TJWG",))


# --- the shared seed articles ----------------------------------------------------------------------------

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
ONE_STORY = ("000", "001", "003", "004")  # four reports of the December 2023 "600 vanished" report


def _seed_facts(number: str, gazetteer: Gazetteer, *, flat: bool) -> Facts:
    """A seed article served as a feed item (paragraphs as <p> blocks, or run into one line as some feeds
    send them), analysed as the story step does."""
    (path,) = SEEDS.glob(f"{number}_*.txt")
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    title = next(line for line in lines if len(line.split()) >= 6 and not is_clutter(line))
    blocks = [" ".join(lines)] if flat else lines
    body = "".join(f"<p>{html.escape(block)}</p>" for block in blocks)
    feed = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Seed</title>'
        f"<link>https://seed.example/</link><item><title>{html.escape(title)}</title>"
        f"<link>https://seed.example/{number}</link><pubDate>Thu, 07 Dec 2023 12:00:00 GMT</pubDate>"
        f"<description>{html.escape(body)}</description></item></channel></rss>"
    ).encode()
    published = datetime(2023, 12, 7, 12, tzinfo=UTC)
    url = "https://seed.example/rss"
    source = Feed(name=f"seed-{number}", url=url, language="en", interval_seconds=900, outlet="Seed")
    parsed = parse_feed(feed, feed=source, fetched=published + timedelta(days=1), base_url=url)
    (item,) = parsed.items
    return extract_facts(clean_text(item), item.language, item.published, gazetteer)


def _counts_agree(a: Facts, b: Facts) -> bool:
    if a.count_low is None or a.count_high is None or b.count_low is None or b.count_high is None:
        return True
    if a.count_low <= b.count_high and b.count_low <= a.count_high:
        return True
    low, high = sorted((min(a.count_high, b.count_high), max(a.count_low, b.count_low)))
    return high / low <= 1.25  # "about 500" and "up to 600" tell of one group


def _dates_agree(a: Facts, b: Facts) -> bool:
    if not a.dates or not b.dates:
        return True
    return any(x.startswith(y) or y.startswith(x) for x in a.dates for y in b.dates)


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not checked out beside the repository")
@pytest.mark.parametrize("flat", [False, True], ids=["blocks", "flattened"])
def test_seed_reports_of_one_event_give_facts_without_captions_that_agree(gazetteer: Gazetteer, flat: bool) -> None:
    facts = {number: _seed_facts(number, gazetteer, flat=flat) for number in ONE_STORY}
    for number, found in facts.items():
        # Seed 001's photo caption names another town and a 2018 day; 000's names a September view of Dandong.
        assert "Changbai" not in found.places, (number, found)
        assert not any(d.startswith(("2018", "2023-09")) for d in found.dates), (number, found)
        # Thursday, 7 December is the day the group spoke and the outlets wrote, not the day of the returns.
        assert "2023-12-07" not in found.dates, (number, found)
        assert found.count_low is not None, (number, found)
    numbers = list(facts)
    for i, first in enumerate(numbers):
        for second in numbers[i + 1 :]:
            assert _counts_agree(facts[first], facts[second]), (first, second, facts[first], facts[second])
            assert _dates_agree(facts[first], facts[second]), (first, second, facts[first], facts[second])


# --- the gazetteer --------------------------------------------------------------------------------------


def test_bundled_gazetteer_loads_with_places_and_reporters(gazetteer: Gazetteer) -> None:
    names = [entry.name for entry in gazetteer.entries]
    assert len(names) == len(set(names))
    for name in ("Tumen", "Onsong", "Jilin", "China", "Sinuiju", "Dandong", "Hyesan", "Laos", "Mongolia"):
        assert gazetteer.entry(name).place
    for name in ("TJWG", "Human Rights Watch", "South Korea's Ministry of Unification", "UNHCR"):
        assert gazetteer.entry(name).reporter
        assert not gazetteer.entry(name).place
    assert all(e.kind in (PLACE_KINDS if e.place else ORGANISATION_KINDS) for e in gazetteer.entries)
    assert not any(e.reporter for e in gazetteer.entries if e.place)


def test_every_alias_belongs_to_exactly_one_entry(gazetteer: Gazetteer) -> None:
    owners: dict[str, set[str]] = {}
    for entry in gazetteer.entries:
        for alias in entry.aliases:
            owners.setdefault(re.sub(r"\s", "", alias).casefold(), set()).add(entry.name)
    shared = {alias: names for alias, names in owners.items() if len(names) > 1}
    assert shared == {}


def test_every_alias_on_its_own_is_found_as_its_entry(gazetteer: Gazetteer) -> None:
    wrong = {
        alias: found
        for entry in gazetteer.entries
        for alias in entry.aliases
        if (found := find_entities(f"({alias})", gazetteer)) != {entry.name}
    }
    assert wrong == {}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gazetteer.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        (
            "places:\n  - {name: Tumen, kind: cn-city, zh: [图们]}\n"
            "  - {name: Tumen River, kind: river, zh: [图们]}\n",
            "'Tumen River': alias '图们' is also an alias of 'Tumen'",
        ),
        ("places:\n  - {name: Tumen, kind: town}\n", "places[0] 'Tumen': kind 'town' is not one of"),
        ("places:\n  - {name: Musan, kind: kp-town, ko: [무]}\n", "places[0] 'Musan': ko: '무' is too short"),
        ("places:\n  - {name: Tumen, kind: cn-city, ko: [图们]}\n", "places[0] 'Tumen': ko: '图们' must be"),
        ("places:\n  - {kind: cn-city}\n", "places[0]: name: Field required"),
        ("places:\n  - {name: Tumen, kind: cn-city, reporter: true}\n", "places[0] 'Tumen': reporter"),
        ("places: [\n", "invalid YAML"),
        ("places:\n  - {name: Jilin, kind: cn-province}\nignore: [Jilin]\n", "ignore: 'Jilin' is an alias"),
        (
            "places: []\norganisations:\n  - {name: Foreign Office, kind: government, country: Atlantis}\n",
            "organisations[0] 'Foreign Office': country 'Atlantis' is not a country entry",
        ),
    ],
)
def test_bad_gazetteer_is_refused_naming_the_entry(tmp_path: Path, yaml_text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_gazetteer(write(tmp_path, yaml_text))
    assert message in str(caught.value)


def test_a_small_gazetteer_file_works(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "places:\n  - {name: Tumen, kind: cn-city, ko: [투먼], zh: [图们, 圖們]}\n"
        "organisations:\n  - {name: TJWG, kind: rights-group, en: [Transitional Justice Working Group]}\n",
    )
    small = load_gazetteer(path)
    assert find_entities("The Transitional Justice Working Group named 圖們 and 투먼.", small) == {"TJWG", "Tumen"}
