"""A simulated Google Cloud organization and the REST exchanges that serve it to the real clients.

``keyaudit demo``, the GCP tests and ``benchmarks/gcp_scan.py`` describe an estate once, declaratively
(organization, folders, projects, key rings, crypto keys with their versions, IAM allow policies, custom
roles, injected errors), and turn it into exchanges for ``providers.gcp.replay.ReplayServer``. Standard
library only: nothing from the Google SDKs is imported.

Two views of the same estate, as the two collection paths read it:

* ``per_project_exchanges``: what ``providers.gcp.collect.GcpCollector`` asks for each project:
  Resource Manager v3 (the project by id, its ancestors, every allow policy with
  ``{"options": {"requestedPolicyVersion": 3}}`` in a POST body) and Cloud KMS (locations, key rings,
  crypto keys, versions, and ``GET {ring or key}:getIamPolicy?options.requestedPolicyVersion=3``), and
  the project's AI resources through ``list_assets`` on ``projects/NUMBER``.
* ``asset_exchanges``: an ``organizations/O`` or ``folders/F`` scan through Cloud Asset Inventory:
  ``list_assets`` (Cloud KMS asset types, ``contentType=1`` i.e. RESOURCE, ``pageSize=1000``; then the
  AI asset types of ``providers.gcp.ai``, and ``projects.get`` by number for projects holding only AI
  resources),
  ``searchAllIamPolicies`` (``pageSize=500``, bindings only, resources strictly below the scope), the
  full allow policies (audit configs) of the projects holding key rings and of every folder and
  organization above them, the IAM custom roles, and the Resource Manager enumeration the collector
  falls back to when Cloud Asset Inventory is denied (``asset_denied``).

Every list really pages: a list longer than its page size is split, each page but the last answers a
``nextPageToken`` and the next page only answers a request carrying that ``pageToken``. The wire shapes
(paths, query parameters, JSON field names, enum names) follow the hand-written cassettes in
``tests/providers/gcp/cassettes``; the tests drive the real google-cloud clients with these exchanges.

``demo_estate()`` is the organization of Example Corp (``example.com``) that ``keyaudit demo`` scans;
``python -m providers.gcp.simulated --write-demo`` regenerates ``providers/gcp/demo_estate.json`` from it.
``bulk_estate()`` builds the large synthetic organization of the benchmark.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from providers.gcp.ai import AI_ASSET_TYPES

__all__ = [
    "KMS_ASSET_TYPES",
    "POLICY_ASSET_TYPES",
    "AiResource",
    "CryptoKey",
    "CustomRole",
    "Estate",
    "Folder",
    "KeyRing",
    "Organization",
    "Project",
    "Version",
    "ai_resource_json",
    "asset_exchanges",
    "audit_config",
    "binding",
    "bulk_estate",
    "combine",
    "condition",
    "custom_role_exchanges",
    "demo_document",
    "demo_estate",
    "enumeration_exchanges",
    "per_project_exchanges",
    "policy",
    "render_demo",
]

DEMO_FILE = Path(__file__).with_name("demo_estate.json")

KMS_ASSET_TYPES = (
    "cloudkms.googleapis.com/CryptoKey",
    "cloudkms.googleapis.com/CryptoKeyVersion",
    "cloudkms.googleapis.com/EkmConnection",
    "cloudkms.googleapis.com/KeyRing",
)
POLICY_ASSET_TYPES = ("cloudkms.googleapis.com/CryptoKey", "cloudkms.googleapis.com/KeyRing")
ASSET_PAGE_SIZE = 1000  # what the asset collector asks for (the list_assets maximum)
POLICY_PAGE_SIZE = 500  # idem for search_all_iam_policies
DEFAULT_PAGE_SIZE = 100  # items per page of the KMS and Resource Manager lists, unless told otherwise
CONTENT_TYPE_RESOURCE = 1  # asset_v1.ContentType.RESOURCE, as it travels with enum-encoding=int
# The AI resources' listing, on an organization, folder or project.
AI_LIST_QUERY: dict[str, Any] = {
    "assetTypes": list(AI_ASSET_TYPES),
    "contentType": CONTENT_TYPE_RESOURCE,
    "pageSize": ASSET_PAGE_SIZE,
}

KMS_PREFIX = "//cloudkms.googleapis.com/"
CRM_PREFIX = "//cloudresourcemanager.googleapis.com/"
KMS_DISCOVERY = "https://cloudkms.googleapis.com/$discovery/rest"
POLICY_QUERY: dict[str, Any] = {"options.requestedPolicyVersion": 3}  # KMS getIamPolicy (GET)
POLICY_BODY: dict[str, Any] = {"options": {"requestedPolicyVersion": 3}}  # Resource Manager (POST)
EMPTY_ETAG = "ACAB"  # what getIamPolicy answers for a resource without a policy
# The scanner's own project (the quota project a SERVICE_DISABLED error names).
SCANNER_PROJECT_NUMBER = "987654321098"
_DAY = 86400

# Cloud KMS locations: (id, display name, HSM available, EKM available). A representative list: every
# project lists them all, and the per-project path lists the key rings of each.
KMS_LOCATIONS: tuple[tuple[str, str, bool, bool], ...] = (
    ("global", "Global", True, False),
    ("asia", "Asia", True, False),
    ("europe", "Europe", True, False),
    ("us", "United States", True, False),
    ("nam4", "Iowa and South Carolina", True, False),
    ("eur4", "Netherlands and Finland", True, False),
    ("asia-east1", "Taiwan", True, True),
    ("asia-east2", "Hong Kong", True, True),
    ("asia-northeast1", "Tokyo", True, True),
    ("asia-northeast2", "Osaka", True, True),
    ("asia-northeast3", "Seoul", True, True),
    ("asia-south1", "Mumbai", True, True),
    ("asia-south2", "Delhi", True, False),
    ("asia-southeast1", "Singapore", True, True),
    ("asia-southeast2", "Jakarta", True, True),
    ("australia-southeast1", "Sydney", True, True),
    ("australia-southeast2", "Melbourne", True, False),
    ("europe-central2", "Warsaw", True, True),
    ("europe-north1", "Finland", True, True),
    ("europe-southwest1", "Madrid", True, False),
    ("europe-west1", "Belgium", True, True),
    ("europe-west2", "London", True, True),
    ("europe-west3", "Frankfurt", True, True),
    ("europe-west4", "Netherlands", True, True),
    ("europe-west6", "Zurich", True, True),
    ("europe-west8", "Milan", True, False),
    ("europe-west9", "Paris", True, False),
    ("me-central1", "Doha", True, False),
    ("me-west1", "Tel Aviv", True, False),
    ("northamerica-northeast1", "Montréal", True, True),
    ("northamerica-northeast2", "Toronto", True, True),
    ("southamerica-east1", "São Paulo", True, True),
    ("southamerica-west1", "Santiago", True, False),
    ("us-central1", "Iowa", True, True),
    ("us-east1", "South Carolina", True, True),
    ("us-east4", "Northern Virginia", True, True),
    ("us-east5", "Columbus", True, False),
    ("us-south1", "Dallas", True, False),
    ("us-west1", "Oregon", True, True),
    ("us-west2", "Los Angeles", True, True),
    ("us-west3", "Salt Lake City", True, True),
    ("us-west4", "Las Vegas", True, True),
)
_LOCATION_INFO = {loc: (name, hsm, ekm) for loc, name, hsm, ekm in KMS_LOCATIONS}


# ------------------------------------------------------------------------------------------ policies
def condition(expression: str, title: str, description: str | None = None) -> dict[str, Any]:
    """An IAM condition (CEL ``expression``) as REST writes it."""
    found = {"title": title, "expression": expression}
    if description:
        found["description"] = description
    return found


def binding(role: str, *members: str, condition: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One binding of ``role`` to ``members``, optionally conditional."""
    if not members:
        raise ValueError(f"binding of {role} needs at least one member")
    found: dict[str, Any] = {"role": role, "members": list(members)}
    if condition is not None:
        found["condition"] = dict(condition)
    return found


def audit_config(
    service: str, *log_types: str, exempted: Mapping[str, Sequence[str]] | None = None
) -> dict[str, Any]:
    """An ``auditConfigs`` entry: Data Access log types on for ``service``, with exempted members."""
    exempted = exempted or {}
    unknown = set(exempted) - set(log_types)
    if unknown:
        raise ValueError(f"exempted members for log types that are not enabled: {sorted(unknown)}")
    configs = []
    for log_type in log_types:
        entry: dict[str, Any] = {"logType": log_type}
        if exempted.get(log_type):
            entry["exemptedMembers"] = list(exempted[log_type])
        configs.append(entry)
    return {"service": service, "auditLogConfigs": configs}


def policy(*bindings: Mapping[str, Any], audit_configs: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """An allow policy; version 3 when a binding is conditional (as getIamPolicy reports it), else 1."""
    found: dict[str, Any] = {"version": 3 if any("condition" in b for b in bindings) else 1}
    if bindings:
        found["bindings"] = [dict(b) for b in bindings]
    configs = [dict(c) for c in audit_configs]
    if configs:
        found["auditConfigs"] = configs
    return found


def _etag(value: Any) -> str:
    digest = hashlib.sha256(json.dumps(value, sort_keys=True).encode()).digest()
    return base64.b64encode(b"\x07\x06" + digest[:6]).decode()


def _policy_response(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """What getIamPolicy answers: the policy with a version and an etag (``ACAB`` when empty)."""
    raw = dict(raw or {})
    if not raw.get("bindings") and not raw.get("auditConfigs"):
        return {"version": 1, "etag": EMPTY_ETAG}
    found: dict[str, Any] = {
        "version": raw.get("version") or (3 if any("condition" in b for b in raw.get("bindings", [])) else 1),
        "etag": _etag(raw),
    }
    if raw.get("bindings"):
        found["bindings"] = raw["bindings"]
    if raw.get("auditConfigs"):
        found["auditConfigs"] = raw["auditConfigs"]
    return found


# --------------------------------------------------------------------------------------------- model
@dataclass
class Organization:
    id: str
    display_name: str
    policy: dict[str, Any] = field(default_factory=dict)
    directory_customer_id: str = "C03x7k9qz"
    create_time: str = "2019-02-07T16:20:11.386Z"

    @property
    def name(self) -> str:
        return f"organizations/{self.id}"


@dataclass
class Folder:
    id: str
    parent: str  # organizations/O or folders/F
    display_name: str
    policy: dict[str, Any] = field(default_factory=dict)
    create_time: str = "2021-05-19T08:31:50.102Z"

    @property
    def name(self) -> str:
        return f"folders/{self.id}"


@dataclass
class Project:
    project_id: str
    number: str
    parent: str  # organizations/O or folders/F
    display_name: str
    policy: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    create_time: str = "2022-08-30T14:02:19.411Z"

    @property
    def name(self) -> str:
        return f"projects/{self.number}"


@dataclass
class KeyRing:
    project_id: str
    location: str
    name: str  # the short name: projects/P/locations/L/keyRings/<name>
    policy: dict[str, Any] = field(default_factory=dict)
    create_time: str = "2023-03-04T09:10:11.208113Z"

    @property
    def resource_name(self) -> str:
        return f"projects/{self.project_id}/locations/{self.location}/keyRings/{self.name}"


class Version(NamedTuple):
    number: int
    state: str  # ENABLED, DISABLED, DESTROY_SCHEDULED, DESTROYED, PENDING_IMPORT, ...
    protection: str  # SOFTWARE, HSM, HSM_SINGLE_TENANT, EXTERNAL, EXTERNAL_VPC
    create_time: str
    destroy_time: str | None = None  # DESTROY_SCHEDULED: when it will be destroyed; DESTROYED: when it was


@dataclass
class CryptoKey:
    ring: KeyRing
    name: str  # the short name
    purpose: str = "ENCRYPT_DECRYPT"
    protection_level: str = "SOFTWARE"
    algorithm: str = "GOOGLE_SYMMETRIC_ENCRYPTION"
    rotation_period_days: int | None = None
    next_rotation_time: str | None = None  # default: the newest version's creation + the period
    labels: dict[str, str] = field(default_factory=dict)
    import_only: bool = False
    destroy_scheduled_days: int = 30
    crypto_key_backend: str | None = None  # ekmConnections/... (EXTERNAL_VPC), singleTenantHsmInstances/...
    versions: list[Version] = field(default_factory=list)
    primary: int | None = None  # version number; symmetric ENCRYPT_DECRYPT keys only
    policy: dict[str, Any] = field(default_factory=dict)
    create_time: str | None = None  # default: the first version's creation
    external_key: str | None = None  # EXTERNAL: key URI; EXTERNAL_VPC: key path on the EKM

    @property
    def resource_name(self) -> str:
        return f"{self.ring.resource_name}/cryptoKeys/{self.name}"


@dataclass
class AiResource:
    """An AI workload resource as Cloud Asset Inventory lists it (``providers.gcp.ai.ASSET_TYPES``)."""

    project_id: str
    asset_type: str  # e.g. aiplatform.googleapis.com/Endpoint
    path: str  # below projects/NUMBER, e.g. locations/us-central1/endpoints/4815162342
    display_name: str
    key: str | None = None  # the key (or key version) the resource names; None: Google default encryption
    labels: dict[str, str] = field(default_factory=dict)
    create_time: str = "2026-06-01T09:00:00.000000Z"

    @property
    def host(self) -> str:
        return self.asset_type.split("/", 1)[0]


@dataclass
class CustomRole:
    name: str  # organizations/O/roles/R or projects/P/roles/R
    included_permissions: list[str]
    title: str = ""
    description: str = ""
    stage: str = "GA"


@dataclass
class Estate:
    organization: Organization
    folders: list[Folder] = field(default_factory=list)
    projects: list[Project] = field(default_factory=list)
    key_rings: list[KeyRing] = field(default_factory=list)
    keys: list[CryptoKey] = field(default_factory=list)
    custom_roles: list[CustomRole] = field(default_factory=list)
    # Path -> Google error answered instead of the recorded response, on every path it appears in: a
    # canonical status ("PERMISSION_DENIED") or an error object {"status", "message", "reason", ...}.
    error_overrides: dict[str, str | dict[str, Any]] = field(default_factory=dict)
    # The KMS locations every project lists (the locations of its key rings are added).
    locations: tuple[str, ...] = ("global", "europe", "us")
    read_time: str = "2026-11-20T06:00:00.123456Z"  # Cloud Asset Inventory's snapshot time
    # EKM connection name -> keyManagementMode (MANUAL unless listed; CLOUD_KMS: coordinated external keys).
    ekm_modes: dict[str, str] = field(default_factory=dict)
    ai_resources: list[AiResource] = field(default_factory=list)

    # -- lookups -----------------------------------------------------------------------------------
    def validate(self) -> Estate:
        """Raise ValueError naming the first inconsistency (unknown parent, duplicate, bad version)."""
        containers = {self.organization.name} | {f.name for f in self.folders}
        children: list[Folder | Project] = [*self.folders, *self.projects]
        for item in children:
            if item.parent not in containers:
                raise ValueError(f"{item.name}: unknown parent {item.parent}")
        for what, names in (
            ("folder", [f.id for f in self.folders]),
            ("project id", [p.project_id for p in self.projects]),
            ("project number", [p.number for p in self.projects]),
            ("key ring", [r.resource_name for r in self.key_rings]),
            ("crypto key", [k.resource_name for k in self.keys]),
            ("custom role", [r.name for r in self.custom_roles]),
        ):
            duplicates = sorted(n for n, count in Counter(names).items() if count > 1)
            if duplicates:
                raise ValueError(f"duplicate {what}: {duplicates}")
        project_ids = {p.project_id for p in self.projects}
        for resource in self.ai_resources:
            if resource.project_id not in project_ids:
                raise ValueError(f"AI resource {resource.path}: unknown project {resource.project_id}")
            if resource.asset_type not in AI_ASSET_TYPES:
                raise ValueError(
                    f"AI resource {resource.path}: {resource.asset_type} is not an AI asset type"
                )
        rings = {id(r) for r in self.key_rings}
        for ring in self.key_rings:
            if ring.project_id not in project_ids:
                raise ValueError(f"{ring.resource_name}: unknown project")
        for key in self.keys:
            if id(key.ring) not in rings:
                raise ValueError(f"{key.resource_name}: its key ring is not in the estate")
            numbers = [v.number for v in key.versions]
            if len(set(numbers)) != len(numbers):
                raise ValueError(f"{key.resource_name}: duplicate version numbers")
            if key.primary is not None:
                if key.purpose != "ENCRYPT_DECRYPT":
                    raise ValueError(f"{key.resource_name}: only ENCRYPT_DECRYPT keys have a primary version")
                if key.primary not in numbers:
                    raise ValueError(f"{key.resource_name}: primary {key.primary} is not one of its versions")
            if key.rotation_period_days is not None and key.purpose != "ENCRYPT_DECRYPT":
                raise ValueError(f"{key.resource_name}: only symmetric encryption keys rotate")
        return self

    def project(self, project_id: str) -> Project:
        for project in self.projects:
            if project.project_id == project_id:
                return project
        raise KeyError(project_id)

    def container(self, name: str) -> Organization | Folder:
        if name == self.organization.name:
            return self.organization
        for folder in self.folders:
            if folder.name == name:
                return folder
        raise KeyError(name)

    def ancestors(self, parent: str) -> list[str]:
        """``parent`` and every container above it, nearest first (``folders/...``, ``organizations/O``)."""
        chain: list[str] = []
        while parent and parent not in chain:
            chain.append(parent)
            found = self.container(parent)
            parent = found.parent if isinstance(found, Folder) else ""
        return chain

    def under(self, scope: str) -> list[Project]:
        """Projects below ``scope`` (an organization or folder name), in estate order."""
        return [p for p in self.projects if scope in self.ancestors(p.parent)]

    def rings_of(self, project_id: str) -> list[KeyRing]:
        return [r for r in self.key_rings if r.project_id == project_id]

    def ai_of(self, project_id: str) -> list[AiResource]:
        return [r for r in self.ai_resources if r.project_id == project_id]

    def keys_of(self, ring: KeyRing) -> list[CryptoKey]:
        return [k for k in self.keys if k.ring is ring]

    def locations_of(self, project_id: str) -> list[str]:
        """The locations a project lists: the estate's, then those of its key rings."""
        found = list(self.locations)
        for ring in self.rings_of(project_id):
            if ring.location not in found:
                found.append(ring.location)
        return found


# ---------------------------------------------------------------------------------- REST resources
def _parse_time(value: str) -> datetime:
    text = value.replace("Z", "+00:00")
    head, sep, tail = text.partition(".")
    if sep:  # Python 3.11 reads at most microseconds
        digits = "".join(c for c in tail if c.isdigit())
        text = f"{head}.{digits[:6]}{tail[len(digits) :]}"
    return datetime.fromisoformat(text).astimezone(UTC)


def _format_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _duration(days: int) -> str:
    return f"{days * _DAY}s"


def organization_json(org: Organization) -> dict[str, Any]:
    return {
        "name": org.name,
        "displayName": org.display_name,
        "directoryCustomerId": org.directory_customer_id,
        "state": "ACTIVE",
        "createTime": org.create_time,
        "updateTime": org.create_time,
        "etag": _etag(["organization", org.name]),
    }


def folder_json(folder: Folder) -> dict[str, Any]:
    return {
        "name": folder.name,
        "parent": folder.parent,
        "displayName": folder.display_name,
        "state": "ACTIVE",
        "createTime": folder.create_time,
        "updateTime": folder.create_time,
        "etag": _etag(["folder", folder.name]),
    }


def project_json(project: Project) -> dict[str, Any]:
    found: dict[str, Any] = {
        "name": project.name,
        "parent": project.parent,
        "projectId": project.project_id,
        "state": "ACTIVE",
        "displayName": project.display_name,
        "createTime": project.create_time,
        "updateTime": project.create_time,
        "etag": f'W/"{hashlib.sha256(project.name.encode()).hexdigest()[:16]}"',
    }
    if project.labels:
        found["labels"] = dict(project.labels)
    return found


def location_json(project_id: str, location: str) -> dict[str, Any]:
    display, hsm, ekm = _LOCATION_INFO.get(location, (location, True, False))
    return {
        "name": f"projects/{project_id}/locations/{location}",
        "locationId": location,
        "displayName": display,
        "metadata": {
            "@type": "type.googleapis.com/google.cloud.kms.v1.LocationMetadata",
            "hsmAvailable": hsm,
            "ekmAvailable": ekm,
        },
    }


def key_ring_json(ring: KeyRing) -> dict[str, Any]:
    return {"name": ring.resource_name, "createTime": ring.create_time}


def version_json(key: CryptoKey, version: Version) -> dict[str, Any]:
    """A CryptoKeyVersion as Cloud KMS returns it (list, primary, and Cloud Asset ``data`` alike)."""
    found: dict[str, Any] = {
        "name": f"{key.resource_name}/cryptoKeyVersions/{version.number}",
        "state": version.state,
        "protectionLevel": version.protection,
        "algorithm": key.algorithm,
        "createTime": version.create_time,
    }
    if key.import_only:
        found["importJob"] = f"{key.ring.resource_name}/importJobs/{key.name}-import"
        found["importTime"] = version.create_time
    elif version.state not in ("PENDING_GENERATION", "GENERATION_FAILED", "PENDING_IMPORT"):
        found["generateTime"] = version.create_time
    if version.destroy_time and version.state in ("DESTROY_SCHEDULED", "DESTROYED"):
        found["destroyTime"] = version.destroy_time
        if version.state == "DESTROYED":
            found["destroyEventTime"] = version.destroy_time
    if version.protection == "EXTERNAL":
        uri = key.external_key or f"https://ekm.example.com/v0/keys/{key.name}"
        found["externalProtectionLevelOptions"] = {"externalKeyUri": uri}
    elif version.protection == "EXTERNAL_VPC":
        path = key.external_key or f"v0/keys/{key.name}"
        found["externalProtectionLevelOptions"] = {"ekmConnectionKeyPath": path}
    return found


def crypto_key_json(key: CryptoKey) -> dict[str, Any]:
    """A CryptoKey as ``list_crypto_keys`` returns it (and as Cloud Asset's ``resource.data``)."""
    created = key.create_time or (
        min((v.create_time for v in key.versions), key=_parse_time) if key.versions else key.ring.create_time
    )
    found: dict[str, Any] = {"name": key.resource_name}
    if key.primary is not None:
        [primary] = [v for v in key.versions if v.number == key.primary]
        found["primary"] = version_json(key, primary)
    found["purpose"] = key.purpose
    found["createTime"] = created
    if key.rotation_period_days is not None:
        next_time = key.next_rotation_time
        if next_time is None:
            newest = max((_parse_time(v.create_time) for v in key.versions), default=_parse_time(created))
            next_time = _format_time(newest + timedelta(days=key.rotation_period_days))
        found["nextRotationTime"] = next_time
        found["rotationPeriod"] = _duration(key.rotation_period_days)
    found["versionTemplate"] = {"protectionLevel": key.protection_level, "algorithm": key.algorithm}
    if key.labels:
        found["labels"] = dict(key.labels)
    if key.import_only:
        found["importOnly"] = True
    found["destroyScheduledDuration"] = _duration(key.destroy_scheduled_days)
    if key.crypto_key_backend:
        found["cryptoKeyBackend"] = key.crypto_key_backend
    return found


def ekm_connection_json(name: str, create_time: str, mode: str = "MANUAL") -> dict[str, Any]:
    project, location, short = name.split("/")[1], name.split("/")[3], name.rsplit("/", 1)[-1]
    return {
        "name": name,
        "createTime": create_time,
        "serviceResolvers": [
            {
                "serviceDirectoryService": (
                    f"projects/{project}/locations/{location}/namespaces/ekm/services/{short}"
                ),
                "hostname": f"{short}.ekm.example.com",
            }
        ],
        "etag": _etag(["ekm", name]),
        "keyManagementMode": mode,
    }


def ai_resource_json(estate: Estate, resource: AiResource) -> dict[str, Any]:
    """The resource's REST JSON as Cloud Asset's ``resource.data`` carries it (named by project number)."""
    found: dict[str, Any] = {
        "name": f"{estate.project(resource.project_id).name}/{resource.path}",
        "displayName": resource.display_name,
        "createTime": resource.create_time,
        "updateTime": resource.create_time,
    }
    if resource.labels:
        found["labels"] = dict(resource.labels)
    key = resource.key
    if resource.host == "aiplatform.googleapis.com":
        if key:
            found["encryptionSpec"] = {"kmsKeyName": key}
    elif resource.asset_type == "notebooks.googleapis.com/Instance":
        boot: dict[str, Any] = {"diskSizeGb": "150", "diskType": "PD_BALANCED"}
        boot |= {"diskEncryption": "CMEK", "kmsKey": key} if key else {"diskEncryption": "GMEK"}
        found |= {"gceSetup": {"machineType": "n1-standard-4", "bootDisk": boot}, "state": "ACTIVE"}
    elif resource.asset_type == "documentai.googleapis.com/Processor":
        found |= {"type": "FORM_PARSER_PROCESSOR", "state": "ENABLED"}
        if key:
            found["kmsKeyName"] = key
    elif resource.asset_type == "discoveryengine.googleapis.com/DataStore":
        found |= {"industryVertical": "GENERIC", "contentConfig": "CONTENT_REQUIRED"}
        if key:
            location = resource.path.split("/")[1]
            config = f"{estate.project(resource.project_id).name}/locations/{location}/cmekConfigs/default"
            found["cmekConfig"] = {"name": config, "kmsKey": key, "state": "ACTIVE"}
    return found


def _ai_assets(estate: Estate, projects: Iterable[Project]) -> list[dict[str, Any]]:
    """Cloud Asset ``list_assets`` items of the AI resources of ``projects``."""
    assets = []
    for project in projects:
        ancestors = [project.name, *estate.ancestors(project.parent)]
        for resource in estate.ai_of(project.project_id):
            data = ai_resource_json(estate, resource)
            assets.append(
                {
                    "name": f"//{resource.host}/{data['name']}",
                    "assetType": resource.asset_type,
                    "resource": {
                        "version": "v1",
                        "discoveryDocumentUri": f"https://{resource.host}/$discovery/rest",
                        "discoveryName": resource.asset_type.rsplit("/", 1)[-1],
                        "parent": CRM_PREFIX + project.name,
                        "data": data,
                        "location": resource.path.split("/")[1],
                    },
                    "ancestors": ancestors,
                    "updateTime": resource.create_time,
                }
            )
    return sorted(assets, key=lambda a: a["name"])


def role_json(role: CustomRole) -> dict[str, Any]:
    found: dict[str, Any] = {"name": role.name, "title": role.title or role.name.rsplit("/", 1)[-1]}
    if role.description:
        found["description"] = role.description
    found["includedPermissions"] = sorted(role.included_permissions)
    found["stage"] = role.stage
    found["etag"] = _etag(["role", role.name, sorted(role.included_permissions)])
    return found


# --------------------------------------------------------------------------------------- exchanges
def _page_token(path: str, query: Mapping[str, Any] | None, index: int) -> str:
    """An opaque, deterministic token for page ``index`` of one list (path and filters)."""
    seed = json.dumps([path, query or {}, index], sort_keys=True)
    digest = hashlib.sha256(seed.encode()).digest()
    return base64.urlsafe_b64encode(digest[:9]).decode()


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    if size < 1:
        raise ValueError("page size must be at least 1")
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


class _Exchanges:
    """Collects exchanges, answering the estate's error overrides instead where a path is overridden."""

    def __init__(self, estate: Estate) -> None:
        self.overrides = estate.error_overrides
        self.items: list[dict[str, Any]] = []

    def add(
        self,
        method: str,
        path: str,
        response: Any = None,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        error: str | Mapping[str, Any] | None = None,
    ) -> None:
        exchange: dict[str, Any] = {"method": method, "path": path}
        if query:
            exchange["query"] = dict(query)
        if body is not None:
            exchange["body"] = body
        error = error if error is not None else self.overrides.get(path)
        if error is not None:
            exchange["error"] = error if isinstance(error, str) else dict(error)
        else:
            exchange["response"] = response if response is not None else {}
        self.items.append(exchange)

    def paged(
        self,
        path: str,
        field_name: str,
        items: Sequence[Any],
        page_size: int,
        *,
        query: Mapping[str, Any] | None = None,
        total: bool = False,
        extra: Mapping[str, Any] | None = None,
        error: str | Mapping[str, Any] | None = None,
    ) -> None:
        """A list split into pages; ``total`` adds ``totalSize`` as Cloud KMS lists do."""
        if error is not None or path in self.overrides:
            self.add("GET", path, query=query, error=error)  # the first page fails: no more pages asked
            return
        pages = _chunks(items, page_size)
        for index, chunk in enumerate(pages):
            response: dict[str, Any] = dict(extra or {})
            if chunk:
                response[field_name] = list(chunk)
            if index + 1 < len(pages):
                response["nextPageToken"] = _page_token(path, query, index + 1)
            if total and items:
                response["totalSize"] = len(items)
            page_query = dict(query or {})
            if index:
                page_query["pageToken"] = _page_token(path, query, index)
            self.add("GET", path, response, query=page_query or None)


def combine(*groups: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The exchanges of several groups in order, each distinct exchange once."""
    seen: set[str] = set()
    found: list[dict[str, Any]] = []
    for group in groups:
        for exchange in group:
            text = json.dumps(exchange, sort_keys=True)
            if text not in seen:
                seen.add(text)
                found.append(dict(exchange))
    return found


def _resource_manager(out: _Exchanges, estate: Estate, projects: Iterable[Project], *, get: bool) -> None:
    """Allow policies (with audit configs) of the projects and of every container above them."""
    containers: list[str] = []
    for project in projects:
        if get:
            out.add("GET", f"/v3/projects/{project.project_id}", project_json(project))
            out.add("GET", f"/v3/{project.name}", project_json(project))
        out.add(
            "POST", f"/v3/{project.name}:getIamPolicy", _policy_response(project.policy), body=POLICY_BODY
        )
        if get and f"/v3/projects/{project.project_id}" in out.overrides:
            # Without the project's number the collector asks for the policy by project id.
            out.add(
                "POST",
                f"/v3/projects/{project.project_id}:getIamPolicy",
                _policy_response(project.policy),
                body=POLICY_BODY,
                error=out.overrides.get(f"/v3/{project.name}:getIamPolicy"),
            )
        containers.extend(c for c in estate.ancestors(project.parent) if c not in containers)
    for name in containers:
        found = estate.container(name)
        document = organization_json(found) if isinstance(found, Organization) else folder_json(found)
        out.add("GET", f"/v3/{name}", document)
        out.add("POST", f"/v3/{name}:getIamPolicy", _policy_response(found.policy), body=POLICY_BODY)


def custom_role_exchanges(estate: Estate) -> list[dict[str, Any]]:
    """IAM ``roles.get`` (``GET /v1/{role name}``) for every custom role of the estate."""
    out = _Exchanges(estate)
    for role in estate.custom_roles:
        out.add("GET", f"/v1/{role.name}", role_json(role))
    return out.items


def _kms_policy(out: _Exchanges, resource: str, raw: Mapping[str, Any]) -> None:
    out.add("GET", f"/v1/{resource}:getIamPolicy", _policy_response(raw), query=POLICY_QUERY)


def per_project_exchanges(estate: Estate, page_size: int = DEFAULT_PAGE_SIZE) -> list[dict[str, Any]]:
    """Every request the per-project collector makes for each project of the estate, and the roles."""
    estate.validate()
    out = _Exchanges(estate)
    _resource_manager(out, estate, estate.projects, get=True)
    for project in estate.projects:
        pid = project.project_id
        base = f"/v1/projects/{pid}/locations"
        locations = estate.locations_of(pid)
        out.paged(base, "locations", [location_json(pid, loc) for loc in locations], page_size)
        for location in locations:
            rings = [r for r in estate.rings_of(pid) if r.location == location]
            listed = [key_ring_json(r) for r in rings]
            out.paged(f"{base}/{location}/keyRings", "keyRings", listed, page_size, total=True)
            for ring in rings:
                _kms_policy(out, ring.resource_name, ring.policy)
                keys = estate.keys_of(ring)
                listed = [crypto_key_json(k) for k in keys]
                out.paged(f"/v1/{ring.resource_name}/cryptoKeys", "cryptoKeys", listed, page_size, total=True)
                for key in keys:
                    listed = [version_json(key, v) for v in sorted(key.versions, key=lambda v: v.number)]
                    path = f"/v1/{key.resource_name}/cryptoKeyVersions"
                    out.paged(path, "cryptoKeyVersions", listed, page_size, total=True)
                    _kms_policy(out, key.resource_name, key.policy)
        # The collector reads the EKM connections its EXTERNAL_VPC keys are backed by, one get each.
        backends = sorted(
            {
                (key.crypto_key_backend, _latest(ring.create_time, key.create_time))
                for ring in estate.rings_of(pid)
                for key in estate.keys_of(ring)
                if key.crypto_key_backend and "/ekmConnections/" in key.crypto_key_backend
            }
        )
        for name, created in dict(backends).items():
            mode = estate.ekm_modes.get(name, "MANUAL")
            out.add("GET", f"/v1/{name}", ekm_connection_json(name, created, mode))
        # The project's AI resources, by number (by id when the project itself could not be read).
        assets = _ai_assets(estate, [project])
        parents = [project.name] + ([f"projects/{pid}"] if f"/v3/projects/{pid}" in out.overrides else [])
        for parent in parents:
            out.paged(
                f"/v1/{parent}/assets", "assets", assets, page_size, query=AI_LIST_QUERY, extra=_read(estate)
            )
    return combine(out.items, custom_role_exchanges(estate))


def enumeration_exchanges(
    estate: Estate, scope: str | None = None, page_size: int = DEFAULT_PAGE_SIZE
) -> list[dict[str, Any]]:
    """Resource Manager enumeration: ``list_folders``/``list_projects`` under ``scope`` (every container
    below it, one level at a time) and ``search_projects`` (every project: a scan without a scope)."""
    estate.validate()
    out = _Exchanges(estate)
    if scope is not None:
        containers = [scope] + [f.name for f in estate.folders if scope in estate.ancestors(f.parent)]
        for parent in containers:
            folders = [folder_json(f) for f in estate.folders if f.parent == parent]
            out.paged("/v3/folders", "folders", folders, page_size, query={"parent": parent})
            projects = [project_json(p) for p in estate.projects if p.parent == parent]
            out.paged("/v3/projects", "projects", projects, page_size, query={"parent": parent})
    out.paged("/v3/projects:search", "projects", [project_json(p) for p in estate.projects], page_size)
    return out.items


def _asset(
    asset_type: str, data: Mapping[str, Any], parent: str, ancestors: list[str], updated: str
) -> dict[str, Any]:
    """One ``list_assets`` item: ``data`` is the resource's REST JSON, named ``projects/P/locations/L/...``."""
    name = str(data["name"])
    return {
        "name": KMS_PREFIX + name,
        "assetType": asset_type,
        "resource": {
            "version": "v1",
            "discoveryDocumentUri": KMS_DISCOVERY,
            "discoveryName": asset_type.rsplit("/", 1)[-1],
            "parent": KMS_PREFIX + parent,
            "data": dict(data),
            "location": name.split("/")[3],
        },
        "ancestors": ancestors,
        "updateTime": updated,
    }


def _latest(*times: str | None) -> str:
    return max((t for t in times if t), key=_parse_time)


def _kms_assets(estate: Estate, projects: list[Project]) -> list[dict[str, Any]]:
    """Cloud Asset ``list_assets`` items (RESOURCE content) of every Cloud KMS resource in ``projects``."""
    key_ring_type, key_type, version_type, ekm_type = (
        "cloudkms.googleapis.com/KeyRing",
        "cloudkms.googleapis.com/CryptoKey",
        "cloudkms.googleapis.com/CryptoKeyVersion",
        "cloudkms.googleapis.com/EkmConnection",
    )
    assets: list[dict[str, Any]] = []
    for project in projects:
        ancestors = [project.name, *estate.ancestors(project.parent)]
        connections: dict[str, str] = {}
        for ring in estate.rings_of(project.project_id):
            location = f"projects/{ring.project_id}/locations/{ring.location}"
            assets.append(_asset(key_ring_type, key_ring_json(ring), location, ancestors, ring.create_time))
            for key in estate.keys_of(ring):
                data = crypto_key_json(key)
                updated = _latest(data["createTime"], *(v.create_time for v in key.versions))
                assets.append(_asset(key_type, data, ring.resource_name, ancestors, updated))
                for version in sorted(key.versions, key=lambda v: v.number):
                    destroyed = version.destroy_time if version.state == "DESTROYED" else None
                    updated = _latest(version.create_time, destroyed)
                    data = version_json(key, version)
                    assets.append(_asset(version_type, data, key.resource_name, ancestors, updated))
                backend = key.crypto_key_backend or ""
                if "/ekmConnections/" in backend:
                    connections.setdefault(backend, _latest(ring.create_time, key.create_time))
        for name, created in sorted(connections.items()):
            location = name.rsplit("/ekmConnections/", 1)[0]
            data = ekm_connection_json(name, created, estate.ekm_modes.get(name, "MANUAL"))
            assets.append(_asset(ekm_type, data, location, ancestors, created))
    return sorted(assets, key=lambda a: a["name"])


def _policy_results(estate: Estate, scope: str, projects: list[Project]) -> list[dict[str, Any]]:
    """``searchAllIamPolicies`` results: one per resource strictly below ``scope`` with bindings."""
    org = estate.organization.name
    results: list[dict[str, Any]] = []

    def add(
        resource: str, asset_type: str, raw: Mapping[str, Any], folders: list[str], project: str | None
    ) -> None:
        if not raw.get("bindings"):
            return
        result: dict[str, Any] = {"resource": resource, "assetType": asset_type}
        if project:
            result["project"] = project
        if folders:
            result["folders"] = folders
        result["organization"] = org
        result["policy"] = {"bindings": [dict(b) for b in raw["bindings"]]}
        results.append(result)

    # Only key rings and keys are searched: the project, folder and organization policies (with their
    # audit configs) are read from Resource Manager.
    for project in projects:
        folders = [c for c in estate.ancestors(project.parent) if c.startswith("folders/")]
        pname = project.name
        for ring in estate.rings_of(project.project_id):
            add(
                KMS_PREFIX + ring.resource_name,
                "cloudkms.googleapis.com/KeyRing",
                ring.policy,
                folders,
                pname,
            )
            for key in estate.keys_of(ring):
                add(
                    KMS_PREFIX + key.resource_name,
                    "cloudkms.googleapis.com/CryptoKey",
                    key.policy,
                    folders,
                    pname,
                )
    return results


def _asset_error(reason: str, scope: str, permission: str) -> dict[str, Any]:
    if reason == "SERVICE_DISABLED":
        number = SCANNER_PROJECT_NUMBER
        url = f"https://console.developers.google.com/apis/api/cloudasset.googleapis.com/overview?project={number}"
        return {
            "status": "PERMISSION_DENIED",
            "message": (
                f"Cloud Asset API has not been used in project {number} before or it is disabled. Enable it "
                f"by visiting {url} then retry. If you enabled this API recently, wait a few minutes for the "
                "action to propagate to our systems and retry."
            ),
            "reason": "SERVICE_DISABLED",
            "domain": "googleapis.com",
            "metadata": {
                "activationUrl": url,
                "consumer": f"projects/{number}",
                "containerInfo": number,
                "service": "cloudasset.googleapis.com",
                "serviceTitle": "Cloud Asset API",
            },
        }
    if reason != "IAM_PERMISSION_DENIED":
        raise ValueError(
            f"asset_denied: expected True, 'IAM_PERMISSION_DENIED' or 'SERVICE_DISABLED', got {reason!r}"
        )
    return {
        "status": "PERMISSION_DENIED",
        "message": f"Permission '{permission}' denied on resource '{scope}' (or it may not exist).",
        "reason": "IAM_PERMISSION_DENIED",
        "domain": "cloudasset.googleapis.com",
        "metadata": {"permission": permission, "resource": scope},
    }


def _read(estate: Estate) -> dict[str, Any]:
    return {"readTime": estate.read_time}


def asset_exchanges(
    estate: Estate,
    scope: str,
    *,
    asset_denied: bool | str = False,
    assets_per_page: int = ASSET_PAGE_SIZE,
    results_per_page: int = POLICY_PAGE_SIZE,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> list[dict[str, Any]]:
    """An organization or folder scan through Cloud Asset Inventory (see the module docstring).

    ``asset_denied``: True (``IAM_PERMISSION_DENIED``) or ``"SERVICE_DISABLED"`` makes both Cloud Asset
    calls answer PERMISSION_DENIED, so the collector falls back to the Resource Manager enumeration here
    and to the per-project path (serve ``per_project_exchanges`` too). ``assets_per_page`` and
    ``results_per_page`` split the lists into pages smaller than the page size the client asks for.
    """
    estate.validate()
    if not scope.startswith(("organizations/", "folders/")):
        raise ValueError(f"scope must be organizations/N or folders/N, got {scope!r}")
    estate.container(scope)  # KeyError for a scope outside the estate
    out = _Exchanges(estate)
    projects = estate.under(scope)
    list_query = {
        "assetTypes": list(KMS_ASSET_TYPES),
        "contentType": CONTENT_TYPE_RESOURCE,
        "pageSize": ASSET_PAGE_SIZE,
    }
    search_query = {"assetTypes": list(POLICY_ASSET_TYPES), "pageSize": POLICY_PAGE_SIZE}
    list_error = search_error = None
    if asset_denied:
        reason = "IAM_PERMISSION_DENIED" if asset_denied is True else str(asset_denied)
        list_error = _asset_error(reason, scope, "cloudasset.assets.listResource")
        search_error = _asset_error(reason, scope, "cloudasset.assets.searchAllIamPolicies")
    out.paged(
        f"/v1/{scope}/assets",
        "assets",
        _kms_assets(estate, projects),
        assets_per_page,
        query=list_query,
        extra={"readTime": estate.read_time},
        error=list_error,
    )
    out.paged(
        f"/v1/{scope}:searchAllIamPolicies",
        "results",
        _policy_results(estate, scope, projects),
        results_per_page,
        query=search_query,
        error=search_error,
    )
    out.paged(
        f"/v1/{scope}/assets",
        "assets",
        _ai_assets(estate, projects),
        assets_per_page,
        query=AI_LIST_QUERY,
        extra=_read(estate),
        error=list_error,
    )
    holders = [p for p in projects if estate.rings_of(p.project_id)]
    # Projects holding AI resources only: Cloud Asset gives their number, projects.get their id.
    ai_only = [p for p in projects if estate.ai_of(p.project_id) and p not in holders]
    for project in ai_only:
        out.add("GET", f"/v3/{project.name}", project_json(project))
    _resource_manager(out, estate, holders + ai_only, get=False)
    return combine(out.items, custom_role_exchanges(estate), enumeration_exchanges(estate, scope, page_size))


# ------------------------------------------------------------------------------------------ the demo
ORG_ID = "123456789012"
ORG = f"organizations/{ORG_ID}"
PRODUCTION = "folders/345678901234"
DEVELOPMENT = "folders/456789012345"
PAYMENTS = "example-payments-prod"
ANALYTICS = "example-analytics-prod"
SANDBOX = "example-dev-sandbox"
ML = "example-ml-prod"
_PAYMENTS_NO, _ANALYTICS_NO, _SANDBOX_NO = "402518937140", "518273649051", "731946258013"
_ML_NO = "624810357926"
KMS = "cloudkms.googleapis.com"


def _sa(name: str, project: str) -> str:
    return f"serviceAccount:{name}@{project}.iam.gserviceaccount.com"


def _agent(number: str, domain: str) -> str:
    """A Google-managed service agent of the project numbered ``number`` (gcp-sa-aiplatform, ...)."""
    return f"serviceAccount:service-{number}@{domain}.iam.gserviceaccount.com"


def demo_estate() -> Estate:
    """Example Corp's organization (example.com) as ``keyaudit demo`` scans it.

    Principals match ``samples/cek-policy.yaml``: ``group:kms-admins@example.com`` and
    ``group:gcp-org-admins@example.com`` are declared key administrators, the payments project's service
    accounts and BigQuery's service agent declared key users, ``group:security-audit@example.com`` an
    auditor; everyone else holding access is undeclared. Judged against that policy, most GCP rules find
    resources that pass and resources that fail; comments name the rules a resource is there for. The
    sandbox project is a coverage gap: an IAM deny policy keeps the scanner out of its Cloud KMS and its
    allow policy (``error_overrides``), while Cloud Asset Inventory still lists its keys.

    AI workloads (``ai_*`` rules, ``key_origin_allowed``): the ML project holds Vertex AI resources only,
    under an imported HSM key of the payments project used by its Vertex AI service agent alone (passes
    every AI rule); the analytics project's Vertex AI resources of two tenants share an imported key that
    BigQuery's agent can use too and a Vertex AI agent administers, its Document AI processor a software
    key without rotation, and one of its endpoints has Google default encryption.
    """
    keyops = f"{ORG}/roles/keyOps"
    features = f"projects/{ANALYTICS}/roles/featureStoreKeyUser"
    org = Organization(
        ORG_ID,
        "example.com",
        policy(
            binding("roles/resourcemanager.organizationAdmin", "group:gcp-org-admins@example.com"),
            binding("roles/cloudkms.viewer", "group:security-audit@example.com"),
            audit_configs=[audit_config("allServices", "ADMIN_READ")],
        ),
    )
    folders = [
        Folder(
            PRODUCTION.split("/")[1],
            ORG,
            "Production",
            policy(binding("roles/cloudkms.admin", "group:kms-admins@example.com")),
        ),
        Folder(
            DEVELOPMENT.split("/")[1],
            ORG,
            "Development",
            policy(
                binding("roles/cloudkms.admin", "group:dev-leads@example.com"),
                binding("roles/editor", "group:developers@example.com"),
            ),
            create_time="2022-01-10T13:05:44.911Z",
        ),
    ]
    projects = [
        Project(
            PAYMENTS,
            _PAYMENTS_NO,
            PRODUCTION,
            "Payments (production)",
            policy(
                binding("roles/viewer", "group:payments-team@example.com"),
                # key_usage_audit_logging_enabled passes here only: Data Access logs for Cloud KMS,
                # with the high-volume settlement batch exempted from DATA_READ.
                audit_configs=[
                    audit_config(
                        KMS,
                        "ADMIN_READ",
                        "DATA_READ",
                        "DATA_WRITE",
                        exempted={"DATA_READ": [_sa("settlement-batch", PAYMENTS)]},
                    )
                ],
            ),
            labels={"env": "prod", "cost-center": "cc-4410"},
        ),
        Project(
            ANALYTICS,
            _ANALYTICS_NO,
            PRODUCTION,
            "Analytics & ML (production)",
            policy(
                # key_scope_has_no_owner / key_admin_separated_from_use: an owner of a project with keys.
                binding("roles/owner", "user:dana@example.com"),
                # The default Compute Engine service account keeps the Editor role it is created with.
                binding(
                    "roles/editor", f"serviceAccount:{_ANALYTICS_NO}-compute@developer.gserviceaccount.com"
                ),
                # CMEK for BigQuery: its service agent encrypts and decrypts with every key of the project.
                binding(
                    "roles/cloudkms.cryptoKeyEncrypterDecrypter",
                    f"serviceAccount:service-{_ANALYTICS_NO}@gcp-sa-bigquery.iam.gserviceaccount.com",
                ),
            ),
            labels={"env": "prod", "cost-center": "cc-5120"},
            create_time="2023-02-14T10:22:07.530Z",
        ),
        Project(
            SANDBOX,
            _SANDBOX_NO,
            DEVELOPMENT,
            "Developer sandbox",
            policy(binding("roles/owner", "user:erik@example.com")),
            labels={"env": "dev"},
            create_time="2024-09-02T08:15:33.204Z",
        ),
        # AI resources only, their keys in the payments project: Cloud Asset names it by number.
        Project(
            ML,
            _ML_NO,
            PRODUCTION,
            "ML platform (production)",
            policy(binding("roles/viewer", "group:ml-platform@example.com")),
            labels={"env": "prod", "cost-center": "cc-5120"},
            create_time="2026-09-01T08:00:00.000Z",
        ),
    ]

    payments = KeyRing(
        PAYMENTS,
        "europe-west1",
        "payments",
        policy(
            binding("roles/cloudkms.cryptoKeyEncrypterDecrypter", _sa("payments-api", PAYMENTS)),
            # key_admin_separated_from_use: the custom role can both change IAM and decrypt.
            binding(keyops, "group:sre@example.com"),
        ),
        create_time="2023-03-04T09:10:11.208113Z",
    )
    signing = KeyRing(
        PAYMENTS,
        "europe-west1",
        "signing",
        policy(binding("roles/cloudkms.signerVerifier", _sa("release-signer", PAYMENTS))),
        create_time="2023-03-05T11:38:40.001200Z",
    )
    partners = KeyRing(PAYMENTS, "europe", "partners", create_time="2024-01-22T15:00:12.000000Z")
    warehouse = KeyRing(ANALYTICS, "us", "warehouse", create_time="2023-02-20T17:45:00.000000Z")
    archive = KeyRing(
        ANALYTICS,
        "us-central1",
        "archive",
        policy(
            binding("roles/cloudkms.cryptoKeyEncrypterDecrypter", _agent(_ANALYTICS_NO, "gcp-sa-aiplatform")),
            # ai_service_not_key_admin fails: Vertex AI's custom-code agent administers the ring's keys.
            binding("roles/cloudkms.admin", _agent(_ANALYTICS_NO, "gcp-sa-aiplatform-cc")),
        ),
        create_time="2023-06-01T08:00:00.000000Z",
    )
    # The ML project's keys: Vertex AI needs them in the region of its resources.
    vertex = KeyRing(PAYMENTS, "us-central1", "vertex-fraud", create_time="2026-10-26T09:00:00.000000Z")
    scratch = KeyRing(
        SANDBOX,
        "global",
        "scratch",
        policy(binding("roles/cloudkms.cryptoKeyEncrypterDecrypter", _sa("scratch-app", SANDBOX))),
        create_time="2024-09-03T09:00:00.000000Z",
    )
    ekm = f"projects/{PAYMENTS}/locations/europe-west1/ekmConnections/thales-ekm"
    hsm_instance = f"projects/{PAYMENTS}/locations/europe-west1/singleTenantHsmInstances/payments-hsm"
    keys = [
        # HSM, 90-day rotation, an older version destroyed; a conditional break-glass decrypt binding.
        CryptoKey(
            payments,
            "card-data",
            protection_level="HSM",
            rotation_period_days=90,
            labels={"data_classification": "confidential", "env": "prod", "team": "payments"},
            versions=[
                Version(1, "DESTROYED", "HSM", "2025-06-02T09:12:44.318422Z", "2025-10-01T09:13:02.000000Z"),
                Version(2, "DISABLED", "HSM", "2025-08-31T09:12:44.104417Z"),
                Version(3, "ENABLED", "HSM", "2026-08-27T09:12:44.551023Z"),
            ],
            primary=3,
            create_time="2025-06-02T09:12:44.318422Z",
            policy=policy(
                binding(
                    "roles/cloudkms.cryptoKeyDecrypter",
                    "group:payments-oncall@example.com",
                    condition=condition(
                        'request.time < timestamp("2026-12-31T00:00:00Z")',
                        "break-glass until year end",
                        "Temporary decrypt access for incident INC-4471",
                    ),
                )
            ),
        ),
        # key_hsm_backed_when_required: restricted data on a single-tenant HSM (passes).
        CryptoKey(
            payments,
            "cardholder-tokens",
            protection_level="HSM_SINGLE_TENANT",
            rotation_period_days=90,
            labels={"data_classification": "restricted", "env": "prod", "team": "payments"},
            crypto_key_backend=hsm_instance,
            versions=[Version(1, "ENABLED", "HSM_SINGLE_TENANT", "2026-09-15T07:30:00.000000Z")],
            primary=1,
        ),
        # Restricted data in an external key manager reached over VPC (passes; EKM keys do not rotate).
        CryptoKey(
            payments,
            "pan-vault-kek",
            protection_level="EXTERNAL_VPC",
            algorithm="EXTERNAL_SYMMETRIC_ENCRYPTION",
            labels={"data_classification": "restricted", "env": "prod"},
            crypto_key_backend=ekm,
            external_key="v0/keys/example-pan-kek",
            versions=[Version(1, "ENABLED", "EXTERNAL_VPC", "2025-04-10T15:03:27.551204Z")],
            primary=1,
        ),
        # key_hsm_backed_when_required fails: restricted data under a software key.
        CryptoKey(
            payments,
            "settlement-files",
            rotation_period_days=90,
            labels={"data_classification": "restricted", "env": "prod", "team": "payments"},
            versions=[
                Version(1, "ENABLED", "SOFTWARE", "2026-05-02T06:00:00.000000Z"),
                Version(2, "ENABLED", "SOFTWARE", "2026-07-31T06:00:00.000000Z"),
                Version(3, "ENABLED", "SOFTWARE", "2026-10-29T06:00:00.000000Z"),
            ],
            primary=3,
            policy=policy(
                binding("roles/cloudkms.cryptoKeyEncrypterDecrypter", _sa("settlement-batch", PAYMENTS))
            ),
        ),
        # Asymmetric signing in an HSM: not judged on rotation.
        CryptoKey(
            signing,
            "release-signing",
            purpose="ASYMMETRIC_SIGN",
            protection_level="HSM",
            algorithm="EC_SIGN_P256_SHA256",
            labels={"env": "prod"},
            versions=[
                Version(1, "DISABLED", "HSM", "2025-03-05T11:40:02.120933Z"),
                Version(2, "ENABLED", "HSM", "2026-03-05T11:40:02.120933Z"),
            ],
        ),
        # key_algorithm_allowed fails (RSA 2048 < 3072); key_store_deletion_protected fails (24 h window).
        CryptoKey(
            signing,
            "legacy-jwt-signing",
            purpose="ASYMMETRIC_SIGN",
            algorithm="RSA_SIGN_PKCS1_2048_SHA256",
            destroy_scheduled_days=1,
            versions=[Version(1, "ENABLED", "SOFTWARE", "2021-11-18T10:04:51.000000Z")],
            policy=policy(binding("roles/cloudkms.signer", _sa("auth-gateway", PAYMENTS))),
        ),
        # A partner's key held in their own key manager over the internet (EXTERNAL).
        CryptoKey(
            partners,
            "partner-exchange",
            protection_level="EXTERNAL",
            algorithm="EXTERNAL_SYMMETRIC_ENCRYPTION",
            labels={"data_classification": "confidential", "partner": "acme-bank"},
            external_key="https://ekm.acme-bank.example/v0/keys/8f2d41c7",
            versions=[Version(1, "ENABLED", "EXTERNAL", "2024-01-22T15:04:10.004417Z")],
            primary=1,
            policy=policy(
                binding("roles/cloudkms.cryptoKeyEncrypterDecrypter", _sa("partner-gateway", PAYMENTS))
            ),
        ),
        # key_rotation_period_within_policy fails: 365 days against the policy's 90.
        CryptoKey(
            warehouse,
            "warehouse-cmek",
            rotation_period_days=365,
            labels={"data_classification": "internal", "env": "prod"},
            versions=[
                Version(1, "ENABLED", "SOFTWARE", "2024-02-20T17:46:10.000000Z"),
                Version(2, "ENABLED", "SOFTWARE", "2025-02-19T17:46:10.000000Z"),
                Version(3, "ENABLED", "SOFTWARE", "2026-02-19T17:46:10.000000Z"),
            ],
            primary=3,
        ),
        # key_rotation_enabled fails; key_users_declared fails (an undeclared training pipeline) and the
        # access comes through a project-level custom role.
        CryptoKey(
            warehouse,
            "ml-features",
            labels={"env": "prod", "team": "ml"},
            versions=[Version(1, "ENABLED", "SOFTWARE", "2024-05-06T12:00:00.000000Z")],
            primary=1,
            policy=policy(
                binding("roles/cloudkms.cryptoKeyEncrypterDecrypter", _sa("ml-training", ANALYTICS)),
                binding(features, _sa("feature-store", ANALYTICS)),
                binding(
                    "roles/cloudkms.cryptoKeyEncrypterDecrypter",
                    _agent(_ANALYTICS_NO, "gcp-sa-prod-dai-core"),
                ),
            ),
        ),
        # key_not_publicly_accessible fails: anyone on the internet may encrypt with it.
        CryptoKey(
            warehouse,
            "ingest-uploads",
            rotation_period_days=90,
            labels={"env": "prod"},
            versions=[Version(1, "ENABLED", "SOFTWARE", "2026-10-02T09:00:00.000000Z")],
            primary=1,
            policy=policy(binding("roles/cloudkms.cryptoKeyEncrypter", "allUsers")),
        ),
        # key_not_pending_deletion fails: the primary version is scheduled for destruction.
        CryptoKey(
            archive,
            "model-archive-2023",
            rotation_period_days=90,
            next_rotation_time="2024-03-30T08:00:00Z",
            labels={"env": "prod"},
            versions=[
                Version(
                    1, "DESTROYED", "SOFTWARE", "2023-06-01T08:00:00.000000Z", "2024-01-15T08:00:00.000000Z"
                ),
                Version(
                    2,
                    "DESTROY_SCHEDULED",
                    "SOFTWARE",
                    "2023-12-31T08:00:00.000000Z",
                    "2026-12-14T08:00:00.000000Z",
                ),
            ],
            primary=2,
        ),
        # Imported (BYOK) key material in an HSM: import-only, never rotated by Cloud KMS. It protects
        # Vertex AI resources of two tenants and BigQuery's agent can use it (ai_workload_keys_dedicated
        # fails); its material is a year old (ai_workload_keys_meet_policy fails).
        CryptoKey(
            archive,
            "tabular-import",
            protection_level="HSM",
            import_only=True,
            labels={"data_classification": "confidential", "origin": "on-prem-hsm"},
            versions=[Version(1, "ENABLED", "HSM", "2025-11-12T14:30:00.000000Z")],
            primary=1,
        ),
        # Every AI rule passes: imported into an HSM a month ago, used by the ML project's Vertex AI
        # service agent only, for one tenant's resources.
        CryptoKey(
            vertex,
            "fraud-models-byok",
            protection_level="HSM",
            import_only=True,
            labels={"data_classification": "confidential", "tenant": "payments"},
            versions=[Version(1, "ENABLED", "HSM", "2026-10-26T09:30:00.000000Z")],
            primary=1,
            policy=policy(
                binding("roles/cloudkms.cryptoKeyEncrypterDecrypter", _agent(_ML_NO, "gcp-sa-aiplatform"))
            ),
        ),
        # The sandbox: the scanner is denied there (see error_overrides); Cloud Asset still sees the keys.
        CryptoKey(
            scratch,
            "scratch-key",
            labels={"data_classification": "confidential", "env": "dev"},
            versions=[Version(1, "ENABLED", "SOFTWARE", "2024-09-03T09:05:00.000000Z")],
            primary=1,
        ),
        CryptoKey(
            scratch,
            "test-signing",
            purpose="ASYMMETRIC_SIGN",
            algorithm="EC_SIGN_SECP256K1_SHA256",
            versions=[Version(1, "ENABLED", "SOFTWARE", "2024-09-03T09:06:00.000000Z")],
        ),
    ]
    roles = [
        CustomRole(
            keyops,
            [
                "cloudkms.cryptoKeyVersions.create",
                "cloudkms.cryptoKeyVersions.list",
                "cloudkms.cryptoKeyVersions.update",
                "cloudkms.cryptoKeyVersions.useToDecrypt",
                "cloudkms.cryptoKeyVersions.useToEncrypt",
                "cloudkms.cryptoKeys.get",
                "cloudkms.cryptoKeys.getIamPolicy",
                "cloudkms.cryptoKeys.list",
                "cloudkms.cryptoKeys.setIamPolicy",
                "cloudkms.keyRings.get",
                "cloudkms.locations.list",
            ],
            title="Key operations (SRE)",
            description="On-call key operations: rotate, re-grant and test decryption",
        ),
        CustomRole(
            features,
            [
                "cloudkms.cryptoKeyVersions.useToDecrypt",
                "cloudkms.cryptoKeyVersions.useToEncrypt",
                "cloudkms.locations.get",
            ],
            title="Feature store key user",
        ),
    ]
    denied = (
        "Permission '{permission}' denied on resource '{resource}' (or it may not exist). "
        "An IAM deny policy of the Development folder excludes the scanner."
    )
    overrides: dict[str, str | dict[str, Any]] = {
        # scan_coverage_complete: an IAM deny policy keeps the scanner out of the sandbox's Cloud KMS and
        # its allow policy; Cloud Asset Inventory (granted on the organization) still lists its keys.
        f"/v1/projects/{SANDBOX}/locations": {
            "status": "PERMISSION_DENIED",
            "message": denied.format(permission="cloudkms.locations.list", resource=f"projects/{SANDBOX}"),
            "reason": "IAM_PERMISSION_DENIED",
            "domain": "cloudkms.googleapis.com",
            "metadata": {"permission": "cloudkms.locations.list", "resource": f"projects/{SANDBOX}"},
        },
        f"/v3/projects/{_SANDBOX_NO}:getIamPolicy": {
            "status": "PERMISSION_DENIED",
            "message": denied.format(
                permission="resourcemanager.projects.getIamPolicy", resource=f"projects/{_SANDBOX_NO}"
            ),
            "reason": "IAM_PERMISSION_DENIED",
            "domain": "cloudresourcemanager.googleapis.com",
            "metadata": {
                "permission": "resourcemanager.projects.getIamPolicy",
                "resource": f"projects/{_SANDBOX_NO}",
            },
        },
    }
    # The per-project path asks Cloud Asset for the sandbox's AI resources: denied by the same policy.
    overrides[f"/v1/projects/{_SANDBOX_NO}/assets"] = {
        "status": "PERMISSION_DENIED",
        "message": denied.format(
            permission="cloudasset.assets.listResource", resource=f"projects/{_SANDBOX_NO}"
        ),
        "reason": "IAM_PERMISSION_DENIED",
        "domain": "cloudasset.googleapis.com",
        "metadata": {"permission": "cloudasset.assets.listResource", "resource": f"projects/{_SANDBOX_NO}"},
    }
    byok = vertex.resource_name + "/cryptoKeys/fraud-models-byok"
    tabular = archive.resource_name + "/cryptoKeys/tabular-import"
    ai_resources = [
        AiResource(
            ML,
            "aiplatform.googleapis.com/Endpoint",
            "locations/us-central1/endpoints/7310524981",
            "fraud-scoring",
            key=byok,
            labels={"tenant": "payments", "env": "prod"},
            create_time="2026-10-28T10:00:00.000000Z",
        ),
        AiResource(
            ML,
            "aiplatform.googleapis.com/Model",
            "locations/us-central1/models/2208391745",
            "fraud-detector",
            key=f"{byok}/cryptoKeyVersions/1",  # a key version: it names its key
            labels={"tenant": "payments", "env": "prod"},
            create_time="2026-10-27T15:00:00.000000Z",
        ),
        AiResource(
            ANALYTICS,
            "aiplatform.googleapis.com/Dataset",
            "locations/us-central1/datasets/6120458832",
            "tabular-training",
            key=tabular,
            labels={"tenant": "retail"},
            create_time="2025-11-20T09:00:00.000000Z",
        ),
        AiResource(
            ANALYTICS,
            "aiplatform.googleapis.com/CustomJob",
            "locations/us-central1/customJobs/918273645",
            "churn-training-20261102",
            key=f"{tabular}/cryptoKeyVersions/1",
            labels={"tenant": "insurance"},
            create_time="2026-11-02T04:00:00.000000Z",
        ),
        # ai_resource_uses_customer_managed_key fails: Google default encryption.
        AiResource(
            ANALYTICS,
            "aiplatform.googleapis.com/Endpoint",
            "locations/us-central1/endpoints/5544332211",
            "churn-scoring",
            labels={"tenant": "insurance"},
            create_time="2026-11-03T08:00:00.000000Z",
        ),
        AiResource(
            ANALYTICS,
            "documentai.googleapis.com/Processor",
            "locations/us/processors/3f9a6c0b21d4e857",
            "claims-parser",
            key=warehouse.resource_name + "/cryptoKeys/ml-features",
            create_time="2026-02-11T13:00:00.000000Z",
        ),
    ]
    return Estate(
        organization=org,
        folders=folders,
        projects=projects,
        key_rings=[payments, signing, partners, warehouse, archive, vertex, scratch],
        keys=keys,
        custom_roles=roles,
        error_overrides=overrides,
        locations=("global", "europe", "europe-west1", "us", "us-central1", "us-east1"),
        ai_resources=ai_resources,
    ).validate()


def demo_document() -> dict[str, Any]:
    """``demo_estate.json``: the organization and the exchanges of both collection paths."""
    estate = demo_estate()
    return {
        "organization": estate.organization.id,
        "exchanges": combine(
            asset_exchanges(estate, estate.organization.name), per_project_exchanges(estate)
        ),
    }


def render_demo() -> str:
    return json.dumps(demo_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------------- the benchmark
def bulk_estate(
    *,
    projects: int = 50,
    folders: int = 5,
    keys: int = 2000,
    keys_per_ring: int = 10,
    locations: Sequence[str] | None = None,
    ring_locations: Sequence[str] = ("europe-west1", "us-central1", "europe", "us"),
) -> Estate:
    """A large synthetic organization: ``keys`` keys spread over ``projects`` projects in ``folders``
    folders, in key rings of ``keys_per_ring``, with bindings on every level and a few custom roles.

    Every project lists ``locations`` (default: all of ``KMS_LOCATIONS``, as a real project does).
    """
    if projects < 1 or folders < 1 or keys < 0 or keys_per_ring < 1:
        raise ValueError("projects, folders and keys_per_ring must be positive, keys not negative")
    org_id = "100000000001"
    org = Organization(
        org_id,
        "bench.example.com",
        policy(
            binding("roles/resourcemanager.organizationAdmin", "group:gcp-org-admins@example.com"),
            binding("roles/cloudkms.viewer", "group:security-audit@example.com"),
            audit_configs=[audit_config("allServices", "ADMIN_READ")],
        ),
    )
    roles = [
        CustomRole(
            f"organizations/{org_id}/roles/keyRotator",
            ["cloudkms.cryptoKeyVersions.create", "cloudkms.cryptoKeys.get", "cloudkms.cryptoKeys.update"],
        ),
        CustomRole(
            f"organizations/{org_id}/roles/keyOps",
            ["cloudkms.cryptoKeyVersions.useToDecrypt", "cloudkms.cryptoKeys.setIamPolicy"],
        ),
    ]
    estate = Estate(organization=org, custom_roles=roles)
    estate.locations = tuple(locations) if locations is not None else tuple(loc for loc, *_ in KMS_LOCATIONS)
    for f in range(folders):
        estate.folders.append(
            Folder(
                str(200000000000 + f),
                org.name,
                f"Business unit {f + 1}",
                policy(
                    binding("roles/cloudkms.admin", f"group:bu{f + 1}-kms-admins@example.com"),
                    binding(roles[0].name, f"group:bu{f + 1}-sre@example.com"),
                ),
            )
        )
    per_project, extra = divmod(keys, projects)
    made = 0
    for p in range(projects):
        pid = f"bench-{p + 1:03d}"
        number = str(300000000000 + p)
        configs = [audit_config(KMS, "DATA_READ", "DATA_WRITE")] if p % 3 == 0 else []
        project_role = CustomRole(
            f"projects/{pid}/roles/appKeyUser",
            ["cloudkms.cryptoKeyVersions.useToDecrypt", "cloudkms.cryptoKeyVersions.useToEncrypt"],
        )
        if p % 10 == 0:
            estate.custom_roles.append(project_role)
        estate.projects.append(
            Project(
                pid,
                number,
                estate.folders[p % folders].name,
                f"Bench project {p + 1}",
                policy(
                    binding("roles/owner", f"user:owner{p + 1}@example.com"),
                    binding("roles/editor", f"serviceAccount:{number}-compute@developer.gserviceaccount.com"),
                    audit_configs=configs,
                ),
            )
        )
        count = per_project + (1 if p < extra else 0)
        for r in range((count + keys_per_ring - 1) // keys_per_ring):
            ring_policy = [
                binding("roles/cloudkms.cryptoKeyEncrypterDecrypter", _sa(f"app-{r + 1}", pid)),
                binding("roles/cloudkms.viewer", f"group:team{r + 1}@example.com"),
            ]
            if r == 0:
                ring_policy.append(binding(roles[1].name, "group:sre@example.com"))
            ring = KeyRing(
                pid, ring_locations[r % len(ring_locations)], f"ring-{r + 1:02d}", policy(*ring_policy)
            )
            estate.key_rings.append(ring)
            for k in range(min(keys_per_ring, count - r * keys_per_ring)):
                made += 1
                estate.keys.append(_bulk_key(ring, k, made, pid, project_role.name if p % 10 == 0 else None))
    return estate.validate()


def _bulk_key(ring: KeyRing, k: int, serial: int, pid: str, project_role: str | None) -> CryptoKey:
    created = _format_time(datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=serial * 7))
    later = _format_time(_parse_time(created) + timedelta(days=90))
    bindings = []
    if k % 2 == 0:
        bindings.append(binding("roles/cloudkms.cryptoKeyDecrypter", _sa(f"reader-{k}", pid)))
    if k % 10 == 3:
        expiry = condition('request.time < timestamp("2027-01-01T00:00:00Z")', "temporary")
        oncall = binding(
            "roles/cloudkms.cryptoKeyEncrypterDecrypter", "group:oncall@example.com", condition=expiry
        )
        bindings.append(oncall)
    if project_role and k == 0:
        bindings.append(binding(project_role, _sa("batch", pid)))
    if k % 10 == 7:  # asymmetric signing
        return CryptoKey(
            ring,
            f"key-{k + 1:03d}",
            purpose="ASYMMETRIC_SIGN",
            protection_level="HSM",
            algorithm="EC_SIGN_P256_SHA256",
            versions=[Version(1, "ENABLED", "HSM", created)],
            policy=policy(*bindings),
        )
    protection = "HSM" if k % 4 == 1 else "SOFTWARE"
    versions = [Version(1, "ENABLED", protection, created), Version(2, "ENABLED", protection, later)]
    if k % 10 == 9:
        versions[0] = Version(1, "DESTROYED", protection, created, later)
    return CryptoKey(
        ring,
        f"key-{k + 1:03d}",
        protection_level=protection,
        rotation_period_days=None if k % 5 == 4 else 90,
        labels={"env": "prod", "data_classification": "confidential" if k % 3 == 0 else "internal"},
        versions=versions,
        primary=2,
        policy=policy(*bindings),
    )


# --------------------------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> int:
    from providers.demo_files import demo_file_main

    return demo_file_main("providers.gcp.simulated", "GCP", DEMO_FILE, render_demo, argv)


if __name__ == "__main__":
    raise SystemExit(main())
