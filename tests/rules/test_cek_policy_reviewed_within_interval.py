from datetime import date

import pytest

from rules import cek_policy_reviewed_within_interval as rule
from scanner.rule import Status
from tests.factories import context


@pytest.mark.parametrize(
    ("last_reviewed", "interval", "expected"),
    [
        (date(2025, 11, 22), 365, Status.PASS),  # exactly 365 days before the test clock
        (date(2025, 11, 21), 365, Status.FAIL),  # 366 days
        (date(2026, 9, 1), 90, Status.PASS),
        (date(2026, 8, 1), 90, Status.FAIL),
        (date(2026, 12, 1), 365, Status.FAIL),  # in the future
        (None, 365, Status.FAIL),
    ],
)
def test_review_age_against_interval(last_reviewed: date | None, interval: int, expected: Status) -> None:
    policy = {"policy": {"last_reviewed": last_reviewed, "review_interval_days": interval}}
    [result] = rule.evaluate(context(policy=policy))
    assert result.status is expected
    assert result.evidence["review_interval_days"] == interval


def test_the_clock_is_injected_not_read() -> None:
    policy = {"policy": {"last_reviewed": date(2020, 1, 1)}}
    [result] = rule.evaluate(context(policy=policy, now=context().now.replace(year=2020, month=6)))
    assert result.status is Status.PASS


def test_without_policy_file_fails() -> None:
    [result] = rule.evaluate(context(policy_file=False))
    assert result.status is Status.FAIL
