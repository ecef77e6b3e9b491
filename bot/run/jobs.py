"""The scheduler's jobs. Each is a tick: it reads what is due from the database, does it, and returns.

A job never overlaps itself (a tick that finds the previous one still running is skipped), never raises (one
failure is logged and the next tick tries again), and can be waited for at shutdown, so SIGTERM lets in-flight
work finish and leaves the rest in the database for the next start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.config import Config
from bot.delivery.deliverer import Deliverer, DeliveryReport
from bot.metrics import Metrics
from bot.pipeline import CycleReport, Poller
from bot.run.reports import DailyCount, due, failure_alarms, feed_alarms, render_report
from bot.storage.db import Database
from bot.storage.feeds import Claim
from bot.storage.unit_of_work import UnitOfWork

# Named, not __name__: operators filter logs on this name, which stays when the module moves.
log = logging.getLogger("bot.jobs")

Clock = Callable[[], datetime]
Notify = Callable[[str], Awaitable[None]]

HEARTBEAT = "scheduler"
# Where the admin-report bookkeeping lives in the heartbeats table: one row per alarm key told.
_TOLD = "report:"
_DAILY = "report:daily"
_FAILURES_SEEN = "report:failures-since"


def describe(report: DeliveryReport) -> str:
    """A drain's counts as an operator reads them: "12 sent, 1 edited, 2 failed (1 chat deactivated)"."""
    parts = [f"{report.sent} sent"]
    for count, what in ((report.edited, "edited"), (report.retried, "to retry"), (report.failed, "failed"),
                        (report.postponed, "postponed")):
        if count:
            parts.append(f"{count} {what}")
    if report.deactivated:
        parts.append(f"{report.deactivated} chat{'s' if report.deactivated > 1 else ''} deactivated")
    return ", ".join(parts)


@dataclass
class JobState:
    """Mutable bookkeeping of the running jobs (not shared with anything else)."""

    locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    running: set[asyncio.Task[None]] = field(default_factory=set)
    last_cycle: CycleReport | None = None
    last_cycle_at: datetime | None = None


class Jobs:
    """The bot's periodic work over one database; the Telegram runner schedules these methods."""

    def __init__(
        self, config: Config, db: Database, poller: Poller, deliverer: Deliverer, clock: Clock, *,
        notify_admins: Notify | None = None, poll_claim: Claim | None = None, metrics: Metrics | None = None,
    ) -> None:
        """`poll_claim`: claim due feeds in batches (cycles follow each other until none are left), so several
        workers on one database share the feeds; None takes every due feed at once."""
        self.poll_claim = poll_claim
        self.metrics = metrics or Metrics()
        self._stopping = False
        self.config = config
        self.db = db
        self.poller = poller
        self.deliverer = deliverer
        self.clock = clock
        self.notify_admins = notify_admins
        self.state = JobState()

    def replace_config(self, config: Config, poller: Poller) -> None:
        """Use a reloaded feeds.yaml from the next tick on (the caller has synced the feeds table)."""
        self.config = config
        self.poller = poller

    async def _guarded(self, name: str, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work` unless job `name` is already running; log and swallow its failure."""
        lock = self.state.locks.setdefault(name, asyncio.Lock())
        if lock.locked():
            log.debug("job %s: previous tick still running; skipped", name)
            return
        async with lock:
            task = asyncio.current_task()
            # A job may run another inside it (poll delivers at once): only the outer one tracks the task.
            tracked = task is not None and task not in self.state.running
            if tracked and task is not None:
                self.state.running.add(task)
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job %s: failed; the next tick will try again", name)
            finally:
                if tracked and task is not None:
                    self.state.running.discard(task)

    async def poll(self) -> None:
        """Poll the feeds that are due; when stories were created or changed, deliver at once."""

        async def work() -> None:
            matched = False
            while True:
                report = await self.poller.run_cycle(claim=self.poll_claim)
                self.state.last_cycle, self.state.last_cycle_at = report, self.clock()
                self.metrics.polled(((o.status, o.new_items) for o in report.outcomes), report.new_stories)
                if report.outcomes:
                    stories = report.new_stories
                    items = sum(o.new_items for o in report.outcomes)
                    log.info("poll: %d feeds, %d new items, %d new stories, %d failed",
                             len(report.outcomes), items, stories, report.failed)
                    matched = matched or any(o.matched_items for o in report.outcomes)
                # A full batch may have left feeds due: take the next at once rather than a tick later. The
                # delivery comes after the last batch, as after one whole cycle: delivering in between would
                # hold this worker's polling for as long as the queue takes at Telegram's pace.
                if self.poll_claim is None or len(report.outcomes) < self.poll_claim.batch or self._stopping:
                    break
            if matched:
                await self.deliver()

        await self._guarded("poll", work)

    async def deliver(self) -> None:
        """Send what the outbox holds that is due, then the edits that are due."""

        async def work() -> None:
            report = await self.deliverer.drain()
            self.metrics.delivered(report.sent, report.failed, report.retried)
            if report.sent or report.edited or report.failed or report.deactivated or report.retried:
                log.info("delivery: %s", describe(report))

        await self._guarded("deliver", work)

    async def digests(self) -> None:
        """Send the digests that are due."""

        async def work() -> None:
            sent = await self.deliverer.send_digests()
            if sent:
                log.info("digests: %d sent", sent)

        await self._guarded("digests", work)

    async def heartbeat(self) -> None:
        """Record that the scheduler is alive (read by `advocacy-bot healthcheck`)."""

        async def work() -> None:
            await asyncio.to_thread(self._beat)

        await self._guarded("heartbeat", work)

    def _beat(self) -> None:
        with self.db.unit_of_work() as uow:
            uow.heartbeats.beat(HEARTBEAT, self.clock())

    async def maintain(self) -> None:
        """Prune old items and unreachable index rows, then send the admin report if anything is due."""

        async def work() -> None:
            text = await asyncio.to_thread(self._maintain)
            if text is not None and self.notify_admins is not None:
                await self.notify_admins(text)

        await self._guarded("maintain", work)

    def _maintain(self) -> str | None:
        now = self.clock()
        defaults = self.config.defaults
        with self.db.unit_of_work() as uow:
            pruned = uow.items.prune(now - timedelta(days=defaults.retention_days))
            if pruned:
                log.info("maintenance: pruned %d items", pruned)
            return self._report(uow, now)

    def _report(self, uow: UnitOfWork, now: datetime) -> str | None:
        """The admin report due now (marking what it tells), or None."""
        configured = {feed.name for feed in self.config.feeds}
        states = [s for s in uow.feeds.all() if s.name in configured]
        silent_after = timedelta(days=self.config.defaults.silent_after_days)
        alarms = feed_alarms(states, uow.items.latest_published(), now, silent_after=silent_after)
        # Each failed delivery is told once: those given up since the last report (at most 50 lines of them).
        failures = uow.outbox.recent_failures(50, since=uow.heartbeats.last(_FAILURES_SEEN))
        alarms += failure_alarms(failures)
        told = {a.key: at for a in alarms if (at := uow.heartbeats.last(_TOLD + a.key)) is not None}
        fresh = due(alarms, told, now)
        last_daily = uow.heartbeats.last(_DAILY)
        daily = None
        if last_daily is None or now - last_daily >= timedelta(days=1):
            counts = uow.outbox.counts()
            daily = DailyCount(
                items=uow.items.count_since(now - timedelta(days=1)),
                stories=len(uow.stories.since(now - timedelta(days=1), None, urgent_only=False)),
                sent=counts.get("sent", 0), failed=counts.get("failed", 0), pending=counts.get("pending", 0),
                active_chats=uow.chats.count_active(),
            )
            uow.heartbeats.beat(_DAILY, now)
        for alarm in fresh:
            uow.heartbeats.beat(_TOLD + alarm.key, now)
        uow.heartbeats.beat(_FAILURES_SEEN, now)
        return render_report(fresh, daily)

    def stop(self) -> None:
        """The process is stopping: delivery takes no new rows (what is queued waits for the next start), and
        polling takes no further batch."""
        self._stopping = True
        self.deliverer.stop()

    async def wait_idle(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for running jobs to finish; False when some were still running."""
        running = [t for t in self.state.running if not t.done() and t is not asyncio.current_task()]
        if not running:
            return True
        _done, pending = await asyncio.wait(running, timeout=timeout)
        return not pending
