"""`advocacy-bot run`: the Application, its JobQueue (APScheduler) ticking the jobs, and clean stops.

State lives in the database, so this module only wires and ticks: the poll job reads which feeds are due, the
delivery job reads the outbox, the digest job reads which chats are due. SIGTERM and SIGINT stop polling for
updates, let running jobs finish (up to a limit) and close; a restart resumes from the database. SIGHUP
re-reads feeds.yaml like /reload (a bad file keeps the old one and logs why).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from bot.config import Config, Settings, load_config
from bot.delivery import Deliverer
from bot.facts import Gazetteer
from bot.fetch import Fetcher
from bot.jobs import Jobs
from bot.pipeline import Clock, Poller, fetch_limits
from bot.services import ConfigRef, Services
from bot.storage.db import Database
from bot.telegram.app import BotApplication, build_application, register_commands
from bot.telegram.sender import TelegramSender

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Ticks:
    """How often each job looks for work, in seconds. Looking is one indexed query, so it is cheap."""

    poll: float = 3.0  # an item is seen at most this long after its feed falls due (latency target: +5 s)
    deliver: float = 2.0
    digests: float = 60.0
    heartbeat: float = 30.0
    maintain: float = 3600.0
    stop_grace: float = 20.0  # how long a stop waits for running jobs before closing anyway


class Runner:
    """One running bot. Built by `run`; tests build it too, to drive it against local servers."""

    def __init__(
        self, settings: Settings, config: Config, db: Database, gazetteer: Gazetteer, *, clock: Clock,
        ticks: Ticks = Ticks(),
    ) -> None:
        self.settings = settings
        self.db = db
        self.gazetteer = gazetteer
        self.clock = clock
        self.ticks = ticks
        self.config_ref = ConfigRef(config)
        self.topic_names: dict[str, str] = {t.id: t.name for t in config.topics}
        self.jobs: Jobs | None = None
        self._fetcher: Fetcher | None = None
        self._stack = contextlib.AsyncExitStack()
        with db.unit_of_work() as uow:
            uow.feeds.sync(config.feeds, clock())
        # /reload and SIGHUP both go through Services.reload: it syncs the feeds and swaps the config;
        # self._load adds what only the running bot has (the jobs' poller, the sender's topic names).
        self.services = Services(self.config_ref, db, clock, self._load)
        self.application: BotApplication = build_application(settings, self.services)
        self.application.post_init = self._post_init
        self.application.post_stop = self._post_stop
        self.application.post_shutdown = self._post_shutdown

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
        self.jobs = Jobs(
            config, self.db, Poller(config, self.db, self._fetcher, self.clock, self.gazetteer),
            Deliverer(self.db, sender, self.clock), self.clock, notify_admins=self._notify_admins,
        )
        await register_commands(application.bot, self.settings.admin_ids)
        jobs, ticks = self.jobs, self.ticks
        queue = application.job_queue
        if queue is None:  # python-telegram-bot without the job-queue extra: the package requires it
            raise RuntimeError("python-telegram-bot[job-queue] is not installed")
        # max_instances above 1: Jobs skips an overlapping tick itself, quietly, instead of APScheduler warning.
        options: dict[str, Any] = {"max_instances": 3, "coalesce": True, "misfire_grace_time": None}

        def every(seconds: float, name: str, work: Any, first: float) -> None:
            async def tick(_context: ContextTypes.DEFAULT_TYPE) -> None:
                await work()

            queue.run_repeating(tick, interval=seconds, first=first, name=name, job_kwargs=options)

        # first=0 would not run at once (APScheduler computes the next fire time after "now"): 0.2 s does.
        every(ticks.heartbeat, "heartbeat", jobs.heartbeat, 0.2)
        every(ticks.poll, "poll", jobs.poll, 0.5)
        every(ticks.deliver, "deliver", jobs.deliver, 1.0)
        every(ticks.digests, "digests", jobs.digests, 5.0)
        every(ticks.maintain, "maintain", jobs.maintain, 30.0)
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):  # no such signals on Windows
            loop.add_signal_handler(signal.SIGHUP, self._reload_from_signal)
            # Our own stop handlers, not python-telegram-bot's: delivery must stop taking rows *before* the
            # Application waits for running jobs, or a long queue would hold the stop for minutes.
            for stop in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(stop, self._stop_from_signal, stop)
        log.info("bot started: %d feeds, %d topics; database %s", len(config.feeds), len(config.topics),
                 self.db.url_for_display)

    def _stop_from_signal(self, received: signal.Signals) -> None:
        log.info("%s received: finishing the work in flight, then stopping", received.name)
        if self.jobs is not None:
            self.jobs.stop()
        self.application.stop_running()

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

    def run(self) -> None:
        """Serve until SIGINT or SIGTERM."""
        # stop_signals=None: _post_init installs handlers that first tell the jobs to wind down.
        self.application.run_polling(allowed_updates=Update.ALL_TYPES, stop_signals=None, close_loop=True)
