"""AWS's one table of AI services (pure: no SDK import, no I/O).

Every AWS-specific AI name keyaudit knows lives here:

* ``SERVICE_PRINCIPALS``: the service part of an AWS service principal (``bedrock.amazonaws.com``, the
  regional ``bedrock.eu-west-1.amazonaws.com``) -> the normalised AI service
  (``scanner.inventory.AI_SERVICES``), for ``Principal.ai_service``; ``via_service`` reads ``kms:ViaService``
  values (``s3.eu-west-1.amazonaws.com`` -> ``s3``) through the same table.
* ``RESOURCE_TYPES``: the SageMaker and Bedrock resources whose customer managed key the SDK exposes: how
  they are listed and described (boto3 operation names), and where their answer names the key.
* ``TAG_READERS``: how each of those services lists a resource's tags (tenants are told apart by tag).

Sources: the "Protect data at rest" pages of SageMaker (notebook instances, endpoint configurations,
training and processing jobs) and Bedrock (custom models, agents, knowledge base data sources and
managed knowledge bases), and the botocore service models of ``sagemaker``, ``bedrock`` and
``bedrock-agent``. A key field left unset means AWS encrypts that data with a key of its own (an AWS owned
key, or the AWS managed ``aws/...`` key of the account): provider-managed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

__all__ = [
    "JOB_LOOKBACK_DAYS",
    "RESOURCE_TYPES",
    "SERVICE_PRINCIPALS",
    "TAG_READERS",
    "KeyField",
    "KeySlot",
    "PartType",
    "ResourceType",
    "TagReader",
    "ai_service_of_principal",
    "evidence_of",
    "key_slots",
    "tags_of",
    "via_service",
]

# Service part of a service principal / kms:ViaService host -> AI service.
SERVICE_PRINCIPALS: Mapping[str, str] = MappingProxyType(
    {
        "bedrock": "bedrock",
        "bedrock-agentcore": "bedrock",
        "sagemaker": "sagemaker",
        "comprehend": "comprehend",
        "comprehendmedical": "comprehend",
        "kendra": "kendra",
        "kendra-ranking": "kendra",
        "q": "q",
        "qbusiness": "q",
        "qapps": "q",
        "rekognition": "rekognition",
        "textract": "textract",
        "transcribe": "transcribe",
        "translate": "translate",
        "lex": "lex",
        "lexv2": "lex",
        "polly": "polly",
        "personalize": "personalize",
        "forecast": "forecast",
    }
)

_SUFFIXES = (".amazonaws.com.cn", ".amazonaws.com")


def _service_part(host: str) -> str | None:
    """``bedrock`` for ``bedrock.amazonaws.com``, ``bedrock.eu-west-1.amazonaws.com`` and the China
    partition's ``.amazonaws.com.cn``; None for anything that is not an AWS service host."""
    text = host.strip().lower()
    for suffix in _SUFFIXES:
        if text.endswith(suffix):
            return text.removesuffix(suffix).split(".", 1)[0] or None
    return None


def ai_service_of_principal(uid: str) -> str | None:
    """The AI service an AWS service principal acts for, else None (non-AI services, IAM principals)."""
    part = _service_part(uid)
    return SERVICE_PRINCIPALS.get(part) if part else None


def via_service(value: str) -> str:
    """A ``kms:ViaService`` value (``bedrock.eu-west-1.amazonaws.com``) as a normalised service name:
    the AI service for AI services, else the service part (``s3``, ``rds``); ``*`` for a pattern that
    admits any service (``*.amazonaws.com``)."""
    part = _service_part(value) or value.strip().lower()
    if "*" in part or "?" in part:
        return "*"
    return SERVICE_PRINCIPALS.get(part, part)


# ------------------------------------------------------------------------------------------ resources
# Training and processing jobs cannot be deleted: every job ever run stays listed. Only jobs created within
# this many days are read; older ones ran on volumes that no longer exist and would be findings no one can
# fix.
JOB_LOOKBACK_DAYS = 90


# SageMaker's listings answer 10 items a page unless asked for more; 100 is the most they give.
SAGEMAKER_PAGE = 100


@dataclass(frozen=True, slots=True)
class KeyField:
    """Where an answer names a key. ``when``: the field only applies when the answer has a true value there
    (data capture enabled, asynchronous inference configured); empty: always."""

    path: tuple[str, ...]
    when: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True, slots=True)
class KeySlot:
    """One key field of one resource as read: ``value`` None means not set (a key of AWS's own)."""

    field: str
    value: str | None


@dataclass(frozen=True, slots=True)
class PartType:
    """Sub-resources listed and described per resource, each with key fields of its own (knowledge base
    data sources)."""

    label: str  # for evidence: dataSource[ID].serverSideEncryptionConfiguration.kmsKeyArn
    list_operation: str
    list_key: str
    id_field: str
    parent_param: str  # the parent's identifier parameter of both calls
    describe_operation: str
    describe_param: str
    answer_field: str
    key_fields: tuple[KeyField, ...]


@dataclass(frozen=True, slots=True)
class ResourceType:
    native_type: str  # CloudFormation's name for the type
    client: str  # boto3 client name
    service: str  # normalised service (``ProtectedResource.service``)
    ai_service: str  # normalised AI service
    list_operation: str
    list_key: str
    name_field: str  # in the listing
    id_field: str  # listing field the describe call takes
    describe_operation: str
    describe_param: str
    # Where the resource is in the describe answer (Bedrock agent answers wrap it); None: the answer itself.
    answer_field: str | None
    # The listing's ARN field; None: the listing has no ARN and ``arn_resource`` builds it from the id.
    arn_field: str | None
    key_fields: tuple[KeyField, ...]
    arn_resource: str = ""  # e.g. "agent/{id}"
    evidence_fields: tuple[tuple[str, ...], ...] = ()  # more of the answer worth showing with the verdict
    recent_only: bool = False  # jobs: listed with CreationTimeAfter (JOB_LOOKBACK_DAYS)
    page_size: int | None = None  # the largest page the listing allows, where its default is small
    parts: PartType | None = None


_DATA_SOURCES = PartType(
    label="dataSource",
    list_operation="list_data_sources",
    list_key="dataSourceSummaries",
    id_field="dataSourceId",
    parent_param="knowledgeBaseId",
    describe_operation="get_data_source",
    describe_param="dataSourceId",
    answer_field="dataSource",
    # Transient data of ingestion; without a key Bedrock uses an AWS owned key.
    key_fields=(KeyField(("serverSideEncryptionConfiguration", "kmsKeyArn")),),
)

RESOURCE_TYPES: Mapping[str, ResourceType] = MappingProxyType(
    {
        t.native_type: t
        for t in (
            ResourceType(
                native_type="AWS::SageMaker::NotebookInstance",
                client="sagemaker",
                service="sagemaker",
                ai_service="sagemaker",
                list_operation="list_notebook_instances",
                list_key="NotebookInstances",
                name_field="NotebookInstanceName",
                id_field="NotebookInstanceName",
                describe_operation="describe_notebook_instance",
                describe_param="NotebookInstanceName",
                answer_field=None,
                arn_field="NotebookInstanceArn",
                page_size=SAGEMAKER_PAGE,
                key_fields=(KeyField(("KmsKeyId",)),),  # the ML storage volume
            ),
            ResourceType(
                native_type="AWS::SageMaker::EndpointConfig",
                client="sagemaker",
                service="sagemaker",
                ai_service="sagemaker",
                list_operation="list_endpoint_configs",
                list_key="EndpointConfigs",
                name_field="EndpointConfigName",
                id_field="EndpointConfigName",
                describe_operation="describe_endpoint_config",
                describe_param="EndpointConfigName",
                answer_field=None,
                arn_field="EndpointConfigArn",
                page_size=SAGEMAKER_PAGE,
                key_fields=(
                    KeyField(("KmsKeyId",)),  # storage volumes of the hosting instances
                    KeyField(("DataCaptureConfig", "KmsKeyId"), when=("DataCaptureConfig", "EnableCapture")),
                    KeyField(
                        ("AsyncInferenceConfig", "OutputConfig", "KmsKeyId"),
                        when=("AsyncInferenceConfig", "OutputConfig"),
                    ),
                ),
            ),
            ResourceType(
                native_type="AWS::SageMaker::TrainingJob",
                client="sagemaker",
                service="sagemaker",
                ai_service="sagemaker",
                list_operation="list_training_jobs",
                list_key="TrainingJobSummaries",
                name_field="TrainingJobName",
                id_field="TrainingJobName",
                describe_operation="describe_training_job",
                describe_param="TrainingJobName",
                answer_field=None,
                arn_field="TrainingJobArn",
                page_size=SAGEMAKER_PAGE,
                key_fields=(
                    KeyField(("ResourceConfig", "VolumeKmsKeyId")),
                    KeyField(("OutputDataConfig", "KmsKeyId")),  # the model artifacts
                ),
                recent_only=True,
            ),
            ResourceType(
                native_type="AWS::SageMaker::ProcessingJob",
                client="sagemaker",
                service="sagemaker",
                ai_service="sagemaker",
                list_operation="list_processing_jobs",
                list_key="ProcessingJobSummaries",
                name_field="ProcessingJobName",
                id_field="ProcessingJobName",
                describe_operation="describe_processing_job",
                describe_param="ProcessingJobName",
                answer_field=None,
                arn_field="ProcessingJobArn",
                page_size=SAGEMAKER_PAGE,
                key_fields=(
                    KeyField(("ProcessingResources", "ClusterConfig", "VolumeKmsKeyId")),
                    KeyField(("ProcessingOutputConfig", "KmsKeyId"), when=("ProcessingOutputConfig",)),
                ),
                recent_only=True,
            ),
            ResourceType(
                native_type="AWS::Bedrock::CustomModel",
                client="bedrock",
                service="bedrock",
                ai_service="bedrock",
                list_operation="list_custom_models",
                list_key="modelSummaries",
                name_field="modelName",
                id_field="modelArn",
                describe_operation="get_custom_model",
                describe_param="modelIdentifier",
                answer_field=None,
                arn_field="modelArn",
                key_fields=(KeyField(("modelKmsKeyArn",)),),
            ),
            ResourceType(
                native_type="AWS::Bedrock::Agent",
                client="bedrock-agent",
                service="bedrock",
                ai_service="bedrock",
                list_operation="list_agents",
                list_key="agentSummaries",
                name_field="agentName",
                id_field="agentId",
                describe_operation="get_agent",
                describe_param="agentId",
                answer_field="agent",
                arn_field=None,
                arn_resource="agent/{id}",
                key_fields=(KeyField(("customerEncryptionKeyArn",)),),
            ),
            ResourceType(
                native_type="AWS::Bedrock::KnowledgeBase",
                client="bedrock-agent",
                service="bedrock",
                ai_service="bedrock",
                list_operation="list_knowledge_bases",
                list_key="knowledgeBaseSummaries",
                name_field="name",
                id_field="knowledgeBaseId",
                describe_operation="get_knowledge_base",
                describe_param="knowledgeBaseId",
                answer_field="knowledgeBase",
                arn_field=None,
                arn_resource="knowledge-base/{id}",
                # A managed knowledge base stores its content itself; a vector knowledge base keeps it in
                # its vector store (OpenSearch Serverless, Aurora...), whose encryption is that service's
                # and is not read here: only its data sources' ingestion key is.
                key_fields=(
                    KeyField(
                        (
                            "knowledgeBaseConfiguration",
                            "managedKnowledgeBaseConfiguration",
                            "serverSideEncryptionConfiguration",
                            "kmsKeyArn",
                        ),
                        when=("knowledgeBaseConfiguration", "managedKnowledgeBaseConfiguration"),
                    ),
                ),
                parts=_DATA_SOURCES,
                evidence_fields=(("knowledgeBaseConfiguration", "type"), ("storageConfiguration", "type")),
            ),
        )
    }
)


@dataclass(frozen=True, slots=True)
class TagReader:
    operation: str
    param: str  # the ARN parameter
    result_key: str
    paginated: bool


TAG_READERS: Mapping[str, TagReader] = MappingProxyType(
    {
        "sagemaker": TagReader("list_tags", "ResourceArn", "Tags", paginated=True),
        "bedrock": TagReader("list_tags_for_resource", "resourceARN", "tags", paginated=False),
        "bedrock-agent": TagReader("list_tags_for_resource", "resourceArn", "tags", paginated=False),
    }
)


def _at(answer: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        if not isinstance(answer, Mapping):
            return None
        answer = answer.get(name)
    return answer


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def key_slots(fields: tuple[KeyField, ...], answer: Mapping[str, Any], prefix: str = "") -> list[KeySlot]:
    """The key fields that apply to ``answer``, each with the key it names (None: not set)."""
    return [
        KeySlot(prefix + field.label, _text(_at(answer, field.path)))
        for field in fields
        if not field.when or _at(answer, field.when)
    ]


def evidence_of(fields: tuple[tuple[str, ...], ...], answer: Mapping[str, Any]) -> dict[str, str]:
    return {".".join(path): str(value) for path in fields if (value := _at(answer, path)) is not None}


def tags_of(answer: Any) -> dict[str, str]:
    """Tags as SageMaker (``[{Key, Value}]``), Bedrock (``[{key, value}]``) or Bedrock agents (a map) send
    them."""
    if isinstance(answer, Mapping):
        return {str(k): str(v) for k, v in answer.items()}
    out: dict[str, str] = {}
    for tag in answer or ():
        if isinstance(tag, Mapping):
            name = tag.get("Key", tag.get("key"))
            if name is not None:
                out[str(name)] = str(tag.get("Value", tag.get("value", "")))
    return out
