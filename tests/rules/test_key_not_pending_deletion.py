from datetime import timedelta

from rules import key_not_pending_deletion
from scanner.inventory import KeyAspect, KeyManager, KeyState, KeyVersion, Provider
from scanner.rule import Status
from tests.factories import NOW, context, inventory, key, results_by_uid

GCP_KEY = "projects/p1/locations/europe/keyRings/r/cryptoKeys/g1"


def run(*keys):
    return results_by_uid(key_not_pending_deletion.evaluate(context(inventory(keys=keys))))


def test_enabled_key_passes() -> None:
    k = key()
    result = run(k)[k.uid]
    assert result.status is Status.PASS
    assert result.evidence["pending_version_count"] == 0


def test_key_pending_deletion_fails_with_its_date() -> None:
    when = NOW + timedelta(days=9)
    k = key(state=KeyState.PENDING_DELETION, scheduled_deletion=when, deletion_window_days=30)
    result = run(k)[k.uid]
    assert result.status is Status.FAIL
    assert "scheduled for deletion on 2026-12-01" in result.message
    assert result.evidence["days_until_deletion"] == 9
    assert result.evidence["deletion_window_days"] == 30


def test_key_pending_deletion_without_a_date_still_fails() -> None:
    k = key(state=KeyState.PENDING_DELETION)
    result = run(k)[k.uid]
    assert result.status is Status.FAIL
    assert "an unknown date" in result.message


def test_destroy_scheduled_versions_are_named() -> None:
    k = key(
        "g1",
        provider=Provider.GCP,
        uid=GCP_KEY,
        scope="p1",
        versions=(
            KeyVersion(uid=f"{GCP_KEY}/cryptoKeyVersions/1", state=KeyState.ENABLED),
            KeyVersion(
                uid=f"{GCP_KEY}/cryptoKeyVersions/2",
                state=KeyState.PENDING_DELETION,
                scheduled_destruction=NOW + timedelta(days=1),
            ),
        ),
    )
    result = run(k)[k.uid]
    assert result.status is Status.FAIL
    assert "1 version(s) scheduled for destruction: 2 (2026-11-23)" in result.message
    assert result.evidence["pending_versions"] == [
        {
            "uid": f"{GCP_KEY}/cryptoKeyVersions/2",
            "scheduled_destruction": (NOW + timedelta(days=1)).isoformat(),
        }
    ]


def test_many_pending_versions_are_capped_in_message_and_evidence() -> None:
    versions = tuple(KeyVersion(uid=f"v/{i}", state=KeyState.PENDING_DELETION) for i in range(60))
    k = key(versions=versions)
    result = run(k)[k.uid]
    assert "and 55 more" in result.message
    assert len(result.evidence["pending_versions"]) == 50
    assert result.evidence["pending_version_count"] == 60


def test_unknown_state_is_unknown() -> None:
    k = key(state=None)
    result = run(k)[k.uid]
    assert result.status is Status.UNKNOWN
    assert "state" in result.message


def test_unreadable_versions_are_unknown() -> None:
    k = key(unreadable=frozenset({KeyAspect.VERSIONS}))
    assert run(k)[k.uid].status is Status.UNKNOWN


def test_pending_version_fails_even_when_the_key_state_is_unknown() -> None:
    k = key(state=None, versions=(KeyVersion(uid="v/1", state=KeyState.PENDING_DELETION),))
    assert run(k)[k.uid].status is Status.FAIL


def test_disabled_key_is_not_pending_deletion() -> None:
    k = key(state=KeyState.DISABLED)
    assert run(k)[k.uid].status is Status.PASS


def test_destroyed_and_provider_managed_keys_are_not_judged() -> None:
    destroyed = key("d", state=KeyState.DESTROYED)
    managed = key("m", manager=KeyManager.PROVIDER, state=KeyState.PENDING_DELETION)
    assert run(destroyed, managed) == {}
