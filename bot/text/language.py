"""Guess a text's language from its script, for feeds that do not say (replayed files)."""

from __future__ import annotations

import re
import unicodedata

from bot.text.scripts import HAN, HANGUL, KANA

_KANA = re.compile(f"[{KANA}]")


def guess_language(text: str, default: str = "en") -> str:
    """'ko' when Hangul dominates the letters, 'zh' for Han without kana, 'ja' with kana, else `default`."""
    sample = text[:4000]
    # The three scripts' ranges do not overlap, and no Latin letter lies in them: each character counts once.
    hangul = len(HANGUL.findall(sample))
    kana = len(_KANA.findall(sample))
    han = len(HAN.findall(sample))
    latin = sum(1 for ch in sample if ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN"))
    # Korean text often carries some Han characters; Hangul is decisive when present in quantity.
    if hangul and hangul >= max(han, latin) * 0.5:
        return "ko"
    if kana and kana * 5 >= han:
        return "ja"
    if han and han >= latin * 0.5:
        return "zh"
    return default
