import pytest

from rules import key_store_rbac_authorization as rule
from scanner.inventory import (
    BindingSource,
    Capability,
    KeyManager,
    KeyStoreAspect,
    KeyStoreKind,
    Provider,
    ScopeLevel,
)
from scanner.rule import Status
from tests.factories import binding, context, inventory, key, results_by_uid, store

VAULT = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1"
HSM = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/managedHSMs/hsm1"


def _vault(access_model="rbac", uid=VAULT, **kw):
    kw.setdefault("name", uid.rsplit("/", 1)[-1])
    return store(uid, access_model=access_model, **kw)


def _policy_entry(principal, target=VAULT, source=BindingSource.ACCESS_POLICY):
    return binding(
        principal,
        target,
        Capability.DECRYPT,
        Capability.ENCRYPT,
        level=ScopeLevel.KEY_STORE,
        source=source,
        provider=Provider.AZURE,
    )


def _results(*stores, bindings=(), keys=()):
    inv = inventory(key_stores=stores, bindings=bindings, keys=keys)
    return results_by_uid(rule.evaluate(context(inv)))


def test_rbac_vault_passes() -> None:
    result = _results(_vault("rbac"))[VAULT]
    assert result.status is Status.PASS
    assert "kv1" in result.message
    assert result.evidence["access_model"] == "rbac"


def test_access_policy_vault_fails_and_lists_the_entries_to_migrate() -> None:
    entries = (_policy_entry("obj-b"), _policy_entry("obj-a"), _policy_entry("obj-a"))
    result = _results(_vault("access_policy"), bindings=entries)[VAULT]
    assert result.status is Status.FAIL
    assert "kv1" in result.message and "access policies" in result.message
    assert "2 principal(s)" in result.message
    assert result.evidence["access_policy_principals"] == ["obj-a", "obj-b"]
    assert result.evidence["access_policy_principal_count"] == 2


def test_role_assignments_and_other_vaults_entries_are_not_counted_as_access_policy_holders() -> None:
    other = VAULT.replace("kv1", "kv2")
    entries = (
        _policy_entry("via-rbac", source=BindingSource.RBAC),
        _policy_entry("elsewhere", target=other),
    )
    results = _results(_vault("access_policy"), _vault("access_policy", uid=other), bindings=entries)
    assert results[VAULT].evidence["access_policy_principals"] == []
    assert "principal(s)" not in results[VAULT].message
    assert results[other].evidence["access_policy_principals"] == ["elsewhere"]


def test_access_policy_holders_are_capped_with_the_total_count() -> None:
    entries = tuple(_policy_entry(f"obj-{i:03d}") for i in range(60))
    result = _results(_vault("access_policy"), bindings=entries)[VAULT]
    assert len(result.evidence["access_policy_principals"]) == 50
    assert result.evidence["access_policy_principal_count"] == 60


@pytest.mark.parametrize("model", ["managed_hsm_rbac", "managed_hsm"])
def test_managed_hsm_local_rbac_passes(model) -> None:
    hsm = _vault(model, uid=HSM, kind=KeyStoreKind.AZURE_MANAGED_HSM)
    result = _results(hsm)[HSM]
    assert result.status is Status.PASS
    assert "local RBAC" in result.message


@pytest.mark.parametrize("kind", [KeyStoreKind.AZURE_VAULT, KeyStoreKind.AZURE_MANAGED_HSM])
def test_unread_permission_model_is_unknown_never_pass(kind) -> None:
    result = _results(_vault(None, kind=kind))[VAULT]
    assert result.status is Status.UNKNOWN
    assert "could not be read" in result.message


def test_unrecognised_permission_model_is_unknown_and_named() -> None:
    result = _results(_vault("vault_acl"))[VAULT]
    assert result.status is Status.UNKNOWN
    assert "'vault_acl'" in result.message


def test_unreadable_metadata_blocks_a_pass() -> None:
    vault = _vault("rbac", unreadable=frozenset({KeyStoreAspect.METADATA}))
    result = _results(vault)[VAULT]
    assert result.status is Status.UNKNOWN
    assert result.evidence["unreadable"] == ["metadata"]


def test_unreadable_metadata_does_not_hide_an_access_policy_model_that_was_read() -> None:
    vault = _vault("access_policy", unreadable=frozenset({KeyStoreAspect.METADATA}))
    assert _results(vault)[VAULT].status is Status.FAIL


def test_stores_of_other_platforms_get_no_result() -> None:
    ring = store("projects/p/locations/l/keyRings/r", provider=Provider.GCP, kind=KeyStoreKind.GCP_KEY_RING)
    default = store(
        "arn:aws:kms:eu-west-1:1:default", provider=Provider.AWS, kind=KeyStoreKind.AWS_KMS_DEFAULT
    )
    assert _results(ring, default) == {}


def test_customer_keys_in_the_vault_are_counted() -> None:
    keys = (
        key("a", provider=Provider.AZURE, uid=f"{VAULT}/keys/a", store=VAULT),
        key("b", provider=Provider.AZURE, uid=f"{VAULT}/keys/b", store=VAULT),
        key("p", provider=Provider.AZURE, uid=f"{VAULT}/keys/p", store=VAULT, manager=KeyManager.PROVIDER),
    )
    result = _results(_vault("access_policy"), keys=keys)[VAULT]
    assert result.evidence["customer_keys"] == 2


def test_one_result_per_store() -> None:
    rbac, legacy = _vault("rbac"), _vault("access_policy", uid=VAULT.replace("kv1", "legacy"))
    results = _results(rbac, legacy)
    assert {uid: r.status for uid, r in results.items()} == {rbac.uid: Status.PASS, legacy.uid: Status.FAIL}


def test_managed_hsm_reported_with_plain_rbac_is_named_as_a_managed_hsm() -> None:
    hsm = _vault("rbac", uid=HSM, kind=KeyStoreKind.AZURE_MANAGED_HSM)
    result = _results(hsm)[HSM]
    assert result.status is Status.PASS
    assert result.message.startswith("Managed HSM hsm1")
