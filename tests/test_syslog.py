"""Syslog delivery against real receivers on 127.0.0.1: Debian's rsyslogd (TCP and UDP), started here
with a generated configuration that writes every raw message to a file, and a loopback TLS receiver with
a throwaway certificate. The rsyslog tests never skip silently: without rsyslogd they fail and say how to
install it (`make test` does it through scripts/ensure-rsyslog.sh), unless KEYAUDIT_SKIP_RSYSLOG=1."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from scanner.inventory import Capability
from tests import factories as f
from tests.certs import self_signed, server_context

# A resource name a hostile tenant could choose: every CEF metacharacter, and line breaks.
HOSTILE = "evil|pipe=eq\\back\nnew\rline"
FAST_RETRIES = {
    "KEYAUDIT_DELIVERY_ATTEMPTS": "2",
    "KEYAUDIT_DELIVERY_BUDGET": "2",
    "KEYAUDIT_DELIVERY_BACKOFF": "0.05",
}
PROBE = "keyaudit-test-probe"
# RFC 5424 as keyaudit writes it: PRI, version 1, timestamp, host, app, procid, msgid, two SD elements, msg.
SYSLOG_LINE = re.compile(
    r"^<(?P<pri>\d{1,3})>1 (?P<ts>\S+) (?P<host>\S+) keyaudit (?P<procid>\d+) (?P<msgid>\S{1,32}) "
    r'\[keyaudit@32473 finding_id="(?P<id>[0-9a-f]{32})" rule_id="(?P<rule>[a-z0-9_]+)" '
    r'status="(?P<status>[a-z]+)" severity="(?P<severity>[a-z]+)"\]'
    r'\[origin software="keyaudit" swVersion="[^"]+"\] (?P<msg>.*)$'
)
SEVERITY_CODE = {"critical": 2, "high": 3, "medium": 4, "low": 5, "info": 6}


@pytest.fixture(autouse=True)
def _private_spool(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test may touch the user's real spool (the CLI subprocesses inherit this environment)."""
    monkeypatch.setenv("KEYAUDIT_SPOOL_DIR", str(tmp_path / "default-spool"))


# ----------------------------------------------------------------------------------------------- rsyslog
def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Rsyslog:
    process: subprocess.Popen[bytes]
    tcp_port: int
    udp_port: int
    directory: Path

    def lines(self, transport: str, count: int, timeout: float = 10) -> list[str]:
        """The first ``count`` messages written for ``transport`` (waits for them; probes left out)."""
        path = self.directory / f"{transport}.log"
        deadline = time.monotonic() + timeout
        found: list[str] = []
        while time.monotonic() < deadline:
            if path.exists():
                found = [
                    line
                    for line in path.read_text(encoding="utf-8").split("\n")
                    if line and PROBE not in line
                ]
                if len(found) >= count:
                    return found
            time.sleep(0.05)
        raise AssertionError(f"rsyslog wrote {len(found)} of {count} {transport} messages in {timeout}s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def rsyslogd() -> str:
    if os.environ.get("KEYAUDIT_SKIP_RSYSLOG") == "1":
        pytest.skip("KEYAUDIT_SKIP_RSYSLOG=1: the rsyslog delivery tests are skipped on request")
    binary = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
    if not Path(binary).exists():
        pytest.fail(
            "rsyslogd is missing: `apt-get install -y --no-install-recommends rsyslog` (`make test` does it "
            "through scripts/ensure-rsyslog.sh), or set KEYAUDIT_SKIP_RSYSLOG=1 to skip these tests on purpose."
        )
    return binary


def start_rsyslog(directory: Path, *, tcp_port: int | None = None) -> Rsyslog:
    """rsyslogd in the foreground (-n) with its own configuration: imtcp and imudp on loopback, each
    writing the raw messages (no framing, no rewriting) to its own file."""
    binary = rsyslogd()
    directory.mkdir(parents=True, exist_ok=True)
    tcp_port = tcp_port or free_port()
    udp_port = free_port(socket.SOCK_DGRAM)
    config = directory / "rsyslog.conf"
    config.write_text(
        f"""
global(workDirectory="{directory}" maxMessageSize="64k")
module(load="imtcp")
module(load="imudp")
template(name="raw" type="string" string="%rawmsg%\\n")
ruleset(name="tcp") {{ action(type="omfile" file="{directory}/tcp.log" template="raw") }}
ruleset(name="udp") {{ action(type="omfile" file="{directory}/udp.log" template="raw") }}
input(type="imtcp" address="127.0.0.1" port="{tcp_port}" ruleset="tcp")
input(type="imudp" address="127.0.0.1" port="{udp_port}" ruleset="udp" rcvbufSize="8m")
""",
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [binary, "-n", "-f", str(config), "-i", str(directory / "rsyslogd.pid")],
        stdout=subprocess.DEVNULL,
        stderr=(directory / "rsyslogd.err").open("wb"),
        stdin=subprocess.DEVNULL,
    )
    server = Rsyslog(process, tcp_port, udp_port, directory)
    try:
        _wait_until_listening(server)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_until_listening(server: Rsyslog) -> None:
    deadline = time.monotonic() + 10
    probe = f"<14>1 - - - - - - {PROBE}".encode()
    tcp_ready = udp_ready = False
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(
                f"rsyslogd exited: {(server.directory / 'rsyslogd.err').read_text(errors='replace')}"
            )
        if not tcp_ready:
            with contextlib.suppress(OSError):  # not listening yet: try again
                with socket.create_connection(("127.0.0.1", server.tcp_port), timeout=0.2) as sock:
                    sock.sendall(b"%d %s" % (len(probe), probe))
                tcp_ready = True
        if tcp_ready and not udp_ready:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.sendto(probe, ("127.0.0.1", server.udp_port))
            log = server.directory / "udp.log"
            udp_ready = log.exists() and PROBE in log.read_text(errors="replace")
        if tcp_ready and udp_ready:
            return
        time.sleep(0.02)
    raise AssertionError("rsyslogd did not start listening in 10 s")


@pytest.fixture
def rsyslog(tmp_path: Path) -> Iterator[Rsyslog]:
    server = start_rsyslog(tmp_path / "rsyslog")
    yield server
    server.stop()


# ----------------------------------------------------------------------------------------------- helpers
def parse_syslog(line: str) -> dict[str, str]:
    match = SYSLOG_LINE.match(line)
    assert match, f"not an RFC 5424 message as keyaudit writes them: {line[:300]!r}"
    return match.groupdict()


def parse_cef(text: str) -> tuple[list[str], dict[str, str]]:
    """A CEF record per the ArcSight spec: 7 header fields split on unescaped '|' (escapes \\| and \\\\),
    then key=value extensions (escapes \\=, \\\\, \\n, \\r; a value runs to the next ' key=')."""
    header: list[str] = []
    current = ""
    i = 0
    while len(header) < 7:
        char = text[i]
        if char == "\\" and text[i + 1] in "|\\":
            current += text[i + 1]
            i += 2
            continue
        if char == "|":
            header.append(current)
            current = ""
        else:
            current += char
        i += 1
    extension = text[i:]
    starts = [(m.start(1), m.end(0), m.group(1)) for m in re.finditer(r"(?:^| )([A-Za-z0-9_]+)=", extension)]
    values: dict[str, str] = {}
    for n, (_, value_start, key) in enumerate(starts):
        value_end = starts[n + 1][0] - 1 if n + 1 < len(starts) else len(extension)
        raw = extension[value_start:value_end]
        assert "=" not in raw.replace("\\\\", "").replace("\\=", ""), f"unescaped '=' in {raw!r}"
        values[key] = re.sub(
            r"\\(.)", lambda m: {"n": "\n", "r": "\r"}.get(m.group(1), m.group(1)), raw, flags=re.S
        )
    return header, values


def hostile_inventory():
    key = f.key(HOSTILE, name=HOSTILE)
    admin = f.principal("arn:aws:iam::111122223333:role/KeyAdmin")
    return f.inventory(
        keys=(key, f.key("plain")),
        principals=(admin,),
        bindings=(f.binding(admin.uid, key.uid, Capability.ADMINISTER_ACCESS, Capability.DECRYPT),),
    )


def result_ids(path: Path) -> list[str]:
    return [finding["finding_id"] for finding in json.loads(path.read_text())["findings"]]


def log_events(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


# ----------------------------------------------------------------------------------------------- tests
def test_rsyslog_receives_escaped_cef_over_tcp_and_ocsf_over_udp(
    rsyslog: Rsyslog, keyaudit, write_inventory, tmp_path: Path
) -> None:
    inventory = write_inventory(hostile_inventory())
    result = keyaudit(
        "evaluate", str(inventory), "--as-of", "2026-11-22", "--format", "json", "-o", "result.json",
        "--to", f"syslog+tcp://127.0.0.1:{rsyslog.tcp_port}?format=cef",
        "--to", f"syslog+udp://127.0.0.1:{rsyslog.udp_port}?facility=local4",
        "--spool-dir", str(tmp_path / "spool"), "-q",
        env=FAST_RETRIES,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr  # delivery does not change the exit code
    findings = {f["finding_id"]: f for f in json.loads((tmp_path / "result.json").read_text())["findings"]}

    tcp = [parse_syslog(line) for line in rsyslog.lines("tcp", len(findings))]
    assert sorted(m["id"] for m in tcp) == sorted(findings)  # each finding exactly once
    raw_tcp = (rsyslog.directory / "tcp.log").read_text(encoding="utf-8")
    assert "#012" not in raw_tcp and "#015" not in raw_tcp  # no raw line break reached rsyslog
    hostile_seen = 0
    for message in tcp:
        finding = findings[message["id"]]
        assert message["msgid"] == finding["rule_id"][:32]
        assert message["rule"] == finding["rule_id"]
        failing = finding["status"] != "pass" and not finding["waived"]
        assert int(message["pri"]) == 13 * 8 + (SEVERITY_CODE[finding["severity"]] if failing else 6)
        dt.datetime.fromisoformat(message["ts"])
        header, ext = parse_cef(message["msg"])
        assert header[0] == "CEF:0" and header[4] == finding["rule_id"]
        assert ext["externalId"] == message["id"]
        assert ext["cs4"] == finding["resource"]["uid"]  # escaped on the wire, exact once unescaped
        if HOSTILE in ext["cs4"]:
            hostile_seen += 1
            assert "pipe\\=eq\\\\back\\nnew\\rline" in message["msg"]  # the escaped form on the wire
    assert hostile_seen >= 1

    udp = [parse_syslog(line) for line in rsyslog.lines("udp", len(findings))]
    assert sorted(m["id"] for m in udp) == sorted(findings)
    for message in udp:
        assert int(message["pri"]) // 8 == 20  # local4
        event = json.loads(message["msg"])  # one whole OCSF event per datagram
        assert event["finding_info"]["uid"] == message["id"]
        assert event["class_uid"] == 2003
    hostile_events = [
        json.loads(m["msg"]) for m in udp if HOSTILE in json.loads(m["msg"])["resources"][0]["uid"]
    ]
    assert hostile_events and all(e["resources"][0]["name"] == HOSTILE for e in hostile_events)
    assert not list((tmp_path / "spool").glob("*/batch-*"))  # delivered: nothing left spooled


def test_receiver_down_then_up_every_finding_arrives_once(keyaudit, write_inventory, tmp_path: Path) -> None:
    inventory = write_inventory(hostile_inventory())
    spool = tmp_path / "spool"
    port = free_port()  # nothing listens there yet
    destination = f"syslog+tcp://127.0.0.1:{port}"
    plain = keyaudit("evaluate", str(inventory), "--format", "json", "-o", "result.json", "-q")
    down = keyaudit(
        "evaluate", str(inventory), "--format", "json", "-o", "result.json",
        "--to", destination, "--spool-dir", str(spool), env=FAST_RETRIES,
    )  # fmt: skip
    assert down.returncode == plain.returncode == 3, down.stderr
    ids = result_ids(tmp_path / "result.json")
    warnings = [e for e in log_events(down.stderr) if e["event"] == "delivery.incomplete"]
    assert len(warnings) == 1, down.stderr
    assert warnings[0]["level"] == "warning"
    assert warnings[0]["destination"] == destination
    assert warnings[0]["spooled_events"] == len(ids)
    assert "connection refused" in warnings[0]["problem"]
    spooled = list(spool.glob("syslog-tcp-*/batch-*.ndjson"))
    assert spooled and sum(p.read_text().count("\n") for p in spooled) == len(ids)

    server = start_rsyslog(tmp_path / "rsyslog", tcp_port=port)
    try:
        again = keyaudit("send", "--spool", "--spool-dir", str(spool), env=FAST_RETRIES)
        assert again.returncode == 0, again.stderr
        server.lines("tcp", len(ids))
        time.sleep(0.2)  # anything extra (a duplicate) would show up by now
        messages = [parse_syslog(line) for line in server.lines("tcp", len(ids))]
    finally:
        server.stop()
    assert sorted(m["id"] for m in messages) == sorted(ids)
    assert all(json.loads(m["msg"])["finding_info"]["uid"] == m["id"] for m in messages)  # OCSF, default
    assert not list(spool.glob("*/batch-*"))


def test_udp_datagrams_are_cut_to_max_size_on_character_boundaries(
    rsyslog: Rsyslog, keyaudit, write_inventory, tmp_path: Path
) -> None:
    long_name = "ключ-" * 400  # multi-byte characters, ~4 KB in every event that names the key
    inventory = write_inventory(f.inventory(keys=(f.key("k1", name=long_name),)))
    result = keyaudit(
        "evaluate", str(inventory), "--format", "json", "-o", "result.json", "--fail-on", "none",
        "--to", f"syslog+udp://127.0.0.1:{rsyslog.udp_port}?max_size=1500",
        "--spool-dir", str(tmp_path / "spool"), "-q", env=FAST_RETRIES,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    ids = result_ids(tmp_path / "result.json")
    lines = rsyslog.lines("udp", len(ids))
    assert sorted(parse_syslog(line)["id"] for line in lines) == sorted(ids)
    cut = 0
    for line in lines:
        assert len(line.encode("utf-8")) <= 1500  # decoded as UTF-8 above: no character was split
        message = parse_syslog(line)
        try:
            event = json.loads(message["msg"])
        except json.JSONDecodeError:
            cut += 1  # too large even without its evidence: cut, header and finding id intact
            continue
        assert event["finding_info"]["uid"] == message["id"]
    assert cut >= 1


@pytest.fixture
def tls_receiver(tmp_path: Path) -> Iterator[tuple[int, Path, list[bytes]]]:
    """A loopback RFC 5425 receiver (octet-counted frames over TLS) with a throwaway certificate."""
    cert_path, key_path = self_signed(tmp_path)
    context = server_context(cert_path, key_path)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    received: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue
            raw.settimeout(5)
            try:
                conn = context.wrap_socket(raw, server_side=True)
            except (ssl.SSLError, OSError):
                raw.close()  # a client that did not trust us
                continue
            data = b""
            try:
                # A sender may drop the session without close_notify: keep what arrived.
                with contextlib.suppress(ssl.SSLError, OSError):
                    while chunk := conn.recv(65536):
                        data += chunk
                    conn.unwrap()
            finally:
                conn.close()
            while data:  # octet counting: "LEN SP MSG"
                length, _, rest = data.partition(b" ")
                received.append(rest[: int(length)])
                data = rest[int(length) :]

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port, cert_path, received
    stop.set()
    thread.join(timeout=5)
    listener.close()


def test_tls_verifies_the_receiver_and_frames_by_octet_count(
    tls_receiver, keyaudit, write_inventory, tmp_path: Path
) -> None:
    port, ca, received = tls_receiver
    inventory = write_inventory(hostile_inventory())
    spool = tmp_path / "spool"
    untrusted = keyaudit(
        "evaluate", str(inventory), "--format", "json", "-o", "result.json", "--fail-on", "none",
        "--to", f"syslog+tls://127.0.0.1:{port}", "--spool-dir", str(spool), env=FAST_RETRIES,
    )  # fmt: skip
    assert untrusted.returncode == 0, untrusted.stderr
    warning = next(e for e in log_events(untrusted.stderr) if e["event"] == "delivery.incomplete")
    assert "certificate not trusted" in warning["problem"]
    assert "after" not in warning["problem"]  # not retried: retrying cannot fix trust
    assert received == []

    trusted = keyaudit(
        "evaluate", str(inventory), "--format", "json", "-o", "result.json", "--fail-on", "none",
        "--to", f"syslog+tls://127.0.0.1:{port}?ca={ca}&format=cef", "--spool-dir", str(spool), "-q",
        env=FAST_RETRIES,
    )  # fmt: skip
    assert trusted.returncode == 0, trusted.stderr
    ids = result_ids(tmp_path / "result.json")
    messages = [parse_syslog(m.decode("utf-8")) for m in received]
    assert sorted(m["id"] for m in messages) == sorted(ids)
    assert all(m["msg"].startswith("CEF:0|keyaudit|") for m in messages)
    assert any(HOSTILE in parse_cef(m["msg"])[1]["cs4"] for m in messages)
    # The untrusted URL is another destination (another spool), still holding its events.
    assert len(list(spool.glob("syslog-tls-*/batch-*"))) >= 1
