"""The whole rule catalogue: metadata valid, ids pinned by SPEC 5 present, one test file per rule."""

from __future__ import annotations

import ast
import json
import re
from collections import defaultdict
from pathlib import Path

from scanner import catalogue
from scanner.catalogue import control_matches
from scanner.engine import discover_rules
from scanner.inventory import Provider
from scanner.rule import POLICY_PROVIDER

RULES_TESTS = Path(__file__).resolve().parent / "rules"
DOCS_PAGE = RULES_TESTS.parent.parent / "docs" / "rules.md"

PINNED = {
    "key_rotation_enabled", "key_rotation_period_within_policy", "key_hsm_backed_when_required",
    "key_not_publicly_accessible", "key_not_pending_deletion", "key_expiration_set", "key_algorithm_allowed",
    "key_store_deletion_protected", "key_store_network_restricted", "key_usage_audit_logging_enabled",
    "custom_key_store_healthy", "scan_coverage_complete", "key_admin_separated_from_use", "no_decrypt_on_all_keys",
    "no_wildcard_key_admin", "key_has_multiple_admins", "key_admins_declared", "key_users_declared",
    "cek_policy_present", "cek_policy_owner_assigned", "cek_policy_approved", "cek_policy_reviewed_within_interval",
    "cek_roles_defined", "cek_roles_have_alternates", "cek_roles_reviewed_within_interval",
}  # fmt: skip


def test_catalogue_discovers_and_validates() -> None:
    rules = discover_rules()
    assert len({r.meta.id for r in rules}) == len(rules)


def test_every_pinned_rule_id_exists() -> None:
    assert {r.meta.id for r in discover_rules()} >= PINNED


def test_every_rule_has_its_own_test_file_that_imports_it() -> None:
    for rule in discover_rules():
        test_file = RULES_TESTS / f"test_{rule.meta.id}.py"
        assert test_file.is_file(), f"{rule.meta.id} has no tests/rules/test_{rule.meta.id}.py"
        assert rule.meta.id in test_file.read_text(), f"{test_file.name} does not exercise {rule.meta.id}"


def test_every_rule_maps_to_csa_aicm_and_has_real_prose() -> None:
    for rule in discover_rules():
        meta = rule.meta
        assert any(c.startswith("CSA-AICM:CEK-") for c in meta.controls), meta.id
        assert meta.title[0].isupper() and not meta.title.endswith("."), meta.id
        for provider, text in meta.remediation.items():
            assert len(text) >= 20, (meta.id, provider)


def test_governance_rules_are_policy_rules_and_others_are_cloud_rules() -> None:
    clouds = {p.value for p in Provider}
    for rule in discover_rules():
        if rule.meta.id.startswith("cek_"):
            assert rule.meta.providers == (POLICY_PROVIDER,), rule.meta.id
            assert {"CSA-AICM:CEK-01", "CSA-AICM:CEK-02"} & set(rule.meta.controls), rule.meta.id
        else:
            assert set(rule.meta.providers) <= clouds, rule.meta.id


def test_rules_are_pure_no_io_no_logging_no_sdk() -> None:
    allowed_roots = {"collections", "dataclasses", "datetime", "typing", "itertools", "functools", "fnmatch",
                     "math", "re", "enum", "__future__", "ipaddress", "heapq", "operator", "scanner", "rules"}  # fmt: skip
    forbidden_calls = {"open", "print", "input", "exec", "eval", "__import__"}
    for path in (RULES_TESTS.parent.parent / "rules").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                roots = {(node.module or "").split(".")[0]}
            else:
                roots = set()
            assert roots <= allowed_roots, f"{path.name} imports {roots - allowed_roots}: rules do no I/O"
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("scanner."):
                assert node.module in {"scanner.rule", "scanner.inventory", "scanner.policy"}, (
                    path.name,
                    node.module,
                )
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in forbidden_calls, f"{path.name} calls {node.func.id}()"
            if isinstance(node, ast.Global):
                raise AssertionError(f"{path.name} uses global state")


# ------------------------------------------------------------------------------------ control mappings
# Every mapping names a framework keyaudit knows, with an id in that framework's shape. Extend this
# list (with a pattern as strict as the framework's numbering) before mapping a rule to a new framework.
FRAMEWORK_IDS: tuple[tuple[str, str], ...] = (
    (r"CSA-AICM", r"CEK-(0[1-9]|1[0-9]|2[01])"),  # CEK-01..CEK-21 (AICM keeps the CCM v4 ids)
    (r"CIS-AWS-\d+\.\d+", r"\d+(\.\d+)+"),
    (r"CIS-GCP-\d+\.\d+", r"\d+(\.\d+)+"),
    (r"CIS-Azure-\d+\.\d+", r"\d+(\.\d+)+"),
    (r"AWS-SecurityHub", r"[A-Z][A-Za-z0-9]*\.\d+"),  # KMS.4, CloudTrail.1
    (r"GCP-SCC", r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)+"),  # finding categories: KMS_KEY_NOT_ROTATED
    (r"AzurePolicy", r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),  # definition name
    (r"MCSB", r"[A-Z]{2}-\d+"),  # DP-6, LT-3
    (r"ISO-27001-2022", r"A\.[5-8]\.\d+"),  # Annex A controls
    (r"ISO-27002-2022", r"[5-8]\.\d+"),  # 27002 clause numbers
)

# ISO/IEC 27001:2022 A.8.24 "Use of cryptography" covers the rules for using cryptography, key
# management included, and the topic-specific policy that defines them: every rule judging keys, key
# material or key stores, and the rules judging the CEK policy document itself.
CRYPTOGRAPHY_RULES = {
    "cek_policy_present", "cek_policy_approved", "cek_policy_owner_assigned",
    "cek_policy_reviewed_within_interval", "key_rotation_enabled", "key_rotation_period_within_policy",
    "key_hsm_backed_when_required", "key_not_publicly_accessible", "key_not_pending_deletion",
    "key_expiration_set", "key_algorithm_allowed", "key_store_deletion_protected",
    "key_store_network_restricted", "key_usage_audit_logging_enabled", "custom_key_store_healthy",
    "key_multi_region_justified", "ai_resource_uses_customer_managed_key", "ai_workload_keys_meet_policy",
    "ai_workload_keys_dedicated", "key_origin_allowed", "ai_service_not_key_admin",
}  # fmt: skip
# ISO/IEC 27002:2022 5.2 "Information security roles and responsibilities": the rules about who is
# assigned key-management roles and whether duties are kept apart (CEK-02's segregation of duties).
ROLE_RULES = {
    "cek_policy_owner_assigned", "cek_roles_defined", "cek_roles_have_alternates",
    "cek_roles_reviewed_within_interval", "key_admin_separated_from_use", "key_admins_declared",
    "key_users_declared", "key_has_multiple_admins", "key_grants_restricted", "key_users_limited",
    "key_scope_has_no_owner", "key_store_rbac_authorization", "no_decrypt_on_all_keys", "no_wildcard_key_admin",
    "ai_service_not_key_admin",
}  # fmt: skip
# Judges the scan's own coverage: neither a use of cryptography nor a role assignment.
NEITHER_GROUP = {"scan_coverage_complete"}


def test_every_control_names_a_known_framework_with_a_well_formed_id() -> None:
    patterns = [(re.compile(fw), re.compile(ident)) for fw, ident in FRAMEWORK_IDS]
    for rule in discover_rules():
        controls = rule.meta.controls
        assert len(set(controls)) == len(controls), f"{rule.meta.id} lists a control twice"
        for control in controls:
            framework, _, ident = control.partition(":")
            assert any(fw.fullmatch(framework) and pattern.fullmatch(ident) for fw, pattern in patterns), (
                f"{rule.meta.id}: {control!r} is not FRAMEWORK:ID of a known framework (FRAMEWORK_IDS)"
            )


def test_cryptography_rules_map_to_iso_27001_a_8_24_and_role_rules_to_iso_27002_5_2() -> None:
    catalogue = {r.meta.id: r.meta for r in discover_rules()}
    grouped = CRYPTOGRAPHY_RULES | ROLE_RULES | NEITHER_GROUP
    assert grouped <= set(catalogue), f"unknown rule ids in the groups: {sorted(grouped - set(catalogue))}"
    unclassified = sorted(set(catalogue) - grouped)
    assert not unclassified, f"put {unclassified} in CRYPTOGRAPHY_RULES, ROLE_RULES or NEITHER_GROUP"
    for rule_id in CRYPTOGRAPHY_RULES:
        assert "ISO-27001-2022:A.8.24" in catalogue[rule_id].controls, rule_id
    for rule_id in ROLE_RULES:
        assert "ISO-27002-2022:5.2" in catalogue[rule_id].controls, rule_id
        assert "CSA-AICM:CEK-02" in catalogue[rule_id].controls, rule_id


def test_control_query_matches_whole_parts_case_insensitively() -> None:
    assert control_matches("CEK-02", "CSA-AICM:CEK-02")
    assert control_matches("cek-02", "CSA-AICM:CEK-02")
    assert not control_matches("CEK-0", "CSA-AICM:CEK-02")
    assert not control_matches("CEK-02", "CSA-AICM:CEK-020")
    assert control_matches("CIS-GCP-3.0:1.11", "CIS-GCP-3.0:1.11")
    assert not control_matches("CIS-GCP-3.0:1.11", "CIS-GCP-5.0:1.11")
    assert control_matches("cis-gcp:1.11", "CIS-GCP-5.0:1.11")  # a family and an id: every version
    assert control_matches("AWS-SecurityHub", "AWS-SecurityHub:KMS.4")
    assert control_matches("CIS-GCP", "CIS-GCP-5.0:1.12")
    assert not control_matches("CIS-GCP-3", "CIS-GCP-3.0:1.11")  # a prefix ends at a dash
    assert not control_matches("", "CSA-AICM:CEK-02")


# ------------------------------------------------------------------------------- rules list --control
def _listed(keyaudit, *args: str) -> tuple[list[str], str]:
    result = keyaudit("rules", "list", "--format", "json", *args)
    assert result.returncode == 0, result.stderr
    return [rule["id"] for rule in json.loads(result.stdout)], result.stderr


def _mapped(predicate) -> list[str]:
    return [r.meta.id for r in discover_rules() if any(predicate(c) for c in r.meta.controls)]


def test_rules_list_filters_by_control_id_full_control_and_framework(keyaudit) -> None:
    cek02, stderr = _listed(keyaudit, "--control", "cek-02")
    assert cek02 == _mapped(lambda c: c == "CSA-AICM:CEK-02") and stderr == ""
    assert "key_admin_separated_from_use" in cek02 and "key_rotation_enabled" not in cek02
    assert _listed(keyaudit, "--control", "CIS-GCP-5.0:1.12")[0] == ["key_admin_separated_from_use"]
    assert _listed(keyaudit, "--control", "AWS-SecurityHub")[0] == _mapped(
        lambda c: c.startswith("AWS-SecurityHub:")
    )
    assert _listed(keyaudit, "--control", "CIS-GCP")[0] == _mapped(lambda c: c.startswith("CIS-GCP-"))
    gcp_cek02, _ = _listed(keyaudit, "--control", "CEK-02", "--provider", "gcp")
    assert gcp_cek02 and set(gcp_cek02) < set(cek02)
    assert "cek_roles_defined" not in gcp_cek02 and "key_scope_has_no_owner" in gcp_cek02


def test_rules_list_unknown_control_is_an_empty_answer_not_an_error(keyaudit) -> None:
    listed, stderr = _listed(keyaudit, "--control", "CEK-0")  # not a substring match
    assert listed == [] and "no rule matches control 'CEK-0'" in stderr
    unmapped, stderr = _listed(keyaudit, "--control", "CEK-05")  # a real control no rule checks
    assert unmapped == [] and "CEK-05 (Encryption Change Management) is a CSA AICM control" in stderr
    table = keyaudit("rules", "list", "--control", "NOPE-1:2")
    assert table.returncode == 0 and "0 rules" in table.stdout
    assert "no rule matches control 'NOPE-1:2'" in table.stderr


# ------------------------------------------------------------------------------------- docs/rules.md
def test_docs_rules_page_is_current(tmp_path: Path) -> None:
    fresh = tmp_path / "rules.md"
    assert catalogue.main([str(fresh)]) == 0  # what `make docs` runs
    committed = DOCS_PAGE.read_text(encoding="utf-8") if DOCS_PAGE.is_file() else ""
    assert fresh.read_text(encoding="utf-8") == committed, "docs/rules.md is out of date: run make docs"


def test_docs_rules_page_has_every_rule_and_cross_references_every_control() -> None:
    metas = [r.meta for r in discover_rules()]
    page = catalogue.render_markdown(metas)
    expected: dict[tuple[str, str], set[str]] = defaultdict(set)
    for meta in metas:
        assert f"\n### {meta.id}\n" in page and f"[{meta.id}](#{meta.id})" in page
        for provider in meta.remediation:
            assert f"- **{provider}**: " in page
        for control in meta.controls:
            framework, _, ident = control.partition(":")
            expected[(framework, ident)].add(meta.id)
    found: dict[tuple[str, str], set[str]] = {}
    framework = None
    for line in page.split("## Controls to rules", 1)[1].splitlines():
        if heading := re.fullmatch(r"### .*\(`([^`]+)`\)", line):
            framework = heading.group(1)
        elif line.startswith("| ") and framework and not line.startswith("| Control"):
            cells = line.strip("|").split(" | ")
            found[(framework, cells[0].strip())] = set(re.findall(r"\[(\w+)\]\(#\1\)", cells[-1]))
    for ident in (f"CEK-{n:02d}" for n in range(1, 22)):  # every CEK control, mapped or not
        expected.setdefault(("CSA-AICM", ident), set())
    assert found == expected


def test_docs_rules_page_escapes_table_cells_and_html() -> None:
    base = next(r.meta for r in discover_rules() if r.meta.id == "key_rotation_enabled")
    odd = base.model_copy(
        update={
            "title": "Pipes | and <b>tags</b> stay text",
            "remediation": {**base.remediation, "aws": "Use <id> | `a|b <c>`"},
        }
    )
    page = catalogue.render_markdown([odd])
    assert "| Pipes \\| and &lt;b>tags&lt;/b> stay text |" in page
    assert "- **aws**: Use &lt;id> | `a|b <c>`" in page  # code spans are left as they are
