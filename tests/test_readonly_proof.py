"""Read-only proof (issue #9, item 3): every API operation a scan of the demo estate performs is a read on
the provider's allow-list, and a write through the scanner's own client stack is refused before it leaves
the process.

Each provider's demo estate (what ``keyaudit demo`` scans) is scanned through the real provider code while
every request is recorded where the SDK hands it to HTTP:

* AWS: a botocore ``before-send`` handler, registered first on every new session (through botocore's
  ``BUILTIN_HANDLERS``, the hook moto itself uses). It sees each request that goes to the in-process moto, and
  only those: a call the guard refuses never gets that far.
* GCP and Azure: ``requests.Session.send``, through which the Google REST transports and azure-core's
  ``RequestsTransport`` send every request. The spy wraps the third-party method and calls it; nothing of
  keyaudit's is replaced.

Every recorded request is then placed on the allow-list without keyaudit's own bookkeeping: AWS by service and
operation; GCP through the HTTP rules of the generated REST transports; Azure through the table of ARM and Key
Vault paths below and the permission each needs. The operation lists are in docs/readonly-operations.md, which
this module renders and checks; regenerate it with ``.venv/bin/python -m tests.test_readonly_proof --write``.

tests/providers/{aws,gcp,azure}/test_readonly.py already refuse writes for every guarded service, HTTP verb
and pipeline position; the write tests here add the demo estate's own resources, reached through the stack
the collectors build, with the simulated backend shown unchanged.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from scanner.inventory import Inventory
from scanner.progress import NullProgress
from scanner.provider import CollectRequest

DOC = Path(__file__).resolve().parent.parent / "docs" / "readonly-operations.md"
REGENERATE = ".venv/bin/python -m tests.test_readonly_proof --write"


@dataclass(frozen=True, order=True)
class Operation:
    """One kind of request a scan sent, and where it stands on the provider's allow-list."""

    name: str  # "kms:ListKeys", "ProjectsClient.get_iam_policy", "GET {vault}.vault.azure.net/keys"
    allowed_as: str | None  # the allow-list entry it falls under; None: not on the allow-list
    permissions: tuple[str, ...]  # what the --print-required-policy output must grant for it


@dataclass
class Recording:
    provider: str
    scans: list[str]  # what was scanned, for the document
    operations: Counter[Operation] = field(default_factory=Counter)
    unmatched: list[str] = field(default_factory=list)  # requests no allow-list entry explains
    inventories: list[Inventory] = field(default_factory=list)


def _scan_request(options: dict[str, Any]) -> CollectRequest:
    # One worker: the same requests in the same order every run, so the document's counts are stable. The
    # operations do not depend on it (keyaudit demo itself scans AWS with one worker).
    return CollectRequest(options=options, concurrency=1, progress=NullProgress())


def _demo_estate(package: str) -> dict[str, Any]:
    return dict(json.loads((files(package) / "demo_estate.json").read_text(encoding="utf-8")))


# ---------------------------------------------------------------------------------------------- recorders


@contextmanager
def botocore_sends() -> Iterator[list[str]]:
    """The ``before-send`` event name (``before-send.kms.ListKeys``) of every request of every botocore
    session created inside the block."""
    import botocore.handlers

    sent: list[str] = []
    recording = [True]

    def record(event_name: str, **_: Any) -> None:
        if recording[0]:
            sent.append(event_name)

    # REGISTER_FIRST: ahead of moto's own before-send handler, which answers the request and ends the event.
    spec = ("before-send", record, botocore.handlers.REGISTER_FIRST)
    botocore.handlers.BUILTIN_HANDLERS.append(spec)
    try:
        yield sent
    finally:
        recording[0] = False  # sessions built inside the block keep the handler
        botocore.handlers.BUILTIN_HANDLERS.remove(spec)


@contextmanager
def http_sends() -> Iterator[list[tuple[str, str]]]:
    """``(method, url)`` of every request any ``requests.Session`` sends inside the block, before its
    transport adapters (keyaudit's GCP guard among them) see it."""
    import requests

    sent: list[tuple[str, str]] = []
    original = requests.Session.send

    def send(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> Any:
        sent.append((request.method or "", request.url or ""))
        return original(self, request, **kwargs)

    requests.Session.send = send  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        requests.Session.send = original  # type: ignore[method-assign]


# ---------------------------------------------------------------------------------------------- AWS


@functools.cache
def _aws_service_names() -> dict[str, str]:
    """botocore event names carry the hyphenated service id (``cloudhsm-v2``): back to client names."""
    import botocore.session

    from providers.aws.readonly import READ_OPERATIONS

    session = botocore.session.get_session()
    return {session.get_service_model(name).service_id.hyphenize(): name for name in READ_OPERATIONS}


def aws_operation(event_name: str) -> Operation:
    from providers.aws.readonly import _IAM_PREFIX, READ_OPERATIONS

    _, service_id, operation = event_name.split(".", 2)
    service = _aws_service_names().get(service_id, service_id)
    name = f"{service}:{operation}"
    allowed = name if operation in READ_OPERATIONS.get(service, ()) else None
    # required_policy() leaves GetCallerIdentity out: it needs no permission.
    needed = () if name == "sts:GetCallerIdentity" else (f"{_IAM_PREFIX.get(service, service)}:{operation}",)
    return Operation(name, allowed, needed)


def aws_policy_actions() -> set[str]:
    from providers.aws.readonly import required_policy

    return {action for statement in required_policy()["Statement"] for action in statement["Action"]}


@contextmanager
def aws_demo_estate() -> Iterator[Any]:
    """The demo organization in in-process moto, as ``AwsProvider.demo`` builds it."""
    from moto import mock_aws

    from providers.aws import simulator
    from providers.aws.demo import build_demo_estate

    simulator.patch_moto()
    simulator.reset()
    try:
        with simulator.isolated_environment(), mock_aws():
            yield build_demo_estate()
    finally:
        simulator.reset()


@functools.cache
def record_aws() -> Recording:
    from providers.aws.plugin import AwsProvider

    recording = Recording(
        "aws", ["the demo organization (in-process moto), `--org-role` into every member account"]
    )
    # AwsProvider.demo, split in two so the estate's seeding (writes, made by the simulator) is not recorded:
    # the same options, and the collection through the provider's real code.
    with aws_demo_estate() as estate, botocore_sends() as sent:
        inventory = AwsProvider().collect(
            _scan_request({"regions": estate.regions, "org_role": estate.org_role})
        )
    recording.inventories.append(inventory)
    recording.operations.update(aws_operation(event) for event in sent)
    return recording


# ---------------------------------------------------------------------------------------------- GCP

_IAM_ROLE_ROUTES = ("/v1/{name=projects/*/roles/*}", "/v1/{name=organizations/*/roles/*}")


def _uri_pattern(template: str) -> re.Pattern[str]:
    """A google.api.http URI template (``/v1/{parent=projects/*/locations/*}/keyRings``) as a regex."""

    def piece(text: str) -> str:
        if not text.startswith("{"):
            return re.escape(text)
        segments = text[1:-1].partition("=")[2] or "*"  # {name} alone is one segment
        return "/".join(
            "[^/]+" if s == "*" else ".+" if s == "**" else re.escape(s) for s in segments.split("/")
        )

    return re.compile("".join(piece(p) for p in re.split(r"(\{[^}]*\})", template)))


@functools.cache
def gcp_routes() -> list[tuple[str, re.Pattern[str], str]]:
    """``(VERB, path pattern, "Client.method")`` for every RPC of every client keyaudit builds,
    from the HTTP rules the generated REST transports carry (allow-listed or not)."""
    from google.cloud import asset_v1, kms_v1, resourcemanager_v3

    clients = {
        "KeyManagementServiceClient": kms_v1.KeyManagementServiceClient,
        "EkmServiceClient": kms_v1.EkmServiceClient,
        "ProjectsClient": resourcemanager_v3.ProjectsClient,
        "FoldersClient": resourcemanager_v3.FoldersClient,
        "OrganizationsClient": resourcemanager_v3.OrganizationsClient,
        "AssetServiceClient": asset_v1.AssetServiceClient,
    }
    routes: list[tuple[str, re.Pattern[str], str]] = []
    for kind, client in clients.items():
        for base in client.get_transport_class("rest").__mro__:
            for attribute, rpc in vars(base).items():
                if not (attribute.startswith("_Base") and hasattr(rpc, "_get_http_options")):
                    continue
                method = re.sub(r"(?<!^)(?=[A-Z])", "_", attribute.removeprefix("_Base")).lower()
                for rule in rpc._get_http_options():
                    routes.append((rule["method"].upper(), _uri_pattern(rule["uri"]), f"{kind}.{method}"))
    # IamRolesClient is keyaudit's own (iam_admin_v1 has no REST transport): GET /v1/{custom role name}.
    routes += [("GET", _uri_pattern(t), "IamRolesClient.get_role") for t in _IAM_ROLE_ROUTES]
    return routes


def gcp_operations(method: str, url: str) -> list[Operation]:
    """Every allow-list entry the request could be (one in practice); empty when none explains it."""
    from providers.gcp.readonly import READ_OPERATIONS, ReadOnlyViolation, check_request

    try:
        check_request(method, url)
    except ReadOnlyViolation:
        return []  # not even a read to the HTTP-layer guard
    path = unquote(urlsplit(url).path)
    found = []
    for verb, pattern, name in gcp_routes():
        if verb != method.upper() or not pattern.fullmatch(path):
            continue
        kind, rpc = name.split(".")
        permissions = READ_OPERATIONS.get(kind, {}).get(rpc)
        found.append(Operation(name, name if permissions is not None else None, tuple(permissions or ())))
    return found


def _record_gcp_requests(recording: Recording, sent: list[tuple[str, str]]) -> None:
    for method, url in sent:
        candidates = gcp_operations(method, url)
        allowed = [op for op in candidates if op.allowed_as is not None]
        if len(allowed) == 1:
            recording.operations[allowed[0]] += 1
        else:  # none, or two allow-listed RPCs sharing one path: either way nothing decides
            recording.unmatched.append(f"{method} {url} -> {[op.name for op in candidates]}")


@functools.cache
def record_gcp() -> Recording:
    from providers.gcp.plugin import GcpProvider
    from providers.gcp.replay import ReplayServer

    recording = Recording(
        "gcp",
        [
            "`keyaudit demo`'s organization scan (Cloud Asset Inventory path)",
            "the same recorded estate with no scope given (every visible project, read project by project)",
        ],
    )
    with http_sends() as sent:
        recording.inventories.append(GcpProvider().demo(_scan_request({})))
    _record_gcp_requests(recording, sent)
    with ReplayServer(exchanges=_demo_estate("providers.gcp")["exchanges"]) as server, http_sends() as sent:
        # As GcpProvider.demo calls it (anonymous, loopback replay), minus --organization: project by project.
        recording.inventories.append(
            GcpProvider()._collect(_scan_request({"gcp_endpoint": server.url}), anonymous=True)
        )
        received = Counter((r.method, r.path) for r in server.requests)
    _record_gcp_requests(recording, sent)
    # What the client side recorded is exactly what reached the server.
    assert Counter((m, unquote(urlsplit(u).path)) for m, u in sent) == received
    return recording


def gcp_policy_permissions() -> set[str]:
    from providers.gcp.readonly import required_role

    return set(required_role()["includedPermissions"])


# ---------------------------------------------------------------------------------------------- Azure

_KV = "Microsoft.KeyVault"
_AUTH = "Microsoft.Authorization"
_HSM = f"{_KV}/managedHsm"
_RESOURCE_GROUP = "/subscriptions/{subscription}/resourceGroups/{group}"
# (host, path template, permission the request needs). {x}: one path segment; {x*}: any run of them.
# Data-plane permissions follow Azure's operation lists, as providers/azure/permissions.py holds them.
AZURE_ROUTES: tuple[tuple[str, str, str], ...] = (
    ("arm", "/subscriptions", "Microsoft.Resources/subscriptions/read"),
    ("arm", "/subscriptions/{subscription}", "Microsoft.Resources/subscriptions/read"),
    (
        "arm",
        "/providers/Microsoft.Management/managementGroups/{group}",
        "Microsoft.Management/managementGroups/read",
    ),
    (
        "arm",
        "/providers/Microsoft.Management/managementGroups/{group}/descendants",
        "Microsoft.Management/managementGroups/descendants/read",
    ),
    ("arm", "/subscriptions/{subscription}/providers/Microsoft.KeyVault/vaults", f"{_KV}/vaults/read"),
    ("arm", _RESOURCE_GROUP + "/providers/Microsoft.KeyVault/vaults/{vault}", f"{_KV}/vaults/read"),
    ("arm", _RESOURCE_GROUP + "/providers/Microsoft.KeyVault/vaults/{vault}/keys", f"{_KV}/vaults/keys/read"),
    (
        "arm",
        _RESOURCE_GROUP + "/providers/Microsoft.KeyVault/vaults/{vault}/keys/{key}",
        f"{_KV}/vaults/keys/read",
    ),
    (
        "arm",
        "/subscriptions/{subscription}/providers/Microsoft.KeyVault/managedHSMs",
        f"{_KV}/managedHSMs/read",
    ),
    ("arm", _RESOURCE_GROUP + "/providers/Microsoft.KeyVault/managedHSMs/{hsm}", f"{_KV}/managedHSMs/read"),
    # AI workloads: their encryption settings and identities (providers/azure/ai.py).
    *(
        (host, scope + f"/providers/{kind}" + item, f"{kind}/read")
        for kind in (
            "Microsoft.CognitiveServices/accounts",
            "Microsoft.MachineLearningServices/workspaces",
            "Microsoft.Search/searchServices",
        )
        for host, scope, item in (
            ("arm", "/subscriptions/{subscription}", ""),
            ("arm", _RESOURCE_GROUP, ""),
            ("arm", _RESOURCE_GROUP, "/{name}"),
        )
    ),
    ("arm", "{scope*}/providers/Microsoft.Authorization/roleAssignments", f"{_AUTH}/roleAssignments/read"),
    ("arm", "{scope*}/providers/Microsoft.Authorization/roleDefinitions", f"{_AUTH}/roleDefinitions/read"),
    (
        "arm",
        "{scope*}/providers/Microsoft.Authorization/roleDefinitions/{id}",
        f"{_AUTH}/roleDefinitions/read",
    ),
    (
        "arm",
        "{resource*}/providers/Microsoft.Insights/diagnosticSettings",
        "Microsoft.Insights/diagnosticSettings/read",
    ),
    ("vault", "/keys/{key}/rotationpolicy", f"{_KV}/vaults/keyrotationpolicies/read"),
    ("vault", "/keys", f"{_KV}/vaults/keys/read"),
    ("vault", "/keys/{key}", f"{_KV}/vaults/keys/read"),
    ("vault", "/keys/{key}/versions", f"{_KV}/vaults/keys/read"),
    # Get Deleted Keys needs the keys/list permission (REST reference); vaults have no separate RBAC data
    # action for deleted keys, so keys/read grants it.
    ("vault", "/deletedkeys", f"{_KV}/vaults/keys/read"),
    ("hsm", "/keys", f"{_HSM}/keys/read/action"),
    ("hsm", "/keys/{key}", f"{_HSM}/keys/read/action"),
    ("hsm", "/keys/{key}/versions", f"{_HSM}/keys/read/action"),
    ("hsm", "/keys/{key}/rotationpolicy", f"{_HSM}/keys/read/action"),
    # Managed HSM's local RBAC has its own data action for deleted keys.
    ("hsm", "/deletedkeys", f"{_HSM}/keys/deletedKeys/read/action"),
    (
        "hsm",
        "{scope*}/providers/Microsoft.Authorization/roleAssignments",
        f"{_HSM}/roleAssignments/read/action",
    ),
    (
        "hsm",
        "{scope*}/providers/Microsoft.Authorization/roleDefinitions",
        f"{_HSM}/roleDefinitions/read/action",
    ),
)
_AZURE_HOSTS = {
    "arm": "management.azure.com",
    "vault": "{vault}.vault.azure.net",
    "hsm": "{hsm}.managedhsm.azure.net",
}


def _azure_pattern(template: str) -> re.Pattern[str]:
    pieces = re.split(r"(\{[^}]*\})", template)
    regex = "".join(
        (".*" if p.endswith("*}") else "[^/]+") if p.startswith("{") else re.escape(p) for p in pieces
    )
    return re.compile(regex, re.IGNORECASE)  # ARM ids and Key Vault names are case-insensitive


def _azure_host(host: str) -> str | None:
    host = host.lower()
    if host == "management.azure.com":
        return "arm"
    if host.endswith(".vault.azure.net"):
        return "vault"
    if host.endswith(".managedhsm.azure.net"):
        return "hsm"
    return None


def azure_operation(method: str, url: str) -> Operation | None:
    from providers.azure.readonly import ReadOnlyViolation, check_request

    try:
        check_request(method, url)
        allowed: str | None = f"{method.upper()} (a read)"
    except ReadOnlyViolation:
        allowed = None
    parts = urlsplit(url)
    kind = _azure_host(parts.hostname or "")
    path = unquote(parts.path).rstrip("/") or "/"  # get_key asks for /keys/NAME/
    for host, template, permission in AZURE_ROUTES:
        if host == kind and _azure_pattern(template).fullmatch(path):
            return Operation(f"{method.upper()} {_AZURE_HOSTS[host]}{template}", allowed, (permission,))
    return None


@functools.cache
def record_azure() -> Recording:
    from providers.azure.plugin import AzureProvider
    from providers.azure.replay import ReplayAdapter, ReplayCredential, reset_key_vault_challenges

    recording = Recording(
        "azure",
        [
            "`keyaudit demo`'s subscription scan",
            "the same recorded estate scanned through its management group "
            "(`--management-group mg-example-prod`)",
        ],
    )
    with http_sends() as sent:
        recording.inventories.append(AzureProvider().demo(_scan_request({})))
    estate = _demo_estate("providers.azure")
    reset_key_vault_challenges()
    adapter = ReplayAdapter(exchanges=estate["exchanges"])
    options = {"management_group": "mg-example-prod", "azure_cloud": estate.get("cloud", "public")}
    with http_sends() as by_group:
        recording.inventories.append(
            AzureProvider().collect_with(
                _scan_request(options),
                credential=ReplayCredential(),
                transport=adapter.transport(),
                retry_total=0,
            )
        )
    reset_key_vault_challenges()
    # What the client side recorded is exactly what reached the transport.
    assert [(m, u) for m, u in by_group] == [(r.method, r.url) for r in adapter.requests]
    for method, url in [*sent, *by_group]:
        operation = azure_operation(method, url)
        if operation is None:
            recording.unmatched.append(f"{method} {url}")
        else:
            recording.operations[operation] += 1
    return recording


def azure_policy_permissions() -> set[str]:
    from providers.azure.readonly import required_policy

    policy = required_policy()
    role, hsm = policy["azureRoleDefinition"], policy["managedHsmLocalRoleDefinition"]
    return {*role["Actions"], *role["DataActions"], *hsm["dataActions"]}


RECORDERS: dict[str, Callable[[], Recording]] = {"aws": record_aws, "gcp": record_gcp, "azure": record_azure}
POLICY_PERMISSIONS: dict[str, Callable[[], set[str]]] = {
    "aws": aws_policy_actions,
    "gcp": gcp_policy_permissions,
    "azure": azure_policy_permissions,
}

# The families each scan must reach: a recorder that saw too little proves nothing.
EXPECTED: dict[str, set[str]] = {
    "aws": {
        "kms:ListKeys", "kms:ListAliases", "kms:DescribeKey", "kms:GetKeyPolicy",
        "kms:GetKeyRotationStatus", "kms:ListGrants", "kms:ListResourceTags", "kms:DescribeCustomKeyStores",
        "cloudhsmv2:DescribeClusters", "cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus",
        "cloudtrail:GetEventSelectors", "iam:GetAccountAuthorizationDetails", "organizations:ListAccounts",
        "organizations:DescribeOrganization", "organizations:ListParents", "sts:GetCallerIdentity",
        "sts:AssumeRole",
    },
    "gcp": {
        "KeyManagementServiceClient.list_locations", "KeyManagementServiceClient.list_key_rings",
        "KeyManagementServiceClient.list_crypto_keys",
        "KeyManagementServiceClient.list_crypto_key_versions", "KeyManagementServiceClient.get_iam_policy",
        "EkmServiceClient.get_ekm_connection", "ProjectsClient.get_project",
        "ProjectsClient.get_iam_policy", "ProjectsClient.search_projects", "FoldersClient.get_folder",
        "FoldersClient.get_iam_policy", "OrganizationsClient.get_organization",
        "OrganizationsClient.get_iam_policy", "AssetServiceClient.list_assets",
        "AssetServiceClient.search_all_iam_policies", "IamRolesClient.get_role",
    },
    "azure": {
        "Microsoft.Resources/subscriptions/read", "Microsoft.Management/managementGroups/descendants/read",
        f"{_KV}/vaults/read", f"{_KV}/managedHSMs/read", f"{_KV}/vaults/keys/read",
        f"{_KV}/vaults/keyrotationpolicies/read", f"{_AUTH}/roleAssignments/read",
        f"{_AUTH}/roleDefinitions/read", "Microsoft.Insights/diagnosticSettings/read",
        f"{_HSM}/keys/read/action", f"{_HSM}/roleAssignments/read/action",
        f"{_HSM}/roleDefinitions/read/action",
    },
}  # fmt: skip


def _reached(recording: Recording) -> set[str]:
    if recording.provider == "azure":  # Azure operations are named by URL: compare permissions
        return {p for op in recording.operations for p in op.permissions}
    return {op.name for op in recording.operations}


# ---------------------------------------------------------------------------------------------- scans


@pytest.mark.parametrize("provider", sorted(RECORDERS))
def test_the_demo_scan_sends_only_allow_listed_reads(provider: str) -> None:
    recording = RECORDERS[provider]()

    assert all(inventory.keys for inventory in recording.inventories), "a scan that read no key proves little"
    assert recording.operations, "nothing was recorded"
    missing = EXPECTED[provider] - _reached(recording)
    assert not missing, f"the scan never reached {sorted(missing)}: the recorder or the estate lost them"
    assert recording.unmatched == [], "requests no allow-list entry explains"
    off_list = sorted(op.name for op in recording.operations if op.allowed_as is None)
    assert off_list == [], f"operations outside the read-only allow-list: {off_list}"


def test_aws_the_guard_counted_every_request_that_was_sent() -> None:
    """The guard's own hook (install_guard's on_call, which feeds the scan's api_calls notes) heard exactly
    the requests botocore sent: no client of the scan bypassed it."""
    recording = record_aws()
    notes = recording.inventories[0].collection.notes
    counted = dict(item.split("=") for item in notes["aws.api_calls_by_operation"].split(", "))
    assert {op: int(n) for op, n in counted.items()} == {op.name: n for op, n in recording.operations.items()}
    assert sum(recording.operations.values()) == int(notes["aws.api_calls"])


@pytest.mark.parametrize(
    "provider",
    [
        "aws",
        "gcp",
        "azure",
    ],
)
def test_the_printed_required_policy_grants_every_operation_the_scan_sent(provider: str) -> None:
    recording = RECORDERS[provider]()
    granted = POLICY_PERMISSIONS[provider]()
    needed = {p for op in recording.operations for p in op.permissions}
    assert needed, "no permission was needed: nothing was recorded"
    assert sorted(needed - granted) == []


# ---------------------------------------------------------------------------------------------- writes


def test_aws_writes_through_the_scanners_client_stack_never_reach_moto() -> None:
    import boto3

    from providers.aws.collect import AwsCollector, AwsOptions
    from providers.aws.demo import PAYMENTS_ACCOUNT
    from providers.aws.readonly import ReadOnlyViolation

    # Recording from the start: botocore gives its handlers to sessions when they are created.
    with aws_demo_estate() as estate, botocore_sends() as sent:
        home = estate.regions[0]
        # The clients a scan uses in a member account: assumed through --org-role, guarded by _Account.
        collector = AwsCollector(AwsOptions(regions=estate.regions, org_role=estate.org_role), NullProgress())
        base = boto3.Session()
        collector._caller_account(base, home)
        session = collector._assume(base, home, PAYMENTS_ACCOUNT)
        assert session is not None
        account = collector._account(PAYMENTS_ACCOUNT, session)
        kms, trails, iam = (account.client(s, home) for s in ("kms", "cloudtrail", "iam"))
        unguarded = session.client("kms", region_name=home)  # the same account, to look at moto's state

        def states() -> dict[str, str]:
            return {
                k["KeyId"]: unguarded.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"]
                for k in unguarded.list_keys()["Keys"]
            }

        before = states()
        key = next(k for k, state in before.items() if state == "Enabled")
        writes: list[tuple[str, Callable[[], Any]]] = [
            ("kms:ScheduleKeyDeletion", lambda: kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)),
            ("kms:CreateKey", kms.create_key),
            ("kms:DisableKey", lambda: kms.disable_key(KeyId=key)),
            ("kms:PutKeyPolicy", lambda: kms.put_key_policy(KeyId=key, PolicyName="default", Policy="{}")),
            (
                "kms:CreateGrant",
                lambda: kms.create_grant(
                    KeyId=key, GranteePrincipal="arn:aws:iam::777788889999:root", Operations=["Decrypt"]
                ),
            ),
            ("cloudtrail:StopLogging", lambda: trails.stop_logging(Name="organization-trail")),
            ("iam:CreateUser", lambda: iam.create_user(UserName="intruder")),
        ]
        sent_before = len(sent)
        for operation, write in writes:
            with pytest.raises(
                ReadOnlyViolation, match=f"{operation} is not on its allow-list and was not sent"
            ):
                write()
        assert sent[sent_before:] == []
        assert states() == before  # nothing deleted, disabled or created
        assert unguarded.get_key_policy(KeyId=key, PolicyName="default")["Policy"] != "{}"
        grantees = {g["GranteePrincipal"] for g in unguarded.list_grants(KeyId=key)["Grants"]}
        assert "arn:aws:iam::777788889999:root" not in grantees
        # The recorder does hear these clients: a read through the same guarded client is sent.
        assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"
        assert sent[-1] == "before-send.kms.DescribeKey"


PAYMENTS_KEY = "projects/example-payments-prod/locations/europe-west1/keyRings/payments/cryptoKeys/card-data"


def test_gcp_writes_through_the_scanners_clients_never_reach_the_replay_server() -> None:
    from providers.gcp.clients import kms_client, projects_client
    from providers.gcp.readonly import ReadOnlyViolation
    from providers.gcp.replay import ReplayServer

    version = f"{PAYMENTS_KEY}/cryptoKeyVersions/1"
    policy = {"bindings": [{"role": "roles/cloudkms.admin", "members": ["user:intruder@example.com"]}]}
    with ReplayServer(exchanges=_demo_estate("providers.gcp")["exchanges"]) as server:
        kms = kms_client(server.url, anonymous=True)
        projects = projects_client(server.url, anonymous=True)
        # Method layer: the scanner's clients do not expose the write at all.
        with pytest.raises(ReadOnlyViolation, match=r"destroy_crypto_key_version is not on its allow-list"):
            kms.destroy_crypto_key_version(name=version)
        with pytest.raises(ReadOnlyViolation, match=r"set_iam_policy is not on its allow-list"):
            kms.set_iam_policy(request={"resource": PAYMENTS_KEY, "policy": policy})
        # HTTP layer: code reaching past the proxy to the generated client is stopped by the guarded session.
        raw_kms = object.__getattribute__(kms, "_client")
        raw_projects = object.__getattribute__(projects, "_client")
        with pytest.raises(ReadOnlyViolation, match=r"POST /v1/.*/cryptoKeyVersions/1:destroy was refused"):
            raw_kms.destroy_crypto_key_version(name=version)
        with pytest.raises(ReadOnlyViolation, match=r"POST /v1/.*/card-data:setIamPolicy was refused"):
            raw_kms.set_iam_policy(request={"resource": PAYMENTS_KEY, "policy": policy})
        with pytest.raises(
            ReadOnlyViolation, match=r"POST /v3/projects/402518937140:setIamPolicy was refused"
        ):
            raw_projects.set_iam_policy(request={"resource": "projects/402518937140", "policy": policy})
        assert server.requests == []
        # The same clients still read the estate.
        keys = [k.name for k in kms.list_crypto_keys(parent=PAYMENTS_KEY.rsplit("/cryptoKeys/", 1)[0])]
        assert PAYMENTS_KEY in keys
        assert [r.method for r in server.requests] == ["GET"]


AZURE_SUBSCRIPTION = "8f3c2a1d-5b6e-4c7f-9a0b-1d2e3f4a5b6c"
AZURE_VAULT_URL = "https://kv-example-payments.vault.azure.net"


def test_azure_writes_through_the_scanners_clients_never_reach_the_transport() -> None:
    from providers.azure.clients import key_client, keyvault_mgmt_client
    from providers.azure.readonly import ReadOnlyViolation
    from providers.azure.replay import ReplayAdapter, ReplayCredential, reset_key_vault_challenges

    reset_key_vault_challenges()
    # The demo estate, and a 200 for anything else: only the guard can stop a write.
    adapter = ReplayAdapter(
        exchanges=[
            *_demo_estate("providers.azure")["exchanges"],
            {"method": "*", "url": f"{AZURE_VAULT_URL}/*", "response": {}},
            {"method": "*", "url": "https://management.azure.com/*", "response": {}},
        ]
    )
    credential = ReplayCredential()
    try:
        keys = key_client(AZURE_VAULT_URL, credential, transport=adapter.transport(), retry_total=0)
        vaults = keyvault_mgmt_client(
            AZURE_SUBSCRIPTION, credential, transport=adapter.transport(), retry_total=0
        )
        with pytest.raises(
            ReadOnlyViolation, match=r"DELETE kv-example-payments\.vault\.azure\.net/keys/sql-tde"
        ):
            keys.begin_delete_key("sql-tde-protector")
        with pytest.raises(
            ReadOnlyViolation, match=r"PATCH kv-example-payments\.vault\.azure\.net/keys/storage-cmk"
        ):
            keys.update_key_properties("storage-cmk", enabled=False)
        with pytest.raises(
            ReadOnlyViolation, match=r"PUT management\.azure\.com/.*/vaults/kv-example-payments"
        ):
            vaults.vaults.begin_create_or_update(
                "rg-keys-prod",
                "kv-example-payments",
                {
                    "location": "westeurope",
                    "properties": {
                        "tenant_id": "5f1c0d2e-8a3b-4c6d-9e7f-0a1b2c3d4e5f",
                        "sku": {"family": "A", "name": "standard"},
                        "public_network_access": "Enabled",
                    },
                },
            )
        assert adapter.requests == []
        assert credential.requests == []  # refused before a token was even asked for
        # The same clients still read the estate.
        assert "sql-tde-protector" in {k.name for k in keys.list_properties_of_keys()}
        assert {r.method for r in adapter.requests} == {"GET"}
    finally:
        reset_key_vault_challenges()


# ---------------------------------------------------------------------------------------------- document


def render_document() -> str:
    lines = [
        "# Read-only operations, as recorded",
        "",
        "Generated by `tests/test_readonly_proof.py` (regenerate: `" + REGENERATE + "`),",
        "which scans each provider's demo estate through the real provider code, records every request at",
        "the SDK's HTTP layer (botocore `before-send`; `requests.Session.send` under the Google REST",
        "transports and azure-core), and fails when one is not a read on the provider's allow-list or not",
        "granted by `keyaudit scan PROVIDER --print-required-policy`. Counts are requests sent, from scans",
        "with one worker.",
    ]
    policy = {
        "aws": "IAM action",
        "gcp": "IAM permission",
        "azure": "Azure RBAC action, or Managed HSM local RBAC data action",
    }
    allow_list = {
        "aws": "`providers/aws/readonly.py` READ_OPERATIONS (botocore `before-call` guard)",
        "gcp": "`providers/gcp/readonly.py` READ_OPERATIONS (method layer) and `check_request` (HTTP layer)",
        "azure": "`providers/azure/readonly.py` `check_request` (GET, or a listed POST; none is listed)",
    }
    for provider in ("aws", "gcp", "azure"):
        recording = RECORDERS[provider]()
        granted = POLICY_PERMISSIONS[provider]()
        lines += [
            "",
            f"## {provider.upper() if provider != 'azure' else 'Azure'}",
            "",
            "Scanned: " + "; ".join(recording.scans) + ".",
            f"Allow-list: {allow_list[provider]}.",
            "",
            f"| operation | requests | {policy[provider]} needed | in the printed policy |",
            "|---|---:|---|---|",
        ]
        for operation, count in sorted(recording.operations.items()):
            needed = ", ".join(f"`{p}`" for p in operation.permissions) or "none"
            granted_mark = "yes" if set(operation.permissions) <= granted else "**no**"
            lines.append(f"| `{operation.name}` | {count} | {needed} | {granted_mark} |")
        lines.append(f"| **total** | {sum(recording.operations.values())} | | |")
    return "\n".join(lines) + "\n"


def test_the_operations_document_is_current() -> None:
    rendered = render_document()
    assert DOC.exists(), f"{DOC} is missing: {REGENERATE}"
    assert DOC.read_text(encoding="utf-8") == rendered, f"{DOC.name} is stale: {REGENERATE}"


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        raise SystemExit(f"usage: {REGENERATE}")
    DOC.write_text(render_document(), encoding="utf-8")
    print(f"wrote {DOC}")
