"""The evidence bundle: complete, hashed, atomic, and reproducible from its own contents."""

from __future__ import annotations

import hashlib
import json
import shlex
from pathlib import Path

import pytest

EXPECTED = {
    "manifest.json",
    "inventory.json",
    "result.json",
    "result.ocsf.ndjson",
    "answer-sheet.caiq.json",
    "answer-sheet.caiq.md",
    "report.html",
}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("evidence")
    run = subprocess.run(
        [sys.executable, "-m", "scanner", "demo", "--evidence", str(root / "bundle"), "--format", "json", "--quiet"],
        capture_output=True, text=True, cwd=root, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    json.loads(run.stdout)  # the requested output still goes to stdout
    return root / "bundle"


def test_the_bundle_holds_every_artefact_with_its_sha256(bundle: Path) -> None:
    names = {p.name for p in bundle.iterdir()}
    assert names >= EXPECTED
    policy = names - EXPECTED
    assert len(policy) == 1 and next(iter(policy)).endswith(".yaml")  # the policy file used
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["run_id"] and manifest["tool_version"] and manifest["scopes"]
    listed = {entry["path"]: entry for entry in manifest["files"]}
    assert set(listed) == names - {"manifest.json"}
    for name, entry in listed.items():
        data = (bundle / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["bytes"] == len(data)
    assert not list(bundle.parent.glob(".bundle.*"))  # no staging directory left behind


def test_evaluating_the_bundled_inventory_reproduces_the_findings(bundle: Path, keyaudit) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text())
    command = shlex.split(manifest["reproduce"])
    assert command[:2] == ["keyaudit", "evaluate"]
    args = [str(bundle / a) if (bundle / a).is_file() else a for a in command[2:]]
    run = keyaudit("evaluate", *args, "--fail-on", "none", "--quiet")
    assert run.returncode == 0, run.stderr
    original_policy = json.loads((bundle / "result.json").read_text())["scan"]["policy"]["path"]
    bundled_policy = str(bundle / manifest["policy"]["file"])

    def verdicts(findings: list[dict]) -> dict[str, tuple[str, str]]:
        # The only difference allowed: a message naming the policy file names the bundled copy.
        return {
            f["finding_id"]: (f["status"], f["message"].replace(original_policy, bundled_policy))
            for f in findings
        }

    again = verdicts(json.loads(run.stdout)["findings"])
    assert again == verdicts(json.loads((bundle / "result.json").read_text())["findings"])
    assert len(again) > 500


def test_an_existing_non_empty_directory_is_refused_before_any_work(tmp_path: Path, keyaudit) -> None:
    target = tmp_path / "evidence"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    run = keyaudit("demo", "--evidence", str(target), "--quiet")
    assert run.returncode == 2
    assert "--evidence" in run.stderr and str(target) in run.stderr
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    assert run.stdout == ""


def test_a_failed_run_leaves_no_bundle(tmp_path: Path, keyaudit) -> None:
    broken = tmp_path / "inventory.json"
    broken.write_text('{"schema_version": "1.0", "keys": [{"provider": "nowhere"}]}')
    run = keyaudit("evaluate", str(broken), "--evidence", str(tmp_path / "bundle"), "--quiet")
    assert run.returncode == 2
    assert not (tmp_path / "bundle").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".bundle.")]


def test_the_waiver_file_travels_with_the_bundle_and_is_part_of_the_reproduction(
    tmp_path: Path, keyaudit
) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        "waivers:\n"
        "  - id: W-ROT\n    rule: key_rotation_enabled\n    reason: legacy keys, migration planned\n"
        "    owner: kms-team\n    ticket: SEC-123\n    expires: 2099-12-31\n"
    )
    bundle = tmp_path / "bundle"
    run = keyaudit(
        "demo", "--waivers", str(waivers), "--evidence", str(bundle), "--quiet", "--format", "json"
    )
    assert run.returncode == 0, run.stderr
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert "waivers-waivers.yaml" in {f["path"] for f in manifest["files"]}
    assert "--waivers waivers-waivers.yaml" in manifest["reproduce"]
    args = [str(bundle / a) if (bundle / a).is_file() else a for a in shlex.split(manifest["reproduce"])[2:]]
    again = keyaudit("evaluate", *args, "--fail-on", "none", "--quiet")
    assert again.returncode == 0, again.stderr
    waived = {f["finding_id"] for f in json.loads(again.stdout)["findings"] if f["waived"]}
    original = {
        f["finding_id"] for f in json.loads((bundle / "result.json").read_text())["findings"] if f["waived"]
    }
    assert waived == original and waived
