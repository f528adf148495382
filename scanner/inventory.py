"""The normalised inventory: what every provider produces and every rule reads.

Conventions that the whole rule set relies on:

* A field that is ``None`` was not read (or the provider does not expose it); rules turn it into
  UNKNOWN, never into PASS. Where a platform has no such concept at all, the model says so
  explicitly (for example ``Key.expiry_supported``), so "not applicable" and "not read" never mix.
* ``Key.unreadable`` / ``KeyStore.unreadable`` name the aspects a collector failed to read; the
  matching ``CollectionError`` records say why.
* Access bindings are *effective grants* after the provider resolved its own semantics (explicit
  denies, NotAction, role definitions, access policies): one principal, one target, a set of
  provider-neutral capabilities. Rules never see provider action or role names.
"""

from __future__ import annotations

import gc
import json
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.dataclasses import dataclass

SCHEMA_VERSION = "1.0"


# Records are slotted, frozen pydantic dataclasses: validated like models, but a million bindings fit in
# a few hundred MB (a BaseModel instance carries a per-instance dict and fields-set, ~1 KB each).
_STRICT = ConfigDict(extra="forbid")


class Provider(StrEnum):
    AWS = "aws"
    GCP = "gcp"
    AZURE = "azure"


class ScopeKind(StrEnum):
    """Where keys live (scanned scopes) and the hierarchy above them (parents)."""

    AWS_ACCOUNT = "aws_account"
    AWS_ORGANIZATIONAL_UNIT = "aws_organizational_unit"
    AWS_ORGANIZATION = "aws_organization"
    GCP_PROJECT = "gcp_project"
    GCP_FOLDER = "gcp_folder"
    GCP_ORGANIZATION = "gcp_organization"
    AZURE_SUBSCRIPTION = "azure_subscription"
    AZURE_MANAGEMENT_GROUP = "azure_management_group"
    AZURE_TENANT = "azure_tenant"


@dataclass(frozen=True, slots=True, config=_STRICT)
class ScopeRef:
    kind: ScopeKind
    uid: str
    name: str | None = None


class ScopeAspect(StrEnum):
    KEYS = "keys"  # key enumeration (in at least one location)
    ACCESS = "access"  # scope-wide access data: identity policies, project/subscription IAM, RBAC
    AUDIT_LOGGING = "audit_logging"
    HIERARCHY = "hierarchy"  # parents and their inherited bindings
    AI_RESOURCES = "ai_resources"  # AI workload resources (SageMaker, Bedrock, Vertex AI, Azure OpenAI...)


@dataclass(frozen=True, slots=True, config=_STRICT)
class Scope:
    """An AWS account, GCP project or Azure subscription that was scanned."""

    provider: Provider
    kind: ScopeKind
    uid: str
    name: str | None = None
    # Nearest parent first: folder, then organization; OU, then organization; management groups, tenant.
    parents: tuple[ScopeRef, ...] = ()
    # Regions / locations that were scanned in this scope.
    locations: tuple[str, ...] = ()
    unreadable: frozenset[ScopeAspect] = frozenset()


class KeyStoreKind(StrEnum):
    AWS_KMS_DEFAULT = "aws_kms_default"  # the per-region multi-tenant KMS key store
    AWS_CLOUDHSM = "aws_cloudhsm"
    AWS_EXTERNAL = "aws_external"
    GCP_KEY_RING = "gcp_key_ring"
    GCP_EKM_CONNECTION = "gcp_ekm_connection"
    AZURE_VAULT = "azure_vault"
    AZURE_MANAGED_HSM = "azure_managed_hsm"

    @property
    def is_custom_key_store(self) -> bool:
        """Stores whose health the customer operates (dedicated HSM clusters, external key managers)."""
        return self in (KeyStoreKind.AWS_CLOUDHSM, KeyStoreKind.AWS_EXTERNAL)


class ConnectionState(StrEnum):
    CONNECTED = "connected"
    CONNECTING = "connecting"
    DISCONNECTED = "disconnected"
    DISCONNECTING = "disconnecting"
    FAILED = "failed"


@dataclass(frozen=True, slots=True, config=_STRICT)
class HsmCluster:
    """A dedicated HSM cluster backing a key store (AWS CloudHSM)."""

    uid: str
    state: str | None = None  # the provider's own word, for evidence
    active_hsms: int | None = None
    availability_zones: tuple[str, ...] = ()
    degraded: bool | None = None  # the cluster reports itself not fully operational


@dataclass(frozen=True, slots=True, config=_STRICT)
class DeletionProtection:
    """Recovery protection of a key store (Azure soft delete and purge protection)."""

    soft_delete: bool | None = None
    purge_protection: bool | None = None
    retention_days: int | None = None


@dataclass(frozen=True, slots=True, config=_STRICT)
class NetworkAccess:
    """Network exposure of a key store's endpoint."""

    public_network_access: bool | None = None  # False: public endpoint disabled
    default_action_deny: bool | None = None  # firewall denies what no rule allows
    private_endpoints: int | None = None
    allowed_ip_ranges: tuple[str, ...] = ()


class KeyStoreAspect(StrEnum):
    METADATA = "metadata"
    ACCESS = "access"
    KEYS = "keys"
    AUDIT_LOGGING = "audit_logging"


@dataclass(frozen=True, slots=True, config=_STRICT)
class KeyStore:
    provider: Provider
    kind: KeyStoreKind
    uid: str
    scope: str
    location: str | None = None
    name: str | None = None
    native_type: str | None = None
    # The container the store sits in below the scope (Azure resource group id), for binding inheritance.
    parent: str | None = None
    # None: the platform has no such setting for this kind of store.
    deletion_protection: DeletionProtection | None = None
    network: NetworkAccess | None = None
    access_model: str | None = None  # e.g. "rbac" or "access_policy" (normalised by the provider)
    sku: str | None = None
    connection_state: ConnectionState | None = None
    hsm_cluster: HsmCluster | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    unreadable: frozenset[KeyStoreAspect] = frozenset()


class KeyManager(StrEnum):
    CUSTOMER = "customer"
    PROVIDER = "provider"


class KeyPurpose(StrEnum):
    ENCRYPT = "encrypt"  # encrypt/decrypt, wrap/unwrap
    SIGN = "sign"  # sign/verify
    MAC = "mac"
    KEY_AGREEMENT = "key_agreement"
    OTHER = "other"


class KeyType(StrEnum):
    SYMMETRIC = "symmetric"
    RSA = "rsa"
    EC = "ec"
    HMAC = "hmac"
    OTHER = "other"


class ProtectionLevel(StrEnum):
    """Weakest first; see SPEC 6."""

    SOFTWARE = "software"
    HSM = "hsm"
    DEDICATED_HSM = "dedicated_hsm"
    EXTERNAL = "external"

    @property
    def rank(self) -> int:
        return _PROTECTION_RANK[self]

    def satisfies(self, required: ProtectionLevel) -> bool:
        """``external`` and ``dedicated_hsm`` both meet a dedicated requirement (SPEC 6)."""
        if required is ProtectionLevel.DEDICATED_HSM:
            return self in (ProtectionLevel.DEDICATED_HSM, ProtectionLevel.EXTERNAL)
        return self.rank >= required.rank


_PROTECTION_RANK = {
    ProtectionLevel.SOFTWARE: 0,
    ProtectionLevel.HSM: 1,
    ProtectionLevel.DEDICATED_HSM: 2,
    ProtectionLevel.EXTERNAL: 3,
}


class KeyOrigin(StrEnum):
    GENERATED = "generated"  # by the provider's KMS/HSM
    IMPORTED = "imported"  # BYOK
    EXTERNAL = "external"  # HYOK: material stays outside the provider


class KeyState(StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"
    PENDING_DELETION = "pending_deletion"  # AWS PendingDeletion, GCP DESTROY_SCHEDULED, Azure soft-deleted
    PENDING_IMPORT = "pending_import"
    DESTROYED = "destroyed"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True, config=_STRICT)
class Rotation:
    enabled: bool | None = None
    period_days: int | None = None
    next_rotation: AwareDatetime | None = None
    last_rotation: AwareDatetime | None = None


@dataclass(frozen=True, slots=True, config=_STRICT)
class KeyVersion:
    uid: str
    state: KeyState | None = None
    created: AwareDatetime | None = None
    protection: ProtectionLevel | None = None
    scheduled_destruction: AwareDatetime | None = None


class KeyAspect(StrEnum):
    METADATA = "metadata"
    ROTATION = "rotation"
    ACCESS = "access"
    TAGS = "tags"
    VERSIONS = "versions"


@dataclass(frozen=True, slots=True, config=_STRICT)
class Key:
    provider: Provider
    uid: str  # ARN, full resource name or Azure id
    scope: str
    location: str | None = None
    store: str | None = None  # KeyStore.uid
    name: str | None = None
    native_type: str | None = None
    aliases: tuple[str, ...] = ()
    manager: KeyManager = KeyManager.CUSTOMER
    purpose: KeyPurpose | None = None
    key_type: KeyType | None = None
    algorithm: str | None = None  # display label only; rules use key_type, size_bits and curve
    size_bits: int | None = None
    curve: str | None = None  # canonical: P-256, P-384, P-521, secp256k1, Ed25519, ...
    protection: ProtectionLevel | None = None
    origin: KeyOrigin | None = None
    state: KeyState | None = None
    rotation: Rotation | None = None
    # Whether the platform can rotate this key by itself (False: AWS CloudHSM or external key store keys);
    # None: the rules decide from key type, purpose and origin.
    auto_rotation_supported: bool | None = None
    created: AwareDatetime | None = None
    not_before: AwareDatetime | None = None
    expires: AwareDatetime | None = None
    expiry_supported: bool = False  # the platform lets a key carry an expiry date (Azure)
    scheduled_deletion: AwareDatetime | None = None
    deletion_window_days: int | None = None  # wait between a destroy request and destruction
    multi_region: bool | None = None
    exportable: bool | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    versions: tuple[KeyVersion, ...] = ()
    # False when bindings above the key store (scope, folders, organization) do not reach this key:
    # an AWS key whose key policy does not delegate to the account's IAM policies.
    inherits_access: bool = True
    unreadable: frozenset[KeyAspect] = frozenset()

    @property
    def is_customer_managed(self) -> bool:
        return self.manager is KeyManager.CUSTOMER


class PrincipalKind(StrEnum):
    USER = "user"
    GROUP = "group"
    SERVICE = "service"  # cloud service principals and service agents
    ROLE = "role"  # assumable roles, service accounts, managed identities
    ACCOUNT = "account"  # a whole account (AWS account root)
    PUBLIC = "public"  # anyone, unauthenticated included
    AUTHENTICATED_ANY = "authenticated_any"  # any authenticated identity of any organisation
    UNKNOWN = "unknown"  # e.g. a deleted identity still referenced


@dataclass(frozen=True, slots=True, config=_STRICT)
class Principal:
    uid: str  # ARN, GCP member string, Azure object id
    kind: PrincipalKind
    display_name: str | None = None
    aliases: tuple[str, ...] = ()  # other names a policy file may use (UPN, email, ...)
    external: bool = False  # belongs to another account/organisation/tenant than the scanned one
    # The AI service this principal acts for: an AI service principal (bedrock.amazonaws.com), a service
    # agent (service-N@gcp-sa-aiplatform...), or the managed identity of an AI resource (an Azure OpenAI
    # account). Normalised names from each provider's one table (providers/<cloud>/ai.py); None: not AI.
    ai_service: str | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.kind in (PrincipalKind.PUBLIC, PrincipalKind.AUTHENTICATED_ANY)


class Capability(StrEnum):
    """The closed set every provider maps its actions and roles into (segregation of duties)."""

    ADMINISTER_ACCESS = "administer_access"  # change who can do what (key policy, IAM, grants, RBAC)
    MANAGE_LIFECYCLE = "manage_lifecycle"  # enable/disable, rotate, update, versions, aliases
    DESTROY = "destroy"  # schedule deletion/destruction, purge
    IMPORT_MATERIAL = "import_material"
    ENCRYPT = "encrypt"
    DECRYPT = "decrypt"
    SIGN = "sign"
    VERIFY = "verify"
    EXPORT = "export"  # backup or release of key material
    READ_METADATA = "read_metadata"


ADMIN_CAPABILITIES: frozenset[Capability] = frozenset(
    {
        Capability.ADMINISTER_ACCESS,
        Capability.MANAGE_LIFECYCLE,
        Capability.DESTROY,
        Capability.IMPORT_MATERIAL,
    }
)
USE_CAPABILITIES: frozenset[Capability] = frozenset({Capability.ENCRYPT, Capability.DECRYPT, Capability.SIGN})


class BindingSource(StrEnum):
    KEY_POLICY = "key_policy"  # AWS key policy
    IDENTITY_POLICY = "identity_policy"  # AWS IAM identity policies
    GRANT = "grant"  # AWS grants
    IAM_POLICY = "iam_policy"  # GCP IAM allow policies
    RBAC = "rbac"  # Azure role assignments, Managed HSM local RBAC
    ACCESS_POLICY = "access_policy"  # Azure vault access policies


class ScopeLevel(StrEnum):
    """Where a binding is attached; anything above ``key`` applies to many keys."""

    KEY = "key"
    KEY_STORE = "key_store"
    RESOURCE_GROUP = "resource_group"
    SCOPE = "scope"  # the account / project / subscription
    FOLDER = "folder"
    MANAGEMENT_GROUP = "management_group"
    ORGANIZATION = "organization"

    @property
    def is_broad(self) -> bool:
        """Applies to every key of a scope or more."""
        return self in _BROAD_LEVELS


_BROAD_LEVELS = frozenset(
    {ScopeLevel.SCOPE, ScopeLevel.FOLDER, ScopeLevel.MANAGEMENT_GROUP, ScopeLevel.ORGANIZATION}
)


@dataclass(frozen=True, slots=True, config=_STRICT)
class AccessBinding:
    """One principal's effective capabilities on one target (a key, store, container or scope)."""

    provider: Provider
    scope: str  # the scanned scope this binding was read for
    principal: str  # Principal.uid
    target: str  # uid of the key, key store, resource group, scope, folder or organization
    level: ScopeLevel
    capabilities: frozenset[Capability]
    source: BindingSource
    conditional: bool = False  # a restricting condition applies (IAM condition, aws:SourceAccount, ...)
    inherited_from: str | None = None  # uid of the parent the binding was inherited from
    via: str | None = None  # the role, policy or grant that gave it (display only)
    # The grant is usable only through these services (AWS kms:ViaService / a grant for a service):
    # normalised service names, e.g. ("bedrock",) or ("s3",); empty when not restricted to services.
    via_services: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Inventories repeat the same principals, scopes and capability sets a million times over:
        # share one object for each (roughly halves the memory of a large inventory).
        object.__setattr__(self, "principal", sys.intern(self.principal))
        object.__setattr__(self, "scope", sys.intern(self.scope))
        object.__setattr__(self, "capabilities", _shared_capabilities(self.capabilities))


_CAPABILITY_SETS: dict[frozenset[Capability], frozenset[Capability]] = {}


def _shared_capabilities(capabilities: frozenset[Capability]) -> frozenset[Capability]:
    return _CAPABILITY_SETS.setdefault(capabilities, capabilities)


class Encryption(StrEnum):
    CUSTOMER_MANAGED = "customer_managed"  # a customer-managed key (CMEK / CMK / BYOK / HYOK)
    PROVIDER_MANAGED = (
        "provider_managed"  # the provider's own keys (AWS owned, Google default, Microsoft managed)
    )


class ResourceAspect(StrEnum):
    ENCRYPTION = "encryption"
    TAGS = "tags"  # the tenant tag (ai_workloads.tenant_tag) may be among the unread tags


@dataclass(frozen=True, slots=True, config=_STRICT)
class ProtectedResource:
    """A workload resource whose data a key protects (or should): AI resources first of all.

    ``ai_service`` names the AI service (normalised, from the provider's one table) when the resource is
    an AI workload; ``keys`` are the uids of the customer-managed keys protecting it, as
    ``Key.uid`` spells them (a key the scan could not see keeps the reference it was given).
    """

    provider: Provider
    uid: str
    scope: str
    service: str  # normalised, e.g. "sagemaker", "bedrock", "vertex_ai", "azure_openai"
    native_type: str  # e.g. AWS::SageMaker::EndpointConfig, aiplatform.googleapis.com/Endpoint
    location: str | None = None
    name: str | None = None
    ai_service: str | None = None  # None: not an AI workload
    encryption: Encryption | None = None  # None: not read
    keys: tuple[str, ...] = ()
    evidence: dict[str, str] = Field(default_factory=dict)  # where the key reference came from
    tags: dict[str, str] = Field(default_factory=dict)
    unreadable: frozenset[ResourceAspect] = frozenset()

    @property
    def is_ai(self) -> bool:
        return self.ai_service is not None


@dataclass(frozen=True, slots=True, config=_STRICT)
class AuditLogCoverage:
    """Whether key administration and key use are audit-logged for one target.

    The provider decides the targets its platform needs (AWS: each scanned region of an account,
    GCP: each project, Azure: each vault) and resolves its own semantics (multi-region trails,
    inherited audit configs, diagnostic category groups) into these two booleans.
    """

    provider: Provider
    scope: str
    location: str | None = None
    key_store: str | None = None
    admin_events: bool | None = None
    usage_events: bool | None = None
    sources: tuple[str, ...] = ()  # trail, audit config or diagnostic setting names
    detail: str | None = None


class ErrorClass(StrEnum):
    ACCESS_DENIED = "access_denied"
    THROTTLED = "throttled"
    NOT_FOUND = "not_found"
    NETWORK = "network"
    TIMEOUT = "timeout"
    SERVICE_ERROR = "service_error"
    MALFORMED_RESPONSE = "malformed_response"
    NOT_ENABLED = "not_enabled"
    OTHER = "other"


@dataclass(frozen=True, slots=True, config=_STRICT)
class CollectionError:
    provider: Provider
    scope: str
    api: str
    error_class: ErrorClass
    message: str
    location: str | None = None
    resource: str | None = None


@dataclass(frozen=True, slots=True, config=_STRICT)
class CollectionInfo:
    tool_version: str | None = None
    started_at: AwareDatetime | None = None
    finished_at: AwareDatetime | None = None
    providers: tuple[Provider, ...] = ()
    notes: dict[str, str] = Field(default_factory=dict)  # e.g. which enumeration path was used


# Normalised AI service names (the providers map their own principals and resource types onto these).
AI_SERVICES: frozenset[str] = frozenset(
    {
        "bedrock",
        "sagemaker",
        "comprehend",
        "kendra",
        "q",
        "rekognition",
        "textract",
        "transcribe",
        "translate",
        "lex",
        "polly",
        "personalize",
        "forecast",
        "vertex_ai",
        "document_ai",
        "dialogflow",
        "notebooks",
        "discovery_engine",
        "speech",
        "translation",
        "vision",
        "contact_center_ai",
        "azure_openai",
        "azure_ai_services",
        "azure_machine_learning",
        "azure_ai_search",
    }
)


@dataclass(frozen=True, slots=True)
class AiKeyUse:
    """Why a key counts as protecting AI workloads (derived by ``Inventory.ai_key_use``)."""

    key: str
    resources: tuple[str, ...] = ()  # AI resources encrypted with it
    services: tuple[str, ...] = ()  # AI services using it (from those resources, principals and grants)
    principals: tuple[str, ...] = ()  # AI service principals / agents / identities holding access to it


class Inventory(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: str = SCHEMA_VERSION
    collection: CollectionInfo = Field(default_factory=CollectionInfo)
    scopes: tuple[Scope, ...] = ()
    key_stores: tuple[KeyStore, ...] = ()
    keys: tuple[Key, ...] = ()
    principals: tuple[Principal, ...] = ()
    bindings: tuple[AccessBinding, ...] = ()
    audit_logging: tuple[AuditLogCoverage, ...] = ()
    resources: tuple[ProtectedResource, ...] = ()  # workloads that keys protect (AI resources)
    errors: tuple[CollectionError, ...] = ()

    @field_validator("schema_version")
    @classmethod
    def _same_major_version(cls, value: str) -> str:
        if value.split(".", maxsplit=1)[0] != SCHEMA_VERSION.split(".", maxsplit=1)[0]:
            raise ValueError(
                f"schema_version {value!r} is not supported (this keyaudit reads {SCHEMA_VERSION})"
            )
        return value

    # ---- derived look-ups (computed once; the model is immutable) ----
    @cached_property
    def scope_by_uid(self) -> dict[str, Scope]:
        return {s.uid: s for s in self.scopes}

    @cached_property
    def store_by_uid(self) -> dict[str, KeyStore]:
        return {s.uid: s for s in self.key_stores}

    @cached_property
    def principal_by_uid(self) -> dict[str, Principal]:
        return {p.uid: p for p in self.principals}

    @cached_property
    def _bindings_by_target(self) -> dict[str, list[AccessBinding]]:
        index: dict[str, list[AccessBinding]] = defaultdict(list)
        for binding in self.bindings:
            index[binding.target].append(binding)
        return dict(index)

    @cached_property
    def _keys_by_store(self) -> dict[str, list[Key]]:
        index: dict[str, list[Key]] = defaultdict(list)
        for key in self.keys:
            if key.store is not None:
                index[key.store].append(key)
        return dict(index)

    def keys_in_store(self, store_uid: str) -> list[Key]:
        return self._keys_by_store.get(store_uid, [])

    def principal(self, uid: str) -> Principal:
        """The principal record, or an UNKNOWN-kind placeholder when a binding names one not listed."""
        found = self.principal_by_uid.get(uid)
        return found if found is not None else Principal(uid=uid, kind=PrincipalKind.UNKNOWN)

    def targets_above(self, key: Key) -> list[str]:
        """Every uid a binding may target to apply to ``key``: the key, its store, container, scope, parents."""
        targets = [key.uid]
        store = self.store_by_uid.get(key.store) if key.store else None
        if key.store:
            targets.append(key.store)
        if store is not None and store.parent:
            targets.append(store.parent)
        if not key.inherits_access:
            return targets
        targets.append(key.scope)
        scope = self.scope_by_uid.get(key.scope)
        if scope is not None:
            targets.extend(parent.uid for parent in scope.parents)
        return targets

    def bindings_for(self, key: Key) -> Iterator[AccessBinding]:
        """Every binding that applies to ``key``, whatever the level it is attached at."""
        index = self._bindings_by_target
        for target in self.targets_above(key):
            yield from index.get(target, ())

    @cached_property
    def _effective_access_memo(self) -> dict[str, dict[str, frozenset[Capability]]]:
        return {}

    def effective_access(self, key: Key) -> Mapping[str, frozenset[Capability]]:
        """Union of capabilities per principal over every source and level (order-independent).

        Memoised per key: several segregation-of-duties rules ask for the same key.
        """
        memo = self._effective_access_memo
        found = memo.get(key.uid)
        if found is None:
            merged: dict[str, frozenset[Capability]] = {}
            for binding in self.bindings_for(key):
                previous = merged.get(binding.principal)
                merged[binding.principal] = (
                    binding.capabilities if previous is None else previous | binding.capabilities
                )
            memo[key.uid] = found = merged
        return found

    @cached_property
    def ai_key_use(self) -> dict[str, AiKeyUse]:
        """Keys protecting AI workloads, with why: the AI resources encrypted with them, and the AI
        service principals (or grants usable only through an AI service) that can use them."""
        resources: dict[str, list[str]] = defaultdict(list)
        services: dict[str, set[str]] = defaultdict(set)
        for resource in self.resources:
            if resource.ai_service is None:
                continue
            for key_uid in resource.keys:
                resources[key_uid].append(resource.uid)
                services[key_uid].add(resource.ai_service)
        by_target: dict[str, list[AccessBinding]] = defaultdict(list)
        principals = self.principal_by_uid
        for binding in self.bindings:
            principal = principals.get(binding.principal)
            if (principal is not None and principal.ai_service) or binding.via_services:
                by_target[binding.target].append(binding)
        granted: dict[str, set[str]] = defaultdict(set)
        if by_target:
            for key in self.keys:
                for target in self.targets_above(key):
                    for binding in by_target.get(target, ()):
                        principal = principals.get(binding.principal)
                        ai_service = principal.ai_service if principal is not None else None
                        ai_via = [v for v in binding.via_services if v in AI_SERVICES]
                        if ai_service:
                            granted[key.uid].add(binding.principal)
                            services[key.uid].add(ai_service)
                        for service in ai_via:
                            services[key.uid].add(service)
        return {
            uid: AiKeyUse(
                key=uid,
                resources=tuple(sorted(resources.get(uid, ()))),
                services=tuple(sorted(services[uid])),
                principals=tuple(sorted(granted.get(uid, ()))),
            )
            for uid in sorted(services)
        }

    def errors_for_scope(self, scope_uid: str) -> list[CollectionError]:
        return [e for e in self.errors if e.scope == scope_uid]


class InventoryLoadError(ValueError):
    """The inventory file could not be read; the message names the file and the place."""


def load_inventory(path: Path) -> Inventory:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InventoryLoadError(f"{path}: cannot read inventory: {exc.strerror or exc}") from exc
    # Building millions of objects would otherwise trigger the cyclic collector over and over
    # (measured: load time x3); nothing built here forms reference cycles worth collecting.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return Inventory.model_validate_json(raw)
    except ValidationError as exc:
        raise InventoryLoadError(_describe_validation_error(path, exc)) from exc
    finally:
        if was_enabled:
            gc.enable()


def _describe_validation_error(path: Path, exc: ValidationError) -> str:
    lines = [f"{path}: not a valid keyaudit inventory ({exc.error_count()} problem(s)):"]
    for error in exc.errors()[:20]:
        where = _json_path(error["loc"])
        if error["type"] == "json_invalid":
            lines.append(f"  {error['msg']}: {error.get('ctx', {}).get('error', '')}".rstrip())
        else:
            lines.append(f"  at {where or '(top level)'}: {error['msg']}")
    if exc.error_count() > 20:
        lines.append(f"  ... and {exc.error_count() - 20} more")
    return "\n".join(lines)


def _json_path(loc: Iterable[Any]) -> str:
    """``keys[0].tags``; a name that is not plain text is written ``tags["a b"]``, JSON-escaped, so a key
    in the file can neither hide the place nor put line breaks or terminal escapes into the message."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_NAME.fullmatch(text := str(part)) and text.isprintable():
            out += f".{text}" if out else text
        else:
            out += f"[{json.dumps(text)}]"
    return out


_PLAIN_NAME = re.compile(r"[^\s.\[\]\"'\\]+")
