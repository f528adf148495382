"""What one run does with its state store: lock it, label its findings, record the run, let go."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from scanner.inventory import Inventory
from scanner.logs import get_logger
from scanner.rule import RuleMeta
from scanner.state.lock import Holder
from scanner.state.store import RunRecord, StateStore, StateTarget
from scanner.state.tracker import Coverage, KnownFinding, Tracker


@dataclass
class StateSession:
    store: StateStore
    run_id: str
    started_at: datetime
    known: dict[str, KnownFinding] = field(default_factory=dict)
    tracker: Tracker | None = None
    recorded: bool = False

    @classmethod
    def begin(
        cls,
        target: StateTarget,
        *,
        run_id: str,
        started_at: datetime,
        wait: bool,
        wait_timeout: float | None,
        lane: str | None = None,
    ) -> StateSession:
        """Lock the store (exit 1 at once when another run holds it, unless waiting) and read its state."""
        store = StateStore.open(target)
        try:
            store.acquire(Holder.me(run_id), wait=wait, timeout=wait_timeout, lane=lane)
            known = store.known_findings()
        except BaseException:
            store.close()
            raise
        get_logger().info("state.open", store=target.display, known_findings=len(known))
        return cls(store=store, run_id=run_id, started_at=started_at, known=known)

    def make_tracker(self, inventory: Inventory, rules: Sequence[RuleMeta]) -> Tracker:
        from scanner.run import rfc3339

        self.tracker = Tracker(
            known=self.known,
            coverage=Coverage.of(inventory.scopes, inventory.errors),
            observed_at=self.started_at,
            observed_iso=rfc3339(self.started_at),
            rules={meta.id: meta for meta in rules},
        )
        return self.tracker

    def info(self) -> dict[str, Any]:
        """``scan.state`` before the changes are known."""
        previous = self.store.runs(limit=1)
        return {
            "store": self.store.target.display,
            "previous_run": previous[0].run_id if previous else None,
            "known_findings": len(self.known),
        }

    def record(
        self, *, mode: str, exit_code: int, scan: dict[str, Any] | None, error: str | None = None
    ) -> None:
        """Record the run: its findings' state when it judged them, else just that it failed."""
        if self.recorded:
            return
        scan = scan or {}
        policy = scan.get("policy") or {}
        record = RunRecord(
            run_id=self.run_id,
            mode=mode,
            started_at=self.started_at,
            finished_at=datetime.now(UTC),
            exit_code=exit_code,
            providers=scan.get("providers") or (),
            scopes=[
                {"provider": s["provider"], "uid": s["uid"], "locations": s.get("locations", [])}
                for s in scan.get("scopes") or ()
            ],
            coverage=scan.get("coverage") or (),
            summary=scan.get("summary"),
            policy_sha256=policy.get("sha256"),
            error=error,
        )
        seq = self.store.record(record, self.tracker if error is None else None)
        self.recorded = True
        get_logger().info(
            "state.recorded",
            store=self.store.target.display,
            run_seq=seq,
            changes=self.tracker.report() if self.tracker is not None and error is None else None,
        )

    def last_success_at(self) -> datetime | None:
        return self.store.last_success_at()

    def close(self) -> None:
        self.store.close()
