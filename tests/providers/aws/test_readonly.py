"""The scanner cannot call a mutating AWS API: the guard refuses it before any request is built."""

from __future__ import annotations

import boto3
import pytest

from providers.aws.readonly import READ_OPERATIONS, ReadOnlyViolation, install_guard, required_policy
from tests.providers.aws.conftest import REGION


def test_mutating_calls_are_refused_before_they_leave_the_process(aws: None) -> None:
    seen: list[str] = []
    kms = install_guard(boto3.client("kms", region_name=REGION), seen.append)
    with pytest.raises(ReadOnlyViolation, match=r"kms:CreateKey"):
        kms.create_key()
    with pytest.raises(ReadOnlyViolation, match=r"kms:PutKeyPolicy"):
        kms.put_key_policy(KeyId="k", PolicyName="default", Policy="{}")
    # Nothing reached moto: an unguarded client sees no key.
    assert boto3.client("kms", region_name=REGION).list_keys()["Keys"] == []
    assert kms.list_keys()["Keys"] == []
    assert seen == ["kms:ListKeys"]


@pytest.mark.parametrize(
    ("service", "write"),
    [
        ("cloudhsmv2", lambda c: c.create_cluster(HsmType="hsm1.medium", SubnetIds=["subnet-1"])),
        ("cloudtrail", lambda c: c.stop_logging(Name="trail")),
        ("iam", lambda c: c.create_user(UserName="intruder")),
        ("organizations", lambda c: c.create_organization(FeatureSet="ALL")),
        ("ec2", lambda c: c.create_vpc(CidrBlock="10.0.0.0/16")),
        ("sts", lambda c: c.get_session_token()),
        ("sagemaker", lambda c: c.delete_notebook_instance(NotebookInstanceName="research")),
        ("bedrock", lambda c: c.delete_custom_model(modelIdentifier="tuned")),
        (
            "bedrock-agent",
            lambda c: c.update_agent(
                agentId="A", agentName="a", agentResourceRoleArn="r", foundationModel="m"
            ),
        ),
    ],
)
def test_every_service_the_scan_uses_is_guarded(aws: None, service: str, write) -> None:
    client = install_guard(boto3.client(service, region_name=REGION))
    with pytest.raises(ReadOnlyViolation):
        write(client)


def test_allow_list_holds_only_reads() -> None:
    mutating_prefixes = ("Create", "Put", "Update", "Delete", "Enable", "Disable", "Schedule", "Cancel",
                         "Tag", "Untag", "Import", "Replicate", "Rotate", "Revoke", "Retire", "Connect",
                         "Disconnect", "Start", "Stop", "Attach", "Detach", "Set", "Add", "Remove")  # fmt: skip
    for service, operations in READ_OPERATIONS.items():
        for operation in operations:
            if (service, operation) == ("sts", "AssumeRole"):
                continue  # hands out credentials; changes nothing
            assert operation.startswith(("List", "Describe", "Get")), (service, operation)
            assert not operation.startswith(mutating_prefixes)


def test_required_policy_lists_exactly_the_allow_list() -> None:
    policy = required_policy()
    actions = {a for statement in policy["Statement"] for a in statement["Action"]}
    assert "kms:GetKeyPolicy" in actions and "cloudhsm:DescribeClusters" in actions
    assert "iam:GetAccountAuthorizationDetails" in actions
    assert not any(a.split(":")[1].startswith(("Create", "Put", "Delete")) for a in actions)
    assert {"sagemaker:DescribeTrainingJob", "bedrock:GetCustomModel", "bedrock:GetAgent"} <= actions
    iam_prefix = {"cloudhsmv2": "cloudhsm", "bedrock-agent": "bedrock"}  # IAM's names for those clients
    expected = {
        f"{iam_prefix.get(service, service)}:{operation}"
        for service, operations in READ_OPERATIONS.items()
        for operation in operations
    } - {"sts:GetCallerIdentity"}  # needs no permission
    assert actions == expected
    listed = [a for statement in policy["Statement"] for a in statement["Action"]]
    assert len(listed) == len(set(listed))  # bedrock:ListTagsForResource serves two clients, listed once
