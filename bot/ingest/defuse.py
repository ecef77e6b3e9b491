"""Feed bytes made safe for feedparser: no DTD in the prolog, so no entity can be expanded (an entity bomb).

Pure functions of UTF-8 bytes; bot.ingest.parse calls defuse before feedparser sees a body.
"""

from __future__ import annotations

import re

# The prolog tokens defuse acts on: comment, DOCTYPE, other declaration, processing instruction,
# and the root element's start, which ends the prolog.
_PROLOG_TOKEN = re.compile(rb"<!--|<!DOCTYPE|<!|<\?|<\w", re.IGNORECASE | re.ASCII)
_XML_DECLARATION = re.compile(rb"<\?xml\s", re.ASCII)
_DECLARATION_TOKEN = re.compile(rb"\"[^\"]*\"|'[^']*'|[\[\]>]")


def defuse(data: bytes) -> bytes:
    """UTF-8 XML whose prolog holds no DTD: DOCTYPEs and comments removed, any other '<!' escaped,
    XML declarations after feedparser's own (at offset 0) dropped.

    Why: feedparser copies a DOCTYPE's literal <!ENTITY> declarations and, when the strict parser
    fails, its fallback parser expands them without limit (a 200 kB body gave a 100 MB summary).
    Expat's amplification guard covers only the strict path; external entities are already off in
    feedparser. Its regexes find declarations at any line start before the root, even inside a
    comment or processing instruction, so those are emptied or escaped too. Feeds have no use for a
    DTD. A stray second XML declaration (after blank lines or a comment) would fail the strict parse.
    Removed parts leave their line breaks behind.
    """
    out: list[bytes] = []
    pos = 0
    while (token := _PROLOG_TOKEN.search(data, pos)) is not None:
        out.append(data[pos : token.start()])
        kind = token.group().upper()
        if kind == b"<!--":
            pos = _end_of(data, b"-->", token.end())
            out.append(_newlines(data, token.start(), pos))
        elif kind == b"<!DOCTYPE":
            pos = _declaration_end(data, token.end())
            out.append(_newlines(data, token.start(), pos))
        elif kind == b"<!":
            out.append(b"&lt;!")
            pos = token.end()
        elif kind == b"<?":
            pos = _end_of(data, b"?>", token.end())
            instruction = data[token.start() : pos]
            if token.start() == 0 or not _XML_DECLARATION.match(instruction):
                out.append(instruction.replace(b"<!", b"&lt;!"))
            else:
                out.append(_newlines(data, token.start(), pos))
        else:  # the root element: the prolog is over
            pos = token.start()
            break
    out.append(data[pos:])
    return b"".join(out)


def _newlines(data: bytes, start: int, end: int) -> bytes:
    """The line breaks of data[start:end]: what stands in for a removed part, so that the line
    numbers in parser complaints still point into the document as served."""
    return b"\n" * data.count(b"\n", start, end)


def _end_of(data: bytes, terminator: bytes, start: int) -> int:
    """Index just after the next `terminator` from `start`, or len(data) when there is none."""
    found = data.find(terminator, start)
    return len(data) if found < 0 else found + len(terminator)


def _declaration_end(data: bytes, start: int) -> int:
    """Index just after the '>' closing a DOCTYPE begun before `start`, skipping quoted literals
    and the [internal subset]; len(data) when it never closes."""
    depth = 0
    for token in _DECLARATION_TOKEN.finditer(data, start):
        if token.group() == b"[":
            depth += 1
        elif token.group() == b"]":
            depth = max(0, depth - 1)
        elif token.group() == b">" and depth == 0:
            return token.end()
    return len(data)
