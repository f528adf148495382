import pytest

from rules import key_algorithm_allowed
from scanner.inventory import KeyManager, KeyPurpose, KeyState, KeyType
from scanner.rule import Status
from tests.factories import context, inventory, key, results_by_uid


def run(*keys, policy=None):
    return results_by_uid(key_algorithm_allowed.evaluate(context(inventory(keys=keys), policy)))


def rsa(bits, key_id="k1", **kw):
    return key(key_id, key_type=KeyType.RSA, size_bits=bits, algorithm=f"RSA_{bits}", **kw)


def ec(curve, purpose=KeyPurpose.SIGN, key_id="k1", **kw):
    return key(key_id, key_type=KeyType.EC, size_bits=None, curve=curve, purpose=purpose, **kw)


@pytest.mark.parametrize(("bits", "status"), [(2048, Status.PASS), (2047, Status.FAIL), (1024, Status.FAIL)])
def test_rsa_size_against_the_default_minimum(bits, status) -> None:
    k = rsa(bits)
    result = run(k)[k.uid]
    assert result.status is status
    assert result.evidence["min_rsa_bits"] == 2048


def test_rsa_minimum_comes_from_the_policy() -> None:
    k = rsa(2048)
    result = run(k, policy={"algorithms": {"min_rsa_bits": 3072}})[k.uid]
    assert result.status is Status.FAIL
    assert "2048 bits" in result.message
    assert "3072" in result.message


def test_rsa_without_size_is_unknown() -> None:
    k = rsa(None)
    assert run(k)[k.uid].status is Status.UNKNOWN


@pytest.mark.parametrize("curve", ["P-256", "p-384", "P-521", "SECP256K1"])
def test_allowed_curves_for_signing_pass_case_insensitively(curve) -> None:
    k = ec(curve)
    assert run(k)[k.uid].status is Status.PASS


def test_curve_outside_the_list_fails() -> None:
    k = ec("Ed25519")
    result = run(k)[k.uid]
    assert result.status is Status.FAIL
    assert "Ed25519" in result.message
    assert result.evidence["allowed_curves"] == ["P-256", "P-384", "P-521", "secp256k1"]


@pytest.mark.parametrize("purpose", [KeyPurpose.KEY_AGREEMENT, KeyPurpose.ENCRYPT])
def test_allowed_curve_used_for_anything_but_signing_fails_by_default(purpose) -> None:
    k = ec("P-256", purpose=purpose)
    result = run(k)[k.uid]
    assert result.status is Status.FAIL
    assert purpose.value in result.message


def test_policy_can_allow_other_ec_purposes_and_curves() -> None:
    policy = {"algorithms": {"allowed_curves": ["P-384"], "ec_allowed_purposes": ["sign", "KEY_AGREEMENT"]}}
    agree, p256 = ec("P-384", purpose=KeyPurpose.KEY_AGREEMENT), ec("P-256", key_id="k2")
    results = run(agree, p256, policy=policy)
    assert results[agree.uid].status is Status.PASS
    assert results[p256.uid].status is Status.FAIL


def test_ec_without_curve_or_purpose_is_unknown() -> None:
    no_curve, no_purpose = ec(None), ec("P-256", purpose=None, key_id="k2")
    results = run(no_curve, no_purpose)
    assert results[no_curve.uid].status is Status.UNKNOWN
    assert results[no_purpose.uid].status is Status.UNKNOWN


def test_disallowed_curve_fails_even_with_unknown_purpose() -> None:
    k = ec("brainpoolP256r1", purpose=None)
    assert run(k)[k.uid].status is Status.FAIL


@pytest.mark.parametrize(
    ("key_type", "bits", "status"),
    [
        (KeyType.SYMMETRIC, 256, Status.PASS),
        (KeyType.SYMMETRIC, None, Status.PASS),
        (KeyType.SYMMETRIC, 128, Status.PASS),
        (KeyType.SYMMETRIC, 64, Status.FAIL),
        (KeyType.HMAC, 224, Status.PASS),
        (KeyType.HMAC, 112, Status.FAIL),
    ],
)
def test_symmetric_and_hmac_keys(key_type, bits, status) -> None:
    k = key(key_type=key_type, size_bits=bits)
    assert run(k)[k.uid].status is status


@pytest.mark.parametrize("key_type", [None, KeyType.OTHER])
def test_unknown_or_unrecognised_key_types_are_unknown(key_type) -> None:
    k = key(key_type=key_type, algorithm="ML_DSA_65")
    assert run(k)[k.uid].status is Status.UNKNOWN


def test_destroyed_and_provider_managed_keys_are_not_judged() -> None:
    assert run(rsa(1024, state=KeyState.DESTROYED), rsa(1024, "m", manager=KeyManager.PROVIDER)) == {}
