"""The Azure provider end to end in-process: the real SDK clients -> replayed responses -> inventory -> rules."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from providers.azure import simulated as sim
from providers.azure.plugin import AzureProvider
from providers.azure.replay import ReplayAdapter, ReplayCredential, reset_key_vault_challenges
from scanner.engine import discover_rules, evaluate_all
from scanner.inventory import (
    Capability,
    ErrorClass,
    Inventory,
    Key,
    KeyAspect,
    KeyState,
    KeyStore,
    KeyStoreAspect,
    KeyType,
    ProtectionLevel,
    ScopeAspect,
    ScopeLevel,
)
from scanner.policy import default_policy
from scanner.progress import NullProgress
from scanner.provider import CollectRequest
from scanner.rule import Context, Status

C = Capability
NOW = datetime(2026, 11, 22, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_challenges() -> Iterator[None]:
    reset_key_vault_challenges()
    yield
    reset_key_vault_challenges()


def scan(
    exchanges: list[dict[str, Any]], concurrency: int = 4, **options: Any
) -> tuple[Inventory, ReplayAdapter, ReplayCredential]:
    adapter = ReplayAdapter(exchanges=exchanges)
    credential = ReplayCredential()
    options.setdefault("subscriptions", [sim.SUBSCRIPTION])
    inventory = AzureProvider().collect_with(
        CollectRequest(options=options, concurrency=concurrency, progress=NullProgress()),
        credential=credential,
        transport=adapter.transport(),
        retry_total=0,
    )
    return inventory, adapter, credential


@pytest.fixture(scope="module")
def demo() -> tuple[Inventory, ReplayAdapter]:
    reset_key_vault_challenges()
    inventory, adapter, _ = scan(sim.estate_exchanges(sim.demo_estate()))
    return inventory, adapter


def _store(inventory: Inventory, name: str) -> KeyStore:
    [store] = [s for s in inventory.key_stores if s.name == name]
    return store


def _key(inventory: Inventory, name: str) -> Key:
    [key] = [k for k in inventory.keys if k.name == name]
    return key


def _findings(inventory: Inventory) -> dict[tuple[str, str], Status]:
    ctx = Context.build(inventory, default_policy(), now=NOW)
    return {(f.rule_id, f.resource.uid): f.status for f in evaluate_all(discover_rules(), ctx)}


def test_every_call_is_a_read_answered_from_the_recording(demo: tuple[Inventory, ReplayAdapter]) -> None:
    _, adapter = demo
    assert [str(r) for r in adapter.unmatched] == []
    assert {r.method for r in adapter.requests} == {"GET"}
    # Key Vault's challenge ran: the first data-plane request of each vault went without a token.
    hosts = {r.host for r in adapter.requests if r.authorization is None}
    assert "kv-example-payments.vault.azure.net" in hosts


def test_vaults_and_managed_hsm_with_their_protections(demo: tuple[Inventory, ReplayAdapter]) -> None:
    inventory, _ = demo
    payments = _store(inventory, "kv-example-payments")
    assert payments.access_model == "rbac"
    assert (payments.deletion_protection.soft_delete, payments.deletion_protection.purge_protection) == (
        True,
        True,
    )
    assert payments.network.public_network_access is False and payments.network.private_endpoints == 1
    legacy = _store(inventory, "kv-example-legacy")
    assert legacy.access_model == "access_policy"
    assert legacy.deletion_protection.purge_protection is False
    assert legacy.deletion_protection.retention_days == 7
    assert legacy.network.public_network_access is True
    hsm = _store(inventory, "mhsm-example-prod")
    assert hsm.access_model == "managed_hsm_rbac"
    assert legacy.parent and legacy.parent.endswith("/resourceGroups/rg-legacy-apps")


def test_keys_types_protection_rotation_and_expiry(demo: tuple[Inventory, ReplayAdapter]) -> None:
    inventory, _ = demo
    sql = _key(inventory, "sql-tde-protector")
    assert (sql.key_type, sql.size_bits, sql.protection) == (KeyType.RSA, 3072, ProtectionLevel.HSM)
    assert (sql.rotation.enabled, sql.rotation.period_days) == (True, 90)
    assert sql.expires is not None and sql.expiry_supported
    assert sql.uid.endswith("/vaults/kv-example-payments/keys/sql-tde-protector")
    portal = _key(inventory, "legacy-portal-key")
    assert (portal.protection, portal.size_bits, portal.expires) == (ProtectionLevel.SOFTWARE, 2048, None)
    assert portal.rotation.enabled is False  # only the default Notify action: no rotation
    ec = _key(inventory, "app-ecdh")
    assert (ec.key_type, ec.curve) == (KeyType.EC, "P-256")
    hsm_key = _key(inventory, "core-banking-master")
    assert (hsm_key.key_type, hsm_key.protection) == (KeyType.SYMMETRIC, ProtectionLevel.DEDICATED_HSM)
    assert _key(inventory, "cvm-disk-release").exportable is True  # secure key release policy


def test_firewalled_vault_keys_come_from_arm_and_unknowns_stay_unknown(
    demo: tuple[Inventory, ReplayAdapter],
) -> None:
    inventory, _ = demo
    [error] = [e for e in inventory.errors if e.api == "Microsoft.KeyVault/vaults/keys/read"]
    assert error.error_class is ErrorClass.ACCESS_DENIED
    assert "ForbiddenByFirewall" in error.message
    assert error.resource.endswith("/vaults/kv-example-analytics")
    # Listed through ARM: known type and size; the rotation policy only where ARM carries it.
    databricks = _key(inventory, "databricks-cmk")
    assert (databricks.key_type, databricks.size_bits) == (KeyType.RSA, 2048)
    assert KeyAspect.ROTATION in databricks.unreadable
    synapse = _key(inventory, "synapse-cmk")
    assert synapse.rotation.period_days == 180
    findings = _findings(inventory)
    assert findings[("key_rotation_enabled", databricks.uid)] is Status.UNKNOWN  # never a false FAIL
    assert findings[("scan_coverage_complete", sim.SUBSCRIPTION)] is Status.FAIL


def test_access_depends_on_the_vault_access_model(demo: tuple[Inventory, ReplayAdapter]) -> None:
    inventory, _ = demo
    legacy_key = _key(inventory, "legacy-portal-key")
    payments_key = _key(inventory, "sql-tde-protector")
    legacy, payments = inventory.effective_access(legacy_key), inventory.effective_access(payments_key)
    # Contributor on the legacy resource group: on an access-policy vault it can grant itself data access.
    assert C.ADMINISTER_ACCESS in legacy[sim.MARCO]
    # Marco's access policy also gives him key management and crypto use: a segregation-of-duties conflict.
    assert {C.ENCRYPT, C.DECRYPT} <= legacy[sim.MARCO]
    # Owner at the subscription administers access on every vault (role assignments or access policies)...
    assert C.ADMINISTER_ACCESS in legacy[sim.OWNERS] and C.ADMINISTER_ACCESS in payments[sim.OWNERS]
    # ... but ARM roles never reach a Managed HSM's keys: only its local roles do.
    hsm_access = inventory.effective_access(_key(inventory, "core-banking-master"))
    assert C.ADMINISTER_ACCESS not in hsm_access.get(sim.OWNERS, frozenset())
    assert C.ADMINISTER_ACCESS in hsm_access[sim.HSM_OFFICERS]
    # An assignment inherited from the management group is recorded on the subscription, with its source.
    inherited = [b for b in inventory.bindings if b.level is ScopeLevel.MANAGEMENT_GROUP]
    assert inherited and all(b.target == sim.SUBSCRIPTION for b in inherited)
    assert all(b.inherited_from and b.inherited_from.endswith("/mg-example-prod") for b in inherited)
    findings = _findings(inventory)
    assert findings[("key_admin_separated_from_use", legacy_key.uid)] is Status.FAIL
    assert (
        findings[("key_store_rbac_authorization", _store(inventory, "kv-example-legacy").uid)] is Status.FAIL
    )
    assert (
        findings[("key_store_rbac_authorization", _store(inventory, "kv-example-payments").uid)]
        is Status.PASS
    )


def test_audit_logging_per_vault(demo: tuple[Inventory, ReplayAdapter]) -> None:
    inventory, _ = demo
    coverage = {c.key_store.rsplit("/", 1)[-1]: c for c in inventory.audit_logging}
    assert coverage["kv-example-payments"].usage_events is True  # category AuditEvent
    assert coverage["kv-example-analytics"].usage_events is True  # category group audit
    assert coverage["kv-example-legacy"].usage_events is False
    findings = _findings(inventory)
    legacy = _store(inventory, "kv-example-legacy")
    assert findings[("key_usage_audit_logging_enabled", legacy.uid)] is Status.FAIL
    assert findings[("key_store_deletion_protected", legacy.uid)] is Status.FAIL


def test_an_unreadable_custom_role_makes_access_unknown_not_absent() -> None:
    estate = sim.demo_estate()
    exchanges = sim.estate_exchanges(estate)
    [custom] = estate.custom_roles  # Key Vault Key Manager (keys/* data actions), assigned to Alice
    adapter_first = {"method": "GET", "url": f"https://management.azure.com{custom.id}",
                     "status": 403, "response": {"error": {"code": "AuthorizationFailed", "message": "denied"}}}  # fmt: skip
    inventory, _, _ = scan([adapter_first, *exchanges])
    errors = [e for e in inventory.errors if e.api == "Microsoft.Authorization/roleDefinitions/read"]
    assert errors and errors[0].error_class is ErrorClass.ACCESS_DENIED
    payments = _store(inventory, "kv-example-payments")
    assert KeyStoreAspect.ACCESS in payments.unreadable
    key = _key(inventory, "sql-tde-protector")
    assert KeyAspect.ACCESS in key.unreadable
    assert _findings(inventory)[("key_admin_separated_from_use", key.uid)] is Status.UNKNOWN


def test_one_failing_subscription_does_not_stop_the_others_and_an_unreachable_vault_is_unknown() -> None:
    estate = sim.demo_estate()
    for vault in estate.vaults:
        if vault.name == "kv-example-payments":
            vault.data_plane = "unreachable"
    exchanges = sim.estate_exchanges(estate)
    other = "11111111-2222-4333-8444-555555555555"
    denied = {"method": "GET", "url": f"https://management.azure.com/subscriptions/{other}/providers/Microsoft.KeyVault/vaults",
              "status": 403, "response": {"error": {"code": "AuthorizationFailed", "message": "no access"}}}  # fmt: skip
    inventory, _, _ = scan([denied, *exchanges], subscriptions=[sim.SUBSCRIPTION, other])
    assert ScopeAspect.KEYS in inventory.scope_by_uid[other].unreadable
    assert ScopeAspect.KEYS not in inventory.scope_by_uid[sim.SUBSCRIPTION].unreadable
    network = [e for e in inventory.errors if e.error_class is ErrorClass.NETWORK]
    assert network and network[0].resource.endswith("/vaults/kv-example-payments")
    findings = _findings(inventory)
    assert findings[("scan_coverage_complete", other)] is Status.FAIL


def test_management_group_scope_lists_its_subscriptions_with_their_parents() -> None:
    estate = sim.demo_estate()
    inventory, adapter, _ = scan(
        sim.estate_exchanges(estate), subscriptions=[], management_group=sim.MANAGEMENT_GROUP
    )
    assert [s.uid for s in inventory.scopes] == [sim.SUBSCRIPTION]
    assert inventory.scopes[0].parents[0].uid.endswith(f"/managementGroups/{sim.MANAGEMENT_GROUP}")
    assert any("/descendants" in r.path for r in adapter.requests)


def test_each_role_definition_is_read_once_per_scan(demo: tuple[Inventory, ReplayAdapter]) -> None:
    _, adapter = demo
    reads = [
        r.path.lower()
        for r in adapter.requests
        if "/roledefinitions/" in r.path.lower() and "managedhsm" not in r.host
    ]
    assert reads and len(reads) == len(set(reads))


@pytest.mark.parametrize(
    ("flag", "value"), [("subscriptions", ["not-a-guid"]), ("management_group", "bad/group!")]
)
def test_bad_scope_flags_are_input_errors(flag: str, value: Any) -> None:
    from scanner.errors import InputError

    with pytest.raises(InputError):
        scan([], **{flag: value})


# --------------------------------------------------------------------------------- review settlements
def _with_assignment(scope: str, principal: str, role_guid: str, kind: str = "User") -> list[dict[str, Any]]:
    estate = sim.demo_estate()
    estate.role_assignments.append(
        sim.RoleAssignment(scope, principal, sim.role_definition_id(role_guid, sim.SUBSCRIPTION), kind)
    )
    return sim.estate_exchanges(estate)


def test_a_subscription_wide_data_role_is_a_broad_grant_even_where_vaults_differ() -> None:
    # Key Vault Administrator on the subscription: its data actions reach the RBAC vaults only (not the
    # access-policy vault, not the Managed HSM), yet it is still a subscription-wide grant (SPEC §5).
    exchanges = _with_assignment(f"/subscriptions/{sim.SUBSCRIPTION}", sim.MARCO, sim.KV_ADMINISTRATOR)
    inventory, _, _ = scan(exchanges)
    per_store = [
        b for b in inventory.bindings if b.principal == sim.MARCO and b.inherited_from == sim.SUBSCRIPTION
    ]
    assert per_store and {b.level for b in per_store} == {ScopeLevel.KEY_STORE}
    findings = _findings(inventory)
    assert findings[("no_decrypt_on_all_keys", sim.SUBSCRIPTION)] is Status.FAIL
    assert findings[("no_wildcard_key_admin", sim.SUBSCRIPTION)] is Status.FAIL
    payments = inventory.effective_access(_key(inventory, "sql-tde-protector"))
    assert C.DECRYPT in payments[sim.MARCO]
    legacy = inventory.effective_access(_key(inventory, "legacy-portal-key"))
    assert C.DECRYPT in legacy[sim.MARCO]  # his own access policy there, not the role


def test_a_key_scope_grant_in_another_case_still_applies() -> None:
    estate = sim.demo_estate()
    [vault] = [v for v in estate.vaults if v.name == "kv-example-payments"]
    scope = f"{vault.id}/keys/SQL-TDE-PROTECTOR".upper().replace("/SUBSCRIPTIONS/", "/subscriptions/")
    estate.role_assignments.append(
        sim.RoleAssignment(
            scope,
            sim.MARCO,
            sim.role_definition_id("12338af0-0e69-4776-bea7-57ae8d297424", sim.SUBSCRIPTION),
            "User",
        )
    )
    inventory, _, _ = scan(sim.estate_exchanges(estate))
    key = _key(inventory, "sql-tde-protector")
    assert C.DECRYPT in inventory.effective_access(key)[sim.MARCO]  # Key Vault Crypto User on the key


def test_soft_deleted_keys_are_pending_deletion_with_their_purge_date(
    demo: tuple[Inventory, ReplayAdapter],
) -> None:
    inventory, _ = demo
    deleted = _key(inventory, "portal-session-2024")
    assert deleted.state is KeyState.PENDING_DELETION
    assert deleted.scheduled_deletion is not None
    # The legacy vault has no purge protection: a deleted key can be purged at once.
    assert deleted.deletion_window_days == 0
    assert _key(inventory, "sql-tde-protector").deletion_window_days == 90
    assert _findings(inventory)[("key_not_pending_deletion", deleted.uid)] is Status.FAIL


def test_a_refused_resource_provider_registration_is_recorded_not_fatal() -> None:
    estate = sim.demo_estate()
    [vault] = [v for v in estate.vaults if v.name == "kv-example-payments"]
    missing = {"method": "GET", "url": f"https://management.azure.com{vault.id}/providers/Microsoft.Insights/diagnosticSettings",
               "status": 409, "response": {"error": {"code": "MissingSubscriptionRegistration",
               "message": "The subscription is not registered to use namespace 'microsoft.insights'."}}}  # fmt: skip
    inventory, adapter, _ = scan([missing, *sim.estate_exchanges(estate)])
    assert {r.method for r in adapter.requests} == {"GET"}  # the registration POST never left
    [error] = [e for e in inventory.errors if e.api == "Microsoft.Insights/diagnosticSettings/read"]
    assert error.error_class is ErrorClass.ACCESS_DENIED and "read-only" in error.message
    coverage = {c.key_store.rsplit("/", 1)[-1]: c for c in inventory.audit_logging}
    assert coverage["kv-example-payments"].usage_events is None  # unknown, not "off"
    assert len(inventory.keys) == len(estate.keys)  # the rest of the scan went on


def test_tokens_are_shared_by_every_client_of_the_scan(demo: tuple[Inventory, ReplayAdapter]) -> None:
    _, _, credential = scan(sim.estate_exchanges(sim.demo_estate()))
    # One token per (scope, tenant): ARM, then each data plane's challenge scope.
    assert len(credential.requests) == len({(tuple(r.scopes), r.tenant_id) for r in credential.requests})


def test_missing_network_settings_are_azure_defaults_and_before_expiry_rotation_needs_an_expiry() -> None:
    from providers.azure.normalise import _network, _rotation

    open_vault = _network({})
    assert (open_vault.public_network_access, open_vault.default_action_deny) == (True, False)
    policy = {"expires_in": "P1Y", "lifetime_actions": [{"action": "Rotate", "time_before_expiry": "P30D"}]}
    assert _rotation(policy, expires=None).enabled is False  # never fires on a key without expiry
    rotating = _rotation(policy, expires=NOW)
    assert (rotating.enabled, rotating.period_days) == (True, 335)
