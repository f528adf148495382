"""The fault matrix: the cases the fault tests run are the single source of ``docs/fault-matrix.md``.

``python -m tests.faults.matrix --write`` rewrites the document from the cases; ``test_matrix`` fails when
the document and the cases differ.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "fault-matrix.md"
PROVIDERS = ("aws", "gcp", "azure")
TIME_LIMIT_SECONDS = 45  # per scan: the CLI subprocess (AWS, GCP) or the in-process collection (Azure)

# Matrix rows, in order: key -> title.
FAULTS = {
    "throttling": "Throttling that outlives the retries",
    "throttling_burst": "Short throttling burst (retries absorb it)",
    "server_error": "5xx errors",
    "timeout": "Timeout (server stalls past the read timeout)",
    "connection_reset": "Connection reset",
    "truncated": "Truncated response",
    "malformed_json": "Malformed JSON",
    "unexpected_enum": "Unexpected enum value",
    "missing_fields": "Missing fields",
    "huge_policy": "Huge policy",
}


class Outcome(StrEnum):
    UNKNOWN = "unknown"  # affected resources UNKNOWN, scan_coverage_complete fails naming the API
    ABSORBED = "absorbed"  # retried successfully: no coverage gap, every finding as without the fault
    JUDGED = "judged"  # read and judged (pass/fail), no coverage gap


@dataclass(frozen=True)
class Case:
    """One fault injected into one provider's scan, and the outcome the test asserts.

    ``affected`` names, symbolically, the resources whose findings may differ from the fault-free scan
    (``key``: the affected key; ``region``: AWS audit logging of the affected region; ``scope``: the
    account/project/subscription); the test module resolves them. ``unknown``: rules that must be UNKNOWN
    on the resource ``unknown_on`` names (the affected key unless told); ``judged``: (rule, status) that
    must hold on the affected key; ``gone``: the key could not be listed at all (its listing failed), so it
    has no finding. ``inject`` is provider-specific.
    """

    provider: str
    fault: str
    where: str  # what the fault hits, for the document
    outcome: Outcome
    api: str | None = None  # the API the coverage finding names
    error_class: str | None = None
    unknown: tuple[str, ...] = ()
    unknown_on: str = "key"
    judged: tuple[tuple[str, str], ...] = ()
    affected: tuple[str, ...] = ("key",)
    gone: bool = False
    inject: Any = None

    def __post_init__(self) -> None:
        if self.fault not in FAULTS or self.provider not in PROVIDERS:
            raise ValueError(f"unknown fault or provider: {self.provider} {self.fault}")
        if (self.outcome is Outcome.UNKNOWN) != (self.api is not None and self.error_class is not None):
            raise ValueError(f"{self.id}: an UNKNOWN outcome names the API and the error class, others none")
        if self.outcome is Outcome.UNKNOWN and not (self.gone or self.unknown):
            raise ValueError(f"{self.id}: name the rules that must be UNKNOWN (or that the key is gone)")

    @property
    def id(self) -> str:
        return f"{self.provider}-{self.fault}-{self.where.split()[0]}"

    def cell(self) -> str:
        if self.outcome is Outcome.UNKNOWN:
            what = "key not listed, the scope's keys unreadable" if self.gone else ", ".join(self.unknown)
            if self.unknown_on != "key":
                what += f" of the {self.unknown_on}"
            return f"UNKNOWN ({what}); coverage fails: `{self.api}` {self.error_class}"
        if self.outcome is Outcome.ABSORBED:
            return "absorbed by retries: no coverage gap, findings as without the fault"
        verdicts = ", ".join(f"{rule} {status.upper()}" for rule, status in self.judged)
        return f"judged ({verdicts}); no coverage gap"


def render(cases: Iterable[Case]) -> str:
    cases = list(cases)
    lines = [
        "# Fault matrix",
        "",
        "<!-- Generated from the cases in tests/faults/test_*.py by `python -m tests.faults.matrix --write`;",
        "     tests/faults/test_matrix.py fails when this file and the cases differ. -->",
        "",
        "Every fault below is injected into a real scan of a small estate: AWS through a fault-injecting",
        "HTTP proxy on 127.0.0.1 in front of moto (`keyaudit scan aws` in a subprocess), GCP through the",
        "loopback replay server (`keyaudit scan gcp --gcp-endpoint`), Azure through the injected",
        "requests adapter (in-process, the real Azure SDK pipeline). Each estate has an *affected* key",
        "(the fault hits it or its region) and an *unaffected* one.",
        "",
        "For every case the tests assert: the scan finishes within "
        f"{TIME_LIMIT_SECONDS} s, nothing crashes (no traceback,",
        "no exit 1), the exit code is 3, and every finding of the unaffected resources is the one the",
        "fault-free scan gives. Outcomes:",
        "",
        "* **UNKNOWN**: the affected resources' findings listed are UNKNOWN and `scan_coverage_complete`",
        "  fails, naming the API (and its error class) that could not be read;",
        "* **absorbed**: the retries absorb the fault: no coverage gap, every finding as without the fault;",
        "* **judged**: the answer is read and judged (pass/fail) in bounded time, with no coverage gap.",
        "",
        "Test settings: `KEYAUDIT_HTTP_TIMEOUT=1` (seconds per request; AWS and GCP, default 30),",
        "`AWS_MAX_ATTEMPTS=2` (AWS attempts per call, default 8), `KEYAUDIT_GCP_RETRY_DEADLINE=1` (seconds a",
        "GCP call retries, default 20); Azure runs with one retry (`retry_total=1`).",
        "",
        "| Fault | " + " | ".join(p.upper() if p != "azure" else "Azure" for p in PROVIDERS) + " |",
        "|---|" + "---|" * len(PROVIDERS),
    ]
    for fault, title in FAULTS.items():
        cells = []
        for provider in PROVIDERS:
            found = [c for c in cases if c.fault == fault and c.provider == provider]
            cells.append("<br>".join(c.cell() for c in found) or "not covered")
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Cases",
        "",
        "| Provider | Fault | Injected into | Outcome |",
        "|---|---|---|---|",
    ]
    for fault, title in FAULTS.items():
        for provider in PROVIDERS:
            for case in (c for c in cases if c.fault == fault and c.provider == provider):
                lines.append(
                    f"| {'Azure' if provider == 'azure' else provider.upper()} | {title} | "
                    f"{case.where} | {case.outcome.value} |"
                )
    return "\n".join(lines) + "\n"


def all_cases() -> list[Case]:
    from tests.faults import test_aws, test_azure, test_gcp

    return [*test_aws.CASES, *test_gcp.CASES, *test_azure.CASES]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    text = render(all_cases())
    if args == ["--write"]:
        DOCUMENT.write_text(text, encoding="utf-8")
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
