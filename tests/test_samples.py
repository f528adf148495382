"""samples/ stays honest: the report matches what the sample inventory produces today, the demo ships
the same files, and every SPEC 5 rule both passes and fails somewhere in the sample estate."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from scanner.inventory import load_inventory

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"


def _evaluate(tmp_path: Path) -> dict:
    out = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "scanner", "evaluate", "samples/inventory-multicloud.json",
         "--policy", "samples/cek-policy.yaml", "--as-of", "2026-11-22", "-o", str(out), "--quiet"],
        capture_output=True, text=True, check=False, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr  # the sample estate has high and critical failures
    return json.loads(out.read_text())


def test_sample_report_is_what_the_sample_inventory_produces(tmp_path: Path) -> None:
    fresh = _evaluate(tmp_path)
    stored = json.loads((SAMPLES / "report.json").read_text())

    def verdicts(document: dict) -> dict[str, tuple[str, str]]:
        return {f["finding_id"]: (f["status"], f["message"]) for f in document["findings"]}

    assert verdicts(fresh) == verdicts(stored), "run `make samples` to regenerate samples/report.json"


def test_demo_ships_the_sample_files() -> None:
    data = REPO / "scanner" / "data"
    assert (data / "sample-inventory.json").read_bytes() == (
        SAMPLES / "inventory-multicloud.json"
    ).read_bytes()
    assert (data / "sample-policy.yaml").read_bytes() == (SAMPLES / "cek-policy.yaml").read_bytes()


def test_sample_inventory_is_rebuilt_identically(tmp_path: Path) -> None:
    rebuilt = tmp_path / "inventory.json"
    subprocess.run(
        [sys.executable, str(SAMPLES / "build_sample_inventory.py"), "--out", str(rebuilt)], check=True
    )
    assert load_inventory(rebuilt) == load_inventory(SAMPLES / "inventory-multicloud.json")


def test_every_cloud_rule_passes_and_fails_somewhere_in_the_sample(tmp_path: Path) -> None:
    statuses: dict[str, set[str]] = defaultdict(set)
    providers: set[str] = set()
    for finding in _evaluate(tmp_path)["findings"]:
        statuses[finding["rule_id"]].add(finding["status"])
        providers.add(finding["provider"])
    assert providers == {"aws", "gcp", "azure", "policy"}
    cloud_rules = [rule for rule in statuses if not rule.startswith("cek_")]
    assert len(cloud_rules) == 28
    for rule in cloud_rules:
        assert {"pass", "fail"} <= statuses[rule], (rule, statuses[rule])


def test_demo_runs_and_exits_0_whatever_it_finds(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scanner", "demo", "--format", "json", "--quiet"],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["scan"]["mode"] == "demo"
    assert any(f["status"] == "fail" for f in document["findings"])
    failing = subprocess.run(
        [sys.executable, "-m", "scanner", "demo", "--fail-on", "high", "--quiet", "--format", "json"],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert failing.returncode == 3
