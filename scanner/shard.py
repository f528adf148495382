"""``--shard I/N``: split a scan's scopes (accounts, projects, subscriptions) across N jobs, deterministically.

A scope belongs to shard ``sha256("provider:scope id") mod N``: the same scope lands in the same shard in
every run and on every machine (no Python ``hash`` randomisation), and adding scopes moves no other.
I counts from 0 to N-1, as Kubernetes' Indexed Jobs number their pods (``JOB_COMPLETION_INDEX``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from scanner.errors import InputError

_FORMAT = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        match = _FORMAT.match(text)
        if not match:
            raise InputError(f"--shard {text}: expected I/N, e.g. 0/4 (I from 0 to N-1)")
        index, count = int(match[1]), int(match[2])
        if count < 1 or count > 10_000:
            raise InputError(f"--shard {text}: N must be between 1 and 10000")
        if index >= count:
            raise InputError(f"--shard {text}: I must be between 0 and {count - 1} (shards count from 0)")
        return cls(index, count)

    def owns(self, provider: str, scope_uid: str) -> bool:
        digest = hashlib.sha256(f"{provider}:{scope_uid.lower()}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "count": self.count}

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def owned(shard: Shard | None, provider: str, scope_uid: str) -> bool:
    """Whether this run scans the scope (always, without ``--shard``)."""
    return shard is None or shard.owns(provider, scope_uid)
