import pytest

from rules import key_rotation_enabled
from scanner.inventory import (
    KeyAspect,
    KeyManager,
    KeyOrigin,
    KeyPurpose,
    KeyState,
    KeyType,
    ProtectionLevel,
    Provider,
    Rotation,
)
from scanner.rule import Status
from tests.factories import context, inventory, key, results_by_uid


def run(*keys):
    return results_by_uid(key_rotation_enabled.evaluate(context(inventory(keys=keys))))


def test_rotating_symmetric_key_passes_and_records_the_period() -> None:
    k = key()
    result = run(k)[k.uid]
    assert result.status is Status.PASS
    assert result.evidence["rotation_enabled"] is True
    assert result.evidence["rotation_period_days"] == 365


def test_symmetric_key_without_rotation_fails() -> None:
    k = key(rotation=Rotation(enabled=False))
    result = run(k)[k.uid]
    assert result.status is Status.FAIL
    assert k.name in result.message
    assert result.evidence["rotation_enabled"] is False


def test_rules_are_provider_neutral() -> None:
    gcp = key(
        "g1",
        provider=Provider.GCP,
        uid="projects/p1/locations/europe/keyRings/r/cryptoKeys/g1",
        scope="p1",
        protection=ProtectionLevel.SOFTWARE,
        rotation=Rotation(enabled=False),
    )
    assert run(gcp)[gcp.uid].status is Status.FAIL


@pytest.mark.parametrize(
    "override",
    [
        {"key_type": KeyType.RSA, "purpose": KeyPurpose.ENCRYPT, "size_bits": 3072},
        {"key_type": KeyType.EC, "purpose": KeyPurpose.SIGN, "curve": "P-256"},
        {"key_type": KeyType.HMAC, "purpose": KeyPurpose.MAC},
        {"origin": KeyOrigin.IMPORTED},
        {"origin": KeyOrigin.EXTERNAL},
        {"protection": ProtectionLevel.DEDICATED_HSM, "auto_rotation_supported": False},  # AWS CloudHSM store
        {"state": KeyState.DISABLED},
        {"state": KeyState.PENDING_DELETION},
        {"manager": KeyManager.PROVIDER},
    ],
)
def test_keys_that_cannot_rotate_automatically_are_not_judged(override) -> None:
    assert run(key(rotation=Rotation(enabled=False), **override)) == {}


def test_dedicated_hsm_keys_that_can_rotate_are_judged() -> None:
    # Azure Managed HSM and GCP single-tenant HSM keys rotate on a schedule like any other key.
    k = key(protection=ProtectionLevel.DEDICATED_HSM, rotation=Rotation(enabled=False))
    assert run(k)[k.uid].status is Status.FAIL


@pytest.mark.parametrize(
    ("rotation", "unreadable"),
    [
        (None, frozenset()),
        (Rotation(enabled=None, period_days=365), frozenset()),
        (Rotation(enabled=True, period_days=365), frozenset({KeyAspect.ROTATION})),
    ],
)
def test_unread_rotation_is_unknown_never_pass(rotation, unreadable) -> None:
    k = key(rotation=rotation, unreadable=unreadable)
    result = run(k)[k.uid]
    assert result.status is Status.UNKNOWN
    assert "could not be read" in result.message


def test_rotation_off_with_unread_eligibility_is_unknown_and_names_the_fields() -> None:
    k = key(rotation=Rotation(enabled=False), origin=None, key_type=None)
    result = run(k)[k.uid]
    assert result.status is Status.UNKNOWN
    assert "key type, origin" in result.message
    assert result.evidence["unread"] == ["key type", "origin"]


def test_rotation_on_passes_even_when_eligibility_fields_are_unread() -> None:
    k = key(state=None, key_type=None)
    assert run(k)[k.uid].status is Status.PASS


def test_one_result_per_key() -> None:
    on, off = key("on"), key("off", rotation=Rotation(enabled=False))
    results = run(on, off)
    assert {uid: r.status for uid, r in results.items()} == {on.uid: Status.PASS, off.uid: Status.FAIL}


def _azure_key(name="az1", **kw):
    kw.setdefault("key_type", KeyType.RSA)
    kw.setdefault("size_bits", 3072)
    return key(
        name,
        provider=Provider.AZURE,
        uid=f"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1/keys/{name}",
        scope="s1",
        auto_rotation_supported=True,
        **kw,
    )


@pytest.mark.parametrize(
    "kind",
    [
        {"key_type": KeyType.RSA, "purpose": KeyPurpose.ENCRYPT},
        {"key_type": KeyType.EC, "purpose": KeyPurpose.SIGN, "curve": "P-256"},
    ],
)
def test_asymmetric_keys_the_platform_can_rotate_are_judged(kind) -> None:
    # Azure rotation policies renew RSA and EC keys: no Rotate lifetime action means rotation is off.
    off = _azure_key("off", rotation=Rotation(enabled=False), **kind)
    on = _azure_key("on", rotation=Rotation(enabled=True, period_days=90), **kind)
    results = run(off, on)
    assert results[off.uid].status is Status.FAIL
    assert "Rotate lifetime action" in results[off.uid].message
    assert results[on.uid].status is Status.PASS


def test_platform_support_overrides_an_external_origin() -> None:
    # GCP coordinated external keys (EXTERNAL_VPC in CLOUD_KMS key management mode) rotate by schedule.
    k = key(origin=KeyOrigin.EXTERNAL, auto_rotation_supported=True, rotation=Rotation(enabled=False))
    assert run(k)[k.uid].status is Status.FAIL


def test_platform_support_still_needs_an_enabled_key() -> None:
    k = _azure_key(state=KeyState.DISABLED, rotation=Rotation(enabled=False))
    assert run(k) == {}


def test_platform_support_makes_unread_type_fields_irrelevant_but_not_the_state() -> None:
    known = _azure_key("known", key_type=None, purpose=None, origin=None, rotation=Rotation(enabled=False))
    unread_state = _azure_key("unread", state=None, rotation=Rotation(enabled=False))
    results = run(known, unread_state)
    assert results[known.uid].status is Status.FAIL
    assert results[known.uid].evidence["unread"] == []
    assert results[unread_state.uid].status is Status.UNKNOWN
    assert results[unread_state.uid].evidence["unread"] == ["state"]


def test_symmetric_key_message_is_unchanged_when_the_platform_confirms_support() -> None:
    k = key(auto_rotation_supported=True, rotation=Rotation(enabled=False))
    assert "symmetric encryption key with provider-generated material" in run(k)[k.uid].message
