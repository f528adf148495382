from rules import key_origin_allowed as rule
from scanner.inventory import KeyOrigin
from scanner.rule import Status
from tests.factories import context, inventory, key, resource, results_by_uid

POLICY = {"ai_workloads": {"allowed_origins": ["imported", "external"]}}


def _run(keys, resources=(), policy=POLICY):
    return results_by_uid(rule.evaluate(context(inventory(keys=keys, resources=resources), policy)))


def test_ai_keys_need_byok_or_hyok_other_keys_any_origin() -> None:
    ai_generated = key("aig")
    ai_imported = key("aii", origin=KeyOrigin.IMPORTED)
    plain = key("plain")
    resources = (resource("endpoint-config/a", keys=(ai_generated.uid, ai_imported.uid)),)
    results = _run((ai_generated, ai_imported, plain), resources)
    assert results[ai_generated.uid].status is Status.FAIL
    assert "ai_workloads.allowed_origins" in results[ai_generated.uid].message
    assert results[ai_imported.uid].status is Status.PASS
    assert (
        results[plain.uid].status is Status.PASS
        and results[plain.uid].evidence["protects_ai_workloads"] is False
    )


def test_general_origin_policy_and_unread_origin() -> None:
    imported = key("imp", origin=KeyOrigin.IMPORTED)
    unread = key("unread", origin=None)
    results = _run((imported, unread), policy={"origins": {"allowed": ["generated"]}})
    assert results[imported.uid].status is Status.FAIL
    assert results[unread.uid].status is Status.UNKNOWN


def test_an_unreported_origin_passes_only_when_every_origin_is_allowed() -> None:
    azure = key("az", origin=None)
    assert _run((azure,), policy={})[azure.uid].status is Status.PASS
    assert (
        _run((azure,), resources=(resource("endpoint-config/a", keys=(azure.uid,)),))[azure.uid].status
        is Status.UNKNOWN
    )


def test_a_key_whose_metadata_was_unreadable_is_never_a_pass() -> None:
    from scanner.inventory import KeyAspect

    unread = key("unread", origin=None, unreadable=frozenset({KeyAspect.METADATA}))
    assert _run((unread,), policy={})[unread.uid].status is Status.UNKNOWN
