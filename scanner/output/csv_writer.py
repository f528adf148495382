"""One row per finding for spreadsheets, streamed; cells are guarded against formula injection."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import orjson

from scanner.findings import Finding, Summary
from scanner.output.base import FindingWriter

COLUMNS = (
    "finding_id",
    "rule_id",
    "title",
    "severity",
    "status",
    "provider",
    "scope",
    "location",
    "resource_uid",
    "resource_type",
    "resource_name",
    "message",
    "controls",
    "remediation",
    "waived",
    "waiver",
    "change",
    "first_seen",
    "last_seen",
    "evidence",  # last: the widest column, compact JSON
)

# A spreadsheet evaluates a cell that starts with one of these as a formula (OWASP "CSV Injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Control characters other than tab and line breaks (ANSI escapes, NUL, ...) are shown, not passed on.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Excel holds at most 32,767 characters in a cell and splits longer text over following rows.
MAX_CELL = 32_000
_TRUNCATED = "... [truncated: see --format json]"
_FLUSH_AT = 1 << 16  # characters buffered before one write to the stream


def safe_cell(value: str) -> str:
    """``value`` made safe for a spreadsheet cell: visible control characters, no formula, bounded."""
    text = _bounded(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value))
    if text.startswith(_FORMULA_START):
        text = "'" + text
    return text


def _bounded(text: str) -> str:
    if len(text) > MAX_CELL:
        return text[: MAX_CELL - len(_TRUNCATED)] + _TRUNCATED
    return text


def _json_default(value: object) -> object:
    if isinstance(value, set | frozenset):
        return sorted(value)
    return str(value)


def _compact_json(value: Any) -> str:
    if value is None:
        return ""
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_NON_STR_KEYS).decode()


# JSON escapes C0 controls itself but passes DEL and C1 controls (NEL, the 8-bit CSI) through raw.
_RAW_IN_JSON = re.compile(r"[\x7f-\x9f]")


def json_cell(value: Any) -> str:
    """``value`` as compact JSON for a cell: still valid JSON, with no control character left raw
    (``\\u0085``, not the "\\x85" of ``safe_cell``, which JSON would not read back)."""
    return _bounded(_RAW_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", _compact_json(value)))


class CsvWriter(FindingWriter):
    format = "csv"
    extension = "csv"
    description = "one row per finding for spreadsheets (UTF-8, header row, evidence as JSON)"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Rows are formatted into a small text buffer and written out in chunks: the stream never has
        # to be wrapped (a TextIOWrapper would close standard output when it is collected).
        self._buffer = io.StringIO()
        # QUOTE_ALL as OWASP advises; "\r\n" line ends as RFC 4180 and spreadsheets expect.
        self._csv = csv.writer(self._buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        self._csv.writerow(COLUMNS)
        self._constant: dict[tuple[str, str], tuple[str, str, str]] = {}

    def write(self, finding: Finding) -> None:
        resource = finding.resource
        # Rule metadata repeats for every finding of a rule: made safe once.
        constant = self._constant.get(finding.constant_key)
        if constant is None:
            constant = self._constant[finding.constant_key] = (
                safe_cell(finding.title),
                safe_cell(";".join(finding.controls)),
                safe_cell(finding.remediation),
            )
        title, controls, remediation = constant
        # Cells that carry cloud data (names, messages) go through safe_cell; ids, enums and dates are
        # keyaudit's own. Evidence and waiver are JSON objects: they start with "{", never a formula.
        self._csv.writerow(
            (
                finding.finding_id,
                finding.rule_id,
                title,
                finding.severity.value,
                finding.status.value,
                finding.provider,
                safe_cell(finding.scope),
                safe_cell(finding.location or ""),
                safe_cell(resource.uid),
                safe_cell(resource.type),
                safe_cell(resource.name or ""),
                safe_cell(finding.message),
                controls,
                remediation,
                "true" if finding.waived else "false",
                json_cell(finding.waiver),
                finding.change or "",
                finding.first_seen or "",
                finding.last_seen or "",
                json_cell(finding.evidence),
            )
        )
        if self._buffer.tell() >= _FLUSH_AT:
            self._flush()

    def close(self, scan: dict[str, Any], summary: Summary) -> None:
        self._flush()

    def _flush(self) -> None:
        self.stream.write(self._buffer.getvalue().encode("utf-8"))
        self._buffer.seek(0)
        self._buffer.truncate()
