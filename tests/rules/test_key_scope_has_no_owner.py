import json

import pytest

from rules import key_scope_has_no_owner as rule
from scanner.inventory import (
    ADMIN_CAPABILITIES,
    USE_CAPABILITIES,
    BindingSource,
    Capability,
    KeyManager,
    KeyState,
    PrincipalKind,
    Provider,
    ScopeAspect,
    ScopeKind,
    ScopeLevel,
    ScopeRef,
)
from scanner.rule import Status
from tests.factories import binding, key, principal, scope
from tests.rules.sod_setup import scope_runner

PROJECT = "example-kms-prod"
FOLDER = "folders/314159"
ORG = "organizations/271828"
RING = f"projects/{PROJECT}/locations/europe-west1/keyRings/payments"
OWNER = "user:owner@example.com"
ADMINS = "group:kms-admins@example.com"

_results = scope_runner(rule)


def _project(**kw):
    kw.setdefault("parents", (ScopeRef(kind=ScopeKind.GCP_FOLDER, uid=FOLDER),))
    return scope(PROJECT, Provider.GCP, **kw)


def _key(name="k1", **kw):
    return key(name, provider=Provider.GCP, uid=f"{RING}/cryptoKeys/{name}", scope=PROJECT, store=RING, **kw)


def _grant(member, *caps, target=PROJECT, level=ScopeLevel.SCOPE, via="roles/owner", **kw):
    return binding(
        member,
        target,
        *(caps or tuple(Capability)),  # roles/owner: every Cloud KMS capability
        level=level,
        source=BindingSource.IAM_POLICY,
        provider=Provider.GCP,
        scope=PROJECT,
        via=via,
        **kw,
    )


def _run(*bindings, keys=None, scopes=None, policy=None, **inv):
    return _results(
        policy,
        scopes=scopes or (_project(),),
        keys=(_key(),) if keys is None else keys,
        bindings=bindings,
        **inv,
    )


def test_project_owner_on_a_project_with_keys_fails() -> None:
    result = _run(_grant(OWNER), principals=(principal(OWNER, PrincipalKind.USER),))[PROJECT]
    assert result.status is Status.FAIL
    assert OWNER in result.message and "1 customer key" in result.message
    [entry] = result.evidence["owners"]
    assert entry["uid"] == OWNER and entry["kind"] == "user"
    assert entry["via"] == "roles/owner" and entry["level"] == "scope" and entry["target"] == PROJECT
    assert entry["capabilities"] == ["administer_access", "decrypt", "encrypt", "sign"]
    assert entry["conditional"] is False
    assert result.evidence["owner_count"] == 1 and result.evidence["customer_key_count"] == 1
    json.dumps(result.evidence)


def test_declared_key_administrators_are_not_exempt() -> None:
    policy = {"roles": {"key_administrators": {"members": [OWNER]}}}
    assert _run(_grant(OWNER), policy=policy)[PROJECT].status is Status.FAIL


@pytest.mark.parametrize("use", sorted(USE_CAPABILITIES))
def test_any_use_capability_with_administer_access_is_owner_level(use: Capability) -> None:
    result = _run(_grant(OWNER, Capability.ADMINISTER_ACCESS, use, via="roles/custom.kmsAll"))[PROJECT]
    assert result.status is Status.FAIL


def test_cloudkms_admin_without_use_passes() -> None:
    admin = _grant(ADMINS, *ADMIN_CAPABILITIES, Capability.READ_METADATA, via="roles/cloudkms.admin")
    result = _run(admin)[PROJECT]
    assert result.status is Status.PASS
    assert result.evidence["owner_count"] == 0


@pytest.mark.parametrize(
    "caps",
    [
        pytest.param(
            (Capability.MANAGE_LIFECYCLE, Capability.DESTROY, Capability.DECRYPT), id="no-iam-admin"
        ),
        pytest.param((Capability.ADMINISTER_ACCESS, Capability.VERIFY, Capability.EXPORT), id="no-use"),
    ],
)
def test_a_grant_lacking_access_administration_or_use_is_not_owner_level(caps) -> None:
    assert _run(_grant(OWNER, *caps, via="roles/custom.partial"))[PROJECT].status is Status.PASS


def test_admin_and_use_from_two_different_grants_are_not_owner_level() -> None:
    # One principal holding both through separate roles is key_admin_separated_from_use's finding.
    grants = (
        _grant(OWNER, Capability.ADMINISTER_ACCESS, via="roles/resourcemanager.projectIamAdmin"),
        _grant(
            OWNER, Capability.ENCRYPT, Capability.DECRYPT, via="roles/cloudkms.cryptoKeyEncrypterDecrypter"
        ),
    )
    assert _run(*grants)[PROJECT].status is Status.PASS


@pytest.mark.parametrize(("target", "level"), [(FOLDER, ScopeLevel.FOLDER), (ORG, ScopeLevel.ORGANIZATION)])
def test_owner_inherited_from_a_folder_or_organization_fails(target, level) -> None:
    project = _project(
        parents=(
            ScopeRef(kind=ScopeKind.GCP_FOLDER, uid=FOLDER),
            ScopeRef(kind=ScopeKind.GCP_ORGANIZATION, uid=ORG),
        )
    )
    result = _run(_grant(OWNER, target=target, level=level, inherited_from=target), scopes=(project,))[
        PROJECT
    ]
    assert result.status is Status.FAIL
    [entry] = result.evidence["owners"]
    assert (entry["target"], entry["level"], entry["inherited_from"]) == (target, level.value, target)


@pytest.mark.parametrize(
    ("target", "level"), [(RING, ScopeLevel.KEY_STORE), (f"{RING}/cryptoKeys/k1", ScopeLevel.KEY)]
)
def test_owner_like_grants_below_the_project_are_not_judged_here(target, level) -> None:
    assert _run(_grant(OWNER, target=target, level=level))[PROJECT].status is Status.PASS


def test_owner_of_another_project_or_folder_does_not_count() -> None:
    grants = (
        _grant(OWNER, target="other-project"),
        _grant(ADMINS, target="folders/999", level=ScopeLevel.FOLDER),
    )
    assert _run(*grants)[PROJECT].status is Status.PASS


def test_conditional_owner_grants_still_fail_and_are_marked() -> None:
    result = _run(_grant(OWNER, conditional=True))[PROJECT]
    assert result.status is Status.FAIL
    assert "1 only through conditional grants" in result.message
    assert result.evidence["owners"][0]["conditional"] is True
    assert result.evidence["conditional_only_owners"] == [OWNER]


def test_an_owner_with_an_unconditional_grant_is_not_conditional_only() -> None:
    result = _run(_grant(OWNER, conditional=True), _grant(OWNER, target=FOLDER, level=ScopeLevel.FOLDER))[
        PROJECT
    ]
    assert result.status is Status.FAIL
    assert result.evidence["owner_count"] == 1 and len(result.evidence["owners"]) == 2
    assert result.evidence["conditional_only_owners"] == []
    assert "conditional" not in result.message


@pytest.mark.parametrize(
    "keys",
    [
        pytest.param((), id="no-keys"),
        pytest.param((_key(manager=KeyManager.PROVIDER),), id="provider-managed-only"),
        pytest.param((_key(state=KeyState.DESTROYED),), id="destroyed-only"),
    ],
)
def test_scopes_without_live_customer_keys_get_no_result(keys) -> None:
    assert _run(_grant(OWNER), keys=keys) == {}


def test_only_scopes_holding_keys_are_judged() -> None:
    other = scope("workload-project", Provider.GCP)
    results = _run(_grant(OWNER, target="workload-project"), scopes=(_project(), other))
    assert set(results) == {PROJECT}
    assert results[PROJECT].status is Status.PASS
    assert results[PROJECT].evidence["customer_key_count"] == 1


@pytest.mark.parametrize("aspect", [ScopeAspect.ACCESS, ScopeAspect.HIERARCHY])
def test_unreadable_access_without_an_owner_is_unknown(aspect) -> None:
    result = _run(scopes=(_project(unreadable=frozenset({aspect})),))[PROJECT]
    assert result.status is Status.UNKNOWN
    assert result.evidence["unreadable"] == [aspect.value]


def test_an_owner_fails_even_when_the_hierarchy_is_unreadable() -> None:
    result = _run(_grant(OWNER), scopes=(_project(unreadable=frozenset({ScopeAspect.HIERARCHY})),))[PROJECT]
    assert result.status is Status.FAIL
    assert "may be incomplete" in result.message


def test_unlisted_keys_with_an_owner_are_unknown() -> None:
    project = _project(unreadable=frozenset({ScopeAspect.KEYS}))
    result = _run(_grant(OWNER), scopes=(project,), keys=())[PROJECT]
    assert result.status is Status.UNKNOWN
    assert "Could not list the keys" in result.message
    assert result.evidence["customer_key_count"] is None
    assert result.evidence["unreadable"] == ["keys"]


def test_unlisted_keys_without_any_owner_pass() -> None:
    project = _project(unreadable=frozenset({ScopeAspect.KEYS}))
    result = _run(scopes=(project,), keys=())[PROJECT]
    assert result.status is Status.PASS
    assert "may hold customer keys" in result.message


def test_owners_are_capped_with_the_total_count() -> None:
    grants = tuple(_grant(f"user:u{i:02}@example.com") for i in range(55))
    result = _run(*grants)[PROJECT]
    assert result.evidence["owner_count"] == 55
    assert len(result.evidence["owners"]) == 50
    assert "and 52 more" in result.message


def test_verdict_and_evidence_do_not_depend_on_binding_order() -> None:
    grants = (
        _grant(OWNER),
        _grant(ADMINS, target=FOLDER, level=ScopeLevel.FOLDER),
        _grant("user:b@example.com"),
    )
    forward = _run(*grants)[PROJECT]
    backward = _run(*reversed(grants))[PROJECT]
    assert (forward.message, forward.evidence) == (backward.message, backward.evidence)
