"""What every fault case asserts, whatever the provider: see ``tests.faults.matrix`` for the outcomes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.faults.matrix import TIME_LIMIT_SECONDS, Case, Outcome

COVERAGE_RULE = "scan_coverage_complete"

# Short timeouts and retries for the fault scans (production defaults: 30 s, 8 attempts, 20 s). The
# fault-free baseline scans run with the defaults: they also warm moto's backends (the first call to a
# service builds it, which can take longer than a short timeout on a loaded machine).
FAST_FAILURE_ENV = {
    "KEYAUDIT_HTTP_TIMEOUT": "2",
    "AWS_MAX_ATTEMPTS": "2",
    "KEYAUDIT_GCP_RETRY_DEADLINE": "1",
}


@dataclass
class ScanResult:
    returncode: int
    stderr: str
    elapsed: float
    findings: dict[tuple[str, str], str]  # (rule, resource uid) -> status
    messages: dict[tuple[str, str], str] = field(default_factory=dict)
    coverage: list[dict[str, Any]] = field(default_factory=list)  # collection errors: api, error_class...

    def status(self, rule: str, uid: str) -> str | None:
        return self.findings.get((rule, uid))


def scan_environment(home: Path, *, fast_failure: bool = True) -> dict[str, str]:
    """The environment of a scan subprocess: fake AWS credentials, no user profile, state or ADC; the
    short timeouts unless ``fast_failure`` is off. (Module-scoped scans run before the per-test
    environment fixture applies.)"""
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {"AWS_PROFILE", "AWS_SESSION_TOKEN", "GOOGLE_APPLICATION_CREDENTIALS", "KEYAUDIT_GCP_ENDPOINT"}
        and not k.startswith("KEYAUDIT_STATE")
    }
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "CLOUDSDK_CONFIG": str(home / "gcloud"),
            "NO_GCE_CHECK": "True",
            "XDG_DATA_HOME": str(home / "data"),
            "KEYAUDIT_SPOOL_DIR": str(home / "spool"),
        }
    )
    if fast_failure:
        env.update(FAST_FAILURE_ENV)
    return env


def run_cli(args: list[str], env: Mapping[str, str], cwd: Path) -> ScanResult:
    """``python -m scanner scan ... --format json --no-state`` in a subprocess, killed past the limit."""
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "scanner", "scan", *args, "--format", "json", "--no-state", "--quiet"],
        capture_output=True, text=True, env=dict(env), cwd=cwd, timeout=TIME_LIMIT_SECONDS, check=False,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    try:
        document = json.loads(run.stdout)
    except ValueError:
        raise AssertionError(
            f"exit {run.returncode}, no JSON report; stderr:\n{run.stderr[-3000:]}"
        ) from None
    findings = {(f["rule_id"], f["resource"]["uid"]): f["status"] for f in document["findings"]}
    messages = {(f["rule_id"], f["resource"]["uid"]): f["message"] for f in document["findings"]}
    return ScanResult(run.returncode, run.stderr, elapsed, findings, messages, document["scan"]["coverage"])


def verify(
    case: Case, result: ScanResult, baseline: ScanResult, resolve: Mapping[str, str], scope: str
) -> None:
    """Assert the case's outcome. ``resolve`` maps the symbolic resources of ``case.affected`` to uids."""
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.returncode == 3, f"exit {result.returncode}; stderr:\n{result.stderr[-3000:]}"
    assert result.elapsed < TIME_LIMIT_SECONDS
    key = resolve["key"]
    affected = {resolve[name] for name in case.affected}
    coverage = result.status(COVERAGE_RULE, scope)
    if case.outcome is Outcome.UNKNOWN:
        assert coverage == "fail", result.coverage
        named = [e for e in result.coverage if e["api"] == case.api and e["scope"] == scope]
        assert named, f"no coverage error names {case.api}: {result.coverage}"
        assert {e["error_class"] for e in named} == {case.error_class}, named
        assert case.api in result.messages[(COVERAGE_RULE, scope)]
        if case.gone:
            assert not [uid for _, uid in result.findings if uid == key], "the unlisted key was judged"
            assert "unreadable: keys" in result.messages[(COVERAGE_RULE, scope)]
        target = resolve[case.unknown_on]
        for rule in case.unknown:
            assert result.status(rule, target) == "unknown", (rule, target, result.status(rule, target))
    else:
        assert coverage == "pass" and result.coverage == [], result.coverage
        for rule, status in case.judged:
            assert result.status(rule, key) == status, (rule, result.status(rule, key))
    if case.outcome is Outcome.ABSORBED:
        assert result.findings == baseline.findings
    # Unaffected resources are judged as without the fault: same findings, same verdicts.
    unaffected = {
        k: v for k, v in baseline.findings.items() if k[1] not in affected and k[0] != COVERAGE_RULE
    }
    now = {k: v for k, v in result.findings.items() if k[1] not in affected and k[0] != COVERAGE_RULE}
    assert now == unaffected, {k: (unaffected.get(k), now.get(k)) for k in unaffected.keys() | now.keys()
                               if unaffected.get(k) != now.get(k)}  # fmt: skip
