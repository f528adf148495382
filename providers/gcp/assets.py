"""Collect (I/O only): a whole organization or folder through Cloud Asset Inventory, read-only.

An organization of thousands of projects costs a few paged calls here instead of a dozen calls per
project: one paged ``list_assets`` returns every key ring, crypto key, key version and EKM connection
under the scope (their ``resource.data`` is the same REST JSON Cloud KMS returns), and one paged
``search_all_iam_policies`` returns the allow policies of every key ring and key. What Cloud Asset does
not return is read directly, once per resource: the full allow policies (with their audit configs) of
each project that holds keys and of the folders and organization above it.

The result is the same ``RawProject`` tree the per-project path builds, so one normaliser serves both.
When Cloud Asset Inventory cannot be used (API disabled, permission denied, quota), ``AssetUnavailable``
says why and the caller falls back to the per-project path.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from providers.gcp.collect import (
    RawAncestor,
    RawCryptoKey,
    RawEkmConnection,
    RawKeyRing,
    RawLocation,
    RawProject,
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
    collector.for_each(collector.complete_from_resource_manager, projects, "GCP projects (IAM policies)")
    return projects


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
