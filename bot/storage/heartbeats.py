"""Heartbeats: when each named job last completed a round, for health checks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.storage.models import HeartbeatRow


class HeartbeatRepository:
    """One time per job name, overwritten on every beat."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def beat(self, name: str, at: datetime) -> None:
        """Record that the job `name` was alive at `at`."""
        row = self._session.get(HeartbeatRow, name)
        if row is None:
            self._session.add(HeartbeatRow(name=name, at=at))
        else:
            row.at = at
        self._session.flush()

    def last(self, name: str) -> datetime | None:
        """When the job last beat, or None if it never did."""
        return self._session.scalar(select(HeartbeatRow.at).where(HeartbeatRow.name == name))
