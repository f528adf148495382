"""The destination interface: what a SIEM destination (``--to URL``) implements, and its parsed URL.

A destination turns each finding into one JSON-serialisable *payload* (``prepare``, pure and
deterministic, so a resent event is byte-for-byte the event first sent) and delivers a batch of them
(``send``). The delivery core (``scanner.delivery.deliver``) does the rest: it writes every batch to the
spool before sending, retries with backoff, and removes a batch only once ``send`` returned. Credentials
never travel in the URL's spool key, logs or errors: ``DestinationURL.redacted`` is what may be shown.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, NamedTuple
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from scanner.errors import InputError

# Query parameters whose value must never be shown (and which no built-in destination accepts).
_SECRET_PARAM = re.compile(r"(secret|token|password|passwd|credential|auth|api[_-]?key|sig)", re.I)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*$")


class DeliveryError(Exception):
    """A batch was not accepted. ``retryable``: worth sending again (network down, receiver busy);
    otherwise the receiver refused it for good (bad token, bad data) and retrying now cannot help.
    The message must not contain secrets."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class SpooledEvent(NamedTuple):
    """One event as spooled: the finding id (receivers drop duplicates by it) and the payload."""

    id: str
    payload: Any


@dataclass(frozen=True)
class EventContext:
    """What every event of one result shares."""

    time: datetime  # when the findings were judged (the result's scan.finished_at), timezone-aware
    scan: Mapping[str, Any]  # the SPEC 4 scan object


@dataclass(frozen=True)
class DestinationURL:
    """A parsed ``--to`` URL. ``text`` may hold credentials: never print it, print ``redacted``."""

    text: str = field(repr=False)
    scheme: str
    host: str
    port: int | None
    path: str
    query: Mapping[str, str] = field(repr=False)
    username: str | None = field(repr=False)
    password: str | None = field(repr=False)
    flag: str = "--to"

    @classmethod
    def parse(cls, text: str, *, flag: str = "--to") -> DestinationURL:
        scheme, sep, _ = text.partition("://")
        scheme = scheme.lower()
        if not sep or not _SCHEME.match(scheme):
            raise InputError(
                f"{flag}: not a destination URL (expected SCHEME://HOST:PORT...): {_shown(text)}"
            )
        parts = urlsplit(text)
        try:
            port = parts.port
        except ValueError as exc:
            raise InputError(f"{flag} {_shown(text)}: bad port ({exc})") from exc
        query: dict[str, str] = {}
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            if name in query:
                raise InputError(f"{flag} {_shown(text)}: query parameter '{name}' given twice")
            query[name] = value
        return cls(
            text=text,
            scheme=scheme,
            host=parts.hostname or "",
            port=port,
            path=parts.path,
            query=query,
            username=parts.username,
            password=parts.password,
            flag=flag,
        )

    @property
    def has_credentials(self) -> bool:
        return bool(self.username or self.password or any(_SECRET_PARAM.search(k) for k in self.query))

    @property
    def redacted(self) -> str:
        """The URL without user, password or secret-named query parameters: safe to log and to store."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        netloc = f"{host}:{self.port}" if self.port is not None else host
        query = urlencode(
            [(k, v) for k, v in self.query.items() if not _SECRET_PARAM.search(k)], quote_via=quote
        )
        return f"{self.scheme}://{netloc}{self.path}" + (f"?{query}" if query else "")

    @property
    def key(self) -> str:
        """The spool directory name: the scheme and a hash of the URL without credentials (query
        parameters sorted, host lower-cased: the same destination written differently is one spool)."""
        safe = sorted((k, v) for k, v in self.query.items() if not _SECRET_PARAM.search(k))
        canonical = f"{self.scheme}://{self.host.lower()}:{self.port}{self.path}?{urlencode(safe)}"
        digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:20]
        return f"{self.scheme.replace('+', '-')}-{digest}"

    # -- helpers for destinations validating their URL (every problem is exit 2, naming the flag)
    def fail(self, problem: str) -> InputError:
        return InputError(f"{self.flag} {self.redacted}: {problem}")

    def refuse_credentials(self, where_they_go: str) -> None:
        if self.has_credentials:
            raise self.fail(
                f"credentials do not belong in the URL (they would end up in shell history and process "
                f"lists); {where_they_go}"
            )

    def check_params(self, allowed: Sequence[str]) -> None:
        unknown = sorted(set(self.query) - set(allowed))
        if unknown:
            known = ", ".join(allowed) or "none"
            raise self.fail(f"unknown query parameter(s) {', '.join(unknown)}; known: {known}")

    def require_host_port(self, default_port: int | None = None) -> tuple[str, int]:
        if not self.host:
            raise self.fail("a host is required (SCHEME://HOST:PORT)")
        port = self.port if self.port is not None else default_port
        if port is None:
            raise self.fail("a port is required (SCHEME://HOST:PORT)")
        return self.host, port

    def choice(self, name: str, choices: Sequence[str], default: str) -> str:
        value = self.query.get(name, default).lower()
        if value not in choices:
            raise self.fail(f"{name}={value!r}: choose from {', '.join(choices)}")
        return value

    def flag_param(self, name: str, default: bool) -> bool:
        value = self.query.get(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
        raise self.fail(f"{name}={value!r}: expected true or false")

    def int_param(self, name: str, default: int, *, low: int, high: int) -> int:
        value = self.query.get(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            number = low - 1
        if not low <= number <= high:
            raise self.fail(f"{name}={value!r}: expected a whole number from {low} to {high}")
        return number


class Destination(ABC):
    """A SIEM destination. Subclasses validate their URL in ``__init__`` (raise ``url.fail(...)``, an
    InputError, exit 2) so a bad ``--to`` stops the run before any work; they never open a connection
    there. Class attributes bound the batches the core builds for ``send``."""

    max_batch_events: ClassVar[int] = 100
    max_batch_bytes: ClassVar[int] = 1_000_000  # serialised payload bytes

    def __init__(self, url: DestinationURL) -> None:
        self.url = url

    @property
    def name(self) -> str:
        """How logs and messages name this destination (no credentials)."""
        return self.url.redacted

    def __repr__(self) -> str:  # never credentials
        return f"{type(self).__name__}({self.name})"

    def batch_limits(self) -> tuple[int, int]:
        """Most events and most serialised payload bytes per batch (override when the URL sets them)."""
        return self.max_batch_events, self.max_batch_bytes

    @abstractmethod
    def prepare(self, finding: Any, context: EventContext) -> Any:
        """The payload for one finding (JSON-serialisable; it is spooled as is). Pure and deterministic:
        the same finding and context give the same payload, so a resent event is the same event."""

    @abstractmethod
    def send(self, events: Sequence[SpooledEvent], *, deadline: float) -> None:
        """Deliver one batch; return only when the receiver accepted all of it, else raise DeliveryError.
        ``deadline`` is a ``time.monotonic()`` value: bound every network wait by it."""

    def close(self) -> None:  # noqa: B027 (optional hook)
        """Release connections; called once after the last batch."""


def _shown(text: str) -> str:
    """A URL we could not parse, with anything that looks like user:password@ or a query removed."""
    head = text.split("?", 1)[0]
    if "@" in head:
        scheme, _, rest = head.partition("://")
        head = f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return repr(head[:200])
