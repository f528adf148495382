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

from providers import capsets as caps
from scanner.inventory import Capability

__all__ = [
    "PERMISSIONS",
    "PREDEFINED_ROLES",
    "capabilities_for_permissions",
    "capabilities_for_role",
]


_CLOUDKMS: dict[str, frozenset[Capability]] = {
    # --- change who can do what --------------------------------------------------------------------
    "cryptoKeys.setIamPolicy": caps.ADMIN,
    "keyRings.setIamPolicy": caps.ADMIN,
    "importJobs.setIamPolicy": caps.ADMIN,  # who may import material with the job
    "ekmConnections.setIamPolicy": caps.ADMIN,  # who may create keys on the external key manager
    "ekmConfigs.setIamPolicy": caps.ADMIN,
    # --- lifecycle ---------------------------------------------------------------------------------
    "keyRings.create": caps.LIFECYCLE,
    "cryptoKeys.create": caps.LIFECYCLE,
    "cryptoKeys.update": caps.LIFECYCLE,  # rotation schedule, labels, primary version
    "cryptoKeyVersions.create": caps.LIFECYCLE,  # rotate (a new version)
    "cryptoKeyVersions.update": caps.LIFECYCLE,  # enable / disable a version
    "cryptoKeyVersions.restore": caps.LIFECYCLE,  # cancel a scheduled destruction
    # Keys of algorithms that need an expert role to create or manage.
    "cryptoKeyVersions.manageRawAesCbcKeys": caps.LIFECYCLE,
    "cryptoKeyVersions.manageRawAesCtrKeys": caps.LIFECYCLE,
    "cryptoKeyVersions.manageRawPKCS1Keys": caps.LIFECYCLE,
    "cryptoKeyVersions.managePqcSign": caps.LIFECYCLE,
    # Tags can drive IAM conditions, so these are also access-relevant (like AWS TagResource).
    "keyRings.createTagBinding": caps.LIFECYCLE,
    "keyRings.deleteTagBinding": caps.LIFECYCLE,
    # External key manager (Cloud EKM) configuration: connections make EXTERNAL_VPC keys usable or not.
    "ekmConnections.create": caps.LIFECYCLE,
    "ekmConnections.update": caps.LIFECYCLE,
    "ekmConnections.use": caps.LIFECYCLE,  # create keys on the connection
    "ekmConfigs.update": caps.LIFECYCLE,
    # Autokey: the folder configuration and key handles (a handle makes the service agent create a key).
    "autokeyConfigs.update": caps.LIFECYCLE,
    "keyHandles.create": caps.LIFECYCLE,
    # Key Access Justifications policy configuration (which access reasons keys accept).
    "kajPolicyConfigs.update": caps.LIFECYCLE,
    # Opts a location out of a key-deletion safeguard (undocumented in [DOC]; in roles/cloudkms.admin).
    "locations.optOutKeyDeletionMsa": caps.LIFECYCLE,
    "importJobs.delete": caps.LIFECYCLE,
    # Deletion is not destruction (cloud.google.com/kms/docs/delete-kms-resources): it removes the record
    # of a version that is already DESTROYED, IMPORT_FAILED or GENERATION_FAILED (and then of a key with
    # no versions left) from listings. No key material is touched, so it is housekeeping.
    "cryptoKeyVersions.delete": caps.LIFECYCLE,
    "cryptoKeys.delete": caps.LIFECYCLE,
    "keyRings.delete": caps.LIFECYCLE,  # undocumented in [DOC]; admin/editor/owner per [DS]
    # Single-tenant Cloud HSM instances and their quorum-approved proposals.
    "singleTenantHsmInstances.create": caps.LIFECYCLE,
    "singleTenantHsmInstances.use": caps.LIFECYCLE,  # create keys in the instance
    "singleTenantHsmInstanceProposals.create": caps.LIFECYCLE,
    "singleTenantHsmInstanceProposals.approve": caps.LIFECYCLE,
    "singleTenantHsmInstanceProposals.execute": caps.LIFECYCLE,
    "singleTenantHsmInstanceProposals.delete": caps.LIFECYCLE,
    # --- destruction -------------------------------------------------------------------------------
    "cryptoKeyVersions.destroy": caps.DESTROY,  # schedule destruction of key material
    # --- key material import (BYOK) ----------------------------------------------------------------
    "importJobs.create": caps.IMPORT,
    "importJobs.useToImport": caps.IMPORT,
    # Undocumented in [DOC] (admin, importer, editor, owner per [DS]); by its name it moves key material
    # in and out between trusted HSMs, so it is counted as both import and export (the safe side).
    "cryptoKeyVersions.trustedImportExport": frozenset({Capability.IMPORT_MATERIAL, Capability.EXPORT}),
    # --- cryptographic use -------------------------------------------------------------------------
    "cryptoKeyVersions.useToEncrypt": caps.ENCRYPT,
    "cryptoKeyVersions.useToEncryptViaDelegation": caps.ENCRYPT,  # see the module docstring
    "cryptoKeyVersions.useToDecrypt": caps.DECRYPT,
    "cryptoKeyVersions.useToDecryptViaDelegation": caps.DECRYPT,  # see the module docstring
    "cryptoKeyVersions.useToDecapsulate": caps.DECRYPT,  # ML-KEM: recovers the shared secret
    "cryptoKeyVersions.useToSign": caps.SIGN,  # AsymmetricSign and MacSign
    "cryptoKeyVersions.useToVerify": caps.VERIFY,  # MacVerify
    # --- metadata ----------------------------------------------------------------------------------
    # A public key is public by design: using it outside KMS is not a use KMS controls.
    "cryptoKeyVersions.viewPublicKey": caps.READ,
    "cryptoKeyVersions.get": caps.READ,
    "cryptoKeyVersions.list": caps.READ,
    "cryptoKeys.get": caps.READ,
    "cryptoKeys.list": caps.READ,
    "cryptoKeys.getIamPolicy": caps.READ,
    "keyRings.get": caps.READ,
    "keyRings.list": caps.READ,
    "keyRings.getIamPolicy": caps.READ,
    "keyRings.listEffectiveTags": caps.READ,
    "keyRings.listTagBindings": caps.READ,
    "importJobs.get": caps.READ,
    "importJobs.list": caps.READ,
    "importJobs.getIamPolicy": caps.READ,
    "ekmConnections.get": caps.READ,
    "ekmConnections.list": caps.READ,
    "ekmConnections.getIamPolicy": caps.READ,
    "ekmConnections.verifyConnectivity": caps.READ,  # a health check, logged as ADMIN_READ
    "ekmConfigs.get": caps.READ,
    "ekmConfigs.getIamPolicy": caps.READ,
    "autokeyConfigs.get": caps.READ,
    "keyHandles.get": caps.READ,
    "keyHandles.list": caps.READ,
    "kajPolicyConfigs.get": caps.READ,
    "operations.get": caps.READ,
    "folders.showEffectiveAutokeyConfig": caps.READ,
    "projects.showEffectiveAutokeyConfig": caps.READ,
    "projects.showEffectiveKajEnrollmentConfig": caps.READ,
    "projects.showEffectiveKajPolicyConfig": caps.READ,
    "protectedResources.search": caps.READ,
    "protectableResources.list": caps.READ,
    "retiredResources.get": caps.READ,
    "retiredResources.list": caps.READ,
    "singleTenantHsmInstances.get": caps.READ,
    "singleTenantHsmInstances.list": caps.READ,
    "singleTenantHsmInstanceProposals.get": caps.READ,
    "singleTenantHsmInstanceProposals.list": caps.READ,
    # --- not about a key ---------------------------------------------------------------------------
    "locations.generateRandomBytes": caps.NOTHING,
    # Which regions the API serves: every use role carries these, and they reveal nothing about keys.
    "locations.get": caps.NOTHING,
    "locations.list": caps.NOTHING,
}

_HIERARCHY_AND_IAM: dict[str, frozenset[Capability]] = {
    # An allow policy on a project, folder or organization reaches every key below it.
    "resourcemanager.projects.setIamPolicy": caps.ADMIN,
    "resourcemanager.folders.setIamPolicy": caps.ADMIN,
    "resourcemanager.organizations.setIamPolicy": caps.ADMIN,
    "resourcemanager.projects.getIamPolicy": caps.READ,
    "resourcemanager.folders.getIamPolicy": caps.READ,
    "resourcemanager.organizations.getIamPolicy": caps.READ,
    # Editing (or undeleting) a custom role changes what every binding of that role grants.
    "iam.roles.update": caps.ADMIN,
    "iam.roles.undelete": caps.ADMIN,
    # A new role grants nothing until someone who can set IAM policies binds it; deleting one only
    # takes access away.
    "iam.roles.create": caps.NOTHING,
    "iam.roles.delete": caps.NOTHING,
    "iam.roles.get": caps.NOTHING,
    "iam.roles.list": caps.NOTHING,
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
