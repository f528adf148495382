"""The real google-cloud clients the GCP provider uses, built with ``transport="rest"``.

The Google SDKs are imported inside the functions only (an AWS-only run never pays for them).

``endpoint`` overrides the API endpoint (``--gcp-endpoint``: Private Service Connect, or the loopback
``ReplayServer`` in tests and ``keyaudit demo``). A scheme in it is honoured by every REST transport here:
``http://127.0.0.1:PORT`` talks plain HTTP, and a bare ``host:port`` means HTTPS. Plain ``http://`` is
refused for anything but a loopback host, so an OAuth token never crosses a network in clear text.

Credentials: ``None`` means Application Default Credentials (resolved by the client when it is built:
it raises ``google.auth.exceptions.DefaultCredentialsError`` if there are none); ``anonymous=True`` sends
no token at all (replay server). Neither the Google clients nor ``google-auth`` read an endpoint from the
environment.

Retries: the generated methods retry only ``ServiceUnavailable`` (and ``DeadlineExceeded`` for KMS and
Asset list calls) by default, with a 60 s deadline; 403 and 429 are raised at once. Pass ``retry=None``
(or a short ``google.api_core.retry.Retry``) per call to change that.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from google.auth.credentials import Credentials
    from google.cloud.asset_v1 import AssetServiceClient
    from google.cloud.kms_v1 import KeyManagementServiceClient
    from google.cloud.resourcemanager_v3 import FoldersClient, OrganizationsClient, ProjectsClient

__all__ = [
    "asset_client",
    "client_kwargs",
    "folders_client",
    "kms_client",
    "normalise_endpoint",
    "organizations_client",
    "projects_client",
]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalise_endpoint(endpoint: str) -> str:
    """``endpoint`` as ``ClientOptions.api_endpoint`` wants it: no trailing slash, http only on loopback.

    The REST transports join endpoint and path as ``f"{host}{uri}"``, so a trailing ``/`` would turn
    every path into ``//v1/...``.
    """
    endpoint = endpoint.strip().rstrip("/")
    if not endpoint:
        raise ValueError("empty GCP endpoint")
    parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"GCP endpoint {endpoint!r}: scheme must be https (or http on loopback)")
    if parts.scheme == "http" and not _is_loopback(parts.hostname or ""):
        raise ValueError(
            f"GCP endpoint {endpoint!r}: plain http is only allowed on a loopback address; use https"
        )
    return endpoint


def client_kwargs(
    endpoint: str | None = None,
    *,
    credentials: Credentials | None = None,
    anonymous: bool = False,
) -> dict[str, Any]:
    """Keyword arguments shared by every client: REST transport, endpoint override, credentials."""
    kwargs: dict[str, Any] = {"transport": "rest"}
    if endpoint:
        from google.api_core.client_options import ClientOptions

        kwargs["client_options"] = ClientOptions(api_endpoint=normalise_endpoint(endpoint))
    if anonymous:
        if credentials is not None:
            raise ValueError("pass either credentials or anonymous=True, not both")
        from google.auth.credentials import AnonymousCredentials

        credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
    if credentials is not None:
        kwargs["credentials"] = credentials
    return kwargs


def kms_client(
    endpoint: str | None = None, *, credentials: Credentials | None = None, anonymous: bool = False
) -> KeyManagementServiceClient:
    """Cloud KMS v1 (keys, versions, key IAM policies, and the ``list_locations`` mixin)."""
    from google.cloud.kms_v1 import KeyManagementServiceClient

    return KeyManagementServiceClient(**client_kwargs(endpoint, credentials=credentials, anonymous=anonymous))


def projects_client(
    endpoint: str | None = None, *, credentials: Credentials | None = None, anonymous: bool = False
) -> ProjectsClient:
    """Resource Manager v3 projects (``get_project``, ``get_iam_policy``)."""
    from google.cloud.resourcemanager_v3 import ProjectsClient

    return ProjectsClient(**client_kwargs(endpoint, credentials=credentials, anonymous=anonymous))


def folders_client(
    endpoint: str | None = None, *, credentials: Credentials | None = None, anonymous: bool = False
) -> FoldersClient:
    """Resource Manager v3 folders (``get_folder``, ``get_iam_policy``)."""
    from google.cloud.resourcemanager_v3 import FoldersClient

    return FoldersClient(**client_kwargs(endpoint, credentials=credentials, anonymous=anonymous))


def organizations_client(
    endpoint: str | None = None, *, credentials: Credentials | None = None, anonymous: bool = False
) -> OrganizationsClient:
    """Resource Manager v3 organizations (``get_organization``, ``get_iam_policy``)."""
    from google.cloud.resourcemanager_v3 import OrganizationsClient

    return OrganizationsClient(**client_kwargs(endpoint, credentials=credentials, anonymous=anonymous))


def asset_client(
    endpoint: str | None = None, *, credentials: Credentials | None = None, anonymous: bool = False
) -> AssetServiceClient:
    """Cloud Asset Inventory v1 (``list_assets``, ``search_all_iam_policies``)."""
    from google.cloud.asset_v1 import AssetServiceClient

    return AssetServiceClient(**client_kwargs(endpoint, credentials=credentials, anonymous=anonymous))
