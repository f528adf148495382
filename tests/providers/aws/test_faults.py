"""Faults during an AWS scan: the scan completes, affected resources are UNKNOWN with a coverage
finding, unaffected ones are judged normally, and the run fails (exit 3), never a silent pass."""

from __future__ import annotations

import json

import boto3
import pytest
from moto.core.exceptions import JsonRESTError
from moto.kms.responses import KmsResponse

from providers.aws.collect import AwsCollector, AwsOptions
from providers.aws.normalise import normalise
from scanner.engine import discover_rules, evaluate_all
from scanner.findings import Summary
from scanner.inventory import ErrorClass, KeyAspect
from scanner.policy import default_policy
from scanner.progress import NullProgress
from scanner.rule import Context, Severity, Status
from scanner.run import EXIT_FINDINGS, exit_code
from tests.providers.aws.conftest import OTHER_REGION, REGION, failing

ACCOUNT = "123456789012"
ROOT_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*",
     "Resource": "*"}]})  # fmt: skip


def _estate() -> dict[str, str]:
    arns = {}
    for region in (REGION, OTHER_REGION):
        kms = boto3.client("kms", region_name=region)
        key = kms.create_key()["KeyMetadata"]
        kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=ROOT_POLICY)
        kms.enable_key_rotation(KeyId=key["KeyId"], RotationPeriodInDays=90)
        arns[region] = key["Arn"]
    return arns


def _scan():
    options = AwsOptions(regions=(REGION, OTHER_REGION), max_attempts=2)
    inventory = normalise(AwsCollector(options, NullProgress()).collect())
    findings = list(evaluate_all(discover_rules(), Context.build(inventory, default_policy())))
    summary = Summary(fail_on=Severity.HIGH)
    for finding in findings:
        summary.add(finding)
    return inventory, findings, summary


def _status(findings, rule: str, uid: str) -> Status:
    [found] = [f for f in findings if f.rule_id == rule and f.resource.uid == uid]
    return found.status


@pytest.mark.parametrize(
    ("operation", "code", "error_class", "aspect", "rule"),
    [
        (
            "list_grants",
            "AccessDeniedException",
            ErrorClass.ACCESS_DENIED,
            KeyAspect.ACCESS,
            "key_admin_separated_from_use",
        ),
        (
            "get_key_policy",
            "ThrottlingException",
            ErrorClass.THROTTLED,
            KeyAspect.ACCESS,
            "key_not_publicly_accessible",
        ),
        (
            "get_key_rotation_status",
            "AccessDeniedException",
            ErrorClass.ACCESS_DENIED,
            KeyAspect.ROTATION,
            "key_rotation_enabled",
        ),
        ("list_resource_tags", "KMSInternalException", ErrorClass.SERVICE_ERROR, KeyAspect.TAGS, None),
    ],
)
def test_api_failing_in_one_region_makes_only_that_regions_keys_unknown(
    aws: None, operation: str, code: str, error_class: ErrorClass, aspect: KeyAspect, rule: str | None
) -> None:
    arns = _estate()
    with failing(operation, code, region=OTHER_REGION):
        inventory, findings, summary = _scan()
    keys = {k.uid: k for k in inventory.keys}
    assert aspect in keys[arns[OTHER_REGION]].unreadable
    assert keys[arns[REGION]].unreadable == frozenset()
    [error] = [e for e in inventory.errors if e.resource == arns[OTHER_REGION]]
    assert error.error_class is error_class and error.location == OTHER_REGION
    if rule is not None:
        assert _status(findings, rule, arns[OTHER_REGION]) is Status.UNKNOWN
        assert _status(findings, rule, arns[REGION]) is not Status.UNKNOWN
    assert _status(findings, "scan_coverage_complete", ACCOUNT) is Status.FAIL
    assert exit_code(summary) == EXIT_FINDINGS


def test_key_listing_denied_in_one_region_is_a_coverage_failure(aws: None) -> None:
    arns = _estate()
    with failing("list_keys", "AccessDeniedException", region=OTHER_REGION):
        inventory, findings, summary = _scan()
    assert [k.uid for k in inventory.keys] == [arns[REGION]]
    coverage = [f for f in findings if f.rule_id == "scan_coverage_complete"]
    assert [f.status for f in coverage] == [Status.FAIL]
    assert "kms:ListKeys in us-east-1 (access_denied)" in coverage[0].message
    assert exit_code(summary) == EXIT_FINDINGS


def test_iam_unreadable_makes_delegated_keys_unknown_for_segregation_rules(aws: None) -> None:
    arns = _estate()
    from moto.iam.responses import IamResponse

    original = IamResponse.get_account_authorization_details

    def denied(self: IamResponse) -> str:
        raise JsonRESTError("AccessDenied", "injected")

    IamResponse.get_account_authorization_details = denied  # type: ignore[method-assign]
    try:
        _, findings, _ = _scan()
    finally:
        IamResponse.get_account_authorization_details = original  # type: ignore[method-assign]
    for arn in arns.values():
        assert _status(findings, "key_admin_separated_from_use", arn) is Status.UNKNOWN
        assert _status(findings, "key_rotation_enabled", arn) is Status.PASS  # unaffected data still judged
    assert _status(findings, "no_decrypt_on_all_keys", ACCOUNT) is Status.UNKNOWN


def test_throttling_that_outlives_retries_is_recorded_once_per_call(aws: None) -> None:
    _estate()
    calls = {"n": 0}
    original = KmsResponse.describe_key

    def throttled(self: KmsResponse) -> str:
        calls["n"] += 1
        raise JsonRESTError("ThrottlingException", "Rate exceeded")

    KmsResponse.describe_key = throttled  # type: ignore[method-assign]
    try:
        inventory, findings, _ = _scan()
    finally:
        KmsResponse.describe_key = original  # type: ignore[method-assign]
    assert calls["n"] == 4  # two keys, two attempts each (max_attempts=2): retried, then recorded
    assert all(k.unreadable == frozenset(KeyAspect) for k in inventory.keys)
    assert {e.error_class for e in inventory.errors} == {ErrorClass.THROTTLED}
    assert all(
        f.status is not Status.PASS for f in findings if f.resource.uid in {k.uid for k in inventory.keys}
    )


def test_custom_key_store_that_cannot_be_described_is_unknown_not_missing(aws: None) -> None:
    from providers.aws import simulator

    kms = boto3.client("kms", region_name=REGION)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    simulator.set_key_metadata(
        ACCOUNT, REGION, key_id, CustomKeyStoreId="cks-1234567890abcdef0", Origin="AWS_CLOUDHSM"
    )
    with failing("describe_custom_key_stores", "AccessDeniedException"):
        inventory, findings, _ = _scan()
    [store] = [s for s in inventory.key_stores if s.uid.endswith("cks-1234567890abcdef0")]
    assert _status(findings, "custom_key_store_healthy", store.uid) is Status.UNKNOWN
    assert any(e.api == "kms:DescribeCustomKeyStores" for e in inventory.errors)


def test_regions_without_custom_key_store_keys_do_not_ask_for_stores(aws: None) -> None:
    _estate()
    estate = AwsCollector(AwsOptions(regions=(REGION,)), NullProgress()).collect()
    assert estate.api_calls["kms:DescribeCustomKeyStores"] == 0
    assert estate.api_calls["cloudhsmv2:DescribeClusters"] == 0
