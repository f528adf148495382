import json
from typing import Any

import pytest

from rules import key_admin_separated_from_use as rule
from scanner.inventory import (
    ADMIN_CAPABILITIES,
    USE_CAPABILITIES,
    BindingSource,
    Capability,
    KeyAspect,
    KeyManager,
    KeyState,
    KeyStoreAspect,
    PrincipalKind,
    ScopeAspect,
    ScopeKind,
    ScopeLevel,
    ScopeRef,
)
from scanner.rule import Status
from tests.factories import ACCOUNT, binding, key, principal, scope, store
from tests.rules.sod_setup import ADMIN, APP, K1, key_runner

OPS = "arn:aws:iam::111122223333:role/Ops"

run = key_runner(rule)


def test_passes_when_administrators_and_users_are_different_principals() -> None:
    result = run(
        binding(ADMIN, K1.uid, Capability.ADMINISTER_ACCESS, Capability.MANAGE_LIFECYCLE),
        binding(APP, K1.uid, Capability.ENCRYPT, Capability.DECRYPT),
    )[K1.uid]
    assert result.status is Status.PASS
    assert result.evidence["administrator_count"] == 1
    assert result.evidence["user_count"] == 1
    assert [p["uid"] for p in result.evidence["administrators"]] == [ADMIN]
    assert [p["uid"] for p in result.evidence["users"]] == [APP]
    assert "sources" not in result.evidence["administrators"][0]  # passing keys stay cheap


def test_passes_with_no_bindings_at_all() -> None:
    result = run()[K1.uid]
    assert result.status is Status.PASS
    assert result.evidence["administrator_count"] == result.evidence["user_count"] == 0


def test_fails_when_admin_and_use_come_from_different_sources_and_levels() -> None:
    result = run(
        binding(ADMIN, K1.uid, Capability.MANAGE_LIFECYCLE, source=BindingSource.KEY_POLICY),
        binding(
            ADMIN,
            ACCOUNT,
            Capability.DECRYPT,
            level=ScopeLevel.SCOPE,
            source=BindingSource.IDENTITY_POLICY,
            via="policy/AllKms",
        ),
        binding(APP, K1.uid, Capability.DECRYPT),
        principals=(principal(ADMIN, PrincipalKind.ROLE),),
    )[K1.uid]
    assert result.status is Status.FAIL
    assert ADMIN in result.message and "manage_lifecycle" in result.message and "decrypt" in result.message
    assert result.evidence["conflicting_principal_count"] == 1
    [entry] = result.evidence["conflicting_principals"]
    assert entry["uid"] == ADMIN
    assert entry["kind"] == "role"
    assert entry["capabilities"] == ["decrypt", "manage_lifecycle"]
    assert entry["admin_capabilities"] == ["manage_lifecycle"]
    assert entry["use_capabilities"] == ["decrypt"]
    assert entry["source_count"] == 2
    # Compact provenance: the target is given only when it is not the key itself.
    assert {(s["source"], s["level"], s.get("target", K1.uid), s.get("via")) for s in entry["sources"]} == {
        ("key_policy", "key", K1.uid, None),
        ("identity_policy", "scope", ACCOUNT, "policy/AllKms"),
    }


def test_verdict_and_evidence_do_not_depend_on_binding_order() -> None:
    bindings = [
        binding(OPS, K1.uid, Capability.SIGN),
        binding(ADMIN, K1.uid, Capability.ENCRYPT, source=BindingSource.GRANT, via="grant-1"),
        binding(
            OPS, ACCOUNT, Capability.DESTROY, level=ScopeLevel.SCOPE, source=BindingSource.IDENTITY_POLICY
        ),
        binding(ADMIN, K1.uid, Capability.ADMINISTER_ACCESS),
    ]
    forward = run(*bindings)[K1.uid]
    backward = run(*reversed(bindings))[K1.uid]
    assert forward.status is backward.status is Status.FAIL
    assert forward.message == backward.message
    assert forward.evidence == backward.evidence
    assert [p["uid"] for p in forward.evidence["conflicting_principals"]] == sorted([ADMIN, OPS])


@pytest.mark.parametrize("admin_cap", sorted(ADMIN_CAPABILITIES))
@pytest.mark.parametrize("use_cap", sorted(USE_CAPABILITIES))
def test_every_admin_capability_conflicts_with_every_use_capability(
    admin_cap: Capability, use_cap: Capability
) -> None:
    result = run(binding(OPS, K1.uid, admin_cap, use_cap))[K1.uid]
    assert result.status is Status.FAIL
    [entry] = result.evidence["conflicting_principals"]
    assert entry["admin_capabilities"] == [admin_cap.value]
    assert entry["use_capabilities"] == [use_cap.value]


@pytest.mark.parametrize("other", [Capability.VERIFY, Capability.EXPORT, Capability.READ_METADATA])
def test_verify_export_and_read_are_not_use(other: Capability) -> None:
    result = run(
        binding(ADMIN, K1.uid, *ADMIN_CAPABILITIES, other),
        binding(APP, K1.uid, Capability.DECRYPT, other),
    )[K1.uid]
    assert result.status is Status.PASS


def test_conflict_inherited_from_the_organization_and_the_key_store() -> None:
    org = ScopeRef(kind=ScopeKind.AWS_ORGANIZATION, uid="o-abc123")
    vault = store("vault1")
    k = key("k1", store=vault.uid)
    result = run(
        binding(
            OPS, org.uid, Capability.ADMINISTER_ACCESS, level=ScopeLevel.ORGANIZATION, inherited_from=org.uid
        ),
        binding(OPS, vault.uid, Capability.DECRYPT, level=ScopeLevel.KEY_STORE, source=BindingSource.RBAC),
        keys=(k,),
        key_stores=(vault,),
        scopes=(scope(parents=(org,)),),
    )[k.uid]
    assert result.status is Status.FAIL
    levels = {s["level"] for s in result.evidence["conflicting_principals"][0]["sources"]}
    assert levels == {"organization", "key_store"}
    assert result.evidence["conflicting_principals"][0]["sources"][1]["inherited_from"] == "o-abc123"


def test_bindings_on_another_key_do_not_count() -> None:
    k2 = key("k2")
    results = run(
        binding(ADMIN, K1.uid, Capability.MANAGE_LIFECYCLE),
        binding(ADMIN, k2.uid, Capability.DECRYPT),
        keys=(K1, k2),
    )
    assert results[K1.uid].status is Status.PASS
    assert results[k2.uid].status is Status.PASS


def test_principals_not_in_the_inventory_are_reported_with_unknown_kind() -> None:
    result = run(
        binding(ADMIN, K1.uid, Capability.DESTROY, Capability.SIGN),
        binding(OPS, K1.uid, Capability.DESTROY, Capability.SIGN),
        principals=(principal(OPS, PrincipalKind.USER),),
    )[K1.uid]
    kinds = {p["uid"]: p["kind"] for p in result.evidence["conflicting_principals"]}
    assert kinds == {ADMIN: "unknown", OPS: "user"}


def test_evidence_is_capped_at_50_principals_and_50_sources() -> None:
    many = [f"arn:aws:iam::111122223333:role/R{i:03}" for i in range(60)]
    grants = [
        binding(OPS, K1.uid, Capability.DECRYPT, source=BindingSource.GRANT, via=f"grant-{i:03}")
        for i in range(60)
    ]
    result = run(
        *(binding(uid, K1.uid, Capability.MANAGE_LIFECYCLE, Capability.DECRYPT) for uid in many),
        binding(OPS, K1.uid, Capability.MANAGE_LIFECYCLE),
        *grants,
    )[K1.uid]
    assert result.status is Status.FAIL
    assert result.evidence["conflicting_principal_count"] == 61
    listed = result.evidence["conflicting_principals"]
    assert len(listed) == 50
    assert [p["uid"] for p in listed] == sorted([*many, OPS])[:50]
    assert "and 58 more" in result.message
    ops = next(p for p in listed if p["uid"] == OPS)
    assert ops["source_count"] == 61
    assert len(ops["sources"]) == 50


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: ({"keys": (key("k1", unreadable=frozenset({KeyAspect.ACCESS})),)}), "policy and bindings"),
        (lambda: ({"scopes": (scope(unreadable=frozenset({ScopeAspect.ACCESS})),)}), "scope-wide"),
        (lambda: ({"scopes": (scope(unreadable=frozenset({ScopeAspect.HIERARCHY})),)}), "parents"),
        (
            lambda: {
                "keys": (key("k1", store="vault1"),),
                "key_stores": (store("vault1", unreadable=frozenset({KeyStoreAspect.ACCESS})),),
            },
            "vault1",
        ),
        (lambda: ({"scopes": ()}), "absent from the inventory"),
    ],
    ids=["key-access", "scope-access", "scope-hierarchy", "store-access", "scope-missing"],
)
def test_unreadable_access_is_unknown_never_pass_nor_fail(make: Any, expected: str) -> None:
    parts = make()
    keys = parts.pop("keys", (K1,))
    result = run(
        binding(ADMIN, keys[0].uid, Capability.MANAGE_LIFECYCLE, Capability.DECRYPT), keys=keys, **parts
    )[keys[0].uid]
    assert result.status is Status.UNKNOWN
    assert expected in result.message
    assert result.evidence["unreadable"]
    json.dumps(result.evidence)


def test_other_key_aspects_unreadable_do_not_block_the_verdict() -> None:
    k = key("k1", unreadable=frozenset({KeyAspect.ROTATION, KeyAspect.TAGS}))
    result = run(binding(ADMIN, k.uid, Capability.MANAGE_LIFECYCLE), keys=(k,))[k.uid]
    assert result.status is Status.PASS


def test_destroyed_and_provider_managed_keys_get_no_result_but_pending_deletion_does() -> None:
    destroyed = key("gone", state=KeyState.DESTROYED)
    managed = key("aws-managed", manager=KeyManager.PROVIDER)
    pending = key("pending", state=KeyState.PENDING_DELETION)
    keys = (destroyed, managed, pending)
    results = run(*(binding(OPS, k.uid, Capability.DESTROY, Capability.DECRYPT) for k in keys), keys=keys)
    assert set(results) == {pending.uid}
    assert results[pending.uid].status is Status.FAIL


def test_evidence_is_json_serialisable() -> None:
    results = run(
        binding(OPS, K1.uid, Capability.DESTROY, Capability.DECRYPT, conditional=True),
        binding(ADMIN, key("k2").uid, Capability.DESTROY),
        keys=(K1, key("k2")),
    )
    for result in results.values():
        json.dumps(result.evidence)
    assert results[K1.uid].evidence["conflicting_principals"][0]["sources"][0]["conditional"] is True
