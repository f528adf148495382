"""Names, ids and messages from the cloud that try to break out of every output format.

One ``keyaudit evaluate`` run over an estate whose key names, key ids, aliases, tags, scope names,
locations, principals and collection errors carry line breaks, pipes, '=', backslashes, quotes, markup,
HTML entities, ANSI escapes, NUL, U+2028, bidirectional overrides and spreadsheet formulas; its outputs
are read back with independent parsers (CEF, LEEF, RFC 5425 octet counting, the ``csv`` module, the
standard library's HTML parser), and delivered to loopback syslog receivers started here.
"""

from __future__ import annotations

import csv
import io
import json
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from scanner.engine import discover_rules, evaluate_all
from scanner.findings import Summary
from scanner.inventory import Capability, Inventory, Provider
from scanner.output.siem_writers import cef_line
from scanner.output.table_writer import TableWriter
from tests import factories as f

# Every framing metacharacter of the formats under test, in one name; the forged line would look like
# a finding of its own in the terminal report if a line break got through.
HOSTILE = (
    "evil\nCRITICAL fail    key_forged_line  aws:111122223333  forged\rCR|pipe=eq\\back "
    "\"dq\" 'sq' <script>alert(1)</script> <img src=x onerror=alert(2)> &amp; &lt;b&gt; "
    "\x1b[31mred\x1b[0m \x1b]0;pwned\x07 \x1b[2J nul\x00 ls\u2028ps\u2029 nel\x85 tab\t "
    "rtl\u202eevil zw\u200b bom\ufeff ^caret"
)
FORMULA = "=cmd|' /C calc'!A0 " + HOSTILE  # a spreadsheet formula at the start of a cell
NAMES = {"k-formula": FORMULA, "k-plus": "+1+1", "k-minus": "-2+3", "k-at": "@SUM(1)", "k-tab": "\t=1"}
FORMAT_LIST = ("json", "csv", "html", "table", "cef", "leef", "ecs")
# Characters no line-oriented format may carry raw: they end a line for someone (Python's splitlines,
# JavaScript, syslog relays) or act on a terminal.
LINE_BREAKERS = re.compile("[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


def _estate(name: str, formula: str, names: dict[str, str]) -> Inventory:
    """The same estate shape whatever the names (the HTML structure is compared between two of them)."""
    k1 = f.key(
        "k1",
        uid=f"arn:aws:kms:{f.REGION}:{f.ACCOUNT}:key/{name}",
        name=name,
        aliases=(f"alias/{name}",),
        tags={name: name, "data_classification": name},
        rotation=None,
        location=name,
    )
    extra = tuple(f.key(key_id, name=value, rotation=None) for key_id, value in names.items())
    k_formula = f.key("k-formula-uid", uid=formula, name=formula, rotation=None)
    admin = f"arn:aws:iam::{f.ACCOUNT}:role/{name}"
    vault = f.store("vault-" + name, provider=Provider.AZURE, name=name)
    return f.inventory(
        scopes=(f.scope(name=name),),
        keys=(k1, k_formula, *extra),
        key_stores=(vault,),
        principals=(f.principal(admin),),
        bindings=(f.binding(admin, k1.uid, Capability.ADMINISTER_ACCESS, Capability.DECRYPT),),
        errors=(f.error(message=f"AccessDenied: {name}", resource=name, location=name),),
    )


# ------------------------------------------------------------------------------------------- receivers
@dataclass
class TcpSyslogReceiver:
    """Accepts connections on 127.0.0.1 and keeps each one's bytes (the sender half-closes, we read to
    the end and close: that is how keyaudit knows a batch arrived)."""

    server: socket.socket = field(default_factory=lambda: socket.create_server(("127.0.0.1", 0)))
    streams: list[bytes] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.server.getsockname()[1])

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return  # closed by stop()
            with conn:
                chunks = []
                while data := conn.recv(65536):
                    chunks.append(data)
                self.streams.append(b"".join(chunks))

    def stop(self) -> None:
        self.server.close()


@dataclass
class UdpSyslogReceiver:
    server: socket.socket = field(default_factory=lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    datagrams: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.server.bind(("127.0.0.1", 0))
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)

    @property
    def port(self) -> int:
        return int(self.server.getsockname()[1])

    def serve(self) -> None:
        while True:
            try:
                self.datagrams.append(self.server.recv(65536))
            except OSError:
                return

    def stop(self) -> None:
        self.server.close()


def octet_counted(stream: bytes) -> list[bytes]:
    """RFC 6587 3.4.1 / RFC 5425 framing, strictly: ``LENGTH SP MESSAGE``, back to back, nothing else."""
    messages = []
    position = 0
    while position < len(stream):
        found = re.compile(rb"[1-9][0-9]{0,8} ").match(stream, position)
        assert found, f"not an octet-counted frame at byte {position}: {stream[position : position + 40]!r}"
        length = int(found.group()[:-1])
        start = found.end()
        assert start + length <= len(stream), "frame runs past the end of the stream"
        messages.append(stream[start : start + length])
        position = start + length
    return messages


SYSLOG = re.compile(
    r"<(?P<pri>\d{1,3})>1 (?P<ts>\S+) (?P<host>\S+) keyaudit (?P<procid>\d+) (?P<msgid>[!-~]{1,32}) "
    r'\[keyaudit@32473 finding_id="(?P<id>[0-9a-f]{32})" rule_id="[a-z0-9_]+" status="[a-z]+" '
    r'severity="[a-z]+"\]\[origin software="keyaudit" swVersion="[^"\\\]]+"\] (?P<msg>.*)\Z',
    re.DOTALL,
)


# ------------------------------------------------------------------------------------------- parsers
def visible_cef(text: str) -> str:
    """What a CEF/LEEF value must read back as: line feed and carriage return exact (escaped on the
    wire), every other control, separator or lone surrogate shown as \\xNN / \\uNNNN text."""
    unsafe = "[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]"
    return re.sub(
        unsafe, lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text
    )


def _unescape(raw: str, specials: str) -> str:
    out, chars = [], iter(raw)
    for char in chars:
        if char == "\\":
            escaped = next(chars, None)
            assert escaped is not None and escaped in specials + "nr", f"bad escape in {raw!r}"
            out.append({"n": "\n", "r": "\r"}.get(escaped, escaped))
        else:
            out.append(char)
    return "".join(out)


def split_header(line: str, count: int) -> tuple[list[str], str]:
    """``count`` header fields split at unescaped '|' (only ``\\|`` and ``\\\\`` escapes), and the rest."""
    fields, current, index = [], [], 0
    while len(fields) < count:
        char = line[index]
        if char == "\\":
            assert line[index + 1] in "\\|", f"bad header escape in {line[:200]!r}"
            current.append(line[index + 1])
            index += 2
            continue
        if char == "|":
            fields.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    return fields, line[index:]


def parse_cef(line: str) -> tuple[list[str], dict[str, str]]:
    """ArcSight CEF: 7 header fields, then ``key=value`` pairs separated by spaces, where a value runs to
    the space before the next unescaped '=' (values escape '\\', '=', line feed and carriage return)."""
    assert not LINE_BREAKERS.search(line), f"raw line break in {line[:200]!r}"
    header, extension = split_header(line, 7)
    assert header[0] == "CEF:0"
    equals = [m.end() - 1 for m in re.finditer(r"(?<!\\)(?:\\\\)*=", extension)]
    pairs: dict[str, str] = {}
    for n, position in enumerate(equals):
        key_start = extension.rfind(" ", 0, position) + 1
        key = extension[key_start:position]
        assert re.fullmatch(r"[A-Za-z0-9_]+", key), f"bad key {key!r} in {extension[:200]!r}"
        end = extension.rfind(" ", 0, equals[n + 1]) if n + 1 < len(equals) else len(extension)
        assert key not in pairs, f"{key} twice: a value added a field"
        pairs[key] = _unescape(extension[position + 1 : end], "\\=")
    return header, pairs


def parse_leef(line: str) -> dict[str, str]:
    assert not LINE_BREAKERS.search(line), f"raw line break in {line[:200]!r}"
    header, attributes = split_header(line, 6)
    assert header[0] == "LEEF:2.0" and header[5] == "^"
    items = re.split(r"(?<=[^\\])((?:\\\\)*)\^", attributes)
    # re.split keeps the run of escaped backslashes before each delimiter: glue it back to its value
    values = [items[i] + (items[i + 1] if i + 1 < len(items) else "") for i in range(0, len(items), 2)]
    parsed: dict[str, str] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", key) and key not in parsed, item[:100]
        parsed[key] = _unescape(raw, "\\^")
    return parsed


class Page(HTMLParser):
    """Every start tag with its attributes, script bodies, and the text, as html.parser reads them."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.text: list[str] = []
        self._script: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._script = []
            self.scripts.append((dict(attrs), ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts[-1] = (self.scripts[-1][0], "".join(self._script))
            self._script = None

    def handle_data(self, data: str) -> None:
        (self._script if self._script is not None else self.text).append(data)

    def shape(self) -> Counter[tuple[str, tuple[str, ...]]]:
        return Counter((tag, tuple(sorted(attrs))) for tag, attrs in self.tags)


# ------------------------------------------------------------------------------------------- the runs
@dataclass
class Run:
    out: Path
    native: dict[str, Any]
    tcp_json: list[bytes]
    tcp_cef: list[bytes]
    udp: list[bytes]
    benign_html: Path

    def text(self, fmt: str) -> str:
        extension = {"table": "txt", "ecs": "ecs.ndjson"}.get(fmt, fmt)
        return (self.out / f"keyaudit-report.{extension}").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    import os
    import subprocess
    import sys

    tmp = tmp_path_factory.mktemp("hostile-outputs")
    receivers = [TcpSyslogReceiver(), TcpSyslogReceiver(), UdpSyslogReceiver()]
    threads = [threading.Thread(target=r.serve, daemon=True) for r in receivers]
    for thread in threads:
        thread.start()
    tcp_json, tcp_cef, udp = receivers
    env = {
        **os.environ,
        "KEYAUDIT_SPOOL_DIR": str(tmp / "spool"),
        "KEYAUDIT_DELIVERY_ATTEMPTS": "1",
        "KEYAUDIT_DELIVERY_BUDGET": "20",
    }

    def keyaudit(*args: str) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "scanner", "evaluate", *args, "--as-of", "2026-11-22", "--fail-on", "none", "-q"],
            cwd=tmp, env=env, capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr and "delivery.incomplete" not in result.stderr, result.stderr

    try:
        hostile = tmp / "hostile.json"
        hostile.write_text(_estate(HOSTILE, FORMULA, NAMES).model_dump_json(), encoding="utf-8")
        benign = tmp / "benign.json"
        plain = {key_id: f"plain-{key_id}" for key_id in NAMES}
        benign.write_text(_estate("plain-name", "plain-formula", plain).model_dump_json(), encoding="utf-8")
        keyaudit(
            str(hostile),
            *(a for fmt in FORMAT_LIST for a in ("--format", fmt)), "-o", str(tmp / "out"),
            "--to", f"syslog+tcp://127.0.0.1:{tcp_json.port}",
            "--to", f"syslog+tcp://127.0.0.1:{tcp_cef.port}?format=cef",
            "--to", f"syslog+udp://127.0.0.1:{udp.port}?max_size=65000",
        )  # fmt: skip
        keyaudit(str(benign), "--format", "html", "-o", str(tmp / "benign.html"))
        native = json.loads((tmp / "out" / "keyaudit-report.json").read_text(encoding="utf-8"))
        deadline = time.monotonic() + 10  # UDP datagrams may still be in flight
        while len(udp.datagrams) < len(native["findings"]) and time.monotonic() < deadline:
            time.sleep(0.02)
        yield Run(
            tmp / "out",
            native,
            [m for s in tcp_json.streams for m in octet_counted(s)],
            [m for s in tcp_cef.streams for m in octet_counted(s)],
            list(udp.datagrams),
            tmp / "benign.html",
        )
    finally:
        for receiver in receivers:
            receiver.stop()


def _findings(run: Run) -> dict[str, dict[str, Any]]:
    return {x["finding_id"]: x for x in run.native["findings"]}


def test_the_hostile_names_reach_the_findings(run: Run) -> None:
    """Sanity: the run judged the hostile resources (else every check below would pass vacuously)."""
    uids = {x["resource"]["uid"] for x in run.native["findings"]}
    assert f"arn:aws:kms:{f.REGION}:{f.ACCOUNT}:key/{HOSTILE}" in uids and FORMULA in uids
    assert any(x["location"] == HOSTILE for x in run.native["findings"])
    assert any(HOSTILE in x["message"] for x in run.native["findings"])


# ---------------------------------------------------------------------------------------- CEF and LEEF
def test_cef_one_event_per_line_and_every_value_reads_back(run: Run) -> None:
    findings = _findings(run)
    lines = run.text("cef").split("\n")
    assert lines.pop() == ""  # every event ends with a line feed, and nothing follows the last one
    assert len(lines) == len(findings)
    for line in lines:
        header, ext = parse_cef(line)
        finding = findings[ext["externalId"]]
        assert header[4] == finding["rule_id"] and header[5] == finding["title"]
        assert ext["cs4"] == visible_cef(finding["resource"]["uid"])
        assert ext["cs3"] == visible_cef(finding["scope"])
        if finding["location"]:
            assert ext["flexString2"] == visible_cef(finding["location"])
        message = finding["message"]
        assert ext["msg"] == visible_cef(message if len(message) <= 1023 else message[:1022] + "…")
    assert any(visible_cef(HOSTILE) in parse_cef(line)[1]["cs4"] for line in lines)


def test_cef_header_fields_are_escaped_per_the_spec() -> None:
    """Header fields (product, version, signature id, name, severity) escape '|' and '\\' and cannot break
    the line; rule metadata is keyaudit's, so this writes a finding whose title is hostile."""
    rule = next(r for r in discover_rules() if r.meta.id == "key_rotation_enabled")
    (finding, *_) = evaluate_all([rule], f.context(f.inventory(keys=(f.key("k", rotation=None),))))
    header, ext = parse_cef(cef_line(replace(finding, title=HOSTILE), time=f.NOW))
    assert header[5] == visible_cef(HOSTILE).replace("\n", "\\x0a").replace("\r", "\\x0d")
    assert len(header) == 7 and ext["externalId"] == finding.finding_id


def test_leef_one_event_per_line_and_every_value_reads_back(run: Run) -> None:
    findings = _findings(run)
    lines = run.text("leef").split("\n")
    assert lines.pop() == "" and len(lines) == len(findings)
    for line in lines:
        attributes = parse_leef(line)
        finding = findings[attributes["findingId"]]
        assert attributes["resource"] == visible_cef(finding["resource"]["uid"])
        assert attributes.get("resourceName") == (
            visible_cef(finding["resource"]["name"]) if finding["resource"]["name"] else None
        )
        assert attributes["msg"] == visible_cef(finding["message"])


# ---------------------------------------------------------------------------------------------- syslog
def _syslog(message: bytes) -> dict[str, str]:
    text = message.decode("utf-8")
    parsed = SYSLOG.match(text)
    assert parsed, f"not one RFC 5424 message: {text[:300]!r}"
    return parsed.groupdict()


def test_syslog_tcp_octet_counting_one_message_per_finding(run: Run) -> None:
    findings = _findings(run)
    for messages, fmt in ((run.tcp_json, "json"), (run.tcp_cef, "cef")):
        parsed = [_syslog(m) for m in messages]
        assert sorted(p["id"] for p in parsed) == sorted(findings), fmt  # each finding exactly once
        for p in parsed:
            finding = findings[p["id"]]
            assert p["msgid"] == finding["rule_id"][:32]
            if fmt == "json":
                event = json.loads(p["msg"])  # the whole MSG is one JSON document
                assert event["finding_info"]["uid"] == p["id"]
                assert event["resources"][0]["uid"] == finding["resource"]["uid"]  # exact
            else:
                _, ext = parse_cef(p["msg"])
                assert ext["cs4"] == visible_cef(finding["resource"]["uid"])


def test_syslog_udp_one_datagram_per_finding(run: Run) -> None:
    findings = _findings(run)
    parsed = [_syslog(d) for d in run.udp]
    assert sorted(p["id"] for p in parsed) == sorted(findings)
    hostile = [json.loads(p["msg"]) for p in parsed if findings[p["id"]]["resource"]["name"] == HOSTILE]
    assert hostile and all(e["resources"][0]["name"] == HOSTILE for e in hostile)


# ------------------------------------------------------------------------------------------------- CSV
CSV_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def visible_csv(text: str) -> str:
    shown = CSV_CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", text)
    return "'" + shown if shown.startswith(("=", "+", "-", "@", "\t", "\r")) else shown


def test_csv_round_trips_and_neutralises_formulas(run: Run) -> None:
    findings = _findings(run)
    with (run.out / "keyaudit-report.csv").open(encoding="utf-8", newline="") as stream:
        header, *rows = list(csv.reader(stream, strict=True))
    assert len(rows) == len(findings)
    column = {name: n for n, name in enumerate(header)}
    formula_starts = 0
    for row in rows:
        assert len(row) == len(header)
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), f"live formula: {cell[:80]!r}"
            assert not CSV_CONTROL.search(cell), f"control character in {cell[:80]!r}"
        finding = findings[row[column["finding_id"]]]
        for name, value in (
            ("resource_uid", finding["resource"]["uid"]),
            ("resource_name", finding["resource"]["name"] or ""),
            ("scope", finding["scope"]),
            ("location", finding["location"] or ""),
            ("message", finding["message"]),
        ):
            assert row[column[name]] == visible_csv(value), name
        formula_starts += row[column["resource_name"]].startswith("'")
        assert json.loads(row[column["evidence"]]) == finding["evidence"]  # JSON cells read back exactly
    assert formula_starts >= len(NAMES)  # every formula-like name was seen, and neutralised


# ------------------------------------------------------------------------------------------------ HTML
def test_html_report_injects_nothing_and_shows_the_data_as_text(run: Run) -> None:
    raw = run.text("html")
    page = Page(raw)
    benign = Page(run.benign_html.read_text(encoding="utf-8"))
    # The same elements with the same attribute names as for plain names: nothing added, nothing opened.
    assert page.shape() == benign.shape()
    assert [attrs for attrs, _ in page.scripts] == [{"type": "application/json", "id": "keyaudit-data"}, {}]
    assert page.scripts[1][1] == benign.scripts[1][1]  # the only code is keyaudit's own
    assert not any(name.startswith("on") for _, attrs in page.tags for name in attrs)
    data_block = page.scripts[0][1]
    assert "<" not in data_block  # nothing in the data can end the block or open a comment
    for forbidden in ("\x1b", "\x00", "\u202e", "<script>alert", "<img"):
        assert forbidden not in raw.replace(data_block, ""), forbidden
    text = "".join(page.text)
    assert "<script>alert(1)</script>" in text and "&amp;" in text  # markup and entities shown as text
    assert "\\x1b[31mred" in text and "\\u202eevil" in text  # controls and overrides shown as escapes
    data = json.loads(page.scripts[0][1])  # the data block gives every name back exactly
    names = {r["n"] for r in data["resources"]}
    assert {HOSTILE, FORMULA} <= names
    assert any(p["u"] == f"arn:aws:iam::{f.ACCOUNT}:role/{HOSTILE}" for s in data["sod"] for p in s["admins"])


# -------------------------------------------------------------------------------------- terminal table
FINDING_LINE = re.compile(r"^(CRITICAL|HIGH|MEDIUM|LOW|INFO) +(fail|unknown|error) ", re.MULTILINE)


def test_terminal_table_shows_control_characters_as_escapes(run: Run) -> None:
    table = run.text("table")
    assert not TERMINAL_UNSAFE.search(table.replace("\n", "")), repr(
        TERMINAL_UNSAFE.search(table.replace("\n", ""))
    )
    failing = [x for x in run.native["findings"] if x["status"] in ("fail", "unknown", "error")]
    # One heading line per failing finding: the name's "\nCRITICAL fail ..." did not forge another.
    assert len(FINDING_LINE.findall(table)) == len(failing)
    assert "key_forged_line" in table and "\\x0aCRITICAL fail" in table
    assert "\\x1b[31mred\\x1b[0m \\x1b]0;pwned\\x07" in table


def test_terminal_table_in_colour_sends_only_its_own_escapes() -> None:
    """At a terminal rich adds its own colours (SGR); nothing from the data may reach the terminal raw."""
    inventory = _estate(HOSTILE, FORMULA, NAMES)
    summary = Summary(fail_on=None)
    stream = io.BytesIO()
    writer = TableWriter(stream, color=True)
    for finding in evaluate_all(discover_rules(), f.context(inventory)):
        summary.add(finding)
        writer.write(finding)
    coverage = [{"provider": "aws", "scope": HOSTILE, "location": HOSTILE, "api": "kms:ListKeys",
                 "error_class": "access_denied", "message": HOSTILE, "resource": HOSTILE}]  # fmt: skip
    writer.close({"run_id": "r", "coverage": coverage, "policy": {"path": f"[bold]{HOSTILE}[/]"}}, summary)
    output = stream.getvalue().decode("utf-8")
    escapes = re.findall(r"\x1b[^m]*m?", output)
    assert escapes and all(re.fullmatch(r"\x1b\[[0-9;]*m", e) for e in escapes), {e for e in escapes}
    without_colours = re.sub(r"\x1b\[[0-9;]*m", "", output)
    assert not TERMINAL_UNSAFE.search(without_colours.replace("\n", ""))
    assert "[bold]" in without_colours  # the policy path is text, not rich markup
    assert without_colours.count("\\x1b]0;pwned\\x07") >= 3  # in a finding, a message and the coverage


# ------------------------------------------------------------------------------------------- JSON lines
def test_ndjson_stays_one_document_per_line(run: Run) -> None:
    lines = run.text("ecs").encode("utf-8").split(b"\n")
    assert lines.pop() == b"" and len(lines) == len(run.native["findings"])
    documents = [json.loads(line) for line in lines]
    assert any(d["keyaudit"]["resource"]["name"] == HOSTILE for d in documents)


# ------------------------------------------------------------------------------------------------ logs
# No space, quote, '=' or line feed: structlog's console renderer would print such a string as it is.
BARE = "pwned\x1b]0;title\x07\x1b[2J\x1b[31m\u202e\u2028\x85\x00\x0b\x0c\x1c"


@pytest.mark.parametrize("log_format", ["console", "json"])
def test_logs_carry_cloud_text_escaped(keyaudit, write_inventory, tmp_path: Path, log_format: str) -> None:
    key = f.key("k1", uid=f"arn:aws:kms:{f.REGION}:{f.ACCOUNT}:key/{BARE}", rotation=None)
    inventory = write_inventory(f.inventory(keys=(key,)))
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        'waivers:\n  - rule: key_rotation_enabled\n    resource: "*pwned*"\n    reason: r\n    owner: o\n'
        "    ticket: T-1\n    expires: 2020-01-01\n",
        encoding="utf-8",
    )
    result = keyaudit(
        "evaluate", str(inventory), "--waivers", str(waivers), "--as-of", "2026-11-22", "--log-format", log_format,
        "--format", "json", "-o", "out.json",
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    lines = result.stderr.split("\n")
    assert lines.pop() == ""
    expired = [line for line in lines if "waiver.expired" in line]
    assert len(expired) == 1 and "pwned" in expired[0], result.stderr  # one event, on one line
    for line in lines:
        assert not TERMINAL_UNSAFE.search(line), repr(line)
    if log_format == "json":
        (event,) = [json.loads(line) for line in expired]
        assert event["resource"] == key.uid  # exact once decoded
    else:
        assert "pwned\\x1b]0;title\\x07\\x1b[2J" in expired[0]
