"""The labeled fixture feeds through `advocacy-bot replay`: the headline promises of bench/story_quality.py.

What a subscriber relies on today: the 9 October 2023 mass return (E1), told by five outlets in three
languages, is one story with the right facts, a clean summary, a few actions and urgent status; no
unrelated report joins it; reports are rarely merged wrongly, and one event's reports rarely split. The
one pair still split (N-deport-us: two English reports sharing words but no name, count or date) stays
apart on purpose: in doubt, do not merge.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bot.text.clutter import has_clutter

BENCH = Path(__file__).resolve().parent.parent / "bench" / "story_quality.py"


def _load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_story_quality", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the class body is built.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


sq = _load_bench()


@pytest.fixture(scope="module")
def quality() -> Any:
    """One in-process replay of tests/fixtures/stories with the repository's feeds.yaml, measured."""
    return sq.evaluate(sq.DEFAULT_FOLDER, sq.DEFAULT_CONFIG)


@pytest.fixture(scope="module")
def e1(quality: Any) -> Any:
    story = quality.story_of("E1")
    assert story is not None, "E1 became no single story"
    return story


def test_every_labeled_item_was_replayed_and_every_stored_item_is_labeled(quality: Any) -> None:
    assert quality.replay.errors == ()
    assert quality.unseen == ()
    assert quality.unlabeled == ()


def test_e1_is_one_story_carried_by_five_outlets(quality: Any, e1: Any) -> None:
    items = quality.items_of("E1")
    assert len(items) == 6
    assert {i.story for i in items} == {e1.id}
    assert e1.outlets == 5
    assert set(e1.source_links) == {i.link for i in items}


def test_e1_facts(e1: Any) -> None:
    assert (e1.count_low, e1.count_high) == (500, 600)
    assert {"Tumen", "Dandong", "Onsong", "Sinuiju"} <= set(e1.places)
    assert "2023-10-09" in e1.dates
    assert "TJWG" in e1.reporters


def test_e1_alert_content(e1: Any) -> None:
    assert e1.urgency == "urgent"
    assert e1.summary.strip()
    assert not has_clutter(e1.summary), e1.summary
    assert 1 <= len(e1.actions) <= 3


def test_no_other_report_joins_e1(quality: Any, e1: Any) -> None:
    intruders = [
        (quality.event_of(i), i.title) for i in quality.stored if i.story == e1.id and quality.event_of(i) != "E1"
    ]
    assert intruders == []


def test_near_miss_reports_raise_no_alert_on_e1_places_or_words(quality: Any) -> None:
    # The missile launch, the Dandong freight trains and the war remains share E1's words and places.
    for event in ("N-missile", "N-dandong-trade", "N-remains-chinese", "N-remains-korean", "N-diplomat"):
        items = quality.items_of(event)
        assert items, event
        assert all(sq.TOPIC not in i.topics and i.story is None for i in items), event


def test_pairwise_precision_meets_its_target(quality: Any) -> None:
    assert quality.pairs.precision >= sq.TARGET_PRECISION, quality.pairs.wrong_merges
    assert quality.pairs.wrong_merges == ()


# Known miss, kept visible: the families' plea three days after the appeal (E2) scores below every tier once
# the quiet-story penalty (0.15 a day) is taken off; removing the penalty merged same-week events on the
# realistic fixtures and UCI (bench/story_public.py). strict: this fails loudly the day it passes.
E2_MISS = "E2's families' plea three days later stays a story of its own (quiet-story penalty; see README)"


@pytest.mark.xfail(reason=E2_MISS, strict=True)
def test_pairwise_recall_meets_its_target(quality: Any) -> None:
    assert quality.pairs.recall >= sq.TARGET_RECALL, quality.pairs.missed_merges


@pytest.mark.parametrize(
    "event",
    [
        # the appeal, the Korean report and the families' plea three days later
        pytest.param("E2", marks=pytest.mark.xfail(reason=E2_MISS, strict=True)),
        "N-fishermen",  # one ministry, two men, one day, told in Korean and in English
    ],
)
def test_an_event_told_in_two_languages_and_days_apart_is_one_story(quality: Any, event: str) -> None:
    items = [i for i in quality.items_of(event) if i.story is not None]
    assert any(re.search("[\uac00-\ud7a3]", i.title) for i in items)  # one report is in Korean
    assert any(not re.search("[\uac00-\ud7a3]", i.title) for i in items)
    assert len({i.story for i in items}) == 1, [(i.title, i.story) for i in items]


# --- the story step's analyses -------------------------------------------------------------------------------


# --- the measures themselves, on hand-made inputs ----------------------------------------------------------


@pytest.mark.parametrize(
    ("members", "tp", "fp", "fn"),
    [
        pytest.param([], 0, 0, 0, id="empty"),
        pytest.param([("a", "E1", 1)], 0, 0, 0, id="single item"),
        pytest.param([("a", "E1", 1), ("b", "E1", 1), ("c", "E1", 1)], 3, 0, 0, id="one event one story"),
        pytest.param([("a", "E1", 1), ("b", "E1", 2)], 0, 0, 1, id="split event"),
        pytest.param([("a", "E1", 1), ("b", "E2", 1)], 0, 1, 0, id="wrong merge"),
        pytest.param([("a", "E1", 1), ("b", "E1", 1), ("c", "E2", 1), ("d", "E2", 2)], 1, 2, 1, id="mixed"),
    ],
)
def test_pair_score_counts(members: Sequence[tuple[str, str, int]], tp: int, fp: int, fn: int) -> None:
    score = sq.pair_score(members)
    assert (score.tp, score.fp, score.fn) == (tp, fp, fn)
    assert len(score.wrong_merges) == fp
    assert len(score.missed_merges) == fn


@pytest.mark.parametrize(
    ("stories", "expected"),
    [
        pytest.param([1, 1, 1], (1, 3, 3), id="all in one"),
        pytest.param([1, 1, 2], (1, 2, 3), id="majority"),
        pytest.param([1, 2], None, id="even split has no main story"),
        pytest.param([3, None, None], (3, 1, 1), id="items without a story do not count"),
    ],
)
def test_main_story_needs_a_majority(stories: Sequence[int | None], expected: tuple[int, int, int] | None) -> None:
    items = [
        sq.ReplayItem(feed="f", title=f"t{n}", link=f"https://x.test/{n}", published="", topics=(),
                      duplicate_of=None, story=story)
        for n, story in enumerate(stories)
    ]
    labels = sq.Labels(events={}, items={i.link: "E" for i in items})
    assert sq.main_stories(items, labels).get("E") == expected
