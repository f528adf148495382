"""Fill moto's gaps so a simulated AWS estate answers like the real KMS (demo and tests only).

moto (the ``keyaudit[demo]`` extra) lacks custom key stores, stores no rotation period and leaves out
several DescribeKey fields. We add them the way moto itself is extended: by replacing methods of its
response class, so boto3's real parser still reads the wire format. Values live in a registry keyed
by account and region, next to moto's own state, and are cleared with it. The same way, CloudHSM gets
CreateHsm, STS can refuse AssumeRole (``deny_assume_role``) and CloudTrail reports the default event
selector of a trail created without one; ``fast_key_generation`` and ``organization_account_ids`` make
seeding an estate (providers/aws/demo.py) fast and its account ids fixed. For AI workloads, SageMaker
processing jobs keep their volume key, Bedrock custom models report the key they were given (or none),
and Bedrock knowledge bases get data sources.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any


@dataclass
class _Extras:
    # key id -> fields merged into DescribeKey's KeyMetadata
    key_metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    # key id -> rotation period in days (moto accepts RotationPeriodInDays but drops it)
    rotation_periods: dict[str, int] = field(default_factory=dict)
    custom_key_stores: list[dict[str, Any]] = field(default_factory=list)
    # knowledge base id -> its data sources (moto's Bedrock agents have none)
    data_sources: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


_REGISTRY: dict[tuple[str, str], _Extras] = defaultdict(_Extras)


def extras(account: str, region: str) -> _Extras:
    return _REGISTRY[(account, region)]


def reset() -> None:
    _REGISTRY.clear()
    _DENIED_ROLES.clear()


def add_custom_key_store(account: str, region: str, store: dict[str, Any]) -> None:
    extras(account, region).custom_key_stores.append(store)


def set_key_metadata(account: str, region: str, key_id: str, **fields: Any) -> None:
    """Fields merged into DescribeKey's KeyMetadata; a None value removes a field moto reports."""
    extras(account, region).key_metadata.setdefault(key_id, {}).update(fields)


def set_rotation_period(account: str, region: str, key_id: str, days: int) -> None:
    extras(account, region).rotation_periods[key_id] = days


@cache
def patch_moto() -> None:
    """Install the extensions, once per process (``cache`` makes later calls no-ops)."""
    from moto.kms.responses import KmsResponse

    original_describe = KmsResponse.describe_key
    original_rotation = KmsResponse.get_key_rotation_status
    original_enable_rotation = KmsResponse.enable_key_rotation

    def describe_key(self: Any) -> str:
        answer = json.loads(original_describe(self))
        metadata = answer["KeyMetadata"]
        overrides = extras(self.current_account, self.region).key_metadata.get(metadata["KeyId"], {})
        for name, value in overrides.items():
            if value is None:
                metadata.pop(name, None)
            else:
                metadata[name] = value
        return json.dumps(answer)

    def get_key_rotation_status(self: Any) -> str:
        answer = json.loads(original_rotation(self))
        key_id = self.kms_backend.get_key_id(self._get_param("KeyId"))
        period = extras(self.current_account, self.region).rotation_periods.get(key_id)
        if answer.get("KeyRotationEnabled"):
            period = period or 365
            answer["RotationPeriodInDays"] = period
            key = self.kms_backend.describe_key(key_id)
            created = datetime.fromtimestamp(key.creation_date, tz=UTC)
            elapsed = (datetime.now(UTC) - created).days
            next_rotation = created + timedelta(days=period * (elapsed // period + 1))
            answer["NextRotationDate"] = next_rotation.timestamp()
        return json.dumps(answer)

    def enable_key_rotation(self: Any) -> str:
        period = self._get_param("RotationPeriodInDays")
        if period is not None:
            key_id = self.kms_backend.get_key_id(self._get_param("KeyId"))
            set_rotation_period(self.current_account, self.region, key_id, int(period))
        result: str = original_enable_rotation(self)
        return result

    def describe_custom_key_stores(self: Any) -> str:
        stores = extras(self.current_account, self.region).custom_key_stores
        wanted_id = self._get_param("CustomKeyStoreId")
        wanted_name = self._get_param("CustomKeyStoreName")
        selected = [
            s
            for s in stores
            if (wanted_id is None or s["CustomKeyStoreId"] == wanted_id)
            and (wanted_name is None or s.get("CustomKeyStoreName") == wanted_name)
        ]
        return json.dumps({"CustomKeyStores": selected, "Truncated": False})

    KmsResponse.describe_key = describe_key  # type: ignore[method-assign]
    KmsResponse.get_key_rotation_status = get_key_rotation_status  # type: ignore[method-assign]
    KmsResponse.enable_key_rotation = enable_key_rotation  # type: ignore[method-assign]
    KmsResponse.describe_custom_key_stores = describe_custom_key_stores  # type: ignore[attr-defined]
    _patch_sts()
    _patch_cloudtrail()
    _patch_cloudhsm()
    _patch_sagemaker()
    _patch_bedrock()
    _patch_bedrock_agent()


@contextmanager
def isolated_environment() -> Iterator[None]:
    """Fake credentials and no endpoint, profile or config file of the user's: a simulated scan must
    never reach a real account, whatever the shell around it has set."""
    saved = {name: os.environ.get(name) for name in _ENVIRONMENT}
    os.environ.update(_ENVIRONMENT)
    for name in _CLEARED:
        saved.setdefault(name, os.environ.pop(name, None))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "keyaudit-demo",
    "AWS_SECRET_ACCESS_KEY": "keyaudit-demo",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
_CLEARED = (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
)


# ---------------------------------------------------------------------------------------------------
# Added for the demo estate (providers/aws/demo.py); each fills one more moto gap.

# Role ARNs STS refuses to hand out credentials for (see ``deny_assume_role``); cleared by ``reset``.
_DENIED_ROLES: set[str] = set()
# Key spec -> the one private key moto's CreateKey gets for it inside ``fast_key_generation``.
_PRIVATE_KEYS: dict[str, Any] = {}


def deny_assume_role(role_arn: str) -> None:
    """Make STS answer AssumeRole into ``role_arn`` with AccessDenied, as it does for a role that does not
    exist or does not trust the caller. moto hands out credentials for any role ARN (and creates
    OrganizationAccountAccessRole in every account Organizations creates), so an account whose role is
    missing, e.g. one invited into the organization rather than created by it, has to be declared here."""
    _DENIED_ROLES.add(role_arn)


@contextmanager
def fast_key_generation() -> Iterator[None]:
    """Within the block, moto's CreateKey reuses one generated private key per key spec.

    moto generates a private key for every CreateKey, RSA-2048 even for symmetric and HMAC keys (~63 ms
    each: most of the time a simulated estate takes to build). Keys created inside the block share the
    material of their spec: signatures and ciphertexts stay valid, but one key's signature also verifies
    under another key of the same spec, so this is for seeding estates, never for tests of cryptography.
    The private key is moto's own (``moto.kms.models.generate_private_key``, the name ``Key.__init__``
    calls); the original is restored on exit.
    """
    from moto.kms import models

    original = models.generate_private_key

    def generate(key_spec: str) -> Any:
        found = _PRIVATE_KEYS.get(key_spec)
        if found is None:
            found = _PRIVATE_KEYS[key_spec] = original(key_spec)
        return found

    models.generate_private_key = generate
    try:
        yield
    finally:
        models.generate_private_key = original


@contextmanager
def organization_account_ids(*account_ids: str) -> Iterator[None]:
    """Within the block, Organizations CreateAccount gives new accounts ``account_ids``, in order.

    moto numbers created accounts at random; a simulated estate judged against a policy that names
    principals by account (``arn:aws:iam::111122223333:role/KeyAdmin``) needs the ids it names. Once the
    list runs out, ids are random again. Patches ``moto.organizations.utils.make_random_account_id``,
    which moto's account model calls; restored on exit.
    """
    from moto.organizations import utils

    original = utils.make_random_account_id
    queue = list(account_ids)

    def next_id() -> str:
        return queue.pop(0) if queue else original()

    utils.make_random_account_id = next_id
    try:
        yield
    finally:
        utils.make_random_account_id = original


def _patch_sts() -> None:
    from xml.sax.saxutils import escape

    from moto.sts.responses import TokenResponse

    original_assume_role = TokenResponse.assume_role

    def assume_role(self: Any) -> Any:
        role_arn = self._get_param("RoleArn")
        if role_arn not in _DENIED_ROLES:
            return original_assume_role(self)
        # STS's own wire format (AccessDenied has no error shape in the STS model, so moto's serializer
        # would warn about it): HTTP 403 with a query-protocol error document.
        message = (
            f"User: arn:aws:iam::{self.current_account}:root is not authorized to perform: "
            f"sts:AssumeRole on resource: {role_arn}"
        )
        body = (
            '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
            f"<Code>AccessDenied</Code><Message>{escape(message)}</Message></Error>"
            "<RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ErrorResponse>"
        )
        return body, {"status": 403}

    TokenResponse.assume_role = assume_role  # type: ignore[method-assign]


def _patch_cloudtrail() -> None:
    """A trail created without event selectors logs all management events, and CloudTrail's
    GetEventSelectors says so with a default selector; moto answers with no selector at all."""
    from moto.cloudtrail.responses import CloudTrailResponse

    original_get_event_selectors = CloudTrailResponse.get_event_selectors

    def get_event_selectors(self: Any) -> str:
        answer = json.loads(original_get_event_selectors(self))
        if not answer.get("EventSelectors") and not answer.get("AdvancedEventSelectors"):
            answer["EventSelectors"] = [
                {
                    "ReadWriteType": "All",
                    "IncludeManagementEvents": True,
                    "DataResources": [],
                    "ExcludeManagementEventSources": [],
                }
            ]
        return json.dumps(answer)

    CloudTrailResponse.get_event_selectors = get_event_selectors  # type: ignore[method-assign]


def _patch_cloudhsm() -> None:
    """CloudHSM CreateHsm (moto 5.2 has clusters but no HSMs): an ACTIVE HSM in the zone asked for."""
    import uuid

    from moto.cloudhsmv2.exceptions import ResourceNotFoundException
    from moto.cloudhsmv2.responses import CloudHSMV2Response

    def create_hsm(self: Any) -> str:
        params = json.loads(self.body)
        cluster = self.cloudhsmv2_backend.clusters.get(params.get("ClusterId"))
        if cluster is None:
            raise ResourceNotFoundException(f"Cluster {params.get('ClusterId')} not found")
        number = len(cluster.hsms) + 1
        hsm = {
            "AvailabilityZone": params["AvailabilityZone"],
            "ClusterId": cluster.cluster_id,
            "EniId": f"eni-{uuid.uuid4().hex[:17]}",
            "EniIp": params.get("IpAddress") or f"10.0.{number}.10",
            "HsmId": f"hsm-{uuid.uuid4().hex[:11]}",
            "State": "ACTIVE",
            "StateMessage": "HSM created.",
        }
        cluster.hsms.append(hsm)
        return json.dumps({"Hsm": hsm})

    CloudHSMV2Response.create_hsm = create_hsm  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------------
# AI workloads (providers/aws/ai.py): what SageMaker and Bedrock report about their keys.


def _patch_sagemaker() -> None:
    """DescribeProcessingJob reports ``ProcessingResources`` (the cluster and its volume key): moto drops it
    at creation. moto answers with its jobs' attributes, CamelCased: storing the field on the job is enough."""
    from moto.sagemaker.responses import SageMakerResponse

    original_create = SageMakerResponse.create_processing_job

    def create_processing_job(self: Any) -> Any:
        result = original_create(self)
        resources = self._get_param("ProcessingResources")
        if resources is not None:
            job = self.sagemaker_backend.processing_jobs[self._get_param("ProcessingJobName")]
            job.processing_resources = resources
        return result

    SageMakerResponse.create_processing_job = create_processing_job  # type: ignore[method-assign]


def _patch_bedrock() -> None:
    """A custom model's ``modelKmsKeyArn`` is the ``customModelKmsKeyId`` its customization job was given,
    and absent without one (AWS owned key); moto reports a made-up key ARN for every model."""
    from moto.bedrock.responses import BedrockResponse

    original_create = BedrockResponse.create_model_customization_job

    def create_model_customization_job(self: Any) -> str:
        result: str = original_create(self)
        params = json.loads(self.body)
        model = self.bedrock_backend.custom_models[params["customModelName"]]
        model.model_kms_key_arn = params.get("customModelKmsKeyId")
        return result

    BedrockResponse.create_model_customization_job = create_model_customization_job  # type: ignore[method-assign]


def _patch_bedrock_agent() -> None:
    """Knowledge base data sources: CreateDataSource, ListDataSources and GetDataSource (moto 5.2 has
    knowledge bases without them). Paths: /knowledgebases/{knowledgeBaseId}/datasources/[{dataSourceId}]."""
    import uuid

    from moto.bedrockagent.exceptions import ResourceNotFoundException
    from moto.bedrockagent.responses import AgentsforBedrockResponse

    def sources(self: Any) -> list[dict[str, Any]]:
        knowledge_base = self.path.split("/")[2]
        self.bedrockagent_backend.get_knowledge_base(knowledge_base)  # not found: moto's own error
        found: list[dict[str, Any]] = extras(self.current_account, self.region).data_sources.setdefault(
            knowledge_base, []
        )
        return found

    def create_data_source(self: Any) -> str:
        params = json.loads(self.body)
        now = datetime.now(UTC).isoformat()
        source = {
            "knowledgeBaseId": self.path.split("/")[2],
            "dataSourceId": uuid.uuid4().hex[:10].upper(),
            "name": params["name"],
            "status": "AVAILABLE",
            "dataSourceConfiguration": params["dataSourceConfiguration"],
            "dataDeletionPolicy": params.get("dataDeletionPolicy", "DELETE"),
            "createdAt": now,
            "updatedAt": now,
        }
        if params.get("serverSideEncryptionConfiguration"):
            source["serverSideEncryptionConfiguration"] = params["serverSideEncryptionConfiguration"]
        sources(self).append(source)
        return json.dumps({"dataSource": source})

    def list_data_sources(self: Any) -> str:
        summaries = [
            {k: s[k] for k in ("knowledgeBaseId", "dataSourceId", "name", "status", "updatedAt")}
            for s in sources(self)
        ]
        return json.dumps({"dataSourceSummaries": summaries})

    def get_data_source(self: Any) -> str:
        wanted = self.path.rstrip("/").split("/")[-1]
        for source in sources(self):
            if source["dataSourceId"] == wanted:
                return json.dumps({"dataSource": source})
        raise ResourceNotFoundException(f"Data source {wanted} not found")

    AgentsforBedrockResponse.create_data_source = create_data_source  # type: ignore[attr-defined]
    AgentsforBedrockResponse.list_data_sources = list_data_sources  # type: ignore[attr-defined]
    AgentsforBedrockResponse.get_data_source = get_data_source  # type: ignore[attr-defined]
