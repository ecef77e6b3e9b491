"""Extractive summaries: sentence splitting, clutter detection and removal, sentence choice (en/ko/zh)."""

from __future__ import annotations

import pytest

from bot.ingest.parse import clean_text
from bot.stories.summarize import SummaryInput, summarize
from bot.text.clutter import has_clutter, is_clutter, strip_clutter
from bot.text.sentences import split_sentences

# --- sentence splitting -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        (
            "Mr. Koo said the U.S. had been told. The group met on Oct. 9 in Seoul.",
            "en",
            ["Mr. Koo said the U.S. had been told.", "The group met on Oct. 9 in Seoul."],
        ),
        (
            "About 3.5 percent were men. Most were women.",
            "en",
            ["About 3.5 percent were men.", "Most were women."],
        ),
        (
            "Robert R. King testified in June. He said 1,000 people fled each year.",
            "en",
            ["Robert R. King testified in June.", "He said 1,000 people fled each year."],
        ),
        (
            "Sanctions were imposed by the U.S. The group said so.",
            "en",
            ["Sanctions were imposed by the U.S.", "The group said so."],
        ),
        (
            'He said, "We are worried." The group agreed.',
            "en",
            ['He said, "We are worried."', "The group agreed."],
        ),
        (
            "Why now? Nobody knows! The buses left at 10 p.m. on Monday.",
            "en",
            ["Why now?", "Nobody knows!", "The buses left at 10 p.m. on Monday."],
        ),
        (
            "A heading without a stop\nThe first sentence. The second one.",
            "en",
            ["A heading without a stop", "The first sentence.", "The second one."],
        ),
        (
            "The group said hundreds of detainees\nwere sent back on Monday.",
            "en",
            ["The group said hundreds of detainees were sent back on Monday."],
        ),
        (
            "중국이 탈북민 수백 명을 송환했다. 정부는 유감을 표명했다.",
            "ko",
            ["중국이 탈북민 수백 명을 송환했다.", "정부는 유감을 표명했다."],
        ),
        (
            "중국이 탈북민을 송환했다.정부는 3.5% 증가했다고 밝혔다.",
            "ko",
            ["중국이 탈북민을 송환했다.", "정부는 3.5% 증가했다고 밝혔다."],
        ),
        (
            "中国遣返了约500人。韩国表示关切！这是真的吗？",
            "zh",
            ["中国遣返了约500人。", "韩国表示关切！", "这是真的吗？"],
        ),
        (
            "“我们非常担心。”他说。该组织呼吁停止遣返，比例约为3.5%。",
            "zh",
            ["“我们非常担心。”他说。", "该组织呼吁停止遣返，比例约为3.5%。"],
        ),
        ("", "en", []),
    ],
)
def test_split_sentences(text: str, language: str, expected: list[str]) -> None:
    assert split_sentences(text, language) == expected


# --- clutter detection ------------------------------------------------------------------------------

CLUTTER = [
    # English
    "We use cookies to give you the best experience on our site.",
    "Manage consent preferences",
    "Please support our journalism with a donation today.",
    "Become a supporter and help keep our reporting free for everyone.",
    "Photo: Kim Min-su / Example Images",
    "Guards at the border post. Jane Roe / AFP via Getty Images",
    "(Photo by Jane Roe/Getty Images)",
    "Share on Facebook",
    "Share this article",
    "Facebook Twitter Email Print",
    "Sign up for our newsletter to get the top stories in your inbox.",
    "Read more: Activists warn of new deportations",
    "Continue reading...",
    "Leave a comment",
    "Comments are closed.",
    "© 2024 Example Media Ltd. All rights reserved.",
    "IE 11 is not supported. For the best experience please use another browser.",
    "Please enable JavaScript to view this page.",
    "Advertisement",
    "Story continues below advertisement",
    "By Jane Roe and John Doe",
    "Jane Roe is a reporter covering East Asia for Example News.",
    "(Reporting by Jane Roe; Editing by John Doe)",
    "Example Wire contributed to this report.",
    "Updated: Oct. 12, 2023 at 9:14 a.m.",
    "5 min read",
    "Click here to download our app.",
    # Korean
    "이 사이트는 쿠키를 사용합니다.",
    "사진=가상뉴스",
    "▲ 국경 다리 모습",
    "[가상뉴스 자료사진]",
    "공유하기",
    "페이스북 트위터 카카오톡",
    "댓글 0",
    "댓글쓰기",
    "기사 더보기",
    "뉴스레터를 구독하세요",
    "ⓒ 가상뉴스, 무단 전재 및 재배포 금지",
    "<저작권자 © 가상일보 무단전재 및 재배포금지>",
    "이 브라우저는 지원되지 않습니다. 최신 브라우저로 업데이트해 주세요.",
    "광고",
    "독자 여러분의 후원이 좋은 기사를 만듭니다.",
    "김민수 기자 minsu@example.com",
    "입력 2023.10.11 09:30",
    # Chinese
    "本网站使用Cookie以改善您的体验。",
    "图片来源：示例图库",
    "（图源：网络）",
    "分享到：微信 微博",
    "点击阅读全文",
    "订阅我们的新闻简报",
    "发表评论",
    "版权所有 © 示例网",
    "未经授权不得转载。",
    "您的浏览器版本过低，请升级浏览器。",
    "广告",
    "责任编辑：王某",
    "扫描二维码关注我们",
]

NEWS = [
    # English sentences that share words with clutter but are news
    "Activists released photos of the detainees being loaded onto buses at the border.",
    "The refugees rely on support from the UN refugee agency and local churches.",
    "A rights group is calling for donations of evidence, such as videos and testimony, from witnesses.",
    "Seoul's foreign ministry declined to comment on the report.",
    "Beijing did not immediately comment on Thursday.",
    "The families shared their fears in interviews with the group.",
    "By October, hundreds of detainees had been moved to the border.",
    "Reporters were not allowed near the crossing at Dandong.",
    "China became a member of the UN Human Rights Council in 2021.",
    "The ministry said the photos, taken on Monday, showed buses near the bridge.",
    "Kim Ji-eun, a Seoul-based reporter for a U.S. broadcaster, interviewed the families.",
    "The report, which can be downloaded from the group's website, lists 120 names.",
    "Published reports say about 500 people were sent back.",
    # Korean
    "인권단체는 송환 당시 사진을 공개했다.",
    "유엔의 지원을 받아 조사가 진행됐다.",
    "온라인 댓글에서는 중국 정부를 비판하는 목소리가 이어졌다.",
    "정부는 중국 측과 정보를 공유했다고 밝혔다.",
    "외교부는 이 사안에 대해 언급을 거부했다.",
    # Chinese
    "图们江沿岸的口岸昨夜戒备森严。",
    "人权组织呼吁各国政府提供支持。",
    "外交部发言人拒绝评论此事。",
    "外交部发言人拒绝对此发表评论。",
    "政府表示将继续关注我们同胞的安全。",
    "该组织公布了被遣返者的照片。",
]


@pytest.mark.parametrize("text", CLUTTER)
def test_clutter_is_detected(text: str) -> None:
    assert is_clutter(text)
    assert has_clutter(text)


@pytest.mark.parametrize("text", NEWS)
def test_news_near_misses_are_kept(text: str) -> None:
    assert not is_clutter(text)
    assert strip_clutter(text) == text


def test_strip_clutter_keeps_news_in_order_and_drops_captions() -> None:
    text = (
        "Share on Facebook\n\n"
        "Chinese guards escorted the buses to the bridge on Monday night.\n\n"
        "A watchtower on the river bank near the crossing. Jane Roe / AFP via Getty Images\n\n"
        "The group said most of those returned were women. Read more\n\n"
        "Officials in Seoul said they had raised the matter with Beijing."
    )
    assert strip_clutter(text).split("\n") == [
        "Chinese guards escorted the buses to the bridge on Monday night.",
        "The group said most of those returned were women.",
        "Officials in Seoul said they had raised the matter with Beijing.",
    ]


def test_strip_clutter_keeps_a_lone_paragraph_before_its_credit() -> None:
    # A feed teaser is one paragraph; its trailing credit goes, the news stays.
    text = "About 500 detainees were sent back on Monday, a rights group said. Photo: Jane Roe / AFP"
    assert strip_clutter(text) == "About 500 detainees were sent back on Monday, a rights group said."


def test_strip_clutter_stops_at_the_end_of_the_article() -> None:
    article = (
        "Chinese guards escorted the buses to the bridge on Monday night, according to witnesses in the area.\n"
        "The group said most of those returned were women and that several had children in China.\n"
        "Officials in Seoul said they had raised the matter with Beijing through diplomatic channels.\n"
        "(Reporting by Jane Roe; Editing by John Doe)\n"
        "Only a few of our readers pay for this work.\n"
        "81 percent of children in the region cannot read a full sentence."
    )
    kept = strip_clutter(article)
    assert "women and that several" in kept
    assert "Reporting by" not in kept
    assert "81 percent" not in kept


def test_flattened_caption_and_credit_do_not_swallow_the_lead() -> None:
    # Feed text often arrives as one line: caption, credit, dateline and lead run together.
    flat = (
        "Buses wait at the bridge over the river in September. Jane Roe / AFP via Getty Images "
        "SEOUL, Oct. 11 (Example Wire) - About 450 detainees were sent back across the border on Monday. "
        "Most were women, the group said."
    )
    kept = strip_clutter(flat)
    assert kept == (
        "SEOUL, Oct. 11 (Example Wire) - About 450 detainees were sent back across the border on Monday. "
        "Most were women, the group said."
    )
    assert summarize([SummaryInput("t", flat, "en")]) == (
        "About 450 detainees were sent back across the border on Monday. Most were women, the group said."
    )


def test_read_more_link_glued_to_a_teaser_is_cut_off() -> None:
    assert strip_clutter("Guards moved about 450 detainees to the bridge overnight. Continue reading...") == (
        "Guards moved about 450 detainees to the bridge overnight."
    )
    assert strip_clutter("Guards moved about 450 detainees to the bridge overnight Continue reading...") == (
        "Guards moved about 450 detainees to the bridge overnight"
    )


def test_strip_clutter_drops_a_whole_cookie_banner() -> None:
    banner = (
        "Analytical cookies are used to understand how visitors use this website. "
        "These tools help us count visitors and their sources."
    )
    assert strip_clutter(banner + "\nThe detainees were taken to Onsong.") == "The detainees were taken to Onsong."


def test_a_caption_whose_credit_is_a_line_of_its_own_is_dropped_with_it() -> None:
    # Photo pages set the caption and the photographer's credit as two blocks above the article.
    text = (
        "Police hold five on the road south\n"
        "A customs post stands beside the bridge in Hunchun, Jilin province, China, on Friday, May 3, 2019. "
        "Traders there hope the border will reopen to more goods.\n"
        "Photographer: Jane Roe/Bloomberg via Getty Images\n"
        "SEOUL, Oct 11 (Example Wire) - Police held five North Koreans in a bus station, a church group said.\n"
        "The group said the five had left the border area a week earlier."
    )
    kept = strip_clutter(text)
    assert "Hunchun" not in kept and "2019" not in kept and "Photographer" not in kept
    assert kept.splitlines() == [
        "Police hold five on the road south",
        "SEOUL, Oct 11 (Example Wire) - Police held five North Koreans in a bus station, a church group said.",
        "The group said the five had left the border area a week earlier.",
    ]


def test_a_flattened_caption_of_several_sentences_goes_whole_before_the_dateline() -> None:
    # The same page run into one line (a plain-text feed): headline, a three-sentence caption, credit, article.
    flat = (
        "Police hold five on the road south A customs post stands beside the bridge in Hunchun, Jilin "
        "province, China, on Friday, May 3, 2019. Traders there hope the border will reopen to more goods. "
        "Many of them have waited for years and say the town could become a hub. "
        "Photographer: Jane Roe/Bloomberg via Getty Images SEOUL, Oct 11 (Example Wire) - Police held five "
        "North Koreans in a bus station, a church group said. The group said the five had left a week earlier."
    )
    assert strip_clutter(flat) == (
        "SEOUL, Oct 11 (Example Wire) - Police held five North Koreans in a bus station, a church group said. "
        "The group said the five had left a week earlier."
    )


def test_a_description_in_blocks_loses_banner_caption_appeal_and_link() -> None:
    # An HTML feed description, as bot.parse gives it: one line per block.
    description = clean_text(
        "<p>We use cookies to improve your experience on our site. Accept all</p>"
        "<p>A watchtower above the river at Hyesan on March 2, 2018. Photo: J. Roe / Reuters</p>"
        "<p>About 450 detainees were moved to the bridge on Monday, a rights group said.</p>"
        "<p>Support our independent journalism: donate today.</p>"
        "<p>Continue reading</p>"
    )
    assert strip_clutter(description) == "About 450 detainees were moved to the bridge on Monday, a rights group said."


@pytest.mark.parametrize(
    ("html", "kept"),
    [
        (
            "<p>이 사이트는 쿠키를 사용합니다. 계속 이용하시면 쿠키 사용에 동의하는 것으로 간주됩니다.</p>"
            "<p>2019년 5월 3일 중국 지린성 훈춘 세관 앞의 버스들. 사진=게티이미지</p>"
            "<p>탈북민 5명이 지난 9일 쿤밍에서 붙잡혔다고 한 교회 단체가 밝혔다.</p>"
            "<p>독자 여러분의 후원이 좋은 기사를 만듭니다. 후원하기</p><p>기사 더보기</p>",
            "탈북민 5명이 지난 9일 쿤밍에서 붙잡혔다고 한 교회 단체가 밝혔다.",
        ),
        (
            "<p>本网站使用cookies以改善您的浏览体验，继续浏览即表示您同意我们使用cookies。</p>"
            "<p>2019年5月3日，吉林珲春口岸外停着的大巴。（新华社记者 李明 摄）</p>"
            "<p>一个教会团体称，警方9日在昆明抓获5名脱北者。</p>"
            "<p>支持我们，请打赏。</p><p>点击查看全文</p>",
            "一个教会团体称，警方9日在昆明抓获5名脱北者。",
        ),
    ],
)
def test_korean_and_chinese_descriptions_in_blocks_keep_only_the_report(html: str, kept: str) -> None:
    assert strip_clutter(clean_text(html)) == kept


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (
            "2019년 5월 3일 중국 지린성 훈춘 세관 앞에 버스들이 서 있다.\n사진=게티이미지\n"
            "경찰은 지난 9일 버스터미널에서 탈북민 5명을 붙잡았다고 한 교회 단체가 밝혔다.",
            "경찰은 지난 9일 버스터미널에서 탈북민 5명을 붙잡았다고 한 교회 단체가 밝혔다.",
        ),
        (
            "2019年5月3日，吉林珲春口岸外停着的大巴。（新华社记者 李明 摄）\n"
            "一个教会团体称，警方9日在汽车站抓获5名脱北者。",
            "一个教会团体称，警方9日在汽车站抓获5名脱北者。",
        ),
        (
            "2019年5月3日，吉林珲春口岸外停着的大巴。\n李明 摄\n一个教会团体称，警方9日在汽车站抓获5名脱北者。",
            "一个教会团体称，警方9日在汽车站抓获5名脱北者。",
        ),
    ],
)
def test_korean_and_chinese_captions_are_dropped(text: str, kept: str) -> None:
    assert strip_clutter(text) == kept


# --- summaries of whole articles ----------------------------------------------------------------------

EN_ARTICLE = """Accept all cookies
We use cookies to improve your experience on our website. By continuing to browse, you agree to our use of cookies.

China sends hundreds of North Korean detainees back across the border

By Jane Roe

SEOUL, Oct. 11 (Example News) - Chinese authorities sent about 450 North Korean detainees back across the \
border on Monday night, a Seoul-based monitoring group said on Wednesday.

Guards watch the Yalu river from a watchtower near the border. Photo: John Smith / AFP via Getty Images

The group said buses left detention centres in Jilin province and crossed at Hunchun and Dandong. Most of \
those returned were women, according to the group.

Advertisement

Mr. Park, a researcher at the group, said the U.S. and the U.N. had been briefed. "We are deeply worried \
about their fate," he said.

Support our journalism. Become a supporter today and help keep our reporting free for everyone.

Why does Beijing keep doing this?

Share on Facebook
Sign up for our daily newsletter to get the latest news delivered to your inbox.
Read more: Earlier deportations in August
© 2023 Example News. All rights reserved.
"""
EN_LEAD = (
    "Chinese authorities sent about 450 North Korean detainees back across the border on Monday night, "
    "a Seoul-based monitoring group said on Wednesday."
)

KO_ARTICLE = """이 사이트는 쿠키를 사용합니다. 계속 이용하시면 쿠키 사용에 동의하는 것으로 간주합니다.

(서울=가상뉴스) 김민수 기자 = 중국 당국이 지난 9일 밤 탈북민 약 500명을 북한으로 강제 송환했다고 서울에 있는 \
인권단체가 11일 밝혔다.

▲ 중국 단둥에서 바라본 압록강 철교. 2023.10.10 [사진=가상뉴스]

이 단체에 따르면 송환된 사람들은 지린성과 랴오닝성의 수용시설에서 버스로 옮겨져 투먼과 단둥 등 국경 다리를 건넜다. \
송환자 가운데 상당수는 여성인 것으로 알려졌다.

정부는 중국 측에 우려를 전달했다고 밝혔다.정부 관계자는 추가 확인이 필요하다고 말했다.

이 기사를 공유합니다
댓글 0
기자 구독하기
ⓒ 가상뉴스, 무단 전재 및 재배포 금지
"""
KO_LEAD = "중국 당국이 지난 9일 밤 탈북민 약 500명을 북한으로 강제 송환했다고 서울에 있는 인권단체가 11일 밝혔다."

ZH_ARTICLE = """本网站使用Cookie以提升您的浏览体验，继续浏览即表示您同意我们使用Cookie。

【示例新闻网讯】据总部位于首尔的人权组织周三披露，中国当局于10月9日夜间将约500名朝鲜脱北者强制遣返回朝鲜。

图为丹东与新义州之间的鸭绿江大桥。（图片来源：示例图库）

该组织称，被遣返者多为女性，他们从吉林和辽宁的拘留设施被大巴押送至图们等口岸。韩国统一部表示已向中方表达关切。

分享到：微信 微博
责任编辑：王某
版权所有 未经授权不得转载
"""
ZH_LEAD = "据总部位于首尔的人权组织周三披露，中国当局于10月9日夜间将约500名朝鲜脱北者强制遣返回朝鲜。"

# Pieces of the clutter above that must never show in a summary.
CLUTTER_PIECES = [
    "cookie", "Cookie", "Getty", "Photo", "Advertisement", "journalism", "supporter", "Share", "newsletter",
    "Read more", "©", "Jane Roe", "SEOUL", "Example News)", "?",
    "쿠키", "사진", "공유", "댓글", "구독", "ⓒ", "무단", "가상뉴스", "기자",
    "图片", "分享", "编辑", "版权", "转载", "【",
]  # fmt: skip


@pytest.mark.parametrize(
    ("title", "body", "language", "lead"),
    [
        ("China sends hundreds of North Korean detainees back", EN_ARTICLE, "en", EN_LEAD),
        ("중국, 탈북민 약 500명 강제북송", KO_ARTICLE, "ko", KO_LEAD),
        ("中国将约500名朝鲜脱北者遣返", ZH_ARTICLE, "zh", ZH_LEAD),
    ],
    ids=["en", "ko", "zh"],
)
def test_article_summary_has_the_lead_fact_and_no_clutter(title: str, body: str, language: str, lead: str) -> None:
    summary = summarize([SummaryInput(title=title, body=body, language=language)])
    assert lead in summary
    assert len(summary) <= 400
    assert not has_clutter(summary)
    assert [piece for piece in CLUTTER_PIECES if piece in summary] == []


def test_summary_keeps_sentences_in_article_order() -> None:
    summary = summarize([SummaryInput("t", EN_ARTICLE, "en")])
    assert summary.startswith(EN_LEAD)
    assert summary.index(EN_LEAD) < summary.index("The group said buses left")


def test_summary_uses_only_the_lead_source_language() -> None:
    summary = summarize(
        [
            SummaryInput("중국, 탈북민 강제북송", KO_ARTICLE, "ko-KR"),
            SummaryInput("China sends detainees back", EN_ARTICLE, "en"),
        ]
    )
    assert KO_LEAD in summary
    assert "Chinese" not in summary


def test_summary_does_not_repeat_a_lead_told_by_two_sources() -> None:
    second = "Chinese authorities sent about 450 North Korean detainees back across the border on Monday night."
    summary = summarize(
        [SummaryInput("t", EN_ARTICLE, "en"), SummaryInput("t2", second + " The ministry had no comment.", "en")]
    )
    assert summary.count("North Korean detainees back across the border") == 1


def test_fact_terms_pull_in_the_sentence_that_carries_them() -> None:
    body = (
        "Rights groups have long criticised the policy of returning escapees to the North.\n"
        "The practice was halted during the pandemic when the border was sealed.\n"
        "Officials on both sides have rarely discussed the matter in public settings.\n"
        "Witnesses saw the convoy cross the bridge from Tumen to Onsong before dawn."
    )
    plain = summarize([SummaryInput("t", body, "en")], max_sentences=2)
    favoured = summarize([SummaryInput("t", body, "en", fact_terms=("Tumen", "Onsong"))], max_sentences=2)
    assert "Tumen" not in plain
    assert "Witnesses saw the convoy cross the bridge from Tumen to Onsong before dawn." in favoured
    assert favoured.startswith("Rights groups have long criticised")


def test_questions_and_bare_quotes_are_not_summaries() -> None:
    body = (
        "Will Beijing ever change its policy on the escapees?\n"
        "“We have no idea where our sisters are now.”\n"
        "The group counted at least 200 people on the buses that crossed the river."
    )
    assert summarize([SummaryInput("t", body, "en")]) == (
        "The group counted at least 200 people on the buses that crossed the river."
    )


def test_a_sentence_longer_than_the_limit_is_cut_at_a_word_with_an_ellipsis() -> None:
    sentence = "Chinese border guards moved a large group of detainees across the river bridge before dawn on Monday."
    summary = summarize([SummaryInput("t", sentence, "en")], max_chars=60)
    assert len(summary) <= 60
    assert summary.endswith("…")
    prefix = summary[:-1]
    assert sentence.startswith(prefix)
    assert sentence[len(prefix)] == " "


def test_a_headline_run_into_the_lead_is_cut_from_it() -> None:
    title = "China returns hundreds of detainees to the North"
    body = f"{title} About 450 detainees were sent back across the border on Monday, a monitoring group said."
    assert summarize([SummaryInput(title, body, "en")]) == (
        "About 450 detainees were sent back across the border on Monday, a monitoring group said."
    )


def test_an_overlong_only_sentence_is_cut_rather_than_lost() -> None:
    clause = "detainees were moved from the camps in the north of the province to the river crossing"
    body = f"Witnesses said {clause}, and {clause}, and {clause}, and then {clause} before dawn on Monday."
    assert len(body) > 300
    summary = summarize([SummaryInput("t", body, "en")])
    assert summary.startswith("Witnesses said detainees were moved")
    assert summary.endswith("…")
    assert len(summary) <= 400


def test_sentences_are_dropped_to_fit_the_limit() -> None:
    summary = summarize([SummaryInput("t", EN_ARTICLE, "en")], max_chars=200)
    assert summary == EN_LEAD


@pytest.mark.parametrize(
    "texts",
    [
        [],
        [SummaryInput("t", "", "en")],
        [SummaryInput("t", "Share on Facebook\nAdvertisement\n© 2024 Example Media", "en")],
    ],
)
def test_nothing_to_say_gives_empty_summary(texts: list[SummaryInput]) -> None:
    assert summarize(texts) == ""


def test_summary_is_deterministic() -> None:
    texts = [SummaryInput("t", EN_ARTICLE, "en", ("450", "Dandong")), SummaryInput("t", KO_ARTICLE, "ko")]
    assert summarize(texts) == summarize(list(texts))
    reordered = [SummaryInput("t", EN_ARTICLE, "en", ("Dandong", "450")), texts[1]]
    assert summarize(reordered) == summarize(texts)


@pytest.mark.parametrize(
    ("summary", "expected"),
    [
        ("SEOUL, Oct 9 (Example Wire) - About 500 people were sent back.", True),
        ("(서울=가상뉴스) 김민수 기자 = 탈북민 약 500명이 송환됐다.", True),
        ("Chennai, Jan 01: About 500 people were sent back.", True),
        ("【示例新闻网讯】中国当局将约500人遣返。", True),
        ("About 500 people were sent back. Photo: Jane Roe / AFP", True),
        ("About 500 people were sent back on Monday, a rights group said.", False),
        ("中国当局于10月9日将约500人遣返。韩国表示关切。", False),
    ],
)
def test_has_clutter(summary: str, expected: bool) -> None:
    assert has_clutter(summary) is expected
