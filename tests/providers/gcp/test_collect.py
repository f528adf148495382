"""The GCP per-project provider: real google-cloud REST clients -> ReplayServer cassettes -> inventory -> rules."""

from __future__ import annotations

import copy
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from providers.gcp.collect import GcpCollector, GcpOptions, RawGcpEstate, classify
from providers.gcp.normalise import algorithm_spec, normalise
from providers.gcp.replay import ReplayServer
from scanner.engine import discover_rules, evaluate_all
from scanner.inventory import (
    Capability,
    ErrorClass,
    Inventory,
    Key,
    KeyAspect,
    KeyOrigin,
    KeyPurpose,
    KeyState,
    KeyStoreKind,
    KeyType,
    PrincipalKind,
    ProtectionLevel,
    ScopeAspect,
    ScopeKind,
    ScopeLevel,
    ScopeRef,
)
from scanner.policy import default_policy
from scanner.progress import NullProgress
from scanner.rule import Context, Status

CASSETTES = Path(__file__).parent / "cassettes"
ALL = sorted(CASSETTES.glob("*.json"))
PROJECTS = ("acme-prod", "acme-dev", "acme-restricted")
EW1 = "projects/acme-prod/locations/europe-west1"
PAYMENTS = f"{EW1}/keyRings/payments"
BACKUPS = f"{EW1}/keyRings/backups"
APPS = "projects/acme-dev/locations/us-central1/keyRings/apps"
FOLDER = "folders/345678901234"
ORG = "organizations/123456789012"
NOW = datetime(2024, 7, 1, tzinfo=UTC)


def _collect(
    server: ReplayServer, projects: tuple[str, ...] = PROJECTS, concurrency: int = 4
) -> RawGcpEstate:
    options = GcpOptions(
        projects=projects, endpoint=server.url, concurrency=concurrency, anonymous=True, retry_deadline=0.3
    )
    return GcpCollector(options, NullProgress()).collect()


@pytest.fixture(scope="module")
def scanned() -> tuple[RawGcpEstate, Inventory]:
    with ReplayServer(*ALL) as server:
        estate = _collect(server)
        assert [str(r) for r in server.unmatched] == []
    return estate, normalise(estate)


@pytest.fixture(scope="module")
def inventory(scanned: tuple[RawGcpEstate, Inventory]) -> Inventory:
    return scanned[1]


def _key(inventory: Inventory, name: str) -> Key:
    [found] = [k for k in inventory.keys if k.name == name]
    return found


def _findings(inventory: Inventory) -> dict[tuple[str, str], Status]:
    findings = evaluate_all(discover_rules(), Context.build(inventory, default_policy(), now=NOW))
    return {(f.rule_id, f.resource.uid): f.status for f in findings}


# ------------------------------------------------------------------------------------ keys and stores
def test_keys_rings_and_project_scope(inventory: Inventory) -> None:
    assert sorted(k.name for k in inventory.keys) == [
        "app-key",
        "card-data",
        "ekm-internet",
        "ekm-vpc",
        "hmac-imported",
        "old-backups",
        "signing",
        "tenant-decrypt",
    ]
    assert {s.uid: (s.kind, s.scope, s.location) for s in inventory.key_stores} == {
        PAYMENTS: (KeyStoreKind.GCP_KEY_RING, "acme-prod", "europe-west1"),
        BACKUPS: (KeyStoreKind.GCP_KEY_RING, "acme-prod", "europe-west1"),
        APPS: (KeyStoreKind.GCP_KEY_RING, "acme-dev", "us-central1"),
        # Read because the EXTERNAL_VPC key ekm-vpc is backed by it.
        f"{EW1}/ekmConnections/thales-ekm": (KeyStoreKind.GCP_EKM_CONNECTION, "acme-prod", "europe-west1"),
    }
    prod = inventory.scope_by_uid["acme-prod"]
    assert prod.kind is ScopeKind.GCP_PROJECT
    assert prod.name == "ACME Production"
    assert prod.parents == (
        ScopeRef(kind=ScopeKind.GCP_FOLDER, uid=FOLDER, name="Payments"),
        ScopeRef(kind=ScopeKind.GCP_ORGANIZATION, uid=ORG, name="example.com"),
    )
    assert prod.locations == ("global", "europe-west1", "europe", "us-east1")  # both pages of locations
    dev = inventory.scope_by_uid["acme-dev"]
    assert dev.parents == (ScopeRef(kind=ScopeKind.GCP_ORGANIZATION, uid=ORG, name="example.com"),)


def test_symmetric_software_key_with_rotation(inventory: Inventory) -> None:
    card = _key(inventory, "card-data")
    assert card.uid == f"{PAYMENTS}/cryptoKeys/card-data"
    assert (card.scope, card.location, card.store) == ("acme-prod", "europe-west1", PAYMENTS)
    assert card.native_type == "cloudkms.googleapis.com/CryptoKey"
    assert (card.purpose, card.key_type, card.size_bits, card.curve) == (
        KeyPurpose.ENCRYPT,
        KeyType.SYMMETRIC,
        256,
        None,
    )
    assert (card.protection, card.origin, card.state) == (
        ProtectionLevel.SOFTWARE,
        KeyOrigin.GENERATED,
        KeyState.ENABLED,
    )
    assert card.rotation is not None
    assert (card.rotation.enabled, card.rotation.period_days) == (True, 90)
    assert card.rotation.next_rotation == datetime(2024, 8, 31, 9, 12, 44, tzinfo=UTC)
    assert card.auto_rotation_supported is True
    assert card.deletion_window_days == 30
    assert (card.multi_region, card.expiry_supported) == (False, False)
    assert card.tags == {"env": "prod", "team": "payments", "data-class": "pci"}
    assert [(v.uid.rsplit("/", 1)[1], v.state) for v in card.versions] == [
        ("1", KeyState.DISABLED),
        ("2", KeyState.ENABLED),
    ]
    assert card.unreadable == frozenset()


def test_protection_levels_algorithms_and_origins(inventory: Inventory) -> None:
    signing = _key(inventory, "signing")
    assert (signing.purpose, signing.key_type, signing.size_bits, signing.curve) == (
        KeyPurpose.SIGN,
        KeyType.EC,
        256,
        "P-256",
    )
    assert signing.protection is ProtectionLevel.HSM
    assert signing.state is KeyState.ENABLED  # no primary: an ENABLED version
    assert signing.auto_rotation_supported is False
    assert signing.rotation is not None and signing.rotation.enabled is False
    assert signing.deletion_window_days == 1

    for name in ("ekm-vpc", "ekm-internet"):
        external = _key(inventory, name)
        assert (external.protection, external.origin) == (ProtectionLevel.EXTERNAL, KeyOrigin.EXTERNAL)
        assert external.auto_rotation_supported is False

    tenant = _key(inventory, "tenant-decrypt")
    assert (tenant.protection, tenant.purpose, tenant.key_type, tenant.size_bits) == (
        ProtectionLevel.DEDICATED_HSM,
        KeyPurpose.ENCRYPT,
        KeyType.RSA,
        3072,
    )
    assert tenant.state is KeyState.ENABLED  # version 1 disabled, version 2 enabled
    assert tenant.auto_rotation_supported is False

    mac = _key(inventory, "hmac-imported")
    assert (mac.purpose, mac.key_type, mac.size_bits, mac.origin, mac.protection) == (
        KeyPurpose.MAC,
        KeyType.HMAC,
        256,
        KeyOrigin.IMPORTED,
        ProtectionLevel.HSM,
    )


def test_destroy_scheduled_version(inventory: Inventory) -> None:
    old = _key(inventory, "old-backups")
    assert old.state is KeyState.ENABLED  # the primary (version 2) is enabled
    assert old.scheduled_deletion is None
    first, second = old.versions
    assert first.state is KeyState.PENDING_DELETION
    assert first.scheduled_destruction == datetime(2024, 7, 14, 10, tzinfo=UTC)
    assert second.state is KeyState.ENABLED and second.scheduled_destruction is None
    assert old.rotation is not None and old.rotation.period_days == 365


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("GOOGLE_SYMMETRIC_ENCRYPTION", (KeyType.SYMMETRIC, 256, None)),
        ("AES_128_GCM", (KeyType.SYMMETRIC, 128, None)),
        ("AES_256_CTR", (KeyType.SYMMETRIC, 256, None)),
        ("RSA_SIGN_PSS_2048_SHA256", (KeyType.RSA, 2048, None)),
        ("RSA_SIGN_PKCS1_4096_SHA512", (KeyType.RSA, 4096, None)),
        ("RSA_SIGN_RAW_PKCS1_3072", (KeyType.RSA, 3072, None)),
        ("RSA_DECRYPT_OAEP_2048_SHA1", (KeyType.RSA, 2048, None)),
        ("EC_SIGN_P256_SHA256", (KeyType.EC, 256, "P-256")),
        ("EC_SIGN_P384_SHA384", (KeyType.EC, 384, "P-384")),
        ("EC_SIGN_SECP256K1_SHA256", (KeyType.EC, 256, "secp256k1")),
        ("EC_SIGN_ED25519", (KeyType.EC, 255, "Ed25519")),
        ("HMAC_SHA256", (KeyType.HMAC, 256, None)),
        ("HMAC_SHA1", (KeyType.HMAC, 160, None)),
        ("ML_KEM_768", (KeyType.OTHER, None, None)),
        ("PQ_SIGN_ML_DSA_65", (KeyType.OTHER, None, None)),
        ("CRYPTO_KEY_VERSION_ALGORITHM_UNSPECIFIED", None),
        (None, None),
    ],
)
def test_algorithm_spec(algorithm: str | None, expected: object) -> None:
    assert algorithm_spec(algorithm) == expected


# ------------------------------------------------------------------------------------------ bindings
def test_bindings_at_every_level_of_the_hierarchy(inventory: Inventory) -> None:
    card = _key(inventory, "card-data")
    found = {
        (b.principal, b.level, b.target, b.inherited_from, b.via, b.conditional)
        for b in inventory.bindings_for(card)
    }
    assert found >= {
        (
            "serviceAccount:payments-api@acme-prod.iam.gserviceaccount.com",
            ScopeLevel.KEY,
            card.uid,
            None,
            "roles/cloudkms.cryptoKeyEncrypterDecrypter",
            False,
        ),
        (
            "group:payments-oncall@example.com",
            ScopeLevel.KEY,
            card.uid,
            None,
            "roles/cloudkms.cryptoKeyDecrypter",
            True,
        ),
        ("group:kms-admins@example.com", ScopeLevel.KEY_STORE, PAYMENTS, None, "roles/cloudkms.admin", False),
        ("user:alice@example.com", ScopeLevel.SCOPE, "acme-prod", None, "roles/owner", False),
        ("user:bob@example.com", ScopeLevel.SCOPE, "acme-prod", None, "roles/cloudkms.admin", False),
        ("group:auditors@example.com", ScopeLevel.FOLDER, FOLDER, FOLDER, "roles/cloudkms.viewer", False),
        (
            "group:security-admins@example.com",
            ScopeLevel.ORGANIZATION,
            ORG,
            ORG,
            "roles/cloudkms.admin",
            False,
        ),
    }
    # The folder/org targets are exactly the uids of the scope's parents.
    parents = {p.uid for p in inventory.scope_by_uid["acme-prod"].parents}
    assert {
        b.target for b in inventory.bindings if b.level in (ScopeLevel.FOLDER, ScopeLevel.ORGANIZATION)
    } == parents

    access = inventory.effective_access(card)
    # bob: admin from one binding and use from another, on the project: the union applies to the key.
    assert {Capability.ADMINISTER_ACCESS, Capability.ENCRYPT, Capability.DECRYPT} <= access[
        "user:bob@example.com"
    ]
    # roles/cloudkms.admin administers keys but does not use them (its ...ViaDelegation permissions are
    # not counted, as Google's role description, CIS GCP 1.11 and SCC do).
    assert Capability.ADMINISTER_ACCESS in access["group:security-admins@example.com"]
    assert Capability.DECRYPT not in access["group:security-admins@example.com"]
    assert access["group:auditors@example.com"] == frozenset({Capability.READ_METADATA})
    # Key-level bindings of card-data do not reach the ring's other keys.
    signing = _key(inventory, "signing")
    assert "serviceAccount:payments-api@acme-prod.iam.gserviceaccount.com" not in inventory.effective_access(
        signing
    )
    # Members get their kinds.
    kinds = {p.uid: p.kind for p in inventory.principals}
    assert kinds["allAuthenticatedUsers"] is PrincipalKind.AUTHENTICATED_ANY
    assert kinds["group:kms-admins@example.com"] is PrincipalKind.GROUP
    assert kinds["serviceAccount:payments-api@acme-prod.iam.gserviceaccount.com"] is PrincipalKind.ROLE
    assert kinds["user:alice@example.com"] is PrincipalKind.USER


def _reverse_policies(estate: RawGcpEstate) -> RawGcpEstate:
    """The same estate with every policy's bindings and members in reverse order."""
    flipped = copy.deepcopy(estate)

    def flip(policy: dict | None) -> None:
        for binding in (policy or {}).get("bindings", []):
            binding["members"].reverse()
        (policy or {}).get("bindings", []).reverse()

    for project in flipped.projects:
        flip(project.policy)
        for ancestor in project.ancestors:
            flip(ancestor.policy)
        for location in project.locations or ():
            for ring in location.key_rings or ():
                flip(ring.policy)
                for key in ring.keys or ():
                    flip(key.policy)
    return flipped


def test_effective_access_is_order_independent(scanned: tuple[RawGcpEstate, Inventory]) -> None:
    estate, inventory = scanned
    reversed_estate = _reverse_policies(estate)
    roles = [b["role"] for b in estate.projects[0].policy["bindings"]]
    assert [b["role"] for b in reversed_estate.projects[0].policy["bindings"]] == roles[::-1]
    flipped = normalise(reversed_estate)
    assert set(flipped.bindings) == set(inventory.bindings)
    for key in inventory.keys:
        assert dict(flipped.effective_access(key)) == dict(inventory.effective_access(key))
        other = next(k for k in flipped.keys if k.uid == key.uid)
        assert other.unreadable == key.unreadable


# ----------------------------------------------------------------------------- errors and unknowns
def test_permission_denied_on_one_projects_key_rings(scanned: tuple[RawGcpEstate, Inventory]) -> None:
    estate, inventory = scanned
    [denied] = [e for e in inventory.errors if e.api == "cloudkms.keyRings.list"]
    assert (denied.scope, denied.location, denied.error_class) == (
        "acme-dev",
        "global",
        ErrorClass.ACCESS_DENIED,
    )
    assert denied.resource == "projects/acme-dev/locations/global"
    assert "cloudkms.keyRings.list" in denied.message
    dev = inventory.scope_by_uid["acme-dev"]
    assert ScopeAspect.KEYS in dev.unreadable
    assert {k.name for k in inventory.keys if k.scope == "acme-dev"} == {
        "app-key",
        "tenant-decrypt",
        "hmac-imported",
    }
    # The other projects are unaffected by that project's failure.
    assert ScopeAspect.KEYS not in inventory.scope_by_uid["acme-prod"].unreadable

    restricted = inventory.scope_by_uid["acme-restricted"]
    assert restricted.unreadable >= {ScopeAspect.KEYS, ScopeAspect.ACCESS, ScopeAspect.AUDIT_LOGGING}
    classes = {e.api: e.error_class for e in inventory.errors if e.scope == "acme-restricted"}
    assert classes["cloudkms.locations.list"] is ErrorClass.ACCESS_DENIED
    assert classes["cloudresourcemanager.projects.getIamPolicy"] is ErrorClass.THROTTLED
    [raw] = [p for p in estate.projects if p.project_id == "acme-restricted"]
    assert raw.locations is None and raw.policy is None


def test_custom_roles_are_resolved_through_the_iam_api(scanned: tuple[RawGcpEstate, Inventory]) -> None:
    estate, inventory = scanned
    # organizations/.../roles/kmsKeyOperator (bound on the folder) was read: its permissions give capabilities.
    assert estate.custom_roles[f"{ORG}/roles/kmsKeyOperator"][:2] == [
        "cloudkms.cryptoKeyVersions.create",
        "cloudkms.cryptoKeyVersions.list",
    ]
    operator = {
        b.capabilities
        for b in inventory.bindings
        if b.via == f"{ORG}/roles/kmsKeyOperator" and b.scope == "acme-prod"
    }
    assert operator == {
        frozenset(
            {
                Capability.ADMINISTER_ACCESS,
                Capability.MANAGE_LIFECYCLE,
                Capability.DECRYPT,
                Capability.READ_METADATA,
            }
        )
    }
    # ... inherited from the folder by every key below it: an administrator who can also decrypt.
    card_data = _key(inventory, "card-data")
    assert "group:sre@example.com" in {
        grant.principal
        for grant in inventory.bindings_for(card_data)
        if grant.via and "kmsKeyOperator" in grant.via
    }
    findings = _findings(inventory)
    assert findings[("key_admin_separated_from_use", card_data.uid)] is Status.FAIL
    assert ScopeAspect.ACCESS not in inventory.scope_by_uid["acme-prod"].unreadable


def test_unreadable_custom_role_makes_access_unknown(scanned: tuple[RawGcpEstate, Inventory]) -> None:
    estate, inventory = scanned
    unresolved = {p.project_id: p.unresolved_roles for p in estate.projects}
    assert unresolved["acme-dev"] == {
        "projects/acme-dev/roles/macOperator"
    }  # bound on a key, 403 on roles.get
    assert unresolved["acme-prod"] == set()
    # No capability is invented for it.
    assert not [b for b in inventory.bindings if b.via == "projects/acme-dev/roles/macOperator"]
    # On a key: that key's access is unknown, its neighbours' is not.
    assert KeyAspect.ACCESS in _key(inventory, "hmac-imported").unreadable
    assert KeyAspect.ACCESS not in _key(inventory, "app-key").unreadable
    [error] = [e for e in inventory.errors if e.api == "iam.roles.get"]
    assert (error.scope, error.resource, error.error_class) == (
        "acme-dev",
        "projects/acme-dev/roles/macOperator",
        ErrorClass.ACCESS_DENIED,
    )
    assert "could not be read" in error.message and "iam.roles.get' denied" in error.message
    findings = _findings(inventory)
    assert findings[("key_admin_separated_from_use", _key(inventory, "hmac-imported").uid)] is Status.UNKNOWN
    assert findings[("scan_coverage_complete", "acme-dev")] is Status.FAIL
    # One roles.get per distinct custom role, however many projects bind it.
    assert estate.api_calls["iam.roles.get"] == 2


def test_audit_coverage_with_and_without_data_read(inventory: Inventory) -> None:
    coverage = {a.scope: a for a in inventory.audit_logging}
    prod = coverage["acme-prod"]  # DATA_READ on cloudkms in the project's own audit config
    assert (prod.admin_events, prod.usage_events) == (True, True)
    assert prod.sources == ("projects/111111111111:auditConfigs",)
    dev = coverage["acme-dev"]  # only the organization's ADMIN_READ for allServices
    assert (dev.admin_events, dev.usage_events) == (True, False)
    restricted = coverage["acme-restricted"]  # project policy throttled: unknown, not "off"
    assert (restricted.admin_events, restricted.usage_events) == (True, None)


def test_unreadable_organization_policy_is_unknown_hierarchy_and_audit() -> None:
    with ReplayServer(*ALL) as server:
        server.inject_error("POST", f"/v3/{ORG}:getIamPolicy", "PERMISSION_DENIED")
        inventory = normalise(_collect(server, ("acme-dev",)))
    dev = inventory.scope_by_uid["acme-dev"]
    assert ScopeAspect.HIERARCHY in dev.unreadable
    assert ScopeAspect.AUDIT_LOGGING in dev.unreadable
    [coverage] = inventory.audit_logging
    assert coverage.usage_events is None
    [error] = [e for e in inventory.errors if e.api == "cloudresourcemanager.organizations.getIamPolicy"]
    assert (error.error_class, error.resource) == (ErrorClass.ACCESS_DENIED, ORG)
    assert not [b for b in inventory.bindings if b.level is ScopeLevel.ORGANIZATION]
    findings = _findings(inventory)
    assert findings[("key_admin_separated_from_use", f"{APPS}/cryptoKeys/app-key")] is Status.UNKNOWN
    assert findings[("key_usage_audit_logging_enabled", "acme-dev")] is Status.UNKNOWN


def test_throttling_and_5xx_are_retried_then_read_normally() -> None:
    with ReplayServer(*ALL) as server:
        server.inject_error("GET", f"/v1/{PAYMENTS}/cryptoKeys", "RESOURCE_EXHAUSTED", times=2)
        server.inject_error("POST", f"/v3/{FOLDER}:getIamPolicy", "UNAVAILABLE", times=1)
        options = GcpOptions(projects=("acme-prod",), endpoint=server.url, anonymous=True, retry_deadline=10)
        estate = GcpCollector(options, NullProgress()).collect()
        assert server.calls[f"/v1/{PAYMENTS}/cryptoKeys"] == 4  # 2 throttled + the 2 pages
    assert estate.errors == []
    inventory = normalise(estate)
    assert not inventory.scope_by_uid["acme-prod"].unreadable
    assert _key(inventory, "card-data").unreadable == frozenset()


def test_throttling_that_outlives_the_retries_is_a_throttled_collection_error() -> None:
    with ReplayServer(*ALL) as server:
        server.inject_error("GET", f"/v1/{PAYMENTS}/cryptoKeys", "RESOURCE_EXHAUSTED")
        options = GcpOptions(projects=("acme-prod",), endpoint=server.url, anonymous=True, retry_deadline=0.5)
        estate = GcpCollector(options, NullProgress()).collect()
        assert server.calls[f"/v1/{PAYMENTS}/cryptoKeys"] >= 2  # retried before giving up
    [error] = estate.errors
    assert (error.api, error.error_class, error.resource) == (
        "cloudkms.cryptoKeys.list",
        ErrorClass.THROTTLED,
        PAYMENTS,
    )
    assert error.message.startswith("still failing after retries: TooManyRequests")
    inventory = normalise(estate)
    assert ScopeAspect.KEYS in inventory.scope_by_uid["acme-prod"].unreadable
    assert _findings(inventory)[("scan_coverage_complete", "acme-prod")] is Status.FAIL


def test_api_calls_pagination_and_shared_ancestors() -> None:
    with ReplayServer(*ALL) as server:
        estate = _collect(server, ("acme-prod", "acme-restricted"), concurrency=1)
        assert server.calls[f"/v1/{PAYMENTS}/cryptoKeys"] == 2
        assert server.calls["/v1/projects/acme-prod/locations"] == 2
        assert server.calls[f"/v3/{FOLDER}"] == 1  # read once for both projects
        assert server.calls[f"/v3/{FOLDER}:getIamPolicy"] == 1
    assert estate.api_calls["cloudkms.cryptoKeys.list"] == 3  # payments: 2 pages, backups: 1
    assert estate.api_calls["cloudkms.keyRings.list"] == 5  # europe-west1 has 2 pages
    assert estate.api_calls["cloudkms.locations.list"] == 3  # acme-prod 2 pages, acme-restricted 1 (denied)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Forbidden", ErrorClass.ACCESS_DENIED),
        ("PermissionDenied", ErrorClass.ACCESS_DENIED),
        ("TooManyRequests", ErrorClass.THROTTLED),
        ("ResourceExhausted", ErrorClass.THROTTLED),
        ("NotFound", ErrorClass.NOT_FOUND),
        ("ServiceUnavailable", ErrorClass.NETWORK),
        ("DeadlineExceeded", ErrorClass.TIMEOUT),
        ("InternalServerError", ErrorClass.SERVICE_ERROR),
        ("BadRequest", ErrorClass.SERVICE_ERROR),
    ],
)
def test_error_classes(name: str, expected: ErrorClass) -> None:
    from google.api_core import exceptions

    assert classify(getattr(exceptions, name)("boom")) is expected


def test_modules_import_no_google_sdk() -> None:
    code = (
        "import sys, providers.gcp.collect, providers.gcp.normalise; "
        "print(sorted(m for m in sys.modules if m.startswith('google')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------------------------------------- rules
def test_rules_on_the_collected_inventory(inventory: Inventory) -> None:
    findings = _findings(inventory)
    app_key = _key(inventory, "app-key").uid
    assert findings[("key_rotation_enabled", app_key)] is Status.FAIL  # no rotationPeriod
    assert findings[("key_rotation_enabled", _key(inventory, "card-data").uid)] is Status.PASS
    assert ("key_rotation_enabled", _key(inventory, "signing").uid) not in findings  # asymmetric: not judged
    assert findings[("key_not_pending_deletion", _key(inventory, "old-backups").uid)] is Status.FAIL
    assert findings[("key_not_pending_deletion", _key(inventory, "card-data").uid)] is Status.PASS
    assert findings[("key_admin_separated_from_use", app_key)] is Status.FAIL
    assert findings[("key_not_publicly_accessible", _key(inventory, "ekm-internet").uid)] is Status.FAIL
    assert findings[("key_usage_audit_logging_enabled", "acme-prod")] is Status.PASS
    assert findings[("key_usage_audit_logging_enabled", "acme-dev")] is Status.FAIL
    assert findings[("key_usage_audit_logging_enabled", "acme-restricted")] is Status.UNKNOWN
    # acme-prod was read completely (its custom role resolved); acme-dev has an unreadable custom role and
    # acme-restricted denied KMS and throttled Resource Manager.
    assert findings[("scan_coverage_complete", "acme-prod")] is Status.PASS
    assert findings[("scan_coverage_complete", "acme-dev")] is Status.FAIL
    assert findings[("scan_coverage_complete", "acme-restricted")] is Status.FAIL


def test_owner_holder_is_named_in_the_separation_of_duties_failure(inventory: Inventory) -> None:
    app_key = _key(inventory, "app-key")
    context = Context.build(inventory, default_policy(), now=NOW)
    [finding] = [
        f
        for f in evaluate_all(discover_rules(), context)
        if f.rule_id == "key_admin_separated_from_use" and f.resource.uid == app_key.uid
    ]
    assert finding.status is Status.FAIL
    conflicting = {entry["uid"] for entry in finding.evidence["conflicting_principals"]}
    assert "user:carol@example.com" in conflicting  # roles/owner on the project
    owner = inventory.effective_access(app_key)["user:carol@example.com"]
    assert {Capability.ADMINISTER_ACCESS, Capability.DESTROY, Capability.DECRYPT} <= owner
