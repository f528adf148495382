"""Normalise (pure): raw GCP responses -> the provider-neutral inventory. No I/O here.

GCP semantics resolved at this boundary:

* IAM is inherited: bindings of the organization, the folders, the project and the key ring all apply
  to a key. Each is recorded at its own level and target (the organization / folder resource name, the
  project id, the ring name, the key name), so ``Inventory.effective_access`` unites them whatever the
  order of bindings or members.
* A role whose permissions are not known (an unresolved custom role, a predefined role missing from
  ``providers.gcp.permissions``) gives no binding: the access it gives is UNKNOWN (the ``access``
  aspect of the affected keys, or of the project for project/folder/organization bindings) and a
  CollectionError names the role. It is never read as "no access".
* Admin Activity audit logs (key administration) are always written; key use is logged only where the
  DATA_READ Data Access log is on for Cloud KMS, in the audit configs of the project or of any ancestor.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from providers.gcp.ai import ASSET_TYPES, ai_service_of_member, key_uid
from providers.gcp.collect import (
    CUSTOM_ROLE_PREFIXES,
    RawCryptoKey,
    RawGcpEstate,
    RawKeyRing,
    RawProject,
)
from providers.gcp.iam import (
    IamPolicyError,
    audit_configs,
    kms_audit_logging,
    merge_audit_configs,
    normalize_policy,
)
from scanner.inventory import (
    AccessBinding,
    AuditLogCoverage,
    BindingSource,
    CollectionError,
    CollectionInfo,
    Encryption,
    ErrorClass,
    Inventory,
    Key,
    KeyAspect,
    KeyOrigin,
    KeyPurpose,
    KeyState,
    KeyStore,
    KeyStoreAspect,
    KeyStoreKind,
    KeyType,
    KeyVersion,
    Principal,
    ProtectedResource,
    ProtectionLevel,
    Provider,
    ResourceAspect,
    Rotation,
    Scope,
    ScopeAspect,
    ScopeKind,
    ScopeLevel,
    ScopeRef,
)

NATIVE_KEY_TYPE = "cloudkms.googleapis.com/CryptoKey"
NATIVE_KEY_RING_TYPE = "cloudkms.googleapis.com/KeyRing"
NATIVE_EKM_CONNECTION_TYPE = "cloudkms.googleapis.com/EkmConnection"
_DAY = 86400

PURPOSES: Mapping[str, KeyPurpose] = {
    "ENCRYPT_DECRYPT": KeyPurpose.ENCRYPT,
    "ASYMMETRIC_DECRYPT": KeyPurpose.ENCRYPT,
    "RAW_ENCRYPT_DECRYPT": KeyPurpose.ENCRYPT,
    "AES_WRAPPING": KeyPurpose.ENCRYPT,
    "ASYMMETRIC_SIGN": KeyPurpose.SIGN,
    "MAC": KeyPurpose.MAC,
    "KEY_ENCAPSULATION": KeyPurpose.KEY_AGREEMENT,  # key establishment (ML-KEM)
}

PROTECTION_LEVELS: Mapping[str, ProtectionLevel] = {
    "SOFTWARE": ProtectionLevel.SOFTWARE,
    "HSM": ProtectionLevel.HSM,
    "HSM_SINGLE_TENANT": ProtectionLevel.DEDICATED_HSM,
    "EXTERNAL": ProtectionLevel.EXTERNAL,
    "EXTERNAL_VPC": ProtectionLevel.EXTERNAL,
}

VERSION_STATES: Mapping[str, KeyState] = {
    "ENABLED": KeyState.ENABLED,
    "DISABLED": KeyState.DISABLED,
    "DESTROY_SCHEDULED": KeyState.PENDING_DELETION,
    "DESTROYED": KeyState.DESTROYED,
    "PENDING_IMPORT": KeyState.PENDING_IMPORT,
    "PENDING_GENERATION": KeyState.UNAVAILABLE,
    "IMPORT_FAILED": KeyState.UNAVAILABLE,
    "GENERATION_FAILED": KeyState.UNAVAILABLE,
    # Destruction of the external key was requested from the external key manager.
    "PENDING_EXTERNAL_DESTRUCTION": KeyState.PENDING_DELETION,
    "EXTERNAL_DESTRUCTION_FAILED": KeyState.UNAVAILABLE,
}

# Algorithm -> (key type, size in bits, canonical curve), for names the patterns below do not cover.
_ALGORITHMS: Mapping[str, tuple[KeyType, int | None, str | None]] = {
    "GOOGLE_SYMMETRIC_ENCRYPTION": (KeyType.SYMMETRIC, 256, None),  # AES-256-GCM
    "EXTERNAL_SYMMETRIC_ENCRYPTION": (KeyType.SYMMETRIC, None, None),  # held by the external key manager
    "EC_SIGN_P256_SHA256": (KeyType.EC, 256, "P-256"),
    "EC_SIGN_P384_SHA384": (KeyType.EC, 384, "P-384"),
    "EC_SIGN_SECP256K1_SHA256": (KeyType.EC, 256, "secp256k1"),
    "EC_SIGN_ED25519": (KeyType.EC, 255, "Ed25519"),
}
_AES = re.compile(r"AES_(?P<bits>128|192|256)_(?:GCM|CBC|CTR)")
_RSA = re.compile(r"RSA_(?:SIGN|DECRYPT)_[A-Z0-9_]*?_(?P<bits>2048|3072|4096)(?:_|$)")
_FRACTION = re.compile(r"(\.\d+)")
_HMAC = re.compile(r"HMAC_SHA(?P<bits>1|224|256|384|512)")


def algorithm_spec(algorithm: str | None) -> tuple[KeyType, int | None, str | None] | None:
    """Key type, size and curve of a CryptoKeyVersionAlgorithm name; None when not read."""
    if not algorithm or algorithm == "CRYPTO_KEY_VERSION_ALGORITHM_UNSPECIFIED":
        return None
    found = _ALGORITHMS.get(algorithm)
    if found is not None:
        return found
    if matched := _AES.fullmatch(algorithm):
        return KeyType.SYMMETRIC, int(matched["bits"]), None
    if matched := _RSA.match(algorithm):
        return KeyType.RSA, int(matched["bits"]), None
    if matched := _HMAC.fullmatch(algorithm):
        bits = int(matched["bits"])
        return KeyType.HMAC, 160 if bits == 1 else bits, None
    return KeyType.OTHER, None, None  # post-quantum (ML-DSA, SLH-DSA, ML-KEM) and newer algorithms


def normalise(estate: RawGcpEstate, info: CollectionInfo | None = None) -> Inventory:
    ekm_modes = {
        connection.name: str(connection.connection.get("keyManagementMode") or "MANUAL")
        for raw in estate.projects
        for connection in raw.ekm_connections
    }
    parts = [_Project(raw, estate.custom_roles, estate.role_errors, ekm_modes) for raw in estate.projects]
    principals: dict[str, Principal] = {}
    for part in parts:
        for principal in part.principals.values():
            principals.setdefault(principal.uid, principal)
    return Inventory(
        collection=info or CollectionInfo(providers=(Provider.GCP,), notes={"gcp_path": "per_project"}),
        scopes=tuple(part.scope for part in parts),
        key_stores=tuple(store for part in parts for store in part.stores),
        keys=tuple(key for part in parts for key in part.keys),
        principals=tuple(principals[uid] for uid in sorted(principals)),
        bindings=_without_repeated_ancestor_bindings(parts),
        audit_logging=tuple(part.audit for part in parts if part.audit is not None),
        resources=tuple(resource for part in parts for resource in part.resources),
        errors=(*estate.errors, *(error for part in parts for error in part.errors)),
    )


def _without_repeated_ancestor_bindings(parts: list[_Project]) -> tuple[AccessBinding, ...]:
    """Every project reads its folders' and organization's policies; keep each of those bindings once
    (an organization of thousands of projects would otherwise repeat its bindings thousands of times)."""
    seen: set[tuple[Any, ...]] = set()
    kept: list[AccessBinding] = []
    for part in parts:
        for binding in part.bindings:
            if binding.level in (ScopeLevel.ORGANIZATION, ScopeLevel.FOLDER):
                identity = (
                    binding.principal,
                    binding.target,
                    binding.capabilities,
                    binding.conditional,
                    binding.via,
                )
                if identity in seen:
                    continue
                seen.add(identity)
            kept.append(binding)
    return tuple(kept)


def _scope_kind(name: str) -> ScopeKind:
    return ScopeKind.GCP_ORGANIZATION if name.startswith("organizations/") else ScopeKind.GCP_FOLDER


def _level(name: str) -> ScopeLevel:
    return ScopeLevel.ORGANIZATION if name.startswith("organizations/") else ScopeLevel.FOLDER


class _Project:
    """Normalises one project. Built in one go; attributes are the finished inventory parts."""

    def __init__(
        self,
        raw: RawProject,
        custom_roles: Mapping[str, Iterable[str]],
        role_errors: Mapping[str, tuple[ErrorClass, str]] | None = None,
        ekm_modes: Mapping[str, str] | None = None,
    ) -> None:
        self.raw = raw
        self.ekm_modes = ekm_modes or {}
        self.role_errors = role_errors or {}
        self.pid = raw.project_id
        self.custom_roles = custom_roles
        self.principals: dict[str, Principal] = {}
        self.bindings: list[AccessBinding] = []
        self.stores: list[KeyStore] = []
        self.keys: list[Key] = []
        self.errors: list[CollectionError] = []  # found while normalising (unknown roles, bad policies)
        self._reported_roles: set[tuple[str, str]] = set()
        self.gaps: set[ScopeAspect] = set()

        project_policy_ok = self._bind(raw.policy, self.pid, ScopeLevel.SCOPE, None, raw.resource)
        if raw.policy is None or not project_policy_ok:
            self.gaps.add(ScopeAspect.ACCESS)
        hierarchy_ok = raw.ancestry_complete
        for ancestor in raw.ancestors:
            ok = self._bind(
                ancestor.policy, ancestor.name, _level(ancestor.name), ancestor.name, ancestor.name
            )
            if ancestor.policy is None:
                hierarchy_ok = False
            elif not ok:
                self.gaps.add(ScopeAspect.ACCESS)
        if not hierarchy_ok:
            self.gaps.add(ScopeAspect.HIERARCHY)
        if raw.locations is None:
            self.gaps.add(ScopeAspect.KEYS)
        for location in raw.locations or ():
            if location.key_rings is None:
                self.gaps.add(ScopeAspect.KEYS)
            for ring in location.key_rings or ():
                self._key_ring(ring)
        for connection in raw.ekm_connections:
            self.stores.append(
                KeyStore(
                    provider=Provider.GCP,
                    kind=KeyStoreKind.GCP_EKM_CONNECTION,
                    uid=connection.name,
                    scope=self.pid,
                    location=connection.location,
                    name=connection.name.rsplit("/", 1)[-1],
                    native_type=NATIVE_EKM_CONNECTION_TYPE,
                )
            )
        if raw.ai_assets is None:
            self.gaps.add(ScopeAspect.AI_RESOURCES)
        self.resources = [_ai_resource(asset, self.pid) for asset in raw.ai_assets or ()]
        # Key use is logged where keys live: a project whose complete listing found no Cloud KMS resource
        # (one holding only AI resources, say) has nothing to log.
        holds_keys = bool(self.stores) or ScopeAspect.KEYS in self.gaps
        self.audit = self._audit() if holds_keys else None
        if self.audit is not None and self.audit.usage_events is None:
            self.gaps.add(ScopeAspect.AUDIT_LOGGING)
        self.scope = Scope(
            provider=Provider.GCP,
            kind=ScopeKind.GCP_PROJECT,
            uid=self.pid,
            name=raw.display_name,
            parents=tuple(
                ScopeRef(kind=_scope_kind(a.name), uid=a.name, name=a.display_name) for a in raw.ancestors
            ),
            locations=tuple(location.location_id for location in raw.locations or ()),
            unreadable=frozenset(self.gaps),
        )

    # ------------------------------------------------------------------ IAM
    def _bind(
        self,
        policy: Mapping[str, Any] | None,
        target: str,
        level: ScopeLevel,
        inherited_from: str | None,
        resource: str | None,
    ) -> bool:
        """Bindings of one allow policy on ``target``; False when part of the access it gives is unknown."""
        if policy is None:
            return False
        try:
            grants = normalize_policy(policy, self.custom_roles)
        except IamPolicyError as exc:
            self.errors.append(
                CollectionError(
                    provider=Provider.GCP,
                    scope=self.pid,
                    api="iam.getIamPolicy",
                    error_class=ErrorClass.MALFORMED_RESPONSE,
                    message=f"IAM policy of {resource or target}: {exc}",
                    resource=resource or target,
                )
            )
            return False
        complete = True
        for grant in grants:
            if grant.member not in self.principals:
                self.principals[grant.member] = Principal(
                    uid=grant.member, kind=grant.kind, ai_service=ai_service_of_member(grant.member)
                )
            if grant.capabilities is None:
                complete = False
                self._unknown_role(grant.role, resource or target)
                continue
            if not grant.capabilities:
                continue  # a role with no power over keys (e.g. a viewer of another service)
            self.bindings.append(
                AccessBinding(
                    provider=Provider.GCP,
                    scope=self.pid,
                    principal=grant.member,
                    target=target,
                    level=level,
                    capabilities=grant.capabilities,
                    source=BindingSource.IAM_POLICY,
                    conditional=grant.conditional,
                    inherited_from=inherited_from,
                    via=grant.role,
                )
            )
        return complete

    def _unknown_role(self, role: str, resource: str) -> None:
        if (role, resource) in self._reported_roles:
            return
        self._reported_roles.add((role, resource))
        error_class = ErrorClass.OTHER
        if role in self.role_errors:
            error_class, reason = self.role_errors[role]
            why = f"its definition could not be read ({reason}), so the access it grants is unknown"
        elif role.startswith(CUSTOM_ROLE_PREFIXES):
            why = "its definition was not read, so the access it grants is unknown"
        else:
            why = (
                "the role is not in keyaudit's table of predefined roles, so the access it grants is unknown"
            )
        self.errors.append(
            CollectionError(
                provider=Provider.GCP,
                scope=self.pid,
                api="iam.roles.get",
                error_class=error_class,
                message=f"role {role} bound on {resource}: {why}",
                resource=role,
            )
        )

    # ------------------------------------------------------------------ Cloud KMS
    def _key_ring(self, raw: RawKeyRing) -> None:
        gaps: set[KeyStoreAspect] = set()
        ring_complete = self._bind(raw.policy, raw.name, ScopeLevel.KEY_STORE, None, raw.name)
        if not ring_complete:
            gaps.add(KeyStoreAspect.ACCESS)
        if raw.keys is None:
            gaps.add(KeyStoreAspect.KEYS)
            self.gaps.add(ScopeAspect.KEYS)
        self.stores.append(
            KeyStore(
                provider=Provider.GCP,
                kind=KeyStoreKind.GCP_KEY_RING,
                uid=raw.name,
                scope=self.pid,
                location=raw.location,
                name=raw.name.rsplit("/", 1)[-1],
                native_type=NATIVE_KEY_RING_TYPE,
                unreadable=frozenset(gaps),
            )
        )
        # An unknown role on the ring makes the access of every key in it unknown.
        ring_unknown = raw.policy is not None and not ring_complete
        for key in raw.keys or ():
            self.keys.append(self._key(key, raw, ring_unknown))

    def _key(self, raw: RawCryptoKey, ring: RawKeyRing, ring_unknown: bool) -> Key:
        data = raw.key
        gaps: set[KeyAspect] = set()
        if not self._bind(raw.policy, raw.name, ScopeLevel.KEY, None, raw.name) or ring_unknown:
            gaps.add(KeyAspect.ACCESS)
        if raw.versions is None:
            gaps.add(KeyAspect.VERSIONS)
        template = data.get("versionTemplate") or {}
        primary = data.get("primary") or None
        algorithm = _algorithm_in_use(template, primary, raw.versions)
        spec = algorithm_spec(algorithm)
        protection_name = template.get("protectionLevel") or (primary or {}).get("protectionLevel")
        protection = PROTECTION_LEVELS.get(protection_name) if protection_name else None
        purpose_name = data.get("purpose")
        purpose = PURPOSES.get(purpose_name) if purpose_name else None
        if purpose_name and purpose is None and purpose_name != "CRYPTO_KEY_PURPOSE_UNSPECIFIED":
            purpose = KeyPurpose.OTHER
        if data.get("importOnly"):
            origin: KeyOrigin | None = KeyOrigin.IMPORTED
        elif protection is not None:  # a protection level keyaudit does not know says nothing of origin
            origin = KeyOrigin.EXTERNAL if protection is ProtectionLevel.EXTERNAL else KeyOrigin.GENERATED
        else:
            origin = None
        # Values keyaudit does not know (or missing) stay None, so rules say UNKNOWN; the errors make
        # them coverage findings too.
        for aspect, api, unexpected in (
            (KeyAspect.METADATA, "cloudkms.cryptoKeys.list", _unexpected_key_values(data, protection_name)),
            (KeyAspect.VERSIONS, "cloudkms.cryptoKeyVersions.list", _unexpected_version_values(raw.versions)),
        ):
            if not unexpected:
                continue
            gaps.add(aspect)
            self.errors.append(
                CollectionError(
                    provider=Provider.GCP,
                    scope=self.pid,
                    location=ring.location,
                    api=api,
                    error_class=ErrorClass.MALFORMED_RESPONSE,
                    message=f"values keyaudit does not know or missing: {', '.join(unexpected)}"[:500],
                    resource=raw.name,
                )
            )
        versions = tuple(_version(v) for v in raw.versions or ())
        state = _key_state(primary, versions if raw.versions is not None else None)
        rotation_period = _seconds(data.get("rotationPeriod"))
        scheduled = None
        if state is KeyState.PENDING_DELETION and primary is not None:
            scheduled = _time(primary.get("destroyTime"))
        window = _seconds(data.get("destroyScheduledDuration"))
        return Key(
            provider=Provider.GCP,
            uid=raw.name,
            scope=self.pid,
            location=ring.location,
            store=ring.name,
            name=raw.name.rsplit("/", 1)[-1],
            native_type=NATIVE_KEY_TYPE,
            purpose=purpose,
            key_type=None if spec is None else spec[0],
            algorithm=algorithm,
            size_bits=None if spec is None else spec[1],
            curve=None if spec is None else spec[2],
            protection=protection,
            origin=origin,
            state=state,
            rotation=Rotation(
                enabled=rotation_period is not None,
                # Rounded up: 90 days and one second is longer than a 90-day maximum.
                period_days=None if rotation_period is None else -(-rotation_period // _DAY),
                next_rotation=_time(data.get("nextRotationTime")),
            ),
            auto_rotation_supported=self._auto_rotation_supported(data, purpose_name, protection_name),
            created=_time(data.get("createTime")),
            scheduled_deletion=scheduled,
            deletion_window_days=None if window is None else window // _DAY,
            # A key in a multi-region location ("global", "europe", ...) is still one key.
            multi_region=False,
            exportable=False,  # Cloud KMS never releases key material
            tags=dict(data.get("labels") or {}),
            versions=versions,
            unreadable=frozenset(gaps),
        )

    def _auto_rotation_supported(
        self, data: Mapping[str, Any], purpose_name: str | None, protection_name: str | None
    ) -> bool | None:
        """Cloud KMS rotates symmetric ENCRYPT_DECRYPT keys it can create versions of: its own, and
        coordinated external keys (EXTERNAL_VPC behind an EKM connection in CLOUD_KMS key management
        mode); never asymmetric, MAC or manually managed external keys."""
        if purpose_name is None or protection_name is None:
            return None
        if purpose_name != "ENCRYPT_DECRYPT":
            return False
        if protection_name == "EXTERNAL":
            return False
        if protection_name == "EXTERNAL_VPC":
            backend = str(data.get("cryptoKeyBackend") or "")
            if "/ekmConnections/" not in backend:
                return False
            mode = self.ekm_modes.get(backend)
            return None if mode is None else mode == "CLOUD_KMS"
        return True

    # ------------------------------------------------------------------ audit logs
    def _audit(self) -> AuditLogCoverage:
        raw = self.raw
        # Organization first, then folders, then the project: configs add up down the hierarchy.
        levels = [(a.name, a.policy) for a in reversed(raw.ancestors)]
        levels.append((raw.resource or f"projects/{self.pid}", raw.policy))
        unread = [name for name, policy in levels if policy is None]
        if not raw.ancestry_complete:
            unread.append("the parents above " + (levels[0][0] if raw.ancestors else "the project"))
        if unread:
            return AuditLogCoverage(
                provider=Provider.GCP,
                scope=self.pid,
                admin_events=True,  # Admin Activity audit logs are always written
                detail="audit configs not read for " + ", ".join(unread),
            )
        try:
            configs = [(name, audit_configs(policy)) for name, policy in levels]
            logging = kms_audit_logging(merge_audit_configs(c for _, c in configs))
        except IamPolicyError as exc:
            return AuditLogCoverage(
                provider=Provider.GCP,
                scope=self.pid,
                admin_events=True,
                detail=f"audit configs malformed: {exc}",
            )
        sources = []
        for name, level_configs in configs:
            if kms_audit_logging(level_configs).data_read_logged:
                sources.append(f"{name}:auditConfigs")
        exempted = sorted(logging.exempted_members.get("DATA_READ", ()))
        detail = None
        if logging.data_read_logged and exempted:
            # Key use by an exempted member is not logged (CIS GCP 2.1: no exemptions).
            detail = "DATA_READ is on for cloudkms but exempts " + ", ".join(exempted)
        elif not logging.data_read_logged:
            detail = "DATA_READ Data Access logs are off for cloudkms.googleapis.com"
        return AuditLogCoverage(
            provider=Provider.GCP,
            scope=self.pid,
            admin_events=True,
            usage_events=logging.data_read_logged and not exempted,
            sources=tuple(sources),
            detail=detail,
        )


def _ai_resource(asset: Mapping[str, Any], project_id: str) -> ProtectedResource:
    """One AI resource from its Cloud Asset Inventory asset: its customer-managed keys, or Google's own
    encryption where no key is named. ``resource.data`` missing (Cloud Asset listed the resource without
    its content) leaves the encryption unread."""
    asset_type = str(asset.get("assetType", ""))
    found = asset.get("resource")
    resource: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    data = resource.get("data")
    name = str(asset.get("name", ""))
    kind = ASSET_TYPES.get(asset_type)
    common: dict[str, Any] = {
        "provider": Provider.GCP,
        "uid": name,
        "scope": project_id,
        "service": kind.service if kind else asset_type.split(".", 1)[0],
        "native_type": asset_type,
        "location": resource.get("location") or None,
        "ai_service": kind.ai_service if kind else None,
    }
    if kind is None or not isinstance(data, Mapping):
        return ProtectedResource(
            **common, name=name.rsplit("/", 1)[-1] or None, unreadable=frozenset({ResourceAspect.ENCRYPTION})
        )
    slots = list(kind.slots(data))
    keys = tuple(dict.fromkeys(key_uid(slot.value) for slot in slots if slot.value))
    # Every part the resource holds (each disk of a Workbench instance) must name a key: one part under
    # Google's own key leaves that part's data outside customer key management.
    protected = bool(slots) and all(slot.value for slot in slots)
    labels = data.get("labels")
    return ProtectedResource(
        **common,
        name=str(data.get("displayName") or name.rsplit("/", 1)[-1]) or None,
        encryption=Encryption.CUSTOMER_MANAGED if protected else Encryption.PROVIDER_MANAGED,
        keys=keys,
        evidence={
            "field": ", ".join(slot.field for slot in slots),
            "value": ", ".join(slot.value or "(not set: Google default encryption)" for slot in slots),
        },
        tags={str(k): str(v) for k, v in labels.items()} if isinstance(labels, Mapping) else {},
    )


def _algorithm_in_use(
    template: Mapping[str, Any], primary: Mapping[str, Any] | None, versions: list[dict[str, Any]] | None
) -> str | None:
    """The weakest algorithm of the key material that can still be used: the primary version and every
    enabled version. The version template only says what *new* versions get (it can be raised while
    older, weaker versions stay enabled); it is used when no version was read."""
    in_use = [primary.get("algorithm")] if primary else []
    in_use += [v.get("algorithm") for v in versions or () if v.get("state") == "ENABLED"]
    candidates = [a for a in in_use if isinstance(a, str) and a]
    if not candidates:
        found = template.get("algorithm") or (primary or {}).get("algorithm")
        return str(found) if found else None

    def strength(name: str) -> tuple[int, str]:
        spec = algorithm_spec(name)
        return (spec[1] if spec is not None and spec[1] is not None else 1 << 20, name)

    return min(candidates, key=strength)


def _unexpected_key_values(data: Mapping[str, Any], protection_name: Any) -> list[str]:
    """Enumerations Google extends over time. The REST clients ask for integer enums and keep a number
    they do not know as that number; a name they do not know is dropped, so a field every CryptoKey has
    (purpose, a protection level) may also arrive missing. Either way the value is unknown and must be
    reported, not read as absent."""
    found = []
    if not data.get("purpose"):
        found.append("purpose missing")
    if not protection_name:
        found.append("protectionLevel missing")
    elif protection_name not in PROTECTION_LEVELS:
        found.append(f"protectionLevel={protection_name!r}")
    primary = data.get("primary") or {}
    if primary.get("state") is not None and primary["state"] not in VERSION_STATES:
        found.append(f"primary state={primary['state']!r}")
    return found


def _unexpected_version_values(versions: list[dict[str, Any]] | None) -> list[str]:
    """Every listed CryptoKeyVersion has a state and a protection level (see above)."""
    found = []
    for version in versions or ():
        number = str(version.get("name", "?")).rsplit("/", 1)[-1]
        for name, known in (("state", VERSION_STATES), ("protectionLevel", PROTECTION_LEVELS)):
            value = version.get(name)
            if value is None:
                found.append(f"version {number} {name} missing")
            elif value not in known:
                found.append(f"version {number} {name}={value!r}")
    return found


def _version(data: Mapping[str, Any]) -> KeyVersion:
    state = data.get("state")
    protection = data.get("protectionLevel")
    return KeyVersion(
        uid=str(data.get("name", "")),
        state=VERSION_STATES.get(state) if state else None,
        created=_time(data.get("createTime")),
        protection=PROTECTION_LEVELS.get(protection) if protection else None,
        scheduled_destruction=_time(data.get("destroyTime")) if state == "DESTROY_SCHEDULED" else None,
    )


def _key_state(primary: Mapping[str, Any] | None, versions: tuple[KeyVersion, ...] | None) -> KeyState | None:
    """The primary version's state; without a primary (asymmetric keys), from all versions."""
    if primary is not None and primary.get("state"):
        return VERSION_STATES.get(primary["state"])
    if versions is None:
        return None
    states = {v.state for v in versions}
    for candidate in (
        KeyState.ENABLED,
        KeyState.DISABLED,
        KeyState.PENDING_IMPORT,
        KeyState.PENDING_DELETION,
        KeyState.UNAVAILABLE,
    ):
        if candidate in states:
            return candidate
    if versions and states == {KeyState.DESTROYED}:
        return KeyState.DESTROYED
    return None  # no version at all (or none with a known state)


def _seconds(value: Any) -> int | None:
    """A protobuf Duration in JSON ("7776000s", "86400.5s") as whole seconds."""
    if not isinstance(value, str) or not value.endswith("s"):
        return None
    try:
        return int(float(value[:-1]))
    except ValueError:
        return None


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    # Python 3.11 reads at most microseconds: protobuf JSON may carry nanoseconds.
    text = _FRACTION.sub(lambda m: m[1][:7], value.replace("Z", "+00:00"))
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
