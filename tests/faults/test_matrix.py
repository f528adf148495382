"""docs/fault-matrix.md is generated from the fault cases: it cannot drift from what the tests run."""

from __future__ import annotations

from collections import Counter

from tests.faults.matrix import DOCUMENT, FAULTS, PROVIDERS, all_cases, render


def test_document_matches_the_cases() -> None:
    assert DOCUMENT.read_text(encoding="utf-8") == render(all_cases()), (
        "docs/fault-matrix.md is stale: run `python -m tests.faults.matrix --write`"
    )


def test_every_fault_is_injected_into_every_provider() -> None:
    covered = {(case.fault, case.provider) for case in all_cases()}
    assert {(fault, provider) for fault in FAULTS for provider in PROVIDERS} <= covered


def test_case_ids_are_unique() -> None:
    ids = Counter(case.id for case in all_cases())
    assert [case_id for case_id, count in ids.items() if count > 1] == []


def test_the_readme_carries_the_same_matrix() -> None:
    document = DOCUMENT.read_text(encoding="utf-8")
    start = document.index("| Fault | AWS | GCP | Azure |")
    table = document[start : document.index("\n\n", start)]
    readme = (DOCUMENT.parent.parent / "README.md").read_text(encoding="utf-8")
    assert table in readme, "README.md's fault matrix differs from docs/fault-matrix.md: copy the table over"
