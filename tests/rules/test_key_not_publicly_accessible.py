from rules import key_not_publicly_accessible
from scanner.inventory import (
    BindingSource,
    Capability,
    KeyAspect,
    KeyState,
    KeyStoreAspect,
    KeyStoreKind,
    PrincipalKind,
    Provider,
    ScopeLevel,
)
from scanner.rule import Status
from tests.factories import ACCOUNT, binding, context, inventory, key, principal, results_by_uid, scope, store

PUBLIC = principal("*", PrincipalKind.PUBLIC)
ANY_AUTH = principal("allAuthenticatedUsers", PrincipalKind.AUTHENTICATED_ANY)
ROLE = principal(f"arn:aws:iam::{ACCOUNT}:role/App")


def run(inv):
    return results_by_uid(key_not_publicly_accessible.evaluate(context(inv)))


def test_key_without_public_grants_passes() -> None:
    k = key()
    inv = inventory(
        keys=(k,), principals=(ROLE, PUBLIC), bindings=(binding(ROLE.uid, k.uid, Capability.DECRYPT),)
    )
    result = run(inv)[k.uid]
    assert result.status is Status.PASS
    assert result.evidence["public_binding_count"] == 0


def test_unconditional_public_grant_fails_naming_principal_and_capabilities() -> None:
    k = key()
    inv = inventory(
        keys=(k,),
        principals=(PUBLIC,),
        bindings=(binding(PUBLIC.uid, k.uid, Capability.DECRYPT, Capability.ENCRYPT),),
    )
    result = run(inv)[k.uid]
    assert result.status is Status.FAIL
    assert "open to *" in result.message
    assert "decrypt, encrypt" in result.message
    assert result.evidence["public_bindings"][0]["kind"] == "public"


def test_conditional_public_grant_passes_but_is_reported() -> None:
    k = key()
    inv = inventory(
        keys=(k,),
        principals=(PUBLIC,),
        bindings=(binding(PUBLIC.uid, k.uid, Capability.DECRYPT, conditional=True),),
    )
    result = run(inv)[k.uid]
    assert result.status is Status.PASS
    assert result.evidence["conditional_public_binding_count"] == 1
    assert result.evidence["conditional_public_bindings"][0]["principal"] == "*"


def test_any_authenticated_on_the_key_ring_fails_the_gcp_key() -> None:
    ring = "projects/p1/locations/europe/keyRings/r"
    k = key(
        "g1", provider=Provider.GCP, uid=f"{ring}/cryptoKeys/g1", scope="p1", store=ring, location="europe"
    )
    inv = inventory(
        scopes=(scope("p1", Provider.GCP),),
        key_stores=(store(ring, Provider.GCP, kind=KeyStoreKind.GCP_KEY_RING, scope="p1"),),
        keys=(k,),
        principals=(ANY_AUTH,),
        bindings=(
            binding(
                ANY_AUTH.uid,
                ring,
                Capability.ENCRYPT,
                level=ScopeLevel.KEY_STORE,
                source=BindingSource.IAM_POLICY,
                provider=Provider.GCP,
                scope="p1",
            ),
        ),
    )
    result = run(inv)[k.uid]
    assert result.status is Status.FAIL
    assert result.evidence["public_bindings"][0]["level"] == "key_store"


def test_public_grant_on_another_key_does_not_leak() -> None:
    open_key, closed = key("open"), key("closed")
    inv = inventory(
        keys=(open_key, closed),
        principals=(PUBLIC,),
        bindings=(binding(PUBLIC.uid, open_key.uid, Capability.DECRYPT),),
    )
    results = run(inv)
    assert results[open_key.uid].status is Status.FAIL
    assert results[closed.uid].status is Status.PASS


def test_unreadable_key_access_is_unknown() -> None:
    k = key(unreadable=frozenset({KeyAspect.ACCESS}))
    result = run(inventory(keys=(k,)))[k.uid]
    assert result.status is Status.UNKNOWN
    assert result.evidence["access_unreadable"] is True


def test_unreadable_store_access_is_unknown() -> None:
    k = key(store="vault1")
    inv = inventory(keys=(k,), key_stores=(store("vault1", unreadable=frozenset({KeyStoreAspect.ACCESS})),))
    assert run(inv)[k.uid].status is Status.UNKNOWN


def test_known_public_grant_fails_even_when_part_of_the_access_is_unreadable() -> None:
    k = key(unreadable=frozenset({KeyAspect.ACCESS}))
    inv = inventory(keys=(k,), principals=(PUBLIC,), bindings=(binding(PUBLIC.uid, k.uid, Capability.SIGN),))
    assert run(inv)[k.uid].status is Status.FAIL


def test_public_principal_list_is_capped() -> None:
    k = key()
    publics = tuple(principal(f"anon{i}", PrincipalKind.PUBLIC) for i in range(60))
    inv = inventory(
        keys=(k,),
        principals=publics,
        bindings=tuple(binding(p.uid, k.uid, Capability.DECRYPT) for p in publics),
    )
    result = run(inv)[k.uid]
    assert len(result.evidence["public_bindings"]) == 50
    assert result.evidence["public_binding_count"] == 60
    assert "and 57 more" in result.message


def test_destroyed_keys_are_not_judged() -> None:
    k = key(state=KeyState.DESTROYED)
    inv = inventory(
        keys=(k,), principals=(PUBLIC,), bindings=(binding(PUBLIC.uid, k.uid, Capability.DECRYPT),)
    )
    assert run(inv) == {}
