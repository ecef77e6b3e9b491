"""Stories rendered as Telegram HTML messages: pure functions returning strings and plain button rows.

Nothing here imports python-telegram-bot: buttons are described by `Button` records that the sender turns
into an InlineKeyboardMarkup. Every string that came from a feed (titles, summaries, outlet names, links,
places, action texts) is cleaned of control characters and then escaped, so a hostile feed can neither
inject markup nor reorder the message with bidirectional overrides. Every message is at most
`MAX_MESSAGE` UTF-16 code units of raw HTML, which bounds what Telegram counts after parsing entities.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot.domain import Action, ChatSettings, DeliveryMode, Source, Story, Topic, Urgency

if TYPE_CHECKING:  # records of the command replies; only their attributes are read here
    from bot.services import FeedHealth, ReloadResult, Status

MAX_MESSAGE = 4096  # Telegram's limit on a message's text, in UTF-16 code units
MAX_CALLBACK_BYTES = 64  # Telegram's limit on callback_data, in bytes of UTF-8

# The tags Telegram's HTML parse mode accepts (https://core.telegram.org/bots/api#html-style).
ALLOWED_TAGS = frozenset({"b", "i", "u", "s", "a", "code", "pre", "blockquote", "tg-spoiler"})

ELLIPSIS = "…"

# =====================================================================================================
# Public records
# =====================================================================================================


@dataclass(frozen=True, slots=True)
class Button:
    """One inline button: exactly one of callback_data (at most 64 bytes of UTF-8) or an http(s) url."""

    label: str
    callback_data: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        if (self.callback_data is None) == (self.url is None):
            raise ValueError(f"button {self.label!r}: give exactly one of callback_data and url")
        if self.callback_data is not None and len(self.callback_data.encode()) > MAX_CALLBACK_BYTES:
            raise ValueError(f"button {self.label!r}: callback_data over {MAX_CALLBACK_BYTES} bytes")
        if not self.label.strip():
            raise ValueError("button label is empty")


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message's HTML text (within MAX_MESSAGE UTF-16 units) and its inline keyboard, row by row."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()


# --- callback data ------------------------------------------------------------------------------------
# Formats, each within 64 bytes:
#   act:<story_id>:<action_id>    the action card; "act:<story_id>:#<n>" (index into story.actions)
#                                 when the action id is too long for the limit
#   src:<story_id>                all sources of a story
#   mute:<topic_id>               mute a topic; "mute:<story_id>:#<n>" (index into story.topics) when the
#                                 topic id is too long
# The fallbacks use an index rather than a cut id: a cut id could name another action or topic.


@dataclass(frozen=True, slots=True)
class ActionCallback:
    """'Show this action of this story': by id, or by index into story.actions when the id was too long."""

    story_id: int
    action_id: str | None = None
    index: int | None = None


@dataclass(frozen=True, slots=True)
class SourcesCallback:
    """'Show every source of this story'."""

    story_id: int


@dataclass(frozen=True, slots=True)
class MuteCallback:
    """'Mute this topic': by id, or by the topic's index in a story's topics when the id was too long."""

    topic_id: str | None = None
    story_id: int | None = None
    index: int | None = None


Callback = ActionCallback | SourcesCallback | MuteCallback


def action_callback(story: Story, index: int) -> str:
    """callback_data for story.actions[index]: by id when it fits in 64 bytes, else by index."""
    ref = story.actions[index].id
    if _plain_ref(ref) and _fits_callback(f"act:{story.id}:{ref}"):
        return f"act:{story.id}:{ref}"
    return f"act:{story.id}:#{index}"


def sources_callback(story: Story) -> str:
    """callback_data for the story's 'All sources' button."""
    return f"src:{story.id}"


def mute_callback(story: Story, index: int = 0) -> str:
    """callback_data muting story.topics[index]: by id when it fits in 64 bytes, else story and index."""
    topic = story.topics[index]
    if _plain_ref(topic) and ":" not in topic and _fits_callback(f"mute:{topic}"):
        return f"mute:{topic}"
    return f"mute:{story.id}:#{index}"


def parse_callback(data: str) -> Callback | None:
    """The request behind callback_data made by this module; None when it is not one of ours."""
    kind, _, rest = data.partition(":")
    if kind == "src":
        return SourcesCallback(int(rest)) if _NUMBER.fullmatch(rest) else None
    if kind == "act":
        story, _, ref = rest.partition(":")
        if not _NUMBER.fullmatch(story) or not ref:
            return None
        if ref.startswith("#"):
            return ActionCallback(int(story), index=int(ref[1:])) if _NUMBER.fullmatch(ref[1:]) else None
        return ActionCallback(int(story), action_id=ref)
    if kind == "mute":
        story, sep, ref = rest.partition(":")
        if not sep:
            return MuteCallback(topic_id=rest) if rest else None
        if _NUMBER.fullmatch(story) and ref.startswith("#") and _NUMBER.fullmatch(ref[1:]):
            return MuteCallback(story_id=int(story), index=int(ref[1:]))
        return None
    return None


# ASCII digits only: str.isdigit() accepts '²', which int() rejects. At most 16 digits, so a forged id still
# fits the database's 64-bit integers; Telegram's chat ids have at most 52 bits (16 digits), ours fewer.
_NUMBER = re.compile(r"[0-9]{1,16}")
_CHAT_ID = re.compile(r"-?[0-9]{1,16}")


def _fits_callback(data: str) -> bool:
    return len(data.encode()) <= MAX_CALLBACK_BYTES


def _plain_ref(ref: str) -> bool:
    """An id usable as is: printable, no spaces, not starting with '#' (which marks an index)."""
    return (
        bool(ref)
        and ref.isprintable()
        and not any(c.isspace() for c in ref)
        and not ref.startswith("#")
        and not _STRIP.search(ref)
    )


# =====================================================================================================
# Cleaning, measuring, escaping, shortening
# =====================================================================================================

# Removed from feed text: C0/C1 controls (Telegram rejects some, and they have no meaning in a message),
# the bidi embeddings, overrides and isolates (an unmatched U+202E in a title would mirror every line of
# ours after it), the BOM, interlinear annotation marks and noncharacters, and lone surrogates (which
# cannot be encoded at all). The bidi *marks* (LRM, RLM, ALM) stay: they only nudge neighbouring
# punctuation and Hebrew and Arabic text uses them legitimately. ZWJ/ZWNJ stay: emoji and Persian need them.
_STRIP = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u202a-\u202e\u2066-\u2069\ufeff\ufff9-\ufffb\ufffe\uffff\ud800-\udfff]"
)
_NEWLINES = re.compile("\r\n|[\r\x0b\x0c\x85\u2028\u2029]")
_HSPACE = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")

# What html.escape(quote=True) turns each character into, by its length in UTF-16 units.
_ESCAPED_UNITS = {"&": 5, "<": 4, ">": 4, '"': 6, "'": 6}

# A word boundary is used for a cut only if it keeps at least this share of what fits.
_WORD_CUT_SHARE = 0.75
# Trailing characters that make a cut look broken: separators and opening punctuation.
_CUT_TRAIL = " \n\t.,;:-–—([{«“‘/"


def clean(text: str) -> str:
    """Feed text on one line: controls and bidi overrides removed, every run of whitespace one space."""
    text = _STRIP.sub("", _NEWLINES.sub("\n", text))
    return " ".join(text.split())


def clean_block(text: str) -> str:
    """Feed text keeping its paragraphs: controls removed, spaces collapsed, at most one blank line."""
    text = _STRIP.sub("", _NEWLINES.sub("\n", text))
    lines = (_HSPACE.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def escape(text: str) -> str:
    """HTML-escaped text, quotes included, safe inside an element or a double-quoted attribute."""
    return html.escape(text, quote=True)


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (a character beyond the BMP, e.g. most emoji, is 2)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _char_units(ch: str, escaped: bool) -> int:
    if escaped and ch in _ESCAPED_UNITS:
        return _ESCAPED_UNITS[ch]
    return 2 if ord(ch) > 0xFFFF else 1


def _continues_grapheme(ch: str) -> bool:
    """True for characters that attach to the one before: combining marks, ZWJ, variation selectors."""
    return ch == "\u200d" or "\ufe00" <= ch <= "\ufe0f" or unicodedata.category(ch) in ("Mn", "Me", "Mc")


def _cut(text: str, limit: int, *, escaped: bool) -> str:
    """`text` shortened so that it (escaped when `escaped`) plus an ellipsis fits `limit` UTF-16 units.

    Returns plain text ending in '…', or `text` itself when it already fits. Cuts happen between
    characters of the plain text, so never inside an entity that escaping later creates; at a word
    boundary when one is near, and never between a character and the mark or joiner that follows it.
    """
    if utf16_len(escape(text) if escaped else text) <= limit:
        return text
    budget = limit - 1  # the ellipsis is one unit
    used = end = 0
    for ch in text:
        width = _char_units(ch, escaped)
        if used + width > budget:
            break
        used += width
        end += 1
    if end < len(text) and not text[end].isspace():
        space = max(text.rfind(" ", 0, end), text.rfind("\n", 0, end))
        if space >= end * _WORD_CUT_SHARE:
            end = space
    while 0 < end < len(text) and (_continues_grapheme(text[end]) or text[end - 1] == "\u200d"):
        end -= 1
    kept = text[:end].rstrip(_CUT_TRAIL)
    return kept + ELLIPSIS if kept else (ELLIPSIS if limit >= 1 else "")


def clip(text: str, limit: int) -> str:
    """Escaped HTML of plain `text`, shortened with '…' to at most `limit` UTF-16 units."""
    return escape(_cut(text, limit, escaped=True))


def clip_plain(text: str, limit: int) -> str:
    """Plain `text` (for button labels) shortened with '…' to at most `limit` UTF-16 units."""
    return _cut(text, limit, escaped=False)


# --- links --------------------------------------------------------------------------------------------

# Longer links are shown as plain text: a href counts in the raw HTML that MAX_MESSAGE bounds, and a
# link of thousands of characters is not one a reader needs to follow from an alert.
MAX_HREF = 1000
# Characters that may not stand raw in a URL; percent-encoding them keeps the href unambiguous.
_URL_QUOTE = str.maketrans({'"': "%22", "<": "%3C", ">": "%3E", "\\": "%5C", "`": "%60", " ": "%20"})


def safe_url(raw: str, max_units: int = MAX_HREF) -> str | None:
    """`raw` made safe for an href when it is an absolute http(s) URL with a host, within `max_units`.

    None otherwise (javascript:, data:, relative or scheme-less links, whitespace inside the scheme).
    """
    link = _STRIP.sub("", raw).strip()
    if not link or any(ch.isspace() and ch != " " for ch in link):
        return None
    try:
        parts = urlsplit(link)
    except ValueError:  # e.g. an invalid IPv6 host
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    url = link.translate(_URL_QUOTE)
    return url if utf16_len(escape(url)) <= max_units else None


def link(url: str | None, label_html: str, max_href: int = MAX_HREF) -> str:
    """<a href> around already-escaped `label_html` when `url` is safe, else the label alone."""
    href = safe_url(url, max_href) if url else None
    if href is None:
        return label_html
    return f'<a href="{escape(href)}">{label_html}</a>'


# --- dates --------------------------------------------------------------------------------------------

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?")


def format_fact_date(value: str) -> str:
    """'2023-10-09' -> '9 Oct 2023', '2023-10' -> 'Oct 2023'; anything else escaped as given (short)."""
    match = _ISO_DATE.fullmatch(value.strip())
    if match:
        year, month = int(match.group(1)), int(match.group(2))
        day = int(match.group(3)) if match.group(3) else None
        if 1 <= month <= 12 and (day is None or 1 <= day <= 31):
            return f"{day} {_MONTHS[month - 1]} {year}" if day else f"{_MONTHS[month - 1]} {year}"
    return clip(clean(value), 24)


def _utc(moment: datetime) -> datetime:
    # Naive datetimes are taken as UTC: that is what the pipeline stores.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def format_day(moment: datetime) -> str:
    """'12 Oct 2023' (UTC)."""
    moment = _utc(moment)
    return f"{moment.day} {_MONTHS[moment.month - 1]} {moment.year}"


def format_time(moment: datetime) -> str:
    """'12 Oct 2023 08:30 UTC'."""
    moment = _utc(moment)
    return f"{format_day(moment)} {moment:%H:%M} UTC"


# =====================================================================================================
# Splitting long HTML over several messages
# =====================================================================================================

# A tag, an entity, a newline, a run of other whitespace, a word, or a stray '<' or '&' (never produced
# here, but matching it guarantees the tokens cover the whole text).
_TOKEN = re.compile(r"<[^<>]*>|&#?[0-9A-Za-z]+;|\n|[^\S\n]+|[^\s<&]+|[<&]")
_TAG = re.compile(r"<(/?)([a-z][a-z-]*)[^>]*>")
_ANY_TAG = re.compile(r"<[^<>]*>")


def _advance(stack: tuple[tuple[str, str], ...], token: str) -> tuple[tuple[str, str], ...]:
    """Open tags (name, opening tag) after `token`; closing tags pop the stack."""
    match = _TAG.fullmatch(token)
    if not match:
        return stack
    if match.group(1):
        return stack[:-1] if stack and stack[-1][0] == match.group(2) else stack
    return (*stack, (match.group(2), token))


def _openers(stack: tuple[tuple[str, str], ...]) -> str:
    return "".join(tag for _, tag in stack)


def _closers(stack: tuple[tuple[str, str], ...]) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(stack))


class _Packer:
    """Fills messages of at most `limit` UTF-16 units, closing tags open at a split and reopening them."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.messages: list[str] = []
        self.start: tuple[tuple[str, str], ...] = ()  # tags reopened at the start of this message
        self.stack: tuple[tuple[str, str], ...] = ()  # tags open at the end of the body so far
        self.body: list[str] = []
        self.units = 0  # UTF-16 units of the body

    def empty(self) -> bool:
        return not self.body

    def add(self, tokens: Sequence[str], sep: str) -> bool:
        """Append `sep` (when the message has a body) and `tokens`; False, changing nothing, if too long."""
        stack = self.stack
        for token in tokens:
            if token.startswith("<"):
                stack = _advance(stack, token)
        sep = sep if self.body else ""
        units = self.units + utf16_len(sep + "".join(tokens))
        if utf16_len(_openers(self.start)) + units + utf16_len(_closers(stack)) > self.limit:
            return False
        if sep:
            self.body.append(sep)
        self.body.extend(tokens)
        self.units, self.stack = units, stack
        return True

    def flush(self) -> None:
        """End the current message; one with no visible text is dropped (its tags carry over)."""
        text = _openers(self.start) + "".join(self.body) + _closers(self.stack)
        if _ANY_TAG.sub("", text).strip():
            self.messages.append(text.strip())
        self.start, self.body, self.units = self.stack, [], 0

    def add_or_split(self, tokens: Sequence[str], sep: str) -> None:
        """Add a line: whole if it fits here or in a new message, else word by word, else by characters."""
        if self.add(tokens, sep):
            return
        if not self.empty():
            self.flush()
            if self.add(tokens, sep):
                return
        for token in tokens:
            if self.add((token,), ""):
                continue
            self.flush()
            if self.add((token,), ""):
                continue
            # A single word longer than a message: by characters (tags and entities are short).
            for ch in token:
                if not self.add((ch,), ""):
                    self.flush()
                    self.add((ch,), "")


def _lines(block: str) -> list[list[str]]:
    lines: list[list[str]] = [[]]
    for token in _TOKEN.findall(block):
        if token == "\n":
            lines.append([])
        else:
            lines[-1].append(token)
    return lines


def fit_html(blocks: Iterable[str], limit: int = MAX_MESSAGE) -> list[str]:
    """Blocks joined by blank lines into messages of at most `limit` UTF-16 units each.

    A block that fits a message alone is never split: it starts a new message when the current one is
    full. A longer block is split at line boundaries (inside a line only when the line alone is too
    long). Tags open at a split are closed at the end of one message and reopened in the next, so each
    message is valid HTML on its own. Empty blocks are skipped.
    """
    if limit < 64:
        raise ValueError("limit too small to hold a message")
    packer = _Packer(limit)
    for block in blocks:
        if not block.strip():
            continue
        tokens = _TOKEN.findall(block)
        if packer.add(tokens, "\n\n"):
            continue
        fresh = _Packer(limit)
        fresh.start = packer.stack
        if fresh.add(tokens, ""):  # fits a message of its own
            packer.flush()
            packer.add(tokens, "")
            continue
        for index, line in enumerate(_lines(block)):
            packer.add_or_split(line, "\n\n" if index == 0 else "\n")
    packer.flush()
    return packer.messages


# =====================================================================================================
# Pieces shared by the renderers
# =====================================================================================================

_URGENT_MARK = "🚨 <b>URGENT</b>"
_UPDATE_MARK = "🔔 <b>Update</b>"

# Caps on facts: each item, and how many of a list an alert names (the full story names them all).
_FACT_ITEM = 60
_ALERT_FACT_ITEMS = 4
_MAX_DATES = 3
_TOPIC_NAME = 60
_OUTLET_NAME = 60
_ACTION_TITLE = 100
_BUTTON_LABEL = 40
MAX_ALERT_ACTIONS = 5


def _ltr(line: str) -> str:
    """The line with a left-to-right mark in front when it holds right-to-left text.

    A paragraph takes its direction from its first strong character. Lines such as '#12 · <title> · 4
    outlets' begin with neutral characters, so an Arabic or Hebrew title would turn the whole line
    right-to-left and scramble the order of our parts; the mark keeps our layout and leaves the title's
    own reading order alone.
    """
    if any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in line):
        return "\u200e" + line
    return line


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _title(story: Story, limit: int) -> str:
    title = clean(story.title) or "(untitled story)"
    return clip(title, limit)


def _header(story: Story, topic_names: Mapping[str, str]) -> str:
    mark = _URGENT_MARK if story.urgency is Urgency.URGENT else _UPDATE_MARK
    parts = [mark, f"story #{story.id}"]
    for topic in story.topics[:1]:
        name = clean(topic_names.get(topic, ""))
        if name:
            parts.append(clip(name, _TOPIC_NAME))
    return " · ".join(parts)


def _follow_up(story: Story) -> str:
    return f"↪️ Follow-up to story #{story.follow_up_of}" if story.follow_up_of is not None else ""


def _listed(values: Sequence[str], most: int | None) -> str:
    """Escaped, cleaned, de-duplicated items joined by commas; beyond `most`, '+N more'."""
    unique: list[str] = []
    seen: set[str] = set()
    for value in values:
        item = clean(value)
        if item and item.casefold() not in seen:
            seen.add(item.casefold())
            unique.append(item)
    shown = unique if most is None else unique[:most]
    text = ", ".join(clip(item, _FACT_ITEM) for item in shown)
    if len(unique) > len(shown):
        text += f" +{len(unique) - len(shown)} more"
    return text


def _outlets(sources: Sequence[Source]) -> list[tuple[str, str]]:
    """(outlet name, link) once per outlet in story order; the link is the outlet's first web link."""
    order: list[str] = []
    names: dict[str, str] = {}
    links: dict[str, str] = {}
    for source in sources:
        name = clean(source.outlet) or clean(source.feed) or _host(source.link) or "unnamed outlet"
        key = name.casefold()
        if key not in names:
            order.append(key)
            names[key] = name
        if key not in links and safe_url(source.link):
            links[key] = source.link
    return [(names[key], links.get(key, "")) for key in order]


def _host(url: str) -> str:
    href = safe_url(url)
    return (urlsplit(href).hostname or "") if href else ""


def _outlet_count(story: Story) -> int:
    # facts.outlets is the merged story's count; a story built without facts falls back to its sources.
    return story.facts.outlets or len(_outlets(story.sources))


def _facts(story: Story, most: int | None) -> str:
    facts = story.facts
    lines: list[str] = []
    if facts.count_text:
        people = "person" if facts.count_text == "1" else "people"
        lines.append(f"👥 {escape(facts.count_text)} {people}")
    places = _listed(facts.places, most)
    if places:
        lines.append(f"📍 {places}")
    dates = [format_fact_date(d) for d in dict.fromkeys(facts.dates) if d.strip()]
    if dates:
        shown = dates if most is None else dates[:_MAX_DATES]
        more = f" +{len(dates) - len(shown)} more" if len(dates) > len(shown) else ""
        lines.append(f"📅 {', '.join(shown)}{more}")
    reporters = _listed(facts.reporters, most)
    if reporters:
        lines.append(f"🗣️ {reporters}")
    outlets = _outlet_count(story)
    if outlets:
        lines.append(f"📰 {_plural(outlets, 'outlet', 'outlets')}")
    return "\n".join(lines)


def _source_line(number: int, source: Source) -> str:
    """'3. <a href>Title</a> — Outlet · 12 Oct 2023 08:30 UTC' on one line; a non-web link as <code>."""
    title = clip(clean(source.title) or "(untitled)", 300)
    outlet = clip(clean(source.outlet) or clean(source.feed) or "unnamed outlet", _OUTLET_NAME)
    line = f"{number}. {link(source.link, title)} — {outlet} · {format_time(source.published)}"
    if safe_url(source.link) is None and clean(source.link):
        # Shown, not linked: a reader can see what the feed gave, and nothing can be clicked.
        line += f" · <code>{clip(clean(source.link), 100)}</code>"
    return _ltr(line)


# =====================================================================================================
# The alert
# =====================================================================================================


@dataclass(frozen=True, slots=True)
class _Level:
    """How much of each part an alert keeps at one step of shortening."""

    summary_floor: int  # the least summary (UTF-16 units) this level accepts before trying the next
    sources: int  # outlets named in "Reported by"
    action_text: int  # units of each action's text; 0 shows action titles only


# An alert links an outlet only through an href this short; the full story links longer ones.
_ALERT_HREF = 400
# Titles are always cut to TITLE_UNITS: a headline longer than that is a broken feed, not news.
TITLE_UNITS = 300
# The summary never takes more than this in an alert; /story shows all of it.
SUMMARY_UNITS = 1500
# A summary cut below this says nothing; it is left out instead.
_SUMMARY_MIN = 40

# Tried in order until the alert fits: the summary gives way first (down to the floor), then outlets
# beyond the first few, then action texts, and last the summary's floor. With the caps above the last
# level is at most ~3,100 units before the summary (header 110, title 310, follow-up 40, facts 600,
# 3 outlets with _ALERT_HREF hrefs 1,450, 5 action titles 600), so it always fits.
_LADDER = (
    _Level(summary_floor=600, sources=8, action_text=240),
    _Level(summary_floor=600, sources=4, action_text=240),
    _Level(summary_floor=400, sources=4, action_text=120),
    _Level(summary_floor=0, sources=3, action_text=0),
)


def _reported_by(story: Story, most: int) -> str:
    outlets = _outlets(story.sources)
    if not outlets:
        return ""
    shown = [link(url, clip(name, _OUTLET_NAME), _ALERT_HREF) for name, url in outlets[:most]]
    more = f" and {len(outlets) - most} more" if len(outlets) > most else ""
    return "Reported by " + ", ".join(shown) + more


def _action_lines(story: Story, text_units: int) -> str:
    actions = story.actions[:MAX_ALERT_ACTIONS]
    if not actions:
        return ""
    lines = ["<b>What you can do</b>"]
    for action in actions:
        line = f"✍️ <b>{clip(clean(action.title) or 'Take action', _ACTION_TITLE)}</b>"
        text = clean(action.text)
        if text and text_units:
            line += f" — {clip(text, text_units)}"
        lines.append(line)
    if len(story.actions) > len(actions):
        lines.append(f"+{len(story.actions) - len(actions)} more: /story {story.id}")
    return "\n".join(lines)


def _join_blocks(blocks: Iterable[str]) -> str:
    return "\n\n".join(b for b in blocks if b)


def _alert_text(story: Story, topic_names: Mapping[str, str], limit: int) -> str:
    head = "\n".join(
        line
        for line in (_header(story, topic_names), f"<b>{_title(story, TITLE_UNITS)}</b>", _follow_up(story))
        if line
    )
    facts = _facts(story, _ALERT_FACT_ITEMS)
    summary = clean_block(story.summary)
    for level in _LADDER:
        before = _join_blocks((head, facts))
        after = _join_blocks((_reported_by(story, level.sources), _action_lines(story, level.action_text)))
        without = _join_blocks((before, after))
        # The summary goes between `before` and `after`, adding one blank-line separator (2 units).
        room = min(limit - utf16_len(without) - 2, SUMMARY_UNITS)
        whole = escape(summary)
        if utf16_len(whole) <= room:
            shown = whole
        elif room >= max(level.summary_floor, _SUMMARY_MIN):
            shown = clip(summary, room)
        elif level.summary_floor == 0:
            shown = ""  # the last level: no room worth a summary; /story has it
        else:
            continue
        text = _join_blocks((before, shown, after))
        if utf16_len(text) <= limit:
            return text
    # Unreachable at MAX_MESSAGE by the bounds above; it keeps the contract for smaller limits.
    mark = _URGENT_MARK if story.urgency is Urgency.URGENT else _UPDATE_MARK
    first = f"{mark} · story #{story.id}\n"
    title = clean(story.title) or "(untitled story)"
    return first + f"<b>{clip(title, max(limit - utf16_len(first) - 7, 1))}</b>"


def _alert_buttons(story: Story, actions: int, *, mute: bool = True) -> tuple[tuple[Button, ...], ...]:
    rows: list[tuple[Button, ...]] = []
    for index, action in enumerate(story.actions[:actions]):
        label = clip_plain(clean(action.title) or "Take action", _BUTTON_LABEL)
        rows.append((Button(f"✍️ {label}", callback_data=action_callback(story, index)),))
    last: list[Button] = []
    if story.sources:
        last.append(Button("📚 All sources", callback_data=sources_callback(story)))
    if mute and story.topics:
        last.append(Button("🔕 Mute topic", callback_data=mute_callback(story, 0)))
    if last:
        rows.append(tuple(last))
    return tuple(rows)


def render_alert(story: Story, *, topic_names: Mapping[str, str] | None = None, limit: int = MAX_MESSAGE) -> Rendered:
    """A story's alert: header, title, facts, summary, outlets, actions; within `limit` UTF-16 units.

    `topic_names` maps topic ids to the names shown in the header. Buttons: one row per shown action
    (its card), then 'All sources' and 'Mute topic' (the story's first topic).
    """
    if limit < 256:
        raise ValueError("limit too small for an alert")
    text = _alert_text(story, topic_names or {}, limit)
    return Rendered(text, _alert_buttons(story, MAX_ALERT_ACTIONS))


# =====================================================================================================
# The follow-up note, the story in full, sources, action cards, lines and digests
# =====================================================================================================


def _short_facts(story: Story) -> str:
    parts: list[str] = []
    if story.facts.count_text:
        people = "person" if story.facts.count_text == "1" else "people"
        parts.append(f"👥 {escape(story.facts.count_text)} {people}")
    dates = [format_fact_date(d) for d in story.facts.dates if d.strip()]
    if dates:
        parts.append(f"📅 {dates[-1]}")
    outlets = _outlet_count(story)
    if outlets:
        parts.append(f"📰 {_plural(outlets, 'outlet', 'outlets')}")
    return " · ".join(parts)


def render_followup(story: Story, previous_urgency: Urgency) -> Rendered:
    """A short note that a story already alerted changed urgency (usually: it is now urgent)."""
    if story.urgency is Urgency.URGENT and previous_urgency is not Urgency.URGENT:
        first = f"🚨 <b>Now URGENT</b> · story #{story.id}"
    elif story.urgency is not Urgency.URGENT and previous_urgency is Urgency.URGENT:
        first = f"🔔 <b>No longer urgent</b> · story #{story.id}"
    else:
        first = f"🔔 <b>New reports</b> · story #{story.id}"
    lines = [first, f"<b>{_title(story, 200)}</b>", _short_facts(story), f"Full story: /story {story.id}"]
    text = "\n".join(line for line in lines if line)
    # Muting belongs on the alert itself; the note keeps the actions (when urgent) and the sources.
    rows = _alert_buttons(story, 3 if story.urgency is Urgency.URGENT else 0, mute=False)
    return Rendered(text, rows)


def _action_block(action: Action) -> str:
    lines = [f"✍️ <b>{clip(clean(action.title) or 'Take action', _ACTION_TITLE)}</b>"]
    text = clean_block(action.text)
    if text:
        lines.append(escape(text))
    targets = _listed(action.targets, None)
    if targets:
        lines.append(f"🎯 Send to: {targets}")
    href = safe_url(action.url) if action.url else None
    if href:
        lines.append(f"🔗 {link(href, escape(_host(href)))}")
    return "\n".join(lines)


def render_story_full(story: Story) -> list[str]:
    """/story: header, title, facts, full summary, every source with its link, every action in full.

    Split at line boundaries into messages of at most MAX_MESSAGE units, each valid HTML on its own.
    """
    head = [_header(story, {}), f"<b>{_title(story, 1000)}</b>", _follow_up(story)]
    seen = [
        f"First seen {format_time(story.first_seen)}" if story.first_seen else "",
        f"last update {format_time(story.last_seen)}" if story.last_seen else "",
    ]
    head.append(" · ".join(s for s in seen if s))
    blocks = ["\n".join(line for line in head if line), _facts(story, None)]
    summary = clean_block(story.summary)
    if summary:
        blocks.append(escape(summary))
    blocks.append(_sources_block(story))
    if story.actions:
        first, *others = (_action_block(action) for action in story.actions)
        blocks.append("<b>What you can do</b>\n" + first)
        blocks.extend(others)
    return fit_html(blocks)


def _sources_block(story: Story) -> str:
    if not story.sources:
        return "No sources recorded."
    lines = [f"📚 <b>Sources</b> ({_plural(len(story.sources), 'report', 'reports')})"]
    lines.extend(_source_line(n, source) for n, source in enumerate(story.sources, 1))
    return "\n".join(lines)


def render_sources(story: Story) -> list[str]:
    """Every source of a story, one numbered line each with its link, over as many messages as needed."""
    head = f"📚 Sources of story #{story.id}: <b>{_title(story, 200)}</b>"
    lines = [_source_line(n, source) for n, source in enumerate(story.sources, 1)]
    return fit_html([head, "\n".join(lines) or "No sources recorded."])


def render_action_card(story: Story, action: Action, *, limit: int = MAX_MESSAGE) -> str:
    """An action in full: title, the story it is for, its text in a <pre> block to copy, targets, link."""
    head = "\n".join(
        (
            f"✍️ <b>{clip(clean(action.title) or 'Take action', _ACTION_TITLE)}</b>",
            f"For story #{story.id}: <i>{_title(story, 200)}</i>",
        )
    )
    tail_lines: list[str] = []
    targets = [clean(t) for t in action.targets if clean(t)]
    if targets:
        tail_lines.append("<b>Send to</b> (tap to copy)")
        tail_lines.extend(f"<code>{clip(t, 200)}</code>" for t in targets[:20])
        if len(targets) > 20:
            tail_lines.append(f"+{len(targets) - 20} more")
    href = safe_url(action.url) if action.url else None
    if href:
        tail_lines.append(f"🔗 {link(href, escape(_host(href)))}")
    tail = "\n".join(tail_lines)
    text = clean_block(action.text)
    room = limit - utf16_len(_join_blocks((head, tail))) - 4 - len("<pre></pre>")
    body = f"<pre>{clip(text, room)}</pre>" if text and room >= _SUMMARY_MIN else ""
    return _join_blocks((head, body, tail))


_LINE_TITLE = 120


def _story_day(story: Story) -> str:
    if story.first_seen:
        return format_day(story.first_seen)
    if story.sources:
        return format_day(min(_utc(s.published) for s in story.sources))
    return ""


def render_story_line(story: Story) -> str:
    """One escaped line for /recent and /search: '#12 · title · 4 outlets · 12 Oct 2023'.

    A line holding right-to-left text starts with U+200E (LEFT-TO-RIGHT MARK) so it keeps this layout.
    """
    parts = [f"#{story.id}", _title(story, _LINE_TITLE)]
    outlets = _outlet_count(story)
    if outlets:
        parts.append(_plural(outlets, "outlet", "outlets"))
    day = _story_day(story)
    if day:
        parts.append(day)
    return _ltr(" · ".join(parts))


def render_digest(stories: Sequence[Story], *, since: datetime) -> list[str]:
    """Stories since `since`, urgent ones first, one line each; over as many messages as needed."""
    if not stories:
        return [f"🗞 No new stories since {format_time(since)}."]
    head = f"🗞 <b>Digest</b>: {_plural(len(stories), 'story', 'stories')} since {format_time(since)}"
    urgent = [render_story_line(s) for s in stories if s.urgency is Urgency.URGENT]
    other = [render_story_line(s) for s in stories if s.urgency is not Urgency.URGENT]
    blocks = [head]
    if urgent:
        blocks.append("\n".join(["🚨 <b>Urgent</b>", *urgent]))
    if other:
        blocks.append("\n".join(["🔔 <b>Updates</b>", *other]))
    blocks.append("Details: /story ID")
    return fit_html(blocks)


# =====================================================================================================
# Command replies: help, topics, subscriptions, settings, lists, feeds, status, reload
# =====================================================================================================

# (command, description) for setMyCommands and /help; descriptions are 1-256 characters (Telegram's rule).
COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "What this bot does"),
    ("help", "Commands, topics and how to subscribe"),
    ("subscribe", "Follow topics: /subscribe [topic...]"),
    ("unsubscribe", "Stop topics: /unsubscribe [topic...]"),
    ("settings", "Immediate or daily digest, urgent only, quiet hours, time zone"),
    ("recent", "Latest stories: /recent [N]"),
    ("story", "A story in full: /story ID"),
    ("search", "Find stories: /search WORDS"),
    ("actions", "What you can do about the latest urgent stories"),
    ("sources", "The monitored feeds and their health"),
)
ADMIN_COMMANDS: tuple[tuple[str, str], ...] = (
    ("status", "Operators: queue, last poll, failing feeds, counts"),
    ("reload", "Operators: re-read feeds.yaml"),
)

_HELP_USAGE = {
    "subscribe": "/subscribe [topic…] — follow topics (no topic: pick them from buttons)",
    "unsubscribe": "/unsubscribe [topic…] — stop topics (no topic: stop everything)",
    "settings": "/settings — immediate alerts or a daily digest, urgent only, quiet hours, time zone",
    "recent": "/recent [N] — the latest stories of your topics",
    "story": "/story ID — one story in full: facts, summary, every source, actions",
    "search": "/search WORDS — stories whose text has every word, newest first",
    "actions": "/actions — what you can do about the latest urgent stories",
    "sources": "/sources — the monitored feeds and whether each is healthy",
    "status": "/status — queue depth, last poll, failing feeds, counts",
    "reload": "/reload — re-read feeds.yaml (a broken file keeps the old one)",
}
_TOPIC_LABEL = 48
_SUBSCRIBE_PREFIX = "tog"
_SETTINGS_PREFIX = "set"
_HOUR_WORD = re.compile(r"[0-9]{1,2}(?:-[0-9]{1,2})?|[a-z-]{1,16}")


def _topic_lines(topics: Sequence[Topic], subscribed: Iterable[str] = ()) -> str:
    chosen = set(subscribed)
    lines = []
    for topic in topics:
        mark = "✅" if topic.id in chosen else "•"
        lines.append(f"{mark} <code>{clip(clean(topic.id), 64)}</code> — {clip(clean(topic.name), _TOPIC_NAME)}")
    return "\n".join(lines)


def render_help(topics: Sequence[Topic], *, admin: bool = False) -> list[str]:
    """/start and /help: what the bot does, its topics, its commands and how groups and channels subscribe."""
    about = (
        "<b>Repatriation alerts</b>\n"
        "I watch news feeds for reports of China forcibly returning North Korean escapees, gather the "
        "reports of one event into a story, and send an alert with the facts, every source and actions "
        "you can take."
    )
    commands = ["<b>Commands</b>", *(escape(_HELP_USAGE[name]) for name, _ in COMMANDS if name in _HELP_USAGE)]
    if admin:
        commands.extend(escape(_HELP_USAGE[name]) for name, _ in ADMIN_COMMANDS)
    where = (
        "In a group, only its admins can change subscriptions and settings. To subscribe a channel, make me "
        "an admin of it and post /subscribe there, or send me <code>/subscribe @channel</code> here."
    )
    return fit_html([about, "<b>Topics</b>\n" + _topic_lines(topics), "\n".join(commands), where])


def subscribe_callback(chat_id: int, topics: Sequence[Topic], index: int) -> str:
    """callback_data toggling topics[index] for `chat_id`: by topic id when it fits 64 bytes, else by index."""
    data = f"{_SUBSCRIBE_PREFIX}:{chat_id}:{topics[index].id}"
    return data if _plain_ref(topics[index].id) and _fits_callback(data) else f"{_SUBSCRIBE_PREFIX}:{chat_id}:#{index}"


def parse_subscribe_callback(data: str) -> tuple[int, str | None, int | None] | None:
    """(chat id, topic id or None, topic index or None) from a topic picker button; None if not one."""
    kind, _, rest = data.partition(":")
    chat, _, ref = rest.partition(":")
    if kind != _SUBSCRIBE_PREFIX or not _CHAT_ID.fullmatch(chat) or not ref:
        return None
    if ref.startswith("#"):
        return (int(chat), None, int(ref[1:])) if _NUMBER.fullmatch(ref[1:]) else None
    return int(chat), ref, None


def render_topic_picker(
    chat_id: int, topics: Sequence[Topic], subscribed: Iterable[str], *, target: str | None = None
) -> Rendered:
    """The /subscribe keyboard: one button per topic, ticked when followed; a press toggles it."""
    chosen = set(subscribed)
    whom = f" for <b>{clip(clean(target), 100)}</b>" if target else ""
    text = f"Tap a topic to follow it{whom}, tap again to stop.\n\n{_topic_lines(topics, chosen)}"
    rows = tuple(
        (
            Button(
                ("✅ " if topic.id in chosen else "➕ ") + clip_plain(clean(topic.name) or topic.id, _TOPIC_LABEL),
                callback_data=subscribe_callback(chat_id, topics, index),
            ),
        )
        for index, topic in enumerate(topics)
    )
    return Rendered(text, rows)


def _names(ids: Iterable[str], topic_names: Mapping[str, str]) -> str:
    return ", ".join(clip(clean(topic_names.get(i, "")) or i, _TOPIC_NAME) for i in ids)


def render_subscription(
    added: Sequence[str],
    removed: Sequence[str],
    unchanged: Sequence[str],
    topics: Sequence[str],
    topic_names: Mapping[str, str],
    *,
    subscribing: bool,
    target: str | None = None,
) -> str:
    """What a /subscribe or /unsubscribe did: topics added or removed, and what the chat follows now."""
    whom = f"<b>{clip(clean(target), 100)}</b>" if target else "This chat"
    lines: list[str] = []
    if added:
        lines.append(f"✅ {whom} now follows: {_names(added, topic_names)}.")
    if removed:
        lines.append(f"🔕 {whom} stopped following: {_names(removed, topic_names)}.")
    if unchanged:
        state = "already follows" if subscribing else "was not following"
        lines.append(f"{whom} {state}: {_names(unchanged, topic_names)}.")
    if topics:
        lines.append(f"Topics followed: {_names(topics, topic_names)}. /settings to choose how alerts arrive.")
    else:
        lines.append("No topics followed, so no alerts. /subscribe to follow one.")
    return "\n".join(lines)


def settings_callback(chat_id: int, *words: str) -> str:
    """callback_data applying a /settings change (`words`, e.g. 'quiet', '22-7') to `chat_id`."""
    return ":".join((_SETTINGS_PREFIX, str(chat_id), *words))


def parse_settings_callback(data: str) -> tuple[int, list[str]] | None:
    """(chat id, settings words) from a settings button; None when `data` is not one."""
    kind, _, rest = data.partition(":")
    chat, _, words = rest.partition(":")
    parts = words.split(":") if words else []
    if kind != _SETTINGS_PREFIX or not _CHAT_ID.fullmatch(chat) or not 1 <= len(parts) <= 2:
        return None
    if not all(_HOUR_WORD.fullmatch(part) for part in parts):
        return None
    return int(chat), parts


def _hour(hour: int) -> str:
    return f"{hour:02d}:00"


def render_settings(
    chat_id: int,
    settings: ChatSettings,
    topics: Sequence[str],
    topic_names: Mapping[str, str],
    *,
    target: str | None = None,
    quiet_presets: Sequence[tuple[int, int]] = ((22, 7), (23, 8), (0, 8)),
) -> Rendered:
    """/settings: how the chat gets alerts, with buttons that change each setting (the current one ticked)."""
    zone = clip(clean(settings.timezone), 64)
    digest = settings.mode is DeliveryMode.DIGEST
    when = f"one daily digest at {_hour(settings.digest_hour)} ({zone})" if digest else "each story as it breaks"
    which = "urgent stories only" if settings.urgent_only else "all stories"
    if settings.quiet_start is not None and settings.quiet_end is not None:
        quiet = f"{_hour(settings.quiet_start)}–{_hour(settings.quiet_end)} ({zone}), alerts arrive silently"
    else:
        quiet = "none"
    whom = f" of <b>{clip(clean(target), 100)}</b>" if target else ""
    lines = [
        f"⚙️ <b>Settings</b>{whom}",
        f"Delivery: {when}",
        f"Stories: {which}",
        f"Quiet hours: {quiet}",
        f"Time zone: {zone} — change it with <code>/settings tz Asia/Seoul</code> (any IANA name)",
        f"Topics: {_names(topics, topic_names) or 'none (/subscribe)'}",
    ]

    def button(label: str, selected: bool, *words: str) -> Button:
        return Button(("✅ " if selected else "") + label, callback_data=settings_callback(chat_id, *words))

    rows: list[tuple[Button, ...]] = [
        (button("Each story", not digest, "immediate"), button("Daily digest", digest, "digest")),
    ]
    if digest:
        earlier, later = (settings.digest_hour - 1) % 24, (settings.digest_hour + 1) % 24
        rows.append(
            (button(f"◀ {_hour(earlier)}", False, "hour", str(earlier)),
             button(f"{_hour(later)} ▶", False, "hour", str(later)))
        )
    rows.append((button("All stories", not settings.urgent_only, "all"),
                 button("Urgent only", settings.urgent_only, "urgent")))
    current = (settings.quiet_start, settings.quiet_end)
    quiet_row = [button("No quiet hours", current == (None, None), "quiet", "off")]
    quiet_row.extend(
        button(f"{start:02d}–{end:02d}", current == (start, end), "quiet", f"{start}-{end}")
        for start, end in quiet_presets
    )
    rows.append(tuple(quiet_row))
    return Rendered("\n".join(lines), tuple(rows))


def render_story_list(heading: str, stories: Sequence[Story], *, empty: str) -> list[str]:
    """A heading (HTML) and one line per story with 'Details: /story ID'; `empty` (HTML) when none."""
    if not stories:
        return [f"{heading}\n{empty}"]
    lines = "\n".join(render_story_line(story) for story in stories)
    return fit_html([heading, lines, "Details: /story ID"])


def render_actions(stories: Sequence[Story]) -> list[str]:
    """/actions: for each story, its line and its actions in full (text shortened, targets listed)."""
    blocks = ["✍️ <b>What you can do now</b>"]
    for story in stories:
        if not story.actions:
            continue
        parts = [render_story_line(story)]
        for action in story.actions[:MAX_ALERT_ACTIONS]:
            block = _action_block(replace(action, text=_cut(clean_block(action.text), 600, escaped=True)))
            parts.append(block)
        blocks.append("\n".join(parts))
    if len(blocks) == 1:
        return ["No actions suggested for recent urgent stories. /recent lists the latest stories."]
    return fit_html(blocks)


_FEED_MARKS = {"ok": "✅", "new": "🆕", "retrying": "⏳", "failing": "⚠️", "disabled": "⏸"}


def _feed_line(feed: FeedHealth) -> str:
    name = clip(clean(feed.name), 80)
    line = f"{_FEED_MARKS.get(feed.state, '•')} {name} · {escape(feed.language)}"
    if feed.state == "new":
        line += " — not polled yet"
    elif feed.state == "disabled":
        line += f" — disabled: {clip(clean(feed.disabled_reason or 'no reason recorded'), 120)}"
    elif feed.state in ("failing", "retrying"):
        error = clip(clean(feed.last_error or "unknown error"), 120)
        line += f" — {feed.state}, {_plural(feed.errors, 'error', 'errors')} in a row: {error}"
    elif feed.last_success_at is not None:
        line += f" — ok, last fetched {format_time(feed.last_success_at)}"
    return _ltr(line)


def render_feed_health(feeds: Sequence[FeedHealth]) -> list[str]:
    """/sources: every monitored feed with a mark and what is wrong, if anything."""
    if not feeds:
        return ["No feeds are configured."]
    healthy = sum(1 for feed in feeds if feed.healthy)
    head = f"📡 <b>Monitored feeds</b>: {len(feeds)}, {healthy} healthy"
    return fit_html([head, "\n".join(_feed_line(feed) for feed in feeds)])


def _ago(then: datetime, now: datetime) -> str:
    minutes = int((_utc(now) - _utc(then)).total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 120:
        return f"{minutes} min ago"
    hours = minutes // 60
    return f"{hours} h ago" if hours < 48 else f"{hours // 24} days ago"


def render_status(status: Status) -> list[str]:
    """/status for operators: queue, last poll, failing feeds, chats, stories, recent delivery failures."""
    counts = " · ".join(f"{escape(name)} {n}" for name, n in status.outbox if name != "pending")
    lines = [
        f"🩺 <b>Status</b> · {format_time(status.now)}",
        f"📤 Outbox: {status.pending} pending" + (f" · {counts}" if counts else ""),
        "🕑 Last poll: "
        + (f"{format_time(status.last_poll)} ({_ago(status.last_poll, status.now)})" if status.last_poll else "never"),
        f"📡 Feeds: {status.feeds} configured, {len(status.failing)} not healthy",
        *(f"   {_feed_line(feed)}" for feed in status.failing[:15]),
        f"👥 Chats: {status.chats_active} active, {status.chats_inactive} inactive",
        f"🗞 Stories: {status.stories}",
        f"⚙️ Config: <code>{clip(clean(status.config_source), 200)}</code>",
    ]
    if len(status.failing) > 15:
        lines.insert(5 + 15, f"   +{len(status.failing) - 15} more: /sources")
    blocks = ["\n".join(lines)]
    if status.recent_failures:
        failures = ["⚠️ <b>Recent delivery failures</b>"]
        for entry in status.recent_failures:
            reason = clip(clean(entry.last_error or "no reason recorded"), 200)
            failures.append(f"• chat <code>{entry.chat_id}</code>, story #{entry.story_id}: {reason}")
        blocks.append("\n".join(failures))
    return fit_html(blocks)


def render_reload(result: ReloadResult) -> list[str]:
    """/reload: what is in force now, or the problems of the file and that the old config stays."""
    source = f"<code>{clip(clean(result.source), 200)}</code>"
    if not result.ok:
        shown = result.problems[:30]
        problems = "\n".join(f"• {clip(clean(p), 300)}" for p in shown)
        if len(result.problems) > len(shown):
            problems += f"\n+{len(result.problems) - len(shown)} more"
        head = f"❌ {source} has problems; the configuration in force is unchanged."
        return fit_html([head, problems or "• (no details)"])
    lines = [
        f"✅ Reloaded {source}: {_plural(result.topics, 'topic', 'topics')}, "
        f"{_plural(result.feeds, 'feed', 'feeds')}, {_plural(result.actions, 'action', 'actions')}."
    ]
    if result.added_feeds:
        lines.append("Added feeds: " + ", ".join(clip(clean(n), 80) for n in result.added_feeds))
    if result.removed_feeds:
        lines.append("Removed feeds: " + ", ".join(clip(clean(n), 80) for n in result.removed_feeds))
    return fit_html(["\n".join(lines)])
