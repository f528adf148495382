import json
from typing import Any

import pytest

from rules import key_users_declared as rule
from scanner.inventory import (
    USE_CAPABILITIES,
    BindingSource,
    Capability,
    KeyState,
    PrincipalKind,
    ScopeLevel,
)
from scanner.rule import Status
from tests.factories import binding, key, principal, scope
from tests.rules.sod_setup import ADMIN, APP, K1, UNREADABLE_ACCESS, key_runner

ROGUE = "arn:aws:iam::111122223333:role/Analyst"
DECLARED = {"roles": {"key_users": {"members": [APP]}}}

run = key_runner(rule, DECLARED)


def test_passes_when_every_user_is_declared() -> None:
    result = run(binding(APP, K1.uid, Capability.ENCRYPT, Capability.DECRYPT))[K1.uid]
    assert result.status is Status.PASS
    assert result.evidence["user_count"] == 1
    assert result.evidence["users"][0]["capabilities"] == ["decrypt", "encrypt"]


def test_passes_when_the_key_has_no_users() -> None:
    result = run(binding(ADMIN, K1.uid, Capability.MANAGE_LIFECYCLE))[K1.uid]
    assert result.status is Status.PASS
    assert "no users" in result.message


@pytest.mark.parametrize("cap", sorted(USE_CAPABILITIES))
def test_any_use_capability_makes_a_user_that_must_be_declared(cap: Capability) -> None:
    result = run(binding(APP, K1.uid, Capability.DECRYPT), binding(ROGUE, K1.uid, cap))[K1.uid]
    assert result.status is Status.FAIL
    assert ROGUE in result.message and APP not in result.message
    assert result.evidence["undeclared_users"][0]["capabilities"] == [cap.value]


@pytest.mark.parametrize("cap", [Capability.VERIFY, Capability.EXPORT, Capability.READ_METADATA])
def test_capabilities_that_are_not_use_need_no_declaration(cap: Capability) -> None:
    result = run(binding(ROGUE, K1.uid, cap), binding(ADMIN, K1.uid, Capability.DESTROY))[K1.uid]
    assert result.status is Status.PASS
    assert result.evidence["user_count"] == 0


def test_failure_explains_where_the_undeclared_use_comes_from() -> None:
    result = run(
        binding(
            ROGUE,
            "o-abc123",
            Capability.DECRYPT,
            level=ScopeLevel.ORGANIZATION,
            source=BindingSource.IAM_POLICY,
            inherited_from="o-abc123",
            via="roles/cloudkms.cryptoKeyDecrypter",
        ),
        binding(ROGUE, K1.uid, Capability.MANAGE_LIFECYCLE),  # admin-only binding: not use provenance
        principals=(principal(ROGUE, PrincipalKind.GROUP),),
        scopes=(scope(parents=({"kind": "aws_organization", "uid": "o-abc123"},)),),
    )[K1.uid]
    assert result.status is Status.FAIL
    [entry] = result.evidence["undeclared_users"]
    assert entry["kind"] == "group"
    assert entry["capabilities"] == ["decrypt", "manage_lifecycle"]
    assert entry["sources"] == [
        {
            "source": "iam_policy",
            "level": "organization",
            "target": "o-abc123",
            "inherited_from": "o-abc123",
            "via": "roles/cloudkms.cryptoKeyDecrypter",
            "capabilities": ["decrypt"],
        }
    ]
    json.dumps(result.evidence)


def test_being_declared_as_administrator_does_not_declare_a_user() -> None:
    policy = {"roles": {"key_administrators": {"members": [ROGUE]}}}
    result = run(binding(ROGUE, K1.uid, Capability.SIGN), policy=policy)[K1.uid]
    assert result.status is Status.FAIL
    assert "declares nobody" in result.message


def test_declared_through_an_alias() -> None:
    result = run(
        binding(ROGUE, K1.uid, Capability.DECRYPT),
        principals=(principal(ROGUE, PrincipalKind.ROLE, aliases=("analytics-reader",)),),
        policy={"roles": {"key_users": {"members": ["analytics-*"]}}},
    )[K1.uid]
    assert result.status is Status.PASS


def test_undeclared_users_are_capped_at_50_in_the_evidence() -> None:
    many = [f"arn:aws:iam::111122223333:role/U{i:03}" for i in range(55)]
    result = run(*(binding(uid, K1.uid, Capability.ENCRYPT) for uid in many))[K1.uid]
    assert result.status is Status.FAIL
    assert result.evidence["undeclared_user_count"] == 55
    assert len(result.evidence["undeclared_users"]) == 50
    assert "and 52 more" in result.message


@pytest.mark.parametrize("parts", UNREADABLE_ACCESS)
def test_unreadable_access_is_unknown(parts: dict[str, Any]) -> None:
    result = run(binding(APP, K1.uid, Capability.DECRYPT), **parts)[K1.uid]
    assert result.status is Status.UNKNOWN
    assert "key_users" in result.message


def test_destroyed_keys_get_no_result() -> None:
    gone = key("gone", state=KeyState.DESTROYED)
    results = run(binding(ROGUE, gone.uid, Capability.DECRYPT), keys=(K1, gone))
    assert set(results) == {K1.uid}
