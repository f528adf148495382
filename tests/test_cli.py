"""End-to-end through the real command line, in a subprocess, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from scanner.inventory import Capability, PrincipalKind
from tests import factories as f

GOOD_POLICY = """\
policy:
  id: cek-2026
  owner: CISO office
  approved_by: Risk committee
  approved_on: 2026-02-01
  last_reviewed: 2026-02-01
roles:
  key_administrators:
    members: ["arn:aws:iam::111122223333:role/KeyAdmin", "arn:aws:iam::111122223333:role/KeyAdmin2"]
    last_reviewed: 2026-02-01
  key_users:
    members: ["arn:aws:iam::111122223333:role/App*"]
    last_reviewed: 2026-02-01
  auditors:
    members: ["arn:aws:iam::111122223333:role/Audit", "arn:aws:iam::111122223333:role/Audit2"]
"""


def _estate():
    key = f.key("k1")
    public_key = f.key("k2")
    admins = [f.principal(f"arn:aws:iam::111122223333:role/KeyAdmin{n}") for n in ("", "2")]
    anyone = f.principal("*", PrincipalKind.PUBLIC)
    bindings = [
        f.binding(p.uid, k.uid, Capability.ADMINISTER_ACCESS, Capability.MANAGE_LIFECYCLE)
        for p in admins
        for k in (key, public_key)
    ]
    bindings.append(f.binding("*", public_key.uid, Capability.DECRYPT))
    return f.inventory(
        keys=(key, public_key),
        principals=(*admins, anyone),
        bindings=tuple(bindings),
        audit_logging=(f.audit(location=f.REGION, admin_events=True, usage_events=True),),
    )


@pytest.fixture
def estate(write_inventory) -> Path:
    return write_inventory(_estate())


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "cek-policy.yaml"
    path.write_text(GOOD_POLICY)
    return path


def test_help_does_not_import_any_cloud_sdk() -> None:
    code = (
        "import sys\n"
        "from scanner.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 'google', 'azure')]\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "Exit codes" in result.stdout


def test_evaluate_without_history_loads_no_database_or_cloud_library(estate) -> None:
    """SQLAlchemy, Alembic, psycopg and prometheus_client load only for runs that use them."""
    code = (
        "import sys\n"
        "from scanner.cli import main\n"
        f"try:\n    main(['evaluate', {str(estate)!r}, '--format', 'json', '-o', '/dev/null', '-q', '--fail-on', 'none'])\n"
        "except SystemExit as e:\n    assert e.code == 0, e.code\n"
        "heavy = ('boto3', 'botocore', 'google', 'azure', 'sqlalchemy', 'alembic', 'psycopg', 'prometheus_client')\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] in heavy})\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_evaluate_exits_3_on_failing_findings_and_0_with_fail_on_none(keyaudit, estate, policy_file) -> None:
    failing = keyaudit("evaluate", str(estate), "--policy", str(policy_file), "--as-of", "2026-11-22")
    assert failing.returncode == 3, failing.stderr
    document = json.loads(failing.stdout)  # not a TTY: machine-readable JSON by default
    public = [
        x
        for x in document["findings"]
        if x["rule_id"] == "key_not_publicly_accessible" and x["status"] == "fail"
    ]
    assert [x["resource"]["uid"] for x in public] == [f.key("k2").uid]
    relaxed = keyaudit("evaluate", str(estate), "--policy", str(policy_file), "--fail-on", "none")
    assert relaxed.returncode == 0, relaxed.stderr


def test_native_json_has_the_pinned_fields(keyaudit, estate, policy_file) -> None:
    result = keyaudit("evaluate", str(estate), "--policy", str(policy_file), "--format", "json")
    document = json.loads(result.stdout)
    assert document["schema_version"]
    scan = document["scan"]
    for field in (
        "run_id",
        "started_at",
        "finished_at",
        "tool_version",
        "providers",
        "scopes",
        "policy",
        "coverage",
    ):
        assert field in scan, field
    assert scan["policy"]["path"].endswith("cek-policy.yaml") and len(scan["policy"]["sha256"]) == 64
    assert scan["started_at"].endswith("Z") and scan["providers"] == ["aws"]
    finding = document["findings"][0]
    for field in (
        "finding_id", "rule_id", "title", "severity", "status", "provider", "scope", "location",
        "resource", "message", "evidence", "remediation", "controls", "waived",
    ):  # fmt: skip
        assert field in finding, field
    assert set(finding["resource"]) == {"uid", "type", "name"}
    statuses = {x["status"] for x in document["findings"]}
    assert "pass" in statuses  # passes are evidence for auditors
    assert {x["provider"] for x in document["findings"]} == {"aws", "policy"}


def test_finding_ids_are_stable_across_runs(keyaudit, estate, policy_file) -> None:
    runs = [
        json.loads(keyaudit("evaluate", str(estate), "--policy", str(policy_file)).stdout) for _ in range(2)
    ]
    ids = [sorted(x["finding_id"] for x in run["findings"]) for run in runs]
    assert ids[0] == ids[1]
    assert runs[0]["scan"]["run_id"] != runs[1]["scan"]["run_id"]
    assert len(set(ids[0])) == len(ids[0])


def test_only_failed_drops_passes(keyaudit, estate, policy_file) -> None:
    result = keyaudit("evaluate", str(estate), "--policy", str(policy_file), "--only-failed")
    document = json.loads(result.stdout)
    assert document["findings"] and all(x["status"] != "pass" for x in document["findings"])
    assert document["scan"]["summary"]["by_status"]["pass"] > 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rotaton:\n  max_days: 90\n", ["cek-policy.yaml:1", "rotaton", "did you mean 'rotation'"]),
        ("rotation:\n  max_days: ninety\n", ["cek-policy.yaml:2", "rotation.max_days", "integer"]),
        ("roles:\n  key_users:\n    members: [a\n", ["cek-policy.yaml:4", "not valid YAML"]),
        ("policy:\n  approved_on: someday\n", ["cek-policy.yaml:2", "policy.approved_on", "date"]),
    ],
)
def test_bad_policy_exits_2_naming_file_line_and_key_and_writes_nothing(
    keyaudit, estate, tmp_path: Path, text: str, expected: list[str]
) -> None:
    (tmp_path / "cek-policy.yaml").write_text(text)
    out = tmp_path / "report.json"
    result = keyaudit("evaluate", str(estate), "--policy", "cek-policy.yaml", "-o", str(out))
    assert result.returncode == 2
    for fragment in expected:
        assert fragment in result.stderr, (fragment, result.stderr)
    assert not out.exists()
    assert not list(tmp_path.glob(".report.json*"))
    assert "Traceback" not in result.stderr


def test_bad_inventory_exits_2_naming_the_place(keyaudit, tmp_path: Path) -> None:
    broken = tmp_path / "inv.json"
    broken.write_text('{"keys": [{"provider": "aws", "uid": "k", "scope": "1", "state": "melted"}]}')
    result = keyaudit("evaluate", str(broken))
    assert result.returncode == 2
    assert "inv.json" in result.stderr and "keys[0].state" in result.stderr
    truncated = tmp_path / "cut.json"
    truncated.write_text('{"keys": [')
    result = keyaudit("evaluate", str(truncated))
    assert result.returncode == 2 and "cut.json" in result.stderr and "line 1" in result.stderr
    result = keyaudit("evaluate", str(tmp_path / "missing.json"))
    assert result.returncode == 2 and "missing.json" in result.stderr


def test_several_formats_go_to_a_directory_atomically(keyaudit, estate, policy_file, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    result = keyaudit(
        "evaluate", str(estate), "--policy", str(policy_file), "--format", "json", "--format", "table",
        "-o", str(out), "--fail-on", "none",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["keyaudit-report.json", "keyaudit-report.txt"]
    assert json.loads((out / "keyaudit-report.json").read_text())["findings"]
    table = (out / "keyaudit-report.txt").read_text()
    assert "key_not_publicly_accessible" in table and "\x1b[" not in table
    assert result.stdout == ""


def test_several_formats_without_output_directory_is_a_usage_error(keyaudit, estate) -> None:
    result = keyaudit("evaluate", str(estate), "--format", "json", "--format", "table")
    assert result.returncode == 2 and "-o/--output" in result.stderr
    result = keyaudit("evaluate", str(estate), "--format", "yaml")
    assert result.returncode == 2 and "unknown format" in result.stderr


def test_logs_are_json_on_stderr_with_the_run_id(keyaudit, estate) -> None:
    result = keyaudit("evaluate", str(estate), "--fail-on", "none")
    events = [json.loads(line) for line in result.stderr.splitlines()]
    run_id = json.loads(result.stdout)["scan"]["run_id"]
    assert {e["event"] for e in events} >= {"run.start", "run.finish"}
    assert all(e["run_id"] == run_id for e in events)
    quiet = keyaudit("evaluate", str(estate), "--fail-on", "none", "--quiet")
    assert quiet.stderr == ""


def test_rules_list_json_has_every_rule_with_metadata(keyaudit) -> None:
    result = keyaudit("rules", "list", "--format", "json")
    assert result.returncode == 0, result.stderr
    catalogue = {r["id"]: r for r in json.loads(result.stdout)}
    rules_dir = Path(__file__).resolve().parent.parent / "rules"
    modules = {p.stem for p in rules_dir.glob("*.py") if not p.stem.startswith("_")}
    assert set(catalogue) == modules
    for rule in catalogue.values():
        assert rule["title"] and rule["severity"] and rule["rationale"] and rule["remediation"]
        assert any(c.startswith("CSA-AICM:") for c in rule["controls"])
    cek02 = json.loads(keyaudit("rules", "list", "--format", "json", "--control", "CEK-02").stdout)
    assert cek02 and all(any("CEK-02" in c for c in r["controls"]) for r in cek02)


def test_rules_show(keyaudit) -> None:
    result = keyaudit("rules", "show", "cek_policy_present")
    assert result.returncode == 0 and "CSA-AICM:CEK-01" in result.stdout
    missing = keyaudit("rules", "show", "cek_policy_presnt")
    assert missing.returncode == 2 and "did you mean cek_policy_present" in missing.stderr


def test_policy_init_writes_a_starter_that_checks_clean(keyaudit, tmp_path: Path) -> None:
    assert keyaudit("policy", "init", "starter.yaml").returncode == 0
    check = keyaudit("policy", "check", "starter.yaml")
    assert check.returncode == 0, check.stderr
    assert "valid CEK policy" in check.stdout
    again = keyaudit("policy", "init", "starter.yaml")
    assert again.returncode == 2 and "already exists" in again.stderr
    assert keyaudit("policy", "init").stdout.startswith("# keyaudit CEK policy")


def test_policy_check_reports_bad_file(keyaudit, tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text("segregation:\n  min_admins: 2\n")
    result = keyaudit("policy", "check", "p.yaml")
    assert result.returncode == 2
    assert "p.yaml:2" in result.stderr and "segregation.min_admins" in result.stderr


def test_a_provider_that_is_not_installed_is_a_clear_runtime_failure() -> None:
    from scanner.errors import RuntimeFailure
    from scanner.provider import load_provider

    with pytest.raises(RuntimeFailure, match="provider 'oracle' is not available"):
        load_provider("oracle")


def test_scan_of_an_unknown_provider_is_a_usage_error(keyaudit) -> None:
    result = keyaudit("scan", "oracle")
    assert result.returncode == 2
    assert "oracle" in result.stderr


def test_governance_dates_use_the_as_of_clock(keyaudit, estate, policy_file) -> None:
    def verdict(as_of: str) -> str:
        run = keyaudit("evaluate", str(estate), "--policy", str(policy_file), "--as-of", as_of)
        [finding] = [
            x
            for x in json.loads(run.stdout)["findings"]
            if x["rule_id"] == "cek_policy_reviewed_within_interval"
        ]
        return finding["status"]

    assert verdict("2026-11-22") == "pass"
    assert verdict((date(2027, 3, 1)).isoformat()) == "fail"


def test_output_to_a_pipe_or_device_is_written_in_place_not_replaced(keyaudit, tmp_path: Path) -> None:
    """`-o /dev/null` or a FIFO: the atomic rename must never replace the device node or pipe itself."""
    import os
    import stat
    import threading

    from tests.conftest import REPO

    fifo = tmp_path / "findings.pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    done = keyaudit(
        "evaluate", str(REPO / "samples" / "inventory-multicloud.json"), "--format", "json", "-o", str(fifo),
        "--fail-on", "none",
    )  # fmt: skip
    reader.join(timeout=60)
    assert done.returncode == 0, done.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert json.loads(received[0])["findings"]
    refused = keyaudit(
        "evaluate", str(REPO / "samples" / "inventory-multicloud.json"), "--metrics-file", str(fifo)
    )
    assert refused.returncode == 2 and "not a regular file" in refused.stderr
