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
    """Counts kept while findings stream past; decides the exit code."""

    fail_on: Severity | None  # None: never fail (``--fail-on none``)
    by_status: Counter[str] = field(default_factory=Counter)
    by_severity_status: Counter[tuple[str, str]] = field(default_factory=Counter)
    by_provider_status: Counter[tuple[str, str]] = field(default_factory=Counter)
    by_rule_status: Counter[tuple[str, str]] = field(default_factory=Counter)
    blocking: int = 0  # failing findings at or above fail_on, not waived

    def add(self, finding: Finding) -> None:
        status = finding.status  # StrEnum members: equal to, and hashed as, their string values
        self.by_status[status] += 1
        self.by_severity_status[(finding.severity, status)] += 1
        self.by_provider_status[(finding.provider, status)] += 1
        self.by_rule_status[(finding.rule_id, status)] += 1
        if (
            self.fail_on is not None
            and finding.status.is_failing
            and not finding.waived
            and finding.severity.rank >= self.fail_on.rank
        ):
            self.blocking += 1

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

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
