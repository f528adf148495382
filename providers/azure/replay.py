"""Recorded Azure REST exchanges answered inside ``requests``: the real Azure SDK clients, no socket.

Used by the Azure tests and by ``keyaudit demo``. Importing this module needs only the standard library and
``requests`` (and urllib3, which ``requests`` brings); azure-core is imported when ``transport()`` or
``ReplayCredential.get_token`` is first used.

``ReplayAdapter`` is a ``requests`` transport adapter. Mounted on a ``requests.Session`` handed to
azure-core's ``RequestsTransport(session=s, session_owner=False)`` (``adapter.transport()`` builds that),
every request of an Azure client is answered from recorded exchanges: URLs stay the real ones
(``https://management.azure.com/...``, ``https://NAME.vault.azure.net/...``), azure-core's whole pipeline
(challenge authentication, retries, paging, deserialisation) runs, and nothing opens a socket.

A *cassette* is a JSON file holding a list of exchanges::

    [{"method": "GET",                                   # or "*" for any method
      "url": "https://management.azure.com/subscriptions/S/providers/Microsoft.KeyVault/vaults",
      # ... or "host": "acme-kv.vault.azure.net" and "path": "/keys"
      "query": {"$top": "25"},                           # optional, see matching
      "body": {...},                                     # optional: the request's JSON body must equal it
      "authorized": false,                               # optional: only requests without (false) or with
                                                         #   (true) an Authorization header
      "status": 200,                                     # optional, default 200
      "headers": {"WWW-Authenticate": "Bearer ..."},     # optional response headers
      "response": {"value": [...], "nextLink": "..."},   # optional JSON body, default {}; null: no body
      "raw": "{not json",                                # optional: this text as the body, instead of JSON
      "truncate": true,                                  # optional: only the first half of the body arrives
      "network_error": "connect",                        # optional: no answer at all (see below)
      "times": 1,                                        # optional: serve at most this many times
      "comment": "free text"}]                           # optional, ignored

Matching, first exchange in order wins:

* ``method``; host (case-insensitive, default port ignored: Key Vault's nextLinks carry ``:443``); path
  percent-decoded, case-insensitive (ARM ids and Key Vault names are), a trailing ``/`` ignored (``get_key``
  requests ``/keys/NAME/``); a path ending in ``*`` matches every path with that prefix.
* ``query``: parameter names compare case-insensitively; every parameter the exchange names must be present
  with that value (a list for repeated parameters). Others are ignored, ``api-version`` too unless named,
  except the page tokens (``$skiptoken``, ``$skipToken``, ``continuationToken``): an exchange that names
  none only answers requests that carry none, so pages replay in order. A ``url`` may carry a query (copy a
  ``nextLink`` verbatim); it joins ``query``.
* ``body`` and ``authorized`` when given.

Pages: a list response carries ``nextLink``, a full URL as Azure returns it; the next page is the exchange
for that URL. A request nothing matches gets a 404 ``{"error": {"code": "NotFound", "message": ...}}`` and
is recorded in ``adapter.unmatched``; ``adapter.requests`` keeps every request (``RecordedRequest``: the
Authorization scheme only, never a token; the proxies, CA setting and timeout requests handed over).

Faults (fault-injection tests): ``network_error`` raises what ``requests`` raises when the network fails:
``"connect"`` (no connection), ``"timeout"`` (connect timeout), ``"read_timeout"`` (the server stalled past
the read timeout), ``"connection_reset"`` (the connection was reset before an answer). ``truncate``
declares the full ``Content-Length`` but delivers half the body, as a connection closed mid-answer does
(urllib3 raises ``IncompleteRead`` while azure-core reads it). ``raw`` answers its text as is.

Key Vault's challenge authentication needs its 401 recorded: ``key_vault_challenge(vault_url, tenant)``
builds the exchange (every request without Authorization to that host gets it). azure-keyvault caches
challenges per process: call ``reset_key_vault_challenges()`` between independent replays.
"""

from __future__ import annotations

import copy
import http
import io
import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from urllib3.exceptions import ProtocolError
from urllib3.response import HTTPResponse

from providers.replaybook import ReplayBook

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken
    from azure.core.pipeline.transport import RequestsTransport

__all__ = [
    "PAGE_PARAMS",
    "Exchange",
    "RecordedRequest",
    "ReplayAdapter",
    "ReplayCredential",
    "TokenRequest",
    "azure_error",
    "key_vault_challenge",
    "load_cassette",
    "reset_key_vault_challenges",
]

#: Continuation parameters of ARM and Key Vault list calls (lower case): always compared.
PAGE_PARAMS = frozenset({"$skiptoken", "skiptoken", "continuationtoken"})

#: Default ``error.code`` when an exchange gives an error status but no body.
_ERROR_CODES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}
_NETWORK_ERRORS = frozenset({"connect", "timeout", "read_timeout", "connection_reset"})
_EXCHANGE_KEYS = frozenset(
    {
        "method",
        "url",
        "host",
        "path",
        "query",
        "body",
        "authorized",
        "status",
        "headers",
        "response",
        "network_error",
        "raw",
        "truncate",
        "times",
        "comment",
    }
)
_NO_BODY = object()  # "response": null -> an empty body (204, 202)


class _Readable(Protocol):
    """A path or an ``importlib.resources`` Traversable: anything with ``read_text``."""

    def read_text(self, encoding: str = ...) -> str: ...


def azure_error(code: str, message: str | None = None, *, inner_code: str | None = None) -> dict[str, Any]:
    """The error body ARM and Key Vault answer with: ``{"error": {"code", "message"[, "innererror"]}}``."""
    error: dict[str, Any] = {"code": code, "message": message or f"The operation failed: {code}."}
    if inner_code:
        error["innererror"] = {"code": inner_code}
    return {"error": error}


def key_vault_challenge(
    vault_url: str, tenant_id: str, *, authority_host: str = "login.microsoftonline.com"
) -> dict[str, Any]:
    """The exchange for Key Vault's 401 challenge to unauthenticated requests on ``vault_url``'s host.

    The resource is the vault's DNS suffix (``https://vault.azure.net`` for ``x.vault.azure.net``,
    ``https://managedhsm.azure.net`` for a Managed HSM), as the service sends it.
    """
    host = (urlsplit(vault_url).hostname or "").lower()
    if "." not in host:
        raise ValueError(f"not a vault URL: {vault_url!r}")
    resource = "https://" + host.split(".", 1)[1]
    return {
        "comment": "Key Vault challenge: a request without a bearer token learns tenant and resource",
        "method": "*",
        "host": host,
        "path": "/*",
        "authorized": False,
        "status": 401,
        "headers": {
            "WWW-Authenticate": (
                f'Bearer authorization="https://{authority_host}/{tenant_id}", resource="{resource}"'
            )
        },
        "response": azure_error("Unauthorized", "AKV10000: Request is missing a Bearer or PoP token."),
    }


def reset_key_vault_challenges() -> None:
    """Forget the challenges azure-keyvault-keys cached (process-global, keyed by vault host)."""
    from azure.keyvault.keys._shared import http_challenge_cache

    http_challenge_cache.clear()
    try:  # azure-keyvault-administration (Managed HSM local RBAC) keeps its own copy
        from azure.keyvault.administration._internal import http_challenge_cache as admin_cache
    except ImportError:  # pragma: no cover - a dependency, but its private layout may move
        return
    admin_cache.clear()


def _norm_host(netloc_host: str | None, port: int | None, scheme: str) -> str:
    host = (netloc_host or "").lower()
    if port is not None and port != {"https": 443, "http": 80}.get(scheme):
        host = f"{host}:{port}"
    return host


def _norm_path(path: str) -> str:
    path = unquote(path) or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    return path.lower()


def _header(request: requests.PreparedRequest, name: str) -> str | None:
    value = request.headers.get(name)
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _query_values(value: Any) -> list[str]:
    items = value if isinstance(value, list | tuple) else [value]
    return sorted("true" if v is True else "false" if v is False else str(v) for v in items)


def _location(raw: Mapping[str, Any], where: str) -> tuple[str, str, bool, dict[str, list[str]]]:
    """Host, normalised path, prefix flag and the URL's own query of an exchange."""
    query: dict[str, list[str]] = {}
    if "url" in raw:
        if "host" in raw or "path" in raw:
            raise ValueError(f"{where}give either 'url' or 'host' and 'path', not both")
        parts = urlsplit(str(raw["url"]))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{where}'url' must be an absolute http(s) URL, got {raw['url']!r}")
        host = _norm_host(parts.hostname, parts.port, parts.scheme)
        path = parts.path or "/"
        for name, values in parse_qs(parts.query, keep_blank_values=True).items():
            query[name.lower()] = sorted(values)
    else:
        raw_host, raw_path = raw.get("host"), raw.get("path")
        if not isinstance(raw_host, str) or not raw_host or not isinstance(raw_path, str):
            raise ValueError(f"{where}an exchange needs 'url', or 'host' and an absolute 'path'")
        if not raw_path.startswith("/"):
            raise ValueError(f"{where}an exchange needs 'url', or 'host' and an absolute 'path'")
        host, path = raw_host.lower().removesuffix(":443"), raw_path
    prefix = path.endswith("*")
    path = _norm_path(path[:-1]) if prefix else _norm_path(path)
    if prefix and path == "/":
        path = ""  # "/*": every path
    return host, path, prefix, query


@dataclass
class Exchange:
    """One recorded request/response pair (see the module docstring for the fields)."""

    method: str
    host: str
    path: str
    prefix: bool = False
    query: dict[str, list[str]] = field(default_factory=dict)
    body: Any = None
    has_body: bool = False
    authorized: bool | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    response: Any = field(default_factory=dict)
    network_error: str | None = None
    times: int | None = None
    source: str = ""
    hits: int = 0
    raw: str | None = None  # the body as is, instead of ``response`` as JSON
    truncate: bool = False  # deliver half the body under the full Content-Length

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
        method = raw.get("method")
        if not isinstance(method, str) or not method:
            raise ValueError(f"{where}an exchange needs a 'method'")

        host, path, prefix, query = _location(raw, where)
        extra_query = raw.get("query") or {}
        if not isinstance(extra_query, Mapping):
            raise ValueError(f"{where}'query' must be an object")
        query.update({str(k).lower(): _query_values(v) for k, v in extra_query.items()})

        times = raw.get("times")
        if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
            raise ValueError(f"{where}'times' must be a positive integer")
        status = raw.get("status", 200)
        if not isinstance(status, int) or not 100 <= status <= 599:
            raise ValueError(f"{where}'status' must be an HTTP status code")
        authorized = raw.get("authorized")
        if authorized is not None and not isinstance(authorized, bool):
            raise ValueError(f"{where}'authorized' must be true or false")
        network_error = raw.get("network_error")
        if network_error is not None and network_error not in _NETWORK_ERRORS:
            raise ValueError(f"{where}'network_error' must be one of {sorted(_NETWORK_ERRORS)}")
        headers = raw.get("headers") or {}
        if not isinstance(headers, Mapping):
            raise ValueError(f"{where}'headers' must be an object")
        body_text = raw.get("raw")
        if body_text is not None and not isinstance(body_text, str):
            raise ValueError(f"{where}'raw' must be a string")
        if not isinstance(raw.get("truncate", False), bool):
            raise ValueError(f"{where}'truncate' must be true or false")

        if "response" in raw:
            response = _NO_BODY if raw["response"] is None else copy.deepcopy(raw["response"])
        elif status >= 400:
            response = azure_error(_ERROR_CODES.get(status, "Error"))
        else:
            response = {}

        return cls(
            method=method.upper(),
            host=host,
            path=path,
            prefix=prefix,
            query=query,
            body=copy.deepcopy(raw.get("body")),
            has_body="body" in raw,
            authorized=authorized,
            status=status,
            headers={str(k): str(v) for k, v in headers.items()},
            response=response,
            network_error=network_error,
            times=times,
            source=source,
            raw=body_text,
            truncate=bool(raw.get("truncate", False)),
        )

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times

    def matches(self, request: RecordedRequest) -> bool:
        if self.exhausted or self.method not in ("*", request.method):
            return False
        if request.host.lower() != self.host:
            return False
        path = _norm_path(request.path)
        if not (path.startswith(self.path) if self.prefix else path == self.path):
            return False
        if self.authorized is not None and self.authorized != (request.authorization is not None):
            return False
        query = {k.lower(): sorted(v) for k, v in request.query.items()}
        for name in PAGE_PARAMS:
            if self.query.get(name) != query.get(name):
                return False
        if any(query.get(name) != values for name, values in self.query.items()):
            return False
        return not self.has_body or request.body == self.body


@dataclass(frozen=True)
class RecordedRequest:
    """A request as the adapter saw it, with what ``requests`` handed the adapter alongside it."""

    method: str
    url: str
    host: str  # lower case, with a port only when it is not the scheme's default
    path: str  # percent-decoded, as sent
    query: dict[str, list[str]]
    body: Any
    authorization: str | None = None  # the Authorization header's scheme ("Bearer"), never the token
    proxies: Mapping[str, str] = field(default_factory=dict)
    verify: bool | str = True
    timeout: Any = None
    user_agent: str | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.url}"


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


class ReplayAdapter(ReplayBook, BaseAdapter):
    """Answer every request of the sessions it is mounted on from recorded exchanges; thread-safe.

    >>> adapter = ReplayAdapter("keyvault_mgmt.json")                       # doctest: +SKIP
    >>> client = keyvault_mgmt_client(SUB, ReplayCredential(), transport=adapter.transport(), retry_total=0)
    >>> vaults = list(client.vaults.list_by_subscription())
    >>> adapter.assert_all_matched()
    """

    def __init__(
        self,
        *cassettes: str | PathLike[str] | _Readable,
        exchanges: Iterable[Mapping[str, Any]] = (),
    ) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._exchanges: list[Exchange] = []
        # Host -> its exchanges, in matching order: a request only ever matches exchanges of its own host,
        # so a large estate (thousands of exchanges) is matched in a short list.
        self._by_host: dict[str, list[Exchange]] = {}
        for cassette in cassettes:
            for parsed in load_cassette(cassette):
                self._exchanges.append(parsed)
                self._by_host.setdefault(parsed.host, []).append(parsed)
        for raw in exchanges:
            self.add(raw)
        self.calls: Counter[str] = Counter()  # "host/path" -> requests
        self.requests: list[RecordedRequest] = []
        self.unmatched: list[RecordedRequest] = []
        self._ids = itertools.count(1)

    # -- exchanges ---------------------------------------------------------------------------------
    def add(self, exchange: Mapping[str, Any], *, first: bool = False) -> None:
        """Add an exchange (same keys as in a cassette); ``first`` puts it ahead of the recorded ones."""
        parsed = Exchange.from_mapping(exchange, source="added")
        with self._lock:
            same_host = self._by_host.setdefault(parsed.host, [])
            if first:
                self._exchanges.insert(0, parsed)
                same_host.insert(0, parsed)
            else:
                self._exchanges.append(parsed)
                same_host.append(parsed)

    def inject_error(
        self,
        method: str,
        url_prefix: str,
        status: int,
        code: str,
        times: int | None = None,
        *,
        message: str | None = None,
        inner_code: str | None = None,
        headers: Mapping[str, str] | None = None,
        authorized: bool | None = None,
    ) -> None:
        """Answer ``method`` on every URL starting with ``url_prefix`` with an Azure error, ahead of the
        recordings, ``times`` times or always. ``authorized=True`` lets Key Vault's 401 challenge (for
        requests without a token) pass first, as the service does before its firewall answers 403."""
        raw: dict[str, Any] = {
            "method": method,
            "url": url_prefix.rstrip("*") + "*",
            "status": status,
            "response": azure_error(code, message, inner_code=inner_code),
        }
        if headers:
            raw["headers"] = dict(headers)
        if authorized is not None:
            raw["authorized"] = authorized
        if times is not None:
            raw["times"] = times
        self.add(raw, first=True)

    def unreachable(self, host: str, *, timeout: bool = False, times: int | None = None) -> None:
        """Make ``host`` unreachable: a connection error (or a connect timeout) instead of an answer."""
        raw: dict[str, Any] = {
            "method": "*",
            "host": host,
            "path": "/*",
            "network_error": "timeout" if timeout else "connect",
        }
        if times is not None:
            raw["times"] = times
        self.add(raw, first=True)

    # -- wiring ------------------------------------------------------------------------------------
    def session(self) -> requests.Session:
        """A new ``requests.Session`` with this adapter on ``https://`` and ``http://``.

        ``trust_env`` stays on, as in the sessions azure-core builds: proxy and CA variables reach ``send``.
        """
        session = requests.Session()
        session.mount("https://", self)
        session.mount("http://", self)
        return session

    def transport(self) -> RequestsTransport:
        """An azure-core ``RequestsTransport`` over a new session of this adapter (the session is not
        the transport's to close: closing a client leaves the adapter usable)."""
        from azure.core.pipeline.transport import RequestsTransport

        return RequestsTransport(session=self.session(), session_owner=False)

    # -- requests adapter --------------------------------------------------------------------------
    def send(  # noqa: PLR0917 (requests calls adapters with these positionals)
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        recorded = self._record(request, timeout=timeout, verify=verify, proxies=proxies)
        with self._lock:
            self.calls[f"{recorded.host}{recorded.path}"] += 1
            self.requests.append(recorded)
            candidates = self._by_host.get(recorded.host.lower(), ())
            exchange = next((e for e in candidates if e.matches(recorded)), None)
            if exchange is None:
                self.unmatched.append(recorded)
            else:
                exchange.hits += 1
        if exchange is None:
            body: Any = azure_error("NotFound", f"keyaudit replay: no recorded exchange for {recorded}")
            return self._response(request, 404, {}, body)
        if exchange.network_error is not None:
            raise self._network_error(exchange.network_error, recorded, request)
        payload = _RawBody(exchange.raw) if exchange.raw is not None else copy.deepcopy(exchange.response)
        return self._response(request, exchange.status, exchange.headers, payload, truncate=exchange.truncate)

    def close(self) -> None:
        """Nothing to release: no connection was ever opened."""

    # -- helpers -----------------------------------------------------------------------------------
    @staticmethod
    def _record(
        request: requests.PreparedRequest,
        *,
        timeout: Any,
        verify: bool | str,
        proxies: Mapping[str, str] | None,
    ) -> RecordedRequest:
        url = request.url or ""
        parts = urlsplit(url)
        raw_body = request.body
        body: Any = None
        if raw_body:
            text = raw_body.decode("utf-8", "replace") if isinstance(raw_body, bytes) else str(raw_body)
            try:
                body = json.loads(text)
            except ValueError:
                body = text
        authorization = _header(request, "Authorization")
        return RecordedRequest(
            method=(request.method or "GET").upper(),
            url=url,
            host=_norm_host(parts.hostname, parts.port, parts.scheme),
            path=unquote(parts.path) or "/",
            query=parse_qs(parts.query, keep_blank_values=True),
            body=body,
            authorization=authorization.split(" ", 1)[0] if authorization else None,
            proxies=dict(proxies or {}),
            verify=verify,
            timeout=timeout,
            user_agent=_header(request, "User-Agent"),
        )

    def _response(
        self,
        request: requests.PreparedRequest,
        status: int,
        headers: Mapping[str, str],
        payload: Any,
        *,
        truncate: bool = False,
    ) -> requests.Response:
        if isinstance(payload, _RawBody):
            data = payload.text.encode("utf-8")
        else:
            data = b"" if payload is _NO_BODY else json.dumps(payload).encode("utf-8")
        all_headers: dict[str, str] = {"x-ms-request-id": f"00000000-0000-4000-8000-{next(self._ids):012d}"}
        if data:
            all_headers["Content-Type"] = "application/json; charset=utf-8"
        all_headers.update(headers)
        all_headers["Content-Length"] = str(len(data))
        try:
            reason = http.HTTPStatus(status).phrase
        except ValueError:
            reason = ""
        # A urllib3 response as raw, as requests' own HTTPAdapter builds it: azure-core reads and
        # configures ``response.raw`` (enforce_content_length, streaming downloads).
        raw = HTTPResponse(
            body=io.BytesIO(data[: len(data) // 2] if truncate else data),
            headers=all_headers,
            status=status,
            reason=reason,
            preload_content=False,
            decode_content=False,
            request_method=request.method,
            request_url=request.url,
        )
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict(all_headers)
        response.raw = raw
        response.reason = reason
        response.url = request.url or ""
        response.encoding = get_encoding_from_headers(response.headers)
        response.request = request
        return response

    @staticmethod
    def _network_error(
        kind: str, recorded: RecordedRequest, request: requests.PreparedRequest
    ) -> requests.RequestException:
        where = f"HTTPSConnectionPool(host='{recorded.host}', port=443): Max retries exceeded with url: {recorded.path}"
        if kind == "read_timeout":
            return requests.ReadTimeout(
                f"HTTPSConnectionPool(host='{recorded.host}', port=443): Read timed out.", request=request
            )
        if kind == "connection_reset":
            # As requests raises it: the urllib3 ProtocolError first (azure-core reads it to tell a
            # response error from a request error).
            reset = ConnectionResetError(104, "Connection reset by peer")
            return requests.ConnectionError(ProtocolError("Connection aborted.", reset), request=request)
        if kind == "timeout":
            return requests.ConnectTimeout(
                f"{where} (Caused by ConnectTimeoutError('Connection to {recorded.host} timed out.'))",
                request=request,
            )
        return requests.ConnectionError(
            f"{where} (Caused by NameResolutionError(\"Failed to resolve '{recorded.host}' "
            '([Errno -2] Name or service not known)"))',
            request=request,
        )


@dataclass(frozen=True)
class _RawBody:
    """A response body sent as is (``raw``), not serialised as JSON."""

    text: str


@dataclass(frozen=True)
class TokenRequest:
    """One ``get_token`` call: what an SDK asked the credential for."""

    scopes: tuple[str, ...]
    tenant_id: str | None = None
    claims: str | None = None
    enable_cae: bool = False


class ReplayCredential:
    """A ``TokenCredential`` handing out a fixed token, recording the scopes and tenants asked for.

    For replays only: the token means nothing to a real service.
    """

    def __init__(self, token: str = "replay-token", *, expires_on: int | None = None) -> None:  # noqa: S107
        self.token = token
        self.expires_on = expires_on or int(time.time()) + 10 * 365 * 86400
        self.requests: list[TokenRequest] = []
        self._lock = threading.Lock()

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        from azure.core.credentials import AccessToken

        with self._lock:
            self.requests.append(TokenRequest(tuple(scopes), tenant_id, claims, enable_cae))
        return AccessToken(self.token, self.expires_on)

    @property
    def scopes(self) -> list[str]:
        """Every scope asked for, in order (one entry per scope per call)."""
        return [scope for request in self.requests for scope in request.scopes]

    @property
    def tenants(self) -> list[str | None]:
        return [request.tenant_id for request in self.requests]

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> ReplayCredential:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
