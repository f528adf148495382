from rules import key_store_deletion_protected as rule
from scanner.inventory import DeletionProtection, KeyManager, KeyState, KeyStoreAspect, KeyStoreKind, Provider
from scanner.rule import Status
from tests.factories import context, inventory, key, results_by_uid, store

VAULT = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v1"


def _vault(soft_delete=True, purge_protection=True, retention_days=90, **kw):
    protection = DeletionProtection(
        soft_delete=soft_delete, purge_protection=purge_protection, retention_days=retention_days
    )
    return store(VAULT, deletion_protection=protection, **kw)


def _results(*, stores=(), keys=(), policy=None):
    return results_by_uid(rule.evaluate(context(inventory(key_stores=stores, keys=keys), policy)))


def _gcp_key(days, **kw):
    return key(
        "k",
        provider=Provider.GCP,
        uid="projects/p/locations/europe-west1/keyRings/r/cryptoKeys/k",
        scope="p",
        deletion_window_days=days,
        **kw,
    )


def test_vault_with_soft_delete_and_purge_protection_passes_and_reports_retention() -> None:
    result = _results(stores=(_vault(retention_days=7),))[VAULT]
    assert result.status is Status.PASS
    assert result.evidence["retention_days"] == 7  # reported, not judged
    assert result.evidence["soft_delete"] is True


def test_vault_without_purge_protection_fails_naming_it() -> None:
    result = _results(stores=(_vault(purge_protection=False),))[VAULT]
    assert result.status is Status.FAIL
    assert "purge protection disabled" in result.message
    assert "soft delete" not in result.message


def test_vault_without_soft_delete_fails_naming_it() -> None:
    result = _results(stores=(_vault(soft_delete=False),))[VAULT]
    assert result.status is Status.FAIL
    assert "soft delete disabled" in result.message


def test_false_setting_fails_even_when_the_other_is_unread() -> None:
    result = _results(stores=(_vault(soft_delete=None, purge_protection=False),))[VAULT]
    assert result.status is Status.FAIL
    assert "soft delete could not be read" in result.message


def test_unread_setting_is_unknown() -> None:
    result = _results(stores=(_vault(purge_protection=None),))[VAULT]
    assert result.status is Status.UNKNOWN
    assert "purge protection" in result.message


def test_unreadable_metadata_blocks_a_pass() -> None:
    vault = _vault(unreadable=frozenset({KeyStoreAspect.METADATA}))
    result = _results(stores=(vault,))[VAULT]
    assert result.status is Status.UNKNOWN
    assert result.evidence["unreadable"] == ["metadata"]


def test_managed_hsm_is_judged_like_a_vault() -> None:
    hsm = store(
        "mhsm1",
        kind=KeyStoreKind.AZURE_MANAGED_HSM,
        deletion_protection=DeletionProtection(soft_delete=True, purge_protection=False),
    )
    assert _results(stores=(hsm,))["mhsm1"].status is Status.FAIL


def test_stores_without_deletion_protection_get_no_result() -> None:
    ring = store("projects/p/locations/l/keyRings/r", provider=Provider.GCP, kind=KeyStoreKind.GCP_KEY_RING)
    assert _results(stores=(ring,)) == {}


def test_key_destroy_wait_at_the_policy_minimum_passes() -> None:
    k = _gcp_key(30)
    result = _results(keys=(k,))[k.uid]
    assert result.status is Status.PASS
    assert result.evidence == {"deletion_window_days": 30, "min_destroy_scheduled_days": 30}


def test_key_destroy_wait_below_the_policy_minimum_fails() -> None:
    k = _gcp_key(29)
    result = _results(keys=(k,))[k.uid]
    assert result.status is Status.FAIL
    assert "29 days" in result.message
    assert "30" in result.message


def test_policy_minimum_is_honoured() -> None:
    k = _gcp_key(30)
    policy = {"protection": {"min_destroy_scheduled_days": 60}}
    assert _results(keys=(k,), policy=policy)[k.uid].status is Status.FAIL
    policy = {"protection": {"min_destroy_scheduled_days": 7}}
    assert _results(keys=(_gcp_key(7),), policy=policy)[k.uid].status is Status.PASS


def test_keys_without_a_window_provider_keys_and_destroyed_keys_get_no_result() -> None:
    keys = (
        key("no-window"),
        key("provider", manager=KeyManager.PROVIDER, deletion_window_days=1),
        key("destroyed", state=KeyState.DESTROYED, deletion_window_days=1),
    )
    assert _results(keys=keys) == {}


def test_stores_and_keys_are_reported_together_without_collision() -> None:
    k = _gcp_key(1)
    results = _results(stores=(_vault(),), keys=(k,))
    assert results[VAULT].status is Status.PASS
    assert results[k.uid].status is Status.FAIL
