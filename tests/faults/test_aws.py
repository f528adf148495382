"""Faults injected into `keyaudit scan aws` (a subprocess) by a loopback proxy in front of moto.

The estate: one customer key in eu-west-1 (unaffected) and one in us-east-1 (affected: every fault is
selected for us-east-1 only), both rotating, with a root-only key policy.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from providers.aws import simulator
from tests.faults.checks import ScanResult, run_cli, scan_environment, verify
from tests.faults.matrix import Case, Outcome
from tests.faults.proxy import Fault, FaultProxy

ACCOUNT = "123456789012"
UNAFFECTED_REGION = "eu-west-1"
AFFECTED_REGION = "us-east-1"
ROOT_STATEMENT = {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                  "Action": "kms:*", "Resource": "*"}  # fmt: skip
HUGE_POLICY_STATEMENTS = 5000  # ~1.3 MB of key policy (real KMS caps policies at 32 KB)
ACCESS_RULES = ("key_not_publicly_accessible", "key_admin_separated_from_use")


def _unknown_key_state(answer: dict[str, Any]) -> dict[str, Any]:
    answer["KeyMetadata"]["KeyState"] = "Quarantined"
    return answer


def _without_policy(answer: dict[str, Any]) -> dict[str, Any]:
    answer.pop("Policy")
    return answer


def _without_keys(answer: dict[str, Any]) -> dict[str, Any]:
    answer.pop("Keys")
    return answer


def _huge_policy(answer: dict[str, Any]) -> dict[str, Any]:
    users = [
        {
            "Sid": f"App{i}",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/app-{i:05d}"},
            "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": f"s3.{AFFECTED_REGION}.amazonaws.com"}},
        }
        for i in range(HUGE_POLICY_STATEMENTS)
    ]
    answer["Policy"] = json.dumps({"Version": "2012-10-17", "Statement": [ROOT_STATEMENT, *users]})
    return answer


def _case(fault: str, where: str, outcome: Outcome, inject: Fault, **expected: Any) -> Case:
    return Case("aws", fault, f"{where} in {AFFECTED_REGION}", outcome, inject=inject, **expected)


CASES = [
    _case(
        "throttling",
        "kms:GetKeyPolicy (every attempt: ThrottlingException)",
        Outcome.UNKNOWN,
        Fault("throttle", "kms:GetKeyPolicy", AFFECTED_REGION),
        api="kms:GetKeyPolicy",
        error_class="throttled",
        unknown=ACCESS_RULES,
        affected=("key", "scope"),
    ),
    _case(
        "throttling_burst",
        "kms:DescribeKey (first attempt only)",
        Outcome.ABSORBED,
        Fault("throttle", "kms:DescribeKey", AFFECTED_REGION, times=1),
    ),
    _case(
        "server_error",
        "kms:GetKeyRotationStatus (HTTP 500 InternalFailure)",
        Outcome.UNKNOWN,
        Fault("server_error", "kms:GetKeyRotationStatus", AFFECTED_REGION),
        api="kms:GetKeyRotationStatus",
        error_class="service_error",
        unknown=("key_rotation_enabled",),
    ),
    _case(
        "timeout",
        "kms:ListGrants (no answer)",
        Outcome.UNKNOWN,
        Fault("stall", "kms:ListGrants", AFFECTED_REGION),
        api="kms:ListGrants",
        error_class="timeout",
        unknown=ACCESS_RULES,
        affected=("key", "scope"),
    ),
    _case(
        "connection_reset",
        "kms:DescribeKey (RST)",
        Outcome.UNKNOWN,
        Fault("reset", "kms:DescribeKey", AFFECTED_REGION),
        api="kms:DescribeKey",
        error_class="network",
        unknown=("key_rotation_enabled", "key_not_pending_deletion", *ACCESS_RULES),
        affected=("key", "scope"),
    ),
    _case(
        "truncated",
        "kms:GetKeyPolicy (half the body)",
        Outcome.UNKNOWN,
        Fault("truncate", "kms:GetKeyPolicy", AFFECTED_REGION),
        api="kms:GetKeyPolicy",
        error_class="malformed_response",
        unknown=ACCESS_RULES,
        affected=("key", "scope"),
    ),
    _case(
        "truncated",
        "cloudtrail:DescribeTrails (half the body)",
        Outcome.UNKNOWN,
        Fault("truncate", "cloudtrail:DescribeTrails", AFFECTED_REGION),
        api="cloudtrail:DescribeTrails",
        error_class="malformed_response",
        unknown=("key_usage_audit_logging_enabled",),
        unknown_on="region",
        affected=("region", "scope"),
    ),
    _case(
        "malformed_json",
        "kms:GetKeyRotationStatus (HTTP 200, body not JSON)",
        Outcome.UNKNOWN,
        Fault("malformed", "kms:GetKeyRotationStatus", AFFECTED_REGION),
        api="kms:GetKeyRotationStatus",
        error_class="malformed_response",
        unknown=("key_rotation_enabled",),
    ),
    _case(
        "malformed_json",
        "kms:ListKeys (HTTP 200, body not JSON)",
        Outcome.UNKNOWN,
        Fault("malformed", "kms:ListKeys", AFFECTED_REGION),
        api="kms:ListKeys",
        error_class="malformed_response",
        gone=True,
        affected=("key", "region", "scope"),
    ),
    _case(
        "unexpected_enum",
        "kms:DescribeKey (KeyState 'Quarantined')",
        Outcome.UNKNOWN,
        Fault("rewrite", "kms:DescribeKey", AFFECTED_REGION, rewrite=_unknown_key_state),
        api="kms:DescribeKey",
        error_class="malformed_response",
        unknown=("key_not_pending_deletion",),
    ),
    _case(
        "missing_fields",
        "kms:GetKeyPolicy (answer without Policy)",
        Outcome.UNKNOWN,
        Fault("rewrite", "kms:GetKeyPolicy", AFFECTED_REGION, rewrite=_without_policy),
        api="kms:GetKeyPolicy",
        error_class="malformed_response",
        unknown=ACCESS_RULES,
        affected=("key", "scope"),
    ),
    _case(
        "missing_fields",
        "kms:ListKeys (answer without Keys)",
        Outcome.UNKNOWN,
        Fault("rewrite", "kms:ListKeys", AFFECTED_REGION, rewrite=_without_keys),
        api="kms:ListKeys",
        error_class="malformed_response",
        gone=True,
        affected=("key", "region", "scope"),
    ),
    _case(
        "huge_policy",
        f"kms:GetKeyPolicy (~1.3 MB: {HUGE_POLICY_STATEMENTS} statements)",
        Outcome.JUDGED,
        Fault("rewrite", "kms:GetKeyPolicy", AFFECTED_REGION, rewrite=_huge_policy),
        judged=(("key_not_publicly_accessible", "pass"), ("key_users_limited", "fail")),
        affected=("key", "scope"),
    ),
]


@dataclass
class Estate:
    proxy: FaultProxy
    env: dict[str, str]
    home: Path
    keys: dict[str, str]  # region -> key ARN
    baseline: ScanResult

    def scan(self, env: dict[str, str] | None = None) -> ScanResult:
        regions = ["--region", UNAFFECTED_REGION, "--region", AFFECTED_REGION]
        return run_cli(["aws", *regions], env or self.env, self.home)


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    """moto on 127.0.0.1 behind the proxy, seeded once; the scans only read, so every case shares it."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    simulator.patch_moto()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    moto_url = f"http://{host}:{port}"
    try:
        keys = {region: _seed_key(moto_url, region) for region in (UNAFFECTED_REGION, AFFECTED_REGION)}
        home = tmp_path_factory.mktemp("aws-faults")
        # Stalls outlast the short read timeout and end when the proxy stops.
        with FaultProxy(moto_url, stall_seconds=6) as proxy:
            env = {**scan_environment(home), "AWS_ENDPOINT_URL": proxy.url}
            found = Estate(proxy, env, home, keys, baseline=ScanResult(0, "", 0, {}))
            found.baseline = found.scan(
                {**scan_environment(home, fast_failure=False), "AWS_ENDPOINT_URL": proxy.url}
            )
            assert found.baseline.returncode == 3 and not found.baseline.coverage, found.baseline.coverage
            yield found
    finally:
        server.stop()


def _seed_key(endpoint: str, region: str) -> str:
    kms = boto3.client("kms", region_name=region, endpoint_url=endpoint,
                       aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    key = kms.create_key()["KeyMetadata"]
    policy = json.dumps({"Version": "2012-10-17", "Statement": [ROOT_STATEMENT]})
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=policy)
    kms.enable_key_rotation(KeyId=key["KeyId"], RotationPeriodInDays=90)
    return str(key["Arn"])


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fault(estate: Estate, case: Case) -> None:
    fault: Fault = case.inject
    estate.proxy.clear()
    fault.hits = 0
    estate.proxy.inject(fault)
    try:
        result = estate.scan()
    finally:
        applied = estate.proxy.injected[f"{fault.kind} {fault.operation}"]
        estate.proxy.clear()
    assert applied > 0, "the fault was never injected: the case proves nothing"
    resolve = {
        "key": estate.keys[AFFECTED_REGION],
        "region": f"{ACCOUNT}/{AFFECTED_REGION}",
        "scope": ACCOUNT,
    }
    verify(case, result, estate.baseline, resolve, ACCOUNT)
    if case.outcome is Outcome.ABSORBED:
        assert applied == 1


def test_unaffected_key_is_judged_in_the_baseline(estate: Estate) -> None:
    """The comparison the cases rely on: the fault-free scan judges both keys (nothing UNKNOWN)."""
    for region, arn in estate.keys.items():
        statuses = {rule: status for (rule, uid), status in estate.baseline.findings.items() if uid == arn}
        assert statuses["key_rotation_enabled"] == "pass", region
        assert "unknown" not in statuses.values(), (region, statuses)
