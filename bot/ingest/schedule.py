"""When to look at a feed next: pure functions of its interval and failure count."""

from __future__ import annotations

from datetime import datetime, timedelta


def next_check_after_success(now: datetime, interval_seconds: int) -> datetime:
    """A healthy feed is polled again one interval later."""
    return now + timedelta(seconds=interval_seconds)


def backoff_seconds(interval_seconds: int, error_count: int, ceiling_seconds: int) -> int:
    """Delay after the `error_count`-th consecutive failure: the interval doubled per failure, capped.

    The first failure waits one interval (a blip should not delay news much); each further failure
    doubles it, up to the ceiling, so a dead server is asked rarely but never forgotten.
    """
    if error_count <= 0:
        return interval_seconds
    exponent = min(error_count - 1, 30)  # 2**30 intervals is beyond any ceiling; avoids huge ints
    return int(min(interval_seconds * (2**exponent), max(ceiling_seconds, interval_seconds)))


def next_check_after_failure(
    now: datetime, interval_seconds: int, error_count: int, ceiling_seconds: int
) -> datetime:
    """The next attempt after a failure, `error_count` counting this one."""
    return now + timedelta(seconds=backoff_seconds(interval_seconds, error_count, ceiling_seconds))
