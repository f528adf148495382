"""Elasticsearch and OpenSearch delivery (``elastic://``, ``opensearch://``) through the official clients,
against loopback HTTP receivers that answer the few endpoints the clients call the way the real servers
do: the index template API, ``_bulk`` with per-item results (201 created, 409 for an ``_id`` the data
stream already holds, 429 when busy), authentication, and Elasticsearch's product header. Everything runs
through the real CLI (``keyaudit demo --to ...``, ``keyaudit send``) or the real destination code."""

from __future__ import annotations

import base64
import fnmatch
import json
import os
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from scanner.delivery import DeliveryError, SpooledEvent, open_destination
from scanner.errors import InputError
from tests.certs import self_signed, server_context
from tests.receivers import QuietHandler

API_KEY = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="  # must never be shown
USERNAME = "keyaudit-writer"
PASSWORD = "pa55-W0rd-never-shown"  # a test secret the outputs must never show
OS_PASSWORD = "0pensearch-pa55-never-shown"
SECRETS = (API_KEY, PASSWORD, OS_PASSWORD)
DATA_STREAM = "logs-keyaudit.findings-default"
FAST_RETRIES = {
    "KEYAUDIT_DELIVERY_ATTEMPTS": "4",
    "KEYAUDIT_DELIVERY_BUDGET": "10",
    "KEYAUDIT_DELIVERY_BACKOFF": "0.05",
}
NO_CREDENTIALS = {
    name: ""
    for name in (
        "KEYAUDIT_ELASTIC_API_KEY",
        "KEYAUDIT_ELASTIC_USERNAME",
        "KEYAUDIT_ELASTIC_PASSWORD",
        "KEYAUDIT_OPENSEARCH_USERNAME",
        "KEYAUDIT_OPENSEARCH_PASSWORD",
    )
}


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# ----------------------------------------------------------------------------------------------- receiver
class BulkReceiver:
    """A loopback Elasticsearch (``flavour="elastic"``) or OpenSearch node: index templates and data
    streams kept in memory, ``_bulk`` answered item by item as the real servers answer."""

    def __init__(
        self,
        flavour: str,
        *,
        authorization: str | None,
        templates_forbidden: bool = False,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.flavour = flavour
        self.authorization = authorization  # the one Authorization header accepted; None: any
        self.templates_forbidden = templates_forbidden
        self.templates: dict[str, dict] = {}
        self.streams: dict[str, dict[str, dict]] = {}  # data stream -> _id -> document
        self.requests: list[tuple[str, str]] = []  # (method, path) in order
        self.authorizations: set[str | None] = set()
        self.problems: list[str] = []  # protocol violations seen in the handler threads
        self.item_statuses: Counter[int] = Counter()
        self.bulk_posts = 0
        self.fail_bulk: dict[int, int] = {}  # bulk post number -> HTTP status for the whole request
        self.reject_after: dict[int, int] = {}  # bulk post number -> items accepted before 429s
        self.refuse_findings: set[str] = set()  # event.ids answered 400 document_parsing_exception
        self._lock = threading.Lock()
        receiver = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the clients expect

            def do_GET(self) -> None:
                receiver._handle(self, "GET")

            def do_HEAD(self) -> None:
                receiver._handle(self, "HEAD")

            def do_PUT(self) -> None:
                receiver._handle(self, "PUT")

            def do_POST(self) -> None:
                receiver._handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, **params: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"tls": "false", **params}.items())
        return f"{self.flavour}://127.0.0.1:{self.port}?{query}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def documents(self) -> dict[str, dict]:
        return self.streams.get(DATA_STREAM, {})

    def calls(self, method: str, prefix: str) -> int:
        return sum(1 for m, p in self.requests if m == method and p.startswith(prefix))

    # -- protocol
    def _answer(self, handler: BaseHTTPRequestHandler, status: int, body: dict | None, method: str) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        handler.send_response(status)
        if self.flavour == "elastic":
            handler.send_header("X-Elastic-Product", "Elasticsearch")  # the client's product check
            handler.send_header("Content-Type", "application/vnd.elasticsearch+json;compatible-with=9")
        else:
            handler.send_header("Content-Type", "application/json; charset=UTF-8")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if method != "HEAD":
            handler.wfile.write(data)

    def _error(self, kind: str, reason: str, status: int) -> dict:
        cause = {"type": kind, "reason": reason}
        return {"error": {"root_cause": [cause], **cause}, "status": status}

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length", "0")))
        parts = urlsplit(handler.path)
        query = parse_qs(parts.query)
        auth = handler.headers.get("Authorization")
        with self._lock:
            self.requests.append((method, parts.path))
            self.authorizations.add(auth)
        if self.authorization is not None and auth != self.authorization:
            reason = f"unable to authenticate with provided credentials for REST request [{parts.path}]"
            return self._answer(handler, 401, self._error("security_exception", reason, 401), method)
        if self.flavour == "elastic" and "compatible-with=" not in handler.headers.get("Accept", ""):
            self.problems.append(f"Accept {handler.headers.get('Accept')!r}")
        if parts.path == "/" and method in ("GET", "HEAD"):
            return self._answer(handler, 200, self._info(), method)
        if parts.path.startswith("/_index_template/"):
            return self._template(handler, method, parts.path.rsplit("/", 1)[1], query, body)
        if parts.path == "/_bulk" and method in ("POST", "PUT"):
            return self._bulk(handler, body)
        reason = f"no handler found for uri [{parts.path}] and method [{method}]"
        return self._answer(handler, 400, self._error("illegal_argument_exception", reason, 400), method)

    def _info(self) -> dict:
        if self.flavour == "elastic":
            return {
                "name": "es01",
                "cluster_name": "keyaudit-test",
                "version": {"number": "9.1.0", "build_flavor": "default"},
                "tagline": "You Know, for Search",
            }
        return {
            "name": "os01",
            "cluster_name": "keyaudit-test",
            "version": {"distribution": "opensearch", "number": "2.19.1"},
            "tagline": "The OpenSearch Project: https://opensearch.org/",
        }

    def _template(
        self, handler: BaseHTTPRequestHandler, method: str, name: str, query: dict, body: bytes
    ) -> None:
        if self.templates_forbidden:
            action = "indices:admin/index_template/" + ("put" if method == "PUT" else "get")
            reason = f"action [{action}] is unauthorized for user [{USERNAME}] with effective roles [writer]"
            return self._answer(handler, 403, self._error("security_exception", reason, 403), method)
        if method in ("GET", "HEAD"):
            if name not in self.templates:
                reason = f"index template matching [{name}] not found"
                return self._answer(handler, 404, self._error("resource_not_found_exception", reason, 404), method)  # fmt: skip
            answer = {"index_templates": [{"name": name, "index_template": self.templates[name]}]}
            return self._answer(handler, 200, answer, method)
        if method != "PUT":
            return self._answer(handler, 405, self._error("illegal_argument_exception", method, 405), method)
        if query.get("create") != ["true"]:
            self.problems.append(f"template PUT without create=true: {query}")
        if name in self.templates:
            reason = f"index template [{name}] already exists"
            return self._answer(handler, 400, self._error("illegal_argument_exception", reason, 400), method)
        template = json.loads(body)
        problem = self._template_problem(template)
        if problem:
            self.problems.append(problem)
            return self._answer(handler, 400, self._error("mapper_parsing_exception", problem, 400), method)
        self.templates[name] = template
        return self._answer(handler, 200, {"acknowledged": True}, method)

    def _template_problem(self, template: dict) -> str | None:
        known = {"index_patterns", "template", "composed_of", "priority", "version", "_meta", "data_stream"}
        flattened = "flat_object" if self.flavour == "opensearch" else "flattened"
        if self.flavour == "elastic":
            known |= {"ignore_missing_component_templates", "allow_auto_create", "deprecated"}
        if set(template) - known:
            return f"unknown key(s) {sorted(set(template) - known)} in index template"
        keyaudit = template.get("template", {}).get("mappings", {}).get("properties", {}).get("keyaudit", {})
        for field in ("evidence", "waiver"):
            kind = keyaudit.get("properties", {}).get(field, {}).get("type")
            if kind != flattened:
                return f"No handler for type [{kind}] declared on field [{field}]"
        if not isinstance(template.get("data_stream"), dict):
            return "the template does not make a data stream"
        if template.get("priority", 0) <= 100:
            return "priority collides with the built-in logs-*-* template (100)"
        return None

    def _bulk(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        with self._lock:
            self.bulk_posts += 1
            number = self.bulk_posts
            if number in self.fail_bulk:
                status = self.fail_bulk[number]
                kind, reason = (
                    ("es_rejected_execution_exception", "rejected execution of coordinating operation")
                    if status == 429
                    else ("cluster_block_exception", "blocked by: [SERVICE_UNAVAILABLE/2/no master];")
                )
                return self._answer(handler, status, self._error(kind, reason, status), "POST")
            lines = [json.loads(line) for line in body.split(b"\n") if line]
            if len(lines) % 2:
                self.problems.append("bulk body is not action/document pairs")
            items = []
            for position, (action, document) in enumerate(zip(lines[::2], lines[1::2], strict=True)):
                items.append(self._item(action, document, position, self.reject_after.get(number)))
            self.item_statuses.update(next(iter(i.values()))["status"] for i in items)
        errors = any(next(iter(i.values()))["status"] >= 300 for i in items)
        return self._answer(handler, 200, {"took": 7, "errors": errors, "items": items}, "POST")

    def _item(self, action: dict, document: dict, position: int, accepted: int | None) -> dict:
        op, meta = next(iter(action.items()))
        stream, doc_id = meta.get("_index"), meta.get("_id")
        if op != "create" or stream != DATA_STREAM or not doc_id:
            self.problems.append(f"action {action}")
        event = document.get("event", {})
        if event.get("kind") != "state" or "@timestamp" not in document or "ecs" not in document:
            self.problems.append(f"not an ECS state document: {sorted(document)}")
        if not str(doc_id).startswith(str(event.get("id"))):
            self.problems.append(f"_id {doc_id} does not carry the finding id {event.get('id')}")
        if stream not in self.streams and not any(
            fnmatch.fnmatch(stream, p) for t in self.templates.values() for p in t["index_patterns"]
        ):
            self.problems.append(f"data stream {stream} created without a matching index template")
        backing = f".ds-{stream}-2026.11.22-000001"
        result: dict = {"_index": backing, "_id": doc_id}
        documents = self.streams.setdefault(stream, {})
        if accepted is not None and position >= accepted:
            reason = "rejected execution of primary operation [shard_detail=[.ds-...][0][P]]"
            result.update(status=429, error={"type": "es_rejected_execution_exception", "reason": reason})
        elif event.get("id") in self.refuse_findings:
            reason = "failed to parse field [keyaudit.scope] of type [long] in document with id '…'"
            result.update(status=400, error={"type": "document_parsing_exception", "reason": reason})
        elif doc_id in documents:
            reason = f"[{doc_id}]: version conflict, document already exists (current version [1])"
            result.update(status=409, error={"type": "version_conflict_engine_exception", "reason": reason})
        else:
            documents[doc_id] = document
            result.update(_version=1, result="created", _seq_no=len(documents) - 1, _primary_term=1)
            result.update(_shards={"total": 2, "successful": 1, "failed": 0}, status=201)
        return {op: result}


# ----------------------------------------------------------------------------------------------- helpers
def env(spool: Path, **extra: str) -> dict[str, str]:
    return {
        **FAST_RETRIES,
        **NO_CREDENTIALS,
        "KEYAUDIT_ELASTIC_API_KEY": API_KEY,
        "KEYAUDIT_OPENSEARCH_USERNAME": USERNAME,
        "KEYAUDIT_OPENSEARCH_PASSWORD": OS_PASSWORD,
        "KEYAUDIT_SPOOL_DIR": str(spool),
        **extra,
    }


def log_events(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def ids_of(result: Path) -> list[str]:
    return [finding["finding_id"] for finding in json.loads(result.read_text())["findings"]]


def spooled(spool: Path) -> list[Path]:
    return sorted(spool.glob("*/batch-*.ndjson"))


def assert_no_secrets(spool: Path, *runs: subprocess.CompletedProcess[str]) -> None:
    for run in runs:
        for secret in SECRETS:
            assert secret not in run.stdout + run.stderr
    for path in spool.rglob("*"):
        for secret in SECRETS:
            assert secret not in str(path)
            if path.is_file():
                assert secret.encode() not in path.read_bytes()


@dataclass
class DemoDelivery:
    """One ``keyaudit demo`` delivered to both receivers, and what they had seen right after it."""

    elastic: BulkReceiver
    opensearch: BulkReceiver
    run: subprocess.CompletedProcess[str]
    result: Path
    spool: Path
    directory: Path
    ids: list[str]
    elastic_posts: int
    opensearch_posts: int


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoDelivery]:
    """The demo (about 700 findings, three clouds) sent to Elasticsearch with an API key and to
    OpenSearch with a user, in batches of 100. Elasticsearch answers 429 to the whole second batch and
    to part of the fourth; OpenSearch to part of the second batch and then 503 to its first resend."""
    directory = tmp_path_factory.mktemp("demo")
    spool = directory / "spool"
    elastic = BulkReceiver("elastic", authorization=f"ApiKey {API_KEY}")
    opensearch = BulkReceiver("opensearch", authorization=basic(USERNAME, OS_PASSWORD))
    elastic.fail_bulk, elastic.reject_after = {2: 429}, {4: 30}
    opensearch.reject_after, opensearch.fail_bulk = {2: 60}, {3: 503}
    # The demo needs no credentials; still, no real AWS profile may reach it.
    safe = {
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "NO_GCE_CHECK": "True",
    }
    run = subprocess.run(
        [
            sys.executable, "-m", "scanner", "demo", "--format", "json", "-o", "result.json",
            "--to", elastic.url(batch="100"), "--to", opensearch.url(batch="100"),
        ],
        cwd=directory,
        env={**os.environ, **safe, **env(spool)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        result = directory / "result.json"
        ids = ids_of(result) if result.exists() else []
        yield DemoDelivery(
            elastic, opensearch, run, result, spool, directory, ids, elastic.bulk_posts, opensearch.bulk_posts
        )
    finally:
        elastic.stop()
        opensearch.stop()


# ----------------------------------------------------------------------------------------------- the demo
@pytest.mark.parametrize("flavour", ["elastic", "opensearch"])
def test_demo_indexes_every_finding_exactly_once_into_the_data_stream(
    demo: DemoDelivery, flavour: str
) -> None:
    assert demo.run.returncode == 0, demo.run.stderr
    receiver = demo.elastic if flavour == "elastic" else demo.opensearch
    posts = demo.elastic_posts if flavour == "elastic" else demo.opensearch_posts
    assert len(demo.ids) > 500 and not receiver.problems
    # Every finding once, though batches were refused whole or in part and sent again.
    assert sorted(doc["event"]["id"] for doc in receiver.documents.values()) == sorted(demo.ids)
    batches = -(-len(demo.ids) // 100)
    assert posts == batches + 2  # the two troubled batches were each sent a second time
    assert receiver.item_statuses[429] > 0 and receiver.item_statuses[409] > 0  # partly created: 409 = ok
    # The template came first, once, for exactly this data stream.
    template = receiver.templates[f"keyaudit-{DATA_STREAM}"]
    assert template["index_patterns"] == [DATA_STREAM] and template["data_stream"] == {}
    paths = [path for _, path in receiver.requests]
    assert paths.index(f"/_index_template/keyaudit-{DATA_STREAM}") < paths.index("/_bulk")
    assert receiver.calls("PUT", "/_index_template/") == receiver.calls("HEAD", "/_index_template/") == 1
    if flavour == "elastic":
        assert receiver.authorizations == {f"ApiKey {API_KEY}"}
        assert "ecs@mappings" in template["composed_of"]
    else:
        assert receiver.authorizations == {basic(USERNAME, OS_PASSWORD)}
        assert "composed_of" not in template
    document = next(iter(receiver.documents.values()))
    assert document["event"]["kind"] == "state" and document["event"]["dataset"] == "keyaudit.finding"
    finished = json.loads(demo.result.read_text())["scan"]["finished_at"]
    assert document["@timestamp"].startswith(finished.removesuffix("Z"))  # when the findings were judged
    done = next(
        e
        for e in log_events(demo.run.stderr)
        if e["event"] == "delivery.done" and flavour in e["destination"]
    )
    assert done["events"] == len(demo.ids)
    assert spooled(demo.spool) == []
    assert_no_secrets(demo.spool, demo.run)


def test_resending_the_result_creates_nothing_new(demo: DemoDelivery) -> None:
    assert demo.run.returncode == 0, demo.run.stderr
    before = {r.flavour: dict(r.documents) for r in (demo.elastic, demo.opensearch)}
    conflicts = {r.flavour: r.item_statuses[409] for r in (demo.elastic, demo.opensearch)}
    resend = subprocess.run(
        [
            sys.executable, "-m", "scanner", "send", str(demo.result),
            "--to", demo.elastic.url(batch="100"), "--to", demo.opensearch.url(batch="100"), "-v",
        ],
        env={**os.environ, **env(demo.spool)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )  # fmt: skip
    assert resend.returncode == 0, resend.stderr
    for receiver in (demo.elastic, demo.opensearch):
        assert receiver.documents == before[receiver.flavour]  # every _id was there: 409, not a copy
        assert receiver.item_statuses[409] - conflicts[receiver.flavour] == len(demo.ids)
        assert receiver.calls("PUT", "/_index_template/") == 1  # the template exists: left as it is
        assert not receiver.problems
    assert spooled(demo.spool) == []
    assert_no_secrets(demo.spool, resend)


# ----------------------------------------------------------------------------------------------- templates
def test_without_template_rights_delivery_warns_and_goes_on(demo: DemoDelivery, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    receiver = BulkReceiver("elastic", authorization=basic(USERNAME, PASSWORD), templates_forbidden=True)
    receiver.streams[DATA_STREAM] = {}  # the data stream exists already (made by an administrator)
    try:
        users = env(
            spool,
            KEYAUDIT_ELASTIC_API_KEY="",
            KEYAUDIT_ELASTIC_USERNAME=USERNAME,
            KEYAUDIT_ELASTIC_PASSWORD=PASSWORD,
        )
        run = subprocess.run(
            [sys.executable, "-m", "scanner", "send", str(demo.result), "--to", receiver.url(), "-v"],
            env={**os.environ, **users}, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        warning = next(
            e for e in log_events(run.stderr) if e["event"] == "delivery.index_template_not_managed"
        )
        assert warning["level"] == "warning" and "HTTP 403" in warning["problem"]
        assert "manage_index_templates" in warning["hint"]
        assert receiver.calls("HEAD", "/_index_template/") + receiver.calls("GET", "/_index_template/") == 1
        assert receiver.calls("PUT", "/_index_template/") == 0
        assert sorted(d["event"]["id"] for d in receiver.documents.values()) == sorted(demo.ids)
        assert receiver.authorizations == {basic(USERNAME, PASSWORD)}

        requests = len(receiver.requests)
        skipped = subprocess.run(
            [sys.executable, "-m", "scanner", "send", str(demo.result), "--to", receiver.url(template="false")],
            env={**os.environ, **users}, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert skipped.returncode == 0, skipped.stderr
        assert {path for _, path in receiver.requests[requests:]} == {"/_bulk"}  # no template call at all
        assert "index_template" not in skipped.stderr
    finally:
        receiver.stop()
    assert not receiver.problems
    assert_no_secrets(spool, run, skipped)


# ----------------------------------------------------------------------------------------------- refusals
def test_refusals_stay_spooled_unretried_and_never_show_credentials(
    demo: DemoDelivery, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    wrong_key = BulkReceiver("elastic", authorization="ApiKey another-key")
    picky = BulkReceiver("opensearch", authorization=basic(USERNAME, OS_PASSWORD))
    try:
        refused = subprocess.run(
            [sys.executable, "-m", "scanner", "send", str(demo.result), "--to", wrong_key.url(), "-v"],
            env={**os.environ, **env(spool)}, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert refused.returncode == 1
        assert "Elasticsearch refused the credentials (HTTP 401" in refused.stderr
        assert "KEYAUDIT_ELASTIC_API_KEY" in refused.stderr
        assert wrong_key.requests == [("HEAD", f"/_index_template/keyaudit-{DATA_STREAM}")]  # not retried

        picky.refuse_findings = {demo.ids[3]}  # a mapping conflict: no retry can help
        unparsable = subprocess.run(
            [sys.executable, "-m", "scanner", "send", str(demo.result), "--to", picky.url(), "-v"],
            env={**os.environ, **env(spool)}, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert unparsable.returncode == 1
        assert "OpenSearch refused 1 of 500 documents (HTTP 400; first: document_parsing_exception" in (
            unparsable.stderr
        )
        assert picky.bulk_posts == 1  # the bad batch once (not retried); the next one is kept for later
        assert len(picky.documents) == 499

        in_url = subprocess.run(
            [sys.executable, "-m", "scanner", "send", str(demo.result),
             "--to", f"elastic://elastic:{PASSWORD}@127.0.0.1:{picky.port}"],
            env={**os.environ, **env(spool)}, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert in_url.returncode == 2 and "credentials do not belong in the URL" in in_url.stderr
    finally:
        wrong_key.stop()
        picky.stop()
    assert any(e["level"] == "debug" for e in log_events(refused.stderr))  # -v really logged more
    assert len(spooled(spool)) >= 2  # both destinations kept what they refused
    assert_no_secrets(spool, refused, unparsable, in_url)


def test_the_elastic_client_insists_on_elasticsearch() -> None:
    """A server without Elasticsearch's product header (here OpenSearch) is refused, not retried."""
    impostor = BulkReceiver("opensearch", authorization=None)
    destination = open_destination(f"elastic://127.0.0.1:{impostor.port}?tls=false&template=false")
    try:
        with pytest.raises(DeliveryError) as caught:
            destination.send([SpooledEvent("a", {"@timestamp": "x"})], deadline=time.monotonic() + 10)
    finally:
        destination.close()
        impostor.stop()
    assert "is not Elasticsearch (for OpenSearch use opensearch://)" in str(caught.value)
    assert not caught.value.retryable


# ----------------------------------------------------------------------------------------------- TLS
@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, ssl.SSLContext]:
    """A throwaway self-signed certificate for 127.0.0.1, and a server context using it."""
    cert_path, key_path = self_signed(tmp_path, "node")
    context = server_context(cert_path, key_path)
    return cert_path, context


@pytest.mark.parametrize("flavour", ["elastic", "opensearch"])
def test_tls_is_the_default_and_verifies_against_ca(
    certificate: tuple[Path, ssl.SSLContext], monkeypatch: pytest.MonkeyPatch, flavour: str
) -> None:
    cert_path, context = certificate
    for name, value in env(Path("unused")).items():
        monkeypatch.setenv(name, value)
    receiver = BulkReceiver(flavour, authorization=None, tls=context)
    base = f"{flavour}://127.0.0.1:{receiver.port}"
    events = [
        SpooledEvent(
            "f1",
            {"@timestamp": "2026-11-22T09:00:00.000Z", "ecs": {}, "event": {"id": "f1", "kind": "state"}},
        )
    ]
    try:
        untrusted = open_destination(base)  # tls=true by default, the system store: our CA is not in it
        with pytest.raises(DeliveryError) as caught:
            untrusted.send(events, deadline=time.monotonic() + 10)
        untrusted.close()
        assert "TLS error" in str(caught.value) and not caught.value.retryable
        trusted = open_destination(f"{base}?ca={cert_path}")
        trusted.send(events, deadline=time.monotonic() + 10)
        trusted.close()
    finally:
        receiver.stop()
    assert list(receiver.documents) == ["f1:2026-11-22T09:00:00.000Z"]
    assert not receiver.problems


# ----------------------------------------------------------------------------------------------- URLs
@pytest.mark.parametrize(
    ("url", "environment", "message"),
    [
        (f"elastic://elastic:{PASSWORD}@127.0.0.1:9200", {}, "credentials do not belong in the URL"),
        (f"elastic://127.0.0.1:9200?api_key={API_KEY}", {}, "KEYAUDIT_ELASTIC_API_KEY"),
        (f"opensearch://admin:{OS_PASSWORD}@127.0.0.1:9200", {}, "KEYAUDIT_OPENSEARCH_USERNAME"),
        ("elastic://127.0.0.1:9200?data_stream=Logs*", {}, "data_stream='Logs*': use lower-case letters"),
        ("elastic://127.0.0.1:9200?index=findings", {}, "unknown query parameter(s) index"),
        (f"elastic://127.0.0.1:9200?tls=false&ca={__file__}", {}, "ca= needs tls=true"),
        ("opensearch://127.0.0.1:9200?ca=/nonexistent.pem", {}, "ca=/nonexistent.pem: no such file"),
        ("elastic://127.0.0.1:9200/logs/_bulk", {}, "no path expected"),
        ("opensearch://127.0.0.1:9200?batch=0", {}, "batch='0': expected a whole number"),
        (
            "elastic://127.0.0.1:9200",
            {"KEYAUDIT_ELASTIC_USERNAME": USERNAME, "KEYAUDIT_ELASTIC_PASSWORD": PASSWORD},
            "set either KEYAUDIT_ELASTIC_API_KEY or KEYAUDIT_ELASTIC_USERNAME/KEYAUDIT_ELASTIC_PASSWORD",
        ),
        (
            "opensearch://127.0.0.1:9200",
            {"KEYAUDIT_OPENSEARCH_PASSWORD": OS_PASSWORD, "KEYAUDIT_OPENSEARCH_USERNAME": ""},
            "set both KEYAUDIT_OPENSEARCH_USERNAME and KEYAUDIT_OPENSEARCH_PASSWORD, or neither",
        ),
    ],
)
def test_destination_urls_are_checked_before_any_work(
    monkeypatch: pytest.MonkeyPatch, url: str, environment: dict[str, str], message: str
) -> None:
    for name, value in {**env(Path("unused")), **environment}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(InputError) as caught:
        open_destination(url)
    assert message in str(caught.value)
    for secret in SECRETS:
        assert secret not in str(caught.value)


def test_url_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in NO_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    destination = open_destination("elastic://search.example")
    assert (destination.port, destination.data_stream, destination.tls) == (9200, DATA_STREAM, True)
    assert destination.batch_limits() == (500, 5_000_000)
    custom = open_destination("opensearch://[::1]:9201?data_stream=logs-kms.audit-prod&batch=50")
    assert (custom.data_stream, custom.template_name) == (
        "logs-kms.audit-prod",
        "keyaudit-logs-kms.audit-prod",
    )
    assert custom.batch_limits()[0] == 50
