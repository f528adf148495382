import pytest

from rules import key_hsm_backed_when_required
from scanner.inventory import KeyAspect, KeyManager, KeyState, KeyVersion, ProtectionLevel
from scanner.rule import Status
from tests.factories import context, inventory, key, results_by_uid

POLICY = {
    "protection": {
        "hsm_required_when": {"classification": ["confidential", "secret*"]},
        "dedicated_hsm_required_when": {"classification": "top-secret"},
    }
}


def run(*keys, policy=POLICY):
    return results_by_uid(key_hsm_backed_when_required.evaluate(context(inventory(keys=keys), policy)))


def test_software_key_tagged_for_hsm_fails_naming_the_tag() -> None:
    k = key(tags={"Classification": "Confidential"}, protection=ProtectionLevel.SOFTWARE)
    result = run(k)[k.uid]
    assert result.status is Status.FAIL
    assert "Classification=Confidential" in result.message
    assert result.evidence["required"] == "hsm"
    assert result.evidence["protection"] == "software"
    assert result.evidence["matched_tags"] == {"Classification": "Confidential"}


@pytest.mark.parametrize(
    "protection", [ProtectionLevel.HSM, ProtectionLevel.DEDICATED_HSM, ProtectionLevel.EXTERNAL]
)
def test_hsm_or_stronger_meets_an_hsm_requirement(protection) -> None:
    k = key(tags={"classification": "secret-pii"}, protection=protection)
    assert run(k)[k.uid].status is Status.PASS


def test_dedicated_requirement_rejects_multi_tenant_hsm() -> None:
    k = key(tags={"classification": "top-secret"}, protection=ProtectionLevel.HSM)
    result = run(k)[k.uid]
    assert result.status is Status.FAIL
    assert result.evidence["required"] == "dedicated_hsm"


@pytest.mark.parametrize("protection", [ProtectionLevel.DEDICATED_HSM, ProtectionLevel.EXTERNAL])
def test_dedicated_requirement_is_met_by_dedicated_or_external(protection) -> None:
    k = key(tags={"classification": "top-secret"}, protection=protection)
    assert run(k)[k.uid].status is Status.PASS


def test_dedicated_selector_wins_when_both_match() -> None:
    policy = {
        "protection": {
            "hsm_required_when": {"env": ["prod"]},
            "dedicated_hsm_required_when": {"classification": ["top-secret"]},
        }
    }
    k = key(tags={"env": "prod", "classification": "top-secret"}, protection=ProtectionLevel.HSM)
    result = run(k, policy=policy)[k.uid]
    assert result.status is Status.FAIL
    assert result.evidence["required"] == "dedicated_hsm"
    assert result.evidence["matched_tags"] == {"classification": "top-secret"}


def test_keys_matching_no_selector_are_not_judged() -> None:
    untagged = key("a", protection=ProtectionLevel.SOFTWARE)
    other = key("b", tags={"classification": "public"}, protection=ProtectionLevel.SOFTWARE)
    assert run(untagged, other) == {}


def test_no_selectors_in_policy_means_no_results_even_for_unreadable_tags() -> None:
    k = key(unreadable=frozenset({KeyAspect.TAGS}))
    assert run(k, policy={}) == {}


def test_unreadable_tags_are_unknown() -> None:
    k = key(unreadable=frozenset({KeyAspect.TAGS}), protection=ProtectionLevel.SOFTWARE)
    result = run(k)[k.uid]
    assert result.status is Status.UNKNOWN
    assert "tags/labels" in result.message


def test_unknown_protection_of_a_tagged_key_is_unknown() -> None:
    k = key(tags={"classification": "confidential"}, protection=None)
    assert run(k)[k.uid].status is Status.UNKNOWN


def test_weaker_live_version_fails_even_if_the_key_level_is_met() -> None:
    k = key(
        tags={"classification": "confidential"},
        protection=ProtectionLevel.HSM,
        versions=(
            KeyVersion(uid="v1", state=KeyState.ENABLED, protection=ProtectionLevel.SOFTWARE),
            KeyVersion(uid="v0", state=KeyState.DESTROYED, protection=ProtectionLevel.SOFTWARE),
            KeyVersion(uid="v2", state=KeyState.ENABLED, protection=ProtectionLevel.HSM),
        ),
    )
    result = run(k)[k.uid]
    assert result.status is Status.FAIL
    assert result.evidence["weak_versions"] == [{"uid": "v1", "protection": "software"}]
    assert result.evidence["weak_version_count"] == 1


def test_provider_managed_and_destroyed_keys_are_not_judged() -> None:
    managed = key("m", manager=KeyManager.PROVIDER, tags={"classification": "secret"})
    destroyed = key("d", state=KeyState.DESTROYED, tags={"classification": "secret"}, protection=None)
    assert run(managed, destroyed) == {}
