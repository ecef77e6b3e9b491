"""bot.parse: golden feeds, hostile bodies, real-world samples, and the pure text and URL helpers."""

from __future__ import annotations

import json
import tracemalloc
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.domain import Feed, Item, ParsedFeed
from bot.errors import FeedError
from bot.ingest.parse import (
    MAX_TEXT_CHARS,
    MAX_TITLE_CHARS,
    canonical_url,
    clean_text,
    normalize_title,
    parse_feed,
)

GOLDEN = Path(__file__).parent / "fixtures" / "parse"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "eval-public"
FETCHED = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
BASE = "https://feeds.example.org/korea/rss.xml"
FEED = Feed(name="desk", url=BASE, language="en", interval_seconds=900, outlet="Desk Wire")


def parse(body: bytes, feed: Feed = FEED, **kwargs: Any) -> ParsedFeed:
    return parse_feed(body, feed=feed, fetched=kwargs.pop("fetched", FETCHED), base_url=BASE, **kwargs)


def rss(items: str, *, prolog: str = "", channel_title: str = "Desk") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n{prolog}<rss version="2.0"><channel>'
        f"<title>{channel_title}</title><link>https://desk.example/</link>{items}</channel></rss>\n"
    ).encode()


def all_text(parsed: ParsedFeed) -> str:
    return "\n".join([parsed.title, *(f"{i.guid} {i.link} {i.title} {i.summary} {i.content}" for i in parsed.items)])


# --- golden files ----------------------------------------------------------------------------------


def _golden_names() -> list[str]:
    return sorted(p.stem for p in GOLDEN.glob("*.xml"))


def _as_json(item: Item) -> dict[str, Any]:
    record = asdict(item)
    record["published"] = item.published.isoformat()
    record["fetched"] = item.fetched.isoformat()
    return record


def test_every_golden_feed_has_its_records() -> None:
    assert _golden_names(), "no golden feeds found"
    assert _golden_names() == sorted(p.stem for p in GOLDEN.glob("*.json"))


@pytest.mark.parametrize("name", _golden_names())
def test_golden(name: str) -> None:
    expected = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    given = expected.pop("input")
    feed = Feed(
        name="golden",
        url=given["base_url"],
        language=given["language"],
        interval_seconds=900,
        outlet="Golden Wire",
    )
    body = (GOLDEN / f"{name}.xml").read_bytes()

    try:
        parsed = parse_feed(
            body,
            feed=feed,
            fetched=datetime.fromisoformat(given["fetched"]),
            base_url=given["base_url"],
            content_type=given["content_type"],
        )
    except FeedError as error:
        assert {"error": {"kind": error.kind, "detail": error.detail}} == expected
        assert (error.feed, error.url) == ("golden", given["base_url"])
        return

    got = {"title": parsed.title, "malformed": parsed.malformed, "items": [_as_json(i) for i in parsed.items]}
    assert got == expected


# --- hostile bodies --------------------------------------------------------------------------------


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET-TOKEN-7731\n")
    return path


@pytest.mark.parametrize(
    "prolog",
    [
        '<!DOCTYPE rss [\n<!ENTITY leak SYSTEM "{uri}">\n]>\n',
        '<!DOCTYPE rss [<!ENTITY leak SYSTEM "{uri}">]>',
        '<!DOCTYPE rss [\n<!ENTITY % dtd SYSTEM "{uri}">\n%dtd;\n]>\n',
        '<!--\n<!DOCTYPE rss [\n<!ENTITY leak SYSTEM "{uri}">\n]>\n-->\n',
        '<?note\n<!DOCTYPE rss [\n<!ENTITY leak SYSTEM "{uri}">\n]>\n?>\n',
    ],
    ids=["multiline", "one-line", "parameter-entity", "in-comment", "in-instruction"],
)
def test_external_entities_never_read_local_files(secret: Path, prolog: str) -> None:
    items = "<item><title>Leak &leak; here</title><link>https://desk.example/1</link>"
    items += "<description>before &leak; after</description></item>"
    body = rss(items, prolog=prolog.format(uri=secret.as_uri()))

    try:
        text = all_text(parse(body))
    except FeedError as error:
        text = error.detail

    assert "TOP-SECRET" not in text


def test_external_entity_in_utf16_is_defused_too(secret: Path) -> None:
    body = rss(
        "<item><title>Wide &leak;</title><link>https://desk.example/1</link></item>",
        prolog=f'<!DOCTYPE rss [\n<!ENTITY leak SYSTEM "{secret.as_uri()}">\n]>\n',
    )
    wide = body.decode().replace('encoding="utf-8"', 'encoding="utf-16"').encode("utf-16")

    parsed = parse(wide)

    assert "TOP-SECRET" not in all_text(parsed)
    assert parsed.items[0].title.startswith("Wide")


def test_a_body_naming_a_local_file_is_not_read(tmp_path: Path) -> None:
    # feedparser.parse(bytes) opens the bytes as a path when such a file exists.
    local = tmp_path / "local-feed.xml"
    local.write_bytes(rss("<item><title>TOP-SECRET local item</title><link>https://desk.example/1</link></item>"))

    with pytest.raises(FeedError) as caught:
        parse(str(local).encode())

    assert caught.value.kind == "not-a-feed"


def _linear_bomb(where: str) -> bytes:
    # One 50 kB literal entity used 400 times: 20 MB once expanded. Literal entities pass
    # feedparser's own filter, and the stray '&' forces its fallback parser, which expands them.
    declaration = f'<!DOCTYPE rss [\n<!ENTITY big "{"x" * 50_000}">\n]>\n'
    prolog = {
        "doctype": declaration,
        "in-comment": f"<!--\n{declaration}-->\n",
        "in-instruction": f"<?note\n{declaration}?>\n",
    }[where]
    item = (
        f"<item><title>Bomb</title><link>https://desk.example/1</link><description>{'&big;' * 400}</description></item>"
    )
    return rss(item, prolog=prolog, channel_title="Fallback & friends")


@pytest.mark.parametrize("where", ["doctype", "in-comment", "in-instruction"])
def test_entity_expansion_cannot_blow_up_memory(where: str) -> None:
    body = _linear_bomb(where)

    tracemalloc.start()
    try:
        parsed = parse(body)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert peak < 10 * 2**20
    assert parsed.malformed  # the stray '&' was noticed
    assert len(parsed.items[0].summary) < 5_000


def test_billion_laughs_on_one_line_stays_small() -> None:
    levels = ['<!ENTITY l0 "ha">'] + [f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10)]
    body = rss(
        "<item><title>Laughs</title><link>https://desk.example/1</link><description>&l9;</description></item>",
        prolog=f"<!DOCTYPE rss [{''.join(levels)}]>",
    )

    tracemalloc.start()
    try:
        parsed = parse(body)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert peak < 10 * 2**20
    assert "hahaha" not in all_text(parsed)


def test_text_sizes_are_capped() -> None:
    item = f"<item><title>{'T' * 5_000}</title><link>https://desk.example/1</link>"
    item += f"<description>{'word ' * 10_000}</description></item>"

    got = parse(rss(item)).items[0]

    assert len(got.title) == MAX_TITLE_CHARS
    assert len(got.summary) <= MAX_TEXT_CHARS and got.summary.startswith("word word")


def test_overlong_guid_is_hashed_and_overlong_link_dropped() -> None:
    item = f"<item><title>Long</title><guid isPermaLink='false'>{'g' * 2_000}</guid>"
    item += f"<link>https://desk.example/{'p' * 5_000}</link></item>"

    got = parse(rss(item)).items[0]

    assert got.guid.startswith("sha256:") and len(got.guid) == len("sha256:") + 32
    assert got.link == ""


def test_hashed_guid_is_stable_across_fetches() -> None:
    body = rss("<item><title>No link, no id, no date</title></item>")

    first = parse(body).items[0]
    later = parse(body, fetched=FETCHED + timedelta(hours=3)).items[0]

    assert first.guid == later.guid and first.guid.startswith("sha256:")
    assert first.published_estimated and later.published == FETCHED + timedelta(hours=3)


def test_feedburner_original_link_wins_over_the_redirector() -> None:
    item = (
        "<item><title>Relayed</title><link>https://feedproxy.example/~r/desk/~3/abc/</link>"
        "<feedburner:origLink>https://desk.example/2023/10/relayed?utm_medium=rss</feedburner:origLink></item>"
    )
    body = rss(item).replace(
        b'<rss version="2.0">', b'<rss version="2.0" xmlns:feedburner="http://rssnamespace.org/feedburner/ext/1.0">'
    )

    assert parse(body).items[0].link == "https://desk.example/2023/10/relayed"


def test_relative_links_resolve_against_each_feeds_own_base() -> None:
    # feedparser's base URI computation is cached (bot.parse): feeds parsed one after another, and entries
    # with their own xml:base, must still each resolve against their own base.
    atom = (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Mirror</title>{entries}</feed>"
    )
    entry = '<entry{base}><id>{id}</id><title>{title}</title><link href="{href}"/></entry>'
    body = atom.format(entries="".join([
        entry.format(base="", id="e1", title="Plain", href="2023/10/one"),
        entry.format(base=' xml:base="https://archive.example/old/"', id="e2", title="Moved", href="two"),
        entry.format(base="", id="e3", title="After", href="three"),
    ])).encode()

    first = parse_feed(body, feed=FEED, fetched=FETCHED, base_url="https://one.example/feeds/atom.xml")
    second = parse_feed(body, feed=FEED, fetched=FETCHED, base_url="https://two.example/rss/")

    assert [i.link for i in first.items] == [
        "https://one.example/feeds/2023/10/one", "https://archive.example/old/two", "https://one.example/feeds/three",
    ]
    assert [i.link for i in second.items] == [
        "https://two.example/rss/2023/10/one", "https://archive.example/old/two", "https://two.example/rss/three",
    ]


def test_fetched_must_be_aware() -> None:
    with pytest.raises(ValueError):
        parse(rss(""), fetched=datetime(2024, 3, 1, 12, 0))


def test_fetched_is_stored_in_utc() -> None:
    seoul = datetime(2024, 3, 1, 21, 0, tzinfo=UTC).astimezone(ZoneInfo("Asia/Seoul"))

    got = parse(rss("<item><title>Dateless</title></item>"), fetched=seoul).items[0]

    assert got.fetched == datetime(2024, 3, 1, 21, 0, tzinfo=UTC) and got.fetched.tzinfo is UTC


# --- real-world samples ----------------------------------------------------------------------------


def _shared_samples() -> list[Path]:
    folders = [SHARED / "feeds-real", SHARED / "feedparser-sample"]
    return sorted(p for folder in folders if folder.is_dir() for p in folder.rglob("*") if p.is_file())


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/eval-public is not checked out beside the repo")
def test_real_samples_parse_or_fail_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    samples = _shared_samples()
    gave_items = malformed = not_a_feed = 0
    for path in samples:
        try:
            parsed = parse(path.read_bytes())
        except FeedError as error:  # anything else escapes and fails the test
            assert error.kind == "not-a-feed", path
            not_a_feed += 1
            continue
        gave_items += bool(parsed.items)
        malformed += parsed.malformed is not None
        for item in parsed.items:
            assert item.published.tzinfo is UTC and len(item.title) <= MAX_TITLE_CHARS, path
            assert item.link == "" or item.link.startswith(("http://", "https://")), path
    with capsys.disabled():
        print(
            f"\nshared samples: {len(samples)} files, {gave_items} gave items, "
            f"{malformed} malformed, {not_a_feed} not-a-feed"
        )
    assert samples


# --- pure helpers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("https://News.Example.COM/a/b?x=1", None, "https://news.example.com/a/b?x=1"),
        ("HTTP://example.com:80/x", None, "http://example.com/x"),
        ("https://example.com:443/x", None, "https://example.com/x"),
        ("https://example.com:8443/x", None, "https://example.com:8443/x"),
        ("https://example.com", None, "https://example.com/"),
        ("https://example.com/a#section-2", None, "https://example.com/a"),
        ("https://example.com/a?utm_source=rss&id=7&utm_medium=feed", None, "https://example.com/a?id=7"),
        ("https://example.com/a?b=2&fbclid=XYZ&a=1&gclid=1", None, "https://example.com/a?b=2&a=1"),
        ("https://example.com/a?UTM_Campaign=x&MC_CID=1&mc_eid=2", None, "https://example.com/a"),
        ("https://example.com/a?igshid=1&ref_src=twsrc&cmpid=3&ocid=4", None, "https://example.com/a"),
        ("https://example.com/a?q=x%20y&empty=&flag", None, "https://example.com/a?q=x%20y&empty=&flag"),
        ("https://example.com/a?", None, "https://example.com/a"),
        ("/2023/10/story.html", "https://www.example.org/news/", "https://www.example.org/2023/10/story.html"),
        ("story.html?utm_source=x", "https://www.example.org/news/", "https://www.example.org/news/story.html"),
        ("../up.html", "https://www.example.org/news/world/", "https://www.example.org/news/up.html"),
        ("//cdn.example.net/x", "https://www.example.org/", "https://cdn.example.net/x"),
        ("  https://example.com/\n  wrapped  ", None, "https://example.com/wrapped"),
        ("https://User@Example.com:443/x", None, "https://User@example.com/x"),
        ("http://[2001:DB8::1]:80/x", None, "http://[2001:db8::1]/x"),
        ("mailto:desk@example.com", None, "mailto:desk@example.com"),
        ("urn:uuid:1234", None, "urn:uuid:1234"),
        ("", "https://www.example.org/", ""),
    ],
)
def test_canonical_url(url: str, base: str | None, expected: str) -> None:
    assert canonical_url(url, base) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<p>Hello&nbsp;<b>world</b></p>", "Hello world"),
        # Blocks stay apart, one per line: a caption or a banner is then a line of its own to drop.
        ("<p>one</p><p>two</p>", "one\ntwo"),
        ("line<br>break<br/>twice", "line\nbreak\ntwice"),
        ("<div><p> one </p>\n\n<p></p><p>two</p></div>", "one\ntwo"),
        ("H<sub>2</sub>O", "H2O"),
        ("<script>alert('x')</script>Kept<style>p{}</style>", "Kept"),
        ("<noscript><img src=x>Turn on scripts</noscript>Body", "Body"),
        ("  lots \t of\n\n  space  ", "lots of space"),
        ("Tom &amp; Jerry &#8212; &#x2019;s", "Tom & Jerry — ’s"),
        ("Tom &amp;amp; Jerry", "Tom & Jerry"),
        ("AT&T and R&D", "AT&T and R&D"),
        ("5 < 6 > 4", "5 < 6 > 4"),
        ("&lt;b&gt;shown as text&lt;/b&gt;", "<b>shown as text</b>"),
        ("soft\u00adhyphen zero\u200bwidth", "softhyphen zerowidth"),
        ("<!-- a comment -->visible", "visible"),
        ("<![if !supportLists]>Word<![endif]> list", "Word list"),
        ("탈북민 <em>강제북송</em>", "탈북민 강제북송"),
        ("", ""),
    ],
)
def test_clean_text(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # A <figcaption> is a caption by its markup: never the report's text.
        (
            "<figure><img src='a.jpg'><figcaption>Guards watch a bridge in Hunchun, Jilin province, on May 2, "
            "2019. Photo: Jane Roe/AFP</figcaption></figure><p>Dozens of detainees were driven to the border.</p>",
            "Dozens of detainees were driven to the border.",
        ),
        # CMS caption and credit classes (WordPress writes wp-caption-text), an unclosed one ended by the next <p>.
        (
            '<div class="wp-caption"><img src="b.jpg"><p class="wp-caption-text">A bus at the Dandong customs '
            'house.</p></div><p>Police held 12 people.</p>',
            "Police held 12 people.",
        ),
        (
            '<p class="image-credit">Lee Min / Yonhap<p>경찰이 12명을 체포했다.</p>',
            "경찰이 12명을 체포했다.",
        ),
        ('<span class="photo-caption">图为丹东口岸</span><p>12人被捕。</p>', "12人被捕。"),
    ],
)
def test_clean_text_drops_marked_captions(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


def test_descriptions_keep_their_blocks_and_titles_stay_one_line() -> None:
    parsed = parse(
        rss(
            "<item><title>Five held\n in Kunming</title><link>https://example.org/a</link>"
            "<description><![CDATA[<p>First paragraph.</p><p>A photo caption. Photo: J. Roe / Reuters</p>"
            "<p>Second paragraph.</p>]]></description></item>"
        )
    )
    (item,) = parsed.items
    assert item.title == "Five held in Kunming"
    assert item.summary == "First paragraph.\nA photo caption. Photo: J. Roe / Reuters\nSecond paragraph."


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("  North Korea: 500 Sent Back!  ", "north korea 500 sent back"),
        ("N. Korea’s escapees", "n koreas escapees"),
        ("N Korea's escapees", "n koreas escapees"),
        ("“Quoted” — headline…", "quoted headline"),
        ("Sino-Korean border | Wire", "sino korean border wire"),
        ("ＮＯＲＴＨ　Ｋｏｒｅａ", "north korea"),
        ("STRASSE Straße", "strasse strasse"),
        ("탈북민 500여명 강제북송", "탈북민 500여명 강제북송"),
        ("中国遣返“脱北者”", "中国遣返 脱北者"),
        ("tab\tand\nnewline", "tab and newline"),
        ("", ""),
    ],
)
def test_normalize_title(title: str, expected: str) -> None:
    assert normalize_title(title) == expected
