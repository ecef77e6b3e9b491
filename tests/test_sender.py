"""TelegramSender against the fake Bot API: what users receive, and each Telegram failure as delivery sees it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.domain import Action, Chat, ChatKind, ChatSettings, Facts, Source, Story, Urgency
from bot.errors import (
    ChatMoved,
    ChatUnreachable,
    DeliveryUncertain,
    MessageRejected,
    RetryLater,
    TransientDeliveryError,
)
from bot.telegram.messages.alert import render_alert
from bot.telegram.messages.lists import render_digest
from bot.telegram.messages.story import render_followup
from bot.telegram.sender import TelegramSender
from tests.support.fake_telegram import FakeTelegram

T = TypeVar("T")
TOPICS = {"nk-repatriation": "Forced repatriation of North Koreans"}
WHEN = datetime(2023, 10, 11, 9, 0, tzinfo=UTC)


def story(story_id: int = 7, *, outlets: int = 1, urgency: Urgency = Urgency.URGENT, title: str = "") -> Story:
    sources = tuple(
        Source(
            feed=f"feed-{n}",
            outlet=f"Outlet {n}",
            title=f"Report {n} on the returns at the border",
            link=f"https://outlet{n}.example/report",
            published=WHEN,
        )
        for n in range(1, outlets + 1)
    )
    return Story(
        id=story_id,
        title=title or "Hundreds of escapees sent back across the Tumen river",
        summary="Rights groups say several hundred people held in Jilin were returned overnight.",
        facts=Facts(count_low=500, count_high=600, places=("Tumen",), dates=("2023-10-09",), outlets=outlets),
        urgency=urgency,
        topics=("nk-repatriation",),
        sources=sources,
        actions=(Action(id="write-unhcr", title="Write to UNHCR", text="Ask for access to the detained."),),
        first_seen=WHEN,
        last_seen=WHEN,
        revision=outlets,
    )


def chat_of(chat_id: int, kind: ChatKind = ChatKind.PRIVATE) -> Chat:
    return Chat(id=chat_id, kind=kind, title="t", topics=("nk-repatriation",), settings=ChatSettings())


def run(server: FakeTelegram, scenario: Callable[[TelegramSender], Awaitable[T]], read_timeout: float = 5.0) -> T:
    async def main() -> T:
        request = HTTPXRequest(connection_pool_size=8, read_timeout=read_timeout)
        async with Bot(server.token, base_url=server.base_url, request=request) as bot:
            return await scenario(TelegramSender(bot, TOPICS))

    return asyncio.run(main())


@pytest.fixture
def dm(fake_telegram: FakeTelegram) -> int:
    return fake_telegram.private_chat(fake_telegram.user(101, "Alice", username="alice")).id


# --- what users receive ---------------------------------------------------------------------------------


def test_an_alert_arrives_as_rendered_html_with_its_buttons(fake_telegram: FakeTelegram, dm: int) -> None:
    message_id = run(fake_telegram, lambda s: s.send_alert(chat_of(dm), story(), silent=False))

    expected = render_alert(story(), topic_names=TOPICS)
    shown = fake_telegram.message(dm, message_id)
    assert shown.sent_text == expected.text
    assert shown.parse_mode == "HTML"
    assert "Hundreds of escapees sent back" in shown.text
    buttons = [b["text"] for row in (shown.reply_markup or {})["inline_keyboard"] for b in row]
    assert buttons == [b.label for row in expected.buttons for b in row]
    [call] = fake_telegram.sent(dm)
    assert call.params.get("disable_notification") in (None, False)


def test_a_silent_alert_asks_telegram_not_to_ring(fake_telegram: FakeTelegram, dm: int) -> None:
    run(fake_telegram, lambda s: s.send_alert(chat_of(dm), story(), silent=True))
    [call] = fake_telegram.sent(dm)
    assert call.params["disable_notification"] is True


def test_a_followup_says_the_story_is_now_urgent(fake_telegram: FakeTelegram, dm: int) -> None:
    message_id = run(fake_telegram, lambda s: s.send_followup(chat_of(dm), story(), Urgency.UPDATE, silent=False))
    assert fake_telegram.message(dm, message_id).sent_text == render_followup(story(), Urgency.UPDATE).text
    assert "Now URGENT" in fake_telegram.messages(dm)[message_id]


def test_an_edit_shows_the_second_outlet_and_an_unchanged_edit_is_no_error(
    fake_telegram: FakeTelegram, dm: int
) -> None:
    async def scenario(sender: TelegramSender) -> int:
        message_id = await sender.send_alert(chat_of(dm), story(outlets=1), silent=False)
        await sender.edit_alert(chat_of(dm), message_id, story(outlets=2))
        await sender.edit_alert(chat_of(dm), message_id, story(outlets=2))  # "not modified": success
        return message_id

    message_id = run(fake_telegram, scenario)
    shown = fake_telegram.message(dm, message_id)
    assert "Outlet 2" in shown.text
    assert shown.edits == 1
    assert shown.reply_markup is not None  # the keyboard is kept, not dropped by the edit
    assert len(fake_telegram.sent(dm)) == 1


def test_editing_a_message_that_is_gone_is_rejected(fake_telegram: FakeTelegram, dm: int) -> None:
    with pytest.raises(MessageRejected, match=r"(?i)message to edit not found"):
        run(fake_telegram, lambda s: s.edit_alert(chat_of(dm), 999, story()))


def test_a_digest_too_long_for_one_message_arrives_in_parts(fake_telegram: FakeTelegram, dm: int) -> None:
    stories = [story(n, title=f"Story number {n} " + "about detentions near the border " * 3) for n in range(1, 80)]
    run(fake_telegram, lambda s: s.send_digest(chat_of(dm), stories, WHEN))

    parts = render_digest(stories, since=WHEN)
    assert len(parts) > 1
    assert [call.params["text"] for call in fake_telegram.sent(dm)] == parts


def test_an_empty_digest_says_there_was_nothing_new(fake_telegram: FakeTelegram, dm: int) -> None:
    run(fake_telegram, lambda s: s.send_digest(chat_of(dm), [], WHEN))
    assert list(fake_telegram.messages(dm).values()) == ["🗞 No new stories since 11 Oct 2023 09:00 UTC."]


# --- Telegram's failures as delivery sees them --------------------------------------------------------


def send(server: FakeTelegram, chat_id: int, **kwargs: float) -> int:
    return run(server, lambda s: s.send_alert(chat_of(chat_id), story(), silent=False), **kwargs)


def test_flood_control_asks_to_retry_later_for_that_chat(fake_telegram: FakeTelegram, dm: int) -> None:
    fake_telegram.fail_next("sendMessage", 429, retry_after=7)
    with pytest.raises(RetryLater) as caught:
        send(fake_telegram, dm)
    assert caught.value.seconds == 7
    assert caught.value.chat_id == dm
    assert not caught.value.whole_bot


@pytest.mark.parametrize(
    ("world", "reason"),
    [
        ("block", "bot was blocked by the user"),
        ("deactivate", "user is deactivated"),
        ("forget", "can't initiate conversation"),
    ],
)
def test_a_private_chat_out_of_reach_is_unreachable(
    fake_telegram: FakeTelegram, dm: int, world: str, reason: str
) -> None:
    getattr(fake_telegram, world)(dm)
    with pytest.raises(ChatUnreachable, match=rf"(?i){reason}") as caught:
        send(fake_telegram, dm)
    assert caught.value.chat_id == dm


def test_a_group_that_kicked_the_bot_is_unreachable(fake_telegram: FakeTelegram) -> None:
    group = fake_telegram.group(-1001, "Advocates")
    fake_telegram.kick(group)
    with pytest.raises(ChatUnreachable, match=r"(?i)kicked"):
        send(fake_telegram, group.id)


def test_a_group_that_is_gone_is_unreachable(fake_telegram: FakeTelegram) -> None:
    group = fake_telegram.group(-1002, "Old group")
    fake_telegram.forget(group)
    with pytest.raises(ChatUnreachable, match=r"(?i)chat not found"):
        send(fake_telegram, group.id)


def test_a_channel_where_the_bot_is_no_admin_is_unreachable(fake_telegram: FakeTelegram) -> None:
    channel = fake_telegram.channel(-100200, "NK Watch", bot_is_admin=False)
    with pytest.raises(ChatUnreachable, match=r"(?i)not a member of the channel"):
        send(fake_telegram, channel.id)


def test_a_group_upgraded_to_a_supergroup_names_its_new_id(fake_telegram: FakeTelegram) -> None:
    group = fake_telegram.group(-1001, "Advocates")
    fake_telegram.migrate(group, -100999)
    with pytest.raises(ChatMoved) as caught:
        send(fake_telegram, group.id)
    assert caught.value.new_chat_id == -100999


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_worth_retrying(fake_telegram: FakeTelegram, dm: int, status: int) -> None:
    fake_telegram.fail_next("sendMessage", status)
    with pytest.raises(TransientDeliveryError) as caught:
        send(fake_telegram, dm)
    assert not isinstance(caught.value, DeliveryUncertain)  # Telegram answered: nothing was sent
    assert fake_telegram.sent(dm) == []


def test_a_dropped_connection_is_worth_retrying(fake_telegram: FakeTelegram, dm: int) -> None:
    fake_telegram.drop_next("sendMessage")
    with pytest.raises(TransientDeliveryError) as caught:
        send(fake_telegram, dm)
    assert not isinstance(caught.value, DeliveryUncertain)


def test_a_send_left_unanswered_is_uncertain_because_it_may_have_arrived(
    fake_telegram: FakeTelegram, dm: int
) -> None:
    fake_telegram.hang_next("sendMessage", 2.0)
    started = time.monotonic()
    with pytest.raises(DeliveryUncertain):
        send(fake_telegram, dm, read_timeout=0.3)
    assert time.monotonic() - started < 1.5
    assert len(fake_telegram.messages(dm)) == 1  # it did arrive: resending would show it twice


def test_an_edit_left_unanswered_is_simply_retried(fake_telegram: FakeTelegram, dm: int) -> None:
    message_id = send(fake_telegram, dm)
    fake_telegram.hang_next("editMessageText", 2.0)
    with pytest.raises(TransientDeliveryError) as caught:
        run(fake_telegram, lambda s: s.edit_alert(chat_of(dm), message_id, story(outlets=2)), read_timeout=0.3)
    assert not isinstance(caught.value, DeliveryUncertain)


def test_a_message_telegram_refuses_is_rejected_for_good(fake_telegram: FakeTelegram, dm: int) -> None:
    fake_telegram.fail_next("sendMessage", 400, description="Bad Request: message is too long")
    with pytest.raises(MessageRejected, match=r"(?i)message is too long"):
        send(fake_telegram, dm)


def test_a_refused_token_holds_every_send_and_is_never_shown(fake_telegram: FakeTelegram, dm: int) -> None:
    async def scenario() -> None:
        token = fake_telegram.token.split(":")[0] + ":" + "x" * 35
        bot = Bot(token, base_url=fake_telegram.base_url)  # not initialized: that would call getMe
        try:
            await TelegramSender(bot, TOPICS).send_alert(chat_of(dm), story(), silent=False)
        finally:
            await bot.shutdown()

    with pytest.raises(RetryLater) as caught:
        asyncio.run(scenario())
    assert caught.value.whole_bot
    assert "xxxxxxxx" not in str(caught.value)
