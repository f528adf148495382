import json
from typing import Any

import pytest

from rules import key_users_limited as rule
from scanner.inventory import (
    USE_CAPABILITIES,
    BindingSource,
    Capability,
    KeyAspect,
    KeyManager,
    KeyState,
    PrincipalKind,
    ScopeLevel,
)
from scanner.rule import Status
from tests.factories import ACCOUNT, binding, key, principal
from tests.rules.sod_setup import ADMIN, K1, UNREADABLE_ACCESS, key_runner

run = key_runner(rule)


def _role(i: int) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/app-{i:02}"


def _users(n: int, cap: Capability = Capability.DECRYPT) -> tuple:
    return tuple(binding(_role(i), K1.uid, cap) for i in range(n))


def _limit(n: int | None) -> dict[str, Any]:
    return {"segregation": {"max_key_users": n}}


def test_exactly_at_the_default_threshold_of_three_passes() -> None:
    result = run(*_users(3))[K1.uid]
    assert result.status is Status.PASS
    assert result.evidence["user_count"] == 3 and result.evidence["max_key_users"] == 3
    assert [u["uid"] for u in result.evidence["users"]] == [_role(0), _role(1), _role(2)]


def test_one_above_the_default_threshold_fails() -> None:
    result = run(*_users(4))[K1.uid]
    assert result.status is Status.FAIL
    assert "4 principals" in result.message and "maximum of 3" in result.message
    assert _role(0) in result.message and "and 1 more" in result.message
    assert result.evidence["user_count"] == 4
    # A failure lists who can use the key and how (where each grant comes from is key_users_declared's).
    assert {"uid", "kind", "capabilities"} <= set(result.evidence["users"][0])
    json.dumps(result.evidence)


@pytest.mark.parametrize(
    ("limit", "count", "status"), [(1, 1, Status.PASS), (1, 2, Status.FAIL), (5, 5, Status.PASS)]
)
def test_the_threshold_comes_from_the_policy(limit: int, count: int, status: Status) -> None:
    result = run(*_users(count), policy=_limit(limit))[K1.uid]
    assert result.status is status
    assert result.evidence["max_key_users"] == limit


def test_null_threshold_disables_the_rule() -> None:
    assert run(*_users(10), policy=_limit(None)) == {}


@pytest.mark.parametrize("cap", sorted(USE_CAPABILITIES))
def test_every_use_capability_makes_a_user(cap: Capability) -> None:
    assert run(*_users(4, cap))[K1.uid].status is Status.FAIL


@pytest.mark.parametrize(
    "cap", [Capability.VERIFY, Capability.READ_METADATA, Capability.ADMINISTER_ACCESS, Capability.DESTROY]
)
def test_capabilities_that_are_not_use_do_not_count(cap: Capability) -> None:
    result = run(*_users(3), *(binding(f"{ADMIN}{i}", K1.uid, cap) for i in range(3)))[K1.uid]
    assert result.status is Status.PASS
    assert result.evidence["user_count"] == 3


def test_a_principal_is_counted_once_across_levels_and_sources() -> None:
    app = _role(0)
    grants = (
        binding(app, K1.uid, Capability.ENCRYPT),
        binding(
            app, ACCOUNT, Capability.DECRYPT, level=ScopeLevel.SCOPE, source=BindingSource.IDENTITY_POLICY
        ),
        binding(app, K1.uid, Capability.DECRYPT, source=BindingSource.GRANT),
        *_users(3)[1:],
    )
    result = run(*grants)[K1.uid]
    assert result.status is Status.PASS
    assert result.evidence["user_count"] == 3


def test_users_inherited_from_scope_level_count() -> None:
    broad = binding(
        _role(9), ACCOUNT, Capability.DECRYPT, level=ScopeLevel.SCOPE, source=BindingSource.IDENTITY_POLICY
    )
    assert run(*_users(3), broad)[K1.uid].status is Status.FAIL


def test_a_group_counts_as_one_principal_and_conditional_grants_count() -> None:
    group = "group:payments-apps@example.com"
    grants = (*_users(3), binding(group, K1.uid, Capability.ENCRYPT, conditional=True))
    result = run(*grants, principals=(principal(group, PrincipalKind.GROUP),))[K1.uid]
    assert result.status is Status.FAIL
    assert result.evidence["user_count"] == 4
    [entry] = [u for u in result.evidence["users"] if u["uid"] == group]
    assert (entry["uid"], entry["kind"]) == (group, "group")


def test_service_principals_are_listed_but_not_counted() -> None:
    services = ("cloudtrail.amazonaws.com", "logs.amazonaws.com")
    people = tuple(principal(uid, PrincipalKind.SERVICE) for uid in services)
    grants = (*_users(3), *(binding(uid, K1.uid, Capability.ENCRYPT, Capability.DECRYPT) for uid in services))
    result = run(*grants, principals=people)[K1.uid]
    assert result.status is Status.PASS
    assert result.evidence["user_count"] == 3
    assert result.evidence["excluded_service_principal_count"] == 2
    assert result.evidence["excluded_service_principals"] == sorted(services)
    assert all(u["uid"] not in services for u in result.evidence["users"])


def test_workload_identities_and_unknown_principals_count() -> None:
    sa = "serviceAccount:app@example-payments-prod.iam.gserviceaccount.com"
    deleted = "deleted:serviceAccount:old@example.iam.gserviceaccount.com?uid=1"
    people = (principal(sa, PrincipalKind.ROLE), principal(deleted, PrincipalKind.UNKNOWN))
    grants = (
        *_users(2),
        binding(sa, K1.uid, Capability.DECRYPT),
        binding(deleted, K1.uid, Capability.DECRYPT),
    )
    result = run(*grants, principals=people)[K1.uid]
    assert result.status is Status.FAIL
    assert result.evidence["user_count"] == 4


def test_a_key_without_users_passes() -> None:
    result = run(binding(ADMIN, K1.uid, Capability.ADMINISTER_ACCESS))[K1.uid]
    assert result.status is Status.PASS
    assert result.evidence["user_count"] == 0


@pytest.mark.parametrize("parts", UNREADABLE_ACCESS)
def test_unreadable_access_within_the_threshold_is_unknown(parts: dict[str, Any]) -> None:
    result = run(*_users(3), **parts)[K1.uid]
    assert result.status is Status.UNKNOWN
    assert "how many principals can use it" in result.message


@pytest.mark.parametrize("parts", UNREADABLE_ACCESS)
def test_unreadable_access_already_above_the_threshold_fails(parts: dict[str, Any]) -> None:
    result = run(*_users(4), **parts)[K1.uid]
    assert result.status is Status.FAIL
    assert "there may be more" in result.message
    assert result.evidence["unreadable"]


def test_unreadable_key_access_alone_is_enough_for_unknown() -> None:
    unread = key("k1", unreadable=frozenset({KeyAspect.ACCESS}))
    assert run(keys=(unread,))[unread.uid].status is Status.UNKNOWN


def test_users_are_capped_at_50_in_the_evidence() -> None:
    result = run(*_users(55))[K1.uid]
    assert result.evidence["user_count"] == 55
    assert len(result.evidence["users"]) == 50


def test_provider_managed_and_destroyed_keys_get_no_result() -> None:
    managed = key("aws-managed", manager=KeyManager.PROVIDER)
    gone = key("gone", state=KeyState.DESTROYED)
    grants = tuple(binding(_role(i), k.uid, Capability.DECRYPT) for k in (managed, gone) for i in range(5))
    assert set(run(*grants, keys=(K1, managed, gone))) == {K1.uid}
