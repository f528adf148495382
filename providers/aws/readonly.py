"""Read-only by construction: every AWS client keyaudit builds refuses any operation not listed here.

The allow-list is also the source of the minimal IAM policy (`keyaudit scan aws --print-required-policy`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

# service name (as boto3 names the client) -> operations the scan may call, by their API names.
READ_OPERATIONS: Mapping[str, frozenset[str]] = {
    "kms": frozenset(
        {
            "ListKeys",
            "DescribeKey",
            "GetKeyRotationStatus",
            "GetKeyPolicy",
            "ListGrants",
            "ListAliases",
            "ListResourceTags",
            "DescribeCustomKeyStores",
        }
    ),
    "cloudhsmv2": frozenset({"DescribeClusters"}),
    "cloudtrail": frozenset({"DescribeTrails", "GetEventSelectors", "GetTrailStatus"}),
    "iam": frozenset({"GetAccountAuthorizationDetails"}),
    "ec2": frozenset({"DescribeRegions"}),
    "organizations": frozenset({"ListAccounts", "DescribeOrganization", "ListParents"}),
    # AI workloads and the keys protecting them (providers/aws/ai.py).
    "sagemaker": frozenset(
        {
            "ListNotebookInstances",
            "DescribeNotebookInstance",
            "ListEndpointConfigs",
            "DescribeEndpointConfig",
            "ListTrainingJobs",
            "DescribeTrainingJob",
            "ListProcessingJobs",
            "DescribeProcessingJob",
            "ListTags",
        }
    ),
    "bedrock": frozenset({"ListCustomModels", "GetCustomModel", "ListTagsForResource"}),
    "bedrock-agent": frozenset(
        {
            "ListAgents",
            "GetAgent",
            "ListKnowledgeBases",
            "GetKnowledgeBase",
            "ListDataSources",
            "GetDataSource",
            "ListTagsForResource",
        }
    ),
    # AssumeRole changes nothing in the estate: it only hands out the temporary credentials of the
    # role the operator named with --org-role.
    "sts": frozenset({"GetCallerIdentity", "AssumeRole"}),
}

# IAM action prefixes differ from boto3 client names for a few services.
_IAM_PREFIX = {"cloudhsmv2": "cloudhsm", "bedrock-agent": "bedrock"}


class ReadOnlyViolation(RuntimeError):
    """An attempt to call an AWS operation outside the read-only allow-list; raised before any request."""


def install_guard(client: Any, on_call: Callable[[str], None] | None = None) -> Any:
    """Make ``client`` refuse every operation outside READ_OPERATIONS, before a request is built.

    ``on_call`` hears ``service:Operation`` for every call let through (pages count one each).
    """
    service = client.meta.service_model.service_name
    allowed = READ_OPERATIONS.get(service, frozenset())

    def refuse_writes(model: Any, **_: Any) -> None:
        if model.name not in allowed:
            raise ReadOnlyViolation(
                f"keyaudit is read-only: {service}:{model.name} is not on its allow-list and was not sent"
            )
        if on_call is not None:
            on_call(f"{service}:{model.name}")

    # before-call fires in BaseClient._make_api_call before serialisation and before any transport
    # (moto included) sees the request; the bare event name matches every operation of this client.
    client.meta.events.register("before-call", refuse_writes, unique_id="keyaudit-read-only-guard")
    return client


def required_policy() -> dict[str, Any]:
    """The minimal IAM policy the scan needs, derived from the allow-list."""
    # A set: two clients can share an IAM action (bedrock and bedrock-agent: bedrock:ListTagsForResource).
    actions = sorted(
        {
            f"{_IAM_PREFIX.get(service, service)}:{operation}"
            for service, operations in READ_OPERATIONS.items()
            for operation in operations
            if not (service == "sts" and operation == "GetCallerIdentity")  # needs no permission
        }
    )
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "KeyauditReadOnly",
                "Effect": "Allow",
                "Action": [a for a in actions if a != "sts:AssumeRole"],
                "Resource": "*",
            },
            {
                "Sid": "KeyauditOrganizationScan",
                "Effect": "Allow",
                "Action": ["sts:AssumeRole"],
                "Resource": "arn:aws:iam::*:role/ORG_ROLE_NAME",
            },
        ],
    }
