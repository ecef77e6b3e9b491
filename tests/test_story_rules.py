"""The story step's decision (bot.stories.assign) and what the vector reads (bot.stories.analyse).

Reports here carry vectors made to a chosen cosine similarity, so each rule is tested at the similarities
it is about; the production model is used only where the text itself matters.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from bot.domain import Analysis, Facts, Item
from bot.stories.analyse import analyse, clean_text
from bot.stories.assign import OpenStory, Report, Thresholds
from bot.stories.facts import load_gazetteer
from bot.stories.place import place
from bot.stories.similarity import DIMENSIONS, Vector, shared_embedder, to_bytes

WINDOW = timedelta(days=4)
FOLLOWUP = timedelta(days=45)
T0 = datetime(2024, 4, 29, 7, 0, tzinfo=UTC)
# Thresholds pinned for these tests, so they test the rules and not the tuned values.
RULES = Thresholds(
    join=0.6, anchored=0.45, pinned=0.3, placed=0.4, merge=0.85, cross=0.1, quiet=0.1, clear=0.57, margin=0.06
)


def _axis(n: int) -> Vector:
    v = np.zeros(DIMENSIONS, dtype=np.float32)
    v[n] = 1.0
    return v


def _at(similarity: float, other_axis: int = 1) -> Vector:
    """A unit vector whose cosine with axis 0 is `similarity`."""
    return (similarity * _axis(0) + math.sqrt(1 - similarity**2) * _axis(other_axis)).astype(np.float32)


def _report(
    item_id: int,
    vector: Vector,
    *,
    hours: float = 0.0,
    language: str = "en",
    count: int | None = None,
    places: frozenset[str] = frozenset(),
    dates: tuple[str, ...] = (),
    names: frozenset[str] = frozenset(),
) -> Report:
    facts = Facts(count_low=count, count_high=count, places=tuple(sorted(places)), dates=dates)
    analysis = Analysis(
        language=language, text=f"report {item_id}", facts=facts, entities=places | names, numbers=frozenset(),
        places=places, vector=to_bytes(vector), version="test",
    )
    return Report(item_id, T0 + timedelta(hours=hours), analysis)


def _stories(reports: list[Report], thresholds: Thresholds = RULES) -> list[set[int]]:
    batch = place(reports, [], window=WINDOW, followup_window=FOLLOWUP, thresholds=thresholds)
    groups: dict[int, set[int]] = {}
    for p in batch.placements:
        groups.setdefault(p.story_id, set()).add(p.report.item_id)
    return sorted(groups.values(), key=min)


def test_alike_reports_join_and_unlike_ones_do_not() -> None:
    assert _stories([_report(1, _axis(0)), _report(2, _at(0.7), hours=1)]) == [{1, 2}]
    assert _stories([_report(1, _axis(0)), _report(2, _at(0.5), hours=1)]) == [{1}, {2}]


def test_reports_naming_different_crossings_of_one_night_still_join() -> None:
    # 9 October 2023: five crossings in one night; each outlet names the ones it heard of.
    dandong = _report(1, _axis(0), places=frozenset({"Dandong", "Sinuiju"}))
    tumen = _report(2, _at(0.8), hours=2, places=frozenset({"Tumen", "Namyang"}))
    assert _stories([dandong, tumen]) == [{1, 2}]


def test_a_shared_count_or_crossing_pins_a_short_report_to_its_event() -> None:
    first = _report(1, _axis(0), count=60, places=frozenset({"Dandong"}))
    same_place = _report(2, _at(0.42), hours=3, places=frozenset({"Dandong"}))
    same_count = _report(3, _at(0.35, other_axis=2), hours=3, count=60)
    nothing_shared = _report(4, _at(0.42, other_axis=3), hours=3)
    assert _stories([first, same_place, same_count, nothing_shared]) == [{1, 2, 3}, {4}]


def test_a_crossing_alone_pins_less_than_a_count() -> None:
    # A reaction names the place of the event it reacts to ("Seoul summons envoy over Dandong returns"): a
    # shared crossing needs a closer report than a shared count does.
    first = _report(1, _axis(0), count=60, places=frozenset({"Dandong"}))
    ministry = frozenset({"South Korea's Foreign Ministry"})
    reaction = _report(2, _at(0.35), hours=3, places=frozenset({"Dandong"}), names=ministry)
    assert _stories([first, reaction]) == [{1}, {2}]
    assert _stories([first, _report(2, _at(0.35), hours=3, count=60)]) == [{1, 2}]


def test_counts_that_disagree_keep_reports_apart() -> None:
    assert _stories([_report(1, _axis(0), count=60), _report(2, _at(0.8), hours=1, count=30)]) == [{1}, {2}]


def test_a_report_in_another_language_is_lifted_across_the_language_gap() -> None:
    english = _report(1, _axis(0))
    korean = _report(2, _at(0.55), hours=1, language="ko")
    assert _stories([english, korean]) == [{1, 2}]
    assert _stories([english, _report(2, _at(0.55), hours=1)]) == [{1}, {2}]
    assert _stories([english, korean], Thresholds(join=0.6, cross=0.0, pinned=0.3, clear=0.6)) == [{1}, {2}]


def test_a_story_gone_quiet_for_days_needs_a_closer_report() -> None:
    first = _report(1, _axis(0))
    assert _stories([first, _report(2, _at(0.65), hours=6)]) == [{1, 2}]
    assert _stories([first, _report(2, _at(0.65), hours=48)]) == [{1}, {2}]


def test_a_late_report_dated_to_the_storys_day_and_place_is_not_held_back_by_the_quiet_days() -> None:
    first = _report(1, _axis(0), places=frozenset({"Tumen"}), dates=("2024-04-28",))
    dated = _report(2, _at(0.45), hours=72, places=frozenset({"Tumen"}), dates=("2024-04-28",))
    assert _stories([first, dated]) == [{1, 2}]
    # Without the day, three quiet days take it below what a shared crossing needs; dated to another day, it
    # is another event.
    assert _stories([first, _report(2, _at(0.45), hours=72, places=frozenset({"Tumen"}))]) == [{1}, {2}]
    assert _stories([first, _report(2, _at(0.45), hours=72, places=frozenset({"Tumen"}), dates=("2024-04-25",))]) \
        == [{1}, {2}]


def test_placement_does_not_depend_on_the_order_reports_arrive_in() -> None:
    reports = [
        _report(1, _axis(0), count=60, places=frozenset({"Dandong"})),
        _report(2, _at(0.7), hours=1),
        _report(3, _at(0.42), hours=2, places=frozenset({"Dandong"}), language="ko"),
        _report(4, _axis(5), hours=3, places=frozenset({"Tumen"})),
        _report(5, _at(0.75, other_axis=5), hours=4, places=frozenset({"Tumen"}), language="zh"),
    ]
    expected = _stories(reports)
    shuffled = reports[:]
    for seed in range(5):
        random.Random(seed).shuffle(shuffled)
        assert _stories(shuffled) == expected


def test_a_story_keeps_its_places_and_languages_through_absorb_and_merge() -> None:
    story = OpenStory.empty(1, T0)
    story.absorb(_report(1, _axis(0), places=frozenset({"Dandong"})))
    other = OpenStory.empty(2, T0)
    other.absorb(_report(2, _axis(0), language="ko", places=frozenset({"Sinuiju"})))
    story.merge(other)
    assert story.places == {"Dandong", "Sinuiju"} and story.languages == {"en", "ko"}


def _item(title: str, summary: str, language: str = "en") -> Item:
    return Item(feed="search", outlet="Search", guid=title, link=f"https://example.org/{abs(hash(title))}",
                title=title, summary=summary, content="", language=language, published=T0, fetched=T0)


def test_a_search_feeds_description_that_only_repeats_the_title_is_not_text() -> None:
    item = _item("Rights group counts dozens sent back - Example Gazette",
                 "Rights group counts dozens sent back\u00a0\u00a0Example Gazette")
    assert clean_text(item) == "Rights group counts dozens sent back"


@pytest.mark.parametrize(
    ("english", "korean"),
    [("Dozens of detainees handed over at a border bridge", "국경 다리에서 억류자 수십 명 인계")],
)
def test_a_translation_is_closer_than_an_unrelated_report(english: str, korean: str) -> None:
    items = [_item(english, ""), _item(korean, "", "ko"), _item("City raises bus fares next month", "")]
    a, b, c = (np.frombuffer(x.vector, dtype="<f2").astype(np.float32)
               for x in analyse(items, load_gazetteer(), shared_embedder()))
    assert float(a @ b) > float(a @ c) + 0.1


def test_a_report_between_two_stories_joins_only_the_one_it_is_clearly_closest_to() -> None:
    left = _report(1, _axis(0))
    right = _report(2, _axis(1), hours=1)
    between = _report(3, (0.58 * _axis(0) + 0.56 * _axis(1) + 0.59 * _axis(2)).astype(np.float32), hours=2)
    assert _stories([left, right, between]) == [{1}, {2}, {3}]
    closer = _report(3, (0.58 * _axis(0) + 0.30 * _axis(1) + 0.757 * _axis(2)).astype(np.float32), hours=2)
    assert _stories([left, right, closer]) == [{1, 3}, {2}]
