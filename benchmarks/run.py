"""On-demand benchmarks (`make bench`): start-up time and evaluation of a large inventory.

Numbers go into the README by hand; nothing here is asserted as a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
KEYAUDIT = [sys.executable, "-m", "scanner"]


def _child_run(args: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MiB) and exit code of one child process (peak read via wait4)."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    return wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def _summary_total(result: Path) -> int:
    """Read the finding count from the ``scan`` object at the end of the result, without loading
    the whole (GB-sized) document: the driver's own memory would be inherited by the next child."""
    with result.open("rb") as stream:
        stream.seek(max(0, result.stat().st_size - 1_000_000))
        tail = stream.read()
    scan_start = tail.rindex(b'\n],"scan":') + len(b'\n],"scan":')
    return int(json.loads(tail[scan_start:-2])["summary"]["total"])


def bench_help(repeats: int) -> dict[str, float]:
    times = [_child_run([*KEYAUDIT, "--help"])[0] for _ in range(repeats)]
    return {"median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3)}


DECLARED_ROLES_POLICY = """\
roles:
  key_administrators: {members: ["arn:aws:iam::*:role/app-*"]}
  key_users: {members: ["arn:aws:iam::*:role/app-*"]}
"""


def bench_evaluate(keys: int, bindings: int, *, declared_roles: bool) -> dict[str, float | int | str]:
    """``declared_roles``: a policy declaring every principal (most keys pass the declared-role rules);
    without it the built-in defaults declare nobody, so every key fails them with full provenance."""
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        inventory = Path(tmp) / "inventory.json"
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, str(HERE / "generate_inventory.py"), "--keys", str(keys),
             "--bindings", str(bindings), "--out", str(inventory)],
            check=True,
        )  # fmt: skip
        generated = time.perf_counter() - started
        out = Path(tmp) / "result.json"
        wall, rss, code = _child_run(
            [
                *KEYAUDIT,
                "evaluate",
                str(inventory),
                "--format",
                "json",
                "-o",
                str(out),
                "--fail-on",
                "none",
                "--quiet",
            ]
        )
        findings = _summary_total(out) if code == 0 else -1
        return {
            "policy": "declared roles" if declared_roles else "built-in defaults",
            "result_mib": round(out.stat().st_size / 2**20) if out.exists() else -1,
            "keys": keys,
            "bindings": bindings,
            "inventory_mib": round(inventory.stat().st_size / 2**20, 1),
            "generate_s": round(generated, 1),
            "evaluate_wall_s": round(wall, 1),
            "evaluate_peak_rss_mib": round(rss),
            "findings": findings,
            "exit_code": code,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--bindings", type=int, default=1_000_000)
    parser.add_argument("--help-repeats", type=int, default=10)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus", flush=True)
    print("keyaudit --help:", bench_help(args.help_repeats), flush=True)
    for declared in (False, True):
        print("evaluate:", bench_evaluate(args.keys, args.bindings, declared_roles=declared), flush=True)
    print("max RSS of this driver (MiB):", round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


if __name__ == "__main__":
    main()
