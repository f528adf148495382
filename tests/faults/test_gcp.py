"""Faults injected into `keyaudit scan gcp` (a subprocess) through the loopback replay server.

The estate: one project with one key ring holding two HSM keys that rotate every 90 days, ``affected``
(every fault hits one of its requests) and ``unaffected``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from providers.gcp import simulated as sim
from providers.gcp.replay import ReplayServer
from tests.faults.checks import ScanResult, run_cli, scan_environment, verify
from tests.faults.matrix import Case, Outcome

ORG_ID = "123456789012"
PROJECT = "fault-prod"
RING = sim.KeyRing(PROJECT, "europe-west1", "app")
VERSION = sim.Version(1, "ENABLED", "HSM", "2026-01-01T00:00:00Z")
KEYS = [
    sim.CryptoKey(
        RING,
        name,
        protection_level="HSM",
        rotation_period_days=90,
        versions=[VERSION],
        primary=1,
        policy=sim.policy(
            sim.binding(
                "roles/cloudkms.cryptoKeyEncrypterDecrypter",
                f"serviceAccount:app-{name}@{PROJECT}.iam.gserviceaccount.com",
            )
        ),
    )
    for name in ("affected", "unaffected")
]
AFFECTED = KEYS[0].resource_name
POLICY = f"/v1/{AFFECTED}:getIamPolicy"
VERSIONS = f"/v1/{AFFECTED}/cryptoKeyVersions"
KEY_LIST = f"/v1/{RING.resource_name}/cryptoKeys"
POLICY_QUERY = {"options.requestedPolicyVersion": 3}
HUGE_BINDINGS = 10_000
ACCESS_RULES = ("key_not_publicly_accessible", "key_admin_separated_from_use")


def _estate() -> sim.Estate:
    org = sim.Organization(
        ORG_ID, "example.com", sim.policy(sim.binding("roles/cloudkms.viewer", "group:audit@example.com"))
    )
    project = sim.Project(
        PROJECT,
        "400000000001",
        org.name,
        "Faults",
        sim.policy(
            sim.binding("roles/cloudkms.admin", "group:kms-admins@example.com"),
            audit_configs=[sim.audit_config("cloudkms.googleapis.com", "DATA_READ", "DATA_WRITE")],
        ),
    )
    return sim.Estate(org, projects=[project], key_rings=[RING], keys=KEYS, locations=(RING.location,))


def _policy(**fault: Any) -> dict[str, Any]:
    return {"method": "GET", "path": POLICY, "query": POLICY_QUERY, **fault}


def _versions(**fault: Any) -> dict[str, Any]:
    return {"method": "GET", "path": VERSIONS, **fault}


def _unknown_primary_state() -> dict[str, Any]:
    """The ring's key list, the affected key's primary version in a state the client does not know (an
    integer: the REST clients ask enums to travel as numbers, ``enum-encoding=int``)."""
    listed = [sim.crypto_key_json(key) for key in KEYS]
    listed[0]["primary"]["state"] = 42
    return {"method": "GET", "path": KEY_LIST, "response": {"cryptoKeys": listed, "totalSize": len(listed)}}


def _version_without_state() -> dict[str, Any]:
    version = sim.version_json(KEYS[0], VERSION)
    del version["state"]
    return _versions(response={"cryptoKeyVersions": [version], "totalSize": 1})


def _huge_policy() -> dict[str, Any]:
    bindings = [
        {
            "role": "roles/cloudkms.cryptoKeyEncrypterDecrypter",
            "members": [f"serviceAccount:svc-{i:05d}@{PROJECT}.iam.gserviceaccount.com"],
        }
        for i in range(HUGE_BINDINGS)
    ]
    return _policy(response={"version": 1, "etag": "BwXhuge=", "bindings": bindings})


def _case(fault: str, where: str, outcome: Outcome, inject: dict[str, Any], **expected: Any) -> Case:
    return Case("gcp", fault, where, outcome, inject=inject, **expected)


CASES = [
    _case(
        "throttling",
        "cryptoKeys.getIamPolicy of the key (every attempt: 429 RESOURCE_EXHAUSTED)",
        Outcome.UNKNOWN,
        _policy(error="RESOURCE_EXHAUSTED"),
        api="cloudkms.cryptoKeys.getIamPolicy",
        error_class="throttled",
        unknown=ACCESS_RULES,
        affected=("key", "scope"),
    ),
    _case(
        "throttling_burst",
        "cryptoKeys.getIamPolicy of the key (first attempt only: 429)",
        Outcome.ABSORBED,
        _policy(error="RESOURCE_EXHAUSTED", times=1),
    ),
    _case(
        "server_error",
        "cryptoKeyVersions.list of the key (every attempt: 500 INTERNAL)",
        Outcome.UNKNOWN,
        _versions(error="INTERNAL"),
        api="cloudkms.cryptoKeyVersions.list",
        error_class="service_error",
        unknown=("key_not_pending_deletion",),
    ),
    _case(
        "timeout",
        "cryptoKeys.getIamPolicy of the key (no answer)",
        Outcome.UNKNOWN,
        _policy(fault="stall"),
        api="cloudkms.cryptoKeys.getIamPolicy",
        error_class="timeout",
        unknown=ACCESS_RULES,
        affected=("key", "scope"),
    ),
    _case(
        "connection_reset",
        "cryptoKeyVersions.list of the key (RST)",
        Outcome.UNKNOWN,
        _versions(fault="reset"),
        api="cloudkms.cryptoKeyVersions.list",
        error_class="network",
        unknown=("key_not_pending_deletion",),
    ),
    _case(
        "truncated",
        "cryptoKeys.getIamPolicy of the key (half the body)",
        Outcome.UNKNOWN,
        _policy(
            fault="truncate", response=sim.policy(sim.binding("roles/cloudkms.admin", "user:a@example.com"))
        ),
        api="cloudkms.cryptoKeys.getIamPolicy",
        error_class="network",
        unknown=ACCESS_RULES,
        affected=("key", "scope"),
    ),
    _case(
        "malformed_json",
        "cryptoKeyVersions.list of the key (HTTP 200, body not JSON)",
        Outcome.UNKNOWN,
        _versions(raw='{"cryptoKeyVersions": [,]}'),
        api="cloudkms.cryptoKeyVersions.list",
        error_class="malformed_response",
        unknown=("key_not_pending_deletion",),
    ),
    _case(
        "unexpected_enum",
        "cryptoKeys.list (the key's primary version in state 42)",
        Outcome.UNKNOWN,
        _unknown_primary_state(),
        api="cloudkms.cryptoKeys.list",
        error_class="malformed_response",
        unknown=("key_not_pending_deletion",),
    ),
    _case(
        "missing_fields",
        "cryptoKeyVersions.list of the key (a version without state)",
        Outcome.UNKNOWN,
        _version_without_state(),
        api="cloudkms.cryptoKeyVersions.list",
        error_class="malformed_response",
        unknown=("key_not_pending_deletion",),
    ),
    _case(
        "huge_policy",
        f"cryptoKeys.getIamPolicy of the key ({HUGE_BINDINGS:,} bindings, ~1.3 MB)",
        Outcome.JUDGED,
        _huge_policy(),
        judged=(("key_not_publicly_accessible", "pass"), ("key_users_limited", "fail")),
        affected=("key", "scope"),
    ),
]


@dataclass
class Estate:
    exchanges: list[dict[str, Any]]
    env: dict[str, str]
    home: Path
    baseline: ScanResult

    def scan(self, *faults: dict[str, Any], env: dict[str, str] | None = None) -> tuple[ScanResult, int]:
        """A scan with ``faults`` answered ahead of the recording; also how often they were served."""
        with ReplayServer(exchanges=self.exchanges, stall_seconds=6) as server:
            for fault in faults:
                server.add(fault, first=True)
            injected = server.exchanges[: len(faults)]
            result = run_cli(
                ["gcp", "--project", PROJECT, "--gcp-endpoint", server.url], env or self.env, self.home
            )
            unmatched = [str(r) for r in server.unmatched]
        assert unmatched == [], unmatched
        return result, sum(e.hits for e in injected)


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    home = tmp_path_factory.mktemp("gcp-faults")
    found = Estate(
        sim.per_project_exchanges(_estate()), scan_environment(home), home, ScanResult(0, "", 0, {})
    )
    found.baseline, _ = found.scan(env=scan_environment(home, fast_failure=False))
    assert found.baseline.returncode == 3 and not found.baseline.coverage, found.baseline.coverage
    yield found


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fault(estate: Estate, case: Case) -> None:
    result, served = estate.scan(case.inject)
    assert served > 0, "the fault was never injected: the case proves nothing"
    if case.outcome is Outcome.ABSORBED:
        assert served == 1
    verify(case, result, estate.baseline, {"key": AFFECTED, "scope": PROJECT}, PROJECT)


def test_unaffected_key_is_judged_in_the_baseline(estate: Estate) -> None:
    for key in KEYS:
        statuses = {
            rule: s for (rule, uid), s in estate.baseline.findings.items() if uid == key.resource_name
        }
        assert statuses["key_rotation_enabled"] == "pass", key.name
        assert "unknown" not in statuses.values(), (key.name, statuses)
