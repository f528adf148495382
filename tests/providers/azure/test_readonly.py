"""The Azure clients are read-only: a pipeline policy refuses every non-read before it is sent.

Real Azure SDK clients over the replay adapter; nothing is mocked.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from azure.keyvault.keys import KeyClient, KeyRotationPolicy

from providers.azure import readonly
from providers.azure.clients import (
    authorization_client,
    cognitive_services_client,
    key_client,
    keyvault_mgmt_client,
    monitor_client,
    subscription_client,
)
from providers.azure.readonly import (
    ReadOnlyViolation,
    check_request,
    find_guards,
    required_managed_hsm_role,
    required_policy,
    required_role,
)
from providers.azure.replay import (
    ReplayAdapter,
    ReplayCredential,
    key_vault_challenge,
    reset_key_vault_challenges,
)

SUB = "6f1c2a4e-3b5d-4e7f-9a0b-1c2d3e4f5a6b"
TENANT = "a1b2c3d4-1111-4222-8333-444455556666"
VAULT_URL = "https://acme-prod-kv.vault.azure.net"
VAULT_ID = f"/subscriptions/{SUB}/resourceGroups/rg-security/providers/Microsoft.KeyVault/vaults/acme-prod-kv"
ARM = "https://management.azure.com"


@pytest.fixture(autouse=True)
def _fresh_challenges():
    reset_key_vault_challenges()
    yield
    reset_key_vault_challenges()


@pytest.fixture
def adapter() -> ReplayAdapter:
    # Everything answers 200, so only the guard can stop a write.
    return ReplayAdapter(
        exchanges=[
            key_vault_challenge(VAULT_URL, TENANT),
            {"method": "*", "url": f"{VAULT_URL}/*", "response": {}},
            {"method": "*", "url": f"{ARM}/*", "response": {}},
        ]
    )


def _kv(adapter: ReplayAdapter, credential: ReplayCredential) -> Any:
    return key_client(VAULT_URL, credential, transport=adapter.transport(), retry_total=0)


def _mgmt(adapter: ReplayAdapter, credential: ReplayCredential) -> Any:
    return keyvault_mgmt_client(SUB, credential, transport=adapter.transport(), retry_total=0)


def _rbac(adapter: ReplayAdapter, credential: ReplayCredential) -> Any:
    return authorization_client(SUB, credential, transport=adapter.transport(), retry_total=0)


def _monitor(adapter: ReplayAdapter, credential: ReplayCredential) -> Any:
    return monitor_client(SUB, credential, transport=adapter.transport(), retry_total=0)


def _cognitive(adapter: ReplayAdapter, credential: ReplayCredential) -> Any:
    return cognitive_services_client(SUB, credential, transport=adapter.transport(), retry_total=0)


WRITES: list[tuple[str, Callable[[ReplayAdapter, ReplayCredential], Any], Callable[[Any], Any], str]] = [
    ("begin_delete_key", _kv, lambda c: c.begin_delete_key("card-data"), "DELETE"),
    ("create_rsa_key", _kv, lambda c: c.create_rsa_key("new", size=2048), "POST"),
    ("rotate_key", _kv, lambda c: c.rotate_key("card-data"), "POST"),
    (
        "update_key_rotation_policy",
        _kv,
        lambda c: c.update_key_rotation_policy("card-data", KeyRotationPolicy(expires_in="P1Y")),
        "PUT",
    ),
    ("vaults.delete", _mgmt, lambda c: c.vaults.delete("rg-security", "acme-prod-kv"), "DELETE"),
    (
        "vaults.check_name_availability",
        _mgmt,
        lambda c: c.vaults.check_name_availability({"name": "x", "type": "Microsoft.KeyVault/vaults"}),
        "POST",
    ),
    (
        "role_assignments.create",
        _rbac,
        lambda c: c.role_assignments.create(
            VAULT_ID,
            "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
            {
                "role_definition_id": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/00482a5a-887f-4fb3-b363-3b7fe8e74483",
                "principal_id": "3c5e7a9b-2d4f-4a6c-8e0b-1a3c5e7f9b2d",
            },
        ),
        "PUT",
    ),
    (
        "diagnostic_settings.delete",
        _monitor,
        lambda c: c.diagnostic_settings.delete(VAULT_ID, "to-sentinel"),
        "DELETE",
    ),
    # An Azure OpenAI account's API keys come from a POST: a secret, never read.
    ("accounts.list_keys", _cognitive, lambda c: c.accounts.list_keys("rg-ai", "oai-prod"), "POST"),
    ("accounts.begin_delete", _cognitive, lambda c: c.accounts.begin_delete("rg-ai", "oai-prod"), "DELETE"),
]


@pytest.mark.parametrize(("name", "build", "call", "verb"), WRITES, ids=[w[0] for w in WRITES])
def test_writes_are_refused_before_anything_is_sent(
    adapter: ReplayAdapter, name: str, build: Callable[..., Any], call: Callable[[Any], Any], verb: str
) -> None:
    credential = ReplayCredential()
    client = build(adapter, credential)

    with pytest.raises(ReadOnlyViolation, match=rf"keyaudit is read-only: {verb} "):
        call(client)

    assert adapter.requests == []
    assert credential.requests == []  # refused before a token was even fetched


def test_reads_go_through(adapter: ReplayAdapter) -> None:
    client = key_client(VAULT_URL, ReplayCredential(), transport=adapter.transport(), retry_total=0)
    assert list(client.list_properties_of_keys()) == []
    assert [r.method for r in adapter.requests] == ["GET", "GET"]  # challenge, then the authorised list


def test_resource_provider_auto_registration_is_refused() -> None:
    """ARM clients answer 409 MissingSubscriptionRegistration by POSTing a registration: not keyaudit."""
    adapter = ReplayAdapter()
    adapter.inject_error(
        "GET",
        f"{ARM}/subscriptions/{SUB}/providers/Microsoft.KeyVault/vaults",
        409,
        "MissingSubscriptionRegistration",
        message="The subscription is not registered to use namespace 'Microsoft.KeyVault'.",
    )
    client = keyvault_mgmt_client(SUB, ReplayCredential(), transport=adapter.transport(), retry_total=0)

    with pytest.raises(ReadOnlyViolation, match=r"POST .*/providers/Microsoft\.KeyVault/register"):
        list(client.vaults.list_by_subscription())

    assert [r.method for r in adapter.requests] == ["GET"]


FACTORIES: list[tuple[str, Callable[[ReplayAdapter], Any]]] = [
    ("keyvault_mgmt", lambda a: keyvault_mgmt_client(SUB, ReplayCredential(), transport=a.transport())),
    ("authorization", lambda a: authorization_client(SUB, ReplayCredential(), transport=a.transport())),
    ("monitor", lambda a: monitor_client(SUB, ReplayCredential(), transport=a.transport())),
    (
        "cognitive_services",
        lambda a: cognitive_services_client(SUB, ReplayCredential(), transport=a.transport()),
    ),
    ("key", lambda a: key_client(VAULT_URL, ReplayCredential(), transport=a.transport())),
    ("subscription", lambda a: subscription_client(ReplayCredential(), transport=a.transport())),
]


def _policies(client: Any) -> list[Any]:
    inner = client._client
    pipeline = getattr(inner, "_pipeline", None) or inner._client._pipeline
    return [getattr(p, "_policy", p) for p in pipeline._impl_policies]


@pytest.mark.parametrize(("name", "build"), FACTORIES, ids=[f[0] for f in FACTORIES])
def test_every_factory_guards_before_authentication(name: str, build: Callable[[ReplayAdapter], Any]) -> None:
    from azure.core.pipeline.policies import BearerTokenCredentialPolicy
    from azure.mgmt.core.policies import ARMAutoResourceProviderRegistrationPolicy

    policies = _policies(build(ReplayAdapter()))
    guards = [i for i, p in enumerate(policies) if isinstance(p, readonly.policy_class())]
    (auth,) = [i for i, p in enumerate(policies) if isinstance(p, BearerTokenCredentialPolicy)]
    assert len(guards) == 2
    assert guards[0] < auth  # no token is fetched for a refused request
    # ... and one after ARM's resource provider registration, which makes up its own POST.
    registration = [
        i for i, p in enumerate(policies) if isinstance(p, ARMAutoResourceProviderRegistrationPolicy)
    ]
    assert all(guards[-1] > i for i in registration)


def test_a_bare_sdk_client_has_no_guard() -> None:
    """What the factories add: the same SDK client built directly carries no guard."""
    bare = KeyClient(VAULT_URL, ReplayCredential(), transport=ReplayAdapter().transport())
    assert find_guards(bare._client._client._pipeline) == []


def test_check_request() -> None:
    check_request("GET", f"{ARM}/subscriptions?api-version=2022-12-01")
    check_request("get", f"{VAULT_URL}/keys")
    for verb in ("POST", "PUT", "PATCH", "DELETE", "HEAD"):
        with pytest.raises(ReadOnlyViolation):
            check_request(verb, f"{ARM}{VAULT_ID}")


def test_allowed_posts_let_a_listed_read_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        readonly, "ALLOWED_POSTS", (re.compile(r"/providers/Microsoft\.ResourceGraph/resources", re.I),)
    )
    check_request("POST", f"{ARM}/providers/Microsoft.ResourceGraph/resources?api-version=2022-10-01")
    with pytest.raises(ReadOnlyViolation):
        check_request("POST", f"{ARM}{VAULT_ID}/listKeys")
    assert readonly.ALLOWED_POSTS != ()


def test_no_post_is_allowed_by_default() -> None:
    assert readonly.ALLOWED_POSTS == ()
    with pytest.raises(ReadOnlyViolation):
        check_request(
            "POST",
            f"{ARM}/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/s/listKeys",
        )


# -- required role ----------------------------------------------------------------------------------


def test_required_role_is_read_only_and_complete() -> None:
    role = required_role()
    assert json.loads(json.dumps(role)) == role
    assert role["IsCustom"] is True
    assert set(role) == {
        "Name",
        "IsCustom",
        "Description",
        "Actions",
        "NotActions",
        "DataActions",
        "NotDataActions",
        "AssignableScopes",
    }
    assert role["Actions"] == sorted(
        [
            "Microsoft.Authorization/roleAssignments/read",
            "Microsoft.Authorization/roleDefinitions/read",
            "Microsoft.CognitiveServices/accounts/read",
            "Microsoft.Insights/diagnosticSettings/read",
            "Microsoft.KeyVault/managedHSMs/read",
            "Microsoft.KeyVault/vaults/keys/read",
            "Microsoft.KeyVault/vaults/read",
            "Microsoft.MachineLearningServices/workspaces/read",
            "Microsoft.Management/managementGroups/descendants/read",
            "Microsoft.Management/managementGroups/read",
            "Microsoft.Resources/subscriptions/read",
            "Microsoft.Search/searchServices/read",
        ]
    )
    assert role["DataActions"] == [
        "Microsoft.KeyVault/vaults/keyrotationpolicies/read",
        "Microsoft.KeyVault/vaults/keys/read",
    ]
    for action in role["Actions"] + role["DataActions"]:
        assert "*" not in action
        assert action.endswith("/read"), action  # no write, delete or action: nothing but reads
    assert required_role(["/subscriptions/x"])["AssignableScopes"] == ["/subscriptions/x"]


def test_managed_hsm_local_role_and_policy_document() -> None:
    hsm = required_managed_hsm_role()
    assert hsm["dataActions"] == [
        "Microsoft.KeyVault/managedHsm/keys/deletedKeys/read/action",
        "Microsoft.KeyVault/managedHsm/keys/read/action",
        "Microsoft.KeyVault/managedHsm/roleAssignments/read/action",
        "Microsoft.KeyVault/managedHsm/roleDefinitions/read/action",
    ]
    assert all("/read" in a for a in hsm["dataActions"])
    policy = required_policy()
    assert policy["azureRoleDefinition"] == required_role()
    assert policy["managedHsmLocalRoleDefinition"] == hsm
    assert policy["accessPolicyVaults"] == {"keys": ["get", "list", "getrotationpolicy"]}
    assert policy["builtInAlternatives"]["subscription"] == ["Reader", "Key Vault Reader"]


def test_importing_readonly_needs_no_azure_sdk() -> None:
    code = (
        "import sys, json, providers.azure.readonly as r; json.dumps(r.required_policy()); "
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'azure'); "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[3])
