"""One scan at a time per state store.

SQLite: an exclusive ``flock`` on ``<db>.lock``; PostgreSQL: a session advisory lock. Both die with the
process that holds them (the kernel closes the file, the server ends the session), so a killed scan never
blocks the next one. The holder writes who it is (run id, pid, host, since) beside the lock: a second scan
names the holder in its message, and a holder record found by the next process to get the lock means the
previous one died without releasing: reported as a stale lock, then taken over.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from scanner.errors import KeyauditError


class StateLocked(KeyauditError):
    """Another run holds the state store (exit 1: the scan could not run)."""

    exit_code = 1


@dataclass(frozen=True)
class Holder:
    run_id: str
    pid: int
    host: str
    since: datetime

    @classmethod
    def me(cls, run_id: str) -> Holder:
        return cls(run_id=run_id, pid=os.getpid(), host=socket.gethostname(), since=datetime.now(UTC))

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "pid": self.pid, "host": self.host, "since": self.since.isoformat()}

    def to_dict_db(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "pid": self.pid, "host": self.host, "since": self.since}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Holder:
        since = datetime.fromisoformat(str(data["since"]))
        return cls(
            run_id=str(data["run_id"]),
            pid=int(data["pid"]),
            host=str(data["host"]),
            since=since if since.tzinfo else since.replace(tzinfo=UTC),
        )

    def describe(self) -> str:
        return f"run {self.run_id} (pid {self.pid} on {self.host}, since {self.since:%Y-%m-%d %H:%M:%S} UTC)"

    def alive(self) -> bool | None:
        """Whether the holder process still runs; None when it ran on another host (cannot tell)."""
        if self.host != socket.gethostname():
            return None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def locked_message(store: str, holder: Holder | None, *, waited: float | None) -> str:
    who = holder.describe() if holder else "another keyaudit run"
    if waited is not None:
        return f"state store {store} is still locked by {who} after waiting {waited:.0f} s"
    return (
        f"state store {store} is locked by {who}: another scan is recording into it. "
        "Run again later, pass --wait to wait for it, or use another --state"
    )


def wait_loop(
    try_acquire: Callable[[], bool],
    *,
    wait: bool,
    timeout: float | None,
    on_wait: Callable[[], None],
    poll: float = 0.5,
) -> float | None:
    """Calls ``try_acquire`` until it succeeds. Returns None when acquired at once, the seconds waited
    when acquired later; raises TimeoutError when not waiting or when the timeout passed."""
    if try_acquire():
        return None
    if not wait:
        raise TimeoutError(0.0)
    on_wait()
    start = time.monotonic()
    while True:
        waited = time.monotonic() - start
        if timeout is not None and waited >= timeout:
            raise TimeoutError(waited)
        time.sleep(poll if timeout is None else max(0.0, min(poll, timeout - waited)))
        if try_acquire():
            return time.monotonic() - start


class FileLock:
    """The SQLite store's lock: ``flock`` on a sidecar file holding the holder record as JSON."""

    def __init__(self, path: Path, *, shared: bool = False) -> None:
        self.path = path
        self.shared = shared  # shards hold the store's lock shared (and their own lane's exclusively)
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def read_holder(self) -> Holder | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        if not raw.strip():
            return None
        try:
            return Holder.from_dict(orjson.loads(raw))
        except (ValueError, KeyError, TypeError):
            return None  # a torn or foreign record: nobody we can name

    def write_holder(self, holder: Holder) -> None:
        assert self._fd is not None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, orjson.dumps(holder.to_dict()), 0)
        os.fsync(self._fd)

    def release(self) -> None:
        if self._fd is None:
            return
        if not self.shared:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)  # an empty record: released cleanly, not stale
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None
