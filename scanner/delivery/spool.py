"""The delivery spool: batches on disk, one directory per destination, so nothing is lost.

Layout under the spool root (``--spool-dir``, env ``KEYAUDIT_SPOOL_DIR``, default the user data dir)::

    <scheme>-<sha256 of the URL without credentials>/
        destination.json              the URL without credentials, to resend with `keyaudit send --spool`
        batch-<utc time>-<pid>-<seq>.ndjson   one {"id": finding id, "payload": ...} per line
        .lock                         held (flock) by the process delivering this directory

A batch file appears atomically (written beside, fsynced, renamed) before its first send and is removed
only after the destination accepted it, so a process killed at any moment leaves every unacknowledged
batch for the next ``send --spool``: delivery is at least once, and receivers drop duplicates by id.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from scanner.delivery.base import DestinationURL, SpooledEvent

DESCRIPTOR = "destination.json"
_BATCH_PREFIX = "batch-"
_BATCH_SUFFIX = ".ndjson"
_STALE_PARTIAL_SECONDS = 3600


def default_spool_root() -> Path:
    """``KEYAUDIT_SPOOL_DIR``, else ``<user data dir>/keyaudit/spool``."""
    configured = os.environ.get("KEYAUDIT_SPOOL_DIR")
    if configured:
        return Path(configured)
    try:
        from platformdirs import user_data_path
    except ImportError:  # pragma: no cover - platformdirs is a dependency, kept optional here
        return Path.home() / ".local" / "share" / "keyaudit" / "spool"
    return user_data_path("keyaudit", appauthor=False) / "spool"


class SpoolCorrupt(Exception):
    """A batch file that cannot be read back (it is set aside, never deleted)."""


class DestinationSpool:
    """The spool directory of one destination."""

    def __init__(self, root: Path, url: DestinationURL) -> None:
        self.root = root
        self.url = url
        self.directory = root / url.key
        self._sequence = 0

    def ensure(self) -> None:
        """Create the directory (private: findings are sensitive) and its descriptor."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = self.directory / DESCRIPTOR
        if not descriptor.exists():
            record = {"url": self.url.redacted, "scheme": self.url.scheme}
            _write_atomically(self.directory, DESCRIPTOR, orjson.dumps(record) + b"\n")
        self._remove_stale_partials()

    def write_batch(self, events: Iterable[SpooledEvent]) -> Path:
        """Write one batch file atomically and durably; returns its path."""
        self._sequence += 1
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{_BATCH_PREFIX}{stamp}-{os.getpid()}-{self._sequence:06d}{_BATCH_SUFFIX}"
        data = b"".join(_encode(event) for event in events)
        return _write_atomically(self.directory, name, data)

    def batches(self) -> list[Path]:
        """Spooled batch files, oldest first."""
        if not self.directory.is_dir():
            return []
        return sorted(
            p
            for p in self.directory.iterdir()
            if p.name.startswith(_BATCH_PREFIX) and p.name.endswith(_BATCH_SUFFIX)
        )

    def pending_events(self) -> int:
        total = 0
        for batch in self.batches():
            with contextlib.suppress(FileNotFoundError):  # delivered by another process meanwhile
                total += batch.read_bytes().count(b"\n")
        return total

    @staticmethod
    def read_batch(path: Path) -> list[SpooledEvent]:
        """Raises FileNotFoundError when another process delivered it meanwhile, SpoolCorrupt when unreadable."""
        events: list[SpooledEvent] = []
        for number, line in enumerate(path.read_bytes().splitlines(), start=1):
            try:
                record = orjson.loads(line)
                events.append(SpooledEvent(str(record["id"]), record["payload"]))
            except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
                raise SpoolCorrupt(f"{path}: line {number} is not a spooled event ({exc})") from exc
        return events

    @staticmethod
    def remove(path: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

    @staticmethod
    def set_aside(path: Path) -> Path:
        target = path.with_name(path.name + ".corrupt")
        with contextlib.suppress(FileNotFoundError):
            os.replace(path, target)
        return target

    @contextlib.contextmanager
    def locked(self, *, wait_seconds: float) -> Iterator[bool]:
        """Hold the directory's delivery lock (yields False when another process kept it for
        ``wait_seconds``). The kernel releases it when a process dies, even by kill -9."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no cross-process lock, duplicates possible
            yield True
            return
        handle = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + wait_seconds
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        yield False
                        return
                    time.sleep(0.1)
            yield True
        finally:
            os.close(handle)  # closing releases the lock

    def _remove_stale_partials(self) -> None:
        """Temporary files of writers killed mid-write (never renamed: they were never a batch)."""
        cutoff = time.time() - _STALE_PARTIAL_SECONDS
        for path in self.directory.glob(".*.partial"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()


def spooled_urls(root: Path) -> list[DestinationURL]:
    """The destinations that have a spool directory under ``root`` (from their descriptors)."""
    if not root.is_dir():
        return []
    urls: list[DestinationURL] = []
    for directory in sorted(root.iterdir()):
        descriptor = directory / DESCRIPTOR
        if not descriptor.is_file():
            continue
        try:
            record: Any = orjson.loads(descriptor.read_bytes())
            urls.append(DestinationURL.parse(str(record["url"]), flag=f"spool {directory.name}"))
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise SpoolCorrupt(f"{descriptor}: unreadable spool descriptor ({exc})") from exc
    return urls


def _encode(event: SpooledEvent) -> bytes:
    return orjson.dumps({"id": event.id, "payload": event.payload}, option=orjson.OPT_NON_STR_KEYS) + b"\n"


def encoded_size(event: SpooledEvent) -> int:
    return len(_encode(event))


def _write_atomically(directory: Path, name: str, data: bytes) -> Path:
    handle, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".partial", dir=directory)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        target = directory / name
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    _fsync_directory(directory)
    return target


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (a power cut must not undo a batch the run reported spooled)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
