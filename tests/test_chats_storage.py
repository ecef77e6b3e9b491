"""Chats, subscriptions and heartbeats against a real database (SQLite, or PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import Chat, ChatKind, ChatSettings, DeliveryMode, OutboxStatus, Urgency
from bot.storage.db import Database
from tests.test_outbox_storage import REPAT, make_story, subscribe

T0 = datetime(2023, 10, 9, 12, 0, tzinfo=UTC)
GROUP = -1001
SUPERGROUP = -1002003004005  # supergroup ids are beyond 32 bits
PRIVATE = 4242


def test_ensure_creates_once_and_refreshes_kind_and_title(database: Database) -> None:
    with database.unit_of_work() as uow:
        first = uow.chats.ensure(GROUP, ChatKind.GROUP, "Seoul volunteers", T0)
        again = uow.chats.ensure(GROUP, ChatKind.GROUP, "Seoul volunteers (new name)", T0 + timedelta(days=1))
    assert first == Chat(GROUP, ChatKind.GROUP, "Seoul volunteers", (), ChatSettings())
    assert again.title == "Seoul volunteers (new name)"
    with database.unit_of_work() as uow:
        assert uow.chats.get(GROUP) == again
        assert uow.chats.get(PRIVATE) is None
        assert len(uow.chats.all()) == 1


def test_subscribe_unsubscribe_and_reactivate(database: Database) -> None:
    t1, t2 = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    with database.unit_of_work() as uow:
        uow.chats.ensure(PRIVATE, ChatKind.PRIVATE, "Min-ji", T0)
        assert uow.chats.subscribe(PRIVATE, ["nk-repatriation", "detention", "nk-repatriation"], t1) == (
            "nk-repatriation",
            "detention",
        )
        assert uow.chats.subscribe(PRIVATE, ["detention", "camps"], t2) == ("camps",)
    with database.unit_of_work() as uow:
        chat = uow.chats.get(PRIVATE)
        assert chat is not None
        assert chat.topics == ("camps", "detention", "nk-repatriation")
        # The first subscription's time stays: it decides which stories the chat is owed.
        assert chat.subscribed_at == t1

        assert uow.chats.unsubscribe(PRIVATE, ["camps", "unknown"]) == ("camps",)
        assert uow.chats.unsubscribe(PRIVATE, ["camps"]) == ()
        assert uow.chats.unsubscribe(99999, ["camps"]) == ()
        uow.chats.deactivate(PRIVATE, "Forbidden: bot was blocked by the user", t2)
    with database.unit_of_work() as uow:
        blocked = uow.chats.get(PRIVATE)
        assert blocked is not None
        assert (blocked.active, blocked.inactive_reason) == (False, "Forbidden: bot was blocked by the user")
        assert uow.chats.subscribers(["detention"]) == []
        assert (uow.chats.count_active(), uow.chats.count_inactive()) == (0, 1)
        # Writing /subscribe again means the user unblocked the bot.
        assert uow.chats.subscribe(PRIVATE, ["detention"], t2 + timedelta(days=1)) == ()
    with database.unit_of_work() as uow:
        back = uow.chats.get(PRIVATE)
        assert back is not None
        assert (back.active, back.inactive_reason, back.subscribed_at) == (True, None, t1)
        assert back.topics == ("detention", "nk-repatriation")
        assert (uow.chats.count_active(), uow.chats.count_inactive()) == (1, 0)


def test_operations_on_an_unknown_chat_name_it(database: Database) -> None:
    with database.unit_of_work() as uow:
        for call in (
            lambda: uow.chats.subscribe(PRIVATE, ["camps"], T0),
            lambda: uow.chats.set_settings(PRIVATE, ChatSettings()),
            lambda: uow.chats.deactivate(PRIVATE, "gone", T0),
            lambda: uow.chats.move(PRIVATE, 5),
            lambda: uow.chats.mark_digest(PRIVATE, T0),
        ):
            with pytest.raises(KeyError, match=str(PRIVATE)):
                call()


def test_settings_round_trip_and_digest_chats(database: Database) -> None:
    digest = ChatSettings(
        mode=DeliveryMode.DIGEST, digest_hour=20, timezone="Asia/Seoul", urgent_only=True, quiet_start=23, quiet_end=7
    )
    with database.unit_of_work() as uow:
        for chat_id in (1, 2, 3, 4):
            uow.chats.ensure(chat_id, ChatKind.PRIVATE, f"user {chat_id}", T0)
        uow.chats.set_settings(1, digest)
        uow.chats.subscribe(1, ["camps"], T0)
        uow.chats.set_settings(2, digest)  # digest mode but no topic: nothing to digest
        uow.chats.set_settings(3, digest)
        uow.chats.subscribe(3, ["camps"], T0)
        uow.chats.deactivate(3, "kicked", T0)
        uow.chats.subscribe(4, ["camps"], T0)  # immediate
    with database.unit_of_work() as uow:
        (only,) = uow.chats.digest_chats()
        assert only.id == 1
        assert only.settings == digest
        uow.chats.mark_digest(1, T0 + timedelta(days=1))
    with database.unit_of_work() as uow:
        chat = uow.chats.get(1)
        assert chat is not None and chat.last_digest_at == T0 + timedelta(days=1)
        assert [c.id for c in uow.chats.subscribers(["camps"])] == [1, 4]
        assert [c.id for c in uow.chats.subscribers(["detention"])] == []
        assert uow.chats.subscribers([]) == []


def test_move_gives_the_chat_its_new_id_and_keeps_what_it_is_owed(database: Database) -> None:
    with database.unit_of_work() as uow:
        uow.chats.ensure(GROUP, ChatKind.GROUP, "Volunteers", T0)
        uow.chats.subscribe(GROUP, [REPAT], T0)
        story_id = make_story(uow, T0 + timedelta(hours=1))
        assert uow.outbox.enqueue(story_id, T0 + timedelta(hours=1)) == 1
    with database.unit_of_work() as uow:
        uow.chats.move(GROUP, SUPERGROUP)
    with database.unit_of_work() as uow:
        assert uow.chats.get(GROUP) is None
        moved = uow.chats.get(SUPERGROUP)
        assert moved is not None
        assert (moved.kind, moved.topics, moved.active, moved.subscribed_at) == (
            ChatKind.SUPERGROUP, (REPAT,), True, T0
        )
        (entry,) = uow.outbox.due(T0 + timedelta(hours=2), 10)
    # The pending alert now goes to the new id.
    assert (entry.chat_id, entry.status) == (SUPERGROUP, OutboxStatus.PENDING)


def test_move_onto_an_existing_chat_merges_topics_and_retires_the_old_one(database: Database) -> None:
    seoul = ChatSettings(timezone="Asia/Seoul", urgent_only=True)
    with database.unit_of_work() as uow:
        uow.chats.ensure(GROUP, ChatKind.GROUP, "Volunteers", T0)
        uow.chats.subscribe(GROUP, [REPAT, "camps"], T0)
        uow.chats.set_settings(GROUP, seoul)
        both = make_story(uow, T0 + timedelta(hours=1), urgency=Urgency.URGENT)
        uow.outbox.enqueue(both, T0 + timedelta(hours=1))
        # The supergroup wrote to the bot before the migration notice arrived.
        uow.chats.ensure(SUPERGROUP, ChatKind.SUPERGROUP, "Volunteers", T0 + timedelta(hours=2))
        only_old = make_story(uow, T0 + timedelta(hours=3), urgency=Urgency.URGENT)
        uow.outbox.enqueue(only_old, T0 + timedelta(hours=3))
    with database.unit_of_work() as uow:
        uow.chats.move(GROUP, SUPERGROUP)
    with database.unit_of_work() as uow:
        old = uow.chats.get(GROUP)
        new = uow.chats.get(SUPERGROUP)
        due = uow.outbox.due(T0 + timedelta(days=1), 10)
    assert old is not None and new is not None
    assert (old.active, old.inactive_reason) == (False, f"moved to {SUPERGROUP}")
    assert (new.active, new.topics, new.settings, new.subscribed_at) == (True, ("camps", REPAT), seoul, T0)
    assert sorted((e.story_id, e.chat_id) for e in due) == [(both, SUPERGROUP), (only_old, SUPERGROUP)]


def test_move_onto_a_chat_owed_the_same_story_fails_the_duplicate(database: Database) -> None:
    with database.unit_of_work() as uow:
        subscribe(uow, GROUP, [REPAT], T0)
        subscribe(uow, SUPERGROUP, [REPAT], T0)
        story_id = make_story(uow, T0 + timedelta(hours=1))
        assert uow.outbox.enqueue(story_id, T0 + timedelta(hours=1)) == 2
        uow.chats.move(GROUP, SUPERGROUP)
    with database.unit_of_work() as uow:
        (due,) = uow.outbox.due(T0 + timedelta(days=1), 10)
        (failed,) = uow.outbox.recent_failures(10)
    assert due.chat_id == SUPERGROUP
    assert (failed.chat_id, failed.last_error) == (GROUP, f"moved to {SUPERGROUP}")


def test_deactivate_fails_only_that_chats_pending_rows(database: Database) -> None:
    with database.unit_of_work() as uow:
        subscribe(uow, 1, [REPAT], T0)
        subscribe(uow, 2, [REPAT], T0)
        first = make_story(uow, T0 + timedelta(hours=1))
        second = make_story(uow, T0 + timedelta(hours=2))
        uow.outbox.enqueue(first, T0 + timedelta(hours=1))
        uow.outbox.enqueue(second, T0 + timedelta(hours=2))
        sent = next(e for e in uow.outbox.due(T0 + timedelta(hours=3), 10) if e.chat_id == 1 and e.story_id == first)
        uow.outbox.mark_sent(sent.id, 77, 1, Urgency.UPDATE, T0 + timedelta(hours=3))
        uow.chats.deactivate(1, "Forbidden: bot was kicked from the group chat", T0 + timedelta(hours=4))
    with database.unit_of_work() as uow:
        failures = uow.outbox.recent_failures(10)
        due = uow.outbox.due(T0 + timedelta(days=1), 10)
        assert uow.outbox.get(sent.id).status == OutboxStatus.SENT
        assert uow.outbox.counts() == {"pending": 2, "sent": 1, "failed": 1}
    assert [(e.chat_id, e.story_id, e.last_error) for e in failures] == [
        (1, second, "Forbidden: bot was kicked from the group chat")
    ]
    assert sorted(e.story_id for e in due) == [first, second]
    assert {e.chat_id for e in due} == {2}


def test_put_stores_a_chat_exactly_and_replaces_its_topics(database: Database) -> None:
    imported = Chat(
        id=SUPERGROUP, kind=ChatKind.CHANNEL, title="세이브 엔케이 채널 📢", topics=("camps", REPAT),
        settings=ChatSettings(mode=DeliveryMode.DIGEST, digest_hour=6, timezone="Asia/Seoul"),
        active=False, inactive_reason="chat not found", subscribed_at=T0, last_digest_at=T0 + timedelta(days=3),
    )
    with database.unit_of_work() as uow:
        uow.chats.put(imported)
    with database.unit_of_work() as uow:
        assert uow.chats.get(SUPERGROUP) == imported
        uow.chats.put(Chat(SUPERGROUP, ChatKind.CHANNEL, "renamed", ("detention",), ChatSettings()))
    with database.unit_of_work() as uow:
        assert uow.chats.get(SUPERGROUP) == Chat(
            SUPERGROUP, ChatKind.CHANNEL, "renamed", ("detention",), ChatSettings()
        )
        assert len(uow.chats.all()) == 1


def test_heartbeats(database: Database) -> None:
    with database.unit_of_work() as uow:
        assert uow.heartbeats.last("poll") is None
        uow.heartbeats.beat("poll", T0)
        uow.heartbeats.beat("poll", T0 + timedelta(minutes=10))
        uow.heartbeats.beat("delivery", T0 + timedelta(minutes=1))
    with database.unit_of_work() as uow:
        assert uow.heartbeats.last("poll") == T0 + timedelta(minutes=10)
        assert uow.heartbeats.last("delivery") == T0 + timedelta(minutes=1)
