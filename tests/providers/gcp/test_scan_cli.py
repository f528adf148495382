"""`keyaudit scan gcp` end to end: a real subprocess, the real Google clients, a replay server on 127.0.0.1."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from providers.gcp import simulated as sim
from providers.gcp.replay import ReplayServer

TOKEN = {"method": "POST", "path": "/token",
         "response": {"access_token": "ya29.keyaudit-test", "expires_in": 3600, "token_type": "Bearer"}}  # fmt: skip
DEMO = json.loads(sim.DEMO_FILE.read_text(encoding="utf-8"))["exchanges"]


def _service_account_file(tmp_path: Path, token_uri: str) -> Path:
    """A service-account key whose own token_uri is the replay server (SPEC: it must be honoured)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path = tmp_path / "scanner-key.json"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "example-security", "private_key_id": "k1",
        "private_key": pem, "client_email": "keyaudit@example-security.iam.gserviceaccount.com",
        "client_id": "1", "token_uri": token_uri,
    }))  # fmt: skip
    return path


def _findings(stdout: str) -> tuple[dict[str, Any], dict[tuple[str, str], str]]:
    document = json.loads(stdout)
    return document, {(f["rule_id"], f["resource"]["uid"]): f["status"] for f in document["findings"]}


def test_organization_scan_through_cloud_asset_with_adc_from_a_key_file(keyaudit, tmp_path: Path) -> None:
    with ReplayServer(exchanges=[TOKEN, *DEMO]) as server:
        key_file = _service_account_file(tmp_path, f"{server.url}/token")
        run = keyaudit(
            "scan", "gcp", "--organization", sim.ORG_ID, "--gcp-endpoint", server.url,
            "--format", "json", "--quiet",
            env={"GOOGLE_APPLICATION_CREDENTIALS": str(key_file)},
        )  # fmt: skip
        requests = list(server.requests)
        unmatched = [str(r) for r in server.unmatched]
    assert run.returncode == 3, run.stderr  # failing findings, and one project partly unreadable
    assert unmatched == []
    # The token came from the key file's token_uri, and every API call carried it.
    assert requests[0].method == "POST" and requests[0].path == "/token"
    assert {r.authorization for r in requests[1:]} == {"Bearer"}
    assert "ya29.keyaudit-test" not in run.stdout + run.stderr
    # The organization cost a few Cloud Asset calls, not a dozen calls per project: one listing of its
    # Cloud KMS resources, one of its AI resources, one policy search.
    paths = Counter(r.path for r in requests)
    assert paths[f"/v1/{sim.ORG}/assets"] == 2 and paths[f"/v1/{sim.ORG}:searchAllIamPolicies"] == 1
    assert not [r for r in requests if r.path.endswith("/cryptoKeys")]
    document, findings = _findings(run.stdout)
    notes = document["scan"]["inventory"]["notes"]
    assert notes[f"gcp.path[{sim.ORG}]"] == "asset_inventory"
    assert document["scan"]["inventory"]["keys"] == 15
    assert {s["uid"] for s in document["scan"]["scopes"]} == {
        sim.PAYMENTS,
        sim.ANALYTICS,
        sim.SANDBOX,
        sim.ML,
    }
    assert findings[("scan_coverage_complete", sim.SANDBOX)] == "fail"
    assert findings[("scan_coverage_complete", sim.PAYMENTS)] == "pass"
    assert "fail" in {
        status for (rule, _), status in findings.items() if rule == "key_admin_separated_from_use"
    }


def test_project_scan_per_project_with_the_endpoint_from_the_environment(keyaudit, tmp_path: Path) -> None:
    with ReplayServer(exchanges=DEMO) as server:
        run = keyaudit(
            "scan", "gcp", "--project", sim.PAYMENTS, "--project", sim.ANALYTICS, "--format", "json",
            "--quiet", env={"KEYAUDIT_GCP_ENDPOINT": server.url},
        )  # fmt: skip
        requests = list(server.requests)
    # No Application Default Credentials and a loopback endpoint: read anonymously, with a warning.
    assert "gcp.credentials.anonymous" in run.stderr
    assert {r.authorization for r in requests} == {None}
    document, findings = _findings(run.stdout)
    assert run.returncode == 3, run.stderr
    assert document["scan"]["inventory"]["notes"]["gcp.path[projects]"] == "per_project"
    assert {s["uid"] for s in document["scan"]["scopes"]} == {sim.PAYMENTS, sim.ANALYTICS}
    assert findings[("scan_coverage_complete", sim.PAYMENTS)] == "pass"
    assert any(r.path.endswith("/cryptoKeys") for r in requests)


def test_folder_scan_falls_back_to_per_project_when_cloud_asset_is_denied(keyaudit, tmp_path: Path) -> None:
    estate = sim.demo_estate()
    exchanges = sim.combine(
        sim.asset_exchanges(estate, sim.PRODUCTION, asset_denied="SERVICE_DISABLED"),
        sim.per_project_exchanges(estate),
    )
    with ReplayServer(exchanges=exchanges) as server:
        run = keyaudit("scan", "gcp", "--folder", sim.PRODUCTION, "--gcp-endpoint", server.url,
                       "--format", "json", "--quiet")  # fmt: skip
        unmatched = [str(r) for r in server.unmatched]
    assert unmatched == []
    document, findings = _findings(run.stdout)
    path = document["scan"]["inventory"]["notes"][f"gcp.path[{sim.PRODUCTION}]"]
    assert path.startswith("per_project (Cloud Asset Inventory unavailable: access_denied")
    # Only the Production folder's projects holding keys, both read completely by the fallback (the ML
    # project, AI resources only, is named by Cloud Asset alone: the fallback enumerates it, and reads it).
    assert {s["uid"] for s in document["scan"]["scopes"]} == {sim.PAYMENTS, sim.ANALYTICS, sim.ML}
    assert findings[("scan_coverage_complete", sim.PAYMENTS)] == "pass"
    assert run.returncode == 3


def test_missing_credentials_are_a_coverage_failure_not_a_pass(keyaudit) -> None:
    run = keyaudit("scan", "gcp", "--project", "example-payments-prod", "--format", "json", "--quiet")
    assert run.returncode == 3, run.stderr
    document, findings = _findings(run.stdout)
    assert findings[("scan_coverage_complete", "example-payments-prod")] == "fail"
    [error] = document["scan"]["coverage"]
    assert error["error_class"] == "access_denied"
    assert "Application Default Credentials" in error["message"]
    # Nothing about the project is judged as passing: its only GCP finding is the coverage failure.
    assert [(f["rule_id"], f["status"]) for f in document["findings"] if f["provider"] == "gcp"] == [
        ("scan_coverage_complete", "fail")
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--organization", "acme"), "--organization 'acme': expected a numeric organization id"),
        (("--folder", "folders/x1"), "--folder 'folders/x1': expected a numeric folder id"),
        (("--project", "bad/project"), "--project 'bad/project': expected a project id"),
        (("--project", "p", "--gcp-endpoint", "ftp://127.0.0.1:1"), "--gcp-endpoint"),
    ],
)
def test_bad_scope_flags_exit_2_naming_the_flag(keyaudit, args: tuple[str, ...], message: str) -> None:
    run = keyaudit("scan", "gcp", *args, "--quiet")
    assert run.returncode == 2
    assert message in run.stderr
    assert run.stdout == ""


def test_print_required_policy_is_a_read_only_custom_role(keyaudit) -> None:
    run = keyaudit("scan", "gcp", "--print-required-policy")
    assert run.returncode == 0, run.stderr
    role = json.loads(run.stdout)
    permissions = role["includedPermissions"]
    assert {"cloudkms.cryptoKeys.list", "cloudasset.assets.searchAllIamPolicies", "iam.roles.get"} <= set(
        permissions
    )
    assert not [
        p
        for p in permissions
        if p.rsplit(".", 1)[-1].startswith(("set", "create", "update", "delete", "destroy"))
    ]


def test_a_scan_writes_its_evidence_bundle(keyaudit, tmp_path: Path) -> None:
    bundle = tmp_path / "evidence"
    with ReplayServer(exchanges=DEMO) as server:
        run = keyaudit("scan", "gcp", "--project", sim.PAYMENTS, "--gcp-endpoint", server.url,
                       "--evidence", str(bundle), "--format", "json", "--quiet")  # fmt: skip
    assert run.returncode == 3, run.stderr
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["mode"] == "scan" and manifest["providers"] == ["gcp"]
    assert {"inventory.json", "result.json", "report.html"} <= {f["path"] for f in manifest["files"]}
