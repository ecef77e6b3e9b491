"""Hostile input at the edges gives a clear answer, never a traceback (issue 12, failure 6, ingest side)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.config import load_config
from bot.services import ConfigRef
from bot.storage.db import Database
from tests.support.fake_telegram import FakeTelegram
from tests.support.feedserver import FeedServer
from tests.test_cli import REPO, run
from tests.test_commands import NOV_6, WIRE, Newsroom, Session, feeds_yaml, no_errors, run_bot
from tests.test_pipeline import Clock, rss

HUGE = "9" * 19  # more than a 64-bit integer holds
FORGED = [f"src:{HUGE}", f"act:{HUGE}:#0", f"mute:{HUGE}:#1", f"tog:{HUGE}:#0", f"set:-{HUGE}:urgent"]


@pytest.fixture
def room(feed_server: FeedServer, database: Database, tmp_path: Path) -> Newsroom:
    feed_server.add("/wire.xml", body=rss("Wire", WIRE))
    feed_server.add("/daily.xml", body=rss("Daily", WIRE))
    path = tmp_path / "feeds.yaml"
    path.write_text(feeds_yaml(feed_server), encoding="utf-8")
    return Newsroom(path, ConfigRef(load_config(path)), database, Clock(NOV_6), feed_server)


def test_a_button_with_an_id_too_large_for_the_database_is_refused_politely(
    fake_telegram: FakeTelegram, room: Newsroom, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    alice = fake_telegram.user(101, "Alice")
    dm = fake_telegram.private_chat(alice)

    async def scenario(bot: Session) -> None:
        # A message carrying buttons with forged data, as a modified client could send.
        keys = InlineKeyboardMarkup([[InlineKeyboardButton(str(n), callback_data=d)] for n, d in enumerate(FORGED)])
        sent = await bot.app.bot.send_message(dm.id, "forged", reply_markup=keys)
        for data in FORGED:
            answer = await bot.press(dm, alice, sent.message_id, data)
            assert answer.params.get("text") == "This button is no longer valid.", data

    run_bot(fake_telegram, room, scenario)
    no_errors(fake_telegram, caplog)


def export_with(chats: str) -> str:
    return '{"format": "advocacy-bot/chats", "version": 1, "chats": [' + chats + "]}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (export_with('{"id": 1' + "0" * 20 + ', "kind": "private"}'), "chats.0.id: Input should be less than"),
        (export_with('{"id": -1' + "0" * 20 + ', "kind": "group"}'), "chats.0.id: Input should be greater than"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        (export_with('{"id": 1, "kind": "private", "title": ' + "[" * 5_000 + "]" * 5_000 + "}"), "nested too deeply"),
    ],
    ids=["chat-id-over-64-bits", "chat-id-under-64-bits", "nested-document", "nested-field"],
)
def test_import_refuses_what_the_database_cannot_hold_with_a_clear_error(
    tmp_path: Path, database_url: str, text: str, message: str
) -> None:
    env = {"DATABASE_URL": database_url}
    assert run("db", "upgrade", env=env).returncode == 0
    path = tmp_path / "chats.json"
    path.write_text(text)
    result = run("import", "--config", str(REPO / "feeds.yaml"), str(path), env=env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: {path}: ") and message in result.stderr
    # A file that holds a chat id the database can take still imports (the bounds are not too tight).
    path.write_text(export_with('{"id": -1001234567890123, "kind": "channel", "topics": ["nk-repatriation"]}'))
    imported = run("import", "--config", str(REPO / "feeds.yaml"), str(path), env=env)
    assert imported.returncode == 0, imported.stderr
    assert json.loads(run("export", env=env).stdout)["chats"][0]["id"] == -1001234567890123


def test_poll_exits_non_zero_when_every_feed_failed(tmp_path: Path, feed_server: FeedServer, database_url: str) -> None:
    feed_server.fail("/down.xml", status=503)
    feed_server.add("/page.xml", body=b"<html><body>moved</body></html>", content_type="text/html")
    shipped = (REPO / "feeds.yaml").read_text()
    head, actions = shipped.split("\nfeeds:\n")[0], shipped.split("\nactions:", 1)[1]
    feeds = "".join(
        f"  - name: {name}\n    url: {feed_server.url(path)}\n    language: en\n"
        for name, path in (("Down", "/down.xml"), ("Page", "/page.xml"))
    )
    config = tmp_path / "feeds.yaml"
    config.write_text(head + "\nfeeds:\n" + feeds + "\nactions:" + actions)
    env = {"DATABASE_URL": database_url}
    assert run("db", "upgrade", env=env).returncode == 0

    failed = run("poll", "--once", "--config", str(config), env=env)
    assert failed.returncode == 1
    assert "error: every feed polled failed (2 of 2); see the table above" in failed.stderr
    assert "http-503" in failed.stdout and "not-a-feed" in failed.stdout

    # One feed working again is enough for success: the other's failure is in the table.
    feed_server.add("/page.xml", body=rss("Page", WIRE))
    config.write_text(config.read_text().replace("/page.xml", "/page.xml?v=2"))
    partial = run("poll", "--once", "--config", str(config), env=env)
    assert partial.returncode == 0, partial.stdout + partial.stderr
