from rules import ai_resource_uses_customer_managed_key as rule
from scanner.inventory import Encryption, ResourceAspect
from scanner.rule import Status
from tests.factories import context, inventory, resource, results_by_uid


def _results(*resources, policy=None):
    return results_by_uid(rule.evaluate(context(inventory(resources=resources), policy)))


def test_customer_managed_passes_provider_managed_fails_unread_is_unknown() -> None:
    cmk = resource("endpoint-config/cmk")
    owned = resource("endpoint-config/aws-owned", encryption=Encryption.PROVIDER_MANAGED, keys=())
    unread = resource(
        "endpoint-config/unread", encryption=None, keys=(), unreadable=frozenset({ResourceAspect.ENCRYPTION})
    )
    results = _results(cmk, owned, unread)
    assert results[cmk.uid].status is Status.PASS and results[cmk.uid].evidence["keys"] == list(cmk.keys)
    assert results[owned.uid].status is Status.FAIL and "provider's own key" in results[owned.uid].message
    assert results[unread.uid].status is Status.UNKNOWN


def test_non_ai_resources_are_not_judged_and_the_policy_can_allow_provider_keys() -> None:
    bucket = resource(
        "bucket/b", ai_service=None, service="s3", encryption=Encryption.PROVIDER_MANAGED, keys=()
    )
    owned = resource("endpoint-config/aws-owned", encryption=Encryption.PROVIDER_MANAGED, keys=())
    results = _results(bucket, owned, policy={"ai_workloads": {"require_customer_managed_keys": False}})
    assert bucket.uid not in results
    assert (
        results[owned.uid].status is Status.PASS
        and results[owned.uid].evidence["required_by_policy"] is False
    )


def test_customer_managed_without_a_key_reference_is_unknown_not_a_pass() -> None:
    odd = resource("endpoint-config/odd", keys=())
    assert _results(odd)[odd.uid].status is Status.UNKNOWN
