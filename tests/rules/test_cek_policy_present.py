from rules import cek_policy_present
from scanner.rule import Status
from tests.factories import context


def test_fails_without_a_policy_file() -> None:
    [result] = cek_policy_present.evaluate(context(policy_file=False))
    assert result.status is Status.FAIL
    assert result.provider == "policy"
    assert result.resource.uid == "keyaudit:policy/built-in-defaults"


def test_passes_with_a_policy_file_and_records_its_digest() -> None:
    [result] = cek_policy_present.evaluate(context(policy={"policy": {"id": "cek-2026"}}))
    assert result.status is Status.PASS
    assert result.scope == "cek-2026"
    assert result.evidence["sha256"] == "0" * 64
