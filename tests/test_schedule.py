from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.ingest.schedule import backoff_seconds, next_check_after_failure, next_check_after_success

NOW = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("interval", "errors", "ceiling", "expected"),
    [
        (900, 0, 21600, 900),
        (900, 1, 21600, 900),
        (900, 2, 21600, 1800),
        (900, 3, 21600, 3600),
        (900, 5, 21600, 14400),
        (900, 6, 21600, 21600),  # capped
        (900, 500, 21600, 21600),  # no overflow
        (3600, 3, 600, 3600),  # a ceiling below the interval never polls faster than the interval
    ],
)
def test_backoff_doubles_up_to_the_ceiling(interval: int, errors: int, ceiling: int, expected: int) -> None:
    assert backoff_seconds(interval, errors, ceiling) == expected


def test_next_checks() -> None:
    assert next_check_after_success(NOW, 600) == NOW + timedelta(minutes=10)
    assert next_check_after_failure(NOW, 600, 3, 86400) == NOW + timedelta(minutes=40)
