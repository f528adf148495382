"""CSV output (``--format csv``): one row per finding, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from scanner.engine import discover_rules, evaluate_all
from scanner.findings import Summary
from scanner.inventory import Capability
from scanner.output.csv_writer import COLUMNS, MAX_CELL, CsvWriter, safe_cell
from tests import factories as f

EVIL = '=HYPERLINK("http://evil")'
MULTILINE = 'line one\nline "two", with comma\r\nthree'
ADMINS = [f"arn:aws:iam::{f.ACCOUNT}:role/KeyAdmin", f"arn:aws:iam::{f.ACCOUNT}:role/KeyAdmin2"]


def _estate():
    keys = (f.key("k1", name=EVIL), f.key("k2", name=MULTILINE), f.key("k3", name="@SUM(A1)"))
    bindings = tuple(
        f.binding(p, k.uid, Capability.ADMINISTER_ACCESS, Capability.MANAGE_LIFECYCLE)
        for p in ADMINS
        for k in keys
    )
    return f.inventory(keys=keys, principals=tuple(f.principal(p) for p in ADMINS), bindings=bindings)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        assert tuple(header) == COLUMNS
        return [dict(zip(header, row, strict=True)) for row in reader]


def test_one_row_per_finding_matching_the_native_json(keyaudit, write_inventory, tmp_path) -> None:
    out = tmp_path / "out"
    result = keyaudit(
        "evaluate", str(write_inventory(_estate())), "-o", str(out), "--format", "json", "--format", "csv"
    )
    assert result.returncode in (0, 3), result.stderr
    native = json.loads((out / "keyaudit-report.json").read_text())["findings"]
    rows = _read(out / "keyaudit-report.csv")
    assert [r["finding_id"] for r in rows] == [x["finding_id"] for x in native]
    by_id = {x["finding_id"]: x for x in native}
    for row in rows:
        finding = by_id[row["finding_id"]]
        assert row["rule_id"] == finding["rule_id"] and row["status"] == finding["status"]
        assert row["controls"] == ";".join(finding["controls"])
        assert row["resource_uid"] == finding["resource"]["uid"]
        assert row["waived"] == "false"
        assert json.loads(row["evidence"]) == finding["evidence"]  # the last column, compact JSON
    assert tuple(rows[0])[-1] == "evidence"


def test_formula_cells_are_defused_and_multiline_cells_stay_whole(
    keyaudit, write_inventory, tmp_path
) -> None:
    path = tmp_path / "report.csv"
    result = keyaudit("evaluate", str(write_inventory(_estate())), "--format", "csv", "-o", str(path))
    assert result.returncode in (0, 3), result.stderr
    rows = _read(path)
    names = {r["resource_uid"]: r["resource_name"] for r in rows if r["resource_type"] == "key"}
    assert names[f.key("k1").uid] == "'" + EVIL  # read back with csv.reader: one cell, quote-prefixed
    assert names[f.key("k3").uid] == "'@SUM(A1)"
    assert names[f.key("k2").uid] == MULTILINE  # newlines, quotes and commas stay inside their cell
    # No cell anywhere starts a formula.
    assert not [cell for r in rows for cell in r.values() if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    raw = path.read_bytes()
    assert raw.startswith(b'"finding_id","rule_id"')  # UTF-8, header first, every cell quoted


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=1", "a=1"),
        ("red\x1b[31m", "red\\x1b[31m"),  # ANSI escapes are shown, not passed to a terminal
        ("caf\u00e9 \u2713", "caf\u00e9 \u2713"),
    ],
)
def test_safe_cell(value: str, expected: str) -> None:
    assert safe_cell(value) == expected


def test_overlong_cells_are_cut_below_the_spreadsheet_limit() -> None:
    cell = safe_cell("x" * 100_000)
    assert len(cell) == MAX_CELL < 32_767 and cell.endswith("see --format json]")


def test_rows_are_streamed_not_held_until_close() -> None:
    keys = tuple(f.key(f"k{n}", name=f"key-{n}") for n in range(400))
    ctx = f.context(f.inventory(keys=keys))
    stream = io.BytesIO()
    writer = CsvWriter(stream)
    written = 0
    for finding in evaluate_all(discover_rules(), ctx):
        writer.write(finding)
        written += 1
        # At most one chunk is ever held back.
        assert written < 500 or stream.tell() > 0
    before_close = stream.tell()
    assert before_close > 0 and written > 2000
    writer.close({}, Summary(fail_on=None))
    rows = list(csv.reader(io.StringIO(stream.getvalue().decode("utf-8"))))
    assert len(rows) == written + 1
