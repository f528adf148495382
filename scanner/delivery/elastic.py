"""Elasticsearch and OpenSearch: bulk indexing into a data stream, with the official clients.

URL forms (the port defaults to 9200)::

    elastic://HOST:PORT?data_stream=logs-keyaudit.findings-default&tls=true&ca=PATH&batch=500&template=true
    opensearch://HOST:PORT?...the same parameters...

Each finding becomes one ECS document (``event.kind: state``, the ``--format ecs`` document) indexed with
``_bulk`` and ``op_type: create`` into the data stream ``?data_stream=`` (default
``logs-keyaudit.findings-default``), at most ``?batch=`` documents (default 500) and 5 MB per request.
The document ``_id`` is ``FINDING_ID:@timestamp`` (``@timestamp`` is when the findings were judged): a
resent batch cannot index a finding twice, since ``create`` answers 409 for an ``_id`` the data stream
already holds, and keyaudit counts that as delivered; the next scan has a new time, so each scan is a
new snapshot. Data streams check ``_id`` within their write index only, so a resend after a rollover
can duplicate: ``event.id`` plus ``@timestamp`` identify a finding's state in searches. Other refusals
fail the batch, which stays spooled: retried for 429 and 5xx, kept for a person otherwise.

Before the first batch, keyaudit makes sure an index template ``keyaudit-DATA_STREAM`` exists for the
data stream (priority 200, above Elasticsearch's built-in ``logs-*-*``): it maps ``keyaudit.evidence``
and ``keyaudit.waiver`` as ``flattened`` (OpenSearch: ``flat_object``), since evidence differs by rule;
on Elasticsearch it also composes ``logs@mappings``, ``logs@settings`` and ``ecs@mappings`` when the
cluster has them. An existing template is left as it is. Creating it needs the
``manage_index_templates`` cluster privilege; without it keyaudit warns and indexes anyway (create the
template yourself, or set ``?template=false`` to skip this step).

Credentials come only from the environment, never from the URL (a URL carrying them is refused):
Elasticsearch takes ``KEYAUDIT_ELASTIC_API_KEY`` (the encoded API key, sent as ``Authorization: ApiKey``)
or ``KEYAUDIT_ELASTIC_USERNAME`` and ``KEYAUDIT_ELASTIC_PASSWORD`` (basic); OpenSearch takes
``KEYAUDIT_OPENSEARCH_USERNAME`` and ``KEYAUDIT_OPENSEARCH_PASSWORD`` (basic; AWS SigV4 is not
supported). With none set, requests go unauthenticated. ``?tls=false`` uses plain HTTP; otherwise HTTPS
verified against ``?ca=PATH`` or the client's default store. The clients' own retries are off (the
delivery core retries), and every request is bounded by the batch's deadline.
"""

from __future__ import annotations

import copy
import os
import re
import time
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from scanner.delivery.base import DeliveryError, Destination, DestinationURL, EventContext, SpooledEvent
from scanner.findings import Finding
from scanner.logs import get_logger

DEFAULT_DATA_STREAM = "logs-keyaudit.findings-default"
DEFAULT_PORT = 9200
TEMPLATE_PRIORITY = 200  # Elasticsearch's built-in logs-*-* template has 100: ours must win
ELASTIC_API_KEY_ENV = "KEYAUDIT_ELASTIC_API_KEY"
ELASTIC_USERNAME_ENV = "KEYAUDIT_ELASTIC_USERNAME"
ELASTIC_PASSWORD_ENV = "KEYAUDIT_ELASTIC_PASSWORD"  # noqa: S105 (the variable's name)
OPENSEARCH_USERNAME_ENV = "KEYAUDIT_OPENSEARCH_USERNAME"
OPENSEARCH_PASSWORD_ENV = "KEYAUDIT_OPENSEARCH_PASSWORD"  # noqa: S105 (the variable's name)
# Elasticsearch's component templates for logs and ECS fields (8.x and later); missing ones are skipped.
ELASTIC_COMPONENTS = ("logs@mappings", "logs@settings", "ecs@mappings")
# A strict subset of what Elasticsearch and OpenSearch accept as an index or data stream name.
_DATA_STREAM = re.compile(r"^[a-z0-9][a-z0-9._-]{0,199}$")
_BULK_FILTER = "errors,items.*.status,items.*.error"

# Templates made sure of in this process: (base URL, template name). Checked once, not per batch.
_templates_ready: set[tuple[str, str]] = set()


class _BulkDataStreamDestination(Destination):
    """What Elasticsearch and OpenSearch share: URL, payload, bulk answers, template, error wording."""

    max_batch_events: ClassVar[int] = 500
    max_batch_bytes: ClassVar[int] = 5_000_000
    product: ClassVar[str]  # "Elasticsearch" or "OpenSearch", for messages
    credential_hint: ClassVar[str]  # where credentials go, for messages

    def __init__(self, url: DestinationURL) -> None:
        super().__init__(url)
        url.refuse_credentials(f"put them in the environment: {self.credential_hint}")
        url.check_params(["data_stream", "tls", "ca", "batch", "template"])
        self.host, self.port = url.require_host_port(DEFAULT_PORT)
        if url.path not in ("", "/"):
            raise url.fail("no path expected (keyaudit posts to /_bulk)")
        self.data_stream = url.query.get("data_stream") or DEFAULT_DATA_STREAM
        if not _DATA_STREAM.match(self.data_stream):
            raise url.fail(
                f"data_stream={self.data_stream!r}: use lower-case letters, digits, '.', '_' and '-' "
                "(starting with a letter or digit), like logs-keyaudit.findings-default"
            )
        self.tls = url.flag_param("tls", True)
        self.ca = url.query.get("ca")
        if self.ca is not None and not os.path.isfile(self.ca):
            raise url.fail(f"ca={self.ca}: no such file")
        if not self.tls and self.ca is not None:
            raise url.fail("ca= needs tls=true")
        self.batch_events = url.int_param("batch", self.max_batch_events, low=1, high=10_000)
        self.manage_template = url.flag_param("template", True)
        self.template_name = f"keyaudit-{self.data_stream}"
        netloc = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        self._base = f"{'https' if self.tls else 'http'}://{netloc}"
        self._client: Any = None

    def batch_limits(self) -> tuple[int, int]:
        return self.batch_events, self.max_batch_bytes

    def prepare(self, finding: Finding, context: EventContext) -> Any:
        from scanner.output.siem_writers import ecs_document

        return ecs_document(finding, time=context.time)

    # ------------------------------------------------------------------------------------- per client
    @abstractmethod
    def _connect(self) -> Any:
        """A client with its own retries off; no request yet."""

    @abstractmethod
    def _template_exists(self, timeout: float) -> bool: ...

    @abstractmethod
    def _create_template(self, body: dict[str, Any], timeout: float) -> None: ...

    @abstractmethod
    def _bulk(self, operations: list[dict[str, Any]], timeout: float) -> Any: ...

    @abstractmethod
    def _template_body(self) -> dict[str, Any]: ...

    @abstractmethod
    def _as_delivery_error(self, exc: Exception, doing: str) -> DeliveryError | None:
        """The client's exception as a DeliveryError, None when it is not the client's."""

    @abstractmethod
    def _status(self, exc: Exception) -> int | None:
        """The HTTP status of a client error answered by the server, else None."""

    # ------------------------------------------------------------------------------------------ sending
    def send(self, events: Sequence[SpooledEvent], *, deadline: float) -> None:
        if self._client is None:
            self._client = self._connect()
        if self.manage_template and (self._base, self.template_name) not in _templates_ready:
            self._ensure_template(deadline)
        operations: list[dict[str, Any]] = []
        for event in events:
            # The id holds the judging time, so only a resend of this very result meets a conflict.
            stamp = event.payload.get("@timestamp", "") if isinstance(event.payload, dict) else ""
            operations.append({"create": {"_index": self.data_stream, "_id": f"{event.id}:{stamp}"}})
            operations.append(event.payload)
        try:
            answer = self._bulk(operations, _time_left(deadline))
        except Exception as exc:
            raise self._translate(exc, "bulk indexing") from exc
        _check_bulk_answer(answer, len(events), self.product)

    def _ensure_template(self, deadline: float) -> None:
        log = get_logger()
        try:
            if self._template_exists(_time_left(deadline)):
                _templates_ready.add((self._base, self.template_name))
                return
            self._create_template(self._template_body(), _time_left(deadline))
        except Exception as exc:
            status = self._status(exc)
            if status == 400 and "already exists" in _error_reason(exc):
                pass  # another process created it meanwhile
            elif status == 403:
                log.warning(
                    "delivery.index_template_not_managed",
                    destination=self.name,
                    template=self.template_name,
                    problem=f"{self.product} refused to read or create the index template (HTTP 403)",
                    hint=(
                        "grant the manage_index_templates cluster privilege, or create the template "
                        "yourself and add ?template=false; documents are indexed with whatever "
                        "template matches the data stream"
                    ),
                )
            else:
                raise self._translate(exc, "setting up the index template") from exc
        else:
            log.info("delivery.index_template_created", destination=self.name, template=self.template_name)
        _templates_ready.add((self._base, self.template_name))

    def _mappings(self, flattened_type: str) -> dict[str, Any]:
        """ECS_MAPPINGS with @timestamp made explicit and flattened fields named as this product does."""
        from scanner.output.siem_writers import ECS_MAPPINGS

        mappings = copy.deepcopy(ECS_MAPPINGS)
        mappings["properties"]["@timestamp"] = {"type": "date"}
        retyped: dict[str, Any] = _retype(mappings, "flattened", flattened_type)
        return retyped

    def _common_template(self, flattened_type: str) -> dict[str, Any]:
        return {
            "index_patterns": [self.data_stream],
            "data_stream": {},
            "priority": TEMPLATE_PRIORITY,
            "template": {"mappings": self._mappings(flattened_type)},
            "_meta": {"managed_by": "keyaudit", "description": "keyaudit findings (ECS documents)"},
        }

    def _translate(self, exc: Exception, doing: str) -> DeliveryError:
        if isinstance(exc, DeliveryError):
            return exc
        translated = self._as_delivery_error(exc, doing)
        if translated is not None:
            return translated
        return DeliveryError(f"{doing} failed: {type(exc).__name__}", retryable=True)

    def _http_error(self, status: int, exc: Exception, doing: str) -> DeliveryError:
        reason = _error_reason(exc)
        detail = f": {reason}" if reason else ""
        if status == 401:
            return DeliveryError(
                f"{self.product} refused the credentials (HTTP 401{detail}); {self.credential_hint}",
                retryable=False,
            )
        if status == 403:
            return DeliveryError(
                f"{self.product} refused {doing} for these credentials (HTTP 403{detail}): "
                f"they need the create_doc privilege on {self.data_stream}",
                retryable=False,
            )
        return DeliveryError(
            f"{doing}: {self.product} answered HTTP {status}{detail}", retryable=_retryable(status)
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class ElasticDestination(_BulkDataStreamDestination):
    product: ClassVar[str] = "Elasticsearch"
    credential_hint: ClassVar[str] = (
        f"an API key in {ELASTIC_API_KEY_ENV}, or a user in {ELASTIC_USERNAME_ENV} and {ELASTIC_PASSWORD_ENV}"
    )

    def __init__(self, url: DestinationURL) -> None:
        super().__init__(url)
        api_key = os.environ.get(ELASTIC_API_KEY_ENV, "").strip()
        basic = _basic_auth(url, ELASTIC_USERNAME_ENV, ELASTIC_PASSWORD_ENV)
        if api_key and basic:
            raise url.fail(
                f"set either {ELASTIC_API_KEY_ENV} or {ELASTIC_USERNAME_ENV}/{ELASTIC_PASSWORD_ENV}, not both"
            )
        self._auth: dict[str, Any] = {}
        if api_key:
            self._auth["api_key"] = api_key
        elif basic:
            self._auth["basic_auth"] = basic

    def _connect(self) -> Any:
        from elasticsearch import Elasticsearch

        tls: dict[str, Any] = {"verify_certs": True, "ca_certs": self.ca} if self.tls and self.ca else {}
        return Elasticsearch(
            self._base,
            **self._auth,
            **tls,
            max_retries=0,
            retry_on_timeout=False,
            retry_on_status=(),
            connections_per_node=1,
        )

    def _template_body(self) -> dict[str, Any]:
        body = self._common_template("flattened")
        body["composed_of"] = list(ELASTIC_COMPONENTS)
        body["ignore_missing_component_templates"] = list(ELASTIC_COMPONENTS)
        return body

    def _template_exists(self, timeout: float) -> bool:
        client = self._client.options(request_timeout=timeout)
        return bool(client.indices.exists_index_template(name=self.template_name))

    def _create_template(self, body: dict[str, Any], timeout: float) -> None:
        fields = {("meta" if key == "_meta" else key): value for key, value in body.items()}
        self._client.options(request_timeout=timeout).indices.put_index_template(
            name=self.template_name, create=True, **fields
        )

    def _bulk(self, operations: list[dict[str, Any]], timeout: float) -> Any:
        return (
            self._client.options(request_timeout=timeout)
            .bulk(operations=operations, filter_path=_BULK_FILTER)
            .body
        )

    def _status(self, exc: Exception) -> int | None:
        from elasticsearch import ApiError

        return exc.meta.status if isinstance(exc, ApiError) else None

    def _as_delivery_error(self, exc: Exception, doing: str) -> DeliveryError | None:
        from elastic_transport import TlsError
        from elasticsearch import (
            ApiError,
            ConnectionError,
            ConnectionTimeout,
            SerializationError,
            UnsupportedProductError,
        )

        if isinstance(exc, UnsupportedProductError):
            return DeliveryError(
                f"the server at {self.name} is not Elasticsearch (for OpenSearch use opensearch://)",
                retryable=False,
            )
        if isinstance(exc, ApiError):
            return self._http_error(exc.meta.status, exc, doing)
        if isinstance(exc, TlsError):
            return DeliveryError(f"TLS error talking to {self.product} ({_root_cause(exc)})", retryable=False)
        if isinstance(exc, ConnectionTimeout):
            return DeliveryError(f"{self.product} did not answer in time ({doing})", retryable=True)
        if isinstance(exc, ConnectionError):
            return DeliveryError(f"cannot connect to {self.product} ({_root_cause(exc)})", retryable=True)
        if isinstance(exc, SerializationError):
            return DeliveryError(f"{doing}: {self.product} sent an answer that is not JSON", retryable=True)
        return None


class OpenSearchDestination(_BulkDataStreamDestination):
    product: ClassVar[str] = "OpenSearch"
    credential_hint: ClassVar[str] = f"a user in {OPENSEARCH_USERNAME_ENV} and {OPENSEARCH_PASSWORD_ENV}"

    def __init__(self, url: DestinationURL) -> None:
        super().__init__(url)
        self._basic = _basic_auth(url, OPENSEARCH_USERNAME_ENV, OPENSEARCH_PASSWORD_ENV)

    def _connect(self) -> Any:
        from opensearchpy import OpenSearch

        tls: dict[str, Any] = {"use_ssl": True, "verify_certs": True} if self.tls else {}
        if self.tls and self.ca:
            tls["ca_certs"] = self.ca
        return OpenSearch(
            hosts=[{"host": self.host, "port": self.port}],
            http_auth=self._basic,
            **tls,
            max_retries=0,
            retry_on_timeout=False,
            retry_on_status=(),
        )

    def _template_body(self) -> dict[str, Any]:
        return self._common_template("flat_object")  # OpenSearch's flattened (2.7 and later)

    def _template_exists(self, timeout: float) -> bool:
        found = self._client.indices.exists_index_template(name=self.template_name, request_timeout=timeout)
        return bool(found)

    def _create_template(self, body: dict[str, Any], timeout: float) -> None:
        self._client.indices.put_index_template(
            name=self.template_name, body=body, params={"create": "true"}, request_timeout=timeout
        )

    def _bulk(self, operations: list[dict[str, Any]], timeout: float) -> Any:
        return self._client.bulk(body=operations, filter_path=_BULK_FILTER, request_timeout=timeout)

    def _status(self, exc: Exception) -> int | None:
        from opensearchpy import TransportError

        if isinstance(exc, TransportError) and isinstance(exc.status_code, int):
            return exc.status_code
        return None

    def _as_delivery_error(self, exc: Exception, doing: str) -> DeliveryError | None:
        from opensearchpy import ConnectionError, ConnectionTimeout, SerializationError, SSLError

        if isinstance(exc, SSLError):
            return DeliveryError(f"TLS error talking to {self.product} ({_root_cause(exc)})", retryable=False)
        if isinstance(exc, ConnectionTimeout):
            return DeliveryError(f"{self.product} did not answer in time ({doing})", retryable=True)
        if isinstance(exc, ConnectionError):
            return DeliveryError(f"cannot connect to {self.product} ({_root_cause(exc)})", retryable=True)
        if isinstance(exc, SerializationError):
            return DeliveryError(f"{doing}: {self.product} sent an answer that is not JSON", retryable=True)
        status = self._status(exc)
        if status is not None:
            return self._http_error(status, exc, doing)
        return None


# ------------------------------------------------------------------------------------------------ helpers
def _basic_auth(url: DestinationURL, user_env: str, password_env: str) -> tuple[str, str] | None:
    username = os.environ.get(user_env, "").strip()
    password = os.environ.get(password_env, "")  # a password may well start or end with a space
    if bool(username) != bool(password):
        raise url.fail(f"set both {user_env} and {password_env}, or neither")
    return (username, password) if username else None


def _time_left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise DeliveryError("out of time for this batch", retryable=True)
    return left


def _retryable(status: int) -> bool:
    return status in (408, 429) or status >= 500


def _retype(mapping: Any, old: str, new: str) -> Any:
    if isinstance(mapping, dict):
        return {k: (new if k == "type" and v == old else _retype(v, old, new)) for k, v in mapping.items()}
    return mapping


def _clean(text: object, limit: int = 200) -> str:
    """Server text as one printable line (it may quote field values that came from the cloud)."""
    shown = "".join(c if c.isprintable() else " " for c in str(text))
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _error_reason(exc: Exception) -> str:
    """'type: reason' from an Elasticsearch/OpenSearch error body; never the raw body of a stranger."""
    body = getattr(exc, "body", None)  # elasticsearch
    if body is None:
        body = getattr(exc, "info", None)  # opensearch-py
    error = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(error, Mapping):
        return _clean(f"{error.get('type', 'error')}: {error.get('reason', '')}".rstrip(": "))
    if isinstance(error, str):
        return _clean(error)
    return ""


def _check_bulk_answer(answer: Any, sent: int, product: str) -> None:
    """Return when every document was created or was already there (409 on create: a duplicate id)."""
    if not isinstance(answer, Mapping) or not isinstance(answer.get("errors"), bool):
        raise DeliveryError(f"{product} sent a bulk answer keyaudit cannot read", retryable=True)
    if not answer["errors"]:
        return
    items = answer.get("items")
    if not isinstance(items, list) or len(items) != sent:
        raise DeliveryError(f"{product} answered for a different number of documents", retryable=True)
    refused: list[tuple[int, Any]] = []
    for item in items:
        result: Any = next(iter(item.values()), {}) if isinstance(item, Mapping) and item else {}
        status = result.get("status") if isinstance(result, Mapping) else None
        if not isinstance(status, int):
            refused.append((500, None))
        elif not (200 <= status < 300 or status == 409):
            refused.append((status, result.get("error")))
    if not refused:
        return
    status, error = refused[0]
    if isinstance(error, Mapping):
        detail = _clean(f"{error.get('type', 'error')}: {error.get('reason', '')}")
    else:
        detail = "no reason given"
    statuses = ", ".join(str(s) for s in sorted({s for s, _ in refused}))
    raise DeliveryError(
        f"{product} refused {len(refused)} of {sent} documents (HTTP {statuses}; first: {detail})",
        retryable=all(_retryable(s) for s, _ in refused),
    )


def _root_cause(exc: BaseException) -> str:
    """'connection refused' and the like, without the clients' long nested reprs."""
    seen = exc
    for _ in range(20):
        nested = seen.__cause__ or seen.__context__ or _wrapped(seen)
        if nested is None:
            break
        seen = nested
    if isinstance(seen, ConnectionRefusedError):
        return "connection refused"
    if isinstance(seen, OSError) and seen.strerror:
        return seen.strerror
    text = str(seen).lower()
    if "connection refused" in text:
        return "connection refused"
    if "certificate verify failed" in text:
        return "certificate verify failed"
    return type(seen).__name__


def _wrapped(exc: BaseException) -> BaseException | None:
    """The error a client kept inside its own exception (elastic-transport: errors; opensearch-py: info)."""
    for attribute in ("errors", "info"):
        inner = getattr(exc, attribute, None)
        if isinstance(inner, tuple | list) and inner and isinstance(inner[0], BaseException):
            return inner[0]
        if isinstance(inner, BaseException) and inner is not exc:
            return inner
    return None
