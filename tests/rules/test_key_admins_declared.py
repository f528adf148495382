import json
from typing import Any

import pytest

from rules import key_admins_declared as rule
from scanner.inventory import (
    BindingSource,
    Capability,
    KeyState,
    PrincipalKind,
    ScopeLevel,
)
from scanner.rule import Status
from tests.factories import ACCOUNT, binding, key, principal
from tests.rules.sod_setup import ADMIN, APP, K1, UNREADABLE_ACCESS, key_runner

ROGUE = "arn:aws:iam::111122223333:role/Legacy"
DECLARED = {"roles": {"key_administrators": {"members": [ADMIN]}}}

run = key_runner(rule, DECLARED)


def test_passes_when_every_administrator_is_declared() -> None:
    result = run(binding(ADMIN, K1.uid, Capability.ADMINISTER_ACCESS, Capability.DESTROY))[K1.uid]
    assert result.status is Status.PASS
    assert result.evidence["administrator_count"] == 1
    assert [entry["uid"] for entry in result.evidence["administrators"]] == [ADMIN]
    assert [p["uid"] for p in result.evidence["administrators"]] == [ADMIN]


def test_passes_when_the_key_has_no_administrators() -> None:
    result = run(binding(APP, K1.uid, Capability.DECRYPT))[K1.uid]
    assert result.status is Status.PASS
    assert "no administrators" in result.message


def test_fails_naming_the_undeclared_administrator_and_where_its_access_comes_from() -> None:
    result = run(
        binding(ADMIN, K1.uid, Capability.MANAGE_LIFECYCLE),
        binding(
            ROGUE,
            ACCOUNT,
            Capability.IMPORT_MATERIAL,
            Capability.READ_METADATA,
            level=ScopeLevel.SCOPE,
            source=BindingSource.IDENTITY_POLICY,
            via="policy/OldAdmin",
        ),
        binding(ROGUE, K1.uid, Capability.READ_METADATA),  # not an admin binding: not provenance
        principals=(principal(ROGUE, PrincipalKind.ROLE),),
    )[K1.uid]
    assert result.status is Status.FAIL
    assert ROGUE in result.message and ADMIN not in result.message
    assert result.evidence["undeclared_administrator_count"] == 1
    [entry] = result.evidence["undeclared_administrators"]
    assert entry["uid"] == ROGUE and entry["kind"] == "role"
    assert entry["capabilities"] == ["import_material", "read_metadata"]
    assert [(s["source"], s["level"], s["via"]) for s in entry["sources"]] == [
        ("identity_policy", "scope", "policy/OldAdmin")
    ]
    json.dumps(result.evidence)


def test_a_user_only_principal_is_not_judged_here() -> None:
    result = run(binding(ADMIN, K1.uid, Capability.DESTROY), binding(APP, K1.uid, Capability.DECRYPT))[K1.uid]
    assert result.status is Status.PASS


def test_being_declared_as_a_key_user_does_not_declare_an_administrator() -> None:
    policy = {"roles": {"key_users": {"members": [ROGUE]}, "key_administrators": {"members": [ADMIN]}}}
    result = run(binding(ROGUE, K1.uid, Capability.MANAGE_LIFECYCLE), policy=policy)[K1.uid]
    assert result.status is Status.FAIL


@pytest.mark.parametrize(
    "role",
    [
        {"members": ["ana@example.com"]},  # an alias of the principal
        {"members": ["arn:aws:iam::111122223333:role/*"]},  # a glob
        {"members": ["someone-else"], "alternates": [ROGUE]},  # an alternate
        {"members": [ROGUE.upper()]},  # case does not matter
    ],
    ids=["alias", "glob", "alternate", "case"],
)
def test_declarations_match_aliases_globs_and_alternates(role: dict[str, Any]) -> None:
    result = run(
        binding(ROGUE, K1.uid, Capability.MANAGE_LIFECYCLE),
        principals=(principal(ROGUE, PrincipalKind.USER, aliases=("ana@example.com",)),),
        policy={"roles": {"key_administrators": role}},
    )[K1.uid]
    assert result.status is Status.PASS


def test_an_empty_role_fails_every_administered_key_and_says_so() -> None:
    result = run(binding(ADMIN, K1.uid, Capability.MANAGE_LIFECYCLE), policy={})[K1.uid]
    assert result.status is Status.FAIL
    assert "declares nobody" in result.message


def test_verdict_does_not_depend_on_binding_order() -> None:
    bindings = [
        binding(ROGUE, K1.uid, Capability.DESTROY),
        binding(ADMIN, K1.uid, Capability.DESTROY),
        binding("arn:aws:iam::111122223333:user/bob", K1.uid, Capability.ADMINISTER_ACCESS),
    ]
    forward = run(*bindings)[K1.uid]
    backward = run(*reversed(bindings))[K1.uid]
    assert forward.status is Status.FAIL
    assert forward.message == backward.message
    assert forward.evidence == backward.evidence


@pytest.mark.parametrize("parts", UNREADABLE_ACCESS)
def test_unreadable_access_is_unknown(parts: dict[str, Any]) -> None:
    result = run(binding(ADMIN, K1.uid, Capability.DESTROY), **parts)[K1.uid]
    assert result.status is Status.UNKNOWN
    assert "key_administrators" in result.message


def test_destroyed_keys_get_no_result() -> None:
    gone = key("gone", state=KeyState.DESTROYED)
    results = run(binding(ROGUE, gone.uid, Capability.DESTROY), keys=(K1, gone))
    assert set(results) == {K1.uid}
