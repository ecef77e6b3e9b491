"""The optional Prometheus endpoint: served over real HTTP, counting what the jobs report and reading the
queue and failing feeds from the database at each scrape."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from bot.domain import Feed
from bot.metrics import Metrics, parse_port, serve_metrics
from bot.storage.db import Database
from tests.test_workers import free_port, owed_to

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def value(text: str, name: str) -> float:
    """The sample `name` (with its labels, as exposed) in a scrape."""
    (line,) = [line for line in text.splitlines() if line.startswith(name + " ")]
    return float(line.split()[-1])


def test_the_endpoint_counts_polls_and_sends_and_reads_the_queue_from_the_database(database: Database) -> None:
    owed_to(database, 3)
    with database.unit_of_work() as uow:
        uow.feeds.sync([Feed(name="down", url="https://down.example/rss", language="en", interval_seconds=900,
                             outlet="Down")], T0)
        uow.feeds.record_failure("down", T0, reason="http-500 Internal Server Error", next_check_at=T0,
                                 disable=False)
    port = free_port()
    metrics = serve_metrics(port, database, address="127.0.0.1")
    try:
        metrics.polled([("ok", 5), ("error", 0), ("ok", 2)], 1)
        metrics.delivered(sent=2, failed=1, retried=1)
        metrics.send_took(0.2)
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    finally:
        metrics.close()

    assert value(text, 'advocacy_bot_feeds_polled_total{outcome="ok"}') == 2
    assert value(text, 'advocacy_bot_feeds_polled_total{outcome="error"}') == 1
    assert value(text, "advocacy_bot_items_total") == 7 and value(text, "advocacy_bot_stories_total") == 1
    assert value(text, "advocacy_bot_alerts_sent_total") == 2 and value(text, "advocacy_bot_alerts_failed_total") == 1
    assert value(text, "advocacy_bot_send_seconds_count") == 1
    assert value(text, "advocacy_bot_alerts_queued") == 3  # the three rows owed_to left pending
    assert value(text, "advocacy_bot_feeds_failing") == 1


def test_without_a_port_nothing_is_served_or_recorded() -> None:
    assert parse_port(None) is None and parse_port(" ") is None
    Metrics().polled([("ok", 1)], 1)  # the default records nothing and needs no server


@pytest.mark.parametrize(("raw", "problem"), [("http", "not a port number"), ("70000", "not between 1 and 65535")])
def test_a_bad_metrics_port_is_named(raw: str, problem: str) -> None:
    with pytest.raises(ValueError, match=f"METRICS_PORT: .*{problem}"):
        parse_port(raw)
