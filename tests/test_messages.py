"""Every message the bot writes, in every language, against golden files.

tests/fixtures/messages/<language>/<message>.txt holds the HTML as sent, then its buttons, one row a line.
After a deliberate change, rewrite them with `UPDATE_GOLDEN=1 pytest tests/test_messages.py` and read
every changed file (the README's screenshots of messages come from these files).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import load_config
from bot.domain import Action, Chat, ChatKind, ChatSettings, DeliveryMode, OutboxEntry, OutboxKind, OutboxStatus
from bot.i18n import LANGUAGES
from bot.services import FeedHealth, ReloadResult, Status
from bot.telegram.callbacks import Button, Rendered
from bot.telegram.messages.alert import merged_pointer, mute_undo_buttons, render_alert, thread_gone_note
from bot.telegram.messages.commands import (
    command_menu,
    render_help,
    render_language_changed,
    render_language_picker,
    render_list,
    render_pause,
    render_settings,
    render_subscription,
    render_topic_picker,
)
from bot.telegram.messages.health import render_feed_health, render_reload, render_status
from bot.telegram.messages.lists import render_actions, render_digest, render_story_list
from bot.telegram.messages.story import render_action_card, render_followup, render_sources, render_story_full
from bot.telegram.messages.view import View, view_for
from tests.test_format import OCT_12, assert_valid, korean_story, update_story, urgent_story

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "fixtures" / "messages"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
CONFIG = load_config(ROOT / "feeds.yaml")
ZONE = "Asia/Seoul"
NOW = OCT_12 + timedelta(hours=5)

# The test stories carry the project's own action ids, so their translations from feeds.yaml are shown.
EMBASSY = Action(
    id="write-to-chinese-embassy", title="Write to China's embassy",
    text="Write a short, polite letter to China's embassy about the reported return of 500-600 North Koreans "
         "near Tumen and Dandong.",
    targets=("China's embassy in your country",),
)  # fmt: skip
TODAY = Action(id="urge-government-today", title="Ask your government to act today",
               text="Reports say 500-600 North Koreans near Tumen are being forced back.",
               targets=("your foreign ministry",))  # fmt: skip


def story() -> object:
    return replace(urgent_story(), actions=(TODAY, EMBASSY))


def chat(language: str) -> Chat:
    settings = ChatSettings(mode=DeliveryMode.DIGEST, digest_hour=8, timezone=ZONE, urgent_only=True,
                            quiet_start=22, quiet_end=7, language=language)  # fmt: skip
    return Chat(-1001, ChatKind.SUPERGROUP, "Advocates", ("nk-repatriation", "refugee-returns"), settings,
                thread_id=7, paused_until=NOW + timedelta(hours=6))  # fmt: skip


FEEDS = (
    FeedHealth("Harbour Wire Asia", "Harbour Wire", "en", "ok", last_success_at=OCT_12),
    FeedHealth("Saebyeok Ilbo", "새벽일보", "ko", "failing", errors=4, last_error="HTTP 503"),
    FeedHealth("Huadong Times", "华东时报", "zh", "new"),
)
STATUS = Status(
    pending=3, outbox=(("failed", 1), ("pending", 3), ("sent", 120)), last_poll=NOW - timedelta(minutes=4),
    feeds=3, failing=FEEDS[1:2], chats_active=40, chats_inactive=2, stories=12,
    recent_failures=(OutboxEntry(1, 12, -1001, OutboxKind.ALERT, OutboxStatus.FAILED, 6, NOW, NOW,
                                 last_error="gave up after 6 attempts: timed out"),),
    config_source="feeds.yaml", now=NOW,
)  # fmt: skip

Message = Callable[[View], "str | list[str] | Rendered"]
MESSAGES: dict[str, Message] = {
    "alert_urgent": lambda v: render_alert(story(), view=v),  # type: ignore[arg-type]
    "alert_update_followup_of": lambda v: render_alert(update_story(), view=v),
    "alert_korean_outlets": lambda v: render_alert(korean_story(), view=v),
    "alert_after_mute": lambda v: Rendered("", mute_undo_buttons(story(), v)),  # type: ignore[arg-type]
    "alert_merged": lambda v: merged_pointer(12, 9, v),
    "followup_now_urgent": lambda v: render_followup(story(), update_story().urgency, view=v),  # type: ignore[arg-type]
    "story_full": lambda v: render_story_full(story(), view=v),  # type: ignore[arg-type]
    "sources": lambda v: render_sources(story(), view=v),  # type: ignore[arg-type]
    "action_card": lambda v: render_action_card(story(), EMBASSY, view=v),  # type: ignore[arg-type]
    "actions": lambda v: render_actions([story(), update_story()], view=v),  # type: ignore[list-item]
    "recent": lambda v: render_story_list("🗞 <b>…</b>", [update_story(), story()], empty="-", view=v),  # type: ignore[list-item]
    "digest": lambda v: render_digest([update_story(), story()], since=OCT_12, view=v),  # type: ignore[list-item]
    "digest_empty": lambda v: render_digest([], since=OCT_12, view=v),
    "help": lambda v: render_help(CONFIG.topics, view=v),
    "help_operator": lambda v: render_help(CONFIG.topics, admin=True, view=v),
    "subscribe_picker": lambda v: render_topic_picker(-1001, CONFIG.topics, ["nk-repatriation"], view=v),
    "subscribed_in_topic": lambda v: render_subscription(
        ["nk-repatriation"], (), ["refugee-returns"], ["nk-repatriation", "refugee-returns"], subscribing=True,
        view=v, thread=True,
    ),
    "unsubscribed_channel": lambda v: render_subscription(
        (), ["nk-repatriation"], (), (), subscribing=False, target="NK Watch", view=v
    ),
    "settings": lambda v: render_settings(-1001, chat(v.language).settings, chat(v.language).topics, view=v),
    "language_picker": lambda v: render_language_picker(-1001, view=v),
    "language_changed": lambda v: render_language_changed(v),
    "pause": lambda v: render_pause(-1001, NOW + timedelta(hours=6), chat(v.language).settings, view=v, now=NOW),
    "pause_off": lambda v: render_pause(-1001, None, ChatSettings(), view=v, now=NOW),
    "list": lambda v: render_list(chat(v.language), view=v, now=NOW),
    "list_empty": lambda v: render_list(None, view=v, now=NOW),
    "thread_gone": lambda v: thread_gone_note(v),
    "sources_health": lambda v: render_feed_health(FEEDS, view=v),
    "status": lambda v: render_status(STATUS, view=v),
    "reload_ok": lambda v: render_reload(ReloadResult(True, "feeds.yaml", (), 2, 22, 7, ("New feed",), ()), view=v),
    "reload_refused": lambda v: render_reload(
        ReloadResult(False, "feeds.yaml", ("feeds.yaml:12: topics.0.name: needs the English text under en",)),
        view=v,
    ),
    "command_menu": lambda v: "\n".join(f"/{name} — {text}" for name, text in command_menu(v.language, admin=True)),
}


def shown(result: str | list[str] | Rendered) -> str:
    """The messages as sent (several separated by a line of '=') and the buttons, one row a line."""
    if isinstance(result, Rendered):
        texts, rows = [result.text] if result.text else [], result.buttons
    else:
        texts, rows = ([result] if isinstance(result, str) else result), ()
    for text in texts:
        assert_valid(text)

    def button(b: Button) -> str:
        return f"[{b.label}]"

    parts = ["\n==========\n".join(texts)]
    if rows:
        parts.append("\n".join("  ".join(button(b) for b in row) for row in rows))
    return "\n\n".join(p for p in parts if p) + "\n"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_every_message_in_every_language_matches_its_golden_file(name: str, language: str) -> None:
    text = shown(MESSAGES[name](view_for(language, ZONE, CONFIG)))
    path = GOLDEN / language / f"{name}.txt"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        diff = difflib.unified_diff(expected.splitlines(), text.splitlines(), "golden", "rendered", lineterm="")
        pytest.fail(f"{path} differs (UPDATE_GOLDEN=1 rewrites it):\n" + "\n".join(diff))


def test_no_stray_message_golden_files() -> None:
    found = sorted(str(p.relative_to(GOLDEN)) for p in GOLDEN.glob("*/*.txt"))
    assert found == sorted(f"{lang}/{name}.txt" for lang in LANGUAGES for name in MESSAGES)


@pytest.mark.parametrize("language", ["ko", "zh-Hans"])
def test_a_translated_message_has_no_english_words_of_ours_left(language: str) -> None:
    # Feed text stays as written; everything the bot adds must be translated. These English words appear only
    # in the bot's own sentences, never in the test stories, feed names or feeds.yaml ids.
    view = view_for(language, ZONE, CONFIG)
    ours = ("Tap ", "Full story", "Settings", " outlets", " follows", "paused", "URGENT", "Undo", "Reported by")
    for name, message in MESSAGES.items():
        if name.startswith(("status", "reload", "sources_health")):
            continue  # operator messages quote the config file and feed errors as they are
        text = shown(message(view))
        for word in ours:
            assert word not in text.replace("nk-repatriation", ""), (name, word)


def test_times_are_shown_in_the_chats_time_zone() -> None:
    text = shown(render_sources(story(), view=view_for("en", ZONE, CONFIG)))  # type: ignore[arg-type]
    assert "12 Oct 2023 17:30 Asia/Seoul" in text  # 08:30 UTC
    assert datetime(2023, 10, 12, 8, 30, tzinfo=UTC) == OCT_12
