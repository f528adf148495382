"""Normalise (pure): raw Azure responses -> the provider-neutral inventory. No I/O here.

Azure semantics resolved at this boundary:

* **Where a role assignment applies.** ``list_for_subscription`` returns every assignment that applies to
  the subscription: those of its management groups and the tenant root (recorded on the subscription at
  level ``management_group``, ``inherited_from`` the group), of the subscription, its resource groups, its
  vaults and their keys. Scopes compare case-insensitively (ARM ids are not case-sensitive).
* **What a role gives depends on the key store.** On an RBAC vault, data actions decide key use and
  ``roleAssignments/write`` administers access; on an access-policy vault RBAC data actions do nothing,
  while ``vaults/write`` lets a Contributor grant itself an access policy (Microsoft documents this); a
  Managed HSM obeys only its own local RBAC. An assignment above the vaults (subscription, resource group,
  management group) is recorded there with what it gives on *every* store below it, and per store with
  what it gives only there (``inherited_from`` the assignment's scope).
* **Access policies** (non-RBAC vaults) are bindings on the vault with their key permissions.
* **Unknown roles** (a definition that could not be read and is not built in) give no binding: the
  access of the affected stores and keys is UNKNOWN and a collection error names the role.
* **Keys**: ``-HSM`` key types are HSM-protected, keys of a Managed HSM single-tenant HSM-protected,
  others software-protected. A rotation policy rotates the key only through a ``Rotate`` lifetime action
  (a policy always exists, with a default ``Notify``). Keys read only through ARM (data plane refused)
  have their rotation policy unknown.
* **Audit logging per store**: a diagnostic setting that sends the ``AuditEvent`` category, or the
  ``audit`` or ``allLogs`` category group, to a destination logs both key administration and key use.
* **AI resources** (``providers.azure.ai``): their encryption and keys, spelled as the keys of the vaults
  this scan read; their managed identities are AI service principals. A subscription whose AI resources
  could not all be listed has ``ai_resources`` unreadable.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from providers.azure import ai
from providers.azure.collect import RawAzureEstate, RawKey, RawStore, RawSubscription
from providers.azure.permissions import (
    AccessModel,
    access_policy_capabilities,
    capabilities_for_permissions,
    capabilities_for_role,
    role_guid,
)
from scanner.inventory import (
    AccessBinding,
    AuditLogCoverage,
    BindingSource,
    Capability,
    CollectionError,
    CollectionInfo,
    DeletionProtection,
    ErrorClass,
    Inventory,
    Key,
    KeyAspect,
    KeyPurpose,
    KeyState,
    KeyStore,
    KeyStoreAspect,
    KeyStoreKind,
    KeyType,
    NetworkAccess,
    Principal,
    PrincipalKind,
    ProtectedResource,
    ProtectionLevel,
    Provider,
    Rotation,
    Scope,
    ScopeAspect,
    ScopeKind,
    ScopeLevel,
    ScopeRef,
)

VAULT_KEY_TYPE = "Microsoft.KeyVault/vaults/keys"
HSM_KEY_TYPE = "Microsoft.KeyVault/managedHSMs/keys"
_MG_PREFIX = "/providers/microsoft.management/managementgroups/"
_AUDIT_GROUPS = {"audit", "alllogs"}
_DESTINATIONS = ("workspaceId", "storageAccountId", "eventHubAuthorizationRuleId", "marketplacePartnerId")
_PRINCIPAL_KINDS = {
    "user": PrincipalKind.USER,
    "group": PrincipalKind.GROUP,
    "foreigngroup": PrincipalKind.GROUP,
    "serviceprincipal": PrincipalKind.ROLE,  # applications and managed identities
}
_CURVES = {
    "P-256": "P-256",
    "P-384": "P-384",
    "P-521": "P-521",
    "P-256K": "secp256k1",
    "SECP256K1": "secp256k1",
}
_ENCRYPT_OPS = {"encrypt", "decrypt", "wrapkey", "unwrapkey"}
_SIGN_OPS = {"sign", "verify"}
_DURATION = re.compile(r"P(?:(?P<y>\d+)Y)?(?:(?P<m>\d+)M)?(?:(?P<d>\d+)D)?(?:T.*)?$", re.IGNORECASE)


def normalise(estate: RawAzureEstate, info: CollectionInfo | None = None) -> Inventory:
    kinds = _principal_kinds(estate)
    parts = [_Subscription(raw, estate, kinds) for raw in estate.subscriptions]
    principals: dict[str, Principal] = {}
    for part in parts:
        for uid in part.principals:
            principals.setdefault(uid, Principal(uid=uid, kind=kinds.get(uid.lower(), PrincipalKind.UNKNOWN)))
    resources = _ai_resources(estate, parts, principals, kinds)
    return Inventory(
        collection=info or CollectionInfo(providers=(Provider.AZURE,)),
        scopes=tuple(part.scope for part in parts),
        key_stores=tuple(store for part in parts for store in part.stores),
        keys=tuple(key for part in parts for key in part.keys),
        principals=tuple(principals[uid] for uid in sorted(principals)),
        bindings=tuple(binding for part in parts for binding in part.bindings),
        audit_logging=tuple(coverage for part in parts for coverage in part.audit),
        resources=tuple(resources),
        errors=(*estate.errors, *(error for part in parts for error in part.errors)),
    )


def _ai_resources(
    estate: RawAzureEstate,
    parts: list[_Subscription],
    principals: dict[str, Principal],
    kinds: Mapping[str, PrincipalKind],
) -> list[ProtectedResource]:
    """The AI resources of every subscription, their keys spelled as the inventory's; their managed
    identities become AI service principals in ``principals`` (a managed identity is a service principal)."""
    stores = ai.KeyStoreIndex(
        (store.resource for raw in estate.subscriptions for store in raw.stores or ()),
        (key.uid for part in parts for key in part.keys),
    )
    resources, identities = ai.normalise_ai(
        [(raw.subscription_id, raw.ai_resources) for raw in estate.subscriptions], stores
    )
    # Role assignments and access policies spell object ids as they please: match them case-insensitively.
    spelled = {uid.lower(): uid for uid in principals}
    for principal_id, service in sorted(identities.items()):
        uid = spelled.get(principal_id.lower(), principal_id)
        known = principals.get(uid)
        kind = kinds.get(uid.lower(), PrincipalKind.ROLE)
        if known is not None and known.kind is not PrincipalKind.UNKNOWN:
            kind = known.kind
        principals[uid] = Principal(uid=uid, kind=kind, ai_service=service)
    return resources


def _principal_kinds(estate: RawAzureEstate) -> dict[str, PrincipalKind]:
    """Object id -> kind, from the principal types role assignments carry (access policies carry none)."""
    kinds: dict[str, PrincipalKind] = {}
    for raw in estate.subscriptions:
        for assignment in raw.role_assignments or ():
            props = assignment.get("properties") or {}
            principal = str(props.get("principalId") or "").lower()
            kind = _PRINCIPAL_KINDS.get(str(props.get("principalType") or "").lower())
            if principal and kind is not None:
                kinds[principal] = kind
    return kinds


class _Subscription:
    """Normalises one subscription. Built in one go; attributes are the finished inventory parts."""

    def __init__(
        self, raw: RawSubscription, estate: RawAzureEstate, kinds: Mapping[str, PrincipalKind]
    ) -> None:
        self.raw = raw
        self.sid = raw.subscription_id
        self.estate = estate
        self.kinds = kinds
        self.principals: set[str] = set()
        self.bindings: list[AccessBinding] = []
        self.stores: list[KeyStore] = []
        self.keys: list[Key] = []
        self.audit: list[AuditLogCoverage] = []
        self.errors: list[CollectionError] = []
        self._reported_roles: set[str] = set()
        self.gaps: set[ScopeAspect] = set()
        # Role definition GUID -> permissions, as read live (built-in and custom).
        self.live_roles = {
            role_guid(definition_id): (definition.get("properties") or {}).get("permissions") or []
            for definition_id, definition in estate.role_definitions.items()
        }
        self._capability_memo: dict[tuple[str, AccessModel | None], frozenset[Capability] | None] = {}
        self.management_groups: set[str] = set()  # seen in assignment scopes
        self.store_access_unknown: set[str] = set()  # lowercase store uids
        self.key_access_unknown: set[str] = set()  # lowercase key uids

        if raw.stores is None:
            self.gaps.add(ScopeAspect.KEYS)
        if not raw.hsms_listed:
            self.gaps.add(ScopeAspect.KEYS)
        models: dict[str, AccessModel | None] = {}
        parents: dict[str, str] = {}
        for store in raw.stores or ():
            models[store.uid.lower()] = _access_model(store)
            parents[store.uid.lower()] = _resource_group_of(store.uid)
        self.models = models
        self.store_parents = parents
        self.canonical = {uid.lower(): store.uid for store in raw.stores or () for uid in (store.uid,)}
        self.canonical.update({rg.lower(): rg for rg in parents.values() if rg})
        # A failed (or never made) AI list: its CollectionError says why.
        if any(raw.ai_resources.get(native_type) is None for native_type in ai.RESOURCE_TYPES):
            self.gaps.add(ScopeAspect.AI_RESOURCES)
        if raw.role_assignments is None:
            self.gaps.add(ScopeAspect.ACCESS)
        else:
            for assignment in raw.role_assignments:
                self._assignment(assignment)
        for store in raw.stores or ():
            self._store(store)
        self._canonical_key_targets()
        self.scope = Scope(
            provider=Provider.AZURE,
            kind=ScopeKind.AZURE_SUBSCRIPTION,
            uid=self.sid,
            name=raw.display_name,
            parents=tuple(
                ScopeRef(kind=ScopeKind.AZURE_MANAGEMENT_GROUP, uid=parent, name=parent.rsplit("/", 1)[-1])
                for parent in (raw.parents or sorted(self.management_groups))
            ),
            locations=tuple(
                sorted(
                    {str(s.resource.get("location")) for s in raw.stores or () if s.resource.get("location")}
                )
            ),
            unreadable=frozenset(self.gaps),
        )

    def _canonical_key_targets(self) -> None:
        """Key Vault names are case-insensitive: a key-scope grant spelled in another case still applies."""
        keys = {key.uid.lower(): key.uid for key in self.keys}
        for index, binding in enumerate(self.bindings):
            if binding.level is ScopeLevel.KEY:
                canonical = keys.get(binding.target.lower())
                if canonical is not None and canonical != binding.target:
                    self.bindings[index] = dataclasses.replace(binding, target=canonical)

    # ------------------------------------------------------------------ RBAC
    def _assignment(self, assignment: Mapping[str, Any]) -> None:
        props = assignment.get("properties") or {}
        scope = str(props.get("scope") or "")
        principal = str(props.get("principalId") or "")
        definition = str(props.get("roleDefinitionId") or "")
        if not scope or not principal or not definition:
            return
        conditional = bool(props.get("condition"))
        placed = self._place(scope)
        if placed is None:
            return  # another resource (a storage account, ...): no power over keys
        target, level, inherited_from, stores = placed
        if level is ScopeLevel.MANAGEMENT_GROUP:
            self.management_groups.add(inherited_from or "/")
        per_store: dict[str, frozenset[Capability]] = {}
        for store_uid in stores:
            capabilities = self._role_capabilities(definition, self.models.get(store_uid))
            if capabilities is None:
                self._unknown_role(definition, scope)
                if level is ScopeLevel.KEY:
                    self.key_access_unknown.add(target.lower())
                else:
                    self.store_access_unknown.update(stores)
                return
            per_store[store_uid] = capabilities
        if not per_store:
            return
        common = frozenset.intersection(*per_store.values())
        self.principals.add(principal)
        if common:
            self._bind(
                principal,
                target,
                level,
                common,
                conditional=conditional,
                inherited_from=inherited_from,
                via=definition,
            )
        if level in (ScopeLevel.KEY, ScopeLevel.KEY_STORE):
            return
        # What the assignment gives only on some stores (e.g. data actions on RBAC vaults, not on
        # access-policy vaults) is bound per store, inherited from the broad scope it was made at: the
        # subscription's own uid, or the management group's, so broad-grant rules still see it there.
        broad_source = self.sid if level is ScopeLevel.SCOPE else inherited_from or scope
        for store_uid, capabilities in sorted(per_store.items()):
            extra = capabilities - common
            if extra:
                self._bind(
                    principal,
                    self.canonical.get(store_uid, store_uid),
                    ScopeLevel.KEY_STORE,
                    extra,
                    conditional=conditional,
                    inherited_from=broad_source,
                    via=definition,
                )

    def _place(self, scope: str) -> tuple[str, ScopeLevel, str | None, list[str]] | None:
        """Where an assignment's scope attaches (target, level, inherited_from) and the stores it reaches."""
        lowered = scope.lower().rstrip("/")
        subscription = f"/subscriptions/{self.sid.lower()}"
        all_stores = sorted(self.models)
        if lowered == "" or lowered.startswith(_MG_PREFIX):
            return self.sid, ScopeLevel.MANAGEMENT_GROUP, scope or "/", all_stores
        if lowered == subscription:
            return self.sid, ScopeLevel.SCOPE, None, all_stores
        if not lowered.startswith(subscription + "/"):
            return None
        if lowered in self.models:
            return self.canonical[lowered], ScopeLevel.KEY_STORE, None, [lowered]
        if "/keys/" in lowered:
            store, _, key_name = lowered.partition("/keys/")
            if store in self.models and "/" not in key_name:
                return (
                    f"{self.canonical[store]}/keys/{scope.rsplit('/', 1)[-1]}",
                    ScopeLevel.KEY,
                    None,
                    [store],
                )
            return None
        if re.fullmatch(rf"{re.escape(subscription)}/resourcegroups/[^/]+", lowered):
            stores = [uid for uid, rg in self.store_parents.items() if rg.lower() == lowered]
            return self.canonical.get(lowered, scope), ScopeLevel.RESOURCE_GROUP, None, stores
        return None

    def _role_capabilities(self, definition: str, model: AccessModel | None) -> frozenset[Capability] | None:
        guid = role_guid(definition)
        memo_key = (guid, model)
        if memo_key in self._capability_memo:
            return self._capability_memo[memo_key]
        live = self.live_roles.get(guid)
        if live is not None:
            found = capabilities_for_permissions(live, model)
        else:
            # Not read (or not readable): a built-in role from the table still counts, its definition is public.
            found = capabilities_for_role(definition, None, model)
        self._capability_memo[memo_key] = found
        return found

    def _unknown_role(self, definition: str, where: str) -> None:
        if definition.lower() in self._reported_roles:
            return
        self._reported_roles.add(definition.lower())
        error_class, reason = self.estate.role_errors.get(role_guid(definition), (ErrorClass.OTHER, ""))
        why = f"its definition could not be read ({reason})" if reason else "its definition is not known"
        self.errors.append(
            CollectionError(
                provider=Provider.AZURE,
                scope=self.sid,
                api="Microsoft.Authorization/roleDefinitions/read",
                error_class=error_class,
                message=f"role {definition} assigned at {where}: {why}, so the access it grants is unknown",
                resource=definition,
            )
        )

    def _bind(
        self,
        principal: str,
        target: str,
        level: ScopeLevel,
        capabilities: frozenset[Capability],
        *,
        source: BindingSource = BindingSource.RBAC,
        conditional: bool = False,
        inherited_from: str | None = None,
        via: str | None = None,
    ) -> None:
        self.principals.add(principal)
        self.bindings.append(
            AccessBinding(
                provider=Provider.AZURE,
                scope=self.sid,
                principal=principal,
                target=target,
                level=level,
                capabilities=capabilities,
                source=source,
                conditional=conditional,
                inherited_from=inherited_from,
                via=via,
            )
        )

    # ------------------------------------------------------------------ stores and keys
    def _store(self, raw: RawStore) -> None:
        props = raw.resource.get("properties") or {}
        hsm = raw.kind == "managed_hsm"
        gaps: set[KeyStoreAspect] = set()
        if raw.keys is None:
            gaps.add(KeyStoreAspect.KEYS)
            self.gaps.add(ScopeAspect.KEYS)
        if raw.uid.lower() in self.store_access_unknown or self.raw.role_assignments is None:
            gaps.add(KeyStoreAspect.ACCESS)
        if hsm:
            self._local_rbac(raw, gaps)
        else:
            self._access_policies(raw)
        if raw.diagnostic_settings is None:
            gaps.add(KeyStoreAspect.AUDIT_LOGGING)
        model = _access_model(raw)
        store = KeyStore(
            provider=Provider.AZURE,
            kind=KeyStoreKind.AZURE_MANAGED_HSM if hsm else KeyStoreKind.AZURE_VAULT,
            uid=raw.uid,
            scope=self.sid,
            location=raw.resource.get("location"),
            name=raw.resource.get("name"),
            native_type=raw.resource.get("type"),
            parent=_resource_group_of(raw.uid) or None,
            deletion_protection=_deletion_protection(props),
            network=_network(props),
            access_model=None if model is None else ("managed_hsm_rbac" if hsm else model.value),
            sku=_sku(raw.resource.get("sku")),
            tags=dict(raw.resource.get("tags") or {}),
            unreadable=frozenset(gaps),
        )
        self.stores.append(store)
        self.audit.append(self._audit(raw))
        for key in raw.keys or ():
            self.keys.append(self._key(key, raw, store))
        for deleted in raw.deleted_keys or ():
            self.keys.append(self._deleted_key(deleted, raw, store))

    def _access_policies(self, raw: RawStore) -> None:
        props = raw.resource.get("properties") or {}
        if props.get("enableRbacAuthorization"):
            return  # RBAC vault: access policies, if any remain, are ignored by Key Vault
        for policy in props.get("accessPolicies") or ():
            principal = str(policy.get("objectId") or "")
            keys = (policy.get("permissions") or {}).get("keys") or []
            capabilities = access_policy_capabilities(keys)
            if principal and capabilities:
                via = "access policy" + (
                    f" (application {policy['applicationId']})" if policy.get("applicationId") else ""
                )
                self._bind(
                    principal,
                    raw.uid,
                    ScopeLevel.KEY_STORE,
                    capabilities,
                    source=BindingSource.ACCESS_POLICY,
                    via=via,
                )

    def _local_rbac(self, raw: RawStore, gaps: set[KeyStoreAspect]) -> None:
        if raw.local_role_assignments is None or raw.local_role_definitions is None:
            gaps.add(KeyStoreAspect.ACCESS)
            return
        local = {
            role_guid(d["id"]): d.get("permissions") or [] for d in raw.local_role_definitions if d.get("id")
        }
        for assignment in raw.local_role_assignments:
            principal = str(assignment.get("principal_id") or "")
            definition = str(assignment.get("role_definition_id") or "")
            scope = str(assignment.get("scope") or "/")
            permissions = local.get(role_guid(definition))
            capabilities = (
                capabilities_for_permissions(permissions, AccessModel.MANAGED_HSM)
                if permissions is not None
                else capabilities_for_role(definition, None, AccessModel.MANAGED_HSM)
            )
            if capabilities is None:
                gaps.add(KeyStoreAspect.ACCESS)
                self._unknown_role(definition, f"{raw.uid} (local)")
                continue
            if not capabilities or not principal:
                continue
            key_name = scope.strip("/").split("/", 1)[1] if scope.strip("/").startswith("keys/") else None
            target, level = (
                (f"{raw.uid}/keys/{key_name}", ScopeLevel.KEY)
                if key_name
                else (raw.uid, ScopeLevel.KEY_STORE)
            )
            self._bind(principal, target, level, capabilities, via=definition)

    def _key(self, raw: RawKey, raw_store: RawStore, store: KeyStore) -> Key:
        hsm = raw_store.kind == "managed_hsm"
        uid = f"{store.uid}/keys/{raw.name}"
        data = raw.key
        arm = (raw.arm or {}).get("properties") or {}
        gaps: set[KeyAspect] = set()
        if data is None and not arm:
            gaps.add(KeyAspect.METADATA)
        # When get_key failed, the listing still told enabled, dates, tags and whether a certificate owns it.
        listed = raw.listed or {}
        rotation_policy = raw.rotation_policy
        if rotation_policy is None and isinstance(arm.get("rotationPolicy"), Mapping):
            rotation_policy = _arm_rotation_policy(arm["rotationPolicy"])
        if rotation_policy is None:
            gaps.add(KeyAspect.ROTATION)
        if store.uid.lower() in self.store_access_unknown or uid.lower() in self.key_access_unknown:
            gaps.add(KeyAspect.ACCESS)
        if KeyStoreAspect.ACCESS in store.unreadable:
            gaps.add(KeyAspect.ACCESS)
        attributes = arm.get("attributes") or {}
        kty = (data or {}).get("kty") or arm.get("kty")
        key_type, protection = _key_type(kty, hsm)
        if kty and key_type is None:
            # A key type keyaudit does not know: type and protection stay None (rules say UNKNOWN), and
            # the error makes it a coverage finding too.
            gaps.add(KeyAspect.METADATA)
            self.errors.append(
                CollectionError(
                    provider=Provider.AZURE,
                    scope=self.sid,
                    api="Microsoft.KeyVault/vaults/keys/read",
                    error_class=ErrorClass.MALFORMED_RESPONSE,
                    message=f"key type keyaudit does not know: kty={kty!r}",
                    resource=uid,
                )
            )
        size = None
        if data and data.get("n_bytes"):
            size = int(data["n_bytes"]) * 8
        elif arm.get("keySize"):
            size = int(arm["keySize"])
        curve_name = (data or {}).get("crv") or arm.get("curveName")
        ops = (data or {}).get("key_ops") or arm.get("keyOps")
        plane = data or listed
        enabled = plane.get("enabled") if plane else attributes.get("enabled")
        created = _time(plane.get("created")) if plane else _epoch(attributes.get("created"))
        expires = _time(plane.get("expires")) if plane else _epoch(attributes.get("exp"))
        not_before = _time(plane.get("not_before")) if plane else _epoch(attributes.get("nbf"))
        exportable = None
        if data is not None:
            exportable = bool(data.get("exportable")) or bool(data.get("release_policy"))
        elif "exportable" in attributes:
            exportable = bool(attributes.get("exportable"))
        window = _deletion_window(store)
        return Key(
            provider=Provider.AZURE,
            uid=uid,
            scope=self.sid,
            location=store.location,
            store=store.uid,
            name=raw.name,
            native_type=HSM_KEY_TYPE if hsm else VAULT_KEY_TYPE,
            purpose=_purpose(ops, key_type),
            key_type=key_type,
            algorithm=str(kty) if kty else None,
            size_bits=size,
            curve=_CURVES.get(str(curve_name).upper(), str(curve_name)) if curve_name else None,
            protection=protection,
            # Key Vault does not say whether material was generated in the vault or imported (BYOK):
            # the origin stays unknown rather than guessed.
            origin=None,
            state=None if enabled is None else (KeyState.ENABLED if enabled else KeyState.DISABLED),
            rotation=_rotation(rotation_policy, expires),
            # Key Vault rotation policies rotate every key type; certificate-backed keys rotate with
            # their certificate instead.
            auto_rotation_supported=not plane.get("managed"),
            created=created,
            not_before=not_before,
            expires=expires,
            expiry_supported=True,
            deletion_window_days=window,
            multi_region=False,
            exportable=exportable,
            tags=dict(plane.get("tags") or (raw.arm or {}).get("tags") or {}),
            unreadable=frozenset(gaps),
        )

    def _deleted_key(self, deleted: Mapping[str, Any], raw_store: RawStore, store: KeyStore) -> Key:
        """A soft-deleted key: recoverable until its scheduled purge (the list tells no key type)."""
        hsm = raw_store.kind == "managed_hsm"
        gaps = {KeyAspect.METADATA, KeyAspect.ROTATION}
        if KeyStoreAspect.ACCESS in store.unreadable:
            gaps.add(KeyAspect.ACCESS)
        return Key(
            provider=Provider.AZURE,
            uid=f"{store.uid}/keys/{deleted['name']}",
            scope=self.sid,
            location=store.location,
            store=store.uid,
            name=str(deleted["name"]),
            native_type=HSM_KEY_TYPE if hsm else VAULT_KEY_TYPE,
            state=KeyState.PENDING_DELETION,
            created=_time(deleted.get("created")),
            expires=_time(deleted.get("expires")),
            expiry_supported=True,
            scheduled_deletion=_time(deleted.get("scheduled_purge")),
            deletion_window_days=_deletion_window(store),
            multi_region=False,
            tags=dict(deleted.get("tags") or {}),
            unreadable=frozenset(gaps),
        )

    # ------------------------------------------------------------------ audit
    def _audit(self, raw: RawStore) -> AuditLogCoverage:
        if raw.diagnostic_settings is None:
            return AuditLogCoverage(
                provider=Provider.AZURE, scope=self.sid, location=raw.resource.get("location"), key_store=raw.uid,
                detail="diagnostic settings could not be read",
            )  # fmt: skip
        sources = []
        for setting in raw.diagnostic_settings:
            props = setting.get("properties") or {}
            if not any(props.get(d) for d in _DESTINATIONS):
                continue
            for log in props.get("logs") or ():
                if not log.get("enabled"):
                    continue
                category = str(log.get("category") or "")
                group = str(log.get("categoryGroup") or "").lower()
                if category.lower() == "auditevent" or group in _AUDIT_GROUPS:
                    sources.append(str(setting.get("name") or setting.get("id") or "diagnostic setting"))
                    break
        logged = bool(sources)
        return AuditLogCoverage(
            provider=Provider.AZURE,
            scope=self.sid,
            location=raw.resource.get("location"),
            key_store=raw.uid,
            admin_events=logged,
            usage_events=logged,
            sources=tuple(sorted(set(sources))),
            detail=None
            if logged
            else "no diagnostic setting sends AuditEvent (or the audit/allLogs group) anywhere",
        )


# ---------------------------------------------------------------------------------------------- helpers
def _access_model(store: RawStore) -> AccessModel | None:
    if store.kind == "managed_hsm":
        return AccessModel.MANAGED_HSM
    props = store.resource.get("properties") or {}
    flag = props.get("enableRbacAuthorization")
    return AccessModel.RBAC if flag else AccessModel.ACCESS_POLICY


def _resource_group_of(resource_id: str) -> str:
    matched = re.match(r"(?i)(/subscriptions/[^/]+/resourceGroups/[^/]+)", resource_id)
    return matched[1] if matched else ""


def _network(props: Mapping[str, Any]) -> NetworkAccess:
    # Absent settings are Azure's defaults, not unknowns: no publicNetworkAccess means Enabled and no
    # firewall (networkAcls) means every network is allowed (Azure Policy 55615ac9 reads them the same).
    # SecuredByPerimeter: a network security perimeter decides, which this scan does not read.
    public = str(props.get("publicNetworkAccess") or "Enabled").lower()
    acls = props.get("networkAcls") or props.get("networkACLs") or {}
    default = str(acls.get("defaultAction") or "Allow").lower()
    endpoints = props.get("privateEndpointConnections")
    return NetworkAccess(
        public_network_access=None if public == "securedbyperimeter" else public != "disabled",
        default_action_deny=default == "deny",
        private_endpoints=len(endpoints or ()),
        allowed_ip_ranges=tuple(str(r.get("value")) for r in acls.get("ipRules") or () if r.get("value")),
    )


def _deletion_protection(props: Mapping[str, Any]) -> DeletionProtection:
    # Since February 2025 soft delete is on for every vault and cannot be turned off; a vault that omits
    # enableSoftDelete has it, with the 90-day default retention. An explicit false is reported as such.
    soft_delete = props.get("enableSoftDelete") is not False
    return DeletionProtection(
        soft_delete=soft_delete,
        purge_protection=bool(props.get("enablePurgeProtection")),
        retention_days=(props.get("softDeleteRetentionInDays") or 90) if soft_delete else 0,
    )


def _deletion_window(store: KeyStore) -> int | None:
    """Days between deleting a key and its destruction: the vault's retention only under purge protection
    (without it, anyone allowed to purge can destroy a deleted key at once)."""
    protection = store.deletion_protection
    if protection is None or protection.soft_delete is None:
        return None
    if not protection.soft_delete or not protection.purge_protection:
        return 0
    return protection.retention_days


def _sku(sku: Any) -> str | None:
    if not isinstance(sku, Mapping):
        return None
    return "/".join(str(v) for v in (sku.get("family"), sku.get("name")) if v) or None


def _key_type(kty: Any, hsm: bool) -> tuple[KeyType | None, ProtectionLevel | None]:
    """Type and protection of a JSON Web Key type (RSA, RSA-HSM, EC, EC-HSM, oct, oct-HSM); (None, None)
    for a type keyaudit does not know (its protection cannot be told from its name either)."""
    if not kty:
        return None, None
    text = str(kty)
    base = text.upper().removesuffix("-HSM")
    key_type = {"RSA": KeyType.RSA, "EC": KeyType.EC, "OCT": KeyType.SYMMETRIC}.get(base)
    if key_type is None:
        return None, None
    if hsm:
        return key_type, ProtectionLevel.DEDICATED_HSM
    return key_type, ProtectionLevel.HSM if text.upper().endswith("-HSM") else ProtectionLevel.SOFTWARE


def _purpose(ops: Iterable[str] | None, key_type: KeyType | None) -> KeyPurpose | None:
    found = {str(op).lower() for op in ops or ()}
    if found and found <= _SIGN_OPS:
        return KeyPurpose.SIGN
    if found & _ENCRYPT_OPS:
        return KeyPurpose.ENCRYPT
    if key_type is KeyType.EC:
        return KeyPurpose.SIGN
    return None


def _arm_rotation_policy(policy: Mapping[str, Any]) -> dict[str, Any]:
    """ARM's ``properties.rotationPolicy`` of a key, in the data plane's shape ``_rotation`` reads."""
    return {
        "expires_in": (policy.get("attributes") or {}).get("expiryTime"),
        "lifetime_actions": [
            {
                "action": (action.get("action") or {}).get("type"),
                "time_after_create": (action.get("trigger") or {}).get("timeAfterCreate"),
                "time_before_expiry": (action.get("trigger") or {}).get("timeBeforeExpiry"),
            }
            for action in policy.get("lifetimeActions") or ()
        ],
    }


def _days(duration: Any) -> int | None:
    """An ISO 8601 duration (P90D, P1Y, P2M) in days (years 365, months 30: Key Vault's own arithmetic)."""
    if not isinstance(duration, str):
        return None
    matched = _DURATION.match(duration.strip())
    if not matched or not any(matched.group(g) for g in ("y", "m", "d")):
        return None
    return int(matched["y"] or 0) * 365 + int(matched["m"] or 0) * 30 + int(matched["d"] or 0)


def _rotation(policy: Mapping[str, Any] | None, expires: datetime | None) -> Rotation | None:
    if policy is None:
        return None
    period = None
    enabled = False
    for action in policy.get("lifetime_actions") or ():
        if str(action.get("action", "")).lower() != "rotate":
            continue
        after_create = _days(action.get("time_after_create"))
        before_expiry = _days(action.get("time_before_expiry"))
        expiry = _days(policy.get("expires_in"))
        if after_create is not None:
            candidate = after_create
        elif before_expiry is not None and expiry is not None and expires is not None:
            candidate = max(expiry - before_expiry, 0)
        elif before_expiry is not None:
            # "Rotate N days before expiry" never fires on a key without an expiry date, or without the
            # policy's expiryTime for the new versions (Microsoft: both are required).
            continue
        else:
            candidate = None
        enabled = True
        if candidate is not None:
            period = candidate if period is None else min(period, candidate)
    return Rotation(enabled=enabled, period_days=period if enabled else None)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _epoch(value: Any) -> datetime | None:
    """ARM key attributes carry Unix seconds."""
    from datetime import UTC

    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    return _time(value)
