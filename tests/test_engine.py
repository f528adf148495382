from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from scanner.engine import Rule, RuleCatalogError, discover_rules, evaluate_all, evaluate_rule
from scanner.inventory import Provider
from scanner.rule import ResourceRef, RuleMeta, RuleResult, Severity, Status
from tests.factories import context, inventory, key

META = RuleMeta(
    id="example_rule",
    title="An example rule for engine tests",
    severity=Severity.HIGH,
    providers=("aws",),
    rationale="Exists only so the engine can be exercised without depending on the real catalogue.",
    remediation={"aws": "Nothing to do."},
    controls=("CSA-AICM:CEK-01",),
)


def _rule(evaluate) -> Rule:
    return Rule(meta=META, evaluate=evaluate, module="tests.example")


def test_a_rule_that_raises_becomes_one_error_finding_and_others_still_run() -> None:
    def broken(ctx):
        yield RuleResult.for_key(key(), Status.PASS, "fine so far")
        raise KeyError("rotation")

    def healthy(ctx):
        yield RuleResult.for_key(key(), Status.PASS, "ok")

    findings = list(evaluate_all([_rule(broken), _rule(healthy)], context()))
    assert [x.status for x in findings] == [Status.ERROR, Status.PASS]
    assert "KeyError" in findings[0].message
    assert findings[0].status.is_failing  # an error is never a silent pass


def test_duplicate_result_for_one_resource_is_an_error() -> None:
    def twice(ctx):
        yield RuleResult.for_key(key(), Status.PASS, "one")
        yield RuleResult.for_key(key(), Status.FAIL, "two")

    statuses = [x.status for x in evaluate_rule(_rule(twice), context())]
    assert statuses == [Status.PASS, Status.ERROR]


def test_finding_carries_metadata_and_provider_remediation() -> None:
    def one(ctx):
        yield RuleResult.for_key(key(), Status.FAIL, "bad")

    [finding] = evaluate_rule(_rule(one), context())
    assert finding.rule_id == "example_rule" and finding.severity is Severity.HIGH
    assert finding.remediation == "Nothing to do." and finding.controls == ("CSA-AICM:CEK-01",)
    assert len(finding.finding_id) == 32


def test_finding_id_depends_on_rule_provider_scope_and_resource_only() -> None:
    from scanner.findings import finding_id

    base = finding_id("r", "aws", "1", "arn")
    assert base == finding_id("r", "aws", "1", "arn")
    assert len({base, finding_id("r2", "aws", "1", "arn"), finding_id("r", "gcp", "1", "arn"),
                finding_id("r", "aws", "2", "arn"), finding_id("r", "aws", "1", "arn2")}) == 5  # fmt: skip


def _write_package(tmp_path: Path, name: str, modules: dict[str, str]) -> str:
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    for module, body in modules.items():
        (package / f"{module}.py").write_text(textwrap.dedent(body))
    sys.path.insert(0, str(tmp_path))
    return name


GOOD_MODULE = """
from scanner.rule import RuleMeta, Severity
META = RuleMeta(id="{id}", title="A valid rule for discovery tests", severity=Severity.LOW,
    providers=("gcp",), rationale="x" * 50, remediation={{"gcp": "fix it"}}, controls=("CSA-AICM:CEK-12",))
def evaluate(ctx):
    return []
"""


def test_discovery_validates_metadata_and_module_names(tmp_path: Path) -> None:
    package = _write_package(
        tmp_path,
        "pkg_bad_rules",
        {
            "good_rule": GOOD_MODULE.format(id="good_rule"),
            "misnamed": GOOD_MODULE.format(id="other_name"),
            "no_meta": "def evaluate(ctx):\n    return []\n",
            "bad_meta": 'META = {"id": "bad_meta", "title": "t", "severity": "urgent"}\n'
            "def evaluate(ctx):\n    return []\n",
            "_helper": "VALUE = 1\n",
        },
    )
    with pytest.raises(RuleCatalogError) as caught:
        discover_rules(package)
    message = str(caught.value)
    assert "misnamed" in message and "must equal the module name" in message
    assert "no_meta: no META" in message
    assert "bad_meta: invalid META" in message and "severity" in message
    assert "good_rule" not in message and "_helper" not in message


def test_discovery_of_a_valid_package(tmp_path: Path) -> None:
    package = _write_package(tmp_path, "pkg_good_rules", {"b_rule": GOOD_MODULE.format(id="b_rule"),
                                                          "a_rule": GOOD_MODULE.format(id="a_rule")})  # fmt: skip
    assert [r.meta.id for r in discover_rules(package)] == ["a_rule", "b_rule"]


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"controls": ("CIS-AWS-5.0:3.6",)}, "CSA-AICM"),
        ({"controls": ("not a control",)}, "FRAMEWORK:CONTROL"),
        ({"remediation": {}}, "remediation missing"),
        ({"id": "Bad-Id"}, "lower_snake_case"),
        ({"providers": ("oracle",)}, "unknown provider"),
        ({"rationale": "short"}, "at least 40"),
    ],
)
def test_metadata_model_rejects(change: dict, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        RuleMeta.model_validate({**META.model_dump(), **change})


def test_rules_see_an_unknown_principal_placeholder_not_a_crash() -> None:
    ctx = context(inventory(keys=(key(),)))
    assert ctx.principal("arn:aws:iam::1:role/Gone").kind.value == "unknown"


def test_resource_ref_of_key_uses_native_type() -> None:
    assert ResourceRef.of_key(key(native_type="AWS::KMS::Key")).type == "AWS::KMS::Key"


def test_results_for_providers_a_rule_does_not_cover_are_dropped() -> None:
    def both(ctx):
        yield RuleResult.for_key(key(), Status.PASS, "aws key")
        yield RuleResult.for_key(key("g", provider=Provider.GCP, uid="projects/p/k"), Status.FAIL, "gcp key")

    assert [f.provider for f in evaluate_rule(_rule(both), context())] == ["aws"]
