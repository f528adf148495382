from rules import cek_policy_owner_assigned
from scanner.rule import Status
from tests.factories import context


def test_owner_set_passes() -> None:
    [result] = cek_policy_owner_assigned.evaluate(context(policy={"policy": {"owner": "CISO office"}}))
    assert result.status is Status.PASS
    assert result.evidence["owner"] == "CISO office"


def test_blank_or_missing_owner_fails() -> None:
    for policy in ({"policy": {"owner": "  "}}, {}):
        [result] = cek_policy_owner_assigned.evaluate(context(policy=policy))
        assert result.status is Status.FAIL


def test_without_policy_file_fails_and_says_so() -> None:
    [result] = cek_policy_owner_assigned.evaluate(context(policy_file=False))
    assert result.status is Status.FAIL
    assert "no CEK policy file" in result.message
