"""A fault-injecting HTTP proxy on 127.0.0.1 in front of a moto server (standard library only).

The scan talks to the proxy (``AWS_ENDPOINT_URL``); the proxy forwards every request to moto unchanged,
except those a ``Fault`` selects, by operation (``X-Amz-Target`` header for JSON services, the ``Action``
form field for query services) and region (the ``Authorization`` header's credential scope). A selected
request gets, instead of (or on top of) moto's answer:

* ``throttle``: HTTP 400 ThrottlingException (JSON) or Throttling (query XML);
* ``server_error``: HTTP 500 InternalFailure;
* ``stall``: no answer until ``stall_seconds`` pass (or the proxy stops), then the connection closes;
* ``reset``: the connection is reset (RST) before any answer;
* ``truncate``: moto's status and headers, half of its body, then the connection closes;
* ``malformed``: HTTP 200 with a body that is not JSON;
* ``rewrite``: moto's JSON answer passed through ``Fault.rewrite`` (unexpected values, missing fields,
  huge documents).

``times`` limits a fault to the first N matching requests (a burst that retries absorb).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

HOST = "127.0.0.1"
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
MALFORMED_BODY = b'{"injected": "not json",,}'


@dataclass
class Fault:
    kind: str  # throttle, server_error, stall, reset, truncate, malformed, rewrite
    operation: str  # "kms:DescribeKey"
    region: str | None = None  # None: every region
    times: int | None = None  # None: every matching request
    rewrite: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    hits: int = 0

    def selects(self, operation: str, region: str | None) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        return operation == self.operation and (self.region is None or self.region == region)


@dataclass
class _Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    operation: str = ""
    region: str | None = None
    protocol: str = "json"  # json or query


@dataclass
class FaultProxy:
    """``with FaultProxy(moto_url) as proxy: proxy.inject(Fault(...))``; ``proxy.url`` is the endpoint."""

    upstream: str
    stall_seconds: float = 10.0
    faults: list[Fault] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)  # "service:Operation@region" -> requests
    injected: Counter[str] = field(default_factory=Counter)  # "kind service:Operation" -> times applied

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        parts = urlsplit(self.upstream)
        self._upstream = (parts.hostname or HOST, parts.port or 80)

    # -- faults ------------------------------------------------------------------------------------
    def inject(self, *faults: Fault) -> None:
        with self._lock:
            self.faults.extend(faults)

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
            self.calls.clear()
            self.injected.clear()

    def _select(self, request: _Request) -> Fault | None:
        with self._lock:
            self.calls[f"{request.operation}@{request.region}"] += 1
            for fault in self.faults:
                if fault.selects(request.operation, request.region):
                    fault.hits += 1
                    self.injected[f"{fault.kind} {fault.operation}"] += 1
                    return fault
        return None

    # -- lifecycle ---------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("FaultProxy is not running")
        return f"http://{HOST}:{self._httpd.server_address[1]}"

    def start(self) -> FaultProxy:
        proxy = self

        class Handler(_Handler):
            owner = proxy

        httpd = _Server((HOST, 0), Handler)
        self._httpd = httpd
        self._released.clear()
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._released.set()  # stalled handlers give up at once
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- forwarding --------------------------------------------------------------------------------
    def forward(self, request: _Request) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(*self._upstream, timeout=30)
        try:
            headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
            connection.request(request.method, request.path, body=request.body or None, headers=headers)
            response = connection.getresponse()
            body = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
            return response.status, kept, body
        finally:
            connection.close()


_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}
)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host name up (socket.getfqdn), which can stall without DNS.
        import socketserver

        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = HOST, int(self.server_address[1])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 60
    owner: FaultProxy

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        request = _parse(self.command, self.path, dict(self.headers.items()), body)
        fault = self.owner._select(request)
        if fault is None:
            self._send(*self.owner.forward(request))
            return
        getattr(self, f"_fault_{fault.kind}")(request, fault)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read ``FaultProxy.calls`` and ``injected`` instead."""

    # -- answers -----------------------------------------------------------------------------------
    def _send(
        self, status: int, headers: list[tuple[str, str]], body: bytes, *, declared: int | None = None
    ) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body) if declared is None else declared))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _error(self, request: _Request, status: int, code: str, message: str) -> None:
        if request.protocol == "query":
            body = (
                f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
                "</Error><RequestId>00000000-0000-4000-8000-000000000000</RequestId></ErrorResponse>"
            ).encode()
            self._send(status, [("Content-Type", "text/xml")], body)
        else:
            body = json.dumps({"__type": code, "message": message}).encode()
            self._send(status, [("Content-Type", "application/x-amz-json-1.1")], body)

    def _fault_throttle(self, request: _Request, fault: Fault) -> None:
        code = "Throttling" if request.protocol == "query" else "ThrottlingException"
        self._error(request, 400, code, "Rate exceeded")

    def _fault_server_error(self, request: _Request, fault: Fault) -> None:
        self._error(request, 500, "InternalFailure", "We encountered an internal error. Please try again.")

    def _fault_stall(self, request: _Request, fault: Fault) -> None:
        self.owner._released.wait(self.owner.stall_seconds)
        self.close_connection = True

    def _fault_reset(self, request: _Request, fault: Fault) -> None:
        # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.close()

    def _fault_truncate(self, request: _Request, fault: Fault) -> None:
        status, headers, body = self.owner.forward(request)
        self._send(status, headers, body[: len(body) // 2], declared=len(body))
        self.close_connection = True

    def _fault_malformed(self, request: _Request, fault: Fault) -> None:
        self._send(200, [("Content-Type", "application/x-amz-json-1.1")], MALFORMED_BODY)

    def _fault_rewrite(self, request: _Request, fault: Fault) -> None:
        status, headers, body = self.owner.forward(request)
        if fault.rewrite is None or status != 200:
            self._send(status, headers, body)
            return
        self._send(status, headers, json.dumps(fault.rewrite(json.loads(body))).encode())


def _parse(method: str, path: str, headers: dict[str, str], body: bytes) -> _Request:
    lowered = {k.lower(): v for k, v in headers.items()}
    request = _Request(method, path, headers, body)
    scope = _SCOPE.search(lowered.get("authorization", ""))
    service = ""
    if scope:
        request.region, service = scope.group(1), scope.group(2)
    target = lowered.get("x-amz-target")
    if target:
        request.operation = f"{service}:{target.rsplit('.', 1)[-1]}"
    elif "x-www-form-urlencoded" in lowered.get("content-type", ""):
        action = parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
        request.operation, request.protocol = f"{service}:{action}", "query"
    else:
        request.operation = f"{service}:{method} {urlsplit(path).path}"
    return request
