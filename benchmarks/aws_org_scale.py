"""Organization-scale AWS benchmark (issue #9, item 6): an AWS Organization of 200 member accounts x 2 regions
x 20 customer keys in a moto server on 127.0.0.1, scanned by ``keyaudit scan aws --org-role ROLE`` (one
AssumeRole per account) as a subprocess, at ``--concurrency 1`` and at the default (8).

Measured per run: wall time, API calls as counted by the server (what reached it, per operation), peak RSS
of the scanner process, findings, coverage gaps (collection errors and UNKNOWN findings).

The moto server runs in a process of its own (this file with ``--serve``): the scanner is started from a
small driver, so its peak RSS is its own (a child inherits its parent's high-water mark through fork/exec,
and a moto holding 8,000 keys is large).

Run: .venv/bin/python benchmarks/aws_org_scale.py [--accounts 200] [--regions 2] [--keys 20] [--no-doc]
Numbers are appended to docs/benchmarks-org-scale.md unless --no-doc.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import logging
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "benchmarks-org-scale.md"
ROLE = "OrganizationAccountAccessRole"  # moto creates it in every account Organizations creates
REGION_NAMES = ("eu-west-1", "us-east-1", "eu-central-1", "us-west-2", "ap-southeast-2", "sa-east-1")
MANAGEMENT_REGION = "us-east-1"
CONTROL = "/__bench/"  # the counter's own paths on the server; never passed to moto

# -------------------------------------------------------------------------------------- server process


class RequestCounter:
    """WSGI middleware counting every request that reaches moto as ``service:Operation``.

    The service comes from the SigV4 credential scope, the operation from ``X-Amz-Target`` (JSON
    protocols: KMS, Organizations, CloudTrail, CloudHSM, SageMaker), the form's ``Action`` (query protocols:
    STS, IAM, EC2) or the method and path (REST protocols: Bedrock). ``GET /__bench/calls`` answers the
    counts, ``POST /__bench/reset`` clears them.
    """

    _SCOPE = re.compile(r"Credential=[^/,]+/\d{8}/[^/]+/([^/]+)/aws4_request")

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL):
            with self._lock:
                body = json.dumps(dict(self.calls)).encode()
                if path == f"{CONTROL}reset":
                    self.calls.clear()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        if not path.startswith("/moto-api"):
            operation = self._operation(environ)
            with self._lock:
                self.calls[operation] += 1
        return self.app(environ, start_response)

    def _operation(self, environ: dict[str, Any]) -> str:
        scope = self._SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        service = scope.group(1) if scope else "unsigned"
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            return f"{service}:{target.rsplit('.', 1)[-1]}"
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads the body again
        fields = parse_qs(body.decode("utf-8", "replace")) | parse_qs(environ.get("QUERY_STRING", ""))
        if "Action" in fields:
            return f"{service}:{fields['Action'][0]}"
        # REST protocols (Bedrock...): the operation is the method and path, as the service model routes it.
        method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
        for verb, pattern, name in _rest_routes(service):
            if verb == method and pattern.fullmatch(path):
                return name
        return f"{service}:{method} {path}"


@functools.cache
def _rest_routes(signing_name: str) -> list[tuple[str, re.Pattern[str], str]]:
    """``(METHOD, path pattern, "client:Operation")`` of the REST services signing as ``signing_name``
    (``bedrock`` signs for bedrock and bedrock-agent), most literal path first."""
    import botocore.session

    session = botocore.session.get_session()
    routes = []
    for name in session.get_available_services():
        if name != signing_name and not name.startswith(f"{signing_name}-"):
            continue
        model = session.get_service_model(name)
        if model.signing_name != signing_name or not model.protocol.startswith("rest"):
            continue
        for operation in model.operation_names:
            http = model.operation_model(operation).http
            uri = http["requestUri"].split("?")[0]
            regex = re.sub(r"\\\{[^}]*\\\+\\\}", ".+", re.escape(uri))  # {Key+}: several segments
            regex = re.sub(r"\\\{[^}]*\\\}", "[^/]+", regex)
            routes.append((http["method"], re.compile(regex.rstrip("/") + "/?"), f"{name}:{operation}", uri))
    routes.sort(key=lambda r: -len(re.sub(r"\{[^}]*\}", "", r[3])))
    return [(method, pattern, name) for method, pattern, name, _ in routes]


def serve() -> None:
    """Run moto on 127.0.0.1 (ephemeral port), print the port, serve until stdin closes."""
    from moto.server import ThreadedMotoServer

    from providers.aws import simulator

    simulator.patch_moto()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    # werkzeug's handler calls ``server.app`` per request: wrapping it counts everything moto answers.
    wsgi = server._server
    assert wsgi is not None
    wsgi.app = RequestCounter(wsgi.app)  # type: ignore[assignment]
    # One private key per key spec instead of an RSA-2048 generation per CreateKey (~63 ms each).
    with simulator.fast_key_generation():
        print(server.get_host_and_port()[1], flush=True)
        sys.stdin.read()
    server.stop()


# -------------------------------------------------------------------------------------- driver


def _env(endpoint: str) -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": MANAGEMENT_REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


def _control(endpoint: str, action: str) -> dict[str, int]:
    import urllib.request

    request = urllib.request.Request(
        f"{endpoint}{CONTROL}{action}", method="POST" if action == "reset" else "GET"
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return dict(json.loads(answer.read()))


def _key_policy(account: str, n: int) -> str:
    statements: list[dict[str, Any]] = [
        {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "Admins", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:role/KeyAdmin"},
         "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                    "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:ScheduleKeyDeletion"],
         "Resource": "*"},
        {"Sid": "Use", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:role/App"},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*"},
    ]  # fmt: skip
    if n % 5 == 0:  # an administrator who also decrypts: a separation-of-duties failure
        statements[1]["Action"] = [*statements[1]["Action"], "kms:Decrypt"]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def seed(endpoint: str, accounts: int, regions: tuple[str, ...], keys: int) -> list[str]:
    """The organization, its member accounts and their keys; returns the member account ids."""
    import boto3

    org = boto3.client("organizations", region_name=MANAGEMENT_REGION, endpoint_url=endpoint)
    org.create_organization(FeatureSet="ALL")
    members = [
        org.create_account(Email=f"member-{n:03d}@example.com", AccountName=f"member-{n:03d}")[
            "CreateAccountStatus"
        ]["AccountId"]
        for n in range(accounts)
    ]
    sts = boto3.client("sts", region_name=MANAGEMENT_REGION, endpoint_url=endpoint)

    def fill(account: str) -> None:
        credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/{ROLE}", RoleSessionName="seed")[
            "Credentials"
        ]
        session = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
        for region in regions:
            kms = session.client("kms", region_name=region, endpoint_url=endpoint)
            for n in range(keys):
                key_id = kms.create_key(
                    Policy=_key_policy(account, n),
                    Description=f"bench key {n}",
                    Tags=[{"TagKey": "owner", "TagValue": f"team-{n % 4}"}],
                )["KeyMetadata"]["KeyId"]
                if n % 2 == 0:
                    kms.enable_key_rotation(KeyId=key_id)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(fill, members))
    return members


# ``python -m cProfile`` sees the main thread only, which just waits for the collector's workers: this
# gives every thread a profiler of its own (installed by its first profile event) and merges them.
PROFILE_ALL_THREADS = """
import cProfile, pstats, runpy, sys, threading
out = sys.argv.pop(1)
profiles = [cProfile.Profile()]
def start(*_):
    profiler = cProfile.Profile()
    profiles.append(profiler)
    profiler.enable()
threading.setprofile(start)
profiles[0].enable()
code = 0
try:
    sys.argv[0] = "keyaudit"
    runpy.run_module("scanner", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    code = exc.code
finally:
    threading.setprofile(None)
    stats = pstats.Stats(profiles[0])
    for profiler in profiles[1:]:
        stats.add(profiler)
    stats.dump_stats(out)
sys.exit(code)
"""


def _peak_hwm_kib(pid: int, stop: threading.Event, peak: list[int]) -> None:
    """Poll VmHWM (the process's own high-water RSS since exec) as a cross-check of wait4's ru_maxrss."""
    status = Path(f"/proc/{pid}/status")
    while not stop.wait(0.2):
        try:
            match = re.search(r"VmHWM:\s+(\d+) kB", status.read_text())
        except OSError:
            return
        if match:
            peak[0] = max(peak[0], int(match.group(1)))


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process (``/proc/PID/stat`` fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def scan(
    endpoint: str, server_pid: int, regions: tuple[str, ...], concurrency: int, profile: Path | None
) -> dict[str, Any]:
    _control(endpoint, "reset")
    server_cpu = _cpu_seconds(server_pid)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [sys.executable]
        if profile is not None:
            command += ["-c", PROFILE_ALL_THREADS, str(profile)]
        else:
            command += ["-m", "scanner"]
        command += ["scan", "aws", "--org-role", ROLE]
        for region in regions:
            command += ["--region", region]
        command += ["--no-state", "--format", "json", "-o", str(out), "--fail-on", "none", "--quiet",
                    "--concurrency", str(concurrency)]  # fmt: skip
        started = time.perf_counter()
        proc = subprocess.Popen(
            command, env=_env(endpoint), cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        stop, hwm = threading.Event(), [0]
        poller = threading.Thread(target=_peak_hwm_kib, args=(proc.pid, stop, hwm), daemon=True)
        poller.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        stop.set()
        poller.join()
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            raise SystemExit(f"scan failed with exit code {code}:\n{stderr[-4000:]}")
        result = json.loads(out.read_text())
    server_cpu = _cpu_seconds(server_pid) - server_cpu
    server_calls = _control(endpoint, "calls")
    inventory = result["scan"]["inventory"]
    notes = inventory["notes"]
    statuses = Counter(f["status"] for f in result["findings"])
    return {
        "concurrency": concurrency,
        "wall_s": round(wall, 1),
        "api_calls_server": sum(server_calls.values()),
        "api_calls_scanner": int(notes["aws.api_calls"]),
        "calls_per_s": round(sum(server_calls.values()) / wall),
        # Where the time goes: the scanner's own CPU, and moto's (one process, so one core at most).
        "scanner_cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "moto_cpu_s": round(server_cpu, 1),
        "peak_rss_mib": round(usage.ru_maxrss / 1024),
        "peak_rss_polled_mib": round(hwm[0] / 1024),
        "accounts": int(notes["aws.accounts"]),
        "keys": inventory["keys"],
        "findings": len(result["findings"]),
        "findings_by_status": dict(sorted(statuses.items())),
        # Collection errors: each is a coverage gap that turns what it hid into UNKNOWN findings.
        "coverage_gaps": len(result["scan"]["coverage"]),
        "unknown_findings": statuses.get("unknown", 0),
        "server_calls_by_operation": dict(sorted(server_calls.items())),
    }


def table(rows: list[dict[str, Any]]) -> str:
    columns = [
        ("concurrency", "concurrency"),
        ("wall_s", "wall (s)"),
        ("api_calls_server", "API calls (server)"),
        ("calls_per_s", "calls/s"),
        ("scanner_cpu_s", "scanner CPU (s)"),
        ("moto_cpu_s", "moto CPU (s)"),
        ("peak_rss_mib", "peak RSS (MiB)"),
        ("accounts", "accounts"),
        ("keys", "keys"),
        ("findings", "findings"),
        ("coverage_gaps", "coverage gaps"),
        ("unknown_findings", "UNKNOWN findings"),
    ]
    lines = [
        "| " + " | ".join(title for _, title in columns) + " |",
        "|" + "|".join("---:" for _ in columns) + "|",
    ]
    lines += ["| " + " | ".join(str(row[name]) for name, _ in columns) + " |" for row in rows]
    return "\n".join(lines)


def record(rows: list[dict[str, Any]], args: argparse.Namespace, seeded_s: float) -> None:
    """Append this run to the benchmark document (created with its introduction on first use)."""
    if not DOC.exists():
        DOC.write_text(
            "# Organization-scale AWS benchmark\n\n"
            "`benchmarks/aws_org_scale.py`: an AWS Organization in a moto server on 127.0.0.1, every member\n"
            "account reached with `--org-role` (one AssumeRole each), scanned by `keyaudit scan aws` as a\n"
            "subprocess. API calls are counted by the server; peak RSS is the scanner process's own\n"
            "(`wait4` ru_maxrss). Runs are appended below, newest last.\n",
            encoding="utf-8",
        )
    first = rows[0]
    by_operation = ", ".join(f"{op}={n}" for op, n in first["server_calls_by_operation"].items())
    statuses = "; ".join(
        f"concurrency {row['concurrency']}: "
        + ", ".join(f"{status} {n}" for status, n in row["findings_by_status"].items())
        for row in rows
    )
    machine = (
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, moto {version('moto')}, "
        f"boto3 {version('boto3')}"
    )
    section = (
        f"\n## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {args.accounts} accounts x {len(args.region_names)} "
        f"regions x {args.keys} keys\n\n"
        f"{machine}; seeding took {seeded_s:.0f} s (not part of the scan).\n\n"
        f"{table(rows)}\n\n"
        f"- Server-side calls by operation (concurrency {first['concurrency']}): {by_operation}.\n"
        f"- Findings by status: {statuses}.\n"
    )
    with DOC.open("a", encoding="utf-8") as doc:
        doc.write(section)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=200, help="member accounts (default 200)")
    parser.add_argument("--regions", type=int, default=2, choices=range(1, len(REGION_NAMES) + 1))
    parser.add_argument("--keys", type=int, default=20, help="customer keys per account and region")
    parser.add_argument("--concurrency", type=int, action="append", help="repeatable; default: 1 and 8")
    parser.add_argument(
        "--profile",
        type=Path,
        help="profile the first scan (all threads) into this file; times are then inflated",
    )
    parser.add_argument("--no-doc", action="store_true", help=f"do not append to {DOC.relative_to(REPO)}")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    args.region_names = REGION_NAMES[: args.regions]
    concurrencies = args.concurrency or [1, 8]
    os.environ.update({k: v for k, v in _env("").items() if k.startswith("AWS_") and k != "AWS_ENDPOINT_URL"})

    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=REPO,
        text=True,
    )
    try:
        assert server.stdout is not None
        endpoint = f"http://127.0.0.1:{int(server.stdout.readline())}"
        started = time.perf_counter()
        seed(endpoint, args.accounts, args.region_names, args.keys)
        seeded = time.perf_counter() - started
        print(
            f"seeded {args.accounts} accounts x {args.regions} regions x {args.keys} keys in {seeded:.0f} s; "
            f"driver RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB",
            flush=True,
        )
        rows = []
        for concurrency in concurrencies:
            profile = args.profile if args.profile is not None and concurrency == concurrencies[0] else None
            row = scan(endpoint, server.pid, args.region_names, concurrency, profile)
            print(json.dumps({k: v for k, v in row.items() if k != "server_calls_by_operation"}), flush=True)
            rows.append(row)
        if args.profile is not None:
            import pstats

            print(f"profile of the concurrency-{concurrencies[0]} scan (all threads), top by own time:")
            pstats.Stats(str(args.profile)).sort_stats("tottime").print_stats(25)
        print(table(rows))
        for row in rows:
            print(
                f"server calls by operation, concurrency {row['concurrency']}:",
                row["server_calls_by_operation"],
            )
        if not args.no_doc:
            record(rows, args, seeded)
    finally:
        if server.stdin is not None:
            server.stdin.close()  # the server stops when its stdin closes
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
