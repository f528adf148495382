"""Delivery to AWS Security Hub (``--to securityhub://REGION``) through the real CLI and boto3 against a
moto server on 127.0.0.1 (``AWS_ENDPOINT_URL``). moto's Security Hub response class is wrapped (moto is
the receiver here, never our code) to count the BatchImportFindings calls, measure their bodies and
answer partial failures or refusals as Security Hub would."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from moto.core.exceptions import JsonRESTError
from moto.securityhub.responses import SecurityHubResponse
from moto.server import ThreadedMotoServer

from scanner.delivery import open_destination
from scanner.delivery.base import SpooledEvent
from scanner.delivery.deliver import event_context, spool_findings
from scanner.delivery.spool import DestinationSpool
from scanner.errors import InputError
from scanner.results import load_result
from tests import factories as f

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account: what STS GetCallerIdentity answers
SECRET = "wJalrXUtnFEMI-k3yaudit-test-secret"  # the test's AWS secret key: no output may show it
FAST_RETRIES = {
    "KEYAUDIT_DELIVERY_ATTEMPTS": "3",
    "KEYAUDIT_DELIVERY_BUDGET": "5",
    "KEYAUDIT_DELIVERY_BACKOFF": "0.05",
}
SIX_MB = 6 * 1024 * 1024


class SecurityHubRecorder:
    """Wraps moto's BatchImportFindings handler: records each call, and answers the planned failures."""

    def __init__(self) -> None:
        self.calls: list[int] = []  # findings per call
        self.body_sizes: list[int] = []
        self.partial: list[tuple[str, int]] = []  # (ErrorCode, findings failed) for the next calls
        self.refuse: list[tuple[str, str, int]] = []  # (code, message, HTTP status) for the next calls

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        original: Callable[[SecurityHubResponse], str] = SecurityHubResponse.batch_import_findings
        recorder = self

        def batch_import_findings(response: SecurityHubResponse) -> str:
            body = response.body if isinstance(response.body, bytes) else response.body.encode()
            findings = json.loads(body)["Findings"]
            recorder.calls.append(len(findings))
            recorder.body_sizes.append(len(body))
            if recorder.refuse:
                code, message, status = recorder.refuse.pop(0)
                error = JsonRESTError(code, message)
                error.code = status
                raise error
            if recorder.partial:
                code, count = recorder.partial.pop(0)
                kept, failed = findings[:-count], findings[-count:]
                response.securityhub_backend.batch_import_findings(findings=kept)
                return json.dumps(
                    {
                        "FailedCount": len(failed),
                        "FailedFindings": [
                            {"Id": x["Id"], "ErrorCode": code, "ErrorMessage": "Rate exceeded"}
                            for x in failed
                        ],
                        "SuccessCount": len(kept),
                    }
                )
            return original(response)

        monkeypatch.setattr(SecurityHubResponse, "batch_import_findings", batch_import_findings)


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def endpoint(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    requests.post(f"{moto_server}/moto-api/reset", timeout=10)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    yield moto_server
    requests.post(f"{moto_server}/moto-api/reset", timeout=10)


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> SecurityHubRecorder:
    recorder = SecurityHubRecorder()
    recorder.install(monkeypatch)
    return recorder


@pytest.fixture(scope="module")
def small_result(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A native JSON result of a real run over a small estate (a few dozen findings)."""
    import subprocess
    import sys

    directory = tmp_path_factory.mktemp("result")
    inventory = directory / "inventory.json"
    keys = tuple(f.key(f"k{i}") for i in range(3))
    inventory.write_text(f.inventory(keys=keys).model_dump_json(), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "scanner", "evaluate", str(inventory), "-o", "result.json", "--fail-on", "none"],
        cwd=directory, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    return directory / "result.json"


def imported(endpoint: str) -> list[dict[str, Any]]:
    client = boto3.client("securityhub", region_name=REGION, endpoint_url=endpoint)
    return [x for page in client.get_paginator("get_findings").paginate() for x in page["Findings"]]


def ids_of(result: Path) -> list[str]:
    return [x["finding_id"] for x in json.loads(result.read_text())["findings"]]


def env(spool: Path, **extra: str) -> dict[str, str]:
    return {**FAST_RETRIES, "KEYAUDIT_SPOOL_DIR": str(spool), **extra}


def spooled(spool: Path) -> list[Path]:
    return sorted(spool.glob("*/batch-*.ndjson"))


# ----------------------------------------------------------------------------------------------- delivery
def test_demo_to_security_hub_imports_every_finding_once_in_batches_of_100(
    endpoint: str, hub: SecurityHubRecorder, keyaudit, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    url = f"securityhub://{REGION}"
    run = keyaudit("demo", "--quiet", "--format", "json", "-o", "result.json", "--to", url, env=env(spool))
    assert run.returncode == 0, run.stderr
    ids = ids_of(tmp_path / "result.json")
    assert len(ids) > 300  # the demo: three clouds and the policy

    findings = imported(endpoint)
    assert sorted(x["Id"] for x in findings) == sorted(ids)  # each exactly once
    assert hub.calls == [100] * (len(ids) // 100) + ([len(ids) % 100] if len(ids) % 100 else [])
    assert max(hub.body_sizes) < SIX_MB
    assert spooled(spool) == []
    product = f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
    assert {x["AwsAccountId"] for x in findings} == {ACCOUNT}  # the caller's account, from STS
    assert {x["ProductArn"] for x in findings} == {product}
    by_id = {x["Id"]: x for x in findings}
    document = json.loads((tmp_path / "result.json").read_text())
    for finding in document["findings"][:50]:
        asff = by_id[finding["finding_id"]]
        assert asff["GeneratorId"] == finding["rule_id"]
        assert asff["ProductFields"]["keyaudit/scope"] == finding["scope"]
        assert asff["UpdatedAt"].startswith(document["scan"]["finished_at"][:19])

    # The same result sent again: Security Hub updates by Id, nothing is added.
    again = keyaudit("send", "result.json", "--to", url, env=env(spool))
    assert again.returncode == 0, again.stderr
    assert sorted(x["Id"] for x in imported(endpoint)) == sorted(ids)
    assert len(hub.calls) == 2 * -(-len(ids) // 100)


def test_a_partial_failure_is_retried_and_a_rejection_stays_spooled(
    endpoint: str, hub: SecurityHubRecorder, keyaudit, small_result: Path, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    ids = ids_of(small_result)
    url = f"securityhub://{REGION}?account={ACCOUNT}"
    hub.partial = [("ThrottlingException", 3)]  # the first call imports all but three
    throttled = keyaudit("send", str(small_result), "--to", url, env=env(spool))
    assert throttled.returncode == 0, throttled.stderr
    assert hub.calls == [len(ids), len(ids)]  # the whole batch went again
    assert sorted(x["Id"] for x in imported(endpoint)) == sorted(ids)
    assert spooled(spool) == []

    hub.calls.clear()
    hub.partial = [("InvalidInput", 1)]  # rejected for its content: retrying cannot help
    rejected = keyaudit("send", str(small_result), "--to", url, env=env(spool))
    assert rejected.returncode == 1
    assert hub.calls == [len(ids)]
    assert "did not import 1 of" in rejected.stderr and "InvalidInput" in rejected.stderr
    assert "still spooled" in rejected.stderr
    assert sum(p.read_text().count("\n") for p in spooled(spool)) == len(ids)

    resent = keyaudit("send", "--spool", env=env(spool))  # the next attempt, from the spool
    assert resent.returncode == 0, resent.stderr
    assert spooled(spool) == []
    assert sorted(x["Id"] for x in imported(endpoint)) == sorted(ids)


def test_access_denied_is_reported_without_secrets_and_not_retried(
    endpoint: str, hub: SecurityHubRecorder, keyaudit, small_result: Path, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    hub.refuse = [
        (
            "AccessDeniedException",
            f"User: arn:aws:iam::{ACCOUNT}:user/ci is not authorized to perform: "
            "securityhub:BatchImportFindings",
            403,
        )
    ]
    run = keyaudit("send", str(small_result), "--to", f"securityhub://{REGION}", "-v", env=env(spool))
    assert run.returncode == 1
    assert hub.calls == [len(ids_of(small_result))]  # refused for good: sent once
    assert "Security Hub refused the request: AccessDeniedException" in run.stderr
    assert "the caller needs securityhub:BatchImportFindings" in run.stderr
    assert SECRET not in run.stdout + run.stderr
    for path in spool.rglob("*"):
        assert not path.is_file() or SECRET.encode() not in path.read_bytes()
    batch = spooled(spool)[0].read_text()
    assert "AwsAccountId" not in batch  # filled in when sent, with the credentials of that moment


def test_security_hub_down_spools_then_send_spool_imports(
    moto_server: str, endpoint: str, hub: SecurityHubRecorder, keyaudit, small_result: Path, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"  # nothing listens there
    down = keyaudit(
        "send", str(small_result), "--to", f"securityhub://{REGION}", env=env(spool, AWS_ENDPOINT_URL=closed)
    )
    assert down.returncode == 1
    assert "cannot reach STS" in down.stderr and "still spooled" in down.stderr
    assert hub.calls == []

    up = keyaudit("send", "--spool", env=env(spool))
    assert up.returncode == 0, up.stderr
    assert sorted(x["Id"] for x in imported(endpoint)) == sorted(ids_of(small_result))
    assert spooled(spool) == []


# ----------------------------------------------------------------------------------------------- limits
def test_batches_stay_under_the_6_mb_request_limit_whatever_the_text(
    small_result: Path, tmp_path: Path
) -> None:
    """botocore escapes non-ASCII text (up to 3x the UTF-8 bytes): fat findings still fit one request."""
    document = json.loads(small_result.read_text())
    for finding in document["findings"]:  # evidence near ASFF's limits, in characters botocore escapes
        finding["evidence"] = {f"field{n}": "€ключ🔑" * 170 for n in range(45)}
    fat = tmp_path / "fat.json"
    fat.write_text(json.dumps(document), encoding="utf-8")
    scan, findings = load_result(fat)
    destination = open_destination(f"securityhub://{REGION}?account={ACCOUNT}")
    spool = DestinationSpool(tmp_path / "spool", destination.url)
    assert spool_findings(destination, spool, findings * 4, event_context(scan)) == 4 * len(findings)
    batches = [spool.read_batch(path) for path in spool.batches()]
    assert len(batches) > 1 and all(len(b) <= 100 for b in batches)
    for batch in batches:
        body = json.dumps({"Findings": [_as_sent(e) for e in batch]}).encode()  # as botocore writes it
        assert len(body) < SIX_MB


def _as_sent(event: SpooledEvent) -> dict[str, Any]:
    return {**event.payload, "AwsAccountId": ACCOUNT, "ProductArn": "arn:aws:securityhub:x"}


# ----------------------------------------------------------------------------------------------- URL
def test_partition_comes_from_the_region_and_events_are_deterministic(small_result: Path) -> None:
    from scanner.delivery.securityhub import SecurityHubDestination

    destination = open_destination("securityhub://cn-north-1?account=111122223333")
    assert isinstance(destination, SecurityHubDestination)
    assert destination.partition == "aws-cn"
    scan, findings = load_result(small_result)
    payload = destination.prepare(findings[0], event_context(scan))
    assert payload["Id"] == findings[0].finding_id
    assert "AwsAccountId" not in payload and "ProductArn" not in payload  # added when sent
    assert payload == destination.prepare(findings[0], event_context(scan))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("securityhub://eu-west-1?account=12345", "account='12345': expected a 12-digit AWS account id"),
        ("securityhub://europe", "not an AWS region: 'europe'"),
        ("securityhub://eu-west-1:443", "expected securityhub://REGION"),
        ("securityhub://eu-west-1/findings", "expected securityhub://REGION"),
        ("securityhub://eu-west-1?regoin=x", "unknown query parameter(s) regoin"),
        ("securityhub://AKIA:secret@eu-west-1", "credentials do not belong in the URL"),
    ],
)
def test_bad_security_hub_urls_are_usage_errors(url: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        open_destination(url)
    assert message in str(caught.value)
    assert "secret" not in str(caught.value)
