"""What every collector keeps while it runs: collection errors (as data) and API calls per operation."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping

from scanner.inventory import CollectionError, ErrorClass, Provider


class Recorder:
    """Thread-safe; ``classify`` and ``describe`` turn a provider's SDK exception into class and message."""

    def __init__(
        self,
        provider: Provider,
        classify: Callable[[BaseException], ErrorClass],
        describe: Callable[[BaseException], str],
    ) -> None:
        self._provider = provider
        self._classify = classify
        self._describe = describe
        self._lock = threading.Lock()
        self.errors: list[CollectionError] = []
        self.calls: Counter[str] = Counter()

    def count(self, operation: str) -> None:
        with self._lock:
            self.calls[operation] += 1

    def error(
        self, scope: str, location: str | None, api: str, exc: BaseException, resource: str | None
    ) -> None:
        record = CollectionError(
            provider=self._provider,
            scope=scope,
            location=location,
            api=api,
            error_class=self._classify(exc),
            message=self._describe(exc),
            resource=resource,
        )
        with self._lock:
            self.errors.append(record)

    def repeat_for(self, scope: str, records: list[CollectionError]) -> None:
        """Record, for another scope, errors already met once (a shared parent read once per scan)."""
        import dataclasses

        with self._lock:
            self.errors.extend(dataclasses.replace(record, scope=scope) for record in records)


def call_notes(prefix: str, calls: Mapping[str, int]) -> dict[str, str]:
    """Scan metadata for the API calls a collector made: the total and the count per operation."""
    return {
        f"{prefix}.api_calls": str(sum(calls.values())),
        f"{prefix}.api_calls_by_operation": ", ".join(f"{op}={n}" for op, n in sorted(calls.items())),
    }
