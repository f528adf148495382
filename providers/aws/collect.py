"""Collect (I/O only): read KMS, CloudHSM, CloudTrail and IAM for each account and region, read-only.

Nothing here interprets what it reads: responses are kept as the SDK returns them (``raw`` records)
and ``normalise`` turns them into the inventory. Every failure becomes a CollectionError record;
one account or region failing never stops the others.

Settings from the environment (production defaults when unset):

* ``KEYAUDIT_HTTP_TIMEOUT``: seconds to wait for an answer to one request (botocore's read timeout,
  default 30); a request that outlasts it is retried, then recorded as a timeout;
* ``AWS_MAX_ATTEMPTS``: the AWS SDKs' own setting, attempts per call in all (default 8); throttling,
  5xx answers, timeouts and connection errors are retried up to it.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, TypeVar

import boto3
import botocore.exceptions
import botocore.parsers
import botocore.session
from botocore.config import Config
from botocore.credentials import AssumeRoleCredentialFetcher, RefreshableCredentials

from providers.aws import ai
from providers.aws.readonly import ReadOnlyViolation, install_guard
from providers.recorder import Recorder
from scanner import __version__
from scanner.inventory import CollectionError, ErrorClass, Provider, ScopeKind, ScopeRef
from scanner.progress import Progress
from scanner.shard import Shard, owned

T = TypeVar("T")

DEFAULT_REGION = "us-east-1"
MAX_ATTEMPTS = 8  # attempts in all, first included; adaptive mode adds client-side rate limiting
READ_TIMEOUT = 30.0  # seconds
HTTP_TIMEOUT_ENV = "KEYAUDIT_HTTP_TIMEOUT"
MAX_ATTEMPTS_ENV = "AWS_MAX_ATTEMPTS"


def _positive_env(name: str, default: float, kind: type[int] | type[float]) -> Any:
    """A positive number from the environment, or ``default`` when unset; anything else is an input error."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        value = 0
    if not 0 < value < float("inf"):
        from scanner.errors import InputError

        raise InputError(f"{name}={text!r}: expected a positive {'integer' if kind is int else 'number'}")
    return value


def http_timeout() -> float:
    """Seconds to wait for one answer (``KEYAUDIT_HTTP_TIMEOUT``, default 30)."""
    return float(_positive_env(HTTP_TIMEOUT_ENV, READ_TIMEOUT, float))


@dataclass
class AwsOptions:
    profile: str | None = None
    regions: tuple[str, ...] = ()
    org_role: str | None = None
    accounts: tuple[str, ...] = ()
    concurrency: int = 8
    max_attempts: int = MAX_ATTEMPTS
    shard: Shard | None = None  # --shard I/N: only the accounts this job owns

    @classmethod
    def from_cli(cls, options: Any, concurrency: int) -> AwsOptions:
        return cls(
            profile=options.get("profile"),
            regions=tuple(options.get("regions") or ()),
            org_role=options.get("org_role"),
            accounts=tuple(options.get("accounts") or ()),
            concurrency=concurrency,
            max_attempts=int(_positive_env(MAX_ATTEMPTS_ENV, MAX_ATTEMPTS, int)),
            shard=options.get("shard"),
        )


@dataclass
class RawKey:
    key_id: str
    arn: str
    metadata: dict[str, Any] | None = None
    rotation: dict[str, Any] | None = None
    policy: str | None = None
    grants: list[dict[str, Any]] | None = None
    tags: list[dict[str, Any]] | None = None
    failed: set[str] = field(default_factory=set)  # API operations that failed for this key


@dataclass
class RawAiResource:
    """A SageMaker or Bedrock resource (``ai.RESOURCE_TYPES``) as listed and described."""

    native_type: str
    arn: str
    name: str
    ident: str  # what its describe call takes
    detail: dict[str, Any] | None = None  # None: not described
    tags: Any = None  # as the service sends them; None: not read
    parts: list[tuple[str, dict[str, Any] | None]] | None = None  # knowledge base data sources (id, answer)
    failed: set[str] = field(default_factory=set)  # API operations that failed for this resource


@dataclass
class RawRegion:
    region: str
    keys: list[RawKey] | None = None  # None: the keys could not be listed
    aliases: list[dict[str, Any]] | None = None
    custom_key_stores: list[dict[str, Any]] | None = None
    hsm_clusters: list[dict[str, Any]] | None = None
    ai_resources: list[RawAiResource] = field(default_factory=list)
    ai_unlisted: set[str] = field(default_factory=set)  # native types whose listing failed here


@dataclass
class RawTrail:
    trail: dict[str, Any]
    status: dict[str, Any] | None = None
    event_selectors: dict[str, Any] | None = None
    owner: str | None = None  # an organization trail of another account: read where it lives


@dataclass
class RawAccount:
    account_id: str
    name: str | None = None
    parents: tuple[ScopeRef, ...] = ()
    regions: list[RawRegion] = field(default_factory=list)
    iam: dict[str, list[dict[str, Any]]] | None = None  # GetAccountAuthorizationDetails, pages merged
    trails: list[RawTrail] | None = None  # None: CloudTrail could not be read in any scanned region
    # Regions whose DescribeTrails failed: their logging is unknown. The others are still judged: every
    # trail that covers a region (its own, or a multi-region trail) is listed by that region's call.
    trail_regions_unread: set[str] = field(default_factory=set)
    reachable: bool = True  # False: no credentials for this account (e.g. AssumeRole failed)
    regions_unknown: bool = False  # the enabled regions could not be listed: others may hold keys


@dataclass
class RawEstate:
    accounts: list[RawAccount]
    errors: list[CollectionError]
    api_calls: Counter[str] = field(default_factory=Counter)


_ACCESS_DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
    "AuthFailure",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "AWSOrganizationsNotInUseException",
}
_THROTTLED = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "LimitExceededException",
}
_NOT_FOUND = {
    "NotFoundException",
    "NoSuchEntity",
    "TrailNotFoundException",
    "CloudHsmResourceNotFoundException",
}


def classify(exc: BaseException) -> ErrorClass:
    if isinstance(exc, botocore.exceptions.ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in _ACCESS_DENIED:
            return ErrorClass.ACCESS_DENIED
        if code in _THROTTLED:
            return ErrorClass.THROTTLED
        if code in _NOT_FOUND:
            return ErrorClass.NOT_FOUND
        if code in {"OptInRequired", "SubscriptionRequiredException"}:
            return ErrorClass.NOT_ENABLED
        return ErrorClass.SERVICE_ERROR
    if isinstance(exc, botocore.exceptions.ReadTimeoutError | botocore.exceptions.ConnectTimeoutError):
        return ErrorClass.TIMEOUT
    # HTTPClientError: ConnectionClosedError (a reset or a dropped connection) and the like.
    if isinstance(
        exc,
        botocore.exceptions.EndpointConnectionError
        | botocore.exceptions.ConnectionError
        | botocore.exceptions.HTTPClientError,
    ):
        return ErrorClass.NETWORK
    if isinstance(exc, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError):
        return ErrorClass.ACCESS_DENIED
    if isinstance(exc, ValueError | KeyError | TypeError | botocore.parsers.ResponseParserError):
        return ErrorClass.MALFORMED_RESPONSE
    return ErrorClass.OTHER


def describe(exc: BaseException) -> str:
    """A one-line message; never the request or credentials (botocore messages carry neither)."""
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".strip()[:500]
    return f"{type(exc).__name__}: {exc}"[:500]


class _Account:
    """Clients for one account, built lazily and guarded read-only; boto3 sessions are not thread-safe."""

    def __init__(
        self, account_id: str, session: boto3.Session, config: Config, on_call: Callable[[str], None]
    ) -> None:
        self.account_id = account_id
        self._session = session
        self._config = config
        self._on_call = on_call
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, service: str, region: str) -> Any:
        with self._lock:
            found = self._clients.get((service, region))
            if found is None:
                client = self._session.client(service, region_name=region, config=self._config)
                found = _checked(install_guard(client, self._on_call))
                self._clients[(service, region)] = found
            return found


class AwsCollector:
    def __init__(self, options: AwsOptions, progress: Progress) -> None:
        self.options = options
        self.progress = progress
        self.recorder = Recorder(Provider.AWS, classify, describe)
        self.partition = "aws"
        self.config = Config(
            retries={"mode": "adaptive", "total_max_attempts": options.max_attempts},
            connect_timeout=10,
            read_timeout=http_timeout(),
            max_pool_connections=max(10, options.concurrency * 2),
            user_agent_extra=f"keyaudit/{__version__}",
        )

    # ------------------------------------------------------------------ calls
    def _client(self, session: boto3.Session, service: str, region: str) -> Any:
        return _checked(
            install_guard(
                session.client(service, region_name=region, config=self.config), self.recorder.count
            )
        )

    def _account(self, account_id: str, session: boto3.Session) -> _Account:
        return _Account(account_id, session, self.config, self.recorder.count)

    def call(
        self,
        account: str,
        region: str | None,
        api: str,
        fn: Callable[[], T],
        resource: str | None = None,
    ) -> T | None:
        """Run one SDK call; any failure is recorded (never raised) and gives None."""
        try:
            return fn()
        except ReadOnlyViolation:
            raise  # a defect of keyaudit itself: never swallow it
        except Exception as exc:  # recorded as a coverage gap (UNKNOWN), never turned into a pass
            self.recorder.error(account, region, api, exc, resource)
            return None

    def paginate(
        self, account: str, region: str | None, client: Any, operation: str, result_key: str, **kwargs: Any
    ) -> list[dict[str, Any]] | None:
        service = client.meta.service_model.service_name
        api = f"{service}:{_api_name(client, operation)}"

        def pages() -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = []
            for page in client.get_paginator(operation).paginate(**kwargs):
                items.extend(_listed(page, result_key, api))
            return items

        return self.call(account, region, api, pages)

    # ------------------------------------------------------------------ accounts and regions
    def collect(self) -> RawEstate:
        base = boto3.Session(profile_name=self.options.profile) if self.options.profile else boto3.Session()
        home = base.region_name or DEFAULT_REGION
        caller_account = self._caller_account(base, home)
        with ThreadPoolExecutor(
            max_workers=self.options.concurrency, thread_name_prefix="keyaudit-aws"
        ) as pool:
            accounts = self._accounts(pool, base, home, caller_account)
            raw_accounts = [raw for raw, _ in accounts]
            sessions = {raw.account_id: account for raw, account in accounts if account is not None}
            units = self._plan_regions(pool, raw_accounts, sessions, home)
            task = self.progress.task("AWS accounts x regions", total=len(units) + len(sessions))
            account_futures = [
                pool.submit(self._collect_account_wide, raw, sessions[raw.account_id], task)
                for raw in raw_accounts
                if raw.account_id in sessions
            ]
            region_futures = [
                pool.submit(self._collect_region, raw, account, region, task)
                for raw, account, region in units
            ]
            ai_futures = [
                pool.submit(self._list_ai_resources, raw, account, region) for raw, account, region in units
            ]
            for future in (*account_futures, *region_futures, *ai_futures):
                future.result()
            self._resolve_organization_trails(raw_accounts, sessions)
            key_futures = []
            for raw in raw_accounts:
                for region in raw.regions:
                    if not region.keys:
                        continue
                    keys_task = self.progress.task(
                        f"AWS {raw.account_id} {region.region} keys", total=len(region.keys)
                    )
                    account = sessions[raw.account_id]
                    key_futures.extend(
                        pool.submit(self._collect_key, account, region.region, key, keys_task)
                        for key in region.keys
                    )
            key_futures.extend(self._submit_ai_resources(pool, raw_accounts, sessions))
            for future in key_futures:
                future.result()
            store_futures = [
                pool.submit(self._collect_key_stores, raw.account_id, sessions[raw.account_id], region)
                for raw in raw_accounts
                for region in raw.regions
                if _uses_custom_key_store(region)
            ]
            for future in store_futures:
                future.result()
        return RawEstate(accounts=raw_accounts, errors=self.recorder.errors, api_calls=self.recorder.calls)

    def _caller_account(self, session: boto3.Session, home: str) -> str:
        from scanner.errors import RuntimeFailure

        sts = self._client(session, "sts", home)
        try:
            identity = sts.get_caller_identity()
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise RuntimeFailure(f"AWS credentials are not usable: {describe(exc)}") from exc
        # aws, aws-us-gov or aws-cn: every ARN keyaudit builds uses the caller's partition.
        self.partition = str(identity.get("Arn", "arn:aws:")).split(":")[1] or "aws"
        return str(identity["Account"])

    def _accounts(
        self, pool: ThreadPoolExecutor, base: boto3.Session, home: str, caller: str
    ) -> list[tuple[RawAccount, _Account | None]]:
        wanted = set(self.options.accounts)
        if not self.options.org_role:
            if wanted and caller not in wanted:
                from scanner.errors import InputError

                raise InputError(
                    f"--account: the credentials belong to account {caller}, not {', '.join(sorted(wanted))}; "
                    "use --org-role to scan other accounts of the organization"
                )
            if not owned(self.options.shard, "aws", caller):
                return []  # the one account belongs to another shard: this job scans nothing
            return [(RawAccount(account_id=caller), self._account(caller, base))]
        org = self._client(base, "organizations", home)
        listed = self.paginate(caller, None, org, "list_accounts", "Accounts")
        if listed is None:
            # Without the organization's account list, scan what we can: the caller's own account.
            listed = [{"Id": caller, "State": "ACTIVE"}]
        described = self.call(caller, None, "organizations:DescribeOrganization", org.describe_organization)
        org_id = (described or {}).get("Organization", {}).get("Id")
        entries = [
            entry
            for entry in sorted(listed, key=lambda a: str(a.get("Id")))
            if (not wanted or str(entry.get("Id")) in wanted)
            and _is_active(entry)
            and owned(self.options.shard, "aws", str(entry.get("Id")))
        ]
        for missing in sorted(wanted - {str(e.get("Id")) for e in listed}):
            self.recorder.error(
                missing,
                None,
                "organizations:ListAccounts",
                LookupError(f"account {missing} (--account) is not a member of the organization"),
                None,
            )

        def prepare(entry: dict[str, Any]) -> tuple[RawAccount, _Account | None]:
            account_id = str(entry.get("Id"))
            raw = RawAccount(
                account_id=account_id,
                name=entry.get("Name"),
                parents=self._parents(org, caller, account_id, org_id),
            )
            session = base if account_id == caller else self._assume(base, home, account_id)
            if session is None:
                raw.reachable = False
                return raw, None
            return raw, self._account(account_id, session)

        return list(pool.map(prepare, entries))

    def _parents(self, org: Any, caller: str, account_id: str, org_id: str | None) -> tuple[ScopeRef, ...]:
        chain: list[ScopeRef] = []
        child = account_id
        for _ in range(6):  # organizations nest OUs at most five deep under the root
            found = self.call(
                caller, None, "organizations:ListParents", lambda c=child: org.list_parents(ChildId=c)
            )
            parents = (found or {}).get("Parents") or []
            if not parents or parents[0].get("Type") != "ORGANIZATIONAL_UNIT":
                break
            child = parents[0]["Id"]
            chain.append(ScopeRef(kind=ScopeKind.AWS_ORGANIZATIONAL_UNIT, uid=child))
        if org_id:
            chain.append(ScopeRef(kind=ScopeKind.AWS_ORGANIZATION, uid=org_id))
        return tuple(chain)

    def _assume(self, base: boto3.Session, home: str, account_id: str) -> boto3.Session | None:
        """A session in ``account_id`` through --org-role, with credentials that renew themselves before
        they expire (a large organization takes longer to scan than one role session lasts)."""
        role_arn = f"arn:{self.partition}:iam::{account_id}:role/{self.options.org_role}"

        def sts_client(service: str, **kwargs: Any) -> Any:
            client = base._session.create_client(service, region_name=home, config=self.config, **kwargs)
            return _checked(install_guard(client, self.recorder.count))

        fetcher = AssumeRoleCredentialFetcher(
            client_creator=sts_client,
            source_credentials=base.get_credentials(),
            role_arn=role_arn,
            extra_args={"RoleSessionName": "keyaudit", "DurationSeconds": 3600},
        )
        first = self.call(account_id, None, "sts:AssumeRole", fetcher.fetch_credentials, resource=role_arn)
        if first is None:
            return None
        credentials = RefreshableCredentials.create_from_metadata(
            metadata=first, refresh_using=fetcher.fetch_credentials, method="assume-role"
        )
        core = botocore.session.get_session()
        core._credentials = credentials  # the documented way to hand a session refreshable credentials
        # Share the base session's API-model loader: a fresh session re-reads and re-parses every service
        # model and endpoint rule set from disk, which was most of the scan's CPU time and ~15 MiB per
        # account in a 200-account organization (benchmarks/aws_org_scale.py).
        loader = base._session.get_component("data_loader")
        core.register_component("data_loader", loader)
        session = boto3.Session(botocore_session=core, region_name=home)
        # boto3 appends its model path to the loader for every Session: drop the repeats. Only trailing
        # duplicates go, so a model lookup running in another thread never misses a path.
        loader.search_paths[:] = list(dict.fromkeys(loader.search_paths))
        return session

    def _plan_regions(
        self, pool: ThreadPoolExecutor, accounts: list[RawAccount], sessions: dict[str, _Account], home: str
    ) -> list[tuple[RawAccount, _Account, str]]:
        def regions_of(raw: RawAccount) -> list[str]:
            if self.options.regions:
                return list(dict.fromkeys(self.options.regions))
            ec2 = sessions[raw.account_id].client("ec2", home)
            answer = self.call(
                raw.account_id, home, "ec2:DescribeRegions", lambda: ec2.describe_regions(AllRegions=False)
            )
            if answer is None:
                raw.regions_unknown = True  # the error is recorded; scan at least the home region
                return [home]
            return sorted(r["RegionName"] for r in answer.get("Regions", []))

        reachable = [raw for raw in accounts if raw.account_id in sessions]
        planned = list(pool.map(regions_of, reachable))
        units: list[tuple[RawAccount, _Account, str]] = []
        for raw, regions in zip(reachable, planned, strict=True):
            raw.regions = [RawRegion(region=r) for r in regions]
            units.extend((raw, sessions[raw.account_id], r) for r in regions)
        return units

    # ------------------------------------------------------------------ per account, per region, per key
    def _collect_account_wide(self, raw: RawAccount, account: _Account, task: Any) -> None:
        first_region = raw.regions[0].region if raw.regions else DEFAULT_REGION
        iam = account.client("iam", first_region)
        details: dict[str, list[dict[str, Any]]] = {
            "UserDetailList": [],
            "GroupDetailList": [],
            "RoleDetailList": [],
            "Policies": [],
        }

        def read_iam() -> dict[str, list[dict[str, Any]]]:
            for page in iam.get_paginator("get_account_authorization_details").paginate():
                for name, items in details.items():
                    items.extend(page.get(name, []))
            return details

        raw.iam = self.call(raw.account_id, None, "iam:GetAccountAuthorizationDetails", read_iam)
        raw.trails = self._trails(raw, account)
        task.advance()

    def _trails(self, raw: RawAccount, account: _Account) -> list[RawTrail] | None:
        by_arn: dict[str, RawTrail] = {}
        complete = False  # True once one region's trails were listed
        for region in raw.regions:
            trail_client = account.client("cloudtrail", region.region)
            answer = self.call(
                raw.account_id,
                region.region,
                "cloudtrail:DescribeTrails",
                lambda c=trail_client: _listed(
                    c.describe_trails(includeShadowTrails=True), "trailList", "cloudtrail:DescribeTrails"
                ),
            )
            if answer is None:
                raw.trail_regions_unread.add(region.region)
                continue
            complete = True
            for trail in answer:
                by_arn.setdefault(trail.get("TrailARN") or trail.get("Name", ""), RawTrail(trail=trail))
        for arn, entry in by_arn.items():
            owner = _arn_account(arn)
            if entry.trail.get("IsOrganizationTrail") and owner and owner != raw.account_id:
                # Member accounts see the organization trail but may not read its settings; they are
                # taken from the management account's own read (see _resolve_organization_trails).
                entry.owner = owner
                continue
            self._read_trail(account, entry, raw)
        return list(by_arn.values()) if complete else None

    def _read_trail(self, account: _Account, entry: RawTrail, raw: RawAccount) -> None:
        arn = entry.trail.get("TrailARN") or entry.trail.get("Name", "")
        home = entry.trail.get("HomeRegion") or (raw.regions[0].region if raw.regions else DEFAULT_REGION)
        client = account.client("cloudtrail", home)
        entry.status = self.call(
            raw.account_id,
            home,
            "cloudtrail:GetTrailStatus",
            lambda c=client, a=arn: c.get_trail_status(Name=a),
            arn,
        )
        entry.event_selectors = self.call(
            raw.account_id,
            home,
            "cloudtrail:GetEventSelectors",
            lambda c=client, a=arn: c.get_event_selectors(TrailName=a),
            arn,
        )

    def _resolve_organization_trails(self, accounts: list[RawAccount], sessions: dict[str, _Account]) -> None:
        """Give member accounts the settings of organization trails read in the owning account; when
        the owner was not scanned, try reading them with the member's own credentials."""
        read = {
            t.trail.get("TrailARN"): t
            for raw in accounts
            for t in raw.trails or []
            if t.owner is None and t.status is not None and t.event_selectors is not None
        }
        for raw in accounts:
            for entry in raw.trails or []:
                if entry.owner is None:
                    continue
                source = read.get(entry.trail.get("TrailARN"))
                if source is not None:
                    entry.status, entry.event_selectors = source.status, source.event_selectors
                elif raw.account_id in sessions:
                    self._read_trail(sessions[raw.account_id], entry, raw)

    def _collect_region(self, raw: RawAccount, account: _Account, region_name: str, task: Any) -> None:
        region = next(r for r in raw.regions if r.region == region_name)
        acct = raw.account_id
        kms = account.client("kms", region_name)
        listed = self.paginate(acct, region_name, kms, "list_keys", "Keys")
        if listed is not None:
            region.keys = [RawKey(key_id=k["KeyId"], arn=k["KeyArn"]) for k in listed]
        region.aliases = self.paginate(acct, region_name, kms, "list_aliases", "Aliases")
        task.advance()

    def _collect_key_stores(self, account_id: str, account: _Account, region: RawRegion) -> None:
        """Custom key stores (and the CloudHSM clusters behind them) of a region whose keys use one.

        Read only where a key lives in a custom key store: a store that protects no key puts no data
        at risk, and two fewer calls per region matter across a large organization.
        """
        kms = account.client("kms", region.region)
        region.custom_key_stores = self.paginate(
            account_id, region.region, kms, "describe_custom_key_stores", "CustomKeyStores"
        )
        if any(
            s.get("CustomKeyStoreType", "AWS_CLOUDHSM") == "AWS_CLOUDHSM"
            for s in region.custom_key_stores or []
        ):
            hsm = account.client("cloudhsmv2", region.region)
            region.hsm_clusters = self.paginate(
                account_id, region.region, hsm, "describe_clusters", "Clusters"
            )

    def _collect_key(self, account: _Account, region: str, key: RawKey, task: Any) -> None:
        """At most five calls per customer key: DescribeKey, GetKeyRotationStatus, GetKeyPolicy,
        ListGrants, ListResourceTags (more only when grants or tags span several pages)."""
        kms = account.client("kms", region)

        def fetch(api: str, fn: Callable[[], T]) -> T | None:
            result = self.call(account.account_id, region, f"kms:{api}", fn, key.arn)
            if result is None:
                key.failed.add(api)
            return result

        def listing(api: str, operation: str, result_key: str) -> list[dict[str, Any]] | None:
            def pages() -> list[dict[str, Any]]:
                paginator = kms.get_paginator(operation)
                return [
                    item
                    for page in paginator.paginate(KeyId=key.key_id)
                    for item in _listed(page, result_key, f"kms:{api}")
                ]

            return fetch(api, pages)

        # Answers without the field the call exists for are recorded as malformed, never read as "none".
        key.metadata = fetch(
            "DescribeKey",
            lambda: _required(kms.describe_key(KeyId=key.key_id), "KeyMetadata", "kms:DescribeKey"),
        )
        if key.metadata is None or key.metadata.get("KeyManager") == "AWS":
            task.advance()
            return  # AWS-managed keys are inventory only; their policy is AWS's
        if _rotation_applies(key.metadata):
            key.rotation = fetch(
                "GetKeyRotationStatus",
                lambda: _with(
                    kms.get_key_rotation_status(KeyId=key.key_id),
                    "KeyRotationEnabled",
                    "kms:GetKeyRotationStatus",
                ),
            )
        key.policy = fetch(
            "GetKeyPolicy",
            lambda: _required(
                kms.get_key_policy(KeyId=key.key_id, PolicyName="default"), "Policy", "kms:GetKeyPolicy"
            ),
        )
        key.grants = listing("ListGrants", "list_grants", "Grants")
        key.tags = listing("ListResourceTags", "list_resource_tags", "Tags")
        task.advance()

    # ------------------------------------------------------------------ AI workloads (SageMaker, Bedrock)
    def _list_ai_resources(self, raw: RawAccount, account: _Account, region_name: str) -> None:
        """One listing per AI resource type (``ai.RESOURCE_TYPES``) where its service is offered."""
        region = next(r for r in raw.regions if r.region == region_name)
        since = datetime.now(UTC) - timedelta(days=ai.JOB_LOOKBACK_DAYS)
        for kind in ai.RESOURCE_TYPES.values():
            if not _offered(kind.client, region_name, self.partition):
                continue
            client = account.client(kind.client, region_name)
            api = f"{kind.client}:{_api_name(client, kind.list_operation)}"
            kwargs: dict[str, Any] = {"CreationTimeAfter": since} if kind.recent_only else {}
            if kind.page_size:
                kwargs["PaginationConfig"] = {"PageSize": kind.page_size}

            def listing(
                kind: ai.ResourceType = kind, client: Any = client, api: str = api, kwargs: Any = kwargs
            ) -> list[RawAiResource]:
                found = []
                for item in _pages(client, kind.list_operation, kind.list_key, api, **kwargs):
                    ident = str(item[kind.id_field])  # KeyError: a malformed answer, recorded as such
                    arn = (
                        str(item[kind.arn_field])
                        if kind.arn_field
                        else f"arn:{self.partition}:{kind.service}:{region_name}:{raw.account_id}:"
                        + kind.arn_resource.format(id=ident)
                    )
                    name = str(item.get(kind.name_field) or ident)
                    found.append(RawAiResource(native_type=kind.native_type, arn=arn, name=name, ident=ident))
                return found

            listed = self.call(raw.account_id, region_name, api, listing)
            if listed is None:
                region.ai_unlisted.add(kind.native_type)
            else:
                region.ai_resources.extend(listed)

    def _submit_ai_resources(
        self, pool: ThreadPoolExecutor, accounts: list[RawAccount], sessions: dict[str, _Account]
    ) -> list[Any]:
        futures: list[Any] = []
        for raw in accounts:
            for region in raw.regions:
                if not region.ai_resources:
                    continue
                task = self.progress.task(
                    f"AWS {raw.account_id} {region.region} AI resources", total=len(region.ai_resources)
                )
                account = sessions[raw.account_id]
                futures.extend(
                    pool.submit(self._collect_ai_resource, account, region.region, resource, task)
                    for resource in region.ai_resources
                )
        return futures

    def _collect_ai_resource(
        self, account: _Account, region: str, resource: RawAiResource, task: Any
    ) -> None:
        """Describe, tags and (knowledge bases) each data source: two calls per resource, plus one and
        one per data source for a knowledge base."""
        kind = ai.RESOURCE_TYPES[resource.native_type]
        client = account.client(kind.client, region)

        def fetch(operation: str, fn: Callable[[str], T]) -> T | None:
            api = f"{kind.client}:{_api_name(client, operation)}"
            result = self.call(account.account_id, region, api, lambda: fn(api), resource.arn)
            if result is None:
                resource.failed.add(api)
            return result

        def described(api: str) -> dict[str, Any]:
            answer = getattr(client, kind.describe_operation)(**{kind.describe_param: resource.ident})
            if kind.answer_field:
                return dict(_required(answer, kind.answer_field, api))
            _required(answer, kind.arn_field or "", api)
            return {k: v for k, v in answer.items() if k != "ResponseMetadata"}

        resource.detail = fetch(kind.describe_operation, described)
        if resource.detail is None:
            task.advance()
            return  # its encryption is unknown: tags and parts would not change that
        reader = ai.TAG_READERS[kind.client]

        def tags(api: str) -> Any:
            if reader.paginated:
                return list(
                    _pages(client, reader.operation, reader.result_key, api, **{reader.param: resource.arn})
                )
            return _required(
                getattr(client, reader.operation)(**{reader.param: resource.arn}), reader.result_key, api
            )

        resource.tags = fetch(reader.operation, tags)
        if kind.parts is not None:
            resource.parts = self._ai_parts(kind.parts, client, resource, fetch)
        task.advance()

    @staticmethod
    def _ai_parts(
        part: ai.PartType, client: Any, resource: RawAiResource, fetch: Callable[..., Any]
    ) -> list[tuple[str, dict[str, Any] | None]] | None:
        """Each sub-resource (a knowledge base's data sources) listed and described; None: not listed."""
        parent = {part.parent_param: resource.ident}

        def ids(api: str) -> list[str]:
            pages = _pages(client, part.list_operation, part.list_key, api, **parent)
            return [str(item[part.id_field]) for item in pages]

        def described(api: str, ident: str) -> dict[str, Any]:
            answer = getattr(client, part.describe_operation)(**parent, **{part.describe_param: ident})
            return dict(_required(answer, part.answer_field, api))

        listed = fetch(part.list_operation, ids)
        if listed is None:
            return None
        return [(i, fetch(part.describe_operation, lambda api, i=i: described(api, i))) for i in listed]


def _pages(client: Any, operation: str, result_key: str, api: str, **kwargs: Any) -> Iterable[Any]:
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from _listed(page, result_key, api)


@cache
def _endpoint_data() -> botocore.session.Session:
    return botocore.session.get_session()


# Services botocore's endpoint data does not list anywhere: they go where their parent service goes.
_ENDPOINT_PARENT = {"bedrock-agent": "bedrock"}


@cache
def _offered(service: str, region: str, partition: str) -> bool:
    """Whether botocore's endpoint data offers ``service`` in ``region``: elsewhere its endpoint does not
    resolve and there is nothing to list (a connection error would read as a coverage gap). A service the
    data does not know at all is taken to be offered."""
    for name in (service, _ENDPOINT_PARENT.get(service)):
        if name:
            regions = _endpoint_data().get_available_regions(name, partition_name=partition)
            if regions:
                return region in regions
    return True


def _required(answer: Mapping[str, Any], name: str, api: str) -> Any:
    """``answer[name]``; an answer without it is malformed (raised, so the call is recorded as failed)."""
    if answer.get(name) is None:
        raise botocore.parsers.ResponseParserError(f"{api}: answer without {name}")
    return answer[name]


def _with(answer: dict[str, Any], name: str, api: str) -> dict[str, Any]:
    """``answer`` itself, once it is known to carry ``name``."""
    _required(answer, name, api)
    return answer


def _listed(page: Mapping[str, Any], result_key: str, api: str) -> list[Any]:
    """The items of one page. AWS always sends the list, empty or not: a page without it is a malformed
    answer (read as an empty list, a region would look as if it had no keys)."""
    items = page.get(result_key)
    if not isinstance(items, list):
        raise botocore.parsers.ResponseParserError(f"{api}: answer without its {result_key} list")
    return items


def _checked(client: Any) -> Any:
    """Make ``client`` refuse answers botocore would otherwise read as empty (see ``_refuse_unreadable``)."""
    client.meta.events.register("before-parse", _refuse_unreadable, unique_id="keyaudit-unreadable-answer")
    return client


def _refuse_unreadable(operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
    """botocore reads a body cut short of its Content-Length without complaint (it does not enforce the
    length), and its JSON parser turns a body that is not JSON into ``{"message": body}``: ListKeys would
    then look like a region without keys, DescribeKey like a key without metadata. Raise instead, so the
    call is recorded as a malformed response (UNKNOWN) rather than read as an empty answer."""
    body = response_dict.get("body") or b""
    name = operation_model.name
    declared = str((response_dict.get("headers") or {}).get("content-length") or "")
    if declared.isdigit() and int(declared) != len(body):
        raise botocore.parsers.ResponseParserError(
            f"{name}: answer cut short ({len(body)} of {declared} bytes)"
        )
    protocol = getattr(
        operation_model.service_model, "resolved_protocol", None
    ) or operation_model.metadata.get("protocol")
    if body and protocol in ("json", "rest-json") and int(response_dict.get("status_code") or 0) < 300:
        try:
            json.loads(body)
        except ValueError as exc:
            raise botocore.parsers.ResponseParserError(f"{name}: answer is not JSON ({exc})") from None


def _arn_account(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


def _is_active(entry: Mapping[str, Any]) -> bool:
    """``State`` replaced ``Status`` (retired September 2026); only active accounts can be scanned."""
    return str(entry.get("State") or entry.get("Status") or "ACTIVE") == "ACTIVE"


def _uses_custom_key_store(region: RawRegion) -> bool:
    return any(key.metadata and key.metadata.get("CustomKeyStoreId") for key in region.keys or [])


def _rotation_applies(metadata: dict[str, Any]) -> bool:
    """GetKeyRotationStatus answers only for symmetric keys with AWS-generated material in the
    default key store; other keys cannot rotate automatically (the call would fail)."""
    return (
        metadata.get("KeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
        and metadata.get("Origin", "AWS_KMS") == "AWS_KMS"
        and not metadata.get("CustomKeyStoreId")
    )


def _api_name(client: Any, operation: str) -> str:
    """``list_keys`` -> ``ListKeys`` (the name IAM and CloudTrail use)."""
    names: Iterable[str] = client.meta.service_model.operation_names
    wanted = operation.replace("_", "").lower()
    return next((n for n in names if n.lower() == wanted), operation)
