from datetime import timedelta

from rules import ai_workload_keys_meet_policy as rule
from scanner.inventory import KeyOrigin, ProtectionLevel, Rotation
from scanner.rule import Status
from tests.factories import NOW, context, inventory, key, resource, results_by_uid

POLICY = {"ai_workloads": {"require_hsm": True, "max_rotation_days": 90}}


def _run(*keys, policy=POLICY):
    resources = tuple(resource(f"endpoint-config/{k.name}", keys=(k.uid,)) for k in keys)
    return results_by_uid(rule.evaluate(context(inventory(keys=keys, resources=resources), policy)))


def test_hsm_key_rotating_within_the_ai_period_passes() -> None:
    good = key("good", rotation=Rotation(enabled=True, period_days=90))
    assert _run(good)[good.uid].status is Status.PASS


def test_software_key_or_slow_rotation_fails() -> None:
    soft = key("soft", protection=ProtectionLevel.SOFTWARE, rotation=Rotation(enabled=True, period_days=90))
    slow = key("slow", rotation=Rotation(enabled=True, period_days=365))
    off = key("off", rotation=Rotation(enabled=False))
    results = _run(soft, slow, off)
    assert results[soft.uid].status is Status.FAIL and "software-protected" in results[soft.uid].message
    assert results[slow.uid].status is Status.FAIL and "365 days" in results[slow.uid].message
    assert results[off.uid].status is Status.FAIL


def test_imported_material_is_judged_by_its_age_external_is_unknown() -> None:
    fresh = key(
        "fresh", origin=KeyOrigin.IMPORTED, auto_rotation_supported=False, created=NOW - timedelta(days=30)
    )
    stale = key(
        "stale", origin=KeyOrigin.IMPORTED, auto_rotation_supported=False, created=NOW - timedelta(days=400)
    )
    hyok = key(
        "hyok", origin=KeyOrigin.EXTERNAL, protection=ProtectionLevel.EXTERNAL, auto_rotation_supported=False
    )
    results = _run(fresh, stale, hyok)
    assert results[fresh.uid].status is Status.PASS
    assert (
        results[stale.uid].status is Status.FAIL and results[stale.uid].evidence["material_age_days"] == 400
    )
    assert results[hyok.uid].status is Status.UNKNOWN


def test_keys_not_protecting_ai_are_not_judged_and_defaults_apply() -> None:
    plain = key("plain")
    assert results_by_uid(rule.evaluate(context(inventory(keys=(plain,)), POLICY))) == {}
    default = key(
        "default", protection=ProtectionLevel.SOFTWARE, rotation=Rotation(enabled=True, period_days=365)
    )
    assert _run(default, policy={})[default.uid].status is Status.PASS  # no HSM demand, rotation.max_days 365
