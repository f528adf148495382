"""Findings (SPEC 4): a rule result plus the rule's metadata and a stable id; and the run's summary."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from scanner.rule import ResourceRef, RuleMeta, RuleResult, Severity, Status


def finding_id(rule_id: str, provider: str, scope: str, resource_uid: str) -> str:
    """Stable fingerprint: same rule, provider, scope and resource give the same id in every run."""
    material = "\x1f".join((rule_id, provider, scope, resource_uid)).encode("utf-8")
    return hashlib.sha256(material).hexdigest()[:32]


@dataclass(slots=True)
class Finding:
    finding_id: str
    rule_id: str
    title: str
    severity: Severity
    status: Status
    provider: str
    scope: str
    location: str | None
    resource: ResourceRef
    message: str
    evidence: Mapping[str, Any]
    remediation: str
    controls: tuple[str, ...]
    waived: bool = False
    waiver: Mapping[str, Any] | None = None
    change: str | None = None
    first_seen: str | None = None
    last_seen: str | None = None

    @classmethod
    def from_result(cls, meta: RuleMeta, result: RuleResult) -> Finding:
        return cls(
            finding_id=finding_id(meta.id, result.provider, result.scope, result.resource.uid),
            rule_id=meta.id,
            title=meta.title,
            severity=meta.severity,
            status=result.status,
            provider=result.provider,
            scope=result.scope,
            location=result.location,
            resource=result.resource,
            message=result.message,
            evidence=result.evidence,
            remediation=meta.remediation.get(result.provider) or next(iter(meta.remediation.values())),
            controls=meta.controls,
        )

    def to_json(self) -> bytes:
        """The finding as SPEC 4 JSON. Every key is always present (``null`` when not applicable), so
        consumers see one stable shape; ``waiver``, ``change``, ``first_seen`` and ``last_seen`` are
        filled by waivers and by a state store."""
        return self.varying_json()[:-1] + b"," + self.constant_json()[1:]

    def varying_json(self) -> bytes:
        """The fields that differ from finding to finding, as one JSON object."""
        resource = self.resource
        return orjson.dumps(
            {
                "finding_id": self.finding_id,
                "status": self.status,
                "provider": self.provider,
                "scope": self.scope,
                "location": self.location,
                "resource": {"uid": resource.uid, "type": resource.type, "name": resource.name},
                "message": self.message,
                "evidence": self.evidence,
                "waived": self.waived,
                "waiver": self.waiver,
                "change": self.change,
                "first_seen": self.first_seen,
                "last_seen": self.last_seen,
            },
            default=_json_default,
            option=orjson.OPT_NON_STR_KEYS,
        )

    def constant_json(self) -> bytes:
        """The fields a rule gives every finding of one provider (cacheable by ``constant_key``)."""
        return orjson.dumps(
            {
                "rule_id": self.rule_id,
                "title": self.title,
                "severity": self.severity,
                "remediation": self.remediation,
                "controls": self.controls,
            }
        )

    @property
    def constant_key(self) -> tuple[str, str]:
        return (self.rule_id, self.remediation)


def _json_default(value: object) -> object:
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot serialise {type(value).__name__} in a finding")


@dataclass
class Summary:
    """Counts kept while findings stream past; decides the exit code.

    One counter keyed by (rule, provider, severity, status, waived); every other view derives from it,
    so streaming a million findings costs one increment each.
    """

    fail_on: Severity | None  # None: never fail (``--fail-on none``)
    counts: Counter[tuple[str, str, Severity, Status, bool]] = field(default_factory=Counter)

    def verdict(self) -> str:
        """One sentence on what the findings mean for the exit code (table and HTML reports)."""
        if self.fail_on is None:
            return "--fail-on none: the exit code does not depend on the findings"
        if self.blocking:
            return f"{self.blocking} open failing finding(s) at or above '{self.fail_on.value}' (exit 3)"
        return f"no open failing finding at or above '{self.fail_on.value}'"

    def add(self, finding: Finding) -> None:
        self.counts[
            (finding.rule_id, finding.provider, finding.severity, finding.status, finding.waived)
        ] += 1

    def _view(self, *fields: int) -> Counter[Any]:
        view: Counter[Any] = Counter()
        for key, count in self.counts.items():
            view[key[fields[0]] if len(fields) == 1 else tuple(key[i] for i in fields)] += count
        return view

    @property
    def by_status(self) -> Counter[Status]:
        return self._view(3)

    @property
    def by_severity_status(self) -> Counter[tuple[Severity, Status]]:
        return self._view(2, 3)

    @property
    def by_provider_status(self) -> Counter[tuple[str, Status]]:
        return self._view(1, 3)

    @property
    def by_rule_status(self) -> Counter[tuple[str, Status]]:
        return self._view(0, 3)

    @property
    def blocking(self) -> int:
        """Failing (fail, unknown, error), not waived, at or above ``fail_on``."""
        if self.fail_on is None:
            return 0
        threshold = self.fail_on.rank
        return sum(
            count
            for (_, _, severity, status, waived), count in self.counts.items()
            if status.is_failing and not waived and severity.rank >= threshold
        )

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        severities: dict[str, dict[str, int]] = {}
        for (severity, status), count in sorted(self.by_severity_status.items()):
            severities.setdefault(str(severity), {})[str(status)] = count
        providers: dict[str, dict[str, int]] = {}
        for (provider, status), count in sorted(self.by_provider_status.items()):
            providers.setdefault(provider, {})[str(status)] = count
        return {
            "total": self.total,
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "by_severity": severities,
            "by_provider": providers,
            "fail_on": self.fail_on.value if self.fail_on is not None else "none",
            "blocking": self.blocking,
        }
