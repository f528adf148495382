from datetime import UTC, datetime, timedelta

import pytest

from rules import key_expiration_set
from scanner.inventory import KeyAspect, KeyState, Provider
from scanner.rule import Status
from tests.factories import NOW, context, inventory, key, results_by_uid

CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def azure_key(name="k1", **kw):
    kw.setdefault("created", CREATED)
    return key(
        name,
        provider=Provider.AZURE,
        uid=f"https://vault1.vault.azure.net/keys/{name}",
        expiry_supported=True,
        **kw,
    )


def run(*keys, policy=None):
    return results_by_uid(key_expiration_set.evaluate(context(inventory(keys=keys), policy)))


def test_key_with_expiry_passes_and_reports_days_left() -> None:
    k = azure_key(expires=NOW + timedelta(days=30))
    result = run(k)[k.uid]
    assert result.status is Status.PASS
    assert result.evidence["days_left"] == 30


def test_already_expired_key_still_has_an_expiry() -> None:
    k = azure_key(expires=NOW - timedelta(days=3))
    result = run(k)[k.uid]
    assert result.status is Status.PASS
    assert result.evidence["days_left"] == -3


def test_enabled_key_without_expiry_fails() -> None:
    k = azure_key()
    result = run(k)[k.uid]
    assert result.status is Status.FAIL
    assert "no expiry date" in result.message


def test_unreadable_metadata_without_expiry_is_unknown() -> None:
    k = azure_key(unreadable=frozenset({KeyAspect.METADATA}))
    assert run(k)[k.uid].status is Status.UNKNOWN


def test_unknown_state_without_expiry_is_unknown_not_fail() -> None:
    k = azure_key(state=None)
    result = run(k)[k.uid]
    assert result.status is Status.UNKNOWN
    assert "state" in result.message


@pytest.mark.parametrize(
    "override",
    [
        {"expiry_supported": False},
        {"state": KeyState.DISABLED},
        {"state": KeyState.PENDING_DELETION},
    ],
)
def test_only_enabled_keys_on_platforms_with_expiry_are_judged(override) -> None:
    k = key(**{"expiry_supported": True, **override})
    assert run(k) == {}


def test_validity_exactly_at_the_maximum_passes() -> None:
    k = azure_key(expires=CREATED + timedelta(days=365))
    result = run(k, policy={"expiration": {"max_validity_days": 365}})[k.uid]
    assert result.status is Status.PASS
    assert result.evidence["validity_days"] == 365


def test_validity_beyond_the_maximum_fails() -> None:
    k = azure_key(expires=CREATED + timedelta(days=365, hours=1))
    result = run(k, policy={"expiration": {"max_validity_days": 365}})[k.uid]
    assert result.status is Status.FAIL
    assert "valid for more than 365 days" in result.message
    assert "365-day maximum" in result.message


def test_validity_counts_from_not_before_when_set() -> None:
    k = azure_key(not_before=CREATED + timedelta(days=100), expires=CREATED + timedelta(days=400))
    result = run(k, policy={"expiration": {"max_validity_days": 300}})[k.uid]
    assert result.status is Status.PASS
    assert result.evidence["validity_days"] == 300


def test_unknown_validity_start_is_unknown_when_a_maximum_is_set() -> None:
    k = azure_key(created=None, expires=NOW + timedelta(days=10))
    assert run(k, policy={"expiration": {"max_validity_days": 365}})[k.uid].status is Status.UNKNOWN
    assert run(k)[k.uid].status is Status.PASS


def test_not_before_earlier_than_creation_counts_from_not_before() -> None:
    # The key's attributes declare it valid from not_before (e.g. imported material already in use).
    k = azure_key(not_before=CREATED - timedelta(days=200), expires=CREATED + timedelta(days=200))
    result = run(k, policy={"expiration": {"max_validity_days": 365}})[k.uid]
    assert result.status is Status.FAIL
    assert result.evidence["validity_days"] == 400
