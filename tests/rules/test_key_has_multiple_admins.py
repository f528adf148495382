import json
from typing import Any

import pytest

from rules import key_has_multiple_admins as rule
from scanner.inventory import (
    ADMIN_CAPABILITIES,
    AccessBinding,
    Capability,
    KeyState,
    PrincipalKind,
    ScopeLevel,
)
from scanner.rule import Status
from tests.factories import ACCOUNT, binding, key, principal
from tests.rules.sod_setup import ADMIN as A1
from tests.rules.sod_setup import K1, UNREADABLE_ACCESS, key_runner

A2 = "arn:aws:iam::111122223333:role/BreakGlass"
A3 = "arn:aws:iam::111122223333:role/SecOps"

run = key_runner(rule)


def admin(uid: str, target: str = K1.uid, **kw: Any) -> AccessBinding:
    return binding(uid, target, Capability.MANAGE_LIFECYCLE, **kw)


def test_exactly_the_default_minimum_of_two_passes() -> None:
    result = run(admin(A1), admin(A2), policy_file=False)[K1.uid]
    assert result.status is Status.PASS
    assert result.evidence["administrator_count"] == 2
    assert result.evidence["min_administrators"] == 2
    assert [p["uid"] for p in result.evidence["administrators"]] == sorted([A1, A2])
    assert all("sources" not in p for p in result.evidence["administrators"])


def test_a_single_administrator_fails_and_is_named_with_its_sources() -> None:
    result = run(admin(A1), binding(A2, K1.uid, Capability.DECRYPT, Capability.READ_METADATA))[K1.uid]
    assert result.status is Status.FAIL
    assert A1 in result.message and "minimum of 2" in result.message
    assert A2 not in result.message  # a user is not an administrator
    [entry] = result.evidence["administrators"]
    assert entry["uid"] == A1
    assert entry["sources"][0]["level"] == "key"
    assert entry["source_count"] == 1


def test_no_administrator_means_an_unmanageable_key() -> None:
    result = run(binding(A1, K1.uid, Capability.DECRYPT))[K1.uid]
    assert result.status is Status.FAIL
    assert "no administrator" in result.message and "unmanageable" in result.message
    assert result.evidence["administrator_count"] == 0
    assert result.evidence["administrators"] == []


@pytest.mark.parametrize(("count", "status"), [(2, Status.FAIL), (3, Status.PASS)])
def test_policy_minimum_is_honoured_at_the_boundary(count: int, status: Status) -> None:
    bindings = [admin(uid) for uid in (A1, A2, A3)[:count]]
    result = run(*bindings, policy={"segregation": {"min_administrators": 3}})[K1.uid]
    assert result.status is status
    assert result.evidence["min_administrators"] == 3


@pytest.mark.parametrize("cap", sorted(ADMIN_CAPABILITIES))
def test_every_admin_capability_makes_an_administrator(cap: Capability) -> None:
    result = run(admin(A1), binding(A2, K1.uid, cap))[K1.uid]
    assert result.status is Status.PASS


def test_the_same_principal_through_several_bindings_counts_once() -> None:
    result = run(
        admin(A1),
        binding(A1, ACCOUNT, Capability.DESTROY, level=ScopeLevel.SCOPE),
        binding(A1, K1.uid, Capability.ADMINISTER_ACCESS),
    )[K1.uid]
    assert result.status is Status.FAIL
    assert result.evidence["administrator_count"] == 1
    assert result.evidence["administrators"][0]["source_count"] == 3


def test_anonymous_principals_are_not_counted() -> None:
    result = run(
        admin(A1),
        admin("*"),
        admin("allAuthenticatedUsers"),
        principals=(
            principal("*", PrincipalKind.PUBLIC),
            principal("allAuthenticatedUsers", PrincipalKind.AUTHENTICATED_ANY),
        ),
    )[K1.uid]
    assert result.status is Status.FAIL
    assert result.evidence["administrator_count"] == 1
    assert result.evidence["excluded_anonymous"] == ["*", "allAuthenticatedUsers"]


def test_only_anonymous_administrators_still_leave_the_key_unmanageable() -> None:
    result = run(admin("*"), principals=(principal("*", PrincipalKind.PUBLIC),))[K1.uid]
    assert result.status is Status.FAIL
    assert "unmanageable" in result.message and "anonymous" in result.message


def test_counting_does_not_depend_on_binding_order() -> None:
    bindings = [admin(A2), binding(A1, ACCOUNT, Capability.DESTROY, level=ScopeLevel.SCOPE), admin(A1)]
    forward = run(*bindings, policy={"segregation": {"min_administrators": 3}})[K1.uid]
    backward = run(*reversed(bindings), policy={"segregation": {"min_administrators": 3}})[K1.uid]
    assert forward.message == backward.message
    assert forward.evidence == backward.evidence


@pytest.mark.parametrize("parts", UNREADABLE_ACCESS)
def test_unreadable_access_is_unknown_even_with_enough_visible_admins(parts: dict[str, Any]) -> None:
    result = run(admin(A1), admin(A2), admin(A3), **parts)[K1.uid]
    assert result.status is Status.UNKNOWN
    assert "how many administrators" in result.message
    json.dumps(result.evidence)


def test_destroyed_keys_get_no_result() -> None:
    gone = key("gone", state=KeyState.DESTROYED)
    results = run(admin(A1, K1.uid), keys=(K1, gone))
    assert set(results) == {K1.uid}
