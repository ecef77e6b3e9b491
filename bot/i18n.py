"""The languages the bot speaks: gettext catalogues read from the .po files, dates and numbers by Babel.

The one module that imports Babel. Messages are written in English in the code (the msgid), marked by a
call to `Translator.gettext`, `ngettext`, `html` or `nhtml`, or to `N_` where the text is only named (a
constant translated later). `pybabel extract` finds them with KEYWORDS; the catalogues live in
bot/locale/<locale>/LC_MESSAGES/messages.po and are compiled in memory the first time a language is used,
so an install (editable or not) needs no build step and a .po edit shows on the next start.

Languages are our tags: "en", "ko", "zh-Hans". A Telegram language_code ("ko-KR", "zh-hans", "zh-TW")
maps to one of them by `negotiate`; anything else is English. Traditional Chinese readers get Simplified
Chinese, which they read, rather than English (they can switch with /language).
"""

from __future__ import annotations

import functools
import gettext
import html
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

DEFAULT = "en"
LANGUAGES: tuple[str, ...] = ("en", "ko", "zh-Hans")
# Each language's name in itself, for the /language buttons.
NATIVE_NAMES: Mapping[str, str] = {"en": "English", "ko": "한국어", "zh-Hans": "简体中文"}
# The catalogue folder (a Babel/CLDR locale id) of each language; English is the msgid itself.
CATALOGUES: Mapping[str, str] = {"ko": "ko", "zh-Hans": "zh_Hans"}
# The CLDR locale used for dates and numbers: British English writes '9 Oct 2023', day first, as most
# of the bot's readers outside the US do.
_FORMAT_LOCALES: Mapping[str, str] = {"en": "en_GB", "ko": "ko_KR", "zh-Hans": "zh_Hans_CN"}
# setMyCommands' language_code is a two-letter ISO 639-1 code; "" is the default list (English).
TELEGRAM_CODES: Mapping[str, str] = {"en": "", "ko": "ko", "zh-Hans": "zh"}
# feeds.yaml keys for a translated name or text.
CONFIG_KEYS: Mapping[str, str] = {"en": "en", "ko": "ko", "zh": "zh-Hans", "zh-hans": "zh-Hans"}

# pybabel extract -k: the marking functions and where their message arguments are.
KEYWORDS: Mapping[str, tuple[int, ...] | None] = {
    "gettext": None,
    "ngettext": (1, 2),
    "html": None,
    "nhtml": (1, 2),
    "N_": None,
    "InputError": None,  # bot.services: a user's mistake, said in their language
    "Refused": None,  # bot.stories.merge: an admin's correction that cannot be made, said the same way
}

_TAG = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{1,8}){0,3}")


def N_(message: str) -> str:
    """Mark `message` for extraction without translating it now (a constant translated where it is shown)."""
    return message


def negotiate(code: str | None) -> str:
    """Our language for a Telegram language_code (IETF tag, any case): Korean, Chinese, else English."""
    if not code:
        return DEFAULT
    tag = code.strip().lower().replace("_", "-")
    if len(tag) > 35 or not _TAG.fullmatch(tag):
        return DEFAULT
    primary = tag.split("-", 1)[0]
    if primary == "ko":
        return "ko"
    if primary == "zh":
        return "zh-Hans"
    return DEFAULT


def supported(language: str | None) -> str:
    """`language` when it is one of LANGUAGES, else English (a stored value from an older or newer bot)."""
    return language if language in LANGUAGES else DEFAULT


def config_language(key: str) -> str | None:
    """Our language for a feeds.yaml translation key ('en', 'ko', 'zh', 'zh-Hans'); None if unknown."""
    return CONFIG_KEYS.get(key.strip().lower())


def zone(name: str) -> tzinfo:
    """The IANA zone `name`; UTC for an unknown or malformed name (a bad setting never breaks a message)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


@functools.cache
def _catalogue(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of `language` (read and compiled once per process)."""
    folder = CATALOGUES.get(language)
    if folder is None:
        return gettext.NullTranslations()
    source = resources.files("bot").joinpath("locale", folder, "LC_MESSAGES", "messages.po")
    with source.open("rb") as handle:
        catalog = read_po(handle, locale=folder)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def catalogue_path(language: str) -> str:
    """The .po file of `language` inside the package (for tools and the catalogue check)."""
    return str(resources.files("bot").joinpath("locale", CATALOGUES[language], "LC_MESSAGES", "messages.po"))


@dataclass(frozen=True, slots=True)
class Translator:
    """The bot's words and formats in one language. Build with `translator(language)`."""

    language: str
    _catalogue: gettext.NullTranslations
    _locale: Locale

    def gettext(self, message: str) -> str:
        """`message` (an English msgid) in this language; the msgid itself when untranslated."""
        return self._catalogue.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The form of a message for the number `n` (Korean and Chinese have one form)."""
        return self._catalogue.ngettext(singular, plural, n)

    def html(self, message: str, /, **values: Any) -> str:
        """`message` translated, escaped for Telegram HTML, then its {names} filled with `values`.

        The values are inserted as given: pass HTML (escaped feed text, our own tags), never raw text.
        """
        return html.escape(self.gettext(message), quote=False).format(**values)

    def nhtml(self, singular: str, plural: str, n: int, /, **values: Any) -> str:
        """`html` for a message with plural forms; {n} is `n` formatted for the language."""
        text = html.escape(self.ngettext(singular, plural, n), quote=False)
        return text.format(n=self.number(n), **values)

    def number(self, n: int) -> str:
        """An integer with the language's digit grouping: 12,345."""
        return str(format_decimal(n, locale=self._locale))

    def day(self, value: date) -> str:
        """A calendar day: '9 Oct 2023', '2023년 10월 9일', '2023年10月9日'."""
        return str(format_skeleton("yMMMd", value, locale=self._locale))

    def month(self, value: date) -> str:
        """A month of a year: 'Oct 2023', '2023년 10월', '2023年10月'."""
        return str(format_skeleton("yMMM", value, locale=self._locale))

    def moment(self, value: datetime, zone_name: str = "UTC") -> str:
        """A time in the zone `zone_name` with the zone named: '9 Oct 2023 17:30 Asia/Seoul'.

        Naive datetimes are taken as UTC (what the pipeline stores).
        """
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
        local = aware.astimezone(zone(zone_name))
        clock = format_skeleton("Hm", local, locale=self._locale)
        return f"{self.day(local.date())} {clock} {zone_name}"

    def local_day(self, value: datetime, zone_name: str = "UTC") -> str:
        """The day `value` falls on in the zone `zone_name`."""
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
        return self.day(aware.astimezone(zone(zone_name)).date())

    def join(self, items: Iterable[str]) -> str:
        """Items joined by the language's list comma: 'A, B', 'A、B'."""
        return self.gettext(", ").join(items)


@functools.cache
def translator(language: str | None) -> Translator:
    """The Translator of `language` (English for None or a language the bot does not speak)."""
    chosen = supported(language)
    return Translator(chosen, _catalogue(chosen), Locale.parse(_FORMAT_LOCALES[chosen]))
