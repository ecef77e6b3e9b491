"""The outbox and story queries for delivery against a real database (SQLite, or PostgreSQL with
TEST_DATABASE_URL), and the pipeline writing alert rows in the story's transaction."""

from __future__ import annotations

import importlib.resources
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text

from bot.domain import (
    Analysis,
    ChatKind,
    ChatSettings,
    DeliveryMode,
    Facts,
    Feed,
    Item,
    OutboxKind,
    OutboxStatus,
    StoryContent,
    Urgency,
)
from bot.storage import outbox
from bot.storage.db import Database
from bot.storage.stories import like_pattern
from bot.storage.unit_of_work import UnitOfWork
from bot.stories.facts import Gazetteer, load_gazetteer
from tests.support.feedserver import FeedServer
from tests.test_pipeline import DAILY_ITEMS, WIRE_ITEMS, Clock, make_config, poll, rss

T0 = datetime(2023, 10, 9, 12, 0, tzinfo=UTC)
REPAT = "nk-repatriation"
FEED = Feed(name="wire", url="https://wire.example.com/rss", language="en", interval_seconds=900, outlet="Wire")


def subscribe(
    uow: UnitOfWork, chat_id: int, topics: Sequence[str], at: datetime, settings: ChatSettings | None = None
) -> None:
    """A private chat subscribed to `topics` at `at`, with `settings` if given."""
    uow.chats.ensure(chat_id, ChatKind.PRIVATE, f"chat {chat_id}", at)
    uow.chats.subscribe(chat_id, topics, at)
    if settings is not None:
        uow.chats.set_settings(chat_id, settings)


def content(
    title: str = "China returns North Korean escapees",
    summary: str = "Police sent people back across the Tumen.",
    *,
    urgency: Urgency = Urgency.UPDATE,
    topics: Sequence[str] = (REPAT,),
    sources: int = 1,
) -> StoryContent:
    return StoryContent(
        title=title, summary=summary, facts=Facts(outlets=sources), urgency=urgency, topics=tuple(topics),
        actions=(), language="en", first_published=T0, last_published=T0, source_count=sources,
    )


def make_story(
    uow: UnitOfWork,
    created: datetime,
    *,
    urgency: Urgency = Urgency.UPDATE,
    topics: Sequence[str] = (REPAT,),
    title: str = "China returns North Korean escapees",
    summary: str = "Police sent people back across the Tumen.",
    source_titles: Sequence[str] = (),
    last_published: datetime | None = None,
) -> int:
    """A story stored at `created`, with one stored item per source title."""
    stored = content(title, summary, urgency=urgency, topics=topics)
    if last_published is not None:
        stored = replace(stored, last_published=last_published)
    story_id = uow.stories.create(stored, None, created)
    if source_titles:
        uow.feeds.sync([FEED], created)
    for title_ in source_titles:
        n = uow.items.count() + 1
        item = Item(
            feed=FEED.name, outlet=FEED.outlet, guid=f"g{n}", link=f"https://wire.example.com/{n}", title=title_,
            summary="", content="", language="en", published=created, fetched=created,
        )
        attach_source(uow, item, topics, story_id)
    return story_id


def attach_source(uow: UnitOfWork, item: Item, topics: Sequence[str], story_id: int) -> None:
    """Store `item` as a source of the story, with the analysis the story step stores for each source."""
    item_id = uow.items.add(item, title_key=item.title.lower(), topics=topics)
    analysis = Analysis(language=item.language, text=item.title, facts=Facts(), entities=frozenset(),
                        numbers=frozenset(), places=frozenset(), vector=b"", version="test")
    uow.analyses.add(item_id, item.title, analysis)
    uow.stories.attach(item_id, story_id)


def rise_to_urgent(uow: UnitOfWork, story_id: int, now: datetime) -> None:
    uow.stories.update(story_id, content(urgency=Urgency.URGENT, sources=2), None, now)


def alerts(uow: UnitOfWork, now: datetime) -> list[tuple[int, int, OutboxKind]]:
    """(story, chat, kind) of every row due at `now`."""
    return sorted((e.story_id, e.chat_id, e.kind) for e in uow.outbox.due(now, 100))


# --- enqueue ------------------------------------------------------------------------------------------


def test_enqueue_owes_the_story_to_matching_immediate_chats_once(database: Database) -> None:
    urgent_only = ChatSettings(urgent_only=True)
    digest = ChatSettings(mode=DeliveryMode.DIGEST)
    with database.unit_of_work() as uow:
        subscribe(uow, 1, [REPAT], T0)
        subscribe(uow, 2, ["camps"], T0)  # another topic
        subscribe(uow, 3, [REPAT], T0, urgent_only)
        subscribe(uow, 4, [REPAT], T0, digest)  # digests read stories, not the outbox
        subscribe(uow, 5, [REPAT, "camps"], T0)
        subscribe(uow, 6, [REPAT], T0)
        uow.chats.deactivate(6, "blocked", T0)
        subscribe(uow, 7, [REPAT], T0 + timedelta(hours=2))  # subscribed after the story
        subscribe(uow, 8, ["camps"], T0)
        uow.chats.subscribe(8, [REPAT], T0 + timedelta(hours=2))  # added this topic after the story
        story = make_story(uow, T0 + timedelta(hours=1))
        assert uow.outbox.enqueue(story, T0 + timedelta(hours=1)) == 2
    with database.unit_of_work() as uow:
        assert uow.outbox.enqueue(story, T0 + timedelta(hours=3)) == 0
        assert alerts(uow, T0 + timedelta(days=1)) == [(story, 1, OutboxKind.ALERT), (story, 5, OutboxKind.ALERT)]
        (entry,) = [e for e in uow.outbox.due(T0 + timedelta(days=1), 10) if e.chat_id == 1]
    assert (entry.status, entry.attempts, entry.next_attempt_at, entry.created_at) == (
        OutboxStatus.PENDING, 0, T0 + timedelta(hours=1), T0 + timedelta(hours=1)
    )
    assert (entry.message_id, entry.sent_at, entry.sent_revision, entry.sent_urgency) == (None, None, None, None)


def test_enqueue_in_several_statements_misses_no_chat(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbox, "INSERT_CHUNK", 2)
    with database.unit_of_work() as uow:
        for chat_id in range(1, 6):
            subscribe(uow, chat_id, [REPAT], T0)
        story = make_story(uow, T0)
        assert uow.outbox.enqueue(story, T0) == 5
        assert uow.outbox.enqueue(story, T0) == 0
        assert [chat for _, chat, _ in alerts(uow, T0)] == [1, 2, 3, 4, 5]


def test_an_urgent_story_reaches_urgent_only_chats_and_a_story_without_topics_nobody(database: Database) -> None:
    with database.unit_of_work() as uow:
        subscribe(uow, 3, [REPAT], T0, ChatSettings(urgent_only=True))
        urgent = make_story(uow, T0, urgency=Urgency.URGENT)
        loose = make_story(uow, T0, topics=())
        assert uow.outbox.enqueue(urgent, T0) == 1
        assert uow.outbox.enqueue(loose, T0) == 0
        with pytest.raises(KeyError, match="story 999"):
            uow.outbox.enqueue(999, T0)


def test_a_rise_in_urgency_after_the_alert_went_out_owes_one_followup(database: Database) -> None:
    t1, t2, t3 = (T0 + timedelta(hours=h) for h in (1, 2, 3))
    with database.unit_of_work() as uow:
        subscribe(uow, 1, [REPAT], T0)  # its alert goes out before the rise
        subscribe(uow, 2, [REPAT], T0)  # its alert is still pending at the rise: it will show the urgency
        subscribe(uow, 3, [REPAT], T0, ChatSettings(urgent_only=True))  # first hears of it when urgent
        story = make_story(uow, T0)
        uow.outbox.enqueue(story, T0)
        sent = next(e for e in uow.outbox.due(t1, 10) if e.chat_id == 1)
        uow.outbox.mark_sent(sent.id, 501, 1, Urgency.UPDATE, t1)
    with database.unit_of_work() as uow:
        rise_to_urgent(uow, story, t2)
        assert uow.outbox.enqueue(story, t2) == 2
        assert uow.outbox.enqueue(story, t3) == 0
        assert alerts(uow, t3) == [
            (story, 1, OutboxKind.FOLLOWUP), (story, 2, OutboxKind.ALERT), (story, 3, OutboxKind.ALERT)
        ]


# --- delivery bookkeeping -----------------------------------------------------------------------------


def test_due_orders_by_next_attempt_and_retries_wait(database: Database) -> None:
    with database.unit_of_work() as uow:
        subscribe(uow, 1, [REPAT], T0)
        first, second, third = (make_story(uow, T0) for _ in range(3))
        for minutes, story in ((0, first), (1, second), (2, third)):
            uow.outbox.enqueue(story, T0 + timedelta(minutes=minutes))
    with database.unit_of_work() as uow:
        assert [e.story_id for e in uow.outbox.due(T0 + timedelta(minutes=1), 10)] == [first, second]
        assert [e.story_id for e in uow.outbox.due(T0 + timedelta(minutes=5), 2)] == [first, second]
        head = uow.outbox.due(T0 + timedelta(minutes=5), 1)[0]
        uow.outbox.mark_retry(head.id, T0 + timedelta(minutes=10), "network: timed out")
        uow.outbox.mark_retry(head.id, T0 + timedelta(minutes=20), "http-502")
    with database.unit_of_work() as uow:
        assert [e.story_id for e in uow.outbox.due(T0 + timedelta(minutes=5), 10)] == [second, third]
        assert [e.story_id for e in uow.outbox.due(T0 + timedelta(minutes=30), 10)] == [second, third, first]
        retried = uow.outbox.get(head.id)
        assert uow.outbox.pending_count() == 3
        with pytest.raises(KeyError, match="outbox entry 999"):
            uow.outbox.get(999)
    assert (retried.status, retried.attempts, retried.last_error) == (OutboxStatus.PENDING, 2, "http-502")
    assert retried.next_attempt_at == T0 + timedelta(minutes=20)


def test_sent_and_failed_rows_leave_the_queue_with_their_record(database: Database) -> None:
    with database.unit_of_work() as uow:
        subscribe(uow, 1, [REPAT], T0)
        subscribe(uow, -1002003004005, [REPAT], T0)
        story = make_story(uow, T0)
        uow.outbox.enqueue(story, T0)
        private, channel = sorted(uow.outbox.due(T0, 10), key=lambda e: -e.chat_id)
        uow.outbox.mark_sent(private.id, 2**40, 1, Urgency.UPDATE, T0 + timedelta(seconds=3))
        uow.outbox.mark_failed(channel.id, "Bad Request: message is too long", T0 + timedelta(seconds=4))
    with database.unit_of_work() as uow:
        assert uow.outbox.due(T0 + timedelta(days=1), 10) == []
        assert (uow.outbox.pending_count(), uow.outbox.counts()) == (0, {"pending": 0, "sent": 1, "failed": 1})
        sent = uow.outbox.get(private.id)
        (failed,) = uow.outbox.recent_failures(5)
    assert (sent.status, sent.message_id, sent.sent_at, sent.sent_revision, sent.sent_urgency) == (
        OutboxStatus.SENT, 2**40, T0 + timedelta(seconds=3), 1, Urgency.UPDATE
    )
    assert (failed.chat_id, failed.status, failed.last_error) == (
        -1002003004005, OutboxStatus.FAILED, "Bad Request: message is too long"
    )


def test_postpone_chat_holds_only_that_chats_earlier_rows(database: Database) -> None:
    with database.unit_of_work() as uow:
        subscribe(uow, 1, [REPAT], T0)
        subscribe(uow, 2, [REPAT], T0)
        story = make_story(uow, T0)
        late = make_story(uow, T0)
        uow.outbox.enqueue(story, T0)
        uow.outbox.enqueue(late, T0 + timedelta(minutes=5))
        uow.outbox.postpone_chat(1, T0 + timedelta(seconds=30))
        # Telegram said 30 s: rows already due later keep their time.
    with database.unit_of_work() as uow:
        assert alerts(uow, T0 + timedelta(seconds=10)) == [(story, 2, OutboxKind.ALERT)]
        assert alerts(uow, T0 + timedelta(seconds=30)) == [(story, 1, OutboxKind.ALERT), (story, 2, OutboxKind.ALERT)]
        times = sorted((e.chat_id, e.next_attempt_at) for e in uow.outbox.due(T0 + timedelta(hours=1), 10))
    assert times == [
        (1, T0 + timedelta(seconds=30)), (1, T0 + timedelta(minutes=5)), (2, T0), (2, T0 + timedelta(minutes=5))
    ]


def test_edits_due_waits_for_a_new_revision_and_the_interval(database: Database) -> None:
    interval = timedelta(minutes=3)
    t1 = T0 + timedelta(minutes=1)
    with database.unit_of_work() as uow:
        subscribe(uow, 1, [REPAT], T0)
        subscribe(uow, 2, [REPAT], T0)
        story = make_story(uow, T0)
        uow.outbox.enqueue(story, T0)
        for entry in uow.outbox.due(T0, 10):
            uow.outbox.mark_sent(entry.id, 100 + entry.chat_id, 1, Urgency.UPDATE, t1)
        assert uow.outbox.edits_due(T0 + timedelta(hours=1), interval, 10) == []  # nothing new to show
        # A second outlet joins: revision 2.
        uow.stories.update(story, content(sources=2), None, T0 + timedelta(minutes=2))
        assert uow.outbox.edits_due(t1 + timedelta(minutes=2), interval, 10) == []  # sent too recently
        due = uow.outbox.edits_due(t1 + interval, interval, 10)
        assert [(e.chat_id, e.message_id, e.sent_revision) for e in due] == [(1, 101, 1), (2, 102, 1)]
        assert len(uow.outbox.edits_due(t1 + interval, interval, 1)) == 1
        uow.outbox.mark_edited(due[0].id, 2, t1 + interval)
        uow.chats.deactivate(2, "blocked", t1 + interval)
    with database.unit_of_work() as uow:
        assert uow.outbox.edits_due(T0 + timedelta(hours=1), interval, 10) == []
        edited = uow.outbox.get(due[0].id)
        # A third outlet: the edited message waits its interval from the edit, not from the send.
        uow.stories.update(story, content(sources=3), None, t1 + interval)
        assert uow.outbox.edits_due(t1 + interval + timedelta(minutes=1), interval, 10) == []
        assert [e.id for e in uow.outbox.edits_due(t1 + 2 * interval, interval, 10)] == [edited.id]
    assert (edited.sent_revision, edited.edited_at, edited.status) == (2, t1 + interval, OutboxStatus.SENT)


# --- story queries ------------------------------------------------------------------------------------


@pytest.fixture
def searchable(database: Database) -> dict[str, int]:
    with database.unit_of_work() as uow:
        ids = {
            "en": make_story(
                uow, T0, title="China deports 600 North Koreans", summary="Women were among those sent back.",
                source_titles=["Rights group: escapees returned via Tumen"], last_published=T0,
            ),
            "ko": make_story(
                uow, T0, title="중국, 탈북민 600여 명 강제북송", summary="투먼과 단둥을 통해 북송했다.",
                last_published=T0 + timedelta(hours=1),
            ),
            "zh": make_story(
                uow, T0, title="中国强制遣返脱北者", summary="约六百人在图们被遣返。", topics=("camps",),
                last_published=T0 + timedelta(hours=2),
            ),
            "odd": make_story(
                uow, T0, title="100% confirmed: camp_7 report", summary="A path C:\\camps was cited.",
                last_published=T0 + timedelta(hours=3),
            ),
            "later": make_story(
                uow, T0, title="Ｎｏｒｔｈ Korean women deported again", summary="Another group sent back.",
                last_published=T0 + timedelta(hours=4),
            ),
        }
    return ids


@pytest.mark.parametrize(
    ("words", "topics", "expected"),
    [
        pytest.param("north korean", None, ["later", "en"], id="every-word-newest-first"),
        pytest.param("DEPORTS women", None, ["en"], id="case-and-words-across-title-and-summary"),
        pytest.param("tumen escapees", None, ["en"], id="source-title"),
        pytest.param("north korea missile", None, [], id="one-word-missing"),
        pytest.param("강제북송", None, ["ko"], id="korean"),
        pytest.param("북송 단둥", None, ["ko"], id="korean-two-words"),
        pytest.param("遣返", None, ["zh"], id="chinese"),
        pytest.param("遣返", [REPAT], [], id="chinese-other-topic"),
        pytest.param("North", [REPAT], ["later", "en"], id="topic-filter"),
        pytest.param("ｎｏｒｔｈ", None, ["later", "en"], id="full-width-query"),
        pytest.param("100%", None, ["odd"], id="percent-is-literal"),
        pytest.param("0%", None, ["odd"], id="percent-inside"),
        pytest.param("1%0", None, [], id="percent-is-no-wildcard"),
        pytest.param("%", None, ["odd"], id="lone-percent"),
        pytest.param("camp_7", None, ["odd"], id="underscore-is-literal"),
        pytest.param("p_7", None, ["odd"], id="underscore-matches-itself"),
        pytest.param("camp_", None, ["odd"], id="trailing-underscore"),
        pytest.param("c__", None, [], id="underscores-match-no-letters"),
        pytest.param("c:\\camps", None, ["odd"], id="backslash"),
        pytest.param("\\", None, ["odd"], id="lone-backslash"),
        pytest.param("   ", None, [], id="blank"),
    ],
)
def test_search(
    database: Database, searchable: dict[str, int], words: str, topics: list[str] | None, expected: list[str]
) -> None:
    with database.unit_of_work() as uow:
        found = uow.stories.search(words, topics, 10)
    names = {v: k for k, v in searchable.items()}
    assert [names[s.id] for s in found] == expected


def test_search_follows_new_sources_and_limits(database: Database, searchable: dict[str, int]) -> None:
    with database.unit_of_work() as uow:
        assert uow.stories.search("Dandong", None, 10) == []
        uow.feeds.sync([FEED], T0)
        item = Item(
            feed=FEED.name, outlet=FEED.outlet, guid="late", link="https://wire.example.com/late",
            title="Dandong crossing used too", summary="", content="", language="en", published=T0, fetched=T0,
        )
        attach_source(uow, item, [REPAT], searchable["en"])
        assert [s.id for s in uow.stories.search("dandong", None, 10)] == [searchable["en"]]
        assert len(uow.stories.search("e", None, 2)) == 2
        assert uow.stories.search("north", None, 0) == []


@pytest.mark.parametrize(
    ("word", "pattern"),
    [("abc", "%abc%"), ("100%", "%100\\%%"), ("a_b", "%a\\_b%"), ("c:\\x", "%c:\\\\x%"), ("북송", "%북송%")],
)
def test_like_pattern(word: str, pattern: str) -> None:
    assert like_pattern(word) == pattern


def test_since_and_latest_urgent(database: Database) -> None:
    with database.unit_of_work() as uow:
        old = make_story(uow, T0, urgency=Urgency.URGENT)
        new_update = make_story(uow, T0 + timedelta(hours=2))
        new_urgent = make_story(uow, T0 + timedelta(hours=3), urgency=Urgency.URGENT, last_published=T0)
        other = make_story(uow, T0 + timedelta(hours=4), urgency=Urgency.URGENT, topics=("camps",))
        assert uow.stories.created_at(new_update) == T0 + timedelta(hours=2)
        with pytest.raises(KeyError, match="story 999"):
            uow.stories.created_at(999)
    with database.unit_of_work() as uow:
        since = T0 + timedelta(hours=2)
        assert [s.id for s in uow.stories.since(since, [REPAT], urgent_only=False)] == [new_urgent]
        assert [s.id for s in uow.stories.since(T0, [REPAT], urgent_only=False)] == [new_urgent, new_update]
        assert [s.id for s in uow.stories.since(T0, None, urgent_only=True)] == [other, new_urgent]
        assert [s.id for s in uow.stories.since(T0 - timedelta(1), [REPAT], urgent_only=True)] == [new_urgent, old]
        assert [s.id for s in uow.stories.latest_urgent([REPAT], 10)] == [new_urgent, old]
        assert [s.id for s in uow.stories.latest_urgent([REPAT, "camps"], 1)] == [other]
        assert uow.stories.latest_urgent(["detention"], 10) == []


def test_upgrading_a_database_with_stories_makes_them_searchable(database_url: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(importlib.resources.files("bot.migrations")))
    config.set_main_option("sqlalchemy.url", database_url)
    command.upgrade(config, "0002")
    db = Database(database_url)
    try:
        with db.unit_of_work() as uow:
            uow.session.execute(
                text(
                    "INSERT INTO stories (id, title, summary, urgency, topics, facts, actions, language, "
                    "first_published, last_published, source_count, revision, profile, created_at, updated_at) "
                    "VALUES (7, 'Mass return', '국경에서 북송', 'urgent', '[]', '{}', '[]', 'ko', "
                    ":t, :t, 1, 1, '{}', :t, :t)"
                ),
                {"t": T0},
            )
            # SQL, not uow.feeds.sync: the models know columns that revision 0002 does not have yet.
            uow.session.execute(
                text(
                    "INSERT INTO feeds (name, config_url, url, next_check_at, error_count, disabled, created_at, "
                    "updated_at) VALUES (:name, :url, :url, :t, 0, false, :t, :t)"
                ),
                {"name": FEED.name, "url": FEED.url, "t": T0},
            )
            item = Item(
                feed=FEED.name, outlet=FEED.outlet, guid="old", link="https://wire.example.com/old",
                title="Tumen Crossing", summary="", content="", language="en", published=T0, fetched=T0,
            )
            item_id = uow.items.add(item, title_key="x", topics=[REPAT])
            uow.session.execute(text("UPDATE items SET story_id = 7 WHERE id = :id"), {"id": item_id})
        db.upgrade()
        with db.unit_of_work() as uow:
            assert [s.id for s in uow.stories.search("북송 tumen", None, 5)] == [7]
            assert [s.id for s in uow.stories.search("MASS crossing", None, 5)] == [7]
    finally:
        db.dispose()


# --- the pipeline writes the outbox -------------------------------------------------------------------


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return load_gazetteer()


def test_a_poll_owes_each_subscriber_one_alert_and_another_outlet_adds_none(
    feed_server: FeedServer, database: Database, gazetteer: Gazetteer
) -> None:
    start = datetime(2023, 10, 13, 12, 0, tzinfo=UTC)
    with database.unit_of_work() as uow:
        subscribe(uow, 1, [REPAT], start - timedelta(days=1))
        subscribe(uow, -100, [REPAT], start - timedelta(days=1))
        subscribe(uow, 2, ["camps"], start - timedelta(days=1))
    feed_server.add("/wire.xml", body=rss("Wire", WIRE_ITEMS))
    clock = Clock(start)
    poll(make_config(feed_server, {"Wire": "/wire.xml"}), database, clock, gazetteer)
    with database.unit_of_work() as uow:
        (story,) = uow.stories.recent(10)
        assert alerts(uow, clock.now) == [(story.id, -100, OutboxKind.ALERT), (story.id, 1, OutboxKind.ALERT)]

    # The Korean daily reports the same event: the story changes, no one is owed a second alert.
    feed_server.add("/daily.xml", body=rss("Daily", DAILY_ITEMS))
    clock.now += timedelta(minutes=11)
    poll(make_config(feed_server, {"Wire": "/wire.xml", "Daily": "/daily.xml"}), database, clock, gazetteer)
    with database.unit_of_work() as uow:
        (joined,) = uow.stories.recent(10)
        assert (joined.id, joined.facts.outlets) == (story.id, 2)
        assert uow.outbox.counts() == {"pending": 2, "sent": 0, "failed": 0}
        assert [s.id for s in uow.stories.search("북송", None, 5)] == [story.id]
