from datetime import date

from rules import cek_policy_approved
from scanner.rule import Status
from tests.factories import context


def _verdict(**info: object):
    [result] = cek_policy_approved.evaluate(context(policy={"policy": info}))
    return result


def test_approver_and_date_pass() -> None:
    result = _verdict(approved_by="Board risk committee", approved_on=date(2026, 3, 1))
    assert result.status is Status.PASS
    assert result.evidence == {"approved_by": "Board risk committee", "approved_on": "2026-03-01"}


def test_missing_approver_or_date_fails_naming_the_key() -> None:
    assert "policy.approved_on" in _verdict(approved_by="CISO").message
    assert _verdict(approved_by="CISO").status is Status.FAIL
    assert "policy.approved_by" in _verdict(approved_on=date(2026, 3, 1)).message


def test_approval_dated_in_the_future_fails() -> None:
    # The test clock is 2026-11-22.
    assert _verdict(approved_by="CISO", approved_on=date(2026, 11, 23)).status is Status.FAIL
    assert _verdict(approved_by="CISO", approved_on=date(2026, 11, 22)).status is Status.PASS
