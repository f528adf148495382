"""The CEK policy file (scanner/policy.py): defaults, the segregation.max_key_users key, shipped files."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.errors import InputError
from scanner.policy import CekPolicy, load_policy

REPO = Path(__file__).resolve().parent.parent


def _load(tmp_path: Path, text: str) -> CekPolicy:
    path = tmp_path / "cek-policy.yaml"
    path.write_text(text)
    return load_policy(path).document


def test_max_key_users_defaults_to_three() -> None:
    assert CekPolicy().segregation.max_key_users == 3


def test_max_key_users_defaults_to_three_when_only_other_segregation_keys_are_set(tmp_path: Path) -> None:
    assert _load(tmp_path, "segregation:\n  min_administrators: 3\n").segregation.max_key_users == 3


@pytest.mark.parametrize(("text", "expected"), [("1", 1), ("10", 10), ("null", None), ("~", None)])
def test_max_key_users_accepts_a_positive_integer_or_null(tmp_path: Path, text: str, expected) -> None:
    document = _load(tmp_path, f"segregation:\n  max_key_users: {text}\n")
    assert document.segregation.max_key_users == expected


@pytest.mark.parametrize("text", ["0", "-2", "three", "2.5", "[3]"])
def test_max_key_users_rejects_other_values_naming_the_key_and_line(tmp_path: Path, text: str) -> None:
    with pytest.raises(InputError) as caught:
        _load(tmp_path, f"segregation:\n  min_administrators: 2\n  max_key_users: {text}\n")
    message = str(caught.value)
    assert "cek-policy.yaml:3" in message
    assert "segregation.max_key_users" in message


def test_a_misspelt_max_key_users_is_an_unknown_key_with_a_suggestion(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown key 'max_key_user' \\(did you mean 'max_key_users'\\?\\)"):
        _load(tmp_path, "segregation:\n  max_key_user: 3\n")


def test_the_starter_policy_is_valid_and_shows_the_defaults() -> None:
    document = load_policy(REPO / "scanner" / "data" / "policy-starter.yaml").document
    assert document.segregation == CekPolicy().segregation
    assert "max_key_users: 3" in (REPO / "scanner" / "data" / "policy-starter.yaml").read_text()


def test_the_sample_policy_follows_cis_gcp_and_scc_thresholds() -> None:
    document = load_policy(REPO / "samples" / "cek-policy.yaml").document
    assert document.rotation.max_days == 90
    assert document.segregation.max_key_users == 3


def test_an_impossible_date_is_an_input_error_naming_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "cek-policy.yaml"
    path.write_text("policy:\n  id: cek\n  approved_on: 2026-13-01\n")
    with pytest.raises(InputError, match=r"cek-policy.yaml:3: at policy.approved_on: not a valid date"):
        load_policy(path)
