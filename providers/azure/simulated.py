"""A simulated Azure tenant and the REST exchanges that serve it to the real Azure SDK clients.

``keyaudit demo``, the Azure tests and ``benchmarks/azure_scan.py`` describe an estate once, declaratively
(tenant, management groups, subscriptions, Key Vaults and Managed HSMs with their keys, role assignments
at every scope, custom roles, diagnostic settings, vaults whose data plane refuses the scanner), and turn
it into exchanges for ``providers.azure.replay.ReplayAdapter``. Standard library only at import time:
nothing from the Azure SDKs; the built-in role tables of ``providers.azure.permissions`` are read when a
role definition is rendered.

The exchanges answer this call contract (the paths are the ones the installed SDKs request; api-version
is never named, so any SDK version matches):

* Tenant (``clients.subscription_client`` -> ``TenantClient``): ``GET /subscriptions`` and
  ``GET /providers/Microsoft.Management/managementGroups/{mg}/descendants`` for every management group,
  the tenant root group (named after the tenant id) included.
* Per subscription, on ARM: ``vaults.list_by_subscription``, ``managed_hsms.list_by_subscription``
  (and ``vaults.get`` / ``managed_hsms.get`` of each),
  ``role_assignments.list_for_subscription`` (assignments at and below the subscription, and those
  inherited from its management groups, whose scope is the group's id, as Azure returns them),
  ``role_definitions.get_by_id`` for every role definition id an assignment names (built-in ones from
  ``providers.azure.permissions``, custom ones from the estate), ``role_definitions.list`` with
  ``$filter=type eq 'CustomRole'``, ``diagnostic_settings.list(store id)`` for every vault and HSM, and
  the ARM view of their keys (``keys.list(rg, vault)``, ``managed_hsm_keys.list(rg, hsm)``), which is
  what a collector falls back to when the data plane refuses it.
* Per subscription, its AI resources (``providers.azure.ai``): ``accounts.list`` of
  azure-mgmt-cognitiveservices (``Microsoft.CognitiveServices/accounts``) and the generic ARM lists of
  ``Microsoft.MachineLearningServices/workspaces`` and ``Microsoft.Search/searchServices``, with their
  encryption settings and managed identities.
* Per vault or Managed HSM data plane (``https://NAME.vault.azure.net``, ``https://NAME.managedhsm.azure.net``
  or the cloud's suffixes): the 401 challenge (``replay.key_vault_challenge``), ``GET /keys``
  (``list_properties_of_keys``), and per key ``GET /keys/NAME/`` (``get_key``, the latest version),
  ``GET /keys/NAME/versions`` and ``GET /keys/NAME/rotationpolicy`` (a key without a policy answers
  200 with only the default Notify action and no id, as Key Vault does). A Managed HSM also answers
  ``KeyVaultAccessControlClient.list_role_assignments`` for scope ``/`` (every local assignment, key
  scopes included) and for each key scope it has assignments at (those there and above), and
  ``list_role_definitions("/")`` (the built-in local roles of ``providers.azure.permissions``, then the
  HSM's custom ones). azure-keyvault-administration caches challenges apart from azure-keyvault-keys:
  clear ``azure.keyvault.administration._internal.http_challenge_cache`` too between replays.
* ``data_plane`` of a store: ``"ok"``; ``"firewall"`` (after the challenge, every request gets 403
  ``Forbidden`` with inner code ``ForbiddenByFirewall``); ``"forbidden"`` (403 ``Forbidden``, inner
  ``ForbiddenByRbac`` or, on an access-policy vault, ``AccessDenied``: the scanner lacks a data role);
  ``"unreachable"`` (a connection error, no challenge). ARM still answers for such a store.

Every list really pages: a list longer than its page size is split, each page but the last carries a
``nextLink`` (a full URL with ``$skiptoken``, Key Vault's naming port 443 and ``maxresults`` as the
service does) and the next page answers only a request carrying that token. The JSON shapes follow the
hand-written cassettes in ``tests/providers/azure/cassettes``.

``demo_estate()`` is the ``example-prod`` subscription that ``keyaudit demo`` scans (it mirrors the Azure
part of ``samples/build_sample_inventory.py``); ``python -m providers.azure.simulated --write-demo``
regenerates ``providers/azure/demo_estate.json`` from it and ``--check-demo`` exits 1 when that file is
stale. ``bulk_estate()`` builds the benchmark's subscription.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from providers.azure.clients import (
    MANAGEMENT_GROUPS_API_VERSION,
    SUBSCRIPTIONS_API_VERSION,
    CloudSettings,
    cloud_settings,
)

__all__ = [
    "DATA_PLANE_MODES",
    "CognitiveAccount",
    "CustomRoleDefinition",
    "DiagnosticSetting",
    "Estate",
    "HsmRoleAssignment",
    "Key",
    "ManagedHsm",
    "ManagementGroup",
    "MlWorkspace",
    "RoleAssignment",
    "SearchService",
    "Subscription",
    "Tenant",
    "UserAssignedIdentity",
    "Vault",
    "ai_resource_json",
    "bulk_estate",
    "demo_document",
    "demo_estate",
    "estate_exchanges",
    "hsm_role_definition_id",
    "managed_hsm_exchanges",
    "management_group_id",
    "render_demo",
    "role_definition_id",
    "rotation_policy",
    "subscription_exchanges",
    "tenant_exchanges",
    "vault_exchanges",
]

DEMO_FILE = Path(__file__).with_name("demo_estate.json")

# The api-version the installed SDKs send; written into nextLinks only (exchanges never name it).
KEYVAULT_MGMT_API_VERSION = "2026-05-15"
AUTHORIZATION_API_VERSION = "2022-04-01"
KEYVAULT_DATA_API_VERSION = "2025-07-01"
COGNITIVE_API_VERSION = "2025-09-01"  # azure-mgmt-cognitiveservices 14.1
# keyaudit's own generic ARM lists (providers.azure.ai.RESOURCE_TYPES).
ML_API_VERSION = "2024-10-01"
SEARCH_API_VERSION = "2023-11-01"

ARM_PAGE_SIZE = 100  # items per page of the ARM lists, unless told otherwise
DATA_PAGE_SIZE = 25  # Key Vault's own page size (maxresults is at most 25)
DATA_PLANE_MODES = ("ok", "firewall", "forbidden", "unreachable")
KEY_TYPES = ("RSA", "RSA-HSM", "EC", "EC-HSM", "oct-HSM")
_CURVE_BYTES = {"P-256": 32, "P-256K": 32, "P-384": 48, "P-521": 66}

_AUTH = "Microsoft.Authorization"
_ROLE_DEFINITIONS = f"/providers/{_AUTH}/roleDefinitions"
_ROLE_ASSIGNMENTS = f"/providers/{_AUTH}/roleAssignments"
_HSM_ROLE_PREFIX = f"Microsoft.KeyVault/providers/{_AUTH}/roleDefinitions/"
_MG_PREFIX = "/providers/Microsoft.Management/managementGroups/"
# Who the scanner is, in the 403 messages the data plane sends it.
SCANNER_APP_ID = "0c7f4e2a-9b1d-4f3e-8a6c-5d2b7e9f1a03"
SCANNER_OBJECT_ID = "7a3e9c1f-4b6d-4e8a-9f2c-1d5b8e3a6c40"
SCANNER_ADDRESS = "198.51.100.23"
# Who created the role assignments and custom roles (a platform automation identity).
_CREATOR = "2c4f9c1f-4b6d-4e8a-9f2c-1d5b8e3a6c41"


# ------------------------------------------------------------------------------------------- helpers
def role_definition_id(guid: str, subscription: str | None = None) -> str:
    """A role definition's full ARM id; subscription-prefixed, as assignments listed there name it."""
    prefix = f"/subscriptions/{subscription}" if subscription else ""
    return f"{prefix}{_ROLE_DEFINITIONS}/{guid}"


def hsm_role_definition_id(guid: str) -> str:
    """A Managed HSM local role definition id, as the HSM names it."""
    return f"{_HSM_ROLE_PREFIX}{guid}"


def management_group_id(name: str) -> str:
    return f"{_MG_PREFIX}{name}"


def rotation_policy(
    rotate_after: str | None = None,
    *,
    rotate_before_expiry: str | None = None,
    notify_before_expiry: str | None = "P30D",
    expiry_time: str | None = None,
) -> dict[str, Any]:
    """A key rotation policy as ``Key.rotation_policy`` holds it (ISO 8601 durations: ``P90D``, ``P2Y``)."""
    if rotate_after and rotate_before_expiry:
        raise ValueError("a Rotate action has one trigger: timeAfterCreate or timeBeforeExpiry")
    actions: list[dict[str, Any]] = []
    if rotate_after:
        actions.append({"trigger": {"timeAfterCreate": rotate_after}, "action": {"type": "Rotate"}})
    if rotate_before_expiry:
        actions.append({"trigger": {"timeBeforeExpiry": rotate_before_expiry}, "action": {"type": "Rotate"}})
    if notify_before_expiry:
        actions.append({"trigger": {"timeBeforeExpiry": notify_before_expiry}, "action": {"type": "Notify"}})
    found: dict[str, Any] = {"lifetimeActions": actions, "attributes": {}}
    if expiry_time:
        found["attributes"]["expiryTime"] = expiry_time
    return found


def _digest(*parts: object) -> bytes:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()


def _guid(*parts: object) -> str:
    """A deterministic version-4 GUID (stable across runs: the demo file must not change)."""
    return str(uuid.UUID(bytes=_digest(*parts)[:16], version=4))


def _hex_id(*parts: object) -> str:
    return _digest(*parts)[:16].hex()


def _bytes(size: int, *parts: object) -> bytes:
    out = b""
    counter = 0
    while len(out) < size:
        out += _digest(*parts, counter)
        counter += 1
    return out[:size]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _epoch(value: str) -> int:
    return int(_parse_time(value).timestamp())


def _format_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _arm_time(value: str) -> str:
    """ARM's own timestamp format (seven fractional digits)."""
    return _parse_time(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    if size < 1:
        raise ValueError("page sizes must be positive")
    return [items[i : i + size] for i in range(0, len(items), size)] or [items[:0]]


def _skiptoken(*parts: object) -> str:
    return _b64url(_digest(*parts)[:18])


# --------------------------------------------------------------------------------------------- model
@dataclass
class Tenant:
    id: str
    display_name: str = "Example"
    default_domain: str = "example.onmicrosoft.com"


@dataclass
class ManagementGroup:
    name: str  # the group's name (its id's last segment); the tenant root group is named after the tenant
    parent: str  # a management group name; the tenant id for a child of the tenant root group
    display_name: str = ""

    @property
    def id(self) -> str:
        return management_group_id(self.name)


@dataclass
class Subscription:
    id: str  # the subscription GUID
    display_name: str
    parent: str  # management group name (the tenant id: directly under the tenant root group)
    state: str = "Enabled"  # Enabled, Disabled, Warned, PastDue, Deleted
    tags: dict[str, str] = field(default_factory=dict)
    quota_id: str = "EnterpriseAgreement_2014-09-01"

    @property
    def resource_id(self) -> str:
        return f"/subscriptions/{self.id}"


@dataclass
class Vault:
    subscription: str
    resource_group: str
    name: str
    location: str = "westeurope"
    sku_family: str = "A"
    sku_name: str = "standard"  # standard or premium
    tenant: str | None = None  # default: the estate's tenant
    enable_soft_delete: bool = True
    soft_delete_retention_in_days: int = 90
    enable_purge_protection: bool | None = None  # None: never set (ARM then omits the property)
    enable_rbac_authorization: bool = True
    public_network_access: str = "Enabled"  # Enabled or Disabled
    network_acls: dict[str, Any] | None = None  # {defaultAction, bypass, ipRules, virtualNetworkRules}
    private_endpoints: list[str] = field(default_factory=list)  # private endpoint resource ids
    access_policies: list[dict[str, Any]] = field(default_factory=list)  # {tenantId, objectId, permissions}
    tags: dict[str, str] = field(default_factory=dict)
    data_plane: str = "ok"  # one of DATA_PLANE_MODES
    enabled_for_disk_encryption: bool = False
    created: str = "2024-03-11T09:14:27Z"

    kind = "vaults"

    @property
    def id(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.KeyVault/vaults/{self.name}"
        )

    def url(self, cloud: CloudSettings) -> str:
        return cloud.vault_url(self.name)


class HsmRoleAssignment(NamedTuple):
    """A Managed HSM local role assignment; ``role`` is a GUID or a full local role definition id."""

    principal_id: str
    role: str
    scope: str = "/"  # "/" or "/keys/NAME" ("/keys": every key)

    @property
    def role_definition_id(self) -> str:
        return self.role if "/" in self.role else hsm_role_definition_id(self.role)


@dataclass
class ManagedHsm:
    subscription: str
    resource_group: str
    name: str
    location: str = "westeurope"
    sku_name: str = "Standard_B1"
    tenant: str | None = None
    initial_admin_object_ids: list[str] = field(default_factory=list)
    enable_soft_delete: bool = True
    soft_delete_retention_in_days: int = 90
    enable_purge_protection: bool = True
    public_network_access: str = "Disabled"
    network_acls: dict[str, Any] | None = None
    private_endpoints: list[str] = field(default_factory=list)
    role_assignments: list[HsmRoleAssignment] = field(default_factory=list)
    role_definitions: list[CustomRoleDefinition] = field(default_factory=list)  # local custom roles
    tags: dict[str, str] = field(default_factory=dict)
    data_plane: str = "ok"
    created: str = "2024-06-03T07:40:12Z"

    kind = "managedHSMs"

    @property
    def id(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.KeyVault/managedHSMs/{self.name}"
        )

    def url(self, cloud: CloudSettings) -> str:
        return cloud.managed_hsm_url(self.name)


@dataclass
class Key:
    store: Vault | ManagedHsm
    name: str
    kty: str = "RSA"  # RSA, RSA-HSM, EC, EC-HSM, oct-HSM
    size: int | None = None  # RSA modulus / oct-HSM bits; default 2048 (RSA) or 256 (oct-HSM)
    curve: str | None = None  # EC keys: P-256, P-256K, P-384, P-521
    key_ops: list[str] | None = None  # default by key type
    enabled: bool = True
    not_before: str | None = None
    expires: str | None = None
    created: str = "2025-01-06T09:00:00Z"  # of the latest version
    updated: str | None = None  # default: created
    exportable: bool = False
    release_policy: dict[str, Any] | None = None  # the policy document (JSON), when the key has one
    tags: dict[str, str] = field(default_factory=dict)
    managed: bool = False  # backs a Key Vault certificate
    versions: int = 1
    rotation_policy: dict[str, Any] | None = None  # see rotation_policy(); None: never set
    deleted: str | None = None  # soft-deleted at this time (listed under /deletedkeys until purged)

    @property
    def id(self) -> str:
        """The key's ARM id (also an RBAC scope)."""
        return f"{self.store.id}/keys/{self.name}"

    @property
    def key_size(self) -> int | None:
        if self.kty.startswith("RSA"):
            return self.size or 2048
        if self.kty == "oct-HSM":
            return self.size or 256
        return None

    @property
    def operations(self) -> list[str]:
        if self.key_ops is not None:
            return list(self.key_ops)
        if self.kty.startswith("EC"):
            return ["sign", "verify"]
        if self.kty == "oct-HSM":
            return ["encrypt", "decrypt", "wrapKey", "unwrapKey"]
        return ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"]

    def version(self, index: int | None = None) -> str:
        """The version id of version ``index`` (0 = oldest; default the latest)."""
        latest = self.versions - 1
        return _hex_id(self.store.id, self.name, latest if index is None else index)


@dataclass
class RoleAssignment:
    scope: str  # management group, subscription, resource group, vault/HSM or key id
    principal_id: str
    role_definition_id: str  # full id: role_definition_id(GUID, subscription)
    principal_type: str = "ServicePrincipal"  # User, Group, ServicePrincipal, ForeignGroup
    condition: str | None = None
    description: str | None = None
    created: str = "2024-05-13T08:21:44Z"
    name: str | None = None  # the assignment GUID; default derived from the rest

    @property
    def guid(self) -> str:
        return self.name or _guid("assignment", self.scope, self.principal_id, self.role_definition_id)

    @property
    def id(self) -> str:
        scope = "" if self.scope == "/" else self.scope.rstrip("/")
        return f"{scope}{_ROLE_ASSIGNMENTS}/{self.guid}"


@dataclass
class CustomRoleDefinition:
    id: str  # full id (ARM: role_definition_id(GUID, S); Managed HSM local: hsm_role_definition_id(GUID))
    name: str  # roleName
    permissions: list[dict[str, list[str]]]  # [{actions, notActions, dataActions, notDataActions}]
    assignable_scopes: list[str] = field(default_factory=lambda: ["/"])
    description: str = ""
    created: str = "2024-02-20T10:05:31Z"

    @property
    def guid(self) -> str:
        return self.id.rstrip("/").rsplit("/", 1)[-1].lower()


@dataclass
class DiagnosticSetting:
    resource: str | Vault | ManagedHsm  # the store (or its id)
    name: str
    logs: list[dict[str, Any]]  # [{"category": "AuditEvent" | "categoryGroup": "audit", "enabled": true}]
    workspace_id: str | None = None
    storage_account_id: str | None = None
    event_hub_authorization_rule_id: str | None = None
    event_hub_name: str | None = None

    @property
    def resource_id(self) -> str:
        return self.resource if isinstance(self.resource, str) else self.resource.id


@dataclass
class UserAssignedIdentity:
    """A user-assigned managed identity (only referenced by the resources it is attached to)."""

    subscription: str
    resource_group: str
    name: str
    principal_id: str  # its Entra object id: what role assignments and access policies name
    client_id: str  # its application id: what encryption settings name (identityClientId)

    @property
    def id(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{self.name}"
        )


@dataclass
class CognitiveAccount:
    """An Azure OpenAI / AI services account (``Microsoft.CognitiveServices/accounts``)."""

    subscription: str
    resource_group: str
    name: str
    kind: str = "OpenAI"  # OpenAI, AIServices, FormRecognizer, TextAnalytics, SpeechServices, ...
    location: str = "westeurope"
    sku_name: str = "S0"
    system_identity: str | None = None  # the system-assigned identity's principal id (None: none)
    user_identities: list[UserAssignedIdentity] = field(default_factory=list)
    key: Key | None = None  # the customer-managed key; None: Microsoft-managed
    key_identity: UserAssignedIdentity | None = None  # reads the key (None: the system-assigned identity)
    pin_key_version: bool = False  # name the key's current version (else empty: follow rotation)
    # Microsoft-managed accounts: None omits ``encryption``; "Microsoft.CognitiveServices" spells it out.
    key_source: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    created: str = "2025-02-10T08:30:00Z"

    native_type = "Microsoft.CognitiveServices/accounts"

    @property
    def id(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/{self.native_type}/{self.name}"
        )


@dataclass
class MlWorkspace:
    """An Azure Machine Learning workspace, AI Foundry hub or project."""

    subscription: str
    resource_group: str
    name: str
    kind: str = "Default"  # Default, Hub, Project, FeatureStore
    location: str = "westeurope"
    system_identity: str | None = None
    user_identities: list[UserAssignedIdentity] = field(default_factory=list)
    key: Key | None = None  # the customer-managed key; None: Microsoft-managed
    key_identity: UserAssignedIdentity | None = None  # encryption.identity (None: system-assigned)
    hub: MlWorkspace | None = None  # a project's hub
    tags: dict[str, str] = field(default_factory=dict)
    created: str = "2025-03-03T10:00:00Z"

    native_type = "Microsoft.MachineLearningServices/workspaces"

    @property
    def id(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/{self.native_type}/{self.name}"
        )


@dataclass
class SearchService:
    """An Azure AI Search service: it enforces customer-managed keys or not (the keys are per index)."""

    subscription: str
    resource_group: str
    name: str
    location: str = "westeurope"
    sku_name: str = "standard"
    system_identity: str | None = None
    cmk_enforcement: str = "Unspecified"  # Enabled, Disabled, Unspecified
    cmk_compliance: str | None = None  # Compliant, NonCompliant (with enforcement)
    tags: dict[str, str] = field(default_factory=dict)

    native_type = "Microsoft.Search/searchServices"

    @property
    def id(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/{self.native_type}/{self.name}"
        )


AiResource = CognitiveAccount | MlWorkspace | SearchService


@dataclass
class Estate:
    tenant: Tenant
    management_groups: list[ManagementGroup] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)
    vaults: list[Vault] = field(default_factory=list)
    managed_hsms: list[ManagedHsm] = field(default_factory=list)
    keys: list[Key] = field(default_factory=list)
    role_assignments: list[RoleAssignment] = field(default_factory=list)
    custom_roles: list[CustomRoleDefinition] = field(default_factory=list)
    diagnostic_settings: list[DiagnosticSetting] = field(default_factory=list)
    ai_resources: list[AiResource] = field(default_factory=list)
    cloud: str = "public"

    # -- lookups -----------------------------------------------------------------------------------
    @property
    def settings(self) -> CloudSettings:
        return cloud_settings(self.cloud)

    @property
    def stores(self) -> list[Vault | ManagedHsm]:
        return [*self.vaults, *self.managed_hsms]

    def subscription(self, subscription_id: str) -> Subscription:
        for sub in self.subscriptions:
            if sub.id.lower() == subscription_id.lower():
                return sub
        raise KeyError(subscription_id)

    def group_names(self) -> list[str]:
        """Every management group, the tenant root group first."""
        return [self.tenant.id, *(g.name for g in self.management_groups)]

    def group_parent(self, name: str) -> str | None:
        for group in self.management_groups:
            if group.name == name:
                return group.parent
        return None  # the tenant root group

    def group_ancestors(self, name: str) -> list[str]:
        """``name`` and every management group above it, nearest first, the tenant root group last."""
        chain: list[str] = []
        current: str | None = name
        while current and current not in chain:
            chain.append(current)
            current = self.group_parent(current)
        return chain

    def subscription_groups(self, subscription_id: str) -> list[str]:
        return self.group_ancestors(self.subscription(subscription_id).parent)

    def stores_of(self, subscription_id: str) -> list[Vault | ManagedHsm]:
        return [s for s in self.stores if s.subscription.lower() == subscription_id.lower()]

    def keys_of(self, store: Vault | ManagedHsm) -> list[Key]:
        """The store's live keys (soft-deleted ones are only in ``deleted_keys_of``)."""
        return [k for k in self.keys if k.store is store and k.deleted is None]

    def deleted_keys_of(self, store: Vault | ManagedHsm) -> list[Key]:
        return [k for k in self.keys if k.store is store and k.deleted is not None]

    def tenant_of(self, store: Vault | ManagedHsm) -> str:
        return store.tenant or self.tenant.id

    def assignments_for(self, subscription_id: str) -> list[RoleAssignment]:
        """What ``role_assignments.list_for_subscription`` returns: at and below the subscription, and
        inherited from its management groups (and the root scope ``/``)."""
        below = f"/subscriptions/{subscription_id}".lower()
        groups = {management_group_id(g).lower() for g in self.subscription_groups(subscription_id)}
        found = []
        for assignment in self.role_assignments:
            scope = assignment.scope.rstrip("/").lower()
            if scope in ("", *groups) or scope == below or scope.startswith(below + "/"):
                found.append(assignment)
        return found

    def custom_role(self, definition_id: str) -> CustomRoleDefinition | None:
        guid = definition_id.rstrip("/").rsplit("/", 1)[-1].lower()
        return next((r for r in self.custom_roles if r.guid == guid), None)

    def diagnostics_of(self, store: Vault | ManagedHsm) -> list[DiagnosticSetting]:
        return [d for d in self.diagnostic_settings if d.resource_id.lower() == store.id.lower()]

    def ai_resources_of(self, subscription_id: str, native_type: str) -> list[AiResource]:
        return [
            r
            for r in self.ai_resources
            if r.subscription.lower() == subscription_id.lower() and r.native_type == native_type
        ]

    # -- consistency -------------------------------------------------------------------------------
    def validate(self) -> Estate:
        """Raise ValueError naming the first inconsistency (unknown parent, duplicate, unknown role...)."""
        self._validate_resources()
        self._validate_access()
        return self

    def _validate_resources(self) -> None:
        self.settings  # noqa: B018 (raises on an unknown cloud)
        groups = set(self.group_names())
        for group in self.management_groups:
            if group.parent not in groups:
                raise ValueError(f"management group {group.name}: unknown parent {group.parent}")
            if group.name in self.group_ancestors(group.parent):
                raise ValueError(f"management group {group.name}: cycle")
        for sub in self.subscriptions:
            if sub.parent not in groups:
                raise ValueError(f"subscription {sub.id}: unknown management group {sub.parent}")
        for what, names in (
            ("management group", self.group_names()),
            ("subscription", [s.id.lower() for s in self.subscriptions]),
            ("store", [s.id.lower() for s in self.stores]),
            ("key", [k.id.lower() for k in self.keys]),
            ("custom role", [r.guid for r in self.custom_roles]),
            ("vault name", [v.name.lower() for v in self.vaults]),  # DNS names are global
            ("managed HSM name", [h.name.lower() for h in self.managed_hsms]),
            ("AI resource", [r.id.lower() for r in self.ai_resources]),
        ):
            duplicates = sorted(n for n, count in Counter(names).items() if count > 1)
            if duplicates:
                raise ValueError(f"duplicate {what}: {duplicates}")
        subscriptions = {s.id.lower() for s in self.subscriptions}
        for store in self.stores:
            if store.subscription.lower() not in subscriptions:
                raise ValueError(f"{store.id}: unknown subscription")
            if store.data_plane not in DATA_PLANE_MODES:
                raise ValueError(f"{store.id}: data_plane must be one of {DATA_PLANE_MODES}")
        stores = {id(s) for s in self.stores}
        for key in self.keys:
            if id(key.store) not in stores:
                raise ValueError(f"{key.id}: its store is not in the estate")
            if key.kty not in KEY_TYPES:
                raise ValueError(f"{key.id}: key type {key.kty!r} is not one of {KEY_TYPES}")
            if key.kty.startswith("EC") and key.curve not in _CURVE_BYTES:
                raise ValueError(f"{key.id}: EC keys need a curve of {sorted(_CURVE_BYTES)}")
            if isinstance(key.store, ManagedHsm) and not key.kty.endswith("-HSM"):
                raise ValueError(f"{key.id}: a Managed HSM holds only -HSM key types")
            if key.kty == "oct-HSM" and isinstance(key.store, Vault):
                raise ValueError(f"{key.id}: oct-HSM keys live in Managed HSMs")
            if key.versions < 1:
                raise ValueError(f"{key.id}: a key has at least one version")
        known = {id(s) for s in self.stores}
        for setting in self.diagnostic_settings:
            if not isinstance(setting.resource, str) and id(setting.resource) not in known:
                raise ValueError(f"diagnostic setting {setting.name}: its store is not in the estate")
            if not any(s.id.lower() == setting.resource_id.lower() for s in self.stores):
                raise ValueError(f"diagnostic setting {setting.name}: unknown resource {setting.resource_id}")
        for resource in self.ai_resources:
            if resource.subscription.lower() not in subscriptions:
                raise ValueError(f"{resource.id}: unknown subscription")
            reader = getattr(resource, "key_identity", None)
            if reader is not None and reader not in getattr(resource, "user_identities", ()):
                raise ValueError(f"{resource.id}: the key's identity is not attached to it")
            hub = getattr(resource, "hub", None)
            if hub is not None and (hub.kind != "Hub" or not any(r is hub for r in self.ai_resources)):
                raise ValueError(f"{resource.id}: its hub is not a Hub workspace of the estate")

    def _validate_access(self) -> None:
        from providers.azure.permissions import BUILT_IN_ROLES, MANAGED_HSM_ROLES

        groups = set(self.group_names())
        subscriptions = {s.id.lower() for s in self.subscriptions}
        for assignment in self.role_assignments:
            scope = assignment.scope.rstrip("/")
            if scope.lower().startswith(_MG_PREFIX.lower()):
                if scope.rsplit("/", 1)[-1] not in groups:
                    raise ValueError(f"role assignment at {assignment.scope}: unknown management group")
            elif scope:
                parts = scope.split("/")
                if (
                    len(parts) < 3
                    or parts[1].lower() != "subscriptions"
                    or parts[2].lower() not in subscriptions
                ):
                    raise ValueError(f"role assignment at {assignment.scope}: unknown subscription")
            guid = assignment.role_definition_id.rstrip("/").rsplit("/", 1)[-1].lower()
            if guid not in BUILT_IN_ROLES and self.custom_role(guid) is None:
                raise ValueError(f"role assignment at {assignment.scope}: unknown role {guid}")
        for hsm in self.managed_hsms:
            local = {r.guid for r in hsm.role_definitions}
            for local_assignment in hsm.role_assignments:
                guid = local_assignment.role_definition_id.rsplit("/", 1)[-1].lower()
                if guid not in MANAGED_HSM_ROLES and guid not in local:
                    raise ValueError(f"{hsm.name}: local role assignment of unknown role {guid}")
                if not (local_assignment.scope == "/" or local_assignment.scope.startswith("/keys")):
                    raise ValueError(f"{hsm.name}: local scope must be / or /keys[/NAME]")


# ---------------------------------------------------------------------------------- REST resources
def subscription_json(estate: Estate, sub: Subscription) -> dict[str, Any]:
    found: dict[str, Any] = {
        "id": sub.resource_id,
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": sub.id,
        "tenantId": estate.tenant.id,
        "displayName": sub.display_name,
        "state": sub.state,
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": sub.quota_id,
            "spendingLimit": "Off",
        },
    }
    if sub.tags:
        found["tags"] = dict(sub.tags)
    return found


def _descendants(estate: Estate, group: str) -> list[dict[str, Any]]:
    """Every group and subscription below ``group`` at any depth, parents before children."""
    found: list[dict[str, Any]] = []
    queue = [group]
    while queue:
        parent = queue.pop(0)
        for child in estate.management_groups:
            if child.parent == parent and child.name != parent:
                found.append(
                    {
                        "id": child.id,
                        "type": "Microsoft.Management/managementGroups",
                        "name": child.name,
                        "properties": {
                            "displayName": child.display_name or child.name,
                            "parent": {"id": management_group_id(parent)},
                        },
                    }
                )
                queue.append(child.name)
        for sub in estate.subscriptions:
            if sub.parent == parent:
                found.append(
                    {
                        "id": sub.resource_id,
                        "type": "Microsoft.Management/managementGroups/subscriptions",
                        "name": sub.id,
                        "properties": {
                            "displayName": sub.display_name,
                            "parent": {"id": management_group_id(parent)},
                        },
                    }
                )
    return found


def _private_endpoint_connections(store: Vault | ManagedHsm) -> list[dict[str, Any]]:
    found = []
    for endpoint in store.private_endpoints:
        name = endpoint.rstrip("/").rsplit("/", 1)[-1]
        found.append(
            {
                "id": f"{store.id}/privateEndpointConnections/{name}",
                "etag": f'"{_guid("etag", store.id, endpoint)}"',
                "properties": {
                    "privateEndpoint": {"id": endpoint},
                    "privateLinkServiceConnectionState": {
                        "status": "Approved",
                        "description": "Auto-Approved",
                        "actionsRequired": "None",
                    },
                    "provisioningState": "Succeeded",
                },
            }
        )
    return found


def _system_data(created: str) -> dict[str, Any]:
    return {
        "createdBy": "platform-automation@example.com",
        "createdByType": "User",
        "createdAt": _parse_time(created).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "lastModifiedBy": "platform-automation@example.com",
        "lastModifiedByType": "User",
        "lastModifiedAt": _parse_time(created).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    }


def vault_json(estate: Estate, vault: Vault) -> dict[str, Any]:
    """A vault as ``vaults.list_by_subscription`` returns it (the properties ``vaults.list`` lacks)."""
    props: dict[str, Any] = {
        "sku": {"family": vault.sku_family, "name": vault.sku_name},
        "tenantId": estate.tenant_of(vault),
        "accessPolicies": [dict(p) for p in vault.access_policies],
        "enabledForDeployment": False,
        "enabledForDiskEncryption": vault.enabled_for_disk_encryption,
        "enabledForTemplateDeployment": False,
        "enableSoftDelete": vault.enable_soft_delete,
        "softDeleteRetentionInDays": vault.soft_delete_retention_in_days,
        "enableRbacAuthorization": vault.enable_rbac_authorization,
    }
    if vault.enable_purge_protection is not None:
        props["enablePurgeProtection"] = vault.enable_purge_protection
    if vault.network_acls is not None:
        props["networkAcls"] = _network_acls(vault.network_acls)
    connections = _private_endpoint_connections(vault)
    if connections:
        props["privateEndpointConnections"] = connections
    props["publicNetworkAccess"] = vault.public_network_access
    props["vaultUri"] = vault.url(estate.settings) + "/"
    props["provisioningState"] = "Succeeded"
    return {
        "id": vault.id,
        "name": vault.name,
        "type": "Microsoft.KeyVault/vaults",
        "location": vault.location,
        "tags": dict(vault.tags),
        "systemData": _system_data(vault.created),
        "properties": props,
    }


def _network_acls(acls: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "bypass": acls.get("bypass", "AzureServices"),
        "defaultAction": acls.get("defaultAction", "Allow"),
        "ipRules": [r if isinstance(r, Mapping) else {"value": r} for r in acls.get("ipRules", [])],
        "virtualNetworkRules": [
            r if isinstance(r, Mapping) else {"id": r, "ignoreMissingVnetServiceEndpoint": False}
            for r in acls.get("virtualNetworkRules", [])
        ],
    }


def managed_hsm_json(estate: Estate, hsm: ManagedHsm) -> dict[str, Any]:
    props: dict[str, Any] = {
        "tenantId": estate.tenant_of(hsm),
        "initialAdminObjectIds": list(hsm.initial_admin_object_ids),
        "hsmUri": hsm.url(estate.settings) + "/",
        "enableSoftDelete": hsm.enable_soft_delete,
        "softDeleteRetentionInDays": hsm.soft_delete_retention_in_days,
        "enablePurgeProtection": hsm.enable_purge_protection,
        "statusMessage": "The Managed HSM is provisioned and ready to use.",
        "provisioningState": "Succeeded",
        "networkAcls": _network_acls(hsm.network_acls or {"defaultAction": "Allow"}),
        "publicNetworkAccess": hsm.public_network_access,
        "privateEndpointConnections": _private_endpoint_connections(hsm),
        "securityDomainProperties": {
            "activationStatus": "Active",
            "activationStatusMessage": "Your HSM has been activated and can be used for cryptographic operations.",
        },
    }
    return {
        "id": hsm.id,
        "name": hsm.name,
        "type": "Microsoft.KeyVault/managedHSMs",
        "location": hsm.location,
        "sku": {"family": "B", "name": hsm.sku_name},
        "tags": dict(hsm.tags),
        "systemData": _system_data(hsm.created),
        "properties": props,
    }


def _recovery(store: Vault | ManagedHsm) -> tuple[str, int | None]:
    """Key Vault's recoveryLevel for the keys of ``store``, and recoverableDays."""
    if not store.enable_soft_delete:
        return "Purgeable", None
    days = store.soft_delete_retention_in_days
    level = "Recoverable" if days == 90 else "CustomizedRecoverable"
    if not store.enable_purge_protection:
        level += "+Purgeable"
    return level, days


def _key_attributes(key: Key, *, data_plane: bool, created: str | None = None) -> dict[str, Any]:
    level, days = _recovery(key.store)
    attributes: dict[str, Any] = {"enabled": key.enabled}
    if key.not_before:
        attributes["nbf"] = _epoch(key.not_before)
    if key.expires:
        attributes["exp"] = _epoch(key.expires)
    attributes["created"] = _epoch(created or key.created)
    attributes["updated"] = _epoch(created or key.updated or key.created)
    attributes["recoveryLevel"] = level
    if data_plane and days is not None:
        attributes["recoverableDays"] = days
    attributes["exportable"] = key.exportable
    return attributes


def _version_created(key: Key, index: int) -> str:
    """Older versions: one a quarter before the next (only their dates are told apart)."""
    back = key.versions - 1 - index
    return _format_time(_parse_time(key.created) - timedelta(days=90 * back))


def _jwk(estate: Estate, key: Key) -> dict[str, Any]:
    base = f"{key.store.url(estate.settings)}/keys/{key.name}"
    jwk: dict[str, Any] = {"kid": f"{base}/{key.version()}", "kty": key.kty, "key_ops": key.operations}
    if key.kty.startswith("RSA"):
        size = key.key_size or 2048
        modulus = bytearray(_bytes(size // 8, "n", key.id))
        modulus[0] |= 0x80  # the top bit set: exactly ``size`` bits
        modulus[-1] |= 0x01
        jwk["n"] = _b64url(bytes(modulus))
        jwk["e"] = "AQAB"
    elif key.kty.startswith("EC"):
        width = _CURVE_BYTES[str(key.curve)]
        jwk["crv"] = key.curve
        jwk["x"] = _b64url(_bytes(width, "x", key.id))
        jwk["y"] = _b64url(_bytes(width, "y", key.id))
    # oct-HSM: the material never leaves the HSM; the JWK carries no "k".
    return jwk


def _release_policy(policy: Mapping[str, Any]) -> dict[str, Any]:
    data = json.dumps(policy, separators=(",", ":"), sort_keys=True).encode()
    return {"contentType": "application/json; charset=utf-8", "data": _b64url(data), "immutable": False}


def key_bundle_json(estate: Estate, key: Key) -> dict[str, Any]:
    """``get_key``'s answer: the latest version."""
    found: dict[str, Any] = {
        "key": _jwk(estate, key),
        "attributes": _key_attributes(key, data_plane=True),
        "tags": dict(key.tags),
    }
    if key.managed:
        found["managed"] = True
    if key.release_policy is not None:
        found["release_policy"] = _release_policy(key.release_policy)
    return found


def key_item_json(estate: Estate, key: Key, version: int | None = None) -> dict[str, Any]:
    """An item of ``list_properties_of_keys`` (no version) or of the versions list."""
    kid = f"{key.store.url(estate.settings)}/keys/{key.name}"
    created = None
    if version is not None:
        kid = f"{kid}/{key.version(version)}"
        created = _version_created(key, version)
    found: dict[str, Any] = {
        "kid": kid,
        "attributes": _key_attributes(key, data_plane=True, created=created),
        "tags": dict(key.tags),
    }
    if key.managed:
        found["managed"] = True
    return found


def deleted_key_item_json(estate: Estate, key: Key) -> dict[str, Any]:
    """An item of ``list_deleted_keys``: the key's attributes plus when it was deleted and will be purged."""
    assert key.deleted is not None
    base = key.store.url(estate.settings)
    retention = getattr(key.store, "soft_delete_retention_in_days", 90) or 90
    found = key_item_json(estate, key)
    found["recoveryId"] = f"{base}/deletedkeys/{key.name}"
    found["deletedDate"] = _epoch(key.deleted)
    found["scheduledPurgeDate"] = _epoch(key.deleted) + retention * 86400
    return found


def rotation_policy_json(estate: Estate, key: Key) -> dict[str, Any]:
    """``get_key_rotation_policy``'s answer; without a policy, Key Vault's default (no id)."""
    if key.rotation_policy is None:
        notify = {"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "Notify"}}
        return {"lifetimeActions": [notify], "attributes": {}}
    attributes = dict(key.rotation_policy.get("attributes") or {})
    attributes.setdefault("created", _epoch(key.created))
    attributes.setdefault("updated", _epoch(key.updated or key.created))
    return {
        "id": f"{key.store.url(estate.settings)}/keys/{key.name}/rotationpolicy",
        "lifetimeActions": [dict(a) for a in key.rotation_policy.get("lifetimeActions", [])],
        "attributes": attributes,
    }


def arm_key_json(estate: Estate, key: Key) -> dict[str, Any]:
    """A key as ARM lists it (``keys.list`` / ``managed_hsm_keys.list``): no key material, no data plane."""
    base = f"{key.store.url(estate.settings)}/keys/{key.name}"
    props: dict[str, Any] = {
        "attributes": _key_attributes(key, data_plane=False),
        "kty": key.kty,
        "keyOps": key.operations,
    }
    if key.key_size is not None:
        props["keySize"] = key.key_size
    if key.curve:
        props["curveName"] = key.curve
    props["keyUri"] = base
    props["keyUriWithVersion"] = f"{base}/{key.version()}"
    if key.rotation_policy is not None:
        # ARM spells the action types in lower case (azure-mgmt-keyvault's KeyRotationPolicyActionType).
        policy = rotation_policy_json(estate, key)
        props["rotationPolicy"] = {
            "attributes": {k: v for k, v in policy["attributes"].items()},
            "lifetimeActions": [
                {"trigger": dict(a["trigger"]), "action": {"type": str(a["action"]["type"]).lower()}}
                for a in policy["lifetimeActions"]
            ],
        }
    if key.release_policy is not None:  # snake_case on ARM too, as in the REST spec
        props["release_policy"] = _release_policy(key.release_policy)
    return {
        "id": key.id,
        "name": key.name,
        "type": f"Microsoft.KeyVault/{key.store.kind}/keys",
        "location": key.store.location,
        "tags": dict(key.tags),
        "properties": props,
    }


def role_assignment_json(assignment: RoleAssignment) -> dict[str, Any]:
    return {
        "id": assignment.id,
        "type": "Microsoft.Authorization/roleAssignments",
        "name": assignment.guid,
        "properties": {
            "roleDefinitionId": assignment.role_definition_id,
            "principalId": assignment.principal_id,
            "principalType": assignment.principal_type,
            "scope": assignment.scope,
            "condition": assignment.condition,
            "conditionVersion": "2.0" if assignment.condition else None,
            "createdOn": _arm_time(assignment.created),
            "updatedOn": _arm_time(assignment.created),
            "createdBy": _CREATOR,
            "updatedBy": _CREATOR,
            "delegatedManagedIdentityResourceId": None,
            "description": assignment.description,
        },
    }


def _permissions_json(blocks: Iterable[Mapping[str, Iterable[str]]]) -> list[dict[str, list[str]]]:
    return [
        {
            name: list(block.get(name, ()))
            for name in ("actions", "notActions", "dataActions", "notDataActions")
        }
        for block in blocks
    ]


def role_definition_json(estate: Estate, definition_id: str) -> dict[str, Any]:
    """``role_definitions.get_by_id(definition_id)``: a built-in role from the permissions tables, or
    one of the estate's custom roles. The id is echoed as asked (Azure does the same)."""
    from providers.azure.permissions import BUILT_IN_ROLES

    guid = definition_id.rstrip("/").rsplit("/", 1)[-1].lower()
    custom = estate.custom_role(guid)
    if custom is not None:
        properties: dict[str, Any] = {
            "roleName": custom.name,
            "type": "CustomRole",
            "description": custom.description,
            "assignableScopes": list(custom.assignable_scopes),
            "permissions": _permissions_json(custom.permissions),
            "createdOn": _arm_time(custom.created),
            "updatedOn": _arm_time(custom.created),
            "createdBy": _CREATOR,
            "updatedBy": _CREATOR,
        }
    else:
        role = BUILT_IN_ROLES[guid]
        properties = {
            "roleName": role.name,
            "type": "BuiltInRole",
            "description": f"Azure built-in role {role.name}.",
            "assignableScopes": ["/"],
            "permissions": _permissions_json(role.permissions),
            "createdOn": "2015-02-02T21:55:09.8806423Z",
            "updatedOn": "2024-04-10T15:06:45.3458720Z",
            "createdBy": None,
            "updatedBy": None,
        }
    return {
        "id": definition_id,
        "type": "Microsoft.Authorization/roleDefinitions",
        "name": guid,
        "properties": properties,
    }


def hsm_role_definitions_json(hsm: ManagedHsm) -> list[dict[str, Any]]:
    """The HSM's local role definitions: the built-in ones, then its custom ones."""
    from providers.azure.permissions import MANAGED_HSM_ROLES

    found = []
    for guid, role in MANAGED_HSM_ROLES.items():
        found.append(
            {
                "id": hsm_role_definition_id(guid),
                "name": guid,
                "type": "Microsoft.Authorization/roleDefinitions",
                "properties": {
                    "roleName": role.name,
                    "description": "",
                    "type": "AKVBuiltInRole",
                    "permissions": _permissions_json(role.permissions),
                    "assignableScopes": ["/"],
                },
            }
        )
    for custom in hsm.role_definitions:
        found.append(
            {
                "id": hsm_role_definition_id(custom.guid),
                "name": custom.guid,
                "type": "Microsoft.Authorization/roleDefinitions",
                "properties": {
                    "roleName": custom.name,
                    "description": custom.description,
                    "type": "CustomRole",
                    "permissions": _permissions_json(custom.permissions),
                    "assignableScopes": list(custom.assignable_scopes),
                },
            }
        )
    return found


def hsm_role_assignment_json(hsm: ManagedHsm, assignment: HsmRoleAssignment) -> dict[str, Any]:
    guid = _guid("hsm-assignment", hsm.id, *assignment)
    scope = "" if assignment.scope == "/" else assignment.scope.rstrip("/")
    return {
        "id": f"{scope}{_ROLE_ASSIGNMENTS}/{guid}",
        "name": guid,
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {
            "scope": assignment.scope,
            "roleDefinitionId": assignment.role_definition_id,
            "principalId": assignment.principal_id,
        },
    }


def diagnostic_setting_json(setting: DiagnosticSetting) -> dict[str, Any]:
    # Azure Monitor answers with the resource id in lower case, the setting's name as written.
    base = setting.resource_id.lower()
    return {
        "id": f"{base}/providers/microsoft.insights/diagnosticSettings/{setting.name}",
        "type": "Microsoft.Insights/diagnosticSettings",
        "name": setting.name,
        "location": None,
        "kind": None,
        "tags": None,
        "properties": {
            "storageAccountId": setting.storage_account_id,
            "serviceBusRuleId": None,
            "workspaceId": setting.workspace_id,
            "eventHubAuthorizationRuleId": setting.event_hub_authorization_rule_id,
            "eventHubName": setting.event_hub_name,
            "metrics": [
                {"category": "AllMetrics", "enabled": False, "retentionPolicy": {"enabled": False, "days": 0}}
            ],
            "logs": [
                {
                    "category": log.get("category"),
                    "categoryGroup": log.get("categoryGroup"),
                    "enabled": bool(log.get("enabled", True)),
                    "retentionPolicy": {"enabled": False, "days": 0},
                }
                for log in setting.logs
            ],
            "logAnalyticsDestinationType": "Dedicated" if setting.workspace_id else None,
        },
        "identity": None,
    }


def _identity_json(
    estate: Estate, resource: AiResource, users: Sequence[UserAssignedIdentity], separator: str
) -> dict[str, Any]:
    """ARM's managed identity block (the resource providers differ on ``, `` or ``,`` in the type)."""
    kinds = [k for k, on in (("SystemAssigned", resource.system_identity), ("UserAssigned", users)) if on]
    found: dict[str, Any] = {"type": separator.join(kinds) or "None"}
    if resource.system_identity:
        found["principalId"] = resource.system_identity
        found["tenantId"] = estate.tenant.id
    if users:
        found["userAssignedIdentities"] = {
            u.id: {"principalId": u.principal_id, "clientId": u.client_id} for u in users
        }
    return found


def cognitive_account_json(estate: Estate, account: CognitiveAccount) -> dict[str, Any]:
    """An account as ``accounts.list`` returns it: kind, identities and ``properties.encryption``."""
    props: dict[str, Any] = {
        "endpoint": f"https://{account.name}.cognitiveservices.azure.com/",
        "provisioningState": "Succeeded",
        "customSubDomainName": account.name,
        "publicNetworkAccess": "Disabled",
        "disableLocalAuth": True,
        "dateCreated": _parse_time(account.created).strftime("%Y-%m-%dT%H:%M:%S.0000000Z"),
    }
    if account.key is not None:
        key = account.key
        vault: dict[str, Any] = {
            "keyName": key.name,
            "keyVersion": key.version() if account.pin_key_version else "",
            "keyVaultUri": key.store.url(estate.settings) + "/",
        }
        if account.key_identity is not None:
            vault["identityClientId"] = account.key_identity.client_id
        props["encryption"] = {
            "keySource": account.key_source or "Microsoft.KeyVault",
            "keyVaultProperties": vault,
        }
    elif account.key_source is not None:
        props["encryption"] = {"keySource": account.key_source}
    return {
        "id": account.id,
        "name": account.name,
        "type": account.native_type,
        "etag": f'"{_guid("etag", account.id)}"',
        "kind": account.kind,
        "sku": {"name": account.sku_name},
        "identity": _identity_json(estate, account, account.user_identities, ", "),
        "location": account.location,
        "tags": dict(account.tags),
        "systemData": _system_data(account.created),
        "properties": props,
    }


def ml_workspace_json(estate: Estate, workspace: MlWorkspace) -> dict[str, Any]:
    """A workspace as the subscription list returns it (api-version 2024-10-01)."""
    rg = f"/subscriptions/{workspace.subscription}/resourceGroups/{workspace.resource_group}/providers"
    props: dict[str, Any] = {
        "friendlyName": workspace.name,
        "workspaceId": _guid("workspace", workspace.id),
        "provisioningState": "Succeeded",
        "publicNetworkAccess": "Disabled",
        "hbiWorkspace": workspace.key is not None,
        "discoveryUrl": f"https://{workspace.location}.api.azureml.ms/discovery",
    }
    if workspace.kind != "Project":  # a project uses its hub's associated resources
        props["storageAccount"] = f"{rg}/Microsoft.Storage/storageAccounts/st{_hex_id(workspace.id)[:12]}"
        # The workspace's own secrets vault (connection strings), not where a customer-managed key lives.
        props["keyVault"] = f"{rg}/Microsoft.KeyVault/vaults/kv-{_hex_id(workspace.id, 'kv')[:12]}"
    if workspace.hub is not None:
        props["hubResourceId"] = workspace.hub.id
    if workspace.key is not None:
        key = workspace.key
        encryption: dict[str, Any] = {
            "status": "Enabled",
            "keyVaultProperties": {
                "keyVaultArmId": key.store.id,
                "keyIdentifier": f"{key.store.url(estate.settings)}/keys/{key.name}/{key.version()}",
                "identityClientId": "",
            },
        }
        if workspace.key_identity is not None:
            encryption["identity"] = {"userAssignedIdentity": workspace.key_identity.id}
        props["encryption"] = encryption
    return {
        "id": workspace.id,
        "name": workspace.name,
        "type": workspace.native_type,
        "location": workspace.location,
        "kind": workspace.kind,
        "tags": dict(workspace.tags),
        "sku": {"name": "Basic", "tier": "Basic"},
        "identity": _identity_json(estate, workspace, workspace.user_identities, ","),
        "systemData": _system_data(workspace.created),
        "properties": props,
    }


def search_service_json(estate: Estate, service: SearchService) -> dict[str, Any]:
    """A search service as the subscription list returns it (api-version 2023-11-01)."""
    cmk: dict[str, Any] = {"enforcement": service.cmk_enforcement}
    if service.cmk_compliance:
        cmk["encryptionComplianceStatus"] = service.cmk_compliance
    return {
        "id": service.id,
        "name": service.name,
        "type": service.native_type,
        "location": service.location,
        "tags": dict(service.tags),
        "sku": {"name": service.sku_name},
        "identity": _identity_json(estate, service, [], ", "),
        "properties": {
            "replicaCount": 1,
            "partitionCount": 1,
            "hostingMode": "default",
            "publicNetworkAccess": "disabled",
            "status": "running",
            "statusDetails": "",
            "provisioningState": "succeeded",
            "networkRuleSet": {"ipRules": []},
            "encryptionWithCmk": cmk,
            "disableLocalAuth": True,
        },
    }


def ai_resource_json(estate: Estate, resource: AiResource) -> dict[str, Any]:
    if isinstance(resource, CognitiveAccount):
        return cognitive_account_json(estate, resource)
    if isinstance(resource, MlWorkspace):
        return ml_workspace_json(estate, resource)
    return search_service_json(estate, resource)


# ---------------------------------------------------------------------------------------- exchanges
class _Exchanges:
    """Collects exchanges; pages lists the way ARM and Key Vault do."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, host: str, path: str, response: Any, comment: str | None = None, **extra: Any) -> None:
        exchange: dict[str, Any] = {"method": "GET", "host": host, "path": path}
        if comment:
            exchange["comment"] = comment
        exchange.update(extra)
        exchange["response"] = response
        self.items.append(exchange)

    def paged(
        self,
        host: str,
        path: str,
        items: Sequence[Any],
        page_size: int,
        *,
        api_version: str,
        key_vault: bool = False,
        comment: str | None = None,
        query: Mapping[str, Any] | None = None,
    ) -> None:
        """``items`` in pages; each page's nextLink names the next one's ``$skiptoken``."""
        pages = _chunks(items, page_size)
        tokens = [None, *(_skiptoken(host, path, i) for i in range(1, len(pages)))]
        for index, page in enumerate(pages):
            response: dict[str, Any] = {"value": list(page)}
            following = tokens[index + 1] if index + 1 < len(pages) else None
            if following is not None:
                if key_vault:  # Key Vault's nextLinks name port 443 and carry maxresults
                    response["nextLink"] = (
                        f"https://{host}:443{path}?api-version={api_version}"
                        f"&$skiptoken={following}&maxresults={page_size}"
                    )
                else:
                    response["nextLink"] = (
                        f"https://{host}{path}?api-version={api_version}&$skiptoken={following}"
                    )
            elif key_vault:
                response["nextLink"] = None
            extra: dict[str, Any] = {}
            page_query = dict(query or {})
            if tokens[index] is not None:
                page_query["$skiptoken"] = tokens[index]
            if page_query:
                extra["query"] = page_query
            note = comment if index == 0 else None
            self.add(host, path, response, note, **extra)


def _arm_host(estate: Estate) -> str:
    return urlsplit(estate.settings.arm_endpoint).netloc


def tenant_exchanges(estate: Estate, *, page_size: int = ARM_PAGE_SIZE) -> list[dict[str, Any]]:
    """``GET /subscriptions`` and the descendants of every management group."""
    out = _Exchanges()
    host = _arm_host(estate)
    out.paged(
        host,
        "/subscriptions",
        [subscription_json(estate, s) for s in estate.subscriptions],
        page_size,
        api_version=SUBSCRIPTIONS_API_VERSION,
        comment="the subscriptions the credential sees",
    )
    for group in estate.group_names():
        out.paged(
            host,
            f"{management_group_id(group)}/descendants",
            _descendants(estate, group),
            page_size,
            api_version=MANAGEMENT_GROUPS_API_VERSION,
            comment=f"descendants of management group {group}",
        )
    return out.items


def subscription_exchanges(
    estate: Estate, subscription_id: str, *, page_size: int = ARM_PAGE_SIZE
) -> list[dict[str, Any]]:
    """Everything ARM answers about one subscription (see the module docstring)."""
    out = _Exchanges()
    host = _arm_host(estate)
    sub = estate.subscription(subscription_id)
    base = sub.resource_id
    vaults = [v for v in estate.vaults if v.subscription.lower() == sub.id.lower()]
    hsms = [h for h in estate.managed_hsms if h.subscription.lower() == sub.id.lower()]
    out.paged(
        host,
        f"{base}/providers/Microsoft.KeyVault/vaults",
        [vault_json(estate, v) for v in vaults],
        page_size,
        api_version=KEYVAULT_MGMT_API_VERSION,
        comment=f"vaults.list_by_subscription ({sub.display_name})",
    )
    out.paged(
        host,
        f"{base}/providers/Microsoft.KeyVault/managedHSMs",
        [managed_hsm_json(estate, h) for h in hsms],
        page_size,
        api_version=KEYVAULT_MGMT_API_VERSION,
        comment=f"managed_hsms.list_by_subscription ({sub.display_name})",
    )
    assignments = estate.assignments_for(sub.id)
    out.paged(
        host,
        f"{base}{_ROLE_ASSIGNMENTS}",
        [role_assignment_json(a) for a in assignments],
        page_size,
        api_version=AUTHORIZATION_API_VERSION,
        comment="role_assignments.list_for_subscription: at, below and above (management groups)",
    )
    definitions: dict[str, str] = {}
    for assignment in assignments:
        definitions.setdefault(assignment.role_definition_id.lower(), assignment.role_definition_id)
    for definition_id in definitions.values():
        out.add(
            host, definition_id, role_definition_json(estate, definition_id), "role_definitions.get_by_id"
        )
    customs = [
        role_definition_json(estate, role_definition_id(r.guid, sub.id))
        for r in estate.custom_roles
        if not r.id.startswith(_HSM_ROLE_PREFIX)
        and any(
            s == "/" or base.lower() == s.lower() or base.lower().startswith(s.lower() + "/")
            for s in r.assignable_scopes
        )
    ]
    out.paged(
        host,
        f"{base}{_ROLE_DEFINITIONS}",
        customs,
        page_size,
        api_version=AUTHORIZATION_API_VERSION,
        comment="role_definitions.list(scope, filter=\"type eq 'CustomRole'\")",
        query={"$filter": "type eq 'CustomRole'"},
    )
    for native_type, version in (
        (CognitiveAccount.native_type, COGNITIVE_API_VERSION),
        (MlWorkspace.native_type, ML_API_VERSION),
        (SearchService.native_type, SEARCH_API_VERSION),
    ):
        out.paged(
            host,
            f"{base}/providers/{native_type}",
            [ai_resource_json(estate, r) for r in estate.ai_resources_of(sub.id, native_type)],
            page_size,
            api_version=version,
            comment=f"AI resources: {native_type} ({sub.display_name})",
        )
    stores: list[Vault | ManagedHsm] = [*vaults, *hsms]
    for store in stores:
        resource = vault_json(estate, store) if isinstance(store, Vault) else managed_hsm_json(estate, store)
        out.add(host, store.id, resource, f"vaults.get / managed_hsms.get ({store.name})")
        out.add(
            host,
            f"{store.id}/providers/Microsoft.Insights/diagnosticSettings",
            {"value": [diagnostic_setting_json(d) for d in estate.diagnostics_of(store)]},
            f"diagnostic_settings.list({store.name})",
        )
        out.paged(
            host,
            f"{store.id}/keys",
            [arm_key_json(estate, k) for k in estate.keys_of(store)],
            page_size,
            api_version=KEYVAULT_MGMT_API_VERSION,
            comment=f"ARM view of the keys of {store.name} (no data plane needed)",
        )
    return out.items


def _data_plane_failure(estate: Estate, store: Vault | ManagedHsm, host: str) -> list[dict[str, Any]]:
    """The exchanges of a store whose data plane does not answer the scanner."""
    if store.data_plane == "unreachable":
        return [
            {
                "comment": f"{store.name}: no route to the data plane (private endpoint only)",
                "method": "*",
                "host": host,
                "path": "/*",
                "network_error": "connect",
            }
        ]
    from providers.azure.replay import key_vault_challenge

    challenge = key_vault_challenge(
        store.url(estate.settings), estate.tenant_of(store), authority_host=estate.settings.authority_host
    )
    location = f"{store.name};location={store.location}"
    caller = f"appid={SCANNER_APP_ID};oid={SCANNER_OBJECT_ID};iss=https://sts.windows.net/{estate.tenant.id}/"
    if store.data_plane == "firewall":
        message = (
            "Client address is not authorized and caller is not a trusted service.\r\n"
            f"Client address: {SCANNER_ADDRESS}\r\nCaller: {caller}\r\nVault: {location}"
        )
        inner = "ForbiddenByFirewall"
    elif isinstance(store, Vault) and not store.enable_rbac_authorization:
        message = (
            f"The user, group or application '{caller}' does not have keys list permission on key vault "
            f"'{location}'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287"
        )
        inner = "AccessDenied"
    else:
        message = (
            "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny "
            "assignments or role definitions were changed recently, please observe propagation time.\r\n"
            f"Caller: {caller}\r\nAction: 'Microsoft.KeyVault/vaults/keys/read'\r\n"
            f"Resource: '{store.id.lower()}'\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\n"
            f"DecisionReason: null \r\nVault: {location}"
        )
        inner = "ForbiddenByRbac"
    return [
        challenge,
        {
            "comment": f"{store.name}: the data plane refuses the scanner ({inner})",
            "method": "*",
            "host": host,
            "path": "/*",
            "authorized": True,
            "status": 403,
            "response": {"error": {"code": "Forbidden", "message": message, "innererror": {"code": inner}}},
        },
    ]


def vault_exchanges(
    estate: Estate, store: Vault | ManagedHsm, *, page_size: int = DATA_PAGE_SIZE
) -> list[dict[str, Any]]:
    """The data plane of one vault (or Managed HSM, without its local RBAC): challenge and keys."""
    host = urlsplit(store.url(estate.settings)).netloc
    if store.data_plane != "ok":
        return _data_plane_failure(estate, store, host)
    from providers.azure.replay import key_vault_challenge

    out = _Exchanges()
    out.items.append(
        key_vault_challenge(
            store.url(estate.settings), estate.tenant_of(store), authority_host=estate.settings.authority_host
        )
    )
    keys = estate.keys_of(store)
    out.paged(
        host,
        "/keys",
        [key_item_json(estate, k) for k in keys],
        page_size,
        api_version=KEYVAULT_DATA_API_VERSION,
        key_vault=True,
        comment=f"list_properties_of_keys ({store.name})",
    )
    out.paged(
        host,
        "/deletedkeys",
        [deleted_key_item_json(estate, k) for k in estate.deleted_keys_of(store)],
        page_size,
        api_version=KEYVAULT_DATA_API_VERSION,
        key_vault=True,
        comment=f"list_deleted_keys ({store.name})",
    )
    for key in keys:
        path = f"/keys/{key.name}"
        out.add(host, path, key_bundle_json(estate, key))
        out.add(host, f"{path}/rotationpolicy", rotation_policy_json(estate, key))
        out.paged(
            host,
            f"{path}/versions",
            [key_item_json(estate, key, i) for i in range(key.versions)],
            page_size,
            api_version=KEYVAULT_DATA_API_VERSION,
            key_vault=True,
        )
    return out.items


def managed_hsm_exchanges(
    estate: Estate, hsm: ManagedHsm, *, page_size: int = DATA_PAGE_SIZE
) -> list[dict[str, Any]]:
    """The data plane of a Managed HSM: its keys and its local RBAC."""
    items = vault_exchanges(estate, hsm, page_size=page_size)
    if hsm.data_plane != "ok":
        return items
    out = _Exchanges()
    host = urlsplit(hsm.url(estate.settings)).netloc
    scopes = ["/", *dict.fromkeys(a.scope.rstrip("/") for a in hsm.role_assignments if a.scope != "/")]
    for scope in scopes:
        # At "/" every assignment of the HSM; at a key, those there and above it ("/keys", "/").
        chain = {"/", "/keys", scope}
        found = [
            hsm_role_assignment_json(hsm, a)
            for a in hsm.role_assignments
            if scope == "/" or (a.scope.rstrip("/") or "/") in chain
        ]
        prefix = "" if scope == "/" else scope
        out.paged(
            host,
            f"{prefix}{_ROLE_ASSIGNMENTS}",
            found,
            page_size,
            api_version=KEYVAULT_DATA_API_VERSION,
            comment=f"list_role_assignments(scope={scope!r}) ({hsm.name})",
        )
    out.paged(
        host,
        _ROLE_DEFINITIONS,
        hsm_role_definitions_json(hsm),
        page_size,
        api_version=KEYVAULT_DATA_API_VERSION,
        comment=f"list_role_definitions(scope='/') ({hsm.name})",
    )
    return items + out.items


def estate_exchanges(
    estate: Estate, *, arm_page_size: int = ARM_PAGE_SIZE, data_page_size: int = DATA_PAGE_SIZE
) -> list[dict[str, Any]]:
    """Every exchange of the estate: tenant, each subscription, each store's data plane."""
    items = tenant_exchanges(estate, page_size=arm_page_size)
    for sub in estate.subscriptions:
        items += subscription_exchanges(estate, sub.id, page_size=arm_page_size)
    for vault in estate.vaults:
        items += vault_exchanges(estate, vault, page_size=data_page_size)
    for hsm in estate.managed_hsms:
        items += managed_hsm_exchanges(estate, hsm, page_size=data_page_size)
    return items


# ------------------------------------------------------------------------------------------ the demo
# Example Corp's production subscription, as samples/build_sample_inventory.py pictures it.
TENANT_ID = "5f1c0d2e-8a3b-4c6d-9e7f-0a1b2c3d4e5f"
MANAGEMENT_GROUP = "mg-example-prod"
SUBSCRIPTION = "8f3c2a1d-5b6e-4c7f-9a0b-1d2e3f4a5b6c"
LOCATION = "westeurope"

# Principals (Entra object ids), the policy's declared ones in samples/cek-policy.yaml included.
OWNERS = "3b8e5c1a-6d2f-4f7e-9a41-7c2d8e0f1a93"  # grp-platform-owners (declared administrators)
KV_ADMINS = "9d4a7e2b-0c3f-4b8a-a6d5-2e1f7c9b3a60"  # grp-keyvault-admins (declared administrators)
HSM_OFFICERS = "c7e2f9a4-3b1d-4e6c-8f0a-5d9b2c7e1f48"  # grp-hsm-officers (declared administrators)
AUDITORS = "1c9d3e7f-5a2b-4d8c-9e6f-3b7a1c5d9e02"  # grp-security-auditors (declared auditors)
ALICE = "e2a7c4d1-9f3b-4a8e-b5c6-1d0e7f2a9b34"  # Alice Nguyen, deputy key manager (declared alternate)
MARCO = "4f6b1e9c-2d7a-4c3e-8b5f-9a0d6e1c7b25"  # Marco Rossi, developer (declared nowhere)
SQL = "6a2d8f4c-7e1b-4f9a-a3c5-8d6e2f0b4a17"  # sql-example-payments (declared user)
PORTAL = "b5e1a9d3-4c7f-4e2b-9d8a-6f3c1e5a7b90"  # app-legacy-portal (declared user)
SYNAPSE = "d8c4b2a6-1e9f-4a7d-b3e5-0f2a8c6d4e71"  # syn-example-analytics (declared user)
CORE_BANKING = "2e7f5a3c-8b4d-4c1e-a9f6-7d3b5e1c9a08"  # id-core-banking (declared user)
SWIFT = "f0a6c8e4-2b5d-4e9f-8c1a-4b7e9d3f6a52"  # id-swift-gateway (declared user)
# Managed identities of the AI resources (system-assigned, and one user-assigned identity).
OPENAI_ASSISTANT = "a3c5e7f9-1b2d-4f6a-8c0e-2d4f6a8c0e13"  # oai-example-assistant
ML_RESEARCH = "b4d6f8a0-2c3e-4a7b-9d1f-3e5a7b9d1f24"  # mlw-example-research (hub)
ML_FRAUD = "c5e7a9b1-3d4f-4b8c-8e2a-4f6b8c0e2a35"  # mlp-example-fraud (project)
DOC_CLAIMS = "d6f8b0c2-4e5a-4c9d-9f3b-5a7c9d1f3b46"  # di-example-claims
LANG_SUPPORT = "e7a9c1d3-5f6b-4d0e-8a4c-6b8d0e2a4c57"  # lang-example-support
AI_OPS = "f8b0d2e4-6a7c-4e1f-9b5d-7c9e1f3b5d68"  # id-ai-ops (user-assigned)
AI_OPS_CLIENT = "0a2c4e6f-8b9d-4f3a-8c7e-9e1a3c5e7f70"

# Built-in role GUIDs (providers.azure.permissions has their permissions).
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
KV_ADMINISTRATOR = "00482a5a-887f-4fb3-b363-3b7fe8e74483"
KV_READER = "21090545-7ca7-4776-b22c-e363652d74d2"
KV_CRYPTO_OFFICER = "14b46e9e-c2b7-41b4-b07b-48a6ebf60603"
KV_CRYPTO_USER = "12338af0-0e69-4776-bea7-57ae8d297424"
KV_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
KV_DATA_ACCESS_ADMINISTRATOR = "8b54135c-b56d-4d72-a534-26097cfdc8d8"
HSM_ADMINISTRATOR = "a290e904-7015-4bba-90c8-60543313cdb4"
HSM_CRYPTO_OFFICER = "515eb02d-2335-4d2d-92f2-b1cbdf9c3778"
HSM_CRYPTO_USER = "21dbd100-6940-42c2-9190-5d6cb909625b"
HSM_CRYPTO_AUDITOR = "2c18b078-7c48-4d3a-af88-5a3a1b3f82b3"
KEY_MANAGER_ROLE = "7d2c9e4a-1f3b-4c8d-a5e6-0b9f2d7c4e18"  # custom: keys/* data actions, no crypto use
HSM_SIGNER_ROLE = "3f8a1c6e-9d2b-4e7f-b0a4-6c5d8e1f2a97"  # Managed HSM local custom role

# Access-policy key permissions, as the portal's templates select them.
KEY_MANAGEMENT = ["Get", "List", "Update", "Create", "Import", "Delete", "Recover", "Backup", "Restore"]
KEY_CRYPTO = ["Decrypt", "Encrypt", "UnwrapKey", "WrapKey", "Verify", "Sign"]
KEY_PRIVILEGED = ["Purge", "Release", "Rotate", "GetRotationPolicy", "SetRotationPolicy"]

_LOG_WORKSPACE = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-monitoring-prod/providers/"
    "Microsoft.OperationalInsights/workspaces/log-example-security"
)


def _rg(name: str) -> str:
    return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{name}"


def _access_policy(object_id: str, keys: Sequence[str], secrets: Sequence[str] = ()) -> dict[str, Any]:
    return {
        "tenantId": TENANT_ID,
        "objectId": object_id,
        "permissions": {"keys": list(keys), "secrets": list(secrets), "certificates": []},
    }


def demo_estate() -> Estate:
    """Example Corp's ``example-prod`` subscription (see the comments for what each part exercises)."""
    sub = SUBSCRIPTION
    tags = {"cost_center": "cc-4410", "environment": "prod"}
    # An RBAC vault behind a private endpoint, soft delete + purge protection: the store rules pass.
    payments = Vault(
        sub,
        "rg-keys-prod",
        "kv-example-payments",
        sku_name="premium",
        enable_purge_protection=True,
        public_network_access="Disabled",
        network_acls={"defaultAction": "Deny", "bypass": "AzureServices"},
        private_endpoints=[
            f"{_rg('rg-network-prod')}/providers/Microsoft.Network/privateEndpoints/pe-kv-example-payments"
        ],
        tags=tags,
        created="2024-03-11T09:14:27Z",
    )
    # A legacy access-policy vault: no purge protection, 7-day retention, open to every network.
    legacy = Vault(
        sub,
        "rg-legacy-apps",
        "kv-example-legacy",
        soft_delete_retention_in_days=7,
        enable_rbac_authorization=False,
        enabled_for_disk_encryption=True,
        access_policies=[
            # Key management and cryptographic operations for one person: an SoD conflict.
            _access_policy(MARCO, KEY_MANAGEMENT + KEY_CRYPTO + KEY_PRIVILEGED, ["Get", "List", "Set"]),
            _access_policy(PORTAL, ["Get", "WrapKey", "UnwrapKey"]),
        ],
        tags=tags,
        created="2021-09-27T15:02:11Z",
    )
    # Restricted by its firewall alone (deny, one IP range, no private endpoint): the scanner, outside
    # that range, gets 403 ForbiddenByFirewall; its keys are known only through ARM.
    analytics = Vault(
        sub,
        "rg-analytics-prod",
        "kv-example-analytics",
        sku_name="premium",
        enable_purge_protection=True,
        network_acls={"defaultAction": "Deny", "bypass": "AzureServices", "ipRules": ["203.0.113.0/24"]},
        tags=tags,
        data_plane="firewall",
        created="2024-08-19T12:30:00Z",
    )
    # The AI platform's vault: RBAC, behind a private endpoint, purge protection.
    ai_vault = Vault(
        sub,
        "rg-ai-prod",
        "kv-example-ai",
        sku_name="premium",
        enable_purge_protection=True,
        public_network_access="Disabled",
        network_acls={"defaultAction": "Deny", "bypass": "AzureServices"},
        private_endpoints=[
            f"{_rg('rg-network-prod')}/providers/Microsoft.Network/privateEndpoints/pe-kv-example-ai"
        ],
        tags={**tags, "owner": "ai-platform"},
        created="2025-06-10T08:00:00Z",
    )
    # A Managed HSM: local RBAC keeps the crypto officers and the workloads apart.
    hsm = ManagedHsm(
        sub,
        "rg-keys-prod",
        "mhsm-example-prod",
        initial_admin_object_ids=[HSM_OFFICERS],
        network_acls={"defaultAction": "Deny", "bypass": "AzureServices"},
        private_endpoints=[
            f"{_rg('rg-network-prod')}/providers/Microsoft.Network/privateEndpoints/pe-mhsm-example-prod"
        ],
        role_assignments=[
            HsmRoleAssignment(HSM_OFFICERS, HSM_ADMINISTRATOR),
            HsmRoleAssignment(HSM_OFFICERS, HSM_CRYPTO_OFFICER),
            HsmRoleAssignment(AUDITORS, HSM_CRYPTO_AUDITOR),
            HsmRoleAssignment(CORE_BANKING, HSM_CRYPTO_USER, "/keys/core-banking-master"),
            HsmRoleAssignment(SWIFT, HSM_SIGNER_ROLE, "/keys/swift-signing"),
        ],
        role_definitions=[
            CustomRoleDefinition(
                hsm_role_definition_id(HSM_SIGNER_ROLE),
                "Managed HSM signer",
                [
                    {
                        "dataActions": [
                            "Microsoft.KeyVault/managedHsm/keys/read/action",
                            "Microsoft.KeyVault/managedHsm/keys/sign/action",
                            "Microsoft.KeyVault/managedHsm/keys/verify/action",
                        ]
                    }
                ],
                description="Sign and verify with the keys in scope; nothing else.",
            )
        ],
        tags=tags,
    )
    confidential = {"data_classification": "confidential", "owner": "payments"}
    restricted = {"data_classification": "restricted", "owner": "core-banking"}
    keys = [
        # RSA-HSM 3072, 728 days, rotated every 90 days: the key rules pass.
        Key(
            payments,
            "sql-tde-protector",
            "RSA-HSM",
            3072,
            key_ops=["wrapKey", "unwrapKey"],
            created="2025-06-02T10:00:00Z",
            expires="2027-05-31T10:00:00Z",
            tags=confidential,
            rotation_policy=rotation_policy("P90D", expiry_time="P2Y"),
        ),
        # Valid 1096 days, rotated yearly: over the policy's limits.
        Key(
            payments,
            "storage-cmk",
            "RSA-HSM",
            4096,
            key_ops=["wrapKey", "unwrapKey"],
            created="2025-03-01T09:00:00Z",
            expires="2028-03-01T09:00:00Z",
            tags=confidential,
            rotation_policy=rotation_policy("P365D", expiry_time="P3Y"),
        ),
        # EC P-256 for ECDH key agreement; never had a rotation policy.
        Key(
            payments,
            "app-ecdh",
            "EC-HSM",
            curve="P-256",
            key_ops=["deriveKey"],
            created="2025-07-15T08:00:00Z",
            expires="2027-01-15T08:00:00Z",
            tags=confidential,
        ),
        # Exportable under a release policy (secure key release to confidential VMs).
        Key(
            payments,
            "cvm-disk-release",
            "RSA-HSM",
            3072,
            key_ops=["wrapKey", "unwrapKey"],
            created="2025-10-06T11:30:00Z",
            expires="2027-10-05T11:30:00Z",
            exportable=True,
            release_policy={
                "version": "1.0.0",
                "anyOf": [
                    {
                        "authority": "https://sharedweu.weu.attest.azure.net",
                        "allOf": [
                            {"claim": "x-ms-isolation-tee.x-ms-attestation-type", "equals": "sevsnpvm"}
                        ],
                    }
                ],
            },
            tags=confidential,
            rotation_policy=rotation_policy("P90D", expiry_time="P2Y"),
        ),
        # Software RSA 2048 on confidential data, no expiry and no rotation policy.
        Key(
            legacy,
            "legacy-portal-key",
            "RSA",
            2048,
            created="2025-01-27T13:00:00Z",
            tags={"data_classification": "confidential", "owner": "web"},
        ),
        # Deleted last week and waiting for its purge (key_not_pending_deletion FAIL); without purge
        # protection on this vault anyone allowed to purge could destroy it now.
        Key(
            legacy,
            "portal-session-2024",
            "RSA",
            2048,
            created="2024-02-01T10:00:00Z",
            tags={"data_classification": "internal", "owner": "web"},
            deleted="2026-11-15T16:45:00Z",
        ),
        # Software RSA 3072 signing key for internal data, valid 729 days.
        Key(
            legacy,
            "reports-signing",
            "RSA",
            3072,
            key_ops=["sign", "verify"],
            created="2025-09-01T07:00:00Z",
            expires="2027-08-31T07:00:00Z",
            tags={"data_classification": "internal", "owner": "reporting"},
        ),
        # Known through ARM only (the data plane answers 403 ForbiddenByFirewall).
        Key(
            analytics,
            "synapse-cmk",
            "RSA-HSM",
            3072,
            key_ops=["wrapKey", "unwrapKey"],
            created="2025-04-14T09:20:00Z",
            tags={"data_classification": "confidential", "owner": "analytics"},
            rotation_policy=rotation_policy("P180D"),
        ),
        Key(
            analytics,
            "databricks-cmk",
            "RSA-HSM",
            2048,
            key_ops=["wrapKey", "unwrapKey"],
            created="2025-04-14T09:25:00Z",
            expires="2027-04-14T09:25:00Z",
            tags={"data_classification": "confidential", "owner": "analytics"},
        ),
        # Managed HSM keys: an AES-256 master key rotated every 90 days and a P-384 signing key.
        Key(
            hsm,
            "core-banking-master",
            "oct-HSM",
            256,
            key_ops=["wrapKey", "unwrapKey", "encrypt", "decrypt"],
            created="2025-05-05T06:00:00Z",
            expires="2027-05-04T06:00:00Z",
            tags=restricted,
            rotation_policy=rotation_policy("P90D", expiry_time="P2Y"),
        ),
        Key(
            hsm,
            "swift-signing",
            "EC-HSM",
            curve="P-384",
            created="2026-01-12T06:00:00Z",
            expires="2028-01-11T06:00:00Z",
            tags=restricted,
        ),
        # The Azure OpenAI key: HSM-backed, rotated every 90 days, used by one AI identity only.
        Key(
            ai_vault,
            "openai-cmk",
            "RSA-HSM",
            3072,
            key_ops=["wrapKey", "unwrapKey"],
            created="2025-12-01T09:00:00Z",
            expires="2027-11-29T09:00:00Z",
            tags={"data_classification": "confidential", "owner": "ai-platform"},
            rotation_policy=rotation_policy("P90D", expiry_time="P2Y"),
        ),
        # Software-protected, rotated yearly, shared by two tenants' AI resources, and the ML workspace's
        # identity can administer it.
        Key(
            ai_vault,
            "ai-shared-cmk",
            "RSA",
            3072,
            key_ops=["wrapKey", "unwrapKey"],
            created="2025-06-16T09:00:00Z",
            expires="2027-06-15T09:00:00Z",
            tags={"data_classification": "internal", "owner": "ai-platform"},
            rotation_policy=rotation_policy("P365D", expiry_time="P2Y"),
        ),
    ]
    payments_kv, analytics_rg = payments.id, _rg("rg-analytics-prod")
    by_name = {k.name: k for k in keys}
    openai_key, shared_key, storage_key = (
        by_name["openai-cmk"],
        by_name["ai-shared-cmk"],
        by_name["storage-cmk"],
    )

    def rbac(scope: str, principal: str, role: str, kind: str, **kw: Any) -> RoleAssignment:
        return RoleAssignment(scope, principal, role_definition_id(role, sub), kind, **kw)

    assignments = [
        # Inherited from the management group: declared auditors read every vault.
        rbac(management_group_id(MANAGEMENT_GROUP), AUDITORS, KV_READER, "Group"),
        rbac(f"/subscriptions/{sub}", OWNERS, OWNER, "Group", description="Platform owners"),
        # Key Vault Administrator: manage *and* use every key of the vault (the built-in SoD conflict).
        rbac(payments_kv, KV_ADMINS, KV_ADMINISTRATOR, "Group"),
        rbac(payments_kv, ALICE, KEY_MANAGER_ROLE, "User", description="Deputy key manager"),
        rbac(payments_kv, SQL, KV_SERVICE_ENCRYPTION_USER, "ServicePrincipal"),
        # Contributor on the legacy vault's resource group can write its access policies.
        rbac(_rg("rg-legacy-apps"), MARCO, CONTRIBUTOR, "User"),
        rbac(analytics_rg, KV_ADMINS, KV_ADMINISTRATOR, "Group"),
        rbac(analytics.id, SYNAPSE, KV_SERVICE_ENCRYPTION_USER, "ServicePrincipal"),
        # The AI vault: access administered by the Key Vault admins, keys used by AI identities only.
        rbac(ai_vault.id, KV_ADMINS, KV_DATA_ACCESS_ADMINISTRATOR, "Group"),
        rbac(openai_key.id, OPENAI_ASSISTANT, KV_SERVICE_ENCRYPTION_USER, "ServicePrincipal"),
        rbac(shared_key.id, DOC_CLAIMS, KV_SERVICE_ENCRYPTION_USER, "ServicePrincipal"),
        # Given Crypto Officer "to create its keys": an AI service identity administering its key.
        rbac(shared_key.id, ML_RESEARCH, KV_CRYPTO_OFFICER, "ServicePrincipal"),
        # The AI services account reads storage-cmk, which sql-example-payments also uses (vault-wide).
        rbac(storage_key.id, AI_OPS, KV_SERVICE_ENCRYPTION_USER, "ServicePrincipal"),
    ]
    ai_ops = UserAssignedIdentity(sub, "rg-ai-prod", "id-ai-ops", AI_OPS, AI_OPS_CLIENT)
    research_hub = MlWorkspace(
        sub,
        "rg-ai-prod",
        "mlw-example-research",
        kind="Hub",
        system_identity=ML_RESEARCH,
        key=shared_key,
        tags={"tenant": "research", "environment": "prod"},
    )
    ai_resources: list[AiResource] = [
        # Customer-managed key meeting the policy.
        CognitiveAccount(
            sub,
            "rg-ai-prod",
            "oai-example-assistant",
            system_identity=OPENAI_ASSISTANT,
            key=openai_key,
            tags={"tenant": "retail", "environment": "prod"},
        ),
        # Two tenants on one software key.
        research_hub,
        MlWorkspace(
            sub,
            "rg-ai-prod",
            "mlp-example-fraud",
            kind="Project",
            system_identity=ML_FRAUD,
            hub=research_hub,
            tags={"tenant": "research", "environment": "prod"},
        ),
        CognitiveAccount(
            sub,
            "rg-ai-prod",
            "di-example-claims",
            kind="FormRecognizer",
            system_identity=DOC_CLAIMS,
            key=shared_key,
            tags={"tenant": "claims", "environment": "prod"},
        ),
        # A user-assigned identity reads a key pinned to one version, shared with a non-AI workload.
        CognitiveAccount(
            sub,
            "rg-ai-prod",
            "ais-example-ops",
            kind="AIServices",
            user_identities=[ai_ops],
            key=storage_key,
            key_identity=ai_ops,
            pin_key_version=True,
            tags={"tenant": "ops", "environment": "prod"},
        ),
        # Microsoft-managed keys (no encryption settings at all).
        CognitiveAccount(
            sub,
            "rg-ai-prod",
            "lang-example-support",
            kind="TextAnalytics",
            system_identity=LANG_SUPPORT,
            tags={"tenant": "support", "environment": "prod"},
        ),
    ]
    key_manager = CustomRoleDefinition(
        role_definition_id(KEY_MANAGER_ROLE, sub),
        "Key Vault Key Manager",
        [
            {
                "actions": ["Microsoft.KeyVault/vaults/read", "Microsoft.KeyVault/vaults/keys/read"],
                "dataActions": [
                    "Microsoft.KeyVault/vaults/keys/*",
                    "Microsoft.KeyVault/vaults/keyrotationpolicies/*",
                ],
                "notDataActions": [
                    "Microsoft.KeyVault/vaults/keys/decrypt/action",
                    "Microsoft.KeyVault/vaults/keys/unwrap/action",
                    "Microsoft.KeyVault/vaults/keys/sign/action",
                ],
            }
        ],
        assignable_scopes=[f"/subscriptions/{sub}"],
        description="Manages key lifecycle in Example vaults; cannot decrypt, unwrap or sign.",
    )
    diagnostics = [
        DiagnosticSetting(
            payments, "diag-kv-payments", [{"categoryGroup": "audit", "enabled": True}], _LOG_WORKSPACE
        ),
        DiagnosticSetting(
            analytics,
            "diag-kv-analytics",
            [{"categoryGroup": "allLogs", "enabled": True}, {"categoryGroup": "audit", "enabled": False}],
            _LOG_WORKSPACE,
        ),
        DiagnosticSetting(
            hsm,
            "diag-mhsm",
            [{"category": "AuditEvent", "enabled": True}],
            _LOG_WORKSPACE,
            storage_account_id=f"{_rg('rg-monitoring-prod')}/providers/Microsoft.Storage/storageAccounts/stexampleaudit",
        ),
        DiagnosticSetting(
            ai_vault, "diag-kv-ai", [{"categoryGroup": "audit", "enabled": True}], _LOG_WORKSPACE
        ),
        # The legacy vault has none.
    ]
    return Estate(
        tenant=Tenant(TENANT_ID, "Example Corp", "example.onmicrosoft.com"),
        management_groups=[ManagementGroup(MANAGEMENT_GROUP, TENANT_ID, "Example production")],
        subscriptions=[Subscription(sub, "example-prod", MANAGEMENT_GROUP, tags={"env": "prod"})],
        vaults=[payments, legacy, analytics, ai_vault],
        managed_hsms=[hsm],
        keys=keys,
        role_assignments=assignments,
        custom_roles=[key_manager],
        diagnostic_settings=diagnostics,
        ai_resources=ai_resources,
    ).validate()


def demo_document() -> dict[str, Any]:
    """``demo_estate.json``: the subscriptions to scan, the cloud, and every exchange."""
    estate = demo_estate()
    return {
        "subscriptions": [s.id for s in estate.subscriptions],
        "cloud": estate.cloud,
        "exchanges": estate_exchanges(estate),
    }


def render_demo() -> str:
    return json.dumps(demo_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------------- the benchmark
def bulk_estate(*, vaults: int = 20, keys_per_vault: int = 100) -> Estate:
    """One subscription with ``vaults`` vaults of ``keys_per_vault`` keys: RBAC and access-policy vaults
    alternate, role assignments at every scope (management group, subscription, resource group, vault,
    key), a custom role, diagnostic settings on two vaults in three."""
    if vaults < 1 or keys_per_vault < 0:
        raise ValueError("vaults must be positive, keys_per_vault not negative")
    tenant = "0b5e7d3c-1a2f-4e6b-9c8d-7f0a1b2c3d4e"
    sub = "4c2a9e1d-7b3f-4d5e-8a6c-2f1e0d9c8b7a"
    group = "mg-bench"
    custom = CustomRoleDefinition(
        role_definition_id(_guid("bench-role"), sub),
        "Bench key rotator",
        [{"dataActions": ["Microsoft.KeyVault/vaults/keys/*"], "notDataActions": []}],
        assignable_scopes=[f"/subscriptions/{sub}"],
    )
    estate = Estate(
        tenant=Tenant(tenant, "Bench", "bench.onmicrosoft.com"),
        management_groups=[ManagementGroup(group, tenant, "Bench")],
        subscriptions=[Subscription(sub, "bench-prod", group)],
        custom_roles=[custom],
    )

    def rbac(scope: str, principal: str, role: str, kind: str = "ServicePrincipal") -> RoleAssignment:
        return RoleAssignment(scope, principal, role_definition_id(role, sub), kind)

    estate.role_assignments += [
        rbac(management_group_id(group), _guid("bench-auditors"), KV_READER, "Group"),
        rbac(f"/subscriptions/{sub}", _guid("bench-owners"), OWNER, "Group"),
        rbac(f"/subscriptions/{sub}", _guid("bench-readers"), READER, "Group"),
    ]
    for v in range(vaults):
        rg = f"rg-bench-{v // 5 + 1:02d}"
        rbac_mode = v % 2 == 0
        app = _guid("bench-app", v)
        vault = Vault(
            sub,
            rg,
            f"kv-bench-{v + 1:03d}",
            sku_name="premium" if v % 3 == 0 else "standard",
            enable_purge_protection=True if v % 4 != 3 else None,
            enable_rbac_authorization=rbac_mode,
            public_network_access="Disabled" if v % 2 == 0 else "Enabled",
            network_acls={"defaultAction": "Deny" if v % 3 else "Allow", "bypass": "AzureServices"},
            access_policies=[]
            if rbac_mode
            else [
                _access_policy(_guid("bench-admin", v), KEY_MANAGEMENT),
                _access_policy(app, ["Get", "WrapKey", "UnwrapKey"]),
            ],
            tags={"environment": "bench"},
        )
        estate.vaults.append(vault)
        if v % 5 == 0:
            estate.role_assignments.append(
                rbac(f"/subscriptions/{sub}/resourceGroups/{rg}", _guid("ops", v), CONTRIBUTOR)
            )
        estate.role_assignments += [
            rbac(vault.id, _guid("bench-kv-admins"), KV_ADMINISTRATOR, "Group"),
            rbac(vault.id, app, KV_CRYPTO_USER),
        ]
        if v % 3 != 2:
            estate.diagnostic_settings.append(
                DiagnosticSetting(
                    vault, "to-law", [{"categoryGroup": "audit", "enabled": True}], _LOG_WORKSPACE
                )
            )
        for k in range(keys_per_vault):
            key = _bulk_key(vault, k)
            estate.keys.append(key)
            if k % 10 == 0:
                estate.role_assignments.append(
                    rbac(key.id, _guid("key-user", v, k), KV_SERVICE_ENCRYPTION_USER)
                )
            if k % 25 == 1:
                estate.role_assignments.append(rbac(key.id, _guid("rotator", v), custom.guid))
    return estate.validate()


def _bulk_key(vault: Vault, k: int) -> Key:
    created = _format_time(datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=k * 13))
    if k % 10 == 7:
        return Key(
            vault, f"key-{k + 1:03d}", "EC-HSM" if k % 20 == 7 else "EC", curve="P-256", created=created
        )
    expires = None if k % 6 == 5 else _format_time(_parse_time(created) + timedelta(days=730))
    return Key(
        vault,
        f"key-{k + 1:03d}",
        "RSA-HSM" if k % 4 == 1 else "RSA",
        3072 if k % 3 else 2048,
        created=created,
        expires=expires,
        versions=1 + k % 3,
        tags={"env": "bench", "data_classification": "confidential" if k % 3 == 0 else "internal"},
        rotation_policy=None if k % 5 == 4 else rotation_policy("P90D", expiry_time="P2Y"),
    )


# --------------------------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> int:
    from providers.demo_files import demo_file_main

    return demo_file_main("providers.azure.simulated", "Azure", DEMO_FILE, render_demo, argv)


if __name__ == "__main__":
    raise SystemExit(main())
