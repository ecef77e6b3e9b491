"""Feed bodies built in code, for tests and benches (bench/latency.py) alike."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape


def rss(title: str, items: Sequence[tuple[str, str, str, datetime]]) -> bytes:
    """An RSS 2.0 body with (title, link, description, published) items."""
    entries = "".join(
        f"<item><title>{escape(t)}</title><link>{escape(link)}</link><guid>{escape(link)}</guid>"
        f"<pubDate>{format_datetime(when)}</pubDate><description>{escape(d)}</description></item>"
        for t, link, d, when in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{escape(title)}</title>'
        f"<link>https://example.org/</link><description>test</description>{entries}</channel></rss>"
    ).encode()
