"""Operator tasks behind the command line: health, moving chats between bots, listing stories."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.domain import Story
from bot.run.jobs import HEARTBEAT
from bot.storage.db import Database
from bot.tools.transfer import export_chats, parse_export


@dataclass(frozen=True, slots=True)
class Health:
    """Whether the scheduler ticked recently, and a line saying so."""

    ok: bool
    message: str


def healthcheck(db: Database, now: datetime, max_age: timedelta) -> Health:
    """Healthy when the scheduler's heartbeat is at most `max_age` old (the heartbeat job runs every 30 s)."""
    with db.unit_of_work() as uow:
        last = uow.heartbeats.last(HEARTBEAT)
    if last is None:
        return Health(False, "unhealthy: the scheduler has never ticked (is `advocacy-bot run` running?)")
    age = now - last
    seconds = int(age.total_seconds())
    if age > max_age:
        return Health(False, f"unhealthy: last scheduler tick {seconds} s ago (limit {int(max_age.total_seconds())} s)")
    return Health(True, f"ok: last scheduler tick {seconds} s ago")


def export_document(db: Database, now: datetime) -> dict[str, Any]:
    """Every chat with its topics and settings, as the JSON document `import` reads."""
    with db.unit_of_work() as uow:
        return export_chats(uow.chats.all(), now)


def import_document(db: Database, text: str, source: str, topics: Sequence[str]) -> int:
    """Store the chats of an export document (replacing chats of the same id); returns how many.

    Everything is checked before anything is written, and all chats go in one transaction: a bad file changes
    nothing.
    """
    chats = parse_export(text, source, topics)
    with db.unit_of_work() as uow:
        for chat in chats:
            uow.chats.put(chat)
    return len(chats)


def recent_stories(db: Database, limit: int) -> list[Story]:
    """The most recently active stories, newest first."""
    with db.unit_of_work() as uow:
        return uow.stories.recent(limit)
