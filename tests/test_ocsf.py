"""OCSF output: every event keyaudit emits is a valid OCSF 1.8.0 Compliance Finding (strict validator)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scanner.findings import Finding
from scanner.output.ocsf_writer import event
from scanner.rule import ResourceRef, Severity, Status
from tests.ocsf_schema import validate_event


@pytest.fixture(scope="module")
def demo_events(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    out = tmp_path_factory.mktemp("ocsf") / "demo.ocsf.ndjson"
    subprocess.run(
        [sys.executable, "-m", "scanner", "demo", "--format", "ocsf", "-o", str(out), "--quiet"],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_every_demo_event_is_a_valid_compliance_finding(demo_events: list[dict]) -> None:
    assert len(demo_events) > 500
    problems = {problem for e in demo_events for problem in validate_event(e)}
    assert problems == set()


def test_events_carry_the_finding_id_time_in_ms_compliance_and_cloud(demo_events: list[dict]) -> None:
    ids = [e["finding_info"]["uid"] for e in demo_events]
    assert len(ids) == len(set(ids))  # one event per finding; the id lets receivers drop duplicates
    sample = next(
        e
        for e in demo_events
        if e.get("cloud", {}).get("provider") == "AWS" and e["compliance"]["status"] == "Fail"
    )
    assert sample["class_uid"] == 2003 and sample["type_uid"] == 200301
    assert sample["time"] > 1_600_000_000_000  # milliseconds
    assert sample["cloud"]["account"]["uid"] and "cloud" in sample["metadata"]["profiles"]
    assert "CSA-AICM" in sample["compliance"]["standards"]
    assert sample["remediation"]["desc"]
    gcp = next(e for e in demo_events if e.get("cloud", {}).get("provider") == "GCP")
    assert gcp["cloud"]["project_uid"]
    statuses = {e["compliance"]["status"] for e in demo_events}
    assert {"Pass", "Fail", "Warning"} <= statuses  # UNKNOWN is OCSF's Warning (missing information)
    policy = next(e for e in demo_events if e["finding_info"]["types"] == ["cek_policy_present"])
    assert "cloud" not in policy and policy["metadata"]["profiles"] == []


def _finding(**overrides) -> Finding:
    base = dict(
        finding_id="f" * 32, rule_id="key_rotation_enabled", title="t", severity=Severity.HIGH,
        status=Status.FAIL, provider="azure", scope="sub", location=None,
        resource=ResourceRef(uid='</script>"\n|=x', type="key", name="n|a=m\\e"), message="m\nx",
        evidence={"a": [1, None]}, remediation="r", controls=("CSA-AICM:CEK-12", "CIS-Azure-6.0:8.3.9"),
    )  # fmt: skip
    base.update(overrides)
    return Finding(**base)


def test_waived_error_and_hostile_names_stay_valid() -> None:
    waived = event(_finding(waived=True, waiver={"reason": "accepted risk"}), time_ms=1_700_000_000_000)
    assert (waived["status_id"], waived["status"]) == (3, "Suppressed")
    assert validate_event(waived) == []
    errored = event(_finding(status=Status.ERROR, severity=Severity.INFO, controls=()), time_ms=1)
    assert errored["compliance"]["status_id"] == 99 and "control" not in errored["compliance"]
    assert validate_event(errored) == []


def test_the_validator_is_strict() -> None:
    good = event(_finding(), time_ms=1)
    bad = json.loads(json.dumps(good))
    bad["compliance"]["verdict"] = "x"  # not an attribute
    del bad["finding_info"]["uid"]  # required
    bad["severity_id"] = 7  # not in the enum
    bad["cloud"]["region"] = 5  # wrong type
    problems = "\n".join(validate_event(bad))
    for expected in ("compliance.verdict", "finding_info.uid", "severity_id", "cloud.region"):
        assert expected in problems
    del bad["cloud"]  # required by the cloud profile listed in metadata.profiles
    assert any(p.endswith(".cloud: required attribute missing") for p in validate_event(bad))


def test_trimmed_schema_keeps_its_attribution() -> None:
    readme = (Path(__file__).parent / "data" / "ocsf" / "README.md").read_text(encoding="utf-8")
    assert "Apache-2.0" in readme and "v1.8.0" in readme
