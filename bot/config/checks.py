"""Rules that span entries of feeds.yaml (unique names, references to topics, sane defaults)."""

from __future__ import annotations

from typing import Any

import yaml

from bot.config.locate import _line_of, _Loc
from bot.config.schema import _D
from bot.config.units import parse_duration


def _entries(data: Any, *keys: str) -> list[tuple[int, dict[str, Any]]]:
    """(index, mapping) of the list at data[keys...], skipping entries that are not mappings."""
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return [(i, e) for i, e in enumerate(data) if isinstance(e, dict)] if isinstance(data, list) else []


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) else None

def _cross_checks(data: Any, root: yaml.Node | None) -> list[tuple[_Loc, str]]:
    """Rules spanning entries (unique ids and names, references to topics), on the raw data.

    They run on the raw data, not the validated models, so that they are reported together with shape
    errors elsewhere in the file; entries too malformed to read are skipped (their shape error says why).
    """
    found: list[tuple[_Loc, str]] = []
    topic_ids = [t for _, e in _entries(data, "topics") if (t := _text(e.get("id")))]
    known = ", ".join(dict.fromkeys(topic_ids))

    def unique(kind: str, section: str, key: str) -> None:
        first: dict[str, int] = {}
        for i, entry in _entries(data, section):
            value = _text(entry.get(key))
            if not value:
                continue
            if value in first:
                line = _line_of(root, (section, first[value], key))
                found.append(((section, i, key), f"duplicate {kind} {value!r} (also on line {line})"))
            else:
                first[value] = i

    def references(entry: dict[str, Any], key: str, loc: _Loc) -> None:
        names = entry.get(key)
        for j, name in enumerate(names if isinstance(names, list) else []):
            if isinstance(name, str) and name.strip() not in topic_ids:
                found.append(((*loc, key, j), f"unknown topic {name!r} (topics are: {known})"))

    for i, topic in _entries(data, "topics"):
        if topic.get("examples") and not topic.get("anchor"):
            found.append((
                ("topics", i, "examples"),
                "examples need an anchor: terms one of which an item must name, e.g. anchor: [north korea*, 북한]",
            ))
        if not topic.get("examples"):
            for key in ("near_misses", "anchor", "threshold", "margin"):
                if key in topic:
                    found.append((("topics", i, key), "is only used with examples; add examples or remove it"))

    unique("topic id", "topics", "id")
    unique("feed name", "feeds", "name")
    unique("feed url", "feeds", "url")
    unique("action id", "actions", "id")
    for i, feed in _entries(data, "feeds"):
        references(feed, "topics", ("feeds", i))
        references(feed, "on_topic", ("feeds", i))
    for i, action in _entries(data, "actions"):
        when = action.get("when")
        if isinstance(when, dict):
            references(when, "topics", ("actions", i, "when"))

    defaults = data.get("defaults") if isinstance(data, dict) else None
    if isinstance(defaults, dict):
        try:
            interval = parse_duration(defaults.get("interval", _D.interval_seconds))
            backoff = parse_duration(defaults.get("max_backoff", _D.max_backoff_seconds))
        except ValueError:
            pass  # reported as a shape error
        else:
            if backoff < interval:
                found.append((("defaults", "max_backoff"), "must not be shorter than defaults.interval"))
    return found


