"""The story step's pure decision (bot.stories.assign) on hand-made reports whose vectors are chosen.

Vectors are built from a few axes, so each test states the similarity it needs; the thresholds are passed
explicitly, so these tests check the rule's shape, not the tuned numbers (bench/story_public.py does that).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np

from bot.domain import Analysis, Facts
from bot.stories.assign import KEPT_FIRST, KEPT_LATEST, LEGISLATURES, OpenStory, Report, Thresholds
from bot.stories.facts import load_gazetteer
from bot.stories.index import VectorIndex
from bot.stories.place import place, regroup
from bot.stories.similarity import DIMENSIONS, to_bytes

T0 = datetime(2023, 10, 10, 8, 0, tzinfo=UTC)
WINDOW = timedelta(days=4)
FOLLOWUP = timedelta(days=45)
RULE = Thresholds(join=0.55, anchored=0.45, merge=0.85)


def vector(*weights: float) -> bytes:
    """A unit vector with these weights on the first axes."""
    v = np.zeros(DIMENSIONS, dtype=np.float32)
    v[: len(weights)] = weights
    return to_bytes(v / np.linalg.norm(v))


def report(item_id: int, hours: float, vec: bytes, *, count: int | None = None, dates: tuple[str, ...] = (),
           entities: frozenset[str] = frozenset(), places: frozenset[str] = frozenset(),
           organisations: frozenset[str] = frozenset()) -> Report:
    facts = Facts(count_low=count, count_high=count, dates=dates)
    analysis = Analysis(language="en", text="", facts=facts, entities=entities | organisations, numbers=frozenset(),
                        places=places, vector=vec, version="test", organisations=organisations)
    return Report(item_id, T0 + timedelta(hours=hours), analysis)


def groups(reports: list[Report], stories: list[OpenStory] | None = None) -> set[frozenset[int]]:
    batch = place(reports, stories or [], window=WINDOW, followup_window=FOLLOWUP, thresholds=RULE)
    found: dict[int, set[int]] = {}
    for placement in batch.placements:
        found.setdefault(placement.story_id, set()).add(placement.report.item_id)
    return {frozenset(members) for members in found.values()}


def test_alike_reports_join_and_unlike_ones_do_not() -> None:
    reports = [report(1, 0, vector(1, 0.1)), report(2, 2, vector(1, 0.2)), report(3, 3, vector(0.1, 1))]
    assert groups(reports) == {frozenset({1, 2}), frozenset({3})}


def test_the_same_reports_give_the_same_stories_in_any_order() -> None:
    reports = [report(n, n, vector(1, n % 3 * 0.3, n % 2)) for n in range(1, 9)]
    reports += [report(20 + n, n, vector(0, 1, 0.1 * n)) for n in range(4)]
    expected = groups(reports)
    rng = random.Random(7)
    for _ in range(5):
        rng.shuffle(reports)
        assert groups(reports) == expected


def test_contradicting_counts_or_dates_keep_alike_reports_apart() -> None:
    alike = vector(1, 0.1)
    assert groups([report(1, 0, alike, count=200), report(2, 1, alike, count=50)]) == {
        frozenset({1}), frozenset({2})
    }
    assert groups([report(1, 0, alike, dates=("2023-10-09",)), report(2, 1, alike, dates=("2023-10-20",))]) == {
        frozenset({1}), frozenset({2})
    }
    # "about 500" and "up to 600": close enough to be one count; overnight events dated a day apart agree.
    assert groups([report(1, 0, alike, count=500), report(2, 1, alike, count=600)]) == {frozenset({1, 2})}
    assert groups([report(1, 0, alike, dates=("2023-10-09",)), report(2, 1, alike, dates=("2023-10-10",))]) == {
        frozenset({1, 2})
    }


def test_reports_naming_only_different_parliaments_are_different_events() -> None:
    alike = vector(1, 0.1)
    congress, seoul = frozenset({"US Congress"}), frozenset({"South Korea's National Assembly"})
    assert groups([report(1, 0, alike, entities=congress), report(2, 9, alike, entities=seoul)]) == {
        frozenset({1}), frozenset({2})
    }
    # A report naming both ("a day after the US hearing, Seoul's lawmakers...") may join either.
    assert groups([report(1, 0, alike, entities=congress), report(2, 9, alike, entities=congress | seoul)]) == {
        frozenset({1, 2})
    }


def test_the_parliaments_the_rule_tells_apart_are_gazetteer_names() -> None:
    names = {e.name for e in load_gazetteer().entries}
    assert names >= LEGISLATURES


def test_a_moderate_similarity_joins_only_with_an_anchor() -> None:
    first, second = vector(1, 0), vector(1, 1.6)  # cosine 0.53: below join, above anchored
    similarity = float(np.dot(np.frombuffer(first, "<f2"), np.frombuffer(second, "<f2")))
    assert RULE.anchored <= similarity < RULE.join
    assert groups([report(1, 0, first), report(2, 1, second)]) == {frozenset({1}), frozenset({2})}
    assert groups([report(1, 0, first, count=40), report(2, 1, second, count=40)]) == {frozenset({1, 2})}
    named = frozenset({"Tumen"})
    assert groups([report(1, 0, first, entities=named), report(2, 1, second, entities=named)]) == {
        frozenset({1, 2})
    }
    background = frozenset({"China", "North Korea"})
    assert groups([report(1, 0, first, entities=background), report(2, 1, second, entities=background)]) == {
        frozenset({1}), frozenset({2})
    }


def stored(story_id: int, *reports: Report) -> OpenStory:
    story = OpenStory.empty(story_id, reports[0].published)
    for r in reports:
        story.absorb(r)
    return story


def test_a_report_joining_two_alike_stories_merges_the_newer_into_the_older_unless_kept_apart() -> None:
    older = stored(3, report(1, 0, vector(1, 0.05)))
    newer = stored(7, report(2, 1, vector(1, -0.05)))
    bridge = report(9, 2, vector(1, 0))
    batch = place([bridge], [newer, older], window=WINDOW, followup_window=FOLLOWUP, thresholds=RULE)
    assert batch.merged == ((7, 3),)
    assert [p.story_id for p in batch.placements] == [3]
    assert batch.stories[3].size == 3

    older = stored(3, report(1, 0, vector(1, 0.05)))
    newer = stored(7, report(2, 1, vector(1, -0.05)))
    older.apart.add(7)  # an admin split them: /split
    batch = place([bridge], [newer, older], window=WINDOW, followup_window=FOLLOWUP, thresholds=RULE)
    assert batch.merged == ()


def test_two_stories_begun_within_a_day_whose_centres_are_alike_become_one() -> None:
    def merged(a: OpenStory, b: OpenStory) -> list[tuple[int, int]]:
        return regroup({a.story_id: a, b.story_id: b}, {b.story_id}, RULE)

    alike = (vector(1, 0.3, 0), vector(1, 0, 0.3))  # cosine 0.92: above RULE.regroup
    assert merged(stored(3, report(1, 0, alike[0])), stored(7, report(2, 5, alike[1]))) == [(7, 3)]
    # The newer goes into the older whichever of them the batch changed.
    older, newer = stored(3, report(1, 0, alike[0])), stored(7, report(2, 5, alike[1]))
    assert regroup({3: older, 7: newer}, {3}, RULE) == [(7, 3)] and older.size == 2
    # Not when they began more than a day apart, their counts disagree, or an admin split them.
    assert merged(stored(3, report(1, 0, alike[0])), stored(7, report(2, 30, alike[1]))) == []
    assert merged(stored(3, report(1, 0, alike[0], count=200)), stored(7, report(2, 5, alike[1], count=50))) == []
    split = stored(3, report(1, 0, alike[0]))
    split.apart.add(7)
    assert merged(split, stored(7, report(2, 5, alike[1]))) == []
    # Less alike (cosine 0.5), they are one only when they share a town or crossing.
    tumen = frozenset({"Tumen"})
    assert merged(stored(3, report(1, 0, vector(1, 1, 0))), stored(7, report(2, 5, vector(1, 0, 1)))) == []
    assert merged(stored(3, report(1, 0, vector(1, 1, 0), places=tumen)),
                  stored(7, report(2, 5, vector(1, 0, 1), places=tumen))) == [(7, 3)]


def test_a_placed_batch_regroups_the_story_it_changed_with_an_alike_one_it_did_not_reach() -> None:
    tumen = frozenset({"Tumen"})
    older = stored(3, report(1, 0, vector(1, 0.3, 0), places=tumen))
    newer = stored(7, report(2, 5, vector(1, 0, 0.3), places=tumen))
    late = report(9, 6, vector(0.5, 0, 1))  # joins the newer story only (0.69; 0.43 to the older)
    batch = place([late], [older, newer], window=WINDOW, followup_window=FOLLOWUP, thresholds=RULE)
    assert batch.merged == ((7, 3),)
    assert [p.story_id for p in batch.placements] == [3]
    assert set(batch.stories) == {3} and batch.stories[3].size == 3


def test_a_story_keeps_a_bounded_number_of_members_whatever_its_size() -> None:
    story = stored(1, *(report(n, n / 10, vector(1, 0.001 * n)) for n in range(1, 201)))
    assert story.size == 200
    assert len(story.members) == len(story.vectors) == KEPT_FIRST + KEPT_LATEST
    assert story.members[:KEPT_FIRST] == list(range(1, KEPT_FIRST + 1))  # the first reports stay
    assert story.members[-1] == 200  # and the latest


def test_a_similar_report_after_the_window_is_a_follow_up_of_the_old_story() -> None:
    old = stored(4, report(1, 0, vector(1, 0)))
    later = report(2, 24 * 10, vector(1, 0.1))  # ten days on: beyond the story window, inside follow-up's
    batch = place([later], [old], window=WINDOW, followup_window=FOLLOWUP, thresholds=RULE)
    (placement,) = batch.placements
    assert placement.story_id < 0 and batch.stories[placement.story_id].follow_up_of == 4


def test_a_similar_report_about_another_crossing_is_no_follow_up() -> None:
    old = stored(4, report(1, 0, vector(1, 0), places=frozenset({"Dandong"})))
    later = report(2, 24 * 10, vector(1, 0.1), places=frozenset({"Hunchun"}))
    batch = place([later], [old], window=WINDOW, followup_window=FOLLOWUP, thresholds=RULE)
    (placement,) = batch.placements
    assert placement.story_id < 0 and batch.stories[placement.story_id].follow_up_of is None
    same = report(2, 24 * 10, vector(1, 0.1), places=frozenset({"Dandong", "Sinuiju"}))
    batch = place([same], [old], window=WINDOW, followup_window=FOLLOWUP, thresholds=RULE)
    assert batch.stories[batch.placements[0].story_id].follow_up_of == 4


def test_a_late_report_giving_the_storys_day_and_town_joins_it_and_one_without_the_day_does_not() -> None:
    tumen = frozenset({"Tumen"})
    def old() -> OpenStory:  # placing changes the stories it is given
        return stored(4, report(1, 0, vector(1, 0), count=12, dates=("2023-10-09",), places=tumen))

    moderate = vector(1, 1.6)  # cosine 0.53: no join, no follow-up, on similarity alone
    digest = report(2, 24 * 9, moderate, dates=("2023-10-09",), places=tumen)  # nine days on: a weekly digest
    (placement,) = place([digest], [old()], window=WINDOW, followup_window=FOLLOWUP, thresholds=RULE).placements
    assert placement.story_id == 4 and placement.decision.reason.startswith("late, 2023-10-09, place Tumen")
    for later in (
        report(2, 24 * 9, moderate, places=tumen),  # no day
        report(2, 24 * 9, moderate, dates=("2023-10-09",), entities=frozenset({"UN Special Rapporteur"})),
        report(2, 24 * 9, moderate, dates=("2023-10-09",), count=50, places=tumen),  # another count
        report(2, 24 * 20, moderate, dates=("2023-10-09",), places=tumen),  # beyond two weeks
    ):
        (placement,) = place([later], [old()], window=WINDOW, followup_window=FOLLOWUP, thresholds=RULE).placements
        assert placement.story_id < 0, placement.decision.reason


def test_a_town_on_the_events_own_day_pins_a_weak_report_as_a_count_does() -> None:
    dandong = frozenset({"Dandong"})
    first, weak = vector(1, 0), vector(1, 2.6)  # cosine 0.36: above the pinned tier, below the placed one
    assert RULE.pinned <= 0.36 < RULE.placed
    story = [report(1, 0, first, dates=("2023-10-09",), places=dandong)]
    # Each also names someone the story does not, so the town alone would not do (see the next test).
    rapporteur = dandong | {"UN Special Rapporteur"}
    assert groups([*story, report(2, 1, weak, entities=rapporteur, places=dandong)]) == {
        frozenset({1}), frozenset({2})
    }
    assert groups([*story, report(2, 1, weak, dates=("2023-10-09",), entities=rapporteur, places=dandong)]) == {
        frozenset({1, 2})
    }


def test_a_report_naming_only_a_town_or_body_joins_the_one_story_near_it_that_names_it() -> None:
    hunchun, dandong = frozenset({"Hunchun"}), frozenset({"Dandong"})
    first, weak = vector(1, 0), vector(1, 2.6)  # cosine 0.36: above the pinned tier, below the placed one
    note = report(3, 2, weak, entities=hunchun, places=hunchun)  # "珲春口岸依法遣返一批非法越境人员"
    returns = report(1, 0, first, entities=hunchun, places=hunchun)
    assert groups([returns, note]) == {frozenset({1, 3})}
    # Two stories near in time name Hunchun: the note waits for a clearer report.
    other = report(2, 1, vector(0, 1, 3), entities=hunchun, places=hunchun)  # cosine 0.30 to the note
    assert frozenset({3}) in groups([returns, other, note])
    # A report that also names an actor the story does not is a reaction to it, not the event.
    envoy = report(3, 2, weak, entities=hunchun | {"South Korea's Foreign Ministry"}, places=hunchun)
    assert groups([returns, envoy]) == {frozenset({1}), frozenset({3})}
    assert groups([report(1, 0, first, entities=dandong, places=dandong), note]) == {frozenset({1}), frozenset({3})}
    # "국회, 강제북송 규탄 결의안 채택": a one-line title that only says which parliament.
    assembly = frozenset({"South Korea's National Assembly"})
    vote = report(1, 0, first, entities=assembly | {"China"})
    assert groups([vote, report(3, 2, weak, entities=assembly)]) == {frozenset({1, 3})}
    assert groups([vote, report(3, 2, weak)]) == {frozenset({1}), frozenset({3})}


def test_a_shared_town_does_not_pin_a_report_naming_a_body_the_story_does_not() -> None:
    towns = frozenset({"Dandong", "Tumen"})
    # Cosine 0.42: above the placed tier, below the one at which two stories sharing a town are regrouped.
    first, moderate = vector(1, 0), vector(1, 2.15)
    assert RULE.placed <= 0.42 < RULE.regroup_pinned
    returns = report(1, 0, first, entities=towns, places=towns)
    ministry = frozenset({"South Korea's Ministry of Unification"})
    regret = report(2, 1, moderate, entities=towns, places=towns, organisations=ministry)  # "deeply regrets"
    assert groups([returns, regret]) == {frozenset({1}), frozenset({2})}
    assert groups([returns, report(2, 1, moderate, entities=towns, places=towns)]) == {frozenset({1, 2})}
    # The ministry's second statement joins its first: the story names the ministry.
    statement = report(1, 0, first, entities=towns, places=towns, organisations=ministry)
    assert groups([statement, regret]) == {frozenset({1, 2})}


def test_the_vector_index_finds_exactly_the_stories_a_brute_force_scan_finds() -> None:
    rng = np.random.default_rng(3)
    stories = []
    for story_id in range(1, 60):
        members = rng.normal(0, 1, (int(rng.integers(1, 20)), DIMENSIONS)).astype(np.float32)
        members /= np.linalg.norm(members, axis=1, keepdims=True)
        story = OpenStory.empty(story_id, T0)
        for n, row in enumerate(members):
            story.absorb(report(story_id * 100 + n, n, to_bytes(row)))
        stories.append(story)
    index = VectorIndex()
    for story in stories:
        index.sync(story.story_id, story.vectors, story.centre)
    index.remove(7)  # merged away
    for _ in range(20):
        probe = stories[int(rng.integers(0, len(stories)))].vectors[0] + rng.normal(0, 0.5, DIMENSIONS)
        probe = (probe / np.linalg.norm(probe)).astype(np.float32)
        expected = {
            s.story_id for s in stories
            if s.story_id != 7 and (
                max(float(v @ probe) for v in s.vectors) >= 0.3
                or float(s.centre @ probe) / float(np.linalg.norm(s.centre)) >= 0.3
            )
        }
        assert index.reachable(probe, 0.3) == expected
