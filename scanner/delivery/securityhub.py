"""AWS Security Hub: ``securityhub://REGION`` (optionally ``?account=ACCOUNT_ID``).

Every finding becomes one ASFF finding (``scanner.output.siem_writers.asff_finding``: ``Id`` is the
stable finding id, so Security Hub updates a finding it already has instead of adding a second one),
imported into the account's default product ``arn:PARTITION:securityhub:REGION:ACCOUNT:product/ACCOUNT/
default`` with ``BatchImportFindings``, at most 100 findings and well under the 6 MB request limit per
call. The partition (``aws``, ``aws-cn``, ``aws-us-gov``, ...) follows from the region.

Security Hub takes findings on the default product only from the account they name, so the account is
the caller's own: ``sts:GetCallerIdentity`` (needs no permission) when the batch is sent, or
``?account=`` to skip that call (it must still be the caller's account). Because of this the spooled
events carry neither ``AwsAccountId`` nor ``ProductArn``: both are filled in when a batch is sent, with
the credentials of that moment, so a run whose credentials had expired spools its findings and a later
``keyaudit send --spool`` imports them.

Credentials come from the standard AWS chain (environment, profile, SSO, container or instance role);
a URL carrying credentials is refused. ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_SECURITYHUB`` are
honoured (boto3 reads them). The caller needs ``securityhub:BatchImportFindings`` and Security Hub
enabled in REGION. A batch counts as delivered only when ``FailedCount`` is 0; otherwise the whole batch
is sent again (safe: same Ids) when the failures look transient (throttling, internal errors) and kept
in the spool when Security Hub rejected a finding's content.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from scanner import __version__
from scanner.delivery.base import DeliveryError, Destination, DestinationURL, EventContext, SpooledEvent
from scanner.findings import Finding

MAX_FINDINGS_PER_CALL = 100  # BatchImportFindings' own limit
# botocore writes the request with json.dumps' defaults (ASCII escapes, ", " and ": " separators): at
# most three times the compact UTF-8 bytes the spool measures. 1.9 MB of spooled events therefore stays
# under Security Hub's 6 MB request limit whatever the findings contain.
MAX_SPOOLED_BYTES = 1_900_000
_REGION = re.compile(r"^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
# The caller's account and the product: added at send time (see the module docstring).
_SEND_TIME_FIELDS = ("AwsAccountId", "ProductArn")
_CONNECT_TIMEOUT = 5.0
_MAX_READ_TIMEOUT = 60.0
# Error codes (of the call, or of FailedFindings) that say "not now" rather than "not this".
_TRANSIENT_CODE = re.compile(
    r"throttl|toomanyrequests|limitexceeded|requestlimit|internal|unavailable|timeout|busy", re.I
)
_CREDENTIAL_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
    }
)


class SecurityHubDestination(Destination):
    max_batch_events: ClassVar[int] = MAX_FINDINGS_PER_CALL
    max_batch_bytes: ClassVar[int] = MAX_SPOOLED_BYTES

    def __init__(self, url: DestinationURL) -> None:
        super().__init__(url)
        url.refuse_credentials("keyaudit uses the standard AWS credential chain (environment, profile, role)")
        url.check_params(["account"])
        if url.port is not None or url.path not in ("", "/"):
            raise url.fail("expected securityhub://REGION, e.g. securityhub://eu-west-1")
        if not _REGION.match(url.host):
            raise url.fail(f"not an AWS region: {url.host!r} (expected securityhub://REGION)")
        self.region = url.host
        account = url.query.get("account")
        if account is not None and not _ACCOUNT_ID.match(account):
            raise url.fail(f"account={account!r}: expected a 12-digit AWS account id")
        self._account = account
        from scanner.output.siem_writers import partition_for_region

        self.partition = partition_for_region(self.region)  # botocore's endpoint data: no network
        self._clients: dict[str, Any] = {}

    def prepare(self, finding: Finding, context: EventContext) -> Any:
        from scanner.output.siem_writers import asff_finding

        document = asff_finding(
            finding, account_id="", region=self.region, partition=self.partition, time=context.time
        )
        for name in _SEND_TIME_FIELDS:
            del document[name]
        return document

    # ------------------------------------------------------------------------------------------ sending
    def send(self, events: Sequence[SpooledEvent], *, deadline: float) -> None:
        from scanner.output.siem_writers import asff_product_arn

        account = self._account or self._caller_account(deadline)
        product = asff_product_arn(account_id=account, region=self.region, partition=self.partition)
        findings = [{**e.payload, "AwsAccountId": account, "ProductArn": product} for e in events]
        answer = self._call("securityhub", "batch_import_findings", deadline, Findings=findings)
        failed = int(answer.get("FailedCount") or 0)
        if failed:
            raise _partial_failure(failed, len(findings), answer.get("FailedFindings") or [])

    def _caller_account(self, deadline: float) -> str:
        answer = self._call("sts", "get_caller_identity", deadline)
        account = str(answer.get("Account") or "")
        if not _ACCOUNT_ID.match(account):
            raise DeliveryError("STS GetCallerIdentity returned no account id", retryable=True)
        self._account = account  # the credentials of one process belong to one account
        return account

    def _client(self, service: str, deadline: float) -> Any:
        client = self._clients.get(service)
        if client is None:
            # A plain boto3 client of its own session, on purpose: importing findings is a write, which
            # the read-only guard on the scanner's clients (providers.aws.collect) rightly refuses, and
            # those clients (possibly in assumed member-account roles) are for reading the audited
            # estate. This one reaches only Security Hub and STS, never KMS.
            import boto3  # type: ignore[import-untyped]
            from botocore.config import Config  # type: ignore[import-untyped]

            config = Config(
                connect_timeout=_CONNECT_TIMEOUT,
                # Fixed per client; the first batch's budget (KEYAUDIT_DELIVERY_BUDGET) bounds it.
                read_timeout=max(1.0, min(_MAX_READ_TIMEOUT, deadline - time.monotonic())),
                # keyaudit's delivery core retries with backoff and spools; botocore retrying inside
                # would only eat the deadline.
                retries={"total_max_attempts": 1},
                user_agent_extra=f"keyaudit/{__version__}",
            )
            client = boto3.session.Session().client(service, region_name=self.region, config=config)
            self._clients[service] = client
        return client

    def _call(self, service: str, operation: str, deadline: float, **params: Any) -> Mapping[str, Any]:
        import botocore.exceptions  # type: ignore[import-untyped]

        if deadline - time.monotonic() <= 0:
            raise DeliveryError("out of time for this batch", retryable=True)
        what = "Security Hub" if service == "securityhub" else "STS"
        try:
            answer: Mapping[str, Any] = getattr(self._client(service, deadline), operation)(**params)
        except botocore.exceptions.ClientError as exc:
            raise _client_error(what, exc) from exc
        except (botocore.exceptions.NoCredentialsError, botocore.exceptions.PartialCredentialsError) as exc:
            raise DeliveryError(
                "no AWS credentials found (environment, profile, SSO, container or instance role)",
                retryable=False,
            ) from exc
        except botocore.exceptions.CredentialRetrievalError as exc:
            raise DeliveryError(
                f"could not obtain AWS credentials: {type(exc).__name__}", retryable=False
            ) from exc
        except botocore.exceptions.ParamValidationError as exc:
            raise DeliveryError(
                f"botocore refused the {what} request: {_shown(str(exc))}", retryable=False
            ) from exc
        except (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError) as exc:
            # connection refused, DNS, timeouts, resets; botocore's text names the endpoint, no secret
            raise DeliveryError(f"cannot reach {what}: {_shown(str(exc))}", retryable=True) from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise DeliveryError(f"{what} request failed: {type(exc).__name__}", retryable=True) from exc
        return answer

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()


def _client_error(what: str, exc: Any) -> DeliveryError:
    """A refused call as a DeliveryError: AWS's code and message (which name no secret), and whether
    sending again later can help."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code") or "Unknown")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    message = f"{what} refused the request: {code}"
    if error.get("Message"):
        message += f" ({_shown(str(error['Message']))})"
    if code in ("InvalidAccessException", "ResourceNotFoundException"):
        message += "; is Security Hub enabled in this region?"
    elif code.startswith("AccessDenied"):
        message += "; the caller needs securityhub:BatchImportFindings"
    elif code in _CREDENTIAL_CODES:
        message += "; check the AWS credentials"
    transient = (
        bool(_TRANSIENT_CODE.search(code)) or status == 429 or (isinstance(status, int) and status >= 500)
    )
    return DeliveryError(message, retryable=transient)


def _partial_failure(failed: int, total: int, errors: Sequence[Mapping[str, Any]]) -> DeliveryError:
    """FailedCount > 0: the batch is not delivered. Sending it again helps only when every failure was
    transient; a finding Security Hub rejected for its content would be rejected again."""
    codes = sorted({str(e.get("ErrorCode") or "Unknown") for e in errors}) or ["Unknown"]
    transient = all(_TRANSIENT_CODE.search(code) for code in codes)
    first = errors[0] if errors else {}
    detail = ""
    if first:
        detail = (
            f"; first: {_shown(str(first.get('Id', '')), 64)}: {_shown(str(first.get('ErrorMessage', '')))}"
        )
    return DeliveryError(
        f"Security Hub did not import {failed} of {total} findings ({', '.join(codes[:5])}){detail}",
        retryable=transient,
    )


def _shown(text: str, limit: int = 200) -> str:
    """Text from AWS, made safe for a log line: printable characters only, clipped."""
    clean = "".join(c if c.isprintable() else " " for c in text).strip()
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"
