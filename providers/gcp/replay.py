"""Loopback HTTP server replaying recorded Google Cloud REST exchanges to the real google-cloud clients.

Used by the GCP tests and by ``keyaudit demo``. Standard library only (no Google import): the clients
talk to it with ``transport="rest"`` and ``ClientOptions(api_endpoint=server.url)``, see
``providers.gcp.clients``.

A *cassette* is a JSON file holding a list of exchanges::

    [{"method": "GET",
      "path": "/v1/projects/acme-prod/locations/europe-west1/keyRings",
      "query": {"pageToken": "kr-p2"},            # optional
      "body": {"options": {"requestedPolicyVersion": 3}},   # optional, POST bodies
      "status": 200,                              # optional, default 200
      "response": {"keyRings": [...]},            # optional, default {}
      "error": "PERMISSION_DENIED",               # optional: answer a Google error instead
      "raw": "{not json",                         # optional: this text as the body, instead of JSON
      "fault": "stall",                           # optional: a transport fault, see below
      "times": 1,                                 # optional: serve at most this many times
      "comment": "free text"}]                    # optional, ignored

Matching, first exchange in order wins:

* ``method`` and ``path`` exactly (the path is percent-decoded first: write ``/v3/projects/p:getIamPolicy``).
* ``query``: the parameters the clients add for the transport (``$alt=json;enum-encoding=int``, sent by
  every generated method but not by the ``locations``/IAM mixins) are dropped; every parameter the exchange
  names must then be present with that value (repeated parameters as a list, order ignored; scalars compare
  as strings, booleans as ``true``/``false``; enums travel as integers, e.g. ``versionView=1``).
  Parameters the exchange does not name are ignored, except ``pageToken``, which is always compared (an
  exchange without one only answers the first page), so pages replay in order.
* ``body``: when given, the request's JSON body must equal it.

An exchange with ``error`` answers the Google error JSON for that canonical status (``PERMISSION_DENIED``
403, ``RESOURCE_EXHAUSTED`` 429, ...); ``error`` may also be an object ``{"status", "message", "reason",
"domain", "metadata"}``. ``raw`` sends its text as the body, as is (a malformed answer).

``fault`` answers with a broken transport instead (fault-injection tests): ``"stall"`` sends nothing until
``ReplayServer(stall_seconds=...)`` pass (default 30) or the server stops, then closes the connection;
``"reset"`` resets the connection (RST) before answering; ``"truncate"`` sends the status, the headers
with the full ``Content-Length`` and only the first half of the body, then closes the connection. A request nothing matches gets a 404 ``NOT_FOUND`` error and is recorded in
``server.unmatched``. ``server.calls`` counts requests per path, ``server.requests`` keeps them all.

The server binds 127.0.0.1 on an ephemeral port, never another interface.
"""

from __future__ import annotations

import contextlib
import copy
import json
import socket
import struct
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from os import PathLike
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from providers.replaybook import ReplayBook

__all__ = [
    "ERROR_STATUS",
    "FAULTS",
    "TRANSPORT_QUERY_PARAMS",
    "Exchange",
    "RecordedRequest",
    "ReplayServer",
    "google_error",
    "load_cassette",
]

HOST = "127.0.0.1"

#: Query parameters the google-cloud REST transports add on their own; never part of a match.
TRANSPORT_QUERY_PARAMS = frozenset(
    {"$alt", "alt", "enum-encoding", "$enum-encoding", "prettyPrint", "$prettyPrint"}
)

#: Canonical status -> HTTP status (google.rpc.Code mapping used by Google REST APIs).
ERROR_STATUS: dict[str, int] = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ABORTED": 409,
    "ALREADY_EXISTS": 409,
    "RESOURCE_EXHAUSTED": 429,
    "CANCELLED": 499,
    "INTERNAL": 500,
    "UNKNOWN": 500,
    "DATA_LOSS": 500,
    "UNIMPLEMENTED": 501,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}
_STATUS_FOR_HTTP = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
# ErrorInfo (reason, domain) Google puts in the details of the common errors.
_DEFAULT_REASON = {
    "PERMISSION_DENIED": ("IAM_PERMISSION_DENIED", "iam.googleapis.com"),
    "RESOURCE_EXHAUSTED": ("RATE_LIMIT_EXCEEDED", "googleapis.com"),
    "UNAUTHENTICATED": ("ACCESS_TOKEN_TYPE_UNSUPPORTED", "googleapis.com"),
}
_DEFAULT_MESSAGE = {
    "PERMISSION_DENIED": "The caller does not have permission",
    "RESOURCE_EXHAUSTED": "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute'.",
    "UNAVAILABLE": "The service is currently unavailable.",
    "NOT_FOUND": "Requested entity was not found.",
}
_EXCHANGE_KEYS = frozenset(
    {"method", "path", "query", "body", "status", "response", "error", "raw", "fault", "times", "comment"}
)
FAULTS = frozenset({"stall", "reset", "truncate"})


class _Readable(Protocol):
    """A path or an ``importlib.resources`` Traversable: anything with ``read_text``."""

    def read_text(self, encoding: str = ...) -> str: ...


def google_error(
    status: str,
    message: str | None = None,
    *,
    reason: str | None = None,
    domain: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of a Google REST error: ``{"error": {"code", "message", "status", "details"}}``."""
    if status not in ERROR_STATUS:
        raise ValueError(f"unknown canonical status {status!r}; expected one of {sorted(ERROR_STATUS)}")
    code = ERROR_STATUS[status]
    error: dict[str, Any] = {
        "code": code,
        "message": message or _DEFAULT_MESSAGE.get(status, status.replace("_", " ").capitalize()),
        "status": status,
    }
    default_reason, default_domain = _DEFAULT_REASON.get(status, (None, None))
    if reason or default_reason:
        info: dict[str, Any] = {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": reason or default_reason,
            "domain": domain or default_domain or "googleapis.com",
        }
        if metadata:
            info["metadata"] = dict(metadata)
        error["details"] = [info]
    return code, {"error": error}


def _query_values(value: Any) -> list[str]:
    items = value if isinstance(value, list | tuple) else [value]
    out = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        else:
            out.append(str(item))
    return sorted(out)


@dataclass
class Exchange:
    """One recorded request/response pair (see the module docstring for the fields)."""

    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    body: Any = None
    has_body: bool = False
    status: int = 200
    response: Any = field(default_factory=dict)
    times: int | None = None
    source: str = ""
    hits: int = 0
    raw: str | None = None  # the body as is, instead of ``response`` as JSON
    fault: str | None = None  # one of FAULTS

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], source: str = "") -> Exchange:
        where = f"{source}: " if source else ""
        if not isinstance(raw, Mapping):
            raise ValueError(f"{where}an exchange must be a JSON object, got {type(raw).__name__}")
        unknown = set(raw) - _EXCHANGE_KEYS
        if unknown:
            raise ValueError(
                f"{where}unknown exchange keys {sorted(unknown)}; allowed: {sorted(_EXCHANGE_KEYS)}"
            )
        method, path = raw.get("method"), raw.get("path")
        if not isinstance(method, str) or not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(
                f"{where}an exchange needs 'method' and an absolute 'path', got {method!r} {path!r}"
            )
        query = raw.get("query") or {}
        if not isinstance(query, Mapping):
            raise ValueError(f"{where}'query' must be an object")
        times = raw.get("times")
        if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
            raise ValueError(f"{where}'times' must be a positive integer")

        status = raw.get("status")
        if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
            raise ValueError(f"{where}'status' must be an HTTP status code")
        fault = raw.get("fault")
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"{where}'fault' must be one of {sorted(FAULTS)}")
        body_text = raw.get("raw")
        if body_text is not None and not isinstance(body_text, str):
            raise ValueError(f"{where}'raw' must be a string")
        response = copy.deepcopy(raw.get("response", {}))
        error = raw.get("error")
        if error is not None:
            spec: dict[str, Any] = {"status": error} if isinstance(error, str) else dict(error)
            canonical = spec.pop("status", None)
            if not isinstance(canonical, str):
                raise ValueError(f"{where}'error' needs a canonical status such as 'PERMISSION_DENIED'")
            extra = set(spec) - {"message", "reason", "domain", "metadata"}
            if extra:
                raise ValueError(f"{where}unknown 'error' keys {sorted(extra)}")
            code, response = google_error(
                canonical,
                spec.get("message"),
                reason=spec.get("reason"),
                domain=spec.get("domain"),
                metadata=spec.get("metadata"),
            )
            status = status or code
        elif status is not None and status >= 400 and "response" not in raw:
            _, response = google_error(_STATUS_FOR_HTTP.get(status, "UNKNOWN"))

        return cls(
            method=method.upper(),
            path=path,
            query={str(k): _query_values(v) for k, v in query.items()},
            body=copy.deepcopy(raw.get("body")),
            has_body="body" in raw,
            status=status or 200,
            response=response,
            times=times,
            source=source,
            raw=body_text,
            fault=fault,
        )

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times

    def matches(self, request: RecordedRequest) -> bool:
        if self.exhausted or request.method != self.method or request.path != self.path:
            return False
        if self.query.get("pageToken") != (request.query.get("pageToken") or None):
            return False
        for name, expected in self.query.items():
            if sorted(request.query.get(name, [])) != expected:
                return False
        return not self.has_body or request.body == self.body


@dataclass(frozen=True)
class RecordedRequest:
    """A request as the server saw it. ``query`` excludes the transport parameters; ``raw_query`` has all."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    raw_query: str
    authorization: str | None = None  # the Authorization header's scheme only ("Bearer"), never the token

    def __str__(self) -> str:
        suffix = f"?{self.raw_query}" if self.raw_query else ""
        return f"{self.method} {self.path}{suffix}"


def load_cassette(source: str | PathLike[str] | _Readable) -> list[Exchange]:
    """Exchanges of one cassette file (a path, or an ``importlib.resources`` file for packaged data)."""
    readable: _Readable = Path(source) if isinstance(source, str | PathLike) else source
    name = str(getattr(readable, "name", source))
    try:
        data = json.loads(readable.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{name}: not valid JSON: {exc}") from exc
    if not isinstance(data, list):
        raise ValueError(f"{name}: a cassette is a JSON list of exchanges")
    return [Exchange.from_mapping(item, source=f"{name}[{i}]") for i, item in enumerate(data)]


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # ReplayServer.stop closes connections and joins handlers itself
    replay: ReplayServer

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (socket.getfqdn), which can stall without DNS.
        import socketserver

        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = HOST, int(self.server_address[1])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real endpoint; stop() closes idle connections
    timeout = 30
    # Headers and body go out in two writes: with Nagle on, the client's delayed ACK costs ~40 ms a request.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.replay._opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.replay._closed(self.connection)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        scheme = (self.headers.get("Authorization") or "").split(" ", 1)[0] or None
        status, payload, exchange = self.server.replay._respond(self.command, self.path, raw, scheme)
        fault = exchange.fault if exchange is not None else None
        if fault == "stall":
            self.server.replay._released.wait(self.server.replay.stall_seconds)
            self.close_connection = True
            return
        if fault == "reset":
            # SO_LINGER with a zero timeout: closing sends RST, not FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.close()
            return
        if exchange is not None and exchange.raw is not None:
            data = exchange.raw.encode("utf-8")
        else:
            data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if fault == "truncate":
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests and the demo read ``server.requests`` instead."""


class ReplayServer(ReplayBook):
    """Serve recorded exchanges on ``http://127.0.0.1:<ephemeral port>``; a context manager.

    >>> with ReplayServer("kms.json", "resourcemanager.json") as server:   # doctest: +SKIP
    ...     client = kms_client(server.url, anonymous=True)
    ...     ...
    ...     assert not server.unmatched
    """

    def __init__(
        self,
        *cassettes: str | PathLike[str] | _Readable,
        exchanges: Iterable[Mapping[str, Any]] = (),
        stall_seconds: float = 30.0,
    ) -> None:
        self._lock = threading.Lock()
        self.stall_seconds = stall_seconds  # how long a "stall" fault holds its request
        self._released = threading.Event()  # set by stop(): stalled requests give up at once
        self._exchanges: list[Exchange] = []
        for cassette in cassettes:
            self._exchanges.extend(load_cassette(cassette))
        for raw in exchanges:
            self.add(raw)
        self.calls: Counter[str] = Counter()
        self.requests: list[RecordedRequest] = []
        self.unmatched: list[RecordedRequest] = []
        self._connections: set[socket.socket] = set()
        self._handler_threads: set[threading.Thread] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- exchanges ---------------------------------------------------------------------------------
    def add(self, exchange: Mapping[str, Any], *, first: bool = False) -> None:
        """Add an exchange (same keys as in a cassette); ``first`` puts it ahead of the recorded ones."""
        parsed = Exchange.from_mapping(exchange, source="added")
        with self._lock:
            if first:
                self._exchanges.insert(0, parsed)
            else:
                self._exchanges.append(parsed)

    def inject_error(
        self,
        method: str,
        path: str,
        error: str = "PERMISSION_DENIED",
        *,
        query: Mapping[str, Any] | None = None,
        times: int | None = None,
        message: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        """Answer ``method path`` with a Google error (ahead of any recording), ``times`` times or always."""
        spec: dict[str, Any] = {"status": error}
        if message:
            spec["message"] = message
        if metadata:
            spec["metadata"] = dict(metadata)
        raw: dict[str, Any] = {"method": method, "path": path, "error": spec}
        if query:
            raw["query"] = dict(query)
        if times is not None:
            raw["times"] = times
        self.add(raw, first=True)

    # -- lifecycle ---------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("ReplayServer is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def address(self) -> tuple[str, int]:
        """The address the listening socket is bound to, as the OS reports it."""
        if self._httpd is None:
            raise RuntimeError("ReplayServer is not running")
        host, port = self._httpd.socket.getsockname()[:2]
        return str(host), int(port)

    def start(self) -> ReplayServer:
        if self._httpd is not None:
            raise RuntimeError("ReplayServer already running")
        httpd = _HTTPServer((HOST, 0), _Handler)
        httpd.replay = self
        self._released.clear()
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.name = f"gcp-replay-{self.port}"
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the listening socket and any kept-alive connection, join the threads."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._released.set()
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            connections, threads = list(self._connections), list(self._handler_threads)
        for conn in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                conn.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(timeout=2)
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- request handling (handler threads) --------------------------------------------------------
    def _opened(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)
            self._handler_threads.add(threading.current_thread())

    def _closed(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)
            self._handler_threads.discard(threading.current_thread())

    def _respond(
        self, method: str, target: str, raw_body: bytes, authorization: str | None = None
    ) -> tuple[int, Any, Exchange | None]:
        split = urlsplit(target)
        path = unquote(split.path)
        params = parse_qs(split.query, keep_blank_values=True)
        query = {k: v for k, v in params.items() if k not in TRANSPORT_QUERY_PARAMS}
        body: Any = None
        if raw_body:
            try:
                body = json.loads(raw_body)
            except ValueError:
                body = raw_body.decode("utf-8", "replace")
        request = RecordedRequest(method.upper(), path, query, body, split.query, authorization)
        with self._lock:
            self.calls[path] += 1
            self.requests.append(request)
            for exchange in self._exchanges:
                if exchange.matches(request):
                    exchange.hits += 1
                    return exchange.status, copy.deepcopy(exchange.response), exchange
            self.unmatched.append(request)
        return (*google_error("NOT_FOUND", f"keyaudit replay: no recorded exchange for {request}"), None)
