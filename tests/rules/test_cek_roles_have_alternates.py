from rules import cek_roles_have_alternates
from scanner.rule import Status
from tests.factories import context


def _roles(admins: dict, users: dict, auditors: dict) -> dict:
    return {"roles": {"key_administrators": admins, "key_users": users, "auditors": auditors}}


def test_two_people_per_role_pass_whether_members_or_alternates() -> None:
    policy = _roles({"members": ["a", "b"]}, {"members": ["c"], "alternates": ["d"]}, {"members": ["e", "f"]})
    [result] = cek_roles_have_alternates.evaluate(context(policy=policy))
    assert result.status is Status.PASS


def test_single_person_role_fails_and_repeats_are_not_counted_twice() -> None:
    policy = _roles({"members": ["a"], "alternates": ["a"]}, {"members": ["c", "d"]}, {"members": ["e", "f"]})
    [result] = cek_roles_have_alternates.evaluate(context(policy=policy))
    assert result.status is Status.FAIL
    assert "key_administrators (1)" in result.message
    assert result.evidence["people_per_role"]["key_users"] == 2
