"""Native JSON result (SPEC 4), streamed: findings are written as they come."""

from __future__ import annotations

from typing import Any

import orjson

from scanner.findings import Finding, Summary
from scanner.output.base import FindingWriter

RESULT_SCHEMA_VERSION = "1.0"
_OPTIONS = orjson.OPT_NON_STR_KEYS
_BATCH = 2048  # findings joined per write: one system call per batch, not per finding


class JsonWriter(FindingWriter):
    format = "json"
    extension = "json"
    description = "native JSON result: {schema_version, findings, scan} (SPEC 4)"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending: list[bytes] = [
            b'{"schema_version":"' + RESULT_SCHEMA_VERSION.encode() + b'","findings":[\n'
        ]
        self._first = True
        # Title, severity, remediation and controls repeat for every finding of a rule: serialise once.
        self._constant: dict[tuple[str, str], bytes] = {}

    def write(self, finding: Finding) -> None:
        if self._first:
            self._first = False
        else:
            self._pending.append(b",\n")
        constant = self._constant.get(finding.constant_key)
        if constant is None:
            constant = self._constant[finding.constant_key] = b"," + finding.constant_json()[1:]
        self._pending.append(finding.varying_json()[:-1] + constant)
        if len(self._pending) >= _BATCH:
            self._flush()

    def close(self, scan: dict[str, Any], summary: Summary) -> None:
        self._pending.append(
            b'\n],"scan":' + orjson.dumps(scan, option=_OPTIONS | orjson.OPT_INDENT_2) + b"}\n"
        )
        self._flush()

    def _flush(self) -> None:
        self.stream.write(b"".join(self._pending))
        self._pending.clear()
