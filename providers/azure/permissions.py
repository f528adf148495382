"""Azure authorisation -> provider-neutral capabilities (pure, no SDK import).

Three ways to reach an Azure key, three inputs:

* **Azure RBAC role definitions** (ARM, assigned at management group, subscription, resource group, vault
  or key scope): ``{actions, notActions, dataActions, notDataActions}`` blocks, evaluated with
  ``capabilities_for_permissions`` over two tables of operations, ``CONTROL_ACTIONS`` (``actions``,
  authorised by Azure Resource Manager) and ``DATA_ACTIONS`` (``dataActions``, authorised by Key Vault
  or the Managed HSM). ``BUILT_IN_ROLES`` holds the built-in definitions that matter for keys.
* **Managed HSM local RBAC** (role definitions and assignments stored in the HSM itself, read from its
  data plane): same shape, ``dataActions`` named ``Microsoft.KeyVault/managedHsm/...``;
  ``MANAGED_HSM_ROLES`` holds the built-in local roles. ``capabilities_for_role`` knows both tables (the
  GUIDs do not collide).
* **Vault access policies** (vaults whose ``enableRbacAuthorization`` is false): a list of key
  permissions per principal, ``access_policy_capabilities``.

Evaluation follows [DEF]: per permission block, effective = matched(actions) - matched(notActions) and
matched(dataActions) - matched(notDataActions); blocks and roles add up (``notActions`` is not a deny,
another block or role may grant what one block subtracts). Operation strings are matched
case-insensitively (Contributor's own ``notActions`` spell ``Microsoft.Authorization/*/Write``); ``*``
stands for any run of characters, ``/`` included, so ``*/read`` is every read and ``Microsoft.KeyVault/*``
every Key Vault operation. Patterns are expanded over the tables: an operation the tables do not list
(other services, secrets and certificates, misspellings) gives nothing.

What an operation gives depends on the kind of key store it reaches, ``AccessModel``:

* ``rbac``: a vault with ``enableRbacAuthorization`` true. Its data plane obeys RBAC ``dataActions``;
  access is changed with ``Microsoft.Authorization/roleAssignments/write`` (and by editing a custom role
  with ``roleDefinitions/write``). ``vaults/write`` cannot switch the vault back to access policies:
  changing the permission model needs unrestricted ``roleAssignments/write`` too [MIG].
* ``access_policy``: a vault with access policies. RBAC ``dataActions`` are ignored there [KVP], and
  "a user with the Contributor, Key Vault Contributor, or any other role that includes
  Microsoft.KeyVault/vaults/write ... can grant themselves data plane access by setting a Key Vault access
  policy" [RAP]: ``vaults/write`` and ``vaults/accessPolicies/write`` give ADMINISTER_ACCESS. So does
  ``roleAssignments/write``, one step removed (assign oneself a role holding ``vaults/write``).
* ``managed_hsm``: a Managed HSM. Its data plane obeys only its local RBAC; no ARM role assignment
  reaches it (that is the point of the product [MHSM]), so ARM ``roleAssignments/write`` gives no
  ADMINISTER_ACCESS there, while ``managedHsm/roleAssignments/write/action`` (local) does.

``access_model=None`` (the store's model is not known) counts every entry under every model: the worst
case. The caller applies ARM definitions only through ARM role assignments and local definitions only
through the HSM's own assignments; the tables do not police that. An ``ADMINISTER_ACCESS`` in a result
for a given model always means the holder can give itself data-plane access to that store's keys
(``self_grant_operations`` names the operations that allow it): like GCP ``setIamPolicy`` and AWS
``PutKeyPolicy``, it stands for "latent user" and is not expanded into the use capabilities.

Decisions (where Azure has no exact counterpart of the neutral capabilities):

* Key delete (``keys/delete``, access-policy ``delete``, HSM ``keys/delete``) is DESTROY. Soft delete is
  mandatory, so a deleted key is recoverable until the retention period ends and is then purged
  automatically: a scheduled destruction, like AWS ``ScheduleKeyDeletion``. Purge is DESTROY too.
* Backup (``keys/backup/action``, access-policy ``backup``, whole-HSM ``backup/start/action``) is EXPORT.
  The blob is encrypted and can only be restored into a vault of the same subscription and Azure
  geography (an HSM with the same security domain), so no plaintext ever leaves; but it is a copy of the
  key outside this store's access control (restorable into another vault, surviving a purge). EXPORT is
  neither an administrator nor a use capability, so this reports the copy without changing any
  segregation-of-duties verdict.
* Restore (``keys/restore/action``, ``restore``, whole-HSM ``restore/start/action``) is MANAGE_LIFECYCLE:
  it brings back a key Key Vault itself backed up (it cannot bring foreign material in, and fails when the
  key name exists), like GCP ``cryptoKeyVersions.restore``.
* Release (secure key release) and Managed HSM ``keys/export/action`` are EXPORT: key material leaves the
  HSM, wrapped to a key of the requester (an attested environment for release).
* ``keys/update/action`` (enable/disable, expiry, allowed operations) is MANAGE_LIFECYCLE, so the
  built-in Key Vault Crypto User is both a key user and a lifecycle administrator: Microsoft's built-in
  roles do not separate the two (Key Vault Administrator and Crypto Officer hold ``keys/*``).
* ``keys/derive/action`` (Managed HSM key derivation) is DECRYPT, as AWS ``DeriveSharedSecret``: the
  caller obtains secret material derived from the key.
* ARM ``vaults/keys/write`` / ``managedHSMs/keys/write`` give nothing: they only create the first
  version of a key that does not exist and return an existing key unchanged [OPS] (AWS ``CreateKey``).
* Managed HSM security domain: ``securitydomain/download/action`` is EXPORT (the HSM's root secret
  leaves, encrypted to the customer's quorum of wrapping keys: with the quorum, every key of the HSM can
  be rebuilt elsewhere) and ``securitydomain/upload/action`` IMPORT_MATERIAL.
* Removing role assignments (ARM ``roleAssignments/delete`` on RBAC vaults, local
  ``managedHsm/roleAssignments/delete/action``) is MANAGE_LIFECYCLE, like AWS ``RevokeGrant``: it takes
  access away (other administrators' too) but gives none. Deleting a role definition gives nothing (one
  still assigned cannot be deleted).

Not modelled here (the normaliser's business, or out of scope): ABAC conditions on role definitions
(Key Vault Data Access Administrator may only assign the Key Vault roles, which is still ADMINISTER_ACCESS)
and on role assignments, deny assignments, PIM eligibility. Nor are secrets: ``secrets/getSecret/action``
on the secret behind a certificate returns the private key of an exportable certificate's key, which a
caller looking at certificate-backed (``managed``) keys may want to count as EXPORT.

Sources (cite these when a table changes):

* [DEF] learn.microsoft.com/azure/role-based-access-control/role-definitions (Actions - NotActions,
  DataActions - NotDataActions, wildcards; MicrosoftDocs/azure-docs
  ``articles/role-based-access-control/role-definitions.md``).
* [OPS] learn.microsoft.com/azure/role-based-access-control/permissions/security#microsoftkeyvault:
  every Microsoft.KeyVault action and data action (MicrosoftDocs/azure-docs
  ``articles/role-based-access-control/permissions/security.md`` at 7d8682a53ed0bf43fb26b5f445de396d78e7fb69).
* [BIR] learn.microsoft.com/azure/role-based-access-control/built-in-roles/security, .../privileged and
  .../general: built-in role ids and permissions (MicrosoftDocs/azure-docs
  ``articles/role-based-access-control/built-in-roles/{security,general}.md`` at
  03e5750af10b23b5ba437d5b333ec5e9437844f9, ``privileged.md`` at 0b8729eaf7eb0aabc6390cb17348d19761285f12).
* [MHSM] learn.microsoft.com/azure/key-vault/managed-hsm/built-in-roles: local role ids and the
  permitted-operations table (MicrosoftDocs/azure-security-docs
  ``articles/key-vault/managed-hsm/built-in-roles.md`` at 40d9b5a30287a184ba690b96e1625a90a1af13de).
* [MHSM-LIVE] the local role definitions a Managed HSM (build 1.0.20221020) returned to
  ``GET /providers/Microsoft.Authorization/roleDefinitions``, recorded in Azure/azure-sdk-for-js
  ``sdk/keyvault/keyvault-admin/recordings/node/keyvaultaccesscontrolclient_role_assignments/``
  ``recording_can_create_read_and_delete_role_assignments.js`` at 8936822fa5e9f6051ab418cf7081a1119bba58c6.
  Where it differs from [MHSM]'s table (Crypto Officer also holds ``keys/export/action``, Crypto User
  ``keys/derive/action`` and ``rng/action``, Administrator ``settings/*``; the Crypto Auditor holds no
  ``keys/deletedKeys/delete``), the live definition is used.
* [MHSM-OPS] the data actions of azure-keyvault-administration's ``KeyVaultDataAction`` enum
  (Azure/azure-sdk-for-python ``sdk/keyvault/azure-keyvault-administration/azure/keyvault/administration/``
  ``_enums.py`` at f5a0f11d870ac1c72f3efdbd111080746c326426), plus ``keys/derive/action`` and
  ``settings/*`` from [MHSM-LIVE].
* [RAP] learn.microsoft.com/azure/key-vault/general/rbac-access-policy (the access-policy escalation
  warning).
* [MIG] learn.microsoft.com/azure/key-vault/general/rbac-migration ("Changing the permission model
  requires unrestricted 'Microsoft.Authorization/roleAssignments/write' permission").
* [KVP] ``enableRbacAuthorization`` (azure-mgmt-keyvault ``VaultProperties``): "When true, the key vault
  will use Role Based Access Control (RBAC) for authorization of data actions, and the access policies
  specified in vault properties will be ignored. When false, the key vault will use the access policies
  specified in vault properties, and any policy stored on Azure Resource Manager will be ignored."
* [KP] azure-mgmt-keyvault 14.1.0 ``KeyPermissions`` (access-policy key permission names).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType
from typing import NamedTuple

from providers import capsets as caps
from scanner.inventory import Capability

__all__ = [
    "ACCESS_POLICY_KEY_PERMISSIONS",
    "BUILT_IN_ROLES",
    "CONTROL_ACTIONS",
    "DATA_ACTIONS",
    "MANAGED_HSM_ROLES",
    "SELF_GRANT_OPERATIONS",
    "AccessModel",
    "BuiltInRole",
    "access_policy_capabilities",
    "can_grant_itself_data_access",
    "capabilities_for_permissions",
    "capabilities_for_role",
    "effective_operations",
    "role_guid",
    "self_grant_operations",
]


class AccessModel(StrEnum):
    """How the data plane of the key store an operation reaches is authorised."""

    RBAC = "rbac"  # vault with enableRbacAuthorization: Azure RBAC dataActions
    ACCESS_POLICY = "access_policy"  # vault with access policies: RBAC dataActions are ignored
    MANAGED_HSM = "managed_hsm"  # Managed HSM: its own local RBAC only


# What one operation gives, per kind of key store it reaches (a model missing gives nothing).
Effect = Mapping[AccessModel, frozenset[Capability]]

_RBAC = frozenset({AccessModel.RBAC})
_POLICY = frozenset({AccessModel.ACCESS_POLICY})
_VAULTS = frozenset({AccessModel.RBAC, AccessModel.ACCESS_POLICY})
_HSM = frozenset({AccessModel.MANAGED_HSM})


def _on(models: frozenset[AccessModel], capabilities: frozenset[Capability]) -> Effect:
    return MappingProxyType(dict.fromkeys(sorted(models), capabilities))


def _merge(*effects: Effect) -> Effect:
    merged: dict[AccessModel, frozenset[Capability]] = {}
    for effect in effects:
        for model, capabilities in effect.items():
            merged[model] = merged.get(model, caps.NOTHING) | capabilities
    return MappingProxyType(dict(sorted(merged.items())))


_AUTH = "Microsoft.Authorization"
_KV = "Microsoft.KeyVault"

# fmt: off
# ``actions``: Azure Resource Manager operations [OPS].
_CONTROL: dict[str, Effect] = {
    # --- change who can do what --------------------------------------------------------------------
    # A role assignment at or above a vault reaches its keys (RBAC vault); on an access-policy vault it is
    # one step removed: assign oneself a role with vaults/write. ARM assignments never reach an HSM.
    f"{_AUTH}/roleAssignments/write": _on(_VAULTS, caps.ADMIN),
    # Editing a custom role changes what every assignment of it grants.
    f"{_AUTH}/roleDefinitions/write": _on(_VAULTS, caps.ADMIN),
    f"{_AUTH}/roleAssignments/delete": _on(_RBAC, caps.LIFECYCLE),  # takes access away (module docstring)
    f"{_AUTH}/roleDefinitions/delete": _on(_VAULTS, caps.NOTHING),  # an assigned role cannot be deleted
    f"{_AUTH}/roleAssignments/read": _on(_VAULTS, caps.READ),
    f"{_AUTH}/roleDefinitions/read": _on(_VAULTS, caps.READ),
    # The vault resource carries its access policies: on an access-policy vault, whoever writes the vault
    # writes them [RAP]. Everywhere it changes the vault's protections (network rules, purge protection,
    # the platform-access flags) and creates vaults.
    f"{_KV}/vaults/write": _merge(_on(_VAULTS, caps.LIFECYCLE), _on(_POLICY, caps.ADMIN)),
    f"{_KV}/vaults/accessPolicies/write": _on(_POLICY, caps.ADMIN),  # ignored by an RBAC vault [KVP]
    # --- destruction -------------------------------------------------------------------------------
    # Deleting a vault or HSM soft-deletes every key in it, purged when the retention period ends.
    f"{_KV}/vaults/delete": _on(_VAULTS, caps.DESTROY),
    f"{_KV}/locations/deletedVaults/purge/action": _on(_VAULTS, caps.DESTROY),
    f"{_KV}/managedHSMs/delete": _on(_HSM, caps.DESTROY),
    f"{_KV}/locations/deletedManagedHsms/purge/action": _on(_HSM, caps.DESTROY),
    f"{_KV}/locations/deletedManagedHsms/delete": _on(_HSM, caps.DESTROY),  # [OPS]: also a purge
    # --- lifecycle ---------------------------------------------------------------------------------
    f"{_KV}/managedHSMs/write": _on(_HSM, caps.LIFECYCLE),  # network rules, purge protection, regions
    # --- not about an existing key -----------------------------------------------------------------
    # ARM key creation only creates the first version of a key that does not exist yet [OPS].
    f"{_KV}/vaults/keys/write": _on(_VAULTS, caps.NOTHING),
    f"{_KV}/managedHSMs/keys/write": _on(_HSM, caps.NOTHING),
    # --- metadata ----------------------------------------------------------------------------------
    f"{_KV}/vaults/read": _on(_VAULTS, caps.READ),
    f"{_KV}/vaults/keys/read": _on(_VAULTS, caps.READ),
    f"{_KV}/vaults/keys/versions/read": _on(_VAULTS, caps.READ),
    f"{_KV}/deletedVaults/read": _on(_VAULTS, caps.READ),
    f"{_KV}/locations/deletedVaults/read": _on(_VAULTS, caps.READ),
    f"{_KV}/managedHSMs/read": _on(_HSM, caps.READ),
    f"{_KV}/managedHSMs/keys/read": _on(_HSM, caps.READ),
    f"{_KV}/managedHSMs/keys/versions/read": _on(_HSM, caps.READ),
    f"{_KV}/deletedManagedHsms/read": _on(_HSM, caps.READ),
    f"{_KV}/locations/deletedManagedHsms/read": _on(_HSM, caps.READ),
}

# ``dataActions`` of a vault's keys [OPS]: obeyed by RBAC vaults only [KVP].
_VAULT_KEYS: dict[str, frozenset[Capability]] = {
    "keys/read": caps.READ,  # also the public key, with which anyone can encrypt and verify
    "keys/update/action": caps.LIFECYCLE,  # enable/disable, expiry, allowed operations
    "keys/create/action": caps.LIFECYCLE,  # a new key, or a new version of an existing one
    "keys/rotate/action": caps.LIFECYCLE,
    "keys/recover/action": caps.LIFECYCLE,
    "keys/restore/action": caps.LIFECYCLE,  # module docstring
    "keyrotationpolicies/write": caps.LIFECYCLE,
    "keyrotationpolicies/read": caps.READ,
    "keys/import/action": caps.IMPORT,
    "keys/delete": caps.DESTROY,  # soft delete: a scheduled destruction (module docstring)
    "keys/purge/action": caps.DESTROY,
    "keys/backup/action": caps.EXPORT,  # module docstring
    "keys/release/action": caps.EXPORT,  # secure key release to an attested environment
    "keys/encrypt/action": caps.ENCRYPT,
    "keys/wrap/action": caps.ENCRYPT,
    "keys/decrypt/action": caps.DECRYPT,
    "keys/unwrap/action": caps.DECRYPT,
    "keys/sign/action": caps.SIGN,
    "keys/verify/action": caps.VERIFY,
}

# ``dataActions`` of a Managed HSM's local RBAC [MHSM-OPS].
_HSM_DATA: dict[str, frozenset[Capability]] = {
    # --- change who can do what --------------------------------------------------------------------
    "roleAssignments/write/action": caps.ADMIN,
    "roleDefinitions/write/action": caps.ADMIN,  # edit a custom local role
    "roleAssignments/delete/action": caps.LIFECYCLE,
    "roleDefinitions/delete/action": caps.NOTHING,
    "roleAssignments/read/action": caps.READ,
    "roleDefinitions/read/action": caps.READ,
    # --- keys --------------------------------------------------------------------------------------
    "keys/read/action": caps.READ,
    "keys/deletedKeys/read/action": caps.READ,
    "keys/write/action": caps.LIFECYCLE,  # update attributes
    "keys/create": caps.LIFECYCLE,
    "keys/rotate/action": caps.LIFECYCLE,
    "keys/deletedKeys/recover/action": caps.LIFECYCLE,
    "keys/restore/action": caps.LIFECYCLE,
    "keys/import/action": caps.IMPORT,
    "keys/delete": caps.DESTROY,
    "keys/deletedKeys/delete": caps.DESTROY,  # purge
    "keys/backup/action": caps.EXPORT,
    "keys/release/action": caps.EXPORT,
    "keys/export/action": caps.EXPORT,
    "keys/encrypt/action": caps.ENCRYPT,
    "keys/wrap/action": caps.ENCRYPT,
    "keys/decrypt/action": caps.DECRYPT,
    "keys/unwrap/action": caps.DECRYPT,
    "keys/derive/action": caps.DECRYPT,  # module docstring
    "keys/sign/action": caps.SIGN,
    "keys/verify/action": caps.VERIFY,
    "rng/action": caps.NOTHING,  # random bytes: no key involved
    # --- the whole HSM -----------------------------------------------------------------------------
    "securitydomain/download/action": caps.EXPORT,  # module docstring
    "securitydomain/upload/action": caps.IMPORT,
    "securitydomain/download/read": caps.READ,
    "securitydomain/upload/read": caps.READ,
    "securitydomain/transferkey/read": caps.READ,
    "backup/start/action": caps.EXPORT,  # a full backup: every key, see the module docstring
    "restore/start/action": caps.LIFECYCLE,  # puts every key back as it was in the backup
    "backup/status/action": caps.READ,
    "restore/status/action": caps.READ,
    "settings/write/action": caps.LIFECYCLE,  # e.g. whether keys may be managed through ARM
    "settings/read/action": caps.READ,
}
# fmt: on

# The operation tables: operation name -> what it gives per kind of key store.
CONTROL_ACTIONS: Mapping[str, Effect] = MappingProxyType(dict(sorted(_CONTROL.items())))
DATA_ACTIONS: Mapping[str, Effect] = MappingProxyType(
    {
        **{f"{_KV}/vaults/{op}": _on(_RBAC, c) for op, c in sorted(_VAULT_KEYS.items())},
        **{f"{_KV}/managedHsm/{op}": _on(_HSM, c) for op, c in sorted(_HSM_DATA.items())},
    }
)


def _matcher(table: Mapping[str, Effect]) -> Callable[[str], frozenset[str]]:
    by_lower = {name.lower(): name for name in table}

    @lru_cache(maxsize=4096)
    def matching(pattern: str) -> frozenset[str]:
        """Table operations one Azure pattern matches (``*``: any run of characters), case-insensitively."""
        lowered = pattern.strip().lower()
        if "*" not in lowered:
            exact = by_lower.get(lowered)
            return frozenset({exact}) if exact is not None else frozenset()
        regex = re.compile(".*".join(re.escape(part) for part in lowered.split("*")))
        return frozenset(name for low, name in by_lower.items() if regex.fullmatch(low))

    return matching


_control_matching = _matcher(CONTROL_ACTIONS)
_data_matching = _matcher(DATA_ACTIONS)

# Spellings of the four lists: REST/CLI (camelCase) and the Python SDKs' as_dict() (snake_case).
_FIELDS = {
    "actions": ("actions",),
    "not_actions": ("notActions", "not_actions"),
    "data_actions": ("dataActions", "data_actions"),
    "not_data_actions": ("notDataActions", "not_data_actions"),
}


def _patterns(permission: Mapping[str, object], field: str) -> tuple[str, ...]:
    for key in _FIELDS[field]:
        value = permission.get(key)
        if value is None:
            continue
        if isinstance(value, str):
            return (value,)
        if isinstance(value, Iterable):
            return tuple(str(v) for v in value)
        raise TypeError(f"role permission {key!r} is not a list of operations: {value!r}")
    return ()


def _matched(matching: Callable[[str], frozenset[str]], patterns: Iterable[str]) -> frozenset[str]:
    return frozenset().union(*(matching(p) for p in patterns))


def effective_operations(
    permissions: Iterable[Mapping[str, object]],
) -> tuple[frozenset[str], frozenset[str]]:
    """Table operations the permission blocks allow: (control-plane ``actions``, ``dataActions``)."""
    control: set[str] = set()
    data: set[str] = set()
    for block in permissions:
        control |= _matched(_control_matching, _patterns(block, "actions")) - _matched(
            _control_matching, _patterns(block, "not_actions")
        )
        data |= _matched(_data_matching, _patterns(block, "data_actions")) - _matched(
            _data_matching, _patterns(block, "not_data_actions")
        )
    return frozenset(control), frozenset(data)


def _model(access_model: AccessModel | str | None) -> AccessModel | None:
    return None if access_model is None else AccessModel(access_model)


def _effect_capabilities(effect: Effect, model: AccessModel | None) -> frozenset[Capability]:
    if model is None:
        return frozenset().union(*effect.values())
    return effect.get(model, caps.NOTHING)


def capabilities_for_permissions(
    permissions: Iterable[Mapping[str, object]], access_model: AccessModel | str | None = None
) -> frozenset[Capability]:
    """Capabilities that role-definition permission blocks give on a key store of ``access_model``.

    ``permissions`` is a role definition's ``permissions`` list: mappings with ``actions``,
    ``notActions``, ``dataActions``, ``notDataActions`` (camelCase as the REST API and CLI return them, or
    snake_case as the Python SDK models' ``as_dict()``; missing or ``None`` lists are empty).
    ``access_model`` is the kind of store the role reaches (``AccessModel`` or its value); ``None``, the
    model is unknown: every table entry counts (the worst case). Operations the tables do not list give
    nothing.
    """
    model = _model(access_model)
    control, data = effective_operations(permissions)
    effects = [CONTROL_ACTIONS[op] for op in control] + [DATA_ACTIONS[op] for op in data]
    return frozenset().union(*(_effect_capabilities(effect, model) for effect in effects))


def _permission(
    actions: Iterable[str] = (),
    not_actions: Iterable[str] = (),
    data_actions: Iterable[str] = (),
    not_data_actions: Iterable[str] = (),
) -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType(
        {
            "actions": tuple(actions),
            "notActions": tuple(not_actions),
            "dataActions": tuple(data_actions),
            "notDataActions": tuple(not_data_actions),
        }
    )


class BuiltInRole(NamedTuple):
    name: str
    permissions: tuple[Mapping[str, tuple[str, ...]], ...]


def _role(name: str, **permission: Iterable[str]) -> BuiltInRole:
    return BuiltInRole(name, (_permission(**permission),))


# fmt: off
# What the Key Vault data roles share in ``actions`` [BIR].
_KV_ROLE_ACTIONS = (
    f"{_AUTH}/*/read", "Microsoft.Insights/alertRules/*", "Microsoft.Resources/deployments/*",
    "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*",
    f"{_KV}/checkNameAvailability/read", f"{_KV}/deletedVaults/read", f"{_KV}/locations/*/read",
    f"{_KV}/vaults/*/read", f"{_KV}/operations/read",
)

# Built-in Azure role definition GUID -> name and permissions, as [BIR] lists them. The GUIDs are the
# same in every Azure cloud.
_BUILT_IN: dict[str, BuiltInRole] = {
    # --- privileged [BIR privileged.md] --------------------------------------------------------------
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": _role("Owner", actions=["*"]),
    "b24988ac-6180-42a0-ab88-20f7382dd24c": _role(
        "Contributor",
        actions=["*"],
        not_actions=[
            f"{_AUTH}/*/Delete", f"{_AUTH}/*/Write", f"{_AUTH}/elevateAccess/Action",
            "Microsoft.Blueprint/blueprintAssignments/write",
            "Microsoft.Blueprint/blueprintAssignments/delete",
            "Microsoft.Compute/galleries/share/action", "Microsoft.Purview/consents/write",
            "Microsoft.Purview/consents/delete",
            "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
            "Microsoft.Subscription/cancel/action", "Microsoft.Subscription/enable/action",
        ],
    ),
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": _role(
        "User Access Administrator", actions=["*/read", f"{_AUTH}/*", "Microsoft.Support/*"]
    ),
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": _role(
        "Role Based Access Control Administrator",
        actions=[
            f"{_AUTH}/roleAssignments/write", f"{_AUTH}/roleAssignments/delete", "*/read",
            "Microsoft.Support/*",
        ],
    ),
    # --- general [BIR general.md] ----------------------------------------------------------------------
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": _role("Reader", actions=["*/read"]),
    # --- security [BIR security.md] --------------------------------------------------------------------
    # Every data-plane operation of the vault, no role assignments: cannot administer access.
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": _role(
        "Key Vault Administrator", actions=_KV_ROLE_ACTIONS, data_actions=[f"{_KV}/vaults/*"]
    ),
    # Manages vaults (and so their access policies), no data plane.
    "f25e0fa2-a7c8-4377-a976-54943a77a395": _role(
        "Key Vault Contributor",
        actions=[
            f"{_AUTH}/*/read", "Microsoft.Insights/alertRules/*", f"{_KV}/*",
            "Microsoft.Resources/deployments/*",
            "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*",
        ],
        # hsmPools/* and managedHsms/* do not cover locations/deletedManagedHsms/*: this role can purge a
        # deleted Managed HSM.
        not_actions=[
            f"{_KV}/locations/deletedVaults/purge/action", f"{_KV}/hsmPools/*", f"{_KV}/managedHsms/*",
        ],
    ),
    "21090545-7ca7-4776-b22c-e363652d74d2": _role(
        "Key Vault Reader",
        actions=_KV_ROLE_ACTIONS,
        data_actions=[f"{_KV}/vaults/*/read", f"{_KV}/vaults/secrets/readMetadata/action"],
    ),
    "14b46e9e-c2b7-41b4-b07b-48a6ebf60603": _role(
        "Key Vault Crypto Officer",
        actions=_KV_ROLE_ACTIONS,
        data_actions=[f"{_KV}/vaults/keys/*", f"{_KV}/vaults/keyrotationpolicies/*"],
    ),
    "12338af0-0e69-4776-bea7-57ae8d297424": _role(
        "Key Vault Crypto User",
        data_actions=[
            f"{_KV}/vaults/keys/read", f"{_KV}/vaults/keys/update/action", f"{_KV}/vaults/keys/backup/action",
            f"{_KV}/vaults/keys/encrypt/action", f"{_KV}/vaults/keys/decrypt/action",
            f"{_KV}/vaults/keys/wrap/action", f"{_KV}/vaults/keys/unwrap/action",
            f"{_KV}/vaults/keys/sign/action", f"{_KV}/vaults/keys/verify/action",
        ],
    ),
    "e147488a-f6f5-4113-8e2d-b22465e65bf6": _role(
        "Key Vault Crypto Service Encryption User",
        actions=[
            "Microsoft.EventGrid/eventSubscriptions/write", "Microsoft.EventGrid/eventSubscriptions/read",
            "Microsoft.EventGrid/eventSubscriptions/delete",
        ],
        data_actions=[
            f"{_KV}/vaults/keys/read", f"{_KV}/vaults/keys/wrap/action", f"{_KV}/vaults/keys/unwrap/action",
        ],
    ),
    "08bbd89e-9f13-488c-ac41-acfcb10c90ab": _role(
        "Key Vault Crypto Service Release User", data_actions=[f"{_KV}/vaults/keys/release/action"]
    ),
    # Its ABAC condition limits the roles it may assign to the Key Vault data roles, Key Vault
    # Administrator included: still a full access administrator of every key in reach.
    "8b54135c-b56d-4d72-a534-26097cfdc8d8": _role(
        "Key Vault Data Access Administrator",
        actions=[
            f"{_AUTH}/roleAssignments/write", f"{_AUTH}/roleAssignments/delete", f"{_AUTH}/*/read",
            "Microsoft.Resources/deployments/*", "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.Resources/subscriptions/read", "Microsoft.Management/managementGroups/read",
            "Microsoft.Support/*", f"{_KV}/vaults/*/read",
        ],
    ),
    # Secrets and certificates roles: known, no key capability beyond metadata.
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": _role(
        "Key Vault Secrets Officer", actions=_KV_ROLE_ACTIONS, data_actions=[f"{_KV}/vaults/secrets/*"]
    ),
    "4633458b-17de-408a-b874-0445c86b69e6": _role(
        "Key Vault Secrets User",
        data_actions=[f"{_KV}/vaults/secrets/getSecret/action", f"{_KV}/vaults/secrets/readMetadata/action"],
    ),
    "a4417e6f-fecd-4de8-b567-7b0420556985": _role(
        "Key Vault Certificates Officer",
        actions=_KV_ROLE_ACTIONS,
        data_actions=[
            f"{_KV}/vaults/certificatecas/*", f"{_KV}/vaults/certificates/*",
            f"{_KV}/vaults/certificatecontacts/write",
        ],
    ),
    "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba": _role(
        "Key Vault Certificate User",
        data_actions=[
            f"{_KV}/vaults/certificates/read", f"{_KV}/vaults/secrets/getSecret/action",
            f"{_KV}/vaults/secrets/readMetadata/action", f"{_KV}/vaults/keys/read",
        ],
    ),
    "18500a29-7fe2-46b2-a342-b16a415e101d": _role(
        "Managed HSM contributor",
        actions=[
            f"{_KV}/managedHSMs/*", f"{_KV}/deletedManagedHsms/read",
            f"{_KV}/locations/deletedManagedHsms/read", f"{_KV}/locations/deletedManagedHsms/purge/action",
            f"{_KV}/locations/managedHsmOperationResults/read",
        ],
    ),
}


def _hsm(*ops: str) -> tuple[str, ...]:
    return tuple(f"{_KV}/managedHsm/{op}" for op in ops)


_HSM_ROLE_ADMIN = _hsm(
    "roleAssignments/delete/action", "roleAssignments/read/action", "roleAssignments/write/action",
    "roleDefinitions/read/action", "roleDefinitions/write/action", "roleDefinitions/delete/action",
)

# Managed HSM local built-in role GUID -> name and permissions, per [MHSM-LIVE] (the Restore role is
# newer than that recording: [MHSM]'s table).
_HSM_ROLES: dict[str, BuiltInRole] = {
    # Security domain, full backup/restore, role management; no key operation.
    "a290e904-7015-4bba-90c8-60543313cdb4": _role(
        "Managed HSM Administrator",
        data_actions=_HSM_ROLE_ADMIN + _hsm(
            "securitydomain/download/action", "securitydomain/download/read", "securitydomain/upload/action",
            "securitydomain/upload/read", "securitydomain/transferkey/read", "backup/start/action",
            "restore/start/action", "backup/status/action", "restore/status/action", "settings/read/action",
            "settings/write/action",
        ),
    ),
    # Role management, deleted keys (read, purge, recover) and export.
    "515eb02d-2335-4d2d-92f2-b1cbdf9c3778": _role(
        "Managed HSM Crypto Officer",
        data_actions=_HSM_ROLE_ADMIN + _hsm(
            "keys/deletedKeys/read/action", "keys/deletedKeys/delete", "keys/deletedKeys/recover/action",
            "keys/export/action",
        ),
    ),
    # Every key operation except purge, recover and export; reads the role assignments.
    "21dbd100-6940-42c2-9190-5d6cb909625b": _role(
        "Managed HSM Crypto User",
        data_actions=_hsm(
            "roleDefinitions/read/action", "roleAssignments/read/action", "keys/read/action",
            "keys/write/action", "keys/delete", "keys/create", "keys/rotate/action", "keys/import/action",
            "keys/release/action", "keys/backup/action", "keys/restore/action", "keys/encrypt/action",
            "keys/decrypt/action", "keys/wrap/action", "keys/unwrap/action", "keys/sign/action",
            "keys/verify/action", "keys/derive/action", "rng/action",
        ),
    ),
    "4bd23610-cdcf-4971-bdee-bdc562cc28e4": _role(
        "Managed HSM Policy Administrator",
        data_actions=_hsm(
            "roleDefinitions/read/action", "roleDefinitions/write/action", "roleDefinitions/delete/action",
            "roleAssignments/read/action", "roleAssignments/write/action", "roleAssignments/delete/action",
        ),
    ),
    "2c18b078-7c48-4d3a-af88-5a3a1b3f82b3": _role(
        "Managed HSM Crypto Auditor",
        data_actions=_hsm(
            "roleAssignments/read/action", "roleDefinitions/read/action", "keys/read/action",
            "keys/deletedKeys/read/action",
        ),
    ),
    "33413926-3206-4cdd-b39a-83574fe37a17": _role(
        "Managed HSM Crypto Service Encryption User",
        data_actions=_hsm("keys/read/action", "keys/wrap/action", "keys/unwrap/action"),
    ),
    "21dbd100-6940-42c2-9190-5d6cb909625c": _role(
        "Managed HSM Crypto Service Release User", data_actions=_hsm("keys/release/action")
    ),
    # [MHSM] calls it "Managed HSM Backup"; the HSM names it "Managed HSM Backup User".
    "7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8": _role(
        "Managed HSM Backup User",
        data_actions=_hsm("backup/start/action", "backup/status/action", "keys/backup/action"),
    ),
    "6efe6056-5259-49d2-8b3d-d3d73544b20b": _role(
        "Managed HSM Restore",
        data_actions=_hsm("restore/start/action", "restore/status/action", "keys/restore/action"),
    ),
}
# fmt: on

BUILT_IN_ROLES: Mapping[str, BuiltInRole] = MappingProxyType(dict(sorted(_BUILT_IN.items())))
MANAGED_HSM_ROLES: Mapping[str, BuiltInRole] = MappingProxyType(dict(sorted(_HSM_ROLES.items())))


def role_guid(role_definition_id: str) -> str:
    """The role definition's GUID, lowercased, from a full id or a bare GUID.

    ARM: ``/subscriptions/S/providers/Microsoft.Authorization/roleDefinitions/GUID`` or
    ``/providers/Microsoft.Authorization/roleDefinitions/GUID``; Managed HSM:
    ``Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/GUID``.
    """
    return role_definition_id.strip().rstrip("/").rsplit("/", 1)[-1].lower()


def capabilities_for_role(
    role_definition_id: str,
    custom: Mapping[str, Iterable[Mapping[str, object]]] | None = None,
    access_model: AccessModel | str | None = None,
) -> frozenset[Capability] | None:
    """Capabilities an assignment of the role gives on a key store of ``access_model``; ``None``: unknown.

    ``custom`` maps role definition ids (full ids or GUIDs, any case) to the ``permissions`` lists read
    from the API: custom roles, and built-in roles as the API returned them, which take precedence over the
    tables (they are the live definitions). Otherwise a GUID of ``BUILT_IN_ROLES`` or ``MANAGED_HSM_ROLES``
    uses the table. Any other role is unknown: the caller reports UNKNOWN and must never read ``None``
    as "no access".
    """
    guid = role_guid(role_definition_id)
    if custom:
        live = custom.get(role_definition_id)
        if live is None:
            live = next((v for k, v in custom.items() if role_guid(k) == guid), None)
        if live is not None:
            return capabilities_for_permissions(live, access_model)
    known = BUILT_IN_ROLES.get(guid, MANAGED_HSM_ROLES.get(guid))
    if known is not None:
        return capabilities_for_permissions(known.permissions, access_model)
    return None


# Per kind of key store: the operations with which a principal can give itself data-plane access to the
# store's keys (exactly those that give ADMINISTER_ACCESS there).
SELF_GRANT_OPERATIONS: Mapping[AccessModel, frozenset[str]] = MappingProxyType(
    {
        model: frozenset(
            op
            for table in (CONTROL_ACTIONS, DATA_ACTIONS)
            for op, effect in table.items()
            if Capability.ADMINISTER_ACCESS in effect.get(model, caps.NOTHING)
        )
        for model in AccessModel
    }
)


def self_grant_operations(
    permissions: Iterable[Mapping[str, object]], access_model: AccessModel | str | None = None
) -> frozenset[str]:
    """The operations of ``SELF_GRANT_OPERATIONS`` the permission blocks effectively allow.

    Empty when the holder cannot give itself data-plane access to a key store of ``access_model``
    (``None``: of any model). For evidence: on an access-policy vault, ``Microsoft.KeyVault/vaults/write``
    is how a Contributor can add itself an access policy with every key permission [RAP]; on an RBAC
    vault only ``Microsoft.Authorization/roleAssignments/write`` (or ``roleDefinitions/write``) does it.
    The capabilities need no adjusting: ``capabilities_for_permissions`` with the same model already holds
    ADMINISTER_ACCESS exactly when this is non-empty.
    """
    model = _model(access_model)
    control, data = effective_operations(permissions)
    models = tuple(AccessModel) if model is None else (model,)
    grants = frozenset().union(*(SELF_GRANT_OPERATIONS[m] for m in models))
    return (control | data) & grants


def can_grant_itself_data_access(
    permissions: Iterable[Mapping[str, object]], access_model: AccessModel | str | None = None
) -> bool:
    """Whether the holder can give itself data-plane access to a key store of ``access_model``."""
    return bool(self_grant_operations(permissions, access_model))


# Access-policy key permissions [KP] -> capabilities. An access policy gives no power over access itself:
# only writers of the vault change access policies.
_KEY_PERMISSIONS: dict[str, frozenset[Capability]] = {
    "get": caps.READ,
    "list": caps.READ,
    "getrotationpolicy": caps.READ,
    "update": caps.LIFECYCLE,
    "create": caps.LIFECYCLE,
    "rotate": caps.LIFECYCLE,
    "setrotationpolicy": caps.LIFECYCLE,
    "recover": caps.LIFECYCLE,
    "restore": caps.LIFECYCLE,
    "import": caps.IMPORT,
    "delete": caps.DESTROY,
    "purge": caps.DESTROY,
    "backup": caps.EXPORT,
    "release": caps.EXPORT,
    "encrypt": caps.ENCRYPT,
    "wrapKey": caps.ENCRYPT,
    "decrypt": caps.DECRYPT,
    "unwrapKey": caps.DECRYPT,
    "sign": caps.SIGN,
    "verify": caps.VERIFY,
}
ACCESS_POLICY_KEY_PERMISSIONS: Mapping[str, frozenset[Capability]] = MappingProxyType(
    {**dict(sorted(_KEY_PERMISSIONS.items())), "all": frozenset().union(*_KEY_PERMISSIONS.values())}
)
_KEY_PERMISSIONS_BY_LOWER: Mapping[str, frozenset[Capability]] = MappingProxyType(
    {name.lower(): c for name, c in ACCESS_POLICY_KEY_PERMISSIONS.items()}
)


def access_policy_capabilities(key_permissions: Iterable[str]) -> frozenset[Capability]:
    """Capabilities of an access policy's key permissions (case-insensitive, ``all``).

    Unknown names (secret or certificate permissions, newer ones) give nothing.
    """
    found = [_KEY_PERMISSIONS_BY_LOWER.get(str(p).strip().lower()) for p in key_permissions]
    return frozenset().union(*(c for c in found if c))
