"""Microsoft Sentinel / Azure Monitor Logs: ``sentinel://DCE_HOST?rule=DCR_ID&stream=STREAM``.

``DCE_HOST`` is the logs ingestion host of a data collection endpoint (or of a data collection rule
with its own endpoint), e.g. ``keyaudit-dce-a1b2.westeurope-1.ingest.monitor.azure.com``; keyaudit
posts over HTTPS to ``https://DCE_HOST/dataCollectionRules/DCR_ID/streams/STREAM`` through the Logs
Ingestion API (``azure-monitor-ingestion``), which gzips the rows. Query parameters:

``rule``    the data collection rule's immutable id, ``dcr-`` and 32 hex digits (required)
``stream``  the stream declared in the rule (default ``Custom-KeyauditFindings_CL``)
``batch``   rows per request, 1-10000 (default 500; batches also stay within one 1 MB request)
``ca``      a PEM file of CA certificates to verify the endpoint with (default: the system store;
            ``REQUESTS_CA_BUNDLE`` and the proxy variables are honoured)

A custom table needs fixed columns, so each finding is one flat row (``STREAM_COLUMNS``, the stream
declaration to put in the rule and the table to create): ``TimeGenerated`` (when the findings were
judged), ``FindingId`` (stable: a resent row is the same row, so queries drop duplicates by it with
``summarize arg_max(TimeGenerated, *) by FindingId``), ``RuleId``, ``Title``, ``Severity``,
``Status``, ``Waived``, ``Waiver``, ``Provider``, ``Scope``, ``Location``, ``ResourceId``,
``ResourceType``, ``ResourceName``, ``Message``, ``Remediation``, ``Controls`` (array), ``Evidence``
(the rule's evidence object), ``Change``, ``FirstSeen``, ``RunId`` and ``ToolVersion``.

Credentials: ``DefaultAzureCredential`` (environment, workload identity, managed identity, Azure CLI,
...), created when the first batch is sent; the identity needs the *Monitoring Metrics Publisher* role
on the rule. A URL carrying credentials is refused; the token is never logged, shown or spooled.
HTTP 429, 5xx and network failures are retried (and spooled when they last); other refusals stay spooled
until ``keyaudit send --spool``.
"""

from __future__ import annotations

import re
import ssl
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from scanner import __version__
from scanner.delivery.base import DeliveryError, Destination, DestinationURL, EventContext, SpooledEvent
from scanner.findings import Finding

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

DEFAULT_STREAM = "Custom-KeyauditFindings_CL"
# Column name -> Log Analytics type: the DCR's stream declaration and the custom table's schema.
STREAM_COLUMNS: Mapping[str, str] = {
    "TimeGenerated": "datetime",
    "FindingId": "string",
    "RuleId": "string",
    "Title": "string",
    "Severity": "string",
    "Status": "string",
    "Waived": "boolean",
    "Waiver": "dynamic",
    "Provider": "string",
    "Scope": "string",
    "Location": "string",
    "ResourceId": "string",
    "ResourceType": "string",
    "ResourceName": "string",
    "Message": "string",
    "Remediation": "string",
    "Controls": "dynamic",
    "Evidence": "dynamic",
    "Change": "string",
    "FirstSeen": "datetime",
    "RunId": "string",
    "ToolVersion": "string",
}
_RULE_ID = re.compile(r"^dcr-[0-9a-f]{32}$", re.I)
_STREAM = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,254}$")
_RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_CONNECT_TIMEOUT = 5.0


class SentinelDestination(Destination):
    max_batch_events: ClassVar[int] = 500
    # The SDK cuts a request at 1 MiB of json.dumps output, which is at most three times the compact
    # UTF-8 bytes the spool counts: a batch this size is one request, so a retried batch resends no
    # chunk that was already accepted.
    max_batch_bytes: ClassVar[int] = 340_000

    def __init__(self, url: DestinationURL, *, credential: TokenCredential | None = None) -> None:
        """``credential``: an azure-core TokenCredential to use instead of DefaultAzureCredential. The
        registry never passes one; it lets tests supply a static token."""
        super().__init__(url)
        url.refuse_credentials(
            "keyaudit signs in with DefaultAzureCredential (environment, managed identity, Azure CLI)"
        )
        url.check_params(["rule", "stream", "batch", "ca"])
        if not url.host:
            raise url.fail("a data collection endpoint host is required (sentinel://DCE_HOST?rule=dcr-...)")
        if url.path not in ("", "/"):
            raise url.fail(
                "no path expected: give the rule and stream as sentinel://DCE_HOST?rule=DCR_ID&stream=STREAM"
            )
        rule = url.query.get("rule", "")
        if not _RULE_ID.match(rule):
            raise url.fail(
                "rule= must be the data collection rule's immutable id (dcr- and 32 hex digits)"
                if rule
                else "rule= is required: the data collection rule's immutable id (dcr-...)"
            )
        stream = url.query.get("stream") or DEFAULT_STREAM
        if not _STREAM.match(stream):
            raise url.fail(f"stream={stream!r}: not a stream name (e.g. {DEFAULT_STREAM})")
        self.rule_id = rule
        self.stream = stream
        self.batch_events = url.int_param("batch", self.max_batch_events, low=1, high=10_000)
        self.ca = url.query.get("ca")
        if self.ca is not None:
            try:
                ssl.create_default_context(cafile=self.ca)
            except (OSError, ssl.SSLError) as exc:
                raise url.fail(f"ca={self.ca}: not a readable PEM file of CA certificates") from exc
        host = f"[{url.host}]" if ":" in url.host else url.host
        # Always HTTPS: azure-core refuses to send a bearer token over plain HTTP.
        self.endpoint = f"https://{host}" + (f":{url.port}" if url.port is not None else "")
        self._credential = credential
        self._owns_credential = credential is None
        self._client: Any = None

    def prepare(self, finding: Finding, context: EventContext) -> Any:
        from scanner.output.siem_writers import iso_time

        return {
            "TimeGenerated": iso_time(context.time),
            "FindingId": finding.finding_id,
            "RuleId": finding.rule_id,
            "Title": finding.title,
            "Severity": finding.severity.value,
            "Status": finding.status.value,
            "Waived": finding.waived,
            "Waiver": dict(finding.waiver) if finding.waiver else None,
            "Provider": finding.provider,
            "Scope": finding.scope,
            "Location": finding.location,
            "ResourceId": finding.resource.uid,
            "ResourceType": finding.resource.type,
            "ResourceName": finding.resource.name,
            "Message": finding.message,
            "Remediation": finding.remediation,
            "Controls": list(finding.controls),
            "Evidence": dict(finding.evidence),
            "Change": finding.change,
            "FirstSeen": finding.first_seen,
            "RunId": context.scan.get("run_id"),
            "ToolVersion": __version__,
        }

    def batch_limits(self) -> tuple[int, int]:
        return self.batch_events, self.max_batch_bytes

    # ------------------------------------------------------------------------------------------ sending
    def send(self, events: Sequence[SpooledEvent], *, deadline: float) -> None:
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ServiceRequestError,
            ServiceResponseError,
        )

        left = deadline - time.monotonic()
        if left <= 0:
            raise DeliveryError("out of time for this batch", retryable=True)

        def stop_at_first_failure(failure: Any) -> None:
            # Without a callback the SDK logs each failed chunk through the logging module; the core
            # reports the failure once, and a batch is delivered whole or sent again.
            raise failure.error

        try:
            self._ingestion_client().upload(
                rule_id=self.rule_id,
                stream_name=self.stream,
                logs=[e.payload for e in events],
                on_error=stop_at_first_failure,
                connection_timeout=min(_CONNECT_TIMEOUT, left),
                read_timeout=left,
            )
        except ClientAuthenticationError as exc:
            if exc.response is None:  # no token: the credential chain found nothing usable
                raise DeliveryError(
                    f"could not obtain an Azure token ({type(exc).__name__}): {_one_line(exc.message)}",
                    retryable=False,
                ) from exc
            raise _refused(exc) from exc
        except HttpResponseError as exc:
            raise _refused(exc) from exc
        except (ServiceRequestError, ServiceResponseError) as exc:
            if _is_tls_error(exc):
                raise DeliveryError(
                    f"TLS error talking to {self.endpoint}: {_first_line(str(exc))}", retryable=False
                ) from exc
            raise DeliveryError(f"cannot reach {self.endpoint} ({_root_cause(exc)})", retryable=True) from exc

    def _ingestion_client(self) -> Any:
        if self._client is None:
            from azure.monitor.ingestion import LogsIngestionClient

            if self._credential is None:
                from azure.identity import DefaultAzureCredential

                self._credential = DefaultAzureCredential()
            options: dict[str, Any] = {
                "retry_total": 0,  # the delivery core retries with backoff and spools
                "permit_redirects": False,  # never follow a redirect with the token
                "user_agent": f"keyaudit/{__version__}",
            }
            if self.ca is not None:
                options["connection_verify"] = self.ca
            self._client = LogsIngestionClient(endpoint=self.endpoint, credential=self._credential, **options)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._owns_credential and self._credential is not None:
            closer = getattr(self._credential, "close", None)
            if callable(closer):
                closer()
            self._credential = None


def _refused(exc: Any) -> DeliveryError:
    """An HTTP refusal: status, and Azure's own error code and message (never the request)."""
    status = exc.status_code
    detail = ""
    error = getattr(exc, "error", None)
    code, message = getattr(error, "code", None), getattr(error, "message", None)
    if code is None and exc.response is not None:
        try:
            body = exc.response.json()
            code, message = body["error"].get("code"), body["error"].get("message")
        except (ValueError, KeyError, TypeError, AttributeError):
            code = message = None
    if code or message:
        detail = f": {_first_line(str(code or ''))}" + (f" ({_first_line(str(message))})" if message else "")
    text = f"Azure Monitor answered HTTP {status}{detail}"
    if status in (401, 403):
        text += "; the identity needs the Monitoring Metrics Publisher role on the data collection rule"
    elif status == 404:
        text += "; check the endpoint host, rule= and stream="
    return DeliveryError(text, retryable=status in _RETRYABLE_STATUS)


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and what it wraps (azure-core's inner_exception, then Python's chaining)."""
    chain = [exc]
    while len(chain) < 20:  # a chain can loop through __context__
        inner = getattr(chain[-1], "inner_exception", None)
        nxt = inner if isinstance(inner, BaseException) else (chain[-1].__cause__ or chain[-1].__context__)
        if nxt is None or nxt in chain:
            break
        chain.append(nxt)
    return chain


def _is_tls_error(exc: BaseException) -> bool:
    # requests' SSLError is not an ssl.SSLError: recognise both by their name
    return any(isinstance(e, ssl.SSLError) or type(e).__name__ == "SSLError" for e in _causes(exc))


def _root_cause(exc: BaseException) -> str:
    """'connection refused' and the like, without the long nested reprs."""
    seen = _causes(exc)[-1]
    if isinstance(seen, ConnectionRefusedError):
        return "connection refused"
    if isinstance(seen, OSError) and seen.strerror:
        return seen.strerror
    if isinstance(seen, TimeoutError) or "timeout" in type(seen).__name__.lower():
        return "timed out"
    return type(seen).__name__


def _one_line(text: str, limit: int = 600) -> str:
    """A multi-line message (DefaultAzureCredential lists every credential it tried) on one line."""
    lines = [line.strip() for line in text.splitlines()]
    kept = [line for line in lines if line and not line.startswith(("Visit ", "To mitigate"))]
    return _first_line(" ".join(kept), limit)


def _first_line(text: str, limit: int = 300) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    clean = "".join(c for c in line if c.isprintable())
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"
