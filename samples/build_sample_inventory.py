"""Build samples/inventory-multicloud.json: a synthetic multi-cloud key estate of "Example Corp".

The inventory is shaped like what keyaudit's AWS, GCP and Azure providers produce (ARNs, full resource
names and Azure resource ids; effective access already mapped to capabilities) and is meant to be judged
against samples/cek-policy.yaml. The key rules of SPEC section 5 each find a passing and a failing
resource in it; a short comment above each odd resource says which rule it is there for.

Deterministic: fixed ids and dates (2025-2026, UTC), no randomness, sets sorted in the JSON.
Run from the repository root:

    .venv/bin/python samples/build_sample_inventory.py [--out samples/inventory-multicloud.json]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# KEY_SPECS: the AWS provider's own KeySpec table, so the sample reads key specs as a scan would.
from providers.aws.normalise import KEY_SPECS
from scanner.inventory import (
    AccessBinding,
    AuditLogCoverage,
    BindingSource,
    Capability,
    CollectionError,
    CollectionInfo,
    ConnectionState,
    DeletionProtection,
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
    KeyStoreKind,
    KeyType,
    KeyVersion,
    NetworkAccess,
    Principal,
    PrincipalKind,
    ProtectedResource,
    ProtectionLevel,
    Provider,
    Rotation,
    Scope,
    ScopeKind,
    ScopeLevel,
    ScopeRef,
)

DEFAULT_OUT = Path(__file__).with_name("inventory-multicloud.json")

C = Capability
ALL_CAPABILITIES = frozenset(Capability)
ENCRYPT_DECRYPT = frozenset({C.ENCRYPT, C.DECRYPT})
SIGN_VERIFY = frozenset({C.SIGN, C.VERIFY})
READ_ONLY = frozenset({C.READ_METADATA})
# AWS console default key policy, "Allow access for Key Administrators" statement: no crypto actions.
AWS_KEY_ADMIN = frozenset({C.ADMINISTER_ACCESS, C.MANAGE_LIFECYCLE, C.DESTROY, C.READ_METADATA})
# roles/cloudkms.admin: setIamPolicy, key and version management, destroy, import jobs; no crypto.
GCP_KMS_ADMIN = AWS_KEY_ADMIN | {C.IMPORT_MATERIAL}
# Azure built-in Key Vault Administrator: dataActions Microsoft.KeyVault/vaults/* (manage *and* use).
AZ_KEY_VAULT_ADMINISTRATOR = ALL_CAPABILITIES - {C.ADMINISTER_ACCESS}
# Key Vault / Managed HSM "Crypto Service Encryption User": read, wrap and unwrap.
AZ_ENCRYPTION_USER = ENCRYPT_DECRYPT | READ_ONLY

DEFAULT_SOURCE = {
    Provider.AWS: BindingSource.KEY_POLICY,
    Provider.GCP: BindingSource.IAM_POLICY,
    Provider.AZURE: BindingSource.RBAC,
}


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def rotating(days: int, last: datetime) -> Rotation:
    return Rotation(
        enabled=True, period_days=days, last_rotation=last, next_rotation=last + timedelta(days=days)
    )


@dataclass(frozen=True)
class Above:
    """A binding target above key stores: resource group, scope, folder, management group, organization."""

    provider: Provider
    scope: str  # the scanned scope the binding was read for
    uid: str
    level: ScopeLevel

    @property
    def inherited_from(self) -> str | None:
        inherited = (ScopeLevel.FOLDER, ScopeLevel.MANAGEMENT_GROUP, ScopeLevel.ORGANIZATION)
        return self.uid if self.level in inherited else None


@dataclass
class Estate:
    """Collects the inventory's records while the per-cloud builders add to it."""

    scopes: list[Scope] = field(default_factory=list)
    stores: list[KeyStore] = field(default_factory=list)
    keys: list[Key] = field(default_factory=list)
    principals: dict[str, Principal] = field(default_factory=dict)
    bindings: list[AccessBinding] = field(default_factory=list)
    audit: list[AuditLogCoverage] = field(default_factory=list)
    errors: list[CollectionError] = field(default_factory=list)
    resources: list[ProtectedResource] = field(default_factory=list)

    def who(
        self, uid: str, kind: PrincipalKind, name: str | None = None, *aliases: str, external: bool = False
    ) -> str:
        """Register a principal once; return its uid, which bindings refer to."""
        principal = Principal(uid=uid, kind=kind, display_name=name, aliases=aliases, external=external)
        self.principals.setdefault(uid, principal)
        return uid

    def key_named(self, provider: Provider, name: str) -> Key:
        return next(k for k in self.keys if k.provider is provider and k.name == name)

    def grant(
        self,
        on: Key | KeyStore | Above,
        principal: str,
        capabilities: Iterable[Capability],
        *,
        via: str,
        source: BindingSource | None = None,
        conditional: bool = False,
        via_services: tuple[str, ...] = (),
    ) -> None:
        """One effective grant; provider, scope and level follow from what it is attached to."""
        if isinstance(on, Above):
            level, inherited_from = on.level, on.inherited_from
        else:
            level, inherited_from = (ScopeLevel.KEY if isinstance(on, Key) else ScopeLevel.KEY_STORE), None
        self.bindings.append(
            AccessBinding(
                provider=on.provider,
                scope=on.scope,
                principal=principal,
                target=on.uid,
                level=level,
                capabilities=frozenset(capabilities),
                source=source or DEFAULT_SOURCE[on.provider],
                conditional=conditional,
                inherited_from=inherited_from,
                via=via,
                via_services=via_services,
            )
        )


# ---------------------------------------------------------------------------------------------------------
# AWS: an organization with two accounts, two regions each
# ---------------------------------------------------------------------------------------------------------
AWS_ORG = ScopeRef(kind=ScopeKind.AWS_ORGANIZATION, uid="o-a1b2c3d4e5", name="Example Corp")
PAYMENTS = "111122223333"  # example-payments-prod, also holds the CloudHSM and external key stores
DATA = "444455556666"  # example-data-prod
PARTNER = "777788889999"  # a partner's account outside the organization
AWS_REGIONS = ("eu-west-1", "us-east-1")
CLOUDHSM_STORE = f"arn:aws:kms:eu-west-1:{PAYMENTS}:custom-key-store/cks-0f1e2d3c4b5a69788"
XKS_STORE = f"arn:aws:kms:us-east-1:{PAYMENTS}:custom-key-store/cks-7a8b9c0d1e2f3a4b5"


@dataclass(frozen=True)
class AwsRegion:
    account: str
    region: str

    @property
    def default_store(self) -> str:
        """Synthetic uid of the region's multi-tenant AWS KMS key store (AWS gives it no ARN)."""
        return f"arn:aws:kms:{self.region}:{self.account}:keystore/default"


PAY_EU, PAY_US = AwsRegion(PAYMENTS, "eu-west-1"), AwsRegion(PAYMENTS, "us-east-1")
DATA_EU, DATA_US = AwsRegion(DATA, "eu-west-1"), AwsRegion(DATA, "us-east-1")


def iam(account: str, path: str) -> str:
    return f"arn:aws:iam::{account}:{path}"


def aws_key(e: Estate, where: AwsRegion, key_id: str, alias: str, created: datetime, **kw: Any) -> Key:
    """A KMS key; symmetric ENCRYPT_DECRYPT in the region's default store unless ``kw`` says otherwise."""
    key_type, size_bits, curve = KEY_SPECS[kw.setdefault("algorithm", "SYMMETRIC_DEFAULT")]
    kw.setdefault("store", where.default_store)
    kw.setdefault("purpose", KeyPurpose.ENCRYPT)
    kw.setdefault("protection", ProtectionLevel.HSM)  # AWS KMS keys live in multi-tenant FIPS HSMs
    kw.setdefault("origin", KeyOrigin.GENERATED)
    kw.setdefault("state", KeyState.ENABLED)
    kw.setdefault("multi_region", False)
    key = Key(
        provider=Provider.AWS,
        uid=f"arn:aws:kms:{where.region}:{where.account}:key/{key_id}",
        scope=where.account,
        location=where.region,
        name=alias,  # AWS keys have no name; the alias is what people know them by
        native_type="AWS::KMS::Key",
        aliases=(f"alias/{alias}",),
        key_type=key_type,
        size_bits=size_bits,
        curve=curve,
        created=created,
        exportable=False,
        **kw,
    )
    e.keys.append(key)
    return key


def key_policy(
    e: Estate, key: Key, admins: Iterable[str], users: Iterable[str], use: Iterable[Capability]
) -> None:
    """The console's default shape: an administrators statement and a users statement."""
    for admin in admins:
        e.grant(key, admin, AWS_KEY_ADMIN, via="key policy statement 'Allow access for Key Administrators'")
    for user in users:
        e.grant(key, user, use, via="key policy statement 'Allow use of the key'")


def add_aws_scopes_and_stores(e: Estate) -> None:
    for account, name, ou in (
        (PAYMENTS, "example-payments-prod", "ou-x1y2-paym3nts"),
        (DATA, "example-data-prod", "ou-x1y2-d4t4pl4t"),
    ):
        parents = (ScopeRef(kind=ScopeKind.AWS_ORGANIZATIONAL_UNIT, uid=ou), AWS_ORG)
        e.scopes.append(
            Scope(
                provider=Provider.AWS,
                kind=ScopeKind.AWS_ACCOUNT,
                uid=account,
                name=name,
                parents=parents,
                locations=AWS_REGIONS,
            )
        )
    for where in (PAY_EU, PAY_US, DATA_EU, DATA_US):
        e.stores.append(
            KeyStore(
                provider=Provider.AWS,
                kind=KeyStoreKind.AWS_KMS_DEFAULT,
                uid=where.default_store,
                scope=where.account,
                location=where.region,
                name=f"AWS KMS {where.region}",
            )
        )
    # custom_key_store_healthy PASS: connected; its cluster has 2 active HSMs in 2 availability zones.
    cluster = HsmCluster(
        uid="cluster-5zcjhb3wzhn",
        state="ACTIVE",
        active_hsms=2,
        availability_zones=("eu-west-1a", "eu-west-1b"),
    )
    e.stores.append(
        KeyStore(
            provider=Provider.AWS,
            kind=KeyStoreKind.AWS_CLOUDHSM,
            uid=CLOUDHSM_STORE,
            scope=PAYMENTS,
            location="eu-west-1",
            name="cde-cloudhsm",
            connection_state=ConnectionState.CONNECTED,
            hsm_cluster=cluster,
        )
    )
    # custom_key_store_healthy FAIL: the external key store proxy does not answer (XKS_PROXY_TIMED_OUT).
    e.stores.append(
        KeyStore(
            provider=Provider.AWS,
            kind=KeyStoreKind.AWS_EXTERNAL,
            uid=XKS_STORE,
            scope=PAYMENTS,
            location="us-east-1",
            name="settlement-xks",
            connection_state=ConnectionState.DISCONNECTED,
        )
    )


def add_aws_principals(e: Estate) -> dict[str, str]:
    role, user, account = PrincipalKind.ROLE, PrincipalKind.USER, PrincipalKind.ACCOUNT
    principals = {
        "root": e.who(iam(PAYMENTS, "root"), account, "example-payments-prod account root"),
        "partner": e.who(iam(PARTNER, "root"), account, "Example Partner Ltd", external=True),
        "devops_lead": e.who(iam(PAYMENTS, "user/devops-lead"), user, "devops-lead"),
        "cloudtrail": e.who("cloudtrail.amazonaws.com", PrincipalKind.SERVICE, "AWS CloudTrail"),
        "anyone": e.who("*", PrincipalKind.PUBLIC, "Principal: *"),
    }
    for name, account_id, path in (
        ("admin", PAYMENTS, "KeyAdmin"),
        ("breakglass", PAYMENTS, "KeyAdminBreakGlass"),
        ("auditor", PAYMENTS, "SecurityAudit"),
        ("payments", PAYMENTS, "app-payments"),
        ("payments_worker", PAYMENTS, "app-payments-worker"),
        ("crm", PAYMENTS, "app-crm"),
        ("docsign", PAYMENTS, "app-docsign"),
        ("auth", PAYMENTS, "app-auth"),
        ("tokenizer", PAYMENTS, "app-cde-tokenizer"),
        ("settlement", PAYMENTS, "app-settlement"),
        ("data_admin", DATA, "KeyAdmin"),
        ("data_breakglass", DATA, "KeyAdminBreakGlass"),
        ("ingest", DATA, "app-ingest"),
        ("exporter", DATA, "app-exporter"),
        ("ledger", DATA, "app-ledger"),
        ("log_reader", DATA, "app-log-reader"),
        ("legacy_batch", DATA, "LegacyBatchJob"),
    ):
        principals[name] = e.who(iam(account_id, f"role/{path}"), role, path)
    return principals


def add_aws_payments_keys(e: Estate, p: dict[str, str]) -> None:
    admins = (p["admin"], p["breakglass"])
    confidential = {"data_classification": "confidential", "owner": "payments"}
    restricted = {"data_classification": "restricted", "owner": "payments"}
    internal = {"data_classification": "internal", "owner": "platform"}

    # The clean reference key: rotation every 90 days, two declared admins, declared users (one via a grant).
    k = aws_key(
        e, PAY_EU, "ab775a07-6ce7-4bd2-9ddb-3ddbcf3bc648", "payments-db", at(2025, 2, 10, 9, 12),
        tags=confidential, rotation=rotating(90, at(2026, 10, 2)),
    )  # fmt: skip
    key_policy(e, k, admins, [p["payments"]], ENCRYPT_DECRYPT)
    e.grant(k, p["payments_worker"], ENCRYPT_DECRYPT, via="grant 7f0c2e1b9d8a", source=BindingSource.GRANT)

    # Restricted data in multi-tenant KMS (policy wants dedicated_hsm); rotation 365 > 90 days; devops-lead
    # is in both the administrators and the users statement (SoD conflict, undeclared admin and user).
    k = aws_key(
        e, PAY_EU, "7abeb62c-8fbf-470e-8dba-94bb16555ae6", "customer-pii", at(2025, 3, 1, 14, 30),
        tags=restricted, rotation=rotating(365, at(2026, 3, 1)),
    )  # fmt: skip
    key_policy(e, k, [*admins, p["devops_lead"]], [p["crm"], p["devops_lead"]], ENCRYPT_DECRYPT)

    # RSA 2048 is below min_rsa_bits 3072; a single administrator. Asymmetric: rotation not applicable.
    k = aws_key(
        e, PAY_EU, "95d52d61-76f3-4979-b9f2-985a85da5bdd", "doc-signing", at(2025, 5, 20, 8, 0),
        algorithm="RSA_2048", purpose=KeyPurpose.SIGN, tags=internal,
    )  # fmt: skip
    key_policy(e, k, [p["admin"]], [p["docsign"]], SIGN_VERIFY)

    # NIST P-256 for signing: allowed curve and purpose.
    k = aws_key(
        e, PAY_EU, "ee989e1b-d0a5-4eac-b56b-71a58f01c2fe", "api-token-signing", at(2025, 7, 1, 10, 45),
        algorithm="ECC_NIST_P256", purpose=KeyPurpose.SIGN, tags=internal,
    )  # fmt: skip
    key_policy(e, k, admins, [p["auth"]], SIGN_VERIFY)

    # Restricted data in the CloudHSM key store (dedicated_hsm). Custom key stores cannot auto-rotate.
    k = aws_key(
        e, PAY_EU, "e990e70c-9767-4e31-bf22-bf6d8f040027", "cardholder-vault", at(2025, 4, 14, 16, 5),
        store=CLOUDHSM_STORE, protection=ProtectionLevel.DEDICATED_HSM, tags=restricted,
        auto_rotation_supported=False,
    )  # fmt: skip
    key_policy(e, k, admins, [p["tokenizer"]], ENCRYPT_DECRYPT)

    # Scheduled for deletion with AWS's shortest waiting period (7 days < min_destroy_scheduled_days 30).
    k = aws_key(
        e, PAY_EU, "ead0b844-431e-4ced-99ca-1f283d1b8413", "old-reporting", at(2025, 1, 8, 11, 20),
        state=KeyState.PENDING_DELETION, scheduled_deletion=at(2026, 11, 27, 9, 41), deletion_window_days=7,
        rotation=Rotation(enabled=False), tags=internal,
    )  # fmt: skip
    key_policy(e, k, admins, [], ENCRYPT_DECRYPT)

    # AWS-managed key (aws/s3): inventory only; the rules judge customer-managed keys.
    aws_key(
        e, PAY_US, "c2d0f61b-b0e4-420a-b69c-8b6e95cda50d", "aws/s3", at(2025, 1, 3, 7, 2),
        manager=KeyManager.PROVIDER, rotation=rotating(365, at(2026, 1, 3)),
    )  # fmt: skip

    # Hold-your-own-key in the external key store: protection external meets dedicated_hsm.
    k = aws_key(
        e, PAY_US, "99bb0fb0-b99c-4801-8364-76ce2faf7596", "hyok-settlement", at(2025, 9, 9, 13, 0),
        store=XKS_STORE, protection=ProtectionLevel.EXTERNAL, origin=KeyOrigin.EXTERNAL, tags=restricted,
        auto_rotation_supported=False,
    )  # fmt: skip
    key_policy(e, k, admins, [p["settlement"]], ENCRYPT_DECRYPT)

    # Imported (BYOK) key still on the console default policy: the account root holds kms:* (admin and
    # user, sole admin), the partner account may use it, and `*` may decrypt only from the partner's
    # organization (a conditional grant: key_not_publicly_accessible still passes).
    k = aws_key(
        e, PAY_US, "3d873723-b03d-48f6-9fe7-4992c37e6447", "partner-byok", at(2025, 1, 15, 15, 55),
        origin=KeyOrigin.IMPORTED, tags=confidential,
    )  # fmt: skip
    e.grant(k, p["root"], ALL_CAPABILITIES, via="key policy statement 'Enable IAM User Permissions' (kms:*)")
    e.grant(k, p["partner"], ENCRYPT_DECRYPT, via="key policy statement 'Allow use by Example Partner'")
    e.grant(k, p["anyone"], {C.DECRYPT}, via="key policy statement with aws:PrincipalOrgID", conditional=True)
    # key_grants_restricted FAIL: a KMS grant lets the partner's account decrypt outside the key policy.
    e.grant(
        k, p["partner"], {C.DECRYPT}, via="grant partner-batch-decrypt 5e1d7c3b9a20",
        source=BindingSource.GRANT,
    )  # fmt: skip

    # key_multi_region_justified PASS: a multi-region primary key tagged as a disaster-recovery replica.
    k = aws_key(
        e, PAY_EU, "mrk-3f6a9c1e2b7d4e8fa5c0d9b8e7f6a1b2", "payments-dr", at(2025, 6, 16, 10, 30),
        multi_region=True, tags={**confidential, "dr_replica": "true"}, rotation=rotating(90, at(2026, 9, 14)),
    )  # fmt: skip
    key_policy(e, k, admins, [p["payments"]], ENCRYPT_DECRYPT)

    # key_multi_region_justified FAIL: created multi-region although nothing justifies replicating it.
    k = aws_key(
        e, PAY_US, "mrk-8b2e4d6f1a3c45e7b9d0c2f4a6e8b1d3", "crm-events", at(2025, 8, 4, 15, 10),
        multi_region=True, tags=internal, rotation=rotating(90, at(2026, 10, 30)),
    )  # fmt: skip
    key_policy(e, k, admins, [p["crm"]], ENCRYPT_DECRYPT)


def add_aws_data_keys(e: Estate, p: dict[str, str]) -> None:
    admins = (p["data_admin"], p["data_breakglass"])
    internal = {"data_classification": "internal", "owner": "data-platform"}

    # Automatic rotation off, and a key policy (put with BypassPolicyLockoutSafetyCheck) naming no admin.
    k = aws_key(
        e, DATA_EU, "2262ad5b-bc07-43fc-8824-e1de190c8d28", "clickstream-raw", at(2025, 6, 30, 12, 10),
        rotation=Rotation(enabled=False), tags=internal,
    )  # fmt: skip
    key_policy(e, k, [], [p["ingest"]], ENCRYPT_DECRYPT)

    # RSA 4096 for encryption: meets min_rsa_bits.
    k = aws_key(
        e, DATA_EU, "aa92c87a-7a39-4a4e-ab55-49595274609a", "export-envelope", at(2025, 8, 18, 9, 30),
        algorithm="RSA_4096", tags={"data_classification": "confidential", "owner": "data-platform"},
    )  # fmt: skip
    key_policy(e, k, admins, [p["exporter"]], ENCRYPT_DECRYPT)

    # secp256k1 is not in the policy's allowed_curves; `*` may verify and read it with no condition.
    k = aws_key(
        e, DATA_US, "8ff74b84-adfe-47b6-b8a1-edf5836a243b", "ledger-signing", at(2025, 10, 5, 17, 45),
        algorithm="ECC_SECG_P256K1", purpose=KeyPurpose.SIGN, tags=internal,
    )  # fmt: skip
    key_policy(e, k, admins, [p["ledger"]], SIGN_VERIFY)
    e.grant(
        k, p["anyone"], {C.VERIFY, C.READ_METADATA}, via="key policy statement 'Allow public verification'"
    )

    # Rotation every 180 days (> rotation.max_days 90); CloudTrail may encrypt only for our trail.
    k = aws_key(
        e, DATA_US, "ce419237-1e0b-467e-be98-8b32237a4585", "cloudtrail-logs", at(2025, 11, 3, 8, 20),
        rotation=rotating(180, at(2026, 8, 1)), tags=internal,
    )  # fmt: skip
    key_policy(e, k, admins, [p["log_reader"]], {C.DECRYPT})
    e.grant(k, p["cloudtrail"], {C.ENCRYPT}, via="key policy statement with aws:SourceArn", conditional=True)


def add_aws_access_and_audit(e: Estate, p: dict[str, str]) -> None:
    # An inline policy allowing kms:Decrypt on Resource "*": decrypt on every key of the account
    # (no_decrypt_on_all_keys FAIL; an undeclared user of every key in example-data-prod).
    data_account = Above(Provider.AWS, DATA, DATA, ScopeLevel.SCOPE)
    e.grant(
        data_account, p["legacy_batch"], {C.DECRYPT}, via="inline policy kms-decrypt-all (Resource *)",
        source=BindingSource.IDENTITY_POLICY,
    )  # fmt: skip
    # AWS managed policy SecurityAudit: describe and list only (neither administrator nor user).
    payments_account = Above(Provider.AWS, PAYMENTS, PAYMENTS, ScopeLevel.SCOPE)
    e.grant(
        payments_account, p["auditor"], READ_ONLY, via="AWS managed policy SecurityAudit",
        source=BindingSource.IDENTITY_POLICY,
    )  # fmt: skip

    def trail(where: AwsRegion, name: str) -> tuple[str]:
        return (f"arn:aws:cloudtrail:{where.region}:{where.account}:trail/{name}",)

    coverage = (
        (PAY_EU, True, trail(PAY_EU, "payments-audit"), "multi-region trail"),
        (PAY_US, True, trail(PAY_EU, "payments-audit"), "multi-region trail"),
        (DATA_EU, True, trail(DATA_EU, "data-eu"), "single-region trail"),
        # key_usage_audit_logging_enabled FAIL: the trail excludes KMS events, which drops Encrypt, Decrypt
        # and GenerateDataKey; KMS administrative events (DisableKey, ScheduleKeyDeletion) are still logged.
        (DATA_US, False, trail(DATA_US, "data-us"), "ExcludeManagementEventSources: kms.amazonaws.com"),
    )
    for where, usage, sources, detail in coverage:
        e.audit.append(
            AuditLogCoverage(
                provider=Provider.AWS,
                scope=where.account,
                location=where.region,
                admin_events=True,
                usage_events=usage,
                sources=sources,
                detail=detail,
            )
        )


def add_aws(e: Estate) -> None:
    add_aws_scopes_and_stores(e)
    principals = add_aws_principals(e)
    add_aws_payments_keys(e, principals)
    add_aws_data_keys(e, principals)
    add_aws_access_and_audit(e, principals)


# ---------------------------------------------------------------------------------------------------------
# GCP: organization > folder "production" > two projects; key rings in europe-west1 and global
# ---------------------------------------------------------------------------------------------------------
GCP_ORG = ScopeRef(kind=ScopeKind.GCP_ORGANIZATION, uid="organizations/123456789012", name="example.com")
GCP_FOLDER = ScopeRef(kind=ScopeKind.GCP_FOLDER, uid="folders/345678901234", name="production")
KMS_PROJECT = "example-kms-prod"
ANALYTICS_PROJECT = "example-analytics-prod"
GCP_LOCATIONS = ("europe-west1", "global")
GCP_LAST_ROTATION = at(2026, 10, 1)


def key_ring(e: Estate, project: str, location: str, name: str) -> KeyStore:
    ring = KeyStore(
        provider=Provider.GCP,
        kind=KeyStoreKind.GCP_KEY_RING,
        uid=f"projects/{project}/locations/{location}/keyRings/{name}",
        scope=project,
        location=location,
        name=name,
        native_type="cloudkms.googleapis.com/KeyRing",
    )
    e.stores.append(ring)
    return ring


VersionSpec = tuple[int, KeyState, datetime, datetime | None]  # number, state, created, scheduled destruction


def gcp_key(
    e: Estate, ring: KeyStore, name: str, created: datetime, protection: ProtectionLevel, **kw: Any
) -> Key:
    """A CryptoKey; symmetric ENCRYPT_DECRYPT with a 30-day destroy-scheduled duration unless ``kw`` says."""
    uid = f"{ring.uid}/cryptoKeys/{name}"
    rotation_days: int | None = kw.pop("rotation_days", None)
    versions: tuple[VersionSpec, ...] = kw.pop("versions", ((1, KeyState.ENABLED, created, None),))
    kw.setdefault("algorithm", "GOOGLE_SYMMETRIC_ENCRYPTION")
    kw.setdefault("key_type", KeyType.SYMMETRIC)
    kw.setdefault("size_bits", 256)
    kw.setdefault("purpose", KeyPurpose.ENCRYPT)
    kw.setdefault("origin", KeyOrigin.GENERATED)
    kw.setdefault("deletion_window_days", 30)
    kw.setdefault("multi_region", False)  # Cloud KMS has no replicated key copies
    if kw["key_type"] is KeyType.SYMMETRIC and kw["origin"] is KeyOrigin.GENERATED:
        # No rotation_period on the CryptoKey means no automatic rotation.
        no_rotation = Rotation(enabled=False)
        kw["rotation"] = rotating(rotation_days, GCP_LAST_ROTATION) if rotation_days else no_rotation
    key = Key(
        provider=Provider.GCP,
        uid=uid,
        scope=ring.scope,
        location=ring.location,
        store=ring.uid,
        name=name,
        native_type="cloudkms.googleapis.com/CryptoKey",
        protection=protection,
        state=KeyState.ENABLED,
        created=created,
        versions=tuple(
            KeyVersion(
                uid=f"{uid}/cryptoKeyVersions/{number}",
                state=state,
                created=made,
                protection=protection,
                scheduled_destruction=destroy,
            )
            for number, state, made, destroy in versions
        ),
        **kw,
    )
    e.keys.append(key)
    return key


def add_gcp_scopes_and_hierarchy(e: Estate) -> dict[str, str]:
    group, sa, user = PrincipalKind.GROUP, PrincipalKind.ROLE, PrincipalKind.USER
    p = {
        "org_admins": e.who("group:gcp-org-admins@example.com", group),
        "kms_admins": e.who("group:kms-admins@example.com", group),
        "auditors": e.who("group:security-audit@example.com", group),
        "owner": e.who("user:ravi.patel@example.com", user, "Ravi Patel"),
        "all_users": e.who("allUsers", PrincipalKind.PUBLIC),
        "all_authenticated": e.who("allAuthenticatedUsers", PrincipalKind.AUTHENTICATED_ANY),
        "bigquery": e.who(
            "serviceAccount:service-210987654321@gcp-sa-bigquery.iam.gserviceaccount.com",
            PrincipalKind.SERVICE,
            "BigQuery service agent",
        ),
    }
    for name, account in (
        ("monitoring", "kms-monitoring@example-kms-prod"),
        ("dataflow", "dataflow-runner@example-analytics-prod"),
        ("ml_training", "ml-training@example-analytics-prod"),
        ("payments_api", "payments-api@example-payments-prod"),
        ("auth", "auth-service@example-payments-prod"),
        ("settlement", "settlement@example-payments-prod"),
        ("backup", "backup@example-payments-prod"),
    ):
        p[name] = e.who(f"serviceAccount:{account}.iam.gserviceaccount.com", sa)

    for project, name in ((KMS_PROJECT, "Example KMS prod"), (ANALYTICS_PROJECT, "Example Analytics prod")):
        e.scopes.append(
            Scope(
                provider=Provider.GCP,
                kind=ScopeKind.GCP_PROJECT,
                uid=project,
                name=name,
                parents=(GCP_FOLDER, GCP_ORG),
                locations=GCP_LOCATIONS,
            )
        )
        # Inherited by every key of both projects: two declared administrators per key.
        org = Above(Provider.GCP, project, GCP_ORG.uid, ScopeLevel.ORGANIZATION)
        folder = Above(Provider.GCP, project, GCP_FOLDER.uid, ScopeLevel.FOLDER)
        e.grant(org, p["org_admins"], {C.ADMINISTER_ACCESS}, via="roles/resourcemanager.organizationAdmin")
        e.grant(org, p["auditors"], READ_ONLY, via="roles/cloudkms.viewer")
        e.grant(folder, p["kms_admins"], GCP_KMS_ADMIN, via="roles/cloudkms.admin")

    kms_project = Above(Provider.GCP, KMS_PROJECT, KMS_PROJECT, ScopeLevel.SCOPE)
    e.grant(kms_project, p["monitoring"], READ_ONLY, via="roles/cloudkms.viewer")
    analytics = Above(Provider.GCP, ANALYTICS_PROJECT, ANALYTICS_PROJECT, ScopeLevel.SCOPE)
    # roles/owner on a project holding keys: every capability on every key in it (SoD conflict,
    # no_wildcard_key_admin and no_decrypt_on_all_keys FAIL, undeclared admin and user).
    e.grant(analytics, p["owner"], ALL_CAPABILITIES, via="roles/owner")
    # A decrypter role on the whole project instead of on one key (no_decrypt_on_all_keys FAIL).
    e.grant(analytics, p["dataflow"], {C.DECRYPT}, via="roles/cloudkms.cryptoKeyDecrypter")
    return p


def add_gcp_kms_project(e: Estate, p: dict[str, str]) -> None:
    payments = key_ring(e, KMS_PROJECT, "europe-west1", "payments")
    platform = key_ring(e, KMS_PROJECT, "global", "platform")
    confidential = {"data_classification": "confidential", "team": "payments"}
    e.grant(payments, p["payments_api"], ENCRYPT_DECRYPT, via="roles/cloudkms.cryptoKeyEncrypterDecrypter")

    # Reference key: HSM, rotation every 90 days, 30-day destroy wait, declared admins and users.
    first, second = (
        (1, KeyState.ENABLED, at(2025, 3, 12, 10), None),
        (2, KeyState.ENABLED, GCP_LAST_ROTATION, None),
    )
    gcp_key(
        e, payments, "card-tokens", at(2025, 3, 12, 10), ProtectionLevel.HSM, tags=confidential, rotation_days=90,
        versions=(first, second),
    )  # fmt: skip
    # Confidential data with SOFTWARE protection (policy wants hsm), yearly rotation (> 90 days).
    gcp_key(
        e, payments, "card-tokens-legacy", at(2025, 1, 20, 9), ProtectionLevel.SOFTWARE, tags=confidential,
        rotation_days=365,
    )  # fmt: skip
    # Cloud EKM key: the material stays in the external key manager (meets dedicated_hsm); IAM condition.
    k = gcp_key(
        e, payments, "settlement-ekm", at(2025, 9, 30, 15), ProtectionLevel.EXTERNAL, origin=KeyOrigin.EXTERNAL,
        algorithm="EXTERNAL_SYMMETRIC_ENCRYPTION", tags={"data_classification": "restricted", "team": "payments"},
    )  # fmt: skip
    e.grant(
        k,
        p["settlement"],
        ENCRYPT_DECRYPT,
        via="roles/cloudkms.cryptoKeyEncrypterDecrypter",
        conditional=True,
    )
    # EC P-384 signing key: allowed curve and purpose; asymmetric, so no automatic rotation.
    k = gcp_key(
        e, platform, "jwt-signing", at(2025, 6, 2, 11), ProtectionLevel.HSM, algorithm="EC_SIGN_P384_SHA384",
        key_type=KeyType.EC, purpose=KeyPurpose.SIGN, size_bits=384, curve="P-384",
        tags={"data_classification": "internal", "team": "identity"},
    )  # fmt: skip
    e.grant(k, p["auth"], SIGN_VERIFY, via="roles/cloudkms.signerVerifier")
    # No rotation schedule, and a 1-day destroy-scheduled duration (< min_destroy_scheduled_days 30).
    k = gcp_key(
        e, platform, "backup-encryption", at(2025, 2, 25, 8), ProtectionLevel.SOFTWARE, deletion_window_days=1,
        tags={"data_classification": "internal", "team": "platform"},
    )  # fmt: skip
    e.grant(k, p["backup"], ENCRYPT_DECRYPT, via="roles/cloudkms.cryptoKeyEncrypterDecrypter")
    e.audit.append(
        AuditLogCoverage(
            provider=Provider.GCP,
            scope=KMS_PROJECT,
            admin_events=True,
            usage_events=True,
            sources=("projects/example-kms-prod auditConfigs[cloudkms.googleapis.com]",),
            detail="ADMIN_READ, DATA_READ and DATA_WRITE enabled",
        )
    )


def add_gcp_analytics_project(e: Estate, p: dict[str, str]) -> None:
    analytics = key_ring(e, ANALYTICS_PROJECT, "europe-west1", "analytics")
    internal = {"data_classification": "internal", "team": "analytics"}

    # Version 1 is DESTROY_SCHEDULED (key_not_pending_deletion FAIL through the key's versions).
    scheduled = (1, KeyState.PENDING_DELETION, at(2025, 4, 1, 12), at(2026, 12, 4, 16, 20))
    k = gcp_key(
        e, analytics, "bq-dataset", at(2025, 4, 1, 12), ProtectionLevel.HSM, rotation_days=90,
        versions=(scheduled, (2, KeyState.ENABLED, GCP_LAST_ROTATION, None)),
        tags={"data_classification": "confidential", "team": "analytics"},
    )  # fmt: skip
    e.grant(k, p["bigquery"], ENCRYPT_DECRYPT, via="roles/cloudkms.cryptoKeyEncrypterDecrypter")
    # Public key readable by allUsers (key_not_publicly_accessible FAIL); RSA 2048 < 3072.
    k = gcp_key(
        e, analytics, "exports-verify", at(2025, 8, 8, 9), ProtectionLevel.SOFTWARE,
        algorithm="RSA_SIGN_PKCS1_2048_SHA256", key_type=KeyType.RSA, purpose=KeyPurpose.SIGN, size_bits=2048,
        tags=internal,
    )  # fmt: skip
    e.grant(k, p["all_users"], {C.VERIFY, C.READ_METADATA}, via="roles/cloudkms.publicKeyViewer")
    # Encrypter/decrypter for any Google account (allAuthenticatedUsers).
    k = gcp_key(
        e,
        analytics,
        "ml-features",
        at(2025, 10, 20, 14),
        ProtectionLevel.SOFTWARE,
        rotation_days=90,
        tags=internal,
    )
    e.grant(k, p["all_authenticated"], ENCRYPT_DECRYPT, via="roles/cloudkms.cryptoKeyEncrypterDecrypter")
    # A fourth user (with the project owner and decrypter and allAuthenticatedUsers): key_users_limited FAIL
    # at the sample policy's limit of 3.
    e.grant(k, p["ml_training"], ENCRYPT_DECRYPT, via="roles/cloudkms.cryptoKeyEncrypterDecrypter")
    # key_usage_audit_logging_enabled FAIL: no Data Access audit logs for Cloud KMS (Admin Activity is on).
    e.audit.append(
        AuditLogCoverage(
            provider=Provider.GCP,
            scope=ANALYTICS_PROJECT,
            admin_events=True,
            usage_events=False,
            detail="no DATA_READ/DATA_WRITE audit config for cloudkms.googleapis.com in project, folder or org",
        )
    )


def add_gcp(e: Estate) -> None:
    principals = add_gcp_scopes_and_hierarchy(e)
    add_gcp_kms_project(e, principals)
    add_gcp_analytics_project(e, principals)


# ---------------------------------------------------------------------------------------------------------
# Azure: tenant > management group > subscription; two RBAC vaults, one access-policy vault, a managed HSM
# ---------------------------------------------------------------------------------------------------------
TENANT_ID = "5f1c0d2e-8a3b-4c6d-9e7f-0a1b2c3d4e5f"
MANAGEMENT_GROUP = "/providers/Microsoft.Management/managementGroups/mg-example-prod"
SUBSCRIPTION = "8f3c2a1d-5b6e-4c7f-9a0b-1d2e3f4a5b6c"
AZ_LOCATION = "westeurope"
PRIVATE = NetworkAccess(public_network_access=False, default_action_deny=True, private_endpoints=1)


def resource_group(name: str) -> str:
    return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{name}"


def azure_above(uid: str, level: ScopeLevel) -> Above:
    return Above(Provider.AZURE, SUBSCRIPTION, uid, level)


def azure_store(e: Estate, rg: str, name: str, network: NetworkAccess, **kw: Any) -> KeyStore:
    """A vault (RBAC, soft delete + purge protection, 90-day retention) or, with kind=..., a managed HSM."""
    kind = kw.setdefault("kind", KeyStoreKind.AZURE_VAULT)
    resource_type = "managedHSMs" if kind is KeyStoreKind.AZURE_MANAGED_HSM else "vaults"
    protection = DeletionProtection(
        soft_delete=True,
        purge_protection=kw.pop("purge_protection", True),
        retention_days=kw.pop("retention", 90),
    )
    store = KeyStore(
        provider=Provider.AZURE,
        uid=f"{resource_group(rg)}/providers/Microsoft.KeyVault/{resource_type}/{name}",
        scope=SUBSCRIPTION,
        location=AZ_LOCATION,
        name=name,
        native_type=f"Microsoft.KeyVault/{resource_type}",
        parent=resource_group(rg),
        deletion_protection=protection,
        network=network,
        access_model=kw.pop("access_model", "rbac"),
        tags={"cost_center": "cc-4410", "environment": "prod"},
        **kw,
    )
    e.stores.append(store)
    return store


def azure_key(e: Estate, store: KeyStore, name: str, kty: str, created: datetime, **kw: Any) -> Key:
    """A key as the data plane shows it; ``kty`` is Key Vault's key type (RSA, RSA-HSM, EC-HSM, oct-HSM)."""
    hsm = store.kind is KeyStoreKind.AZURE_MANAGED_HSM
    if hsm:
        protection = ProtectionLevel.DEDICATED_HSM
    else:
        protection = ProtectionLevel.HSM if kty.endswith("-HSM") else ProtectionLevel.SOFTWARE
    key_type = {"RSA": KeyType.RSA, "EC": KeyType.EC, "oct": KeyType.SYMMETRIC}[kty.removesuffix("-HSM")]
    rotation_days: int | None = kw.pop("rotation_days", None)
    no_rotation = Rotation(enabled=False)  # no rotation policy with a Rotate lifetime action
    kw.setdefault("purpose", KeyPurpose.ENCRYPT)
    kw.setdefault("multi_region", False)  # no Managed HSM extra regions in this estate
    key = Key(
        provider=Provider.AZURE,
        uid=f"{store.uid}/keys/{name}",
        scope=SUBSCRIPTION,
        location=store.location,
        store=store.uid,
        name=name,
        native_type="Microsoft.KeyVault/managedHSMs/keys" if hsm else "Microsoft.KeyVault/vaults/keys",
        key_type=key_type,
        algorithm=kty,
        protection=protection,
        origin=KeyOrigin.GENERATED,
        state=KeyState.ENABLED,
        rotation=rotating(rotation_days, created) if rotation_days else no_rotation,
        created=created,
        expiry_supported=True,
        exportable=False,
        **kw,
    )
    e.keys.append(key)
    return key


def azure_unreadable_key(e: Estate, store: KeyStore, name: str) -> None:
    """A key known only through ARM: the vault's data plane refused the scanner (ForbiddenByFirewall)."""
    e.keys.append(
        Key(
            provider=Provider.AZURE,
            uid=f"{store.uid}/keys/{name}",
            scope=SUBSCRIPTION,
            location=store.location,
            store=store.uid,
            name=name,
            native_type="Microsoft.KeyVault/vaults/keys",
            expiry_supported=True,
            unreadable=frozenset({KeyAspect.METADATA, KeyAspect.ROTATION}),
        )
    )


def add_azure_principals(e: Estate) -> dict[str, str]:
    group, user, identity = PrincipalKind.GROUP, PrincipalKind.USER, PrincipalKind.ROLE
    return {
        "owners": e.who("3b8e5c1a-6d2f-4f7e-9a41-7c2d8e0f1a93", group, "grp-platform-owners"),
        "kv_admins": e.who("9d4a7e2b-0c3f-4b8a-a6d5-2e1f7c9b3a60", group, "grp-keyvault-admins"),
        "hsm_officers": e.who("c7e2f9a4-3b1d-4e6c-8f0a-5d9b2c7e1f48", group, "grp-hsm-officers"),
        "auditors": e.who("1c9d3e7f-5a2b-4d8c-9e6f-3b7a1c5d9e02", group, "grp-security-auditors"),
        "alice": e.who(
            "e2a7c4d1-9f3b-4a8e-b5c6-1d0e7f2a9b34", user, "Alice Nguyen", "alice.nguyen@example.com"
        ),
        "marco": e.who(
            "4f6b1e9c-2d7a-4c3e-8b5f-9a0d6e1c7b25", user, "Marco Rossi", "marco.rossi@example.com"
        ),
        "sql": e.who("6a2d8f4c-7e1b-4f9a-a3c5-8d6e2f0b4a17", identity, "sql-example-payments"),
        "portal": e.who("b5e1a9d3-4c7f-4e2b-9d8a-6f3c1e5a7b90", identity, "app-legacy-portal"),
        "synapse": e.who("d8c4b2a6-1e9f-4a7d-b3e5-0f2a8c6d4e71", identity, "syn-example-analytics"),
        "core_banking": e.who("2e7f5a3c-8b4d-4c1e-a9f6-7d3b5e1c9a08", identity, "id-core-banking"),
        "swift": e.who("f0a6c8e4-2b5d-4e9f-8c1a-4b7e9d3f6a52", identity, "id-swift-gateway"),
    }


def add_azure_payments_vault(e: Estate, p: dict[str, str]) -> KeyStore:
    vault = azure_store(e, "rg-keys-prod", "kv-example-payments", PRIVATE, sku="premium")
    confidential = {"data_classification": "confidential", "owner": "payments"}
    # Key Vault Administrator on the vault: manage *and* use (the built-in SoD conflict).
    e.grant(vault, p["kv_admins"], AZ_KEY_VAULT_ADMINISTRATOR, via="Key Vault Administrator")
    e.grant(
        vault, p["alice"], {C.MANAGE_LIFECYCLE, C.DESTROY, C.IMPORT_MATERIAL, C.READ_METADATA},
        via="Key Vault Key Manager (custom role, NotDataActions: decrypt, unwrapKey, sign)",
    )  # fmt: skip
    e.grant(vault, p["sql"], AZ_ENCRYPTION_USER, via="Key Vault Crypto Service Encryption User")
    # RSA-HSM 3072 valid 728 days, rotated every 90 days: the key rules pass.
    azure_key(
        e, vault, "sql-tde-protector", "RSA-HSM", at(2025, 6, 2, 10), size_bits=3072, expires=at(2027, 5, 31, 10),
        rotation_days=90, tags=confidential,
    )  # fmt: skip
    # Valid 1096 days (> expiration.max_validity_days 730); yearly rotation (> 90 days).
    azure_key(
        e, vault, "storage-cmk", "RSA-HSM", at(2025, 3, 1, 9), size_bits=4096, expires=at(2028, 3, 1, 9),
        rotation_days=365, tags=confidential,
    )  # fmt: skip
    # EC P-256 for ECDH key agreement: the policy allows elliptic-curve keys for signing only.
    azure_key(
        e, vault, "app-ecdh", "EC-HSM", at(2025, 7, 15, 8), size_bits=256, curve="P-256",
        purpose=KeyPurpose.KEY_AGREEMENT, expires=at(2027, 1, 15, 8), tags=confidential,
    )  # fmt: skip
    return vault


def add_azure_legacy_vault(e: Estate, p: dict[str, str]) -> KeyStore:
    # key_store_deletion_protected FAIL (no purge protection, 7-day retention) and
    # key_store_network_restricted FAIL (public endpoint, firewall allows all networks).
    open_network = NetworkAccess(public_network_access=True, default_action_deny=False, private_endpoints=0)
    vault = azure_store(
        e, "rg-legacy-apps", "kv-example-legacy", open_network, access_model="access_policy", sku="standard",
        purge_protection=False, retention=7,
    )  # fmt: skip
    # Access-policy vault: Contributor on its resource group may write access policies (administer_access),
    # and the same person holds an access policy with every key permission.
    rg = azure_above(resource_group("rg-legacy-apps"), ScopeLevel.RESOURCE_GROUP)
    e.grant(rg, p["marco"], {C.ADMINISTER_ACCESS, C.READ_METADATA}, via="Contributor (vaults/write)")
    policy = BindingSource.ACCESS_POLICY
    e.grant(vault, p["marco"], AZ_KEY_VAULT_ADMINISTRATOR, via="access policy: keys all", source=policy)
    e.grant(
        vault,
        p["portal"],
        AZ_ENCRYPTION_USER,
        via="access policy: keys get, wrapKey, unwrapKey",
        source=policy,
    )
    # Software RSA 2048 without an expiry on confidential data: expiry, algorithm and HSM rules FAIL.
    azure_key(
        e, vault, "legacy-portal-key", "RSA", at(2025, 1, 27, 13), size_bits=2048,
        tags={"data_classification": "confidential", "owner": "web"},
    )  # fmt: skip
    # Software RSA 3072 signing key for internal data, valid 729 days: the key rules pass.
    azure_key(
        e, vault, "reports-signing", "RSA", at(2025, 9, 1, 7), size_bits=3072, purpose=KeyPurpose.SIGN,
        expires=at(2027, 8, 31, 7), tags={"data_classification": "internal", "owner": "reporting"},
    )  # fmt: skip
    return vault


def add_azure_analytics_vault(e: Estate, p: dict[str, str]) -> KeyStore:
    # Restricted by its firewall alone (default deny, one IP range, no private endpoint): passes the
    # network rule, and is why the scanner (outside that range) could not read the data plane.
    firewall = NetworkAccess(
        public_network_access=True,
        default_action_deny=True,
        private_endpoints=0,
        allowed_ip_ranges=("203.0.113.0/24",),
    )
    vault = azure_store(e, "rg-analytics-prod", "kv-example-analytics", firewall, sku="premium")
    rg = azure_above(resource_group("rg-analytics-prod"), ScopeLevel.RESOURCE_GROUP)
    e.grant(rg, p["kv_admins"], AZ_KEY_VAULT_ADMINISTRATOR, via="Key Vault Administrator")
    e.grant(vault, p["synapse"], AZ_ENCRYPTION_USER, via="Key Vault Crypto Service Encryption User")
    # ARM lists the keys and the role assignments; the data plane answered 403, so metadata is unknown.
    azure_unreadable_key(e, vault, "synapse-cmk")
    azure_unreadable_key(e, vault, "databricks-cmk")
    e.errors.append(
        CollectionError(
            provider=Provider.AZURE,
            scope=SUBSCRIPTION,
            location=AZ_LOCATION,
            api="keyvault:list_keys",
            error_class=ErrorClass.ACCESS_DENIED,
            resource=vault.uid,
            message="ForbiddenByFirewall: Client address is not authorized and caller is not a trusted service "
            "(HTTP 403); keys listed through ARM, their data-plane properties are unknown",
        )
    )
    return vault


def add_azure_managed_hsm(e: Estate, p: dict[str, str]) -> KeyStore:
    hsm = azure_store(
        e, "rg-keys-prod", "mhsm-example-prod", PRIVATE, kind=KeyStoreKind.AZURE_MANAGED_HSM, sku="B1"
    )
    restricted = {"data_classification": "restricted", "owner": "core-banking"}
    # Managed HSM local RBAC keeps administration and use apart: both keys pass the SoD rules.
    officer = {C.ADMINISTER_ACCESS, C.DESTROY, C.EXPORT, C.READ_METADATA}
    e.grant(hsm, p["hsm_officers"], officer, via="Managed HSM Crypto Officer (scope /)")
    k = azure_key(
        e, hsm, "core-banking-master", "oct-HSM", at(2025, 5, 5, 6), size_bits=256, expires=at(2027, 5, 4, 6),
        rotation_days=90, tags=restricted,
    )  # fmt: skip
    e.grant(k, p["core_banking"], AZ_ENCRYPTION_USER, via="Managed HSM Crypto Service Encryption User")
    k = azure_key(
        e, hsm, "swift-signing", "EC-HSM", at(2026, 1, 12, 6), size_bits=384, curve="P-384",
        purpose=KeyPurpose.SIGN, expires=at(2028, 1, 11, 6), tags=restricted,
    )  # fmt: skip
    e.grant(k, p["swift"], SIGN_VERIFY | READ_ONLY, via="Managed HSM signer (custom role)")
    return hsm


def add_azure(e: Estate) -> None:
    mg = ScopeRef(kind=ScopeKind.AZURE_MANAGEMENT_GROUP, uid=MANAGEMENT_GROUP, name="mg-example-prod")
    tenant = ScopeRef(kind=ScopeKind.AZURE_TENANT, uid=TENANT_ID, name="example.onmicrosoft.com")
    e.scopes.append(
        Scope(
            provider=Provider.AZURE,
            kind=ScopeKind.AZURE_SUBSCRIPTION,
            uid=SUBSCRIPTION,
            name="example-prod",
            parents=(mg, tenant),
            locations=(AZ_LOCATION,),
        )
    )
    p = add_azure_principals(e)
    e.grant(
        azure_above(MANAGEMENT_GROUP, ScopeLevel.MANAGEMENT_GROUP),
        p["auditors"],
        READ_ONLY,
        via="Key Vault Reader",
    )
    e.grant(azure_above(SUBSCRIPTION, ScopeLevel.SCOPE), p["owners"], {C.ADMINISTER_ACCESS}, via="Owner")
    payments = add_azure_payments_vault(e, p)
    legacy = add_azure_legacy_vault(e, p)
    analytics = add_azure_analytics_vault(e, p)
    hsm = add_azure_managed_hsm(e, p)
    # Diagnostic settings per vault; the legacy vault has none, so neither kind of event is logged.
    for store, source in (
        (payments, "diag-kv-payments -> log-example-security (category group audit)"),
        (legacy, None),
        (analytics, "diag-kv-analytics -> log-example-security (category group allLogs)"),
        (hsm, "diag-mhsm -> log-example-security (category AuditEvent)"),
    ):
        logged = source is not None
        e.audit.append(
            AuditLogCoverage(
                provider=Provider.AZURE,
                scope=SUBSCRIPTION,
                location=AZ_LOCATION,
                key_store=store.uid,
                admin_events=logged,
                usage_events=logged,
                sources=(source,) if source else (),
                detail=None if logged else "no diagnostic setting captures AuditEvent",
            )
        )


# ---------------------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------------------
# AI workloads on the three clouds (issue #10): resources, their keys, and the AI services' access
# ---------------------------------------------------------------------------------------------------------
def ai_resource(
    e: Estate, where: tuple[Provider, str], uid: str, what: tuple[str, str], keys: tuple[Key, ...], **kw: Any
) -> None:
    """An AI resource: ``where`` is (provider, scope), ``what`` (AI service, native type)."""
    (provider, scope), (service, native_type) = where, what
    encryption = Encryption.CUSTOMER_MANAGED if keys else Encryption.PROVIDER_MANAGED
    e.resources.append(
        ProtectedResource(
            provider=provider, scope=scope, uid=uid, service=service, ai_service=service, native_type=native_type,
            name=uid.rstrip("/").rsplit("/", 1)[-1], encryption=encryption, keys=tuple(k.uid for k in keys), **kw,
        )
    )  # fmt: skip


def add_ai_workloads(e: Estate) -> None:
    sagemaker = f"arn:aws:sagemaker:eu-west-1:{PAYMENTS}"
    # A BYOK key for the fraud-scoring models of tenant acme: imported material renewed in October, used
    # by SageMaker and Bedrock only, Bedrock may only use it: meets the AI policy.
    ai_models = aws_key(
        e, PAY_EU, "5c1d9e2f-7a3b-4c8d-9e0f-1a2b3c4d5e6f", "ai-models", at(2026, 10, 15, 9, 0),
        origin=KeyOrigin.IMPORTED, auto_rotation_supported=False, tags={"tenant": "acme", "owner": "ml-platform"},
    )  # fmt: skip
    key_policy(
        e, ai_models, (iam(PAYMENTS, "role/KeyAdmin"), iam(PAYMENTS, "role/KeyAdminBreakGlass")), (), ()
    )
    bedrock = e.who("bedrock.amazonaws.com", PrincipalKind.SERVICE, "Amazon Bedrock")
    e.principals[bedrock] = Principal(uid=bedrock, kind=PrincipalKind.SERVICE, display_name="Amazon Bedrock",
                                      ai_service="bedrock")  # fmt: skip
    e.grant(ai_models, bedrock, ENCRYPT_DECRYPT, via="key policy statement 'Allow Bedrock'", conditional=True,
            via_services=("bedrock",))  # fmt: skip
    acme = {"tenant": "acme"}
    ai_resource(
        e,
        (Provider.AWS, PAYMENTS),
        f"{sagemaker}:endpoint-config/fraud-scoring",
        ("sagemaker", "AWS::SageMaker::EndpointConfig"),
        (ai_models,),
        location="eu-west-1",
        tags=acme,
    )
    ai_resource(
        e,
        (Provider.AWS, PAYMENTS),
        f"arn:aws:bedrock:eu-west-1:{PAYMENTS}:custom-model/support-llm",
        ("bedrock", "AWS::Bedrock::CustomModel"),
        (ai_models,),
        location="eu-west-1",
        tags=acme,
    )
    # A research notebook on the customer-pii key: generated material rotating yearly, a key S3 also uses,
    # and SageMaker's service principal allowed to manage the key's lifecycle.
    pii = e.key_named(Provider.AWS, "customer-pii")
    ai_resource(
        e,
        (Provider.AWS, PAYMENTS),
        f"{sagemaker}:notebook-instance/pii-research",
        ("sagemaker", "AWS::SageMaker::NotebookInstance"),
        (pii,),
        location="eu-west-1",
        tags={"tenant": "research"},
    )
    sm = "sagemaker.amazonaws.com"
    e.principals[sm] = Principal(uid=sm, kind=PrincipalKind.SERVICE, display_name="Amazon SageMaker",
                                 ai_service="sagemaker")  # fmt: skip
    e.grant(pii, sm, {C.ENCRYPT, C.DECRYPT, C.MANAGE_LIFECYCLE}, via="key policy statement 'Allow SageMaker'")
    e.grant(pii, iam(PAYMENTS, "role/app-crm"), ENCRYPT_DECRYPT, via="key policy statement 'S3 only'",
            conditional=True, via_services=("s3",))  # fmt: skip
    # A Bedrock agent left on the AWS owned key.
    ai_resource(
        e,
        (Provider.AWS, PAYMENTS),
        f"arn:aws:bedrock:eu-west-1:{PAYMENTS}:agent/HELPDESK01",
        ("bedrock", "AWS::Bedrock::Agent"),
        (),
        location="eu-west-1",
    )

    # GCP: a Vertex AI endpoint on the software-protected ml-features key, and a dataset on Google's keys.
    features = e.key_named(Provider.GCP, "ml-features")
    vertex = "serviceAccount:service-908172635401@gcp-sa-aiplatform.iam.gserviceaccount.com"
    e.principals[vertex] = Principal(uid=vertex, kind=PrincipalKind.SERVICE, display_name="Vertex AI Service Agent",
                                     ai_service="vertex_ai")  # fmt: skip
    e.grant(features, vertex, ENCRYPT_DECRYPT, via="roles/cloudkms.cryptoKeyEncrypterDecrypter")
    base = f"projects/{ANALYTICS_PROJECT}/locations/europe-west1"
    ai_resource(
        e,
        (Provider.GCP, ANALYTICS_PROJECT),
        f"{base}/endpoints/churn-model",
        ("vertex_ai", "aiplatform.googleapis.com/Endpoint"),
        (features,),
        location="europe-west1",
    )
    ai_resource(
        e,
        (Provider.GCP, ANALYTICS_PROJECT),
        f"{base}/datasets/training-clickstream",
        ("vertex_ai", "aiplatform.googleapis.com/Dataset"),
        (),
        location="europe-west1",
    )

    # Azure: two tenants' Azure OpenAI accounts on one key (storage-cmk, rotating yearly).
    storage = e.key_named(Provider.AZURE, "storage-cmk")
    rg = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-ai-prod/providers/Microsoft.CognitiveServices/accounts"
    for tenant in ("acme", "globex"):
        ai_resource(
            e,
            (Provider.AZURE, SUBSCRIPTION),
            f"{rg}/oai-{tenant}",
            ("azure_openai", "Microsoft.CognitiveServices/accounts"),
            (storage,),
            location="westeurope",
            tags={"tenant": tenant},
        )


def build_inventory() -> Inventory:
    e = Estate()
    add_aws(e)
    add_gcp(e)
    add_azure(e)
    add_ai_workloads(e)
    return Inventory(
        collection=CollectionInfo(
            tool_version="0.1.0",
            started_at=at(2026, 11, 22, 6, 0),
            finished_at=at(2026, 11, 22, 6, 4),
            providers=(Provider.AWS, Provider.GCP, Provider.AZURE),
            notes={
                "sample": "synthetic estate written by samples/build_sample_inventory.py",
                "aws.accounts": "organization o-a1b2c3d4e5 through --org-role KeyAuditReadOnly",
                "gcp.enumeration": "asset_inventory",
                "azure.cloud": "public",
            },
        ),
        scopes=tuple(e.scopes),
        key_stores=tuple(e.stores),
        keys=tuple(e.keys),
        principals=tuple(e.principals.values()),
        bindings=tuple(e.bindings),
        audit_logging=tuple(e.audit),
        resources=tuple(e.resources),
        errors=tuple(e.errors),
    )


def _sorted_sets(node: Any) -> Any:
    """Sort the JSON lists that hold sets: frozenset order depends on the interpreter's hash seed."""
    if isinstance(node, dict):
        return {
            k: sorted(v) if k in ("capabilities", "unreadable") else _sorted_sets(v) for k, v in node.items()
        }
    if isinstance(node, list):
        return [_sorted_sets(item) for item in node]
    return node


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the synthetic multi-cloud sample inventory.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output file (default: %(default)s)")
    args = parser.parse_args(argv)
    inventory = build_inventory()
    document = _sorted_sets(json.loads(inventory.model_dump_json(indent=2, exclude_defaults=False)))
    args.out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    counts = ", ".join(f"{p.value} {sum(k.provider is p for k in inventory.keys)}" for p in Provider)
    print(f"wrote {args.out}: {len(inventory.keys)} keys ({counts}), {len(inventory.bindings)} bindings")


if __name__ == "__main__":
    main()
