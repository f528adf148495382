"""History across real scans: `keyaudit scan aws --state DB` against a moto server, with changes between runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3

from tests.providers.aws.conftest import OTHER_REGION, REGION, failing

ROTATION = "key_rotation_enabled"
COVERAGE = "scan_coverage_complete"


def _scan(endpoint: str, cwd: Path, state: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": REGION}
    out = cwd / "result.json"
    done = subprocess.run(
        [sys.executable, "-m", "scanner", "scan", "aws", "--region", REGION, "--region", OTHER_REGION,
         "--state", str(state), "--format", "json", "-o", str(out), "--fail-on", "none", *args],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=300, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode in (0, 3), done.stderr
    return done.returncode, json.loads(out.read_text()), done.stderr


def _by_resource(result: dict[str, Any], rule: str) -> dict[str, dict[str, Any]]:
    return {f["resource"]["uid"]: f for f in result["findings"] if f["rule_id"] == rule}


def _key(endpoint: str, region: str) -> tuple[Any, str, str]:
    kms = boto3.client("kms", region_name=region, endpoint_url=endpoint)
    meta = kms.create_key(Description=f"data key {region}")["KeyMetadata"]
    return kms, meta["KeyId"], meta["Arn"]


def test_fixed_keys_resolve_new_keys_are_new_and_a_failed_region_resolves_nothing(
    endpoint: str, tmp_path: Path
) -> None:
    state = tmp_path / "history.db"
    kms_a, id_a, arn_a = _key(endpoint, REGION)
    kms_b, id_b, arn_b = _key(endpoint, OTHER_REGION)

    _, first, _ = _scan(endpoint, tmp_path, state)
    rotation = _by_resource(first, ROTATION)
    assert rotation[arn_a]["change"] == rotation[arn_b]["change"] == "new"
    assert rotation[arn_a]["first_seen"] == rotation[arn_a]["last_seen"] == first["scan"]["started_at"]

    # Both keys get fixed; a third key arrives; and us-east-1 cannot be listed in the next run.
    kms_a.enable_key_rotation(KeyId=id_a)
    kms_b.enable_key_rotation(KeyId=id_b)
    _, _, arn_c = _key(endpoint, REGION)
    with failing("list_keys", "AccessDeniedException", region=OTHER_REGION):
        _, second, _ = _scan(endpoint, tmp_path, state)
    rotation = _by_resource(second, ROTATION)
    assert rotation[arn_a]["status"] == "pass" and rotation[arn_a]["change"] == "resolved"
    assert rotation[arn_a]["first_seen"] == first["scan"]["started_at"]
    assert rotation[arn_c]["change"] == "new"
    assert arn_b not in rotation  # its region was not read: not judged, and above all not resolved
    [gap] = _by_resource(second, COVERAGE).values()
    assert gap["status"] == "fail" and gap["change"] == "new"
    resolved_now = {
        (f["rule_id"], f["resource"]["uid"]) for f in second["findings"] if f["change"] == "resolved"
    }
    assert all(uid == arn_a for _, uid in resolved_now), resolved_now  # nothing in us-east-1 resolves
    assert second["scan"]["state"]["changes"]["resolved"] == len(resolved_now)

    # us-east-1 readable again: its key's fix is seen, and the coverage gap closes.
    _, third, _ = _scan(endpoint, tmp_path, state)
    rotation = _by_resource(third, ROTATION)
    assert rotation[arn_b]["status"] == "pass" and rotation[arn_b]["change"] == "resolved"
    assert rotation[arn_a]["change"] == "resolved"  # fixed earlier, still fixed: keeps its history
    assert rotation[arn_c]["change"] == "still_open"
    assert _by_resource(third, COVERAGE)[gap["resource"]["uid"]]["change"] == "resolved"

    # The same story from the history commands.
    history = subprocess.run(
        [sys.executable, "-m", "scanner", "history", "--state", str(state), "--format", "json"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    runs = json.loads(history.stdout)
    assert [r["run_id"] for r in runs] == [
        third["scan"]["run_id"],
        second["scan"]["run_id"],
        first["scan"]["run_id"],
    ]
    assert runs[1]["coverage_gaps"] == 1 and runs[0]["coverage_gaps"] == 0
    diff = subprocess.run(
        [sys.executable, "-m", "scanner", "diff", "--state", str(state), "--since", first["scan"]["run_id"][:8],
         "--format", "json"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    changes = json.loads(diff.stdout)
    resolved = {(f["rule_id"], f["resource"]["uid"]) for f in changes["resolved"]}
    assert {(ROTATION, arn_a), (ROTATION, arn_b)} <= resolved
    assert (ROTATION, arn_c) in {(f["rule_id"], f["resource"]["uid"]) for f in changes["new"]}


def test_a_scan_of_fewer_regions_resolves_nothing_in_the_others(endpoint: str, tmp_path: Path) -> None:
    state = tmp_path / "history.db"
    _, _, arn = _key(endpoint, OTHER_REGION)
    _, first, _ = _scan(endpoint, tmp_path, state)
    assert _by_resource(first, ROTATION)[arn]["change"] == "new"

    # Only eu-west-1 this time: the us-east-1 key's finding is absent but its region was not listed.
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint}
    only_one = subprocess.run(
        [sys.executable, "-m", "scanner", "scan", "aws", "--region", REGION, "--state", str(state),
         "--format", "json", "--fail-on", "none"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300, check=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    partial = json.loads(only_one.stdout)
    assert arn not in _by_resource(partial, ROTATION)
    assert partial["scan"]["state"]["changes"]["resolved"] == 0

    _, full, _ = _scan(endpoint, tmp_path, state)
    assert _by_resource(full, ROTATION)[arn]["change"] == "still_open"


def test_only_new_reports_and_fails_on_new_findings_only(endpoint: str, tmp_path: Path) -> None:
    state = tmp_path / "history.db"
    _key(endpoint, REGION)
    _scan(endpoint, tmp_path, state)
    code, quiet_run, _ = _scan(endpoint, tmp_path, state, "--only-new", "--fail-on", "low")
    assert code == 0 and quiet_run["findings"] == []  # nothing new: nothing to alert on
    _, _, arn_new = _key(endpoint, REGION)
    code, alert, _ = _scan(endpoint, tmp_path, state, "--only-new", "--fail-on", "low")
    assert code == 3
    assert {f["change"] for f in alert["findings"]} == {"new"}
    assert arn_new in {f["resource"]["uid"] for f in alert["findings"]}
    assert alert["scan"]["summary"]["total"] == len(alert["findings"])


def test_an_unusable_default_store_does_not_stop_the_scan_but_only_new_refuses(
    endpoint: str, tmp_path: Path
) -> None:
    not_a_directory = tmp_path / "data-home-is-a-file"
    not_a_directory.write_text("")
    _key(endpoint, REGION)
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "XDG_DATA_HOME": str(not_a_directory)}
    command = [
        sys.executable,
        "-m",
        "scanner",
        "scan",
        "aws",
        "--region",
        REGION,
        "--format",
        "json",
        "--fail-on",
        "none",
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "state.unavailable" in done.stderr and json.loads(done.stdout)["scan"]["state"] is None
    alerting = subprocess.run(
        [*command, "--only-new"], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    assert alerting.returncode == 2 and "cannot create its directory" in alerting.stderr
