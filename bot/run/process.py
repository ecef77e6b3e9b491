"""`advocacy-bot run`: the Application, its JobQueue (APScheduler) ticking the jobs, and clean stops.

State lives in the database, so this module only wires and ticks: the poll job reads which feeds are due, the
delivery job reads the outbox, the digest job reads which chats are due. SIGTERM and SIGINT stop polling for
updates, let running jobs finish (up to a limit) and close; a restart resumes from the database. SIGHUP
re-reads feeds.yaml like /reload (a bad file keeps the old one and logs why).

Several processes may run on one PostgreSQL database: each claims the feeds it polls and the outbox rows it
sends, and one at a time (the holder of the "telegram-updates" lease) takes Telegram updates, the digests
and the admin report; the others take over when it stops or dies. On SQLite a second process refuses to
start (bot.storage.instance). When Telegram cannot be reached at start, the process waits and tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import make_url

from bot.config import Config, Settings, load_config
from bot.delivery.deliverer import Deliverer, readable
from bot.errors import BotError
from bot.ingest.fetch import Fetcher
from bot.metrics import Metrics, parse_port, serve_metrics
from bot.pipeline import Clock, Poller, fetch_limits
from bot.run.jobs import Jobs
from bot.services import ConfigRef, Services
from bot.storage.db import Database
from bot.storage.feeds import Claim
from bot.storage.heartbeats import WORKER_BEAT
from bot.storage.instance import Worker, gone_from_this_host, instance_lock, this_worker
from bot.stories.facts import Gazetteer
from bot.telegram.app import (
    BotApplication,
    build_application,
    connect,
    register_commands,
    run_repeating,
    take_updates,
)
from bot.telegram.sender import TelegramSender

# Named, not __name__: operators filter logs on this name, which stays when the module moves.
log = logging.getLogger("bot.telegram.runner")


@dataclass(frozen=True, slots=True)
class Ticks:
    """How often each job looks for work, in seconds. Looking is one indexed query, so it is cheap."""

    poll: float = 3.0  # an item is seen at most this long after its feed falls due (latency target: +5 s)
    deliver: float = 2.0
    digests: float = 60.0
    heartbeat: float = 30.0
    maintain: float = 3600.0
    stop_grace: float = 20.0  # how long a stop waits for running jobs before closing anyway
    # The updates lease: renewed this often, lost this long after its holder's last renewal (a worker
    # killed with -9 is replaced within lease + renew seconds).
    lease: float = 30.0
    renew: float = 10.0
    # Waiting for Telegram at start: the first retry after this long, doubling up to the cap.
    connect_first: float = 1.0
    connect_cap: float = 60.0


UPDATES_LEASE = "telegram-updates"
# Feeds a worker claims per cycle on a shared (PostgreSQL) database: small enough that two or three workers
# split a first cycle of thousands of feeds, large enough that the fetcher's concurrency stays busy.
POLL_BATCH = 100
# How long a claimed feed is left to its worker while that worker runs: far longer than one poll (fetch
# timeout, parse, the wait for the story lock).
FEED_CLAIM = timedelta(minutes=10)


class Runner:
    """One running bot. Built by `run`; tests build it too, to drive it against local servers."""

    def __init__(
        self, settings: Settings, config: Config, db: Database, gazetteer: Gazetteer, *, clock: Clock,
        ticks: Ticks = Ticks(),
    ) -> None:
        self.settings = settings
        self.worker: Worker = this_worker(clock())
        # On a SQLite file, first make sure no other `run` uses it: before anything is written.
        self._instance = instance_lock(settings.database_url, self.worker)
        if self._instance is not None:
            self._instance.acquire()
        self.shared = make_url(settings.database_url).get_backend_name() == "postgresql"
        # Read here rather than in Settings: only `run` serves metrics. A bad value stops the start at once.
        try:
            self._metrics_port = parse_port(os.environ.get("METRICS_PORT"))
        except ValueError as error:
            self._release_instance()
            raise BotError(str(error)) from None
        self.leader = False
        self._told_follower = False
        self._stopped = asyncio.Event()
        self.db = db
        self.gazetteer = gazetteer
        self.clock = clock
        self.ticks = ticks
        self.config_ref = ConfigRef(config)
        self.topic_names: dict[str, str] = {t.id: t.name for t in config.topics}
        self.jobs: Jobs | None = None
        self._fetcher: Fetcher | None = None
        self._stack = contextlib.AsyncExitStack()
        try:
            with db.unit_of_work() as uow:
                uow.feeds.sync(config.feeds, clock())
                if self._instance is not None:
                    # The only process on this SQLite file: rows a killed predecessor had claimed are free
                    # now, not when its claims run out.
                    uow.outbox.release_all()
                # Workers of this host that were killed: their claims and the updates lease are free now.
                gone = uow.heartbeats.forget_workers(lambda other: gone_from_this_host(other, self.worker))
                # Counted by the other workers from now on, before this one sends anything (see _count_workers).
                uow.heartbeats.beat(WORKER_BEAT + self.worker.id, clock())
            if gone:
                log.info("workers no longer running on this host, their claims freed: %s", ", ".join(gone))
        except BaseException:
            self._release_instance()
            raise
        # /reload and SIGHUP both go through Services.reload: it syncs the feeds and swaps the config;
        # self._load adds what only the running bot has (the jobs' poller, the sender's topic names).
        self.services = Services(self.config_ref, db, clock, self._load, gazetteer)
        self.application: BotApplication = build_application(settings, self.services)

    def _load(self) -> Config:
        """Read feeds.yaml again and point the jobs and the sender at it (ConfigError when it is bad)."""
        # The file the running config came from: `run --config FILE` keeps reloading FILE.
        new = load_config(self.config_ref.current.source)
        self.topic_names.clear()
        self.topic_names.update({t.id: t.name for t in new.topics})
        if self.jobs is not None and self._fetcher is not None:
            self.jobs.replace_config(new, Poller(new, self.db, self._fetcher, self.clock, self.gazetteer))
        return new

    def _reload_from_signal(self) -> None:
        result = self.services.reload()
        if result.ok:
            log.info("config: %s reloaded on SIGHUP: %d topics, %d feeds", result.source, result.topics, result.feeds)
        else:
            log.error("config: reload on SIGHUP refused, keeping the old one: %s", "; ".join(result.problems))

    async def _post_init(self, application: BotApplication) -> None:
        config = self.config_ref.current
        self._fetcher = await self._stack.enter_async_context(
            Fetcher(fetch_limits(config, self.settings.user_agent), concurrency=config.defaults.concurrency)
        )
        sender = TelegramSender(application.bot, self.topic_names, config=lambda: self.config_ref.current)
        metrics = self._metrics()
        poller = Poller(config, self.db, self._fetcher, self.clock, self.gazetteer)
        # The sentence model loads once per process: now, not inside the first poll's transaction.
        await asyncio.to_thread(poller.rules.embedder.load)
        self.jobs = Jobs(
            config, self.db, poller,
            Deliverer(self.db, sender, self.clock, worker=self.worker.id, live_within=self._live, metrics=metrics),
            self.clock,
            notify_admins=self._notify_admins, metrics=metrics,
            poll_claim=Claim(self.worker.id, POLL_BATCH, FEED_CLAIM, self._live) if self.shared else None,
        )
        await register_commands(application.bot, self.settings.admin_ids)
        jobs, ticks = self.jobs, self.ticks

        def every(seconds: float, name: str, work: Any, first: float, *, leader_only: bool = False) -> None:
            async def tick() -> None:
                # Digests and the admin report go out once per bot, not once per worker.
                if self.leader or not leader_only:
                    await work()

            run_repeating(application, tick, seconds=seconds, first=first, name=name)

        # first=0 would not run at once (APScheduler computes the next fire time after "now"): 0.2 s does.
        every(ticks.heartbeat, "heartbeat", jobs.heartbeat, 0.2)
        every(ticks.poll, "poll", jobs.poll, 0.5)
        every(ticks.deliver, "deliver", jobs.deliver, 1.0)
        every(ticks.digests, "digests", jobs.digests, 5.0, leader_only=True)
        every(ticks.maintain, "maintain", jobs.maintain, 30.0, leader_only=True)
        log.info("bot started: %d feeds, %d topics; database %s; worker %s", len(config.feeds), len(config.topics),
                 self.db.url_for_display, self.worker.describe())

    @property
    def _live(self) -> timedelta:
        """How recent a worker's beat must be for it to count as running (it beats every `renew` seconds)."""
        return timedelta(seconds=self.ticks.lease)

    def _metrics(self) -> Metrics:
        """The Prometheus endpoint when METRICS_PORT is set (closed with the fetcher), else nothing recorded."""
        port = self._metrics_port
        if port is None:
            return Metrics()
        metrics = serve_metrics(port, self.db)
        self._stack.callback(metrics.close)
        return metrics

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):  # no such signals on Windows
            loop.add_signal_handler(signal.SIGHUP, self._reload_from_signal)
            # Our own stop handlers, not python-telegram-bot's: delivery must stop taking rows *before* the
            # Application waits for running jobs, or a long queue would hold the stop for minutes.
            for stop in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(stop, self._stop_from_signal, stop)

    def _stop_from_signal(self, received: signal.Signals) -> None:
        log.info("%s received: finishing the work in flight, then stopping", received.name)
        if self.jobs is not None:
            self.jobs.stop()
        self._stopped.set()

    async def _notify_admins(self, text: str) -> None:
        """Send an admin report to ADMIN_CHAT_ID (logged instead when none is set or sending fails)."""
        chat = self.settings.admin_chat_id
        if chat is None:
            log.warning("admin report (no ADMIN_CHAT_ID set): %s", text)
            return
        try:
            await self.application.bot.send_message(chat, text, parse_mode="HTML", disable_web_page_preview=True)
        except Exception as error:  # the report is advice; a failure to send it must not stop the job
            log.warning("admin report to chat %s not sent (%s): %s", chat, type(error).__name__, text)

    async def _post_stop(self, _application: BotApplication) -> None:
        if self.jobs is not None and not await self.jobs.wait_idle(self.ticks.stop_grace):
            log.warning("stopping with jobs still running; unfinished work stays queued for the next start")

    async def _post_shutdown(self, _application: BotApplication) -> None:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop = asyncio.get_running_loop()
            for handled in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(handled)
        await self._stack.aclose()
        log.info("bot stopped")

    # --- the process ---------------------------------------------------------------------------------

    def run(self) -> None:
        """Serve until SIGINT or SIGTERM."""
        try:
            asyncio.run(self._main())
        finally:
            self._release_instance()

    async def _main(self) -> None:
        """Connect (waiting for Telegram), start the jobs, take updates while holding the lease, stop cleanly.

        The order of a stop is python-telegram-bot's run_polling's: updates, the Application (its job
        queue), our wait for running jobs, shutdown. run_polling itself cannot be used: it takes updates
        from the start, and a worker without the lease must not.
        """
        self._install_signals()
        app = self.application
        try:
            if not await self._connect():
                return  # told to stop while waiting for Telegram
            try:
                await self._post_init(app)
                await app.start()
                await self._serve()
            finally:
                if app.updater is not None and app.updater.running:
                    await app.updater.stop()
                if app.running:
                    await app.stop()
                await self._post_stop(app)
                await asyncio.to_thread(self._retire)
                await app.shutdown()
        finally:
            await self._post_shutdown(app)

    async def _connect(self) -> bool:
        """Initialize the Application (its getMe is the first request), retrying with backoff while Telegram
        is unreachable; False when told to stop meanwhile. A refused token is an error at once."""
        where = urlsplit(self.settings.telegram_api_url).netloc or self.settings.telegram_api_url
        delay = self.ticks.connect_first
        while True:
            unreachable = await connect(self.application, where)
            if unreachable is None:
                return True
            reason = readable(unreachable)
            log.warning("Telegram at %s is unreachable (%s); trying again in %.0f s", where, reason, delay)
            if await self._stop_within(delay):
                return False
            delay = min(delay * 2, self.ticks.connect_cap)

    async def _stop_within(self, seconds: float) -> bool:
        """Wait up to `seconds`; True when a stop was asked for meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopped.wait(), seconds)
        return self._stopped.is_set()

    async def _serve(self) -> None:
        """Until stopped: renew or take the updates lease; take updates while holding it, not otherwise."""
        updater = self.application.updater
        if updater is None:
            raise RuntimeError("the Application was built without an Updater")
        while not self._stopped.is_set():
            workers = await asyncio.to_thread(self._count_workers)
            if workers is not None and self.jobs is not None:
                self.jobs.deliverer.share(workers)
            leader = await asyncio.to_thread(self._hold_updates_lease)
            if leader and not updater.running:
                log.info("worker %s takes Telegram updates, digests and admin reports", self.worker.describe())
                await take_updates(self.application)
            elif not leader and updater.running:
                log.warning("worker %s lost the updates lease; another worker takes updates now",
                            self.worker.describe())
                await updater.stop()
            self.leader = leader
            await self._stop_within(self.ticks.renew)

    def _count_workers(self) -> int | None:
        """Beat for this worker and count the live ones (beaten within a lease time); None when unknown."""
        now = self.clock()
        try:
            with self.db.unit_of_work() as uow:
                uow.heartbeats.beat(WORKER_BEAT + self.worker.id, now)
                uow.heartbeats.forget_before(WORKER_BEAT, now - timedelta(days=1))
                return uow.heartbeats.count_recent(WORKER_BEAT, now - self._live)
        except Exception as error:  # pacing stays as it was; the next round tries again
            log.warning("worker count not read (%s)", type(error).__name__)
            return None

    def _hold_updates_lease(self) -> bool:
        """Take or renew the lease; False (and a log line naming the holder) while another worker holds it."""
        now = self.clock()
        try:
            with self.db.unit_of_work() as uow:
                if uow.heartbeats.take_lease(UPDATES_LEASE, self.worker.id, now, now + self._live,
                                             live_since=now - self._live):
                    return True
                holder = uow.heartbeats.lease(UPDATES_LEASE)
        except Exception as error:  # the database is away: take no updates meanwhile; retried next round
            log.warning("updates lease not renewed (%s: %s); not taking updates until it is",
                        type(error).__name__, readable(str(error)))
            return False
        if self.leader or not self._told_follower:
            self._told_follower = True
            log.info("worker %s polls feeds and delivers; updates go to worker %s", self.worker.describe(),
                     holder.owner if holder else "?")
        return False

    def _retire(self) -> None:
        """A clean stop: give up the updates lease and stop counting as a worker, so the others take over
        and pace for one worker fewer at once."""
        try:
            with self.db.unit_of_work() as uow:
                if self.leader:
                    uow.heartbeats.drop_lease(UPDATES_LEASE, self.worker.id)
                uow.heartbeats.forget_workers(lambda other: other == self.worker.id)
        except Exception as error:  # it runs out by itself within the lease time
            log.warning("updates lease not released (%s); another worker takes over when it runs out",
                        type(error).__name__)

    def _release_instance(self) -> None:
        if self._instance is not None:
            self._instance.release()
