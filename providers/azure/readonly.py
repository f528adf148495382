"""Read-only by construction: every Azure client keyaudit builds refuses to send anything but reads.

The guard is an azure-core pipeline policy, ``ReadOnlyPolicy``, that ``providers.azure.clients`` puts into
every client it builds (ARM management clients, Key Vault ``KeyClient``, the tenant client), twice:

* per call, at the head of the pipeline: a write (``begin_delete_key``, ``vaults.delete``, a role
  assignment ``create``...) is refused before a token is fetched or anything is sent;
* per retry, after the SDK's own policies: requests that policies make up on their own are checked as
  well. ARM clients carry ``ARMAutoResourceProviderRegistrationPolicy``, which answers a 409
  ``MissingSubscriptionRegistration`` by POSTing ``.../providers/RP/register``: keyaudit refuses that
  (the error says so; it means the subscription never used that resource provider).

Allowed: ``GET``, and a POST only when it is on ``ALLOWED_POSTS`` (none today: keyaudit reads no secret
and lists no key through a POST; ARM ``listKeys``-style POSTs return secrets and stay refused). Refused
requests raise ``ReadOnlyViolation`` and never reach the transport. ``clients`` also checks, when it
builds a client, that the guard really sits in its pipeline (``ReadOnlyGuardError`` otherwise).

``required_role()`` is the minimal Azure custom role for a scan (``keyaudit scan azure
--print-required-policy`` prints ``required_policy()``, which adds the Managed HSM local role and the
access-policy permissions). Importing this module imports no Azure SDK; ``ReadOnlyPolicy`` is built on
first use.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = [
    "ALLOWED_POSTS",
    "ARM_ACTIONS",
    "MANAGED_HSM_DATA_ACTIONS",
    "VAULT_ACCESS_POLICY_KEY_PERMISSIONS",
    "VAULT_DATA_ACTIONS",
    "ReadOnlyGuardError",
    "ReadOnlyViolation",
    "check_request",
    "find_guards",
    "policy_class",
    "required_managed_hsm_role",
    "required_policy",
    "required_role",
]

#: POSTs that only read (path regular expressions, matched case-insensitively). Empty: none is needed.
ALLOWED_POSTS: tuple[re.Pattern[str], ...] = ()

# Azure RBAC control-plane actions the scan uses -> why.
ARM_ACTIONS: Mapping[str, str] = MappingProxyType(
    {
        "Microsoft.Resources/subscriptions/read": "list the subscriptions the identity sees",
        "Microsoft.Management/managementGroups/read": "read the management group given with --management-group",
        "Microsoft.Management/managementGroups/descendants/read": "list the subscriptions under it",
        "Microsoft.KeyVault/vaults/read": "vault properties: soft delete, purge protection, network, access policies",
        "Microsoft.KeyVault/managedHSMs/read": "Managed HSM properties",
        "Microsoft.KeyVault/vaults/keys/read": "the ARM view of keys when a vault's data plane is unreachable",
        "Microsoft.Authorization/roleAssignments/read": "role assignments at every scope above a key",
        "Microsoft.Authorization/roleDefinitions/read": "the actions and data actions of assigned roles",
        "Microsoft.Insights/diagnosticSettings/read": "AuditEvent logging of each vault and Managed HSM",
        # AI workloads (providers.azure.ai): their encryption settings and managed identities.
        "Microsoft.CognitiveServices/accounts/read": "Azure OpenAI / AI services accounts: key and identities",
        "Microsoft.MachineLearningServices/workspaces/read": "Machine Learning workspaces: key and identities",
        "Microsoft.Search/searchServices/read": "AI Search services: key enforcement and identities",
    }
)

# Key Vault data actions (Azure RBAC vaults) -> why.
VAULT_DATA_ACTIONS: Mapping[str, str] = MappingProxyType(
    {
        "Microsoft.KeyVault/vaults/keys/read": "list keys and read their properties (never key material)",
        "Microsoft.KeyVault/vaults/keyrotationpolicies/read": "each key's rotation policy",
    }
)

# Managed HSM local RBAC data actions -> why. Managed HSM authorises its data plane with its own role
# assignments only: these go into a local role (``required_managed_hsm_role``), not an Azure RBAC role.
MANAGED_HSM_DATA_ACTIONS: Mapping[str, str] = MappingProxyType(
    {
        "Microsoft.KeyVault/managedHsm/keys/read/action": "list keys, their properties and rotation policies",
        "Microsoft.KeyVault/managedHsm/keys/deletedKeys/read/action": "soft-deleted keys awaiting purge",
        "Microsoft.KeyVault/managedHsm/roleAssignments/read/action": "the HSM's local role assignments",
        "Microsoft.KeyVault/managedHsm/roleDefinitions/read/action": "the HSM's local role definitions",
    }
)

#: Key permissions for vaults in access-policy mode (Azure RBAC data actions do not apply there).
VAULT_ACCESS_POLICY_KEY_PERMISSIONS: tuple[str, ...] = ("get", "list", "getrotationpolicy")


class ReadOnlyViolation(RuntimeError):
    """A request that is not a read was about to be sent by an Azure client; it was not sent."""


class ReadOnlyGuardError(RuntimeError):
    """The read-only guard could not be installed (an SDK changed shape): refuse to build the client."""


def check_request(method: str, url: str) -> None:
    """Raise ``ReadOnlyViolation`` unless ``method url`` is a read: GET, or an allow-listed POST."""
    verb = method.upper()
    if verb == "GET":
        return
    parts = urlsplit(url)
    path = unquote(parts.path)
    if verb == "POST" and any(p.fullmatch(path) for p in ALLOWED_POSTS):
        return
    raise ReadOnlyViolation(f"keyaudit is read-only: {verb} {parts.netloc}{path} was refused and not sent")


@functools.cache
def policy_class() -> type[Any]:
    """The ``ReadOnlyPolicy`` class (azure-core is imported on first use)."""
    from azure.core.pipeline.policies import SansIOHTTPPolicy

    class ReadOnlyPolicy(SansIOHTTPPolicy):  # type: ignore[type-arg]
        """Refuse every request ``check_request`` refuses, before it goes further down the pipeline."""

        def on_request(self, request: Any) -> None:
            http_request = request.http_request
            check_request(http_request.method, http_request.url)

    ReadOnlyPolicy.__module__ = __name__
    return ReadOnlyPolicy


def __getattr__(name: str) -> Any:
    # ``from providers.azure.readonly import ReadOnlyPolicy`` builds the class lazily.
    if name == "ReadOnlyPolicy":
        return policy_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def find_guards(pipeline: Any) -> list[Any]:
    """The ``ReadOnlyPolicy`` instances in an azure-core ``Pipeline``, in order."""
    cls = policy_class()
    policies = getattr(pipeline, "_impl_policies", None)
    if policies is None:
        raise ReadOnlyGuardError(
            f"{type(pipeline).__name__} has no policy list: cannot check the read-only guard"
        )
    # SansIO policies run wrapped in a runner that holds them as ``_policy``.
    unwrapped = [getattr(p, "_policy", p) for p in policies]
    return [p for p in unwrapped if isinstance(p, cls)]


def required_role(assignable_scopes: Sequence[str] = ("/subscriptions/{subscription-id}",)) -> dict[str, Any]:
    """An Azure custom role (``az role definition create --role-definition``) holding what a scan needs.

    Assign it on each scanned subscription (data actions need a subscription or narrower scope: custom
    roles with data actions cannot be assigned at a management group), and add Reader on the management
    group for ``--management-group``. Built-in roles covering the same: **Reader** (every action here)
    plus **Key Vault Reader** (both data actions) at the subscription. Vaults in access-policy mode need
    an access policy instead (``VAULT_ACCESS_POLICY_KEY_PERMISSIONS``), Managed HSMs a local role
    (``required_managed_hsm_role``).
    """
    return {
        "Name": "keyaudit scanner (read-only)",
        "IsCustom": True,
        "Description": (
            "Reads Key Vault and Managed HSM configuration, key properties, rotation policies, role "
            "assignments, diagnostic settings and the encryption settings of AI resources for keyaudit. "
            "No write, no key use, no secret access."
        ),
        "Actions": sorted(ARM_ACTIONS),
        "NotActions": [],
        "DataActions": sorted(VAULT_DATA_ACTIONS),
        "NotDataActions": [],
        "AssignableScopes": list(assignable_scopes),
    }


def required_managed_hsm_role() -> dict[str, Any]:
    """A Managed HSM local custom role (``az keyvault role definition create --hsm-name H``).

    Assign it at scope ``/`` of each HSM. The built-in local role **Managed HSM Crypto Auditor** reads keys
    but not the HSM's role assignments; the roles that do (Crypto User, Policy Administrator) also use keys
    or change access.
    """
    return {
        "roleName": "keyaudit scanner (read-only)",
        "description": "Reads key properties, rotation policies and local role assignments for keyaudit.",
        "actions": [],
        "notActions": [],
        "dataActions": sorted(MANAGED_HSM_DATA_ACTIONS),
        "notDataActions": [],
    }


def required_policy() -> dict[str, Any]:
    """Everything a scan needs, for ``--print-required-policy``: the Azure role, the Managed HSM local
    role, the access-policy permissions, and the built-in roles that cover them."""
    return {
        "azureRoleDefinition": required_role(),
        "managedHsmLocalRoleDefinition": required_managed_hsm_role(),
        "accessPolicyVaults": {"keys": list(VAULT_ACCESS_POLICY_KEY_PERMISSIONS)},
        "builtInAlternatives": {
            "subscription": ["Reader", "Key Vault Reader"],
            "managementGroup": ["Reader"],
            "managedHsm": ["Managed HSM Crypto Auditor (keys only, not local role assignments)"],
        },
    }
