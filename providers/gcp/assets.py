"""Collect (I/O only): a whole organization or folder through Cloud Asset Inventory, read-only.

An organization of thousands of projects costs a few paged calls here instead of a dozen calls per
project: one paged ``list_assets`` returns every key ring, crypto key, key version and EKM connection
under the scope (their ``resource.data`` is the same REST JSON Cloud KMS returns), and one paged
``search_all_iam_policies`` returns the allow policies of every key ring and key. What Cloud Asset does
not return is read directly, once per resource: the full allow policies (with their audit configs) of
each project that holds keys and of the folders and organization above it. A second paged
``list_assets`` returns the AI resources (Vertex AI, Workbench, Document AI, Vertex AI Search) with
their encryption settings; a project holding only AI resources is named with one ``projects.get``.

The result is the same ``RawProject`` tree the per-project path builds, so one normaliser serves both.
When Cloud Asset Inventory cannot be used (API disabled, permission denied, quota), ``AssetUnavailable``
says why and the caller falls back to the per-project path.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from providers.gcp.ai import AI_ASSET_TYPES
from providers.gcp.collect import (
    RawAncestor,
    RawCryptoKey,
    RawEkmConnection,
    RawKeyRing,
    RawLocation,
    RawProject,
    as_dict,
    classify,
    describe,
)
from providers.gcp.readonly import ReadOnlyGuardError, ReadOnlyViolation

if TYPE_CHECKING:
    from providers.gcp.collect import GcpCollector

KMS_ASSET_TYPES = (
    "cloudkms.googleapis.com/CryptoKey",
    "cloudkms.googleapis.com/CryptoKeyVersion",
    "cloudkms.googleapis.com/EkmConnection",
    "cloudkms.googleapis.com/KeyRing",
)
# Key rings and keys only: project, folder and organization policies come from Resource Manager with
# their audit configs (which the search does not return).
POLICY_ASSET_TYPES = ("cloudkms.googleapis.com/CryptoKey", "cloudkms.googleapis.com/KeyRing")
LIST_PAGE_SIZE = 1000  # list_assets maximum
SEARCH_PAGE_SIZE = 500  # search_all_iam_policies maximum
_KMS_PREFIX = "//cloudkms.googleapis.com/"


class AssetUnavailable(Exception):
    """Cloud Asset Inventory could not be used for the scope; ``reason`` says why (no secrets)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _list_kms_assets(collector: GcpCollector, scope: str) -> list[dict[str, Any]]:
    from google.cloud import asset_v1

    client = collector.clients.get("asset")
    request = {
        "parent": scope,
        "asset_types": list(KMS_ASSET_TYPES),
        "content_type": asset_v1.ContentType.RESOURCE,
        "page_size": LIST_PAGE_SIZE,
    }
    return collector.pages(
        "cloudasset.assets.listAssets",
        lambda: client.list_assets(request=request, **collector.call_settings()),
        "assets",
        lambda item: asset_v1.Asset.to_dict(item, preserving_proto_field_name=False),
    )


def list_ai_assets(collector: GcpCollector, parent: str) -> list[dict[str, Any]]:
    """Every AI resource (``providers.gcp.ai.AI_ASSET_TYPES``) under ``parent``: an organization, folder or
    project. Errors propagate (the caller records them)."""
    from google.cloud import asset_v1

    client = collector.clients.get("asset")
    request = {
        "parent": parent,
        "asset_types": list(AI_ASSET_TYPES),
        "content_type": asset_v1.ContentType.RESOURCE,
        "page_size": LIST_PAGE_SIZE,
    }
    return collector.pages(
        "cloudasset.assets.listAssets",
        lambda: client.list_assets(request=request, **collector.call_settings()),
        "assets",
        lambda item: asset_v1.Asset.to_dict(item, preserving_proto_field_name=False),
    )


def _search_policies(collector: GcpCollector, scope: str) -> list[dict[str, Any]]:
    from google.cloud import asset_v1

    client = collector.clients.get("asset")
    request = {"scope": scope, "asset_types": list(POLICY_ASSET_TYPES), "page_size": SEARCH_PAGE_SIZE}
    return collector.pages(
        "cloudasset.assets.searchAllIamPolicies",
        lambda: client.search_all_iam_policies(request=request, **collector.call_settings()),
        "results",
        lambda item: asset_v1.IamPolicySearchResult.to_dict(item, preserving_proto_field_name=False),
    )


def read_scope(collector: GcpCollector, scope: str) -> list[RawProject]:
    """Every project under ``scope`` (``organizations/N`` or ``folders/N``) that holds KMS resources.

    Raises ``AssetUnavailable`` when either Cloud Asset call fails; nothing is recorded then, so the
    caller's fallback decides what the scan reports.
    """
    try:
        assets = _list_kms_assets(collector, scope)
        policies = _search_policies(collector, scope)
    except (ReadOnlyViolation, ReadOnlyGuardError):
        raise  # a defect in keyaudit, not an unavailable API
    except Exception as exc:  # any failure: the per-project path takes over
        raise AssetUnavailable(f"{classify(exc).value}: {describe(exc)}") from exc
    projects = _assemble(assets, policies)
    projects.extend(_attach_ai_assets(collector, scope, projects))
    collector.for_each(collector.complete_from_resource_manager, projects, "GCP projects (IAM policies)")
    return projects


def _project_of(asset: dict[str, Any]) -> str | None:
    """``projects/NUMBER`` holding an asset: its first ancestor, else from its name."""
    for ancestor in asset.get("ancestors") or ():
        if str(ancestor).startswith("projects/"):
            return str(ancestor)
    pieces = str(asset.get("name", "")).removeprefix("//").split("/")
    if len(pieces) > 2 and pieces[1] == "projects":
        return f"projects/{pieces[2]}"
    return None


def _attach_ai_assets(collector: GcpCollector, scope: str, projects: list[RawProject]) -> list[RawProject]:
    """Give each project its AI assets (one more paged list call for the whole scope); returns the
    projects that hold AI resources but no Cloud KMS resource, named through Resource Manager.

    When the listing fails, the Cloud KMS picture still stands: every project's AI resources become
    unreadable (``ScopeAspect.AI_RESOURCES``) and the error is recorded on the scope itself, since the
    projects that hold only AI resources are unknown then.
    """
    try:
        found = list_ai_assets(collector, scope)
    except (ReadOnlyViolation, ReadOnlyGuardError):
        raise
    except Exception as exc:  # recorded: AI resources unknown, never "none"
        collector.recorder.error(scope, None, "cloudasset.assets.listAssets", exc, scope)
        for project in projects:
            project.ai_assets = None
        return []
    by_project: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for asset in sorted(found, key=lambda a: str(a.get("name", ""))):
        holder = _project_of(asset)
        if holder is not None:
            by_project[holder].append(asset)
    for project in projects:
        project.ai_assets = by_project.pop(project.resource, []) if project.resource else []
    ai_only = []
    for resource, items in sorted(by_project.items()):
        ancestors = [str(a) for a in items[0].get("ancestors") or ()]
        ai_only.append(
            RawProject(
                project_id=resource.removeprefix("projects/"),  # the number until Resource Manager names it
                resource=resource,
                ancestors=[RawAncestor(name=a) for a in ancestors if not a.startswith("projects/")],
                ancestry_complete=bool(ancestors),
                locations=[],  # Cloud Asset listed no Cloud KMS resource there
                ai_assets=items,
            )
        )
    collector.for_each(lambda raw: _name_project(collector, raw), ai_only, "GCP projects (AI resources)")
    by_id = {p.project_id: p for p in projects}
    kept = []
    for raw in ai_only:
        same = by_id.get(raw.project_id)
        if same is None:
            kept.append(raw)
        elif same.ai_assets is not None and raw.ai_assets is not None:
            same.ai_assets.extend(raw.ai_assets)  # a key project whose number Cloud Asset did not give
    return kept


def _name_project(collector: GcpCollector, raw: RawProject) -> None:
    """The project id and display name of a project known by its number (``projects.get``)."""
    projects = collector.clients.get("projects")
    resource = raw.resource or f"projects/{raw.project_id}"
    found = collector.call(
        raw.project_id,
        None,
        "cloudresourcemanager.projects.get",
        lambda: as_dict(projects.get_project(name=resource, **collector.call_settings())),
        resource,
    )
    if found and found.get("projectId"):
        raw.project_id = str(found["projectId"])
        raw.display_name = found.get("displayName")


def _kms_name(full: str) -> str:
    return full[len(_KMS_PREFIX) :] if full.startswith(_KMS_PREFIX) else full


def _parts(name: str) -> tuple[str, str]:
    """(project id, location id) of a Cloud KMS resource name ``projects/P/locations/L/...``."""
    pieces = name.split("/")
    if len(pieces) < 4 or pieces[0] != "projects" or pieces[2] != "locations":
        raise ValueError(f"not a Cloud KMS resource name: {name!r}")
    return pieces[1], pieces[3]


def _data(asset: dict[str, Any]) -> dict[str, Any]:
    return dict((asset.get("resource") or {}).get("data") or {})


def _named(assets: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(Cloud KMS resource name, asset) pairs, sorted by name so the tree never depends on page order."""
    return sorted(((_kms_name(str(a.get("name", ""))), a) for a in assets), key=lambda pair: pair[0])


class _Tree:
    """Projects -> locations -> key rings -> keys -> versions, built from the asset stream (pure)."""

    def __init__(self, policies: list[dict[str, Any]]) -> None:
        # A resource may come back in more than one result: unite its bindings.
        self.policy_of: dict[str, dict[str, Any]] = {}
        for result in policies:
            resource = str(result.get("resource", ""))
            if resource.startswith(_KMS_PREFIX):
                merged = self.policy_of.setdefault(_kms_name(resource), {"bindings": []})
                merged["bindings"].extend((result.get("policy") or {}).get("bindings") or ())
        self.projects: dict[str, RawProject] = {}
        self.locations: dict[tuple[str, str], RawLocation] = {}
        self.rings: dict[str, RawKeyRing] = {}
        self.keys: dict[str, RawCryptoKey] = {}

    def project(self, asset: dict[str, Any], name: str) -> RawProject:
        pid, _ = _parts(name)
        raw = self.projects.get(pid)
        if raw is None:
            ancestors = [str(a) for a in asset.get("ancestors") or ()]
            raw = RawProject(
                project_id=pid,
                resource=next((a for a in ancestors if a.startswith("projects/")), None),
                ancestors=[RawAncestor(name=a) for a in ancestors if not a.startswith("projects/")],
                # Cloud Asset lists every ancestor up to the organization (or a parentless folder).
                ancestry_complete=bool(ancestors),
                locations=[],
            )
            self.projects[pid] = raw
        return raw

    def location(self, asset: dict[str, Any], name: str) -> RawLocation:
        pid, location_id = _parts(name)
        found = self.locations.get((pid, location_id))
        if found is None:
            found = self.locations[(pid, location_id)] = RawLocation(location_id=location_id, key_rings=[])
            project = self.project(asset, name)
            assert project.locations is not None
            project.locations.append(found)
        return found

    def ring(self, asset: dict[str, Any], name: str, data: dict[str, Any] | None) -> RawKeyRing:
        found = self.rings.get(name)
        if found is None:
            location = self.location(asset, name)
            # Without the ring's own asset (created between pages) its policy is unknown, not empty.
            policy = self.policy_of.get(name, {}) if data is not None else None
            found = RawKeyRing(
                name=name, location=location.location_id, ring=data or {"name": name}, keys=[], policy=policy
            )
            self.rings[name] = found
            assert location.key_rings is not None
            location.key_rings.append(found)
        return found

    def key(self, asset: dict[str, Any], name: str) -> None:
        ring = self.ring(asset, name.rsplit("/cryptoKeys/", 1)[0], None)
        key = RawCryptoKey(name=name, key=_data(asset), versions=[], policy=self.policy_of.get(name, {}))
        self.keys[name] = key
        assert ring.keys is not None
        ring.keys.append(key)

    def version(self, asset: dict[str, Any], name: str) -> None:
        key = self.keys.get(name.rsplit("/cryptoKeyVersions/", 1)[0])
        if key is not None and key.versions is not None:
            key.versions.append(_data(asset))

    def ekm_connection(self, asset: dict[str, Any], name: str) -> None:
        self.project(asset, name).ekm_connections.append(
            RawEkmConnection(name=name, location=_parts(name)[1], connection=_data(asset))
        )


def _assemble(assets: list[dict[str, Any]], policies: list[dict[str, Any]]) -> list[RawProject]:
    """Group the asset stream into the per-project tree the normaliser reads (pure)."""
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for asset in assets:
        by_type[str(asset.get("assetType", ""))].append(asset)
    tree = _Tree(policies)
    for name, asset in _named(by_type["cloudkms.googleapis.com/KeyRing"]):
        tree.ring(asset, name, _data(asset))
    for name, asset in _named(by_type["cloudkms.googleapis.com/CryptoKey"]):
        tree.key(asset, name)
    for name, asset in _named(by_type["cloudkms.googleapis.com/CryptoKeyVersion"]):
        tree.version(asset, name)
    for name, asset in _named(by_type["cloudkms.googleapis.com/EkmConnection"]):
        tree.ekm_connection(asset, name)
    return [tree.projects[pid] for pid in sorted(tree.projects)]
