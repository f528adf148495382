"""Azure AI workloads (pure, no SDK import): the one table of what an AI resource is on Azure, which AI
service it belongs to, where its customer-managed key is named, and which identities act for it.

Three ARM resource types, each listed once per subscription (``RESOURCE_TYPES``):

* ``Microsoft.CognitiveServices/accounts``: Azure OpenAI (kind ``OpenAI``) and every other AI services kind
  (``AIServices``, ``FormRecognizer``, ``TextAnalytics``, ``SpeechServices``...). ``properties.encryption``:
  ``keySource`` ``Microsoft.KeyVault`` names a customer-managed key in ``keyVaultProperties`` {keyVaultUri,
  keyName, keyVersion (empty: the latest version, rotated automatically), identityClientId (the
  user-assigned identity that reads the key; absent: the system-assigned one)}; ``Microsoft.CognitiveServices``,
  or no ``encryption`` at all, is Microsoft-managed.
* ``Microsoft.MachineLearningServices/workspaces``: Azure Machine Learning workspaces and AI Foundry hubs and
  projects. ``properties.encryption`` {status Enabled/Disabled, keyVaultProperties {keyVaultArmId,
  keyIdentifier (the key URL, often with a version), identityClientId}, identity {userAssignedIdentity}}; no
  ``encryption`` is Microsoft-managed. A project (kind ``Project``) without its own encryption is encrypted
  with its hub's key (``properties.hubResourceId``).
* ``Microsoft.Search/searchServices``: Azure AI Search sets customer-managed keys per index and synonym map
  on its data plane, which keyaudit does not read; the service tells only whether it enforces them
  (``properties.encryptionWithCmk`` {enforcement, encryptionComplianceStatus}). Enforced and compliant:
  customer-managed, key not named (UNKNOWN for the rules, never a pass); enforced and non-compliant: some of
  its data is under Microsoft-managed keys; not enforced: not known.

Keys are spelled as the inventory spells Azure keys, ``{vault or HSM ARM id}/keys/{name}`` (no version):
found through the vault's URI among the stores the scan read; a key in a vault the scan did not read keeps
the reference it was given (``https://VAULT.vault.azure.net/keys/NAME``, or the vault's ARM id + the name).

Every managed identity of these resources (``identity.principalId``, each
``identity.userAssignedIdentities[*].principalId``) acts for its AI service: a role assignment or access
policy granting one of them a key is AI use of that key (``Principal.ai_service``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from scanner.inventory import Encryption, ProtectedResource, Provider, ResourceAspect

__all__ = [
    "COGNITIVE_ACCOUNTS",
    "COGNITIVE_KINDS",
    "ML_WORKSPACES",
    "RESOURCE_TYPES",
    "SEARCH_SERVICES",
    "AiResourceType",
    "KeyStoreIndex",
    "normalise_ai",
]

COGNITIVE_ACCOUNTS = "Microsoft.CognitiveServices/accounts"
ML_WORKSPACES = "Microsoft.MachineLearningServices/workspaces"
SEARCH_SERVICES = "Microsoft.Search/searchServices"


@dataclass(frozen=True)
class AiResourceType:
    native_type: str  # the ARM resource type
    service: str  # normalised (scanner.inventory.AI_SERVICES)
    read_permission: str  # the ARM action listing it needs (and the API name in counts and errors)
    api_version: str | None  # the api-version of the generic ARM list; None: listed through its own SDK
    key_field: str  # where the resource names its key (evidence)


RESOURCE_TYPES: Mapping[str, AiResourceType] = {
    t.native_type: t
    for t in (
        # azure-mgmt-cognitiveservices (accounts.list).
        AiResourceType(
            COGNITIVE_ACCOUNTS,
            "azure_ai_services",
            "Microsoft.CognitiveServices/accounts/read",
            None,
            "properties.encryption.keyVaultProperties",
        ),
        # A generic ARM list (one paged GET per subscription): azure-mgmt-machinelearningservices stops at
        # api-version 2020-08-01, before hubs, projects and the encryption identity.
        AiResourceType(
            ML_WORKSPACES,
            "azure_machine_learning",
            "Microsoft.MachineLearningServices/workspaces/read",
            "2024-10-01",
            "properties.encryption.keyVaultProperties",
        ),
        AiResourceType(
            SEARCH_SERVICES,
            "azure_ai_search",
            "Microsoft.Search/searchServices/read",
            "2023-11-01",
            "properties.encryptionWithCmk",
        ),
    )
}

# Cognitive Services account kind (lower case) -> AI service; every other kind is azure_ai_services.
COGNITIVE_KINDS: Mapping[str, str] = {"openai": "azure_openai"}

_CUSTOMER_KEY_SOURCE = "microsoft.keyvault"
_MICROSOFT_KEY_SOURCE = "microsoft.cognitiveservices"


def _host(url: Any) -> str:
    if not isinstance(url, str) or not url:
        return ""
    return (urlsplit(url).hostname or "").lower()


def _parse_key_url(url: Any) -> tuple[str, str, str] | None:
    """``https://VAULT/keys/NAME[/VERSION]`` -> (vault URL, name, version or "")."""
    if not isinstance(url, str):
        return None
    parts = urlsplit(url.strip())
    segments = [s for s in parts.path.split("/") if s]
    if not parts.hostname or len(segments) < 2 or segments[0].lower() != "keys":
        return None
    return f"https://{parts.netloc}", segments[1], segments[2] if len(segments) > 2 else ""


class KeyStoreIndex:
    """The vaults and Managed HSMs the scan read, to spell a key reference as the inventory's ``Key.uid``."""

    def __init__(self, stores: Iterable[Mapping[str, Any]], key_uids: Iterable[str] = ()) -> None:
        self._by_id: dict[str, str] = {}
        self._by_host: dict[str, str] = {}
        for resource in stores:
            uid = str(resource.get("id") or "")
            if not uid:
                continue
            self._by_id[uid.lower()] = uid
            props = resource.get("properties") or {}
            for url in (props.get("vaultUri"), props.get("hsmUri")):
                if _host(url):
                    self._by_host[_host(url)] = uid
        # Key names are case-insensitive: a reference in another case is still the inventory's key.
        self._keys = {uid.lower(): uid for uid in key_uids}

    def _canonical(self, uid: str) -> str:
        return self._keys.get(uid.lower(), uid)

    def from_url(self, vault_url: str, key_name: str) -> str:
        store = self._by_host.get(_host(vault_url))
        if store is None:  # a vault this scan did not read: the reference as given, without a version
            return f"{vault_url.rstrip('/')}/keys/{key_name}"
        return self._canonical(f"{store}/keys/{key_name}")

    def from_arm(self, vault_id: str, key_name: str) -> str:
        vault = vault_id.strip().rstrip("/")
        return self._canonical(f"{self._by_id.get(vault.lower(), vault)}/keys/{key_name}")


@dataclass
class _Identities:
    system: str | None
    user: dict[str, tuple[str, str]]  # user-assigned identity ARM id (lower case) -> (principalId, clientId)

    @classmethod
    def of(cls, resource: Mapping[str, Any]) -> _Identities:
        identity = resource.get("identity") or {}
        user: dict[str, tuple[str, str]] = {}
        for rid, attached in (identity.get("userAssignedIdentities") or {}).items():
            found = attached or {}
            user[str(rid).lower()] = (str(found.get("principalId") or ""), str(found.get("clientId") or ""))
        return cls(str(identity.get("principalId") or "") or None, user)

    @property
    def principals(self) -> list[str]:
        found = [self.system] if self.system else []
        return found + [principal for principal, _ in self.user.values() if principal]

    def reading_key(self, client_id: Any = None, identity_id: Any = None) -> str:
        """Which identity reads the key: a user-assigned one named by resource id or client id, else the
        system-assigned one."""
        if identity_id:
            found = self.user.get(str(identity_id).lower())
            return found[0] if found and found[0] else str(identity_id)
        if client_id:
            found_by_client = next(
                (p for p, c in self.user.values() if c.lower() == str(client_id).lower()), None
            )
            return found_by_client or f"client id {client_id}"
        return self.system or "system-assigned identity"


@dataclass
class _Verdict:
    encryption: Encryption | None
    keys: tuple[str, ...] = ()
    evidence: dict[str, str] | None = None
    unreadable: bool = False


def _cognitive(resource: Mapping[str, Any], stores: KeyStoreIndex, ids: _Identities) -> _Verdict:
    props = resource.get("properties")
    field = RESOURCE_TYPES[COGNITIVE_ACCOUNTS].key_field
    if not isinstance(props, Mapping):
        return _Verdict(None, evidence={"field": "properties", "value": "absent"}, unreadable=True)
    encryption = props.get("encryption") or {}
    source = str(encryption.get("keySource") or "")
    if not encryption or source.lower() == _MICROSOFT_KEY_SOURCE:
        return _Verdict(
            Encryption.PROVIDER_MANAGED,
            evidence={
                "field": "properties.encryption.keySource",
                "value": source or "absent (Microsoft-managed keys)",
            },
        )
    if source.lower() != _CUSTOMER_KEY_SOURCE:  # a key source this version does not know
        return _Verdict(
            None, evidence={"field": "properties.encryption.keySource", "value": source}, unreadable=True
        )
    vault = encryption.get("keyVaultProperties") or {}
    name, uri = vault.get("keyName"), vault.get("keyVaultUri")
    evidence = {
        "field": field,
        "value": f"{str(uri).rstrip('/') if uri else '?'} key {name or '?'}",
        "key_version": str(vault.get("keyVersion") or "latest (follows rotation)"),
        "identity": ids.reading_key(client_id=vault.get("identityClientId")),
    }
    if not (name and uri):
        return _Verdict(Encryption.CUSTOMER_MANAGED, evidence=evidence)
    return _Verdict(Encryption.CUSTOMER_MANAGED, (stores.from_url(str(uri), str(name)),), evidence)


def _ml_workspace(resource: Mapping[str, Any], stores: KeyStoreIndex, ids: _Identities) -> _Verdict:
    props = resource.get("properties")
    field = RESOURCE_TYPES[ML_WORKSPACES].key_field
    if not isinstance(props, Mapping):
        return _Verdict(None, evidence={"field": "properties", "value": "absent"}, unreadable=True)
    encryption = props.get("encryption") or {}
    vault = encryption.get("keyVaultProperties") or {}
    status = str(encryption.get("status") or ("Enabled" if vault.get("keyIdentifier") else "")).lower()
    if status != "enabled":
        return _Verdict(
            Encryption.PROVIDER_MANAGED,
            evidence={
                "field": "properties.encryption.status",
                "value": str(encryption.get("status") or "absent (Microsoft-managed keys)"),
            },
        )
    identifier = vault.get("keyIdentifier")
    parsed = _parse_key_url(identifier)
    evidence = {
        "field": field,
        "value": str(identifier or "?"),
        "key_version": (parsed[2] if parsed and parsed[2] else "latest (follows rotation)"),
        "identity": ids.reading_key(
            client_id=vault.get("identityClientId"),
            identity_id=(encryption.get("identity") or {}).get("userAssignedIdentity"),
        ),
    }
    if parsed is None:
        return _Verdict(Encryption.CUSTOMER_MANAGED, evidence=evidence)
    vault_id = vault.get("keyVaultArmId")
    key = stores.from_arm(str(vault_id), parsed[1]) if vault_id else stores.from_url(parsed[0], parsed[1])
    return _Verdict(Encryption.CUSTOMER_MANAGED, (key,), evidence)


def _search_service(resource: Mapping[str, Any]) -> _Verdict:
    props = resource.get("properties")
    if not isinstance(props, Mapping):
        return _Verdict(None, evidence={"field": "properties", "value": "absent"}, unreadable=True)
    cmk = props.get("encryptionWithCmk") or {}
    enforcement = str(cmk.get("enforcement") or "Unspecified")
    compliance = str(cmk.get("encryptionComplianceStatus") or "")
    evidence = {
        "field": RESOURCE_TYPES[SEARCH_SERVICES].key_field,
        "value": f"enforcement {enforcement}" + (f", {compliance}" if compliance else ""),
        "keys": "set per index and synonym map on the search data plane (not read)",
    }
    if enforcement.lower() == "enabled" and compliance.lower() == "compliant":
        return _Verdict(Encryption.CUSTOMER_MANAGED, evidence=evidence)
    if enforcement.lower() == "enabled" and compliance.lower() == "noncompliant":
        return _Verdict(Encryption.PROVIDER_MANAGED, evidence=evidence)
    return _Verdict(None, evidence=evidence)  # not enforced: each index decides, unread here


def _service(native_type: str, resource: Mapping[str, Any]) -> str:
    if native_type == COGNITIVE_ACCOUNTS:
        kind = str(resource.get("kind") or "").lower()
        return COGNITIVE_KINDS.get(kind, RESOURCE_TYPES[native_type].service)
    return RESOURCE_TYPES[native_type].service


def normalise_ai(
    listings: Sequence[tuple[str, Mapping[str, Sequence[Mapping[str, Any]] | None]]],
    stores: KeyStoreIndex,
) -> tuple[list[ProtectedResource], dict[str, str]]:
    """The AI resources of every subscription, and the AI service each of their identities acts for.

    ``listings``: (subscription id, {ARM type: the listed resources as REST JSON, None when the list
    failed}); projects look their hub up across every subscription.
    """
    found: list[tuple[str, str, Mapping[str, Any], _Verdict]] = []
    verdicts: dict[str, _Verdict] = {}
    projects: list[tuple[str, Mapping[str, Any]]] = []
    identities: dict[str, str] = {}
    for sid, by_type in listings:
        for native_type, items in by_type.items():
            if native_type not in RESOURCE_TYPES:
                continue
            for resource in items or ():
                uid = str(resource.get("id") or "")
                if not uid:
                    continue
                ids = _Identities.of(resource)
                service = _service(native_type, resource)
                for principal in ids.principals:
                    identities.setdefault(principal, service)
                if native_type == COGNITIVE_ACCOUNTS:
                    verdict = _cognitive(resource, stores, ids)
                elif native_type == ML_WORKSPACES:
                    verdict = _ml_workspace(resource, stores, ids)
                    hub = (resource.get("properties") or {}).get("hubResourceId")
                    if hub and verdict.encryption is not Encryption.CUSTOMER_MANAGED:
                        projects.append((uid, resource))
                else:
                    verdict = _search_service(resource)
                verdicts[uid.lower()] = verdict
                found.append((sid, native_type, resource, verdict))
    for uid, resource in projects:
        # A project uses its hub's key (its own encryption settings are the hub's to make).
        hub = str((resource.get("properties") or {}).get("hubResourceId"))
        inherited = verdicts.get(hub.lower().rstrip("/"))
        verdicts[uid.lower()] = (
            _Verdict(
                inherited.encryption,
                inherited.keys,
                {**(inherited.evidence or {}), "inherited_from": hub},
                inherited.unreadable,
            )
            if inherited is not None
            else _Verdict(None, evidence={"field": "properties.hubResourceId", "value": hub}, unreadable=True)
        )
    resources = []
    for sid, native_type, resource, _ in found:
        uid = str(resource["id"])
        verdict = verdicts[uid.lower()]
        service = _service(native_type, resource)
        evidence = dict(verdict.evidence or {})
        if resource.get("kind"):
            evidence["kind"] = str(resource["kind"])
        resources.append(
            ProtectedResource(
                provider=Provider.AZURE,
                uid=uid,
                scope=sid,
                service=service,
                native_type=native_type,
                location=resource.get("location"),
                name=resource.get("name"),
                ai_service=service,
                encryption=verdict.encryption,
                keys=verdict.keys,
                evidence=evidence,
                tags={str(k): str(v) for k, v in (resource.get("tags") or {}).items()},
                unreadable=frozenset({ResourceAspect.ENCRYPTION}) if verdict.unreadable else frozenset(),
            )
        )
    return sorted(resources, key=lambda r: r.uid), identities
