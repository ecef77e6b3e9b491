"""The bot's commands and buttons as users meet them: python-telegram-bot polling the fake Bot API server,
the real services over a real database, and stories made by the real pipeline from local feeds.

Each test plays people in chats (a private chat, a group with an admin and a member, channels) and checks
what they see in the replies, and what the database then holds.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from telegram.constants import ParseMode

from bot.config import Secret, Settings, load_config
from bot.domain import ChatKind, ChatSettings, DeliveryMode, Feed, FeedState, Story
from bot.services import (
    FAILING_AFTER,
    ConfigRef,
    InputError,
    Services,
    change_settings,
    feed_health,
    last_poll,
    parse_count,
    parse_story_id,
    parse_timezone,
    search_words,
)
from bot.storage.db import Database
from bot.stories.facts import Gazetteer, load_gazetteer
from bot.telegram.app import BotApplication, build_application, file_url, register_commands
from bot.telegram.handlers import SORRY, keyboard, redact
from bot.telegram.html import utf16_len
from bot.telegram.messages.alert import render_alert
from tests.support.fake_telegram import Call, Chat, FakeTelegram, User
from tests.support.feedserver import FeedServer
from tests.test_pipeline import Clock, poll, rss

NOV_6 = datetime(2023, 11, 6, 12, 0, tzinfo=UTC)

# Three reports written for these tests: an urgent return at Dandong (English), the same event in Korean
# (a separate story: clustering keeps languages apart here), and a follow-up whose title is hostile HTML.
WIRE = [
    (
        "China forcibly returns dozens of North Korean escapees at Dandong",
        "https://wire.example.com/2023/11/05/dandong-returns",
        "Chinese police forcibly returned about 60 North Koreans across the bridge at Dandong on the night of "
        "3 November, a Seoul-based rights group said on Sunday. Relatives fear the escapees will be jailed.",
        datetime(2023, 11, 5, 8, 0, tzinfo=UTC),
    ),
    (
        'UN expert <b>asks</b> China & "Beijing" about North Koreans repatriated last month <script>x</script>',
        "https://wire.example.com/2023/11/06/un-expert",
        "A United Nations rapporteur wrote to the Chinese government about the North Koreans repatriated in "
        "October and asked where they are now.",
        datetime(2023, 11, 6, 9, 0, tzinfo=UTC),
    ),
]
DAILY = [
    (
        "탈북민 60여 명 단둥 통해 강제북송",
        "https://daily.example.kr/news/20231105/7",
        "중국 공안이 11월 3일 단둥에서 탈북민 60여 명을 북한 국경경비대에 넘겼다고 인권단체가 밝혔다.",
        datetime(2023, 11, 5, 11, 0, tzinfo=UTC),
    ),
]
URGENT_TITLE = WIRE[0][0]
HOSTILE_TITLE = WIRE[1][0]
KOREAN_TITLE = DAILY[0][0]

FEEDS_YAML = """
topics:
  - id: nk-repatriation
    name: Forced repatriation of North Koreans
    default: true
    require:
      - [north korea*, 북한, 탈북*]
      - [repatriat*, forcibly return*, sent back, 북송, 넘겼]
  - id: refugee-returns
    name: Forced returns of refugees
    require:
      - [refugee*, asylum seeker*]
      - [deport*, forcibly return*, refoul*]
feeds:
  - name: Wire
    url: {wire}
    language: en
    interval: 10m
  - name: Daily
    url: {daily}
    language: ko
    interval: 10m
{extra}
actions:
  - id: call-now
    title: Call <your> ministry & "act"
    text: Reports say {{count}} North Koreans near {{places}} face return. Call your foreign ministry today.
    targets: [your foreign ministry]
    url: https://act.example.org/call?x=1&y=2
    when:
      topics: [nk-repatriation]
      urgency: [urgent]
  - id: write-letter
    title: Write to your representative
    text: "{{reporters}} report returns {{date}}. Ask your representative to raise them."
    when:
      topics: [nk-repatriation]
defaults:
  timeout: 2s
  max_body: 256KB
"""


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return load_gazetteer()


def feeds_yaml(server: FeedServer, extra: str = "") -> str:
    return FEEDS_YAML.format(wire=server.url("/wire.xml"), daily=server.url("/daily.xml"), extra=extra)


@dataclass
class Newsroom:
    """The world behind the bot: feeds.yaml on disk, the config in force, a database with stories."""

    config_path: Path
    config_ref: ConfigRef
    db: Database
    clock: Clock
    feed_server: FeedServer

    def write_config(self, extra: str = "", text: str | None = None) -> None:
        """Rewrite feeds.yaml: the test's config with `extra` feeds, or `text` as given."""
        body = text if text is not None else feeds_yaml(self.feed_server, extra)
        self.config_path.write_text(body, encoding="utf-8")

    def story_with(self, link: str) -> Story:
        """The story that the report at `link` joined."""
        with self.db.unit_of_work() as uow:
            (story,) = [s for s in uow.stories.recent(50) if link in {source.link for source in s.sources}]
        return story

    def story_count(self) -> int:
        with self.db.unit_of_work() as uow:
            return uow.stories.count()


@pytest.fixture
def newsroom(feed_server: FeedServer, database: Database, tmp_path: Path) -> Newsroom:
    """feeds.yaml with two topics and two feeds; no poll yet (see `polled`)."""
    feed_server.add("/wire.xml", body=rss("Wire", WIRE))
    feed_server.add("/daily.xml", body=rss("Daily", DAILY))
    path = tmp_path / "feeds.yaml"
    path.write_text(feeds_yaml(feed_server), encoding="utf-8")
    return Newsroom(path, ConfigRef(load_config(path)), database, Clock(NOV_6), feed_server)


@pytest.fixture
def polled(newsroom: Newsroom, gazetteer: Gazetteer) -> Newsroom:
    """The newsroom after one poll of its feeds: three stories, one of them urgent."""
    poll(newsroom.config_ref.current, newsroom.db, newsroom.clock, gazetteer)
    return newsroom


# --- driving the bot -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """A message the bot sent: what the user reads, the HTML it was sent as, its buttons."""

    message_id: int
    text: str
    html: str
    buttons: list[tuple[str, str]]

    @classmethod
    def of(cls, call: Call) -> Reply:
        markup = call.params.get("reply_markup") or {}
        buttons = [
            (b["text"], b.get("callback_data") or b.get("url") or "")
            for row in markup.get("inline_keyboard", [])
            for b in row
        ]
        return cls(call.result["message_id"], call.result.get("text", ""), call.params["text"], buttons)

    def data(self, label_part: str) -> str:
        """The callback data of the one button whose label contains `label_part`."""
        (found,) = [data for label, data in self.buttons if label_part in label]
        return found


class Session:
    """The test's side of a running bot: people write and press, then read what the bot sent."""

    def __init__(self, server: FakeTelegram, app: BotApplication) -> None:
        self.server = server
        self.app = app

    async def ask(self, chat: Chat, user: User | None, text: str, *, replies: int = 1) -> list[Reply]:
        """`user` sends `text` in `chat` (None: a post in a channel); waits for `replies` bot messages."""
        before = len(self.server.sent(chat.id))
        if user is None:
            self.server.channel_post(chat, text)
        else:
            self.server.command(chat, user, text)
        await self.server.wait_for(lambda: len(self.server.sent(chat.id)) >= before + replies)
        return [Reply.of(call) for call in self.server.sent(chat.id)[before:]]

    async def one(self, chat: Chat, user: User | None, text: str) -> Reply:
        """The single reply to `text`."""
        (answer,) = await self.ask(chat, user, text)
        return answer

    async def press(self, chat: Chat, user: User, message_id: int, data: str) -> Call:
        """`user` presses the button with `data`; returns the bot's answerCallbackQuery call."""
        queued = self.server.press(chat, user, message_id, data)

        def answered() -> list[Call]:
            return [
                c for c in self.server.calls_to("answerCallbackQuery")
                if c.params.get("callback_query_id") == queued.callback_query_id
            ]

        (answer,) = await self.server.wait_for(answered)
        return answer

    async def settled(self, chat: Chat, user: User) -> None:
        """Wait until every update sent so far is handled (updates are handled in order; /help is last)."""
        await self.ask(chat, user, "/help")


def live_message(bot: Session, chat: Chat, message_id: int) -> Reply:
    """A bot message as it is now (after edits), with its current buttons."""
    message = bot.server.message(chat.id, message_id)
    buttons = [
        (b["text"], b.get("callback_data") or b.get("url") or "")
        for row in (message.reply_markup or {}).get("inline_keyboard", [])
        for b in row
    ]
    return Reply(message_id, message.text, message.sent_text, buttons)


def run_bot(
    server: FakeTelegram,
    room: Newsroom,
    scenario: Callable[[Session], Awaitable[None]],
    *,
    admins: frozenset[int] = frozenset(),
) -> None:
    """Build the application as production does, poll the fake server, play `scenario`, stop."""
    settings = Settings(
        database_url="sqlite://",
        config_path=str(room.config_path),
        log_level="INFO",
        user_agent="test",
        telegram_token=Secret(server.token),
        telegram_api_url=server.base_url,
        admin_ids=admins,
    )
    services = Services(room.config_ref, room.db, room.clock, lambda: load_config(room.config_path))
    app = build_application(settings, services)

    async def main() -> None:
        async with app:
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0.0, timeout=dtm.timedelta(seconds=1))
            try:
                await scenario(Session(server, app))
            finally:
                await app.updater.stop()
                await app.stop()

    asyncio.run(main())


def stored_chat(room: Newsroom, chat_id: int) -> Any:
    with room.db.unit_of_work() as uow:
        return uow.chats.get(chat_id)


@pytest.fixture
def errors(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Log records of the handlers; a test asserts none is an error."""
    caplog.set_level(logging.INFO, logger="bot.telegram")
    return caplog


def no_errors(server: FakeTelegram, caplog: pytest.LogCaptureFixture) -> None:
    assert server.internal_errors == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert server.token not in caplog.text


# --- subscribing ------------------------------------------------------------------------------------


def test_a_private_chat_subscribes_by_topic_id_and_with_the_picker(
    fake_telegram: FakeTelegram, newsroom: Newsroom, errors: pytest.LogCaptureFixture
) -> None:
    alice = fake_telegram.user(101, "Alice", username="alice")
    dm = fake_telegram.private_chat(alice)

    async def scenario(bot: Session) -> None:
        welcome = await bot.ask(dm, alice, "/start")
        assert "North Korean escapees" in welcome[0].text
        assert "nk-repatriation — Forced repatriation of North Koreans" in welcome[0].text
        assert "/subscribe @channel" in welcome[0].text

        done = await bot.one(dm, alice, "/subscribe NK-Repatriation")
        assert "now follows: Forced repatriation of North Koreans" in done.text
        assert stored_chat(newsroom, dm.id).topics == ("nk-repatriation",)
        assert stored_chat(newsroom, dm.id).kind is ChatKind.PRIVATE

        again = await bot.one(dm, alice, "/subscribe nk-repatriation")
        assert "already follows: Forced repatriation of North Koreans" in again.text

        typo = await bot.one(dm, alice, "/subscribe nk-repatration")
        assert typo.text.startswith("Unknown topic: nk-repatration. Topics: nk-repatriation, refugee-returns.")
        assert "Usage: /subscribe [topic...]" in typo.text

        picker = await bot.one(dm, alice, "/subscribe")
        assert [label for label, _ in picker.buttons] == [
            "✅ Forced repatriation of North Koreans",
            "➕ Forced returns of refugees",
        ]
        answer = await bot.press(dm, alice, picker.message_id, picker.data("refugees"))
        assert answer.params["text"] == "Following: Forced returns of refugees"
        await bot.server.wait_for(lambda: bot.server.message(dm.id, picker.message_id).edits == 1)
        edited = bot.server.message(dm.id, picker.message_id)
        assert "✅ refugee-returns" in edited.text
        assert stored_chat(newsroom, dm.id).topics == ("nk-repatriation", "refugee-returns")

        stop_one = await bot.one(dm, alice, "/unsubscribe refugee-returns")
        assert "stopped following: Forced returns of refugees" in stop_one.text
        stop_all = await bot.one(dm, alice, "/unsubscribe")
        assert "stopped following: Forced repatriation of North Koreans" in stop_all.text
        assert "No topics followed" in stop_all.text
        assert stored_chat(newsroom, dm.id).topics == ()

        everything = await bot.one(dm, alice, "/subscribe all")
        assert stored_chat(newsroom, dm.id).topics == ("nk-repatriation", "refugee-returns")
        assert "now follows" in everything.text

    run_bot(fake_telegram, newsroom, scenario)
    no_errors(fake_telegram, errors)


def test_in_a_group_only_admins_change_subscriptions_and_other_bots_commands_are_ignored(
    fake_telegram: FakeTelegram, newsroom: Newsroom, errors: pytest.LogCaptureFixture
) -> None:
    alice = fake_telegram.user(101, "Alice", username="alice")
    bob = fake_telegram.user(102, "Bob")
    group = fake_telegram.group(-1001, "Advocates", admins=[alice], members=[bob])
    bot_name = fake_telegram.bot.username

    async def scenario(bot: Session) -> None:
        refused = await bot.one(group, bob, "/subscribe nk-repatriation")
        assert refused.text == "Only admins of this group can change its subscriptions and settings."
        assert stored_chat(newsroom, group.id) is None
        refused_picker = await bot.one(group, bob, "/subscribe")
        assert refused_picker.buttons == []

        done = await bot.one(group, alice, f"/subscribe@{bot_name} nk-repatriation")
        assert "now follows: Forced repatriation of North Koreans" in done.text
        chat = stored_chat(newsroom, group.id)
        assert (chat.kind, chat.title, chat.topics) == (ChatKind.GROUP, "Advocates", ("nk-repatriation",))

        # Addressed to another bot: not ours to answer (the next reply is the one to /help).
        fake_telegram.command(group, alice, "/unsubscribe@some_other_bot nk-repatriation")
        await bot.settled(group, alice)
        assert stored_chat(newsroom, group.id).topics == ("nk-repatriation",)

        assert (await bot.one(group, bob, "/unsubscribe")).text.startswith("Only admins")
        assert (await bot.one(group, bob, "/settings digest 9")).text.startswith("Only admins")
        assert stored_chat(newsroom, group.id).settings.mode is DeliveryMode.IMMEDIATE

        # Anyone may look at the settings; a member's press is refused, an admin's is applied.
        shown = await bot.one(group, bob, "/settings")
        refused_press = await bot.press(group, bob, shown.message_id, shown.data("Daily digest"))
        assert refused_press.params["text"] == "Only admins of this chat can change that."
        assert refused_press.params["show_alert"] is True
        assert stored_chat(newsroom, group.id).settings.mode is DeliveryMode.IMMEDIATE
        applied = await bot.press(group, alice, shown.message_id, shown.data("Daily digest"))
        assert applied.params["text"] == "Saved."
        await bot.server.wait_for(lambda: bot.server.message(group.id, shown.message_id).edits == 1)
        assert "Delivery: one daily digest at 08:00 (UTC)" in bot.server.message(group.id, shown.message_id).text
        assert stored_chat(newsroom, group.id).settings.mode is DeliveryMode.DIGEST

        # The group becomes a supergroup: its subscription and settings follow the new id.
        fake_telegram.migrate(group, -1009999, by=alice)
        supergroup = await bot.server.wait_for(lambda: stored_chat(newsroom, -1009999))
        assert (supergroup.kind, supergroup.topics) == (ChatKind.SUPERGROUP, ("nk-repatriation",))
        assert supergroup.settings.mode is DeliveryMode.DIGEST
        assert stored_chat(newsroom, group.id) is None
        supergroup_chat = Chat(-1009999, "supergroup", title="Advocates")

        # /subscribe @channel belongs in a private chat.
        elsewhere = await bot.one(supergroup_chat, alice, "/subscribe @nkwatch")
        assert "send /subscribe @channel to me in a private chat" in elsewhere.text

    run_bot(fake_telegram, newsroom, scenario)
    no_errors(fake_telegram, errors)


def test_a_channel_subscribes_by_posting_in_it_or_from_an_admins_private_chat(
    fake_telegram: FakeTelegram, newsroom: Newsroom, errors: pytest.LogCaptureFixture
) -> None:
    alice = fake_telegram.user(101, "Alice", username="alice")
    bob = fake_telegram.user(102, "Bob")
    alice_dm, bob_dm = fake_telegram.private_chat(alice), fake_telegram.private_chat(bob)
    posted = fake_telegram.channel(-100200, "NK Watch", username="nkwatch", admins=[alice])
    managed = fake_telegram.channel(-100300, "Border <News>", username="bordernews", admins=[alice])
    unready = fake_telegram.channel(-100400, "Quiet Channel", username="quietchan", admins=[alice], bot_is_admin=False)
    fake_telegram.group(-1005, "A group", username="agroup", admins=[alice])

    async def scenario(bot: Session) -> None:
        in_channel = await bot.one(posted, None, "/subscribe nk-repatriation")
        assert "now follows: Forced repatriation of North Koreans" in in_channel.text
        chat = stored_chat(newsroom, posted.id)
        assert (chat.kind, chat.title, chat.topics) == (ChatKind.CHANNEL, "NK Watch", ("nk-repatriation",))

        not_admin = await bot.one(bob_dm, bob, "/subscribe @bordernews nk-repatriation")
        assert not_admin.text == "Only admins of Border <News> can change its subscriptions; you are not one."
        assert stored_chat(newsroom, managed.id) is None

        done = await bot.one(alice_dm, alice, "/subscribe @bordernews nk-repatriation")
        assert "Border <News> now follows: Forced repatriation of North Koreans" in done.text
        assert "<b>Border &lt;News&gt;</b>" in done.html
        chat = stored_chat(newsroom, managed.id)
        assert (chat.kind, chat.topics) == (ChatKind.CHANNEL, ("nk-repatriation",))
        assert stored_chat(newsroom, alice_dm.id) is None  # the channel subscribed, not Alice

        no_bot = await bot.one(alice_dm, alice, "/subscribe @quietchan nk-repatriation")
        assert no_bot.text.startswith("I am not an admin of Quiet Channel, so I cannot post there.")
        assert stored_chat(newsroom, unready.id) is None

        missing = await bot.one(alice_dm, alice, "/subscribe @nosuchchannel")
        assert missing.text.startswith("I cannot find @nosuchchannel.")
        group = await bot.one(alice_dm, alice, "/subscribe @agroup")
        assert group.text.startswith("@agroup is not a channel.")
        bad = await bot.one(alice_dm, alice, "/subscribe @<b>x</b>")
        assert bad.text.startswith("@<b>x</b> is not a channel username")

        # The picker from a private chat acts on the channel, and only for the channel's admins.
        picker = await bot.one(alice_dm, alice, "/subscribe @bordernews")
        assert "for Border <News>" in picker.text
        await bot.press(alice_dm, alice, picker.message_id, picker.data("refugees"))
        assert stored_chat(newsroom, managed.id).topics == ("nk-repatriation", "refugee-returns")
        assert stored_chat(newsroom, alice_dm.id) is None

        settings = await bot.one(alice_dm, alice, "/settings @bordernews digest 7")
        assert settings.text.startswith("⚙️ Settings of Border <News>")
        assert "Delivery: one daily digest at 07:00 (UTC)" in settings.text
        await bot.press(alice_dm, alice, settings.message_id, settings.data("Urgent only"))
        await bot.server.wait_for(lambda: bot.server.message(alice_dm.id, settings.message_id).edits == 1)
        assert "Settings of Border <News>" in bot.server.message(alice_dm.id, settings.message_id).text
        chat = stored_chat(newsroom, managed.id)
        assert (chat.settings.mode, chat.settings.digest_hour, chat.settings.urgent_only) == (
            DeliveryMode.DIGEST, 7, True
        )
        assert (await bot.one(bob_dm, bob, "/settings @bordernews immediate")).text.startswith("Only admins")
        assert stored_chat(newsroom, managed.id).settings.mode is DeliveryMode.DIGEST

        stop = await bot.one(alice_dm, alice, "/unsubscribe @bordernews refugee-returns")
        assert "Border <News> stopped following: Forced returns of refugees" in stop.text
        assert stored_chat(newsroom, managed.id).topics == ("nk-repatriation",)

    run_bot(fake_telegram, newsroom, scenario)
    no_errors(fake_telegram, errors)


# --- settings ---------------------------------------------------------------------------------------


def test_settings_buttons_and_typed_changes_are_stored_and_shown(
    fake_telegram: FakeTelegram, newsroom: Newsroom, errors: pytest.LogCaptureFixture
) -> None:
    alice = fake_telegram.user(101, "Alice", username="alice")
    dm = fake_telegram.private_chat(alice)

    async def scenario(bot: Session) -> None:
        shown = await bot.one(dm, alice, "/settings")
        assert "Delivery: each story as it breaks" in shown.text
        assert "Stories: all stories" in shown.text
        assert "Quiet hours: none" in shown.text
        assert "✅ Each story" in [label for label, _ in shown.buttons]

        def current() -> str:
            return bot.server.message(dm.id, shown.message_id).text

        async def press(label: str, edits: int) -> Call:
            answer = await bot.press(dm, alice, shown.message_id, live_message(bot, dm, shown.message_id).data(label))
            await bot.server.wait_for(lambda: bot.server.message(dm.id, shown.message_id).edits == edits)
            return answer

        await press("Daily digest", 1)
        assert "Delivery: one daily digest at 08:00 (UTC)" in current()
        assert stored_chat(newsroom, dm.id).settings.mode is DeliveryMode.DIGEST
        await press("09:00 ▶", 2)
        assert "08:00" not in current() and "at 09:00 (UTC)" in current()
        await press("Urgent only", 3)
        assert "Stories: urgent stories only" in current()
        await press("22–07", 4)
        assert "Quiet hours: 22:00–07:00 (UTC), alerts arrive silently" in current()
        settings = stored_chat(newsroom, dm.id).settings
        assert (settings.digest_hour, settings.urgent_only, settings.quiet_start, settings.quiet_end) == (
            9, True, 22, 7
        )
        same = await bot.press(dm, alice, shown.message_id, live_message(bot, dm, shown.message_id).data("✅ Urgent"))
        assert same.params["text"] == "Already so."

        zone = await bot.one(dm, alice, "/settings tz asia/seoul")
        assert "Time zone: Asia/Seoul" in zone.text and "at 09:00 (Asia/Seoul)" in zone.text
        assert stored_chat(newsroom, dm.id).settings.timezone == "Asia/Seoul"
        typed = await bot.one(dm, alice, "/settings quiet 23-6")
        assert "Quiet hours: 23:00–06:00 (Asia/Seoul)" in typed.text
        assert (await bot.one(dm, alice, "/settings immediate")).text.count("each story as it breaks") == 1
        assert (await bot.one(dm, alice, "/settings all")).text.count("Stories: all stories") == 1
        assert "Quiet hours: none" in (await bot.one(dm, alice, "/settings quiet off")).text

        wrong = {
            "/settings tz Mars/Olympus": "'Mars/Olympus' is not a time zone.",
            "/settings tz ../../etc/passwd": "'../../etc/passwd' is not a time zone.",
            "/settings digest 25": "'25' is not an hour",
            "/settings quiet 7 7": "Quiet hours need a different start and end",
            "/settings quiet 22": "Usage: /settings quiet START END",
            "/settings loud": "Usage: /settings [immediate | digest [HOUR]",
        }
        for command, expected in wrong.items():
            answer = await bot.one(dm, alice, command)
            assert answer.text.startswith(expected), (command, answer.text)
        final = stored_chat(newsroom, dm.id).settings
        assert (final.mode, final.timezone, final.urgent_only, final.quiet_start) == (
            DeliveryMode.IMMEDIATE, "Asia/Seoul", False, None
        )

    run_bot(fake_telegram, newsroom, scenario)
    no_errors(fake_telegram, errors)


# --- reading stories -------------------------------------------------------------------------------


def test_reading_commands_answer_from_the_stories_the_pipeline_stored(
    fake_telegram: FakeTelegram, polled: Newsroom, errors: pytest.LogCaptureFixture
) -> None:
    alice = fake_telegram.user(101, "Alice", username="alice")
    dm = fake_telegram.private_chat(alice)
    urgent = polled.story_with(WIRE[0][1])
    hostile = polled.story_with(WIRE[1][1])
    korean = polled.story_with(DAILY[0][1])

    async def scenario(bot: Session) -> None:
        recent = await bot.one(dm, alice, "/recent")
        assert "Latest stories (all topics; /subscribe to choose yours)" in recent.text
        assert f"/story_{urgent.id} · {URGENT_TITLE} · " in recent.text
        # Hostile feed text is shown as text (a long title shortened), never taken as markup.
        assert f'/story_{hostile.id} · UN expert <b>asks</b> China & "Beijing" about North Koreans' in recent.text
        assert "&lt;b&gt;asks&lt;/b&gt;" in recent.html and "<b>asks" not in recent.html
        assert recent.text.index(f"/story_{hostile.id} ") < recent.text.index(f"/story_{urgent.id} ")  # newest first

        one = await bot.one(dm, alice, "/recent 1")
        assert one.text.count(" · ") >= 2 and f"/story_{hostile.id}" in one.text
        assert f"/story_{urgent.id} " not in one.text
        tapped = await bot.one(dm, alice, f"/story_{urgent.id}")  # the tappable form in the lists
        assert URGENT_TITLE in tapped.text and "📚 Sources" in tapped.text

        full = await bot.one(dm, alice, f"/story {urgent.id}")
        assert URGENT_TITLE in full.text
        assert "👥 60 people" in full.text and "📍 Places: Dandong" in full.text
        assert '<a href="https://wire.example.com/2023/11/05/dandong-returns">' in full.html
        assert 'Call <your> ministry & "act"' in full.text
        assert KOREAN_TITLE in (await bot.one(dm, alice, f"/story #{korean.id}")).text  # among its sources
        whole = await bot.one(dm, alice, f"/story {hostile.id}")
        assert HOSTILE_TITLE in whole.text and "&lt;script&gt;x&lt;/script&gt;" in whole.html
        assert (await bot.one(dm, alice, "/story 99999")).text == "No story #99999. /recent lists the latest."

        english = await bot.one(dm, alice, "/search dandong")
        assert f"/story_{urgent.id} · {URGENT_TITLE}" in english.text and f"/story_{hostile.id} " not in english.text
        korean_hit = await bot.one(dm, alice, "/search 단둥 북송")
        assert f"/story_{korean.id} · " in korean_hit.text and f"/story_{hostile.id} " not in korean_hit.text
        nothing = await bot.one(dm, alice, "/search zzz-not-there")
        assert "Nothing found" in nothing.text

        actions = await bot.one(dm, alice, "/actions")
        assert f"/story_{urgent.id} · {URGENT_TITLE}" in actions.text
        assert 'Call <your> ministry & "act"' in actions.text  # titles, with a button each for the card
        assert "Reports say 60 North Koreans" not in actions.text
        assert "Call &lt;your&gt; ministry &amp; &quot;act&quot;" in actions.html
        assert HOSTILE_TITLE not in actions.text  # not urgent
        before = len(bot.server.sent(dm.id))
        await bot.press(dm, alice, actions.message_id, actions.data("Call"))
        await bot.server.wait_for(lambda: len(bot.server.sent(dm.id)) == before + 1)
        assert "Reports say 60 North Koreans near Dandong face return." in Reply.of(bot.server.sent(dm.id)[-1]).text

        sources = await bot.one(dm, alice, "/sources")
        assert "Monitored feeds: 2, 2 healthy" in sources.text
        assert "✅ Wire · en — ok, last fetched 6 Nov 2023 12:00 UTC" in sources.text
        assert "✅ Daily · ko" in sources.text

        # A subscribed chat reads its own topics only.
        await bot.one(dm, alice, "/subscribe refugee-returns")
        assert (await bot.one(dm, alice, "/recent")).text.endswith("No stories yet.")
        assert "No actions suggested" in (await bot.one(dm, alice, "/actions")).text

    run_bot(fake_telegram, polled, scenario)
    no_errors(fake_telegram, errors)


def test_alert_buttons_show_the_card_and_sources_and_mute_the_topic(
    fake_telegram: FakeTelegram, polled: Newsroom, errors: pytest.LogCaptureFixture
) -> None:
    alice = fake_telegram.user(101, "Alice", username="alice")
    bob = fake_telegram.user(102, "Bob")
    carol = fake_telegram.user(103, "Carol")
    dm = fake_telegram.private_chat(alice)
    fake_telegram.private_chat(bob)
    group = fake_telegram.group(-1001, "Advocates", admins=[alice], members=[bob, carol])
    urgent = polled.story_with(WIRE[0][1])

    async def scenario(bot: Session) -> None:
        await bot.one(dm, alice, "/subscribe all")
        await bot.one(group, alice, "/subscribe nk-repatriation")

        async def alert(chat: Chat) -> Reply:
            # What delivery sends: the rendered alert with its buttons.
            rendered = render_alert(urgent, topic_names=polled_names)
            message = await bot.app.bot.send_message(
                chat.id, rendered.text, parse_mode=ParseMode.HTML, reply_markup=keyboard(rendered.buttons)
            )
            return live_message(bot, chat, message.message_id)

        polled_names = {t.id: t.name for t in polled.config_ref.current.topics}
        mine = await alert(dm)
        before = len(bot.server.sent(dm.id))
        card = await bot.press(dm, alice, mine.message_id, mine.data("Call"))
        assert card.params.get("text") is None
        await bot.server.wait_for(lambda: len(bot.server.sent(dm.id)) == before + 1)
        shown = Reply.of(bot.server.sent(dm.id)[-1])
        assert shown.text.startswith('✍️ Call <your> ministry & "act"')
        assert "your foreign ministry" in shown.text and "Reports say 60 North Koreans" in shown.text

        await bot.press(dm, alice, mine.message_id, mine.data("Sources"))
        await bot.server.wait_for(lambda: len(bot.server.sent(dm.id)) == before + 2)
        assert f"Sources of /story_{urgent.id}" in bot.server.sent(dm.id)[-1].result["text"]

        muted = await bot.press(dm, alice, mine.message_id, mine.data("Mute"))
        assert muted.params["text"] == "Muted: Forced repatriation of North Koreans. Tap Undo to follow it again."
        assert stored_chat(polled, dm.id).topics == ("refugee-returns",)
        # The alert's mute button became Undo; pressing it follows the topic again and brings Mute back.
        await bot.server.wait_for(lambda: "Undo" in str(bot.server.message(dm.id, mine.message_id).reply_markup))
        undo = live_message(bot, dm, mine.message_id)
        undone = await bot.press(dm, alice, mine.message_id, undo.data("Undo"))
        assert undone.params["text"] == "Following Forced repatriation of North Koreans again."
        assert stored_chat(polled, dm.id).topics == ("nk-repatriation", "refugee-returns")
        await bot.server.wait_for(lambda: "Mute" in str(bot.server.message(dm.id, mine.message_id).reply_markup))

        # In a group: a member's mute is refused; cards go to the presser's private chat, or a deep link.
        theirs = await alert(group)
        refused = await bot.press(group, bob, theirs.message_id, theirs.data("Mute"))
        assert refused.params["text"] == "Only admins of this chat can change that."
        assert stored_chat(polled, group.id).topics == ("nk-repatriation",)

        in_private = await bot.press(group, bob, theirs.message_id, theirs.data("Call"))
        assert in_private.params["text"] == "Sent to you in a private chat with me."
        assert bot.server.sent(bob.id)[-1].result["text"].startswith("✍️ Call")
        link = await bot.press(group, carol, theirs.message_id, theirs.data("Call"))
        payload = f"act-{urgent.id}-0"
        assert link.params["url"] == f"https://t.me/{bot.server.bot.username}?start={payload}"
        carol_dm = bot.server.private_chat(carol)
        opened = await bot.one(carol_dm, carol, f"/start {payload}")
        assert opened.text.startswith("✍️ Call <your> ministry")
        sources = await bot.one(carol_dm, carol, f"/start src-{urgent.id}")
        assert sources.text.startswith(f"📚 Sources of /story_{urgent.id}")

        admin_mute = await bot.press(group, alice, theirs.message_id, theirs.data("Mute"))
        assert admin_mute.params["text"].startswith("Muted")
        assert stored_chat(polled, group.id).topics == ()

    run_bot(fake_telegram, polled, scenario)
    no_errors(fake_telegram, errors)


# --- operators -------------------------------------------------------------------------------------


def test_status_and_reload_for_operators_only_and_a_broken_file_keeps_the_old_config(
    fake_telegram: FakeTelegram, polled: Newsroom, errors: pytest.LogCaptureFixture
) -> None:
    alice = fake_telegram.user(101, "Alice", username="alice")
    bob = fake_telegram.user(102, "Bob")
    alice_dm, bob_dm = fake_telegram.private_chat(alice), fake_telegram.private_chat(bob)
    group = fake_telegram.group(-1001, "Advocates", admins=[bob], members=[alice])
    urgent = polled.story_with(WIRE[0][1])
    with polled.db.unit_of_work() as uow:  # one chat that blocked the bot, one whose alert failed
        day_before = NOV_6 - dtm.timedelta(days=1)
        for chat_id in (-555, -556):
            uow.chats.ensure(chat_id, ChatKind.GROUP, "Readers", day_before)
            uow.chats.subscribe(chat_id, ["nk-repatriation"], day_before)
        uow.chats.deactivate(-556, "Forbidden: bot was kicked from the group chat", NOV_6)
        assert uow.outbox.enqueue(urgent.id, NOV_6) == 1
        (entry,) = uow.outbox.due(NOV_6, 10)
        uow.outbox.mark_failed(entry.id, "Bad Request: <b>message</b> is too long", NOV_6)

    async def scenario(bot: Session) -> None:
        for command in ("/status", "/reload", "/status everything", "/reload now"):
            refused = await bot.one(bob_dm, bob, command)
            name = command.split()[0]
            assert refused.text == f"Sorry, {name} is only for the operators of this bot."
            assert refused.buttons == []
        assert (await bot.one(group, bob, "/status")).text.startswith("Sorry, /status is only for")

        status = await bot.one(alice_dm, alice, "/status")
        assert "Outbox: 0 pending · failed 1" in status.text
        assert "Last poll: 6 Nov 2023 12:00 UTC (just now)" in status.text
        assert "Feeds: 2 configured, 0 not healthy" in status.text
        assert "Chats: 1 active, 1 inactive" in status.text
        failure = f"Recent delivery failures\n• chat -555, story #{urgent.id}: Bad Request: <b>message</b> is too long"
        assert failure in status.text
        assert f"Stories: {polled.story_count()}" in status.text and polled.story_count() >= 2
        assert str(polled.config_path) in status.text
        assert (await bot.one(group, alice, "/status")).text.startswith("🩺 Status")

        polled.write_config(extra="  - name: Rights <Watch>\n    url: https://rights.example.org/feed.xml\n"
                                  "    language: en\n")
        reloaded = await bot.one(alice_dm, alice, "/reload")
        assert reloaded.text.startswith(f"✅ Reloaded {polled.config_path}: 2 topics, 3 feeds, 2 actions.")
        assert "Added feeds: Rights <Watch>" in reloaded.text
        assert [f.name for f in polled.config_ref.current.feeds] == ["Wire", "Daily", "Rights <Watch>"]
        sources = await bot.one(alice_dm, alice, "/sources")
        assert "🆕 Rights <Watch> · en — not polled yet" in sources.text

        polled.write_config(text="topics:\n  - id: Bad Id\n    name: x\n    require: [[a]]\nfeeds: []\n")
        broken = await bot.one(alice_dm, alice, "/reload")
        assert broken.text.startswith(f"❌ {polled.config_path} has problems; the configuration in force is unchanged.")
        assert f"{polled.config_path}:2: topics[0].id:" in broken.text
        assert len(polled.config_ref.current.feeds) == 3  # the old config stays in force

        polled.config_path.unlink()
        gone = await bot.one(alice_dm, alice, "/reload")
        assert "file not found" in gone.text and len(polled.config_ref.current.feeds) == 3

        await register_commands(bot.app.bot, {alice.id})

    run_bot(fake_telegram, polled, scenario, admins=frozenset({alice.id}))
    no_errors(fake_telegram, errors)
    public = [c["command"] for c in fake_telegram.commands()]
    assert public == ["start", "help", "subscribe", "unsubscribe", "list", "settings", "language", "pause",
                      "recent", "story", "search", "actions", "sources"]
    operator = [c["command"] for c in fake_telegram.commands({"type": "chat", "chat_id": alice.id})]
    assert operator[-2:] == ["status", "reload"]


def test_failing_feeds_show_in_sources_and_status(
    fake_telegram: FakeTelegram, polled: Newsroom, gazetteer: Gazetteer, errors: pytest.LogCaptureFixture
) -> None:
    alice = fake_telegram.user(101, "Alice", username="alice")
    dm = fake_telegram.private_chat(alice)
    polled.feed_server.fail("/daily.xml", 503)
    for _ in range(3):  # three failures in a row make a feed "failing"
        polled.clock.now += dtm.timedelta(hours=7)
        poll(polled.config_ref.current, polled.db, polled.clock, gazetteer)

    async def scenario(bot: Session) -> None:
        sources = await bot.one(dm, alice, "/sources")
        assert "Monitored feeds: 2, 1 healthy" in sources.text
        assert "⚠️ Daily · ko — failing, 3 errors in a row: http-503" in sources.text
        status = await bot.one(dm, alice, "/status")
        assert "Feeds: 2 configured, 1 not healthy" in status.text
        assert "⚠️ Daily · ko — failing" in status.text

    run_bot(fake_telegram, polled, scenario, admins=frozenset({alice.id}))
    no_errors(fake_telegram, errors)


# --- hostile and broken input --------------------------------------------------------------------------

HUGE = "x" * 10_000
ODD_ARGUMENTS = [
    "nonsense",
    HUGE,
    "<b>bold</b> <a href='javascript:alert(1)'>x</a> &amp; </i>",
    "1; DROP TABLE chats; -- ' OR '1'='1",
    "‮evil‬ 🇰🇷 ﷽ \u200b 북한 中国 ０１",
    "-1",
    "99999999999999999999999999",
]
COMMANDS = ["start", "help", "subscribe", "unsubscribe", "settings", "recent", "story", "search", "actions",
            "sources", "status", "reload"]


def test_every_command_answers_odd_arguments_with_a_clear_reply_and_never_crashes(
    fake_telegram: FakeTelegram, polled: Newsroom, errors: pytest.LogCaptureFixture
) -> None:
    alice = fake_telegram.user(101, "Alice", username="alice")
    bob = fake_telegram.user(102, "Bob")
    dm = fake_telegram.private_chat(alice)
    group = fake_telegram.group(-1001, "Advocates", admins=[alice], members=[bob])

    async def scenario(bot: Session) -> None:
        for command in COMMANDS:
            for argument in ODD_ARGUMENTS:
                # A member of a group gets the same care; the two nastiest arguments are enough there.
                places = ((dm, alice), (group, bob)) if argument in (HUGE, ODD_ARGUMENTS[2]) else ((dm, alice),)
                for chat, user in places:
                    replies = await bot.ask(chat, user, f"/{command} {argument}")
                    for answer in replies:
                        assert answer.text and SORRY not in answer.text, (command, argument[:40], answer.text)
                        assert utf16_len(answer.html) <= 4096
        # Missing arguments where one is needed.
        for command, expected in (("story", "Usage: /story ID"), ("search", "Usage: /search WORDS")):
            assert (await bot.one(dm, alice, f"/{command}")).text.startswith(expected)
        assert (await bot.one(dm, alice, "/recent 0")).text == "Usage: /recent [N], N from 1 to 20"
        assert (await bot.one(dm, alice, f"/search {HUGE}")).text.startswith("That search is too long")
        unknown = await bot.one(dm, alice, "/<b>frobnicate</b>")
        assert unknown.text.startswith("I do not know")
        await bot.settled(dm, alice)

    run_bot(fake_telegram, polled, scenario, admins=frozenset({alice.id}))
    no_errors(fake_telegram, errors)
    # Nothing was stored from all that: no chat subscribed to a made-up topic, nothing for Bob.
    assert stored_chat(polled, group.id) is None
    with polled.db.unit_of_work() as uow:
        assert all(set(chat.topics) <= {"nk-repatriation", "refugee-returns"} for chat in uow.chats.all())


def test_an_unexpected_failure_is_logged_without_the_token_and_the_user_gets_a_short_apology(
    fake_telegram: FakeTelegram, newsroom: Newsroom, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.telegram")
    alice = fake_telegram.user(101, "Alice", username="alice")
    group = fake_telegram.group(-1001, "Advocates", admins=[alice])

    async def scenario(bot: Session) -> None:
        bot.server.fail_next("getChatMember", 500)  # Telegram itself fails while checking Alice's rights
        sorry = await bot.one(group, alice, "/subscribe nk-repatriation")
        assert sorry.text == SORRY
        assert (await bot.one(group, alice, "/subscribe nk-repatriation")).text.startswith("✅")

    run_bot(fake_telegram, newsroom, scenario)
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(failures) == 1 and "failed" in failures[0].getMessage()
    assert "Internal Server Error" in failures[0].getMessage()
    assert fake_telegram.token not in caplog.text
    assert fake_telegram.token.partition(":")[2] not in caplog.text


# --- the rules behind the commands, directly ---------------------------------------------------------

BASE = ChatSettings()


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["digest"], replace(BASE, mode=DeliveryMode.DIGEST)),
        (["digest", "21"], replace(BASE, mode=DeliveryMode.DIGEST, digest_hour=21)),
        (["DIGEST", "07:00"], replace(BASE, mode=DeliveryMode.DIGEST, digest_hour=7)),
        (["immediate"], BASE),
        (["hour", "6h"], replace(BASE, digest_hour=6)),
        (["tz", "europe/london"], replace(BASE, timezone="Europe/London")),
        (["timezone", "UTC"], BASE),
        (["urgent"], replace(BASE, urgent_only=True)),
        (["all"], BASE),
        (["quiet", "22", "7"], replace(BASE, quiet_start=22, quiet_end=7)),
        (["quiet", "0-8"], replace(BASE, quiet_start=0, quiet_end=8)),
        (["quiet", "off"], BASE),
        (["digest", "24"], "'24' is not an hour"),
        (["digest", "-1"], "'-1' is not an hour"),
        (["hour"], "Usage: /settings"),
        (["tz", "Asia/Nowhere"], "'Asia/Nowhere' is not a time zone"),
        (["tz", "/etc/localtime"], "'/etc/localtime' is not a time zone"),
        (["tz", "Asia/" + "x" * 5000], "is not a time zone"),
        (["quiet", "5", "5"], "Quiet hours need a different start and end"),
        (["quiet", "1", "2", "3"], "Usage: /settings quiet"),
        (["urgent", "please"], "Usage: /settings"),
        ([], "Usage: /settings"),
    ],
)
def test_change_settings(words: list[str], expected: ChatSettings | str) -> None:
    if isinstance(expected, ChatSettings):
        assert change_settings(BASE, words) == expected
    else:
        with pytest.raises(InputError) as caught:
            change_settings(BASE, words)
        assert expected in caught.value.message
        assert len(caught.value.message) < 400  # what the user typed is echoed shortened


@pytest.mark.parametrize(
    ("function", "word", "expected"),
    [
        (parse_story_id, "12", 12),
        (parse_story_id, "#12", 12),
        (parse_story_id, "12a", None),
        (parse_story_id, "9" * 13, None),
        (parse_story_id, "١٢", None),  # Arabic-Indic digits: int() takes them, ids are ASCII
        (lambda w: parse_count(w, 5, 20), "", 5),
        (lambda w: parse_count(w, 5, 20), "20", 20),
        (lambda w: parse_count(w, 5, 20), "21", None),
        (lambda w: parse_count(w, 5, 20), "0", None),
        (lambda w: parse_count(w, 5, 20), "9" * 5000, None),
        (search_words, "  Dandong   Tumen ", "Dandong Tumen"),
        (search_words, "강제 북송", "강제 북송"),
        (search_words, "   ", None),
        (search_words, "a " * 11, None),
        (search_words, "x" * 201, None),
        (parse_timezone, "Asia/Seoul", "Asia/Seoul"),
        (parse_timezone, "asia/SEOUL", "Asia/Seoul"),
        (parse_timezone, "Seoul", None),
        (parse_timezone, "../zoneinfo/UTC", None),
    ],
)
def test_argument_rules(function: Callable[[str], object], word: str, expected: object) -> None:
    if expected is None:
        with pytest.raises(InputError):
            function(word)
    else:
        assert function(word) == expected


def _state(errors: int = 0, *, disabled: bool = False, success: bool = True) -> FeedState:
    return FeedState(
        name="Wire", url="https://wire.example.com/feed", etag=None, last_modified=None, body_hash=None,
        next_check_at=NOV_6, error_count=errors, last_error="timeout" if errors else None,
        last_error_at=NOV_6 if errors else None, last_success_at=NOV_6 if success else None,
        disabled=disabled, disabled_reason="http-410: gone" if disabled else None, malformed=None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("state", "label", "healthy"),
    [
        (None, "new", True),
        (_state(success=False), "new", True),
        (_state(), "ok", True),
        (_state(1), "retrying", False),
        (_state(FAILING_AFTER), "failing", False),
        (_state(disabled=True), "disabled", False),
    ],
)
def test_feed_health(state: FeedState | None, label: str, healthy: bool) -> None:
    feed = Feed(name="Wire", url="https://wire.example.com/feed", language="en", interval_seconds=600, outlet="Wire")
    health = feed_health(feed, state)
    assert (health.state, health.healthy) == (label, healthy)


def test_last_poll_is_the_latest_fetch_good_or_bad() -> None:
    later = replace(_state(2), last_error_at=NOV_6 + dtm.timedelta(hours=1))
    assert last_poll([_state(), later]) == NOV_6 + dtm.timedelta(hours=1)
    assert last_poll([]) is None


@pytest.mark.parametrize(
    ("api", "files"),
    [
        ("https://api.telegram.org/bot", "https://api.telegram.org/file/bot"),
        ("http://127.0.0.1:8081/bot/", "http://127.0.0.1:8081/file/bot"),
        ("https://botapi.example.org", "https://botapi.example.org/file/bot"),
    ],
)
def test_file_url_sits_beside_the_api_url(api: str, files: str) -> None:
    assert file_url(api) == files


def test_redact_hides_the_token_and_its_secret_half() -> None:
    token = "7000000001:AAH-secret_part_of_the_token_0123456789"
    text = f"POST https://api.telegram.org/bot{token}/getMe and AAH-secret_part_of_the_token_0123456789 again"
    assert redact(text, token) == "POST https://api.telegram.org/bot<token>/getMe and <token> again"
