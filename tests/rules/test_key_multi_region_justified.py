import json

import pytest

from rules import key_multi_region_justified
from scanner.inventory import KeyAspect, KeyManager, KeyState, Provider
from scanner.rule import Status
from tests.factories import context, inventory, key, results_by_uid, scope

DR_POLICY = {"replication": {"multi_region_allowed_when": {"dr_replica": ["true"]}}}


def run(*keys, policy=DR_POLICY):
    inv = inventory(keys=keys)
    return results_by_uid(key_multi_region_justified.evaluate(context(inv, policy)))


def test_multi_region_key_with_a_justifying_tag_passes() -> None:
    k = key(multi_region=True, tags={"dr_replica": "true", "owner": "payments"})
    result = run(k)[k.uid]
    assert result.status is Status.PASS
    assert "dr_replica=true" in result.message
    assert result.evidence["matched_tags"] == {"dr_replica": "true"}
    assert result.evidence["multi_region_allowed_when"] == {"dr_replica": ["true"]}
    json.dumps(result.evidence)


def test_tag_match_ignores_case_and_reports_the_tag_as_named_on_the_key() -> None:
    k = key(multi_region=True, tags={"DR_Replica": "TRUE"})
    result = run(k)[k.uid]
    assert result.status is Status.PASS
    assert result.evidence["matched_tags"] == {"DR_Replica": "TRUE"}


def test_glob_values_in_the_selector_are_honoured() -> None:
    policy = {"replication": {"multi_region_allowed_when": {"purpose": ["dr-*"]}}}
    justified = key("k1", multi_region=True, tags={"purpose": "dr-payments"})
    not_justified = key("k2", multi_region=True, tags={"purpose": "analytics"})
    results = run(justified, not_justified, policy=policy)
    assert results[justified.uid].status is Status.PASS
    assert results[not_justified.uid].status is Status.FAIL


def test_multi_region_key_without_the_tag_fails_naming_the_justifying_tag() -> None:
    k = key(multi_region=True, tags={"owner": "payments"})
    result = run(k)[k.uid]
    assert result.status is Status.FAIL
    assert "dr_replica=true" in result.message
    assert result.evidence["matched_tags"] == {}
    assert result.evidence["tags"] == {"owner": "payments"}


def test_justifying_tag_key_with_another_value_fails() -> None:
    k = key(multi_region=True, tags={"dr_replica": "false"})
    assert run(k)[k.uid].status is Status.FAIL


def test_several_accepted_tags_are_all_named() -> None:
    policy = {
        "replication": {"multi_region_allowed_when": {"dr_replica": ["true"], "tier": ["dr", "backup"]}}
    }
    k = key(multi_region=True)
    result = run(k, policy=policy)[k.uid]
    assert result.status is Status.FAIL
    assert "dr_replica=true or tier=dr|backup" in result.message


def test_without_a_selector_no_multi_region_key_is_allowed() -> None:
    k = key(multi_region=True, tags={"dr_replica": "true"})
    result = run(k, policy={})[k.uid]
    assert result.status is Status.FAIL
    assert "allows no multi-region keys" in result.message
    assert result.evidence["multi_region_allowed_when"] == {}


def test_single_region_keys_get_no_result() -> None:
    assert run(key(multi_region=False)) == {}


def test_unread_multi_region_flag_is_unknown() -> None:
    k = key(multi_region=None, unreadable=frozenset({KeyAspect.METADATA}))
    result = run(k)[k.uid]
    assert result.status is Status.UNKNOWN
    assert "could not be read" in result.message
    assert result.evidence["metadata_unreadable"] is True


def test_unreadable_tags_on_a_multi_region_key_are_unknown_even_if_some_tags_are_known() -> None:
    k = key(multi_region=True, tags={"dr_replica": "true"}, unreadable=frozenset({KeyAspect.TAGS}))
    result = run(k)[k.uid]
    assert result.status is Status.UNKNOWN
    assert "tags could not be read" in result.message


def test_unreadable_tags_do_not_matter_for_single_region_keys() -> None:
    assert run(key(multi_region=False, unreadable=frozenset({KeyAspect.TAGS}))) == {}


@pytest.mark.parametrize("state", [KeyState.DISABLED, KeyState.PENDING_DELETION])
def test_keys_that_still_exist_are_judged_whatever_their_state(state: KeyState) -> None:
    k = key(multi_region=True, state=state)
    assert run(k)[k.uid].status is Status.FAIL


def test_destroyed_and_provider_managed_keys_get_no_result() -> None:
    destroyed = key("k1", multi_region=True, state=KeyState.DESTROYED)
    managed = key("k2", multi_region=True, manager=KeyManager.PROVIDER)
    unknown_managed = key("k3", multi_region=None, manager=KeyManager.PROVIDER)
    assert run(destroyed, managed, unknown_managed) == {}


def test_azure_managed_hsm_key_is_judged_the_same_way() -> None:
    hsm = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/managedHSMs/mhsm1"
    k = key(
        "core",
        provider=Provider.AZURE,
        uid=f"{hsm}/keys/core",
        scope="s1",
        store=hsm,
        multi_region=True,
        tags={"dr_replica": "true"},
    )
    inv = inventory(scopes=(scope("s1", Provider.AZURE),), keys=(k,))
    [result] = key_multi_region_justified.evaluate(context(inv, DR_POLICY))
    assert result.status is Status.PASS
    assert result.provider == "azure"
