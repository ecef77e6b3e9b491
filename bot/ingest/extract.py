"""An article page's main text; the only module importing trafilatura."""

from __future__ import annotations

import logging

# Named, not __name__: operators filter logs on this name, which stays when the module moves.
log = logging.getLogger("bot.extract")

# Below this, what came out is a caption, a paywall notice or a cookie banner, not an article.
MIN_CHARS = 200
# The same cap bot.ingest.parse puts on a feed's own content: one item never fills the database.
MAX_CHARS = 20_000


def main_text(html: bytes, url: str) -> str | None:
    """The page's main text (paragraphs separated by blank lines, at most MAX_CHARS), or None when
    the page has no usable article (under MIN_CHARS) or the library fails on it."""
    # Imported here, not at the top: only feeds with full_text need it, and it holds 12 MB of memory in
    # every process that imports it (bench/poll_scale.py measures the process's peak against 300 MB).
    import trafilatura

    try:
        extracted = trafilatura.extract(
            html,
            url=url,
            output_format="txt",
            include_comments=False,
            include_tables=False,  # on news pages, tables are mostly layout and link lists
            favor_precision=True,  # a shorter text beats one with menus and teasers mixed in
        )
    except Exception as exc:
        # A page that breaks the extractor is one item falling back to its teaser, not a feed failure.
        log.debug("no main text for %s: %s: %s", url, type(exc).__name__, exc)
        return None
    if not extracted:
        return None
    paragraphs = [line.strip() for line in extracted.splitlines() if line.strip()]
    text = "\n\n".join(paragraphs)
    if len(text) < MIN_CHARS:
        return None
    return _cap(text)


def _cap(text: str) -> str:
    """`text` cut to MAX_CHARS, at the last paragraph break when there is one in the second half."""
    if len(text) <= MAX_CHARS:
        return text
    cut = text.rfind("\n\n", 0, MAX_CHARS)
    return text[:cut] if cut > MAX_CHARS // 2 else text[:MAX_CHARS]
