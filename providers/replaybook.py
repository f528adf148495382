"""What the GCP replay server and the Azure replay adapter share: their bookkeeping of recorded exchanges.

The two replay the same kind of cassette over different transports (a loopback HTTP server, an injected
``requests`` adapter); tests ask both the same questions about what was and was not used.
"""

from __future__ import annotations

import threading
from typing import Any


class ReplayBook:
    """Mixin: ``_exchanges`` (in matching order, each with ``hits``), ``_lock`` and ``unmatched`` requests."""

    _exchanges: list[Any]
    _lock: threading.Lock
    unmatched: list[Any]

    @property
    def exchanges(self) -> list[Any]:
        return list(self._exchanges)

    def unused(self) -> list[Any]:
        """Recorded exchanges no request has hit yet."""
        with self._lock:
            return [e for e in self._exchanges if e.hits == 0]

    def assert_all_matched(self) -> None:
        if self.unmatched:
            listed = "\n  ".join(str(r) for r in self.unmatched)
            raise AssertionError(
                f"{len(self.unmatched)} request(s) matched no recorded exchange:\n  {listed}"
            )
