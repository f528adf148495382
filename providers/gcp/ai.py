"""GCP's one table of AI services (pure: no SDK import, no I/O).

Every GCP-specific AI name keyaudit knows lives here:

* ``SERVICE_AGENT_DOMAINS``: the Google-managed service agents that act for an AI service
  (``service-PROJECT_NUMBER@gcp-sa-aiplatform.iam.gserviceaccount.com`` ...) -> the normalised AI
  service (``scanner.inventory.AI_SERVICES``), for ``Principal.ai_service``.
* ``ASSET_TYPES``: the Cloud Asset Inventory resource types of AI workloads whose customer-managed key
  Cloud Asset exposes -> the AI service and the fields of ``resource.data`` where the key is named.

Sources: cloud.google.com/iam/docs/service-agents (agent domains), the CMEK pages of Vertex AI, Vertex
AI Workbench, Document AI and Vertex AI Search (Discovery Engine), and the Cloud Asset Inventory list of
supported asset types. Types without a customer-managed key field (Vertex AI SpecialistPool,
FeatureGroup, Schedule) are left out: they hold no data a key could protect, so they would only show up
as "provider-managed" by mistake. Dialogflow CX sets CMEK per location (``EncryptionSpec`` of
``projects/P/locations/L``), not per agent, so it has no resource type here; its service agent does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

__all__ = [
    "AI_ASSET_TYPES",
    "ASSET_TYPES",
    "SERVICE_AGENT_DOMAINS",
    "AiAssetType",
    "KeySlot",
    "ai_service_of_member",
    "key_uid",
]

# Agent domain -> AI service. Per-project agents are service-PROJECT_NUMBER@<domain>.
SERVICE_AGENT_DOMAINS: Mapping[str, str] = MappingProxyType(
    {
        "gcp-sa-aiplatform.iam.gserviceaccount.com": "vertex_ai",  # Vertex AI Service Agent
        "gcp-sa-aiplatform-cc.iam.gserviceaccount.com": "vertex_ai",  # Vertex AI Custom Code Service Agent
        "gcp-sa-aiplatform-re.iam.gserviceaccount.com": "vertex_ai",  # Vertex AI Reasoning Engine
        "cloud-ml.google.com.iam.gserviceaccount.com": "vertex_ai",  # AI Platform (legacy) Service Agent
        "gcp-sa-notebooks.iam.gserviceaccount.com": "notebooks",  # Vertex AI Workbench (Notebooks)
        "gcp-sa-discoveryengine.iam.gserviceaccount.com": "discovery_engine",  # Vertex AI Search / Agent Builder
        "gcp-sa-dialogflow.iam.gserviceaccount.com": "dialogflow",
        "gcp-sa-prod-dai-core.iam.gserviceaccount.com": "document_ai",  # Document AI Core Service Agent
        "gcp-sa-contactcenterinsights.iam.gserviceaccount.com": "contact_center_ai",
        "gcp-sa-speech.iam.gserviceaccount.com": "speech",
        "gcp-sa-translation.iam.gserviceaccount.com": "translation",
    }
)


def ai_service_of_member(member: str) -> str | None:
    """The AI service an IAM member acts for (a Google-managed AI service agent), else None."""
    if not member.startswith("serviceAccount:"):
        return None
    local, _, domain = member.removeprefix("serviceAccount:").strip().lower().rpartition("@")
    # Only Google's own agents: service-N@ (or service-org-N@ / service-folder-N@).
    if not local.startswith("service-"):
        return None
    return SERVICE_AGENT_DOMAINS.get(domain)


_KMS_PREFIX = "//cloudkms.googleapis.com/"
_VERSION = "/cryptoKeyVersions/"


def key_uid(reference: str) -> str:
    """The Cloud KMS key a reference names, spelled as ``Key.uid``: a key version names its key, and the
    full resource name form (``//cloudkms.googleapis.com/projects/...``) loses its service prefix."""
    name = reference.strip().removeprefix(_KMS_PREFIX)
    return name.split(_VERSION, 1)[0]


@dataclass(frozen=True, slots=True)
class KeySlot:
    """One place of a resource that a key protects (a resource, a disk); ``value`` None: no key set."""

    field: str  # where it was read, e.g. encryptionSpec.kmsKeyName or gceSetup.dataDisks[1].kmsKey
    value: str | None


Slots = Callable[[Mapping[str, Any]], Iterator[KeySlot]]


@dataclass(frozen=True, slots=True)
class AiAssetType:
    service: str  # normalised service of the resource (``ProtectedResource.service``)
    ai_service: str  # normalised AI service (``ProtectedResource.ai_service``)
    slots: Slots  # where the resource names its keys


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _encryption_spec(data: Mapping[str, Any]) -> Iterator[KeySlot]:
    """Vertex AI: ``encryptionSpec.kmsKeyName`` on the resource; absent means Google default encryption."""
    spec = data.get("encryptionSpec")
    value = spec.get("kmsKeyName") if isinstance(spec, Mapping) else None
    yield KeySlot("encryptionSpec.kmsKeyName", _text(value))


def _workbench_instance(data: Mapping[str, Any]) -> Iterator[KeySlot]:
    """Vertex AI Workbench: v2 instances name a key per disk (``gceSetup.bootDisk`` / ``dataDisks[]``),
    v1 instances one ``kmsKey`` for their disks; ``diskEncryption`` GMEK (or no key) is Google's."""
    setup = data.get("gceSetup")
    if isinstance(setup, Mapping):
        boot = setup.get("bootDisk")
        if isinstance(boot, Mapping):
            yield KeySlot("gceSetup.bootDisk.kmsKey", _text(boot.get("kmsKey")))
        disks = setup.get("dataDisks")
        for index, disk in enumerate(disks if isinstance(disks, list) else ()):
            if isinstance(disk, Mapping):
                yield KeySlot(f"gceSetup.dataDisks[{index}].kmsKey", _text(disk.get("kmsKey")))
        return
    yield KeySlot("kmsKey", _text(data.get("kmsKey")))


def _kms_key_name(data: Mapping[str, Any]) -> Iterator[KeySlot]:
    """Document AI processors: ``kmsKeyName``, set at creation and never changed."""
    yield KeySlot("kmsKeyName", _text(data.get("kmsKeyName")))


def _cmek_config(data: Mapping[str, Any]) -> Iterator[KeySlot]:
    """Vertex AI Search data stores: ``cmekConfig.kmsKey`` (``kmsKeyName`` is input only, never returned)."""
    config = data.get("cmekConfig")
    value = None
    if isinstance(config, Mapping):
        value = _text(config.get("kmsKey")) or _text(config.get("kmsKeyVersion"))
    yield KeySlot("cmekConfig.kmsKey", value)


_VERTEX_TYPES = (
    "BatchPredictionJob",
    "CustomJob",
    "DataLabelingJob",
    "Dataset",
    "Endpoint",
    "FeatureOnlineStore",
    "Featurestore",
    "HyperparameterTuningJob",
    "Index",
    "IndexEndpoint",
    "MetadataStore",
    "Model",
    "ModelDeploymentMonitoringJob",
    "NasJob",
    "NotebookExecutionJob",
    "NotebookRuntime",
    "NotebookRuntimeTemplate",
    "PipelineJob",
    "Tensorboard",
    "TrainingPipeline",
    "TuningJob",
)

ASSET_TYPES: Mapping[str, AiAssetType] = MappingProxyType(
    {
        **{
            f"aiplatform.googleapis.com/{name}": AiAssetType("vertex_ai", "vertex_ai", _encryption_spec)
            for name in _VERTEX_TYPES
        },
        "notebooks.googleapis.com/Instance": AiAssetType("notebooks", "notebooks", _workbench_instance),
        "documentai.googleapis.com/Processor": AiAssetType("document_ai", "document_ai", _kms_key_name),
        "discoveryengine.googleapis.com/DataStore": AiAssetType(
            "discovery_engine", "discovery_engine", _cmek_config
        ),
    }
)
# What the collectors ask Cloud Asset Inventory for, in a stable order.
AI_ASSET_TYPES: tuple[str, ...] = tuple(sorted(ASSET_TYPES))
