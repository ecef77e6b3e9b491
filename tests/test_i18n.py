"""The catalogues: every string the bot says is translated in every language, with the same placeholders.

The check extracts the messages from the code exactly as `pybabel extract` does (bot.i18n.KEYWORDS), so a
new `t.html("...")` without its Korean and Chinese lines fails here, naming the string.
"""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.domain import Facts
from bot.i18n import CATALOGUES, KEYWORDS, LANGUAGES, catalogue_path, negotiate, translator
from bot.telegram.messages.wording import fill_template

ROOT = Path(__file__).resolve().parent.parent


def extracted() -> set[str | tuple[str, ...]]:
    found: set[str | tuple[str, ...]] = set()
    method_map = [("**.py", "python")]
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT / "bot"), method_map, keywords=dict(KEYWORDS)
    ):
        found.add(message)
    return found


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


MESSAGES = extracted()


def test_the_code_has_messages_to_translate() -> None:
    assert len(MESSAGES) > 150
    assert "Full story: {command}" in MESSAGES
    assert ("{n} outlet", "{n} outlets") in MESSAGES


@pytest.mark.parametrize("language", sorted(CATALOGUES))
def test_every_message_is_translated_with_the_same_placeholders(language: str) -> None:
    with open(catalogue_path(language), "rb") as handle:
        catalog = read_po(handle)
    missing, empty, fuzzy, wrong = [], [], [], []
    for message in sorted(MESSAGES, key=str):
        msgid = message[0] if isinstance(message, tuple) else message
        entry = catalog.get(msgid)
        if entry is None:
            missing.append(message)
            continue
        texts = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if not all(texts):
            empty.append(msgid)
        if entry.fuzzy:
            fuzzy.append(msgid)
        expected = set().union(*(fields(m) for m in (message if isinstance(message, tuple) else (message,))))
        if any(fields(text) != expected for text in texts if text):
            wrong.append(msgid)
    assert missing == [], f"{language}: not in the catalogue (pybabel update, then translate)"
    assert empty == [] and fuzzy == [], f"{language}: untranslated or fuzzy"
    assert wrong == [], f"{language}: placeholders differ from the English"


@pytest.mark.parametrize("language", sorted(CATALOGUES))
def test_no_catalogue_keeps_strings_the_code_no_longer_says(language: str) -> None:
    with open(catalogue_path(language), "rb") as handle:
        catalog = read_po(handle)
    ids = {m[0] if isinstance(m, tuple) else m for m in MESSAGES}
    assert sorted(m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id and
                  (m.id if isinstance(m.id, str) else m.id[0]) not in ids) == []


def test_catalogues_compile_and_translate() -> None:
    assert translator("ko").gettext("Settings") == "설정"
    assert translator("zh-Hans").gettext("Settings") == "设置"
    assert translator("en").gettext("Settings") == "Settings"
    assert translator("ko").nhtml("{n} outlet", "{n} outlets", 12) == "매체 12곳"
    assert translator("en").nhtml("{n} outlet", "{n} outlets", 1) == "1 outlet"
    assert translator("zh-Hans").number(12345) == "12,345"


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("ko", "ko"), ("ko-KR", "ko"), ("KO_kr", "ko"), ("zh", "zh-Hans"), ("zh-hans", "zh-Hans"),
        ("zh-CN", "zh-Hans"), ("zh-TW", "zh-Hans"), ("en", "en"), ("en-GB", "en"), ("ja", "en"), ("fr", "en"),
        (None, "en"), ("", "en"), ("x" * 5000, "en"), ("ko-" + "a" * 100, "en"), ("<script>", "en"),
        ("ko\nKR", "en"), ("한국어", "en"),
    ],
)  # fmt: skip
def test_telegram_language_codes_map_to_our_languages_and_anything_else_to_english(
    code: str | None, language: str
) -> None:
    assert negotiate(code) == language
    assert language in LANGUAGES


def test_a_translated_action_says_unknown_facts_are_unknown_and_never_guesses_them() -> None:
    template = "{count} people near {places}, {date}, said {reporters}."
    for language, place, reporters in (("en", "an unknown place", "sources"), ("ko", "알 수 없는 곳", "여러 출처"),
                                       ("zh-Hans", "不明地点", "多方消息来源")):
        text = fill_template(template, Facts(), translator(language))
        assert place in text and reporters in text, text
        assert not any(guess in text for guess in ("border", "국경", "边境", "rights groups", "인권단체", "人权组织"))
    # Several dates: the first (the one most sources give), as the English action text has it.
    dated = fill_template("{date}", Facts(dates=("2023-10-09", "2023-10-12")), translator("en"))
    assert "9" in dated and "12" not in dated, dated
