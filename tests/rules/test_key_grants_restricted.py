import json

import pytest

from rules import key_grants_restricted
from scanner.inventory import BindingSource, Capability, KeyAspect, KeyState, PrincipalKind, ScopeLevel
from scanner.rule import Status
from tests.factories import ACCOUNT, binding, context, inventory, key, principal, results_by_uid

APP = principal(f"arn:aws:iam::{ACCOUNT}:role/app-worker")
PARTNER = principal("arn:aws:iam::777788889999:root", PrincipalKind.ACCOUNT, external=True)
ANYONE = principal("*", PrincipalKind.PUBLIC)
DELETED = principal("AROAEXAMPLEDELETED0001", PrincipalKind.UNKNOWN)
SERVICE = principal("rds.eu-west-1.amazonaws.com", PrincipalKind.SERVICE)
PRINCIPALS = (APP, PARTNER, ANYONE, DELETED, SERVICE)


def grant(who, target, *caps, via="grant g-1", **kw):
    return binding(who.uid, target, *caps, source=BindingSource.GRANT, via=via, **kw)


def run(*bindings, keys=None):
    keys = keys or (key(),)
    inv = inventory(keys=keys, principals=PRINCIPALS, bindings=bindings)
    return results_by_uid(key_grants_restricted.evaluate(context(inv)))


K = key()


def test_key_without_grants_passes_with_a_zero_count() -> None:
    result = run(binding(APP.uid, K.uid, Capability.DECRYPT))[K.uid]
    assert result.status is Status.PASS
    assert result.evidence["grant_count"] == 0
    assert "no grants" in result.message


def test_grants_to_internal_principals_pass() -> None:
    result = run(
        grant(APP, K.uid, Capability.ENCRYPT, Capability.DECRYPT),
        grant(SERVICE, K.uid, Capability.DECRYPT, via="grant rds"),
    )[K.uid]
    assert result.status is Status.PASS
    assert result.evidence["grant_count"] == 2
    assert result.evidence["grantees"] == sorted([APP.uid, SERVICE.uid])
    json.dumps(result.evidence)


def test_grant_to_an_external_account_fails_with_the_grant_in_evidence() -> None:
    result = run(
        grant(APP, K.uid, Capability.DECRYPT), grant(PARTNER, K.uid, Capability.DECRYPT, via="grant x1")
    )[K.uid]
    assert result.status is Status.FAIL
    assert PARTNER.uid in result.message
    assert "external principal" in result.message
    assert result.evidence["offending_grant_count"] == 1
    assert result.evidence["offending_grants"] == [
        {
            "principal": PARTNER.uid,
            "kind": "account",
            "external": True,
            "capabilities": ["decrypt"],
            "via": "grant x1",
            "reasons": ["external principal"],
        }
    ]
    json.dumps(result.evidence)


def test_grant_to_an_anonymous_principal_fails() -> None:
    result = run(grant(ANYONE, K.uid, Capability.DECRYPT))[K.uid]
    assert result.status is Status.FAIL
    assert "anonymous principal" in result.message


def test_grant_to_a_deleted_principal_fails() -> None:
    result = run(grant(DELETED, K.uid, Capability.ENCRYPT))[K.uid]
    assert result.status is Status.FAIL
    assert result.evidence["offending_grants"][0]["kind"] == "unknown"


def test_grantee_missing_from_the_principal_list_counts_as_unknown() -> None:
    result = run(binding("AIDAUNLISTED", K.uid, Capability.DECRYPT, source=BindingSource.GRANT))[K.uid]
    assert result.status is Status.FAIL
    assert "unknown or deleted principal" in result.message


def test_grant_allowing_re_delegation_fails_even_for_an_internal_principal() -> None:
    result = run(grant(APP, K.uid, Capability.DECRYPT, Capability.ADMINISTER_ACCESS))[K.uid]
    assert result.status is Status.FAIL
    assert "re-delegation" in result.message
    assert result.evidence["offending_grants"][0]["capabilities"] == ["administer_access", "decrypt"]


@pytest.mark.parametrize(
    "source", [BindingSource.KEY_POLICY, BindingSource.IDENTITY_POLICY, BindingSource.IAM_POLICY]
)
def test_access_from_other_sources_is_not_judged_here(source: BindingSource) -> None:
    result = run(
        binding(PARTNER.uid, K.uid, Capability.ADMINISTER_ACCESS, Capability.DECRYPT, source=source)
    )[K.uid]
    assert result.status is Status.PASS
    assert result.evidence["grant_count"] == 0


def test_unreadable_access_without_offending_grants_is_unknown() -> None:
    k = key(unreadable=frozenset({KeyAspect.ACCESS}))
    result = run(grant(APP, k.uid, Capability.DECRYPT), keys=(k,))[k.uid]
    assert result.status is Status.UNKNOWN
    assert result.evidence["access_unreadable"] is True


def test_unreadable_access_with_no_grants_read_is_unknown_not_pass() -> None:
    k = key(unreadable=frozenset({KeyAspect.ACCESS}))
    assert run(keys=(k,))[k.uid].status is Status.UNKNOWN


def test_offending_grant_read_before_the_failure_still_fails() -> None:
    k = key(unreadable=frozenset({KeyAspect.ACCESS}))
    assert run(grant(PARTNER, k.uid, Capability.DECRYPT), keys=(k,))[k.uid].status is Status.FAIL


def test_grants_on_another_key_do_not_leak() -> None:
    clean, shared = key("clean"), key("shared")
    results = run(grant(PARTNER, shared.uid, Capability.DECRYPT), keys=(clean, shared))
    assert results[shared.uid].status is Status.FAIL
    assert results[clean.uid].status is Status.PASS


def test_offending_grants_are_capped_sorted_and_counted() -> None:
    externals = tuple(
        principal(f"arn:aws:iam::9999000000{i:02d}:root", PrincipalKind.ACCOUNT, external=True)
        for i in range(60)
    )
    bindings = tuple(
        grant(p, K.uid, Capability.DECRYPT, via=f"grant g{i}") for i, p in enumerate(reversed(externals))
    )
    inv = inventory(keys=(K,), principals=externals, bindings=bindings)
    result = results_by_uid(key_grants_restricted.evaluate(context(inv)))[K.uid]
    assert result.status is Status.FAIL
    assert result.evidence["offending_grant_count"] == 60
    listed = result.evidence["offending_grants"]
    assert len(listed) == 50
    assert [g["principal"] for g in listed] == sorted(p.uid for p in externals)[:50]
    assert "and 57 more" in result.message


def test_verdict_does_not_depend_on_binding_order() -> None:
    bindings = [
        grant(PARTNER, K.uid, Capability.DECRYPT, via="grant b"),
        grant(DELETED, K.uid, Capability.ENCRYPT, via="grant a"),
    ]
    forward = run(*bindings)[K.uid]
    backward = run(*reversed(bindings))[K.uid]
    assert forward.message == backward.message
    assert forward.evidence == backward.evidence


def test_destroyed_keys_get_no_result() -> None:
    k = key(state=KeyState.DESTROYED)
    assert run(grant(PARTNER, k.uid, Capability.DECRYPT), keys=(k,)) == {}


def test_grant_on_the_key_store_level_is_still_a_grant() -> None:
    # Defensive: a provider attaching a delegation to the store still has it judged for the key.
    store_uid = "arn:aws:kms:eu-west-1:111122223333:keystore/default"
    k = key(store=store_uid)
    result = run(grant(PARTNER, store_uid, Capability.DECRYPT, level=ScopeLevel.KEY_STORE), keys=(k,))[k.uid]
    assert result.status is Status.FAIL
