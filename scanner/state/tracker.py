"""Change labels (SPEC 4 ``change``, ``first_seen``, ``last_seen``): pure, from the previous state and this run.

A finding is *open* while it is failing (fail, unknown or error: everything ``--fail-on`` counts). Labels:

- ``new``: failing, never failing before; ``reappeared``: failing again after it was resolved;
- ``still_open``: failing, and open since an earlier run;
- ``resolved``: passing (or its resource gone) after it failed. A finding is resolved only when its scope
  was fully read in this run: the scope was scanned, no collection error touches it (the whole scope, or
  the finding's region), and for a finding that is simply absent, its region was scanned. A partial scan
  resolves nothing; the finding stays open and its row says ``not_assessed``.
- passes that never failed: ``null``. A pass whose resolution must wait for a full read keeps ``null``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from scanner.findings import Finding
from scanner.inventory import CollectionError, Scope
from scanner.output.clouds import cloud_of
from scanner.rule import ResourceRef, RuleMeta, Severity, Status

NEW = "new"
STILL_OPEN = "still_open"
RESOLVED = "resolved"
REAPPEARED = "reappeared"
CHANGES = (NEW, STILL_OPEN, RESOLVED, REAPPEARED)
ALERTING = frozenset({NEW, REAPPEARED})  # what --only-new keeps

ABSENT = "absent"  # the resource (or the rule's verdict on it) is gone from a fully read scope
NOT_ASSESSED = "not_assessed"  # open, and this run could not judge it (scope not scanned or partly read)


@dataclass(frozen=True, slots=True)
class KnownFinding:
    """What the store remembers of a finding that has failed at least once."""

    finding_id: str
    rule_id: str
    title: str
    severity: str
    provider: str
    scope: str
    location: str | None
    resource_uid: str
    resource_type: str
    resource_name: str | None
    is_open: bool
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True, slots=True)
class RunRow:
    """One finding's line in this run's history (``run_findings``)."""

    finding_id: str
    status: str
    change: str | None
    is_open: bool
    waived: bool


@dataclass(frozen=True)
class Coverage:
    """Which (provider, scope, location) this run read fully: decides what may be resolved."""

    scanned: Mapping[tuple[str, str], frozenset[str]]  # (provider, scope uid) -> locations scanned
    blocked_scopes: frozenset[tuple[str, str]]  # a collection error without a location: the whole scope
    blocked_locations: frozenset[tuple[str, str, str]]

    @classmethod
    def of(cls, scopes: Iterable[Scope], errors: Iterable[CollectionError]) -> Coverage:
        blocked_scopes: set[tuple[str, str]] = set()
        blocked_locations: set[tuple[str, str, str]] = set()
        for error in errors:
            if error.location is None:
                blocked_scopes.add((error.provider.value, error.scope))
            else:
                blocked_locations.add((error.provider.value, error.scope, error.location))
        return cls(
            scanned={(s.provider.value, s.uid): frozenset(s.locations) for s in scopes},
            blocked_scopes=frozenset(blocked_scopes),
            blocked_locations=frozenset(blocked_locations),
        )

    def judged_fully(self, provider: str, scope: str, location: str | None) -> bool:
        """A finding this run produced may be resolved: its scope and region were read without error."""
        key = (provider, scope)
        if key not in self.scanned:
            # Findings about the policy document or a scope this run did not collect (evaluate on an
            # inventory without scopes): nothing was left unread that could change the verdict.
            return not any(s == scope and p == provider for p, s in self.blocked_scopes)
        if key in self.blocked_scopes:
            return False
        if location is None:
            return not any(p == provider and s == scope for p, s, _ in self.blocked_locations)
        return (provider, scope, location) not in self.blocked_locations

    def read_absence(self, provider: str, scope: str, location: str | None) -> bool:
        """A finding that did not come back may be resolved: its scope (and region) was listed fully."""
        key = (provider, scope)
        if key not in self.scanned or not self.judged_fully(provider, scope, location):
            return False
        facts = cloud_of(provider)
        if location is not None and facts is not None and facts.regional_listing:
            return location in self.scanned[key]  # e.g. AWS: only the regions this run listed
        return True


@dataclass
class Tracker:
    """Labels findings as they stream past and keeps this run's history rows (one instance per run)."""

    known: Mapping[str, KnownFinding]
    coverage: Coverage
    observed_at: datetime
    observed_iso: str
    rules: Mapping[str, RuleMeta] = field(default_factory=dict)
    rows: list[RunRow] = field(default_factory=list)
    fresh: list[Finding] = field(default_factory=list)  # failing for the first time: new rows in `findings`
    updated: list[tuple[Finding, bool]] = field(default_factory=list)  # (finding, is_open) of known ones
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHANGES, 0))
    # finding id -> the labels given; a rule that reports one resource twice gets one history row
    _seen: dict[str, tuple[str | None, str | None, str | None]] = field(default_factory=dict)

    def label(self, finding: Finding) -> Finding:
        fid = finding.finding_id
        given = self._seen.get(fid)
        if given is not None:
            return replace(finding, change=given[0], first_seen=given[1], last_seen=given[2])
        labelled = self._label(finding)
        self._seen[fid] = (labelled.change, labelled.first_seen, labelled.last_seen)
        return labelled

    def _label(self, finding: Finding) -> Finding:
        fid = finding.finding_id
        prior = self.known.get(fid)
        failing = finding.status.is_failing
        if failing:
            if prior is None:
                change, first = NEW, self.observed_iso
                self.fresh.append(finding)
            else:
                change = STILL_OPEN if prior.is_open else REAPPEARED
                first = _iso(prior.first_seen)
                self.updated.append((finding, True))
            self.counts[change] += 1
            self.rows.append(RunRow(fid, finding.status.value, change, True, finding.waived))
            return replace(finding, change=change, first_seen=first, last_seen=self.observed_iso)
        if prior is None:
            return finding  # a pass that never failed: nothing to remember
        first, last = _iso(prior.first_seen), _iso(prior.last_seen)
        if prior.is_open:
            if not self.coverage.judged_fully(finding.provider, finding.scope, finding.location):
                self.rows.append(RunRow(fid, finding.status.value, None, True, False))
                return replace(finding, first_seen=first, last_seen=last)
            self.counts[RESOLVED] += 1
            self.updated.append((finding, False))
            self.rows.append(RunRow(fid, finding.status.value, RESOLVED, False, False))
        # Resolved in an earlier run and still passing: the finding keeps its history and its label.
        return replace(finding, change=RESOLVED, first_seen=first, last_seen=last)

    def vanished(self) -> Iterator[Finding]:
        """Open findings this run did not produce: resolved when their scope was listed fully (the
        resource or the condition is gone), else carried open as ``not_assessed``. Resolutions are
        returned as passing findings so every output (and SIEM close events) sees them."""
        for fid, prior in self.known.items():
            if fid in self._seen or not prior.is_open:
                continue
            if not self.coverage.read_absence(prior.provider, prior.scope, prior.location):
                self.rows.append(RunRow(fid, NOT_ASSESSED, None, True, False))
                continue
            self.counts[RESOLVED] += 1
            self.rows.append(RunRow(fid, ABSENT, RESOLVED, False, False))
            gone = self._absent_finding(prior)
            self.updated.append((gone, False))
            yield gone

    def _absent_finding(self, prior: KnownFinding) -> Finding:
        meta = self.rules.get(prior.rule_id)
        remediation = ""
        controls: tuple[str, ...] = ()
        if meta is not None:
            remediation = meta.remediation.get(prior.provider) or next(iter(meta.remediation.values()), "")
            controls = meta.controls
        return Finding(
            finding_id=prior.finding_id,
            rule_id=prior.rule_id,
            title=prior.title,
            severity=Severity(prior.severity),
            status=Status.PASS,
            provider=prior.provider,
            scope=prior.scope,
            location=prior.location,
            resource=ResourceRef(uid=prior.resource_uid, type=prior.resource_type, name=prior.resource_name),
            message=(
                "Resolved: this run read the scope fully and no longer found the failing condition "
                "(the resource was deleted or is no longer in scope of the rule)."
            ),
            evidence={"resource_absent": True, "last_failing_run_at": _iso(prior.last_seen)},
            remediation=remediation,
            controls=controls,
            change=RESOLVED,
            first_seen=_iso(prior.first_seen),
            last_seen=_iso(prior.last_seen),
        )

    def report(self) -> dict[str, Any]:
        """``scan.state.changes``: this run's transitions (resolved counts resolutions made now)."""
        return dict(self.counts)


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:  # SQLite hands datetimes back without their zone; the store writes UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def by_id(rows: Sequence[KnownFinding]) -> dict[str, KnownFinding]:
    return {row.finding_id: row for row in rows}
