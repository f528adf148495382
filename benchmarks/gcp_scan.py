"""GCP scan benchmark: `keyaudit scan gcp` against a ReplayServer on 127.0.0.1 serving a simulated
organization (default: 50 projects in 5 folders, 2,000 keys in key rings of 10, bindings on every level,
a few custom roles; every project lists all Cloud KMS locations, as a real one does).

Three ways to read the same organization, each in a fresh server and a fresh `keyaudit` process:
  (a) `--organization` through Cloud Asset Inventory;
  (b) `--organization` with Cloud Asset Inventory denied: the collector enumerates the projects through
      Resource Manager and reads each one through Cloud KMS (the per-project path);
  (c) `--project` for each of the projects.
For each: wall time, HTTP requests the server received (and how many matched nothing), exit code, keys
in the JSON result and the child's peak RSS.

No credentials are involved: the child runs without Application Default Credentials, and a loopback
`--gcp-endpoint` is then read anonymously.

Run: .venv/bin/python benchmarks/gcp_scan.py [--projects 50] [--keys 2000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from providers.gcp import simulated as sim
from providers.gcp.replay import ReplayServer


def child_env(tmp: str) -> dict[str, str]:
    """The environment of the scan: no Application Default Credentials, no metadata-server probe."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_", "CLOUDSDK_", "KEYAUDIT_GCP"))}
    env["CLOUDSDK_CONFIG"] = tmp  # gcloud's ADC file is looked up here: an empty directory
    env["NO_GCE_CHECK"] = "True"  # google-auth would otherwise probe the GCE metadata server
    return env


def scan(exchanges: Sequence[Mapping[str, Any]], scope_args: list[str], concurrency: int) -> dict[str, Any]:
    with ReplayServer(exchanges=exchanges) as server, tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [
            sys.executable, "-m", "scanner", "scan", "gcp", *scope_args, "--gcp-endpoint", server.url,
            "--concurrency", str(concurrency), "--format", "json", "--output", str(out), "--quiet",
        ]  # fmt: skip
        started = time.perf_counter()
        proc = subprocess.Popen(
            command, env=child_env(tmp), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage (RUSAGE_CHILDREN is cumulative)
        wall = time.perf_counter() - started
        stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        requests, unmatched = len(server.requests), len(server.unmatched)
        result = json.loads(out.read_text()) if out.exists() else None
    row: dict[str, Any] = {
        "wall_s": round(wall, 1),
        "requests": requests,
        "unmatched": unmatched,
        "exit": os.waitstatus_to_exitcode(status),
        "keys": "-",
        "peak_rss_mib": round(usage.ru_maxrss / 1024),  # KiB on Linux
        "path": "-",
    }
    if result is None:
        row["error"] = stderr.strip().splitlines()[-1:] or ["no output"]
        return row
    inventory = result["scan"]["inventory"]
    row["keys"] = inventory["keys"]
    paths = sorted({v.split(" (", 1)[0] for k, v in inventory["notes"].items() if k.startswith("gcp.path[")})
    row["path"] = ", ".join(paths) or "-"
    return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--projects", type=int, default=50)
    parser.add_argument("--folders", type=int, default=5)
    parser.add_argument("--keys", type=int, default=2000)
    parser.add_argument("--keys-per-ring", type=int, default=10)
    parser.add_argument(
        "--locations", type=int, default=len(sim.KMS_LOCATIONS), help="KMS locations each project lists"
    )
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    started = time.perf_counter()
    estate = sim.bulk_estate(
        projects=args.projects,
        folders=args.folders,
        keys=args.keys,
        keys_per_ring=args.keys_per_ring,
        locations=[loc for loc, *_ in sim.KMS_LOCATIONS[: args.locations]],
    )
    org = estate.organization
    per_project = sim.per_project_exchanges(estate)
    scenarios = [
        (
            "(a) --organization, Cloud Asset Inventory",
            sim.asset_exchanges(estate, org.name),
            ["--organization", org.id],
        ),
        (
            "(b) --organization, Cloud Asset denied: per project",
            sim.combine(sim.asset_exchanges(estate, org.name, asset_denied=True), per_project),
            ["--organization", org.id],
        ),
        (
            f"(c) --project x {len(estate.projects)}",
            per_project,
            [arg for p in estate.projects for arg in ("--project", p.project_id)],
        ),
    ]
    print(
        f"estate: {len(estate.projects)} projects in {len(estate.folders)} folders, {len(estate.keys)} keys in "
        f"{len(estate.key_rings)} key rings, {len(estate.locations)} KMS locations per project, "
        f"{len(estate.custom_roles)} custom roles (built in {time.perf_counter() - started:.1f} s); "
        f"concurrency {args.concurrency}",
        flush=True,
    )
    rows = []
    for label, exchanges, scope_args in scenarios:
        row = scan(exchanges, scope_args, args.concurrency)
        rows.append((label, row))
        print(f"{label}: {row}", file=sys.stderr, flush=True)

    print()
    print("| scan | path taken | wall (s) | HTTP requests | unmatched | exit | keys | peak RSS (MiB) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for label, row in rows:
        print(
            f"| {label} | {row['path']} | {row['wall_s']} | {row['requests']} | {row['unmatched']} | "
            f"{row['exit']} | {row['keys']} | {row['peak_rss_mib']} |"
        )
    failed = [(label, row["error"]) for label, row in rows if "error" in row]
    for label, error in failed:
        print(f"\n{label}: no result: {error[0]}")


if __name__ == "__main__":
    main()
