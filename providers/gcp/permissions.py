"""Cloud KMS IAM permissions and predefined roles -> provider-neutral capabilities (pure, no SDK import).

Two tables:

* ``PERMISSIONS``: every IAM permission of the ``cloudkms`` service, plus the Resource Manager and IAM
  permissions with which a principal can give itself (or anyone) Cloud KMS access: ``setIamPolicy`` on a
  project, folder or organization reaches every key below it, and whoever can edit a custom role can
  add Cloud KMS permissions to bindings that already use it.
* ``PREDEFINED_ROLES``: every predefined role that holds at least one permission of ``PERMISSIONS`` ->
  its permissions *that appear in* ``PERMISSIONS`` (the rest of a role, e.g. ``storage.buckets.get`` or
  the thousands of other services' permissions of ``roles/owner``, gives no power over keys and is left
  out).

Sources (cite these when a role changes):

* [DS] iann0036/iam-dataset ``gcp/role_permissions.json`` at commit
  2073fa52ac008a45477aa0b1b4580cd99135bf60: permission -> every predefined role that includes it,
  generated from the IAM ``roles.list(view=FULL)`` API. For *every* permission of ``PERMISSIONS`` (the
  whole ``cloudkms.*`` section, ``resourcemanager.{projects,folders,organizations}.{get,set}IamPolicy``
  and ``iam.roles.*``) the list of roles was read in full, so ``PREDEFINED_ROLES`` is exact for that
  snapshot: a role missing from it held none of these permissions then. Many of those roles are not
  about keys at all: e.g. ``roles/storage.admin`` and ~50 other service administrator roles carry the
  Autokey permissions ``cloudkms.keyHandles.*`` (so they can request a CMEK key for their resources),
  and ``roles/browser`` can read a project's allow policy.
* [RF] the same repository's ``gcp/roles/<role>.json`` role definitions (small roles, read in full).
* [DOC] cloud.google.com/iam/docs/roles-permissions/cloudkms (Cloud KMS roles and permissions).

A predefined role that is not in the table (``capabilities_for_role``) is taken to hold none of these
permissions (no Cloud KMS access), since the table was exhaustive when it was built; except the roles of
the services whose permissions the table covers (``roles/cloudkms.*``, ``roles/resourcemanager.*``,
``roles/iam.*``): one of those that the snapshot does not list is newer than the table and may well hold
some, so it stays unknown. Custom roles are only known through the definitions the collector read.

``cloudkms.cryptoKeyVersions.useTo{En,De}cryptViaDelegation`` count as encrypt/decrypt: they let another
Google service encrypt or decrypt *on the caller's behalf*, e.g. BigQuery's ``KEYS.KEYSET_CHAIN`` unwraps
a KMS-wrapped keyset for a user holding ``roles/cloudkms.cryptoKeyDecrypterViaDelegation`` and returns
plaintext to the query. So the ``...ViaDelegation`` roles, and any custom role holding these permissions,
are key users. [DS] (and [DOC]) also list both permissions in ``roles/cloudkms.admin``; the table leaves
them out of that one role on purpose. Google describes the role as access to Cloud KMS resources "except
... cryptographic operations", and CIS Google Cloud Foundations 1.11 and Security Command Center's
KMS_ROLE_SEPARATION finding treat ``roles/cloudkms.admin`` as *the* administrator role and the
``cryptoKeyEncrypterDecrypter`` / ``Encrypter`` / ``Decrypter`` roles as the user roles. Counting the
delegated permissions would make every KMS administrator a key user, so every separated setup would
report a segregation-of-duties conflict and the finding would lose its meaning.

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
    # Autokey: the folder configuration decides where keys are created.
    "autokeyConfigs.update": caps.LIFECYCLE,
    # A key handle makes the Autokey service agent create a *new* key, in the Autokey key project, that the
    # requester can neither manage nor use (the service agent of the requesting resource is granted use).
    # ~50 service administrator roles (storage.admin, bigquery.user, ...) carry it: counting it as key
    # administration would make every such admin a key administrator for segregation of duties.
    "keyHandles.create": caps.NOTHING,
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
_IAM_ROLES_READ = frozenset({"iam.roles.get", "iam.roles.list"})
_IAM_ROLES_ALL = _IAM_ROLES_READ | {
    "iam.roles.create",
    "iam.roles.delete",
    "iam.roles.undelete",
    "iam.roles.update",
}
_PROJECT_POLICY_READ = frozenset({"resourcemanager.projects.getIamPolicy"})
_PROJECT_IAM = _PROJECT_POLICY_READ | {"resourcemanager.projects.setIamPolicy"}
_FOLDER_IAM = frozenset({"resourcemanager.folders.getIamPolicy", "resourcemanager.folders.setIamPolicy"})
_ORGANIZATION_IAM = frozenset(
    {"resourcemanager.organizations.getIamPolicy", "resourcemanager.organizations.setIamPolicy"}
)
_HIERARCHY_POLICY_READ = frozenset(
    {
        "resourcemanager.folders.getIamPolicy",
        "resourcemanager.organizations.getIamPolicy",
        "resourcemanager.projects.getIamPolicy",
    }
)

# fmt: off
# What the ~50 service roles of the Autokey rollout share: request a key for a resource (a key handle)
# and follow the request. [DS] lists all five for exactly the same roles.
_AUTOKEY_REQUEST = _kms(
    "keyHandles.create", "keyHandles.get", "keyHandles.list", "operations.get",
    "projects.showEffectiveAutokeyConfig",
)
# The Cloud KMS reads (no IAM policies, no tags) of the broad "job function" roles and the auditors.
_KMS_READ = _kms(
    "autokeyConfigs.get",
    "cryptoKeyVersions.get", "cryptoKeyVersions.list",
    "cryptoKeys.get", "cryptoKeys.list",
    "ekmConfigs.get",
    "ekmConnections.get", "ekmConnections.list",
    "folders.showEffectiveAutokeyConfig",
    "importJobs.get", "importJobs.list",
    "kajPolicyConfigs.get",
    "keyRings.get", "keyRings.list",
    "protectableResources.list",
    "retiredResources.get", "retiredResources.list",
    "singleTenantHsmInstanceProposals.get", "singleTenantHsmInstanceProposals.list",
    "singleTenantHsmInstances.get", "singleTenantHsmInstances.list",
)
# Every Cloud KMS getIamPolicy (the security reviewer and auditor roles read all of them).
_KMS_POLICY_READ = _kms(
    "cryptoKeys.getIamPolicy", "ekmConfigs.getIamPolicy", "ekmConnections.getIamPolicy",
    "importJobs.getIamPolicy", "keyRings.getIamPolicy",
)
_KMS_TAG_READ = _kms("keyRings.listEffectiveTags", "keyRings.listTagBindings")
_KMS_TAG_WRITE = _kms("keyRings.createTagBinding", "keyRings.deleteTagBinding")

# Predefined role -> its permissions that appear in PERMISSIONS, per [DS] (module docstring) unless a
# comment says otherwise.
_ROLES: dict[str, frozenset[str]] = {
    # --- basic roles -------------------------------------------------------------------------------
    # Every cloudkms.* permission (use, destroy and setIamPolicy included), project IAM and custom roles;
    # no folder or organization IAM (those come from roles bound there).
    "roles/owner": _CLOUDKMS_PERMISSIONS | _PROJECT_IAM | _IAM_ROLES_ALL,
    # Create/update/delete and import, but no setIamPolicy, no destroy/restore, and no useTo*
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
    )
    | _PROJECT_POLICY_READ | _IAM_ROLES_READ,
    # Reads only (getIamPolicy included).
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
    )
    | _PROJECT_POLICY_READ | _IAM_ROLES_READ,
    # Resource Manager's basic "see the hierarchy" role.
    "roles/browser": _PROJECT_POLICY_READ,
    # --- Cloud KMS roles ---------------------------------------------------------------------------
    # [DOC] + [DS]: management of everything incl. setIamPolicy, destroy and restore; no direct useTo*.
    # [DS] also lists cryptoKeyVersions.useTo{En,De}cryptViaDelegation here: deliberately left out, the
    # role is the administrator side of segregation of duties (module docstring).
    "roles/cloudkms.admin": _kms(
        "autokeyConfigs.get", "autokeyConfigs.update",
        "cryptoKeyVersions.create", "cryptoKeyVersions.delete", "cryptoKeyVersions.destroy",
        "cryptoKeyVersions.get", "cryptoKeyVersions.list", "cryptoKeyVersions.restore",
        "cryptoKeyVersions.trustedImportExport", "cryptoKeyVersions.update",
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
    # Not yet in [DOC]: ML-KEM decapsulation.
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
    # No getIamPolicy (the basic roles/viewer has it).
    "roles/cloudkms.viewer": _KMS_READ | _LOCATIONS | _kms(
        "keyHandles.get", "keyHandles.list", "operations.get", "projects.showEffectiveAutokeyConfig",
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
    "roles/cloudkms.autokeyUser": _AUTOKEY_REQUEST,
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
    "roles/resourcemanager.projectIamAdmin": _PROJECT_IAM,
    "roles/resourcemanager.folderIamAdmin": _FOLDER_IAM,
    # Folder Admin manages the folder *and* the IAM of the folder and the projects below it.
    "roles/resourcemanager.folderAdmin": _FOLDER_IAM | _PROJECT_IAM,
    "roles/resourcemanager.folderEditor": frozenset({"resourcemanager.folders.getIamPolicy"}),
    "roles/resourcemanager.organizationAdmin": _ORGANIZATION_IAM | _FOLDER_IAM | _PROJECT_IAM,
    # Set any IAM policy (Cloud KMS ones included), read the Cloud KMS inventory; no use, no lifecycle.
    "roles/iam.securityAdmin": _ORGANIZATION_IAM | _FOLDER_IAM | _PROJECT_IAM | _IAM_ROLES_READ
    | _kms(
        "cryptoKeyVersions.list",
        "cryptoKeys.getIamPolicy", "cryptoKeys.list", "cryptoKeys.setIamPolicy",
        "ekmConfigs.getIamPolicy", "ekmConfigs.setIamPolicy",
        "ekmConnections.getIamPolicy", "ekmConnections.list", "ekmConnections.setIamPolicy",
        "importJobs.getIamPolicy", "importJobs.list", "importJobs.setIamPolicy",
        "keyHandles.list",
        "keyRings.getIamPolicy", "keyRings.list", "keyRings.setIamPolicy",
        "locations.list", "protectableResources.list", "retiredResources.list",
        "singleTenantHsmInstanceProposals.list", "singleTenantHsmInstances.list",
    ),
    # The read-only counterparts: every getIamPolicy and the *.list permissions.
    "roles/iam.securityReviewer": _HIERARCHY_POLICY_READ | _IAM_ROLES_READ | _KMS_POLICY_READ
    | _kms(
        "cryptoKeyVersions.list", "cryptoKeys.list", "ekmConnections.list", "importJobs.list",
        "keyHandles.list", "keyRings.list", "locations.list", "protectableResources.list",
        "retiredResources.list", "singleTenantHsmInstanceProposals.list", "singleTenantHsmInstances.list",
    ),
    "roles/iam.securityAuditor": _HIERARCHY_POLICY_READ | _IAM_ROLES_READ | _KMS_READ | _KMS_POLICY_READ
    | _KMS_TAG_READ | _LOCATIONS
    | _kms("keyHandles.get", "keyHandles.list", "operations.get", "projects.showEffectiveAutokeyConfig"),
    # Google support's read access.
    "roles/iam.supportUser": _HIERARCHY_POLICY_READ | _IAM_ROLES_READ | _KMS_READ | _KMS_POLICY_READ
    | _KMS_TAG_READ | _LOCATIONS
    | _kms(
        "ekmConnections.verifyConnectivity", "keyHandles.get", "keyHandles.list",
        "locations.generateRandomBytes", "operations.get", "projects.showEffectiveAutokeyConfig",
        "projects.showEffectiveKajEnrollmentConfig", "projects.showEffectiveKajPolicyConfig",
        "protectedResources.search",
    ),
    # Custom-role administrators and readers.
    "roles/iam.roleAdmin": _IAM_ROLES_ALL | _PROJECT_POLICY_READ,
    "roles/iam.organizationRoleAdmin": _IAM_ROLES_ALL | _PROJECT_POLICY_READ
    | {"resourcemanager.organizations.getIamPolicy"},
    "roles/iam.roleViewer": _IAM_ROLES_READ | _PROJECT_POLICY_READ,
    "roles/iam.organizationRoleViewer": _IAM_ROLES_READ | _PROJECT_POLICY_READ
    | {"resourcemanager.organizations.getIamPolicy"},
    # --- the IAM "job function" roles (undocumented in [DOC]) ---------------------------------------
    "roles/iam.admin": _IAM_ROLES_ALL,
    "roles/iam.editor": _IAM_ROLES_READ,
    "roles/iam.viewer": _IAM_ROLES_READ,
    # Data Scientist and Dev Ops can encrypt and decrypt with any key in scope.
    "roles/iam.dataScientist": _AUTOKEY_REQUEST | _LOCATIONS
    | _kms("cryptoKeyVersions.useToDecrypt", "cryptoKeyVersions.useToEncrypt"),
    "roles/iam.devOps": _AUTOKEY_REQUEST | _LOCATIONS
    | _kms("cryptoKeyVersions.useToDecrypt", "cryptoKeyVersions.useToEncrypt"),
    "roles/iam.databasesAdmin": _AUTOKEY_REQUEST | _KMS_READ | _LOCATIONS | _IAM_ROLES_READ
    | _PROJECT_POLICY_READ,
    "roles/iam.mlEngineer": _AUTOKEY_REQUEST | _KMS_READ | _LOCATIONS,
    "roles/iam.siteReliabilityEngineer": _AUTOKEY_REQUEST | _KMS_READ | _LOCATIONS,
    "roles/iam.infrastructureAdmin": _AUTOKEY_REQUEST,
    "roles/iam.networkAdmin": _AUTOKEY_REQUEST,
    # --- other services' roles ---------------------------------------------------------------------
    # Service administrator (and a few user) roles that can request Autokey keys for their resources.
    **dict.fromkeys(
        (
            "roles/alloydb.admin", "roles/apigee.editor", "roles/apihub.admin",
            "roles/apihub.provisioningAdmin", "roles/artifactregistry.admin", "roles/backupdr.admin",
            "roles/bigquery.admin", "roles/bigquery.dataEditor", "roles/bigquery.dataOwner",
            "roles/bigquery.studioAdmin", "roles/bigquery.studioUser", "roles/bigquery.user",
            "roles/bigtable.admin", "roles/cloudsql.admin", "roles/composer.admin",
            "roles/composer.environmentAndStorageObjectAdmin", "roles/composer.worker",
            "roles/compute.admin", "roles/compute.instanceAdmin", "roles/compute.instanceAdmin.v1",
            "roles/compute.storageAdmin", "roles/container.admin", "roles/container.clusterAdmin",
            "roles/dataflow.admin", "roles/dataflow.developer", "roles/dataproc.admin",
            "roles/dataproc.editor", "roles/dataproc.serverlessEditor", "roles/datastream.admin",
            "roles/file.admin", "roles/file.editor", "roles/gkebackup.admin", "roles/memorystore.admin",
            "roles/notebooks.legacyAdmin", "roles/pubsub.admin", "roles/pubsub.editor",
            "roles/redis.admin", "roles/run.sourceDeveloper", "roles/secretmanager.admin",
            "roles/securesourcemanager.admin", "roles/securesourcemanager.instanceOwner",
            "roles/spanner.admin", "roles/spanner.databaseAdmin", "roles/storage.admin",
            "roles/vmmigration.admin", "roles/workflows.admin", "roles/workflows.editor",
            "roles/workstations.admin",
        ),
        _AUTOKEY_REQUEST,
    ),
    **dict.fromkeys(
        ("roles/apigee.admin", "roles/firebase.admin", "roles/firebase.developAdmin"),
        _AUTOKEY_REQUEST | _PROJECT_POLICY_READ,
    ),
    # Sensitive Data Protection's profilers also tag key rings.
    **dict.fromkeys(
        ("roles/dlp.orgdriver", "roles/dlp.projectdriver"),
        _AUTOKEY_REQUEST | _KMS_TAG_READ | _KMS_TAG_WRITE,
    ),
    "roles/resourcemanager.tagUser": _KMS_TAG_READ | _KMS_TAG_WRITE,
    "roles/resourcemanager.tagViewer": _KMS_TAG_READ,
    # Kubernetes Engine KMS Crypto Key User: signs and verifies.
    "roles/container.cloudKmsKeyUser": _LOCATIONS | _kms(
        "cryptoKeyVersions.get", "cryptoKeyVersions.useToSign", "cryptoKeyVersions.useToVerify",
        "cryptoKeyVersions.viewPublicKey", "cryptoKeys.get",
    ),
    # Secured Landing Zone (BigQuery data warehouse blueprint) remediation: changes keys and their IAM.
    "roles/securedlandingzone.bqdwProjectRemediator": _kms(
        "cryptoKeys.get", "cryptoKeys.getIamPolicy", "cryptoKeys.list", "cryptoKeys.setIamPolicy",
        "cryptoKeys.update", "keyRings.getIamPolicy", "keyRings.setIamPolicy",
    ),
    # Roles whose only permission of the table is reading a project's allow policy.
    **dict.fromkeys(
        (
            "roles/apigee.developerAdmin", "roles/apigee.environmentAdmin", "roles/apigee.readOnlyAdmin",
            "roles/cloudfunctions.admin", "roles/compute.xpnAdmin", "roles/datastudio.contentManager",
            "roles/datastudio.contributor", "roles/datastudio.editor", "roles/datastudio.manager",
            "roles/firebase.analyticsAdmin", "roles/firebase.analyticsViewer",
            "roles/firebase.developViewer", "roles/firebase.editor", "roles/firebase.growthAdmin",
            "roles/firebase.growthViewer", "roles/firebase.qualityAdmin", "roles/firebase.qualityViewer",
            "roles/firebase.viewer", "roles/lookerstudio.lookerAdmin", "roles/workloadmanager.admin",
            "roles/workloadmanager.deploymentAdmin",
        ),
        _PROJECT_POLICY_READ,
    ),
    "roles/artifactregistry.containerRegistryMigrationAdmin": _PROJECT_POLICY_READ | {"iam.roles.get"},
    # --- service agents (bound to Google-managed service accounts) -----------------------------------
    # Privileged Access Manager grants temporary access by editing allow policies.
    "roles/privilegedaccessmanager.serviceAgent": _ORGANIZATION_IAM | _FOLDER_IAM | _PROJECT_IAM
    | {"iam.roles.get"},
    "roles/privilegedaccessmanager.organizationServiceAgent": _ORGANIZATION_IAM | {"iam.roles.get"},
    "roles/privilegedaccessmanager.folderServiceAgent": _FOLDER_IAM,
    "roles/privilegedaccessmanager.projectServiceAgent": _PROJECT_IAM | {"iam.roles.get"},
    "roles/firebase.managementServiceAgent": _PROJECT_IAM | {"iam.roles.get"},
    **dict.fromkeys(
        (
            "roles/appengineflex.serviceAgent", "roles/gkehub.crossProjectServiceAgent",
            "roles/krmapihosting.anthosApiEndpointServiceAgent",
        ),
        _PROJECT_IAM,
    ),
    # Deployment Manager edits custom roles (no allow-policy changes).
    "roles/clouddeploymentmanager.serviceAgent": _HIERARCHY_POLICY_READ
    | (_IAM_ROLES_ALL - {"iam.roles.undelete"}),
    # Assured Workloads creates the key rings and keys of a workload.
    "roles/assuredworkloads.serviceAgent": _kms("cryptoKeys.create", "keyRings.create"),
    # The Cloud KMS KACLS (key access control list service) agent encrypts and decrypts.
    "roles/cloudkmskacls.serviceAgent": _kms(
        "cryptoKeyVersions.useToDecrypt", "cryptoKeyVersions.useToEncrypt", "cryptoKeys.get"
    ),
    "roles/dlp.serviceAgent": _kms("cryptoKeyVersions.useToDecrypt") | _LOCATIONS,
    "roles/cloudcontrolspartner.ekmServiceAgent": _kms(
        "ekmConnections.get", "ekmConnections.getIamPolicy", "ekmConnections.list",
        "ekmConnections.verifyConnectivity",
    ),
    **dict.fromkeys(
        ("roles/auditmanager.serviceAgent", "roles/cloudsecuritycompliance.serviceAgent"),
        _HIERARCHY_POLICY_READ | _kms("cryptoKeys.get", "cryptoKeys.list", "keyRings.list"),
    ),
    "roles/dspm.serviceAgent": _HIERARCHY_POLICY_READ,
    "roles/chronicle.soarServiceAgent": frozenset({"resourcemanager.organizations.getIamPolicy"}),
    "roles/policyremediator.serviceAgent": _PROJECT_POLICY_READ | _IAM_ROLES_READ,
    **dict.fromkeys(
        (
            "roles/cloudfunctions.serviceAgent", "roles/composer.serviceAgent", "roles/run.serviceAgent",
            "roles/securitycenter.automationServiceAgent", "roles/securitycenter.controlServiceAgent",
            "roles/securitycenter.serviceAgent", "roles/serverless.serviceAgent",
            "roles/telcoautomation.serviceAgent",
        ),
        _PROJECT_POLICY_READ,
    ),
    # Only iam.roles.get (which gives nothing): listed so that the table stays exhaustive.
    **dict.fromkeys(
        ("roles/accesscontextmanager.vpcScTroubleshooterViewer", "roles/chronicle.orgServiceAgent"),
        frozenset({"iam.roles.get"}),
    ),
}
# fmt: on

PREDEFINED_ROLES: Mapping[str, frozenset[str]] = MappingProxyType(dict(sorted(_ROLES.items())))

# Services whose permissions the table covers: a role of theirs that the snapshot lacks is newer than the
# table and may hold some of them (see the module docstring).
_COVERED_SERVICES = ("roles/cloudkms.", "roles/resourcemanager.", "roles/iam.")


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
    A predefined role missing from the table holds none of the permissions (empty set), unless it
    belongs to a covered service (module docstring). ``None`` means "unknown role": the caller reports
    UNKNOWN, it must never read it as "no access".
    """
    live = custom_roles.get(role)
    if live is not None:
        return capabilities_for_permissions(live)
    builtin = PREDEFINED_ROLES.get(role)
    if builtin is not None:
        return capabilities_for_permissions(builtin)
    # Role names are case-sensitive; the covered-service test is not, so a mis-cased name of a covered
    # service's role (which IAM would not accept anyway) is never read as "no access".
    if role.startswith("roles/") and not role.lower().startswith(_COVERED_SERVICES):
        return frozenset()
    return None
