"""Admins correct the story step in Telegram: /merge joins two stories, /split moves a report out.

Played through python-telegram-bot and the fake Bot API server, over stories made by the real pipeline from
local feeds: a subscriber's alerts already sent are edited (the kept story shows both, the merged one becomes
a pointer to it), /story of the old id shows the merged story, and only operators may correct.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.stories.facts import Gazetteer
from tests.support.fake_telegram import Chat, FakeTelegram, User
from tests.test_commands import (  # noqa: F401  (fixtures, found by pytest by name)
    HOSTILE_TITLE,
    URGENT_TITLE,
    Newsroom,
    Session,
    errors,
    gazetteer,
    live_message,
    newsroom,
    no_errors,
    run_bot,
)
from tests.test_languages import deliver
from tests.test_pipeline import poll

OPERATOR = 900
# Sent alerts are edited at most this often (Deliverer's edit interval is shorter): the tests' clock moves.
EDITS_WAIT = timedelta(hours=1)


def story_ids(room: Newsroom) -> dict[str, int]:
    """The story each headline is in now (merged ones resolved)."""
    with room.db.unit_of_work() as uow:
        return {source.title: story.id for story in uow.stories.recent(50) for source in story.sources}


def people(server: FakeTelegram) -> tuple[User, Chat, User, Chat]:
    """Alice, a subscriber, and the bot's operator, each in a private chat with the bot."""
    alice, boss = server.user(101, "Alice"), server.user(OPERATOR, "Operator")
    return alice, server.private_chat(alice), boss, server.private_chat(boss)


async def subscribed_then_polled(bot: Session, room: Newsroom, gazetteer: Gazetteer, dm: Chat, alice: User) -> None:
    """Alice follows the topic, then the newsroom's feeds are polled: two stories, not yet delivered."""
    await bot.one(dm, alice, "/subscribe nk-repatriation")
    await asyncio.to_thread(poll, room.config_ref.current, room.db, room.clock, gazetteer)


def test_an_operator_merges_two_stories_and_the_alerts_already_sent_are_edited(
    fake_telegram: FakeTelegram, newsroom: Newsroom, gazetteer: Gazetteer, errors: pytest.LogCaptureFixture
) -> None:
    alice, dm, boss, office = people(fake_telegram)

    async def scenario(bot: Session) -> None:
        await subscribed_then_polled(bot, newsroom, gazetteer, dm, alice)
        await asyncio.to_thread(deliver, fake_telegram, newsroom)
        stories = story_ids(newsroom)
        dandong, un = stories[URGENT_TITLE], stories[HOSTILE_TITLE]
        assert dandong != un
        alerts = {call.result["message_id"]: call.params["text"] for call in fake_telegram.sent(dm.id)[1:]}
        assert len(alerts) == 2  # one alert per story
        newer = max(dandong, un)
        newer_message = next(m for m, text in alerts.items() if f"/story_{newer}" in text)

        refused = await bot.one(dm, alice, f"/merge {dandong} {un}")
        assert refused.text == "Sorry, /merge is only for the operators of this bot."
        usage = await bot.one(office, boss, "/merge 12")
        assert usage.text.startswith("Usage: /merge A B")
        missing = await bot.one(office, boss, f"/merge {dandong} 999")
        assert missing.text == "There is no story 999."

        done = await bot.one(office, boss, f"/merge {un} {dandong}")
        kept = min(dandong, un)
        assert done.text == (f"Stories #{un} and #{dandong} are now one story, #{kept}; alerts already sent "
                             "are edited.")
        newsroom.clock.now += EDITS_WAIT
        await asyncio.to_thread(deliver, fake_telegram, newsroom)
        assert len(fake_telegram.sent(dm.id)) == 1 + 2 + 1  # no new alert: only the /merge refusal was added
        pointer = live_message(bot, dm, newer_message)
        assert pointer.text == f"🔗 Now part of story /story_{kept}"
        assert story_ids(newsroom) == {title: kept for title in story_ids(newsroom)}

        shown = await bot.ask(dm, alice, f"/story {newer}", replies=2)
        assert shown[0].text == f"Story #{newer} is now part of story #{kept}."
        assert URGENT_TITLE in shown[1].text

        again = await bot.one(office, boss, f"/merge {newer} {kept}")
        assert again.text == f"Stories {newer} and {kept} are already one story (#{kept})."

    run_bot(fake_telegram, newsroom, scenario, admins=frozenset({OPERATOR}))
    no_errors(fake_telegram, errors)


def test_an_operator_splits_a_report_out_and_a_later_poll_keeps_them_apart(
    fake_telegram: FakeTelegram, newsroom: Newsroom, gazetteer: Gazetteer, errors: pytest.LogCaptureFixture
) -> None:
    alice, dm, boss, office = people(fake_telegram)

    async def scenario(bot: Session) -> None:
        await subscribed_then_polled(bot, newsroom, gazetteer, dm, alice)
        stories = story_ids(newsroom)
        dandong, un = stories[URGENT_TITLE], stories[HOSTILE_TITLE]
        merged = await bot.one(office, boss, f"/merge {dandong} {un}")
        kept = min(dandong, un)
        assert merged.text.startswith(f"Stories #{dandong} and #{un} are now one story, #{kept}")
        await asyncio.to_thread(deliver, fake_telegram, newsroom)
        before = len(fake_telegram.sent(dm.id))

        with newsroom.db.unit_of_work() as uow:
            sources = [s.title for s in uow.stories.get(kept).sources]
        position = sources.index(HOSTILE_TITLE) + 1
        wrong = await bot.one(office, boss, f"/split {kept} {len(sources) + 5}")
        assert wrong.text.startswith(f"Story {kept} has no source {len(sources) + 5}.")
        done = await bot.one(office, boss, f"/split {kept} {position}")
        after = story_ids(newsroom)
        new = after[HOSTILE_TITLE]
        assert new not in (dandong, un) and after[URGENT_TITLE] == kept
        assert done.text == (f"Moved out of story #{kept} into its own story #{new}; the two are kept apart "
                             "from now on.")
        newsroom.clock.now += EDITS_WAIT
        await asyncio.to_thread(deliver, fake_telegram, newsroom)
        # The report now alone is a story of its own: its alert is a new message; the other is edited.
        added = fake_telegram.sent(dm.id)[before:]
        assert [HOSTILE_TITLE.split("<")[0].strip() in c.params["text"] or "UN expert" in c.params["text"]
                for c in added] == [True]

        # The same feeds polled again (a later cycle, nothing new): the correction holds.
        await asyncio.to_thread(poll, newsroom.config_ref.current, newsroom.db, newsroom.clock, gazetteer)
        assert story_ids(newsroom) == after
        with newsroom.db.unit_of_work() as uow:
            assert uow.stories.apart([kept])[kept] == frozenset({new})

    run_bot(fake_telegram, newsroom, scenario, admins=frozenset({OPERATOR}))
    no_errors(fake_telegram, errors)
