from rules import cek_roles_defined
from scanner.rule import Status
from tests.factories import context

ALL_ROLES = {
    "key_administrators": {"members": ["arn:aws:iam::111122223333:role/KeyAdmin"]},
    "key_users": {"members": ["serviceAccount:app@p.iam.gserviceaccount.com"]},
    "auditors": {"members": ["group:audit@example.com"]},
}


def test_all_roles_with_members_pass() -> None:
    [result] = cek_roles_defined.evaluate(context(policy={"roles": ALL_ROLES}))
    assert result.status is Status.PASS
    assert result.evidence["members"] == {"key_administrators": 1, "key_users": 1, "auditors": 1}


def test_a_role_without_members_fails_and_is_named() -> None:
    roles = {**ALL_ROLES, "auditors": {"members": []}}
    [result] = cek_roles_defined.evaluate(context(policy={"roles": roles}))
    assert result.status is Status.FAIL
    assert "auditors" in result.message
    assert "key_users" not in result.message


def test_alternates_alone_do_not_define_a_role() -> None:
    roles = {**ALL_ROLES, "key_users": {"alternates": ["user:bo@example.com"]}}
    [result] = cek_roles_defined.evaluate(context(policy={"roles": roles}))
    assert result.status is Status.FAIL
