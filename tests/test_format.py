"""Telegram HTML rendering of stories: golden alerts, limits, escaping, splitting and callback data.

Golden files live in tests/fixtures/alerts/<case>.html. After a deliberate change to the format, rewrite
them with `UPDATE_GOLDEN=1 pytest tests/test_format.py` and read every changed file before committing.
"""

from __future__ import annotations

import difflib
import os
import random
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bot.domain import (
    Action,
    Chat,
    ChatKind,
    ChatSettings,
    DeliveryMode,
    Facts,
    OutboxEntry,
    OutboxKind,
    OutboxStatus,
    Source,
    Story,
    Topic,
    Urgency,
)
from bot.services import FeedHealth, ReloadResult, Status
from bot.telegram.callbacks import (
    ActionCallback,
    Button,
    MuteCallback,
    SourcesCallback,
    action_callback,
    mute_callback,
    parse_callback,
    parse_settings_callback,
    parse_subscribe_callback,
)
from bot.telegram.html import MAX_MESSAGE, clean, clip, fit_html, safe_url, utf16_len, visible
from bot.telegram.messages.alert import ALERT_VISIBLE, TITLE_CHARS, mute_undo_buttons, render_alert
from bot.telegram.messages.commands import (
    render_help,
    render_list,
    render_settings,
    render_subscription,
    render_topic_picker,
)
from bot.telegram.messages.health import render_feed_health, render_reload, render_status
from bot.telegram.messages.lists import render_actions, render_digest, render_story_line, render_story_list
from bot.telegram.messages.story import render_action_card, render_followup, render_sources, render_story_full
from bot.telegram.messages.view import View, view_for
from bot.telegram.messages.wording import format_fact_date

GOLDEN = Path(__file__).parent / "fixtures" / "alerts"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
TOPIC_NAMES = {"nk-repatriation": "Forced repatriation of North Koreans"}
OCT_12 = datetime(2023, 10, 12, 8, 30, tzinfo=UTC)


# =====================================================================================================
# A checker for what Telegram's HTML parse mode accepts
# =====================================================================================================

ALLOWED = {"b", "i", "u", "s", "a", "code", "pre", "blockquote", "tg-spoiler"}
# Tags as this module writes them: no attributes except a double-quoted href on <a>.
OUR_TAG = re.compile(r'</?(?:b|i|u|s|code|pre|blockquote|tg-spoiler)>|<a href="[^"<>]*">|</a>')
ENTITY = re.compile(r"&(?:amp|lt|gt|quot|#[0-9]+|#x[0-9a-fA-F]+);")
FORBIDDEN_CHARS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


class TelegramHTML(HTMLParser):
    """Collects problems: unknown tags, bad attributes, bad nesting, unclosed tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED:
            self.problems.append(f"tag <{tag}> not allowed")
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if [name for name, _ in attrs] != ["href"] or not href.startswith(("http://", "https://")):
                self.problems.append(f"bad <a> attributes {attrs}")
            if "a" in self.stack:
                self.problems.append("<a> inside <a>")
        elif attrs:
            self.problems.append(f"<{tag}> has attributes {attrs}")
        # Telegram: nothing may be nested in, or contain, code and pre.
        if {"code", "pre"} & set(self.stack) or (tag in ("code", "pre") and self.stack):
            self.problems.append(f"<{tag}> nested with code/pre in {self.stack}")
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.problems.append(f"self-closing <{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_comment(self, data: str) -> None:
        self.problems.append("comment")

    def handle_decl(self, decl: str) -> None:
        self.problems.append("declaration")

    def handle_pi(self, data: str) -> None:
        self.problems.append("processing instruction")


def problems(text: str) -> list[str]:
    """Everything that would make Telegram reject `text`, or that a feed smuggled through."""
    found: list[str] = []
    if utf16_len(text) > MAX_MESSAGE:
        found.append(f"{utf16_len(text)} UTF-16 units")
    if not text.strip():
        found.append("empty message")
    parser = TelegramHTML()
    parser.feed(text)
    parser.close()
    found += parser.problems
    if parser.stack:
        found.append(f"unclosed {parser.stack}")
    bare = OUR_TAG.sub("", text)
    if "<" in bare or ">" in bare:
        found.append(f"raw angle bracket: {bare[max(bare.find('<'), bare.find('>')) - 20 :][:60]!r}")
    if "&" in ENTITY.sub("", bare):
        found.append("raw & or unknown entity")
    if FORBIDDEN_CHARS.search(text.replace("\n", "")):
        found.append("control or bidi override character")
    return found


def assert_valid(text: str) -> None:
    assert problems(text) == [], text[:500]


# =====================================================================================================
# Stories written for these tests
# =====================================================================================================


def source(outlet: str, title: str, link: str, hours: int = 0) -> Source:
    return Source(feed=outlet, outlet=outlet, title=title, link=link, published=OCT_12 + timedelta(hours=hours))


EMBASSY = Action(
    id="write-embassy",
    title="Write to the Chinese embassy",
    text=(
        "Dear Ambassador, I am writing about the 500-600 North Koreans returned from Tumen and Dandong "
        "on 9 October 2023. Please tell us where they are, and stop further forced returns:\n"
        "people sent back face prison camps and torture."
    ),
    url="https://act.example/embassy",
    targets=("Embassy of the People's Republic of China", "consular.section@embassy.example"),
)
MP = Action(
    id="ask-mp",
    title="Ask your MP to raise it",
    text="Ask your MP to put a written question to the foreign minister about the 9 October returns.",
)


def urgent_story() -> Story:
    return Story(
        id=12,
        title="China sends hundreds of detained North Koreans back across the border in one night",
        summary=(
            "Chinese authorities moved roughly 500 to 600 North Koreans from detention centres in Jilin "
            "and Liaoning to the crossings at Tumen and Dandong on the night of 9 October, a Seoul-based "
            "rights group says. Most of those returned are thought to be women.\n\n"
            "Rights groups warn that people sent back are questioned, jailed and often sent to labour camps."
        ),
        facts=Facts(
            count_low=500,
            count_high=600,
            places=("Tumen", "Onsong", "Dandong", "Sinuiju", "Jilin"),
            dates=("2023-10-09",),
            reporters=("TJWG", "Human Rights Watch"),
            outlets=5,
        ),
        urgency=Urgency.URGENT,
        topics=("nk-repatriation",),
        sources=(
            source("Meridian Wire", "Hundreds returned to North Korea overnight",
                   "https://meridian-wire.example/asia/2023/10/12/returns", 0),
            source("Peninsula Report", "China's largest return of escapees in years",
                   "https://peninsula-report.example/news/5512", 1),
            source("Daily Ledger World", "Rights group: up to 600 sent back by China",
                   "https://ledger.example/world/rights-group-600", 2),
            source("Border Rights Alliance", "Hundreds of North Koreans forcibly returned in a single night",
                   "https://bra.example/statements/2023-10-12", 3),
            source("KNBX World", "Buses seen at Dandong crossing, activists say",
                   "https://knbx.example/world/dandong-buses", 4),
        ),
        actions=(EMBASSY, MP),
        first_seen=OCT_12,
        last_seen=OCT_12 + timedelta(hours=4),
    )  # fmt: skip


def korean_story() -> Story:
    return Story(
        id=31,
        title='중국, 탈북민 수백 명 하룻밤에 강제 북송…인권단체 "수년 만의 최대 규모"',
        summary=(
            "중국 당국이 지린성과 랴오닝성 수용시설에 갇혀 있던 북한 이탈 주민 500~600명을 9일 밤 "
            "투먼과 단둥의 국경을 통해 북한으로 넘겼다고 서울의 한 인권단체가 밝혔다. "
            "송환된 사람 대부분은 여성인 것으로 알려졌다."
        ),
        facts=Facts(
            count_low=500, count_high=600, places=("투먼", "단둥"), dates=("2023-10-09",),
            reporters=("전환기정의워킹그룹",), outlets=2,
        ),
        urgency=Urgency.URGENT,
        topics=("nk-repatriation",),
        sources=(
            source("한빛일보", "탈북민 수백 명 강제 북송", "https://hanbit.example/article/20231012001", 0),
            source("동아옵서버", "중국, 탈북민 대규모 송환", "https://dongya.example/news/77", 2),
        ),
        actions=(
            Action(id="petition-ko", title="국회 청원에 동참하기", text="강제 북송 중단을 요구하는 청원에 서명하세요."),
        ),
        language="ko",
    )  # fmt: skip


def update_story() -> Story:
    return Story(
        id=44,
        title="UN rapporteur presses China for news of the women returned last autumn",
        summary=(
            "The UN special rapporteur on North Korea asked Beijing to say what became of the people it "
            "returned in October, saying families have heard nothing since."
        ),
        facts=Facts(places=("China",), dates=("2024-03",), reporters=("UN Special Rapporteur",), outlets=2),
        urgency=Urgency.UPDATE,
        topics=("nk-repatriation",),
        sources=(
            source("Meridian Wire", "UN expert asks China about returned North Koreans",
                   "https://meridian-wire.example/un/2024/03/04/rapporteur", 0),
            source("Border Rights Alliance", "UN expert says China must answer for October returns",
                   "http://bra.example/statements/un-expert", 5),
        ),
        follow_up_of=7,
    )  # fmt: skip


HOSTILE_TITLE = '<script>alert("pwned")</script> <b>Bold</b> claim: 600 &amp; counting — "quoted" \'single\' 🚨🇰🇵'


def hostile_markup_story() -> Story:
    return Story(
        id=66,
        title=HOSTILE_TITLE,
        summary='A summary with <i>tags</i>, &lt;entities&gt;, </pre> and a NUL\x00 and ESC\x1b[31m codes.',
        facts=Facts(
            count_low=3, count_high=3, places=('<img src=x onerror="alert(1)">', "Tumen & Onsong"),
            dates=("2023-10-09", "<b>yesterday</b>"), reporters=("</b></a>",), outlets=4,
        ),
        urgency=Urgency.URGENT,
        topics=("nk-repatriation",),
        sources=(
            source("<b>Evil</b> & Co", "Quotes \"in\" 'title'",
                   "https://news.example/a?q=\"x\"&y='z'&lt;", 0),
            source("Script Outlet", "javascript link", "javascript:alert(document.cookie)", 1),
            source("Data Outlet", "data link", "data:text/html,<script>alert(1)</script>", 2),
            source("Tab Outlet", "split scheme", "java\tscript:alert(1)", 3),
        ),
        actions=(
            Action(
                id="evil",
                title='</b><a href="javascript:alert(1)">Click</a>',
                text="Send <b>this</b> & that: \"now\"",
                url="javascript:alert(1)",
                targets=("<script>", "a&b@example.org"),
            ),
        ),
    )  # fmt: skip


def long_title_story() -> Story:
    # An entity-producing '&' and a quote recur through the title, so a cut near 300 units lands near one.
    title = ('North Koreans & Chinese guards at the "Tumen" crossing; ' * 200)[:10_000]
    return replace(
        urgent_story(),
        id=67,
        title=title,
        summary=("Witnesses described buses & trucks arriving after dark. " * 120).strip(),
    )


def rtl_story() -> Story:
    return Story(
        id=68,
        title="\u202eترحيل 600 من الكوريين الشماليين\u202c — \u2067גירוש המוני\u2069 מסין 🚨👨‍👩‍👧",
        summary="\u202bقالت منظمة حقوقية\u202c إن الصين أعادت مئات الأشخاص.\u202e gnirts desrever",
        facts=Facts(count_low=600, count_high=600, places=("\u202eدان دونغ",), outlets=2),
        urgency=Urgency.URGENT,
        topics=("nk-repatriation",),
        sources=(
            source("\u202eالجزيرة الحرة", "\u2066خبر\u2069", "https://arab-news.example/a/1", 0),
            source("חדשות הגבול", "\u202dידיעה", "https://il-news.example/b/2", 1),
        ),
        actions=(Action(id="share", title="\u202eشارك الخبر", text="انشر هذا 📣"),),
    )  # fmt: skip


OUTLETS_20 = [
    "Meridian Wire", "Peninsula Report", "Daily Ledger World", "Border Rights Alliance", "KNBX World",
    "Hanbit Ilbo", "Dongya Observer", "Harbour Times", "Northern Courier", "Asia Desk Daily",
    "Seoul Evening Post", "Yalu River Review", "The Frontier Journal", "Pacific Dispatch",
    "Continental Herald", "Capital Gazette", "Refugee Watch Weekly", "Lantern News", "Coastline Press",
    "Atlas Bulletin",
]  # fmt: skip


def many_sources_story() -> Story:
    sources = tuple(
        source(
            OUTLETS_20[n % 20],
            f"Report {n + 1} on the October returns of North Koreans from China",
            f"https://outlet{n % 20:02d}.example/world/2023/10/returns-{n + 1}",
            n,
        )
        for n in range(40)
    )
    return replace(urgent_story(), id=70, sources=sources, facts=replace(urgent_story().facts, outlets=20))


CASES: dict[str, Callable[[], Story]] = {
    "urgent_en": urgent_story,
    "korean": korean_story,
    "update_no_count": update_story,
    "hostile_markup": hostile_markup_story,
    "hostile_long_title": long_title_story,
    "hostile_rtl": rtl_story,
    "many_sources": many_sources_story,
}


# =====================================================================================================
# Golden files
# =====================================================================================================


@pytest.mark.parametrize("case", sorted(CASES))
def test_alert_matches_golden_file(case: str) -> None:
    text = render_alert(CASES[case](), topic_names=TOPIC_NAMES).text
    path = GOLDEN / f"{case}.html"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes((text + "\n").encode())
    expected = path.read_bytes().decode()
    if text + "\n" != expected:
        diff = difflib.unified_diff(
            expected.splitlines(), text.splitlines(), f"{path.name} (golden)", "rendered", lineterm=""
        )
        pytest.fail("alert differs from golden file (UPDATE_GOLDEN=1 rewrites it):\n" + "\n".join(diff))


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_golden_alert_is_valid_telegram_html(case: str) -> None:
    assert_valid(render_alert(CASES[case](), topic_names=TOPIC_NAMES).text)


def test_no_stray_golden_files() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.html")) == sorted(CASES)


# =====================================================================================================
# What a reader sees in an alert
# =====================================================================================================


def test_urgent_alert_shows_one_facts_line_a_short_summary_and_the_outlets() -> None:
    text = render_alert(urgent_story(), topic_names=TOPIC_NAMES).text
    assert text.startswith("🚨 <b>URGENT</b> · Forced repatriation of North Koreans\n")
    for expected in (
        "👥 500–600 people · 📍 Tumen, Onsong +3 · 📅 9 Oct 2023",
        "Most of those returned are thought to be women.",
        '<a href="https://ledger.example/world/rights-group-600">Daily Ledger World</a> and 2 more',
        "Full story: /story_12",
    ):
        assert expected in text
    # The action texts live in the cards the buttons open; the third summary sentence waits for /story.
    assert "Dear Ambassador" not in text and "labour camps" not in text


def test_update_alert_has_no_people_and_names_the_earlier_story() -> None:
    text = render_alert(update_story()).text
    assert text.startswith("🔔 <b>Update</b>")
    assert "↪️ Follow-up to /story_7" in text
    assert "👥" not in text
    assert "📅 Mar 2024" in text


HOSTILE_LINKS = [
    ("javascript:alert(1)", None),
    ("JaVaScRiPt:alert(1)", None),
    ("\x00javascript:alert(1)", None),
    ("java\tscript:alert(1)", None),
    ("data:text/html,<script>", None),
    ("vbscript:msgbox", None),
    ("//evil.example/path", None),
    ("https://", None),
    ("ftp://files.example/a", None),
    ("https://ok.example/a", "https://ok.example/a"),
    ("  HTTP://ok.example/a  ", "HTTP://ok.example/a"),
    ('https://ok.example/a?q="x"&y=<z>', "https://ok.example/a?q=%22x%22&y=%3Cz%3E"),
    ("https://ok.example/a b", "https://ok.example/a%20b"),
    ("https://ok.example/\u202egpj.exe", "https://ok.example/gpj.exe"),
    ("https://ok.example/" + "a" * 2000, None),
]


@pytest.mark.parametrize(("raw", "expected"), HOSTILE_LINKS)
def test_only_http_links_become_hrefs(raw: str, expected: str | None) -> None:
    assert safe_url(raw) == expected


def test_hostile_text_is_shown_escaped_never_as_markup() -> None:
    text = render_alert(hostile_markup_story()).text
    assert_valid(text)
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &lt;b&gt;Bold&lt;/b&gt;" in text
    assert "600 &amp;amp; counting" in text  # a feed's literal "&amp;" is shown as written
    assert "&lt;b&gt;Evil&lt;/b&gt; &amp;…" in text
    assert 'href="https://news.example/a?q=%22x%22&amp;y=&#x27;z&#x27;&amp;lt;"' in text
    reported = next(line for line in text.splitlines() if line.startswith("📰"))
    assert "Script Outlet, Data Outlet and 1 more" in reported  # named, not linked
    assert 'href="javascript' not in text and 'href="data' not in text
    assert "\x00" not in text and "\x1b" not in text


def test_bidi_overrides_are_removed_and_rtl_text_kept() -> None:
    text = render_alert(rtl_story()).text
    assert_valid(text)
    assert "ترحيل 600 من الكوريين الشماليين — גירוש המוני מסין 🚨👨‍👩‍👧" in text
    assert "👨‍👩‍👧" in text  # the ZWJ family emoji survives
    for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069":
        assert ch not in text


def test_a_10000_character_title_is_cut_near_160_characters_with_an_ellipsis() -> None:
    text = render_alert(long_title_story()).text
    title = re.search(r"\n<b>(.*)</b>\n", text)
    assert title is not None
    assert title.group(1).endswith("…")
    assert 120 <= len(visible(title.group(1))) <= TITLE_CHARS


# --- phone-sized -------------------------------------------------------------------------------------


LONG_TITLES = {
    "en": "China forcibly returns hundreds of North Korean escapees held in Jilin and Liaoning detention centres "
          "through the Tumen and Dandong crossings in a single night, rights groups and witnesses say",
    "ko": "중국, 지린·랴오닝 구금시설에 있던 탈북민 수백 명을 하룻밤 새 투먼·단둥 통해 강제북송…인권단체 "
          "\"코로나 이후 최대 규모\"라며 국제사회 대응 촉구하고 가족들은 생사 확인 못 해 애태워",
    "zh": "人权团体称中国一夜之间经图们和丹东口岸将关押在吉林、辽宁拘留所的数百名脱北者强制遣返朝鲜，"
          "家属至今无法确认他们的下落，国际社会呼吁中方立即停止遣返并允许联合国难民署介入",
}
LONG_SUMMARIES = {
    "en": "Chinese police moved between 500 and 600 North Koreans from detention centres in Jilin and Liaoning "
          "to the border crossings at Tumen and Dandong on the night of 9 October, according to a Seoul-based "
          "rights group that spoke with witnesses on both sides of the river. Most of those sent back are "
          "thought to be women. Relatives say they have had no word since. " * 3,
    "ko": "중국 공안이 10월 9일 밤 지린성과 랴오닝성 구금시설에 있던 탈북민 500~600명을 투먼과 단둥 국경을 통해 "
          "북한으로 넘겼다고 서울의 한 인권단체가 강 양쪽의 목격자를 인용해 밝혔다. 북송된 이들 대부분은 여성인 "
          "것으로 알려졌다. 가족들은 그 뒤로 아무 소식도 듣지 못했다고 말했다. " * 3,
    "zh": "首尔一家人权团体援引图们江两岸目击者的话说，中国警方于10月9日夜间将关押在吉林和辽宁拘留所的500至600名"
          "脱北者经图们和丹东口岸移交朝鲜。被遣返者大多是女性。家属说此后再也没有他们的消息。" * 3,
}


def phone_story(language: str) -> Story:
    """12 sources with long titles and long outlet names, a long title and summary, every fact, 5 actions."""
    code = {"en": "en", "ko": "ko", "zh": "zh"}[language]
    sources = tuple(
        source(f"{OUTLETS_20[n]} International Edition", LONG_TITLES[language] * 2,
               f"https://outlet{n:02d}.example/{'x' * 200}/{n}", n)
        for n in range(12)
    )
    story = replace(many_sources_story(), id=123456, title=LONG_TITLES[language], summary=LONG_SUMMARIES[language],
                    sources=sources, language=code, follow_up_of=123400,
                    facts=Facts(count_low=1500, count_high=2600, places=("Tumen River crossing", "Dandong",
                                "Sinuiju", "Hyesan"), dates=("2023-10-09", "2023-10-10"),
                                reporters=("Transitional Justice Working Group",), outlets=12))
    return replace(story, actions=(*story.actions, *(replace(MP, id=f"a{n}", title="T" * 90) for n in range(3))))


@pytest.mark.parametrize("language", ["en", "ko", "zh-Hans"])
@pytest.mark.parametrize("story_language", ["en", "ko", "zh"])
def test_an_alert_of_12_sources_and_long_titles_fits_a_phone_in_every_language(
    language: str, story_language: str
) -> None:
    rendered = render_alert(phone_story(story_language), view=view_for(language, "Asia/Seoul"))
    assert_valid(rendered.text)
    assert len(visible(rendered.text)) <= ALERT_VISIBLE
    assert utf16_len(rendered.text) <= MAX_MESSAGE
    assert len(rendered.buttons) <= 4  # at most 3 actions, then Sources and Mute
    summary = rendered.text.split("\n\n")[1]
    assert len(summary) >= 60  # room is left for a real summary (two Chinese sentences are short), not a stub
    assert "/story_123456" in rendered.text and "/story_123400" in rendered.text


# --- buttons ---------------------------------------------------------------------------------------------


def test_alert_buttons_open_action_cards_sources_and_mute() -> None:
    buttons = render_alert(urgent_story()).buttons
    assert buttons == (
        (Button("✍️ Write to the Chinese embassy", callback_data="act:12:write-embassy"),),
        (Button("✍️ Ask your MP to raise it", callback_data="act:12:ask-mp"),),
        (
            Button("📚 Sources", callback_data="src:12"),
            Button("🔕 Mute topic", callback_data="mute:nk-repatriation"),
        ),
    )


def test_after_a_mute_the_alert_offers_undo() -> None:
    rows = mute_undo_buttons(urgent_story())
    assert rows[-1] == (
        Button("📚 Sources", callback_data="src:12"), Button("↩️ Undo mute", callback_data="unmute:nk-repatriation")
    )
    assert parse_callback("unmute:nk-repatriation") == MuteCallback(topic_id="nk-repatriation", undo=True)


def test_long_ids_fall_back_to_indexes_within_64_bytes() -> None:
    long_id = "write-to-the-permanent-mission-of-china-to-the-united-nations-office-geneva"
    story = replace(
        urgent_story(),
        id=123456789012,
        actions=(replace(MP, id=long_id, title="A" * 200),),
        topics=("topic-" + "x" * 80,),
    )
    rows = render_alert(story).buttons
    data = [b.callback_data or "" for row in rows for b in row]
    assert data == ["act:123456789012:#0", "src:123456789012", "mute:123456789012:#0"]
    assert all(len(d.encode()) <= 64 for d in data)
    assert utf16_len(rows[0][0].label) <= 43  # "✍️ " + 40 units
    assert parse_callback(data[0]) == ActionCallback(123456789012, index=0)
    assert parse_callback(data[2]) == MuteCallback(story_id=123456789012, index=0)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("act:12:write-embassy", ActionCallback(12, action_id="write-embassy")),
        ("act:12:#3", ActionCallback(12, index=3)),
        ("src:12", SourcesCallback(12)),
        ("mute:nk-repatriation", MuteCallback(topic_id="nk-repatriation")),
        ("mute:5:#1", MuteCallback(story_id=5, index=1)),
        ("act:x:write", None),
        ("act:12:", None),
        ("act:12:#²", None),
        ("src:", None),
        ("src:1²", None),
        ("mute:", None),
        ("mute:5:x", None),
        ("other:1", None),
        ("", None),
    ],
)
def test_parse_callback(data: str, expected: object) -> None:
    assert parse_callback(data) == expected


def test_callback_builders_round_trip() -> None:
    story = urgent_story()
    assert parse_callback(action_callback(story, 1)) == ActionCallback(12, action_id="ask-mp")
    assert parse_callback(mute_callback(story)) == MuteCallback(topic_id="nk-repatriation")


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"callback_data": "a", "url": "https://x.example"}, {"callback_data": "x" * 65}],
)
def test_button_rejects_bad_data(kwargs: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        Button("label", **kwargs)


# =====================================================================================================
# Follow-up notes, full stories, sources, action cards, lines, digests
# =====================================================================================================


def test_followup_says_the_story_is_now_urgent() -> None:
    note = render_followup(urgent_story(), Urgency.UPDATE)
    assert note.text.splitlines()[0] == "🚨 <b>Now URGENT</b>"
    assert "👥 500–600 people · 📍 Tumen, Onsong +3 · 📅 9 Oct 2023 · 📰 5 outlets" in note.text
    assert "/story_12" in note.text
    assert [b.callback_data for row in note.buttons for b in row] == [
        "act:12:write-embassy", "act:12:ask-mp", "src:12",
    ]  # fmt: skip
    assert_valid(note.text)


def test_followup_when_urgency_drops() -> None:
    note = render_followup(update_story(), Urgency.URGENT)
    assert note.text.startswith("🔔 <b>No longer urgent</b>\n")
    assert note.buttons == ((Button("📚 Sources", callback_data="src:44"),),)


def test_full_story_of_40_sources_lists_every_link_over_several_valid_messages() -> None:
    story = replace(
        many_sources_story(),
        sources=tuple(replace(s, link=s.link + "?" + "context=" + "x" * 150) for s in many_sources_story().sources),
    )
    messages = render_story_full(story)
    assert len(messages) >= 2
    for message in messages:
        assert_valid(message)
    joined = "\n".join(messages)
    for s in story.sources:
        assert f'href="{s.link}"' in joined
    assert joined.count("\n40. ") == 1
    # Each split falls between lines: no message starts or ends in the middle of a source line.
    for message in messages[1:]:
        assert re.match(r"\d+\. <a href=|<b>What you can do</b>\n✍️|✍️", message), message[:80]
    assert "Dear Ambassador" in joined and "🎯 Send to:" in joined


def test_full_story_shows_what_the_alert_leaves_out() -> None:
    story = replace(urgent_story(), summary="Long. " * 600)
    (message, *rest) = render_story_full(story)
    joined = "\n".join([message, *rest])
    assert joined.count("Long.") == 600
    assert "📍 Places: Tumen, Onsong, Dandong, Sinuiju, Jilin" in joined
    assert "First seen 12 Oct 2023 08:30 UTC, last update 12 Oct 2023 12:30 UTC" in joined


def test_sources_of_a_hostile_story_show_non_web_links_as_code() -> None:
    (message,) = render_sources(hostile_markup_story())
    assert_valid(message)
    assert (
        "2. javascript link — Script Outlet · 12 Oct 2023 09:30 UTC · <code>javascript:alert(document.cookie)</code>"
        in message
    )


def test_action_card_puts_the_text_in_a_pre_block_and_targets_in_code() -> None:
    card = render_action_card(urgent_story(), EMBASSY)
    assert_valid(card)
    assert card == (
        "✍️ <b>Write to the Chinese embassy</b>\n"
        "For /story_12: <i>China sends hundreds of detained North Koreans back across the border in one "
        "night</i>\n\n"
        "<pre>Dear Ambassador, I am writing about the 500-600 North Koreans returned from Tumen and "
        "Dandong on 9 October 2023. Please tell us where they are, and stop further forced returns:\n"
        "people sent back face prison camps and torture.</pre>\n\n"
        "<b>Send to</b> (tap to copy)\n"
        "<code>Embassy of the People&#x27;s Republic of China</code>\n"
        "<code>consular.section@embassy.example</code>\n"
        '🔗 <a href="https://act.example/embassy">act.example</a>'
    )


def test_action_card_of_a_huge_letter_fits_one_message() -> None:
    letter = replace(EMBASSY, text="Please act now & answer. " * 600)
    card = render_action_card(urgent_story(), letter)
    assert_valid(card)
    assert "…</pre>" in card


def test_story_line() -> None:
    assert render_story_line(urgent_story()) == (
        "/story_12 · China sends hundreds of detained North Koreans back across the border in one night · "
        "5 outlets · 12 Oct 2023"
    )
    assert render_story_line(hostile_markup_story()).startswith("/story_66 · &lt;script&gt;")
    # A right-to-left title would make the line right-to-left; a leading LRM keeps "/story_68 ·" first.
    assert render_story_line(rtl_story()) == (
        "\u200e/story_68 · ترحيل 600 من الكوريين الشماليين — גירוש המוני מסין 🚨👨‍👩‍👧 · 2 outlets · 12 Oct 2023"
    )


def test_digest_puts_urgent_stories_first() -> None:
    since = datetime(2023, 10, 11, 8, 0, tzinfo=UTC)
    (message,) = render_digest([update_story(), urgent_story()], since=since)
    assert_valid(message)
    assert message.splitlines()[:4] == [
        "🗞 <b>Digest</b>: 2 stories since 11 Oct 2023 08:00 UTC",
        "",
        "🚨 <b>Urgent</b>",
        render_story_line(urgent_story()),
    ]
    assert render_digest([], since=since) == ["🗞 No new stories since 11 Oct 2023 08:00 UTC."]


def test_digest_of_many_stories_splits_between_lines() -> None:
    stories = [replace(long_title_story(), id=n) for n in range(100)]
    messages = render_digest(stories, since=OCT_12)
    assert len(messages) > 1
    for message in messages:
        assert_valid(message)
    assert sum(m.count("\n/story_") for m in messages) + sum(m.startswith("/story_") for m in messages) == 100


# =====================================================================================================
# Helpers, table-driven
# =====================================================================================================


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-10-09", "9 Oct 2023"),
        ("2023-10", "Oct 2023"),
        ("2024-02-29", "29 Feb 2024"),
        ("2023-13-01", "2023-13-01"),
        ("<b>soon</b>", "&lt;b&gt;soon&lt;/b&gt;"),
    ],
)
def test_format_fact_date(value: str, expected: str) -> None:
    assert format_fact_date(value) == expected


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("one two three four", 12, "one two thr…"),  # a word boundary this far back is not used
        ("Hundreds of North Koreans forcibly returned", 40, "Hundreds of North Koreans forcibly…"),
        ("a & b & c & d", 10, "a &amp; b…"),
        ("a & b & c & d", 7, "a…"),  # never "a &am…": the cut falls between plain characters
        ("🚨🚨🚨🚨", 5, "🚨🚨…"),  # an emoji is two units
        ("abc👨‍👩‍👧", 8, "abc…"),  # an emoji sequence is kept whole or left out
        ("abc👨‍👩‍👧", 11, "abc👨‍👩‍👧"),  # 3 + 2 + 1 + 2 + 1 + 2 units
        ("e\u0301e\u0301e\u0301", 4, "e\u0301…"),  # a combining accent stays with its letter
        ("가나다라마바사아자차카타파하", 6, "가나다라마…"),
    ],
)
def test_clip(text: str, limit: int, expected: str) -> None:
    assert clip(text, limit) == expected
    assert utf16_len(clip(text, limit)) <= limit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\x00b\x1bc\x7fd", "abcd"),
        ("\u202eevil\u202c title", "evil title"),
        ("\u2066iso\u2069", "iso"),
        ("line\nbreak\r\nand\u2028more\ttab", "line break and more tab"),
        ("lone \ud800 surrogate", "lone surrogate"),
        ("\ufeffbom", "bom"),
        ("\u200fمرحبا\u200f", "\u200fمرحبا\u200f"),  # RLM is a mark, not an override: kept
    ],
)
def test_clean(text: str, expected: str) -> None:
    assert clean(text) == expected


def test_fit_html_reopens_tags_across_a_split() -> None:
    block = "<pre>" + "\n".join(f"line {n} " + "word " * 10 for n in range(40)) + "</pre>"
    messages = fit_html(["<b>Title</b>", block], limit=300)
    assert len(messages) > 3
    for message in messages:
        assert utf16_len(message) <= 300
        assert_valid(message)
    assert messages[1].startswith("<pre>") and messages[0].endswith("</pre>")


def test_fit_html_splits_a_line_longer_than_a_message() -> None:
    messages = fit_html(["<b>" + "word &amp; " * 200 + "</b>"], limit=200)
    for message in messages:
        assert utf16_len(message) <= 200
        assert_valid(message)
    assert sum(m.count("&amp;") for m in messages) == 200


# =====================================================================================================
# Property: whatever a feed sends, every message is valid and within the limit
# =====================================================================================================

FRAGMENTS = [
    "<script>", "</b>", "<b>", "<a href='x'>", "</a>", "<pre>", "&amp;", "&lt;", "&#60;", "&", "<", ">",
    '"', "'", "\u202e", "\u202b", "\u2066", "\u2069", "\x00", "\x1b", "\x85", "\ud800", "\ufeff",
    "🚨", "👨‍👩‍👧", "🇰🇵", "e\u0301", "مرحبا", "שלום", "북한", "朝鲜", "\n", "\n\n\n", " ", "word",
    "javascript:", "https://x.example/?a=\"b\"", "<!--", "<![CDATA[", "<?xml", "</", "<a", "&#x",
]  # fmt: skip


def hostile(rng: random.Random, most: int) -> str:
    return "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(0, most)))


def random_story(rng: random.Random) -> Story:
    def link() -> str:
        return rng.choice(["https://x.example/", "javascript:", "", "http://y.example/?"]) + hostile(rng, 5)

    def action() -> Action:
        return Action(
            id=hostile(rng, 8),
            title=hostile(rng, 20),
            text=hostile(rng, rng.choice([10, 400])),
            url=link(),
            targets=tuple(hostile(rng, 10) for _ in range(rng.randint(0, 4))),
        )

    return Story(
        id=rng.randint(1, 10**12),
        title=hostile(rng, rng.choice([5, 50, 3000])),
        summary=hostile(rng, rng.choice([0, 50, 2000])),
        facts=Facts(
            count_low=rng.choice([None, 5]), count_high=rng.choice([None, 50]),
            places=tuple(hostile(rng, 12) for _ in range(rng.randint(0, 8))),
            dates=tuple(rng.choice(["2023-10-09", "2023-10", hostile(rng, 6)]) for _ in range(rng.randint(0, 5))),
            reporters=tuple(hostile(rng, 12) for _ in range(rng.randint(0, 8))),
            outlets=rng.randint(0, 60),
        ),
        urgency=rng.choice(list(Urgency)),
        topics=tuple(hostile(rng, 6) or "t" for _ in range(rng.randint(0, 2))),
        sources=tuple(
            Source(feed=hostile(rng, 5), outlet=hostile(rng, rng.choice([3, 30])), title=hostile(rng, 40),
                   link=link(), published=OCT_12)
            for _ in range(rng.choice([0, 1, 3, 15, 60]))
        ),
        actions=tuple(action() for _ in range(rng.randint(0, 7))),
        follow_up_of=rng.choice([None, 3]),
    )  # fmt: skip


def test_every_rendering_of_hostile_stories_is_valid_and_fits() -> None:
    rng = random.Random(20231009)
    for _ in range(120):
        story = random_story(rng)
        alert = render_alert(story, topic_names={t: hostile(rng, 10) for t in story.topics})
        messages = [alert.text, render_followup(story, rng.choice(list(Urgency))).text]
        messages += render_story_full(story) + render_sources(story)
        messages += [render_action_card(story, a) for a in story.actions]
        messages += render_digest([story, story], since=OCT_12)
        for message in messages:
            found = problems(message)
            assert found == [], (found, message[:300])
        line = render_story_line(story)
        assert "\n" not in line and problems(line) == []
        for row in alert.buttons:
            for button in row:
                assert len((button.callback_data or "").encode()) <= 64
                assert not FORBIDDEN_CHARS.search(button.label)


# =====================================================================================================
# Command replies: help, topic picker, settings, lists, feeds, status, reload
# =====================================================================================================


def test_every_command_reply_built_from_hostile_text_is_valid_and_fits() -> None:
    rng = random.Random(20231103)
    for _ in range(60):
        stories = [random_story(rng) for _ in range(rng.randint(0, 25))]
        topics = [
            Topic(id=f"t{n}-" + "x" * rng.choice([1, 60]), name=hostile(rng, 20) or "t", require=(("a",),))
            for n in range(rng.randint(1, 12))
        ]
        chat_id = rng.choice([101, -1001234567890123])
        settings = ChatSettings(
            mode=rng.choice(list(DeliveryMode)), digest_hour=rng.randint(0, 23), timezone=hostile(rng, 3) or "UTC",
            urgent_only=rng.random() < 0.5, quiet_start=rng.choice([None, 22]), quiet_end=rng.choice([None, 7]),
        )  # fmt: skip
        feeds = tuple(
            FeedHealth(hostile(rng, 8) or "f", hostile(rng, 3), "en", rng.choice(["ok", "new", "failing", "disabled"]),
                       errors=rng.randint(0, 9), last_error=hostile(rng, 30), disabled_reason=hostile(rng, 5),
                       last_success_at=OCT_12)
            for _ in range(rng.randint(0, 80))
        )  # fmt: skip
        failures = tuple(
            OutboxEntry(n, n, -100, OutboxKind.ALERT, OutboxStatus.FAILED, 6, OCT_12, OCT_12,
                        last_error=hostile(rng, 60))
            for n in range(rng.randint(0, 5))
        )  # fmt: skip
        status = Status(
            pending=3, outbox=(("failed", 2), ("sent", 9)), last_poll=rng.choice([None, OCT_12]), feeds=len(feeds),
            failing=feeds, chats_active=1, chats_inactive=0, stories=len(stories), recent_failures=failures,
            config_source=hostile(rng, 10), now=OCT_12 + timedelta(hours=3),
        )  # fmt: skip
        problems_ = tuple(hostile(rng, 20) for _ in range(rng.randint(0, 50)))
        names = {t.id: t.name for t in topics}
        picker = render_topic_picker(chat_id, topics, [t.id for t in topics[:2]], target=hostile(rng, 10) or None)
        view = View(topic_names=names)
        shown_settings = render_settings(chat_id, settings, list(names), target=hostile(rng, 5) or None, view=view)
        messages = [picker.text, shown_settings.text]
        messages += render_help(topics, admin=True)
        messages += render_story_list(f"<b>{clip(clean(hostile(rng, 10)), 50)}</b>", stories, empty="none")
        messages += [render_actions(stories).text, *render_feed_health(feeds), *render_status(status)]
        messages += [render_list(Chat(chat_id, ChatKind.GROUP, "x", tuple(names), settings, thread_id=3,
                                      paused_until=OCT_12), view=view)]
        messages += render_reload(ReloadResult(False, hostile(rng, 10), problems_))
        messages += render_reload(ReloadResult(True, "feeds.yaml", (), 2, 3, 4, (hostile(rng, 9),), ()))
        messages.append(
            render_subscription(list(names)[:2], list(names)[2:4], list(names)[4:], list(names),
                                subscribing=True, target=hostile(rng, 5) or None, view=view)
        )  # fmt: skip
        for message in messages:
            found = problems(message)
            assert found == [], (found, message[:300])
        for row in (*picker.buttons, *shown_settings.buttons):
            for button in row:
                assert button.callback_data is not None and len(button.callback_data.encode()) <= 64


def test_topic_picker_buttons_name_the_chat_and_the_topic_or_its_index() -> None:
    short = Topic(id="nk-repatriation", name="Forced repatriation", require=(("a",),))
    long = Topic(id="a-" + "very-long-" * 8, name="Long", require=(("a",),))
    picker = render_topic_picker(-1001234567890, [short, long], ["nk-repatriation"])
    (first,), (second,) = picker.buttons
    assert (first.label, first.callback_data) == ("✅ Forced repatriation", "tog:-1001234567890:nk-repatriation")
    assert (second.label, second.callback_data) == ("➕ Long", "tog:-1001234567890:#1")
    assert parse_subscribe_callback("tog:-1001234567890:nk-repatriation") == (-1001234567890, "nk-repatriation", None)
    assert parse_subscribe_callback("tog:-1001234567890:#1") == (-1001234567890, None, 1)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("set:101:immediate", (101, ["immediate"])),
        ("set:-100200:quiet:22-7", (-100200, ["quiet", "22-7"])),
        ("set:101:hour:9", (101, ["hour", "9"])),
        ("set:101", None),
        ("set:abc:digest", None),
        ("set:101:tz:Asia/Seoul", None),  # time zones are typed, never carried by a button
        ("set:101:a:b:c", None),
        ("tog:101:x", None),
        ("tog:x:nk", "not-settings"),
    ],
)
def test_parse_settings_callback(data: str, expected: object) -> None:
    if expected == "not-settings":
        assert parse_subscribe_callback(data) is None and parse_settings_callback(data) is None
    else:
        assert parse_settings_callback(data) == expected


def test_settings_buttons_tick_the_current_choices_and_offer_the_next_hours() -> None:
    settings = ChatSettings(mode=DeliveryMode.DIGEST, digest_hour=0, timezone="Asia/Seoul", urgent_only=True,
                            quiet_start=22, quiet_end=7)  # fmt: skip
    names = View(topic_names={"nk-repatriation": "Forced repatriation"})
    shown = render_settings(101, settings, ["nk-repatriation"], view=names)
    labels = [[b.label for b in row] for row in shown.buttons]
    assert labels == [
        ["Each story", "✅ Daily digest"],
        ["◀ 23:00", "01:00 ▶"],
        ["All stories", "✅ Urgent only"],
        ["No quiet hours", "✅ 22–07", "23–08", "00–08"],
    ]
    assert shown.buttons[1][0].callback_data == "set:101:hour:23"
    assert "Delivery: one daily digest at 00:00 (Asia/Seoul)" in shown.text
    assert "Quiet hours: 22:00–07:00 (Asia/Seoul), alerts arrive silently" in shown.text
    assert "Topics: Forced repatriation" in shown.text


def test_help_lists_topics_and_shows_operator_commands_only_to_operators() -> None:
    topic = Topic(id="nk-repatriation", name="Forced <repatriation>", require=(("a",),))
    public = "\n".join(render_help([topic]))
    assert "<code>nk-repatriation</code> — Forced &lt;repatriation&gt;" in public
    assert "/subscribe [topic…]" in public and "/status" not in public
    assert "/status" in "\n".join(render_help([topic], admin=True))
