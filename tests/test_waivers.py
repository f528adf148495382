"""Waivers (``--waivers FILE``) through the real command line, with a frozen clock (``--as-of``)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from scanner.inventory import Capability, PrincipalKind
from tests import factories as f

PUBLIC_KEY = f.key("k2", tags={"Data_Classification": "Public", "team": "web"})
PRIVATE_KEY = f.key("k1")
PUBLIC_RULE = "key_not_publicly_accessible"  # critical: the only critical failure of this estate


def _estate():
    admins = [f.principal(f"arn:aws:iam::111122223333:role/KeyAdmin{n}") for n in ("", "2")]
    bindings = [
        f.binding(p.uid, k.uid, Capability.ADMINISTER_ACCESS, Capability.MANAGE_LIFECYCLE)
        for p in admins
        for k in (PRIVATE_KEY, PUBLIC_KEY)
    ]
    bindings.append(f.binding("*", PUBLIC_KEY.uid, Capability.DECRYPT))
    return f.inventory(
        keys=(PRIVATE_KEY, PUBLIC_KEY),
        principals=(*admins, f.principal("*", PrincipalKind.PUBLIC)),
        bindings=tuple(bindings),
        audit_logging=(f.audit(location=f.REGION, admin_events=True, usage_events=True),),
    )


def _waiver(**fields: Any) -> str:
    """One YAML list item; required fields default to valid values, ``None`` leaves a field out."""
    values = {
        "rule": PUBLIC_RULE,
        "reason": "Public verification key of the release pipeline, by design",
        "owner": "platform-security@example.com",
        "ticket": "SEC-1234",
        "expires": "2027-01-31",
        **fields,
    }
    # Dates unquoted, as people write them (YAML reads them as dates, not strings).
    lines = [f"{k}: {v if k == 'expires' else json.dumps(v)}" for k, v in values.items() if v is not None]
    return "  - " + "\n    ".join(lines) + "\n"


@pytest.fixture
def estate(write_inventory) -> Path:
    return write_inventory(_estate())


@pytest.fixture
def waivers_file(tmp_path: Path):
    def write(*items: str, text: str | None = None) -> Path:
        path = tmp_path / "waivers.yaml"
        path.write_text(text if text is not None else "waivers:\n" + "".join(items), encoding="utf-8")
        return path

    return write


def _evaluate(keyaudit, estate: Path, *args: str, as_of: str = "2026-11-22"):
    return keyaudit(
        "evaluate", str(estate), "--fail-on", "critical", "--format", "json", "--as-of", as_of, *args
    )


def _public_findings(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {x["resource"]["uid"]: x for x in document["findings"] if x["rule_id"] == PUBLIC_RULE}


def _log_events(stderr: str, event: str) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return [r for r in records if r["event"] == event]


def test_a_waived_finding_stays_in_the_output_marked_and_does_not_fail_the_run(
    keyaudit, estate, waivers_file
) -> None:
    unwaived = _evaluate(keyaudit, estate)
    assert unwaived.returncode == 3, unwaived.stderr
    assert json.loads(unwaived.stdout)["scan"]["waivers"] is None

    # The resource glob also covers k1, whose finding passes: a pass is never marked waived.
    path = waivers_file(_waiver(id="W-7", resource="arn:aws:kms:*:111122223333:key/*"))
    waived = _evaluate(keyaudit, estate, "--waivers", str(path))
    assert waived.returncode == 0, waived.stderr
    document = json.loads(waived.stdout)
    findings = _public_findings(document)
    public, private = findings[PUBLIC_KEY.uid], findings[PRIVATE_KEY.uid]
    assert public["status"] == "fail" and public["waived"] is True
    assert public["waiver"] == {
        "id": "W-7",
        "reason": "Public verification key of the release pipeline, by design",
        "owner": "platform-security@example.com",
        "ticket": "SEC-1234",
        "expires": "2027-01-31",
    }
    assert private["status"] == "pass" and private["waived"] is False and private["waiver"] is None
    scan = document["scan"]
    assert scan["summary"]["blocking"] == 0
    assert scan["waivers"]["path"] == str(path) and len(scan["waivers"]["sha256"]) == 64
    assert scan["waivers"]["by_id"] == {
        "W-7": {"rule": PUBLIC_RULE, "expires": "2027-01-31", "expired": False, "matched": 1, "waived": 1}
    }
    assert scan["waivers"]["unmatched"] == [] and scan["waivers"]["expired"] == []
    assert not _log_events(waived.stderr, "waiver.expired")


def test_an_expired_waiver_reopens_the_finding_and_warns(keyaudit, estate, waivers_file) -> None:
    path = waivers_file(_waiver(id="W-1", expires="2027-01-31"))
    last_day = _evaluate(keyaudit, estate, "--waivers", str(path), as_of="2027-01-31")
    assert last_day.returncode == 0, last_day.stderr  # a waiver holds through its expiry date

    expired = _evaluate(keyaudit, estate, "--waivers", str(path), as_of="2027-02-01")
    assert expired.returncode == 3, expired.stderr
    document = json.loads(expired.stdout)
    public = _public_findings(document)[PUBLIC_KEY.uid]
    assert public["status"] == "fail" and public["waived"] is False and public["waiver"] is None
    waivers = document["scan"]["waivers"]
    assert waivers["expired"] == ["W-1"] and waivers["unmatched"] == []
    assert waivers["by_id"]["W-1"] == {
        "rule": PUBLIC_RULE,
        "expires": "2027-01-31",
        "expired": True,
        "matched": 1,
        "waived": 0,
    }
    [warning] = _log_events(expired.stderr, "waiver.expired")
    assert warning["level"] == "warning" and warning["waiver"] == "W-1"
    assert warning["finding_id"] == public["finding_id"] and warning["resource"] == PUBLIC_KEY.uid


def test_re_opened_findings_are_listed_in_the_log_up_to_a_limit(
    keyaudit, write_inventory, waivers_file
) -> None:
    keys = [f.key(f"pub{n:02}") for n in range(12)]
    estate = write_inventory(
        f.inventory(
            keys=tuple(keys),
            principals=(f.principal("*", PrincipalKind.PUBLIC),),
            bindings=tuple(f.binding("*", k.uid, Capability.DECRYPT) for k in keys),
        )
    )
    path = waivers_file(_waiver(id="W-old", expires="2026-01-31"))
    result = _evaluate(keyaudit, estate, "--waivers", str(path), "--fail-on", "none")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["scan"]["waivers"]["by_id"]["W-old"]["matched"] == 12
    *listed, rest = _log_events(result.stderr, "waiver.expired")
    assert len({w["finding_id"] for w in listed}) == 10
    assert (rest["waiver"], rest["reopened"], rest["not_listed"]) == ("W-old", 12, 2)


def test_a_waiver_matching_nothing_is_reported(keyaudit, estate, waivers_file) -> None:
    path = waivers_file(
        _waiver(id="W-used"),
        # k1 passes this rule: a waiver that only meets passing findings waives nothing.
        _waiver(id="W-passing-only", resource=PRIVATE_KEY.uid),
        _waiver(id="W-typo", rule="key_rotation_enabled", resource="arn:aws:kms:*:999999999999:*"),
    )
    result = _evaluate(keyaudit, estate, "--waivers", str(path))
    assert result.returncode == 0, result.stderr
    waivers = json.loads(result.stdout)["scan"]["waivers"]
    assert waivers["unmatched"] == ["W-passing-only", "W-typo"]
    assert waivers["by_id"]["W-used"]["waived"] == 1
    warned = {w["waiver"]: w for w in _log_events(result.stderr, "waiver.unmatched")}
    assert set(warned) == {"W-passing-only", "W-typo"}
    assert warned["W-typo"]["level"] == "warning"
    assert warned["W-typo"]["where"] == f"{path}:15: at waivers[2]"


def test_every_selector_must_match(keyaudit, estate, waivers_file) -> None:
    near_misses = [
        _waiver(id="wrong-provider", provider="gcp"),
        _waiver(id="wrong-scope", scope="4444*"),
        _waiver(id="wrong-resource", resource="*:key/k3"),
        _waiver(id="wrong-tag-value", tags={"data_classification": "secret"}),
        _waiver(id="missing-tag", tags={"owner": "*"}),
        _waiver(id="wrong-rule", rule="key_not_pending_*"),
    ]
    # Globs everywhere; resource, scope and tags compare without case; every tag named must be there.
    everything = _waiver(
        id="all-selectors",
        rule="key_not_public*",
        resource="ARN:AWS:KMS:EU-*:111122223333:KEY/K?",
        scope="1111*",
        provider="aws",
        tags={"DATA_CLASSIFICATION": ["secret", "pub*"], "team": "web"},
    )
    path = waivers_file(*near_misses, everything)
    result = _evaluate(keyaudit, estate, "--waivers", str(path))
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert _public_findings(document)[PUBLIC_KEY.uid]["waiver"]["id"] == "all-selectors"
    assert document["scan"]["waivers"]["unmatched"] == [
        "wrong-provider",
        "wrong-scope",
        "wrong-resource",
        "wrong-tag-value",
        "missing-tag",
        "wrong-rule",
    ]


def test_the_first_waiver_in_force_wins_and_ids_default_to_the_place_in_the_file(
    keyaudit, estate, waivers_file
) -> None:
    path = waivers_file(_waiver(expires="2026-01-01"), _waiver(), _waiver(ticket=4711))
    result = _evaluate(keyaudit, estate, "--waivers", str(path))
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    waiver = _public_findings(document)[PUBLIC_KEY.uid]["waiver"]
    assert waiver["id"] == "waivers[1]"
    by_id = document["scan"]["waivers"]["by_id"]
    assert [(w["matched"], w["waived"], w["expired"]) for w in by_id.values()] == [
        (1, 0, True),
        (1, 1, False),
        (1, 0, False),
    ]


BAD_FILES = {
    "missing required field": (
        "waivers:\n" + _waiver(owner=None),
        ":2: at waivers[0].owner: required field 'owner' is missing",
    ),
    "unknown key": (
        "waivers:\n" + _waiver(reson="typo"),
        ":7: at waivers[0].reson: unknown key 'reson' (did you mean 'reason'?)",
    ),
    "number as a date": (
        "waivers:\n" + _waiver(expires="20270131"),
        ":6: at waivers[0].expires: expected a date",
    ),
    "date in another format": (
        "waivers:\n" + _waiver() + _waiver(expires="31/01/2027"),
        ":11: at waivers[1].expires: expected a date written YYYY-MM-DD",
    ),
    "impossible date": (
        "waivers:\n" + _waiver(expires="2027-02-30"),
        ":6: at waivers[0].expires: not a valid date",
    ),
    "blank reason": ("waivers:\n" + _waiver(reason="  "), ":3: at waivers[0].reason"),
    "waivers not a list": (
        "waivers:\n  rule: x\n",
        ":1: at waivers: must be a list of waivers, not a mapping",
    ),
    "file not a mapping": ("- rule: x\n", ":1: waiver file must be a mapping with a 'waivers' list"),
    "YAML syntax error": ("waivers:\n  - rule: [x\n    owner: y\n", ":3: waiver file is not valid YAML"),
    "unknown rule": (
        "waivers:\n" + _waiver(rule="key_rotation_enabeld"),
        ":2: at waivers[0].rule: no rule matches 'key_rotation_enabeld' (did you mean 'key_rotation_enabled'?)",
    ),
    "waives everything": (
        "waivers:\n" + _waiver(rule="*"),
        ":2: at waivers[0].rule: this waiver would waive every finding",
    ),
    "duplicate id": (
        "waivers:\n" + _waiver(id="W-1") + _waiver(id="W-1"),
        ":13: at waivers[1].id: duplicate waiver id 'W-1'",
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_waiver_file_exits_2_naming_file_line_and_field_before_any_output(
    keyaudit, estate, waivers_file, tmp_path, case
) -> None:
    text, expected = BAD_FILES[case]
    path = waivers_file(text=text)
    out = tmp_path / "result.json"
    result = _evaluate(keyaudit, estate, "--waivers", str(path), "-o", str(out))
    assert result.returncode == 2, result.stderr
    assert f"{path}{expected}" in result.stderr
    assert not out.exists()
    assert not list(tmp_path.glob(".result.json.*")), "no half-written output"


def test_scan_validates_the_waiver_file_before_touching_any_cloud(keyaudit, waivers_file, tmp_path) -> None:
    path = waivers_file(text="waivers:\n" + _waiver(expires=None))
    result = keyaudit("scan", "aws", "--waivers", str(path), "-o", str(tmp_path / "out.json"))
    assert result.returncode == 2, result.stderr
    assert f"{path}:2: at waivers[0].expires: required field 'expires' is missing" in result.stderr
    assert not (tmp_path / "out.json").exists()


def test_demo_applies_waivers(keyaudit, waivers_file) -> None:
    path = waivers_file(
        textwrap.dedent(
            """\
              - id: demo-public-keys
                rule: key_not_publicly_accessible
                reason: Shared with a partner by contract
                owner: ciso@example.com
                ticket: RISK-9
                expires: 2099-12-31
            """
        )
    )
    result = keyaudit("demo", "--quiet", "--format", "json", "--fail-on", "none", "--waivers", str(path))
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    public = [x for x in document["findings"] if x["rule_id"] == PUBLIC_RULE and x["status"] == "fail"]
    assert public and all(x["waived"] and x["waiver"]["ticket"] == "RISK-9" for x in public)
    by_id = document["scan"]["waivers"]["by_id"]
    assert by_id["demo-public-keys"]["waived"] == len(public)
    assert not any(x["waived"] for x in document["findings"] if x["rule_id"] != PUBLIC_RULE)
