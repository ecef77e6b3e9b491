"""Sentences of a text in order, in English, Korean and Chinese: paragraph breaks, terminators, abbreviations."""

from __future__ import annotations

import re

from bot.text.scripts import HANGUL as _HANGUL

__all__ = ["collapse_spaces", "primary_language", "split_paragraph", "split_paragraphs", "split_sentences"]


# --- text normalisation ------------------------------------------------------------------------------

# Feed text carries no-break spaces, ideographic spaces (Chinese indentation) and zero-width characters;
# they would defeat the patterns below, so they become plain spaces or vanish before anything else.
_SPACES = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_ZERO_WIDTH = re.compile(r"[\u200b-\u200d\u2060\ufeff\u00ad]")


def collapse_spaces(text: str) -> str:
    """One line of text with whitespace collapsed and invisible characters removed."""
    return _SPACES.sub(" ", _ZERO_WIDTH.sub("", text)).strip()


def primary_language(language: str) -> str:
    """The primary language subtag in lower case ('zh-Hans' -> 'zh'); 'en' when empty."""
    return re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0] or "en"


# --- sentence splitting --------------------------------------------------------------------------------

# A run of terminal punctuation, with the closing quotes or brackets that belong to the sentence it ends.
_TERMINATOR = re.compile(r"([.!?…。！？]+)([\"'”’»」』）)\]]*)")
_FULLWIDTH_END = frozenset("。！？")
# Words that end in a period without ending the sentence. Month abbreviations and "No." are here because
# news writes "Oct. 9" and "No. 2"; "etc." is not, since it usually does end a sentence.
_ABBREVIATIONS = frozenset(
    {
        "mr", "mrs", "ms", "mx", "dr", "prof", "st", "jr", "sr", "gen", "lt", "col", "maj", "capt", "cmdr",
        "sgt", "cpl", "adm", "gov", "sen", "rep", "rev", "hon", "pres", "amb", "supt", "insp",
        "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
        "no", "nos", "vs", "v", "inc", "corp", "co", "ltd", "dept", "univ", "approx", "est", "fig",
        "vol", "pp", "ca", "cf", "al", "mt", "ft", "ave", "blvd", "e.g", "i.e", "a.m", "p.m",
    }
)  # fmt: skip
# After a dotted acronym ("U.S.", "U.N.") a new sentence is assumed only before one of these words:
# "the U.S. said" must stay whole, while "... sanctions by the U.S. The group said" is two sentences.
_SENTENCE_STARTERS = frozenset(
    {
        "the", "a", "an", "he", "she", "it", "they", "we", "i", "this", "that", "these", "those", "but",
        "and", "in", "on", "at", "its", "their", "his", "her", "there", "however", "meanwhile", "according",
        "some", "many", "most", "after", "before", "since", "when", "while", "if", "as",
    }
)  # fmt: skip
_SPEECH_TAIL = 12  # "…。”他说。": a quote followed by a tail this short is one sentence with its attribution
_LATIN_END = re.compile(r"[.!?:;…\"'”’»)\]]$")


def split_paragraphs(text: str, language: str) -> list[str]:
    """Non-empty cleaned lines; hard-wrapped Latin lines (no end punctuation, next starts lower) rejoined."""
    latin = primary_language(language) not in {"zh", "ja", "ko"}
    paragraphs: list[str] = []
    previous_blank = True
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = collapse_spaces(raw)
        if not line:
            previous_blank = True
            continue
        # A feed that wraps its text at a fixed width splits sentences over lines; a line that does not end
        # a sentence, followed directly by one that starts in lower case, is the same paragraph.
        if latin and paragraphs and not previous_blank and not _LATIN_END.search(paragraphs[-1]) and line[0].islower():
            paragraphs[-1] = f"{paragraphs[-1]} {line}"
        else:
            paragraphs.append(line)
        previous_blank = False
    return paragraphs


def _token_before(paragraph: str, end: int) -> str:
    """The word that ends at `end` (where a period starts), without leading quotes or brackets."""
    start = paragraph.rfind(" ", 0, end) + 1
    return paragraph[start:end].lstrip("\"'“‘([{«「『")


def _is_boundary(paragraph: str, match: re.Match[str]) -> bool:
    """Whether a run of terminal punctuation in `paragraph` ends a sentence."""
    punct, closing = match.group(1), match.group(2)
    end = match.end()
    rest = paragraph[end:]
    if not rest.strip():
        return True
    if any(ch in _FULLWIDTH_END for ch in punct):
        # Chinese ends sentences without a space. "“……。”他说。" is one sentence: a closing quote followed
        # by a short attribution tail is not a boundary.
        if closing:
            tail = re.split(r"[。！？]", rest, maxsplit=1)[0]
            if len(tail) <= _SPEECH_TAIL and len(tail) < len(rest):
                return False
        return True
    if not rest[0].isspace():
        # Korean sometimes runs sentences together ("했다.그는"); elsewhere a period with no space after it
        # is a decimal (3.5), an abbreviation's inner dot (U.S.) or part of a URL.
        before = paragraph[match.start() - 1] if match.start() else ""
        return punct == "." and bool(_HANGUL.match(before)) and bool(re.match(r"[\uac00-\ud7a3\"'“‘]", rest))
    following = rest.lstrip()
    first = following[0]
    if first.islower():
        return False  # "etc. and", "(Oct. 9) in" ...: a new sentence does not start in lower case
    if punct != ".":
        return True
    token = _token_before(paragraph, match.start())
    lowered = token.lower()
    if lowered in _ABBREVIATIONS:
        # "No. 2" and "Oct. 9" hold a number next; "No. The group said" is rare enough to accept.
        return False
    if re.fullmatch(r"[A-Z]", token):
        return False  # an initial: "Robert R. King"
    if re.fullmatch(r"(?:[A-Za-z]\.)+[A-Za-z]", token):
        next_word = re.match(r"[\"'“‘(]*([A-Za-z]+)", following)
        return next_word is not None and next_word.group(1).lower() in _SENTENCE_STARTERS
    return True


def split_paragraph(paragraph: str) -> list[str]:
    """Sentences of one cleaned paragraph, in order, stripped."""
    sentences: list[str] = []
    start = 0
    for match in _TERMINATOR.finditer(paragraph):
        if match.end() <= start or not _is_boundary(paragraph, match):
            continue
        piece = paragraph[start : match.end()].strip()
        if piece:
            sentences.append(piece)
        start = match.end()
    tail = paragraph[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def split_sentences(text: str, language: str) -> list[str]:
    """Sentences of `text` in order; paragraph breaks always end one. Handles U.S./Mr./Oct., 다., 。！？, 3.5."""
    return [s for p in split_paragraphs(text, language) for s in split_paragraph(p)]
