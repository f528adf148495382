"""Prometheus metrics file (``--metrics-file``): values parsed back with prometheus_client's own parser,
atomic replacement, and an end-to-end scrape through Debian's prometheus-node-exporter textfile collector.
The node exporter test never skips silently: without the binary it fails and says how to install it
(scripts/ensure-node-exporter.sh), unless KEYAUDIT_SKIP_NODE_EXPORTER=1."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

import scanner
from rules.cek_policy_present import META as POLICY_PRESENT
from rules.key_not_publicly_accessible import META as NOT_PUBLIC
from rules.key_rotation_enabled import META as ROTATION
from scanner.findings import Finding, Summary
from scanner.inventory import ErrorClass, Provider
from scanner.metrics import RunMetrics, write_metrics
from scanner.rule import ResourceRef, RuleMeta, RuleResult, Severity, Status
from tests import factories as f
from tests.conftest import REPO

STARTED = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
FINISHED = STARTED + timedelta(seconds=42.5)
PREVIOUS_SUCCESS = datetime(2026, 11, 21, 3, 0, 40, tzinfo=UTC)
# Words that must never reach a label: a resource name, a message, a secret-looking string.
LEAKS = ("payroll-master-key", "AKIAIOSFODNN7EXAMPLE", "ForbiddenByFirewall", "kv-secret-vault")

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def series(samples: Samples, name: str) -> dict[frozenset[tuple[str, str]], float]:
    return {labels: v for (n, labels), v in samples.items() if n == name}


def finding(meta: RuleMeta, status: Status, key_id: str, *, provider: Provider = Provider.AWS) -> Finding:
    key = f.key(key_id, provider=provider, name="payroll-master-key")
    return Finding.from_result(meta, RuleResult.for_key(key, status, "AKIAIOSFODNN7EXAMPLE leaked in a tag"))


def judged_summary() -> Summary:
    """Six findings over aws, gcp and the policy; two block at --fail-on high (one critical fail is waived)."""
    summary = Summary(fail_on=Severity.HIGH)
    waived = finding(NOT_PUBLIC, Status.FAIL, "k2")
    waived.waived = True
    policy = Finding.from_result(
        POLICY_PRESENT,
        RuleResult(
            status=Status.ERROR,
            provider="policy",
            scope="-",
            resource=ResourceRef(uid="keyaudit:policy/cek", type="cek_policy"),
            message="rule raised",
        ),
    )
    for item in (
        finding(NOT_PUBLIC, Status.FAIL, "k1"),  # critical fail: blocking
        waived,  # critical fail, waived: not blocking
        finding(ROTATION, Status.FAIL, "k3"),  # medium: below --fail-on high
        finding(ROTATION, Status.PASS, "k1"),
        finding(ROTATION, Status.UNKNOWN, "g1", provider=Provider.GCP),
        policy,  # high error: blocking
    ):
        summary.add(item)
    return summary


def coverage_entry(provider: str, error_class: ErrorClass) -> dict[str, str | None]:
    """One ``scan["coverage"]`` entry as scanner.run writes it."""
    return {
        "provider": provider,
        "scope": "8f3c2a1d-5b6e-4c7f-9a0b-1d2e3f4a5b6c",
        "location": "westeurope",
        "api": "keyvault:list_keys",
        "error_class": error_class.value,
        "message": "ForbiddenByFirewall: client address is not authorized",
        "resource": "/subscriptions/x/providers/Microsoft.KeyVault/vaults/kv-secret-vault",
    }


def completed_run(**overrides: object) -> RunMetrics:
    fields: dict[str, object] = dict(
        run_id="run-0001",
        mode="scan",
        started_at=STARTED,
        finished_at=FINISHED,
        exit_code=3,
        providers=("aws", "azure", "gcp"),
        summary=judged_summary(),
        coverage=(
            coverage_entry("azure", ErrorClass.ACCESS_DENIED),
            coverage_entry("azure", ErrorClass.ACCESS_DENIED),
            coverage_entry("aws", ErrorClass.THROTTLED),
        ),
        changes={"new": 2, "resolved": 1},
        last_success_at=FINISHED,
    )
    fields.update(overrides)
    return RunMetrics(**fields)  # type: ignore[arg-type]


def failed_run() -> RunMetrics:
    return RunMetrics(
        run_id="run-0002",
        mode="scan",
        started_at=STARTED,
        finished_at=FINISHED,
        exit_code=1,
        providers=("aws",),
        last_success_at=PREVIOUS_SUCCESS,
    )


# ----------------------------------------------------------------------------------------------- values
def test_findings_by_provider_severity_status_and_waiver_with_zero_series(tmp_path: Path) -> None:
    path = tmp_path / "keyaudit.prom"
    write_metrics(path, completed_run())
    samples = parse(path.read_text(encoding="utf-8"))
    findings = series(samples, "keyaudit_findings")

    non_zero = {labels: v for labels, v in findings.items() if v}
    expected = {
        ("aws", "critical", "fail", "false"): 1,
        ("aws", "critical", "fail", "true"): 1,
        ("aws", "medium", "fail", "false"): 1,
        ("aws", "medium", "pass", "false"): 1,
        ("gcp", "medium", "unknown", "false"): 1,
        ("policy", "high", "error", "false"): 1,
    }
    assert non_zero == {
        frozenset(zip(("provider", "severity", "status", "waived"), key, strict=True)): v
        for key, v in expected.items()
    }
    # Every severity x status x waived of every provider seen (azure scanned with no findings), zeros too.
    combos = {(d["provider"], d["severity"], d["status"], d["waived"]) for d in map(dict, findings)}
    assert combos == {
        (p, s.value, st.value, w)
        for p in ("aws", "azure", "gcp", "policy")
        for s in Severity
        for st in Status
        for w in ("false", "true")
    }
    assert value(samples, "keyaudit_blocking_findings") == 2


def test_changes_collection_errors_and_run_series(tmp_path: Path) -> None:
    path = tmp_path / "keyaudit.prom"
    write_metrics(path, completed_run())
    samples = parse(path.read_text(encoding="utf-8"))

    assert {dict(k)["change"]: v for k, v in series(samples, "keyaudit_finding_changes").items()} == {
        "new": 2,
        "still_open": 0,
        "resolved": 1,
        "reappeared": 0,
    }
    errors = {
        (d["provider"], d["error_class"]): v
        for d, v in ((dict(k), v) for k, v in series(samples, "keyaudit_collection_errors").items())
    }
    # Zero series for every error class of each scanned provider; none for "policy", which collects nothing.
    assert set(errors) == {(p, c.value) for p in ("aws", "azure", "gcp") for c in ErrorClass}
    assert {k: v for k, v in errors.items() if v} == {("azure", "access_denied"): 2, ("aws", "throttled"): 1}

    assert series(samples, "keyaudit_last_run_info") == {
        frozenset({("run_id", "run-0001"), ("mode", "scan"), ("tool_version", scanner.__version__)}): 1
    }
    assert value(samples, "keyaudit_last_run_timestamp_seconds") == FINISHED.timestamp()
    assert value(samples, "keyaudit_last_success_timestamp_seconds") == FINISHED.timestamp()
    assert value(samples, "keyaudit_run_duration_seconds") == 42.5
    assert value(samples, "keyaudit_last_run_exit_code") == 3
    assert value(samples, "keyaudit_last_run_success") == 1


@pytest.mark.parametrize(("exit_code", "success"), [(0, 1), (3, 1), (1, 0), (2, 0)])
def test_success_means_the_run_completed_whatever_the_findings(
    tmp_path: Path, exit_code: int, success: int
) -> None:
    path = tmp_path / "keyaudit.prom"
    write_metrics(path, completed_run(exit_code=exit_code))
    samples = parse(path.read_text(encoding="utf-8"))
    assert value(samples, "keyaudit_last_run_success") == success
    assert value(samples, "keyaudit_last_run_exit_code") == exit_code


def test_failed_run_keeps_last_success_and_reports_no_counts(tmp_path: Path) -> None:
    path = tmp_path / "keyaudit.prom"
    write_metrics(path, failed_run())
    samples = parse(path.read_text(encoding="utf-8"))
    assert value(samples, "keyaudit_last_run_success") == 0
    assert value(samples, "keyaudit_last_run_exit_code") == 1
    assert value(samples, "keyaudit_last_success_timestamp_seconds") == PREVIOUS_SUCCESS.timestamp()
    assert value(samples, "keyaudit_last_run_timestamp_seconds") == FINISHED.timestamp()
    # Unknown counts are absent, not zero: a zero would read as "all clear" after a broken run.
    names = {name for name, _ in samples}
    assert not names & {
        "keyaudit_findings",
        "keyaudit_blocking_findings",
        "keyaudit_finding_changes",
        "keyaudit_collection_errors",
    }


def test_never_completed_has_no_last_success_series(tmp_path: Path) -> None:
    path = tmp_path / "keyaudit.prom"
    write_metrics(path, completed_run(exit_code=1, summary=None, last_success_at=None))
    names = {name for name, _ in parse(path.read_text(encoding="utf-8"))}
    assert "keyaudit_last_success_timestamp_seconds" not in names
    assert "keyaudit_last_run_success" in names


def test_every_family_is_a_documented_gauge_and_labels_leak_nothing(tmp_path: Path) -> None:
    path = tmp_path / "keyaudit.prom"
    write_metrics(path, completed_run())
    text = path.read_text(encoding="utf-8")
    families = list(text_string_to_metric_families(text))
    assert {fam.name for fam in families} == {
        "keyaudit_last_run_info",
        "keyaudit_last_run_timestamp_seconds",
        "keyaudit_last_run_success",
        "keyaudit_last_run_exit_code",
        "keyaudit_run_duration_seconds",
        "keyaudit_last_success_timestamp_seconds",
        "keyaudit_findings",
        "keyaudit_blocking_findings",
        "keyaudit_finding_changes",
        "keyaudit_collection_errors",
    }
    assert all(fam.type == "gauge" and fam.documentation for fam in families)
    label_names = {name for fam in families for sample in fam.samples for name in sample.labels}
    assert label_names == {"provider", "severity", "status", "waived", "change", "error_class"} | {
        "run_id",
        "mode",
        "tool_version",
    }
    assert [leak for leak in LEAKS if leak in text] == []


# ----------------------------------------------------------------------------------------------- atomicity
def test_existing_file_is_replaced_whole_by_rename(tmp_path: Path) -> None:
    path = tmp_path / "keyaudit.prom"
    old = "# stale metrics of an earlier run\n" + "keyaudit_stale_series 1\n" * 20_000
    path.write_text(old, encoding="utf-8")
    # A second name for the old inode: a rename leaves it untouched, an in-place rewrite would not.
    (tmp_path / "reader-view").hardlink_to(path)

    write_metrics(path, completed_run())

    text = path.read_text(encoding="utf-8")
    assert "keyaudit_stale_series" not in text
    assert value(parse(text), "keyaudit_last_run_success") == 1
    assert (tmp_path / "reader-view").read_text(encoding="utf-8") == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keyaudit.prom", "reader-view"]


# Run in a child process: a file-size limit smaller than the metrics makes the write itself fail (EFBIG).
FAILING_WRITE = textwrap.dedent(
    """
    import resource, signal, sys
    from datetime import UTC, datetime
    from pathlib import Path
    from scanner.findings import Summary
    from scanner.metrics import RunMetrics, write_metrics

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (512, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    moment = datetime(2026, 11, 23, tzinfo=UTC)
    metrics = RunMetrics(
        run_id="too-big", mode="scan", started_at=moment, finished_at=moment, exit_code=0,
        providers=("aws", "gcp", "azure"), summary=Summary(fail_on=None), last_success_at=moment,
    )
    try:
        write_metrics(Path(sys.argv[1]), metrics)
    except OSError as exc:
        print(f"write failed: {exc}")
        sys.exit(0)
    sys.exit("write_metrics did not fail under a 512-byte file size limit")
    """
)


def test_failed_write_leaves_the_old_file_intact_and_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "keyaudit.prom"
    write_metrics(path, failed_run())
    before = path.read_bytes()
    assert len(before) > 512  # the old file itself is larger than the child's limit: only writes are capped

    child = subprocess.run(
        [sys.executable, "-c", FAILING_WRITE, str(path)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    assert "File too large" in child.stdout
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keyaudit.prom"]


# ----------------------------------------------------------------------------------------------- node exporter
NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"


def node_exporter_binary() -> str:
    if os.environ.get("KEYAUDIT_SKIP_NODE_EXPORTER") == "1":
        pytest.skip("KEYAUDIT_SKIP_NODE_EXPORTER=1: the node exporter test is skipped on request")
    binary = shutil.which("prometheus-node-exporter") or NODE_EXPORTER
    if not os.access(binary, os.X_OK):
        pytest.fail(
            f"{NODE_EXPORTER} is missing: `apt-get install -y --no-install-recommends prometheus-node-exporter` "
            "(or `bash scripts/ensure-node-exporter.sh`), or set KEYAUDIT_SKIP_NODE_EXPORTER=1 to skip this "
            "test on purpose."
        )
    return binary


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class NodeExporter:
    process: subprocess.Popen[bytes]
    url: str
    textfile_dir: Path
    log: Path

    def scrape(self) -> str:
        with urllib.request.urlopen(self.url, timeout=5) as response:
            return str(response.read().decode("utf-8"))

    def wait_until_up(self, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"node exporter exited: {self.log.read_text(errors='replace')}")
            try:
                self.scrape()
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        raise AssertionError(
            f"node exporter did not answer in {timeout} s: {self.log.read_text(errors='replace')}"
        )


@pytest.fixture
def node_exporter(tmp_path: Path) -> Iterator[NodeExporter]:
    binary = node_exporter_binary()
    textfile_dir = tmp_path / "textfile"
    textfile_dir.mkdir()
    port = free_port()
    log = tmp_path / "node-exporter.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [
                binary,
                f"--web.listen-address=127.0.0.1:{port}",
                "--collector.disable-defaults",
                "--collector.textfile",
                f"--collector.textfile.directory={textfile_dir}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
        )
    exporter = NodeExporter(process, f"http://127.0.0.1:{port}/metrics", textfile_dir, log)
    try:
        exporter.wait_until_up()
        yield exporter
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_node_exporter_serves_the_metrics_file(node_exporter: NodeExporter) -> None:
    path = node_exporter.textfile_dir / "keyaudit.prom"
    write_metrics(path, completed_run())
    served = parse(node_exporter.scrape())

    assert value(served, "node_textfile_scrape_error") == 0
    assert (
        value(served, "keyaudit_findings", provider="aws", severity="critical", status="fail", waived="true")
        == 1
    )
    assert (
        value(served, "keyaudit_findings", provider="azure", severity="high", status="fail", waived="false")
        == 0
    )
    assert value(served, "keyaudit_blocking_findings") == 2
    assert value(served, "keyaudit_finding_changes", change="new") == 2
    assert value(served, "keyaudit_collection_errors", provider="azure", error_class="access_denied") == 2
    assert value(served, "keyaudit_last_run_success") == 1
    assert value(served, "keyaudit_last_success_timestamp_seconds") == FINISHED.timestamp()
    assert (
        value(
            served, "keyaudit_last_run_info", run_id="run-0001", mode="scan", tool_version=scanner.__version__
        )
        == 1
    )
    assert sum(v for (name, _), v in served.items() if name == "keyaudit_findings") == 6

    # The next run (failed) replaces the file: the exporter serves the new state on the next scrape.
    write_metrics(path, failed_run())
    served = parse(node_exporter.scrape())
    assert value(served, "node_textfile_scrape_error") == 0
    assert value(served, "keyaudit_last_run_success") == 0
    assert value(served, "keyaudit_last_success_timestamp_seconds") == PREVIOUS_SUCCESS.timestamp()
    assert not [name for name, _ in served if name == "keyaudit_findings"]


# ----------------------------------------------------------------------------------------------- CLI
def test_cli_writes_metrics_file(keyaudit, tmp_path: Path) -> None:
    result = keyaudit(
        "evaluate", str(REPO / "samples" / "inventory-multicloud.json"),
        "--policy", str(REPO / "samples" / "cek-policy.yaml"),
        "--as-of", "2026-11-22", "--fail-on", "none", "--format", "json", "-o", "out.json",
        "--metrics-file", "m.prom", "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    scan, summary = report["scan"], report["scan"]["summary"]
    samples = parse((tmp_path / "m.prom").read_text(encoding="utf-8"))
    findings = [(dict(k), v) for k, v in series(samples, "keyaudit_findings").items()]

    by_provider: Counter[tuple[str, str]] = Counter()
    by_severity: Counter[tuple[str, str]] = Counter()
    for labels, count in findings:
        by_provider[(labels["provider"], labels["status"])] += int(count)
        by_severity[(labels["severity"], labels["status"])] += int(count)
    assert +by_provider == Counter(
        {(p, s): n for p, statuses in summary["by_provider"].items() for s, n in statuses.items()}
    )
    assert +by_severity == Counter(
        {(sev, s): n for sev, statuses in summary["by_severity"].items() for s, n in statuses.items()}
    )
    assert sum(count for _, count in findings) == summary["total"] == len(report["findings"])
    waived = sum(count for labels, count in findings if labels["waived"] == "true")
    assert waived == sum(1 for item in report["findings"] if item["waived"])
    assert value(samples, "keyaudit_blocking_findings") == summary["blocking"]

    coverage = Counter((e["provider"], e["error_class"]) for e in scan["coverage"])
    errors = {
        (d["provider"], d["error_class"]): v
        for d, v in ((dict(k), v) for k, v in series(samples, "keyaudit_collection_errors").items())
        if v
    }
    assert errors == dict(coverage)
    assert (
        value(
            samples,
            "keyaudit_last_run_info",
            run_id=scan["run_id"],
            mode="evaluate",
            tool_version=scanner.__version__,
        )
        == 1
    )
    assert value(samples, "keyaudit_last_run_success") == 1
    assert value(samples, "keyaudit_last_run_exit_code") == 0
    last_run = value(samples, "keyaudit_last_run_timestamp_seconds")
    assert value(samples, "keyaudit_last_success_timestamp_seconds") == last_run
    assert datetime.fromisoformat(scan["started_at"]).timestamp() <= last_run <= time.time()
