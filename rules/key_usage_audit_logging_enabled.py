"""Key administration and key use are audit-logged wherever keys live.

The provider decides what one audit-logging target is (AWS: a region of an account, GCP: a project,
Azure: a vault) and reports one ``AuditLogCoverage`` record per target. This rule gives one result
per target:

* a record naming a key store is reported on that store; any other record on its scope: on the
  scope uid itself when the record has no location, else on ``<scope uid>/<location>`` (with the
  result's location set), so the regions of one account never collide with each other or with a
  result about the whole scope.
  Several records for the same target are merged: an event class counts as logged when any record
  logs it (two diagnostic settings, one of them complete, do log everything).
* what could not be read is UNKNOWN, never PASS: a scope whose audit-logging configuration is
  unreadable, a store whose audit logging is unreadable, a scope holding customer keys without any
  record, and a key whose store or region has no record while its scope reports per store or per
  region.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from scanner.inventory import AuditLogCoverage, Key, KeyState, KeyStoreAspect, ScopeAspect
from scanner.rule import Context, ResourceRef, RuleMeta, RuleResult, Severity, Status

META = RuleMeta(
    id="key_usage_audit_logging_enabled",
    title="Key administration and key use are audit-logged",
    severity=Severity.HIGH,
    providers=("aws", "gcp", "azure"),
    rationale=(
        "Without a record of who changed a key's access, disabled or destroyed it, and who decrypted or "
        "signed with it, misuse of a key cannot be detected, investigated or ruled out, and the key "
        "inventory's history cannot be reconstructed. CEK-09 expects key management to be audited and "
        "CEK-21 expects key state changes to be traceable. Administrative events are often logged by "
        "default, while cryptographic use is not (GCP Data Access logs, Azure resource logs) or can be "
        "excluded (CloudTrail event selectors), so both classes are checked separately."
    ),
    remediation={
        "aws": (
            "Log KMS events in every region: create or update a multi-region trail that is logging "
            "(`aws cloudtrail create-trail --name <trail> --s3-bucket-name <bucket> "
            "--is-multi-region-trail` and `aws cloudtrail start-logging --name <trail>`), with management "
            "events set to read and write "
            "(`aws cloudtrail put-event-selectors`: IncludeManagementEvents true, ReadWriteType All) and "
            "without `kms.amazonaws.com` in ExcludeManagementEventSources."
        ),
        "gcp": (
            "Enable Data Access audit logs for Cloud KMS: in the project's (or folder's / organization's) "
            "IAM policy add an auditConfigs entry for `cloudkms.googleapis.com` (or allServices) with log "
            "types ADMIN_READ, DATA_READ and DATA_WRITE and no exempted members (`gcloud projects "
            "get-iam-policy`, edit, `gcloud projects set-iam-policy`), or in the console: IAM & Admin > "
            "Audit Logs > Cloud Key Management Service."
        ),
        "azure": (
            "Add a diagnostic setting on every vault and managed HSM that sends the AuditEvent category (or "
            "the `audit` / `allLogs` category group) to a Log Analytics workspace, storage account or "
            "event hub: "
            "`az monitor diagnostic-settings create --resource <vault id> --name audit --workspace <id> "
            '--logs \'[{"categoryGroup":"audit","enabled":true}]\'`, or enforce it with Azure Policy.'
        ),
    },
    controls=(
        "CSA-AICM:CEK-09",
        "CSA-AICM:CEK-21",
        "CIS-AWS-5.0:3.1",
        "CIS-AWS-7.0:4.1",
        "CIS-GCP-3.0:2.1",
        "CIS-GCP-5.0:2.1",
        "GCP-SCC:AUDIT_LOGGING_DISABLED",
        "CIS-Azure-3.0:6.1.4",
        "CIS-Azure-5.0:6.1.1.4",
        "CIS-Azure-6.0:6.1.1.4",
        "AzurePolicy:cf820ca0-f99e-4f3e-84fb-66e913812d21",
        "AzurePolicy:a2a5b911-5617-447e-a49e-59dbe0e0434b",
        "MCSB:LT-3",
        "MCSB:DP-8",
        "AWS-SecurityHub:CloudTrail.1",
        "ISO-27001-2022:A.8.24",
        "ISO-27001-2022:A.8.15",
    ),
)

_MAX_LISTED = 50
_MAX_NAMED = 3


@dataclass
class _Target:
    """One audit-logging target with every record reported for it merged."""

    provider: str
    scope: str
    location: str | None
    resource: ResourceRef
    label: str
    admin: bool | None = None  # set by the first record added
    usage: bool | None = None
    records: int = 0
    sources: set[str] = field(default_factory=set)
    details: set[str] = field(default_factory=set)

    def add(self, record: AuditLogCoverage) -> None:
        self.admin = _either(self.admin, record.admin_events) if self.records else record.admin_events
        self.usage = _either(self.usage, record.usage_events) if self.records else record.usage_events
        self.records += 1
        self.sources.update(record.sources)
        if record.detail:
            self.details.add(record.detail)


def _either(a: bool | None, b: bool | None) -> bool | None:
    """Logged when any record logs it; unknown when none does and one could not tell."""
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


Results = dict[tuple[str, str], RuleResult]  # (scope uid, resource uid) -> the one result


@dataclass
class _Coverage:
    """The records merged per target, and which stores, regions and scopes they cover."""

    targets: dict[tuple[str, str], _Target] = field(default_factory=dict)
    stores: set[tuple[str, str]] = field(default_factory=set)
    locations: set[tuple[str, str]] = field(default_factory=set)
    scopes: set[str] = field(default_factory=set)
    grains: dict[str, set[str]] = field(default_factory=dict)  # scope uid -> {"store", "location", "scope"}

    @classmethod
    def build(cls, ctx: Context) -> _Coverage:
        coverage = cls()
        for record in ctx.inventory.audit_logging:
            target = _target_for(ctx, record)
            coverage.targets.setdefault((target.scope, target.resource.uid), target).add(record)
            if record.key_store is not None:
                coverage.stores.add((record.scope, record.key_store))
                grain = "store"
            elif record.location is not None:
                coverage.locations.add((record.scope, record.location))
                grain = "location"
            else:
                coverage.scopes.add(record.scope)
                grain = "scope"
            coverage.grains.setdefault(record.scope, set()).add(grain)
        return coverage

    def covers(self, key: Key) -> bool:
        return (
            (key.store is not None and (key.scope, key.store) in self.stores)
            or (key.location is not None and (key.scope, key.location) in self.locations)
            or key.scope in self.scopes
        )


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    coverage = _Coverage.build(ctx)
    results: Results = {key: _judge(target) for key, target in coverage.targets.items()}
    _add_unreadable_stores(ctx, results)
    uncovered_scopes = _add_uncovered_keys(ctx, coverage, results)
    _add_scopes(ctx, uncovered_scopes, results)
    for key in sorted(results):
        yield results[key]


def _add_unreadable_stores(ctx: Context, results: Results) -> None:
    """A store whose audit logging could not be read is UNKNOWN; a PASS on it is not a verified pass."""
    for store in ctx.inventory.key_stores:
        if KeyStoreAspect.AUDIT_LOGGING not in store.unreadable:
            continue
        message = (
            f"Could not read the audit-logging configuration of key store {store.uid}, so whether its "
            "administration and use are logged cannot be judged; grant the scanner read access to it."
        )
        found = results.get((store.scope, store.uid))
        if found is None:
            results[(store.scope, store.uid)] = RuleResult.for_store(
                store, Status.UNKNOWN, message, admin_events=None, usage_events=None, unreadable=True
            )
        elif found.status is Status.PASS:
            results[(store.scope, store.uid)] = _unknown_instead(found, message)


def _add_uncovered_keys(ctx: Context, coverage: _Coverage, results: Results) -> dict[str, str]:
    """UNKNOWN for each store or region whose customer keys no record covers, while other stores or
    regions of the same scope have records. Returns the scopes with uncovered keys and no usable
    finer target (scope uid -> provider): those get a scope-level result."""
    inventory = ctx.inventory
    uncovered_scopes: dict[str, str] = {}
    for key in ctx.customer_keys():
        if key.state is KeyState.DESTROYED or coverage.covers(key):
            continue
        grains = coverage.grains.get(key.scope, set())
        if "location" in grains and key.location is not None:
            uid, label = f"{key.scope}/{key.location}", f"scope {key.scope} in {key.location}"
            scope = inventory.scope_by_uid.get(key.scope)
            resource = ResourceRef(
                uid=uid,
                type=scope.kind.value if scope is not None else "scope",
                name=scope.name if scope is not None else None,
            )
        elif "store" in grains and key.store is not None:
            store = inventory.store_by_uid.get(key.store)
            resource = (
                ResourceRef.of_store(store) if store is not None else ResourceRef(key.store, "key_store")
            )
            uid, label = key.store, f"key store {key.store}"
        else:
            uncovered_scopes.setdefault(key.scope, key.provider.value)
            continue
        if (key.scope, uid) in results:
            continue
        results[(key.scope, uid)] = RuleResult(
            status=Status.UNKNOWN,
            provider=key.provider.value,
            scope=key.scope,
            location=key.location,
            resource=resource,
            message=(
                f"No audit-logging information was collected for {label}, which holds customer keys "
                f"(for example {key.uid}), so whether their administration and use are logged cannot be "
                "judged; check that the scanner can read the audit-logging configuration there."
            ),
            evidence={"admin_events": None, "usage_events": None, "example_key": key.uid},
        )
    return uncovered_scopes


def _add_scopes(ctx: Context, uncovered_scopes: dict[str, str], results: Results) -> None:
    """Scopes whose audit-logging configuration is unreadable, or that hold customer keys and no record."""
    scanned = set()
    for scope in ctx.inventory.scopes:
        scanned.add(scope.uid)
        found = results.get((scope.uid, scope.uid))
        if ScopeAspect.AUDIT_LOGGING in scope.unreadable:
            message = (
                f"Could not read the audit-logging configuration of scope {scope.uid}, so whether key "
                "administration and key use are logged there cannot be judged; grant the scanner read "
                "access to it."
            )
            if found is None:
                results[(scope.uid, scope.uid)] = RuleResult.for_scope(
                    scope, Status.UNKNOWN, message, admin_events=None, usage_events=None, unreadable=True
                )
            elif found.status is Status.PASS:
                results[(scope.uid, scope.uid)] = _unknown_instead(found, message)
        elif scope.uid in uncovered_scopes and found is None:
            results[(scope.uid, scope.uid)] = RuleResult.for_scope(
                scope, Status.UNKNOWN, _no_information(scope.uid), admin_events=None, usage_events=None
            )
    for scope_uid, provider in uncovered_scopes.items():
        if scope_uid not in scanned and (scope_uid, scope_uid) not in results:
            results[(scope_uid, scope_uid)] = RuleResult(
                status=Status.UNKNOWN,
                provider=provider,
                scope=scope_uid,
                resource=ResourceRef(uid=scope_uid, type="scope"),
                message=_no_information(scope_uid),
                evidence={"admin_events": None, "usage_events": None},
            )


def _no_information(scope_uid: str) -> str:
    return (
        f"No audit-logging information was collected for scope {scope_uid}, which holds customer keys, so "
        "whether key administration and key use are logged cannot be judged; check that the scanner can "
        "read its audit-logging configuration."
    )


def _target_for(ctx: Context, record: AuditLogCoverage) -> _Target:
    provider = record.provider.value
    if record.key_store is not None:
        store = ctx.inventory.store_by_uid.get(record.key_store)
        resource = (
            ResourceRef.of_store(store)
            if store is not None
            else ResourceRef(uid=record.key_store, type="key_store")
        )
        location = record.location or (store.location if store is not None else None)
        return _Target(provider, record.scope, location, resource, f"key store {record.key_store}")
    scope = ctx.inventory.scope_by_uid.get(record.scope)
    uid = record.scope if record.location is None else f"{record.scope}/{record.location}"
    if scope is not None:
        resource = ResourceRef(uid=uid, type=scope.kind.value, name=scope.name)
    else:
        resource = ResourceRef(uid=uid, type="scope")
    label = f"scope {record.scope}" + (f" in {record.location}" if record.location else "")
    return _Target(provider, record.scope, record.location, resource, label)


def _judge(target: _Target) -> RuleResult:
    evidence: dict[str, Any] = {
        "admin_events": target.admin,
        "usage_events": target.usage,
        "sources": sorted(target.sources)[:_MAX_LISTED],
        "source_count": len(target.sources),
        "details": sorted(target.details)[:_MAX_LISTED],
        "record_count": target.records,
    }
    classes = (("key administration", target.admin), ("key use", target.usage))
    not_logged = [name for name, value in classes if value is False]
    unread = [name for name, value in classes if value is None]
    via = f" (sources: {_name(sorted(target.sources))})" if target.sources else ""
    if not_logged:
        also = f"; whether {' or '.join(unread)} is logged could not be read" if unread else ""
        status = Status.FAIL
        verb = "is" if len(not_logged) == 1 else "are"
        message = (
            f"{' and '.join(not_logged).capitalize()} {verb} not audit-logged for {target.label}{via}"
            f"{also}; enable audit logging of {' and '.join(not_logged)} events there."
        )
    elif unread:
        status = Status.UNKNOWN
        message = (
            f"Could not determine whether {' and '.join(unread)} {'is' if len(unread) == 1 else 'are'} "
            f"audit-logged for {target.label}; "
            "grant the scanner read access to the audit-logging configuration."
        )
    else:
        status = Status.PASS
        message = f"Key administration and key use are audit-logged for {target.label}{via}."
    return RuleResult(
        status=status,
        provider=target.provider,
        scope=target.scope,
        location=target.location,
        resource=target.resource,
        message=message,
        evidence=evidence,
    )


def _unknown_instead(result: RuleResult, message: str) -> RuleResult:
    evidence = dict(result.evidence)
    evidence["unreadable"] = True
    return RuleResult(
        status=Status.UNKNOWN,
        provider=result.provider,
        scope=result.scope,
        location=result.location,
        resource=result.resource,
        message=message,
        evidence=evidence,
    )


def _name(items: list[str]) -> str:
    shown = items[:_MAX_NAMED]
    rest = len(items) - len(shown)
    return ", ".join(shown) + (f" and {rest} more" if rest else "")
