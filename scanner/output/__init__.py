"""Output formats (writers) and where they go (stdout, a file, or a directory), written atomically."""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import queue
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from scanner.errors import InputError
from scanner.output.base import FindingWriter

# format name -> "module:class"; imported only when used.
WRITERS: dict[str, str] = {
    "json": "scanner.output.json_writer:JsonWriter",
    "table": "scanner.output.table_writer:TableWriter",
    "csv": "scanner.output.csv_writer:CsvWriter",
    "html": "scanner.output.html_writer:HtmlWriter",
    "caiq": "scanner.output.caiq_writer:CaiqJsonWriter",
    "caiq-md": "scanner.output.caiq_writer:CaiqMarkdownWriter",
    "ocsf": "scanner.output.ocsf_writer:OcsfWriter",
    "asff": "scanner.output.siem_writers:AsffWriter",
    "cef": "scanner.output.siem_writers:CefWriter",
    "leef": "scanner.output.siem_writers:LeefWriter",
    "ecs": "scanner.output.siem_writers:EcsWriter",
    "sarif": "scanner.output.sarif_writer:SarifWriter",
}

REPORT_BASENAME = "keyaudit-report"


def writer_class(name: str) -> type[FindingWriter]:
    module_name, _, class_name = WRITERS[name].partition(":")
    cls: type[FindingWriter] = getattr(importlib.import_module(module_name), class_name)
    return cls


@dataclass(frozen=True)
class OutputTarget:
    format: str
    path: Path | None  # None: standard output


def plan_outputs(formats: Sequence[str], output: Path | None, *, stdout_is_tty: bool) -> list[OutputTarget]:
    """Decide where each format goes; every problem is an InputError raised before any work starts."""
    chosen = list(dict.fromkeys(formats)) or ["table" if stdout_is_tty and output is None else "json"]
    unknown = [f for f in chosen if f not in WRITERS]
    if unknown:
        raise InputError(
            f"--format: unknown format(s) {', '.join(unknown)}; choose from {', '.join(WRITERS)}"
        )
    if "asff" in chosen:  # its account and region come from the environment: check them before any work
        from scanner.output.siem_writers import asff_target

        asff_target()
    if output is None:
        if len(chosen) > 1:
            raise InputError("--format: several formats need -o/--output DIRECTORY to write them into")
        return [OutputTarget(chosen[0], None)]
    if len(chosen) > 1 or output.is_dir():
        if output.exists() and not output.is_dir():
            raise InputError(f"-o/--output {output}: several formats need a directory, and this is a file")
        _check_writable_dir(output, create=True)
        return [OutputTarget(f, output / f"{REPORT_BASENAME}.{writer_class(f).extension}") for f in chosen]
    _check_writable_dir(output.parent if str(output.parent) else Path("."), create=False)
    return [OutputTarget(chosen[0], output)]


def _check_writable_dir(directory: Path, *, create: bool) -> None:
    if create:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"-o/--output {directory}: cannot create directory: {exc.strerror}") from exc
    if not directory.is_dir():
        raise InputError(f"-o/--output: directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise InputError(f"-o/--output: directory {directory} is not writable")


class _BackgroundWriter(io.RawIOBase):
    """Writes handed over to a thread: the kernel copy of a GB-sized report overlaps rule evaluation
    (file writes release the GIL). A bounded queue keeps memory flat; a write error is raised on close."""

    _QUEUE_DEPTH = 8

    def __init__(self, target: IO[bytes]) -> None:
        super().__init__()
        self._target = target
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=self._QUEUE_DEPTH)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name="keyaudit-writer", daemon=True)
        self._thread.start()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self._error is not None:
            raise self._error
        chunk = bytes(data)
        self._queue.put(chunk)
        return len(chunk)

    def _drain(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._target.write(chunk)
                except BaseException as exc:  # handed to the producer on its next write or on close
                    self._error = exc

    def finish(self) -> None:
        """Wait for every queued write; raise the first write error, if any."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self._error is not None:
            raise self._error


class AtomicFile:
    """A temporary file beside ``path`` that replaces it only on commit: readers never see half a report."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.temp: Path | None = None
        if path.exists() and not path.is_file() and not path.is_dir():
            # A device or pipe (-o /dev/null, /dev/stdout, a FIFO): written in place. Renaming a file
            # over it would replace the device node itself.
            self._file = open(path, "wb")  # noqa: SIM115 (closed by commit/abort)
        else:
            handle, name = tempfile.mkstemp(
                prefix=f".{path.name}.", suffix=".partial", dir=path.parent or "."
            )
            self.temp = Path(name)
            self._file = os.fdopen(handle, "wb")
        self._writer = _BackgroundWriter(self._file)
        self.stream: IO[bytes] = self._writer  # type: ignore[assignment]

    def commit(self) -> None:
        self._writer.finish()
        self._file.flush()
        if self.temp is None:
            self._file.close()
            return
        os.fsync(self._file.fileno())
        self._file.close()
        os.chmod(self.temp, 0o644)
        os.replace(self.temp, self.path)

    def abort(self) -> None:
        with contextlib.suppress(BaseException):
            self._writer.finish()
        with contextlib.suppress(OSError):
            self._file.close()
        if self.temp is not None:
            with contextlib.suppress(FileNotFoundError):
                self.temp.unlink()


@contextlib.contextmanager
def open_writers(targets: Sequence[OutputTarget], *, color: bool) -> Iterator[list[FindingWriter]]:
    """Open every target; on success commit files atomically, on any exception leave nothing behind."""
    files: list[AtomicFile] = []
    writers: list[FindingWriter] = []
    try:
        for target in targets:
            cls = writer_class(target.format)
            if target.path is None:
                writers.append(cls(sys.stdout.buffer, color=color))
            else:
                atomic = AtomicFile(target.path)
                files.append(atomic)
                writers.append(cls(atomic.stream, color=False))
        yield writers
    except BaseException:
        for atomic in files:
            atomic.abort()
        raise
    else:
        for atomic in files:
            atomic.commit()
        sys.stdout.flush()
