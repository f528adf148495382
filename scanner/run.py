"""One run: rules over an inventory, findings streamed to every output, the exit code decided (SPEC 3)."""

from __future__ import annotations

import gc
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scanner import __version__
from scanner.ai_workloads import AiVerdicts, ai_workloads_section
from scanner.engine import Rule, evaluate_all
from scanner.findings import Finding, Summary
from scanner.inventory import Inventory
from scanner.output import OutputTarget, open_writers
from scanner.policy import LoadedPolicy
from scanner.progress import Progress
from scanner.rule import Context, Severity
from scanner.state.tracker import ALERTING
from scanner.waivers import WaiverFile

if TYPE_CHECKING:
    from scanner.state.tracker import Tracker

EXIT_OK = 0
EXIT_RUNTIME = 1
EXIT_USAGE = 2
EXIT_FINDINGS = 3


def new_run_id() -> str:
    return str(uuid.uuid4())


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class RunRequest:
    inventory: Inventory
    policy: LoadedPolicy
    rules: Sequence[Rule]
    outputs: Sequence[OutputTarget]
    fail_on: Severity | None
    run_id: str
    started_at: datetime
    only_failed: bool = False
    color: bool = False
    as_of: datetime | None = None  # the clock the rules judge dates against (default: now)
    mode: str = "evaluate"
    extra_scan_fields: dict[str, Any] = field(default_factory=dict)
    waivers: WaiverFile | None = None
    tracker: Tracker | None = None  # a state store is in use: label changes and keep history rows
    state_info: dict[str, Any] | None = None  # scan.state (the store; the changes are added here)
    only_new: bool = False  # keep only findings labelled new or reappeared (outputs and exit code)


@dataclass(frozen=True)
class Outcome:
    summary: Summary
    scan: dict[str, Any]  # the result's ``scan`` object, as every writer received it


def execute(request: RunRequest, progress: Progress) -> Outcome:
    ctx = Context.build(request.inventory, request.policy, now=request.as_of)
    summary = Summary(fail_on=request.fail_on)
    waivers = (
        request.waivers.applier(today=ctx.today, inventory=request.inventory) if request.waivers else None
    )
    tracker = request.tracker
    ai_verdicts = AiVerdicts()
    task = progress.task("Evaluating rules", total=len(request.rules))
    with _collector_paused(), open_writers(request.outputs, color=request.color) as writers:

        def emit(finding: Finding) -> None:
            ai_verdicts.add(finding)
            if request.only_new and finding.change not in ALERTING:
                return  # --only-new: neither reported nor counted for the exit code
            summary.add(finding)
            if request.only_failed and not finding.status.is_failing:
                return
            for writer in writers:
                writer.write(finding)

        for evaluated in evaluate_all(request.rules, ctx, on_rule_done=lambda _: task.advance()):
            # Waivers first: the summary (exit code) and every writer see the finding as waived or not.
            finding = waivers.apply(evaluated) if waivers is not None else evaluated
            emit(tracker.label(finding) if tracker is not None else finding)
        if tracker is not None:
            for resolved in tracker.vanished():  # failing before, gone from a fully read scope now
                emit(resolved)
        scan = scan_metadata(request, ctx)
        scan["waivers"] = waivers.report() if waivers is not None else None
        scan["ai_workloads"] = ai_workloads_section(request.inventory, ai_verdicts)
        scan["state"] = (
            {**(request.state_info or {}), "changes": tracker.report(), "only_new": request.only_new}
            if tracker is not None
            else None
        )
        scan["summary"] = summary.to_dict()
        for writer in writers:
            writer.close(scan, summary)
    return Outcome(summary, scan)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while rules run.

    A run allocates millions of short-lived, acyclic objects (results, evidence) next to a large
    immutable inventory; with the collector on, its full collections rescan the growing heap again
    and again (measured: segregation-of-duties rules 3x slower). Reference counting still frees
    everything that is not in a cycle, and the collector resumes when the run ends.
    """
    was_enabled = gc.isenabled()
    gc.freeze()  # what exists now (the inventory) is never scanned again; no full collection first
    gc.disable()
    try:
        yield
    finally:
        gc.unfreeze()
        if was_enabled:
            gc.enable()


def exit_code(summary: Summary) -> int:
    return EXIT_FINDINGS if summary.blocking else EXIT_OK


def scan_metadata(request: RunRequest, ctx: Context) -> dict[str, Any]:
    inventory = request.inventory
    source = request.policy.source
    collection = inventory.collection
    providers = sorted({s.provider.value for s in inventory.scopes} | {p.value for p in collection.providers})
    return {
        "run_id": request.run_id,
        "mode": request.mode,
        "started_at": rfc3339(request.started_at),
        "finished_at": rfc3339(datetime.now(UTC)),
        "evaluated_as_of": rfc3339(ctx.now),
        "tool_version": __version__,
        "providers": providers,
        "scopes": [
            {
                "provider": s.provider.value,
                "kind": s.kind.value,
                "uid": s.uid,
                "name": s.name,
                "locations": list(s.locations),
                "parents": [p.uid for p in s.parents],
            }
            for s in inventory.scopes
        ],
        "policy": {"path": source.path, "sha256": source.sha256} if source else None,
        "coverage": [
            {
                "provider": e.provider.value,
                "scope": e.scope,
                "location": e.location,
                "api": e.api,
                "error_class": e.error_class.value,
                "message": e.message,
                "resource": e.resource,
            }
            for e in inventory.errors
        ],
        "inventory": {
            "schema_version": inventory.schema_version,
            "collected_by": collection.tool_version,
            "collected_at": rfc3339(collection.finished_at) if collection.finished_at else None,
            "keys": len(inventory.keys),
            "key_stores": len(inventory.key_stores),
            "bindings": len(inventory.bindings),
            "notes": collection.notes,
        },
        "rules": len(request.rules),
        **request.extra_scan_fields,
    }
