"""Export and import of chats: a round trip keeps everything; a damaged file is refused with the reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.domain import Chat, ChatKind, ChatSettings, DeliveryMode
from bot.errors import BotError
from bot.tools.transfer import export_chats, parse_export

AT = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
CHATS = [
    Chat(101, ChatKind.PRIVATE, "Alice", ("nk-repatriation",), ChatSettings(), subscribed_at=AT),
    Chat(
        -1002, ChatKind.SUPERGROUP, "Advocates <Seoul>", ("nk-repatriation", "refugee-returns"),
        ChatSettings(DeliveryMode.DIGEST, 18, "Asia/Seoul", True, 23, 7), subscribed_at=AT, last_digest_at=AT,
    ),
    Chat(-1003, ChatKind.CHANNEL, "Watch", (), ChatSettings(), active=False, inactive_reason="bot was kicked"),
]
TOPICS = ("nk-repatriation", "refugee-returns")


def test_round_trip_keeps_every_chat_field() -> None:
    text = json.dumps(export_chats(CHATS, AT))
    assert parse_export(text, "chats.json", TOPICS) == CHATS


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(format="something-else"), "format"),
        (lambda d: d["chats"][0].update(kind="robot"), "chats.0.kind"),
        (lambda d: d["chats"][1]["settings"].update(timezone="Mars/Olympus"), "unknown time zone"),
        (lambda d: d["chats"][1]["settings"].update(digest_hour=24), "chats.1.settings.digest_hour"),
        (lambda d: d["chats"][0].update(topics=["no-such-topic"]), "topics not in feeds.yaml: no-such-topic"),
        (lambda d: d["chats"].append(dict(d["chats"][0])), "appears twice"),
        (lambda d: d["chats"][0].update(id="101"), "chats.0.id"),
    ],
)
def test_damaged_export_is_refused_with_where_and_why(change: object, message: str) -> None:
    data = export_chats(CHATS, AT)
    change(data)  # type: ignore[operator]
    with pytest.raises(BotError, match=message):
        parse_export(json.dumps(data), "chats.json", TOPICS)


def test_not_json_names_the_position() -> None:
    with pytest.raises(BotError, match=r"chats.json: not JSON: .* line 1"):
        parse_export("{nope", "chats.json", TOPICS)
