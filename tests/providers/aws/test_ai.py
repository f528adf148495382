"""AI workloads on AWS through moto and the real boto3 clients: SageMaker and Bedrock resources with the keys
that protect them, AI service principals and service-restricted grants (issue #10)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto.bedrockagent.responses import AgentsforBedrockResponse
from moto.core.exceptions import JsonRESTError
from moto.sagemaker.models import sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse

from providers.aws import ai
from providers.aws.collect import AwsCollector, AwsOptions
from providers.aws.normalise import normalise
from scanner.inventory import (
    BindingSource,
    Capability,
    Encryption,
    ErrorClass,
    PrincipalKind,
    ResourceAspect,
    ScopeAspect,
)
from scanner.progress import NullProgress
from tests.providers.aws.conftest import REGION

ACCOUNT = "123456789012"  # moto's default account
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ml"
NOT_OFFERED = "ap-east-1"  # a KMS region without Bedrock in botocore's endpoint data


def _scan(*regions: str):
    estate = AwsCollector(AwsOptions(regions=regions or (REGION,)), NullProgress()).collect()
    return estate, normalise(estate)


def _key(alias: str | None = None, policy: list[dict[str, Any]] | None = None) -> dict[str, str]:
    kms = boto3.client("kms", region_name=REGION)
    meta = kms.create_key()["KeyMetadata"]
    if alias:
        kms.create_alias(AliasName=f"alias/{alias}", TargetKeyId=meta["KeyId"])
    if policy is not None:
        kms.put_key_policy(
            KeyId=meta["KeyId"],
            PolicyName="default",
            Policy=json.dumps({"Version": "2012-10-17", "Statement": policy}),
        )
    return {"id": meta["KeyId"], "arn": meta["Arn"]}


@contextmanager
def refusing(response_class: type, operation: str, code: str = "AccessDeniedException") -> Iterator[None]:
    """moto answers ``operation`` with error ``code`` (not retried by botocore)."""
    original = getattr(response_class, operation)

    def refuse(self: Any) -> Any:
        raise JsonRESTError(code, f"injected {code}")

    setattr(response_class, operation, refuse)
    try:
        yield
    finally:
        setattr(response_class, operation, original)


def _sagemaker():
    return boto3.client("sagemaker", region_name=REGION)


def _notebook(name: str, key: str | None = None, tenant: str | None = None) -> None:
    params: dict[str, Any] = {"NotebookInstanceName": name, "InstanceType": "ml.t3.medium", "RoleArn": ROLE}
    if key:
        params["KmsKeyId"] = key
    if tenant:
        params["Tags"] = [{"Key": "tenant", "Value": tenant}]
    _sagemaker().create_notebook_instance(**params)


def _training_job(name: str, *, volume: str | None, output: str | None) -> None:
    output_config = {"S3OutputPath": "s3://artifacts/out/"}
    if output:
        output_config["KmsKeyId"] = output
    resources: dict[str, Any] = {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10}
    if volume:
        resources["VolumeKmsKeyId"] = volume
    _sagemaker().create_training_job(
        TrainingJobName=name, RoleArn=ROLE, OutputDataConfig=output_config, ResourceConfig=resources,
        AlgorithmSpecification={"TrainingImage": "xgboost:1", "TrainingInputMode": "File"},
        StoppingCondition={"MaxRuntimeInSeconds": 60},
    )  # fmt: skip


def _knowledge_base(agents: Any, name: str, *data_source_keys: str | None) -> str:
    knowledge_base = agents.create_knowledge_base(
        name=name, roleArn=ROLE,
        knowledgeBaseConfiguration={"type": "VECTOR", "vectorKnowledgeBaseConfiguration": {
            "embeddingModelArn": f"arn:aws:bedrock:{REGION}::foundation-model/amazon.titan-embed-text-v2:0"}},
        storageConfiguration={"type": "OPENSEARCH_SERVERLESS", "opensearchServerlessConfiguration": {
            "collectionArn": f"arn:aws:aoss:{REGION}:{ACCOUNT}:collection/kb", "vectorIndexName": "i",
            "fieldMapping": {"vectorField": "v", "textField": "t", "metadataField": "m"}}},
    )["knowledgeBase"]  # fmt: skip
    for index, key in enumerate(data_source_keys):
        params: dict[str, Any] = {
            "knowledgeBaseId": knowledge_base["knowledgeBaseId"],
            "name": f"source-{index}",
            "dataSourceConfiguration": {"type": "S3", "s3Configuration": {"bucketArn": "arn:aws:s3:::docs"}},
        }
        if key:
            params["serverSideEncryptionConfiguration"] = {"kmsKeyArn": key}
        agents.create_data_source(**params)
    return str(knowledge_base["knowledgeBaseArn"])


def _by_name(inventory: Any) -> dict[str, Any]:
    return {r.name: r for r in inventory.resources}


# ------------------------------------------------------------------------------------------ resources
def test_sagemaker_resources_name_their_keys_by_id_arn_or_alias_and_resolve_to_the_key(aws: None) -> None:
    key = _key(alias="ml")
    other = _key()
    _notebook("by-alias", "alias/ml", tenant="acme")
    _notebook("by-alias-arn", f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/ml")
    _notebook("by-id", key["id"])
    _notebook("aws-managed", "alias/aws/sagemaker")
    _notebook("no-key")
    _training_job("both-keys", volume=key["arn"], output=other["id"])
    _training_job("volume-only", volume=key["arn"], output=None)
    _sagemaker().create_processing_job(
        ProcessingJobName="features", RoleArn=ROLE, AppSpecification={"ImageUri": "sklearn:1"},
        ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                                               "VolumeSizeInGB": 10, "VolumeKmsKeyId": key["id"]}},
        StoppingCondition={"MaxRuntimeInSeconds": 60},
    )  # fmt: skip
    _sagemaker().create_model(ModelName="m", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "x"})
    variants = [
        {"VariantName": "v", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
    ]
    _sagemaker().create_endpoint_config(
        EndpointConfigName="plain", ProductionVariants=variants, KmsKeyId=key["id"]
    )
    _sagemaker().create_endpoint_config(
        EndpointConfigName="capturing", ProductionVariants=variants, KmsKeyId=key["id"],
        DataCaptureConfig={"EnableCapture": True, "InitialSamplingPercentage": 10,
                           "DestinationS3Uri": "s3://capture/", "CaptureOptions": [{"CaptureMode": "Input"}]},
    )  # fmt: skip

    estate, inventory = _scan()
    found = _by_name(inventory)
    for name in ("by-alias", "by-alias-arn", "by-id"):
        assert found[name].encryption is Encryption.CUSTOMER_MANAGED, name
        assert found[name].keys == (key["arn"],), name
    assert found["by-alias"].evidence == {"KmsKeyId": "alias/ml"}
    assert found["by-alias"].tags == {"tenant": "acme"}
    assert (found["by-alias"].ai_service, found["by-alias"].service) == ("sagemaker", "sagemaker")
    assert found["by-alias"].native_type == "AWS::SageMaker::NotebookInstance"
    assert found["by-alias"].uid == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/by-alias"
    # An AWS managed key or no key at all: data under a key of AWS's own.
    for name in ("aws-managed", "no-key"):
        assert (found[name].encryption, found[name].keys) == (Encryption.PROVIDER_MANAGED, ()), name
    assert found["both-keys"].encryption is Encryption.CUSTOMER_MANAGED
    assert found["both-keys"].keys == (key["arn"], other["arn"])
    # The model artifacts of this job are under AWS's key: the job is not fully customer-managed.
    assert found["volume-only"].encryption is Encryption.PROVIDER_MANAGED
    assert found["volume-only"].keys == (key["arn"],)
    assert found["volume-only"].evidence["OutputDataConfig.KmsKeyId"].startswith("not set")
    assert found["features"].encryption is Encryption.CUSTOMER_MANAGED
    assert found["features"].evidence == {"ProcessingResources.ClusterConfig.VolumeKmsKeyId": key["id"]}
    assert found["plain"].encryption is Encryption.CUSTOMER_MANAGED
    # Data capture is on but writes with AWS's key.
    assert found["capturing"].encryption is Encryption.PROVIDER_MANAGED
    assert set(found["capturing"].evidence) == {"KmsKeyId", "DataCaptureConfig.KmsKeyId"}
    assert inventory.errors == ()
    assert set(inventory.ai_key_use) == {key["arn"], other["arn"]}
    # Per resource: its describe call and its tags.
    assert estate.api_calls["sagemaker:DescribeNotebookInstance"] == 5
    assert estate.api_calls["sagemaker:ListTags"] == 10
    assert estate.api_calls["sagemaker:ListNotebookInstances"] == 1


def test_bedrock_agents_knowledge_bases_and_custom_models(aws: None) -> None:
    key = _key()
    agents = boto3.client("bedrock-agent", region_name=REGION)
    agents.create_agent(agentName="with-key", agentResourceRoleArn=ROLE, customerEncryptionKeyArn=key["arn"],
                        tags={"tenant": "acme"})  # fmt: skip
    agents.create_agent(agentName="without-key", agentResourceRoleArn=ROLE)
    covered = _knowledge_base(agents, "covered", key["arn"], key["arn"])
    _knowledge_base(agents, "half-covered", key["arn"], None)
    _knowledge_base(agents, "no-sources")
    bedrock = boto3.client("bedrock", region_name=REGION)
    for name, model_key in (("tuned-with-key", key["arn"]), ("tuned-without-key", None)):
        params: dict[str, Any] = {
            "jobName": f"job-{name}", "customModelName": name, "roleArn": ROLE,
            "baseModelIdentifier": "amazon.titan-text-express-v1", "hyperParameters": {},
            "trainingDataConfig": {"s3Uri": "s3://train/data.jsonl"}, "outputDataConfig": {"s3Uri": "s3://train/out/"},
            "customModelTags": [{"key": "tenant", "value": "globex"}],
        }  # fmt: skip
        if model_key:
            params["customModelKmsKeyId"] = model_key
        bedrock.create_model_customization_job(**params)

    estate, inventory = _scan()
    found = _by_name(inventory)
    assert found["with-key"].encryption is Encryption.CUSTOMER_MANAGED and found["with-key"].keys == (
        key["arn"],
    )
    assert found["with-key"].tags == {"tenant": "acme"}
    assert found["with-key"].uid.startswith(f"arn:aws:bedrock:{REGION}:{ACCOUNT}:agent/")
    assert found["without-key"].encryption is Encryption.PROVIDER_MANAGED
    assert found["covered"].uid == covered
    assert found["covered"].encryption is Encryption.CUSTOMER_MANAGED
    assert found["covered"].evidence["storageConfiguration.type"] == "OPENSEARCH_SERVERLESS"
    assert found["half-covered"].encryption is Encryption.PROVIDER_MANAGED
    assert found["half-covered"].keys == (key["arn"],)
    # Nothing of it names a key: its content sits in the vector store, whose encryption is not read here.
    assert found["no-sources"].encryption is None and found["no-sources"].keys == ()
    assert found["tuned-with-key"].encryption is Encryption.CUSTOMER_MANAGED
    assert found["tuned-without-key"].encryption is Encryption.PROVIDER_MANAGED
    assert found["tuned-without-key"].tags == {"tenant": "globex"}
    assert {r.ai_service for r in inventory.resources} == {"bedrock"}
    assert inventory.errors == ()
    # One data-source listing per knowledge base and one GetDataSource per data source.
    assert estate.api_calls["bedrock-agent:ListDataSources"] == 3
    assert estate.api_calls["bedrock-agent:GetDataSource"] == 4


def test_jobs_older_than_the_lookback_are_not_read(aws: None) -> None:
    key = _key()
    _training_job("recent", volume=key["arn"], output=key["arn"])
    _training_job("old", volume=None, output=None)
    backend = sagemaker_backends[ACCOUNT][REGION]
    old = datetime.now(UTC) - timedelta(days=ai.JOB_LOOKBACK_DAYS + 5)
    backend.training_jobs["old"].creation_time = old.replace(tzinfo=None)  # moto keeps naive UTC times

    estate, inventory = _scan()
    assert [r.name for r in inventory.resources] == ["recent"]
    assert estate.api_calls["sagemaker:DescribeTrainingJob"] == 1


def test_sagemaker_listings_ask_for_full_pages_and_follow_them(aws: None) -> None:
    for index in range(ai.SAGEMAKER_PAGE + 5):
        _notebook(f"notebook-{index:03d}")
    estate, inventory = _scan()
    assert len(inventory.resources) == ai.SAGEMAKER_PAGE + 5
    # 100 a page (SageMaker's default is 10), and the second page is read.
    assert estate.api_calls["sagemaker:ListNotebookInstances"] == 2


def test_regions_without_the_service_are_not_asked(aws: None) -> None:
    estate, inventory = _scan(NOT_OFFERED)
    assert estate.api_calls["sagemaker:ListNotebookInstances"] == 1
    assert not [op for op in estate.api_calls if op.startswith("bedrock")]
    assert inventory.errors == ()
    assert inventory.scopes[0].unreadable == frozenset()


# ------------------------------------------------------------------------------------------ failures
def test_a_listing_that_fails_makes_the_scopes_ai_resources_unknown(aws: None) -> None:
    _notebook("still-listed", _key()["id"])
    with refusing(AgentsforBedrockResponse, "list_agents"):
        _, inventory = _scan()
    [error] = inventory.errors
    assert (error.api, error.error_class, error.location) == (
        "bedrock-agent:ListAgents",
        ErrorClass.ACCESS_DENIED,
        REGION,
    )
    assert ScopeAspect.AI_RESOURCES in inventory.scopes[0].unreadable
    # The other listings still count.
    assert _by_name(inventory)["still-listed"].encryption is Encryption.CUSTOMER_MANAGED


def test_a_resource_that_cannot_be_described_is_unknown_never_provider_managed(aws: None) -> None:
    _notebook("hidden", _key()["id"])
    with refusing(SageMakerResponse, "describe_notebook_instance"):
        estate, inventory = _scan()
    [resource] = inventory.resources
    # Its tags were not asked for either: the tenant is unknown too.
    assert resource.encryption is None
    assert resource.unreadable == frozenset({ResourceAspect.ENCRYPTION, ResourceAspect.TAGS})
    [error] = inventory.errors
    assert (error.api, error.resource) == ("sagemaker:DescribeNotebookInstance", resource.uid)
    assert ScopeAspect.AI_RESOURCES not in inventory.scopes[0].unreadable  # it was listed
    assert estate.api_calls["sagemaker:ListTags"] == 0  # nothing more is asked of it


def test_a_data_source_that_cannot_be_read_leaves_the_knowledge_base_unknown(aws: None) -> None:
    agents = boto3.client("bedrock-agent", region_name=REGION)
    _knowledge_base(agents, "docs", None)
    with refusing(AgentsforBedrockResponse, "get_data_source"):
        _, inventory = _scan()
    [resource] = inventory.resources
    # The one data source without a key is not visible: provider-managed would be a guess.
    assert resource.encryption is None and ResourceAspect.ENCRYPTION in resource.unreadable
    assert [e.api for e in inventory.errors] == ["bedrock-agent:GetDataSource"]


# ------------------------------------------------------------------------------------------ principals
def test_ai_service_principals_and_service_restricted_use(aws: None) -> None:
    via_s3 = {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}}
    key = _key(
        policy=[
            {"Sid": "Bedrock", "Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"},
             "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*",
             "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}},
            {"Sid": "AppThroughServices", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/App"},
             "Action": ["kms:Decrypt"], "Resource": "*",
             "Condition": {"StringLike": {"kms:ViaService": [f"sagemaker.{REGION}.amazonaws.com",
                                                             "bedrock.*.amazonaws.com"]}}},
            {"Sid": "BatchThroughS3", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/Batch"},
             "Action": ["kms:Decrypt"], "Resource": "*", "Condition": via_s3},
            {"Sid": "BatchDirect", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/Batch"},
             "Action": ["kms:Encrypt"], "Resource": "*"},
            {"Sid": "OpsNotThroughS3", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/Ops"},
             "Action": ["kms:Decrypt"], "Resource": "*",
             "Condition": {"StringNotEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}}},
        ]
    )  # fmt: skip
    kms = boto3.client("kms", region_name=REGION)
    kms.create_grant(
        KeyId=key["id"], GranteePrincipal=f"sagemaker.{REGION}.amazonaws.com", Operations=["Decrypt"]
    )
    kms.create_grant(KeyId=key["id"], GranteePrincipal="rds.amazonaws.com", Operations=["Decrypt"])

    _, inventory = _scan()
    principals = inventory.principal_by_uid
    assert principals["bedrock.amazonaws.com"].ai_service == "bedrock"
    assert principals["bedrock.amazonaws.com"].kind is PrincipalKind.SERVICE
    assert principals[f"sagemaker.{REGION}.amazonaws.com"].ai_service == "sagemaker"
    assert principals["rds.amazonaws.com"].ai_service is None
    assert principals[f"arn:aws:iam::{ACCOUNT}:role/App"].ai_service is None

    bindings = {(b.principal, b.source): b for b in inventory.bindings if b.target == key["arn"]}
    app = bindings[(f"arn:aws:iam::{ACCOUNT}:role/App", BindingSource.KEY_POLICY)]
    assert app.via_services == ("bedrock", "sagemaker") and app.conditional
    # One statement limits Batch to S3, another does not: it can use the key any way it likes.
    assert bindings[(f"arn:aws:iam::{ACCOUNT}:role/Batch", BindingSource.KEY_POLICY)].via_services == ()
    # A negated ViaService restricts nothing.
    assert bindings[(f"arn:aws:iam::{ACCOUNT}:role/Ops", BindingSource.KEY_POLICY)].via_services == ()
    assert bindings[("bedrock.amazonaws.com", BindingSource.KEY_POLICY)].via_services == ()
    grant = bindings[(f"sagemaker.{REGION}.amazonaws.com", BindingSource.GRANT)]
    assert (grant.via_services, grant.capabilities) == (("sagemaker",), frozenset({Capability.DECRYPT}))
    assert bindings[("rds.amazonaws.com", BindingSource.GRANT)].via_services == ("rds",)

    use = inventory.ai_key_use[key["arn"]]
    assert use.services == ("bedrock", "sagemaker") and use.resources == ()
    assert use.principals == ("bedrock.amazonaws.com", f"sagemaker.{REGION}.amazonaws.com")


def test_identity_policies_limited_to_a_service_carry_it(aws: None) -> None:
    iam = boto3.client("iam")
    trust = {"Version": "2012-10-17", "Statement": []}
    iam.create_role(RoleName="Ingest", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(
        RoleName="Ingest",
        PolicyName="kms-through-s3",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
             "Condition": {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}}}]}),
    )  # fmt: skip
    _, inventory = _scan()
    [binding] = [b for b in inventory.bindings if b.principal.endswith(":role/Ingest")]
    assert (binding.via_services, binding.conditional) == (("s3",), True)


# ------------------------------------------------------------------------------------------ the table
@pytest.mark.parametrize(
    ("principal", "service"),
    [
        ("bedrock.amazonaws.com", "bedrock"),
        ("bedrock.eu-west-1.amazonaws.com", "bedrock"),
        ("sagemaker.amazonaws.com.cn", "sagemaker"),
        ("qbusiness.amazonaws.com", "q"),
        ("lexv2.amazonaws.com", "lex"),
        ("s3.amazonaws.com", None),
        ("arn:aws:iam::123456789012:role/bedrock", None),
        ("bedrock.example.com", None),
    ],
)
def test_service_principals_map_to_ai_services(principal: str, service: str | None) -> None:
    assert ai.ai_service_of_principal(principal) == service


@pytest.mark.parametrize(
    ("value", "service"),
    [
        ("bedrock.eu-west-1.amazonaws.com", "bedrock"),
        ("s3.eu-west-1.amazonaws.com", "s3"),
        ("bedrock.*.amazonaws.com", "bedrock"),
        ("*.amazonaws.com", "*"),
        ("RDS.US-EAST-1.AMAZONAWS.COM", "rds"),
    ],
)
def test_via_service_values_are_normalised(value: str, service: str) -> None:
    assert ai.via_service(value) == service


def test_every_resource_type_names_a_known_ai_service_and_an_allow_listed_call() -> None:
    from providers.aws.readonly import READ_OPERATIONS
    from scanner.inventory import AI_SERVICES

    def api(operation: str) -> str:
        return operation.title().replace("_", "")

    for kind in ai.RESOURCE_TYPES.values():
        assert kind.ai_service in AI_SERVICES
        allowed = READ_OPERATIONS[kind.client]
        operations = [kind.list_operation, kind.describe_operation, ai.TAG_READERS[kind.client].operation]
        if kind.parts:
            operations += [kind.parts.list_operation, kind.parts.describe_operation]
        assert {api(op) for op in operations} <= allowed, kind.native_type
    assert set(ai.SERVICE_PRINCIPALS.values()) <= AI_SERVICES
