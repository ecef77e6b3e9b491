"""Durations ("10m", "1h") and sizes ("5MB") as feeds.yaml writes them, and back."""

from __future__ import annotations

import re

# --- durations and sizes --------------------------------------------------------------------------

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?\s*[smhd]\s*)+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
# Binary multiples: the historical meaning of "5MB" in HTTP clients, and 5MB == 5 * 1024 * 1024 here.
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?")
_SIZE_UNITS = {"b": 1, "kb": 1024, "kib": 1024, "mb": 1024**2, "mib": 1024**2, "gb": 1024**3, "gib": 1024**3}


def parse_duration(value: object) -> float:
    """Seconds from a number of seconds or a string such as "90s", "15m", "2h", "3d" or "1h30m"."""
    if isinstance(value, bool):  # YAML reads yes/no as booleans; never a duration
        raise ValueError(f"must be a duration such as 90s, 15m, 2h or 3d (got {_show(value)})")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"must not be negative (got {value})")
        return float(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if _NUMBER.fullmatch(text):
            return float(text)
        if _DURATION.fullmatch(text):
            return float(sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(text)))
    raise ValueError(f"must be a duration such as 90s, 15m, 2h or 3d (got {_show(value)})")


def parse_size(value: object) -> int:
    """Bytes from a number of bytes or a string such as "512KB" or "5MB" (binary multiples)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"must not be negative (got {value})")
        return value
    if isinstance(value, str):
        hit = _SIZE.fullmatch(value.strip().lower())
        if hit:
            return int(float(hit.group(1)) * _SIZE_UNITS[hit.group(2) or "b"])
    raise ValueError(f"must be a size such as 512KB or 5MB (got {_show(value)})")


def format_duration(seconds: float) -> str:
    """Short text of a duration: 900 -> '15m', 5400 -> '1h30m', 90 -> '1m30s'."""
    rest = int(seconds)
    if rest != seconds:
        return f"{seconds:g}s"
    if rest == 0:
        return "0s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            out.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(out)


def _whole_seconds(value: object, minimum: int) -> int:
    seconds = parse_duration(value)
    if seconds != int(seconds):
        raise ValueError(f"must be a whole number of seconds (got {_show(value)})")
    if seconds < minimum:
        raise ValueError(f"must be at least {format_duration(minimum)} (got {_show(value)})")
    return int(seconds)


def _interval(value: object) -> int:
    # Polling more often than once a minute gains nothing from news sites and risks a ban.
    return _whole_seconds(value, 60)


def _timeout(value: object) -> float:
    seconds = parse_duration(value)
    if not 0 < seconds <= 600:
        raise ValueError(f"must be more than 0s and at most 10m (got {_show(value)})")
    return seconds


def _days(value: object) -> int:
    seconds = parse_duration(value)
    if seconds < 86400 or seconds % 86400:
        raise ValueError(f"must be a whole number of days, at least 1d (got {_show(value)})")
    return int(seconds // 86400)


def _body_size(value: object) -> int:
    size = parse_size(value)
    if size < 1024:
        raise ValueError(f"must be at least 1KB (got {_show(value)})")
    return size


def _show(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)
