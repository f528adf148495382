"""Delivery to SIEM destinations: Splunk HEC through a loopback HTTP receiver that checks what a real
collector checks (token, envelope, channel, acknowledgements), the spool (kill -9 mid-delivery loses
nothing), the destination registry and URL rules, secrets kept out of every output, and reading a saved
result back. Everything runs through the real CLI or the real delivery code, on 127.0.0.1 only."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from scanner.delivery import DestinationURL, open_destination
from scanner.errors import InputError
from scanner.results import load_result
from tests import factories as f
from tests.receivers import QuietHandler

TOKEN = "5ecr3t-hec-token-0f8c1d"  # a test token the outputs must never show
FAST_RETRIES = {
    "KEYAUDIT_DELIVERY_ATTEMPTS": "3",
    "KEYAUDIT_DELIVERY_BUDGET": "3",
    "KEYAUDIT_DELIVERY_BACKOFF": "0.05",
}
ENVELOPE_KEYS = {"time", "host", "source", "sourcetype", "index", "event", "fields"}


@pytest.fixture(autouse=True)
def _private_spool(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test may touch the user's real spool (the CLI subprocesses inherit this environment)."""
    monkeypatch.setenv("KEYAUDIT_SPOOL_DIR", str(tmp_path / "default-spool"))


# ----------------------------------------------------------------------------------------------- receiver
class HecReceiver:
    """A loopback HTTP Event Collector. Records every event it accepted; answers like Splunk does."""

    def __init__(
        self, *, token: str = TOKEN, ack: bool = False, index: str | None = None, port: int = 0
    ) -> None:
        self.token = token
        self.ack = ack
        self.index = index
        self.events: list[dict] = []
        self.problems: list[str] = []  # envelope or protocol violations seen in handler threads
        self.posts = 0
        self.ack_polls = 0
        self.channels: set[str] = set()
        self.fail_next: list[int] = []  # HTTP statuses to answer to the next event posts
        self.hold = threading.Event()  # set: event posts are received, then held unanswered
        self.release = threading.Event()
        self.first_post = threading.Event()
        self._acks: dict[int, int] = {}  # ackId -> polls still answered "false"
        self._next_ack = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                receiver._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, **params: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"tls": "false", **params}.items())
        return f"splunk-hec://127.0.0.1:{self.port}?{query}"

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    # -- protocol
    def _answer(self, handler: BaseHTTPRequestHandler, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            pass  # the client is gone (killed)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length", "0")))
        if handler.headers.get("Authorization") != f"Splunk {self.token}":
            return self._answer(handler, 401, {"text": "Invalid authorization", "code": 3})
        parts = urlsplit(handler.path)
        channel = handler.headers.get("X-Splunk-Request-Channel")
        if self.ack:
            try:
                uuid.UUID(channel or "")
            except ValueError:
                return self._answer(handler, 400, {"text": "Data channel is missing", "code": 10})
        if parts.path == "/services/collector/ack":
            return self._handle_ack(handler, body, channel, parse_qs(parts.query))
        if parts.path != "/services/collector/event":
            return self._answer(handler, 404, {"text": "The requested URL was not found", "code": 404})
        with self._lock:
            self.posts += 1
            if self.fail_next:
                return self._answer(handler, self.fail_next.pop(0), {"text": "Server is busy", "code": 9})
            if channel:
                self.channels.add(channel)
            for line in body.split(b"\n"):
                self._check_envelope(json.loads(line))
            ack_id = self._next_ack
            self._next_ack += 1
            self._acks[ack_id] = 1
        self.first_post.set()
        if self.hold.is_set():
            self.release.wait(30)
            return  # never answered: the sender was killed meanwhile
        answer: dict = {"text": "Success", "code": 0}
        if self.ack:
            answer["ackId"] = ack_id
        return self._answer(handler, 200, answer)

    def _handle_ack(
        self, handler: BaseHTTPRequestHandler, body: bytes, channel: str | None, query: dict
    ) -> None:
        if query.get("channel") != [channel] or channel not in self.channels:
            self.problems.append(f"ack poll on channel {query.get('channel')} with header {channel}")
        with self._lock:
            self.ack_polls += 1
            acks = {}
            for ack_id in json.loads(body)["acks"]:
                left = self._acks.get(ack_id)
                acks[str(ack_id)] = left == 0
                if left:
                    self._acks[ack_id] = left - 1  # "false" once, then indexed
        self._answer(handler, 200, {"acks": acks})

    def _check_envelope(self, envelope: dict) -> None:
        missing = {"time", "host", "source", "sourcetype", "event"} - set(envelope)
        if missing or set(envelope) - ENVELOPE_KEYS:
            self.problems.append(f"envelope keys {sorted(envelope)}")
        if not isinstance(envelope.get("time"), int | float):
            self.problems.append(f"time {envelope.get('time')!r}")
        if self.index is not None and envelope.get("index") != self.index:
            self.problems.append(f"index {envelope.get('index')!r}")
        uid = envelope["event"]["finding_info"]["uid"]
        if envelope.get("fields", {}).get("finding_id") != uid:
            self.problems.append(f"fields.finding_id {envelope.get('fields')} for {uid}")
        self.events.append(envelope)

    @property
    def ids(self) -> list[str]:
        return [e["event"]["finding_info"]["uid"] for e in self.events]


@pytest.fixture
def hec() -> Iterator[HecReceiver]:
    receiver = HecReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def hec_ack() -> Iterator[HecReceiver]:
    receiver = HecReceiver(ack=True, index="security")
    yield receiver
    receiver.stop()


# ----------------------------------------------------------------------------------------------- helpers
def estate():
    keys = tuple(f.key(f"k{i}") for i in range(12))
    return f.inventory(keys=keys)


@pytest.fixture(scope="module")
def saved_result(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A native JSON result from a real run (about 150 findings), made once for the module."""
    directory = tmp_path_factory.mktemp("result")
    inventory = directory / "inventory.json"
    inventory.write_text(estate().model_dump_json(), encoding="utf-8")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "scanner",
            "evaluate",
            str(inventory),
            "-o",
            "result.json",
            "--fail-on",
            "none",
        ],
        cwd=directory,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return directory / "result.json"


@pytest.fixture
def result_file(saved_result: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "result.json"
    copy.write_bytes(saved_result.read_bytes())
    return copy


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ids_of(result: Path) -> list[str]:
    return [finding["finding_id"] for finding in json.loads(result.read_text())["findings"]]


def env(spool: Path, **extra: str) -> dict[str, str]:
    return {**FAST_RETRIES, "KEYAUDIT_SPLUNK_HEC_TOKEN": TOKEN, "KEYAUDIT_SPOOL_DIR": str(spool), **extra}


def log_events(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def spooled(spool: Path) -> list[Path]:
    return sorted(spool.glob("*/batch-*.ndjson"))


# ----------------------------------------------------------------------------------------------- HEC
def test_hec_receives_every_finding_in_batches_with_acknowledgements(
    hec_ack: HecReceiver, keyaudit, result_file: Path, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    url = hec_ack.url(ack="true", index="security", sourcetype="keyaudit:ocsf", batch="40")
    sent = keyaudit("send", str(result_file), "--to", url, env=env(spool))
    assert sent.returncode == 0, sent.stderr
    ids = ids_of(result_file)
    assert not hec_ack.problems
    assert sorted(hec_ack.ids) == sorted(ids)
    assert hec_ack.posts == -(-len(ids) // 40)  # batches of at most 40 events
    assert hec_ack.ack_polls >= 2 * hec_ack.posts  # each batch waited for its ackId to turn true
    assert len(hec_ack.channels) == 1
    event = hec_ack.events[0]
    assert event["sourcetype"] == "keyaudit:ocsf" and event["source"] == "keyaudit"
    assert event["event"]["class_uid"] == 2003
    done = [e for e in log_events(sent.stderr) if e["event"] == "delivery.done"]
    assert done and done[0]["events"] == len(ids)
    assert spooled(spool) == []


def test_hec_retries_a_busy_collector_and_stops_at_a_refusal(
    hec: HecReceiver, keyaudit, result_file: Path, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    hec.fail_next = [503, 503]  # busy twice, then accepts: retried with backoff, nothing left over
    busy = keyaudit("send", str(result_file), "--to", hec.url(), env=env(spool))
    assert busy.returncode == 0, busy.stderr
    assert sorted(hec.ids) == sorted(ids_of(result_file))
    assert hec.posts == 2 + -(-len(hec.ids) // 100)

    posts = hec.posts
    hec.fail_next = [400]  # refused for good: not retried, kept spooled, send exits 1
    refused = keyaudit("send", str(result_file), "--to", hec.url(), env=env(spool))
    assert refused.returncode == 1
    assert hec.posts == posts + 1
    assert "still spooled" in refused.stderr and "HTTP 400" in refused.stderr
    assert sum(p.read_text().count("\n") for p in spooled(spool)) == len(hec.ids)


def test_run_with_hec_down_spools_warns_and_keeps_the_exit_code(
    keyaudit, write_inventory, tmp_path: Path
) -> None:
    inventory = write_inventory(estate())
    spool = tmp_path / "spool"
    port = free_port()  # nothing listens there yet
    url = f"splunk-hec://127.0.0.1:{port}?tls=false"
    plain = keyaudit("evaluate", str(inventory), "--format", "json", "-o", "result.json")
    run = keyaudit(
        "evaluate", str(inventory), "--format", "json", "-o", "result.json", "--to", url, env=env(spool)
    )
    assert run.returncode == plain.returncode == 3
    ids = ids_of(tmp_path / "result.json")
    warning = next(e for e in log_events(run.stderr) if e["event"] == "delivery.incomplete")
    assert warning["level"] == "warning" and warning["destination"] == url
    assert warning["spooled_events"] == len(ids) and "connection refused" in warning["problem"]

    up = HecReceiver(port=port)
    try:
        again = keyaudit("send", "--spool", env=env(spool))  # every spooled destination, from the spool
        assert again.returncode == 0, again.stderr
    finally:
        up.stop()
    assert not up.problems
    assert sorted(up.ids) == sorted(ids)  # exactly once: nothing had been delivered before
    assert spooled(spool) == []


def test_kill_9_mid_delivery_then_send_spool_delivers_everything(
    hec: HecReceiver, result_file: Path, tmp_path: Path
) -> None:
    import os

    spool = tmp_path / "spool"
    ids = ids_of(result_file)
    hec.hold.set()  # the collector takes the first batch and never answers
    sender = subprocess.Popen(
        [sys.executable, "-m", "scanner", "send", str(result_file), "--to", hec.url(batch="25"), "-v"],
        env={**os.environ, **env(spool, KEYAUDIT_DELIVERY_BUDGET="60")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert hec.first_post.wait(30), "the sender never posted"
        batches = spooled(spool)
        assert sum(p.read_text().count("\n") for p in batches) == len(ids)  # all spooled before sending
        sender.send_signal(signal.SIGKILL)
        sender.wait(10)
    finally:
        if sender.poll() is None:
            sender.kill()
        out, err = sender.communicate()
    assert sender.returncode == -signal.SIGKILL
    assert TOKEN.encode() not in out + err
    assert spooled(spool) == batches  # nothing was acknowledged, nothing removed
    first_delivery = list(hec.ids)
    assert 0 < len(first_delivery) <= 25

    hec.hold.clear()
    hec.release.set()
    resumed = subprocess.run(
        [sys.executable, "-m", "scanner", "send", "--spool"],
        env={**os.environ, **env(spool)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert not hec.problems
    counts = Counter(hec.ids)
    assert set(counts) == set(ids)  # every finding arrived: exactly once after dedup by id
    assert all(counts[i] == 2 for i in first_delivery)  # the unacknowledged batch came again
    assert sum(counts.values()) == len(ids) + len(first_delivery)
    assert spooled(spool) == []


# ----------------------------------------------------------------------------------------------- secrets
def test_the_token_never_appears_in_outputs_logs_or_spool(
    keyaudit, result_file: Path, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    wrong = HecReceiver(token="another-token")
    try:
        refused = keyaudit("send", str(result_file), "--to", wrong.url(ack="true"), "-v", env=env(spool))
    finally:
        wrong.stop()
    assert refused.returncode == 1
    assert "refused the token from KEYAUDIT_SPLUNK_HEC_TOKEN (HTTP 401" in refused.stderr
    down = keyaudit(
        "send", str(result_file), "--to", wrong.url(), "-v", "--log-format", "console", env=env(spool)
    )
    assert down.returncode == 1
    in_url = keyaudit(
        "send", str(result_file), "--to", f"splunk-hec://x:{TOKEN}@127.0.0.1:8088", env=env(spool)
    )
    assert in_url.returncode == 2 and "credentials do not belong in the URL" in in_url.stderr
    in_query = keyaudit(
        "send", str(result_file), "--to", f"splunk-hec://127.0.0.1:8088?token={TOKEN}", env=env(spool)
    )
    assert in_query.returncode == 2 and "KEYAUDIT_SPLUNK_HEC_TOKEN" in in_query.stderr
    for run in (refused, down, in_url, in_query):
        assert TOKEN not in run.stdout + run.stderr
    assert any(e["level"] == "debug" for e in log_events(refused.stderr))  # -v really logged more
    files = list(spool.rglob("*"))
    assert spooled(spool)  # the refused events wait in the spool ...
    for path in files:  # ... without the token, in names or contents
        assert TOKEN not in str(path.relative_to(spool))
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes()


def test_missing_token_is_a_usage_error_before_any_work(keyaudit, result_file: Path, tmp_path: Path) -> None:
    run = keyaudit(
        "send", str(result_file), "--to", "splunk-hec://127.0.0.1:8088",
        env={"KEYAUDIT_SPLUNK_HEC_TOKEN": "", "KEYAUDIT_SPOOL_DIR": str(tmp_path / "spool")},
    )  # fmt: skip
    assert run.returncode == 2
    assert "set the HEC token in the environment variable KEYAUDIT_SPLUNK_HEC_TOKEN" in run.stderr
    assert not spooled(tmp_path / "spool")


# ----------------------------------------------------------------------------------------------- registry
@pytest.mark.parametrize(
    ("url", "error", "message"),
    [
        ("kafka://127.0.0.1:9092", InputError, "--to: unknown destination scheme 'kafka'"),
        ("syslog+tcp://127.0.0.1:514?formt=cef", InputError, "unknown query parameter(s) formt"),
        ("syslog+tcp://127.0.0.1:514?format=xml", InputError, "format='xml': choose from json, cef"),
        ("syslog+tls://127.0.0.1:6514?ca=/nonexistent.pem", InputError, "ca=/nonexistent.pem: no such file"),
        ("syslog+udp://127.0.0.1:notaport", InputError, "bad port"),
        ("syslog+udp://127.0.0.1:514?max_size=10", InputError, "max_size='10': expected a whole number"),
        ("splunk-hec://127.0.0.1:8088/services/collector", InputError, "no path expected"),
        ("not a url", InputError, "--to: not a destination URL"),
    ],
)
def test_destination_urls_are_checked_by_the_registry(
    monkeypatch: pytest.MonkeyPatch, url: str, error: type[Exception], message: str
) -> None:
    monkeypatch.setenv("KEYAUDIT_SPLUNK_HEC_TOKEN", TOKEN)
    with pytest.raises(error) as caught:
        open_destination(url, flag="--to")
    assert message in str(caught.value)


def test_redacted_url_and_spool_key_leave_credentials_out() -> None:
    with_secrets = DestinationURL.parse("elastic://ops:pa55word@10.0.0.1:9200/x?index=a&api_key=zz")
    without = DestinationURL.parse("elastic://10.0.0.1:9200/x?index=a")
    assert with_secrets.has_credentials and not without.has_credentials
    assert with_secrets.redacted == without.redacted == "elastic://10.0.0.1:9200/x?index=a"
    assert with_secrets.key == without.key and with_secrets.key.startswith("elastic-")
    reordered = DestinationURL.parse("syslog+udp://LOGS.example:514?format=cef&facility=local4")
    assert (
        reordered.key == DestinationURL.parse("syslog+udp://logs.example:514?facility=local4&format=cef").key
    )
    assert "secret" not in repr(DestinationURL.parse("elastic://u:secret@h:1"))


@pytest.mark.parametrize(
    ("url", "code"), [("kafka://127.0.0.1:1", 2), ("elastic://ops:secret@127.0.0.1:9200", 2)]
)
def test_a_bad_destination_stops_the_run_before_any_work(
    keyaudit, write_inventory, tmp_path: Path, url: str, code: int
) -> None:
    inventory = write_inventory(estate())
    run = keyaudit(
        "evaluate", str(inventory), "-o", "result.json", "--to", url, "--spool-dir", str(tmp_path / "s")
    )
    assert run.returncode == code, run.stderr
    assert "--to" in run.stderr and url.split(":", maxsplit=1)[0] in run.stderr
    assert "secret" not in run.stderr  # a password given in the URL is refused, never echoed
    assert not (tmp_path / "result.json").exists()


def test_send_needs_a_result_or_the_spool(keyaudit, result_file: Path, tmp_path: Path) -> None:
    nothing = keyaudit("send")
    assert nothing.returncode == 2 and "--spool" in nothing.stderr
    nowhere = keyaudit("send", str(result_file))
    assert nowhere.returncode == 2 and "--to URL" in nowhere.stderr
    empty = keyaudit("send", "--spool", "--spool-dir", str(tmp_path / "empty"))
    assert empty.returncode == 0, empty.stderr


# ----------------------------------------------------------------------------------------------- results
def test_load_result_round_trips_a_real_result(result_file: Path) -> None:
    scan, findings = load_result(result_file)
    document = json.loads(result_file.read_text())
    assert scan == document["scan"]
    assert [json.loads(f.to_json()) for f in findings] == document["findings"]


def _truncated(document: dict) -> str:
    text = json.dumps(document)
    return text[: len(text) // 2]


def _bad_severity(document: dict) -> str:
    document["findings"][1]["severity"] = "urgent"
    return json.dumps(document)


def _future_schema(document: dict) -> str:
    document["schema_version"] = "9.0"
    return json.dumps(document)


@pytest.mark.parametrize(
    ("mutate", "place"),
    [
        (_truncated, "invalid JSON: EOF while parsing"),
        (_bad_severity, "at findings[1].severity: Input should be 'critical'"),
        (_future_schema, "at schema_version: result schema '9.0' is not supported"),
    ],
)
def test_load_result_names_the_file_and_the_place(
    result_file: Path, tmp_path: Path, mutate, place: str
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(mutate(json.loads(result_file.read_text())))
    with pytest.raises(InputError) as caught:
        load_result(broken)
    assert str(broken) in str(caught.value) and place in str(caught.value)


def test_an_inventory_is_not_a_result(keyaudit, write_inventory) -> None:
    inventory = write_inventory(estate())
    run = keyaudit("send", str(inventory), "--to", "syslog+udp://127.0.0.1:9")
    assert run.returncode == 2
    assert f"{inventory.name}: not a keyaudit JSON result" in run.stderr
    assert "at findings: Field required" in run.stderr and "an inventory is not a result" in run.stderr
