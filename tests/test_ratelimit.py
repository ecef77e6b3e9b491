"""The pacer: send times it hands out keep Telegram's limits; pauses hold sends back."""

from __future__ import annotations

import itertools
import math
import random
from collections import defaultdict

import pytest

from bot.delivery.ratelimit import Limits, Pacer

LIMITS = Limits(per_second=28.0, chat_interval=1.05, group_limit=20, group_window=61.0)


def on_slot(t: float) -> float:
    """`t` rounded up to the pacer's global grid (one slot every 1/28 s)."""
    return math.ceil(t * 28 - 1e-9) / 28


def schedule(pacer: Pacer, sends: list[tuple[int, float]]) -> list[float]:
    """Reserve each (chat, now) in order; the absolute send times handed out."""
    return [now + pacer.reserve(chat, chat < 0, now) for chat, now in sends]


def max_in_window(times: list[float], window: float) -> int:
    """The most sends inside any half-open window [t, t + window) starting at a send."""
    ordered = sorted(times)
    best = 0
    for i, start in enumerate(ordered):
        best = max(best, sum(1 for t in ordered[i:] if t < start + window - 1e-9))
    return best


@pytest.mark.parametrize(
    ("sends", "expected"),
    [
        # One private chat: the first send goes at once, the next a chat interval later.
        ([(1, 0.0)], [0.0]),
        ([(1, 0.0), (1, 0.0)], [0.0, on_slot(1.05)]),
        ([(1, 0.0), (1, 5.0)], [0.0, 5.0]),
        # Different chats share the global pace: one every 1/28 s.
        ([(1, 0.0), (2, 0.0), (3, 0.0)], [0.0, 1 / 28, 2 / 28]),
        # A later `now` is not held back by an old reservation.
        ([(1, 0.0), (2, 10.0)], [0.0, 10.0]),
        # A send asked for between slots waits for the next slot.
        ([(1, 0.01)], [1 / 28]),
    ],
)
def test_reserve_hands_out_these_send_times(sends: list[tuple[int, float]], expected: list[float]) -> None:
    assert schedule(Pacer(LIMITS), sends) == pytest.approx(expected)


def test_a_group_gets_at_most_twenty_sends_a_minute() -> None:
    pacer = Pacer(LIMITS)
    times = schedule(pacer, [(-100, 0.0)] * 25)
    expected = [0.0]
    for _ in range(19):
        expected.append(on_slot(expected[-1] + 1.05))
    assert times[:20] == pytest.approx(expected)
    # The 21st waits until the first leaves the 61-second window.
    assert times[20] == pytest.approx(on_slot(61.0))
    assert max_in_window(times, 61.0) == 20


def test_a_private_chat_has_no_per_minute_limit() -> None:
    times = schedule(Pacer(LIMITS), [(5, 0.0)] * 25)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert max(gaps) < 1.05 + 1 / 28


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_traffic_never_exceeds_any_limit(seed: int) -> None:
    rng = random.Random(seed)
    pacer = Pacer(LIMITS)
    chats = [*range(1, 40), *range(-20, 0)]
    sends: list[tuple[int, float]] = []
    now = 0.0
    for _ in range(2000):
        now += rng.expovariate(60.0)  # asked for twice as fast as allowed
        sends.append((rng.choice(chats), now))
    times = schedule(pacer, sends)
    assert all(t >= asked for t, (_, asked) in zip(times, sends, strict=True))
    assert max_in_window(times, 1.0) <= 28
    by_chat: dict[int, list[float]] = defaultdict(list)
    for (chat, _), t in zip(sends, times, strict=True):
        by_chat[chat].append(t)
    for chat, chat_times in by_chat.items():
        gaps = [b - a for a, b in itertools.pairwise(chat_times)]
        assert min(gaps, default=2.0) >= 1.05 - 1e-9, chat
        if chat < 0:
            assert max_in_window(chat_times, 61.0) <= 20, chat


def test_sustained_pace_reaches_the_target_of_27_a_second() -> None:
    pacer = Pacer(LIMITS)
    times = schedule(pacer, [(chat, 0.0) for chat in range(1, 2801)])
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert 27.0 <= rate <= 28.0 + 1e-6


@pytest.mark.parametrize(
    ("pauses", "send", "expected_wait"),
    [
        ([("chat", 1, 3.0)], (1, 0.0), 3.0),  # the chat Telegram limited waits
        ([("chat", 1, 3.0)], (2, 0.0), 0.0),  # other chats do not
        ([("all", None, 2.0)], (2, 0.0), 2.0),  # a whole-bot pause holds everyone
        ([("all", None, 2.0), ("all", None, 1.0)], (2, 0.0), 2.0),  # a shorter pause never shortens one
        ([("chat", 1, 3.0)], (1, 4.0), 0.0),  # a pause that ended holds nothing
    ],
)
def test_pauses_hold_sends_back(
    pauses: list[tuple[str, int | None, float]], send: tuple[int, float], expected_wait: float
) -> None:
    pacer = Pacer(LIMITS)
    for kind, chat, until in pauses:
        if kind == "chat":
            assert chat is not None
            pacer.pause(chat, until)
        else:
            pacer.pause_all(until)
    chat, now = send
    wait = pacer.reserve(chat, False, now)
    # Slots are 1/28 s apart, so a pause ending between slots rounds up to the next one.
    assert expected_wait <= wait < expected_wait + 1 / 28


@pytest.mark.parametrize(
    ("floods", "whole_bot"),
    [
        ([(1, 0.0)], [False]),
        ([(1, 0.0), (1, 0.5), (1, 1.0)], [False, False, False]),  # one chat again and again: that chat
        ([(1, 0.0), (2, 0.5), (3, 1.0)], [False, False, True]),  # three chats within 2 s: the bot
        ([(1, 0.0), (2, 1.0), (3, 5.0)], [False, False, False]),  # spread out: each chat on its own
    ],
)
def test_several_chats_refused_at_once_pause_the_whole_bot(
    floods: list[tuple[int, float]], whole_bot: list[bool]
) -> None:
    pacer = Pacer(LIMITS)
    seen = [pacer.flood(chat, now + 4.0, now) for chat, now in floods]
    assert seen == whole_bot
    last_chat, last_now = floods[-1]
    assert pacer.ready_at(last_chat, False, last_now) == pytest.approx(last_now + 4.0)
    assert (pacer.paused_until == pytest.approx(last_now + 4.0)) is whole_bot[-1]


def test_ready_at_reserves_nothing() -> None:
    pacer = Pacer(LIMITS)
    assert pacer.ready_at(1, False, 0.0) == 0.0
    assert pacer.ready_at(1, False, 0.0) == 0.0
    assert pacer.reserve(1, False, 0.0) == 0.0


def test_reset_forgets_reservations_and_pauses() -> None:
    pacer = Pacer(LIMITS)
    pacer.reserve(1, False, 100.0)
    pacer.pause_all(500.0)
    pacer.reset()
    assert pacer.reserve(1, False, 0.0) == 0.0


def test_long_runs_keep_bookkeeping_small() -> None:
    pacer = Pacer(LIMITS)
    for i in range(5000):
        now = i / 28
        pacer.reserve(i, False, now)
    assert len(pacer._taken) <= 40
    assert len(pacer._chat_next) <= 1100


@pytest.mark.parametrize("bad", [{"per_second": 0}, {"group_limit": 0}, {"flood_chats": 0}])
def test_nonsense_limits_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Limits(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("woke", "expected_wait"),
    [
        (0.0, 0.0),  # on time
        (0.015, 0.0),  # within the tolerance
        (0.1, on_slot(0.1) - 0.1),  # late: the next free slot after waking
    ],
)
def test_a_late_wake_up_takes_a_fresh_slot(woke: float, expected_wait: float) -> None:
    pacer = Pacer(LIMITS)
    planned = pacer.reserve(1, False, 0.0)
    assert pacer.confirm(1, False, planned, woke) == pytest.approx(expected_wait)


def test_sends_that_woke_late_together_are_spread_out_again() -> None:
    pacer = Pacer(LIMITS)
    planned = [(chat, pacer.reserve(chat, False, 0.0)) for chat in range(1, 6)]  # 0, 1/28, ... 4/28
    # The loop stalled: all five wake at 0.2 s.
    times = [0.2 + pacer.confirm(chat, False, at, 0.2) for chat, at in planned]
    assert len(set(times)) == 5
    assert max_in_window([*times, *(pacer.reserve(c, False, 0.2) + 0.2 for c in range(10, 40))], 1.0) <= 28


def test_a_moved_send_keeps_the_chat_interval_from_its_new_time() -> None:
    pacer = Pacer(LIMITS)
    planned = pacer.reserve(-5, True, 0.0)
    moved = 0.5 + pacer.confirm(-5, True, planned, 0.5)
    assert pacer.ready_at(-5, True, 0.6) == pytest.approx(moved + 1.05)
    assert pacer._group_log[-5] == [pytest.approx(moved)]
