import pytest

from rules import no_decrypt_on_all_keys as rule
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
from tests.rules.sod_setup import APP as ROLE
from tests.rules.sod_setup import identity_policy, scope_runner

ORG = "organizations/123"
FOLDER = "folders/456"

_results = scope_runner(rule)


def _identity_policy(principal_uid=ROLE, *caps, **kw):
    return identity_policy(principal_uid, *(caps or (Capability.DECRYPT,)), **kw)


def _projects():
    parents = (
        ScopeRef(kind=ScopeKind.GCP_FOLDER, uid=FOLDER),
        ScopeRef(kind=ScopeKind.GCP_ORGANIZATION, uid=ORG),
    )
    return (
        scope("proj-a", Provider.GCP, parents=parents),
        scope(
            "proj-b",
            Provider.GCP,
            parents=(ScopeRef(kind=ScopeKind.GCP_ORGANIZATION, uid="organizations/999"),),
        ),
    )


def test_identity_policy_with_decrypt_on_all_keys_fails_and_lists_the_grant() -> None:
    grant = _identity_policy(via="AppPolicy")
    result = _results(principals=(principal(ROLE),), bindings=(grant,))[ACCOUNT]
    assert result.status is Status.FAIL
    assert ROLE in result.message
    assert result.evidence["principals"] == [
        {
            "uid": ROLE,
            "kind": "role",
            "source": "identity_policy",
            "via": "AppPolicy",
            "level": "scope",
            "target": ACCOUNT,
            "inherited_from": None,
            "conditional": False,
        }
    ]
    assert result.evidence["principal_count"] == 1


@pytest.mark.parametrize("level", [ScopeLevel.KEY, ScopeLevel.KEY_STORE, ScopeLevel.RESOURCE_GROUP])
def test_decrypt_granted_below_scope_level_passes(level) -> None:
    grant = binding(ROLE, key().uid, Capability.DECRYPT, level=level)
    result = _results(keys=(key(),), bindings=(grant,))[ACCOUNT]
    assert result.status is Status.PASS
    assert result.evidence["principals"] == []


def test_broad_grant_without_decrypt_passes() -> None:
    grant = _identity_policy(ROLE, Capability.ENCRYPT, Capability.ADMINISTER_ACCESS)
    assert _results(bindings=(grant,))[ACCOUNT].status is Status.PASS


def test_grant_inherited_from_a_parent_counts_for_that_scope_only() -> None:
    grant = binding(
        "group:readers@example.com",
        ORG,
        Capability.DECRYPT,
        Capability.ENCRYPT,
        level=ScopeLevel.ORGANIZATION,
        source=BindingSource.IAM_POLICY,
        provider=Provider.GCP,
        scope="proj-a",
        via="roles/cloudkms.cryptoKeyEncrypterDecrypter",
    )
    results = _results(scopes=_projects(), bindings=(grant,))
    assert results["proj-a"].status is Status.FAIL
    assert results["proj-a"].evidence["principals"][0]["kind"] == "unknown"  # not in the principal list
    assert results["proj-a"].evidence["targets"] == ["proj-a", FOLDER, ORG]
    assert results["proj-b"].status is Status.PASS


def test_grant_on_another_scope_does_not_count() -> None:
    grant = binding(ROLE, "222233334444", Capability.DECRYPT, level=ScopeLevel.SCOPE)
    assert _results(bindings=(grant,))[ACCOUNT].status is Status.PASS


def test_repeated_grants_are_listed_once_and_principals_counted_once() -> None:
    grants = (
        _identity_policy(via="A"),
        _identity_policy(via="A"),
        _identity_policy(via="B", conditional=True),
    )
    result = _results(bindings=grants)[ACCOUNT]
    assert result.evidence["principal_count"] == 1
    assert result.evidence["grant_count"] == 2
    assert [e["conditional"] for e in result.evidence["principals"]] == [False, True]


def test_unreadable_scope_access_without_findings_is_unknown() -> None:
    unreadable = scope(unreadable=frozenset({ScopeAspect.ACCESS}))
    result = _results(scopes=(unreadable,))[ACCOUNT]
    assert result.status is Status.UNKNOWN
    assert "scope-wide access bindings" in result.message


def test_unreadable_hierarchy_without_findings_is_unknown() -> None:
    unreadable = scope(unreadable=frozenset({ScopeAspect.HIERARCHY}))
    result = _results(scopes=(unreadable,))[ACCOUNT]
    assert result.status is Status.UNKNOWN
    assert result.evidence["unreadable"] == ["hierarchy"]


@pytest.mark.parametrize("aspect", [ScopeAspect.ACCESS, ScopeAspect.HIERARCHY])
def test_a_found_grant_fails_even_when_part_of_the_access_is_unreadable(aspect) -> None:
    unreadable = scope(unreadable=frozenset({aspect}))
    result = _results(scopes=(unreadable,), bindings=(_identity_policy(),))[ACCOUNT]
    assert result.status is Status.FAIL
    assert "may be incomplete" in result.message


def test_principal_list_is_capped_with_the_total_count() -> None:
    grants = tuple(_identity_policy(f"arn:aws:iam::{ACCOUNT}:user/u{i:02}") for i in range(60))
    people = tuple(principal(f"arn:aws:iam::{ACCOUNT}:user/u{i:02}", PrincipalKind.USER) for i in range(60))
    result = _results(principals=people, bindings=grants)[ACCOUNT]
    assert result.status is Status.FAIL
    assert result.evidence["principal_count"] == 60
    assert len(result.evidence["principals"]) == 50
    assert "and 57 more" in result.message


def test_one_result_per_scanned_scope() -> None:
    results = _results(scopes=(scope(), scope("222233334444"), *_projects()))
    assert set(results) == {ACCOUNT, "222233334444", "proj-a", "proj-b"}
    assert all(r.status is Status.PASS for r in results.values())
