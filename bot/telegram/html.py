"""Telegram HTML made safe: feed text cleaned and escaped, shortened by UTF-16 units, split into messages.

Every string that came from a feed (titles, summaries, outlet names, links, places, action texts) goes
through `clean` and `escape` (or `clip`), so a hostile feed can neither inject markup nor reorder a message
with bidirectional overrides. `fit_html` packs blocks into messages of at most MAX_MESSAGE UTF-16 code
units of raw HTML, which bounds what Telegram counts after parsing entities.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

MAX_MESSAGE = 4096  # Telegram's limit on a message's text, in UTF-16 code units

# The tags Telegram's HTML parse mode accepts (https://core.telegram.org/bots/api#html-style).
ALLOWED_TAGS = frozenset({"b", "i", "u", "s", "a", "code", "pre", "blockquote", "tg-spoiler"})

ELLIPSIS = "…"


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


def visible(text_html: str) -> str:
    """What a reader sees of our HTML: tags removed, entities decoded."""
    return html.unescape(_ANY_TAG.sub("", text_html))


def host(url: str) -> str:
    """The host name of a safe http(s) URL; '' for anything else."""
    href = safe_url(url)
    return (urlsplit(href).hostname or "") if href else ""


def ltr(line: str) -> str:
    """The line with a left-to-right mark in front when it holds right-to-left text.

    A paragraph takes its direction from its first strong character. Lines such as '#12 · <title> · 4
    outlets' begin with neutral characters, so an Arabic or Hebrew title would turn the whole line
    right-to-left and scramble the order of our parts; the mark keeps our layout and leaves the title's
    own reading order alone.
    """
    if any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in line):
        return "\u200e" + line
    return line


def plain_ref(ref: str) -> bool:
    """An id usable as is in callback data: printable, no spaces, not starting with '#' (an index)."""
    return (
        bool(ref)
        and ref.isprintable()
        and not any(c.isspace() for c in ref)
        and not ref.startswith("#")
        and not _STRIP.search(ref)
    )
