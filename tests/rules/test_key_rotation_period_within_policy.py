from datetime import timedelta

import pytest

from rules import key_rotation_period_within_policy
from scanner.inventory import KeyAspect, KeyManager, KeyState, Rotation
from scanner.rule import Status
from tests.factories import NOW, context, inventory, key, results_by_uid


def run(*keys, policy=None):
    return results_by_uid(key_rotation_period_within_policy.evaluate(context(inventory(keys=keys), policy)))


def test_default_period_at_the_default_maximum_passes() -> None:
    k = key(rotation=Rotation(enabled=True, period_days=365))
    result = run(k)[k.uid]
    assert result.status is Status.PASS
    assert result.evidence["max_days"] == 365


def test_period_one_day_over_the_default_fails() -> None:
    k = key(rotation=Rotation(enabled=True, period_days=366))
    result = run(k)[k.uid]
    assert result.status is Status.FAIL
    assert "366 days" in result.message
    assert "365-day" in result.message


def test_policy_max_days_is_used() -> None:
    ok = key("ok", rotation=Rotation(enabled=True, period_days=90))
    long = key("long", rotation=Rotation(enabled=True, period_days=91))
    results = run(ok, long, policy={"rotation": {"max_days": 90}})
    assert results[ok.uid].status is Status.PASS
    assert results[long.uid].status is Status.FAIL
    assert results[long.uid].evidence["max_days"] == 90


def test_next_rotation_further_out_than_the_maximum_fails_even_with_a_good_period() -> None:
    k = key(rotation=Rotation(enabled=True, period_days=90, next_rotation=NOW + timedelta(days=400)))
    result = run(k, policy={"rotation": {"max_days": 90}})[k.uid]
    assert result.status is Status.FAIL
    assert "400 days from now" in result.message
    assert result.evidence["days_until_next_rotation"] == 400
    assert result.evidence["period_days"] == 90


def test_next_rotation_exactly_at_the_maximum_passes() -> None:
    k = key(rotation=Rotation(enabled=True, period_days=90, next_rotation=NOW + timedelta(days=90)))
    result = run(k, policy={"rotation": {"max_days": 90}})[k.uid]
    assert result.status is Status.PASS
    assert result.evidence["next_rotation"] == (NOW + timedelta(days=90)).isoformat()


def test_both_problems_are_reported_in_one_result() -> None:
    k = key(rotation=Rotation(enabled=True, period_days=730, next_rotation=NOW + timedelta(days=700)))
    result = run(k)[k.uid]
    assert result.status is Status.FAIL
    assert "730 days" in result.message
    assert "700 days from now" in result.message


@pytest.mark.parametrize("unreadable", [frozenset(), frozenset({KeyAspect.ROTATION})])
def test_unknown_period_is_unknown(unreadable) -> None:
    k = key(rotation=Rotation(enabled=True, period_days=None), unreadable=unreadable)
    result = run(k)[k.uid]
    assert result.status is Status.UNKNOWN
    assert "could not be read" in result.message


def test_unknown_period_but_known_late_next_rotation_fails() -> None:
    k = key(rotation=Rotation(enabled=True, next_rotation=NOW + timedelta(days=500)))
    assert run(k)[k.uid].status is Status.FAIL


@pytest.mark.parametrize(
    "override",
    [
        {"rotation": Rotation(enabled=False, period_days=9999)},
        {"rotation": Rotation(enabled=None, period_days=9999)},
        {"rotation": None},
        {"manager": KeyManager.PROVIDER, "rotation": Rotation(enabled=True, period_days=9999)},
        {"state": KeyState.DESTROYED, "rotation": Rotation(enabled=True, period_days=9999)},
    ],
)
def test_keys_without_enabled_rotation_are_left_to_key_rotation_enabled(override) -> None:
    assert run(key(**override)) == {}
