"""Read a saved native JSON result (SPEC 4, ``--format json``) back into findings, e.g. for ``keyaudit send``."""

from __future__ import annotations

import gc
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scanner.errors import InputError
from scanner.findings import Finding
from scanner.rule import ResourceRef, Severity, Status

SUPPORTED_MAJOR = "1"


class _Resource(BaseModel):
    model_config = ConfigDict(extra="ignore")
    uid: str
    type: str
    name: str | None = None


class _Finding(BaseModel):
    model_config = ConfigDict(extra="ignore")
    finding_id: str = Field(min_length=1)
    rule_id: str = Field(min_length=1)
    title: str
    severity: Severity
    status: Status
    provider: str
    scope: str
    location: str | None
    resource: _Resource
    message: str
    evidence: dict[str, Any]
    remediation: str
    controls: list[str]
    waived: bool = False
    waiver: dict[str, Any] | None = None
    change: str | None = None
    first_seen: str | None = None
    last_seen: str | None = None


class _Result(BaseModel):
    model_config = ConfigDict(extra="ignore")
    schema_version: str
    findings: list[_Finding]
    scan: dict[str, Any]


def load_result(path: Path) -> tuple[dict[str, Any], list[Finding]]:
    """The ``scan`` object and the findings of a saved result; InputError naming the file and place."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read result: {exc.strerror or exc}") from exc
    was_enabled = gc.isenabled()
    gc.disable()  # many small acyclic objects: the cyclic collector would only slow this down
    try:
        document = _Result.model_validate_json(raw)
    except ValidationError as exc:
        raise InputError(_describe(path, exc)) from exc
    finally:
        if was_enabled:
            gc.enable()
    major = document.schema_version.split(".", 1)[0]
    if major != SUPPORTED_MAJOR:
        raise InputError(
            f"{path}: at schema_version: result schema {document.schema_version!r} is not supported "
            f"(this keyaudit reads {SUPPORTED_MAJOR}.x)"
        )
    findings = [
        Finding(
            finding_id=f.finding_id,
            rule_id=f.rule_id,
            title=f.title,
            severity=f.severity,
            status=f.status,
            provider=f.provider,
            scope=f.scope,
            location=f.location,
            resource=ResourceRef(uid=f.resource.uid, type=f.resource.type, name=f.resource.name),
            message=f.message,
            evidence=f.evidence,
            remediation=f.remediation,
            controls=tuple(f.controls),
            waived=f.waived,
            waiver=f.waiver,
            change=f.change,
            first_seen=f.first_seen,
            last_seen=f.last_seen,
        )
        for f in document.findings
    ]
    return document.scan, findings


def _describe(path: Path, exc: ValidationError) -> str:
    errors = exc.errors()
    lines = [f"{path}: not a keyaudit JSON result ({exc.error_count()} problem(s)):"]
    for error in errors[:20]:
        if error["type"] == "json_invalid":
            lines.append(f"  invalid JSON: {error.get('ctx', {}).get('error', error['msg'])}")
        else:
            lines.append(f"  at {_json_path(error['loc']) or '(top level)'}: {error['msg']}")
    if exc.error_count() > 20:
        lines.append(f"  ... and {exc.error_count() - 20} more")
    if any(e["loc"] == ("findings",) and e["type"] == "missing" for e in errors):
        lines.append("  (a result is what `--format json` writes; an inventory is not a result)")
    return "\n".join(lines)


def _json_path(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
