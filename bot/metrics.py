"""Prometheus metrics, optional: the one module that imports prometheus-client.

The jobs and delivery report to a `Metrics`; the base class does nothing, so a bot without METRICS_PORT
pays nothing and needs no prometheus-client. `serve_metrics` imports the library only when it is asked
for, builds the counters on a registry of their own (none at import time), and serves them over HTTP.

What is counted as it happens: feeds polled by outcome, items and stories stored, alerts sent, failed and
retried, send latency. What is read from the database at each scrape, so it is right whichever worker did
the work: alerts queued (pending outbox rows) and feeds failing now.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from bot.storage.db import Database

log = logging.getLogger(__name__)

PREFIX = "advocacy_bot"


class Metrics:
    """Where the jobs report what they did. This base records nothing (no METRICS_PORT)."""

    def polled(self, outcomes: Iterable[tuple[str, int]], stories: int) -> None:
        """One poll cycle: each feed's (status, new items), and the stories it opened."""

    def delivered(self, sent: int, failed: int, retried: int) -> None:
        """One delivery drain's outcome counts."""

    def send_took(self, seconds: float) -> None:
        """How long one send to Telegram took, answer included."""

    def close(self) -> None:
        """Stop serving (nothing to stop here)."""


class _Prometheus(Metrics):
    """Metrics on a prometheus-client registry, served by its HTTP server."""

    def __init__(self, port: int, address: str, db: Database) -> None:
        import prometheus_client as prom  # here, not at the top: only a bot with METRICS_PORT needs it

        self.registry = prom.CollectorRegistry()
        registry = self.registry
        self._feeds = prom.Counter(f"{PREFIX}_feeds_polled", "Feeds polled, by outcome (ok, not-modified, "
                                   "unchanged, error, disabled)", ["outcome"], registry=registry)
        self._items = prom.Counter(f"{PREFIX}_items", "Feed items stored", registry=registry)
        self._stories = prom.Counter(f"{PREFIX}_stories", "Stories opened", registry=registry)
        self._sent = prom.Counter(f"{PREFIX}_alerts_sent", "Outbox messages sent", registry=registry)
        self._failed = prom.Counter(f"{PREFIX}_alerts_failed", "Outbox messages given up", registry=registry)
        self._retried = prom.Counter(f"{PREFIX}_alerts_retried", "Send attempts to retry later", registry=registry)
        self._latency = prom.Histogram(
            f"{PREFIX}_send_seconds", "Time of one send to Telegram, answer included", registry=registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
        )
        registry.register(_DatabaseCollector(db, prom))
        self._server, self._thread = prom.start_http_server(port, addr=address, registry=registry)

    def polled(self, outcomes: Iterable[tuple[str, int]], stories: int) -> None:
        for status, items in outcomes:
            self._feeds.labels(status).inc()
            self._items.inc(items)
        self._stories.inc(stories)

    def delivered(self, sent: int, failed: int, retried: int) -> None:
        self._sent.inc(sent)
        self._failed.inc(failed)
        self._retried.inc(retried)

    def send_took(self, seconds: float) -> None:
        self._latency.observe(seconds)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _DatabaseCollector:
    """Gauges read from the database at scrape time: right however many workers share it."""

    def __init__(self, db: Database, prom: Any) -> None:
        self._db = db
        self._gauge = prom.metrics_core.GaugeMetricFamily

    def collect(self) -> Iterator[Any]:
        try:
            with self._db.unit_of_work() as uow:
                queued = uow.outbox.pending_count()
                failing = sum(1 for f in uow.feeds.all() if not f.disabled and f.error_count > 0)
        except Exception as error:  # a scrape must not fail the bot; the gauges are left out of this one
            log.warning("metrics: database not read (%s)", type(error).__name__)
            return
        yield self._gauge(f"{PREFIX}_alerts_queued", "Outbox messages waiting to be sent", value=queued)
        yield self._gauge(f"{PREFIX}_feeds_failing", "Enabled feeds whose last poll failed", value=failing)

    def describe(self) -> Iterator[Any]:
        return iter(())  # no metrics described up front: the registry must not scrape the database to register


def parse_port(value: str | None) -> int | None:
    """METRICS_PORT as a port number; None when unset or empty; ValueError naming the variable when wrong."""
    if value is None or not value.strip():
        return None
    try:
        port = int(value.strip())
    except ValueError:
        raise ValueError(f"METRICS_PORT: not a port number ({value!r})") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"METRICS_PORT: {port} is not between 1 and 65535")
    return port


def serve_metrics(port: int, db: Database, *, address: str = "0.0.0.0") -> Metrics:
    """Serve /metrics on `address`:`port` (all interfaces by default: the container's port is published)."""
    try:
        metrics = _Prometheus(port, address, db)
    except ImportError:
        raise RuntimeError(
            "METRICS_PORT is set but prometheus-client is not installed: pip install 'advocacy-bot[metrics]'"
        ) from None
    log.info("metrics: serving Prometheus metrics on %s:%d/metrics", address, port)
    return metrics
