"""Splunk HTTP Event Collector: ``splunk-hec://HOST:PORT?index=...&sourcetype=...&ack=true&tls=true``.

Events go to ``POST /services/collector/event`` as newline-joined JSON envelopes
``{time, host, source, sourcetype, index, event, fields}``: ``event`` is the finding's OCSF event and
``fields.finding_id`` its stable id (an indexed field: searches drop duplicates by it). A batch holds at
most ``?batch=`` events (default 100) and 1 MB. With ``?ack=true`` (indexer acknowledgement on the
token) every request carries an ``X-Splunk-Request-Channel`` and a batch counts as delivered only when
``/services/collector/ack`` reports its ackId indexed.

The token comes only from the environment variable ``KEYAUDIT_SPLUNK_HEC_TOKEN``: a URL carrying
credentials is refused, and the token is never logged, shown in errors or written to the spool.
``?tls=false`` uses plain HTTP (a local forwarder); otherwise HTTPS verified against ``?ca=PATH``, or
requests' default store (``REQUESTS_CA_BUNDLE`` is honoured, as are the proxy variables).
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Sequence
from typing import Any, ClassVar

import orjson

from scanner.delivery.base import DeliveryError, Destination, DestinationURL, EventContext, SpooledEvent
from scanner.findings import Finding

TOKEN_ENV = "KEYAUDIT_SPLUNK_HEC_TOKEN"  # noqa: S105 (the variable's name, not a token)
EVENT_PATH = "/services/collector/event"
ACK_PATH = "/services/collector/ack"
DEFAULT_SOURCETYPE = "keyaudit:ocsf"
_RETRYABLE_STATUS = {408, 429, 500, 502, 503, 504}
_CONNECT_TIMEOUT = 5.0


class SplunkHecDestination(Destination):
    max_batch_events: ClassVar[int] = 100
    max_batch_bytes: ClassVar[int] = 1_000_000

    def __init__(self, url: DestinationURL) -> None:
        super().__init__(url)
        url.refuse_credentials(f"put the HEC token in the environment variable {TOKEN_ENV}")
        url.check_params(["index", "sourcetype", "source", "ack", "tls", "ca", "batch"])
        host, port = url.require_host_port(8088)
        if url.path not in ("", "/"):
            raise url.fail(f"no path expected (keyaudit posts to {EVENT_PATH})")
        self.tls = url.flag_param("tls", True)
        self.ack = url.flag_param("ack", False)
        self.index = url.query.get("index") or None
        self.sourcetype = url.query.get("sourcetype") or DEFAULT_SOURCETYPE
        self.source = url.query.get("source") or "keyaudit"
        self.batch_events = url.int_param("batch", self.max_batch_events, low=1, high=10_000)
        self.ca = url.query.get("ca")
        if self.ca is not None and not os.path.isfile(self.ca):
            raise url.fail(f"ca={self.ca}: no such file")
        if not self.tls and self.ca is not None:
            raise url.fail("ca= needs tls=true")
        token = os.environ.get(TOKEN_ENV, "").strip()
        if not token:
            raise url.fail(f"set the HEC token in the environment variable {TOKEN_ENV}")
        self._token = token
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self._base = f"{'https' if self.tls else 'http'}://{netloc}"
        # One channel per process: Splunk numbers the ackIds per channel.
        self._channel = str(uuid.uuid4())
        self._hostname = socket.gethostname()
        self._session: Any = None

    def prepare(self, finding: Finding, context: EventContext) -> Any:
        from scanner.output.ocsf_writer import event

        envelope: dict[str, Any] = {
            "time": round(context.time.timestamp(), 3),
            "host": self._hostname,
            "source": self.source,
            "sourcetype": self.sourcetype,
            "event": event(finding, time_ms=int(context.time.timestamp() * 1000)),
            "fields": {"finding_id": finding.finding_id, "rule_id": finding.rule_id},
        }
        if self.index:
            envelope["index"] = self.index
        return envelope

    def batch_limits(self) -> tuple[int, int]:
        return self.batch_events, self.max_batch_bytes

    # ------------------------------------------------------------------------------------------ sending
    def send(self, events: Sequence[SpooledEvent], *, deadline: float) -> None:
        body = b"\n".join(orjson.dumps(e.payload, option=orjson.OPT_NON_STR_KEYS) for e in events)
        answer = self._post(EVENT_PATH, body, deadline)
        if not self.ack:
            return
        ack_id = answer.get("ackId") if isinstance(answer, dict) else None
        if not isinstance(ack_id, int):
            raise DeliveryError(
                "ack=true but HEC returned no ackId (is indexer acknowledgement enabled on the token?)",
                retryable=False,
            )
        self._wait_for_ack(ack_id, deadline)

    def _wait_for_ack(self, ack_id: int, deadline: float) -> None:
        delay = 0.1
        query = f"{ACK_PATH}?channel={self._channel}"
        while True:
            answer = self._post(query, orjson.dumps({"acks": [ack_id]}), deadline)
            acks = answer.get("acks") if isinstance(answer, dict) else None
            if isinstance(acks, dict) and acks.get(str(ack_id)) is True:
                return
            if time.monotonic() + delay >= deadline:
                raise DeliveryError(f"ackId {ack_id} not acknowledged in time", retryable=True)
            time.sleep(delay)
            delay = min(delay * 2, 2.0)

    def _post(self, path: str, body: bytes, deadline: float) -> Any:
        import requests

        if self._session is None:
            self._session = requests.Session()
        left = deadline - time.monotonic()
        if left <= 0:
            raise DeliveryError("out of time for this batch", retryable=True)
        headers = {"Authorization": f"Splunk {self._token}", "Content-Type": "application/json"}
        if self.ack:
            headers["X-Splunk-Request-Channel"] = self._channel
        try:
            response = self._session.post(
                self._base + path,
                data=body,
                headers=headers,
                timeout=(min(_CONNECT_TIMEOUT, left), left),
                verify=self.ca if self.ca else True,
                allow_redirects=False,  # a redirect could carry the token elsewhere
            )
        except requests.exceptions.SSLError as exc:
            raise DeliveryError(f"TLS error talking to HEC: {type(exc).__name__}", retryable=False) from exc
        except requests.exceptions.ConnectionError as exc:
            raise DeliveryError(f"cannot connect to HEC ({_root_cause(exc)})", retryable=True) from exc
        except requests.exceptions.Timeout as exc:
            raise DeliveryError("HEC did not answer in time", retryable=True) from exc
        except requests.exceptions.RequestException as exc:
            raise DeliveryError(f"HEC request failed: {type(exc).__name__}", retryable=True) from exc
        with response:
            text = response.text
            status = response.status_code
        try:
            answer = orjson.loads(text) if text else {}
        except orjson.JSONDecodeError:
            answer = None
        if status == 200:
            return answer
        detail = _hec_detail(answer, text)
        if status in (401, 403):
            raise DeliveryError(
                f"HEC refused the token from {TOKEN_ENV} (HTTP {status}{detail})", retryable=False
            )
        raise DeliveryError(f"HEC answered HTTP {status}{detail}", retryable=status in _RETRYABLE_STATUS)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


def _hec_detail(answer: Any, text: str) -> str:
    """Splunk's own error text and code ("Invalid data format", 6), never the raw body of a stranger."""
    if isinstance(answer, dict) and "text" in answer:
        message = "".join(c for c in str(answer["text"]) if c.isprintable())[:120]
        return f": {message} (code {answer.get('code')})"
    return ""


def _root_cause(exc: BaseException) -> str:
    """'connection refused' and the like, without requests' long nested repr."""
    seen = exc
    while seen.__cause__ is not None or seen.__context__ is not None:
        nxt = seen.__cause__ or seen.__context__
        assert nxt is not None
        seen = nxt
    if isinstance(seen, ConnectionRefusedError):
        return "connection refused"
    if isinstance(seen, OSError) and seen.strerror:
        return seen.strerror
    return type(seen).__name__
