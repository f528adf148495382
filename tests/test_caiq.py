"""The AI-CAIQ answer sheet (``--format caiq`` / ``caiq-md``), produced by the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from scanner.inventory import Capability, KeyAspect, ScopeAspect
from tests import factories as f

ADMINS = [f"arn:aws:iam::{f.ACCOUNT}:role/KeyAdmin", f"arn:aws:iam::{f.ACCOUNT}:role/KeyAdmin2"]
APP = f"arn:aws:iam::{f.ACCOUNT}:role/App1"

# Every role with two members, every date recent at 2026-11-22: all governance rules pass.
POLICY = """\
policy:
  id: cek-2026
  owner: CISO office
  approved_by: Risk committee
  approved_on: 2026-02-01
  last_reviewed: 2026-02-01
  review_interval_days: {interval}
roles:
  key_administrators:
    members: ["arn:aws:iam::111122223333:role/KeyAdmin", "arn:aws:iam::111122223333:role/KeyAdmin2"]
    last_reviewed: 2026-02-01
  key_users:
    members: ["arn:aws:iam::111122223333:role/App1", "arn:aws:iam::111122223333:role/App2"]
    last_reviewed: 2026-02-01
  auditors:
    members: ["arn:aws:iam::111122223333:role/Audit", "arn:aws:iam::111122223333:role/Audit2"]
"""


def _estate(*, key_kw: dict[str, Any] | None = None, extra_bindings=(), **inventory_kw: Any):
    """One healthy AWS key: two declared administrators, one declared user, audit logging on."""
    key = f.key("k1", multi_region=False, **(key_kw or {}))
    bindings = [
        f.binding(p, key.uid, Capability.ADMINISTER_ACCESS, Capability.MANAGE_LIFECYCLE) for p in ADMINS
    ]
    bindings.append(f.binding(APP, key.uid, Capability.DECRYPT, Capability.ENCRYPT))
    bindings.extend(extra_bindings)
    principals = {b.principal for b in bindings}
    return f.inventory(
        keys=(key,),
        principals=tuple(f.principal(p) for p in sorted(principals)),
        bindings=tuple(bindings),
        audit_logging=(f.audit(location=f.REGION, admin_events=True, usage_events=True),),
        **inventory_kw,
    )


@pytest.fixture
def answer_sheet(keyaudit, write_inventory, tmp_path: Path):
    """``answer_sheet(inventory, policy=True|False, interval=365, fmt="caiq")``: the sheet the CLI writes."""

    def run(inv, *, policy: bool = True, interval: int = 365, fmt: str = "caiq") -> Any:
        args = ["evaluate", str(write_inventory(inv)), "--as-of", "2026-11-22", "--format", fmt, "--quiet"]
        if policy:
            path = tmp_path / "cek-policy.yaml"
            path.write_text(POLICY.format(interval=interval))
            args += ["--policy", str(path)]
        result = keyaudit(*args)
        assert result.returncode in (0, 3), result.stderr
        return json.loads(result.stdout) if fmt == "caiq" else result.stdout

    return run


def _answers(sheet: dict[str, Any]) -> dict[str, str]:
    return {q["id"]: q["answer"] for q in sheet["questions"]}


def _part(sheet: dict[str, Any], question: str, part: str) -> dict[str, Any]:
    (q,) = (q for q in sheet["questions"] if q["id"] == question)
    (p,) = (p for p in q["parts"] if p["part"] == part)
    return p


# --------------------------------------------------------------------------------------------- demo
@pytest.fixture(scope="module")
def demo_outputs(tmp_path_factory) -> Path:
    """One demo run writing the native JSON and both answer sheets (the demo's key ids change per run)."""
    out = tmp_path_factory.mktemp("demo")
    formats = ("--format", "json", "--format", "caiq", "--format", "caiq-md")
    result = subprocess.run(
        [sys.executable, "-m", "scanner", "demo", "--quiet", "-o", str(out), *formats],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"},
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    return out


def test_every_cek02_conflict_of_the_demo_is_in_the_answer_sheet_with_principal_and_key(demo_outputs) -> None:
    native = json.loads((demo_outputs / "keyaudit-report.json").read_text())
    sheet = json.loads((demo_outputs / "keyaudit-report.caiq.json").read_text())
    markdown = (demo_outputs / "keyaudit-report.caiq.md").read_text()

    expected = {
        (p["uid"], x["resource"]["uid"])
        for x in native["findings"]
        if x["rule_id"] == "key_admin_separated_from_use" and x["status"] == "fail"
        for p in x["evidence"]["conflicting_principals"]
    }
    assert len(expected) > 10  # the demo estate has many

    (cek02,) = (q for q in sheet["questions"] if q["id"] == "CEK-02.1")
    drift = cek02["drift"]
    listed = {(c["principal"], k["key"]["uid"]) for k in drift["keys"] for c in k["conflicts"]}
    assert listed == expected
    assert drift["conflict_count"] == len(expected)
    # Every conflict is one Markdown table row naming both the principal and the key.
    rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    for block in markdown.split("\n\n"):
        if block.startswith("|"):  # every row of every table as wide as its header
            assert len({len(row) for row in _table_rows(block)}) == 1, block
    for principal, key in expected:
        assert any(principal in row and key in row for row in rows), (principal, key)

    # The undeclared administrators and users per key are the drift as well.
    for rule, field, category in (
        ("key_admins_declared", "undeclared_administrators", "undeclared_administrators"),
        ("key_users_declared", "undeclared_users", "undeclared_users"),
    ):
        wanted = {
            (p["uid"], x["resource"]["uid"])
            for x in native["findings"]
            if x["rule_id"] == rule and x["status"] == "fail"
            for p in x["evidence"][field]
        }
        assert (
            wanted
            and {(c["principal"], k["key"]["uid"]) for k in drift["keys"] for c in k[category]} == wanted
        )


def test_demo_sheet_has_the_documented_structure_and_counts_every_bearing_finding(demo_outputs) -> None:
    native = json.loads((demo_outputs / "keyaudit-report.json").read_text())
    sheet = json.loads((demo_outputs / "keyaudit-report.caiq.json").read_text())
    assert sheet["schema"] == "keyaudit-caiq/1.0"
    assert sheet["framework"] == "CSA AICM v1.0 / AI-CAIQ"
    assert sheet["run_id"] == native["scan"]["run_id"] and sheet["generated_at"]
    assert [q["id"] for q in sheet["questions"]] == ["CEK-01.1", "CEK-01.2", "CEK-02.1"]
    assert sheet["scopes"] == native["scan"]["scopes"] and sheet["coverage"] == native["scan"]["coverage"]
    for question in sheet["questions"]:
        assert question["answer"] in ("Yes", "No", "Partial", "Not assessed")
        assert question["rationale"] and question["parts"]
        for part in question["parts"]:
            assert {"part", "answer", "rules", "findings", "not_assessed"} <= set(part)
            assert part["not_assessed"]  # every part says what keyaudit cannot see
            assert len(part["findings"]) <= 25

    # "implemented" counts every cloud finding mapped to CSA-AICM:CEK-02; failing ones are listed first.
    implemented = _part(sheet, "CEK-02.1", "implemented")
    cek02 = [
        x for x in native["findings"] if "CSA-AICM:CEK-02" in x["controls"] and x["provider"] != "policy"
    ]
    assert implemented["findings_total"] == len(cek02) > 100
    assert implemented["counts"]["fail"] == sum(x["status"] == "fail" for x in cek02)
    statuses = [x["status"] for x in implemented["findings"]]
    assert statuses[0] == "fail" and "pass" not in statuses  # more than 25 failures: no pass listed
    assert implemented["answer"] == "Partial"
    # Not a key rule but an evaluation of the scan: coverage gaps of the demo answer "evaluated".
    evaluated = _part(sheet, "CEK-01.1", "evaluated")
    assert [r["rule_id"] for r in evaluated["rules"]] == ["scan_coverage_complete"]
    assert evaluated["answer"] == "Partial"
    communicated = _part(sheet, "CEK-01.1", "communicated")
    assert communicated["answer"] == "Not assessed" and communicated["rules"] == []
    assert "training records" in communicated["not_assessed"]
    assert _answers(sheet) == {"CEK-01.1": "Partial", "CEK-01.2": "Yes", "CEK-02.1": "Partial"}
    (cek011,) = (q for q in sheet["questions"] if q["id"] == "CEK-01.1")
    assert "aws:222233334444" in cek011["coverage"]["scopes_with_gaps"]  # the unreadable account


# ------------------------------------------------------------------------- answers on small estates
def test_yes_when_every_bearing_rule_passes_with_full_coverage(answer_sheet) -> None:
    sheet = answer_sheet(_estate())
    assert _answers(sheet) == {"CEK-01.1": "Yes", "CEK-01.2": "Yes", "CEK-02.1": "Yes"}
    cek02 = next(q for q in sheet["questions"] if q["id"] == "CEK-02.1")
    assert cek02["drift"]["keys"] == [] and cek02["drift"]["keys_checked"] == 1
    # A Yes still names what a scanner cannot see.
    cek01 = next(q for q in sheet["questions"] if q["id"] == "CEK-01.1")
    assert {x["part"] for x in cek01["not_assessed_by_keyaudit"]} >= {"communicated", "approved"}
    assert "Not assessed by keyaudit: communicated" in cek01["rationale"]


def test_no_when_there_is_no_policy_file(answer_sheet) -> None:
    sheet = answer_sheet(_estate(), policy=False)
    assert _answers(sheet) == {"CEK-01.1": "No", "CEK-01.2": "No", "CEK-02.1": "No"}
    established = _part(sheet, "CEK-01.1", "established")
    assert established["answer"] == "No"
    assert established["findings"][0]["rule_id"] == "cek_policy_present"
    assert established["findings"][0]["status"] == "fail"


def test_partial_when_some_implementation_findings_fail(answer_sheet) -> None:
    # A second key the App role can use and also administer: one segregation conflict.
    other = f.key("k2", multi_region=False)
    inv = _estate(
        extra_bindings=[
            *(f.binding(p, other.uid, Capability.ADMINISTER_ACCESS) for p in ADMINS),
            f.binding(APP, other.uid, Capability.ADMINISTER_ACCESS, Capability.DECRYPT),
        ]
    )
    inv = f.inventory(
        keys=(*inv.keys, other),
        principals=inv.principals,
        bindings=inv.bindings,
        audit_logging=inv.audit_logging,
    )
    sheet = answer_sheet(inv)
    answers = _answers(sheet)
    assert answers["CEK-02.1"] == "Partial" and answers["CEK-01.1"] == "Partial"
    implemented = _part(sheet, "CEK-02.1", "implemented")
    assert implemented["answer"] == "Partial"
    assert implemented["findings"][0]["status"] == "fail"  # failing ones first
    drift = next(q for q in sheet["questions"] if q["id"] == "CEK-02.1")["drift"]
    assert [(k["key"]["uid"], [c["principal"] for c in k["conflicts"]]) for k in drift["keys"]] == [
        (other.uid, [APP])
    ]
    conflict = drift["keys"][0]["conflicts"][0]
    assert conflict["admin_capabilities"] == ["administer_access"] and conflict["use_capabilities"] == [
        "decrypt"
    ]
    # The App role administers k2 without being a declared administrator: drift against the policy.
    assert [c["principal"] for c in drift["keys"][0]["undeclared_administrators"]] == [APP]


def test_not_assessed_when_access_could_not_be_read(answer_sheet) -> None:
    # The roles are defined (Yes) but no implementation finding could be judged: nothing to confirm.
    inv = _estate(
        key_kw={"unreadable": frozenset({KeyAspect.ACCESS})},
        scopes=(f.scope(unreadable=frozenset({ScopeAspect.ACCESS})),),
    )
    sheet = answer_sheet(inv)
    implemented = _part(sheet, "CEK-02.1", "implemented")
    assert implemented["answer"] == "Not assessed", implemented["counts"]
    assert implemented["counts"]["unknown"] > 0 and implemented["counts"]["pass"] == 0
    assert _part(sheet, "CEK-02.1", "defined")["answer"] == "Yes"
    cek02 = next(q for q in sheet["questions"] if q["id"] == "CEK-02.1")
    assert cek02["answer"] == "Not assessed"
    assert cek02["drift"]["keys_not_judged"] == 1
    assert "could not judge implemented" in cek02["rationale"]
    assert cek02["coverage"]["unknown_findings"] > 0 and cek02["coverage"]["scopes_with_gaps"] == [
        f"aws:{f.ACCOUNT}"
    ]


def test_a_review_interval_longer_than_a_year_is_not_annual(answer_sheet) -> None:
    # The rule passes (reviewed within its own 730-day interval), but the question asks for annually.
    sheet = answer_sheet(_estate(), interval=730)
    part = _part(sheet, "CEK-01.2", "policy reviewed at least annually")
    assert part["counts"]["pass"] == 1 and part["answer"] == "Partial"
    assert any("730 days" in note for note in part["notes"])
    assert _answers(sheet)["CEK-01.2"] == "Partial"


def test_only_failed_keeps_the_counts_complete(keyaudit, write_inventory, tmp_path) -> None:
    policy = tmp_path / "cek-policy.yaml"
    policy.write_text(POLICY.format(interval=365))
    args = ["evaluate", str(write_inventory(_estate())), "--as-of", "2026-11-22", "--policy", str(policy)]
    full = json.loads(keyaudit(*args, "--format", "caiq").stdout)
    failing_only = json.loads(keyaudit(*args, "--format", "caiq", "--only-failed").stdout)
    assert (
        _answers(failing_only) == _answers(full) == {"CEK-01.1": "Yes", "CEK-01.2": "Yes", "CEK-02.1": "Yes"}
    )
    assert failing_only["findings_listed"] == "failing only (--only-failed)"
    assert (
        _part(failing_only, "CEK-02.1", "implemented")["counts"]
        == _part(full, "CEK-02.1", "implemented")["counts"]
    )


# ---------------------------------------------------------------------------------------- Markdown
def _table_rows(markdown: str) -> list[list[str]]:
    """Rows of every table as a GFM renderer sees them: the cells' rendered text."""
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    rows: list[list[str]] = []
    for i, token in enumerate(tokens):
        if token.type == "tr_open":
            cells: list[str] = []
            j = i + 1
            while tokens[j].type != "tr_close":
                if tokens[j].type == "inline":
                    cells.append(tokens[j].content)
                j += 1
            rows.append(cells)
    return rows


def test_markdown_keeps_hostile_names_inside_their_cells(answer_sheet) -> None:
    evil_principal = f"arn:aws:iam::{f.ACCOUNT}:role/a|b<img src=x onerror=alert(1)>"
    inv = _estate(
        key_kw={"name": "pay|ments\nkey <script>alert(1)</script> **bold** \x1b[31m"},
        extra_bindings=[
            f.binding(evil_principal, f.key("k1").uid, Capability.ADMINISTER_ACCESS, Capability.DECRYPT)
        ],
    )
    markdown = answer_sheet(inv, fmt="caiq-md")
    assert "<script>" not in markdown and "<img" not in markdown and "\x1b" not in markdown
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    html = [t for t in tokens for t in (t.children or [t]) if t.type in ("html_inline", "html_block")]
    assert html == []
    # Every table row has as many cells as its header: no pipe or newline broke a table.
    for block in markdown.split("\n\n"):
        if block.startswith("|"):
            assert len({len(row) for row in _table_rows(block)}) == 1, block
    conflicts = [row for row in _table_rows(markdown) if len(row) == 7 and "role/a" in row[2]]
    assert conflicts, "the conflict of the hostile principal is listed"
    principal_cell = conflicts[0][2]
    # The rendered cell reads back as the original principal (backslash escapes are Markdown's).
    rendered = MarkdownIt("commonmark").renderInline(principal_cell)
    assert "a|b&lt;img src=x onerror=alert(1)&gt;" in rendered
    key_cell = MarkdownIt("commonmark").renderInline(conflicts[0][0])
    # Literal text, not markup: no bold, the escape sequence shown, not sent to a terminal.
    assert "pay|ments key &lt;script&gt;alert(1)&lt;/script&gt; **bold** \\x1b[31m" in key_cell
