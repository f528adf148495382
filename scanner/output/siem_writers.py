"""SIEM formats, one record per finding, streamed: AWS Security Finding Format (Security Hub), ArcSight
CEF, IBM QRadar LEEF 2.0 and Elastic Common Schema.

Each format is a pure function of one finding and the event time (``asff_finding``, ``cef_line``,
``leef_line``, ``ecs_document``), shared by the file writers below and by the deliveries
(``scanner/delivery``); every writer stamps the whole run with one time, taken when it opens.

``asff`` (``BatchImportFindings`` input, a JSON array of findings)
    ``Id`` is the stable finding id, ``GeneratorId`` the rule id, ``ProductArn`` the account's default
    product ``arn:PARTITION:securityhub:REGION:ACCOUNT:product/ACCOUNT/default``. Security Hub accepts
    findings on the default product only when ``AwsAccountId`` is the importing account, so every
    finding carries the account given (GCP, Azure and policy findings as much as AWS ones); the
    account, project or subscription the finding is about is in ``ProductFields`` and in the resource's
    ``Details.Other``. The file writer takes the account from ``KEYAUDIT_ASFF_ACCOUNT_ID`` and the region
    from ``KEYAUDIT_ASFF_REGION`` or ``AWS_DEFAULT_REGION`` (defaults ``000000000000`` / ``us-east-1``).
    Compliance status: pass PASSED, fail FAILED, unknown WARNING (checked without a verdict), error
    NOT_AVAILABLE. A passed check has severity label INFORMATIONAL (as Security Hub's own controls);
    ``Severity.Original`` keeps the rule's severity. A waived finding is ``Workflow.Status`` SUPPRESSED
    with the waiver in ``Note``. Text longer than ASFF allows is cut with an ellipsis.

``cef`` (``CEF:0|keyaudit|keyaudit|VERSION|RULE_ID|TITLE|SEVERITY|EXTENSION``, one line per finding)
    Severity 0-10 (pass 0; info 1, low 3, medium 5, high 8, critical 10). Extension keys: ``rt`` (event
    time, ms), ``cat`` (``compliance``), ``outcome`` (success, failure or unknown), ``act`` (``waived``,
    only when waived), ``externalId`` and ``cs1`` (finding id), ``cs2`` provider, ``cs3`` scope,
    ``cs4`` resource uid, ``cs5`` status, ``cs6`` controls (comma-separated), ``flexString1`` resource
    type, ``flexString2`` location, ``msg`` message; each ``csN``/``flexStringN`` with its ``...Label``.

``leef`` (``LEEF:2.0|keyaudit|keyaudit|VERSION|RULE_ID|^|ATTRIBUTES``, ``^``-delimited)
    ``devTime`` (ISO 8601 with its ``devTimeFormat``), ``cat``, ``sev`` (1-10, pass 1), ``findingId``,
    ``title``, ``status``, ``outcome``, ``provider``, ``scope``, ``location``, ``resource`` (uid),
    ``resourceType``, ``resourceName``, ``controls``, ``waived``, ``msg``.

``ecs`` (Elastic Common Schema 8.11 documents, NDJSON)
    ``event.kind`` state, ``event.category`` configuration, ``event.type`` info, ``event.outcome``
    success / failure / unknown, ``event.id`` the finding id; ``rule.*``, ``cloud.*``, ``labels``, and
    keyaudit's own fields under ``keyaudit.*``. Evidence differs in shape from rule to rule: index it
    with ``ECS_MAPPINGS`` (``flattened``), which dynamic mapping cannot do.

Escaping (CEF, LEEF). Header fields escape ``\\`` and ``|`` with a backslash. CEF extension values
escape ``\\`` and ``=``, and write line feed and carriage return as ``\\n`` and ``\\r``, as the CEF
standard says; LEEF values escape ``\\`` and the ``^`` delimiter the same way and line breaks likewise.
Any other control character (ANSI escapes, NUL, Unicode line separators) is written visibly as
``\\xNN`` / ``\\uNNNN`` text, so no value from the cloud can end a line or start a field.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from scanner import __version__
from scanner.errors import InputError
from scanner.findings import Finding, Summary
from scanner.output.base import FindingWriter
from scanner.output.clouds import cloud_of
from scanner.rule import Severity, Status

PRODUCT = "keyaudit"
_BATCH = 1024  # records joined per write

# ---------------------------------------------------------------------------------------------------
# Shared helpers


def iso_time(moment: datetime) -> str:
    """ISO 8601 / RFC 3339 in UTC with milliseconds, ``Z`` suffix (a naive time is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _json_default(value: object) -> object:
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


def _compact_json(value: Any) -> str:
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_NON_STR_KEYS).decode()


def _asff_workflow(finding: Finding) -> str:
    """RESOLVED when the state store saw it fixed, SUPPRESSED when waived, else NEW."""
    if finding.change == "resolved":
        return "RESOLVED"
    return "SUPPRESSED" if finding.waived else "NEW"


def _frameworks(controls: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(control.split(":", 1)[0] for control in controls))


def _primary_control(controls: tuple[str, ...]) -> str | None:
    for control in controls:
        if control.startswith("CSA-AICM:"):
            return control
    return controls[0] if controls else None


_OUTCOME = {
    Status.PASS: "success",
    Status.FAIL: "failure",
    Status.UNKNOWN: "unknown",
    Status.ERROR: "unknown",
}
# One 0-10 scale for CEF, LEEF and ECS: 0-3 low, 4-6 medium, 7-8 high, 9-10 very high (CEF guidance).
_SEVERITY_SCALE = {
    Severity.INFO: 1,
    Severity.LOW: 3,
    Severity.MEDIUM: 5,
    Severity.HIGH: 8,
    Severity.CRITICAL: 10,
}


def _event_severity(finding: Finding) -> int:
    """A passed check is not worth attention whatever the rule's severity."""
    return 0 if finding.status is Status.PASS else _SEVERITY_SCALE[finding.severity]


# ---------------------------------------------------------------------------------------------------
# AWS Security Finding Format

ASFF_SCHEMA_VERSION = "2018-10-08"
ASFF_TYPE_PREFIX = "Software and Configuration Checks/Industry and Regulatory Standards/"
ASFF_ACCOUNT_ENV = "KEYAUDIT_ASFF_ACCOUNT_ID"
ASFF_REGION_ENV = "KEYAUDIT_ASFF_REGION"
DEFAULT_ASFF_ACCOUNT_ID = "000000000000"
DEFAULT_ASFF_REGION = "us-east-1"

# BatchImportFindings limits (Security Hub API reference, AwsSecurityFinding), in characters.
ASFF_MAX_ID = 512
ASFF_MAX_TITLE = 256
ASFF_MAX_DESCRIPTION = 1024
ASFF_MAX_RECOMMENDATION = 512
ASFF_MAX_NOTE = 512
ASFF_MAX_TYPES = 50
ASFF_MAX_REQUIREMENTS = 32
ASFF_MAX_REQUIREMENT = 256
ASFF_MAX_REGION = 16
ASFF_MAX_MAP_ENTRIES = 50  # ProductFields and Details.Other
ASFF_MAX_MAP_KEY = 127  # Details.Other keys: "fewer than 128 characters"
ASFF_MAX_OTHER_VALUE = 1023  # Details.Other values: "fewer than 1,024 characters"
ASFF_MAX_PRODUCT_FIELD_VALUE = 2048

_ASFF_LABEL = {
    Severity.INFO: "INFORMATIONAL",
    Severity.LOW: "LOW",
    Severity.MEDIUM: "MEDIUM",
    Severity.HIGH: "HIGH",
    Severity.CRITICAL: "CRITICAL",
}
_ASFF_COMPLIANCE = {
    Status.PASS: "PASSED",
    Status.FAIL: "FAILED",
    Status.UNKNOWN: "WARNING",  # the check ran but could not decide: data it needed was unreadable
    Status.ERROR: "NOT_AVAILABLE",  # the check itself could not run
}
_ASFF_RESOURCE_TYPES = {"AWS::KMS::Key": "AwsKmsKey"}
# Resource.Partition is an enum in the Security Hub API: a partition it does not list is left out.
_ASFF_RESOURCE_PARTITIONS = frozenset({"aws", "aws-cn", "aws-us-gov", "aws-us-iso", "aws-us-iso-b"})
_ARN_PARTITION = re.compile(r"^arn:(aws[a-z-]*):")
_NOT_BLANK = re.compile(r"\S")
_ELLIPSIS = "…"


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis. AWS counts UTF-16 code units (Java
    strings), so a character outside the Basic Multilingual Plane counts twice."""
    if len(text) <= limit // 2 or len(text.encode("utf-16-le", "surrogatepass")) // 2 <= limit:
        return text
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit - 1:  # room for the ellipsis
            return text[:index] + _ELLIPSIS
    return text


def _asff_text(value: str | None, limit: int) -> str | None:
    """A non-blank ASFF string (the API refuses blank ones) within ``limit``, or None."""
    if value is None or not _NOT_BLANK.search(value):
        return None
    return clip(value, limit)


def _put(fields: dict[str, str], key: str, value: str | None, limit: int) -> None:
    if len(fields) < ASFF_MAX_MAP_ENTRIES and (text := _asff_text(value, limit)) is not None:
        fields[clip(key, ASFF_MAX_MAP_KEY)] = text


def _evidence_text(value: Any) -> str:
    return value if isinstance(value, str) else _compact_json(value)


def asff_product_arn(*, account_id: str, region: str, partition: str = "aws") -> str:
    """The account's default product: findings imported into one's own account."""
    return f"arn:{partition}:securityhub:{region}:{account_id}:product/{account_id}/default"


def asff_finding(
    finding: Finding, *, account_id: str, region: str, partition: str = "aws", time: datetime
) -> dict[str, Any]:
    """The ASFF finding of one finding, as BatchImportFindings takes it (pure)."""
    stamp = iso_time(time)
    first_seen = _parse_time(finding.first_seen)
    resource = finding.resource
    facts = cloud_of(finding.provider)
    is_aws = facts is not None and facts.asff_native

    asff_resource: dict[str, Any] = {
        "Type": _ASFF_RESOURCE_TYPES.get(resource.type, "Other") if is_aws else "Other",
        "Id": clip(resource.uid, ASFF_MAX_ID) if _NOT_BLANK.search(resource.uid) else finding.finding_id,
    }
    if is_aws:
        match = _ARN_PARTITION.match(resource.uid)
        if (resource_partition := match.group(1) if match else partition) in _ASFF_RESOURCE_PARTITIONS:
            asff_resource["Partition"] = resource_partition
        if finding.location and len(finding.location) <= ASFF_MAX_REGION:
            asff_resource["Region"] = finding.location
    other: dict[str, str] = {}
    for key, value in (
        ("provider", finding.provider),
        ("scope", finding.scope),
        ("location", finding.location),
        ("resource_uid", resource.uid),
        ("resource_type", resource.type),
        ("resource_name", resource.name),
        ("status", finding.status.value),
    ):
        _put(other, key, value, ASFF_MAX_OTHER_VALUE)
    for key, value in finding.evidence.items():
        _put(other, f"evidence.{key}", _evidence_text(value), ASFF_MAX_OTHER_VALUE)
    if other:
        asff_resource["Details"] = {"Other": other}

    product_fields: dict[str, str] = {}
    for key, value in (
        ("ProviderName", PRODUCT),
        ("ProviderVersion", __version__),
        ("keyaudit/finding_id", finding.finding_id),
        ("keyaudit/rule_id", finding.rule_id),
        ("keyaudit/provider", finding.provider),
        ("keyaudit/scope", finding.scope),
        ("keyaudit/location", finding.location),
        ("keyaudit/status", finding.status.value),
        ("keyaudit/severity", finding.severity.value),
        ("keyaudit/change", finding.change),
    ):
        _put(product_fields, key, value, ASFF_MAX_PRODUCT_FIELD_VALUE)

    label = "INFORMATIONAL" if finding.status is Status.PASS else _ASFF_LABEL[finding.severity]
    doc: dict[str, Any] = {
        "SchemaVersion": ASFF_SCHEMA_VERSION,
        "Id": finding.finding_id,
        "ProductArn": asff_product_arn(account_id=account_id, region=region, partition=partition),
        "ProductName": PRODUCT,
        "CompanyName": PRODUCT,
        "GeneratorId": finding.rule_id,
        "AwsAccountId": account_id,
        "Types": [ASFF_TYPE_PREFIX + f for f in _frameworks(finding.controls)][:ASFF_MAX_TYPES]
        or [ASFF_TYPE_PREFIX + PRODUCT],
        "CreatedAt": iso_time(first_seen) if first_seen else stamp,
        "UpdatedAt": stamp,
        "LastObservedAt": stamp,
        "Severity": {"Label": label, "Original": finding.severity.value},
        "Title": _asff_text(finding.title, ASFF_MAX_TITLE) or finding.rule_id,
        "Description": _asff_text(finding.message, ASFF_MAX_DESCRIPTION)
        or _asff_text(finding.title, ASFF_MAX_DESCRIPTION)
        or finding.rule_id,
        "ProductFields": product_fields,
        "Resources": [asff_resource],
        "Compliance": {"Status": _ASFF_COMPLIANCE[finding.status]},
        "Workflow": {"Status": _asff_workflow(finding)},
        "RecordState": "ACTIVE",
    }
    # Security Hub ignores top-level Severity and Types on updates of an existing finding: providers
    # update them through FindingProviderFields, so a check that goes from fail to pass is relabelled.
    doc["FindingProviderFields"] = {"Severity": dict(doc["Severity"]), "Types": list(doc["Types"])}
    if first_seen:
        doc["FirstObservedAt"] = iso_time(first_seen)
    recommendation = _asff_text(finding.remediation, ASFF_MAX_RECOMMENDATION)
    if recommendation:
        doc["Remediation"] = {"Recommendation": {"Text": recommendation}}
    requirements = [clip(c, ASFF_MAX_REQUIREMENT) for c in finding.controls[:ASFF_MAX_REQUIREMENTS]]
    if requirements:
        doc["Compliance"]["RelatedRequirements"] = requirements
    if finding.waived:
        waiver = finding.waiver or {}
        parts = [f"Waived: {waiver.get('reason') or 'no reason given'}"]
        if waiver.get("expires"):
            parts.append(f"expires {waiver['expires']}")
        doc["Note"] = {
            "Text": clip("; ".join(parts), ASFF_MAX_NOTE),
            "UpdatedBy": PRODUCT,
            "UpdatedAt": stamp,
        }
    return doc


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


_ACCOUNT_ID = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$")


def asff_target(environ: Mapping[str, str] | None = None) -> tuple[str, str, str]:
    """(account id, region, partition) for ASFF file output, from the environment (see module doc)."""
    env = os.environ if environ is None else environ
    account = env.get(ASFF_ACCOUNT_ENV) or DEFAULT_ASFF_ACCOUNT_ID
    region = env.get(ASFF_REGION_ENV) or env.get("AWS_DEFAULT_REGION") or DEFAULT_ASFF_REGION
    if not _ACCOUNT_ID.match(account):
        raise InputError(f"{ASFF_ACCOUNT_ENV}: expected a 12-digit AWS account id, got {account!r}")
    if not _REGION.match(region):
        raise InputError(f"{ASFF_REGION_ENV} / AWS_DEFAULT_REGION: not an AWS region: {region!r}")
    return account, region, partition_for_region(region)


@functools.cache
def partition_for_region(region: str) -> str:
    """The AWS partition of a region (aws, aws-cn, aws-us-gov, ...), from botocore's endpoint data."""
    import botocore.exceptions  # type: ignore[import-untyped]
    import botocore.session  # type: ignore[import-untyped]

    try:
        return str(botocore.session.get_session().get_partition_for_region(region))
    except botocore.exceptions.UnknownRegionError:
        return "aws"


# ---------------------------------------------------------------------------------------------------
# CEF and LEEF

CEF_VERSION = 0
LEEF_DELIMITER = "^"
LEEF_TIME_FORMAT = "yyyy-MM-dd'T'HH:mm:ss.SSSX"  # Java SimpleDateFormat, as QRadar reads devTime
# ArcSight limits: msg 1023 characters, deviceCustomString 4000, flexString 1023, externalId 40.
_CEF_MAX_MSG = 1023
_CEF_MAX_CUSTOM = 4000
_CEF_MAX_FLEX = 1023

# Control characters other than the line breaks that CEF escapes, plus what Unicode treats as line or
# paragraph separators and lone surrogates: written as visible text, never passed on.
_INVISIBLE = re.compile("[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_INVISIBLE_OR_BREAK = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_HEADER_ESCAPES = str.maketrans({"\\": "\\\\", "|": "\\|"})
_CEF_ESCAPES = str.maketrans({"\\": "\\\\", "=": "\\=", "\n": "\\n", "\r": "\\r"})
_LEEF_ESCAPES = str.maketrans({"\\": "\\\\", LEEF_DELIMITER: "\\" + LEEF_DELIMITER, "\n": "\\n", "\r": "\\r"})


def _show(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _header_field(text: str) -> str:
    """A CEF or LEEF header field: one line, ``\\`` and ``|`` escaped."""
    return _INVISIBLE_OR_BREAK.sub(_show, text).translate(_HEADER_ESCAPES)


def _cef_value(text: str) -> str:
    return _INVISIBLE.sub(_show, text).translate(_CEF_ESCAPES)


def _leef_value(text: str) -> str:
    return _INVISIBLE.sub(_show, text).translate(_LEEF_ESCAPES)


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + _ELLIPSIS


@functools.lru_cache(maxsize=1024)
def _cef_header(rule_id: str, title: str, severity: int) -> str:
    fields = (PRODUCT, PRODUCT, __version__, rule_id, _bounded(title, 512), str(severity))
    return f"CEF:{CEF_VERSION}|" + "|".join(_header_field(f) for f in fields) + "|"


@functools.lru_cache(maxsize=1024)
def _leef_header(rule_id: str) -> str:
    fields = (PRODUCT, PRODUCT, __version__, rule_id)
    return "LEEF:2.0|" + "|".join(_header_field(f) for f in fields) + f"|{LEEF_DELIMITER}|"


def cef_line(finding: Finding, *, time: datetime) -> str:
    """The CEF event of one finding, one line without its line end (pure)."""
    resource = finding.resource
    pairs: list[tuple[str, str | None]] = [
        ("rt", str(epoch_ms(time))),
        ("cat", "compliance"),
        ("outcome", _OUTCOME[finding.status]),
        ("act", "waived" if finding.waived else None),
        ("externalId", finding.finding_id),
    ]
    # Custom fields: (key, label, value); a label is written only with its value.
    for key, label, value in (
        ("cs1", "findingId", finding.finding_id),
        ("cs2", "provider", finding.provider),
        ("cs3", "scope", _bounded(finding.scope, _CEF_MAX_CUSTOM)),
        ("cs4", "resourceUid", _bounded(resource.uid, _CEF_MAX_CUSTOM)),
        ("cs5", "status", finding.status.value),
        ("cs6", "controls", _bounded(",".join(finding.controls), _CEF_MAX_CUSTOM)),
        ("flexString1", "resourceType", _bounded(resource.type, _CEF_MAX_FLEX)),
        ("flexString2", "location", _bounded(finding.location or "", _CEF_MAX_FLEX)),
    ):
        if value:
            pairs += ((f"{key}Label", label), (key, value))
    pairs.append(("msg", _bounded(finding.message, _CEF_MAX_MSG)))
    extension = " ".join(f"{key}={_cef_value(value)}" for key, value in pairs if value)
    return _cef_header(finding.rule_id, finding.title, _event_severity(finding)) + extension


def leef_line(finding: Finding, *, time: datetime) -> str:
    """The LEEF 2.0 event of one finding, one line without its line end (pure)."""
    resource = finding.resource
    pairs: list[tuple[str, str | None]] = [
        ("devTime", iso_time(time)),
        ("devTimeFormat", LEEF_TIME_FORMAT),
        ("cat", "compliance"),
        ("sev", str(max(1, _event_severity(finding)))),  # LEEF severity is 1-10
        ("findingId", finding.finding_id),
        ("title", finding.title),
        ("status", finding.status.value),
        ("outcome", _OUTCOME[finding.status]),
        ("provider", finding.provider),
        ("scope", finding.scope),
        ("location", finding.location),
        ("resource", resource.uid),
        ("resourceType", resource.type),
        ("resourceName", resource.name),
        ("controls", ",".join(finding.controls)),
        ("waived", "true" if finding.waived else "false"),
        ("msg", finding.message),
    ]
    attributes = LEEF_DELIMITER.join(f"{key}={_leef_value(value)}" for key, value in pairs if value)
    return _leef_header(finding.rule_id) + attributes


# ---------------------------------------------------------------------------------------------------
# Elastic Common Schema

ECS_VERSION = "8.11.0"
ECS_DATASET = "keyaudit.finding"
# Index-template mappings for keyaudit's own fields. Evidence is rule-specific: the same key holds a
# string for one rule and an object for another, which dynamic mapping rejects; ``flattened`` takes all.
ECS_MAPPINGS: dict[str, Any] = {
    "properties": {
        "keyaudit": {
            "properties": {
                "evidence": {"type": "flattened"},
                "waiver": {"type": "flattened"},
                "controls": {"type": "keyword"},
                "frameworks": {"type": "keyword"},
                "status": {"type": "keyword"},
                "severity": {"type": "keyword"},
                "resource": {
                    "properties": {
                        "uid": {"type": "keyword"},
                        "type": {"type": "keyword"},
                        "name": {"type": "keyword"},
                    }
                },
            }
        }
    }
}


def ecs_document(finding: Finding, *, time: datetime) -> dict[str, Any]:
    """The ECS document of one finding (pure); ``keyaudit.*`` holds what ECS has no field for."""
    stamp = iso_time(time)
    resource = finding.resource
    rule: dict[str, Any] = {
        "id": finding.rule_id,
        "name": finding.title,
        "ruleset": PRODUCT,
    }
    primary = _primary_control(finding.controls)
    if primary:
        rule["category"] = primary
    labels = {
        "keyaudit_status": finding.status.value,
        "keyaudit_severity": finding.severity.value,
        "keyaudit_provider": finding.provider,
        "keyaudit_waived": "true" if finding.waived else "false",
    }
    doc: dict[str, Any] = {
        "@timestamp": stamp,
        "ecs": {"version": ECS_VERSION},
        "event": {
            "kind": "state",
            "category": ["configuration"],
            "type": ["info"],
            "outcome": _OUTCOME[finding.status],
            "id": finding.finding_id,
            "code": finding.rule_id,
            "dataset": ECS_DATASET,
            "module": PRODUCT,
            "created": stamp,
            "severity": _event_severity(finding),
        },
        "message": finding.message,
        "rule": rule,
        "observer": {"vendor": PRODUCT, "product": PRODUCT, "version": __version__},
        "labels": labels,
        "keyaudit": {
            "finding_id": finding.finding_id,
            "status": finding.status.value,
            "severity": finding.severity.value,
            "provider": finding.provider,
            "scope": finding.scope,
            "location": finding.location,
            "controls": list(finding.controls),
            "frameworks": _frameworks(finding.controls),
            "resource": {"uid": resource.uid, "type": resource.type, "name": resource.name},
            "evidence": dict(finding.evidence),
            "remediation": finding.remediation,
            "waived": finding.waived,
            "waiver": dict(finding.waiver) if finding.waiver else None,
            "change": finding.change,
            "first_seen": finding.first_seen,
            "last_seen": finding.last_seen,
        },
    }
    facts = cloud_of(finding.provider)
    if facts is not None:
        cloud: dict[str, Any] = {
            "provider": finding.provider,
            "account": {"id": finding.scope},
            "service": {"name": facts.key_service},
        }
        if facts.scope_is_project:
            cloud["project"] = {"id": finding.scope}
        if finding.location:
            cloud["region"] = finding.location
        doc["cloud"] = cloud
    return doc


# ---------------------------------------------------------------------------------------------------
# Writers


class _BatchedWriter(FindingWriter):
    """Records are joined and written in batches; one event time for the whole run."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.time = datetime.now(UTC)
        self._pending: list[bytes] = []

    def _emit(self, record: bytes) -> None:
        self._pending.append(record)
        if len(self._pending) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self.stream.write(b"".join(self._pending))
            self._pending.clear()

    def close(self, scan: dict[str, Any], summary: Summary) -> None:
        self._flush()


class AsffWriter(_BatchedWriter):
    format = "asff"
    extension = "asff.json"
    description = (
        "AWS Security Finding Format: a JSON array for Security Hub BatchImportFindings "
        f"(account and region from ${ASFF_ACCOUNT_ENV}, ${ASFF_REGION_ENV} or $AWS_DEFAULT_REGION)"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account_id, self.region, self.partition = asff_target()
        self._first = True

    def write(self, finding: Finding) -> None:
        doc = asff_finding(
            finding, account_id=self.account_id, region=self.region, partition=self.partition, time=self.time
        )
        self._emit((b"[\n" if self._first else b",\n") + orjson.dumps(doc))
        self._first = False

    def close(self, scan: dict[str, Any], summary: Summary) -> None:
        self._emit(b"[]\n" if self._first else b"\n]\n")
        super().close(scan, summary)


class CefWriter(_BatchedWriter):
    format = "cef"
    extension = "cef"
    description = "ArcSight CEF:0 events, one line per finding"

    def write(self, finding: Finding) -> None:
        self._emit(cef_line(finding, time=self.time).encode("utf-8") + b"\n")


class LeefWriter(_BatchedWriter):
    format = "leef"
    extension = "leef"
    description = "IBM QRadar LEEF 2.0 events ('^'-delimited), one line per finding"

    def write(self, finding: Finding) -> None:
        self._emit(leef_line(finding, time=self.time).encode("utf-8") + b"\n")


class EcsWriter(_BatchedWriter):
    format = "ecs"
    extension = "ecs.ndjson"
    description = "Elastic Common Schema documents (event.kind state), one per line"

    def write(self, finding: Finding) -> None:
        doc = ecs_document(finding, time=self.time)
        self._emit(orjson.dumps(doc, default=_json_default, option=orjson.OPT_NON_STR_KEYS) + b"\n")
