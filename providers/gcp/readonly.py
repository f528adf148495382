"""Read-only by construction: every Google Cloud client keyaudit builds can only call the operations listed here.

Two layers, both refusing before a request leaves the process:

* method layer: ``guard_client`` wraps a generated client in a ``ReadOnlyClient`` that exposes only the
  allow-listed methods. Any other RPC method (``destroy_crypto_key_version``, ``set_iam_policy``...) raises
  ``ReadOnlyViolation``; other attributes, ``transport`` included (it would hand out the raw transport and
  its session), are not exposed at all.
* HTTP layer: ``guard_session`` wraps every adapter of the REST transport's ``requests`` session so that
  only ``GET`` goes out, plus ``POST .../...:getIamPolicy`` (Resource Manager v3 reads policies with a POST;
  Cloud KMS uses ``GET ...:getIamPolicy``). This holds even for code that reaches past the method layer.
  Token refresh is not affected: google-auth sends it through the session's separate ``_auth_request``.

The allow-list is also the source of the minimal custom role (``keyaudit scan gcp --print-required-policy``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    import requests

__all__ = [
    "READ_OPERATIONS",
    "ReadOnlyClient",
    "ReadOnlyGuardError",
    "ReadOnlyViolation",
    "check_request",
    "guard_client",
    "guard_session",
    "guard_transport",
    "required_permissions",
    "required_role",
]

# Client class name -> method the scan may call -> IAM permissions that call needs.
READ_OPERATIONS: Mapping[str, Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "KeyManagementServiceClient": MappingProxyType(
            {
                "list_locations": ("cloudkms.locations.list",),
                "list_key_rings": ("cloudkms.keyRings.list",),
                "list_crypto_keys": ("cloudkms.cryptoKeys.list",),
                "list_crypto_key_versions": ("cloudkms.cryptoKeyVersions.list",),
                # One RPC reads the policies of key rings and of keys; each resource type has its permission.
                "get_iam_policy": ("cloudkms.keyRings.getIamPolicy", "cloudkms.cryptoKeys.getIamPolicy"),
            }
        ),
        # EKM connections behind EXTERNAL_VPC keys (their key management mode decides whether Cloud KMS
        # can rotate the key): read one by one, only for connections keys use.
        "EkmServiceClient": MappingProxyType({"get_ekm_connection": ("cloudkms.ekmConnections.get",)}),
        "ProjectsClient": MappingProxyType(
            {
                "get_project": ("resourcemanager.projects.get",),
                "get_iam_policy": ("resourcemanager.projects.getIamPolicy",),
                "list_projects": ("resourcemanager.projects.list",),
                # SearchProjects returns the projects the caller may get: no permission of its own.
                "search_projects": ("resourcemanager.projects.get",),
            }
        ),
        "FoldersClient": MappingProxyType(
            {
                "get_folder": ("resourcemanager.folders.get",),
                "get_iam_policy": ("resourcemanager.folders.getIamPolicy",),
                "list_folders": ("resourcemanager.folders.list",),
            }
        ),
        "OrganizationsClient": MappingProxyType(
            {
                "get_organization": ("resourcemanager.organizations.get",),
                "get_iam_policy": ("resourcemanager.organizations.getIamPolicy",),
            }
        ),
        # Cloud Asset Inventory: ListAssets needs one permission per content type (RESOURCE ->
        # listResource; IAM_POLICY would need listIamPolicy, which the scan does not use), and every Asset
        # call needs serviceusage.services.use on the project whose quota it consumes
        # (https://cloud.google.com/asset-inventory/docs/roles-permissions). The same ListAssets call, with
        # the AI asset types of providers.gcp.ai, reads the AI resources' encryption settings: on the
        # organization or folder, or on each project when the scan goes project by project.
        "AssetServiceClient": MappingProxyType(
            {
                "list_assets": ("cloudasset.assets.listResource", "serviceusage.services.use"),
                "search_all_iam_policies": (
                    "cloudasset.assets.searchAllIamPolicies",
                    "serviceusage.services.use",
                ),
            }
        ),
        # IAM Admin API (roles.get) for custom role definitions: providers.gcp.clients.IamRolesClient.
        "IamRolesClient": MappingProxyType({"get_role": ("iam.roles.get",)}),
    }
)

# Resource Manager v3 reads IAM policies with POST; nothing else the scan calls is a POST.
_POST_READ_SUFFIX = ":getIamPolicy"


class ReadOnlyViolation(RuntimeError):
    """An attempt to call a Google Cloud operation outside the read-only allow-list; nothing was sent."""


class ReadOnlyGuardError(RuntimeError):
    """The read-only guard could not be installed (an SDK changed shape): refuse to build the client."""


class ReadOnlyClient:
    """The allow-listed methods of one Google Cloud client, and nothing else.

    Attribute access is the gate: an allow-listed name gives the real client's bound method; any other
    callable attribute raises ``ReadOnlyViolation`` naming it; anything else (``transport``, private
    attributes) raises ``AttributeError``.
    """

    __slots__ = ("_allowed", "_client", "_kind")

    def __init__(self, client: Any, kind: str, allowed: frozenset[str]) -> None:
        object.__setattr__(self, "_client", client)
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_allowed", allowed)

    def __getattr__(self, name: str) -> Any:
        # Only called for names the proxy itself lacks, i.e. everything but the slots above.
        if name in self._allowed:
            return getattr(self._client, name)
        if callable(getattr(self._client, name, None)):
            raise ReadOnlyViolation(
                f"keyaudit is read-only: {self._kind}.{name} is not on its allow-list and was not called"
            )
        raise AttributeError(f"read-only {self._kind} does not expose {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"read-only {self._kind} cannot be modified")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"read-only {self._kind} cannot be modified")

    def __dir__(self) -> list[str]:
        return sorted(self._allowed)

    def __repr__(self) -> str:
        return f"<read-only {self._kind}: {', '.join(sorted(self._allowed))}>"


def guard_client(client: Any) -> ReadOnlyClient:
    """Wrap ``client`` (a generated google-cloud client or an ``IamRolesClient``) in its read-only view."""
    kind = type(client).__name__
    operations = READ_OPERATIONS.get(kind)
    if operations is None:
        raise ReadOnlyGuardError(f"{kind} has no read-only allow-list; keyaudit does not build it")
    missing = sorted(name for name in operations if not callable(getattr(client, name, None)))
    if missing:  # an SDK renamed a method: fail now rather than at the first call of a scan
        raise ReadOnlyGuardError(f"{kind} lacks the allow-listed methods {missing}")
    return ReadOnlyClient(client, kind, frozenset(operations))


def check_request(method: str, url: str) -> None:
    """Raise ``ReadOnlyViolation`` unless ``method url`` is a read: GET, or POST to ``...:getIamPolicy``."""
    verb = method.upper()
    if verb == "GET":
        return
    path = unquote(urlsplit(url).path)
    if verb == "POST" and path.endswith(_POST_READ_SUFFIX):
        return
    raise ReadOnlyViolation(f"keyaudit is read-only: {verb} {path} was refused and not sent")


@functools.cache
def _adapter_class() -> type[Any]:
    # requests is imported on first use, like the Google SDKs (printing the required role needs neither).
    from requests.adapters import BaseAdapter

    class ReadOnlyAdapter(BaseAdapter):
        """Checks every prepared request, then hands it to the adapter it replaced."""

        def __init__(self, inner: BaseAdapter) -> None:
            super().__init__()
            self.inner = inner

        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            check_request(request.method or "", request.url or "")
            return self.inner.send(request, *args, **kwargs)

        def close(self) -> None:
            self.inner.close()

    return ReadOnlyAdapter


def guard_session(session: requests.Session) -> requests.Session:
    """Make ``session`` refuse anything but reads (``check_request``) before it reaches the network.

    Every request of a ``requests.Session`` goes out through ``adapter.send`` (``session.request``,
    ``.post``, ``.send`` alike), so each mounted adapter is wrapped in place.
    """
    import requests

    if not isinstance(session, requests.Session):
        raise ReadOnlyGuardError(f"expected a requests.Session, got {type(session).__name__}")
    adapter_class = _adapter_class()
    if not session.adapters:
        raise ReadOnlyGuardError("the session has no transport adapter to guard")
    for prefix, adapter in list(session.adapters.items()):
        if not isinstance(adapter, adapter_class):
            session.adapters[prefix] = adapter_class(adapter)  # same key: keeps requests' prefix order
    return session


def guard_transport(transport: Any) -> Any:
    """Guard the ``requests`` session of a generated REST transport (``transport._session``)."""
    session = getattr(transport, "_session", None)
    if session is None:
        raise ReadOnlyGuardError(
            f"{type(transport).__name__} has no REST session (_session): cannot enforce read-only HTTP"
        )
    guard_session(session)
    return transport


def required_permissions() -> list[str]:
    """Every IAM permission the allow-listed operations need, sorted, each once."""
    return sorted({p for operations in READ_OPERATIONS.values() for ps in operations.values() for p in ps})


def required_role() -> dict[str, Any]:
    """A GCP custom role definition (``gcloud iam roles create --file``) holding exactly what the scan needs.

    Create it at the organization (folder and organization permissions are not allowed in project-level
    custom roles) and bind it at the organization, or on each scanned project and its ancestors.

    Predefined roles that together cover it: ``roles/cloudkms.viewer`` (locations, key rings, keys,
    versions), ``roles/iam.securityReviewer`` (every ``getIamPolicy``, ``iam.roles.get``),
    ``roles/browser`` (projects, folders and organization get/list), ``roles/cloudasset.viewer`` (asset
    list and IAM policy search; on every scanned project as well for a project-by-project scan, which
    lists each project's AI resources) plus ``roles/serviceusage.serviceUsageConsumer`` on the quota project,
    which Cloud Asset Inventory calls also need (``serviceusage.services.use``: not in the other four).
    """
    return {
        "title": "keyaudit scanner (read-only)",
        "description": (
            "Reads Cloud KMS keys, their IAM policies, the resource hierarchy, custom role "
            "definitions and the encryption settings of AI resources (Cloud Asset Inventory) for "
            "keyaudit. Grants no write, no key use and no secret access."
        ),
        "stage": "GA",
        "includedPermissions": required_permissions(),
    }
