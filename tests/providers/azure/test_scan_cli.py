"""`keyaudit scan azure` as a user runs it: a real subprocess (what needs no Azure endpoint)."""

from __future__ import annotations

import json

import pytest

SUBSCRIPTION = "8f3c2a1d-5b6e-4c7f-9a0b-1d2e3f4a5b6c"


def test_print_required_policy_is_read_only(keyaudit) -> None:
    run = keyaudit("scan", "azure", "--print-required-policy")
    assert run.returncode == 0, run.stderr
    policy = json.loads(run.stdout)
    role = policy["azureRoleDefinition"]
    actions = (
        [a for p in role["permissions"] for a in p["actions"]] if "permissions" in role else role["Actions"]
    )
    assert "Microsoft.KeyVault/vaults/read" in actions
    assert not [
        a for a in actions if a.lower().endswith(("/write", "/delete", "/action")) and "read" not in a.lower()
    ]


def test_without_a_usable_credential_the_scope_is_a_coverage_failure(keyaudit) -> None:
    # Narrow DefaultAzureCredential to environment variables (unset here): no probe of any endpoint.
    env = {"AZURE_TOKEN_CREDENTIALS": "EnvironmentCredential"}
    run = keyaudit("scan", "azure", "--subscription", SUBSCRIPTION, "--format", "json", "--quiet", env=env)
    assert run.returncode == 3, run.stderr
    document = json.loads(run.stdout)
    [error] = document["scan"]["coverage"]
    assert error["scope"] == SUBSCRIPTION and error["error_class"] == "access_denied"
    assert "no usable Azure credential" in error["message"]
    assert [(f["rule_id"], f["status"]) for f in document["findings"] if f["provider"] == "azure"] == [
        ("scan_coverage_complete", "fail")
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--subscription", "prod"), "--subscription 'prod': expected a subscription id (a GUID)"),
        (("--management-group", "a/b c"), "--management-group 'a/b c': expected a management group id"),
        (("--azure-cloud", "mars"), "Invalid value for '--azure-cloud'"),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(keyaudit, args: tuple[str, ...], message: str) -> None:
    run = keyaudit("scan", "azure", *args, "--quiet")
    assert run.returncode == 2
    assert message in run.stderr
    assert run.stdout == ""


def test_sdk_warnings_come_out_as_structured_logs(keyaudit) -> None:
    # azure-identity warns through the standard library when no credential works: the line must be JSON
    # with the run id like every other log line, never stray plain text on stderr.
    env = {"AZURE_TOKEN_CREDENTIALS": "EnvironmentCredential"}
    run = keyaudit("scan", "azure", "--subscription", SUBSCRIPTION, "--format", "json", env=env)
    assert run.returncode == 3, run.stderr
    run_id = json.loads(run.stdout)["scan"]["run_id"]
    events = [json.loads(line) for line in run.stderr.splitlines() if line.strip()]
    assert events and all(e.get("run_id") == run_id for e in events)
