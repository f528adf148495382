"""The "AI workloads" section (issue #10): JSON scan.ai_workloads, terminal table, HTML report, CAIQ CEK-02."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import REPO

SAMPLE = str(REPO / "samples" / "inventory-multicloud.json")
POLICY = str(REPO / "samples" / "cek-policy.yaml")


def test_every_ai_resource_is_listed_with_its_key_holders_and_verdicts(keyaudit: Any, tmp_path: Path) -> None:
    done = keyaudit(
        "evaluate", SAMPLE, "--policy", POLICY, "--as-of", "2026-11-22", "--fail-on", "none",
        "--format", "json", "--format", "table", "--format", "html", "--format", "caiq-md", "-o", "out",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "out" / "keyaudit-report.json").read_text())
    inventory = json.loads(Path(SAMPLE).read_text())
    ai_resources = {r["uid"] for r in inventory["resources"] if r.get("ai_service")}
    section = result["scan"]["ai_workloads"]
    assert {r["uid"] for r in section["resources"]} == ai_resources and section["resource_count"] == len(
        ai_resources
    )

    by_uid = {r["uid"]: r for r in section["resources"]}
    fraud = by_uid["arn:aws:sagemaker:eu-west-1:111122223333:endpoint-config/fraud-scoring"]
    [key] = fraud["keys"]
    assert key["name"] == "ai-models" and key["origin"] == "imported"
    assert "arn:aws:iam::111122223333:role/KeyAdmin" in key["administrators"]
    assert key["users"] == ["bedrock.amazonaws.com"]
    assert set(key["verdicts"].values()) == {"pass"} and fraud["verdicts"] == {
        "ai_resource_uses_customer_managed_key": "pass"
    }
    agent = by_uid["arn:aws:bedrock:eu-west-1:111122223333:agent/HELPDESK01"]
    assert (
        agent["encryption"] == "provider_managed"
        and agent["verdicts"]["ai_resource_uses_customer_managed_key"] == "fail"
    )
    # The key shared between the research notebook and S3 (and with SageMaker able to manage it) fails.
    [pii] = by_uid["arn:aws:sagemaker:eu-west-1:111122223333:notebook-instance/pii-research"]["keys"]
    assert pii["verdicts"]["ai_workload_keys_dedicated"] == "fail"
    assert pii["verdicts"]["ai_service_not_key_admin"] == "fail"

    table = (tmp_path / "out" / "keyaudit-report.txt").read_text()
    assert "AI workloads: 8 resource(s), 4 key(s)" in table
    for name in ("HELPDESK01", "fraud-scoring", "pii-research", "churn-model", "oai-acme", "oai-globex"):
        assert name in table
    html = (tmp_path / "out" / "keyaudit-report.html").read_text()
    assert 'id="ai-workloads"' in html and all(uid in html for uid in ai_resources)
    caiq = (tmp_path / "out" / "keyaudit-report.caiq.md").read_text()
    assert "### AI workloads: the keys behind them and who holds them" in caiq
    assert "fraud-scoring" in caiq


def test_an_estate_without_ai_has_no_section(keyaudit: Any, tmp_path: Path) -> None:
    inventory = json.loads(Path(SAMPLE).read_text())
    inventory["resources"] = []
    inventory["principals"] = [p for p in inventory["principals"] if not p.get("ai_service")]
    for binding in inventory["bindings"]:
        binding.pop("via_services", None)
    (tmp_path / "plain.json").write_text(json.dumps(inventory))
    done = keyaudit("evaluate", "plain.json", "--format", "json", "--fail-on", "none")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["scan"]["ai_workloads"] is None
    assert not [f for f in result["findings"] if f["rule_id"].startswith("ai_")]


def test_the_demo_lists_every_ai_resource_and_each_ai_rule_passes_and_fails(keyaudit: Any) -> None:
    done = keyaudit("demo", "--format", "json", "--quiet", timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    section = result["scan"]["ai_workloads"]
    assert {r["provider"] for r in section["resources"]} == {"aws", "gcp", "azure"}
    assert section["resources_listed"] == section["resource_count"]
    for resource in section["resources"]:
        assert resource["verdicts"] or any(k["verdicts"] for k in resource["keys"]), resource["uid"]
        assert resource["keys"] or resource["encryption"] in ("provider_managed", None)
    statuses: dict[str, set[str]] = {}
    for finding in result["findings"]:
        statuses.setdefault(finding["rule_id"], set()).add(finding["status"])
    for rule in ("ai_resource_uses_customer_managed_key", "ai_workload_keys_meet_policy", "ai_service_not_key_admin",
                 "ai_workload_keys_dedicated", "key_origin_allowed"):  # fmt: skip
        assert {"pass", "fail"} <= statuses[rule], (rule, statuses[rule])
    assert any(r["encryption"] == "provider_managed" for r in section["resources"])
