"""Event dates as the facts step writes them: 'YYYY-MM-DD' for a day, 'YYYY-MM' for a month."""

from __future__ import annotations

import re
from datetime import date

EVENT_DATE = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?")


def event_date_parts(value: str) -> tuple[int, int, int | None] | None:
    """(year, month, day or None) of `value` exactly 'YYYY-MM-DD' or 'YYYY-MM'; None for another shape.

    The numbers are not checked against the calendar: each caller decides what an impossible date means.
    """
    match = EVENT_DATE.fullmatch(value)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3)) if match.group(3) else None


def event_date(value: str) -> tuple[date, bool] | None:
    """(the day, whether it has a day) of 'YYYY-MM-DD' or 'YYYY-MM' (a month gives its 1st); None if malformed."""
    parts = event_date_parts(value.strip())
    if parts is None:
        return None
    year, month, day = parts
    try:
        return date(year, month, day or 1), day is not None
    except ValueError:
        return None
