from datetime import date

from rules import cek_roles_reviewed_within_interval as rule
from scanner.rule import Status
from tests.factories import context


def _verdict(admins_reviewed: date | None, users_reviewed: date | None, interval: int = 365):
    policy = {
        "policy": {"review_interval_days": interval},
        "roles": {
            "key_administrators": {"members": ["a"], "last_reviewed": admins_reviewed},
            "key_users": {"members": ["b"], "last_reviewed": users_reviewed},
        },
    }
    [result] = rule.evaluate(context(policy=policy))
    return result


def test_both_roles_reviewed_recently_pass() -> None:
    assert _verdict(date(2026, 6, 1), date(2026, 10, 1)).status is Status.PASS


def test_one_stale_role_fails_and_names_it() -> None:
    result = _verdict(date(2026, 6, 1), date(2025, 1, 1))
    assert result.status is Status.FAIL
    assert "key_users" in result.message and "key_administrators" not in result.message
    assert result.evidence["roles"]["key_users"]["status"] == "fail"


def test_missing_review_date_fails_and_interval_comes_from_policy() -> None:
    assert _verdict(None, date(2026, 10, 1)).status is Status.FAIL
    assert _verdict(date(2026, 6, 1), date(2026, 10, 1), interval=30).status is Status.FAIL
