"""Heartbeats and leases: when each named job last completed a round, and which process holds a role."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, delete, exists, func, literal, or_, select, update
from sqlalchemy.orm import Session

from bot.storage.models import HeartbeatRow, LeaseRow

# Each worker beats the heartbeat WORKER_BEAT + its id while it runs; it is live while that beat is recent.
WORKER_BEAT = "worker:"


def live(owner: SQLColumnExpression[Any], since: datetime) -> ColumnElement[bool]:
    """Whether the worker named by `owner` (a column of the enclosing query) beat at or after `since`.

    A claim or lease of a worker that is not live is void: a worker killed with -9 stops beating, and one
    that stops cleanly removes its beat, so its work goes to the others without waiting for its claims.
    """
    return exists().where(HeartbeatRow.name == literal(WORKER_BEAT) + owner, HeartbeatRow.at >= since)


@dataclass(frozen=True, slots=True)
class Lease:
    """Who holds a role, since when, and until when unless renewed."""

    name: str
    owner: str
    acquired_at: datetime
    expires_at: datetime


class HeartbeatRepository:
    """One time per job name, overwritten on every beat; and leases, one holder per role name."""

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

    def count_recent(self, prefix: str, since: datetime) -> int:
        """How many names starting with `prefix` beat at or after `since` (the live workers, say)."""
        return int(self._session.scalar(
            select(func.count()).select_from(HeartbeatRow)
            .where(HeartbeatRow.name.startswith(prefix, autoescape=True), HeartbeatRow.at >= since)
        ) or 0)

    def forget_before(self, prefix: str, before: datetime) -> None:
        """Delete the beats of names starting with `prefix` older than `before` (workers long gone)."""
        self._session.execute(
            delete(HeartbeatRow).where(HeartbeatRow.name.startswith(prefix, autoescape=True), HeartbeatRow.at < before)
        )

    def forget_workers(self, dead: Callable[[str], bool]) -> list[str]:
        """Delete the beats of the workers `dead` says are gone (by their id); returns their ids."""
        names = self._session.scalars(
            select(HeartbeatRow.name).where(HeartbeatRow.name.startswith(WORKER_BEAT, autoescape=True))
        )
        gone = [name.removeprefix(WORKER_BEAT) for name in names if dead(name.removeprefix(WORKER_BEAT))]
        if gone:
            self._session.execute(delete(HeartbeatRow).where(HeartbeatRow.name.in_([WORKER_BEAT + g for g in gone])))
        return gone

    def take_lease(self, name: str, owner: str, now: datetime, until: datetime, *, live_since: datetime) -> bool:
        """Take or renew the lease `name` for `owner` until `until`; False while another owner's is live.

        One UPDATE decides, so two processes racing for a lost lease cannot both win: the row is taken only
        where it is ours, has run out, or its holder is no live worker (no beat since `live_since`).
        """
        if self._session.get(LeaseRow, name) is None:
            # The first holder creates the row; a racing creator fails its commit and tries again next round.
            self._session.add(LeaseRow(name=name, owner=owner, acquired_at=now, expires_at=until))
            self._session.flush()
            return True
        renewed = self._session.execute(
            update(LeaseRow)
            .where(LeaseRow.name == name, LeaseRow.owner == owner)
            .values(expires_at=until)
            .execution_options(synchronize_session=False)
        )
        if renewed.rowcount:  # type: ignore[attr-defined]
            return True
        taken = self._session.execute(
            update(LeaseRow)
            .where(LeaseRow.name == name, or_(LeaseRow.expires_at <= now, ~live(LeaseRow.owner, live_since)))
            .values(owner=owner, acquired_at=now, expires_at=until)
            .execution_options(synchronize_session=False)
        )
        return bool(taken.rowcount)  # type: ignore[attr-defined]

    def lease(self, name: str) -> Lease | None:
        """The lease `name` as stored (maybe expired), or None when nobody ever took it."""
        row = self._session.get(LeaseRow, name)
        if row is None:
            return None
        return Lease(row.name, row.owner, row.acquired_at, row.expires_at)

    def drop_lease(self, name: str, owner: str) -> None:
        """Give the lease up now (a clean stop), so another process takes it without waiting for it to run out."""
        self._session.execute(
            update(LeaseRow)
            .where(LeaseRow.name == name, LeaseRow.owner == owner)
            .values(expires_at=LeaseRow.acquired_at)
            .execution_options(synchronize_session=False)
        )
