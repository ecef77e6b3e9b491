"""Story clustering: the labelled fixture (tests/fixtures/cluster/reports.yaml) and the pure functions."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cluster import (
    BACKGROUND_ENTITIES,
    BANDS,
    MAX_FEATURE_KEYS,
    MAX_MEMBERS,
    NUM_PERM,
    Signature,
    StoryProfile,
    absorb,
    cluster_stream,
    compare,
    decide,
    estimated_jaccard,
    index_keys,
    profile_for,
    signature,
)
from bot.domain import Item
from bot.facts import PINPOINT_PLACE_KINDS, load_gazetteer

FIXTURE = Path(__file__).parent / "fixtures" / "cluster" / "reports.yaml"
WINDOW = timedelta(days=4)
FOLLOWUP = timedelta(days=45)


@dataclass(frozen=True, slots=True)
class Report:
    """One labelled fixture report: its gold story, the expected follow-up and its signature."""

    id: str
    story: str
    follow_up_of: str | None
    sig: Signature


def _item(raw: Mapping[str, Any]) -> Item:
    published = datetime.fromisoformat(raw["published"])
    return Item(
        feed=raw["outlet"],
        outlet=raw["outlet"],
        guid=raw["id"],
        link=f"https://example.org/{raw['id']}",
        title=raw["title"],
        summary=raw["text"],
        content="",
        language=raw["lang"],
        published=published,
        fetched=published,
    )


GAZETTEER = load_gazetteer()
# The fixture lists entities by canonical name; which of them pin a place down is the gazetteer's to say.
PINPOINTS = frozenset(e.name for e in GAZETTEER.entries if e.place and e.kind in PINPOINT_PLACE_KINDS)


def _load() -> dict[str, Report]:
    data = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
    reports = {}
    for raw in data["reports"]:
        entities = frozenset(raw["entities"])
        sig = signature(
            _item(raw),
            entities=entities,
            numbers=frozenset(raw["numbers"]),
            dates=frozenset(raw["dates"]),
            places=entities & PINPOINTS,
        )
        reports[raw["id"]] = Report(raw["id"], raw["story"], raw.get("follow_up_of"), sig)
    return reports


REPORTS = _load()


def _run() -> dict[str, tuple[int, int | None, str]]:
    """Cluster the fixture in publication order: report id -> (story id, follow-up of, reason)."""
    ordered = sorted(REPORTS.values(), key=lambda r: (r.sig.published, r.id))
    out = {}
    for report, assigned in zip(
        ordered, cluster_stream((r.sig for r in ordered), window=WINDOW, followup_window=FOLLOWUP), strict=True
    ):
        out[report.id] = (assigned.story_id, assigned.decision.follow_up_of, assigned.decision.reason)
    return out


RESULT = _run()


def _pairs() -> tuple[int, int, int]:
    """(true positive, predicted, gold) counts of 'same story' over all report pairs."""
    tp = predicted = gold = 0
    for a, b in itertools.combinations(sorted(REPORTS), 2):
        same_gold = REPORTS[a].story == REPORTS[b].story
        same_pred = RESULT[a][0] == RESULT[b][0]
        tp += same_gold and same_pred
        predicted += same_pred
        gold += same_gold
    return tp, predicted, gold


# --- the labelled set --------------------------------------------------------------------------------------


def test_fixture_pairwise_precision_and_recall() -> None:
    tp, predicted, gold = _pairs()
    precision, recall = tp / predicted, tp / gold
    detail = {rid: RESULT[rid][2] for rid in sorted(RESULT)}
    assert precision >= 0.95, (precision, detail)
    assert recall >= 0.9, (recall, detail)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("a1", "b1"),  # the missile test of the same day
        ("a3", "c1"),  # South Korea returning fishermen by sea, same week
        ("a1", "d1"),  # 60 people from Dandong six months later
        ("a1", "e1"),  # the UN statement three weeks later
        ("a1", "f1"),  # twelve detained in Yunnan the same week
        ("a8", "g1"),  # trade over the same bridges the next day
        ("b1", "f1"),  # one outlet, one footer, two events
        ("e1", "h1"),  # the disappearance report two months on
    ],
)
def test_near_miss_events_stay_apart(first: str, second: str) -> None:
    assert RESULT[first][0] != RESULT[second][0], (RESULT[first], RESULT[second])


@pytest.mark.parametrize(
    ("copy", "original"),
    [("a2", "a1"), ("a6", "a3"), ("a7", "a4")],
)
def test_syndicated_copies_join_as_near_copies(copy: str, original: str) -> None:
    assert RESULT[copy][0] == RESULT[original][0]
    ev = compare(REPORTS[copy].sig, REPORTS[original].sig)
    assert ev.jaccard >= 0.5


@pytest.mark.parametrize("report", ["a4", "a5", "b2", "c2", "d2", "e2", "f2"])
def test_reports_in_korean_and_chinese_join_their_story(report: str) -> None:
    story = REPORTS[report].story
    others = [r for r in REPORTS.values() if r.story == story and r.id != report]
    assert any(RESULT[o.id][0] == RESULT[report][0] for o in others), RESULT[report]


@pytest.mark.parametrize(
    ("report", "follows"),
    [("e1", "a1"), ("h1", "e1"), ("d1", None), ("b1", None), ("c1", None), ("f1", None), ("g1", None)],
)
def test_new_stories_point_to_the_related_earlier_story(report: str, follows: str | None) -> None:
    _, follow_up_of, reason = RESULT[report]
    expected = RESULT[follows][0] if follows else None
    assert follow_up_of == expected, reason


def test_reasons_name_the_evidence() -> None:
    assert RESULT["a2"][2].startswith(f"near-copy of story {RESULT['a1'][0]} (jaccard ")
    assert "entities" in RESULT["a4"][2] and "numbers 600" in RESULT["a4"][2]
    assert "dates 2023-10-09" in RESULT["a4"][2]
    assert "follow-up of story" in RESULT["e1"][2]


# --- decide, directly ------------------------------------------------------------------------------------


def _at(report: str, when: datetime) -> Signature:
    return replace(REPORTS[report].sig, published=when)


def test_a_copy_outside_the_window_is_a_follow_up_not_a_member() -> None:
    original = REPORTS["a1"].sig
    later = _at("a2", original.published + timedelta(days=6))
    decision = decide(later, [profile_for(7, original)], window=WINDOW, followup_window=FOLLOWUP)
    assert (decision.story_id, decision.follow_up_of) == (None, 7)


def test_a_story_spans_at_most_the_window() -> None:
    # a3 is another outlet's report of the same event; arriving five days after the story began it opens
    # a new story (a follow-up) even though the story's last report is only a day old.
    first = _at("a1", datetime(2023, 10, 10, tzinfo=UTC))
    profile = absorb(profile_for(3, first), _at("a8", datetime(2023, 10, 14, tzinfo=UTC)))
    late = _at("a3", datetime(2023, 10, 15, tzinfo=UTC))
    decision = decide(late, [profile], window=WINDOW, followup_window=FOLLOWUP)
    assert (decision.story_id, decision.follow_up_of) == (None, 3)
    on_time = _at("a3", datetime(2023, 10, 13, tzinfo=UTC))
    assert decide(on_time, [profile], window=WINDOW, followup_window=FOLLOWUP).story_id == 3


def test_nothing_beyond_the_follow_up_window() -> None:
    old = profile_for(1, REPORTS["a1"].sig)
    decision = decide(REPORTS["d1"].sig, [old], window=WINDOW, followup_window=FOLLOWUP)
    assert decision == decide(REPORTS["d1"].sig, [], window=WINDOW, followup_window=FOLLOWUP)
    assert (decision.story_id, decision.follow_up_of, decision.reason) == (None, None, "new story (no candidate)")


def test_a_bare_brief_before_any_fuller_report_opens_its_own_story() -> None:
    # Known limit, kept on purpose: a9 names only the ministry. Had it come before a3, nothing in the story
    # would have named the ministry, and in doubt it stays apart (the fixture publishes it after a3).
    early = _at("a9", datetime(2023, 10, 13, 6, tzinfo=UTC))
    profile = profile_for(4, REPORTS["a1"].sig)
    for rid in ("a2", "a4", "a7", "a5"):
        profile = absorb(profile, REPORTS[rid].sig)
    assert decide(early, [profile], window=WINDOW, followup_window=FOLLOWUP).story_id is None
    assert decide(early, [absorb(profile, REPORTS["a3"].sig)], window=WINDOW, followup_window=FOLLOWUP).story_id == 4


def test_pages_of_one_outlet_are_not_alike_by_their_words() -> None:
    f1, g1 = REPORTS["f1"].sig, REPORTS["g1"].sig  # one outlet, one footer
    assert compare(f1, g1).words == 0.0
    assert compare(f1, replace(g1, outlet="Elsewhere")).words > 0.4


def test_the_window_is_a_parameter() -> None:
    a1, a8 = REPORTS["a1"].sig, REPORTS["a8"].sig  # 41 hours apart
    assert decide(a8, [profile_for(1, a1)], window=WINDOW, followup_window=FOLLOWUP).story_id == 1
    narrow = decide(a8, [profile_for(1, a1)], window=timedelta(hours=12), followup_window=FOLLOWUP)
    assert narrow.story_id is None


def test_candidate_order_does_not_change_the_decision() -> None:
    profiles = [profile_for(i, REPORTS[r].sig) for i, r in enumerate(["a1", "a4", "b1", "f1", "g1"], 1)]
    new = REPORTS["a8"].sig
    orders = itertools.permutations(profiles)
    decisions = {decide(new, order, window=WINDOW, followup_window=FOLLOWUP) for order in orders}
    assert len(decisions) == 1


@pytest.mark.parametrize(
    ("new_numbers", "old_numbers", "contradiction"),
    [
        ({600}, {500}, None),  # one event counted by two groups
        ({60}, {600}, "different counts (60 vs 600)"),
        ({2}, {600, 120}, "different counts (2 vs 120, 600)"),
        ({700}, {600}, None),  # less than 25% apart: one event counted by two groups
        ({110}, {80}, "different counts (110 vs 80)"),  # once let through as "neither agreeing nor clashing"
        ({60}, {48}, "different counts (60 vs 48)"),  # exactly 25% apart is already too far
        ({3}, {4}, "different counts (3 vs 4)"),  # small counts are given exactly
        (set(), {600}, None),
    ],
)
def test_counts(new_numbers: set[int], old_numbers: set[int], contradiction: str | None) -> None:
    base = REPORTS["a1"].sig
    new = replace(base, numbers=frozenset(new_numbers), entities=frozenset({"Tumen"}))
    old = replace(base, numbers=frozenset(old_numbers), entities=frozenset({"Dandong"}))
    assert compare(new, old).contradiction == contradiction


@pytest.mark.parametrize(
    ("new_dates", "old_dates", "points", "contradiction"),
    [
        ({"2023-10-09"}, {"2023-10-09"}, 1.0, False),
        ({"2023-10-09"}, {"2023-10"}, 0.5, False),
        ({"2023-10-13"}, {"2023-10-09"}, 0.0, False),  # confirmation date vs event date: not a clash
        ({"2023-10-20"}, {"2023-10-09"}, 0.0, True),
        ({"2024-04-15"}, {"2023-10-09", "2023-10"}, 0.0, True),
        ({"2023-12"}, {"2023-11"}, 0.0, False),  # adjacent months: within the slack
        ({"2023-12"}, {"2023-09"}, 0.0, True),
        (set(), {"2023-10-09"}, 0.0, False),
    ],
)
def test_event_dates(new_dates: set[str], old_dates: set[str], points: float, contradiction: bool) -> None:
    base = REPORTS["a1"].sig
    ev = compare(replace(base, dates=frozenset(new_dates)), replace(base, dates=frozenset(old_dates)))
    assert ev.date_points == points
    assert (ev.contradiction is not None) == contradiction


@pytest.mark.parametrize(
    ("new_numbers", "shared", "contradiction"),
    [
        ({600}, {"Tumen", "Onsong", "Dandong"}, None),  # 400 revised to 600 on the same day, same places
        ({600}, {"Tumen", "TJWG"}, "different counts (600 vs 400)"),  # a place and a group: many transfers
        ({4000}, {"Tumen", "Onsong", "Dandong"}, "different counts (4000 vs 400)"),  # tenfold: no revision
    ],
)
def test_a_revised_count_needs_the_day_three_names_and_less_than_twice(
    new_numbers: set[int], shared: set[str], contradiction: str | None
) -> None:
    base = replace(REPORTS["a1"].sig, dates=frozenset({"2023-10-09"}), places=frozenset())
    old = replace(base, numbers=frozenset({400}), entities=frozenset({"Tumen", "Onsong", "Dandong", "TJWG"}))
    new = replace(base, numbers=frozenset(new_numbers), entities=frozenset(shared))
    assert compare(new, old).contradiction == contradiction


def test_reports_pinning_different_towns_contradict_despite_a_shared_province_and_group() -> None:
    base = REPORTS["a1"].sig
    old = replace(base, entities=frozenset({"Jilin", "TJWG", "Tumen"}), places=frozenset({"Tumen"}))
    new = replace(base, entities=frozenset({"Jilin", "TJWG", "Hunchun"}), places=frozenset({"Hunchun"}))
    assert compare(new, old).contradiction == "different places (Hunchun vs Tumen)"
    assert compare(replace(new, places=frozenset({"Hunchun", "Tumen"})), old).contradiction is None
    assert compare(replace(new, places=frozenset()), old).contradiction is None  # no town named: no clash


def test_a_report_does_not_join_through_a_member_that_lacks_the_count() -> None:
    # The replay benchmark's chain: a report with no count joins a story; a report of another transfer
    # (another count) agrees with that member on everything it says, but not with the story's first report.
    start = REPORTS["a1"].sig.published
    first = replace(REPORTS["a1"].sig, numbers=frozenset({80}))
    generic = replace(REPORTS["a8"].sig, numbers=frozenset(), published=start + timedelta(hours=2))
    other = replace(REPORTS["a3"].sig, numbers=frozenset({300}), published=start + timedelta(hours=5))
    assert decide(other, [profile_for(1, generic)], window=WINDOW, followup_window=FOLLOWUP).story_id == 1
    story = absorb(profile_for(1, first), generic)
    decision = decide(other, [story], window=WINDOW, followup_window=FOLLOWUP)
    assert (decision.story_id, decision.follow_up_of) == (None, 1)  # related, but its own story
    alone = decide(replace(other, dates=frozenset()), [story], window=WINDOW, followup_window=FOLLOWUP)
    assert alone.story_id is None and "different counts (300 vs 80)" in alone.reason


def test_a_report_in_another_language_joins_on_one_organisation_the_count_and_the_day() -> None:
    english = REPORTS["c1"].sig
    korean = replace(REPORTS["c2"].sig, entities=frozenset({"Unification Ministry", "North Korea"}))
    ev = compare(korean, english)
    assert ev.cross_language and ev.key_points == 3.0 and ev.score < 0.5
    assert ev.joins
    assert decide(korean, [profile_for(1, english)], window=WINDOW, followup_window=FOLLOWUP).story_id == 1
    without_count = compare(replace(korean, numbers=frozenset()), english)
    assert not without_count.joins
    same_language = compare(replace(korean, language="en"), replace(english, outlet="Elsewhere"))
    assert not same_language.cross_language


@pytest.mark.parametrize(
    ("new_dates", "new_numbers", "published_day", "contradiction"),
    [
        ({"2023-10-16"}, {12}, 16, None),  # the families' plea six days after the arrest: a development
        ({"2023-10-16"}, {30}, 16, "different event dates (2023-10-16 vs 2023-10-10)"),  # other people
        ({"2023-10-16"}, {12}, 22, "different event dates (2023-10-16 vs 2023-10-10)"),  # not news of its day
        ({"2023-10-04"}, {12}, 16, "different event dates (2023-10-04 vs 2023-10-10)"),  # before, not after
    ],
)
def test_a_later_development_is_not_a_date_clash(
    new_dates: set[str], new_numbers: set[int], published_day: int, contradiction: str | None
) -> None:
    old = REPORTS["f1"].sig  # twelve detained in Yunnan on 10 Oct: Yunnan, Laos, Kunming
    new = replace(
        REPORTS["f2"].sig,
        dates=frozenset(new_dates),
        numbers=frozenset(new_numbers),
        published=datetime(2023, 10, published_day, 9, tzinfo=UTC),
    )
    assert compare(new, old).contradiction == contradiction


def test_background_names_include_the_gazetteers_background_places() -> None:
    # Countries and capitals are on nearly every report; as specific names they let unrelated reports chain.
    assert {e.name.casefold() for e in GAZETTEER.entries if e.background} <= BACKGROUND_ENTITIES


def test_background_entities_count_little_and_are_not_keys() -> None:
    missile, returns = REPORTS["b1"].sig, REPORTS["a1"].sig
    ev = compare(missile, returns)
    assert ev.entities == () and set(ev.background) == {"North Korea"}
    assert not any(k in {"e:china", "e:north korea", "e:south korea"} for k in index_keys(returns))
    custom = compare(missile, returns, background=frozenset())
    assert custom.entities == ("North Korea",)


# --- signatures and keys -------------------------------------------------------------------------------------


def _text_item(text: str, *, title: str = "", language: str = "en", outlet: str = "Outlet") -> Item:
    when = datetime(2023, 10, 12, tzinfo=UTC)
    return Item("feed", outlet, "guid", "https://example.org/x", title, text, "", language, when, when)


def test_minhash_is_deterministic_and_unsalted() -> None:
    sig = signature(_text_item("China returned about 600 North Koreans across the Tumen river"))
    assert len(sig.minhash) == NUM_PERM
    assert sig == signature(_text_item("China returned about 600 North Koreans across the Tumen river"))
    # Fixed value: Python's salted hash() would change it in every process.
    assert index_keys(sig)[0] == "b0:4de243c54e3d8e88"


def test_jaccard_estimate_follows_the_true_jaccard() -> None:
    rng = random.Random(7)
    words = [f"w{rng.randrange(10**6)}" for _ in range(400)]
    for shared in (50, 200, 350):
        a = words[:200] + words[200 : 200 + shared]
        b = words[:200] + words[400 - shared :]
        sa, sb = signature(_text_item(" ".join(a))), signature(_text_item(" ".join(b)))
        shingles_a = {tuple(a[i : i + 3]) for i in range(len(a) - 2)}
        shingles_b = {tuple(b[i : i + 3]) for i in range(len(b) - 2)}
        true = len(shingles_a & shingles_b) / len(shingles_a | shingles_b)
        assert abs(estimated_jaccard(sa.minhash, sb.minhash) - true) < 0.15, (shared, true)


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("Deported, deportation and deports", "en", {"deport"}),
        ("The repatriated women faced repatriation", "en", {"repatri", "women", "faced"}),
        ("탈북민 송환", "ko", {"탈북", "북민", "송환"}),
        ("朝鲜人被遣返", "zh", {"朝鲜", "鲜人", "人被", "被遣", "遣返"}),
    ],
)
def test_terms(text: str, language: str, expected: set[str]) -> None:
    assert signature(_text_item(text, language=language)).terms == expected


def test_text_without_words_has_no_band_keys() -> None:
    sig = signature(_text_item("... !!!"), entities=frozenset({"Tumen"}))
    assert sig.minhash == ()
    assert index_keys(sig) == ("e:tumen",)


def test_index_keys_are_bounded_and_typed() -> None:
    long_text = " ".join(f"Placename{i} detained {i * 7} people" for i in range(300))
    sig = signature(
        _text_item(long_text, title="A title with many words"),
        entities=frozenset(f"Entity {i}" for i in range(20)) | {"China"},
        numbers=frozenset(range(100, 120)),
        dates=frozenset({"2023-10-09", "2023-10-10", "2023-10", "2023-11-01"}),
    )
    keys = index_keys(sig)
    bands = [k for k in keys if k.startswith("b")]
    features = [k for k in keys if not k.startswith("b")]
    assert len(bands) == BANDS and len(features) == MAX_FEATURE_KEYS and len(set(keys)) == len(keys)
    assert sum(k.startswith("e:") for k in features) == 6
    assert sum(k.startswith("d:") for k in features) == 3 and "d:2023-10" not in features
    assert [k for k in features if k.startswith("n:")] == ["n:119", "n:118", "n:117"]
    assert "e:china" not in keys


def test_df_prefers_rare_keys() -> None:
    sig = REPORTS["a1"].sig
    plain = index_keys(sig)
    counts = {key: 1000 for key in plain if key.startswith("e:")}
    rare_first = index_keys(sig, df=counts)
    assert rare_first[:BANDS] == plain[:BANDS]
    assert not any(k.startswith("e:") for k in rare_first[BANDS : BANDS + 6])
    assert index_keys(sig, df=lambda key: counts.get(key, 0)) == rare_first


def test_invalid_input_is_refused() -> None:
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        signature(_text_item("text"), dates=frozenset({"9 Oct 2023"}))
    naive = replace(_text_item("text"), published=datetime(2023, 10, 12))
    with pytest.raises(ValueError, match="timezone-aware"):
        signature(naive)


# --- profiles ------------------------------------------------------------------------------------------------


def test_profile_round_trips_through_json() -> None:
    profile = profile_for(5, REPORTS["a1"].sig)
    for rid in ("a4", "a5", "a3"):
        profile = absorb(profile, REPORTS[rid].sig)
    text = profile.to_json()
    assert StoryProfile.from_json(text) == profile
    assert json.loads(text)["size"] == 4
    assert profile.languages == {"en", "ko", "zh"}
    assert {"Tumen", "TJWG"} <= profile.entities and profile.numbers == {500, 600}


def test_absorb_keeps_the_first_and_latest_members() -> None:
    base = REPORTS["a1"].sig
    start = base.published
    profile = profile_for(1, base)
    for hour in range(1, 12):
        profile = absorb(profile, replace(base, published=start + timedelta(hours=hour)))
    assert profile.size == 12 and len(profile.members) == MAX_MEMBERS
    assert profile.members[0].published == start
    assert profile.members[-1].published == start + timedelta(hours=11)
    assert profile.last_published - profile.first_published == timedelta(hours=11)


@pytest.mark.parametrize(
    "text",
    ["not json", "{}", '{"story_id": 1, "members": []}', json.dumps({"story_id": 1, "members": [{}]})],
)
def test_malformed_profile_json_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="malformed story profile"):
        StoryProfile.from_json(text)
