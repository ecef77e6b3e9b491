"""Who this process is among the bot's processes, and the lock that keeps a second one off a SQLite file.

On SQLite one `run` process owns the database: the file's lock has no notion of claims shared by several
processes, and two processes would each send every alert. The lock is an OS file lock (flock) on a file
beside the database, so the kernel drops it when the process dies, kill -9 included, and a restart is never
blocked by a stale lock. The file says who holds it, for the refusal.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import make_url

from bot.errors import BotError


@dataclass(frozen=True, slots=True)
class Worker:
    """This process as other workers and the logs see it."""

    pid: int
    host: str
    since: datetime
    # Unique even when two containers reuse a pid on hosts of the same name.
    id: str

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}, since {self.since.strftime('%Y-%m-%d %H:%M:%S')} UTC"


def this_worker(now: datetime | None = None) -> Worker:
    """The identity of this process."""
    pid, host = os.getpid(), socket.gethostname()
    return Worker(pid, host, now or datetime.now(UTC), f"{host}/{pid}/{secrets.token_hex(3)}")


def gone_from_this_host(worker_id: str, me: Worker) -> bool:
    """Whether `worker_id` names a process of this host that no longer runs (killed, crashed, or the previous
    life of a restarted container reusing our pid). Workers on other hosts are never judged from here,
    which is why every host running workers needs its own host name."""
    host, _, rest = worker_id.partition("/")
    pid_text = rest.partition("/")[0]
    if host != me.host or not pid_text.isdigit() or worker_id == me.id:
        return False
    pid = int(pid_text)
    if pid == me.pid:
        return True  # our pid, another id: a process before us that had our pid is gone
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it exists, under another user
    return False


class AlreadyRunning(BotError):
    """Another `run` process holds the SQLite database."""


class InstanceLock:
    """The OS lock beside a SQLite database file, held by the one process running the bot on it."""

    def __init__(self, path: Path, worker: Worker) -> None:
        self.path = path
        self.worker = worker
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise AlreadyRunning naming the holder. Never waits."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise AlreadyRunning(
                f"another `advocacy-bot run` ({holder}) is using {self.path.with_suffix('')}: two processes on "
                "one SQLite database would send every alert twice. Stop that one first (a container or "
                "systemd service still running?); to run several workers, use PostgreSQL"
            ) from None
        # Ours now: write who we are (truncate first, the last holder's line may be longer).
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(
            {"pid": self.worker.pid, "host": self.worker.host, "since": self.worker.since.isoformat()}
        ).encode() + b"\n", 0)
        self._fd = fd

    def release(self) -> None:
        """Let go of the lock (the file stays: removing it would race with a process about to lock it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _holder(fd: int) -> str:
    """What the lock file says about its holder, readable; a placeholder when it says nothing usable."""
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
        since = datetime.fromisoformat(data["since"]).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        return f"pid {int(data['pid'])} on {data['host']}, since {since} UTC"
    except (ValueError, KeyError, TypeError, OSError):
        return "a process that has not written its name yet"


def instance_lock(database_url: str, worker: Worker) -> InstanceLock | None:
    """The lock to hold for a SQLite file database; None for a server database, where workers share."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return InstanceLock(Path(database + ".lock"), worker)
