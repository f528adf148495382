"""What a rule module provides (``META`` and ``evaluate``) and what it gets (``Context``) and yields."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from scanner.inventory import Inventory, Key, KeyStore, Principal, ProtectedResource, Provider, Scope
from scanner.policy import CekPolicy, LoadedPolicy, PolicySource


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is more severe."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 (a status, not a password)
    FAIL = "fail"
    UNKNOWN = "unknown"  # the data needed could not be read: never a pass
    ERROR = "error"  # the rule itself failed

    @property
    def is_failing(self) -> bool:
        """Counts against ``--fail-on``: only a verified pass does not."""
        return self is not Status.PASS


POLICY_PROVIDER = "policy"
RULE_PROVIDERS = (*(p.value for p in Provider), POLICY_PROVIDER)

_RULE_ID = re.compile(r"^[a-z][a-z0-9_]{2,63}$")
# FRAMEWORK:CONTROL, e.g. CSA-AICM:CEK-02, CIS-GCP-3.0:1.11, AWS-SecurityHub:KMS.4, ISO-27001-2022:A.8.24
_CONTROL = re.compile(r"^[A-Z][A-Za-z0-9.\-]*:[A-Za-z0-9][A-Za-z0-9._\-/]*$")


class RuleMeta(BaseModel):
    """A rule's metadata; validated when the catalogue is discovered."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    title: str = Field(min_length=10, max_length=120)
    severity: Severity
    providers: tuple[str, ...] = Field(min_length=1)
    rationale: str = Field(min_length=40)
    remediation: dict[str, str]
    controls: tuple[str, ...] = Field(min_length=1)
    references: tuple[str, ...] = ()

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not _RULE_ID.match(value):
            raise ValueError(
                "rule id must be lower_snake_case, 3-64 characters, named after the desired state"
            )
        return value

    @field_validator("providers")
    @classmethod
    def _known_providers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(RULE_PROVIDERS))
        if unknown:
            raise ValueError(f"unknown provider(s) {unknown}; expected among {list(RULE_PROVIDERS)}")
        return value

    @field_validator("controls")
    @classmethod
    def _control_shape(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [c for c in value if not _CONTROL.match(c)]
        if bad:
            raise ValueError(f"controls must look like FRAMEWORK:CONTROL, got {bad}")
        if not any(c.startswith("CSA-AICM:") for c in value):
            raise ValueError("every rule maps to at least one CSA-AICM control")
        return value

    @model_validator(mode="after")
    def _remediation_per_provider(self) -> RuleMeta:
        missing = [p for p in self.providers if not self.remediation.get(p, "").strip()]
        if missing:
            raise ValueError(f"remediation missing for provider(s) {missing}")
        extra = sorted(set(self.remediation) - set(self.providers))
        if extra:
            raise ValueError(f"remediation given for provider(s) the rule does not cover: {extra}")
        return self


# Results and resource references are created once per finding (a million in a large estate), so they
# are plain slotted dataclasses: frozen ones cost three times as much to build. Treat them as values.
@dataclass(slots=True)
class ResourceRef:
    uid: str
    type: str
    name: str | None = None

    @classmethod
    def of_key(cls, key: Key) -> ResourceRef:
        return cls(uid=key.uid, type=key.native_type or "key", name=key.name)

    @classmethod
    def of_store(cls, store: KeyStore) -> ResourceRef:
        return cls(uid=store.uid, type=store.native_type or f"key_store:{store.kind.value}", name=store.name)

    @classmethod
    def of_scope(cls, scope: Scope) -> ResourceRef:
        return cls(uid=scope.uid, type=scope.kind.value, name=scope.name)

    @classmethod
    def of_resource(cls, resource: ProtectedResource) -> ResourceRef:
        return cls(uid=resource.uid, type=resource.native_type, name=resource.name)


@dataclass(slots=True)
class RuleResult:
    """One verdict on one resource. The engine adds the rule's metadata and the finding id."""

    status: Status
    provider: str
    scope: str
    resource: ResourceRef
    message: str
    location: str | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def for_key(cls, key: Key, status: Status, message: str, **evidence: Any) -> RuleResult:
        return cls(
            status=status,
            provider=key.provider.value,
            scope=key.scope,
            location=key.location,
            resource=ResourceRef.of_key(key),
            message=message,
            evidence=evidence,
        )

    @classmethod
    def for_resource(
        cls, resource: ProtectedResource, status: Status, message: str, **evidence: Any
    ) -> RuleResult:
        return cls(
            status=status,
            provider=resource.provider.value,
            scope=resource.scope,
            location=resource.location,
            resource=ResourceRef.of_resource(resource),
            message=message,
            evidence=evidence,
        )

    @classmethod
    def for_store(cls, store: KeyStore, status: Status, message: str, **evidence: Any) -> RuleResult:
        return cls(
            status=status,
            provider=store.provider.value,
            scope=store.scope,
            location=store.location,
            resource=ResourceRef.of_store(store),
            message=message,
            evidence=evidence,
        )

    @classmethod
    def for_scope(
        cls, scope: Scope, status: Status, message: str, *, location: str | None = None, **evidence: Any
    ) -> RuleResult:
        return cls(
            status=status,
            provider=scope.provider.value,
            scope=scope.uid,
            location=location,
            resource=ResourceRef.of_scope(scope),
            message=message,
            evidence=evidence,
        )


@dataclass(frozen=True)
class Context:
    """Everything a rule may look at. Rules are pure functions of this."""

    inventory: Inventory
    policy: CekPolicy
    policy_source: PolicySource | None
    now: datetime

    @classmethod
    def build(cls, inventory: Inventory, policy: LoadedPolicy, now: datetime | None = None) -> Context:
        moment = now if now is not None else datetime.now(UTC)
        if moment.tzinfo is None:
            raise ValueError("Context.now must be timezone-aware")
        return cls(inventory=inventory, policy=policy.document, policy_source=policy.source, now=moment)

    @property
    def today(self) -> date:
        return self.now.astimezone(UTC).date()

    def customer_keys(self) -> Iterator[Key]:
        """Customer-managed keys: most rules judge only these (provider-managed keys are inventory only)."""
        return (key for key in self.inventory.keys if key.is_customer_managed)

    def principal(self, uid: str) -> Principal:
        return self.inventory.principal(uid)

    def policy_result(self, status: Status, message: str, **evidence: Any) -> RuleResult:
        """A verdict on the CEK policy document itself (provider ``policy``)."""
        policy_id = self.policy.policy.id or "cek-policy"
        if self.policy_source is None:
            resource = ResourceRef(uid="keyaudit:policy/built-in-defaults", type="cek_policy", name=None)
        else:
            resource = ResourceRef(uid=f"keyaudit:policy/{policy_id}", type="cek_policy", name=policy_id)
        return RuleResult(
            status=status,
            provider=POLICY_PROVIDER,
            scope=policy_id,
            resource=resource,
            message=message,
            evidence=evidence,
        )
