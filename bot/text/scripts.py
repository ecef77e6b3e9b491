"""Writing systems by code point: the one place the Unicode ranges of Hangul, kana and Han are written.

The string constants are bodies of a character class (`f"[{HAN_CHARS}]"`), so a module can build the
class it needs from named blocks instead of writing the code points again; HANGUL and HAN are the classes
most modules use as they are. bot.ingest.match keeps wider, whole-block ranges of its own (every Hangul and
CJK block, the supplementary ideograph planes): topic terms must match any such character as unspaced.
"""

from __future__ import annotations

import re

HANGUL_SYLLABLES = "\uac00-\ud7a3"  # 가-힣: the 11,172 precomposed syllables
HANGUL_JAMO = "\u1100-\u11ff"
HANGUL_COMPATIBILITY_JAMO = "\u3130-\u318f"  # the standalone letters ㄱ-ㅣ of Korean keyboards
HANGUL_CHARS = HANGUL_SYLLABLES + HANGUL_JAMO + HANGUL_COMPATIBILITY_JAMO

KANA = "\u3040-\u30ff"  # Hiragana and Katakana: Japanese, the one CJK language with them

HAN_UNIFIED = "\u4e00-\u9fff"  # CJK Unified Ideographs
HAN_EXTENSION_A = "\u3400-\u4dbf"
HAN_CHARS = HAN_UNIFIED + HAN_EXTENSION_A
HAN_COMPATIBILITY = "\uf900-\ufaff"  # CJK Compatibility Ideographs

HANGUL = re.compile(f"[{HANGUL_CHARS}]")
HAN = re.compile(f"[{HAN_CHARS}]")
HANGUL_OR_HAN = re.compile(f"[{HANGUL_CHARS}{HAN_CHARS}]")
