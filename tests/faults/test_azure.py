"""Faults injected into an Azure scan through the injected requests adapter (in-process: there is no
endpoint flag for Azure), the real provider collect path and the real azure-core pipeline.

The estate: one subscription with one RBAC vault (purge protection, private, audit logs on) holding two
RSA-HSM keys that rotate every 90 days, ``affected`` (every fault hits one of its requests) and
``unaffected``. The pipeline retries once (``retry_total=1``); ``Retry-After: 0`` keeps that instant.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from providers.azure import simulated as sim
from providers.azure.plugin import AzureProvider
from providers.azure.replay import ReplayAdapter, ReplayCredential, reset_key_vault_challenges
from scanner.engine import discover_rules, evaluate_all
from scanner.findings import Summary
from scanner.policy import default_policy
from scanner.progress import NullProgress
from scanner.provider import CollectRequest
from scanner.rule import Context, Severity
from scanner.run import exit_code
from tests.faults.checks import ScanResult, verify
from tests.faults.matrix import TIME_LIMIT_SECONDS, Case, Outcome

TENANT = "5f1c0d2e-8a3b-4c6d-9e7f-0a1b2c3d4e5f"
SUBSCRIPTION = "8f3c2a1d-5b6e-4c7f-9a0b-1d2e3f4a5b6c"
ADMINS = "3b8e5c1a-6d2f-4f7e-9a41-7c2d8e0f1a93"
APP = "6a2d8f4c-7e1b-4f9a-a3c5-8d6e2f0b4a17"
WORKSPACE = (
    "/subscriptions/0b5e7d3c-1a2f-4e6b-9c8d-7f0a1b2c3d4e/resourceGroups/rg-logs"
    "/providers/Microsoft.OperationalInsights/workspaces/law"
)
VAULT = sim.Vault(
    SUBSCRIPTION, "rg-faults", "kv-faults", enable_purge_protection=True, public_network_access="Disabled"
)
HUGE_ASSIGNMENTS = 10_000


def _estate(extra_assignments: int = 0) -> sim.Estate:
    estate = sim.Estate(
        sim.Tenant(TENANT),
        management_groups=[sim.ManagementGroup("mg-faults", TENANT, "Faults")],
        subscriptions=[sim.Subscription(SUBSCRIPTION, "faults-prod", "mg-faults")],
        vaults=[VAULT],
        diagnostic_settings=[
            sim.DiagnosticSetting(VAULT, "to-law", [{"category": "AuditEvent", "enabled": True}], WORKSPACE)
        ],
    )
    for name in ("affected", "unaffected"):
        rotation = sim.rotation_policy("P90D", expiry_time="P1Y")
        estate.keys.append(
            sim.Key(VAULT, name, "RSA-HSM", 3072, expires="2027-06-01T00:00:00Z", rotation_policy=rotation)
        )
    estate.role_assignments += [
        sim.RoleAssignment(
            VAULT.id, ADMINS, sim.role_definition_id(sim.KV_ADMINISTRATOR, SUBSCRIPTION), "Group"
        ),
        sim.RoleAssignment(VAULT.id, APP, sim.role_definition_id(sim.KV_CRYPTO_USER, SUBSCRIPTION)),
    ]
    # Crypto users of the affected key only (the huge-policy case).
    user = sim.role_definition_id(sim.KV_CRYPTO_USER, SUBSCRIPTION)
    estate.role_assignments += [
        sim.RoleAssignment(f"{VAULT.id}/keys/affected", f"00000000-0000-4000-8000-{i:012d}", user)
        for i in range(extra_assignments)
    ]
    return estate.validate()


ESTATE = _estate()
AFFECTED = f"{VAULT.id}/keys/affected"
DATA_PLANE = f"{VAULT.url(ESTATE.settings)}/keys/affected"
ROTATION = f"{DATA_PLANE}/rotationpolicy"
[AFFECTED_KEY] = [k for k in ESTATE.keys if k.name == "affected"]
READ_RULES = ("key_algorithm_allowed",)  # what only get_key tells (the listing gives state and dates)


def _get(url: str, **fault: Any) -> dict[str, Any]:
    """A fault on ``url`` for requests that carry a token (Key Vault's 401 challenge still answers first)."""
    return {"method": "GET", "url": url, "authorized": True, **fault}


def _bundle(change: str) -> dict[str, Any]:
    bundle = copy.deepcopy(sim.key_bundle_json(ESTATE, AFFECTED_KEY))
    if change == "enum":
        bundle["key"]["kty"] = "ML-KEM-HSM"
    else:
        del bundle["attributes"]
    return _get(DATA_PLANE, response=bundle)


def _case(fault: str, where: str, outcome: Outcome, inject: Any, **expected: Any) -> Case:
    return Case("azure", fault, where, outcome, inject=inject, **expected)


THROTTLED = {"status": 429, "headers": {"Retry-After": "0"}}
CASES = [
    _case(
        "throttling",
        "rotation policy of the key (every attempt: 429)",
        Outcome.UNKNOWN,
        _get(ROTATION, **THROTTLED),
        api="Microsoft.KeyVault/vaults/keyrotationpolicies/read",
        error_class="throttled",
        unknown=("key_rotation_enabled",),
    ),
    _case(
        "throttling_burst",
        "rotation policy of the key (first attempt only: 429)",
        Outcome.ABSORBED,
        _get(ROTATION, times=1, **THROTTLED),
    ),
    _case(
        "server_error",
        "get_key of the key (every attempt: 500)",
        Outcome.UNKNOWN,
        _get(DATA_PLANE, status=500),
        api="Microsoft.KeyVault/vaults/keys/read",
        error_class="service_error",
        unknown=READ_RULES,
    ),
    _case(
        "timeout",
        "rotation policy of the key (read timeout)",
        Outcome.UNKNOWN,
        _get(ROTATION, network_error="read_timeout"),
        api="Microsoft.KeyVault/vaults/keyrotationpolicies/read",
        error_class="timeout",
        unknown=("key_rotation_enabled",),
    ),
    _case(
        "connection_reset",
        "get_key of the key (connection reset)",
        Outcome.UNKNOWN,
        _get(DATA_PLANE, network_error="connection_reset"),
        api="Microsoft.KeyVault/vaults/keys/read",
        error_class="network",
        unknown=READ_RULES,
    ),
    _case(
        "truncated",
        "rotation policy of the key (half the body)",
        Outcome.UNKNOWN,
        _get(ROTATION, truncate=True, response=sim.rotation_policy_json(ESTATE, AFFECTED_KEY)),
        api="Microsoft.KeyVault/vaults/keyrotationpolicies/read",
        error_class="network",
        unknown=("key_rotation_enabled",),
    ),
    _case(
        "malformed_json",
        "get_key of the key (HTTP 200, body not JSON)",
        Outcome.UNKNOWN,
        _get(DATA_PLANE, raw='{"key": {"kty": "RSA-HSM",,}'),
        api="Microsoft.KeyVault/vaults/keys/read",
        error_class="malformed_response",
        unknown=READ_RULES,
    ),
    _case(
        "unexpected_enum",
        "get_key of the key (kty 'ML-KEM-HSM')",
        Outcome.UNKNOWN,
        _bundle("enum"),
        api="Microsoft.KeyVault/vaults/keys/read",
        error_class="malformed_response",
        unknown=("key_algorithm_allowed",),
    ),
    _case(
        "missing_fields",
        "get_key of the key (answer without attributes)",
        Outcome.UNKNOWN,
        _bundle("missing"),
        api="Microsoft.KeyVault/vaults/keys/read",
        error_class="malformed_response",
        unknown=READ_RULES,
    ),
    _case(
        "huge_policy",
        f"role assignments ({HUGE_ASSIGNMENTS:,} Crypto User assignments on the key)",
        Outcome.JUDGED,
        HUGE_ASSIGNMENTS,
        judged=(("key_not_publicly_accessible", "pass"), ("key_users_limited", "fail")),
        affected=("key", "scope"),
    ),
]


def scan(exchanges: list[dict[str, Any]]) -> tuple[ScanResult, ReplayAdapter]:
    reset_key_vault_challenges()  # process-global: a cached challenge would skip the 401
    adapter = ReplayAdapter(exchanges=exchanges)
    started = time.monotonic()
    inventory = AzureProvider().collect_with(
        CollectRequest(options={"subscriptions": [SUBSCRIPTION]}, concurrency=2, progress=NullProgress()),
        credential=ReplayCredential(),
        transport=adapter.transport(),
        retry_total=1,
    )
    findings = list(evaluate_all(discover_rules(), Context.build(inventory, default_policy())))
    elapsed = time.monotonic() - started
    summary = Summary(fail_on=Severity.HIGH)  # the CLI's default --fail-on
    for finding in findings:
        summary.add(finding)
    coverage = [
        {"api": e.api, "scope": e.scope, "error_class": e.error_class.value, "message": e.message}
        for e in inventory.errors
    ]
    result = ScanResult(
        returncode=exit_code(summary),
        stderr="",
        elapsed=elapsed,
        findings={(f.rule_id, f.resource.uid): f.status.value for f in findings},
        messages={(f.rule_id, f.resource.uid): f.message for f in findings},
        coverage=coverage,
    )
    assert [str(r) for r in adapter.unmatched] == []
    return result, adapter


@dataclass
class Estate:
    exchanges: list[dict[str, Any]]
    baseline: ScanResult


@pytest.fixture(scope="module")
def estate() -> Iterator[Estate]:
    exchanges = sim.estate_exchanges(ESTATE)
    baseline, _ = scan(exchanges)
    assert baseline.returncode == 3 and not baseline.coverage
    yield Estate(exchanges, baseline)
    reset_key_vault_challenges()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fault(estate: Estate, case: Case) -> None:
    if case.fault == "huge_policy":
        result, _ = scan(sim.estate_exchanges(_estate(extra_assignments=case.inject)))
        served = case.inject
    else:
        result, adapter = scan([case.inject, *estate.exchanges])
        served = adapter.exchanges[0].hits
    assert served > 0, "the fault was never injected: the case proves nothing"
    if case.outcome is Outcome.ABSORBED:
        assert served == 1
    assert result.elapsed < TIME_LIMIT_SECONDS
    verify(case, result, estate.baseline, {"key": AFFECTED, "scope": SUBSCRIPTION}, SUBSCRIPTION)


def test_unaffected_key_is_judged_in_the_baseline(estate: Estate) -> None:
    for key in ("affected", "unaffected"):
        uid = f"{VAULT.id}/keys/{key}"
        statuses = {rule: s for (rule, found), s in estate.baseline.findings.items() if found == uid}
        assert statuses["key_rotation_enabled"] == "pass", key
        assert "unknown" not in statuses.values(), (key, statuses)
