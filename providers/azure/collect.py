"""Collect (I/O only): read Key Vaults, Managed HSMs, their keys, RBAC and diagnostics, read-only.

Per subscription (``--concurrency`` at a time): the vaults and Managed HSMs (Azure Resource Manager), every
role assignment that applies to the subscription (those of its management groups, resource groups,
vaults and keys included) with the definitions of the roles they use (each read once per scan), and the
diagnostic settings of each vault. Per vault, concurrently: its keys through the data plane (list, then
``get_key`` and the rotation policy of each key, concurrently); when the data plane refuses the scanner
(firewall, private endpoint, no data-plane role) or cannot be reached, the keys are listed through ARM
instead, so they are still known, and what only the data plane tells stays unknown. Per Managed HSM,
its local role assignments and definitions too. Per subscription, alongside: its AI resources (Azure
OpenAI / AI services accounts, Machine Learning workspaces, AI Search services; ``providers.azure.ai``), one
list each, with their encryption settings and managed identities.

Nothing here interprets what it reads: responses are kept as REST JSON (camelCase) and ``normalise`` turns
them into the inventory. Every failure becomes a CollectionError; one subscription or vault failing never
stops the others. The Azure SDKs are imported inside functions only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from providers.azure import ai, clients
from providers.azure.readonly import ReadOnlyViolation
from providers.recorder import Recorder
from scanner.inventory import CollectionError, ErrorClass, Provider
from scanner.progress import Progress
from scanner.shard import Shard, owned

T = TypeVar("T")
_INACTIVE_STATES = frozenset({"Disabled", "Deleted"})


@dataclass
class AzureOptions:
    subscriptions: tuple[str, ...] = ()
    management_group: str | None = None
    cloud: str = "public"
    concurrency: int = 8
    credential: Any = None  # azure.core TokenCredential; None: DefaultAzureCredential for the cloud
    transport: Any = None  # an injected azure-core transport (tests, keyaudit demo); None: the real network
    retry_total: int = clients.DEFAULT_RETRY_TOTAL
    shard: Shard | None = None  # --shard I/N: only the subscriptions this job owns


@dataclass
class RawKey:
    name: str
    key: dict[str, Any] | None = None  # data plane: get_key (JSON Web Key, attributes, tags, policy)
    rotation_policy: dict[str, Any] | None = None  # None: not read
    arm: dict[str, Any] | None = None  # ARM keys.list entry, when the data plane was not readable
    listed: dict[str, Any] | None = None  # the data plane's list entry (attributes, tags), a fallback
    failed: set[str] = field(default_factory=set)  # APIs that failed for this key


@dataclass
class RawStore:
    kind: str  # "vault" or "managed_hsm"
    resource: dict[str, Any]  # the ARM resource (REST JSON)
    keys: list[RawKey] | None = None  # None: neither the data plane nor ARM listed them
    data_plane: bool = False  # the keys were read through the data plane
    # Soft-deleted keys waiting for their purge (None: not read).
    deleted_keys: list[dict[str, Any]] | None = None
    diagnostic_settings: list[dict[str, Any]] | None = None
    # Managed HSM local RBAC (None: not read).
    local_role_assignments: list[dict[str, Any]] | None = None
    local_role_definitions: list[dict[str, Any]] | None = None

    @property
    def uid(self) -> str:
        return str(self.resource.get("id", ""))


@dataclass
class RawSubscription:
    subscription_id: str
    display_name: str | None = None
    state: str | None = None
    tenant_id: str | None = None
    parents: list[str] = field(default_factory=list)  # management groups, nearest first (when known)
    stores: list[RawStore] | None = None  # None: the vaults could not be listed
    hsms_listed: bool = False
    vaults_listed: bool = False
    role_assignments: list[dict[str, Any]] | None = None
    # ARM type (providers.azure.ai.RESOURCE_TYPES) -> its resources as REST JSON; None: the list failed.
    ai_resources: dict[str, list[dict[str, Any]] | None] = field(default_factory=dict)


@dataclass
class RawAzureEstate:
    subscriptions: list[RawSubscription]
    errors: list[CollectionError]
    api_calls: Any = None  # Counter[str]
    # Role definition id (lowercase) -> its REST JSON (``properties.permissions``), read once per scan.
    role_definitions: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Role definition id (lowercase) -> why it could not be read (the normaliser reports it per scope).
    role_errors: dict[str, tuple[ErrorClass, str]] = field(default_factory=dict)
    read_at: datetime | None = None


class SharedTokens:
    """One token per (scopes, tenant) for every client of the scan.

    Each Azure client caches its token in its own pipeline, and the scan builds clients per subscription
    and per vault; some credentials (Azure CLI, Azure PowerShell) do not cache at all and start a
    process per request. Tokens are reused until five minutes before they expire; claims challenges
    (continuous access evaluation) always go to the credential.
    """

    _MARGIN_SECONDS = 300

    def __init__(self, credential: Any) -> None:
        self._credential = credential
        self._lock = threading.Lock()
        self._tokens: dict[tuple[Any, ...], Any] = {}

    def get_token(
        self, *scopes: str, claims: str | None = None, tenant_id: str | None = None, **kwargs: Any
    ) -> Any:
        import time

        extra = {"tenant_id": tenant_id} if tenant_id else {}
        if claims:
            return self._credential.get_token(*scopes, claims=claims, **extra, **kwargs)
        key = (scopes, tenant_id, bool(kwargs.get("enable_cae")))
        with self._lock:
            token = self._tokens.get(key)
        if token is not None and token.expires_on - self._MARGIN_SECONDS > time.time():
            return token
        token = self._credential.get_token(*scopes, **extra, **kwargs)
        with self._lock:
            self._tokens[key] = token
        return token

    def close(self) -> None:
        close = getattr(self._credential, "close", None)
        if close is not None:
            close()


def classify(exc: BaseException) -> ErrorClass:
    """The error class of an azure-core / azure-identity exception."""
    from azure.core import exceptions as az

    if isinstance(exc, ReadOnlyViolation):  # a refused resource-provider registration
        return ErrorClass.ACCESS_DENIED
    if isinstance(exc, az.ClientAuthenticationError):
        return ErrorClass.ACCESS_DENIED
    if _is_credential_error(exc):
        return ErrorClass.ACCESS_DENIED
    if isinstance(exc, az.ResourceNotFoundError):
        return ErrorClass.NOT_FOUND
    # Both are HttpResponseError subclasses: a body cut short, a body that is not JSON.
    if isinstance(exc, az.IncompleteReadError):
        return ErrorClass.NETWORK
    if isinstance(exc, az.DecodeError):
        return ErrorClass.MALFORMED_RESPONSE
    if isinstance(exc, az.HttpResponseError):
        status = exc.status_code or 0
        if status in (401, 403):
            return ErrorClass.ACCESS_DENIED
        if status == 429:
            return ErrorClass.THROTTLED
        if status == 404:
            return ErrorClass.NOT_FOUND
        return ErrorClass.SERVICE_ERROR
    if isinstance(exc, az.ServiceRequestTimeoutError | az.ServiceResponseTimeoutError | TimeoutError):
        return ErrorClass.TIMEOUT
    if isinstance(exc, az.ServiceRequestError | az.ServiceResponseError | ConnectionError):
        return ErrorClass.NETWORK
    if isinstance(exc, az.DecodeError | ValueError | KeyError | TypeError):
        return ErrorClass.MALFORMED_RESPONSE
    return ErrorClass.OTHER


def _is_provider_registration(exc: BaseException) -> bool:
    """The read-only guard refused azure-mgmt-core's automatic resource-provider registration."""
    return "/register" in str(exc) and "/providers/" in str(exc)


def _never_registered(exc: BaseException) -> bool:
    """ARM answered 409 MissingSubscriptionRegistration: the SDK clients then try to register the resource
    provider (refused by the read-only guard), the plain ARM client raises the error itself."""
    if isinstance(exc, ReadOnlyViolation):
        return _is_provider_registration(exc)
    error = getattr(exc, "error", None)
    return str(getattr(error, "code", "") or "").lower() == "missingsubscriptionregistration"


def _is_credential_error(exc: BaseException) -> bool:
    try:
        from azure.identity import CredentialUnavailableError
    except ImportError:  # pragma: no cover - azure-identity is a dependency
        return False
    return isinstance(exc, CredentialUnavailableError)


def describe(exc: BaseException) -> str:
    """One line: the HTTP status, Azure's error code (and inner code) and message; never a token."""
    from azure.core import exceptions as az

    if isinstance(exc, az.HttpResponseError):
        error = getattr(exc, "error", None)
        code = getattr(error, "code", None)
        inner = _inner_code(exc)
        message = getattr(error, "message", None) or str(exc.message or exc.reason or "")
        parts = [f"{type(exc).__name__} (HTTP {exc.status_code})"]
        if code:
            parts.append(f"{code}{'/' + inner if inner and inner != code else ''}")
        return ": ".join([*parts, " ".join(str(message).split())])[:500]
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:500]


def _inner_code(exc: Any) -> str | None:
    """Key Vault's ``innererror.code`` (e.g. ForbiddenByFirewall), from the response body."""
    response = getattr(exc, "response", None)
    if response is None:
        return None
    try:
        body = response.json()
    except Exception:  # the body is not JSON: no inner code
        return None
    inner = (body.get("error") or {}).get("innererror") or {} if isinstance(body, dict) else {}
    code = inner.get("code") if isinstance(inner, dict) else None
    return str(code) if code else None


def rest(model: Any) -> dict[str, Any]:
    """An azure-mgmt model as its REST JSON (camelCase, read-only fields kept); dicts pass through.

    msrest-generated models (azure-mgmt-authorization, -monitor) serialize; the newer generated models
    (azure-mgmt-keyvault 14) are mappings over the REST JSON already.
    """
    if isinstance(model, dict):
        return model
    if hasattr(model, "serialize"):
        return dict(model.serialize(keep_readonly=True))
    if hasattr(model, "as_dict"):
        return dict(model.as_dict())
    return dict(model)


class AzureCollector:
    def __init__(self, options: AzureOptions, progress: Progress) -> None:
        self.options = options
        self.progress = progress
        self.recorder = Recorder(Provider.AZURE, classify, describe)
        self.settings = clients.cloud_settings(options.cloud)
        self._credential = options.credential
        self._roles_lock = threading.Lock()
        self._role_locks: dict[str, threading.Lock] = {}
        self.role_definitions: dict[str, dict[str, Any]] = {}
        self.role_errors: dict[str, tuple[ErrorClass, str]] = {}
        workers = max(1, options.concurrency)
        # Three pools, one per level, so a task never waits on a task queued behind it in its own pool.
        self._vault_pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="keyaudit-az-vault")
        self._key_pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="keyaudit-az-key")

    # ------------------------------------------------------------------ plumbing
    @property
    def credential(self) -> Any:
        if self._credential is None:
            self._credential = clients.default_credential(self.settings)
        if not isinstance(self._credential, SharedTokens):
            self._credential = SharedTokens(self._credential)
        return self._credential

    def _client_kwargs(self) -> dict[str, Any]:
        return {"transport": self.options.transport, "retry_total": self.options.retry_total}

    def call(self, scope: str, api: str, fn: Callable[[], T], resource: str | None = None) -> T | None:
        """Run one API call; any failure is recorded (never raised) and gives None."""
        self.recorder.count(api)
        try:
            return fn()
        except ReadOnlyViolation as exc:
            if not _is_provider_registration(exc):
                raise  # a defect in keyaudit, never a coverage gap
            # ARM answered 409 MissingSubscriptionRegistration and azure-mgmt-core tried to register the
            # resource provider (a POST): refused, so what needed it is unknown for this subscription.
            self.recorder.error(scope, None, api, exc, resource)
            return None
        except Exception as exc:  # recorded as a coverage gap (UNKNOWN), never turned into a pass
            self.recorder.error(scope, None, api, exc, resource)
            return None

    def listed(
        self, scope: str, api: str, pager: Callable[[], Iterable[Any]], resource: str | None = None
    ) -> Any:
        """Every item of a paged list as REST JSON; None when it failed."""
        return self.call(scope, api, lambda: [rest(item) for item in pager()], resource)

    # ------------------------------------------------------------------ scopes
    def collect(self) -> RawAzureEstate:
        started = datetime.now().astimezone()
        try:
            subscriptions = self._subscriptions()
            task = self.progress.task("Azure subscriptions", total=len(subscriptions))

            def one(raw: RawSubscription) -> RawSubscription:
                try:
                    self._subscription(raw)
                except ReadOnlyViolation:
                    raise
                except Exception as exc:  # a defect must not stop the other subscriptions: record it
                    self.recorder.error(raw.subscription_id, None, "keyaudit.collect", exc, None)
                finally:
                    task.advance()
                return raw

            with ThreadPoolExecutor(
                max_workers=max(1, self.options.concurrency), thread_name_prefix="keyaudit-az-sub"
            ) as pool:
                done = list(pool.map(one, subscriptions))
        finally:
            self._vault_pool.shutdown(wait=True)
            self._key_pool.shutdown(wait=True)
        return RawAzureEstate(
            subscriptions=done,
            errors=self.recorder.errors,
            api_calls=self.recorder.calls,
            role_definitions=self.role_definitions,
            role_errors=self.role_errors,
            read_at=started,
        )

    def _subscriptions(self) -> list[RawSubscription]:
        """--subscription as given, else those under --management-group, else every one visible."""
        tenant = clients.subscription_client(self.credential, self.settings, **self._client_kwargs())
        scope = self.options.management_group or "tenant"
        visible = self.call(
            scope, "Microsoft.Resources/subscriptions/read", lambda: list(tenant.list_subscriptions())
        )
        by_id = {str(s.get("subscriptionId", "")).lower(): s for s in visible or ()}
        parents: dict[str, list[str]] = {}
        wanted: list[str]
        if self.options.subscriptions:
            wanted = list(dict.fromkeys(self.options.subscriptions))
        elif self.options.management_group:
            group = self.options.management_group
            descendants = self.call(
                group,
                "Microsoft.Management/managementGroups/descendants/read",
                lambda: list(tenant.list_management_group_descendants(group)),
                group,
            )
            wanted, parents = _subscriptions_under(descendants or [], group)
        else:
            # Warned and PastDue subscriptions still run resources: only Disabled and Deleted ones are skipped.
            wanted = [
                str(s["subscriptionId"])
                for s in visible or ()
                if s.get("subscriptionId") and str(s.get("state", "Enabled")) not in _INACTIVE_STATES
            ]
        found = []
        for subscription_id in (s for s in wanted if owned(self.options.shard, "azure", s)):
            info = by_id.get(subscription_id.lower(), {})
            found.append(
                RawSubscription(
                    subscription_id=subscription_id,
                    display_name=info.get("displayName"),
                    state=info.get("state"),
                    tenant_id=info.get("tenantId"),
                    parents=parents.get(subscription_id.lower(), []),
                )
            )
        return found

    def _subscription(self, raw: RawSubscription) -> None:
        sid = raw.subscription_id
        kw = self._client_kwargs()
        keyvault = clients.keyvault_mgmt_client(sid, self.credential, self.settings, **kw)
        authorization = clients.authorization_client(sid, self.credential, self.settings, **kw)
        # The AI lists need nothing read here: they run while the vaults are read (their tasks wait on nothing).
        ai_lists = {
            native_type: self._vault_pool.submit(self._ai_list, sid, native_type)
            for native_type in ai.RESOURCE_TYPES
        }
        vaults = self.listed(sid, "Microsoft.KeyVault/vaults/read", keyvault.vaults.list_by_subscription)
        hsms = self.listed(
            sid, "Microsoft.KeyVault/managedHSMs/read", keyvault.managed_hsms.list_by_subscription
        )
        raw.hsms_listed = hsms is not None
        raw.vaults_listed = vaults is not None
        if vaults is not None or hsms is not None:
            raw.stores = [RawStore(kind="vault", resource=v) for v in vaults or ()]
            raw.stores += [RawStore(kind="managed_hsm", resource=h) for h in hsms or ()]
        raw.role_assignments = self.listed(
            sid,
            "Microsoft.Authorization/roleAssignments/read",
            authorization.role_assignments.list_for_subscription,
        )
        for assignment in raw.role_assignments or ():
            definition = (assignment.get("properties") or {}).get("roleDefinitionId")
            if definition:
                self._role_definition(sid, authorization, str(definition))
        monitor = clients.monitor_client(sid, self.credential, self.settings, **kw)
        futures = [
            self._vault_pool.submit(self._store, sid, store, keyvault, monitor) for store in raw.stores or ()
        ]
        for future in futures:
            future.result()
        raw.ai_resources = {native_type: future.result() for native_type, future in ai_lists.items()}

    def _ai_list(self, sid: str, native_type: str) -> list[dict[str, Any]] | None:
        """One AI resource type of a subscription as REST JSON; None when the list failed (recorded)."""
        kind = ai.RESOURCE_TYPES[native_type]
        kw = self._client_kwargs()
        self.recorder.count(kind.read_permission)
        try:
            if kind.api_version is None:  # Cognitive Services accounts, through their SDK
                client = clients.cognitive_services_client(sid, self.credential, self.settings, **kw)
                items: Iterable[Any] = client.accounts.list()
            else:
                arm = clients.subscription_client(self.credential, self.settings, **kw)
                items = arm.list_resources(sid, native_type, kind.api_version)
            return [rest(item) for item in items]
        except Exception as exc:
            if _never_registered(exc):
                # A subscription that never registered the resource provider holds none of its resources
                # (Azure refuses to unregister one while resources of it exist): an empty list, not a gap.
                return []
            if isinstance(exc, ReadOnlyViolation):
                raise  # a defect in keyaudit, never a coverage gap
            self.recorder.error(sid, None, kind.read_permission, exc, None)
            return None

    def _role_definition(self, sid: str, authorization: Any, definition_id: str) -> None:
        """Read a role definition once per scan (subscriptions share the built-in and custom roles)."""
        # Keyed by GUID: a built-in role has one id per subscription but one definition.
        key = definition_id.strip().rstrip("/").rsplit("/", 1)[-1].lower()
        with self._roles_lock:
            lock = self._role_locks.setdefault(key, threading.Lock())
        with lock:
            if key in self.role_definitions or key in self.role_errors:
                return
            self.recorder.count("Microsoft.Authorization/roleDefinitions/read")
            try:
                found = rest(authorization.role_definitions.get_by_id(definition_id))
            except ReadOnlyViolation:
                raise
            except Exception as exc:  # reported by the normaliser for every scope that uses the role
                self.role_errors[key] = (classify(exc), describe(exc))
            else:
                self.role_definitions[key] = found

    # ------------------------------------------------------------------ vaults and HSMs
    def _store(self, sid: str, store: RawStore, keyvault: Any, monitor: Any) -> None:
        uid = store.uid
        store.diagnostic_settings = self.listed(
            sid,
            "Microsoft.Insights/diagnosticSettings/read",
            lambda: monitor.diagnostic_settings.list(resource_uri=uid),
            uid,
        )
        properties = store.resource.get("properties") or {}
        url = properties.get("vaultUri") if store.kind == "vault" else properties.get("hsmUri")
        if not url:
            name = str(store.resource.get("name", ""))
            url = (
                self.settings.vault_url(name)
                if store.kind == "vault"
                else self.settings.managed_hsm_url(name)
            )
        data_client = clients.key_client(str(url), self.credential, **self._client_kwargs())
        store.keys = self._data_plane_keys(sid, store, data_client)
        if store.keys is not None:
            store.data_plane = True
        elif store.kind == "vault":
            store.keys = self._arm_keys(sid, store, keyvault)
        if store.kind == "managed_hsm":
            self._local_rbac(sid, store, str(url))

    def _data_plane_keys(self, sid: str, store: RawStore, data_client: Any) -> list[RawKey] | None:
        listed = self.call(
            sid,
            "Microsoft.KeyVault/vaults/keys/read",
            lambda: [_properties_json(p) for p in data_client.list_properties_of_keys()],
            store.uid,
        )
        if listed is None:
            return None
        keys = [RawKey(name=str(item["name"]), listed=item) for item in listed if item.get("name")]
        futures = [self._key_pool.submit(self._data_plane_key, sid, store, data_client, key) for key in keys]
        deleted = self.call(
            sid,
            "Microsoft.KeyVault/vaults/deletedKeys/read",
            lambda: [_deleted_json(d) for d in data_client.list_deleted_keys()],
            store.uid,
        )
        for future in futures:
            future.result()
        store.deleted_keys = deleted
        return keys

    def _data_plane_key(self, sid: str, store: RawStore, data_client: Any, key: RawKey) -> None:
        resource = f"{store.uid}/keys/{key.name}"
        key.key = self.call(
            sid,
            "Microsoft.KeyVault/vaults/keys/read",
            lambda: _key_json(data_client.get_key(key.name)),
            resource,
        )
        if key.key is None:
            key.failed.add("get_key")
        key.rotation_policy = self.call(
            sid,
            "Microsoft.KeyVault/vaults/keyrotationpolicies/read",
            lambda: _rotation_policy_json(data_client.get_key_rotation_policy(key.name)),
            resource,
        )
        if key.rotation_policy is None:
            key.failed.add("get_key_rotation_policy")

    def _arm_keys(self, sid: str, store: RawStore, keyvault: Any) -> list[RawKey] | None:
        """The vault's keys as ARM lists them (Reader is enough): names, types and attributes."""
        resource_group, name = _resource_group_and_name(store.uid)
        if not resource_group:
            return None
        listed = self.listed(
            sid,
            "Microsoft.KeyVault/vaults/keys/read (ARM)",
            lambda: keyvault.keys.list(resource_group_name=resource_group, vault_name=name),
            store.uid,
        )
        if listed is None:
            return None
        return [RawKey(name=str(item.get("name", "")), arm=item) for item in listed if item.get("name")]

    def _local_rbac(self, sid: str, store: RawStore, url: str) -> None:
        from azure.keyvault.administration import KeyVaultRoleScope

        client = clients.access_control_client(url, self.credential, **self._client_kwargs())
        store.local_role_assignments = self.call(
            sid,
            "Microsoft.KeyVault/managedHsm/roleAssignments/read/action",
            lambda: [
                _local_assignment_json(a) for a in client.list_role_assignments(KeyVaultRoleScope.GLOBAL)
            ],
            store.uid,
        )
        store.local_role_definitions = self.call(
            sid,
            "Microsoft.KeyVault/managedHsm/roleDefinitions/read/action",
            lambda: [
                _local_definition_json(d) for d in client.list_role_definitions(KeyVaultRoleScope.GLOBAL)
            ],
            store.uid,
        )


# ---------------------------------------------------------------------------------------------- helpers
def _subscriptions_under(
    descendants: list[dict[str, Any]], group: str
) -> tuple[list[str], dict[str, list[str]]]:
    """Subscription ids below a management group, and each one's management-group chain (nearest first)."""
    parent_of: dict[str, str] = {}
    subscriptions: list[str] = []
    for item in descendants:
        item_id = str(item.get("id", ""))
        parent = str(((item.get("properties") or {}).get("parent") or {}).get("id") or "")
        kind = str(item.get("type", "")).lower()
        if kind.endswith("/subscriptions"):
            sid = str(item.get("name") or item_id.rsplit("/", 1)[-1])
            subscriptions.append(sid)
            parent_of[sid.lower()] = parent
        else:
            parent_of[item_id.lower()] = parent
    root = f"/providers/Microsoft.Management/managementGroups/{group}"
    chains: dict[str, list[str]] = {}
    for sid in subscriptions:
        chain: list[str] = []
        current = parent_of.get(sid.lower(), "")
        while current and current not in chain:
            chain.append(current)
            if current.lower() == root.lower():
                break
            current = parent_of.get(current.lower(), "")
        chains[sid.lower()] = chain
    return list(dict.fromkeys(subscriptions)), chains


def _resource_group_and_name(resource_id: str) -> tuple[str | None, str]:
    parts = resource_id.strip("/").split("/")
    lowered = [p.lower() for p in parts]
    group = parts[lowered.index("resourcegroups") + 1] if "resourcegroups" in lowered else None
    return group, parts[-1] if parts else ""


def _value(value: Any) -> str | None:
    """An SDK enum (or plain string) as its wire value: ``KeyType.RSA_HSM`` -> ``RSA-HSM``."""
    if value is None or value == "":
        return None
    return str(getattr(value, "value", value))


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


def _key_json(key: Any) -> dict[str, Any]:
    """A KeyVaultKey (azure-keyvault-keys) as plain data: JSON Web Key parameters, attributes, tags."""
    jwk = key.key
    props = key.properties
    if props.enabled is None:
        # Key Vault always sends a key's attributes (enabled, created, ...): without them the answer is
        # malformed, and its state must be unknown with a coverage error, not silently absent.
        raise ValueError(f"get_key answered without the attributes of {key.name}")
    n = getattr(jwk, "n", None)
    release = getattr(props, "release_policy", None)
    return {
        "id": key.id,
        "name": key.name,
        "kty": _value(getattr(jwk, "kty", None) or key.key_type),
        "n_bytes": len(n) if n else None,
        "crv": _value(getattr(jwk, "crv", None)),
        "key_ops": [str(_value(op)) for op in (key.key_operations or ())],
        "enabled": props.enabled,
        "not_before": _iso(props.not_before),
        "expires": _iso(props.expires_on),
        "created": _iso(props.created_on),
        "updated": _iso(props.updated_on),
        "recovery_level": props.recovery_level,
        "recoverable_days": props.recoverable_days,
        "exportable": getattr(props, "exportable", None),
        "release_policy": release is not None,
        "managed": props.managed,
        "tags": dict(props.tags or {}),
        "version": props.version,
    }


def _properties_json(props: Any) -> dict[str, Any]:
    """KeyProperties from a listing: what is known of a key even when ``get_key`` fails."""
    return {
        "name": props.name,
        "enabled": props.enabled,
        "not_before": _iso(props.not_before),
        "expires": _iso(props.expires_on),
        "created": _iso(props.created_on),
        "managed": props.managed,
        "tags": dict(props.tags or {}),
    }


def _deleted_json(key: Any) -> dict[str, Any]:
    """A soft-deleted key (DeletedKey): when it was deleted and when it will be purged."""
    props = key.properties
    return {
        "name": key.name,
        "deleted": _iso(key.deleted_date),
        "scheduled_purge": _iso(key.scheduled_purge_date),
        "enabled": props.enabled,
        "expires": _iso(props.expires_on),
        "created": _iso(props.created_on),
        "managed": props.managed,
        "tags": dict(props.tags or {}),
    }


def _rotation_policy_json(policy: Any) -> dict[str, Any]:
    return {
        "id": policy.id,
        "expires_in": policy.expires_in,
        "lifetime_actions": [
            {
                "action": _value(action.action),
                "time_after_create": action.time_after_create,
                "time_before_expiry": action.time_before_expiry,
            }
            for action in policy.lifetime_actions or ()
        ],
    }


def _local_assignment_json(assignment: Any) -> dict[str, Any]:
    props = assignment.properties
    return {
        "id": assignment.role_assignment_id,
        "principal_id": props.principal_id,
        "role_definition_id": props.role_definition_id,
        "scope": _value(props.scope) or "/",
    }


def _local_definition_json(definition: Any) -> dict[str, Any]:
    return {
        "id": definition.id,
        "role_name": definition.role_name,
        "permissions": [
            {
                "actions": list(p.actions or ()),
                "notActions": list(p.not_actions or ()),
                "dataActions": [_value(a) for a in p.data_actions or ()],
                "notDataActions": [_value(a) for a in p.not_data_actions or ()],
            }
            for p in definition.permissions or ()
        ],
    }
