import pytest

from rules import no_wildcard_key_admin as rule
from scanner.inventory import (
    BindingSource,
    Capability,
    PrincipalKind,
    Provider,
    ScopeAspect,
    ScopeKind,
    ScopeLevel,
    ScopeRef,
)
from scanner.rule import Status
from tests.factories import ACCOUNT, binding, key, principal, scope
from tests.rules.sod_setup import ADMIN, identity_policy, scope_runner

DEV = f"arn:aws:iam::{ACCOUNT}:role/Developer"
SUB = "sub-1"
MG = "/providers/Microsoft.Management/managementGroups/root"
OID = "0f3a0000-0000-0000-0000-000000000001"

_results = scope_runner(rule)


def _admins(*members, alternates=()):
    return {"roles": {"key_administrators": {"members": list(members), "alternates": list(alternates)}}}


def _kms_star(principal_uid, **kw):
    caps = (Capability.ADMINISTER_ACCESS, Capability.MANAGE_LIFECYCLE, Capability.DESTROY, Capability.DECRYPT)
    return identity_policy(principal_uid, *caps, via="kms:*", **kw)


def test_undeclared_broad_administrator_fails() -> None:
    result = _results(_admins(ADMIN), bindings=(_kms_star(ADMIN), _kms_star(DEV)))[ACCOUNT]
    assert result.status is Status.FAIL
    assert DEV in result.message
    assert ADMIN not in result.message
    [entry] = result.evidence["undeclared_principals"]
    assert entry["uid"] == DEV
    assert entry["capabilities"] == ["administer_access", "destroy", "manage_lifecycle"]
    assert entry["via"] == "kms:*"
    assert [e["uid"] for e in result.evidence["declared_principals"]] == [ADMIN]


def test_declared_broad_administrators_pass_and_are_listed() -> None:
    result = _results(_admins(ADMIN), bindings=(_kms_star(ADMIN),))[ACCOUNT]
    assert result.status is Status.PASS
    assert result.evidence["declared_principal_count"] == 1
    assert result.evidence["declared_key_administrators"] == [ADMIN]


def test_alternates_globs_and_aliases_count_as_declared() -> None:
    people = (principal(OID, PrincipalKind.USER, aliases=("ana@example.com",)),)
    grants = (
        binding(
            OID,
            SUB,
            Capability.MANAGE_LIFECYCLE,
            level=ScopeLevel.SCOPE,
            source=BindingSource.RBAC,
            provider=Provider.AZURE,
            scope=SUB,
        ),
        _kms_star(ADMIN),
    )
    scopes = (scope(), scope(SUB, Provider.AZURE))
    policy = _admins("ANA@example.com", alternates=(f"arn:aws:iam::{ACCOUNT}:role/Key*",))
    results = _results(policy, scopes=scopes, principals=people, bindings=grants)
    assert results[SUB].status is Status.PASS
    assert results[ACCOUNT].status is Status.PASS


def test_without_declared_administrators_any_broad_admin_fails() -> None:
    result = _results(bindings=(_kms_star(ADMIN),))[ACCOUNT]
    assert result.status is Status.FAIL
    assert result.evidence["declared_key_administrators"] == []


def test_broad_grant_without_admin_capabilities_passes() -> None:
    grant = binding(DEV, ACCOUNT, Capability.DECRYPT, Capability.READ_METADATA, level=ScopeLevel.SCOPE)
    result = _results(bindings=(grant,))[ACCOUNT]
    assert result.status is Status.PASS
    assert "no principal holds" in result.message


@pytest.mark.parametrize("level", [ScopeLevel.KEY, ScopeLevel.KEY_STORE, ScopeLevel.RESOURCE_GROUP])
def test_admin_below_scope_level_is_not_judged_here(level) -> None:
    grant = binding(DEV, key().uid, Capability.ADMINISTER_ACCESS, level=level)
    assert _results(keys=(key(),), bindings=(grant,))[ACCOUNT].status is Status.PASS


def test_admin_inherited_from_a_management_group_fails() -> None:
    sub = scope(SUB, Provider.AZURE, parents=(ScopeRef(kind=ScopeKind.AZURE_MANAGEMENT_GROUP, uid=MG),))
    grant = binding(
        OID,
        MG,
        Capability.ADMINISTER_ACCESS,
        Capability.DESTROY,
        level=ScopeLevel.MANAGEMENT_GROUP,
        source=BindingSource.RBAC,
        provider=Provider.AZURE,
        scope=SUB,
        via="Key Vault Administrator",
    )
    result = _results(scopes=(sub,), bindings=(grant,))[SUB]
    assert result.status is Status.FAIL
    assert result.evidence["undeclared_principals"][0]["target"] == MG


def test_unreadable_access_or_hierarchy_without_findings_is_unknown() -> None:
    for aspect in (ScopeAspect.ACCESS, ScopeAspect.HIERARCHY):
        unreadable = scope(unreadable=frozenset({aspect}))
        assert _results(_admins(ADMIN), scopes=(unreadable,), bindings=(_kms_star(ADMIN),))[
            ACCOUNT
        ].status is (Status.UNKNOWN)


def test_undeclared_admin_fails_even_when_the_hierarchy_is_unreadable() -> None:
    unreadable = scope(unreadable=frozenset({ScopeAspect.HIERARCHY}))
    result = _results(scopes=(unreadable,), bindings=(_kms_star(DEV),))[ACCOUNT]
    assert result.status is Status.FAIL
    assert "may be incomplete" in result.message


def test_lists_are_capped_with_the_total_count() -> None:
    grants = tuple(_kms_star(f"arn:aws:iam::{ACCOUNT}:user/u{i:02}") for i in range(55))
    result = _results(bindings=grants)[ACCOUNT]
    assert result.evidence["undeclared_principal_count"] == 55
    assert len(result.evidence["undeclared_principals"]) == 50
