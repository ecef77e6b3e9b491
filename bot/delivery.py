"""Delivery: drain the outbox at Telegram's pace, edit alerts as stories grow, send the daily digests.

Each row's outcome is committed in its own short transaction right after Telegram answers, so a crash
can repeat at most the sends that were in flight (the window between Telegram's answer and that commit).
Nothing here knows Telegram's types: a Sender turns stories into messages and Telegram's failures into
the DeliveryError tree.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain import Chat, ChatSettings, OutboxEntry, OutboxKind, OutboxStatus, Story, Urgency
from bot.errors import (
    ChatMoved,
    ChatUnreachable,
    DeliveryError,
    DeliveryUncertain,
    MessageRejected,
    RetryLater,
    ThreadGone,
    TransientDeliveryError,
)
from bot.metrics import Metrics
from bot.ratelimit import Pacer
from bot.storage.db import Database
from bot.storage.instance import this_worker

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# How long a paused chat's rows wait before they are looked at again (the pause may have been lifted).
PAUSE_RECHECK = timedelta(minutes=5)
Sleep = Callable[[float], Awaitable[None]]


class Sender(Protocol):
    """Telegram as delivery sees it. Each method raises DeliveryError subclasses for Telegram's failures."""

    async def send_alert(self, chat: Chat, story: Story, *, silent: bool) -> int:
        """Post the story's alert; returns Telegram's message id."""
        ...

    async def send_followup(self, chat: Chat, story: Story, previous: Urgency, *, silent: bool) -> int:
        """Post a short note that the story's urgency changed from `previous`; returns the message id."""
        ...

    async def edit_alert(self, chat: Chat, message_id: int, story: Story) -> None:
        """Make the alert already sent show the story as it is now ("not modified" is success)."""
        ...

    async def send_digest(self, chat: Chat, stories: Sequence[Story], since: datetime) -> None:
        """Post the digest of `stories` (maybe none) since `since`."""
        ...


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What one drain did: rows sent, alerts edited, attempts retried later, rows failed, chats deactivated.

    `postponed` counts rows held back because Telegram asked to wait (no attempt counted).
    """

    sent: int = 0
    edited: int = 0
    retried: int = 0
    failed: int = 0
    deactivated: int = 0
    postponed: int = 0


# --- pure helpers ------------------------------------------------------------------------------------


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`; UTC when the name is unknown or malformed (a bad setting never blocks)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def in_quiet_hours(settings: ChatSettings, now: datetime) -> bool:
    """Whether `now` falls in the chat's quiet hours (start inclusive, end exclusive, wrapping midnight)."""
    start, end = settings.quiet_start, settings.quiet_end
    if start is None or end is None or start == end:
        return False
    hour = now.astimezone(zone(settings.timezone)).hour
    if start < end:
        return start <= hour < end
    return hour >= start or hour < end


def digest_moment(settings: ChatSettings, now: datetime) -> datetime:
    """Today's digest time (digest_hour o'clock in the chat's time zone, today there) as aware UTC."""
    tz = zone(settings.timezone)
    local = now.astimezone(tz)
    hour = min(max(settings.digest_hour, 0), 23)
    return local.replace(hour=hour, minute=0, second=0, microsecond=0).astimezone(UTC)


def retry_delay(attempt: int, *, base: float = 5.0, cap: float = 900.0) -> float:
    """Seconds before retry number `attempt` (1 = first retry): base doubled per attempt, at most `cap`."""
    return float(min(cap, base * 2 ** min(max(attempt - 1, 0), 30)))


# Something shaped like a bot token (digits, a colon, 35 URL-safe characters): never stored or logged.
_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")
MAX_REASON = 500


def shorten(title: str, limit: int = 80) -> str:
    """A story title short enough for a log line."""
    return title if len(title) <= limit else title[: limit - 1] + "…"


def readable(reason: str) -> str:
    """A failure reason fit to store and show admins: one line, bounded, any bot token masked."""
    text = " ".join(_TOKEN.sub("<token>", reason).split())
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


# --- the deliverer ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Job:
    """One row to act on, with what it needs loaded in one read transaction."""

    entry: OutboxEntry
    chat: Chat
    story: Story


class _Tally:
    """Counts of one drain, bumped from the database threads (hence the lock); frozen into a report."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def bump(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    def report(self) -> DeliveryReport:
        with self._lock:
            return DeliveryReport(**{name: self._counts[name] for name in DeliveryReport.__dataclass_fields__})


class Deliverer:
    """Sends what the outbox owes, edits sent alerts, and sends digests; holds only what was passed in."""

    def __init__(
        self,
        db: Database,
        sender: Sender,
        clock: Clock,
        *,
        pacer: Pacer | None = None,
        max_attempts: int = 6,
        edit_interval: timedelta = timedelta(minutes=3),
        sleep: Sleep = asyncio.sleep,
        concurrency: int = 8,
        batch_size: int = 200,
        max_wait: float = 3.0,
        retry_base: float = 5.0,
        retry_cap: float = 900.0,
        worker: str | None = None,
        claim_time: timedelta = timedelta(minutes=2),
        live_within: timedelta = timedelta(seconds=30),
        metrics: Metrics | None = None,
    ) -> None:
        """`max_wait`: a row whose chat may not be sent to for longer than this is postponed in the
        database instead of holding one of the `concurrency` senders asleep. `worker` names this process
        on rows it claims; a claim lasts `claim_time` (far longer than a batch takes), so other workers on
        the database send other rows. A claim of a worker whose heartbeat is older than `live_within` is
        void (the runner beats every few seconds): a killed worker's rows go to the others at once."""
        if max_attempts < 1 or concurrency < 1 or batch_size < 1:
            raise ValueError("max_attempts, concurrency and batch_size must be at least 1")
        self.db = db
        self.sender = sender
        self.clock = clock
        self.pacer = pacer or Pacer()
        self._limits = self.pacer.limits  # the whole bot's; share() divides the overall rate
        self._workers = 1
        self.max_attempts = max_attempts
        self.edit_interval = edit_interval
        self.sleep = sleep
        self.concurrency = concurrency
        self.batch_size = batch_size
        self.max_wait = max_wait
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.worker = worker or this_worker().id
        self.claim_time = claim_time
        self.live_within = live_within
        self.metrics = metrics or Metrics()
        self._lock = asyncio.Lock()
        self._last_seconds = -float("inf")
        self._stopping = False
        # Rows Telegram accepted whose SENT could not be committed (the database failed right then):
        # they are recorded on their next turn instead of being sent again.
        self._unrecorded: dict[int, tuple[int, Story]] = {}

    def share(self, workers: int) -> None:
        """Pace sends for 1/`workers` of Telegram's overall limit: the limit is the bot's, and that many
        workers send for it. Per-chat pacing starts afresh; a send that then trips a limit gets a 429 and is
        postponed as usual, never lost or repeated."""
        workers = max(workers, 1)
        if workers == self._workers:
            return
        self._workers = workers
        self.pacer = Pacer(replace(self._limits, per_second=self._limits.per_second / workers))
        log.info("delivery paced at %.1f messages/s: %d worker(s) share the bot's limit",
                 self.pacer.limits.per_second, workers)

    def stop(self) -> None:
        """Take no new rows from now on: sends in flight finish and are recorded, the rest stay due.

        Called when the process is told to stop, so a shutdown waits seconds, not the minutes a long queue
        takes at Telegram's pace; the next start sends the rest.
        """
        self._stopping = True

    # --- time ---------------------------------------------------------------------------------------

    def _seconds(self) -> float:
        """The pacer's time: the injected clock in seconds. A jump backwards resets the pacer, whose
        reservations would otherwise hold sends back for as long as the jump."""
        seconds = self.clock().timestamp()
        if seconds < self._last_seconds - 1.0:
            log.warning("clock went back %.1f s; forgetting send pacing", self._last_seconds - seconds)
            self.pacer.reset()
        self._last_seconds = seconds
        return seconds

    async def _await_turn(self, chat_id: int, is_group: bool, now_s: float) -> None:
        """Sleep until the pacer's slot for a send to the chat; a late wake-up takes a fresh slot."""
        wait = self.pacer.reserve(chat_id, is_group, now_s)
        planned = now_s + wait
        for _ in range(3):  # under a steady overload, send after a few tries rather than never
            await self.sleep(wait)
            now_s = self._seconds()
            wait = self.pacer.confirm(chat_id, is_group, planned, now_s)
            if wait <= 0:
                return
            planned = now_s + wait
        await self.sleep(wait)

    def _when(self, seconds: float) -> datetime:
        """The pacer time `seconds` as an aware UTC datetime."""
        return datetime.fromtimestamp(seconds, UTC)

    # --- drain --------------------------------------------------------------------------------------

    async def drain(self) -> DeliveryReport:
        """Send every due row at Telegram's pace, then the due edits; returns what was done.

        Rows go out oldest first, a few at a time. Returns early (rows left due) while the whole bot is
        paused for longer than max_wait. Two drains never run at once in one process.
        """
        async with self._lock:
            tally = _Tally()
            await self._send_due(tally)
            await self._edit_due(tally)
            return tally.report()

    def _paused(self) -> bool:
        now = self._seconds()
        if self.pacer.paused_until > now + self.max_wait:
            log.info("delivery paused for %.0f s: Telegram limited the bot", self.pacer.paused_until - now)
            return True
        return False

    async def _send_due(self, tally: _Tally) -> None:
        previous: list[int] = []
        semaphore = asyncio.Semaphore(self.concurrency)
        while not self._stopping and not self._paused():
            now = self.clock()
            entries = await asyncio.to_thread(self._due, now)
            ids = [e.id for e in entries]
            if not entries or ids == previous:  # the second test guards against a row that never moves
                return
            previous = ids
            stories: dict[int, Story] = {}
            try:
                await asyncio.gather(*(self._send_slot(entry, semaphore, stories, tally) for entry in entries))
            finally:
                # Rows left unsent (a stop, a pause) go back to every worker at once, not when the claim
                # runs out. A row sent but not recorded stays claimed: no other worker may send it again.
                kept = [i for i in ids if i not in self._unrecorded]
                await asyncio.to_thread(self._release, kept)

    async def _send_slot(
        self, entry: OutboxEntry, semaphore: asyncio.Semaphore, stories: dict[int, Story], tally: _Tally
    ) -> None:
        async with semaphore:
            if self._stopping:
                return  # left due for the next start
            if self.pacer.paused_until > self._seconds() + self.max_wait:
                return  # left due; the next drain takes it when the pause is over
            await self._send_guarded(entry, stories, tally)

    def _due(self, now: datetime) -> list[OutboxEntry]:
        """The next batch of due rows, claimed for this worker."""
        with self.db.unit_of_work() as uow:
            return uow.outbox.claim(now, self.batch_size, self.worker, now + self.claim_time,
                                    live_since=now - self.live_within)

    def _release(self, entry_ids: list[int]) -> None:
        with self.db.unit_of_work() as uow:
            uow.outbox.release(entry_ids, self.worker)

    async def _send_guarded(self, entry: OutboxEntry, stories: dict[int, Story], tally: _Tally) -> None:
        """Deliver one row; an unexpected error is logged with the chat and recorded on the row."""
        try:
            await self._send_one(entry, stories, tally)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("outbox row %d for chat %d: unexpected error", entry.id, entry.chat_id)
            if entry.id in self._unrecorded:
                return  # sent; only recording it failed, and the next drain records it
            reason = readable(f"unexpected {type(exc).__name__}: {exc}")
            try:
                await asyncio.to_thread(self._record_retry, entry.id, reason, tally)
            except Exception:
                log.exception("outbox row %d: could not record the error", entry.id)

    def _load(self, entry_id: int, stories: dict[int, Story]) -> _Job | str | None:
        """The row (re-read: another drain may have sent it), its chat and story; a reason to fail it;
        or None when it is no longer pending."""
        with self.db.unit_of_work() as uow:
            entry = uow.outbox.get(entry_id)
            if entry.status is not OutboxStatus.PENDING:
                return None
            if not uow.outbox.held_by(entry_id, self.worker, self.clock()):
                return None  # our claim ran out while the row waited: another worker may be sending it
            chat = uow.chats.get(entry.chat_id)
            if chat is None:
                return "chat is no longer stored"
            if not chat.active:
                return chat.inactive_reason or "chat is inactive"
            story = stories.get(entry.story_id)
            if story is None:
                # Cached per batch: a revision that lands meanwhile is shown later by an edit.
                story = stories[entry.story_id] = uow.stories.get(entry.story_id)
            if story.merged_into is not None:
                return f"not sent: the story became part of story {story.merged_into}"
            if not set(story.topics) & set(chat.topics):
                return "chat unsubscribed from the story's topics before it went out"
            return _Job(entry, chat, story)

    async def _send_one(self, entry: OutboxEntry, stories: dict[int, Story], tally: _Tally) -> None:
        if entry.id in self._unrecorded:
            message_id, story = self._unrecorded[entry.id]
            await asyncio.to_thread(self._mark_sent, entry.id, message_id, story, tally)
            del self._unrecorded[entry.id]
            return
        for _hop in range(3):  # a group may move to a supergroup; follow it, but never in circles
            job = await asyncio.to_thread(self._load, entry.id, stories)
            if job is None:
                return
            if isinstance(job, str):
                await asyncio.to_thread(self._fail, entry.id, job, tally)
                return
            chat = job.chat
            if chat.paused_until is not None and chat.paused_until > self.clock():
                # /pause: the rows wait. Looked at again within PAUSE_RECHECK, so "/pause off" takes effect soon.
                until = min(chat.paused_until, self.clock() + PAUSE_RECHECK)
                await asyncio.to_thread(self._postpone, chat.id, until, tally)
                return
            is_group = chat.id < 0
            now_s = self._seconds()
            ready = self.pacer.ready_at(chat.id, is_group, now_s)
            if ready > now_s + self.max_wait:
                # The chat must wait (its per-minute limit or Telegram's pause): hold its rows in the
                # database rather than a sender here.
                await asyncio.to_thread(self._postpone, chat.id, self._when(ready), tally)
                return
            await self._await_turn(chat.id, is_group, now_s)
            try:
                message_id = await self._send(job)
            except ChatMoved as moved:
                log.info("chat %d moved to %d; sending there", chat.id, moved.new_chat_id)
                await asyncio.to_thread(self._move, chat.id, moved.new_chat_id)
                continue
            except ThreadGone:
                log.info("chat %d: its forum topic is gone; sending to General", chat.id)
                await asyncio.to_thread(self._clear_thread, chat.id)
                continue
            except RetryLater as limited:
                await self._limited(chat.id, limited, tally)
            except DeliveryUncertain as unsure:
                reason = f"no answer from Telegram ({unsure.reason}); it may have arrived, so it is not resent"
                await asyncio.to_thread(self._fail, entry.id, reason, tally)
            except TransientDeliveryError as error:
                await asyncio.to_thread(self._record_retry, entry.id, error.reason, tally)
            except ChatUnreachable as gone:
                await asyncio.to_thread(self._deactivate, chat.id, gone.reason, tally)
            except MessageRejected as rejected:
                await asyncio.to_thread(self._fail, entry.id, f"rejected by Telegram: {rejected.reason}", tally)
            except Exception as error:
                # Outside the Sender's contract, raised once the request may have gone out: a retry could
                # show the chat the alert twice, so it counts as uncertain, like a send left unanswered.
                # (_fail logs it, with the error's type and message.)
                reason = (f"unexpected {type(error).__name__}: {error} during the send; it may have arrived, "
                          "so it is not resent")
                await asyncio.to_thread(self._fail, entry.id, reason, tally)
            else:
                try:
                    await asyncio.to_thread(self._mark_sent, entry.id, message_id, job.story, tally)
                except Exception:
                    self._unrecorded[entry.id] = (message_id, job.story)
                    raise
            return
        await asyncio.to_thread(self._fail, entry.id, "the chat kept moving to new ids", tally)

    async def _send(self, job: _Job) -> int:
        silent = in_quiet_hours(job.chat.settings, self.clock())
        started = time.perf_counter()
        try:
            if job.entry.kind is OutboxKind.FOLLOWUP:
                # outbox.enqueue owes a follow-up only when the alert went out as an update and the story is
                # urgent now, so the urgency the alert showed is UPDATE.
                return await self.sender.send_followup(job.chat, job.story, Urgency.UPDATE, silent=silent)
            return await self.sender.send_alert(job.chat, job.story, silent=silent)
        finally:
            self.metrics.send_took(time.perf_counter() - started)

    async def _limited(self, chat_id: int, limited: RetryLater, tally: _Tally) -> None:
        """Telegram asked to wait: hold the chat (or everything), without counting an attempt."""
        now_s = self._seconds()
        seconds = max(limited.seconds, 1.0)  # never 0: the row would come straight back
        until = now_s + seconds
        whole = self.pacer.flood(chat_id, until, now_s) or limited.whole_bot
        if whole:
            self.pacer.pause_all(until)
            log.warning("Telegram limited the bot: pausing all sends for %.0f s", seconds)
        await asyncio.to_thread(self._postpone, chat_id, self._when(until), tally)

    # --- outcomes, each in its own transaction ------------------------------------------------------

    def _mark_sent(self, entry_id: int, message_id: int, story: Story, tally: _Tally) -> None:
        with self.db.unit_of_work() as uow:
            uow.outbox.mark_sent(entry_id, message_id, story.revision, story.urgency, self.clock())
            entry = uow.outbox.get(entry_id)
        tally.bump("sent")
        log.info("%s of story %d %r sent to chat %d as message %d", entry.kind.value, story.id,
                 shorten(story.title), entry.chat_id, message_id,
                 extra={"story": story.id, "chat": entry.chat_id, "row": entry_id})

    def _fail(self, entry_id: int, reason: str, tally: _Tally) -> None:
        with self.db.unit_of_work() as uow:
            uow.outbox.mark_failed(entry_id, readable(reason), self.clock())
            entry = uow.outbox.get(entry_id)
        tally.bump("failed")
        log.warning("%s of story %d to chat %d given up: %s", entry.kind.value, entry.story_id, entry.chat_id,
                    readable(reason), extra={"story": entry.story_id, "chat": entry.chat_id, "row": entry_id})

    def _record_retry(self, entry_id: int, reason: str, tally: _Tally) -> None:
        """Count a failed attempt: retry later with backoff, or give up after max_attempts."""
        with self.db.unit_of_work() as uow:
            entry = uow.outbox.get(entry_id)
            if entry.status is not OutboxStatus.PENDING:
                return
            attempt = entry.attempts + 1
            now = self.clock()
            if attempt >= self.max_attempts:
                uow.outbox.mark_failed(entry_id, readable(f"gave up after {attempt} attempts: {reason}"), now)
                tally.bump("failed")
                return
            delay = retry_delay(attempt, base=self.retry_base, cap=self.retry_cap)
            uow.outbox.mark_retry(entry_id, now + timedelta(seconds=delay), readable(reason))
        tally.bump("retried")
        log.info("%s of story %d to chat %d not sent (attempt %d, retry in %.0f s): %s", entry.kind.value,
                 entry.story_id, entry.chat_id, attempt, delay, readable(reason),
                 extra={"story": entry.story_id, "chat": entry.chat_id, "row": entry_id})

    def _postpone(self, chat_id: int, until: datetime, tally: _Tally) -> None:
        with self.db.unit_of_work() as uow:
            uow.outbox.postpone_chat(chat_id, until)
        tally.bump("postponed")

    def _deactivate(self, chat_id: int, reason: str, tally: _Tally) -> None:
        """The bot cannot reach the chat: deactivate it, which fails its pending rows (this one too)."""
        with self.db.unit_of_work() as uow:
            uow.chats.deactivate(chat_id, readable(reason), self.clock())
        log.info("chat %d deactivated: %s", chat_id, reason)
        tally.bump("deactivated")
        tally.bump("failed")

    def _move(self, chat_id: int, new_chat_id: int) -> None:
        with self.db.unit_of_work() as uow:
            uow.chats.move(chat_id, new_chat_id)

    def _clear_thread(self, chat_id: int) -> None:
        with self.db.unit_of_work() as uow:
            uow.chats.set_thread(chat_id, None)

    # --- edits --------------------------------------------------------------------------------------

    async def _edit_due(self, tally: _Tally) -> None:
        if self._paused():
            return
        entries = await asyncio.to_thread(self._edits_due, self.clock())
        semaphore = asyncio.Semaphore(self.concurrency)

        async def one(entry: OutboxEntry) -> None:
            async with semaphore:
                try:
                    await self._edit_one(entry, tally)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    # Nothing on the row records edits' errors; the next drain tries again.
                    log.exception("edit of outbox row %d in chat %d: unexpected error", entry.id, entry.chat_id)

        await asyncio.gather(*(one(entry) for entry in entries))

    def _edits_due(self, now: datetime) -> list[OutboxEntry]:
        with self.db.unit_of_work() as uow:
            return uow.outbox.edits_due(now, self.edit_interval, self.batch_size)

    def _load_edit(self, entry: OutboxEntry) -> tuple[Chat, Story] | None:
        with self.db.unit_of_work() as uow:
            chat = uow.chats.get(entry.chat_id)
            if chat is None or not chat.active:
                return None
            return chat, uow.stories.get(entry.story_id)

    async def _edit_one(self, entry: OutboxEntry, tally: _Tally) -> None:
        loaded = await asyncio.to_thread(self._load_edit, entry)
        if loaded is None or entry.message_id is None:
            return
        chat, story = loaded
        is_group = chat.id < 0
        now_s = self._seconds()
        if self.pacer.paused_until > now_s + self.max_wait or self.pacer.ready_at(chat.id, is_group, now_s) > (
            now_s + self.max_wait
        ):
            return  # edits_due offers it again next drain
        await self._await_turn(chat.id, is_group, now_s)
        try:
            await self.sender.edit_alert(chat, entry.message_id, story)
        except RetryLater as limited:
            now_s = self._seconds()
            if self.pacer.flood(chat.id, now_s + max(limited.seconds, 1.0), now_s) or limited.whole_bot:
                self.pacer.pause_all(now_s + max(limited.seconds, 1.0))
            return
        except TransientDeliveryError:
            return  # an edit may be repeated safely; the next drain tries again
        except ChatUnreachable as gone:
            await asyncio.to_thread(self._deactivate_only, chat.id, gone.reason, tally)
            return
        except (ChatMoved, MessageRejected) as error:
            # The message is gone, too old to edit, or in the group's old (read-only) incarnation: stop
            # trying this revision. A moved chat is followed so its next sends go to the new id.
            log.info("edit of outbox row %d in chat %d given up: %s", entry.id, chat.id, error.reason)
            if isinstance(error, ChatMoved):
                await asyncio.to_thread(self._move, chat.id, error.new_chat_id)
            await asyncio.to_thread(self._mark_edited, entry.id, story.revision, None)
            return
        await asyncio.to_thread(self._mark_edited, entry.id, story.revision, tally)

    def _mark_edited(self, entry_id: int, revision: int, tally: _Tally | None) -> None:
        with self.db.unit_of_work() as uow:
            uow.outbox.mark_edited(entry_id, revision, self.clock())
        if tally is not None:
            tally.bump("edited")

    def _deactivate_only(self, chat_id: int, reason: str, tally: _Tally) -> None:
        with self.db.unit_of_work() as uow:
            uow.chats.deactivate(chat_id, readable(reason), self.clock())
        log.info("chat %d deactivated: %s", chat_id, reason)
        tally.bump("deactivated")

    # --- digests ------------------------------------------------------------------------------------

    async def send_digests(self) -> int:
        """Send the digests due now; returns how many went out.

        A chat is due when its digest hour has passed today in its time zone and its last digest is
        older than that moment. The digest covers stories since the last one (or the past day). One
        chat's failure never stops the others; a chat left unsent is tried again on the next call.
        """
        now = self.clock()
        chats = await asyncio.to_thread(self._digest_chats)
        sent = 0
        for chat in chats:
            moment = digest_moment(chat.settings, now)
            if now < moment or (chat.last_digest_at is not None and chat.last_digest_at >= moment):
                continue
            if chat.paused_until is not None and chat.paused_until > now:
                continue  # paused: the next digest after the pause covers it (it starts at the last one)
            try:
                sent += await self._send_digest(chat, now)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("digest for chat %d: unexpected error", chat.id)
        return sent

    def _digest_chats(self) -> list[Chat]:
        with self.db.unit_of_work() as uow:
            return uow.chats.digest_chats()

    def _digest_stories(self, chat: Chat, since: datetime) -> list[Story]:
        with self.db.unit_of_work() as uow:
            return uow.stories.since(since, chat.topics, urgent_only=chat.settings.urgent_only)

    def _mark_digest(self, chat_id: int, at: datetime) -> None:
        with self.db.unit_of_work() as uow:
            uow.chats.mark_digest(chat_id, at)

    async def _send_digest(self, chat: Chat, now: datetime) -> int:
        since = chat.last_digest_at or now - timedelta(days=1)
        stories = await asyncio.to_thread(self._digest_stories, chat, since)
        is_group = chat.id < 0
        now_s = self._seconds()
        if self.pacer.ready_at(chat.id, is_group, now_s) > now_s + self.max_wait:
            return 0  # the next call sends it
        await self._await_turn(chat.id, is_group, now_s)
        try:
            await self.sender.send_digest(chat, stories, since)
        except RetryLater as limited:
            await self._limited(chat.id, limited, _Tally())
            return 0
        except ChatUnreachable as gone:
            await asyncio.to_thread(self._deactivate_only, chat.id, gone.reason, _Tally())
            return 0
        except ChatMoved as moved:
            await asyncio.to_thread(self._move, chat.id, moved.new_chat_id)
            return 0  # the next call sends it to the new id
        except ThreadGone:
            await asyncio.to_thread(self._clear_thread, chat.id)
            return 0  # the next call sends it to General
        except MessageRejected as rejected:
            # Retrying the same digest would be refused again; skip to the next one.
            log.warning("digest for chat %d rejected: %s", chat.id, rejected.reason)
            await asyncio.to_thread(self._mark_digest, chat.id, now)
            return 0
        except DeliveryError as error:
            log.warning("digest for chat %d not sent, will retry: %s", chat.id, error.reason)
            return 0
        await asyncio.to_thread(self._mark_digest, chat.id, now)
        return 1

