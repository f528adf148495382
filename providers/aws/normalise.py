"""Normalise (pure): raw AWS responses -> the provider-neutral inventory. No I/O here.

AWS semantics resolved at this boundary:
* a key's effective access is its key policy, plus IAM identity policies only when the key policy
  delegates to the account (the account root is allowed), plus grants; explicit denies already
  subtracted by ``providers.aws.policy``;
* KMS cryptographic calls are CloudTrail *management* events (Decrypt and friends are read events),
  so key use is logged in a region when a logging trail covers that region with read management
  events and does not exclude the ``kms.amazonaws.com`` event source.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from providers.aws import ai
from providers.aws.actions import capabilities_for
from providers.aws.collect import RawAccount, RawAiResource, RawEstate, RawKey, RawRegion, RawTrail
from providers.aws.policy import (
    PolicyParseError,
    PrincipalRef,
    evaluate_identity_policies,
    evaluate_key_policy,
    normalize_principal,
)
from scanner.inventory import (
    AccessBinding,
    AuditLogCoverage,
    BindingSource,
    Capability,
    CollectionError,
    CollectionInfo,
    ConnectionState,
    Encryption,
    ErrorClass,
    HsmCluster,
    Inventory,
    Key,
    KeyAspect,
    KeyManager,
    KeyOrigin,
    KeyPurpose,
    KeyState,
    KeyStore,
    KeyStoreAspect,
    KeyStoreKind,
    KeyType,
    Principal,
    PrincipalKind,
    ProtectedResource,
    ProtectionLevel,
    Provider,
    ResourceAspect,
    Rotation,
    Scope,
    ScopeAspect,
    ScopeKind,
    ScopeLevel,
)

NATIVE_KEY_TYPE = "AWS::KMS::Key"

# KeySpec -> (key type, size in bits, canonical curve)
KEY_SPECS: Mapping[str, tuple[KeyType, int | None, str | None]] = {
    "SYMMETRIC_DEFAULT": (KeyType.SYMMETRIC, 256, None),
    "RSA_2048": (KeyType.RSA, 2048, None),
    "RSA_3072": (KeyType.RSA, 3072, None),
    "RSA_4096": (KeyType.RSA, 4096, None),
    "ECC_NIST_P256": (KeyType.EC, 256, "P-256"),
    "ECC_NIST_P384": (KeyType.EC, 384, "P-384"),
    "ECC_NIST_P521": (KeyType.EC, 521, "P-521"),
    "ECC_SECG_P256K1": (KeyType.EC, 256, "secp256k1"),
    "ECC_NIST_EDWARDS25519": (KeyType.EC, 255, "Ed25519"),
    "HMAC_224": (KeyType.HMAC, 224, None),
    "HMAC_256": (KeyType.HMAC, 256, None),
    "HMAC_384": (KeyType.HMAC, 384, None),
    "HMAC_512": (KeyType.HMAC, 512, None),
    "SM2": (KeyType.EC, 256, "SM2"),
    "ML_DSA_44": (KeyType.OTHER, None, None),
    "ML_DSA_65": (KeyType.OTHER, None, None),
    "ML_DSA_87": (KeyType.OTHER, None, None),
}
KEY_USAGE: Mapping[str, KeyPurpose] = {
    "ENCRYPT_DECRYPT": KeyPurpose.ENCRYPT,
    "SIGN_VERIFY": KeyPurpose.SIGN,
    "GENERATE_VERIFY_MAC": KeyPurpose.MAC,
    "KEY_AGREEMENT": KeyPurpose.KEY_AGREEMENT,
}
KEY_STATES: Mapping[str, KeyState] = {
    "Enabled": KeyState.ENABLED,
    "Disabled": KeyState.DISABLED,
    "PendingDeletion": KeyState.PENDING_DELETION,
    "PendingReplicaDeletion": KeyState.PENDING_DELETION,
    "PendingImport": KeyState.PENDING_IMPORT,
    "Unavailable": KeyState.UNAVAILABLE,
    "Creating": KeyState.UNAVAILABLE,
    "Updating": KeyState.ENABLED,
}
# Origin -> (origin, protection). AWS KMS keys live in multi-tenant FIPS 140-3 HSMs (SPEC 6: hsm).
ORIGINS: Mapping[str, tuple[KeyOrigin, ProtectionLevel]] = {
    "AWS_KMS": (KeyOrigin.GENERATED, ProtectionLevel.HSM),
    "EXTERNAL": (KeyOrigin.IMPORTED, ProtectionLevel.HSM),
    "AWS_CLOUDHSM": (KeyOrigin.GENERATED, ProtectionLevel.DEDICATED_HSM),
    "EXTERNAL_KEY_STORE": (KeyOrigin.EXTERNAL, ProtectionLevel.EXTERNAL),
}
STORE_KINDS: Mapping[str, KeyStoreKind] = {
    "AWS_CLOUDHSM": KeyStoreKind.AWS_CLOUDHSM,
    "EXTERNAL_KEY_STORE": KeyStoreKind.AWS_EXTERNAL,
}
CONNECTION_STATES: Mapping[str, ConnectionState] = {
    "CONNECTED": ConnectionState.CONNECTED,
    "CONNECTING": ConnectionState.CONNECTING,
    "DISCONNECTED": ConnectionState.DISCONNECTED,
    "DISCONNECTING": ConnectionState.DISCONNECTING,
    "FAILED": ConnectionState.FAILED,
}
KMS_EVENT_SOURCE = "kms.amazonaws.com"


def default_store_uid(account: str, region: str) -> str:
    """The per-region multi-tenant KMS key store has no ARN of its own; this names it stably."""
    return f"arn:aws:kms:{region}:{account}:keystore/default"


def custom_store_uid(account: str, region: str, store_id: str) -> str:
    return f"arn:aws:kms:{region}:{account}:custom-key-store/{store_id}"


def normalise(estate: RawEstate, info: CollectionInfo | None = None) -> Inventory:
    parts = [_Account(raw) for raw in estate.accounts]
    principals: dict[str, Principal] = {}
    for part in parts:
        for principal in part.principals:
            principals.setdefault(principal.uid, principal)
    return Inventory(
        collection=info or CollectionInfo(providers=(Provider.AWS,)),
        scopes=tuple(part.scope for part in parts),
        key_stores=tuple(store for part in parts for store in part.stores),
        keys=tuple(key for part in parts for key in part.keys),
        principals=tuple(principals[uid] for uid in sorted(principals)),
        bindings=tuple(binding for part in parts for binding in part.bindings),
        audit_logging=tuple(coverage for part in parts for coverage in part.audit),
        resources=tuple(resource for part in parts for resource in part.resources),
        errors=(*estate.errors, *(error for part in parts for error in part.errors)),
    )


class _Account:
    """Normalises one account. Built in one go; attributes are the finished inventory parts."""

    def __init__(self, raw: RawAccount) -> None:
        self.raw = raw
        self.account = raw.account_id
        self.principals: list[Principal] = []
        self.bindings: list[AccessBinding] = []
        self.stores: list[KeyStore] = []
        self.keys: list[Key] = []
        self.audit: list[AuditLogCoverage] = []
        self.errors: list[CollectionError] = []  # found while normalising (e.g. a malformed key policy)
        self.iam = _Iam(raw.iam, raw.account_id) if raw.iam is not None else None
        for region in raw.regions:
            self._region(region)
        self.resources = list(self._ai_resources())
        if self.iam is not None:
            self.principals.extend(self.iam.principals())
            self.bindings.extend(self.iam.scope_bindings())
            if self.iam.problems:
                self.errors.append(
                    CollectionError(
                        provider=Provider.AWS,
                        scope=raw.account_id,
                        api="iam:GetAccountAuthorizationDetails",
                        error_class=ErrorClass.MALFORMED_RESPONSE,
                        message=f"{len(self.iam.problems)} identity policy problem(s): "
                        + "; ".join(self.iam.problems[:3]),
                    )
                )
        self.audit.extend(self._audit())
        self.scope = Scope(
            provider=Provider.AWS,
            kind=ScopeKind.AWS_ACCOUNT,
            uid=raw.account_id,
            name=raw.name,
            parents=raw.parents,
            locations=tuple(r.region for r in raw.regions),
            unreadable=self._scope_gaps(),
        )

    def _scope_gaps(self) -> frozenset[ScopeAspect]:
        if not self.raw.reachable:
            # The parents were read from the management account; everything else is unknown.
            return frozenset(ScopeAspect) - ({ScopeAspect.HIERARCHY} if self.raw.parents else set())
        gaps = set()
        if self.raw.iam is None or (self.iam is not None and self.iam.problems):
            gaps.add(ScopeAspect.ACCESS)
        if (
            self.raw.trails is None
            or self.raw.trail_regions_unread
            or any(t.status is None or t.event_selectors is None for t in self.raw.trails)
        ):
            gaps.add(ScopeAspect.AUDIT_LOGGING)
        if any(r.keys is None for r in self.raw.regions):
            gaps.add(ScopeAspect.KEYS)
        if any(r.ai_unlisted for r in self.raw.regions):
            gaps.add(ScopeAspect.AI_RESOURCES)
        if self.raw.regions_unknown:
            gaps.update({ScopeAspect.KEYS, ScopeAspect.AUDIT_LOGGING, ScopeAspect.AI_RESOURCES})
        return frozenset(gaps)

    # ------------------------------------------------------------------ regions, stores, keys
    def _region(self, region: RawRegion) -> None:
        name = region.region
        self.stores.append(
            KeyStore(
                provider=Provider.AWS,
                kind=KeyStoreKind.AWS_KMS_DEFAULT,
                uid=default_store_uid(self.account, name),
                scope=self.account,
                location=name,
                name=f"AWS KMS ({name})",
                native_type="AWS::KMS::DefaultKeyStore",
            )
        )
        clusters = {c.get("ClusterId"): c for c in region.hsm_clusters or []}
        described = set()
        for store in region.custom_key_stores or []:
            described.add(store["CustomKeyStoreId"])
            self.stores.append(self._custom_store(store, name, clusters, region.hsm_clusters is not None))
        for store_id, origin in sorted(_custom_stores_in_use(region).items()):
            if store_id not in described:
                # Keys name a store that could not be described: it exists, its health is unknown.
                self.stores.append(
                    KeyStore(
                        provider=Provider.AWS,
                        kind=STORE_KINDS.get(origin, KeyStoreKind.AWS_CLOUDHSM),
                        uid=custom_store_uid(self.account, name, store_id),
                        scope=self.account,
                        location=name,
                        native_type="AWS::KMS::CustomKeyStore",
                        unreadable=frozenset({KeyStoreAspect.METADATA}),
                    )
                )
        aliases: dict[str, list[str]] = {}
        for alias in region.aliases or []:
            if alias.get("TargetKeyId"):
                aliases.setdefault(alias["TargetKeyId"], []).append(alias["AliasName"])
        for raw_key in region.keys or []:
            key = self._key(raw_key, name, sorted(aliases.get(raw_key.key_id, [])), region.aliases is None)
            self.keys.append(key)

    def _custom_store(
        self,
        store: Mapping[str, Any],
        region: str,
        clusters: Mapping[Any, Mapping[str, Any]],
        clusters_read: bool,
    ) -> KeyStore:
        kind = STORE_KINDS.get(store.get("CustomKeyStoreType", "AWS_CLOUDHSM"), KeyStoreKind.AWS_CLOUDHSM)
        cluster = None
        unreadable: set[KeyStoreAspect] = set()
        cluster_id = store.get("CloudHsmClusterId")
        if kind is KeyStoreKind.AWS_CLOUDHSM and cluster_id:
            found = clusters.get(cluster_id)
            if found is not None:
                active = [h for h in found.get("Hsms", []) if h.get("State") == "ACTIVE"]
                cluster = HsmCluster(
                    uid=cluster_id,
                    state=found.get("State"),
                    degraded=found.get("State") != "ACTIVE" if found.get("State") else None,
                    active_hsms=len(active),
                    availability_zones=tuple(sorted({h.get("AvailabilityZone", "") for h in active} - {""})),
                )
            elif not clusters_read:
                unreadable.add(KeyStoreAspect.METADATA)
            else:
                cluster = HsmCluster(uid=cluster_id, state="NOT_FOUND", active_hsms=0)
        return KeyStore(
            provider=Provider.AWS,
            kind=kind,
            uid=custom_store_uid(self.account, region, store["CustomKeyStoreId"]),
            scope=self.account,
            location=region,
            name=store.get("CustomKeyStoreName"),
            native_type="AWS::KMS::CustomKeyStore",
            connection_state=CONNECTION_STATES.get(store.get("ConnectionState", "")),
            hsm_cluster=cluster,
            unreadable=frozenset(unreadable),
        )

    def _key(self, raw: RawKey, region: str, aliases: list[str], aliases_unread: bool) -> Key:
        meta = raw.metadata
        if meta is None:
            # DescribeKey failed: the key exists (ListKeys named it) but nothing else is known.
            return Key(
                provider=Provider.AWS,
                uid=raw.arn,
                scope=self.account,
                location=region,
                store=default_store_uid(self.account, region),
                name=raw.key_id,
                native_type=NATIVE_KEY_TYPE,
                manager=KeyManager.CUSTOMER,  # unknown: judged as a customer key, so rules say UNKNOWN
                unreadable=frozenset(KeyAspect),
            )
        spec = KEY_SPECS.get(
            meta.get("KeySpec") or meta.get("CustomerMasterKeySpec", ""), (KeyType.OTHER, None, None)
        )
        origin, protection = ORIGINS.get(meta.get("Origin", "AWS_KMS"), (None, None))
        store_id = meta.get("CustomKeyStoreId")
        store = (
            custom_store_uid(self.account, region, store_id)
            if store_id
            else default_store_uid(self.account, region)
        )
        manager = KeyManager.PROVIDER if meta.get("KeyManager") == "AWS" else KeyManager.CUSTOMER
        unreadable = self._key_gaps(raw, manager, aliases_unread)
        unexpected = _unexpected_values(meta)
        if unexpected:
            # The fields stay None (rules say UNKNOWN); the error makes it a coverage finding too.
            unreadable.add(KeyAspect.METADATA)
            self.errors.append(
                CollectionError(
                    provider=Provider.AWS,
                    scope=self.account,
                    location=region,
                    api="kms:DescribeKey",
                    error_class=ErrorClass.MALFORMED_RESPONSE,
                    message=f"values keyaudit does not know: {', '.join(unexpected)}"[:500],
                    resource=raw.arn,
                )
            )
        policy_access = None
        if manager is KeyManager.CUSTOMER and raw.policy is not None:
            policy_access = self._key_policy(raw.policy, raw.arn, region)
            if policy_access is None:
                unreadable.add(KeyAspect.ACCESS)
        delegation = _delegation(policy_access, raw.arn, self.account)
        # Account-wide identity grants reach the key as they are unless its policy narrows them.
        inherits = delegation is not None and not delegation.narrows
        if manager is KeyManager.CUSTOMER:
            if policy_access is not None:
                self._policy_bindings(policy_access, raw.arn)
            self._grant_bindings(raw.grants or [], raw.arn)
            if delegation is not None and self.iam is not None:
                self.bindings.extend(self.iam.key_bindings(raw.arn, None if inherits else delegation))
        rotation = _rotation(raw.rotation) if raw.rotation is not None else None
        return Key(
            provider=Provider.AWS,
            uid=raw.arn,
            scope=self.account,
            location=region,
            store=store,
            name=(aliases[0].removeprefix("alias/") if aliases else raw.key_id),
            native_type=NATIVE_KEY_TYPE,
            aliases=tuple(aliases),
            manager=manager,
            # CreateKey's default usage; moto omits the field when it was not given explicitly.
            purpose=KEY_USAGE.get(meta.get("KeyUsage") or "ENCRYPT_DECRYPT"),
            key_type=spec[0],
            algorithm=meta.get("KeySpec"),
            size_bits=spec[1],
            curve=spec[2],
            protection=protection,
            origin=origin,
            state=KEY_STATES.get(meta.get("KeyState", "")),
            rotation=rotation,
            auto_rotation_supported=_auto_rotation_supported(meta),
            created=_time(meta.get("CreationDate")),
            expires=_time(meta.get("ValidTo")),
            # Only imported key material can expire in AWS KMS (ValidTo at import time).
            expiry_supported=meta.get("Origin") == "EXTERNAL",
            scheduled_deletion=_time(meta.get("DeletionDate")),
            deletion_window_days=meta.get("PendingDeletionWindowInDays"),
            multi_region=bool(meta.get("MultiRegion")),  # always present in AWS; moto omits False
            exportable=False,
            tags={t["TagKey"]: t.get("TagValue", "") for t in raw.tags or []},
            inherits_access=inherits,
            unreadable=frozenset(unreadable),
        )

    def _key_gaps(self, raw: RawKey, manager: KeyManager, aliases_unread: bool) -> set[KeyAspect]:
        gaps: set[KeyAspect] = set()
        if manager is KeyManager.PROVIDER:
            return gaps
        if "GetKeyRotationStatus" in raw.failed:
            gaps.add(KeyAspect.ROTATION)
        if {"GetKeyPolicy", "ListGrants"} & raw.failed:
            gaps.add(KeyAspect.ACCESS)
        if "ListResourceTags" in raw.failed:
            gaps.add(KeyAspect.TAGS)
        if aliases_unread:
            gaps.add(KeyAspect.METADATA)
        return gaps

    def _key_policy(self, document: str, key_arn: str, region: str) -> Any:
        """The evaluated key policy, or None (recorded as an error) when any part of it could not be
        understood: access read from half a policy is not known access."""
        try:
            access = evaluate_key_policy(document, key_arn=key_arn, account_id=self.account)
        except PolicyParseError as exc:
            problem = str(exc)
        else:
            if not access.problems:
                return access
            problem = "; ".join(access.problems[:3])
        self.errors.append(
            CollectionError(
                provider=Provider.AWS,
                scope=self.account,
                location=region,
                api="kms:GetKeyPolicy",
                error_class=ErrorClass.MALFORMED_RESPONSE,
                message=f"key policy could not be understood: {problem}"[:500],
                resource=key_arn,
            )
        )
        return None

    def _policy_bindings(self, access: Any, key_arn: str) -> None:
        own_root = f"arn:{_partition(key_arn)}:iam::{self.account}:root"
        for grant in access.grants:
            if grant.principal == own_root:
                # AWS's meaning of the account root in a key policy: IAM policies of this account may
                # grant access (their bindings carry it). The root user itself is break-glass, not an
                # operational identity to judge for segregation of duties.
                continue
            via = "key policy: " + ", ".join(grant.statements) if grant.statements else "key policy"
            ref = PrincipalRef(uid=grant.principal, kind=grant.kind, external=grant.external)
            self._bind(ref, key_arn, grant.capabilities, source=BindingSource.KEY_POLICY, via=via,
                       conditional=grant.conditional, via_services=_services(grant.via_services))  # fmt: skip

    def _grant_bindings(self, grants: Iterable[Mapping[str, Any]], key_arn: str) -> None:
        """Grantees get the grant's operations. CreateGrant inside a grant only passes on a subset of
        the grant's own operations and RetireGrant only ends it: neither administers the key, so both
        are left out (AWS services' grants carry them routinely). A retiring principal can only take
        access away and gets no binding."""
        for grant in grants:
            via = f"grant {grant.get('Name') or grant.get('GrantId', '')}".strip()
            operations = [op for op in grant.get("Operations") or [] if op not in _GRANT_SELF_OPERATIONS]
            capabilities = capabilities_for(f"kms:{op}" for op in operations)
            grantee = grant.get("GranteePrincipal")
            if grantee and capabilities:
                ref = grant_principal(grantee, self.account)
                # A grant to a service principal is used by that service only.
                services = _services([grantee]) if ref.kind is PrincipalKind.SERVICE else ()
                self._bind(
                    ref, key_arn, capabilities, source=BindingSource.GRANT, via=via, via_services=services
                )

    def _bind(
        self,
        ref: PrincipalRef,
        key_arn: str,
        capabilities: frozenset[Capability],
        *,
        source: BindingSource,
        via: str,
        conditional: bool = False,
        via_services: tuple[str, ...] = (),
    ) -> None:
        ai_service = ai.ai_service_of_principal(ref.uid) if ref.kind is PrincipalKind.SERVICE else None
        self.principals.append(
            Principal(
                uid=ref.uid,
                kind=ref.kind,
                display_name=_display(ref.uid),
                external=ref.external,
                ai_service=ai_service,
            )
        )
        self.bindings.append(
            AccessBinding(
                provider=Provider.AWS,
                scope=self.account,
                principal=ref.uid,
                target=key_arn,
                level=ScopeLevel.KEY,
                capabilities=capabilities,
                source=source,
                conditional=conditional,
                via=via,
                via_services=via_services,
            )
        )

    # ------------------------------------------------------------------ AI workloads
    def _ai_resources(self) -> Iterator[ProtectedResource]:
        keys = {key.uid: key for key in self.keys}
        aliases = {
            region.region: {
                a["AliasName"]: a["TargetKeyId"]
                for a in region.aliases or []
                if a.get("AliasName") and a.get("TargetKeyId")
            }
            for region in self.raw.regions
        }
        for region in self.raw.regions:
            for raw in region.ai_resources:
                refs = _KeyRefs(self.account, region.region, _partition(raw.arn), aliases, keys)
                yield _ai_resource(raw, self.account, region.region, refs)

    # ------------------------------------------------------------------ CloudTrail
    def _audit(self) -> Iterator[AuditLogCoverage]:
        if not self.raw.reachable:
            return
        trails = self.raw.trails
        for region in self.raw.regions:
            if trails is None or region.region in self.raw.trail_regions_unread:
                yield AuditLogCoverage(
                    provider=Provider.AWS,
                    scope=self.account,
                    location=region.region,
                    detail=f"CloudTrail could not be read in {region.region}",
                )
                continue
            admin: bool | None = False
            usage: bool | None = False
            sources = []
            for trail in trails:
                if not _covers_region(trail.trail, region.region):
                    continue
                verdict = trail_logs_kms(trail)
                if verdict is None:
                    admin = True if admin else None
                    usage = True if usage else None
                    continue
                trail_admin, trail_usage = verdict
                if trail_admin or trail_usage:
                    sources.append(trail.trail.get("TrailARN") or trail.trail.get("Name", "?"))
                admin = True if trail_admin else admin
                usage = True if trail_usage else usage
            yield AuditLogCoverage(
                provider=Provider.AWS,
                scope=self.account,
                location=region.region,
                admin_events=admin,
                usage_events=usage,
                sources=tuple(sorted(sources)),
            )


_ALL_KMS_CAPABILITIES = capabilities_for(["kms:*"])
_GRANT_SELF_OPERATIONS = frozenset({"CreateGrant", "RetireGrant"})


@dataclass(frozen=True)
class _Delegation:
    """What a key policy lets the account's IAM policies grant on the key."""

    capabilities: frozenset[Capability]
    conditional: bool  # the root statement carries a restricting condition (e.g. aws:PrincipalOrgID)
    policy: Any  # KeyPolicyAccess, for its denies
    via_services: tuple[str, ...] = ()  # the root statement's kms:ViaService values

    @property
    def narrows(self) -> bool:
        return self.conditional or bool(self.policy.denies) or self.capabilities != _ALL_KMS_CAPABILITIES

    def denied_capabilities(self, principal: str) -> frozenset[Capability]:
        denied: frozenset[Capability] = self.policy.denied_capabilities(principal)
        return denied


def _delegation(access: Any, key_arn: str, account: str) -> _Delegation | None:
    """Any Allow to the account's own root delegates to IAM, with or without a condition: IAM
    principals then get access under that condition (dropping it would be a false pass)."""
    if access is None:
        return None
    root = access.grant_for(f"arn:{_partition(key_arn)}:iam::{account}:root")
    if root is None or not root.capabilities:
        return None
    return _Delegation(
        capabilities=root.capabilities,
        conditional=root.conditional,
        policy=access,
        via_services=root.via_services,
    )


def _services(values: Iterable[str]) -> tuple[str, ...]:
    """``kms:ViaService`` values or service principals as normalised service names, sorted."""
    return tuple(sorted({ai.via_service(value) for value in values}))


def _both(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    """Services a use limited by both lists can go through (an empty list limits nothing)."""
    if not first or not second:
        return first or second
    return tuple(sorted(set(first) & set(second)))


@dataclass(frozen=True)
class _KeyRefs:
    """Resolves the key references of one region's AI resources to ``Key.uid`` spellings."""

    account: str
    region: str
    partition: str
    aliases: Mapping[str, Mapping[str, str]]  # region -> alias name -> target key id (this account)
    keys: Mapping[str, Key]  # this account's keys by uid

    def resolve(self, reference: str) -> tuple[str, bool]:
        """(the key's uid, whether it is AWS's own key). A key id, key ARN, alias name or alias ARN, as
        the services accept; an alias that cannot be resolved (another account's, or aliases not read)
        keeps its spelling."""
        partition, region, account, name = self.partition, self.region, self.account, reference.strip()
        if name.startswith("arn:"):
            parts = name.split(":", 5)
            if len(parts) < 6:
                return reference, False
            partition, region, account, name = parts[1], parts[3], parts[4], parts[5]
        aws_managed = name.startswith("alias/aws/")
        if name.startswith("alias/"):
            target = self.aliases.get(region, {}).get(name) if account == self.account else None
            if target is None:
                return reference, aws_managed
            name = f"key/{target}"
        elif name != reference.strip() and not name.startswith("key/"):
            return reference, False  # an ARN of something else than a key or an alias
        uid = f"arn:{partition}:kms:{region}:{account}:key/{name.removeprefix('key/')}"
        key = self.keys.get(uid)
        return uid, aws_managed or (key is not None and key.manager is KeyManager.PROVIDER)


_NOT_SET = "not set: encrypted with a key of AWS's own"


def _ai_resource(raw: RawAiResource, account: str, region: str, refs: _KeyRefs) -> ProtectedResource:
    """One SageMaker / Bedrock resource: customer-managed when every key field that applies to it names a
    customer key, provider-managed when one is unset or names an AWS managed key, unknown when a part of
    it was not read (or nothing of it names a key at all: a vector knowledge base without data sources)."""
    kind = ai.RESOURCE_TYPES[raw.native_type]
    common: dict[str, Any] = {
        "provider": Provider.AWS,
        "uid": raw.arn,
        "scope": account,
        "service": kind.service,
        "native_type": kind.native_type,
        "location": region,
        "name": raw.name,
        "ai_service": kind.ai_service,
        "tags": ai.tags_of(raw.tags) if raw.tags is not None else {},
    }
    tags_unread = {ResourceAspect.TAGS} if raw.tags is None else set()
    if raw.detail is None:
        return ProtectedResource(**common, unreadable=frozenset({ResourceAspect.ENCRYPTION, *tags_unread}))
    slots = ai.key_slots(kind.key_fields, raw.detail)
    unread = False
    if kind.parts is not None:
        unread = raw.parts is None or any(answer is None for _, answer in raw.parts)
        for ident, answer in raw.parts or ():
            if answer is not None:
                slots.extend(ai.key_slots(kind.parts.key_fields, answer, f"{kind.parts.label}[{ident}]."))
    keys: list[str] = []
    provider_managed = False
    for slot in slots:
        if slot.value is None:
            provider_managed = True
            continue
        uid, aws_managed = refs.resolve(slot.value)
        if aws_managed:
            provider_managed = True
        elif uid not in keys:
            keys.append(uid)
    encryption = None
    if not unread and slots:
        encryption = Encryption.PROVIDER_MANAGED if provider_managed else Encryption.CUSTOMER_MANAGED
    return ProtectedResource(
        **common,
        encryption=encryption,
        keys=tuple(keys),
        evidence={
            **{slot.field: slot.value or _NOT_SET for slot in slots},
            **ai.evidence_of(kind.evidence_fields, raw.detail),
        },
        unreadable=frozenset({ResourceAspect.ENCRYPTION} if unread else set()) | tags_unread,
    )


def _custom_stores_in_use(region: RawRegion) -> dict[str, str]:
    """Custom key store id -> key origin (AWS_CLOUDHSM or EXTERNAL_KEY_STORE) for the region's keys."""
    return {
        key.metadata["CustomKeyStoreId"]: key.metadata.get("Origin", "AWS_CLOUDHSM")
        for key in region.keys or []
        if key.metadata and key.metadata.get("CustomKeyStoreId")
    }


def _covers_region(trail: Mapping[str, Any], region: str) -> bool:
    return bool(trail.get("IsMultiRegionTrail")) or trail.get("HomeRegion") == region


def trail_logs_kms(raw: RawTrail) -> tuple[bool, bool] | None:
    """(administration logged, key use logged) for one trail, or None when its settings are unknown."""
    if raw.status is None or raw.event_selectors is None:
        return None
    if not raw.status.get("IsLogging") or _delivery_failing(raw.status):
        return (False, False)
    advanced = raw.event_selectors.get("AdvancedEventSelectors")
    if advanced:
        admin = usage = False
        for selector in advanced:
            read_only = _management_read_only(selector.get("FieldSelectors", []))
            if read_only is None:
                continue
            admin = admin or read_only in ("all", "write")
            usage = usage or read_only in ("all", "read")
        return (admin, usage)
    admin = usage = False
    for selector in raw.event_selectors.get("EventSelectors", []):
        if not selector.get("IncludeManagementEvents", True):
            continue
        if KMS_EVENT_SOURCE in selector.get("ExcludeManagementEventSources", []):
            continue
        mode = selector.get("ReadWriteType", "All")
        admin = admin or mode in ("All", "WriteOnly")
        usage = usage or mode in ("All", "ReadOnly")
    return (admin, usage)


def _delivery_failing(status: Mapping[str, Any]) -> bool:
    """The trail logs but its latest delivery to S3 failed (bucket gone, bucket policy broken): events
    are not being kept. An old error followed by a successful attempt does not count."""
    if not status.get("LatestDeliveryError"):
        return False
    attempted = status.get("LatestDeliveryAttemptTime")
    succeeded = status.get("LatestDeliveryAttemptSucceeded")
    return not (attempted and succeeded and attempted == succeeded)


def _management_read_only(fields: Iterable[Mapping[str, Any]]) -> str | None:
    """For one advanced selector: None if it selects no KMS management events, else which (all/read/write)."""
    management = False
    mode = "all"
    for field in fields:
        name = field.get("Field")
        if name == "eventCategory":
            management = "Management" in field.get("Equals", [])
        elif name == "eventSource":
            if KMS_EVENT_SOURCE in field.get("NotEquals", []):
                return None
            equals = field.get("Equals")
            if equals and KMS_EVENT_SOURCE not in equals:
                return None
        elif name == "readOnly":
            equals = field.get("Equals", [])
            if equals == ["true"]:
                mode = "read"
            elif equals == ["false"]:
                mode = "write"
    return mode if management else None


def _rotation(answer: Mapping[str, Any]) -> Rotation:
    return Rotation(
        enabled=answer.get("KeyRotationEnabled"),
        period_days=answer.get("RotationPeriodInDays"),
        next_rotation=_time(answer.get("NextRotationDate")),
        last_rotation=_time(answer.get("OnDemandRotationStartDate")),
    )


def _unexpected_values(meta: Mapping[str, Any]) -> list[str]:
    """Enumerations AWS extends over time: a value keyaudit does not know, or no KeyState at all (every
    DescribeKey answer has one), leaves that field unknown and must say so rather than read as absent."""
    found = []
    if meta.get("KeyState") not in KEY_STATES:
        found.append(f"KeyState={meta.get('KeyState')!r}")
    for name, known in (("Origin", ORIGINS), ("KeyUsage", KEY_USAGE)):
        value = meta.get(name)
        if value is not None and value not in known:
            found.append(f"{name}={value!r}")
    return found


def _auto_rotation_supported(meta: Mapping[str, Any]) -> bool:
    return (
        meta.get("KeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
        and meta.get("Origin", "AWS_KMS") == "AWS_KMS"
        and not meta.get("CustomKeyStoreId")
    )


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, int | float):
        from datetime import UTC

        return datetime.fromtimestamp(value, tz=UTC)
    return None


def _partition(arn: str) -> str:
    parts = arn.split(":")
    return parts[1] if len(parts) > 1 and parts[1] else "aws"


def grant_principal(value: str, account: str) -> PrincipalRef:
    """A grantee or retiring principal: an IAM ARN, an account, or an AWS service principal."""
    principal_type = "Service" if value.endswith(".amazonaws.com") else "AWS"
    return normalize_principal(value, account_id=account, principal_type=principal_type)


def _display(uid: str) -> str | None:
    if uid.startswith("arn:"):
        return uid.rsplit("/", 1)[-1] if "/" in uid else uid.rsplit(":", 1)[-1]
    return None


class _Iam:
    """IAM users and roles with the identity policies that apply to them (users: their groups' too)."""

    def __init__(self, details: Mapping[str, list[dict[str, Any]]], account: str) -> None:
        self.account = account
        self.problems: list[str] = []  # documents that could not be read: the account's access is unknown
        managed = {p["Arn"]: _default_version(p) for p in details.get("Policies", []) if p.get("Arn")}
        groups = {
            g["GroupName"]: self._documents(g, "GroupPolicyList", managed)
            for g in details.get("GroupDetailList", [])
        }
        self.entities: list[tuple[str, PrincipalKind, list[tuple[str, Any]]]] = []
        for user in details.get("UserDetailList", []):
            documents = self._documents(user, "UserPolicyList", managed)
            for group in user.get("GroupList", []):
                documents.extend(groups.get(group, []))
            self.entities.append((user["Arn"], PrincipalKind.USER, documents))
        for role in details.get("RoleDetailList", []):
            self.entities.append(
                (role["Arn"], PrincipalKind.ROLE, self._documents(role, "RolePolicyList", managed))
            )
        self._all_keys: dict[str, Any] = {}
        for arn, _, documents in self.entities:
            access = evaluate_identity_policies(documents, key_arn=None, account_id=account)
            self.problems.extend(f"{arn}: {problem}" for problem in access.problems)
            self._all_keys[arn] = access

    def _documents(
        self, entity: Mapping[str, Any], inline_key: str, managed: Mapping[str, Any]
    ) -> list[tuple[str, Any]]:
        """The entity's readable policy documents; an unreadable one is skipped and noted, so one bad
        document never erases what the others grant."""
        named = [
            (f"inline {p.get('PolicyName')}", _decode(p.get("PolicyDocument")))
            for p in entity.get(inline_key, [])
        ]
        for attached in entity.get("AttachedManagedPolicies", []):
            arn = attached.get("PolicyArn")
            if managed.get(arn) is None:
                self.problems.append(f"managed policy {arn} attached to {entity.get('Arn')} was not returned")
                continue
            named.append((attached.get("PolicyName") or arn, managed[arn]))
        readable = []
        for name, document in named:
            try:
                evaluate_identity_policies([(name, document)], key_arn=None)
            except PolicyParseError as exc:
                self.problems.append(f"{entity.get('Arn')}: {exc}")
                continue
            readable.append((name, document))
        return readable

    def principals(self) -> list[Principal]:
        """Every IAM user and role (key-level bindings may name any of them)."""
        return [Principal(uid=arn, kind=kind, display_name=_display(arn)) for arn, kind, _ in self.entities]

    def scope_bindings(self) -> list[AccessBinding]:
        """What identity policies grant on every key of the account (they apply to keys that delegate)."""
        out = []
        for arn, _, _ in self.entities:
            access = self._all_keys.get(arn)
            if access is None or not access.capabilities:
                continue
            out.append(
                AccessBinding(
                    provider=Provider.AWS,
                    scope=self.account,
                    principal=arn,
                    target=self.account,
                    level=ScopeLevel.SCOPE,
                    capabilities=access.capabilities,
                    source=BindingSource.IDENTITY_POLICY,
                    conditional=access.conditional,
                    via=", ".join(access.via) or None,
                    via_services=_services(access.via_services),
                )
            )
        return out

    def key_bindings(self, key_arn: str, narrowing: Any = None) -> list[AccessBinding]:
        """Identity-policy grants on this key as key-level bindings.

        Without ``narrowing`` only what names this key specifically (account-wide grants reach it through
        the scope-level binding). With ``narrowing`` (the key policy, when it limits what it delegates or
        denies IAM principals) everything, capped at what the key policy delegates, minus its denies.
        """
        out = []
        for arn, _, documents in self.entities:
            broad = self._all_keys.get(arn)
            broad_caps = broad.capabilities if broad is not None else frozenset()
            if _mentions_specific_kms_resource(documents):
                try:
                    access = evaluate_identity_policies(documents, key_arn=key_arn)
                except PolicyParseError:
                    continue
            elif narrowing is not None and broad is not None:
                access = broad
            else:
                continue
            if narrowing is None:
                extra = access.capabilities - broad_caps
            else:
                extra = (access.capabilities & narrowing.capabilities) - narrowing.denied_capabilities(arn)
            if extra:
                out.append(
                    AccessBinding(
                        provider=Provider.AWS,
                        scope=self.account,
                        principal=arn,
                        target=key_arn,
                        level=ScopeLevel.KEY,
                        capabilities=extra,
                        source=BindingSource.IDENTITY_POLICY,
                        conditional=access.conditional or (narrowing is not None and narrowing.conditional),
                        via=", ".join(access.via) or None,
                        via_services=_services(
                            _both(access.via_services, narrowing.via_services if narrowing else ())
                        ),
                    )
                )
        return out


def _default_version(policy: Mapping[str, Any]) -> Any:
    for version in policy.get("PolicyVersionList", []):
        if version.get("IsDefaultVersion"):
            return _decode(version.get("Document"))
    return None


def _decode(document: Any) -> Any:
    """IAM returns policy documents URL-encoded in some SDK paths; boto3 usually decodes them."""
    if isinstance(document, str) and document.startswith("%7B"):
        return json.loads(urllib.parse.unquote(document))
    return document


def _mentions_specific_kms_resource(documents: list[tuple[str, Any]]) -> bool:
    """Cheap pre-check: only documents naming kms key ARNs need a per-key evaluation."""
    return any(":kms:" in json.dumps(document) for _, document in documents if document is not None)
