"""`keyaudit scan aws` end to end: a real subprocess against a moto server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3

REGION = "eu-west-1"
ACCOUNT = "123456789012"


def _client(endpoint: str, service: str):
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint)


def _run(endpoint: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }
    return subprocess.run(
        [sys.executable, "-m", "scanner", "scan", "aws", *args],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_scan_aws_reports_findings_and_exits_3(endpoint: str, tmp_path: Path) -> None:
    kms = _client(endpoint, "kms")
    public = kms.create_key(Description="public")["KeyMetadata"]
    kms.put_key_policy(
        KeyId=public["KeyId"],
        PolicyName="default",
        Policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Sid": "Anyone", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"},
            {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
             "Action": "kms:*", "Resource": "*"}]}),
    )  # fmt: skip
    rotating = kms.create_key(Description="rotating")["KeyMetadata"]
    kms.enable_key_rotation(KeyId=rotating["KeyId"], RotationPeriodInDays=90)

    inventory_file = tmp_path / "inventory.json"
    result = _run(
        endpoint, tmp_path, "--region", REGION, "--format", "json", "--save-inventory", str(inventory_file)
    )
    assert result.returncode == 3, result.stderr
    document = json.loads(result.stdout)
    assert document["scan"]["providers"] == ["aws"]
    assert [s["uid"] for s in document["scan"]["scopes"]] == [ACCOUNT]
    verdicts = {(f["rule_id"], f["resource"]["uid"]): f["status"] for f in document["findings"]}
    assert verdicts[("key_not_publicly_accessible", public["Arn"])] == "fail"
    assert verdicts[("key_not_publicly_accessible", rotating["Arn"])] == "pass"
    assert verdicts[("key_rotation_enabled", rotating["Arn"])] == "pass"
    assert verdicts[("key_rotation_enabled", public["Arn"])] == "fail"
    assert verdicts[("key_rotation_period_within_policy", rotating["Arn"])] == "pass"
    # No CloudTrail trail: key use is not logged in the scanned region.
    assert verdicts[("key_usage_audit_logging_enabled", f"{ACCOUNT}/{REGION}")] == "fail"
    assert verdicts[("scan_coverage_complete", ACCOUNT)] == "pass"

    # The saved inventory judges the same way offline.
    offline = subprocess.run(
        [sys.executable, "-m", "scanner", "evaluate", str(inventory_file), "--format", "json"],
        capture_output=True, text=True, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert offline.returncode == 3
    assert {f["finding_id"] for f in json.loads(offline.stdout)["findings"]} == {
        f["finding_id"] for f in document["findings"]
    }


def test_scan_aws_org_role_covers_member_accounts(endpoint: str, tmp_path: Path) -> None:
    org = _client(endpoint, "organizations")
    org.create_organization(FeatureSet="ALL")
    member = org.create_account(AccountName="data-prod", Email="d@example.com")["CreateAccountStatus"][
        "AccountId"
    ]
    creds = _client(endpoint, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole", RoleSessionName="seed"
    )["Credentials"]
    member_kms = boto3.client(
        "kms", region_name=REGION, endpoint_url=endpoint, aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"],
    )  # fmt: skip
    member_key = member_kms.create_key()["KeyMetadata"]["Arn"]
    result = _run(endpoint, tmp_path, "--region", REGION, "--org-role", "OrganizationAccountAccessRole",
                  "--format", "json", "--fail-on", "none")  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert {s["uid"] for s in document["scan"]["scopes"]} == {ACCOUNT, member}
    assert any(f["resource"]["uid"] == member_key for f in document["findings"])


def test_unreachable_endpoint_is_a_runtime_error_not_a_pass(tmp_path: Path) -> None:
    result = _run("http://127.0.0.1:9", tmp_path, "--region", REGION)
    assert result.returncode == 1
    assert "AWS credentials are not usable" in result.stderr


def test_print_required_policy(tmp_path: Path) -> None:
    result = _run("http://127.0.0.1:9", tmp_path, "--print-required-policy")
    assert result.returncode == 0
    policy = json.loads(result.stdout)
    assert "kms:GetKeyPolicy" in policy["Statement"][0]["Action"]
