"""`keyaudit history` and `keyaudit diff`: what the state store remembers, as JSON or a terminal table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scanner.errors import InputError
from scanner.state.store import RunInfo, StateStore, iso_utc
from scanner.state.tracker import NEW, REAPPEARED, RESOLVED, STILL_OPEN, KnownFinding

_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}


def history(store: StateStore, limit: int | None) -> list[dict[str, Any]]:
    return [run.to_dict() for run in store.runs(limit=limit)]


@dataclass(frozen=True)
class Diff:
    since: RunInfo | None  # None: the first completed run, compared with an empty history
    until: RunInfo
    groups: dict[str, list[KnownFinding]]  # new, reappeared, resolved, still_open

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.to_dict() if self.since else None,
            "until": self.until.to_dict(),
            "counts": {name: len(items) for name, items in self.groups.items()},
            **{name: [_finding(f) for f in items] for name, items in self.groups.items()},
        }


def diff(store: StateStore, since: str | None, until: str | None) -> Diff:
    """Findings open after ``until`` (default: the latest completed run) against those open after ``since``
    (default: the completed run before it)."""
    completed = [run for run in store.runs() if run.completed]
    if not completed:
        raise InputError(f"diff: no completed run recorded in {store.target.display} yet")
    last = _completed(store, until, "--run") if until else completed[0]
    first: RunInfo | None
    if since:
        first = _completed(store, since, "--since")
        if first.seq >= last.seq:
            raise InputError(f"--since {since}: run {first.run_id} is not older than run {last.run_id}")
    else:
        # The completed run before it; for the very first run, the empty history (everything open is new).
        first = next((run for run in completed if run.seq < last.seq), None)
    before = store.open_after(first) if first is not None else set()
    after = store.open_after(last)
    described = {f.finding_id: f for f in store.describe(before | after)}
    opened = [described[fid] for fid in after - before if fid in described]
    groups = {
        NEW: [f for f in opened if first is None or f.first_seen > first.started_at],
        REAPPEARED: [f for f in opened if first is not None and f.first_seen <= first.started_at],
        RESOLVED: [described[fid] for fid in before - after if fid in described],
        STILL_OPEN: [described[fid] for fid in before & after if fid in described],
    }
    return Diff(first, last, {name: _ordered(items) for name, items in groups.items()})


def _completed(store: StateStore, reference: str, flag: str) -> RunInfo:
    run = store.find_run(reference)
    if not run.completed:
        raise InputError(f"{flag} {reference}: run {run.run_id} did not complete (exit {run.exit_code})")
    return run


def _ordered(items: Sequence[KnownFinding]) -> list[KnownFinding]:
    return sorted(items, key=lambda f: (_SEVERITY_ORDER.get(f.severity, 9), f.rule_id, f.resource_uid))


def _finding(f: KnownFinding) -> dict[str, Any]:
    return {
        "finding_id": f.finding_id,
        "rule_id": f.rule_id,
        "title": f.title,
        "severity": f.severity,
        "provider": f.provider,
        "scope": f.scope,
        "location": f.location,
        "resource": {"uid": f.resource_uid, "type": f.resource_type, "name": f.resource_name},
        "first_seen": iso_utc(f.first_seen),
        "last_seen": iso_utc(f.last_seen),
    }


def render_history(runs: list[dict[str, Any]], *, store: str) -> Any:
    from rich.table import Table

    table = Table(title=f"{len(runs)} run(s) recorded in {store}, newest first")
    for column in (
        "Run",
        "Started (UTC)",
        "Mode",
        "Providers",
        "Scopes",
        "Exit",
        "Failing",
        "Changes",
        "Gaps",
    ):
        table.add_column(column, overflow="fold")
    for run in runs:
        summary = run.get("summary") or {}
        by_status = summary.get("by_status") or {}
        failing = sum(v for k, v in by_status.items() if k != "pass")
        changes = run.get("changes") or {}
        change_text = (
            ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in changes.items() if v) or "none"
            if run["completed"]
            else (run.get("error") or "did not complete")
        )
        table.add_row(
            run["run_id"][:8],
            run["started_at"].replace("T", " ").removesuffix("Z"),
            run["mode"],
            ", ".join(run["providers"]) or "-",
            str(len(run["scopes"])),
            str(run["exit_code"]),
            str(failing) if run["completed"] else "-",
            change_text,
            str(run["coverage_gaps"]),
        )
    return table


def render_diff(result: Diff) -> list[Any]:
    from rich.table import Table

    since, until = result.since, result.until
    start = f"run {since.run_id[:8]} ({iso_utc(since.started_at)})" if since else "the start of the history"
    parts: list[Any] = [
        f"Changes from {start} to run {until.run_id[:8]} "
        f"({iso_utc(until.started_at)}): "
        + ", ".join(f"{len(items)} {name.replace('_', ' ')}" for name, items in result.groups.items())
    ]
    for name in (NEW, REAPPEARED, RESOLVED):
        items = result.groups[name]
        if not items:
            continue
        table = Table(title=f"{name.replace('_', ' ').capitalize()} ({len(items)})", title_justify="left")
        for column in ("Severity", "Rule", "Provider", "Scope", "Resource", "First seen", "Last seen"):
            table.add_column(column, overflow="fold")
        for f in items:
            table.add_row(
                f.severity,
                f.rule_id,
                f.provider,
                f.scope,
                f.resource_name or f.resource_uid,
                iso_utc(f.first_seen),
                iso_utc(f.last_seen),
            )
        parts.append(table)
    return parts
