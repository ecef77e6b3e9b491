"""People in Korean, Chinese and English chats, and forum topics, as they meet the bot: python-telegram-bot
polling the fake Bot API server, the real services and database, stories from the real pipeline.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from telegram import Bot

from bot.config import load_config
from bot.delivery.deliverer import Deliverer
from bot.stories.facts import Gazetteer
from bot.telegram.app import register_commands
from bot.telegram.sender import TelegramSender
from tests.support.fake_telegram import FakeTelegram
from tests.test_commands import (  # noqa: F401  (fixtures, found by pytest by name)
    Newsroom,
    Session,
    errors,
    gazetteer,
    live_message,
    newsroom,
    no_errors,
    run_bot,
    stored_chat,
)
from tests.test_pipeline import poll

TRANSLATED = {
    "    name: Forced repatriation of North Koreans\n":
        "    name: {en: Forced repatriation of North Koreans, ko: 탈북민 강제북송, zh: 强制遣返朝鲜人}\n",
    "    name: Forced returns of refugees\n":
        "    name: {en: Forced returns of refugees, ko: 난민 강제송환, zh: 强制遣返难民}\n",
}


@pytest.fixture
def room(newsroom: Newsroom) -> Newsroom:
    """The newsroom with topic names in three languages."""
    text = newsroom.config_path.read_text(encoding="utf-8")
    for plain, translated in TRANSLATED.items():
        assert plain in text
        text = text.replace(plain, translated)
    newsroom.write_config(text=text)
    newsroom.config_ref.swap(load_config(newsroom.config_path))
    return newsroom


def deliver(server: FakeTelegram, room: Newsroom) -> None:
    """One drain of the outbox through TelegramSender, as the running bot does it."""

    async def main() -> None:
        async with Bot(server.token, base_url=server.base_url) as bot:
            sender = TelegramSender(bot, {}, config=lambda: room.config_ref.current)
            await Deliverer(room.db, sender, room.clock).drain()

    asyncio.run(main())


def test_a_korean_user_starts_and_subscribes_in_korean_and_gets_a_korean_alert(
    fake_telegram: FakeTelegram, room: Newsroom, gazetteer: Gazetteer, errors: pytest.LogCaptureFixture
) -> None:
    minji = fake_telegram.user(201, "민지", language_code="ko")
    dm = fake_telegram.private_chat(minji)

    async def scenario(bot: Session) -> None:
        await register_commands(bot.app.bot)
        welcome = await bot.one(dm, minji, "/start")
        assert welcome.text.startswith("강제북송 알림\n")
        assert "nk-repatriation — 탈북민 강제북송" in welcome.text
        assert "/language — English, 한국어, 简体中文 중 선택" in welcome.text

        picker = await bot.one(dm, minji, "/subscribe")
        assert picker.text.startswith("구독할 주제를 누르세요.")
        assert [label for label, _ in picker.buttons] == ["➕ 탈북민 강제북송", "➕ 난민 강제송환"]
        answer = await bot.press(dm, minji, picker.message_id, picker.data("탈북민"))
        assert answer.params["text"] == "구독 중: 탈북민 강제북송"
        assert stored_chat(room, dm.id).settings.language == "ko"

        typed = await bot.one(dm, minji, "/subscribe refugee-returns")
        assert "이 대화방이 구독을 시작했어요: 난민 강제송환." in typed.text
        typo = await bot.one(dm, minji, "/subscribe 북송")
        assert typo.text.startswith("없는 주제예요: 북송.") and "사용법: /subscribe [주제...]" in typo.text

        settings = await bot.one(dm, minji, "/settings")
        assert settings.text.startswith("⚙️ 설정\n받는 방식: 기사가 나올 때마다 바로")
        assert [label for label, _ in settings.buttons[:2]] == ["✅ 기사마다 바로", "하루 한 번 모아 보기"]
        listing = await bot.one(dm, minji, "/list")
        assert listing.text.startswith("📋 이 대화방의 구독\n• 탈북민 강제북송 (nk-repatriation)")
        paused = await bot.one(dm, minji, "/pause 6h")
        assert paused.text.startswith("⏸ ") and "까지 알림을 일시 중지했어요." in paused.text
        resumed = await bot.one(dm, minji, "/pause off")
        assert resumed.text.startswith("▶️ 알림이 일시 중지되어 있지 않아요.")

    run_bot(fake_telegram, room, scenario)
    no_errors(fake_telegram, errors)
    menu = {c["command"]: c["description"] for c in fake_telegram.commands(language_code="ko")}
    assert menu["subscribe"] == "주제 구독하기" and menu["language"] == "봇 언어 바꾸기"
    assert {c["command"]: c["description"] for c in fake_telegram.commands(language_code="zh")}["list"] == (
        "本聊天关注的主题和提醒方式"
    )
    assert fake_telegram.commands()[0] == {"command": "start", "description": "What this bot does"}

    # The pipeline finds the stories; Min-ji's alert is in Korean, her time zone's dates, the feed text as written.
    poll(room.config_ref.current, room.db, room.clock, gazetteer)
    deliver(fake_telegram, room)
    alerts = [c.result["text"] for c in fake_telegram.sent(dm.id) if "/story_" in c.result["text"]]
    urgent = next(text for text in alerts if text.startswith("🚨 긴급 · 탈북민 강제북송\n"))
    assert "China forcibly returns dozens of North Korean escapees at Dandong" in urgent
    assert "👥 60명" in urgent and "자세히 보기: /story_" in urgent


def test_a_chinese_group_is_switched_to_chinese_by_its_admin(
    fake_telegram: FakeTelegram, room: Newsroom, errors: pytest.LogCaptureFixture
) -> None:
    alice = fake_telegram.user(101, "Alice", language_code="en")
    wei = fake_telegram.user(102, "伟", language_code="zh-hans")
    group = fake_telegram.group(-1001, "援助小组", admins=[alice], members=[wei])

    async def scenario(bot: Session) -> None:
        # Before the group is stored, each person is answered in their own language.
        assert (await bot.one(group, wei, "/help")).text.startswith("遣返预警\n")
        refused = await bot.one(group, wei, "/language zh")
        assert refused.text == "只有本群管理员可以更改订阅和设置。"

        picker = await bot.one(group, alice, "/language")
        assert picker.text == "🌐 Choose the language I use in this chat."
        assert [label for label, _ in picker.buttons] == ["✅ English", "한국어", "简体中文"]
        not_admin = await bot.press(group, wei, picker.message_id, picker.data("简体中文"))
        assert not_admin.params["text"] == "只有这个聊天的管理员可以更改。"
        assert await bot.press(group, alice, picker.message_id, picker.data("简体中文"))
        await bot.server.wait_for(lambda: bot.server.message(group.id, picker.message_id).edits == 1)
        edited = live_message(bot, group, picker.message_id)
        assert edited.text.endswith("🌐 我会在这个聊天中使用简体中文。")
        assert stored_chat(room, group.id).settings.language == "zh-Hans"

        # From now on the group reads Chinese, whoever writes.
        done = await bot.one(group, alice, "/subscribe nk-repatriation")
        assert done.text.startswith("✅ 本聊天已开始关注：强制遣返朝鲜人。")
        assert (await bot.one(group, alice, "/settings")).text.startswith("⚙️ 设置\n提醒方式：每篇报道即时推送")
        assert (await bot.one(group, alice, "/recent")).text.startswith("🗞 最新报道")

    run_bot(fake_telegram, room, scenario)
    no_errors(fake_telegram, errors)


def test_an_english_channel_subscribes_and_reads_english(
    fake_telegram: FakeTelegram, room: Newsroom, errors: pytest.LogCaptureFixture
) -> None:
    alice = fake_telegram.user(101, "Alice", language_code="ko")
    channel = fake_telegram.channel(-100200, "NK Watch", username="nkwatch", admins=[alice])

    async def scenario(bot: Session) -> None:
        done = await bot.one(channel, None, "/subscribe")  # a channel post has no sender: English
        assert done.text.startswith("Tap a topic to follow it, tap again to stop.")
        typed = await bot.one(channel, None, "/subscribe nk-repatriation")
        assert typed.text.startswith("✅ This chat now follows: Forced repatriation of North Koreans.")
        assert stored_chat(room, channel.id).settings.language == "en"

    run_bot(fake_telegram, room, scenario)
    no_errors(fake_telegram, errors)


def test_a_forum_topic_receives_the_alerts_and_a_deleted_topic_falls_back_to_general(
    fake_telegram: FakeTelegram, room: Newsroom, gazetteer: Gazetteer, errors: pytest.LogCaptureFixture
) -> None:
    alice = fake_telegram.user(101, "Alice", language_code="en")
    forum = fake_telegram.group(-1003, "Advocates' forum", admins=[alice], forum=True)
    alerts_topic = fake_telegram.forum_topic(forum, "Alerts")

    async def scenario(bot: Session) -> None:
        before = len(bot.server.sent(forum.id))
        bot.server.command(forum, alice, "/subscribe nk-repatriation", thread=alerts_topic)
        await bot.server.wait_for(lambda: len(bot.server.sent(forum.id)) > before)
        answer = bot.server.sent(forum.id)[-1]
        assert answer.params.get("message_thread_id") == alerts_topic  # the reply stays in the topic
        assert "🧵 Alerts will arrive in this topic." in answer.result["text"]

    run_bot(fake_telegram, room, scenario)
    no_errors(fake_telegram, errors)
    assert stored_chat(room, forum.id).thread_id == alerts_topic

    poll(room.config_ref.current, room.db, room.clock, gazetteer)
    deliver(fake_telegram, room)
    (alert,) = [c for c in fake_telegram.sent(forum.id) if c.result["text"].startswith("🚨 URGENT")]
    assert alert.params["message_thread_id"] == alerts_topic

    # The topic is deleted; the next story goes to General, after a note to the admins, once.
    fake_telegram.delete_topic(forum, alerts_topic)
    room.clock.now += timedelta(days=1)
    room.feed_server.add("/wire.xml", body=_wire_with_new_story(room))
    poll(room.config_ref.current, room.db, room.clock, gazetteer)
    deliver(fake_telegram, room)
    later = fake_telegram.sent(forum.id)[-2:]
    assert later[0].result["text"].startswith("⚠️ Admins: the topic where I posted alerts is gone")
    assert "message_thread_id" not in later[0].params or later[0].params["message_thread_id"] is None
    assert later[1].result["text"].startswith("🚨 URGENT") and later[1].params.get("message_thread_id") is None
    assert stored_chat(room, forum.id).thread_id is None


def _wire_with_new_story(room: Newsroom) -> str:
    from tests.test_commands import WIRE
    from tests.test_pipeline import rss

    new = (
        "China forcibly returns 40 North Korean escapees held in Shenyang",
        "https://wire.example.com/2023/11/07/shenyang-returns",
        "Chinese police forcibly returned about 40 North Koreans held in Shenyang on 6 November, a rights group "
        "said. They were driven to the border overnight.",
        room.clock.now - timedelta(hours=1),
    )
    return rss("Wire", [*WIRE, new])


@pytest.mark.parametrize("code", ["xx", "tlh", "zz-" + "q" * 60, "en-US", "ja"])
def test_unknown_languages_and_long_inputs_fall_back_to_english(
    fake_telegram: FakeTelegram, room: Newsroom, errors: pytest.LogCaptureFixture, code: str
) -> None:
    user = fake_telegram.user(301, "Sam", language_code=code)
    dm = fake_telegram.private_chat(user)

    async def scenario(bot: Session) -> None:
        assert (await bot.one(dm, user, "/start")).text.startswith("Repatriation alerts\n")
        long = await bot.one(dm, user, "/language " + "한국어" * 800)
        assert long.text.startswith("'") and "is not a language I speak" in long.text and len(long.text) < 200
        assert (await bot.one(dm, user, "/pause " + "9" * 3000)).text.startswith("Usage: /pause DURATION")
        assert (await bot.one(dm, user, "/settings lang " + "x" * 4000)).text.endswith("or zh (简体中文).")
        assert (await bot.one(dm, user, "/language ko")).text == "🌐 이 대화방에서는 이제 한국어로 말씀드릴게요."

    run_bot(fake_telegram, room, scenario)
    no_errors(fake_telegram, errors)
