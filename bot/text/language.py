"""Guess a text's language from its script, for feeds that do not say (replayed files)."""

from __future__ import annotations

import unicodedata


def guess_language(text: str, default: str = "en") -> str:
    """'ko' when Hangul dominates the letters, 'zh' for Han without kana, 'ja' with kana, else `default`."""
    hangul = han = kana = latin = 0
    for ch in text[:4000]:
        code = ord(ch)
        if 0xAC00 <= code <= 0xD7A3 or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F:
            hangul += 1
        elif 0x3040 <= code <= 0x30FF:
            kana += 1
        elif 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF:
            han += 1
        elif ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN"):
            latin += 1
    # Korean text often carries some Han characters; Hangul is decisive when present in quantity.
    if hangul and hangul >= max(han, latin) * 0.5:
        return "ko"
    if kana and kana * 5 >= han:
        return "ja"
    if han and han >= latin * 0.5:
        return "zh"
    return default
