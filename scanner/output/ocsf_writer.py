"""OCSF 1.8.0 Compliance Finding events (class 2003), one JSON object per line (NDJSON), streamed.

One event per finding: ``finding_info.uid`` is keyaudit's stable finding id (a receiver can drop
duplicates), ``compliance`` carries the frameworks, the control and the check status (a finding that
could not be judged for missing data is OCSF's ``Warning``: "did not yield a result due to missing
information"), ``resources`` the key, store or scope judged, ``cloud`` the provider, account / project /
subscription and region (the ``cloud`` profile), ``remediation`` the rule's advice, and ``unmapped`` the
normalised evidence. A waived finding is ``Suppressed``.

With a state store (``--state``) the activity follows the finding's change: ``new``/``reappeared`` are
Create (status New), ``still_open`` is Update (New, or Suppressed when waived), ``resolved`` is Close
(status Resolved); ``finding_info.first_seen_time``/``last_seen_time`` carry when it was first and last
seen failing. Without a state store every event is a Create.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from scanner import __version__
from scanner.findings import Finding, Summary
from scanner.output.base import FindingWriter
from scanner.output.clouds import cloud_of
from scanner.rule import Severity, Status

OCSF_VERSION = "1.8.0"
CLASS_UID = 2003  # Compliance Finding
CATEGORY_UID = 2  # Findings
ACTIVITY_CREATE = 1
# change label -> (activity_id, activity_name)
_ACTIVITIES = {"still_open": (2, "Update"), "resolved": (3, "Close")}
_BATCH = 1024

_SEVERITY_IDS = {
    Severity.INFO: (1, "Informational"),
    Severity.LOW: (2, "Low"),
    Severity.MEDIUM: (3, "Medium"),
    Severity.HIGH: (4, "High"),
    Severity.CRITICAL: (5, "Critical"),
}
# compliance.status_id: 1 Pass, 2 Warning (no result for missing information), 3 Fail, 99 Other.
_COMPLIANCE_STATUS = {
    Status.PASS: (1, "Pass"),
    Status.UNKNOWN: (2, "Warning"),
    Status.FAIL: (3, "Fail"),
    Status.ERROR: (99, "Error"),
}


def _frameworks(controls: tuple[str, ...]) -> list[str]:
    return list(dict.fromkeys(control.split(":", 1)[0] for control in controls))


def _primary_control(controls: tuple[str, ...]) -> str | None:
    """The CSA AICM control when there is one (keyaudit's own framework), else the first mapping."""
    for control in controls:
        if control.startswith("CSA-AICM:"):
            return control.split(":", 1)[1]
    return controls[0] if controls else None


def event(finding: Finding, *, time_ms: int, product_version: str = __version__) -> dict[str, Any]:
    """The OCSF Compliance Finding event of one finding (pure; tests validate it against the schema)."""
    severity_id, severity = _SEVERITY_IDS.get(finding.severity, (0, "Unknown"))
    status_id, status = _COMPLIANCE_STATUS[finding.status]
    facts = cloud_of(finding.provider)
    cloud_provider = facts.name if facts else None
    resource: dict[str, Any] = {"uid": finding.resource.uid, "type": finding.resource.type}
    if finding.resource.name:
        resource["name"] = finding.resource.name
    if cloud_provider:
        resource["provider"] = cloud_provider
        if finding.location:
            resource["region"] = finding.location
    compliance: dict[str, Any] = {
        "standards": _frameworks(finding.controls),
        "requirements": list(finding.controls),
        "status": status,
        "status_id": status_id,
    }
    control = _primary_control(finding.controls)
    if control:
        compliance["control"] = control
    profiles: list[str] = []
    activity_id, activity = _ACTIVITIES.get(finding.change or "", (ACTIVITY_CREATE, "Create"))
    if finding.change == "resolved":
        status_id, status_name = 4, "Resolved"
    elif finding.waived:
        status_id, status_name = 3, "Suppressed"
    else:
        status_id, status_name = 1, "New"
    finding_info: dict[str, Any] = {
        "uid": finding.finding_id,
        "title": finding.title,
        "desc": finding.message,
        "types": [finding.rule_id],
        "analytic": {"uid": finding.rule_id, "name": finding.title, "type_id": 1, "type": "Rule"},
    }
    for field, value in (("first_seen_time", finding.first_seen), ("last_seen_time", finding.last_seen)):
        if value:
            finding_info[field] = _epoch_ms(value)
    doc: dict[str, Any] = {
        "activity_id": activity_id,
        "activity_name": activity,
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "class_uid": CLASS_UID,
        "class_name": "Compliance Finding",
        "type_uid": CLASS_UID * 100 + activity_id,
        "type_name": f"Compliance Finding: {activity}",
        "time": time_ms,
        "severity_id": severity_id,
        "severity": severity,
        "status_id": status_id,
        "status": status_name,
        "message": finding.message,
        "metadata": {
            "version": OCSF_VERSION,
            "product": {"name": "keyaudit", "vendor_name": "keyaudit", "version": product_version},
            "uid": finding.finding_id,
            "event_code": finding.rule_id,
            "profiles": profiles,
        },
        "finding_info": finding_info,
        "compliance": compliance,
        "resources": [resource],
        "remediation": {"desc": finding.remediation},
        "unmapped": {
            "keyaudit": {
                "status": finding.status.value,
                "change": finding.change,
                "evidence": dict(finding.evidence),
            }
        },
    }
    if facts:
        profiles.append("cloud")
        cloud: dict[str, Any] = {"provider": facts.name}
        if finding.location:
            cloud["region"] = finding.location
        if facts.scope_is_project:
            cloud["project_uid"] = finding.scope
        else:
            cloud["account"] = {"uid": finding.scope, "type": facts.scope_noun}
        doc["cloud"] = cloud
    if finding.waived and finding.waiver:
        doc["status_detail"] = f"waived: {finding.waiver.get('reason', '')}".strip()
    return doc


def _epoch_ms(rfc3339: str) -> int:
    return int(datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp() * 1000)


class OcsfWriter(FindingWriter):
    format = "ocsf"
    extension = "ocsf.ndjson"
    description = "OCSF 1.8.0 Compliance Finding (class 2003) events, one per line"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # One event time for the run (when the findings were judged), in milliseconds as OCSF wants.
        self._time_ms = int(datetime.now(UTC).timestamp() * 1000)
        self._pending: list[bytes] = []

    def write(self, finding: Finding) -> None:
        self._pending.append(
            orjson.dumps(event(finding, time_ms=self._time_ms), option=orjson.OPT_NON_STR_KEYS) + b"\n"
        )
        if len(self._pending) >= _BATCH:
            self._flush()

    def close(self, scan: dict[str, Any], summary: Summary) -> None:
        self._flush()

    def _flush(self) -> None:
        if self._pending:
            self.stream.write(b"".join(self._pending))
            self._pending.clear()
