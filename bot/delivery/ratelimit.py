"""A pacer for Telegram's send limits: pure bookkeeping, no I/O, no clock (the caller passes `now`).

Telegram documents about 30 messages a second for a bot overall, 1 a second per chat and 20 a minute per
group or channel, and answers 429 with `retry_after` beyond them. The pacer hands out send times that keep
every admitted send inside all three, and remembers the pauses Telegram asked for. Times are seconds on
any monotonic scale; the caller sleeps the returned wait, then sends.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits kept, each a little inside Telegram's figure: sends arrive with some jitter."""

    # 28 a second, one every 1/28 s: any 1-second window holds at most 28 sends as reserved, so a send
    # may arrive ~70 ms late relative to the 30th before it and still stay under Telegram's 30.
    per_second: float = 28.0
    chat_interval: float = 1.05  # seconds between two sends to one chat (Telegram: 1 a second)
    group_limit: int = 20  # sends per group or channel within group_window (Telegram: 20 a minute)
    group_window: float = 61.0
    # 429s from this many distinct chats within flood_window mean the bot as a whole is limited.
    flood_chats: int = 3
    flood_window: float = 2.0
    # A sender waking this much after its reserved time takes a fresh slot instead of going at once:
    # sends that bunch up after a stall (a busy CPU, a slow database write) would break the 1-second
    # window that the even spacing keeps.
    late_tolerance: float = 0.02

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.chat_interval < 0 or self.group_limit < 1 or self.group_window < 0:
            raise ValueError(f"invalid limits: {self}")
        if self.flood_chats < 1 or self.flood_window < 0 or self.late_tolerance < 0:
            raise ValueError(f"invalid flood detection: {self}")


# A float slightly under a whole slot number still means that slot (rounding of k / rate * rate).
_EPSILON = 1e-9
# Bookkeeping of chats and groups idle this long past their window is dropped every so many reservations.
_PRUNE_EVERY = 1024


class Pacer:
    """Send times within Limits for every chat; pauses per chat and for the whole bot."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._slot = 1.0 / self.limits.per_second
        self._clear()

    def _clear(self) -> None:
        self._taken: set[int] = set()  # global slots reserved (slot k is at time k * _slot)
        self._taken_heap: list[int] = []  # the same, for pruning the oldest
        self._last_slot = -1  # the highest slot taken: reserving past it needs no search
        self._chat_next: dict[int, float] = {}  # earliest next send per chat (interval or pause)
        self._group_log: dict[int, list[float]] = {}  # recent send times per group, ascending
        self._all_until = -math.inf
        self._floods: deque[tuple[float, int]] = deque()  # (when, chat) of recent 429s
        self._reserved = 0

    # --- queries ---------------------------------------------------------------------------------------

    @property
    def paused_until(self) -> float:
        """When the whole-bot pause ends (-inf when there is none)."""
        return self._all_until

    def ready_at(self, chat_id: int, is_group: bool, now: float) -> float:
        """The earliest time this chat's limits and every pause allow a send; reserves nothing."""
        ready = max(now, self._all_until, self._chat_next.get(chat_id, -math.inf))
        if is_group:
            log = self._group_log.get(chat_id)
            if log is not None and len(log) >= self.limits.group_limit:
                ready = max(ready, log[-self.limits.group_limit] + self.limits.group_window)
        return ready

    # --- reservations ------------------------------------------------------------------------------------

    def reserve(self, chat_id: int, is_group: bool, now: float) -> float:
        """Seconds to wait from `now` before a send to `chat_id` may go; the send is counted at that time.

        `is_group` is true for groups, supergroups and channels (negative chat ids), which have the
        per-minute limit as well. Every send the caller makes at its reserved time keeps all limits.
        """
        self._prune(now)
        start = self.ready_at(chat_id, is_group, now)
        slot = math.ceil(start / self._slot - _EPSILON)
        if slot <= self._last_slot:
            while slot in self._taken:  # a slot ahead was reserved by a chat that had to wait
                slot += 1
        at = max(start, slot * self._slot)
        self._taken.add(slot)
        heapq.heappush(self._taken_heap, slot)
        self._last_slot = max(self._last_slot, slot)
        self._chat_next[chat_id] = at + self.limits.chat_interval
        if is_group:
            bisect.insort(self._group_log.setdefault(chat_id, []), at)
        self._reserved += 1
        return at - now

    def confirm(self, chat_id: int, is_group: bool, planned: float, now: float) -> float:
        """Called on waking for a send reserved at `planned`: 0 when it may go now, else the seconds to
        wait for a fresh slot (when more than late_tolerance late; the reservation is moved there)."""
        if now - planned <= self.limits.late_tolerance:
            return 0.0
        old_slot = round(planned / self._slot)
        self._taken.discard(old_slot)  # in the past: nobody reserves it again
        slot = math.ceil(now / self._slot - _EPSILON)
        while slot in self._taken:
            slot += 1
        at = slot * self._slot
        self._taken.add(slot)
        heapq.heappush(self._taken_heap, slot)
        self._last_slot = max(self._last_slot, slot)
        self._chat_next[chat_id] = max(self._chat_next.get(chat_id, -math.inf), at + self.limits.chat_interval)
        log = self._group_log.get(chat_id) if is_group else None
        if log:
            index = min(range(len(log)), key=lambda i: abs(log[i] - planned))
            del log[index]
            bisect.insort(log, at)
        return at - now

    # --- pauses --------------------------------------------------------------------------------------------

    def pause(self, chat_id: int, until: float) -> None:
        """Send nothing to `chat_id` before `until` (Telegram's retry_after for that chat)."""
        self._chat_next[chat_id] = max(self._chat_next.get(chat_id, -math.inf), until)

    def pause_all(self, until: float) -> None:
        """Send nothing at all before `until` (the bot as a whole is limited)."""
        self._all_until = max(self._all_until, until)

    def flood(self, chat_id: int, until: float, now: float) -> bool:
        """Record a 429 for `chat_id` asking to wait until `until`; pause the chat, and the whole bot too
        (returning True) when `flood_chats` distinct chats were refused within `flood_window`.

        Telegram's 429 does not say which limit was hit. Sends here are already paced per chat, so one
        chat refused is most likely that chat (messages the bot sent it outside the pacer, such as command
        replies); several chats refused at once means the bot's overall limit.
        """
        self.pause(chat_id, until)
        self._floods.append((now, chat_id))
        while self._floods and self._floods[0][0] < now - self.limits.flood_window:
            self._floods.popleft()
        if len({chat for _, chat in self._floods}) >= self.limits.flood_chats:
            self.pause_all(until)
            return True
        return False

    def reset(self) -> None:
        """Forget every reservation and pause (the caller's clock jumped backwards)."""
        self._clear()

    # --- bookkeeping ---------------------------------------------------------------------------------------

    def _prune(self, now: float) -> None:
        """Drop global slots older than a second; every _PRUNE_EVERY reservations, idle chats and groups."""
        horizon = math.floor((now - 1.0) / self._slot)
        while self._taken_heap and self._taken_heap[0] < horizon:
            self._taken.discard(heapq.heappop(self._taken_heap))
        if self._reserved % _PRUNE_EVERY:
            return
        self._chat_next = {chat: at for chat, at in self._chat_next.items() if at > now}
        window = self.limits.group_window
        self._group_log = {chat: log for chat, log in self._group_log.items() if log and log[-1] > now - window}
        for log in self._group_log.values():
            del log[: bisect.bisect_right(log, now - window)]
