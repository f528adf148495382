"""Cloud KMS IAM permissions and predefined roles -> provider-neutral capabilities (pure, no SDK import).

Two tables:

* ``PERMISSIONS``: every IAM permission of the ``cloudkms`` service, plus the Resource Manager and IAM
  permissions with which a principal can give itself (or anyone) Cloud KMS access: ``setIamPolicy`` on a
  project, folder or organization reaches every key below it, and whoever can edit a custom role can
  add Cloud KMS permissions to bindings that already use it.
* ``PREDEFINED_ROLES``: the predefined roles that can touch Cloud KMS -> their permissions *that appear in*
  ``PERMISSIONS`` (the rest of a role, e.g. ``resourcemanager.projects.get`` or the thousands of other
  services' permissions of ``roles/owner``, gives no power over keys and is left out).

Sources (checked 2025/2026; cite these when a role changes):

* [DS] iann0036/iam-dataset ``gcp/role_permissions.json`` at commit 2073fa52: permission -> every
  predefined role that includes it, generated from the IAM ``roles.list(view=FULL)`` API. The whole
  ``cloudkms.*`` section was read, so for every Cloud KMS permission the set of roles below is exact for
  that snapshot (including ``roles/owner``, ``roles/editor`` and ``roles/viewer``).
* [RF] the same repository's ``gcp/roles/<role>.json`` role definitions (small roles, read in full).
* [DOC] cloud.google.com/iam/docs/roles-permissions/cloudkms (Cloud KMS roles and permissions), which
  agrees with [DS] for ``roles/cloudkms.admin``, including its two ``...ViaDelegation`` permissions.

``cloudkms.cryptoKeyVersions.useTo{En,De}cryptViaDelegation`` count as encrypt/decrypt: they let another
Google service encrypt or decrypt *on the caller's behalf*, e.g. BigQuery's ``KEYS.KEYSET_CHAIN`` unwraps
a KMS-wrapped keyset for a user holding ``roles/cloudkms.cryptoKeyDecrypterViaDelegation`` and returns
plaintext to the query. ``roles/cloudkms.admin`` includes both (per [DS] and [DOC]), so an admin binding
gives ENCRYPT and DECRYPT too: over-approximating access is the safe side for segregation of duties.

There is no ``cloudkms.cryptoKeyVersions.import`` permission: ``ImportCryptoKeyVersion`` is authorised by
``cloudkms.importJobs.useToImport`` (on the import job) with ``cloudkms.cryptoKeyVersions.create``.
GCP custom roles cannot hold wildcards, so permission names are matched exactly; unknown names (other
services, misspellings, permissions newer than this table) are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from providers.capsets import (
    ADMIN as _ADMIN,
)
from providers.capsets import (
    DECRYPT as _DECRYPT,
)
from providers.capsets import (
    DESTROY as _DESTROY,
)
from providers.capsets import (
    ENCRYPT as _ENCRYPT,
)
from providers.capsets import (
    IMPORT as _IMPORT,
)
from providers.capsets import (
    LIFECYCLE as _LIFECYCLE,
)
from providers.capsets import (
    NOTHING as _NOTHING,
)
from providers.capsets import (
    READ as _READ,
)
from providers.capsets import (
    SIGN as _SIGN,
)
from providers.capsets import (
    VERIFY as _VERIFY,
)
from scanner.inventory import Capability

__all__ = [
    "PERMISSIONS",
    "PREDEFINED_ROLES",
    "capabilities_for_permissions",
    "capabilities_for_role",
]


_CLOUDKMS: dict[str, frozenset[Capability]] = {
    # --- change who can do what --------------------------------------------------------------------
    "cryptoKeys.setIamPolicy": _ADMIN,
    "keyRings.setIamPolicy": _ADMIN,
    "importJobs.setIamPolicy": _ADMIN,  # who may import material with the job
    "ekmConnections.setIamPolicy": _ADMIN,  # who may create keys on the external key manager
    "ekmConfigs.setIamPolicy": _ADMIN,
    # --- lifecycle ---------------------------------------------------------------------------------
    "keyRings.create": _LIFECYCLE,
    "cryptoKeys.create": _LIFECYCLE,
    "cryptoKeys.update": _LIFECYCLE,  # rotation schedule, labels, primary version
    "cryptoKeyVersions.create": _LIFECYCLE,  # rotate (a new version)
    "cryptoKeyVersions.update": _LIFECYCLE,  # enable / disable a version
    "cryptoKeyVersions.restore": _LIFECYCLE,  # cancel a scheduled destruction
    # Keys of algorithms that need an expert role to create or manage.
    "cryptoKeyVersions.manageRawAesCbcKeys": _LIFECYCLE,
    "cryptoKeyVersions.manageRawAesCtrKeys": _LIFECYCLE,
    "cryptoKeyVersions.manageRawPKCS1Keys": _LIFECYCLE,
    "cryptoKeyVersions.managePqcSign": _LIFECYCLE,
    # Tags can drive IAM conditions, so these are also access-relevant (like AWS TagResource).
    "keyRings.createTagBinding": _LIFECYCLE,
    "keyRings.deleteTagBinding": _LIFECYCLE,
    # External key manager (Cloud EKM) configuration: connections make EXTERNAL_VPC keys usable or not.
    "ekmConnections.create": _LIFECYCLE,
    "ekmConnections.update": _LIFECYCLE,
    "ekmConnections.use": _LIFECYCLE,  # create keys on the connection
    "ekmConfigs.update": _LIFECYCLE,
    # Autokey: the folder configuration and key handles (a handle makes the service agent create a key).
    "autokeyConfigs.update": _LIFECYCLE,
    "keyHandles.create": _LIFECYCLE,
    # Key Access Justifications policy configuration (which access reasons keys accept).
    "kajPolicyConfigs.update": _LIFECYCLE,
    # Opts a location out of a key-deletion safeguard (undocumented in [DOC]; in roles/cloudkms.admin).
    "locations.optOutKeyDeletionMsa": _LIFECYCLE,
    "importJobs.delete": _LIFECYCLE,
    # Deletion is not destruction (cloud.google.com/kms/docs/delete-kms-resources): it removes the record
    # of a version that is already DESTROYED, IMPORT_FAILED or GENERATION_FAILED (and then of a key with
    # no versions left) from listings. No key material is touched, so it is housekeeping.
    "cryptoKeyVersions.delete": _LIFECYCLE,
    "cryptoKeys.delete": _LIFECYCLE,
    "keyRings.delete": _LIFECYCLE,  # undocumented in [DOC]; admin/editor/owner per [DS]
    # Single-tenant Cloud HSM instances and their quorum-approved proposals.
    "singleTenantHsmInstances.create": _LIFECYCLE,
    "singleTenantHsmInstances.use": _LIFECYCLE,  # create keys in the instance
    "singleTenantHsmInstanceProposals.create": _LIFECYCLE,
    "singleTenantHsmInstanceProposals.approve": _LIFECYCLE,
    "singleTenantHsmInstanceProposals.execute": _LIFECYCLE,
    "singleTenantHsmInstanceProposals.delete": _LIFECYCLE,
    # --- destruction -------------------------------------------------------------------------------
    "cryptoKeyVersions.destroy": _DESTROY,  # schedule destruction of key material
    # --- key material import (BYOK) ----------------------------------------------------------------
    "importJobs.create": _IMPORT,
    "importJobs.useToImport": _IMPORT,
    # Undocumented in [DOC] (admin, importer, editor, owner per [DS]); by its name it moves key material
    # in and out between trusted HSMs, so it is counted as both import and export (the safe side).
    "cryptoKeyVersions.trustedImportExport": frozenset({Capability.IMPORT_MATERIAL, Capability.EXPORT}),
    # --- cryptographic use -------------------------------------------------------------------------
    "cryptoKeyVersions.useToEncrypt": _ENCRYPT,
    "cryptoKeyVersions.useToEncryptViaDelegation": _ENCRYPT,  # see the module docstring
    "cryptoKeyVersions.useToDecrypt": _DECRYPT,
    "cryptoKeyVersions.useToDecryptViaDelegation": _DECRYPT,  # see the module docstring
    "cryptoKeyVersions.useToDecapsulate": _DECRYPT,  # ML-KEM: recovers the shared secret
    "cryptoKeyVersions.useToSign": _SIGN,  # AsymmetricSign and MacSign
    "cryptoKeyVersions.useToVerify": _VERIFY,  # MacVerify
    # --- metadata ----------------------------------------------------------------------------------
    # A public key is public by design: using it outside KMS is not a use KMS controls.
    "cryptoKeyVersions.viewPublicKey": _READ,
    "cryptoKeyVersions.get": _READ,
    "cryptoKeyVersions.list": _READ,
    "cryptoKeys.get": _READ,
    "cryptoKeys.list": _READ,
    "cryptoKeys.getIamPolicy": _READ,
    "keyRings.get": _READ,
    "keyRings.list": _READ,
    "keyRings.getIamPolicy": _READ,
    "keyRings.listEffectiveTags": _READ,
    "keyRings.listTagBindings": _READ,
    "importJobs.get": _READ,
    "importJobs.list": _READ,
    "importJobs.getIamPolicy": _READ,
    "ekmConnections.get": _READ,
    "ekmConnections.list": _READ,
    "ekmConnections.getIamPolicy": _READ,
    "ekmConnections.verifyConnectivity": _READ,  # a health check, logged as ADMIN_READ
    "ekmConfigs.get": _READ,
    "ekmConfigs.getIamPolicy": _READ,
    "autokeyConfigs.get": _READ,
    "keyHandles.get": _READ,
    "keyHandles.list": _READ,
    "kajPolicyConfigs.get": _READ,
    "operations.get": _READ,
    "folders.showEffectiveAutokeyConfig": _READ,
    "projects.showEffectiveAutokeyConfig": _READ,
    "projects.showEffectiveKajEnrollmentConfig": _READ,
    "projects.showEffectiveKajPolicyConfig": _READ,
    "protectedResources.search": _READ,
    "protectableResources.list": _READ,
    "retiredResources.get": _READ,
    "retiredResources.list": _READ,
    "singleTenantHsmInstances.get": _READ,
    "singleTenantHsmInstances.list": _READ,
    "singleTenantHsmInstanceProposals.get": _READ,
    "singleTenantHsmInstanceProposals.list": _READ,
    # --- not about a key ---------------------------------------------------------------------------
    "locations.generateRandomBytes": _NOTHING,
    # Which regions the API serves: every use role carries these, and they reveal nothing about keys.
    "locations.get": _NOTHING,
    "locations.list": _NOTHING,
}

_HIERARCHY_AND_IAM: dict[str, frozenset[Capability]] = {
    # An allow policy on a project, folder or organization reaches every key below it.
    "resourcemanager.projects.setIamPolicy": _ADMIN,
    "resourcemanager.folders.setIamPolicy": _ADMIN,
    "resourcemanager.organizations.setIamPolicy": _ADMIN,
    "resourcemanager.projects.getIamPolicy": _READ,
    "resourcemanager.folders.getIamPolicy": _READ,
    "resourcemanager.organizations.getIamPolicy": _READ,
    # Editing (or undeleting) a custom role changes what every binding of that role grants.
    "iam.roles.update": _ADMIN,
    "iam.roles.undelete": _ADMIN,
    # A new role grants nothing until someone who can set IAM policies binds it; deleting one only
    # takes access away.
    "iam.roles.create": _NOTHING,
    "iam.roles.delete": _NOTHING,
    "iam.roles.get": _NOTHING,
    "iam.roles.list": _NOTHING,
}

# The one permission table: IAM permission name -> capabilities.
PERMISSIONS: Mapping[str, frozenset[Capability]] = MappingProxyType(
    {
        **{f"cloudkms.{name}": caps for name, caps in sorted(_CLOUDKMS.items())},
        **dict(sorted(_HIERARCHY_AND_IAM.items())),
    }
)

_CLOUDKMS_PERMISSIONS: frozenset[str] = frozenset(f"cloudkms.{name}" for name in _CLOUDKMS)


def _kms(*names: str) -> frozenset[str]:
    return frozenset(f"cloudkms.{name}" for name in names)


_LOCATIONS = _kms("locations.get", "locations.list")
_IAM_ROLES_ALL = frozenset(
    {
        "iam.roles.create",
        "iam.roles.delete",
        "iam.roles.get",
        "iam.roles.list",
        "iam.roles.undelete",
        "iam.roles.update",
    }
)

# fmt: off
# Predefined role -> its permissions that appear in PERMISSIONS. Source per role in the comment:
# [DS]/[RF]/[DOC] as in the module docstring.
_ROLES: dict[str, frozenset[str]] = {
    # --- basic roles -------------------------------------------------------------------------------
    # [DS]: roles/owner is listed for every cloudkms.* permission (use, destroy and setIamPolicy included).
    # Project IAM and custom-role management are the Owner-only additions to Editor (IAM basic roles doc).
    "roles/owner": _CLOUDKMS_PERMISSIONS
    | {"resourcemanager.projects.getIamPolicy", "resourcemanager.projects.setIamPolicy"}
    | _IAM_ROLES_ALL,
    # [DS]: create/update/delete and import, but no setIamPolicy, no destroy/restore, and no useTo*
    # (neither direct nor via delegation) and no viewPublicKey.
    "roles/editor": _kms(
        "autokeyConfigs.get", "autokeyConfigs.update",
        "cryptoKeyVersions.create", "cryptoKeyVersions.delete", "cryptoKeyVersions.get",
        "cryptoKeyVersions.list", "cryptoKeyVersions.trustedImportExport", "cryptoKeyVersions.update",
        "cryptoKeys.create", "cryptoKeys.delete", "cryptoKeys.get", "cryptoKeys.getIamPolicy",
        "cryptoKeys.list", "cryptoKeys.update",
        "ekmConfigs.get", "ekmConfigs.getIamPolicy", "ekmConfigs.update",
        "ekmConnections.create", "ekmConnections.get", "ekmConnections.getIamPolicy",
        "ekmConnections.list", "ekmConnections.update", "ekmConnections.use",
        "ekmConnections.verifyConnectivity",
        "folders.showEffectiveAutokeyConfig",
        "importJobs.create", "importJobs.delete", "importJobs.get", "importJobs.getIamPolicy",
        "importJobs.list", "importJobs.useToImport",
        "kajPolicyConfigs.get", "kajPolicyConfigs.update",
        "keyHandles.create", "keyHandles.get", "keyHandles.list",
        "keyRings.create", "keyRings.delete", "keyRings.get", "keyRings.getIamPolicy", "keyRings.list",
        "keyRings.listEffectiveTags", "keyRings.listTagBindings",
        "locations.generateRandomBytes", "locations.get", "locations.list",
        "operations.get",
        "projects.showEffectiveAutokeyConfig", "projects.showEffectiveKajEnrollmentConfig",
        "projects.showEffectiveKajPolicyConfig",
        "protectableResources.list", "protectedResources.search",
        "retiredResources.get", "retiredResources.list",
        "singleTenantHsmInstanceProposals.approve", "singleTenantHsmInstanceProposals.create",
        "singleTenantHsmInstanceProposals.delete", "singleTenantHsmInstanceProposals.execute",
        "singleTenantHsmInstanceProposals.get", "singleTenantHsmInstanceProposals.list",
        "singleTenantHsmInstances.create", "singleTenantHsmInstances.get", "singleTenantHsmInstances.list",
        "singleTenantHsmInstances.use",
    ),
    # [DS]: reads only (getIamPolicy included).
    "roles/viewer": _kms(
        "autokeyConfigs.get",
        "cryptoKeyVersions.get", "cryptoKeyVersions.list",
        "cryptoKeys.get", "cryptoKeys.getIamPolicy", "cryptoKeys.list",
        "ekmConfigs.get", "ekmConfigs.getIamPolicy",
        "ekmConnections.get", "ekmConnections.getIamPolicy", "ekmConnections.list",
        "ekmConnections.verifyConnectivity",
        "folders.showEffectiveAutokeyConfig",
        "importJobs.get", "importJobs.getIamPolicy", "importJobs.list",
        "kajPolicyConfigs.get",
        "keyHandles.get", "keyHandles.list",
        "keyRings.get", "keyRings.getIamPolicy", "keyRings.list", "keyRings.listEffectiveTags",
        "keyRings.listTagBindings",
        "locations.generateRandomBytes", "locations.get", "locations.list",
        "operations.get",
        "projects.showEffectiveAutokeyConfig", "projects.showEffectiveKajEnrollmentConfig",
        "projects.showEffectiveKajPolicyConfig",
        "protectableResources.list", "protectedResources.search",
        "retiredResources.get", "retiredResources.list",
        "singleTenantHsmInstanceProposals.get", "singleTenantHsmInstanceProposals.list",
        "singleTenantHsmInstances.get", "singleTenantHsmInstances.list",
    ),
    # --- Cloud KMS roles ---------------------------------------------------------------------------
    # [DOC] + [DS]: management of everything incl. setIamPolicy, destroy and restore; no direct useTo*,
    # but both ...ViaDelegation permissions.
    "roles/cloudkms.admin": _kms(
        "autokeyConfigs.get", "autokeyConfigs.update",
        "cryptoKeyVersions.create", "cryptoKeyVersions.delete", "cryptoKeyVersions.destroy",
        "cryptoKeyVersions.get", "cryptoKeyVersions.list", "cryptoKeyVersions.restore",
        "cryptoKeyVersions.trustedImportExport", "cryptoKeyVersions.update",
        "cryptoKeyVersions.useToDecryptViaDelegation", "cryptoKeyVersions.useToEncryptViaDelegation",
        "cryptoKeys.create", "cryptoKeys.delete", "cryptoKeys.get", "cryptoKeys.getIamPolicy",
        "cryptoKeys.list", "cryptoKeys.setIamPolicy", "cryptoKeys.update",
        "ekmConfigs.get", "ekmConfigs.getIamPolicy", "ekmConfigs.setIamPolicy", "ekmConfigs.update",
        "ekmConnections.create", "ekmConnections.get", "ekmConnections.getIamPolicy",
        "ekmConnections.list", "ekmConnections.setIamPolicy", "ekmConnections.update",
        "ekmConnections.use", "ekmConnections.verifyConnectivity",
        "folders.showEffectiveAutokeyConfig",
        "importJobs.create", "importJobs.delete", "importJobs.get", "importJobs.getIamPolicy",
        "importJobs.list", "importJobs.setIamPolicy", "importJobs.useToImport",
        "kajPolicyConfigs.get", "kajPolicyConfigs.update",
        "keyHandles.create", "keyHandles.get", "keyHandles.list",
        "keyRings.create", "keyRings.createTagBinding", "keyRings.delete", "keyRings.deleteTagBinding",
        "keyRings.get", "keyRings.getIamPolicy", "keyRings.list", "keyRings.listEffectiveTags",
        "keyRings.listTagBindings", "keyRings.setIamPolicy",
        "locations.get", "locations.list", "locations.optOutKeyDeletionMsa",
        "operations.get",
        "projects.showEffectiveAutokeyConfig", "projects.showEffectiveKajEnrollmentConfig",
        "projects.showEffectiveKajPolicyConfig",
        "retiredResources.get", "retiredResources.list",
        "singleTenantHsmInstanceProposals.delete", "singleTenantHsmInstanceProposals.get",
        "singleTenantHsmInstanceProposals.list",
        "singleTenantHsmInstances.create", "singleTenantHsmInstances.get", "singleTenantHsmInstances.list",
        "singleTenantHsmInstances.use",
    ),
    # [RF] + [DS]
    "roles/cloudkms.cryptoKeyEncrypterDecrypter": _kms(
        "cryptoKeyVersions.useToEncrypt", "cryptoKeyVersions.useToDecrypt"
    )
    | _LOCATIONS,
    "roles/cloudkms.cryptoKeyEncrypter": _kms("cryptoKeyVersions.useToEncrypt") | _LOCATIONS,
    "roles/cloudkms.cryptoKeyDecrypter": _kms("cryptoKeyVersions.useToDecrypt") | _LOCATIONS,
    "roles/cloudkms.cryptoOperator": _kms(
        "cryptoKeyVersions.useToDecapsulate", "cryptoKeyVersions.useToDecrypt",
        "cryptoKeyVersions.useToEncrypt", "cryptoKeyVersions.useToSign", "cryptoKeyVersions.useToVerify",
        "cryptoKeyVersions.viewPublicKey", "locations.generateRandomBytes",
    )
    | _LOCATIONS,
    "roles/cloudkms.signer": _kms("cryptoKeyVersions.useToSign") | _LOCATIONS,
    "roles/cloudkms.signerVerifier": _kms(
        "cryptoKeyVersions.useToSign", "cryptoKeyVersions.useToVerify", "cryptoKeyVersions.viewPublicKey"
    )
    | _LOCATIONS,
    "roles/cloudkms.verifier": _kms("cryptoKeyVersions.useToVerify", "cryptoKeyVersions.viewPublicKey")
    | _LOCATIONS,
    "roles/cloudkms.publicKeyViewer": _kms("cryptoKeyVersions.viewPublicKey") | _LOCATIONS,
    # [DS] (not yet in [DOC]): ML-KEM decapsulation.
    "roles/cloudkms.decapsulator": _kms(
        "cryptoKeyVersions.useToDecapsulate", "cryptoKeyVersions.viewPublicKey"
    )
    | _LOCATIONS,
    "roles/cloudkms.cryptoKeyEncrypterDecrypterViaDelegation": _kms(
        "cryptoKeyVersions.useToEncryptViaDelegation", "cryptoKeyVersions.useToDecryptViaDelegation"
    )
    | _LOCATIONS,
    "roles/cloudkms.cryptoKeyEncrypterViaDelegation": _kms("cryptoKeyVersions.useToEncryptViaDelegation")
    | _LOCATIONS,
    "roles/cloudkms.cryptoKeyDecrypterViaDelegation": _kms("cryptoKeyVersions.useToDecryptViaDelegation")
    | _LOCATIONS,
    # [DS]: no getIamPolicy (only the basic roles/viewer has it).
    "roles/cloudkms.viewer": _kms(
        "autokeyConfigs.get",
        "cryptoKeyVersions.get", "cryptoKeyVersions.list",
        "cryptoKeys.get", "cryptoKeys.list",
        "ekmConfigs.get",
        "ekmConnections.get", "ekmConnections.list",
        "folders.showEffectiveAutokeyConfig",
        "importJobs.get", "importJobs.list",
        "kajPolicyConfigs.get",
        "keyHandles.get", "keyHandles.list",
        "keyRings.get", "keyRings.list",
        "locations.get", "locations.list",
        "operations.get",
        "projects.showEffectiveAutokeyConfig",
        "protectableResources.list",
        "retiredResources.get", "retiredResources.list",
        "singleTenantHsmInstanceProposals.get", "singleTenantHsmInstanceProposals.list",
        "singleTenantHsmInstances.get", "singleTenantHsmInstances.list",
    ),
    "roles/cloudkms.importer": _kms(
        "importJobs.create", "importJobs.get", "importJobs.list", "importJobs.useToImport",
        "cryptoKeyVersions.trustedImportExport",
    )
    | _LOCATIONS,
    "roles/cloudkms.ekmConnectionsAdmin": _kms(
        "ekmConfigs.get", "ekmConfigs.update",
        "ekmConnections.create", "ekmConnections.get", "ekmConnections.list", "ekmConnections.update",
        "ekmConnections.verifyConnectivity",
    ),
    "roles/cloudkms.autokeyAdmin": _kms(
        "autokeyConfigs.get", "autokeyConfigs.update",
        "folders.showEffectiveAutokeyConfig", "projects.showEffectiveAutokeyConfig",
    ),
    "roles/cloudkms.autokeyUser": _kms(
        "keyHandles.create", "keyHandles.get", "keyHandles.list", "operations.get",
        "projects.showEffectiveAutokeyConfig",
    ),
    "roles/cloudkms.protectedResourcesViewer": _kms("protectedResources.search"),
    "roles/cloudkms.encryptionDashboardViewer": _kms("cryptoKeys.list", "protectableResources.list"),
    "roles/cloudkms.expertRawAesCbc": _kms("cryptoKeyVersions.manageRawAesCbcKeys") | _LOCATIONS,
    "roles/cloudkms.expertRawAesCtr": _kms("cryptoKeyVersions.manageRawAesCtrKeys") | _LOCATIONS,
    "roles/cloudkms.expertRawPKCS1": _kms("cryptoKeyVersions.manageRawPKCS1Keys") | _LOCATIONS,
    "roles/cloudkms.expertPqcSigner": _kms("cryptoKeyVersions.managePqcSign") | _LOCATIONS,
    "roles/cloudkms.keyAccessJustificationsPolicyConfigAdmin": _kms(
        "kajPolicyConfigs.get", "kajPolicyConfigs.update", "projects.showEffectiveKajPolicyConfig"
    ),
    "roles/cloudkms.keyAccessJustificationsEnrollmentConfigViewer": _kms(
        "projects.showEffectiveKajEnrollmentConfig"
    ),
    "roles/cloudkms.hsmSingleTenantProposer": _kms(
        "singleTenantHsmInstanceProposals.create", "singleTenantHsmInstanceProposals.delete",
        "singleTenantHsmInstanceProposals.get", "singleTenantHsmInstanceProposals.list",
        "singleTenantHsmInstances.create", "singleTenantHsmInstances.get", "singleTenantHsmInstances.list",
        "operations.get",
    ),
    "roles/cloudkms.hsmSingleTenantQuorumMember": _kms(
        "singleTenantHsmInstanceProposals.approve", "singleTenantHsmInstanceProposals.get",
        "singleTenantHsmInstanceProposals.list",
        "singleTenantHsmInstances.get", "singleTenantHsmInstances.list", "operations.get",
    ),
    "roles/cloudkms.hsmSingleTenantExecutor": _kms(
        "singleTenantHsmInstanceProposals.execute", "singleTenantHsmInstanceProposals.get",
        "singleTenantHsmInstanceProposals.list",
        "singleTenantHsmInstances.get", "singleTenantHsmInstances.list", "operations.get",
    ),
    "roles/cloudkms.hsmSingleTenantKeyCreator": _kms(
        "singleTenantHsmInstances.get", "singleTenantHsmInstances.list", "singleTenantHsmInstances.use"
    ),
    # The Cloud KMS (Autokey) service agent's role: creates keys and sets their IAM policies.
    "roles/cloudkms.serviceAgent": _kms(
        "cryptoKeys.create", "cryptoKeys.getIamPolicy", "cryptoKeys.setIamPolicy", "keyRings.create",
        "keyRings.get",
    ),
    # --- IAM administration over the hierarchy -----------------------------------------------------
    # [RF] resourcemanager.projectIamAdmin / folderIamAdmin / organizationAdmin.
    "roles/resourcemanager.projectIamAdmin": frozenset(
        {"resourcemanager.projects.getIamPolicy", "resourcemanager.projects.setIamPolicy"}
    ),
    "roles/resourcemanager.folderIamAdmin": frozenset(
        {"resourcemanager.folders.getIamPolicy", "resourcemanager.folders.setIamPolicy"}
    ),
    "roles/resourcemanager.organizationAdmin": frozenset(
        {
            "resourcemanager.folders.getIamPolicy",
            "resourcemanager.folders.setIamPolicy",
            "resourcemanager.organizations.getIamPolicy",
            "resourcemanager.organizations.setIamPolicy",
            "resourcemanager.projects.getIamPolicy",
            "resourcemanager.projects.setIamPolicy",
        }
    ),
    # [RF] iam.securityAdmin (set any IAM policy) + [DS] for its cloudkms.* part (no use, no lifecycle).
    "roles/iam.securityAdmin": _kms(
        "cryptoKeyVersions.list",
        "cryptoKeys.getIamPolicy", "cryptoKeys.list", "cryptoKeys.setIamPolicy",
        "ekmConfigs.getIamPolicy", "ekmConfigs.setIamPolicy",
        "ekmConnections.getIamPolicy", "ekmConnections.list", "ekmConnections.setIamPolicy",
        "importJobs.getIamPolicy", "importJobs.list", "importJobs.setIamPolicy",
        "keyHandles.list",
        "keyRings.getIamPolicy", "keyRings.list", "keyRings.setIamPolicy",
        "locations.list", "protectableResources.list", "retiredResources.list",
        "singleTenantHsmInstances.list",
    )
    | {
        "resourcemanager.folders.getIamPolicy", "resourcemanager.folders.setIamPolicy",
        "resourcemanager.organizations.getIamPolicy", "resourcemanager.organizations.setIamPolicy",
        "resourcemanager.projects.getIamPolicy", "resourcemanager.projects.setIamPolicy",
        "iam.roles.get", "iam.roles.list",
    },
    # [RF] custom-role administrators.
    "roles/iam.roleAdmin": _IAM_ROLES_ALL | {"resourcemanager.projects.getIamPolicy"},
    "roles/iam.organizationRoleAdmin": _IAM_ROLES_ALL
    | {"resourcemanager.organizations.getIamPolicy", "resourcemanager.projects.getIamPolicy"},
}
# fmt: on

PREDEFINED_ROLES: Mapping[str, frozenset[str]] = MappingProxyType(dict(sorted(_ROLES.items())))


def capabilities_for_permissions(perms: Iterable[str]) -> frozenset[Capability]:
    """Union of the capabilities of the permissions; names not in ``PERMISSIONS`` give nothing."""
    found = [PERMISSIONS.get(p) for p in perms]
    return frozenset().union(*(caps for caps in found if caps))


def capabilities_for_role(
    role: str, custom_roles: Mapping[str, Iterable[str]]
) -> frozenset[Capability] | None:
    """Capabilities a binding of ``role`` gives, or ``None`` when the role's permissions are not known.

    ``custom_roles`` maps full role names (``projects/P/roles/R``, ``organizations/O/roles/R``) to their
    ``includedPermissions`` as the collector read them; a definition read from the API there also takes
    precedence over the built-in table for a predefined ``roles/...`` name (it is the live definition).
    ``None`` means "unknown role": the caller reports UNKNOWN, it must never read it as "no access".
    """
    live = custom_roles.get(role)
    if live is not None:
        return capabilities_for_permissions(live)
    builtin = PREDEFINED_ROLES.get(role)
    if builtin is not None:
        return capabilities_for_permissions(builtin)
    return None
