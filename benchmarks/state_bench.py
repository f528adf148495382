"""State store benchmark: record and label 100,000 findings per run over 30 runs, in SQLite and PostgreSQL.

Each run judges the same 100,000 findings; a share fail (default 30 %), and between runs 1 % of them flip
(fail -> pass or pass -> fail), a realistic week of drift. Per run it measures reading the known state,
labelling every finding (the real Tracker), and recording the run (the real store, one transaction); then
`keyaudit diff` between the last two runs and between the first and last, and the database size.

    python benchmarks/state_bench.py                       # SQLite file + a throwaway PostgreSQL cluster
    python benchmarks/state_bench.py --backend sqlite --findings 20000 --runs 5
    python benchmarks/state_bench.py --postgres postgresql://user@127.0.0.1/bench   # an existing server
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scanner.findings import Finding, finding_id
from scanner.inventory import Provider, Scope, ScopeKind
from scanner.rule import ResourceRef, Severity, Status
from scanner.state.report import diff
from scanner.state.store import RunRecord, StateStore, StateTarget
from scanner.state.tracker import Coverage, Tracker

RULES = [f"rule_{n:02d}" for n in range(20)]
ACCOUNTS = [f"{100000000000 + n}" for n in range(20)]
REGIONS = ("eu-west-1", "us-east-1")


def _findings(count: int) -> list[Finding]:
    made = []
    for n in range(count):
        rule, account, region = RULES[n % len(RULES)], ACCOUNTS[n % len(ACCOUNTS)], REGIONS[n % 2]
        uid = f"arn:aws:kms:{region}:{account}:key/{n:08d}-0000-4000-8000-000000000000"
        made.append(
            Finding(
                finding_id=finding_id(rule, "aws", account, uid),
                rule_id=rule,
                title=f"Rule {rule}",
                severity=Severity.HIGH,
                status=Status.PASS,
                provider="aws",
                scope=account,
                location=region,
                resource=ResourceRef(uid=uid, type="AWS::KMS::Key", name=f"key-{n}"),
                message="m",
                evidence={},
                remediation="r",
                controls=("CSA-AICM:CEK-01",),
            )
        )
    return made


@contextmanager
def _postgres(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    from tests.postgres import LocalPostgres, require_bin_dir

    server = LocalPostgres.start(require_bin_dir())
    try:
        yield server.url(server.create_database("bench"))
    finally:
        server.stop()


def _size(store: StateStore) -> int:
    if store.target.sqlite_path is not None:
        path = store.target.sqlite_path
        return sum(
            p.stat().st_size for p in path.parent.glob(path.name + "*") if not p.name.endswith(".lock")
        )
    from sqlalchemy import text

    with store.engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_database_size(current_database())")).scalar() or 0)


def bench(target: StateTarget, *, findings: int, runs: int, failing: float, churn: float) -> None:
    rng = random.Random(7)
    base = _findings(findings)
    status = [Status.FAIL if rng.random() < failing else Status.PASS for _ in base]
    cover = Coverage.of(
        [
            Scope(provider=Provider.AWS, kind=ScopeKind.AWS_ACCOUNT, uid=a, locations=REGIONS)
            for a in ACCOUNTS
        ],
        [],
    )
    store = StateStore.open(target)
    store.check_schema(migrate=True)
    times: list[tuple[float, float, float]] = []
    start = datetime(2026, 10, 1, tzinfo=UTC)
    for run in range(runs):
        if run:
            for index in rng.sample(range(findings), int(findings * churn)):
                status[index] = Status.PASS if status[index] is Status.FAIL else Status.FAIL
        at = start + timedelta(days=run)
        t0 = time.perf_counter()
        known = store.known_findings()
        t1 = time.perf_counter()
        tracker = Tracker(known=known, coverage=cover, observed_at=at, observed_iso=at.isoformat())
        for finding, now in zip(base, status, strict=True):
            tracker.label(Finding(**{**_fields(finding), "status": now}))
        list(tracker.vanished())
        t2 = time.perf_counter()
        store.record(
            RunRecord(run_id=f"bench-{run:03d}", mode="scan", started_at=at, finished_at=at, exit_code=3),
            tracker,
        )
        t3 = time.perf_counter()
        times.append((t1 - t0, t2 - t1, t3 - t2))
        print(
            f"  run {run + 1:>2}: load {t1 - t0:5.2f} s  label {t2 - t1:5.2f} s  record {t3 - t2:5.2f} s  "
            f"changes {tracker.report()}",
            flush=True,
        )
    t0 = time.perf_counter()
    last = diff(store, since=None, until=None)
    t1 = time.perf_counter()
    whole = diff(store, since="bench-000", until=None)
    t2 = time.perf_counter()
    size = _size(store)
    store.close()
    per_run = [sum(t) for t in times]
    print(
        f"{target.display}: {findings:,} findings x {runs} runs, {failing:.0%} failing, {churn:.0%} churn per run\n"
        f"  per run (load + label + record): median {statistics.median(per_run):.2f} s, "
        f"max {max(per_run):.2f} s; record median {statistics.median(t[2] for t in times):.2f} s\n"
        f"  diff last two runs: {t1 - t0:.2f} s ({ {k: len(v) for k, v in last.groups.items()} })\n"
        f"  diff first..last:   {t2 - t1:.2f} s ({ {k: len(v) for k, v in whole.groups.items()} })\n"
        f"  database size: {size / 2**20:.1f} MiB",
        flush=True,
    )


def _fields(finding: Finding) -> dict[str, object]:
    return {name: getattr(finding, name) for name in Finding.__slots__}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--postgres", help="an existing PostgreSQL URL (default: a throwaway local cluster)")
    parser.add_argument("--findings", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--failing", type=float, default=0.3)
    parser.add_argument("--churn", type=float, default=0.01)
    args = parser.parse_args()
    options = {"findings": args.findings, "runs": args.runs, "failing": args.failing, "churn": args.churn}
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as directory:
            bench(StateTarget.parse(Path(directory) / "state.db"), **options)
    if args.backend in ("postgresql", "both"):
        with _postgres(args.postgres) as url:
            bench(StateTarget.parse(url), **options)


if __name__ == "__main__":
    main()
