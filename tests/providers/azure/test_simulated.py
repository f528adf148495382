"""providers.azure.simulated: a declared Azure estate served to the real Azure SDK clients by ReplayAdapter."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ServiceRequestError
from azure.keyvault.administration import KeyVaultAccessControlClient
from azure.keyvault.administration._internal import http_challenge_cache as admin_challenges
from azure.keyvault.keys import KeyRotationPolicyAction

from providers.azure import clients
from providers.azure import simulated as sim
from providers.azure.replay import ReplayAdapter, ReplayCredential, reset_key_vault_challenges

TENANT = "9a8b7c6d-1111-4222-8333-444455556666"
ALPHA = "11111111-aaaa-4bbb-8ccc-000000000001"
BETA = "22222222-aaaa-4bbb-8ccc-000000000002"
GAMMA = "33333333-aaaa-4bbb-8ccc-000000000003"
ADMINS, APP, OPS, AUDIT, ROTATOR = (f"0000000{i}-5b6e-4c7f-9a0b-1d2e3f4a5b6c" for i in range(1, 6))
CUSTOM = "6d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"
LOCAL_CUSTOM = "7e2f3a4b-5c6d-4e7f-8091-92a3b4c5d6e7"
RG = f"/subscriptions/{ALPHA}/resourceGroups/rg-keys"


@pytest.fixture(autouse=True)
def _fresh_challenges():
    # Both azure-keyvault packages cache each vault's challenge for the whole process.
    reset_key_vault_challenges()
    admin_challenges.clear()
    yield
    reset_key_vault_challenges()
    admin_challenges.clear()


def _role(guid: str, sub: str = ALPHA) -> str:
    return sim.role_definition_id(guid, sub)


def _estate(cloud: str = "public") -> sim.Estate:
    """Root > mg-platform > mg-prod > alpha (every kind of store); beta (disabled) and gamma elsewhere."""
    rbac = sim.Vault(
        ALPHA,
        "rg-keys",
        "kv-alpha",
        sku_name="premium",
        enable_purge_protection=True,
        public_network_access="Disabled",
        network_acls={"defaultAction": "Deny", "ipRules": ["203.0.113.0/24"], "virtualNetworkRules": []},
        private_endpoints=[f"{RG}/providers/Microsoft.Network/privateEndpoints/pe-kv-alpha"],
        tags={"env": "prod"},
    )
    legacy = sim.Vault(
        ALPHA,
        "rg-legacy",
        "kv-legacy",
        soft_delete_retention_in_days=7,
        enable_rbac_authorization=False,
        access_policies=[
            {
                "tenantId": TENANT,
                "objectId": OPS,
                "permissions": {
                    "keys": ["Get", "Create", "Delete", "Decrypt"],
                    "secrets": [],
                    "certificates": [],
                },
            }
        ],
    )
    stores = [
        rbac,
        legacy,
        sim.Vault(ALPHA, "rg-keys", "kv-firewalled", data_plane="firewall"),
        sim.Vault(ALPHA, "rg-keys", "kv-denied", data_plane="forbidden"),
        sim.Vault(
            ALPHA, "rg-legacy", "kv-denied-legacy", enable_rbac_authorization=False, data_plane="forbidden"
        ),
        sim.Vault(ALPHA, "rg-keys", "kv-private", public_network_access="Disabled", data_plane="unreachable"),
    ]
    hsm = sim.ManagedHsm(
        ALPHA,
        "rg-keys",
        "hsm-alpha",
        initial_admin_object_ids=[ADMINS],
        role_assignments=[
            sim.HsmRoleAssignment(ADMINS, "515eb02d-2335-4d2d-92f2-b1cbdf9c3778"),  # Crypto Officer
            sim.HsmRoleAssignment(APP, "21dbd100-6940-42c2-9190-5d6cb909625b", "/keys/master"),  # Crypto User
            sim.HsmRoleAssignment(ROTATOR, LOCAL_CUSTOM, "/keys/other"),
        ],
        role_definitions=[
            sim.CustomRoleDefinition(
                sim.hsm_role_definition_id(LOCAL_CUSTOM),
                "HSM rotator",
                [{"dataActions": ["Microsoft.KeyVault/managedHsm/keys/rotate/action"]}],
            )
        ],
    )
    keys = [
        sim.Key(
            rbac,
            "card",
            "RSA-HSM",
            3072,
            created="2025-03-01T09:00:00Z",
            expires="2027-03-01T09:00:00Z",
            not_before="2025-03-01T09:00:00Z",
            versions=3,
            tags={"data_classification": "confidential"},
            rotation_policy=sim.rotation_policy("P90D", expiry_time="P2Y"),
        ),
        sim.Key(rbac, "signer", "EC", curve="P-521", created="2025-04-01T00:00:00Z"),
        sim.Key(
            rbac,
            "release",
            "RSA-HSM",
            exportable=True,
            release_policy={"version": "1.0.0", "anyOf": []},
            rotation_policy=sim.rotation_policy(rotate_before_expiry="P30D", notify_before_expiry=None),
        ),
        sim.Key(rbac, "tls-cert", "RSA", managed=True, enabled=False),
        sim.Key(legacy, "old", "RSA", 2048),
        sim.Key(stores[2], "behind-firewall", "RSA-HSM", 4096, rotation_policy=sim.rotation_policy("P1Y")),
        sim.Key(stores[2], "behind-firewall-ec", "EC-HSM", curve="P-384"),
        sim.Key(hsm, "master", "oct-HSM", 256, rotation_policy=sim.rotation_policy("P90D")),
        sim.Key(hsm, "other", "EC-HSM", curve="P-256K"),
    ]
    assignments = [
        sim.RoleAssignment(
            sim.management_group_id(TENANT), AUDIT, _role("acdd72a7-3385-48ef-bd42-f606fba81ae7")
        ),
        sim.RoleAssignment(
            sim.management_group_id("mg-prod"), ADMINS, _role("21090545-7ca7-4776-b22c-e363652d74d2"), "Group"
        ),
        sim.RoleAssignment(
            f"/subscriptions/{ALPHA}", ADMINS, _role("8e3af657-a8ff-443c-a75c-2fe8c4bcb635"), "Group"
        ),
        sim.RoleAssignment(RG, OPS, _role("b24988ac-6180-42a0-ab88-20f7382dd24c"), "User"),
        sim.RoleAssignment(rbac.id, ADMINS, _role("00482a5a-887f-4fb3-b363-3b7fe8e74483"), "Group"),
        sim.RoleAssignment(
            f"{rbac.id}/keys/card",
            APP,
            _role("12338af0-0e69-4776-bea7-57ae8d297424"),
            condition="@Resource[Microsoft.KeyVault/vaults/keys:name] StringEquals 'card'",
        ),
        sim.RoleAssignment(rbac.id, ROTATOR, _role(CUSTOM), "ForeignGroup"),
        # Elsewhere: never listed for alpha.
        sim.RoleAssignment(
            f"/subscriptions/{GAMMA}", OPS, _role("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", GAMMA)
        ),
        sim.RoleAssignment(
            sim.management_group_id("mg-platform"), OPS, _role("b24988ac-6180-42a0-ab88-20f7382dd24c")
        ),
    ]
    custom = sim.CustomRoleDefinition(
        _role(CUSTOM),
        "Key rotator",
        [
            {
                "actions": ["Microsoft.KeyVault/vaults/read"],
                "dataActions": ["Microsoft.KeyVault/vaults/keys/*"],
                "notDataActions": ["Microsoft.KeyVault/vaults/keys/decrypt/action"],
            }
        ],
        assignable_scopes=[f"/subscriptions/{ALPHA}"],
    )
    diagnostics = [
        sim.DiagnosticSetting(
            rbac, "to-law", [{"category": "AuditEvent", "enabled": True}], workspace_id="/w/law"
        ),
        sim.DiagnosticSetting(
            legacy.id, "archive", [{"categoryGroup": "audit", "enabled": True}], storage_account_id="/s/st"
        ),
    ]
    return sim.Estate(
        tenant=sim.Tenant(TENANT),
        management_groups=[
            sim.ManagementGroup("mg-prod", "mg-platform", "Production"),
            sim.ManagementGroup("mg-platform", TENANT, "Platform"),
        ],
        subscriptions=[
            sim.Subscription(ALPHA, "alpha", "mg-prod"),
            sim.Subscription(BETA, "beta", "mg-platform", state="Disabled"),
            sim.Subscription(GAMMA, "gamma", TENANT),
        ],
        vaults=[*stores, sim.Vault(GAMMA, "rg-g", "kv-gamma")],
        managed_hsms=[hsm],
        keys=keys,
        role_assignments=assignments,
        custom_roles=[custom],
        diagnostic_settings=diagnostics,
        cloud=cloud,
    ).validate()


def _replay(estate: sim.Estate, page_size: int = 2) -> tuple[ReplayAdapter, ReplayCredential, Any]:
    adapter = ReplayAdapter(
        exchanges=sim.estate_exchanges(estate, arm_page_size=page_size, data_page_size=page_size)
    )
    return adapter, ReplayCredential(), adapter.transport()


def _paged(adapter: ReplayAdapter, path: str) -> int:
    return sum(1 for r in adapter.requests if r.path.lower() == path.lower() and r.authorization)


# ----------------------------------------------------------------------------------------- tenant
def test_tenant_exchanges_answer_the_tenant_client() -> None:
    adapter, credential, transport = _replay(_estate())
    tenant = clients.subscription_client(credential, transport=transport, retry_total=0)

    subscriptions = list(tenant.list_subscriptions())
    assert [(s["subscriptionId"], s["state"], s["tenantId"]) for s in subscriptions] == [
        (ALPHA, "Enabled", TENANT),
        (BETA, "Disabled", TENANT),
        (GAMMA, "Enabled", TENANT),
    ]
    assert _paged(adapter, "/subscriptions") == 2  # pages of two
    assert tenant.subscriptions_under("mg-platform") == [BETA, ALPHA]
    assert tenant.subscriptions_under("mg-prod") == [ALPHA]
    assert tenant.subscriptions_under(TENANT) == [GAMMA, BETA, ALPHA]  # the tenant root group
    descendants = list(tenant.list_management_group_descendants(TENANT))
    assert [
        (d["name"], d["type"], d["properties"]["parent"]["id"].rsplit("/", 1)[-1]) for d in descendants
    ] == [
        ("mg-platform", "Microsoft.Management/managementGroups", TENANT),
        (GAMMA, "Microsoft.Management/managementGroups/subscriptions", TENANT),
        ("mg-prod", "Microsoft.Management/managementGroups", "mg-platform"),
        (BETA, "Microsoft.Management/managementGroups/subscriptions", "mg-platform"),
        (ALPHA, "Microsoft.Management/managementGroups/subscriptions", "mg-prod"),
    ]
    assert adapter.unmatched == []


# ------------------------------------------------------------------------------------------- ARM
def test_subscription_exchanges_answer_the_arm_clients() -> None:
    estate = _estate()
    adapter, credential, transport = _replay(estate)
    keyvault = clients.keyvault_mgmt_client(ALPHA, credential, transport=transport, retry_total=0)
    auth = clients.authorization_client(ALPHA, credential, transport=transport, retry_total=0)

    vaults = {v.name: v for v in keyvault.vaults.list_by_subscription()}
    assert list(vaults) == [
        "kv-alpha",
        "kv-legacy",
        "kv-firewalled",
        "kv-denied",
        "kv-denied-legacy",
        "kv-private",
    ]
    assert _paged(adapter, f"/subscriptions/{ALPHA}/providers/Microsoft.KeyVault/vaults") == 3
    alpha = vaults["kv-alpha"].properties
    assert (alpha.enable_soft_delete, alpha.enable_purge_protection, alpha.enable_rbac_authorization) == (
        True,
        True,
        True,
    )
    assert alpha.public_network_access == "Disabled"
    assert alpha.network_acls.default_action == "Deny"
    assert [r.value for r in alpha.network_acls.ip_rules] == ["203.0.113.0/24"]
    assert alpha.private_endpoint_connections[0].private_endpoint.id.endswith("/pe-kv-alpha")
    assert (alpha.sku.name, alpha.vault_uri) == ("premium", "https://kv-alpha.vault.azure.net/")
    legacy = vaults["kv-legacy"].properties
    assert (legacy.enable_rbac_authorization, legacy.enable_purge_protection) == (False, None)
    assert legacy.soft_delete_retention_in_days == 7
    assert legacy.access_policies[0].object_id == OPS
    assert legacy.access_policies[0].permissions.keys_property == ["Get", "Create", "Delete", "Decrypt"]
    assert keyvault.vaults.get("rg-keys", "kv-alpha").id == vaults["kv-alpha"].id

    (hsm,) = keyvault.managed_hsms.list_by_subscription()
    assert hsm.properties.hsm_uri == "https://hsm-alpha.managedhsm.azure.net/"
    assert hsm.properties.initial_admin_object_ids == [ADMINS]
    assert hsm.properties.enable_purge_protection is True

    # Role assignments: at and below alpha, and inherited from its management groups; not gamma's.
    assignments = list(auth.role_assignments.list_for_subscription())
    assert (
        _paged(adapter, f"/subscriptions/{ALPHA}/providers/Microsoft.Authorization/roleAssignments") == 4
    )  # 8 of 9
    scopes = [a.scope for a in assignments]
    assert scopes[:2] == [sim.management_group_id(TENANT), sim.management_group_id("mg-prod")]
    assert sim.management_group_id("mg-platform") in scopes
    assert not [s for s in scopes if GAMMA in s]
    key_scoped = next(a for a in assignments if a.scope.endswith("/keys/card"))
    assert key_scoped.principal_id == APP and "StringEquals" in key_scoped.condition
    assert key_scoped.condition_version == "2.0"
    assert {a.principal_type for a in assignments} == {"User", "Group", "ServicePrincipal", "ForeignGroup"}

    definitions = {
        a.role_definition_id: auth.role_definitions.get_by_id(a.role_definition_id) for a in assignments
    }
    names = {d.role_name for d in definitions.values()}
    assert names == {"Reader", "Key Vault Reader", "Owner", "Contributor", "Key Vault Administrator"} | {
        "Key Vault Crypto User",
        "Key rotator",
    }
    admin = definitions[_role("00482a5a-887f-4fb3-b363-3b7fe8e74483")]
    assert (admin.role_type, admin.permissions[0].data_actions) == (
        "BuiltInRole",
        ["Microsoft.KeyVault/vaults/*"],
    )
    custom = definitions[_role(CUSTOM)]
    assert custom.role_type == "CustomRole"
    assert custom.permissions[0].not_data_actions == ["Microsoft.KeyVault/vaults/keys/decrypt/action"]
    assert custom.assignable_scopes == [f"/subscriptions/{ALPHA}"]
    listed = list(auth.role_definitions.list(f"/subscriptions/{ALPHA}", filter="type eq 'CustomRole'"))
    assert [d.role_name for d in listed] == ["Key rotator"]
    assert adapter.unmatched == []


def test_diagnostic_settings_and_the_arm_view_of_keys() -> None:
    estate = _estate()
    adapter, credential, transport = _replay(estate)
    monitor = clients.monitor_client(ALPHA, credential, transport=transport, retry_total=0)
    keyvault = clients.keyvault_mgmt_client(ALPHA, credential, transport=transport, retry_total=0)
    by_name = {s.name: s for s in estate.stores}

    [law] = monitor.diagnostic_settings.list(by_name["kv-alpha"].id)
    assert [(log.category, log.category_group, log.enabled) for log in law.logs] == [
        ("AuditEvent", None, True)
    ]
    assert law.workspace_id == "/w/law"
    [archive] = monitor.diagnostic_settings.list(by_name["kv-legacy"].id)
    assert [(log.category, log.category_group) for log in archive.logs] == [(None, "audit")]
    assert archive.storage_account_id == "/s/st"
    assert list(monitor.diagnostic_settings.list(by_name["kv-firewalled"].id)) == []
    assert list(monitor.diagnostic_settings.list(by_name["hsm-alpha"].id)) == []

    # The ARM view holds type, size, curve, attributes and the rotation policy, page by page.
    arm = {k.name: k for k in keyvault.keys.list("rg-keys", "kv-alpha")}
    assert list(arm) == ["card", "signer", "release", "tls-cert"]
    assert _paged(adapter, f"{by_name['kv-alpha'].id}/keys") == 2
    card = arm["card"].properties
    assert (card.kty, card.key_size, card.curve_name) == ("RSA-HSM", 3072, None)
    assert card.attributes.expires == int(datetime(2027, 3, 1, 9, tzinfo=UTC).timestamp())
    assert card.attributes.recovery_level == "Recoverable"
    assert [a.action.type for a in card.rotation_policy.lifetime_actions] == ["rotate", "notify"]
    assert card.rotation_policy.attributes.expiry_time == "P2Y"
    assert card.key_uri == "https://kv-alpha.vault.azure.net/keys/card"
    assert (arm["signer"].properties.curve_name, arm["signer"].properties.key_size) == ("P-521", None)
    assert arm["signer"].properties.rotation_policy is None
    assert arm["release"].properties.attributes.exportable is True
    assert json.loads(arm["release"].properties.release_policy.data) == {"anyOf": [], "version": "1.0.0"}
    firewalled = [k.name for k in keyvault.keys.list("rg-keys", "kv-firewalled")]
    assert firewalled == ["behind-firewall", "behind-firewall-ec"]
    legacy_level = next(
        iter(keyvault.keys.list("rg-legacy", "kv-legacy"))
    ).properties.attributes.recovery_level
    assert legacy_level == "CustomizedRecoverable+Purgeable"
    hsm_keys = {k.name: k.properties for k in keyvault.managed_hsm_keys.list("rg-keys", "hsm-alpha")}
    assert (hsm_keys["master"].kty, hsm_keys["master"].key_size) == ("oct-HSM", 256)
    assert adapter.unmatched == []


# ------------------------------------------------------------------------------------- data plane
def test_vault_data_plane_answers_the_key_client() -> None:
    estate = _estate()
    adapter, credential, transport = _replay(estate)
    client = clients.key_client(
        "https://kv-alpha.vault.azure.net", credential, transport=transport, retry_total=0
    )

    listed = list(client.list_properties_of_keys(max_page_size=2))
    assert [k.name for k in listed] == ["card", "signer", "release", "tls-cert"]
    challenge, *pages = [r for r in adapter.requests if r.path == "/keys"]
    assert challenge.authorization is None and [p.authorization for p in pages] == ["Bearer", "Bearer"]
    assert pages[1].url.startswith("https://kv-alpha.vault.azure.net:443/keys?")  # the nextLink, verbatim
    assert [(r.scopes, r.tenant_id) for r in credential.requests] == [
        (("https://vault.azure.net/.default",), TENANT)
    ]
    assert [k.managed for k in listed] == [None, None, None, True]
    assert listed[3].enabled is False

    card = client.get_key("card")
    assert card.key_type == "RSA-HSM" and len(card.key.n) * 8 == 3072 and card.key.e == b"\x01\x00\x01"
    assert card.key.key_ops == ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"]
    assert card.properties.expires_on == datetime(2027, 3, 1, 9, tzinfo=UTC)
    assert card.properties.not_before == datetime(2025, 3, 1, 9, tzinfo=UTC)
    assert card.properties.created_on == datetime(2025, 3, 1, 9, tzinfo=UTC)
    assert (card.properties.recovery_level, card.properties.recoverable_days) == ("Recoverable", 90)
    assert card.properties.tags == {"data_classification": "confidential"}
    assert card.id == f"https://kv-alpha.vault.azure.net/keys/card/{estate.keys[0].version()}"
    versions = list(client.list_properties_of_key_versions("card", max_page_size=2))
    assert len(versions) == 3 and versions[-1].version == card.properties.version
    assert sorted(v.created_on for v in versions)[-1] == card.properties.created_on

    signer = client.get_key("signer")
    assert (signer.key.crv, len(signer.key.x), len(signer.key.y)) == ("P-521", 66, 66)
    assert signer.key.key_ops == ["sign", "verify"] and signer.properties.expires_on is None
    release = client.get_key("release")
    assert release.properties.exportable is True
    assert json.loads(release.properties.release_policy.encoded_policy) == {"anyOf": [], "version": "1.0.0"}

    policy = client.get_key_rotation_policy("card")
    assert policy.id == "https://kv-alpha.vault.azure.net/keys/card/rotationpolicy"
    assert [(a.action, a.time_after_create, a.time_before_expiry) for a in policy.lifetime_actions] == [
        (KeyRotationPolicyAction.rotate, "P90D", None),
        (KeyRotationPolicyAction.notify, None, "P30D"),
    ]
    assert policy.expires_in == "P2Y"
    before_expiry = client.get_key_rotation_policy("release")
    assert [(a.action, a.time_before_expiry) for a in before_expiry.lifetime_actions] == [
        (KeyRotationPolicyAction.rotate, "P30D")
    ]
    # A key that never had a policy: 200, no id, only the default Notify action.
    default = client.get_key_rotation_policy("signer")
    assert default.id is None
    assert [a.action for a in default.lifetime_actions] == [KeyRotationPolicyAction.notify]
    assert adapter.unmatched == []


@pytest.mark.parametrize(
    ("vault", "inner"),
    [
        ("kv-firewalled", "ForbiddenByFirewall"),
        ("kv-denied", "ForbiddenByRbac"),
        ("kv-denied-legacy", "AccessDenied"),
    ],
)
def test_refused_data_plane_answers_403_after_the_challenge(vault: str, inner: str) -> None:
    adapter, credential, transport = _replay(_estate())
    client = clients.key_client(
        f"https://{vault}.vault.azure.net", credential, transport=transport, retry_total=0
    )

    with pytest.raises(HttpResponseError) as refused:
        list(client.list_properties_of_keys())
    assert refused.value.status_code == 403
    assert refused.value.error.code == "Forbidden"
    assert refused.value.response.json()["error"]["innererror"] == {"code": inner}
    assert [r.authorization for r in adapter.requests] == [None, "Bearer"]  # the challenge came first
    with pytest.raises(HttpResponseError):
        client.get_key("behind-firewall")
    assert adapter.unmatched == []


def test_unreachable_data_plane_is_a_connection_error() -> None:
    adapter, credential, transport = _replay(_estate())
    client = clients.key_client(
        "https://kv-private.vault.azure.net", credential, transport=transport, retry_total=0
    )
    with pytest.raises(ServiceRequestError):
        list(client.list_properties_of_keys())
    assert credential.requests == []  # no challenge ever came back
    # ARM still answers for that vault.
    keyvault = clients.keyvault_mgmt_client(ALPHA, credential, transport=transport, retry_total=0)
    assert keyvault.vaults.get("rg-keys", "kv-private").properties.public_network_access == "Disabled"
    assert list(keyvault.keys.list("rg-keys", "kv-private")) == []
    assert adapter.unmatched == []


def test_managed_hsm_data_plane_and_local_rbac() -> None:
    adapter, credential, transport = _replay(_estate())
    url = "https://hsm-alpha.managedhsm.azure.net"
    keys = clients.key_client(url, credential, transport=transport, retry_total=0)
    assert [k.name for k in keys.list_properties_of_keys()] == ["master", "other"]
    master = keys.get_key("master")
    assert (master.key_type, master.key.k) == ("oct-HSM", None)  # the material never leaves the HSM
    assert keys.get_key_rotation_policy("master").lifetime_actions[0].action == KeyRotationPolicyAction.rotate
    assert keys.get_key("other").key.crv == "P-256K"

    access = KeyVaultAccessControlClient(url, credential, transport=transport, retry_total=0)
    assignments = list(access.list_role_assignments("/"))
    assert [(a.properties.principal_id, a.properties.scope) for a in assignments] == [
        (ADMINS, "/"),
        (APP, "/keys/master"),
        (ROTATOR, "/keys/other"),
    ]
    assert assignments[1].properties.role_definition_id == sim.hsm_role_definition_id(
        "21dbd100-6940-42c2-9190-5d6cb909625b"
    )
    at_key = list(access.list_role_assignments("/keys/master"))
    assert {a.properties.principal_id for a in at_key} == {ADMINS, APP}
    definitions = {d.role_name: d for d in access.list_role_definitions("/")}
    assert {"Managed HSM Crypto Officer", "Managed HSM Crypto User", "HSM rotator"} <= set(definitions)
    assert definitions["HSM rotator"].role_type == "CustomRole"
    assert definitions["HSM rotator"].permissions[0].data_actions == [
        "Microsoft.KeyVault/managedHsm/keys/rotate/action"
    ]
    assert definitions["Managed HSM Crypto Officer"].role_type == "AKVBuiltInRole"
    assert {r.scopes for r in credential.requests} == {("https://managedhsm.azure.net/.default",)}
    assert adapter.unmatched == []


def test_sovereign_cloud_endpoints() -> None:
    adapter, credential, transport = _replay(_estate("china"))
    tenant = clients.subscription_client(credential, "china", transport=transport, retry_total=0)
    assert len(list(tenant.list_subscriptions())) == 3
    keyvault = clients.keyvault_mgmt_client(ALPHA, credential, "china", transport=transport, retry_total=0)
    vault = next(iter(keyvault.vaults.list_by_subscription()))
    assert vault.properties.vault_uri == "https://kv-alpha.vault.azure.cn/"
    client = clients.key_client(
        "https://kv-alpha.vault.azure.cn", credential, transport=transport, retry_total=0
    )
    assert client.get_key("card").id.startswith("https://kv-alpha.vault.azure.cn/keys/card/")
    assert credential.requests[-1].scopes == ("https://vault.azure.cn/.default",)
    assert adapter.requests[0].host == "management.chinacloudapi.cn"
    assert adapter.unmatched == []


# ------------------------------------------------------------------------------------------ model
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda e: e.subscriptions.append(sim.Subscription("x", "x", "mg-nowhere")),
            "unknown management group",
        ),
        (lambda e: e.vaults.append(sim.Vault("nope", "rg", "kv-orphan")), "unknown subscription"),
        (lambda e: e.vaults.append(sim.Vault(GAMMA, "rg-other", "kv-alpha")), "duplicate vault name"),
        (lambda e: setattr(e.vaults[0], "data_plane", "slow"), "data_plane must be one of"),
        (lambda e: e.keys.append(sim.Key(e.vaults[0], "k", "EC")), "need a curve"),
        (lambda e: e.keys.append(sim.Key(e.vaults[0], "k", "oct-HSM")), "live in Managed HSMs"),
        (lambda e: e.keys.append(sim.Key(e.managed_hsms[0], "k", "RSA")), "only -HSM key types"),
        (
            lambda e: e.role_assignments.append(
                sim.RoleAssignment(f"/subscriptions/{ALPHA}", APP, _role(LOCAL_CUSTOM))
            ),
            "unknown role",
        ),
        (
            lambda e: e.managed_hsms[0].role_assignments.append(sim.HsmRoleAssignment(APP, CUSTOM)),
            "local role assignment of unknown role",
        ),
        (
            lambda e: e.diagnostic_settings.append(
                sim.DiagnosticSetting("/subscriptions/x/vaults/y", "d", [])
            ),
            "unknown resource",
        ),
    ],
)
def test_validate_names_the_inconsistency(change: Any, message: str) -> None:
    estate = _estate()
    change(estate)
    with pytest.raises(ValueError, match=message):
        estate.validate()


def test_module_imports_the_standard_library_only() -> None:
    code = (
        "import sys; before = set(sys.modules); import providers.azure.simulated; "
        "print(sorted({m.split('.')[0] for m in set(sys.modules) - before} - set(sys.stdlib_module_names)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['providers']"


# ------------------------------------------------------------------------------------------ the demo
def test_demo_estate_file_is_current() -> None:
    assert sim.DEMO_FILE.read_text(encoding="utf-8") == sim.render_demo(), (
        "run: python -m providers.azure.simulated --write-demo"
    )
    check = [sys.executable, "-m", "providers.azure.simulated", "--check-demo"]
    assert subprocess.run(check, capture_output=True, check=False).returncode == 0


def test_check_demo_reports_a_stale_file(tmp_path: Any) -> None:
    stale = tmp_path / "demo.json"
    stale.write_text("{}\n", encoding="utf-8")
    assert sim.main(["--check-demo", "--output", str(stale)]) == 1
    assert sim.main(["--write-demo", "--output", str(stale)]) == 0
    assert sim.main(["--check-demo", "--output", str(stale)]) == 0


def test_demo_estate_answers_the_whole_contract() -> None:
    """The shipped file, through every call of the contract, as a collector makes them."""
    document = json.loads(sim.DEMO_FILE.read_text(encoding="utf-8"))
    assert (document["subscriptions"], document["cloud"]) == ([sim.SUBSCRIPTION], "public")
    adapter = ReplayAdapter(exchanges=document["exchanges"])
    credential, transport = ReplayCredential(), adapter.transport()
    tenant = clients.subscription_client(credential, transport=transport, retry_total=0)
    assert tenant.subscriptions_under(sim.MANAGEMENT_GROUP) == [sim.SUBSCRIPTION]
    keyvault = clients.keyvault_mgmt_client(sim.SUBSCRIPTION, credential, transport=transport, retry_total=0)
    auth = clients.authorization_client(sim.SUBSCRIPTION, credential, transport=transport, retry_total=0)
    monitor = clients.monitor_client(sim.SUBSCRIPTION, credential, transport=transport, retry_total=0)

    stores = [*keyvault.vaults.list_by_subscription(), *keyvault.managed_hsms.list_by_subscription()]
    assignments = list(auth.role_assignments.list_for_subscription())
    roles = {
        a.role_definition_id: auth.role_definitions.get_by_id(a.role_definition_id).role_name
        for a in assignments
    }
    audit: dict[str, set[str]] = {}
    keys: dict[str, list[str]] = {}
    refused: dict[str, str] = {}
    for store in stores:
        audit[store.name] = {
            log.category or log.category_group
            for setting in monitor.diagnostic_settings.list(store.id)
            for log in setting.logs
            if log.enabled
        }
        url = getattr(store.properties, "vault_uri", None) or store.properties.hsm_uri
        client = clients.key_client(url, credential, transport=transport, retry_total=0)
        try:
            names = [k.name for k in client.list_properties_of_keys()]
            for name in names:
                client.get_key(name)
                client.get_key_rotation_policy(name)
            keys[store.name] = names
        except HttpResponseError as error:
            refused[store.name] = error.response.json()["error"]["innererror"]["code"]
            keys[store.name] = [k.name for k in keyvault.keys.list(store.id.split("/")[4], store.name)]
    hsm_url = f"https://mhsm-example-prod.{clients.cloud_settings().managed_hsm_suffix}"
    access = KeyVaultAccessControlClient(hsm_url, credential, transport=transport, retry_total=0)
    local = {(a.properties.principal_id, a.properties.scope) for a in access.list_role_assignments("/")}
    local_roles = {d.id: d.role_name for d in access.list_role_definitions("/")}
    assert adapter.unmatched == []

    assert keys == {
        "kv-example-payments": ["sql-tde-protector", "storage-cmk", "app-ecdh", "cvm-disk-release"],
        "kv-example-legacy": ["legacy-portal-key", "reports-signing"],
        "kv-example-analytics": ["synapse-cmk", "databricks-cmk"],
        "mhsm-example-prod": ["core-banking-master", "swift-signing"],
        "kv-example-ai": ["openai-cmk", "ai-shared-cmk"],
    }
    assert refused == {"kv-example-analytics": "ForbiddenByFirewall"}
    assert audit == {
        "kv-example-payments": {"audit"},
        "kv-example-legacy": set(),
        "kv-example-analytics": {"allLogs"},
        "mhsm-example-prod": {"AuditEvent"},
        "kv-example-ai": {"audit"},
    }
    by_principal = {(a.principal_id, roles[a.role_definition_id]) for a in assignments}
    assert {
        (sim.OWNERS, "Owner"),
        (sim.AUDITORS, "Key Vault Reader"),
        (sim.MARCO, "Contributor"),
        (sim.KV_ADMINS, "Key Vault Administrator"),
        (sim.ALICE, "Key Vault Key Manager"),
    } <= by_principal
    assert sim.management_group_id(sim.MANAGEMENT_GROUP) in {a.scope for a in assignments}
    legacy = next(s for s in stores if s.name == "kv-example-legacy").properties
    marco = next(p for p in legacy.access_policies if p.object_id == sim.MARCO).permissions.keys_property
    assert {"Create", "Delete", "Decrypt", "UnwrapKey", "Sign"} <= set(marco)
    assert (legacy.enable_purge_protection, legacy.public_network_access) == (None, "Enabled")
    officer = sim.hsm_role_definition_id(sim.HSM_CRYPTO_OFFICER)
    assert local_roles[officer] == "Managed HSM Crypto Officer"
    assert {(sim.HSM_OFFICERS, "/"), (sim.CORE_BANKING, "/keys/core-banking-master")} <= local
    release = base64.urlsafe_b64decode(
        next(e for e in document["exchanges"] if e["path"].endswith("/keys/cvm-disk-release"))["response"][
            "release_policy"
        ]["data"]
        + "=="
    )
    assert json.loads(release)["version"] == "1.0.0"
