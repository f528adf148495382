"""`scan --shard I/N` and `keyaudit merge`: N jobs each scan a slice; merged, they equal one whole scan."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pytest

from scanner.errors import InputError
from scanner.shard import Shard
from tests.providers.aws.conftest import REGION

ROLE = "OrganizationAccountAccessRole"


def test_every_scope_lands_in_exactly_one_shard_the_same_way_every_time() -> None:
    scopes = [f"{100000000000 + n}" for n in range(2000)]
    shards = [Shard(i, 8) for i in range(8)]
    owners = [[s.index for s in shards if s.owns("aws", uid)] for uid in scopes]
    assert all(len(found) == 1 for found in owners)
    sizes = Counter(found[0] for found in owners)
    assert min(sizes.values()) > 2000 / 8 * 0.8  # roughly balanced
    # Stable across processes (no hash randomisation): a fixed, recorded assignment.
    assert Shard(0, 4).owns("aws", "111122223333") == Shard.parse("0/4").owns("aws", "111122223333")
    assert [Shard(i, 4).owns("gcp", "acme-prod") for i in range(4)].count(True) == 1
    assert Shard(1, 3).owns("azure", "8F3C2A1D-5B6E-4C7F-9A0B-1D2E3F4A5B6C") == Shard(1, 3).owns(
        "azure", "8f3c2a1d-5b6e-4c7f-9a0b-1d2e3f4a5b6c"
    )


@pytest.mark.parametrize("text", ["3/3", "1", "a/b", "-1/3", "0/0", "1/2/3"])
def test_bad_shards_are_usage_errors(text: str) -> None:
    with pytest.raises(InputError, match="--shard"):
        Shard.parse(text)


def _organization(endpoint: str, members: int) -> list[str]:
    org = boto3.client("organizations", region_name=REGION, endpoint_url=endpoint)
    org.create_organization(FeatureSet="ALL")
    accounts = []
    for n in range(members):
        account = org.create_account(AccountName=f"team-{n}", Email=f"t{n}@example.com")[
            "CreateAccountStatus"
        ]["AccountId"]
        creds = boto3.client("sts", region_name=REGION, endpoint_url=endpoint).assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/{ROLE}", RoleSessionName="seed"
        )["Credentials"]
        kms = boto3.client(
            "kms", region_name=REGION, endpoint_url=endpoint, aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"],
        )  # fmt: skip
        kms.create_key(Description=f"key of team {n}")
        accounts.append(account)
    return accounts


def _keyaudit(endpoint: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": REGION}
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args], capture_output=True, text=True, env=env, cwd=cwd,
        timeout=300, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def _verdicts(document: dict[str, Any]) -> dict[str, str]:
    return {f["finding_id"]: f["status"] for f in document["findings"]}


def test_three_shards_merged_equal_one_whole_scan(endpoint: str, tmp_path: Path) -> None:
    members = _organization(endpoint, 5)
    scan = [
        "scan",
        "aws",
        "--org-role",
        ROLE,
        "--region",
        REGION,
        "--no-state",
        "--format",
        "json",
        "--fail-on",
        "none",
    ]
    whole = _keyaudit(endpoint, tmp_path, *scan, "-o", "whole.json")
    assert whole.returncode == 0, whole.stderr
    scopes_seen: list[str] = []
    for index in range(3):
        part = _keyaudit(endpoint, tmp_path, *scan, "--shard", f"{index}/3", "-o", f"shard-{index}.json")
        assert part.returncode == 0, part.stderr
        document = json.loads((tmp_path / f"shard-{index}.json").read_text())
        assert document["scan"]["shard"] == {"index": index, "count": 3}
        scopes_seen += [s["uid"] for s in document["scan"]["scopes"]]
    assert sorted(scopes_seen) == sorted([*members, "123456789012"])  # each account in exactly one shard

    merged = _keyaudit(
        endpoint, tmp_path, "merge", "shard-0.json", "shard-1.json", "shard-2.json", "--format", "json",
        "-o", "merged.json", "--fail-on", "none",
    )  # fmt: skip
    assert merged.returncode == 0, merged.stderr
    merged_doc = json.loads((tmp_path / "merged.json").read_text())
    whole_doc = json.loads((tmp_path / "whole.json").read_text())
    assert _verdicts(merged_doc) == _verdicts(whole_doc)
    assert merged_doc["scan"]["mode"] == "merge" and len(merged_doc["scan"]["merged_from"]) == 3
    assert merged_doc["scan"]["summary"]["total"] == len(merged_doc["findings"])

    # A shard that never reported is a coverage gap and fails the merged report.
    partial = _keyaudit(endpoint, tmp_path, "merge", "shard-0.json", "shard-2.json", "--format", "json")
    assert partial.returncode == 3
    partial_doc = json.loads(partial.stdout)
    [gap] = [g for g in partial_doc["scan"]["coverage"] if g["api"] == "keyaudit:merge"]
    assert gap["scope"] == "shard 1/3"
    assert any(
        f["rule_id"] == "scan_coverage_complete" and f["scope"] == "shard 1/3" and f["status"] == "fail"
        for f in partial_doc["findings"]
    )
    html = _keyaudit(endpoint, tmp_path, "merge", "shard-0.json", "shard-1.json", "shard-2.json", "--format", "html",
                     "--format", "ocsf", "--format", "csv", "-o", "report")  # fmt: skip
    assert html.returncode == 3 or html.returncode == 0, html.stderr
    assert (tmp_path / "report" / "keyaudit-report.html").stat().st_size > 0


def test_merge_refuses_mixed_inputs(tmp_path: Path, keyaudit: Any) -> None:
    from tests.conftest import REPO

    sample = str(REPO / "samples" / "inventory-multicloud.json")
    policy = str(REPO / "samples" / "cek-policy.yaml")
    assert keyaudit("evaluate", sample, "--format", "json", "-o", "a.json").returncode in (0, 3)
    assert keyaudit(
        "evaluate", sample, "--policy", policy, "--format", "json", "-o", "b.json"
    ).returncode in (0, 3)
    mixed = keyaudit("merge", "a.json", "b.json")
    assert mixed.returncode == 2 and "different policy files" in mixed.stderr
    (tmp_path / "inventory.json").write_text((REPO / "samples" / "inventory-multicloud.json").read_text())
    wrong = keyaudit("merge", "inventory.json")
    assert wrong.returncode == 2 and "inventory.json" in wrong.stderr
