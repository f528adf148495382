"""Export benchmark: the same ~100,000 findings written to every output format, one `keyaudit evaluate`
per format, with wall time, peak RSS and file size. Writers stream: memory should stay near the
evaluation's own, whatever the format (the HTML report keeps compact aggregates and caps details).

Run: .venv/bin/python benchmarks/export.py [--keys 10000] [--formats json csv ...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FORMATS = ["json", "csv", "ocsf", "asff", "cef", "leef", "ecs", "sarif", "caiq", "html", "table"]


def child(args: list[str]) -> tuple[float, float, int]:
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--keys", type=int, default=10000, help="keys in the synthetic inventory (~10 findings each)"
    )
    parser.add_argument("--bindings", type=int, default=100000)
    parser.add_argument("--formats", nargs="+", default=FORMATS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        inventory = Path(tmp) / "inventory.json"
        subprocess.run(
            [sys.executable, str(HERE / "generate_inventory.py"), "--keys", str(args.keys),
             "--bindings", str(args.bindings), "--out", str(inventory)],
            check=True,
        )  # fmt: skip
        rows = []
        findings = None
        for fmt in args.formats:
            out = Path(tmp) / f"out.{fmt}"
            wall, rss, code = child(
                [sys.executable, "-m", "scanner", "evaluate", str(inventory), "--format", fmt, "-o", str(out),
                 "--fail-on", "none", "--quiet"]
            )  # fmt: skip
            if fmt == "json" and code == 0:
                # Counted in a child: memory this driver allocates would show in later children's peak
                # RSS (a forked child starts with the parent's pages before exec).
                count = "import json,sys; print(json.load(open(sys.argv[1]))['scan']['summary']['total'])"
                findings = int(subprocess.check_output([sys.executable, "-c", count, str(out)]))
            size = out.stat().st_size / 2**20 if out.exists() else -1
            rows.append((fmt, wall, rss, size, code))
            print(f"{fmt}: {wall:.1f} s, {rss:.0f} MiB peak, {size:.1f} MiB, exit {code}", flush=True)
    print(f"\n{findings} findings from {args.keys} keys\n")
    print("| format | wall (s) | peak RSS (MiB) | output (MiB) |")
    print("|---|---:|---:|---:|")
    for fmt, wall, rss, size, code in rows:
        note = "" if code == 0 else f" (exit {code})"
        print(f"| {fmt}{note} | {wall:.1f} | {rss:.0f} | {size:.1f} |")


if __name__ == "__main__":
    main()
