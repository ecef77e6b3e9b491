"""A database that had stories before migration 0008 (stored analyses and story state) keeps working after it.

The stories are made by the pipeline, the schema is taken down to 0007 (dropping every analysis and state)
and up again, as an operator's upgrade from the previous release does. Then a source's title still finds
its story, and a new report of the same event joins the old story: its state is rebuilt from its members,
whose analyses are made again, once, when first needed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from alembic import command

from bot.config import load_config
from bot.domain import Feed, Item
from bot.ingest.match import compile_topics
from bot.pipeline import ingest_items, place_stories, story_rules
from bot.storage.db import Database
from bot.stories.facts import load_gazetteer
from bot.stories.merge import split_story
from tests.test_linkless import REPO
from tests.test_storage import alembic_config

T0 = datetime(2023, 10, 12, 9, 0, tzinfo=UTC)
FEED = Feed(name="Wire", url="https://wire.example.com/feed.xml", language="en", interval_seconds=600,
            outlet="Wire")


def report(n: int, title: str, text: str, published: datetime) -> Item:
    link = f"https://wire.example.com/{n}"
    return Item(feed=FEED.name, outlet=FEED.outlet, guid=link, link=link, title=title, summary=text, content="",
                language="en", published=published, fetched=published)


def test_stories_made_before_0008_are_found_and_joined_after_it(database: Database, database_url: str) -> None:
    config = load_config(REPO / "feeds.yaml")
    rules = story_rules(config, load_gazetteer())
    topics = compile_topics(config.topics)
    first = report(1, "China forcibly returns some 500 North Koreans through Tumen and Dandong",
                   "Rights groups said Chinese police sent about 500 North Koreans back across the border on "
                   "9 October, most of them women.", T0)
    with database.unit_of_work() as uow:
        uow.feeds.sync([FEED], T0)
        ingest_items(uow, [first], FEED, topics, config, rules, T0)
        place_stories(uow, rules, T0)
        (story_id,) = uow.stories.all_ids()
    database.dispose()

    command.downgrade(alembic_config(database_url), "0007")
    command.upgrade(alembic_config(database_url), "head")
    database.check_schema()

    with database.unit_of_work() as uow:
        assert [s.id for s in uow.stories.search("tumen", None, 5)] == [story_id]
        assert uow.analyses.get_many([1])[1].version == ""  # kept as a title only: stale
    later = report(2, "About 500 North Koreans were sent back by China in one night, groups say",
                   "Chinese police forcibly returned some 500 North Koreans through Tumen and Dandong on "
                   "9 October, rights groups said.", T0 + timedelta(hours=6))
    with database.unit_of_work() as uow:
        ingest_items(uow, [later], FEED, topics, config, rules, T0 + timedelta(hours=6))
        step = place_stories(uow, rules, T0 + timedelta(hours=6))
    assert step.placed == {2: story_id} and step.created == ()
    with database.unit_of_work() as uow:
        assert uow.stories.get(story_id).facts.outlets == 1
        assert [s.title for s in uow.stories.get(story_id).sources] == [first.title, later.title]
        assert uow.analyses.get_many([1])[1].version == rules.version  # made again when it was needed


def test_a_report_with_a_stale_analysis_can_be_split_out(database: Database) -> None:
    config = load_config(REPO / "feeds.yaml")
    rules = story_rules(config, load_gazetteer())
    topics = compile_topics(config.topics)
    reports = [
        report(1, "China forcibly returns some 500 North Koreans through Tumen and Dandong",
               "Rights groups said about 500 North Koreans were sent back on 9 October.", T0),
        report(2, "About 500 North Koreans sent back by China through Tumen, groups say",
               "Chinese police returned some 500 North Koreans on 9 October, rights groups said.",
               T0 + timedelta(hours=3)),
    ]
    with database.unit_of_work() as uow:
        uow.feeds.sync([FEED], T0)
        ingest_items(uow, reports, FEED, topics, config, rules, T0 + timedelta(hours=3))
        (story_id,) = set(place_stories(uow, rules, T0 + timedelta(hours=3)).placed.values())
        # As after a gazetteer or model change: the stored analysis was made by another version.
        stale = uow.analyses.get_many([2])[2]
        uow.analyses.replace(2, reports[1].title, replace(stale, version="older"))
    with database.unit_of_work() as uow:
        new_id = split_story(uow, rules, story_id, "2", T0 + timedelta(hours=4))
    with database.unit_of_work() as uow:
        assert [s.title for s in uow.stories.get(new_id).sources] == [reports[1].title]
        assert [s.title for s in uow.stories.get(story_id).sources] == [reports[0].title]
        assert uow.analyses.get_many([2])[2].version == rules.version
        assert uow.stories.apart([story_id])[story_id] == frozenset({new_id})
