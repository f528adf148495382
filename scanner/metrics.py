"""Prometheus text-format metrics of one run (``--metrics-file``), for node exporter's textfile collector.

Labels stay few and bounded (provider, severity, status, waived, change, error class): never resource
names, messages or secrets. The run id, mode and tool version go into one info-style gauge.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

from scanner import __version__
from scanner.findings import Summary
from scanner.inventory import ErrorClass
from scanner.rule import Severity, Status

CHANGES = ("new", "still_open", "resolved", "reappeared")
COMPLETED_EXIT_CODES = (0, 3)


@dataclass(frozen=True)
class RunMetrics:
    run_id: str
    mode: str  # scan, evaluate, demo
    started_at: datetime
    finished_at: datetime
    exit_code: int  # 0 or 3: the run completed; 1: it could not run
    providers: Sequence[str] = ()
    summary: Summary | None = None  # None when the run failed before judging
    coverage: Sequence[Mapping[str, Any]] = ()  # scan["coverage"] entries
    changes: Mapping[str, int] = field(default_factory=dict)  # new/still_open/resolved/reappeared counts
    last_success_at: datetime | None = None  # the last completed run (this one when it completed)


def write_metrics(path: Path, metrics: RunMetrics) -> None:
    """Replace ``path`` atomically (temporary file in the same directory, then rename): the textfile
    collector never reads half a file, and a failed write leaves the previous file as it was."""
    registry = CollectorRegistry(auto_describe=True)
    _run_series(registry, metrics)
    if metrics.summary is not None:  # a run that never judged has no counts: absent, not zero
        _result_series(registry, metrics, metrics.summary)
    write_to_textfile(str(path), registry)


def _run_series(registry: CollectorRegistry, metrics: RunMetrics) -> None:
    info = Gauge(
        "keyaudit_last_run_info",
        "Identity of the last run (always 1): run id, mode (scan, evaluate, demo) and keyaudit version.",
        ["run_id", "mode", "tool_version"],
        registry=registry,
    )
    info.labels(run_id=metrics.run_id, mode=metrics.mode, tool_version=__version__).set(1)
    _gauge(registry, "keyaudit_last_run_timestamp_seconds", "When the last run finished (Unix time).").set(
        _epoch(metrics.finished_at)
    )
    _gauge(
        registry,
        "keyaudit_last_run_success",
        "1 when the last run completed (exit code 0 or 3), 0 when it could not run.",
    ).set(1 if metrics.exit_code in COMPLETED_EXIT_CODES else 0)
    _gauge(
        registry,
        "keyaudit_last_run_exit_code",
        "Exit code of the last run: 0 clean, 1 runtime error, 2 bad input, 3 failing findings.",
    ).set(metrics.exit_code)
    _gauge(registry, "keyaudit_run_duration_seconds", "Wall-clock duration of the last run.").set(
        (metrics.finished_at - metrics.started_at).total_seconds()
    )
    if metrics.last_success_at is not None:  # never completed yet: no series rather than a fake epoch 0
        _gauge(
            registry,
            "keyaudit_last_success_timestamp_seconds",
            "When the last completed run (exit code 0 or 3) finished (Unix time).",
        ).set(_epoch(metrics.last_success_at))


def _result_series(registry: CollectorRegistry, metrics: RunMetrics, summary: Summary) -> None:
    providers = sorted({*metrics.providers, *(key[1] for key in summary.counts)})
    findings = Gauge(
        "keyaudit_findings",
        "Findings of the last run by provider, severity, status (pass, fail, unknown, error) and waiver.",
        ["provider", "severity", "status", "waived"],
        registry=registry,
    )
    counts: Counter[tuple[str, Severity, Status, bool]] = Counter()
    for (_, provider, severity, status, waived), count in summary.counts.items():
        counts[(provider, severity, status, waived)] += count
    # Every combination of a provider seen, zero included, so alert expressions keep a series to match.
    for provider in providers:
        for severity in Severity:
            for status in Status:
                for waived in (False, True):
                    findings.labels(
                        provider=provider,
                        severity=severity.value,
                        status=status.value,
                        waived="true" if waived else "false",
                    ).set(counts[(provider, severity, status, waived)])

    _gauge(
        registry,
        "keyaudit_blocking_findings",
        "Failing, unknown or error findings, not waived, at or above --fail-on (0 with --fail-on none).",
    ).set(summary.blocking)

    changes = Gauge(
        "keyaudit_finding_changes",
        "Findings by change against the previous run in the state store: new, still_open, resolved, reappeared.",
        ["change"],
        registry=registry,
    )
    for change in CHANGES:
        changes.labels(change=change).set(metrics.changes.get(change, 0))

    errors = Gauge(
        "keyaudit_collection_errors",
        "Collection errors (coverage gaps) of the last run by provider and error class.",
        ["provider", "error_class"],
        registry=registry,
    )
    error_counts = Counter((str(e["provider"]), str(e["error_class"])) for e in metrics.coverage)
    # Zero series for the scanned providers only: findings of provider "policy" come from no collection.
    scanned = {*metrics.providers, *(provider for provider, _ in error_counts)}
    zero_filled = {(provider, error_class.value) for provider in scanned for error_class in ErrorClass}
    for provider, error_class in sorted(zero_filled | set(error_counts)):
        errors.labels(provider=provider, error_class=error_class).set(error_counts[(provider, error_class)])


def _gauge(registry: CollectorRegistry, name: str, documentation: str) -> Gauge:
    return Gauge(name, documentation, registry=registry)


def _epoch(moment: datetime) -> float:
    # keyaudit's datetimes are UTC; a naive one must not be read as the host's local time.
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp()
