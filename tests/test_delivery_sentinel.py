"""Delivery to Microsoft Sentinel (``--to sentinel://DCE_HOST?rule=...``) through the real
azure-monitor-ingestion client against a loopback HTTPS receiver with a throwaway certificate. The
receiver checks what the Logs Ingestion API checks: the rule and stream in the path, the api-version,
the bearer token, a gzip or JSON array body; it answers 204. In-process tests hand the destination a
static token credential; the CLI test signs in with the real DefaultAzureCredential, through a
loopback managed-identity endpoint (``IDENTITY_ENDPOINT``, as App Service provides)."""

from __future__ import annotations

import gzip
import json
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.core.credentials import AccessToken

from scanner.delivery import open_destination
from scanner.delivery.deliver import RetryPolicy, deliver
from scanner.delivery.sentinel import DEFAULT_STREAM, STREAM_COLUMNS, SentinelDestination
from scanner.errors import InputError
from scanner.results import load_result
from tests import factories as f
from tests.certs import self_signed
from tests.receivers import QuietHandler

TOKEN = "eyJ0eXAiOiJKV1Qi.sentinel-test-token.c2VjcmV0"
RULE = "dcr-0123456789abcdef0123456789abcdef"
STREAM = "Custom-KeyauditFindings_CL"
API_VERSION = "2023-01-01"
FAST = RetryPolicy(attempts=3, budget_seconds=5, first_delay=0.05)
FAST_RETRIES = {
    "KEYAUDIT_DELIVERY_ATTEMPTS": "3",
    "KEYAUDIT_DELIVERY_BUDGET": "5",
    "KEYAUDIT_DELIVERY_BACKOFF": "0.05",
}


# ----------------------------------------------------------------------------------------------- TLS
@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1 and localhost: (cert PEM, key PEM)."""
    return self_signed(tmp_path_factory.mktemp("tls"))


# ----------------------------------------------------------------------------------------------- receiver
class IngestionReceiver:
    """A loopback Logs Ingestion endpoint over HTTPS. Records every row it accepted."""

    def __init__(self, certificate: tuple[Path, Path], *, port: int = 0) -> None:
        self.rows: list[dict[str, Any]] = []
        self.requests = 0
        self.problems: list[str] = []  # protocol violations seen in handler threads
        self.fail_next: list[tuple[int, dict[str, Any]]] = []  # (status, body) for the next posts
        self._lock = threading.Lock()
        receiver = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                receiver._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*certificate)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.ca = certificate[0]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, **params: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"rule": RULE, "ca": str(self.ca), **params}.items())
        return f"sentinel://127.0.0.1:{self.port}?{query}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _answer(
        self, handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any] | None = None
    ) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        handler.send_response(status)
        if data:
            handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length", "0")))
        parts = urlsplit(handler.path)
        with self._lock:
            self.requests += 1
        if handler.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._answer(handler, 401, {"error": {"code": "InvalidToken", "message": "bad token"}})
        if parts.path != f"/dataCollectionRules/{RULE}/streams/{STREAM}":
            return self._answer(handler, 404, {"error": {"code": "NotFound", "message": parts.path}})
        if parse_qs(parts.query).get("api-version") != [API_VERSION]:
            self.problems.append(f"query {parts.query}")
        if handler.headers.get("Content-Type", "").split(";")[0] != "application/json":
            self.problems.append(f"content type {handler.headers.get('Content-Type')}")
        if handler.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        rows = json.loads(body)
        if not isinstance(rows, list):
            self.problems.append("body is not a JSON array")
        with self._lock:
            if self.fail_next:
                status, error = self.fail_next.pop(0)
                return self._answer(handler, status, error)
            for row in rows:
                if set(row) != set(STREAM_COLUMNS):
                    self.problems.append(f"columns {sorted(row)}")
                self.rows.append(row)
        return self._answer(handler, 204)

    @property
    def ids(self) -> list[str]:
        return [row["FindingId"] for row in self.rows]


@pytest.fixture
def receiver(certificate: tuple[Path, Path]) -> Iterator[IngestionReceiver]:
    running = IngestionReceiver(certificate)
    yield running
    running.stop()


class StaticToken:
    """An azure-core TokenCredential with a fixed token; records the scopes asked for."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)


class ManagedIdentityEndpoint:
    """App Service's managed identity endpoint, on loopback: what DefaultAzureCredential asks for a token."""

    def __init__(self) -> None:
        self.resources: list[str] = []
        endpoint = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                endpoint.resources += query.get("resource", [])
                ok = self.headers.get("X-IDENTITY-HEADER") == "identity-header"
                body = json.dumps(
                    {
                        "access_token": TOKEN,
                        "expires_on": str(int(time.time()) + 3600),
                        "resource": query.get("resource", [""])[0],
                        "token_type": "Bearer",
                    }
                    if ok
                    else {"error": "bad header"}
                ).encode()
                self.send_response(200 if ok else 400)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def env(self) -> dict[str, str]:
        return {
            "IDENTITY_ENDPOINT": f"http://127.0.0.1:{self.server.server_address[1]}/msi/token",
            "IDENTITY_HEADER": "identity-header",
            "AZURE_TOKEN_CREDENTIALS": "ManagedIdentityCredential",  # no Azure CLI or sign-in host probed
        }

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ----------------------------------------------------------------------------------------------- results
@pytest.fixture(scope="module")
def result_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A native JSON result of a real run (several dozen findings), one resource name hostile."""
    directory = tmp_path_factory.mktemp("result")
    inventory = directory / "inventory.json"
    keys = (*(f.key(f"k{i}") for i in range(4)), f.key("evil", name='x"}\n\x1b[31m<script>],{"FindingId":1'))
    inventory.write_text(f.inventory(keys=keys).model_dump_json(), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "scanner", "evaluate", str(inventory), "-o", "result.json", "--fail-on", "none"],
        cwd=directory, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    return directory / "result.json"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spooled(spool: Path) -> list[Path]:
    return sorted(spool.glob("*/batch-*.ndjson"))


def destination(url: str, credential: StaticToken | None = None) -> SentinelDestination:
    opened = open_destination(url)  # the registry's own parsing and validation
    assert isinstance(opened, SentinelDestination)
    return SentinelDestination(opened.url, credential=credential or StaticToken())


# ----------------------------------------------------------------------------------------------- delivery
def test_every_finding_arrives_as_one_flat_row(
    receiver: IngestionReceiver, result_file: Path, tmp_path: Path
) -> None:
    scan, findings = load_result(result_file)
    credential = StaticToken()
    target = destination(receiver.url(batch="20"), credential)
    [outcome] = deliver(findings, scan, [target], spool_root=tmp_path / "spool", policy=FAST)
    assert outcome.complete and outcome.delivered == len(findings)
    assert not receiver.problems
    assert sorted(receiver.ids) == sorted(x.finding_id for x in findings)
    assert receiver.requests == -(-len(findings) // 20)
    assert set(credential.scopes) == {("https://monitor.azure.com/.default",)}

    document = json.loads(result_file.read_text())
    by_id = {row["FindingId"]: row for row in receiver.rows}
    finished = datetime.fromisoformat(document["scan"]["finished_at"])
    for finding in document["findings"]:
        row = by_id[finding["finding_id"]]
        assert datetime.fromisoformat(row["TimeGenerated"]) == finished.replace(
            microsecond=finished.microsecond // 1000 * 1000
        )
        assert (row["RuleId"], row["Status"], row["Severity"]) == (
            finding["rule_id"], finding["status"], finding["severity"],
        )  # fmt: skip
        assert (row["ResourceId"], row["ResourceName"]) == (
            finding["resource"]["uid"],
            finding["resource"]["name"],
        )
        assert row["Controls"] == finding["controls"] and row["Evidence"] == finding["evidence"]
        assert row["RunId"] == document["scan"]["run_id"]
    hostile = [row for row in receiver.rows if (row["ResourceName"] or "").startswith('x"}')]
    assert (
        hostile and hostile[0]["ResourceName"] == 'x"}\n\x1b[31m<script>],{"FindingId":1'
    )  # intact, one row


def test_busy_endpoint_is_retried_and_a_refusal_stays_spooled(
    receiver: IngestionReceiver, result_file: Path, tmp_path: Path
) -> None:
    scan, findings = load_result(result_file)
    spool = tmp_path / "spool"
    receiver.fail_next = [(503, {"error": {"code": "ServiceUnavailable", "message": "busy"}})] * 2
    [busy] = deliver(findings, scan, [destination(receiver.url())], spool_root=spool, policy=FAST)
    assert busy.complete, busy.error
    assert receiver.requests == 3 and sorted(receiver.ids) == sorted(x.finding_id for x in findings)

    receiver.fail_next = [(400, {"error": {"code": "InvalidStream", "message": "Stream not found in DCR"}})]
    [refused] = deliver(findings, scan, [destination(receiver.url())], spool_root=spool, policy=FAST)
    assert receiver.requests == 4  # not retried
    assert refused.pending == len(findings)
    assert refused.error == "Azure Monitor answered HTTP 400: InvalidStream (Stream not found in DCR)"

    wrong = StaticToken("another-token")  # the receiver answers 401
    [denied] = deliver(findings, scan, [destination(receiver.url(), wrong)], spool_root=spool, policy=FAST)
    assert denied.error is not None and "HTTP 401: InvalidToken" in denied.error
    assert "Monitoring Metrics Publisher" in denied.error
    assert receiver.requests == 5
    for path in spool.rglob("*"):
        assert not path.is_file() or TOKEN.encode() not in path.read_bytes()


def test_an_untrusted_certificate_is_refused(
    receiver: IngestionReceiver, result_file: Path, tmp_path: Path
) -> None:
    scan, findings = load_result(result_file)
    url = receiver.url().replace(f"&ca={receiver.ca}", "")  # the system store does not know it
    [outcome] = deliver(findings, scan, [destination(url)], spool_root=tmp_path / "spool", policy=FAST)
    assert receiver.requests == 0 and outcome.pending == len(findings)
    assert outcome.error is not None and outcome.error.startswith("TLS error talking to https://127.0.0.1:")


def test_endpoint_down_spools_then_send_spool_delivers_with_default_credential(
    keyaudit, certificate: tuple[Path, Path], result_file: Path, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    identity = ManagedIdentityEndpoint()
    port = free_port()  # nothing listens there yet
    url = f"sentinel://127.0.0.1:{port}?rule={RULE}&stream={STREAM}&ca={certificate[0]}"
    env = {**FAST_RETRIES, **identity.env(), "KEYAUDIT_SPOOL_DIR": str(spool)}
    ids = [x["finding_id"] for x in json.loads(result_file.read_text())["findings"]]
    try:
        down = keyaudit("send", str(result_file), "--to", url, "-v", env=env)
        assert down.returncode == 1
        assert f"cannot reach https://127.0.0.1:{port} (connection refused)" in down.stderr
        assert "still spooled" in down.stderr
        assert sum(p.read_text().count("\n") for p in spooled(spool)) == len(ids)

        up = IngestionReceiver(certificate, port=port)
        try:
            again = keyaudit("send", "--spool", "-v", env=env)  # the URL comes back from the spool
        finally:
            up.stop()
    finally:
        identity.stop()
    assert again.returncode == 0, again.stderr
    assert not up.problems
    assert Counter(up.ids) == Counter(ids)  # every finding, exactly once
    assert spooled(spool) == []
    assert set(identity.resources) == {"https://monitor.azure.com"}
    for run in (down, again):
        assert TOKEN not in run.stdout + run.stderr
    for path in spool.rglob("*"):
        assert not path.is_file() or TOKEN.encode() not in path.read_bytes()


# ----------------------------------------------------------------------------------------------- URL
def test_the_url_names_rule_stream_and_batch() -> None:
    opened = open_destination(f"sentinel://dce-1.westeurope-1.ingest.monitor.azure.com?rule={RULE}&batch=50")
    assert isinstance(opened, SentinelDestination)
    assert opened.endpoint == "https://dce-1.westeurope-1.ingest.monitor.azure.com"
    assert (opened.rule_id, opened.stream, opened.batch_limits()[0]) == (RULE, DEFAULT_STREAM, 50)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sentinel://dce.example", "rule= is required"),
        ("sentinel://dce.example?rule=dcr-123", "rule= must be the data collection rule's immutable id"),
        (f"sentinel://dce.example/{RULE}/{STREAM}", "no path expected"),
        (f"sentinel://dce.example?rule={RULE}&stream=Custom-X/../y", "not a stream name"),
        (
            f"sentinel://dce.example?rule={RULE}&ca=/nonexistent.pem",
            "ca=/nonexistent.pem: not a readable PEM",
        ),
        (f"sentinel://dce.example?rule={RULE}&tabel=x", "unknown query parameter(s) tabel"),
        (f"sentinel://app:s3cret@dce.example?rule={RULE}", "credentials do not belong in the URL"),
        (f"sentinel://?rule={RULE}", "a data collection endpoint host is required"),
    ],
)
def test_bad_sentinel_urls_are_usage_errors(url: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        open_destination(url)
    assert message in str(caught.value)
    assert "s3cret" not in str(caught.value)
