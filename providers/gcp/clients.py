"""The Google Cloud clients the GCP provider uses: REST only, and read-only by construction.

Every factory returns a ``providers.gcp.readonly.ReadOnlyClient``: only the allow-listed methods of the
real google-cloud client are reachable, and its HTTP session refuses anything but reads before a request
leaves the process (see ``providers.gcp.readonly``). Custom IAM roles are read with ``IamRolesClient``, a
small client of its own (google-cloud-iam's ``iam_admin_v1`` has no REST transport) under the same guard.
The Google SDKs are imported inside the functions only (an AWS-only run never pays for them).

``endpoint`` overrides the API endpoint (``--gcp-endpoint``: Private Service Connect, or the loopback
``ReplayServer`` in tests and ``keyaudit demo``). A scheme in it is honoured by every client here:
``http://127.0.0.1:PORT`` talks plain HTTP, and a bare ``host:port`` means HTTPS. Plain ``http://`` is
allowed anywhere (SPEC 2.1); to a non-loopback host it sends the bearer token in clear text, so the first
client built for such a host logs the warning ``gcp.endpoint.plaintext``.

Credentials: ``None`` means Application Default Credentials (resolved when a client is built: it raises
``google.auth.exceptions.DefaultCredentialsError`` if there are none); ``anonymous=True`` sends no token at
all (replay server). Credentials are scoped to ``cloud-platform``, and self-signed JWTs are switched off, so
a service-account key gets its token from the key file's own ``token_uri`` (SPEC 2.1). Neither the Google
clients nor ``google-auth`` read an endpoint from the environment.

Retries: the generated methods retry only ``ServiceUnavailable`` (and ``DeadlineExceeded`` for KMS and
Asset list calls) by default, with a 60 s deadline; 403 and 429 are raised at once. Pass ``retry=None``
(or a short ``google.api_core.retry.Retry``) per call to change that. ``IamRolesClient.get_role`` does
the same.
"""

from __future__ import annotations

import ipaddress
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import structlog

from providers.gcp import readonly

if TYPE_CHECKING:
    from google.auth.credentials import Credentials
    from google.cloud.asset_v1 import AssetServiceClient
    from google.cloud.kms_v1 import KeyManagementServiceClient
    from google.cloud.resourcemanager_v3 import FoldersClient, OrganizationsClient, ProjectsClient

__all__ = [
    "CLOUD_PLATFORM_SCOPE",
    "IAM_ENDPOINT",
    "IamRolesClient",
    "asset_client",
    "client_kwargs",
    "ekm_client",
    "folders_client",
    "iam_roles_client",
    "is_loopback_endpoint",
    "kms_client",
    "normalise_endpoint",
    "organizations_client",
    "projects_client",
]

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
IAM_ENDPOINT = "https://iam.googleapis.com"
HTTP_TIMEOUT = 30.0  # seconds, per IAM Admin request

# projects/P/roles/R (P may carry a legacy "domain:" prefix) or organizations/O/roles/R; no segment
# that could step into another path ("..", "/", ":verb").
_ROLE_NAME = re.compile(
    r"(projects/(?:[a-z0-9.-]+:)?[a-z0-9][a-z0-9-]*|organizations/[0-9]+)/roles/[A-Za-z0-9_][A-Za-z0-9_.]*"
)

_log = structlog.get_logger("keyaudit.gcp")
_plaintext_warned: set[str] = set()
_plaintext_lock = threading.Lock()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_endpoint(endpoint: str) -> bool:
    """Whether an endpoint URL (or bare host:port) points at this machine."""
    return _is_loopback(urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}").hostname or "")


def normalise_endpoint(endpoint: str) -> str:
    """``endpoint`` as ``ClientOptions.api_endpoint`` wants it: http or https, no trailing slash.

    The REST transports join endpoint and path as ``f"{host}{uri}"``, so a trailing ``/`` would turn
    every path into ``//v1/...``.
    """
    endpoint = endpoint.strip().rstrip("/")
    if not endpoint:
        raise ValueError("empty GCP endpoint")
    parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"GCP endpoint {endpoint!r}: scheme must be https or http")
    if not parts.hostname:
        raise ValueError(f"GCP endpoint {endpoint!r}: no host")
    return endpoint


def _warn_if_plaintext(endpoint: str) -> None:
    """Log once per host when a bearer token would travel in clear text beyond this machine."""
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    if parts.scheme != "http" or _is_loopback(host):
        return
    with _plaintext_lock:
        if host in _plaintext_warned:
            return
        _plaintext_warned.add(host)
    # The host only: the URL could carry user info, and tokens are never logged.
    _log.warning("gcp.endpoint.plaintext", endpoint=host)


def _credentials(credentials: Credentials | None, anonymous: bool) -> Credentials | None:
    if anonymous:
        if credentials is not None:
            raise ValueError("pass either credentials or anonymous=True, not both")
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()  # type: ignore[no-untyped-call]
    if credentials is not None:
        from google.auth.credentials import with_scopes_if_required

        # A service-account key loaded without scopes would otherwise ask for a token with none.
        return cast("Credentials", with_scopes_if_required(credentials, [CLOUD_PLATFORM_SCOPE]))  # type: ignore[no-untyped-call]
    return None


def client_kwargs(
    endpoint: str | None = None,
    *,
    credentials: Credentials | None = None,
    anonymous: bool = False,
) -> dict[str, Any]:
    """Keyword arguments shared by every generated client: REST transport, endpoint, scope, credentials.

    The factories below replace ``transport`` with the guarded one: build clients through them.
    """
    from google.api_core.client_options import ClientOptions

    options = ClientOptions(scopes=[CLOUD_PLATFORM_SCOPE])
    if endpoint:
        options.api_endpoint = normalise_endpoint(endpoint)
    kwargs: dict[str, Any] = {"transport": "rest", "client_options": options}
    resolved = _credentials(credentials, anonymous)
    if resolved is not None:
        kwargs["credentials"] = resolved
    return kwargs


def _guarded_rest_transport(client_class: Any) -> Callable[..., Any]:
    """A ``transport=`` callable: the client's REST transport, its HTTP session guarded read-only."""
    rest_class = client_class.get_transport_class("rest")

    def build(**kwargs: Any) -> Any:
        # With self-signed JWTs a service-account key would never use its token_uri (SPEC 2.1).
        kwargs["always_use_jwt_access"] = False
        return readonly.guard_transport(rest_class(**kwargs))

    return build


def _build(client_class: Any, endpoint: str | None, credentials: Credentials | None, anonymous: bool) -> Any:
    kwargs = client_kwargs(endpoint, credentials=credentials, anonymous=anonymous)
    if endpoint:
        _warn_if_plaintext(kwargs["client_options"].api_endpoint)
    kwargs["transport"] = _guarded_rest_transport(client_class)
    return readonly.guard_client(client_class(**kwargs))


def kms_client(
    endpoint: str | None = None, *, credentials: Credentials | None = None, anonymous: bool = False
) -> KeyManagementServiceClient:
    """Cloud KMS v1 (locations, key rings, keys, versions, IAM policies), read-only."""
    from google.cloud.kms_v1 import KeyManagementServiceClient

    return cast(
        "KeyManagementServiceClient", _build(KeyManagementServiceClient, endpoint, credentials, anonymous)
    )


def ekm_client(
    endpoint: str | None = None, *, credentials: Credentials | None = None, anonymous: bool = False
) -> Any:
    """Cloud KMS EKM connections (``get_ekm_connection``), read-only."""
    from google.cloud.kms_v1 import EkmServiceClient

    return _build(EkmServiceClient, endpoint, credentials, anonymous)


def projects_client(
    endpoint: str | None = None, *, credentials: Credentials | None = None, anonymous: bool = False
) -> ProjectsClient:
    """Resource Manager v3 projects (get, IAM policy, list, search), read-only."""
    from google.cloud.resourcemanager_v3 import ProjectsClient

    return cast("ProjectsClient", _build(ProjectsClient, endpoint, credentials, anonymous))


def folders_client(
    endpoint: str | None = None, *, credentials: Credentials | None = None, anonymous: bool = False
) -> FoldersClient:
    """Resource Manager v3 folders (get, IAM policy, list), read-only."""
    from google.cloud.resourcemanager_v3 import FoldersClient

    return cast("FoldersClient", _build(FoldersClient, endpoint, credentials, anonymous))


def organizations_client(
    endpoint: str | None = None, *, credentials: Credentials | None = None, anonymous: bool = False
) -> OrganizationsClient:
    """Resource Manager v3 organizations (get, IAM policy), read-only."""
    from google.cloud.resourcemanager_v3 import OrganizationsClient

    return cast("OrganizationsClient", _build(OrganizationsClient, endpoint, credentials, anonymous))


def asset_client(
    endpoint: str | None = None, *, credentials: Credentials | None = None, anonymous: bool = False
) -> AssetServiceClient:
    """Cloud Asset Inventory v1 (``list_assets``, ``search_all_iam_policies``), read-only."""
    from google.cloud.asset_v1 import AssetServiceClient

    return cast("AssetServiceClient", _build(AssetServiceClient, endpoint, credentials, anonymous))


_DEFAULT: Any = object()  # "use the default retry" (``retry=None`` means no retry), as in api_core


class IamRolesClient:
    """IAM Admin API v1 ``roles.get`` over google-auth's ``AuthorizedSession`` (requests), read-only.

    Errors are the ``google.api_core.exceptions`` classes the generated REST clients raise (from the HTTP
    status: 403 ``Forbidden``, 404 ``NotFound``, 429 ``TooManyRequests``...). One instance holds one HTTP
    session: use it from one thread (the collector builds one per worker).
    """

    def __init__(self, base_url: str, credentials: Credentials) -> None:
        from google.auth.transport.requests import AuthorizedSession

        self._base_url = base_url
        self._session = readonly.guard_session(AuthorizedSession(credentials))  # type: ignore[no-untyped-call]

    def get_role(self, name: str, *, retry: Any = _DEFAULT, timeout: float = HTTP_TIMEOUT) -> dict[str, Any]:
        """The Role (``includedPermissions``, ``stage``, ``deleted``...) as REST JSON, camelCase."""
        if not _ROLE_NAME.fullmatch(name):
            raise ValueError(
                f"not a custom role name (projects/P/roles/R or organizations/O/roles/R): {name!r}"
            )
        from google.api_core import exceptions

        url = f"{self._base_url}/v1/{name}"

        def once() -> dict[str, Any]:
            response = self._session.get(url, timeout=timeout)
            if response.status_code >= 400:
                raise exceptions.from_http_response(response)  # type: ignore[no-untyped-call]
            return cast("dict[str, Any]", response.json())

        if retry is _DEFAULT:
            from google.api_core.retry import Retry, if_exception_type

            # The generated clients' default: ServiceUnavailable only, 60 s deadline.
            retry = Retry(
                predicate=if_exception_type(exceptions.ServiceUnavailable),
                initial=0.1,
                maximum=60.0,
                multiplier=1.3,
                timeout=60.0,
            )
        return retry(once)() if retry is not None else once()


def iam_roles_client(
    endpoint: str | None = None, *, credentials: Credentials | None = None, anonymous: bool = False
) -> IamRolesClient:
    """IAM Admin API (custom role definitions: ``get_role``), read-only; ``endpoint`` as for the others."""
    base_url = IAM_ENDPOINT
    if endpoint:
        base_url = normalise_endpoint(endpoint)
        if "://" not in base_url:
            base_url = f"https://{base_url}"
        _warn_if_plaintext(base_url)
    resolved = _credentials(credentials, anonymous)
    if resolved is None:
        import google.auth

        resolved, _ = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
    return cast("IamRolesClient", readonly.guard_client(IamRolesClient(base_url, resolved)))
