"""SIEM formats (asff, cef, leef, ecs, sarif): the demo's output read back, ASFF checked against
botocore's Security Hub model, and hostile cloud names that must neither add a line nor forge a field."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.model import Shape
from botocore.validate import ParamValidator

from scanner.errors import InputError
from scanner.findings import Finding, Summary
from scanner.output import writer_class
from scanner.output.sarif_writer import FINGERPRINT, sarif_result
from scanner.output.siem_writers import (
    AsffWriter,
    asff_finding,
    cef_line,
    ecs_document,
    leef_line,
)
from scanner.rule import ResourceRef, Severity, Status

FORMATS = ("asff", "cef", "leef", "ecs", "sarif")
ACCOUNT, REGION = "123456789012", "eu-west-1"
WHEN = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
HOSTILE = 'a|b=c\\d\ne\rf\r\ng evil=1 cs1=forged | x\\=y^z^sev=10 "q"'


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    out = tmp_path_factory.mktemp("siem")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEYAUDIT_ASFF_", "AWS_DEFAULT_REGION"))}
    env |= {"KEYAUDIT_ASFF_ACCOUNT_ID": ACCOUNT, "KEYAUDIT_ASFF_REGION": REGION}
    formats = [arg for fmt in (*FORMATS, "json") for arg in ("--format", fmt)]
    subprocess.run(
        [sys.executable, "-m", "scanner", "demo", "-o", str(out), *formats, "--quiet"],
        check=True, capture_output=True, timeout=300, env=env,
    )  # fmt: skip
    findings = json.loads((out / "keyaudit-report.json").read_text(encoding="utf-8"))["findings"]
    assert len(findings) > 500
    return out, findings


def _read(out: Path, fmt: str) -> str:
    return (out / f"keyaudit-report.{writer_class(fmt).extension}").read_text(encoding="utf-8")


def _finding(**overrides: Any) -> Finding:
    base: dict[str, Any] = dict(
        finding_id="0123456789abcdef0123456789abcdef", rule_id="key_rotation_enabled",
        title="Keys rotate automatically", severity=Severity.HIGH, status=Status.FAIL, provider="azure",
        scope="8f3c2a1d-5b6e-4c7f-9a0b-1d2e3f4a5b6c", location="westeurope",
        resource=ResourceRef(uid=HOSTILE, type="Microsoft.KeyVault/vaults/keys", name=HOSTILE),
        message=HOSTILE, evidence={"rotation": None, "names": {"x", "y"}}, remediation="Rotate the key.",
        controls=("CSA-AICM:CEK-12", "CIS-Azure-6.0:8.3.9"),
    )  # fmt: skip
    base.update(overrides)
    return Finding(**base)


# --- ASFF -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def securityhub_input() -> Shape:
    client = botocore.session.get_session().create_client(
        "securityhub", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    return client.meta.service_model.operation_model("BatchImportFindings").input_shape


# Limits the model documents only in prose (AWS Security Hub user guide): (entries, key, value).
_MAP_LIMITS = {"Other": (50, 127, 1023), "ProductFields": (50, 128, 2048)}
_MAX_LENGTH = re.compile(r"Maximum (?:length )?of (\d+)")
_MAX_ITEMS = re.compile(r"Maximum number of (\d+) items")


def _model_problems(value: Any, shape: Shape, path: str = "", doc: str = "") -> list[str]:
    """What botocore's ParamValidator leaves unchecked: enums, patterns and documented lengths."""
    problems: list[str] = []
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for name, item in value.items():
            member = shape.members.get(name)
            if member is not None:
                problems += _model_problems(item, member, f"{path}.{name}", member.documentation or "")
    elif kind == "list" and isinstance(value, list):
        if (m := _MAX_ITEMS.search(doc)) and len(value) > int(m.group(1)):
            problems.append(f"{path}: {len(value)} items > {m.group(1)}")
        for index, item in enumerate(value):
            problems += _model_problems(item, shape.member, f"{path}[{index}]")
    elif kind == "map" and isinstance(value, dict):
        entries, key_max, value_max = _MAP_LIMITS.get(path.rsplit(".", 1)[-1], (50, 128, 2048))
        if len(value) > entries:
            problems.append(f"{path}: {len(value)} entries > {entries}")
        for key, item in value.items():
            if len(key) > key_max or len(item) > value_max:
                problems.append(f"{path}.{key}: key or value too long")
            problems += _model_problems(item, shape.value, f"{path}.{key}")
    elif kind == "string" and isinstance(value, str):
        if "enum" in shape.metadata and value not in shape.metadata["enum"]:
            problems.append(f"{path}: {value!r} not in {shape.metadata['enum']}")
        pattern = shape.metadata.get("pattern")
        if pattern and not re.fullmatch(pattern, value, re.DOTALL):
            problems.append(f"{path}: {value!r} does not match {pattern}")
        utf16 = len(value.encode("utf-16-le")) // 2  # AWS counts Java characters
        if (m := _MAX_LENGTH.search(doc)) and utf16 > int(m.group(1)):
            problems.append(f"{path}: {utf16} characters > {m.group(1)}")
    return problems


def _asff_problems(findings: list[dict[str, Any]], shape: Shape) -> list[str]:
    problems: list[str] = []
    for start in range(0, len(findings), 100):  # BatchImportFindings takes at most 100 per call
        batch = {"Findings": findings[start : start + 100]}
        report = ParamValidator().validate(batch, shape)
        if report.has_errors():
            problems.append(report.generate_report())
        problems += _model_problems(batch, shape)
    return problems


def test_every_demo_finding_is_a_valid_security_hub_import(demo, securityhub_input) -> None:
    out, findings = demo
    asff = json.loads(_read(out, "asff"))
    assert [f["Id"] for f in asff] == [f["finding_id"] for f in findings]
    assert _asff_problems(asff, securityhub_input) == []
    assert {f["AwsAccountId"] for f in asff} == {ACCOUNT}  # the importing account, for every cloud
    assert {f["ProductArn"] for f in asff} == {
        f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
    }
    assert {f["Compliance"]["Status"] for f in asff} >= {"PASSED", "FAILED", "WARNING"}
    by_id = {f["Id"]: f for f in asff}
    aws_key = next(f for f in findings if f["resource"]["type"] == "AWS::KMS::Key")
    resource = by_id[aws_key["finding_id"]]["Resources"][0]
    assert (resource["Type"], resource["Id"], resource["Partition"]) == (
        "AwsKmsKey", aws_key["resource"]["uid"], "aws"
    )  # fmt: skip
    assert resource["Region"] == aws_key["location"]
    gcp = next(f for f in findings if f["provider"] == "gcp")
    gcp_resource = by_id[gcp["finding_id"]]["Resources"][0]
    assert gcp_resource["Type"] == "Other" and "Partition" not in gcp_resource
    assert gcp_resource["Details"]["Other"]["scope"] == gcp["scope"]
    assert by_id[gcp["finding_id"]]["ProductFields"]["keyaudit/scope"] == gcp["scope"]
    failed = next(f for f in findings if f["status"] == "fail" and f["severity"] == "critical")
    assert by_id[failed["finding_id"]]["Severity"] == {"Label": "CRITICAL", "Original": "critical"}
    assert by_id[failed["finding_id"]]["Compliance"]["RelatedRequirements"] == failed["controls"]


def test_asff_respects_the_length_limits(securityhub_input) -> None:
    emoji = "\U0001f511"  # two UTF-16 code units
    long = _finding(
        title="T" * 255 + emoji,
        message=emoji * 600,
        remediation="r" * 2000,
        resource=ResourceRef(uid="u" * 2000, type="t" * 300, name="n" * 5000),
        controls=tuple(f"FW-{i}:{'c' * 300}" for i in range(40)),
        evidence={f"k{i}" + "x" * 200: "v" * 3000 for i in range(80)},
        waived=True,
        waiver={"reason": "w" * 1000},
        status=Status.ERROR,
    )
    doc = asff_finding(long, account_id=ACCOUNT, region=REGION, time=WHEN)
    assert _asff_problems([doc], securityhub_input) == []
    assert doc["Title"].endswith("…") and len(doc["Title"].encode("utf-16-le")) // 2 <= 256
    assert doc["Description"].endswith("…")
    assert doc["Remediation"]["Recommendation"]["Text"] == "r" * 511 + "…"
    assert len(doc["Resources"][0]["Id"]) == 512
    assert len(doc["Resources"][0]["Details"]["Other"]) == 50
    assert len(doc["Types"]) == 40 and len(doc["Compliance"]["RelatedRequirements"]) == 32
    assert doc["Workflow"]["Status"] == "SUPPRESSED" and doc["Note"]["Text"].startswith("Waived: www")
    assert doc["Compliance"]["Status"] == "NOT_AVAILABLE"


def test_the_asff_checks_are_strict(securityhub_input) -> None:
    good = asff_finding(_finding(), account_id=ACCOUNT, region=REGION, time=WHEN)
    assert _asff_problems([good], securityhub_input) == []
    bad = json.loads(json.dumps(good))
    bad["Severity"]["Label"] = "SEVERE"  # not in the enum
    bad["Title"] = "x" * 257  # too long
    bad["Description"] = "   "  # blank
    bad["Resources"][0]["Details"]["Other"]["k"] = "v" * 1024
    del bad["GeneratorId"]  # required
    problems = "\n".join(_asff_problems([bad], securityhub_input))
    for expected in ("Severity.Label", "Title", "Description", ".Other.k", "GeneratorId"):
        assert expected in problems


def test_asff_account_and_region_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KEYAUDIT_ASFF_ACCOUNT_ID", "KEYAUDIT_ASFF_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    stream = io.BytesIO()
    writer = AsffWriter(stream)
    writer.close({}, Summary(fail_on=None))
    assert json.loads(stream.getvalue()) == []
    assert (writer.account_id, writer.region, writer.partition) == ("000000000000", "us-east-1", "aws")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "cn-north-1")
    writer = AsffWriter(io.BytesIO())
    assert (writer.region, writer.partition) == ("cn-north-1", "aws-cn")
    monkeypatch.setenv("KEYAUDIT_ASFF_ACCOUNT_ID", "12345")
    with pytest.raises(InputError, match="KEYAUDIT_ASFF_ACCOUNT_ID"):
        AsffWriter(io.BytesIO())


def test_asff_resource_partition_follows_the_arn(securityhub_input) -> None:
    china_key = _finding(
        provider="aws", location="cn-north-1",
        resource=ResourceRef(uid="arn:aws-cn:kms:cn-north-1:123456789012:key/k", type="AWS::KMS::Key"),
    )  # fmt: skip
    doc = asff_finding(china_key, account_id=ACCOUNT, region="cn-north-1", partition="aws-cn", time=WHEN)
    assert doc["ProductArn"].startswith("arn:aws-cn:securityhub:cn-north-1:")
    assert doc["Resources"][0]["Partition"] == "aws-cn" and doc["Resources"][0]["Type"] == "AwsKmsKey"
    assert _asff_problems([doc], securityhub_input) == []


def test_bad_asff_account_is_a_usage_error(tmp_path: Path) -> None:
    env = dict(os.environ, KEYAUDIT_ASFF_ACCOUNT_ID="not-an-account")
    sample = Path(__file__).parent.parent / "samples" / "inventory-multicloud.json"
    out = tmp_path / "out.asff.json"
    proc = subprocess.run(
        [sys.executable, "-m", "scanner", "evaluate", str(sample), "--format", "asff", "-o", str(out), "--quiet"],
        check=False, capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert proc.returncode == 2 and "KEYAUDIT_ASFF_ACCOUNT_ID" in proc.stderr
    assert list(tmp_path.iterdir()) == []  # nothing half-written


# --- CEF and LEEF -----------------------------------------------------------------------------------

_CEF_EXTENSION = re.compile(r"([A-Za-z0-9_]+)=((?:\\.|[^\\=])*?)(?= [A-Za-z0-9_]+=|$)")


def _split_header(line: str, count: int) -> tuple[list[str], str]:
    """The first ``count`` fields split at unescaped pipes (``\\|`` and ``\\\\`` unescaped), and the rest."""
    fields: list[str] = []
    current: list[str] = []
    index = 0
    while len(fields) < count:
        char = line[index]
        if char == "\\":
            assert line[index + 1] in "\\|", f"bad header escape in {line!r}"
            current.append(line[index + 1])
            index += 2
        elif char == "|":
            fields.append("".join(current))
            current = []
            index += 1
        else:
            current.append(char)
            index += 1
    return fields, line[index:]


def _unescape(raw: str, allowed: str) -> str:
    assert re.fullmatch(r"(?:[^\\]|\\[" + re.escape(allowed) + "])*", raw), f"bad escape in {raw!r}"
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r"}.get(m.group(1), m.group(1)), raw)


def parse_cef(line: str) -> tuple[list[str], dict[str, str]]:
    assert "\n" not in line and "\r" not in line and len(line.splitlines()) == 1
    header, extension = _split_header(line, 7)
    assert header[0] == "CEF:0"
    pairs = [(m.group(1), m.group(2)) for m in _CEF_EXTENSION.finditer(extension)]
    assert " ".join(f"{k}={v}" for k, v in pairs) == extension  # the whole extension is key=value pairs
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys))
    return header, {k: _unescape(v, "\\=nr") for k, v in pairs}


def parse_leef(line: str) -> tuple[list[str], dict[str, str]]:
    assert "\n" not in line and "\r" not in line and len(line.splitlines()) == 1
    header, attributes = _split_header(line, 6)
    assert header[0] == "LEEF:2.0" and header[5] == "^"
    raws = re.split(r"(?<!\\)((?:\\\\)*)\^", attributes)
    # re.split keeps the even run of backslashes before a delimiter: glue it back to its value.
    items = [raws[i] + (raws[i + 1] if i + 1 < len(raws) else "") for i in range(0, len(raws), 2)]
    parsed: dict[str, str] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", key) and key not in parsed
        parsed[key] = _unescape(raw, "\\^nr")
    return header, parsed


def test_every_demo_cef_line_parses_back(demo) -> None:
    out, findings = demo
    lines = _read(out, "cef").splitlines()
    assert len(lines) == len(findings)
    for line, finding in zip(lines, findings, strict=True):
        header, ext = parse_cef(line)
        assert header[1:6] == ["keyaudit", "keyaudit", header[3], finding["rule_id"], finding["title"]]
        assert 0 <= int(header[6]) <= 10
        assert ext["cs1"] == ext["externalId"] == finding["finding_id"] and ext["cs1Label"] == "findingId"
        assert ext["cs4"] == finding["resource"]["uid"] and ext["cs5"] == finding["status"]
        assert ext["cs6"] == ",".join(finding["controls"]) and ext["msg"] == finding["message"]
        assert ext["outcome"] == {"pass": "success", "fail": "failure"}.get(finding["status"], "unknown")
        assert int(ext["rt"]) > 1_600_000_000_000


def test_every_demo_leef_line_parses_back(demo) -> None:
    out, findings = demo
    lines = _read(out, "leef").splitlines()
    assert len(lines) == len(findings)
    for line, finding in zip(lines, findings, strict=True):
        header, attrs = parse_leef(line)
        assert header[4] == finding["rule_id"]
        assert attrs["findingId"] == finding["finding_id"] and attrs["resource"] == finding["resource"]["uid"]
        assert attrs["msg"] == finding["message"] and 1 <= int(attrs["sev"]) <= 10
        assert datetime.fromisoformat(attrs["devTime"]).tzinfo is not None


def test_hostile_names_round_trip_and_cannot_add_a_line_or_field() -> None:
    hostile = _finding(scope=HOSTILE, title="Title | with \\ pipe")
    header, ext = parse_cef(cef_line(hostile, time=WHEN))
    assert header[5] == "Title | with \\ pipe" and header[6] == "8"
    assert ext["cs3"] == ext["cs4"] == ext["msg"] == HOSTILE  # exact round trip
    assert set(ext) == {
        "rt", "cat", "outcome", "externalId", "cs1Label", "cs1", "cs2Label", "cs2", "cs3Label", "cs3",
        "cs4Label", "cs4", "cs5Label", "cs5", "cs6Label", "cs6", "flexString1Label", "flexString1",
        "flexString2Label", "flexString2", "msg",
    }  # fmt: skip
    assert ext["cs1"] == hostile.finding_id and ext["rt"] == str(int(WHEN.timestamp() * 1000))

    _, attrs = parse_leef(leef_line(hostile, time=WHEN))
    assert attrs["scope"] == attrs["resource"] == attrs["resourceName"] == attrs["msg"] == HOSTILE
    assert attrs["sev"] == "8" and attrs["findingId"] == hostile.finding_id
    assert "evil" not in attrs and "sev=10" not in attrs["sev"]


def test_control_characters_are_shown_not_passed_on() -> None:
    sneaky = "red\x1b[31m\x00nul\u2028sep\x85nel\ttab"
    finding = _finding(message=sneaky, title="Title\nsecond line", resource=ResourceRef(uid="u", type="t"))
    for line, parse in (
        (cef_line(finding, time=WHEN), parse_cef),
        (leef_line(finding, time=WHEN), parse_leef),
    ):
        assert not re.search("[\x00-\x1f\x7f-\x9f\u2028\u2029]", line)
        assert len(line.splitlines()) == 1
        _, fields = parse(line)
        assert fields["msg"] == "red\\x1b[31m\\x00nul\\u2028sep\\x85nel\\x09tab"
    assert parse_cef(cef_line(finding, time=WHEN))[0][5] == "Title\\x0asecond line"


# --- ECS and SARIF ----------------------------------------------------------------------------------


def test_demo_ecs_documents(demo) -> None:
    out, findings = demo
    docs = [json.loads(line) for line in _read(out, "ecs").splitlines()]
    assert [d["event"]["id"] for d in docs] == [f["finding_id"] for f in findings]
    for doc, finding in zip(docs, findings, strict=True):
        event = doc["event"]
        assert (event["kind"], event["category"], event["type"]) == ("state", ["configuration"], ["info"])
        assert event["outcome"] in {"success", "failure", "unknown"}
        assert event["dataset"] == "keyaudit.finding" and doc["ecs"]["version"].startswith("8.")
        assert doc["rule"]["id"] == finding["rule_id"] and doc["rule"]["name"] == finding["title"]
        assert doc["keyaudit"]["evidence"] == finding["evidence"]
        assert doc["keyaudit"]["controls"] == finding["controls"]
        assert all(isinstance(v, str) and "." not in k for k, v in doc["labels"].items())
        datetime.fromisoformat(doc["@timestamp"])
        if finding["provider"] in {"aws", "gcp", "azure"}:
            assert doc["cloud"]["provider"] == finding["provider"]
            assert doc["cloud"]["account"]["id"] == finding["scope"]
            assert doc["cloud"].get("region") == finding["location"]
        else:
            assert "cloud" not in doc
    outcomes = {d["event"]["outcome"] for d in docs}
    assert outcomes == {"success", "failure", "unknown"}


def test_ecs_document_serialises_sets_and_hostile_text() -> None:
    doc = ecs_document(_finding(), time=WHEN)
    assert doc["@timestamp"] == "2026-01-02T03:04:05.678Z" and doc["message"] == HOSTILE
    stream = io.BytesIO()
    writer = writer_class("ecs")(stream)
    writer.write(_finding())
    writer.close({}, Summary(fail_on=None))
    (line,) = stream.getvalue().decode().splitlines()
    assert json.loads(line)["keyaudit"]["evidence"]["names"] == ["x", "y"]


def test_demo_sarif_log(demo) -> None:
    out, findings = demo
    text = _read(out, "sarif")
    log = json.loads(text)
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    assert text.index('"results"') < text.index('"tool"')  # streamed: results first, rules at the end
    rules = run["tool"]["driver"]["rules"]
    assert run["tool"]["driver"]["name"] == "keyaudit"
    assert len({r["id"] for r in rules}) == len(rules)
    results = run["results"]
    assert len(results) == len(findings)
    fingerprints = [r["partialFingerprints"][FINGERPRINT] for r in results]
    assert fingerprints == [f["finding_id"] for f in findings] and len(set(fingerprints)) == len(results)
    for result, finding in zip(results, findings, strict=True):
        rule = rules[result["ruleIndex"]]
        assert rule["id"] == result["ruleId"] == finding["rule_id"]
        assert rule["shortDescription"]["text"] == finding["title"]
        assert finding["remediation"] in rule["help"]["text"]
        assert rule["properties"]["tags"] == finding["controls"]
        assert result["level"] in {"error", "warning", "note", "none"}
        assert result["kind"] == "fail" or result["level"] == "none"  # SARIF 3.27.10
        ((logical,),) = (loc["logicalLocations"] for loc in result["locations"])
        assert (logical["fullyQualifiedName"], logical["kind"]) == (finding["resource"]["uid"], "resource")
        assert logical.get("name") == finding["resource"]["name"]
        assert result["properties"]["status"] == finding["status"]
    assert {r["kind"] for r in results} == {"pass", "fail", "open"}
    assert run["invocations"][0]["executionSuccessful"] is True


def test_sarif_levels_and_waivers() -> None:
    critical = sarif_result(_finding(severity=Severity.CRITICAL), rule_index=0)
    assert (critical["kind"], critical["level"]) == ("fail", "error")
    low = sarif_result(_finding(severity=Severity.LOW), rule_index=0)
    assert (low["kind"], low["level"]) == ("fail", "note")
    waived = sarif_result(_finding(waived=True, waiver={"reason": "accepted risk"}), rule_index=3)
    assert waived["suppressions"] == [
        {"kind": "external", "status": "accepted", "justification": "accepted risk"}
    ]
    assert waived["ruleIndex"] == 3


# --- Streaming --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_writers_stream_before_the_run_ends(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEYAUDIT_ASFF_ACCOUNT_ID", raising=False)
    stream = io.BytesIO()
    writer = writer_class(fmt)(stream)
    base = _finding()
    for index in range(3000):
        writer.write(replace(base, finding_id=f"{index:032x}"))
    assert len(stream.getvalue()) > 0  # written while findings still come, not held until close
    writer.close({"run_id": "r", "started_at": "2026-01-01T00:00:00Z"}, Summary(fail_on=None))
    data = stream.getvalue().decode()
    if fmt in {"asff", "sarif"}:
        parsed = json.loads(data)
        assert len(parsed if fmt == "asff" else parsed["runs"][0]["results"]) == 3000
    else:
        assert len(data.splitlines()) == 3000
