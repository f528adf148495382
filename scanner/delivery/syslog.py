"""Syslog destinations: ``syslog+tcp://``, ``syslog+tls://`` and ``syslog+udp://`` HOST:PORT.

One RFC 5424 message per finding::

    <PRI>1 TIMESTAMP HOSTNAME keyaudit PROCID RULE_ID [keyaudit@32473 finding_id="..." ...] MSG

PRI is facility (``?facility=``, default ``audit``, 13) * 8 + a severity from the finding: failing and
not waived -> critical 2, high 3, medium 4, low 5, info 6; passing or waived -> informational 6.
TIMESTAMP is when the findings were judged; MSGID the rule id (RFC 5424 caps it at 32 characters: the
full id is in the structured data). MSG is the OCSF event as JSON (``?format=json``, the default) or a
CEF line (``?format=cef``); both are single-line by construction.

TCP and TLS frame with octet counting (RFC 6587 3.4.1, RFC 5425); one connection per batch, which is
accepted once the receiver has read it to the end (it closes after our half-close). TLS verifies the
receiver against ``?ca=PATH`` or the system store. UDP (RFC 5426) sends one datagram per message, cut
to ``?max_size=`` bytes (default 8192): a JSON event first loses its evidence, then the message is cut
on a character boundary. UDP has no acknowledgement: a receiver that is down may lose what was sent.
"""

from __future__ import annotations

import os
import socket
import ssl
import time
from collections.abc import Sequence
from typing import Any, ClassVar

import orjson

from scanner import __version__
from scanner.delivery.base import DeliveryError, Destination, DestinationURL, EventContext, SpooledEvent
from scanner.findings import Finding
from scanner.rule import Severity

APP_NAME = "keyaudit"
# SD-ID for keyaudit's own parameters. 32473 is the private enterprise number reserved for
# documentation (RFC 5612); receivers key on the name, and it changes only if keyaudit registers one.
SD_ID = "keyaudit@32473"
FACILITIES = {
    **{name: number for number, name in enumerate(("kern", "user", "mail", "daemon", "auth", "syslog"))},
    "authpriv": 10,
    "audit": 13,
    **{f"local{n}": 16 + n for n in range(8)},
}
_SEVERITY = {Severity.CRITICAL: 2, Severity.HIGH: 3, Severity.MEDIUM: 4, Severity.LOW: 5, Severity.INFO: 6}
INFORMATIONAL = 6
_DEFAULT_PORTS = {"tcp": 514, "udp": 514, "tls": 6514}
_CLOSE_WAIT_SECONDS = 5.0


def syslog_severity(finding: Finding) -> int:
    if finding.waived or not finding.status.is_failing:
        return INFORMATIONAL
    return _SEVERITY.get(finding.severity, INFORMATIONAL)


def sd_escape(value: str) -> str:
    """PARAM-VALUE escaping (RFC 5424 6.3.3): backslash, double quote and closing bracket."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def header_token(value: str, limit: int) -> str:
    """A header field: printable US-ASCII without spaces, at most ``limit`` characters, '-' when empty."""
    cleaned = "".join(c for c in value if 33 <= ord(c) <= 126)[:limit]
    return cleaned or "-"


def timestamp(context: EventContext) -> str:
    moment = context.time
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def cut_utf8(data: bytes, limit: int) -> bytes:
    """At most ``limit`` bytes, never ending inside a UTF-8 character or after a lone escaping backslash."""
    if len(data) <= limit:
        return data
    cut = data[:limit].decode("utf-8", errors="ignore").encode("utf-8")
    trailing = len(cut) - len(cut.rstrip(b"\\"))
    if trailing % 2:  # a dangling escape would change the meaning of what follows in CEF
        cut = cut[:-1]
    return cut


class SyslogDestination(Destination):
    max_batch_events: ClassVar[int] = 500
    max_batch_bytes: ClassVar[int] = 4_000_000

    def __init__(self, url: DestinationURL) -> None:
        super().__init__(url)
        self.transport = url.scheme.split("+", 1)[1]
        allowed = ["format", "facility"] + (["ca"] if self.transport == "tls" else [])
        if self.transport == "udp":
            allowed.append("max_size")
        url.refuse_credentials(
            "syslog takes no credentials (use syslog+tls:// with ?ca= for a trusted channel)"
        )
        url.check_params(allowed)
        self.host, self.port = url.require_host_port(_DEFAULT_PORTS[self.transport])
        self.format = url.choice("format", ("json", "cef"), "json")
        facility = url.query.get("facility", "audit").lower()
        if facility.isdigit() and int(facility) <= 23:
            self.facility = int(facility)
        elif facility in FACILITIES:
            self.facility = FACILITIES[facility]
        else:
            raise url.fail(f"facility={facility!r}: choose 0-23 or one of {', '.join(FACILITIES)}")
        self.max_size = url.int_param("max_size", 8192, low=480, high=65000)
        self.ca = url.query.get("ca")
        if self.ca is not None and not os.path.isfile(self.ca):
            raise url.fail(f"ca={self.ca}: no such file")
        self._hostname = header_token(socket.gethostname(), 255)
        self._procid = str(os.getpid())

    # ------------------------------------------------------------------------------------------ events
    def prepare(self, finding: Finding, context: EventContext) -> Any:
        head = (
            f"<{self.facility * 8 + syslog_severity(finding)}>1 {timestamp(context)} {self._hostname} "
            f"{APP_NAME} {self._procid} {header_token(finding.rule_id, 32)} "
            f'[{SD_ID} finding_id="{sd_escape(finding.finding_id)}" rule_id="{sd_escape(finding.rule_id)}" '
            f'status="{finding.status.value}" severity="{finding.severity.value}"]'
            f'[origin software="{APP_NAME}" swVersion="{sd_escape(__version__)}"] '
        )
        body = self._body(finding, context)
        if self.transport == "udp":
            room = self.max_size - len(head.encode("utf-8"))
            if len(body) > room and self.format == "json":
                body = self._json_body(finding, context, evidence=False)
            body = cut_utf8(body, room)
        return head + body.decode("utf-8")

    def _body(self, finding: Finding, context: EventContext) -> bytes:
        if self.format == "cef":
            from scanner.output.siem_writers import cef_line

            return cef_line(finding, time=context.time).rstrip("\r\n").encode("utf-8")
        return self._json_body(finding, context, evidence=True)

    @staticmethod
    def _json_body(finding: Finding, context: EventContext, *, evidence: bool) -> bytes:
        from scanner.output.ocsf_writer import event

        doc = event(finding, time_ms=int(context.time.timestamp() * 1000))
        if not evidence:
            doc["unmapped"]["keyaudit"]["evidence"] = {"omitted": "message size limit"}
        return orjson.dumps(doc, option=orjson.OPT_NON_STR_KEYS)

    # ------------------------------------------------------------------------------------------ sending
    def send(self, events: Sequence[SpooledEvent], *, deadline: float) -> None:
        messages = [str(e.payload).encode("utf-8") for e in events]
        try:
            if self.transport == "udp":
                self._send_udp(messages, deadline)
            else:
                self._send_stream(messages, deadline)
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(
                f"TLS certificate not trusted: {exc.verify_message}", retryable=False
            ) from exc
        except (OSError, ssl.SSLError) as exc:
            raise DeliveryError(_describe_os_error(exc), retryable=True) from exc

    def _send_udp(self, messages: list[bytes], deadline: float) -> None:
        family, kind, proto, _, address = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_DGRAM)[0]
        with socket.socket(family, kind, proto) as sock:
            sock.settimeout(_remaining(deadline))
            sock.connect(address)  # connected: ICMP "port unreachable" surfaces as an error
            for message in messages:
                sock.send(message)

    def _send_stream(self, messages: list[bytes], deadline: float) -> None:
        frames = b"".join(b"%d %s" % (len(m), m) for m in messages)
        sock = socket.create_connection((self.host, self.port), timeout=_remaining(deadline))
        try:
            if self.transport == "tls":
                sock = ssl.create_default_context(cafile=self.ca).wrap_socket(sock, server_hostname=self.host)
            sock.sendall(frames)
            sock.settimeout(min(_CLOSE_WAIT_SECONDS, _remaining(deadline)))
            if isinstance(sock, ssl.SSLSocket):
                try:
                    sock = sock.unwrap()  # close_notify both ways: the receiver has read every record
                except (TimeoutError, ssl.SSLError):
                    return  # receivers that drop the TLS session without close_notify: data was written
            sock.shutdown(socket.SHUT_WR)
            try:
                while sock.recv(4096):  # the receiver closes once it has read everything we sent
                    continue
            except TimeoutError:
                return  # a receiver that keeps idle sessions open: everything was written
        finally:
            sock.close()


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise DeliveryError("out of time for this batch", retryable=True)
    return left


def _describe_os_error(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host ({exc.strerror})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__
