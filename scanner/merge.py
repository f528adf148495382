"""`keyaudit merge`: the JSON results of several shard jobs (``scan --shard I/N``) as one report.

Findings are concatenated (a finding id seen twice, e.g. an organization-level binding judged by two
shards, is kept once: the failing verdict wins, so a merge never hides a failure); the ``scan`` objects
are combined: every scope, every coverage gap, the earliest start and the latest finish, and the shards
that took part, so a missing shard shows as a coverage gap rather than silently shrinking the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scanner.errors import InputError
from scanner.findings import Finding

_STATUS_WEIGHT = {"error": 3, "fail": 2, "unknown": 1, "pass": 0}


def merge_results(
    loaded: Sequence[tuple[Path, dict[str, Any], list[Finding]]],
) -> tuple[dict[str, Any], list[Finding]]:
    """(scan, findings) of several results; pure."""
    if not loaded:
        raise InputError("merge: give at least one RESULT.json")
    findings: dict[str, Finding] = {}
    for _, _, items in loaded:
        for finding in items:
            kept = findings.get(finding.finding_id)
            if kept is None or _STATUS_WEIGHT[finding.status.value] > _STATUS_WEIGHT[kept.status.value]:
                findings[finding.finding_id] = finding
    scans = [scan for _, scan, _ in loaded]
    scopes: dict[tuple[str, str], dict[str, Any]] = {}
    for scan in scans:
        for scope in scan.get("scopes") or ():
            scopes.setdefault((scope["provider"], scope["uid"]), scope)
    coverage: list[dict[str, Any]] = []
    seen_gaps: set[tuple[Any, ...]] = set()
    for scan in scans:
        for gap in scan.get("coverage") or ():
            key = (
                gap.get("provider"),
                gap.get("scope"),
                gap.get("location"),
                gap.get("api"),
                gap.get("resource"),
            )
            if key not in seen_gaps:
                seen_gaps.add(key)
                coverage.append(gap)
    shards = [
        {
            "path": str(path),
            "run_id": scan.get("run_id"),
            "shard": scan.get("shard"),
            "scopes": len(scan.get("scopes") or ()),
        }
        for path, scan, _ in loaded
    ]
    missing = _missing_shards(scans)
    providers = sorted({p for s in scans for p in s.get("providers") or ()}) or ["policy"]
    for shard in missing:
        for provider in providers:
            coverage.append(
                {
                    "provider": provider,
                    "scope": shard,
                    "location": None,
                    "api": "keyaudit:merge",
                    "error_class": "missing",
                    "message": f"no result for {shard}: the scopes it owns were not scanned",
                    "resource": None,
                }
            )
            gap = _missing_shard_finding(provider, shard)
            findings[gap.finding_id] = gap
    policies = {(s.get("policy") or {}).get("sha256") for s in scans}
    if len(policies) > 1:
        raise InputError(
            "merge: the results were judged against different policy files (sha256 differ); "
            "merge only shards of one scheduled scan"
        )
    merged = {
        "run_id": None,  # filled by the caller: a merge is a run of its own
        "mode": "merge",
        "started_at": min(str(s.get("started_at")) for s in scans),
        "finished_at": max(str(s.get("finished_at")) for s in scans),
        "tool_version": scans[0].get("tool_version"),
        "providers": providers,
        "scopes": list(scopes.values()),
        "policy": scans[0].get("policy"),
        "coverage": coverage,
        "merged_from": shards,
    }
    return merged, list(findings.values())


def _missing_shards(scans: Sequence[dict[str, Any]]) -> list[str]:
    """Shards (``"shard I/N"``) whose result is missing: part of the estate was not read."""
    declared = [s["shard"] for s in scans if isinstance(s.get("shard"), dict)]
    if not declared:
        return []
    counts = {d["count"] for d in declared}
    if len(counts) > 1:
        raise InputError(f"merge: the results come from different shard counts ({sorted(counts)})")
    [count] = counts
    present = [d["index"] for d in declared]
    if len(present) != len(set(present)):
        raise InputError("merge: the same shard appears twice; give each shard's result once")
    return [f"shard {index}/{count}" for index in range(count) if index not in present]


def _missing_shard_finding(provider: str, shard: str) -> Finding:
    """The coverage finding of a missing shard, as ``scan_coverage_complete`` reports any unread scope."""
    from scanner.engine import discover_rules
    from scanner.findings import finding_id
    from scanner.rule import ResourceRef, Status

    [meta] = [r.meta for r in discover_rules() if r.meta.id == "scan_coverage_complete"]
    return Finding(
        finding_id=finding_id(meta.id, provider, shard, shard),
        rule_id=meta.id,
        title=meta.title,
        severity=meta.severity,
        status=Status.FAIL,
        provider=provider,
        scope=shard,
        location=None,
        resource=ResourceRef(uid=shard, type="keyaudit shard", name=shard),
        message=f"No result was merged for {shard}: the accounts, projects or subscriptions it owns were not scanned.",
        evidence={"missing_shard": shard},
        remediation=meta.remediation.get(provider) or next(iter(meta.remediation.values())),
        controls=meta.controls,
    )
