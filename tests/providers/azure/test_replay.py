"""The Azure replay adapter, driven by the real Azure SDK clients over azure-core's RequestsTransport."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError
from azure.keyvault.keys import KeyRotationPolicyAction

from providers.azure.clients import key_client, keyvault_mgmt_client
from providers.azure.replay import (
    Exchange,
    ReplayAdapter,
    ReplayCredential,
    key_vault_challenge,
    load_cassette,
    reset_key_vault_challenges,
)

CASSETTES = Path(__file__).parent / "cassettes"
ARM_KV = CASSETTES / "arm_keyvault.json"
KV_DATA = CASSETTES / "keyvault_acme_prod.json"

SUB = "6f1c2a4e-3b5d-4e7f-9a0b-1c2d3e4f5a6b"
TENANT = "a1b2c3d4-1111-4222-8333-444455556666"
VAULT_URL = "https://acme-prod-kv.vault.azure.net"
VAULT_HOST = "acme-prod-kv.vault.azure.net"
ARM = "https://management.azure.com"


@pytest.fixture(autouse=True)
def _fresh_challenges():
    # azure-keyvault-keys caches each vault's challenge for the whole process.
    reset_key_vault_challenges()
    yield
    reset_key_vault_challenges()


@pytest.fixture
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the replay opened a socket")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_vaults_list_by_subscription_follows_next_link(no_sockets: None) -> None:
    adapter = ReplayAdapter(ARM_KV)
    client = keyvault_mgmt_client(SUB, ReplayCredential(), transport=adapter.transport(), retry_total=0)

    vaults = list(client.vaults.list_by_subscription())

    assert [v.name for v in vaults] == ["acme-prod-kv", "acme-legacy-kv"]
    first, second = adapter.requests
    assert first.path == f"/subscriptions/{SUB}/providers/Microsoft.KeyVault/vaults"
    assert "$skiptoken" not in first.query
    assert second.query["$skiptoken"] == ["YWNtZS1wcm9kLWt2"]
    assert first.authorization == second.authorization == "Bearer"

    prod, legacy = (v.properties for v in vaults)
    assert (prod.enable_soft_delete, prod.soft_delete_retention_in_days, prod.enable_purge_protection) == (
        True,
        90,
        True,
    )
    assert prod.enable_rbac_authorization is True
    assert prod.public_network_access == "Disabled"
    assert prod.network_acls.default_action == "Deny"
    assert [r.value for r in prod.network_acls.ip_rules] == ["203.0.113.0/24"]
    assert prod.private_endpoint_connections[0].private_link_service_connection_state.status == "Approved"
    assert prod.sku.name == "premium"
    assert legacy.enable_rbac_authorization is False
    assert legacy.enable_purge_protection is None
    assert legacy.network_acls is None
    policy = legacy.access_policies[0]
    assert policy.object_id == "3c5e7a9b-2d4f-4a6c-8e0b-1a3c5e7f9b2d"
    assert "Decrypt" in policy.permissions.keys_property  # ``.keys`` is the dict method on these models
    adapter.assert_all_matched()


def test_vault_get_and_managed_hsms() -> None:
    adapter = ReplayAdapter(ARM_KV)
    client = keyvault_mgmt_client(SUB, ReplayCredential(), transport=adapter.transport(), retry_total=0)

    vault = client.vaults.get("rg-security", "acme-prod-kv")
    assert vault.id.endswith("/vaults/acme-prod-kv")
    assert vault.properties.vault_uri == "https://acme-prod-kv.vault.azure.net/"
    assert vault.tags == {"data-class": "pci", "owner": "platform-security"}

    (hsm,) = client.managed_hsms.list_by_subscription()
    assert hsm.properties.hsm_uri == "https://acme-hsm.managedhsm.azure.net/"
    assert hsm.properties.enable_purge_protection is True
    assert hsm.sku.name == "Standard_B1"
    adapter.assert_all_matched()


def test_key_client_answers_the_challenge_then_pages_keys(no_sockets: None) -> None:
    adapter = ReplayAdapter(KV_DATA)
    credential = ReplayCredential()
    client = key_client(VAULT_URL, credential, transport=adapter.transport(), retry_total=0)

    names = [k.name for k in client.list_properties_of_keys()]

    assert names == ["card-data", "signing-ec", "old-backup"]
    challenge, first, second = adapter.requests
    # The first request goes out without a token and learns tenant and resource from the 401 ...
    assert (challenge.authorization, first.authorization, second.authorization) == (None, "Bearer", "Bearer")
    assert challenge.path == first.path == "/keys"
    # ... then the credential is asked for the vault scope in the vault's tenant.
    assert [(r.scopes, r.tenant_id) for r in credential.requests] == [
        (("https://vault.azure.net/.default",), TENANT)
    ]
    # The nextLink names port 443 and carries the continuation token.
    assert second.url.startswith(f"{VAULT_URL}:443/keys?")
    assert second.query["maxresults"] == ["2"]
    adapter.assert_all_matched()


def test_the_challenge_is_cached_per_process() -> None:
    """Why the tests reset the cache: a second client of the same vault skips the 401."""
    adapter = ReplayAdapter(KV_DATA)
    credential = ReplayCredential()
    key_client(VAULT_URL, credential, transport=adapter.transport(), retry_total=0).get_key("card-data")
    key_client(VAULT_URL, credential, transport=adapter.transport(), retry_total=0).get_key("signing-ec")
    assert [r.authorization for r in adapter.requests] == [None, "Bearer", "Bearer"]

    reset_key_vault_challenges()
    key_client(VAULT_URL, credential, transport=adapter.transport(), retry_total=0).get_key("card-data")
    assert [r.authorization for r in adapter.requests[3:]] == [None, "Bearer"]


def test_get_key_properties() -> None:
    adapter = ReplayAdapter(KV_DATA)
    client = key_client(VAULT_URL, ReplayCredential(), transport=adapter.transport(), retry_total=0)

    card = client.get_key("card-data")
    assert adapter.requests[-1].path == "/keys/card-data/"  # no version: the SDK leaves the slash
    assert card.key_type == "RSA-HSM"
    assert len(card.key.n) * 8 == 3072
    assert card.properties.enabled is True
    assert card.properties.expires_on == datetime(2026, 3, 13, 9, 30, tzinfo=UTC)
    assert card.properties.not_before == datetime(2023, 3, 14, 9, 30, tzinfo=UTC)
    assert card.properties.exportable is False
    assert card.properties.version == "4f3e2d1c0b9a48f7a6e5d4c3b2a19080"
    assert card.properties.tags == {"data-class": "pci"}

    signing = client.get_key("signing-ec")
    assert (signing.key_type, signing.key.crv) == ("EC-HSM", "P-256")
    assert signing.properties.expires_on is None
    adapter.assert_all_matched()


def test_rotation_policies() -> None:
    adapter = ReplayAdapter(KV_DATA)
    client = key_client(VAULT_URL, ReplayCredential(), transport=adapter.transport(), retry_total=0)

    policy = client.get_key_rotation_policy("card-data")
    assert policy.id == f"{VAULT_URL}/keys/card-data/rotationpolicy"
    assert policy.expires_in == "P1Y"
    actions = {a.action: a for a in policy.lifetime_actions}
    assert actions[KeyRotationPolicyAction.rotate].time_after_create == "P90D"
    assert actions[KeyRotationPolicyAction.notify].time_before_expiry == "P30D"

    # A key without a policy answers 200 with the default Notify action only and no id.
    default = client.get_key_rotation_policy("signing-ec")
    assert default.id is None
    assert [a.action for a in default.lifetime_actions] == [KeyRotationPolicyAction.notify]


def test_forbidden_data_plane_raises_403_after_the_challenge() -> None:
    adapter = ReplayAdapter(KV_DATA)
    adapter.inject_error(
        "GET",
        f"{VAULT_URL}/keys",
        403,
        "Forbidden",
        message="Client address is not authorized and caller is not a trusted service.",
        inner_code="ForbiddenByFirewall",
        authorized=True,
    )
    client = key_client(VAULT_URL, ReplayCredential(), transport=adapter.transport(), retry_total=0)

    with pytest.raises(HttpResponseError) as caught:
        list(client.list_properties_of_keys())

    assert caught.value.status_code == 403
    assert caught.value.error is not None
    assert caught.value.error.code == "Forbidden"
    assert "ForbiddenByFirewall" in str(caught.value)
    assert [r.authorization for r in adapter.requests] == [None, "Bearer"]


def test_unreachable_vault_raises_service_request_error() -> None:
    adapter = ReplayAdapter(KV_DATA)
    adapter.unreachable(VAULT_HOST)
    client = key_client(VAULT_URL, ReplayCredential(), transport=adapter.transport(), retry_total=0)

    with pytest.raises(ServiceRequestError, match="Failed to resolve"):
        client.get_key("card-data")
    assert [r.host for r in adapter.requests] == [VAULT_HOST]


def test_unreachable_can_be_a_timeout_and_recover() -> None:
    from azure.core.exceptions import ServiceRequestTimeoutError

    adapter = ReplayAdapter(KV_DATA)
    adapter.unreachable(VAULT_HOST, timeout=True, times=1)
    client = key_client(VAULT_URL, ReplayCredential(), transport=adapter.transport(), retry_total=0)

    with pytest.raises(ServiceRequestTimeoutError):
        client.get_key("card-data")
    assert client.get_key("card-data").name == "card-data"


def test_network_error_from_a_cassette(tmp_path: Path) -> None:
    cassette = tmp_path / "down.json"
    cassette.write_text(json.dumps([{"method": "GET", "url": f"{VAULT_URL}/*", "network_error": "connect"}]))
    adapter = ReplayAdapter(cassette)
    client = key_client(VAULT_URL, ReplayCredential(), transport=adapter.transport(), retry_total=0)
    with pytest.raises(ServiceRequestError):
        client.get_key("card-data")


def test_unmatched_request_answers_azure_not_found() -> None:
    adapter = ReplayAdapter(ARM_KV)
    client = keyvault_mgmt_client(SUB, ReplayCredential(), transport=adapter.transport(), retry_total=0)

    with pytest.raises(ResourceNotFoundError) as caught:
        client.vaults.get("rg-security", "no-such-vault")

    assert caught.value.error is not None
    assert caught.value.error.code == "NotFound"
    assert "keyaudit replay: no recorded exchange for GET" in caught.value.error.message
    (missing,) = adapter.unmatched
    assert missing.path.endswith("/vaults/no-such-vault")
    with pytest.raises(AssertionError, match="1 request"):
        adapter.assert_all_matched()


def test_api_version_is_ignored_unless_named() -> None:
    url = f"{ARM}/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v1"
    vault = {"name": "v1", "properties": {"tenantId": TENANT, "sku": {"family": "A", "name": "standard"}}}
    adapter = ReplayAdapter(
        exchanges=[
            {
                "method": "GET",
                "url": url,
                "query": {"api-version": "2019-09-01"},
                "response": {"name": "old"},
            },
            {"method": "GET", "url": url, "response": vault},
        ]
    )
    client = keyvault_mgmt_client(SUB, ReplayCredential(), transport=adapter.transport(), retry_total=0)
    assert client.vaults.get("rg", "v1").name == "v1"
    assert adapter.requests[0].query["api-version"] == ["2026-05-15"]
    assert [e.hits for e in adapter.exchanges] == [0, 1]


def test_times_and_first() -> None:
    url = f"{ARM}/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v1"
    adapter = ReplayAdapter(exchanges=[{"method": "GET", "url": url, "response": {"name": "recorded"}}])
    adapter.add({"method": "GET", "url": url, "response": {"name": "once"}, "times": 1}, first=True)
    client = keyvault_mgmt_client(SUB, ReplayCredential(), transport=adapter.transport(), retry_total=0)
    assert [client.vaults.get("rg", "v1").name for _ in range(3)] == ["once", "recorded", "recorded"]
    assert (
        adapter.calls[
            f"management.azure.com/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v1"
        ]
        == 3
    )
    assert adapter.unused() == []


def test_challenge_helper_matches_the_recorded_exchange() -> None:
    (recorded, *_) = load_cassette(KV_DATA)
    built = Exchange.from_mapping(key_vault_challenge(VAULT_URL, TENANT))
    assert (built.host, built.path, built.prefix, built.authorized, built.status, built.headers) == (
        recorded.host,
        recorded.path,
        recorded.prefix,
        recorded.authorized,
        recorded.status,
        recorded.headers,
    )
    hsm = key_vault_challenge("https://acme-hsm.managedhsm.azure.net/", TENANT)
    assert 'resource="https://managedhsm.azure.net"' in hsm["headers"]["WWW-Authenticate"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"method": "GET"}, "needs 'url'"),
        ({"method": "GET", "url": "/relative"}, "absolute"),
        ({"method": "GET", "url": f"{ARM}/x", "host": "h", "path": "/x"}, "either"),
        ({"method": "GET", "url": f"{ARM}/x", "verb": "GET"}, "unknown exchange keys"),
        ({"method": "GET", "url": f"{ARM}/x", "times": 0}, "times"),
        ({"method": "GET", "url": f"{ARM}/x", "network_error": "reset"}, "network_error"),
        ({"method": "GET", "url": f"{ARM}/x", "authorized": "yes"}, "authorized"),
    ],
)
def test_bad_exchanges_are_refused(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Exchange.from_mapping(raw)


def test_cassette_must_be_a_list(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"method": "GET"}')
    with pytest.raises(ValueError, match="list of exchanges"):
        load_cassette(bad)


def test_replay_credential_records_requests() -> None:
    credential = ReplayCredential()
    token = credential.get_token("https://management.azure.com/.default", tenant_id="t1")
    assert token.token == "replay-token"
    assert token.expires_on > datetime.now(UTC).timestamp() + 365 * 86400
    assert credential.scopes == ["https://management.azure.com/.default"]
    assert credential.tenants == ["t1"]


def test_importing_replay_needs_no_azure_sdk() -> None:
    code = (
        "import sys, providers.azure.replay; "
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'azure'); "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[3])
