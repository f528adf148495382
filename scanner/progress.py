"""Progress for long runs: a live display on a terminal, nothing at all in cron or with --quiet."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class ProgressTask(Protocol):
    def advance(self, steps: int = 1) -> None: ...


class Progress(Protocol):
    def task(self, description: str, total: int | None) -> ProgressTask: ...


class _NullTask:
    def advance(self, steps: int = 1) -> None:
        return None


class NullProgress:
    def task(self, description: str, total: int | None) -> ProgressTask:
        return _NullTask()


class _RichTask:
    def __init__(self, progress: object, task_id: object) -> None:
        self._progress = progress
        self._task_id = task_id

    def advance(self, steps: int = 1) -> None:
        self._progress.advance(self._task_id, steps)  # type: ignore[attr-defined]


class RichProgress:
    def __init__(self, progress: object) -> None:
        self._progress = progress

    def task(self, description: str, total: int | None) -> ProgressTask:
        return _RichTask(self._progress, self._progress.add_task(description, total=total))  # type: ignore[attr-defined]


@contextmanager
def progress_display(*, enabled: bool) -> Iterator[Progress]:
    """A rich progress display on stderr when ``enabled`` and stderr is a terminal, else a no-op."""
    if not (enabled and sys.stderr.isatty()):
        yield NullProgress()
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as RichLive

    live = RichLive(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(file=sys.stderr),
        transient=True,
    )
    with live:
        yield RichProgress(live)
