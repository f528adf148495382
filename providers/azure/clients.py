"""The Azure clients the Azure provider uses: the real SDK clients, read-only by construction.

Every factory builds the real client (azure-mgmt-keyvault, azure-mgmt-authorization, azure-mgmt-monitor,
azure-mgmt-cognitiveservices, azure-keyvault-keys) with:

* the read-only guard of ``providers.azure.readonly`` in its pipeline, checked after the build;
* ``retry_total`` retries (default 3; tests pass 0, or a failing call waits on back-off);
* a per-request connect and read timeout (``_RequestDefaultsPolicy``: it works with any transport);
* ``transport``: ``None`` means azure-core's own ``RequestsTransport``; tests and ``keyaudit demo`` pass
  ``ReplayAdapter.transport()`` from ``providers.azure.replay``;
* the cloud's ARM endpoint and token scope (``cloud_settings``: public, china, usgov).

Proxies and CA bundles come from the environment: azure-core's ``RequestsTransport`` keeps the
``requests`` session's ``trust_env`` on, so ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` and
``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` apply to every request (``requests`` merges them per request).
``requests`` ignores ``SSL_CERT_FILE``; ``_RequestDefaultsPolicy`` passes it as the CA bundle when neither
of the other two is set.

Subscriptions and management groups: azure-mgmt-resource 26 no longer ships ``SubscriptionClient`` (it
moved to azure-mgmt-resource-subscriptions) and azure-mgmt-managementgroups is not a dependency, so
``TenantClient`` calls the two ARM list operations keyaudit needs (``GET /subscriptions``, management group
``descendants``) through an azure-core ``PipelineClient`` with the same policies as the SDK clients. The same
client lists the resources of one ARM type in a subscription (``list_resources``: Machine Learning workspaces,
AI Search services), which spares an SDK per type for one GET.

The Azure SDKs are imported inside the functions only (an AWS-only run never pays for them).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

from providers.azure import readonly

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.core.paging import ItemPaged
    from azure.core.pipeline.transport import HttpTransport
    from azure.identity import DefaultAzureCredential
    from azure.keyvault.keys import KeyClient
    from azure.mgmt.authorization import AuthorizationManagementClient
    from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
    from azure.mgmt.keyvault import KeyVaultManagementClient
    from azure.mgmt.monitor import MonitorManagementClient

__all__ = [
    "CLOUDS",
    "CONNECT_TIMEOUT",
    "DEFAULT_RETRY_TOTAL",
    "MANAGEMENT_GROUPS_API_VERSION",
    "READ_TIMEOUT",
    "SUBSCRIPTIONS_API_VERSION",
    "CloudSettings",
    "TenantClient",
    "access_control_client",
    "authorization_client",
    "cloud_settings",
    "cognitive_services_client",
    "default_credential",
    "key_client",
    "keyvault_mgmt_client",
    "monitor_client",
    "subscription_client",
]

DEFAULT_RETRY_TOTAL = 3
CONNECT_TIMEOUT = 10.0  # seconds to open a connection
READ_TIMEOUT = 60.0  # seconds between bytes of an answer
SUBSCRIPTIONS_API_VERSION = "2022-12-01"
MANAGEMENT_GROUPS_API_VERSION = "2020-05-01"


@dataclass(frozen=True)
class CloudSettings:
    """Endpoints of one Azure cloud (``--azure-cloud``)."""

    name: str
    authority_host: str  # Microsoft Entra sign-in host, as azure.identity.AzureAuthorityHosts
    arm_endpoint: str
    arm_scope: str
    vault_suffix: str
    managed_hsm_suffix: str

    @property
    def vault_scope(self) -> str:
        return f"https://{self.vault_suffix}/.default"

    @property
    def managed_hsm_scope(self) -> str:
        return f"https://{self.managed_hsm_suffix}/.default"

    def vault_url(self, name: str) -> str:
        return f"https://{name}.{self.vault_suffix}"

    def managed_hsm_url(self, name: str) -> str:
        return f"https://{name}.{self.managed_hsm_suffix}"


CLOUDS: Mapping[str, CloudSettings] = {
    "public": CloudSettings(
        name="public",
        authority_host="login.microsoftonline.com",
        arm_endpoint="https://management.azure.com",
        arm_scope="https://management.azure.com/.default",
        vault_suffix="vault.azure.net",
        managed_hsm_suffix="managedhsm.azure.net",
    ),
    "china": CloudSettings(
        name="china",
        authority_host="login.chinacloudapi.cn",
        arm_endpoint="https://management.chinacloudapi.cn",
        arm_scope="https://management.chinacloudapi.cn/.default",
        vault_suffix="vault.azure.cn",
        managed_hsm_suffix="managedhsm.azure.cn",
    ),
    "usgov": CloudSettings(
        name="usgov",
        authority_host="login.microsoftonline.us",
        arm_endpoint="https://management.usgovcloudapi.net",
        # US Government ARM tokens are issued for management.core.usgovcloudapi.net, not the endpoint host.
        arm_scope="https://management.core.usgovcloudapi.net/.default",
        vault_suffix="vault.usgovcloudapi.net",
        managed_hsm_suffix="managedhsm.usgovcloudapi.net",
    ),
}


def cloud_settings(cloud: str | CloudSettings = "public") -> CloudSettings:
    """The settings of ``cloud`` (``public``, ``china`` or ``usgov``); a ``CloudSettings`` passes through."""
    if isinstance(cloud, CloudSettings):
        return cloud
    try:
        return CLOUDS[cloud]
    except KeyError:
        raise ValueError(f"unknown Azure cloud {cloud!r}; expected one of {sorted(CLOUDS)}") from None


def _ca_file_from_env() -> str | None:
    """``SSL_CERT_FILE`` when ``requests``' own variables are unset (``requests`` reads only those)."""
    if os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE"):
        return None
    return os.environ.get("SSL_CERT_FILE") or None


@functools.cache
def _defaults_policy_class() -> type[Any]:
    from azure.core.pipeline.policies import SansIOHTTPPolicy

    class _RequestDefaultsPolicy(SansIOHTTPPolicy):  # type: ignore[type-arg]
        """Per-request transport options the caller did not set: timeouts and ``SSL_CERT_FILE``.

        As request options they reach whichever transport the client has (an injected one included),
        where constructor arguments would only reach a transport the SDK builds itself.
        """

        def __init__(self, connection_timeout: float, read_timeout: float) -> None:
            self.connection_timeout = connection_timeout
            self.read_timeout = read_timeout

        def on_request(self, request: Any) -> None:
            options = request.context.options
            options.setdefault("connection_timeout", self.connection_timeout)
            options.setdefault("read_timeout", self.read_timeout)
            if "connection_verify" not in options:
                ca_file = _ca_file_from_env()
                if ca_file:
                    options["connection_verify"] = ca_file

    return _RequestDefaultsPolicy


def _user_agent() -> str:
    from scanner import __version__

    return f"keyaudit/{__version__}"


def _common_kwargs(
    transport: HttpTransport[Any, Any] | None,
    retry_total: int,
    connection_timeout: float,
    read_timeout: float,
) -> dict[str, Any]:
    guard = readonly.policy_class()
    kwargs: dict[str, Any] = {
        "retry_total": retry_total,
        # Guard first (refuse before a token is fetched) and after the SDK's own policies (requests they
        # make up themselves, such as ARM's resource provider registration POST).
        "per_call_policies": [guard(), _defaults_policy_class()(connection_timeout, read_timeout)],
        "per_retry_policies": [guard()],
        "user_agent": _user_agent(),
    }
    if transport is not None:
        kwargs["transport"] = transport
    return kwargs


def _pipeline_of(client: Any) -> Any:
    # Management clients hold an ARMPipelineClient as ``_client``; KeyClient wraps its generated client.
    inner = getattr(client, "_client", None)
    for candidate in (inner, getattr(inner, "_client", None)):
        pipeline = getattr(candidate, "_pipeline", None)
        if pipeline is not None:
            return pipeline
    raise readonly.ReadOnlyGuardError(
        f"{type(client).__name__}: pipeline not found, cannot check the read-only guard"
    )


def _checked(client: Any) -> Any:
    """``client`` when both read-only guards are in its pipeline; else refuse to hand it out."""
    guards = readonly.find_guards(_pipeline_of(client))
    if len(guards) < 2:
        raise readonly.ReadOnlyGuardError(
            f"{type(client).__name__}: the read-only guard is missing from its pipeline ({len(guards)} of 2)"
        )
    return client


def default_credential(cloud: str | CloudSettings = "public", **kwargs: Any) -> DefaultAzureCredential:
    """``DefaultAzureCredential`` signing in at ``cloud``'s authority (env, workload identity, managed
    identity, Azure CLI...; ``AZURE_TOKEN_CREDENTIALS`` narrows the chain)."""
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(authority=cloud_settings(cloud).authority_host, **kwargs)


def _arm_client(
    cls: Any,
    subscription_id: str,
    credential: TokenCredential,
    cloud: str | CloudSettings,
    transport: HttpTransport[Any, Any] | None,
    *,
    limits: tuple[int, float, float],
) -> Any:
    """One Azure Resource Manager client of ``cls`` for the cloud, behind the read-only guard."""
    settings = cloud_settings(cloud)
    client = cls(
        credential,
        subscription_id,
        base_url=settings.arm_endpoint,
        credential_scopes=[settings.arm_scope],
        **_common_kwargs(transport, *limits),
    )
    return _checked(client)


def keyvault_mgmt_client(
    subscription_id: str,
    credential: TokenCredential,
    cloud: str | CloudSettings = "public",
    transport: HttpTransport[Any, Any] | None = None,
    *,
    retry_total: int = DEFAULT_RETRY_TOTAL,
    connection_timeout: float = CONNECT_TIMEOUT,
    read_timeout: float = READ_TIMEOUT,
) -> KeyVaultManagementClient:
    """Key Vault management (``vaults.list_by_subscription``/``get``, ``managed_hsms``, ARM ``keys``)."""
    from azure.mgmt.keyvault import KeyVaultManagementClient

    client = _arm_client(
        KeyVaultManagementClient,
        subscription_id,
        credential,
        cloud,
        transport,
        limits=(retry_total, connection_timeout, read_timeout),
    )
    return cast("KeyVaultManagementClient", client)


def authorization_client(
    subscription_id: str,
    credential: TokenCredential,
    cloud: str | CloudSettings = "public",
    transport: HttpTransport[Any, Any] | None = None,
    *,
    retry_total: int = DEFAULT_RETRY_TOTAL,
    connection_timeout: float = CONNECT_TIMEOUT,
    read_timeout: float = READ_TIMEOUT,
) -> AuthorizationManagementClient:
    """Azure RBAC (``role_assignments.list_for_scope``, ``role_definitions.get_by_id``), API 2022-04-01."""
    from azure.mgmt.authorization import AuthorizationManagementClient

    client = _arm_client(
        AuthorizationManagementClient,
        subscription_id,
        credential,
        cloud,
        transport,
        limits=(retry_total, connection_timeout, read_timeout),
    )
    return cast("AuthorizationManagementClient", client)


def monitor_client(
    subscription_id: str,
    credential: TokenCredential,
    cloud: str | CloudSettings = "public",
    transport: HttpTransport[Any, Any] | None = None,
    *,
    retry_total: int = DEFAULT_RETRY_TOTAL,
    connection_timeout: float = CONNECT_TIMEOUT,
    read_timeout: float = READ_TIMEOUT,
) -> MonitorManagementClient:
    """Azure Monitor (``diagnostic_settings.list(resource_uri)``: azure-mgmt-monitor 6.x has it, 7.x not)."""
    from azure.mgmt.monitor import MonitorManagementClient

    client = _arm_client(
        MonitorManagementClient,
        subscription_id,
        credential,
        cloud,
        transport,
        limits=(retry_total, connection_timeout, read_timeout),
    )
    return cast("MonitorManagementClient", client)


def cognitive_services_client(
    subscription_id: str,
    credential: TokenCredential,
    cloud: str | CloudSettings = "public",
    transport: HttpTransport[Any, Any] | None = None,
    *,
    retry_total: int = DEFAULT_RETRY_TOTAL,
    connection_timeout: float = CONNECT_TIMEOUT,
    read_timeout: float = READ_TIMEOUT,
) -> CognitiveServicesManagementClient:
    """Azure OpenAI / AI services accounts (``accounts.list``: encryption and managed identities)."""
    from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

    client = _arm_client(
        CognitiveServicesManagementClient,
        subscription_id,
        credential,
        cloud,
        transport,
        limits=(retry_total, connection_timeout, read_timeout),
    )
    return cast("CognitiveServicesManagementClient", client)


def key_client(
    vault_url: str,
    credential: TokenCredential,
    transport: HttpTransport[Any, Any] | None = None,
    *,
    retry_total: int = DEFAULT_RETRY_TOTAL,
    connection_timeout: float = CONNECT_TIMEOUT,
    read_timeout: float = READ_TIMEOUT,
) -> KeyClient:
    """Key Vault keys data plane for a vault or a Managed HSM URL (``list_properties_of_keys``,
    ``get_key``, ``get_key_rotation_policy``). The token scope and tenant come from the service's 401
    challenge, so the cloud is the URL's."""
    from azure.keyvault.keys import KeyClient

    client = KeyClient(
        vault_url, credential, **_common_kwargs(transport, retry_total, connection_timeout, read_timeout)
    )
    return cast("KeyClient", _checked(client))


def access_control_client(
    hsm_url: str,
    credential: TokenCredential,
    transport: HttpTransport[Any, Any] | None = None,
    *,
    retry_total: int = DEFAULT_RETRY_TOTAL,
    connection_timeout: float = CONNECT_TIMEOUT,
    read_timeout: float = READ_TIMEOUT,
) -> Any:
    """Managed HSM local RBAC (``list_role_assignments``, ``list_role_definitions``), read-only."""
    from azure.keyvault.administration import KeyVaultAccessControlClient

    client = KeyVaultAccessControlClient(
        hsm_url, credential, **_common_kwargs(transport, retry_total, connection_timeout, read_timeout)
    )
    return _checked(client)


class TenantClient:
    """The subscriptions a credential sees, the descendants of a management group and the resources of one
    type in a subscription, as ARM JSON.

    All are paged ARM list calls returning ``{"value": [...], "nextLink": URL}``; the pages are followed
    lazily (``ItemPaged``). Errors are azure-core's, as the SDK clients raise them: 401
    ``ClientAuthenticationError``, 404 ``ResourceNotFoundError``, others ``HttpResponseError``.
    """

    def __init__(self, pipeline_client: Any, settings: CloudSettings) -> None:
        self._client = pipeline_client
        self._settings = settings

    def list_subscriptions(self) -> ItemPaged[dict[str, Any]]:
        """``GET /subscriptions``: ``{"subscriptionId", "displayName", "state", "tenantId", ...}`` each."""
        return self._paged(f"{self._settings.arm_endpoint}/subscriptions", SUBSCRIPTIONS_API_VERSION)

    def list_management_group_descendants(self, group_id: str) -> ItemPaged[dict[str, Any]]:
        """Every management group and subscription under ``group_id``, at any depth:
        ``{"id", "name", "type", "properties": {"displayName", "parent": {"id"}}}`` each."""
        url = (
            f"{self._settings.arm_endpoint}/providers/Microsoft.Management/managementGroups/"
            f"{quote(group_id, safe='')}/descendants"
        )
        return self._paged(url, MANAGEMENT_GROUPS_API_VERSION)

    def list_resources(
        self, subscription_id: str, resource_type: str, api_version: str
    ) -> ItemPaged[dict[str, Any]]:
        """``GET /subscriptions/S/providers/{resource_type}``: every resource of one ARM type in the
        subscription, as the resource provider returns it (``properties`` and ``identity`` included)."""
        url = (
            f"{self._settings.arm_endpoint}/subscriptions/{quote(subscription_id, safe='')}"
            f"/providers/{resource_type}"
        )
        return self._paged(url, api_version)

    def subscriptions_under(self, group_id: str) -> list[str]:
        """Subscription ids under ``group_id`` (descendants of subscription type), each once, in order."""
        found: dict[str, None] = {}
        for item in self.list_management_group_descendants(group_id):
            kind = str(item.get("type") or "").lower()
            if kind.endswith("/subscriptions") or str(item.get("id") or "").lower().startswith(
                "/subscriptions/"
            ):
                found.setdefault(str(item.get("name")), None)
        return list(found)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> TenantClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _paged(self, url: str, api_version: str) -> ItemPaged[dict[str, Any]]:
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ResourceNotFoundError,
            map_error,
        )
        from azure.core.paging import ItemPaged
        from azure.core.rest import HttpRequest
        from azure.mgmt.core.exceptions import ARMErrorFormat

        def get_next(next_link: str | None = None) -> Any:
            # nextLink is a full URL with its own api-version and $skiptoken: follow it as given.
            if next_link is None:
                request = HttpRequest("GET", url, params={"api-version": api_version})
            else:
                request = HttpRequest("GET", next_link)
            response = self._client.send_request(request)
            if response.status_code != 200:
                map_error(
                    status_code=response.status_code,
                    response=response,
                    error_map={401: ClientAuthenticationError, 404: ResourceNotFoundError},
                )
                raise HttpResponseError(response=response, error_format=ARMErrorFormat)
            return response

        def extract_data(response: Any) -> tuple[str | None, Iterator[dict[str, Any]]]:
            body = response.json()
            return body.get("nextLink") or None, iter(body.get("value") or [])

        return ItemPaged(get_next, extract_data)


def subscription_client(
    credential: TokenCredential,
    cloud: str | CloudSettings = "public",
    transport: HttpTransport[Any, Any] | None = None,
    *,
    retry_total: int = DEFAULT_RETRY_TOTAL,
    connection_timeout: float = CONNECT_TIMEOUT,
    read_timeout: float = READ_TIMEOUT,
) -> TenantClient:
    """Subscriptions and management group descendants (``TenantClient``), read-only like the others."""
    from azure.core import PipelineClient
    from azure.core.pipeline import policies
    from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy, ARMHttpLoggingPolicy

    settings = cloud_settings(cloud)
    kwargs = _common_kwargs(transport, retry_total, connection_timeout, read_timeout)
    # The policies a generated ARM client has, minus resource provider auto-registration (a POST).
    pipeline_policies = [
        policies.RequestIdPolicy(),
        policies.HeadersPolicy(),
        policies.UserAgentPolicy(user_agent=kwargs.pop("user_agent"), sdk_moniker="keyaudit-arm"),
        policies.ProxyPolicy(),
        policies.ContentDecodePolicy(),
        policies.RedirectPolicy(),
        policies.RetryPolicy(retry_total=kwargs.pop("retry_total")),
        ARMChallengeAuthenticationPolicy(credential, settings.arm_scope),
        policies.CustomHookPolicy(),
        policies.NetworkTraceLoggingPolicy(),
        policies.DistributedTracingPolicy(),
        policies.SensitiveHeaderCleanupPolicy(),
        ARMHttpLoggingPolicy(),
    ]
    pipeline_client = PipelineClient(settings.arm_endpoint, policies=pipeline_policies, **kwargs)
    tenant = TenantClient(pipeline_client, settings)
    _checked(tenant)
    return tenant
