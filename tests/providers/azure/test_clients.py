"""Azure client factories: clouds, retries, timeouts, proxy and CA settings, RBAC, Monitor, subscriptions."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from providers.azure import clients
from providers.azure.clients import (
    CLOUDS,
    CONNECT_TIMEOUT,
    READ_TIMEOUT,
    authorization_client,
    cloud_settings,
    default_credential,
    key_client,
    keyvault_mgmt_client,
    monitor_client,
    subscription_client,
)
from providers.azure.replay import (
    ReplayAdapter,
    ReplayCredential,
    key_vault_challenge,
    reset_key_vault_challenges,
)

CASSETTES = Path(__file__).parent / "cassettes"
SUB = "6f1c2a4e-3b5d-4e7f-9a0b-1c2d3e4f5a6b"
TENANT = "a1b2c3d4-1111-4222-8333-444455556666"
VAULT_ID = f"/subscriptions/{SUB}/resourceGroups/rg-security/providers/Microsoft.KeyVault/vaults/acme-prod-kv"
ROLES = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions"
VAULT_URL = "https://acme-prod-kv.vault.azure.net"
ENV_NETWORK = (
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
)


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch):
    for name in ENV_NETWORK:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    reset_key_vault_challenges()
    yield
    reset_key_vault_challenges()


def _vault_get(arm: str = "https://management.azure.com") -> dict[str, object]:
    return {
        "method": "GET",
        "url": f"{arm}{VAULT_ID}",
        "response": {
            "id": VAULT_ID,
            "name": "acme-prod-kv",
            "properties": {"tenantId": TENANT, "sku": {"family": "A", "name": "standard"}},
        },
    }


# -- clouds -----------------------------------------------------------------------------------------


def test_cloud_settings_agree_with_the_sdks() -> None:
    from azure.core import AzureClouds
    from azure.identity import AzureAuthorityHosts
    from azure.mgmt.core.tools import get_arm_endpoints

    sdk = {
        "public": (AzureAuthorityHosts.AZURE_PUBLIC_CLOUD, AzureClouds.AZURE_PUBLIC_CLOUD),
        "china": (AzureAuthorityHosts.AZURE_CHINA, AzureClouds.AZURE_CHINA_CLOUD),
        "usgov": (AzureAuthorityHosts.AZURE_GOVERNMENT, AzureClouds.AZURE_US_GOVERNMENT),
    }
    assert set(CLOUDS) == set(sdk)
    for name, (authority, cloud) in sdk.items():
        settings = cloud_settings(name)
        endpoints = get_arm_endpoints(cloud)
        assert settings.authority_host == authority
        assert settings.arm_endpoint + "/" == endpoints["resource_manager"]
        assert [settings.arm_scope] == endpoints["credential_scopes"]
    assert cloud_settings("china").vault_url("kv") == "https://kv.vault.azure.cn"
    assert cloud_settings("usgov").managed_hsm_url("hsm") == "https://hsm.managedhsm.usgovcloudapi.net"
    assert cloud_settings("public").vault_scope == "https://vault.azure.net/.default"
    assert cloud_settings(cloud_settings("china")) is CLOUDS["china"]
    with pytest.raises(ValueError, match="unknown Azure cloud 'germany'"):
        cloud_settings("germany")


@pytest.mark.parametrize(
    ("cloud", "arm_host", "arm_scope", "vault_suffix"),
    [
        (
            "china",
            "management.chinacloudapi.cn",
            "https://management.chinacloudapi.cn/.default",
            "vault.azure.cn",
        ),
        (
            "usgov",
            "management.usgovcloudapi.net",
            "https://management.core.usgovcloudapi.net/.default",
            "vault.usgovcloudapi.net",
        ),
    ],
)
def test_sovereign_clouds_reach_their_own_endpoints(
    cloud: str, arm_host: str, arm_scope: str, vault_suffix: str
) -> None:
    settings = cloud_settings(cloud)
    vault_url = settings.vault_url("acme-kv")
    adapter = ReplayAdapter(
        exchanges=[
            _vault_get(f"https://{arm_host}"),
            {
                "method": "GET",
                "url": f"https://{arm_host}{VAULT_ID}/providers/Microsoft.Authorization/roleAssignments",
                "response": {"value": []},
            },
            {
                "method": "GET",
                "url": f"https://{arm_host}{VAULT_ID}/providers/Microsoft.Insights/diagnosticSettings",
                "response": {"value": []},
            },
            {
                "method": "GET",
                "url": f"https://{arm_host}/subscriptions",
                "response": {"value": [{"subscriptionId": SUB}]},
            },
            key_vault_challenge(vault_url, TENANT, authority_host=settings.authority_host),
            {"method": "GET", "url": f"{vault_url}/keys", "response": {"value": []}},
        ]
    )
    credential = ReplayCredential()
    kw = {"transport": adapter.transport(), "retry_total": 0}

    keyvault_mgmt_client(SUB, credential, cloud, **kw).vaults.get("rg-security", "acme-prod-kv")
    list(authorization_client(SUB, credential, cloud, **kw).role_assignments.list_for_scope(VAULT_ID))
    list(monitor_client(SUB, credential, cloud, **kw).diagnostic_settings.list(VAULT_ID))
    list(subscription_client(credential, cloud, **kw).list_subscriptions())
    list(key_client(vault_url, credential, **kw).list_properties_of_keys())

    assert [r.host for r in adapter.requests] == [arm_host] * 4 + [f"acme-kv.{vault_suffix}"] * 2
    assert credential.scopes == [arm_scope] * 4 + [f"https://{vault_suffix}/.default"]
    adapter.assert_all_matched()


def test_default_credential_signs_in_at_the_clouds_authority(monkeypatch: pytest.MonkeyPatch) -> None:
    host = "login.chinacloudapi.cn"
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "EnvironmentCredential")
    monkeypatch.setenv("AZURE_TENANT_ID", TENANT)
    monkeypatch.setenv("AZURE_CLIENT_ID", "11111111-2222-4333-8444-555555555555")
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "not-a-secret")
    adapter = ReplayAdapter(
        exchanges=[
            {
                "method": "GET",
                "url": f"https://{host}/{TENANT}/v2.0/.well-known/openid-configuration",
                "response": {
                    "issuer": f"https://{host}/{TENANT}/v2.0",
                    "authorization_endpoint": f"https://{host}/{TENANT}/oauth2/v2.0/authorize",
                    "token_endpoint": f"https://{host}/{TENANT}/oauth2/v2.0/token",
                },
            },
            {
                "method": "POST",
                "url": f"https://{host}/{TENANT}/oauth2/v2.0/token",
                "response": {"token_type": "Bearer", "expires_in": 3599, "access_token": "signed-in"},
            },
        ]
    )

    credential = default_credential("china", transport=adapter.transport())
    token = credential.get_token(cloud_settings("china").arm_scope)

    assert token.token == "signed-in"
    assert {r.host for r in adapter.requests} == {host}
    assert "management.chinacloudapi.cn%2F.default" in str(adapter.requests[-1].body)
    adapter.assert_all_matched()


# -- transport settings -----------------------------------------------------------------------------


def test_requests_carry_timeouts_and_user_agent() -> None:
    from scanner import __version__

    adapter = ReplayAdapter(exchanges=[_vault_get()])
    keyvault_mgmt_client(SUB, ReplayCredential(), transport=adapter.transport(), retry_total=0).vaults.get(
        "rg-security", "acme-prod-kv"
    )
    keyvault_mgmt_client(
        SUB,
        ReplayCredential(),
        transport=adapter.transport(),
        retry_total=0,
        connection_timeout=2,
        read_timeout=5,
    ).vaults.get("rg-security", "acme-prod-kv")

    assert [r.timeout for r in adapter.requests] == [(CONNECT_TIMEOUT, READ_TIMEOUT), (2, 5)]
    assert (adapter.requests[0].user_agent or "").startswith(f"keyaudit/{__version__} ")


def test_https_proxy_from_the_environment_reaches_the_session(monkeypatch: pytest.MonkeyPatch) -> None:
    adapter = ReplayAdapter(exchanges=[_vault_get()])
    client = keyvault_mgmt_client(SUB, ReplayCredential(), transport=adapter.transport(), retry_total=0)

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp.example:3128")
    client.vaults.get("rg-security", "acme-prod-kv")
    monkeypatch.setenv("NO_PROXY", ".azure.com,localhost")
    client.vaults.get("rg-security", "acme-prod-kv")

    with_proxy, bypassed = adapter.requests
    assert with_proxy.proxies.get("https") == "http://proxy.corp.example:3128"
    assert "https" not in bypassed.proxies


def test_ca_bundle_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bundle, cert_file = tmp_path / "corp-ca.pem", tmp_path / "system.pem"
    adapter = ReplayAdapter(exchanges=[_vault_get()])
    client = keyvault_mgmt_client(SUB, ReplayCredential(), transport=adapter.transport(), retry_total=0)

    client.vaults.get("rg-security", "acme-prod-kv")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))  # requests alone would ignore it
    client.vaults.get("rg-security", "acme-prod-kv")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))  # requests' own variable wins
    client.vaults.get("rg-security", "acme-prod-kv")

    assert [r.verify for r in adapter.requests] == [True, str(cert_file), str(bundle)]


def test_retry_total_is_honoured() -> None:
    url = f"https://management.azure.com{VAULT_ID}"
    adapter = ReplayAdapter(exchanges=[_vault_get()])
    adapter.inject_error("GET", url, 503, "ServiceUnavailable", times=1)
    with pytest.raises(HttpResponseError) as caught:
        keyvault_mgmt_client(
            SUB, ReplayCredential(), transport=adapter.transport(), retry_total=0
        ).vaults.get("rg-security", "acme-prod-kv")
    assert caught.value.status_code == 503

    adapter.inject_error("GET", url, 503, "ServiceUnavailable", times=1)
    client = keyvault_mgmt_client(SUB, ReplayCredential(), transport=adapter.transport(), retry_total=1)
    assert client.vaults.get("rg-security", "acme-prod-kv").name == "acme-prod-kv"
    assert len(adapter.requests) == 3


def test_default_retry_total_is_three() -> None:
    from azure.core.pipeline.policies import RetryPolicy

    client = keyvault_mgmt_client(SUB, ReplayCredential(), transport=ReplayAdapter().transport())
    (retry,) = [p for p in client._client._pipeline._impl_policies if isinstance(p, RetryPolicy)]
    assert clients.DEFAULT_RETRY_TOTAL == 3
    assert retry.total_retries == 3


# -- RBAC, Monitor, subscriptions -------------------------------------------------------------------


def test_role_assignments_for_a_vault_scope_and_role_definitions() -> None:
    adapter = ReplayAdapter(CASSETTES / "arm_authorization.json")
    client = authorization_client(SUB, ReplayCredential(), transport=adapter.transport(), retry_total=0)

    assignments = list(client.role_assignments.list_for_scope(VAULT_ID))
    assert [(a.principal_type, a.scope) for a in assignments] == [
        ("Group", f"/subscriptions/{SUB}"),
        ("ServicePrincipal", VAULT_ID),
    ]
    officer = client.role_definitions.get_by_id(assignments[0].role_definition_id)
    assert (officer.role_name, officer.role_type) == ("Key Vault Crypto Officer", "BuiltInRole")
    assert officer.permissions[0].data_actions == [
        "Microsoft.KeyVault/vaults/keys/*",
        "Microsoft.KeyVault/vaults/keyrotationpolicies/*",
    ]
    custom = client.role_definitions.get_by_id(f"{ROLES}/8e3af657-a8ff-443c-a75c-2fe8c4bcb635")
    assert custom.role_type == "CustomRole"
    assert "Microsoft.KeyVault/vaults/keys/decrypt/action" in custom.permissions[0].not_data_actions
    assert [r.query["api-version"] for r in adapter.requests] == [["2022-04-01"]] * 3
    adapter.assert_all_matched()


def test_diagnostic_settings_of_a_vault() -> None:
    adapter = ReplayAdapter(CASSETTES / "arm_monitor.json")
    client = monitor_client(SUB, ReplayCredential(), transport=adapter.transport(), retry_total=0)

    settings = {s.name: s for s in client.diagnostic_settings.list(VAULT_ID)}

    sentinel, archive = settings["to-sentinel"], settings["archive"]
    assert [(log.category_group, log.enabled) for log in sentinel.logs] == [
        ("audit", True),
        ("allLogs", False),
    ]
    assert sentinel.workspace_id.endswith("/workspaces/law-sentinel")
    assert (archive.logs[0].category, archive.logs[0].enabled) == ("AuditEvent", True)
    assert archive.storage_account_id.endswith("/acmeauditarchive")
    adapter.assert_all_matched()


def test_subscriptions_and_management_group_descendants_page() -> None:
    adapter = ReplayAdapter(CASSETTES / "arm_tenant.json")
    tenant = subscription_client(ReplayCredential(), transport=adapter.transport(), retry_total=0)

    subscriptions = list(tenant.list_subscriptions())
    assert [(s["displayName"], s["state"]) for s in subscriptions] == [
        ("acme-prod", "Enabled"),
        ("acme-dev", "Disabled"),
    ]
    assert tenant.subscriptions_under("acme-root") == [SUB, "0a9b8c7d-6e5f-4a3b-9c1d-0e9f8a7b6c5d"]
    descendants = [d["name"] for d in tenant.list_management_group_descendants("acme-root")]
    assert descendants[0] == "acme-landing-zones"
    assert sum("$skiptoken" in r.query for r in adapter.requests) == 3
    adapter.assert_all_matched()


def test_tenant_client_raises_the_sdk_errors() -> None:
    adapter = ReplayAdapter()
    adapter.inject_error(
        "GET",
        "https://management.azure.com/providers/Microsoft.Management/managementGroups/locked",
        403,
        "AuthorizationFailed",
        message="The client does not have authorization to perform action 'Microsoft.Management/managementGroups/descendants/read'.",
    )
    tenant = subscription_client(ReplayCredential(), transport=adapter.transport(), retry_total=0)

    with pytest.raises(HttpResponseError) as caught:
        tenant.subscriptions_under("locked")
    assert caught.value.status_code == 403
    assert caught.value.error is not None
    assert caught.value.error.code == "AuthorizationFailed"
    with pytest.raises(ResourceNotFoundError):
        tenant.subscriptions_under("missing")  # unmatched: the replay answers 404 NotFound


def test_key_client_works_for_managed_hsm() -> None:
    hsm = "https://acme-hsm.managedhsm.azure.net"
    adapter = ReplayAdapter(
        exchanges=[
            key_vault_challenge(hsm, TENANT),
            {
                "method": "GET",
                "url": f"{hsm}/keys",
                "response": {"value": [{"kid": f"{hsm}/keys/root-kek", "attributes": {"enabled": True}}]},
            },
        ]
    )
    credential = ReplayCredential()
    names = [
        k.name
        for k in key_client(
            hsm, credential, transport=adapter.transport(), retry_total=0
        ).list_properties_of_keys()
    ]
    assert names == ["root-kek"]
    assert credential.scopes == ["https://managedhsm.azure.net/.default"]
