"""SARIF 2.1.0 log of the findings, streamed.

One run: tool ``keyaudit`` whose rules carry the title (``shortDescription``), the remediation per
provider (``help``) and the mapped controls (``properties.tags``); one result per finding. Resources are
not files, so each result locates its resource as a logical location (``kind`` ``resource``) and
carries the stable finding id as ``partialFingerprints["keyauditFindingId/v1"]`` (and as
``correlationGuid``, the same result across runs). ``kind`` / ``level``: pass is ``pass`` / ``none``;
fail is ``fail`` with ``error`` (critical, high), ``warning`` (medium) or ``note`` (low, info); unknown
and error are ``open`` / ``none`` ("could not determine whether the result is pass or fail": the
status is in ``properties.status``). A waived finding has an accepted external suppression.

Streaming: results are written as they come and the rules array at the end; SARIF objects are
unordered, so the run is written with ``results`` first and ``tool`` last.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

from scanner import __version__
from scanner.findings import Finding, Summary
from scanner.output.base import FindingWriter
from scanner.rule import Severity, Status

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FINGERPRINT = "keyauditFindingId/v1"
INFORMATION_URI = "https://example.invalid/keyaudit"
_BATCH = 1024

_FAIL_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# The 0-10 score code-scanning tools read from a rule's properties ("security-severity").
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}


def _json_default(value: object) -> object:
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


def result_kind_level(finding: Finding) -> tuple[str, str]:
    """SARIF ``kind`` and ``level``: SARIF requires level ``none`` for any kind but ``fail``."""
    if finding.status is Status.PASS:
        return "pass", "none"
    if finding.status is Status.FAIL:
        return "fail", _FAIL_LEVEL[finding.severity]
    return "open", "none"


def sarif_result(finding: Finding, *, rule_index: int) -> dict[str, Any]:
    """The SARIF result of one finding (pure); ``rule_index`` is its rule's place in the rules array."""
    kind, level = result_kind_level(finding)
    resource = finding.resource
    logical: dict[str, Any] = {"fullyQualifiedName": resource.uid, "kind": "resource"}
    if resource.name:
        logical["name"] = resource.name
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "kind": kind,
        "level": level,
        "message": {"text": finding.message or finding.title},
        "locations": [{"logicalLocations": [logical]}],
        "partialFingerprints": {FINGERPRINT: finding.finding_id},
        "correlationGuid": str(uuid.UUID(hex=finding.finding_id)),
        "properties": {
            "status": finding.status.value,
            "severity": finding.severity.value,
            "provider": finding.provider,
            "scope": finding.scope,
            "location": finding.location,
            "resourceType": resource.type,
            "controls": list(finding.controls),
            "waived": finding.waived,
            "evidence": dict(finding.evidence),
        },
    }
    if finding.waived:
        waiver = finding.waiver or {}
        suppression: dict[str, Any] = {"kind": "external", "status": "accepted"}
        if waiver.get("reason"):
            suppression["justification"] = str(waiver["reason"])
        result["suppressions"] = [suppression]
    return result


def sarif_rule(finding: Finding, remediation: dict[str, str]) -> dict[str, Any]:
    """The reporting descriptor of a finding's rule; ``remediation`` maps provider to its advice."""
    return {
        "id": finding.rule_id,
        "shortDescription": {"text": finding.title},
        "help": {"text": _help_text(remediation or {finding.provider: finding.remediation})},
        "defaultConfiguration": {"level": _FAIL_LEVEL[finding.severity]},
        "properties": {
            "tags": list(finding.controls),
            "severity": finding.severity.value,
            "security-severity": _SECURITY_SEVERITY[finding.severity],
        },
    }


def _help_text(remediation: dict[str, str]) -> str:
    if len(remediation) == 1:
        return next(iter(remediation.values()))
    return "\n\n".join(f"{provider}: {text}" for provider, text in sorted(remediation.items()))


class SarifWriter(FindingWriter):
    format = "sarif"
    extension = "sarif"
    description = "SARIF 2.1.0 log: resources as logical locations, finding ids as partial fingerprints"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        header = {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION}
        self._pending: list[bytes] = [orjson.dumps(header)[:-1] + b',"runs":[{"results":[\n']
        self._first = True
        # Per rule (a few dozen): its index, its descriptor and its remediation per provider.
        self._rules: dict[str, tuple[int, dict[str, Any], dict[str, str]]] = {}

    def write(self, finding: Finding) -> None:
        known = self._rules.get(finding.rule_id)
        if known is None:
            known = self._rules[finding.rule_id] = (len(self._rules), sarif_rule(finding, {}), {})
        known[2].setdefault(finding.provider, finding.remediation)
        record = orjson.dumps(
            sarif_result(finding, rule_index=known[0]),
            default=_json_default,
            option=orjson.OPT_NON_STR_KEYS,
        )
        self._pending.append(record if self._first else b",\n" + record)
        self._first = False
        if len(self._pending) >= _BATCH:
            self._flush()

    def close(self, scan: dict[str, Any], summary: Summary) -> None:
        rules = [
            {**descriptor, "help": {"text": _help_text(remediation)}}
            for _, descriptor, remediation in self._rules.values()
        ]
        invocation: dict[str, Any] = {"executionSuccessful": True}
        if scan.get("started_at"):
            invocation["startTimeUtc"] = scan["started_at"]
        if scan.get("finished_at"):
            invocation["endTimeUtc"] = scan["finished_at"]
        tail = {
            "tool": {
                "driver": {
                    "name": "keyaudit",
                    "version": __version__,
                    "informationUri": INFORMATION_URI,
                    "rules": rules,
                }
            },
            "invocations": [invocation],
            "automationDetails": {"id": f"keyaudit/{scan.get('mode', 'scan')}/{scan.get('run_id', '')}"},
            "properties": {"summary": summary.to_dict()},
        }
        self._pending.append(b"\n]," + orjson.dumps(tail, option=orjson.OPT_NON_STR_KEYS)[1:] + b"]}\n")
        self._flush()

    def _flush(self) -> None:
        self.stream.write(b"".join(self._pending))
        self._pending.clear()
