"""Feed bytes to Items; the only module importing feedparser. Links canonical, dates UTC, text plain.

Descriptions and content keep their blocks, one per line: a photo caption, a cookie banner or a "continue
reading" link is then a line of its own that clutter removal (bot.text.clutter.strip_clutter) drops whole,
instead of words run into the report's first sentence. Captions marked as such (<figcaption>, a CMS
caption or credit class) are dropped here already. Titles are one line.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
import unicodedata
import xml.sax
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

import feedparser
from feedparser.encodings import convert_to_utf8

from bot.domain import Feed, Item, ParsedFeed
from bot.errors import FeedError
from bot.ingest.defuse import defuse

# Caps on stored text, so a hostile or broken feed cannot bloat the database.
MAX_TITLE_CHARS = 1_000
MAX_TEXT_CHARS = 20_000
# A longer guid is replaced by its hash; a longer link is dropped (a cut URL would be a wrong one), and the
# item is then known by its guid. Counted in UTF-8 bytes, as database indexes count them: PostgreSQL refuses
# a B-tree entry over 2,704 bytes, and items.link (unique), items.guid and items.title_key are indexed.
MAX_GUID_BYTES = 1_000
MAX_URL_BYTES = 2_000
# Title keys are cut to this many characters (at most 4 bytes each, so under the index limit with the outlet).
MAX_TITLE_KEY_CHARS = 300
MAX_DETAIL_CHARS = 160

# Dates outside [EARLIEST_PUBLISHED, fetched + FUTURE_SLACK] are feed bugs (epoch 0, year 2099, a
# local time labelled UTC): the item is dated when we fetched it instead, and marked estimated.
EARLIEST_PUBLISHED = datetime(1995, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)

# Query parameters that only say where a click came from. Matched case-insensitively; everything
# else is kept, in order, because some sites route articles by query (?id=123).
_TRACKING_PREFIXES = ("utm_",)
_TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid",
        "mc_cid", "mc_eid", "igshid", "igsh", "ref_src", "ref_url", "cmpid", "cmp", "ocid", "icid",
        "smid", "smtyp", "xtor", "at_medium", "at_campaign", "_ga", "_gl", "mkt_tok", "wt.mc_id",
        "wt_mc", "wt_zmc", "ns_mchannel", "ns_source", "ns_campaign", "ns_linkname", "ns_fee", "sr_share",
    }
)  # fmt: skip
_DEFAULT_PORTS = {"http": "80", "https": "443"}
_URL_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LINE_BREAKS = re.compile(r"\s*[\r\n]\s*|\t")

# Feed languages whose legacy multi-byte encodings we try when a body is not UTF-8 and declares
# nothing usable: feedparser then falls back to windows-1252 and turns Korean into mojibake. A strict
# decode of these codecs rarely succeeds on the wrong text, unlike single-byte codecs, which decode
# anything and so are never guessed. Order matters: the stricter codec comes first.
_LEGACY_CODECS: dict[str, tuple[str, ...]] = {
    "ko": ("cp949",),
    "ja": ("euc_jp", "cp932"),
    "zh-tw": ("big5", "gb18030"),
    "zh-hk": ("big5", "gb18030"),
    "zh-hant": ("big5", "gb18030"),
    "zh": ("gb18030", "big5"),
}
_FALLBACK_ENCODINGS = frozenset({"windows-1252", "iso-8859-2"})

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_SKIPPED_ELEMENTS = frozenset({"script", "style", "noscript", "template", "figcaption"})
# Elements whose class marks a photo caption or credit ("wp-caption-text", "image-credit", "photo-caption"),
# skipped with their content as <figcaption> is. "credit" alone is too wide ("credit-card" widgets aside,
# it is rare); it counts only beside photo, image, media or picture.
_CAPTION_CLASS = re.compile(
    r"(?:^|[\s_-])(?:(?:wp-|figure-|image-|img-|photo-|media-|picture-)?caption(?:-text)?"
    r"|(?:image|img|photo|media|picture)[-_]?credits?)(?:$|[\s_-])",
    re.IGNORECASE,
)
# Elements that hold no end tag: a class on them cannot start a skipped stretch.
_VOID_ELEMENTS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
# Block elements end a line: "<p>a</p><p>b</p>" is "a\nb", while "H<sub>2</sub>O" stays "H2O".
_BLOCK_ELEMENTS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
        "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "img", "li", "main",
        "nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
    }
)  # fmt: skip
# Invisible characters that would split words for matching: zero-width space, word joiner, BOM,
# soft hyphen. Zero-width (non-)joiners are kept: Persian and emoji need them.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u2060\ufeff\u00ad"), None)
# Control characters (category Cc: C0, DEL and C1, a set Unicode has kept fixed) become spaces. One
# str.translate with both tables replaces a per-character category lookup that cost about a third of
# parse_feed's own time on top of feedparser (bench/poll_scale.py).
_SQUASHED: dict[int, str | None] = {
    **{code: " " for code in (*range(0x00, 0x20), *range(0x7F, 0xA0))},
    **_INVISIBLE,
}
_APOSTROPHES = dict.fromkeys(map(ord, "'\u2019\u02bc"), None)
# A character reference with its semicolon; html.unescape leaves unknown names (&leak;) alone.
_LEFTOVER_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def parse_feed(
    body: bytes, *, feed: Feed, fetched: datetime, base_url: str, content_type: str | None = None
) -> ParsedFeed:
    """Items of a feed body. Raises FeedError(kind 'not-a-feed') when nothing usable is in it.

    `fetched` must be timezone-aware; `base_url` is where the body came from (after redirects).
    Entries without title, link and summary are skipped; malformed feeds that still give items are
    kept, with feedparser's complaint in `malformed`. CPU-bound (measured on real feeds: about
    0.5 ms per kB, 1.2 ms when malformed): async callers should run it in a thread.
    """
    if fetched.tzinfo is None:
        raise ValueError("fetched must be a timezone-aware datetime")
    fetched = fetched.astimezone(UTC)
    if not body.strip():
        raise FeedError(feed.name, base_url, "not-a-feed", "empty document")

    utf8, encoding_note = _to_utf8(body, content_type, feed.language)
    utf8 = defuse(utf8)
    result = _run_feedparser(utf8, feed, base_url, content_location=base_url)
    feed_link = _http_url(str(result.feed.get("link") or ""))
    if feed_link and _origin(feed_link) != _origin(base_url) and _any_link_on(result, _origin(base_url)):
        # Some links may have been relative: they belong to the site the feed names as its home
        # (a feed on a CDN or feedburner links to its site's pages), so resolve them against that.
        result = _run_feedparser(utf8, feed, base_url, content_location=feed_link)

    malformed = _describe(result.get("bozo_exception")) if result.get("bozo") else encoding_note
    items = [item for entry in result.entries if (item := _item(entry, feed=feed, fetched=fetched))]
    # A broken document that gave nothing usable is a failure to report, not an empty feed; a
    # well-formed feed with no entries is just quiet. Well-formed XML that is no feed (XHTML) fails.
    if not items and (result.get("bozo") or not result.get("version")):
        detail = malformed or "no RSS, Atom or RDF feed in the document"
        raise FeedError(feed.name, base_url, "not-a-feed", detail)
    title = _cap(_squash(_detail_text(result.feed, "title")), MAX_TITLE_CHARS)
    return ParsedFeed(title=title, items=tuple(items), malformed=malformed)


def canonical_url(url: str, base: str | None = None) -> str:
    """`url` resolved against `base`, scheme and host lowercased, default port, fragment and tracking
    parameters removed; other parameters kept in order. Non-http(s) URLs come back as given."""
    url = _LINE_BREAKS.sub("", url).strip()  # feeds wrap long links over indented lines
    if not url:
        return ""
    try:
        if base:
            url = urljoin(base, url)
        parts = urlsplit(url)
    except ValueError:  # e.g. a broken IPv6 literal: nothing sensible to normalize
        return url
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        return url
    query = "&".join(p for p in parts.query.split("&") if p and not _is_tracking(p.partition("=")[0]))
    return urlunsplit((scheme, _netloc(parts.netloc, scheme), parts.path or "/", query, ""))


def clean_text(html_or_text: str) -> str:
    """Plain text of an HTML fragment, one block per line: tags dropped (script/style/noscript and
    captions with their content), entities unescaped (a double-escaped '&amp;amp;' too), whitespace
    inside a block collapsed to single spaces, empty blocks dropped."""
    extractor = _TextExtractor()
    extractor.feed(html_or_text)
    extractor.close()
    return _lines("".join(extractor.parts))


def normalize_title(title: str) -> str:
    """The exact-duplicate key of a title: NFKC, casefolded, apostrophes dropped, other punctuation
    and symbols turned to spaces, whitespace collapsed. 'N. Korea’s Move' -> 'n koreas move'."""
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", title).casefold())
    text = text.translate(_APOSTROPHES)
    folded = "".join(" " if unicodedata.category(ch)[0] in "PSZC" else ch for ch in text)
    # Cut so the key fits the database index on (outlet, title_key); titles that long are not headlines.
    return " ".join(folded.split())[:MAX_TITLE_KEY_CHARS].rstrip()


# --- decoding ----------------------------------------------------------------------------------------


def _to_utf8(body: bytes, content_type: str | None, language: str) -> tuple[bytes, str | None]:
    """The body as UTF-8 (feedparser's own detection, plus the language hint) and a note on encoding
    trouble, if any. Doing it here lets defuse see exactly the bytes the XML parser will see."""
    headers = {"content-type": content_type} if content_type else {}
    info: dict[str, Any] = {}
    data = convert_to_utf8(headers, body, info)
    note = _describe(info.get("bozo_exception")) if info.get("bozo") else None
    if info.get("encoding") in _FALLBACK_ENCODINGS:
        codec = _legacy_codec(body, language)
        if codec is not None:
            # The declared (or defaulted) encoding failed and a codec of the feed's language fits.
            data = convert_to_utf8({"content-type": f"application/xml; charset={codec}"}, body, {})
            note = f"no usable encoding declared; decoded as {codec} (feed language {language})"
    if not info.get("encoding"):  # no codec fitted: feedparser left the bytes as they were
        data = body.decode("latin-1").encode("utf-8")
    return data, note


def _legacy_codec(body: bytes, language: str) -> str | None:
    """The first codec of the feed language's legacy encodings that decodes the body strictly."""
    tag = language.lower().replace("_", "-")
    codecs = _LEGACY_CODECS.get(tag) or _LEGACY_CODECS.get(tag.split("-")[0], ())
    for codec in codecs:
        try:
            body.decode(codec)
        except UnicodeDecodeError:
            continue
        return codec
    return None


def _run_feedparser(data: bytes, feed: Feed, base_url: str, *, content_location: str) -> Any:
    """feedparser's result for UTF-8 bytes. A file-like object, never bytes: feedparser would read a
    body such as b'/etc/passwd' as a path. Its crashes become FeedError, as any bad input must."""
    headers = {"content-type": "application/xml; charset=utf-8", "content-location": content_location}
    try:
        # Relative URIs inside HTML content are not resolved: clean_text drops every tag with its
        # attributes, so that pass (a second HTML parse of each description) was wasted work. Links and
        # ids are still resolved against content-location.
        return feedparser.parse(io.BytesIO(data), response_headers=headers, resolve_relative_uris=False)
    except Exception as exc:  # feedparser is third-party code fed hostile input
        raise FeedError(feed.name, base_url, "parser-crash", _describe(exc)) from exc


def _describe(exc: object) -> str:
    """A short, stable description of a feedparser complaint."""
    if isinstance(exc, xml.sax.SAXParseException):
        text = f"{exc.getMessage()} at line {exc.getLineNumber()}, column {exc.getColumnNumber()}"
    elif isinstance(exc, BaseException):
        text = str(exc) or type(exc).__name__
    else:
        text = "malformed feed"
    return _cap(_squash(text), MAX_DETAIL_CHARS)


# --- entries ---------------------------------------------------------------------------------------


def _item(entry: Any, *, feed: Feed, fetched: datetime) -> Item | None:
    """One Item from a feedparser entry, or None when it has no title, link or summary."""
    title = _cap(_squash(_detail_text(entry, "title")), MAX_TITLE_CHARS)
    summary = _cap(_detail_text(entry, "summary"), MAX_TEXT_CHARS)
    # Feeds relayed by FeedBurner link to a redirector and name the article in origLink.
    full_link = _http_url(canonical_url(str(entry.get("feedburner_origlink") or "")))
    full_link = full_link or _http_url(canonical_url(str(entry.get("link") or "")))
    link = full_link if _utf8_length(full_link) <= MAX_URL_BYTES else ""
    if not (title or full_link or summary):
        return None
    content = _cap(_content_text(entry), MAX_TEXT_CHARS)
    # dict.get: feedparser's own get() maps a missing 'updated' to 'published', with a warning.
    raw_date = str(dict.get(entry, "published") or dict.get(entry, "updated") or "")
    published, estimated = _published(entry, fetched)
    return Item(
        feed=feed.name,
        outlet=feed.outlet,
        # The guid falls back on the link even when it is too long to keep: it still names the entry.
        guid=_guid(str(entry.get("id") or ""), full_link, title, raw_date),
        link=link,
        title=title,
        summary=summary,
        content=content,
        language=feed.language,
        published=published,
        fetched=fetched,
        published_estimated=estimated,
    )


def _guid(entry_id: str, link: str, title: str, raw_date: str) -> str:
    """The entry's id, else its canonical link, else a hash of title and feed date (stable across
    fetches, since the raw date string does not change; the estimated date would)."""
    guid = entry_id.strip() or link
    if not guid:
        guid = f"{title}\n{raw_date}"
    elif _utf8_length(guid) <= MAX_GUID_BYTES and "\x00" not in guid:
        return guid
    # Hashed: too long for an index, a title-and-date stand-in, or a NUL that PostgreSQL text cannot hold.
    return "sha256:" + hashlib.sha256(guid.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _utf8_length(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _published(entry: Any, fetched: datetime) -> tuple[datetime, bool]:
    """(published time in UTC, estimated?): the first plausible of published and updated, else
    `fetched`. feedparser already converted both to UTC struct_times."""
    for key in ("published_parsed", "updated_parsed"):
        parsed = dict.get(entry, key)
        if not parsed:
            continue
        try:
            year, month, day, hour, minute, second = (int(v) for v in parsed[:6])
            when = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except (TypeError, ValueError, OverflowError):
            continue
        if EARLIEST_PUBLISHED <= when <= fetched + FUTURE_SLACK:
            return when, False
    return fetched, True


def _detail_text(node: Any, key: str) -> str:
    """Cleaned text of `node[key]`, one block or line per line: tags stripped when feedparser says it
    is HTML, else only whitespace folded (a plain-text title like 'Vector<int>' keeps its angle brackets)."""
    value = node.get(key)
    if not value:
        return ""
    detail = node.get(f"{key}_detail") or {}
    return _typed_text(str(value), str(detail.get("type") or "text/html"))


def _content_text(entry: Any) -> str:
    """Entry content blocks, cleaned and joined; a block repeating an earlier one is left out
    (Atom feeds often carry the same text as HTML and as plain text)."""
    texts: list[str] = []
    for block in entry.get("content") or ():
        text = _typed_text(str(block.get("value") or ""), str(block.get("type") or "text/html"))
        if text and text not in texts:
            texts.append(text)
    return "\n".join(texts)


def _typed_text(value: str, mime: str) -> str:
    return clean_text(value) if mime in _HTML_TYPES else _lines(value)


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rstrip()


def _plain(text: str) -> str:
    """Text that is already unescaped once: entities still in it ('&amp;amp;' in the feed) were
    escaped twice by the publisher, a common fault, so they are undone once more. Then squashed."""
    return _squash(_LEFTOVER_ENTITY.sub(lambda m: html.unescape(m.group()), text))


def _lines(text: str) -> str:
    """Text whose line breaks are kept (block ends): each line _plain, blank lines dropped."""
    return "\n".join(line for line in (_plain(raw) for raw in text.splitlines()) if line)


def _squash(text: str) -> str:
    """Control characters to spaces, invisible ones dropped, whitespace runs to one space."""
    text = text.translate(_SQUASHED)
    return " ".join(text.split())


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML fragment, a line break at each block's edges, minus script-like
    elements and captions. Whitespace inside the markup's text is no line break: feeds wrap HTML anywhere."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0
        self._caption_tag = ""  # the element, marked as a caption by its class, being skipped
        self._caption_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._caption_tag:
            if tag == self._caption_tag == "p":
                self._caption_tag = ""  # a <p> cannot hold a <p>: the unclosed caption ended
            elif tag == self._caption_tag:
                self._caption_depth += 1
        if tag in _SKIPPED_ELEMENTS:
            self._skipping += 1
        elif not self._caption_tag and tag not in _VOID_ELEMENTS and _is_caption_class(attrs):
            self._caption_tag, self._caption_depth = tag, 1
        if tag in _BLOCK_ELEMENTS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_ELEMENTS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_ELEMENTS:
            self._skipping = max(0, self._skipping - 1)
        if tag == self._caption_tag:
            self._caption_depth -= 1
            if self._caption_depth <= 0:
                self._caption_tag = ""
        if tag in _BLOCK_ELEMENTS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping and not self._caption_tag:
            self.parts.append(" ".join(data.splitlines()))


def _is_caption_class(attrs: list[tuple[str, str | None]]) -> bool:
    return any(name == "class" and value and _CAPTION_CLASS.search(value) for name, value in attrs)


# --- URLs ------------------------------------------------------------------------------------------


def _is_tracking(key: str) -> bool:
    name = unquote_plus(key).strip().lower()
    return name.startswith(_TRACKING_PREFIXES) or name in _TRACKING_PARAMS


def _netloc(netloc: str, scheme: str) -> str:
    """Host lowercased and the scheme's default port dropped; user info kept as written."""
    userinfo, at, hostport = netloc.rpartition("@")
    if hostport.startswith("["):  # IPv6 literal: the port follows the closing bracket
        host, _, rest = hostport.partition("]")
        host += "]"
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = hostport.partition(":")
    host = host.lower()
    if port == _DEFAULT_PORTS[scheme]:
        port = ""
    return f"{userinfo}{at}{host}{':' + port if port else ''}"


def _http_url(url: str) -> str:
    """`url` when it is an absolute http(s) URL without control characters, else '' (javascript:, mailto:...).

    Control characters are never part of a URL (RFC 3986), and a NUL would be refused by PostgreSQL."""
    if _URL_CONTROL.search(url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return url if parts.scheme.lower() in _DEFAULT_PORTS and parts.netloc else ""


def _origin(url: str) -> tuple[str, str]:
    try:
        parts = urlsplit(url)
    except ValueError:
        return ("", "")
    return (parts.scheme.lower(), parts.netloc.lower())


def _any_link_on(result: Any, origin: tuple[str, str]) -> bool:
    return any(_origin(str(e.get("link") or "")) == origin for e in result.entries)
