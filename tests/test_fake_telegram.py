"""The fake Bot API server speaks to the real python-telegram-bot: Bot calls, updates, errors, polling."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import re
import threading
import time
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import telegram
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType, MessageEntityType, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import Application, ApplicationBuilder, CommandHandler, ContextTypes

from tests.support.fake_telegram import Chat, FakeTelegram, User

MUTE = InlineKeyboardMarkup([[InlineKeyboardButton("Mute this story", callback_data="mute:story-7")]])


def said(description: str) -> str:
    """A pattern for a BadRequest: PTB drops the "Bad Request: " prefix and capitalizes what is left."""
    return f"(?i){re.escape(description)}"


def run(server: FakeTelegram, scenario: Callable[[Bot], Awaitable[Any]], *, token: str | None = None) -> Any:
    """Run `scenario` with a real PTB Bot pointed at the fake server (initialized, then shut down)."""

    async def main() -> Any:
        async with Bot(token or server.token, base_url=server.base_url) as bot:
            return await scenario(bot)

    return asyncio.run(main())


@pytest.fixture(autouse=True)
def _timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt in to PTB 22's non-deprecated RetryAfter.retry_after (a timedelta)."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
def alice(fake_telegram: FakeTelegram) -> User:
    return fake_telegram.user(101, "Alice", username="alice")


@pytest.fixture
def dm(fake_telegram: FakeTelegram, alice: User) -> Chat:
    return fake_telegram.private_chat(alice)


def test_get_me_describes_the_bot(fake_telegram: FakeTelegram) -> None:
    me = run(fake_telegram, lambda bot: bot.get_me())

    assert (me.id, me.username, me.is_bot) == (fake_telegram.bot.id, "repatriation_alerts_bot", True)
    assert me.can_join_groups is True
    assert [call.method for call in fake_telegram.calls] == ["getMe", "getMe"]  # initialize, then ours


def test_send_message_records_decoded_params_and_shows_the_visible_text(fake_telegram: FakeTelegram, dm: Chat) -> None:
    async def scenario(bot: Bot) -> telegram.Message:
        return await bot.send_message(
            dm.id, "<b>Forced return</b> at Dandong &amp; Sinuiju", parse_mode=ParseMode.HTML, reply_markup=MUTE
        )

    message = run(fake_telegram, scenario)

    assert message.text == "Forced return at Dandong & Sinuiju"
    assert message.chat.id == dm.id and message.chat.type == ChatType.PRIVATE
    assert message.reply_markup == MUTE
    [call] = fake_telegram.sent(dm.id)
    assert call.params["chat_id"] == dm.id  # an int, not the string PTB put on the wire
    assert call.params["parse_mode"] == "HTML"
    assert call.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Mute this story", "callback_data": "mute:story-7"}]]
    }
    assert fake_telegram.messages(dm.id) == {message.message_id: "Forced return at Dandong & Sinuiju"}
    assert fake_telegram.message(dm.id, message.message_id).sent_text.startswith("<b>Forced return</b>")


def test_message_ids_count_up_per_chat(fake_telegram: FakeTelegram, dm: Chat, alice: User) -> None:
    group = fake_telegram.group(-1001, "Advocates", admins=[alice])

    async def scenario(bot: Bot) -> list[int]:
        ids = []
        for chat_id in (dm.id, dm.id, group.id):
            ids.append((await bot.send_message(chat_id, "update")).message_id)
        return ids

    assert run(fake_telegram, scenario) == [1, 2, 1]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<p>paragraph</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("line<br/>break", 'Unsupported start tag "br" at byte offset 4'),
        ("<b>bold</i>", 'Can\'t find end tag corresponding to start tag "b"'),
        ("stray</b>", "Unexpected end tag at byte offset 5"),
        ("<b> </b>", "message text is empty"),
        ("x" * 4097, "message is too long"),
    ],
)
def test_html_telegram_would_refuse_is_a_bad_request(
    fake_telegram: FakeTelegram, dm: Chat, text: str, error: str
) -> None:
    with pytest.raises(BadRequest, match=said(error)):
        run(fake_telegram, lambda bot: bot.send_message(dm.id, text, parse_mode=ParseMode.HTML))

    assert fake_telegram.sent() == []
    assert fake_telegram.messages(dm.id) == {}


def test_callback_data_longer_than_64_bytes_is_refused(fake_telegram: FakeTelegram, dm: Chat) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Open", callback_data="x" * 65)]])

    with pytest.raises(BadRequest, match=said("BUTTON_DATA_INVALID")):
        run(fake_telegram, lambda bot: bot.send_message(dm.id, "story", reply_markup=markup))


def test_edit_message_text_changes_what_the_user_sees(fake_telegram: FakeTelegram, dm: Chat) -> None:
    async def scenario(bot: Bot) -> telegram.Message:
        sent = await bot.send_message(dm.id, "About 500 people returned", reply_markup=MUTE)
        edited = await bot.edit_message_text(
            "About <b>600</b> people returned", dm.id, sent.message_id, parse_mode=ParseMode.HTML
        )
        assert isinstance(edited, telegram.Message)
        return edited

    edited = run(fake_telegram, scenario)

    assert edited.text == "About 600 people returned"
    assert edited.edit_date is not None
    assert fake_telegram.messages(dm.id) == {edited.message_id: "About 600 people returned"}
    [edit] = fake_telegram.edits(dm.id)
    assert edit.params["message_id"] == edited.message_id
    # As on Telegram, an edit of the text that does not repeat the keyboard removes it.
    assert edited.reply_markup is None
    assert fake_telegram.message(dm.id, edited.message_id).reply_markup is None


def test_editing_without_a_change_or_a_missing_message_is_a_bad_request(fake_telegram: FakeTelegram, dm: Chat) -> None:
    async def scenario(bot: Bot) -> None:
        sent = await bot.send_message(dm.id, "same text")
        with pytest.raises(BadRequest, match=said("message is not modified")):
            await bot.edit_message_text("same text", dm.id, sent.message_id)
        with pytest.raises(BadRequest, match=said("message to edit not found")):
            await bot.edit_message_text("new text", dm.id, sent.message_id + 50)
        assert await bot.edit_message_reply_markup(dm.id, sent.message_id, reply_markup=MUTE)
        assert await bot.delete_message(dm.id, sent.message_id) is True
        with pytest.raises(BadRequest, match=said("message to delete not found")):
            await bot.delete_message(dm.id, sent.message_id)

    run(fake_telegram, scenario)

    assert fake_telegram.messages(dm.id) == {}
    assert len(fake_telegram.edits(dm.id)) == 1


def test_chat_administrators_and_members_come_from_the_membership_table(
    fake_telegram: FakeTelegram, alice: User
) -> None:
    bob = fake_telegram.user(102, "Bob")
    carol = fake_telegram.user(103, "Carol")
    group = fake_telegram.group(-1001, "Advocates", admins=[alice, bob], members=[carol])
    channel = fake_telegram.channel(-100200, "NK Watch", username="@nkwatch", admins=[alice])
    silent = fake_telegram.channel(-100300, "Elsewhere", admins=[bob], bot_is_admin=False)

    async def scenario(bot: Bot) -> None:
        admins = await bot.get_chat_administrators(group.id)
        assert [(m.user.id, m.status) for m in admins] == [(101, "creator"), (102, "administrator")]
        member = await bot.get_chat_member(group.id, carol.id)
        assert isinstance(member, telegram.ChatMemberMember)
        channel_admins = await bot.get_chat_administrators(channel.id)
        assert [(m.user.id, m.status) for m in channel_admins] == [
            (101, "creator"),
            (fake_telegram.bot.id, "administrator"),
        ]
        bot_member = await bot.get_chat_member("@nkwatch", bot.id)
        assert isinstance(bot_member, telegram.ChatMemberAdministrator) and bot_member.can_post_messages
        full = await bot.get_chat("@nkwatch")
        assert (full.id, full.type, full.title, full.username) == (channel.id, "channel", "NK Watch", "nkwatch")
        with pytest.raises(Forbidden, match="not a member of the channel chat"):
            await bot.send_message(silent.id, "alert")
        with pytest.raises(BadRequest, match=said("member list is inaccessible")):
            await bot.get_chat_administrators(silent.id)

    run(fake_telegram, scenario)


def test_a_queued_command_arrives_through_get_updates_and_offsets_acknowledge_it(
    fake_telegram: FakeTelegram, alice: User
) -> None:
    group = fake_telegram.group(-1001, "Advocates", admins=[alice])
    text = f"/subscribe@{fake_telegram.bot.username} nk-repatriation"
    queued = fake_telegram.command(group, alice, text)

    async def scenario(bot: Bot) -> tuple[Update, tuple[Update, ...]]:
        [update] = await bot.get_updates(timeout=0)
        again = await bot.get_updates(offset=update.update_id + 1, timeout=0)
        return update, again

    update, again = run(fake_telegram, scenario)

    message = update.message
    assert update.update_id == queued.update_id and message is not None
    assert message.text == text
    assert message.from_user is not None and message.from_user.id == alice.id
    assert message.chat.type == ChatType.GROUP and message.chat.title == "Advocates"
    [entity] = message.entities
    assert (entity.type, entity.offset, entity.length) == (MessageEntityType.BOT_COMMAND, 0, text.index(" "))
    assert message.parse_entities([MessageEntityType.BOT_COMMAND]) == {entity: text.split()[0]}
    assert again == ()
    assert fake_telegram.pending_updates() == []


def test_long_polling_wakes_up_as_soon_as_an_update_is_queued(
    fake_telegram: FakeTelegram, dm: Chat, alice: User
) -> None:
    fake_telegram.long_poll_cap = 10  # so only a wake-up, not the end of the wait, can return early
    timer = threading.Timer(0.2, fake_telegram.command, (dm, alice, "/start"))

    async def scenario(bot: Bot) -> tuple[list[Update], float]:
        started = time.monotonic()
        timer.start()
        updates = await bot.get_updates(timeout=30)
        return list(updates), time.monotonic() - started

    updates, elapsed = run(fake_telegram, scenario)

    assert [u.message.text for u in updates if u.message] == ["/start"]
    assert 0.15 < elapsed < 3


def test_long_polling_with_nothing_to_deliver_returns_empty_after_the_capped_wait(
    fake_telegram: FakeTelegram,
) -> None:
    fake_telegram.long_poll_cap = 0.3  # instead of the 30 s the bot asks for (1 s by default)

    async def scenario(bot: Bot) -> tuple[tuple[Update, ...], float]:
        started = time.monotonic()
        updates = await bot.get_updates(timeout=30)
        return updates, time.monotonic() - started

    updates, elapsed = run(fake_telegram, scenario)

    assert updates == ()
    assert 0.25 < elapsed < 3


def test_a_second_poller_terminates_the_first_with_a_conflict(fake_telegram: FakeTelegram) -> None:
    async def scenario(first: Bot) -> None:
        async with Bot(fake_telegram.token, base_url=fake_telegram.base_url) as second:
            polling = asyncio.create_task(first.get_updates(timeout=30))
            await fake_telegram.wait_for(lambda: fake_telegram.calls_to("getMe")[1:])  # both initialized
            await asyncio.sleep(0.1)  # the first long poll is waiting on the server
            assert await second.get_updates(timeout=0) == ()
            with pytest.raises(Conflict, match="terminated by other getUpdates request"):
                await polling

    run(fake_telegram, scenario)


def test_pressing_a_button_sends_a_callback_query_the_bot_can_answer_once(
    fake_telegram: FakeTelegram, dm: Chat, alice: User
) -> None:
    async def scenario(bot: Bot) -> Update:
        sent = await bot.send_message(dm.id, "Story: forced returns", reply_markup=MUTE)
        fake_telegram.press(dm, alice, sent.message_id, "mute:story-7")
        [update] = await bot.get_updates(timeout=0)
        query = update.callback_query
        assert query is not None
        assert await bot.answer_callback_query(query.id, text="Muted") is True
        with pytest.raises(BadRequest, match=said("query is too old")):
            await bot.answer_callback_query(query.id)
        return update

    update = run(fake_telegram, scenario)

    query = update.callback_query
    assert query is not None and query.data == "mute:story-7"
    assert query.from_user.id == alice.id
    assert isinstance(query.message, telegram.Message)
    assert query.message.text == "Story: forced returns" and query.message.chat.id == dm.id
    [answer] = [c for c in fake_telegram.calls_to("answerCallbackQuery") if c.ok]
    assert answer.params == {"callback_query_id": query.id, "text": "Muted"}


def test_pressing_a_button_the_message_does_not_have_is_a_test_error(
    fake_telegram: FakeTelegram, dm: Chat, alice: User
) -> None:
    sent = run(fake_telegram, lambda bot: bot.send_message(dm.id, "no keyboard"))

    with pytest.raises(ValueError, match="no button"):
        fake_telegram.press(dm, alice, sent.message_id, "mute:story-7")


def test_a_channel_post_has_the_channel_as_sender_and_no_user(fake_telegram: FakeTelegram) -> None:
    channel = fake_telegram.channel(-100200, "NK Watch", username="@nkwatch")
    fake_telegram.channel_post(channel, "/subscribe nk-repatriation")

    [update] = run(fake_telegram, lambda bot: bot.get_updates(timeout=0))

    post = update.channel_post
    assert post is not None and update.message is None
    assert post.text == "/subscribe nk-repatriation"
    assert post.from_user is None and update.effective_user is None
    assert post.sender_chat is not None and post.sender_chat.id == channel.id
    assert post.chat.type == ChatType.CHANNEL
    assert post.entities[0].type == MessageEntityType.BOT_COMMAND


def test_a_429_surfaces_as_retry_after_with_its_delay(fake_telegram: FakeTelegram, dm: Chat) -> None:
    fake_telegram.fail_next("sendMessage", 429, retry_after=3)

    with pytest.raises(RetryAfter) as caught:
        run(fake_telegram, lambda bot: bot.send_message(dm.id, "alert"))

    assert caught.value.retry_after == dtm.timedelta(seconds=3)
    assert fake_telegram.too_many_requests == 1
    assert fake_telegram.sent() == []
    [call] = fake_telegram.calls_to("sendMessage")
    assert (call.status, call.description) == (429, "Too Many Requests: retry after 3")


@pytest.mark.parametrize(("status", "message"), [(500, "Internal Server Error"), (502, "Bad Gateway")])
def test_server_errors_surface_as_network_errors(
    fake_telegram: FakeTelegram, dm: Chat, status: int, message: str
) -> None:
    fake_telegram.fail_next("sendMessage", status, count=2)

    async def scenario(bot: Bot) -> None:
        for _ in range(2):
            with pytest.raises(NetworkError, match=message):
                await bot.send_message(dm.id, "alert")
        await bot.send_message(dm.id, "alert")  # the faults are used up

    run(fake_telegram, scenario)

    assert [c.status for c in fake_telegram.calls_to("sendMessage")] == [status, status, 200]


def test_blocked_kicked_deactivated_and_unknown_chats(fake_telegram: FakeTelegram, dm: Chat, alice: User) -> None:
    group = fake_telegram.group(-1001, "Advocates", admins=[alice])
    stranger = fake_telegram.user(555, "Never started the bot")
    fake_telegram.block(dm)
    fake_telegram.kick(group)

    async def scenario(bot: Bot) -> None:
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(dm.id, "alert")
        with pytest.raises(Forbidden, match="bot was kicked from the group chat"):
            await bot.send_message(group.id, "alert")
        with pytest.raises(Forbidden, match="can't initiate conversation"):
            await bot.send_message(stranger.id, "alert")
        with pytest.raises(BadRequest, match=said("chat not found")):
            await bot.send_message(-4242, "alert")
        fake_telegram.unblock(dm)
        await bot.send_message(dm.id, "welcome back")
        fake_telegram.deactivate(dm)
        with pytest.raises(Forbidden, match="user is deactivated"):
            await bot.send_chat_action(dm.id, "typing")

    run(fake_telegram, scenario)

    assert [c.params["text"] for c in fake_telegram.sent()] == ["welcome back"]


def test_a_migrated_group_answers_chat_migrated_with_the_new_id(fake_telegram: FakeTelegram, alice: User) -> None:
    group = fake_telegram.group(-1001, "Advocates", admins=[alice])
    supergroup = fake_telegram.migrate(group, -1009999, by=alice)

    async def scenario(bot: Bot) -> tuple[Update, ...]:
        with pytest.raises(ChatMigrated) as caught:
            await bot.send_message(group.id, "alert")
        assert caught.value.new_chat_id == supergroup.id
        await bot.send_message(supergroup.id, "alert")
        return await bot.get_updates(timeout=0)

    updates = run(fake_telegram, scenario)

    assert [c.result["chat"]["type"] for c in fake_telegram.sent()] == ["supergroup"]
    migrations = [(u.message.migrate_to_chat_id, u.message.migrate_from_chat_id) for u in updates if u.message]
    assert migrations == [(-1009999, None), (None, -1001)]


def test_a_wrong_token_is_refused_and_never_printed(
    fake_telegram: FakeTelegram, capfd: pytest.CaptureFixture[str]
) -> None:
    wrong = fake_telegram.token[:-4] + "XXXX"

    with pytest.raises(InvalidToken):
        run(fake_telegram, lambda bot: bot.get_me(), token=wrong)

    [call] = fake_telegram.calls
    assert (call.method, call.status, call.description) == ("getMe", 401, "Unauthorized")
    output = capfd.readouterr()
    for secret in (fake_telegram.token, wrong):
        assert secret not in output.out + output.err
        assert secret not in repr(call) + repr(fake_telegram)


def test_an_unknown_method_is_not_found_and_recorded(fake_telegram: FakeTelegram) -> None:
    async def scenario(bot: Bot) -> None:
        with pytest.raises(EndPointNotFound):
            await bot.do_api_request("sendHologram", api_kwargs={"chat_id": 1})

    run(fake_telegram, scenario)

    [call] = fake_telegram.calls_to("sendHologram")
    assert (call.status, call.params) == (404, {"chat_id": 1})


def test_a_hung_answer_times_out_in_ptb_although_telegram_delivered(fake_telegram: FakeTelegram, dm: Chat) -> None:
    fake_telegram.hang_next("sendMessage", 2.0)

    with pytest.raises(TimedOut):
        run(fake_telegram, lambda bot: bot.send_message(dm.id, "alert", read_timeout=0.3))

    assert list(fake_telegram.messages(dm.id).values()) == ["alert"]  # the duplicate-send trap


def test_a_dropped_connection_is_a_network_error_and_nothing_is_sent(fake_telegram: FakeTelegram, dm: Chat) -> None:
    fake_telegram.drop_next("sendMessage")

    with pytest.raises(NetworkError):
        run(fake_telegram, lambda bot: bot.send_message(dm.id, "alert"))

    assert fake_telegram.messages(dm.id) == {}


def test_enforced_limits_answer_429_when_the_bot_sends_too_fast(
    fake_telegram: FakeTelegram, dm: Chat, alice: User
) -> None:
    group = fake_telegram.group(-1001, "Advocates", admins=[alice])
    fake_telegram.enforce_limits(per_chat_per_second=1, global_per_second=30, group_per_minute=2)

    async def scenario(bot: Bot) -> list[int]:
        outcomes = []
        for chat_id in (dm.id, dm.id, group.id, group.id):
            try:
                await bot.send_message(chat_id, "alert")
                outcomes.append(0)
            except RetryAfter as exc:
                outcomes.append(int(exc.retry_after.total_seconds()))  # type: ignore[union-attr]
        await asyncio.sleep(1.05)  # the per-chat window slides on; the per-group one does not
        for chat_id in (dm.id, group.id, group.id):
            try:
                await bot.send_message(chat_id, "alert")
                outcomes.append(0)
            except RetryAfter as exc:
                outcomes.append(int(exc.retry_after.total_seconds()))  # type: ignore[union-attr]
        return outcomes

    outcomes = run(fake_telegram, scenario)

    assert outcomes[:3] == [0, 1, 0]  # second message to the same chat within a second
    assert outcomes[3] == 1  # same group within a second
    assert outcomes[4:6] == [0, 0]  # a second later: the chat is free, the group has its second slot
    assert 55 <= outcomes[6] <= 60  # the group's two-per-minute budget is spent
    assert fake_telegram.too_many_requests == 3
    assert len(fake_telegram.sent()) == 4


def test_commands_set_by_the_bot_are_recorded_and_read_back(fake_telegram: FakeTelegram) -> None:
    commands = [("subscribe", "Follow a topic"), ("unsubscribe", "Stop following a topic")]

    async def scenario(bot: Bot) -> tuple[telegram.BotCommand, ...]:
        assert await bot.set_my_commands(commands)
        with pytest.raises(BadRequest, match=said("BOT_COMMAND_INVALID")):
            await bot.set_my_commands([("Sub-Scribe", "bad name")])
        return await bot.get_my_commands()

    read_back = run(fake_telegram, scenario)

    assert [(c.command, c.description) for c in read_back] == commands
    assert fake_telegram.commands() == [{"command": c, "description": d} for c, d in commands]


def test_json_and_multipart_bodies_decode_like_form_bodies(fake_telegram: FakeTelegram, dm: Chat) -> None:
    url = f"{fake_telegram.base_url}{fake_telegram.token}/sendMessage"

    as_json = httpx.post(url, json={"chat_id": dm.id, "text": "123", "disable_notification": True})
    as_multipart = httpx.post(url, data={"chat_id": str(dm.id), "text": "true"}, files={"doc": ("a.txt", b"abc")})

    assert as_json.json()["ok"] is True and as_multipart.json()["ok"] is True
    first, second = fake_telegram.sent(dm.id)
    assert first.params == {"chat_id": dm.id, "text": "123", "disable_notification": True}
    assert second.params == {"chat_id": dm.id, "text": "true", "doc": {"filename": "a.txt", "size": 3}}


def test_stop_ends_a_pending_long_poll_at_once() -> None:
    server = FakeTelegram()
    server.long_poll_cap = 10
    server.start()
    url = f"{server.base_url}{server.token}/getUpdates?timeout=30"
    answers: list[dict[str, Any]] = []
    poller = threading.Thread(target=lambda: answers.append(json.load(urllib.request.urlopen(url, timeout=5))))
    poller.start()
    server.wait_until(lambda: server._poll_generation > 0, timeout=2)

    started = time.monotonic()
    server.stop()
    poller.join(timeout=2)

    assert time.monotonic() - started < 3
    assert answers == [{"ok": True, "result": []}]


async def _start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text("Welcome. Send /subscribe to follow a topic.")


def test_a_polling_application_answers_a_queued_start(fake_telegram: FakeTelegram, dm: Chat, alice: User) -> None:
    app: Application[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .token(fake_telegram.token)
        .base_url(fake_telegram.base_url)
        .base_file_url(fake_telegram.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", _start))

    async def main() -> None:
        async with app:
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0.0, timeout=dtm.timedelta(seconds=1))
            fake_telegram.command(dm, alice, "/start")
            await fake_telegram.wait_for(lambda: fake_telegram.sent(dm.id), timeout=5)
            await app.updater.stop()
            await app.stop()

    asyncio.run(main())

    [reply] = fake_telegram.sent(dm.id)
    assert reply.params["text"] == "Welcome. Send /subscribe to follow a topic."
    assert fake_telegram.messages(dm.id) == {reply.result["message_id"]: reply.params["text"]}
    assert fake_telegram.pending_updates() == []  # the updater acknowledged the update on stop
