from __future__ import annotations

import pytest

from providers.gcp.permissions import (
    PERMISSIONS,
    PREDEFINED_ROLES,
    capabilities_for_permissions,
    capabilities_for_role,
)
from scanner.inventory import ADMIN_CAPABILITIES, Capability

C = Capability
NO_CUSTOM: dict[str, list[str]] = {}

# Each permission -> the one capability it gives (an empty set: deliberately none).
EXPECTED: dict[frozenset[Capability], list[str]] = {
    frozenset({C.ADMINISTER_ACCESS}): [
        "cloudkms.cryptoKeys.setIamPolicy",
        "cloudkms.keyRings.setIamPolicy",
        "cloudkms.importJobs.setIamPolicy",
        "cloudkms.ekmConnections.setIamPolicy",
        "cloudkms.ekmConfigs.setIamPolicy",
        "resourcemanager.projects.setIamPolicy",
        "resourcemanager.folders.setIamPolicy",
        "resourcemanager.organizations.setIamPolicy",
        "iam.roles.update",
        "iam.roles.undelete",
    ],
    frozenset({C.MANAGE_LIFECYCLE}): [
        "cloudkms.keyRings.create",
        "cloudkms.cryptoKeys.create",
        "cloudkms.cryptoKeys.update",
        "cloudkms.cryptoKeyVersions.create",
        "cloudkms.cryptoKeyVersions.update",
        "cloudkms.cryptoKeyVersions.restore",
        "cloudkms.cryptoKeyVersions.delete",
        "cloudkms.cryptoKeys.delete",
        "cloudkms.keyRings.delete",
        "cloudkms.ekmConnections.create",
        "cloudkms.ekmConnections.update",
        "cloudkms.ekmConnections.use",
        "cloudkms.ekmConfigs.update",
        "cloudkms.autokeyConfigs.update",
        "cloudkms.keyRings.createTagBinding",
        "cloudkms.keyRings.deleteTagBinding",
        "cloudkms.kajPolicyConfigs.update",
        "cloudkms.cryptoKeyVersions.manageRawAesCbcKeys",
        "cloudkms.cryptoKeyVersions.manageRawAesCtrKeys",
        "cloudkms.cryptoKeyVersions.manageRawPKCS1Keys",
        "cloudkms.cryptoKeyVersions.managePqcSign",
        "cloudkms.locations.optOutKeyDeletionMsa",
        "cloudkms.importJobs.delete",
        "cloudkms.singleTenantHsmInstances.create",
        "cloudkms.singleTenantHsmInstances.use",
        "cloudkms.singleTenantHsmInstanceProposals.create",
        "cloudkms.singleTenantHsmInstanceProposals.approve",
        "cloudkms.singleTenantHsmInstanceProposals.execute",
        "cloudkms.singleTenantHsmInstanceProposals.delete",
    ],
    frozenset({C.DESTROY}): ["cloudkms.cryptoKeyVersions.destroy"],
    frozenset({C.IMPORT_MATERIAL}): ["cloudkms.importJobs.create", "cloudkms.importJobs.useToImport"],
    frozenset({C.IMPORT_MATERIAL, C.EXPORT}): ["cloudkms.cryptoKeyVersions.trustedImportExport"],
    frozenset({C.ENCRYPT}): [
        "cloudkms.cryptoKeyVersions.useToEncrypt",
        "cloudkms.cryptoKeyVersions.useToEncryptViaDelegation",
    ],
    frozenset({C.DECRYPT}): [
        "cloudkms.cryptoKeyVersions.useToDecrypt",
        "cloudkms.cryptoKeyVersions.useToDecryptViaDelegation",
        "cloudkms.cryptoKeyVersions.useToDecapsulate",
    ],
    frozenset({C.SIGN}): ["cloudkms.cryptoKeyVersions.useToSign"],
    frozenset({C.VERIFY}): ["cloudkms.cryptoKeyVersions.useToVerify"],
    frozenset({C.READ_METADATA}): [
        "cloudkms.cryptoKeyVersions.viewPublicKey",
        "cloudkms.cryptoKeyVersions.get",
        "cloudkms.cryptoKeyVersions.list",
        "cloudkms.cryptoKeys.get",
        "cloudkms.cryptoKeys.list",
        "cloudkms.cryptoKeys.getIamPolicy",
        "cloudkms.keyRings.get",
        "cloudkms.keyRings.list",
        "cloudkms.keyRings.getIamPolicy",
        "cloudkms.keyRings.listEffectiveTags",
        "cloudkms.keyRings.listTagBindings",
        "cloudkms.importJobs.get",
        "cloudkms.importJobs.list",
        "cloudkms.importJobs.getIamPolicy",
        "cloudkms.ekmConnections.get",
        "cloudkms.ekmConnections.list",
        "cloudkms.ekmConnections.getIamPolicy",
        "cloudkms.ekmConnections.verifyConnectivity",
        "cloudkms.ekmConfigs.get",
        "cloudkms.ekmConfigs.getIamPolicy",
        "cloudkms.autokeyConfigs.get",
        "cloudkms.keyHandles.get",
        "cloudkms.keyHandles.list",
        "cloudkms.kajPolicyConfigs.get",
        "cloudkms.operations.get",
        "cloudkms.folders.showEffectiveAutokeyConfig",
        "cloudkms.projects.showEffectiveAutokeyConfig",
        "cloudkms.projects.showEffectiveKajEnrollmentConfig",
        "cloudkms.projects.showEffectiveKajPolicyConfig",
        "cloudkms.protectedResources.search",
        "cloudkms.protectableResources.list",
        "cloudkms.retiredResources.get",
        "cloudkms.retiredResources.list",
        "cloudkms.singleTenantHsmInstances.get",
        "cloudkms.singleTenantHsmInstances.list",
        "cloudkms.singleTenantHsmInstanceProposals.get",
        "cloudkms.singleTenantHsmInstanceProposals.list",
        "resourcemanager.projects.getIamPolicy",
        "resourcemanager.folders.getIamPolicy",
        "resourcemanager.organizations.getIamPolicy",
    ],
    frozenset(): [
        # Requesting an Autokey key handle: the service agent creates a new key the requester can neither
        # manage nor use.
        "cloudkms.keyHandles.create",
        "cloudkms.locations.get",
        "cloudkms.locations.list",
        "cloudkms.locations.generateRandomBytes",
        "iam.roles.create",
        "iam.roles.delete",
        "iam.roles.get",
        "iam.roles.list",
    ],
}

ALL = frozenset(Capability)
USE = frozenset({C.ENCRYPT, C.DECRYPT, C.SIGN, C.VERIFY})
A = C.ADMINISTER_ACCESS
L = C.MANAGE_LIFECYCLE
R = C.READ_METADATA
ENC_DEC = frozenset({C.ENCRYPT, C.DECRYPT})

# Capabilities of a binding -> every predefined role of the table that gives exactly those.
BY_CAPABILITIES: list[tuple[frozenset[Capability], list[str]]] = [
    (ALL, ["roles/owner"]),
    # Admin: administer, lifecycle, destroy and import, but no cryptographic use at all.
    (frozenset({A, L, C.DESTROY, C.IMPORT_MATERIAL, C.EXPORT, R}), ["roles/cloudkms.admin"]),
    # Editor manages and imports, but can neither change IAM, destroy, nor use keys.
    (frozenset({L, C.IMPORT_MATERIAL, C.EXPORT, R}), ["roles/editor"]),
    (frozenset({C.IMPORT_MATERIAL, C.EXPORT, R}), ["roles/cloudkms.importer"]),
    (
        frozenset({A, L, R}),
        ["roles/cloudkms.serviceAgent", "roles/securedlandingzone.bqdwProjectRemediator"],
    ),
    (
        frozenset({A, R}),
        [
            "roles/resourcemanager.projectIamAdmin",
            "roles/resourcemanager.folderIamAdmin",
            "roles/resourcemanager.folderAdmin",
            "roles/resourcemanager.organizationAdmin",
            "roles/iam.securityAdmin",
            "roles/iam.roleAdmin",
            "roles/iam.organizationRoleAdmin",
            "roles/clouddeploymentmanager.serviceAgent",
            "roles/privilegedaccessmanager.serviceAgent",
            "roles/privilegedaccessmanager.organizationServiceAgent",
            "roles/privilegedaccessmanager.folderServiceAgent",
            "roles/privilegedaccessmanager.projectServiceAgent",
            "roles/firebase.managementServiceAgent",
            "roles/appengineflex.serviceAgent",
            "roles/gkehub.crossProjectServiceAgent",
            "roles/krmapihosting.anthosApiEndpointServiceAgent",
        ],
    ),
    (frozenset({A}), ["roles/iam.admin"]),
    (frozenset({C.ENCRYPT, C.DECRYPT, C.SIGN, C.VERIFY, R}), ["roles/cloudkms.cryptoOperator"]),
    (
        ENC_DEC,
        [
            "roles/cloudkms.cryptoKeyEncrypterDecrypter",
            "roles/cloudkms.cryptoKeyEncrypterDecrypterViaDelegation",
        ],
    ),
    # Data Scientist and Dev Ops also request Autokey key handles, which gives no lifecycle power.
    (ENC_DEC | {R}, ["roles/cloudkmskacls.serviceAgent", "roles/iam.dataScientist", "roles/iam.devOps"]),
    (
        frozenset({C.ENCRYPT}),
        ["roles/cloudkms.cryptoKeyEncrypter", "roles/cloudkms.cryptoKeyEncrypterViaDelegation"],
    ),
    (
        frozenset({C.DECRYPT}),
        [
            "roles/cloudkms.cryptoKeyDecrypter",
            "roles/cloudkms.cryptoKeyDecrypterViaDelegation",
            "roles/dlp.serviceAgent",
        ],
    ),
    (frozenset({C.DECRYPT, R}), ["roles/cloudkms.decapsulator"]),
    (frozenset({C.SIGN}), ["roles/cloudkms.signer"]),
    (frozenset({C.SIGN, C.VERIFY, R}), ["roles/cloudkms.signerVerifier", "roles/container.cloudKmsKeyUser"]),
    (frozenset({C.VERIFY, R}), ["roles/cloudkms.verifier"]),
    (
        frozenset({L}),
        [
            "roles/cloudkms.expertRawAesCbc",
            "roles/cloudkms.expertRawAesCtr",
            "roles/cloudkms.expertRawPKCS1",
            "roles/cloudkms.expertPqcSigner",
            "roles/assuredworkloads.serviceAgent",
        ],
    ),
    (
        frozenset({L, R}),
        [
            "roles/cloudkms.ekmConnectionsAdmin",
            "roles/cloudkms.autokeyAdmin",
            "roles/cloudkms.keyAccessJustificationsPolicyConfigAdmin",
            "roles/cloudkms.hsmSingleTenantProposer",
            "roles/cloudkms.hsmSingleTenantQuorumMember",
            "roles/cloudkms.hsmSingleTenantExecutor",
            "roles/cloudkms.hsmSingleTenantKeyCreator",
            "roles/resourcemanager.tagUser",
            "roles/dlp.orgdriver",
            "roles/dlp.projectdriver",
        ],
    ),
    (
        frozenset({R}),
        [
            "roles/viewer",
            "roles/browser",
            "roles/cloudkms.viewer",
            "roles/cloudkms.publicKeyViewer",
            "roles/cloudkms.protectedResourcesViewer",
            "roles/cloudkms.encryptionDashboardViewer",
            "roles/cloudkms.keyAccessJustificationsEnrollmentConfigViewer",
            "roles/cloudcontrolspartner.ekmServiceAgent",
            "roles/resourcemanager.folderEditor",
            "roles/resourcemanager.tagViewer",
            "roles/iam.securityReviewer",
            "roles/iam.securityAuditor",
            "roles/iam.supportUser",
            "roles/iam.roleViewer",
            "roles/iam.organizationRoleViewer",
            "roles/auditmanager.serviceAgent",
            "roles/cloudsecuritycompliance.serviceAgent",
            "roles/dspm.serviceAgent",
            "roles/chronicle.soarServiceAgent",
            "roles/policyremediator.serviceAgent",
            # Only resourcemanager.projects.getIamPolicy (and at most iam.roles.get).
            "roles/apigee.developerAdmin",
            "roles/apigee.environmentAdmin",
            "roles/apigee.readOnlyAdmin",
            "roles/artifactregistry.containerRegistryMigrationAdmin",
            "roles/cloudfunctions.admin",
            "roles/cloudfunctions.serviceAgent",
            "roles/composer.serviceAgent",
            "roles/compute.xpnAdmin",
            "roles/datastudio.contentManager",
            "roles/datastudio.contributor",
            "roles/datastudio.editor",
            "roles/datastudio.manager",
            "roles/firebase.analyticsAdmin",
            "roles/firebase.analyticsViewer",
            "roles/firebase.developViewer",
            "roles/firebase.editor",
            "roles/firebase.growthAdmin",
            "roles/firebase.growthViewer",
            "roles/firebase.qualityAdmin",
            "roles/firebase.qualityViewer",
            "roles/firebase.viewer",
            "roles/lookerstudio.lookerAdmin",
            "roles/run.serviceAgent",
            "roles/securitycenter.automationServiceAgent",
            "roles/securitycenter.controlServiceAgent",
            "roles/securitycenter.serviceAgent",
            "roles/serverless.serviceAgent",
            "roles/telcoautomation.serviceAgent",
            "roles/workloadmanager.admin",
            "roles/workloadmanager.deploymentAdmin",
            # Autokey key-handle requesters: no power over existing keys (a key handle only makes the
            # Autokey service agent create a new key, which they can neither manage nor use).
            "roles/cloudkms.autokeyUser",
            "roles/iam.databasesAdmin",
            "roles/iam.mlEngineer",
            "roles/iam.siteReliabilityEngineer",
            "roles/iam.infrastructureAdmin",
            "roles/iam.networkAdmin",
            "roles/alloydb.admin",
            "roles/apigee.admin",
            "roles/apigee.editor",
            "roles/apihub.admin",
            "roles/apihub.provisioningAdmin",
            "roles/artifactregistry.admin",
            "roles/backupdr.admin",
            "roles/bigquery.admin",
            "roles/bigquery.dataEditor",
            "roles/bigquery.dataOwner",
            "roles/bigquery.studioAdmin",
            "roles/bigquery.studioUser",
            "roles/bigquery.user",
            "roles/bigtable.admin",
            "roles/cloudsql.admin",
            "roles/composer.admin",
            "roles/composer.environmentAndStorageObjectAdmin",
            "roles/composer.worker",
            "roles/compute.admin",
            "roles/compute.instanceAdmin",
            "roles/compute.instanceAdmin.v1",
            "roles/compute.storageAdmin",
            "roles/container.admin",
            "roles/container.clusterAdmin",
            "roles/dataflow.admin",
            "roles/dataflow.developer",
            "roles/dataproc.admin",
            "roles/dataproc.editor",
            "roles/dataproc.serverlessEditor",
            "roles/datastream.admin",
            "roles/file.admin",
            "roles/file.editor",
            "roles/firebase.admin",
            "roles/firebase.developAdmin",
            "roles/gkebackup.admin",
            "roles/memorystore.admin",
            "roles/notebooks.legacyAdmin",
            "roles/pubsub.admin",
            "roles/pubsub.editor",
            "roles/redis.admin",
            "roles/run.sourceDeveloper",
            "roles/secretmanager.admin",
            "roles/securesourcemanager.admin",
            "roles/securesourcemanager.instanceOwner",
            "roles/spanner.admin",
            "roles/spanner.databaseAdmin",
            "roles/storage.admin",
            "roles/vmmigration.admin",
            "roles/workflows.admin",
            "roles/workflows.editor",
            "roles/workstations.admin",
        ],
    ),
    # Only iam.roles.get/list, which give nothing: known roles, no Cloud KMS access.
    (
        frozenset(),
        [
            "roles/iam.editor",
            "roles/iam.viewer",
            "roles/accesscontextmanager.vpcScTroubleshooterViewer",
            "roles/chronicle.orgServiceAgent",
        ],
    ),
]
ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    role: capabilities for capabilities, roles in BY_CAPABILITIES for role in roles
}

# From [DS] at the snapshot commit (see the module docstring of providers.gcp.permissions): for the
# permissions that give ADMINISTER_ACCESS or a cryptographic use, every predefined role holding them.
# The table must list exactly these, so a role dropped by mistake (or a use role turned into "no access"
# by the unknown-predefined-role rule) fails here.
SNAPSHOT_HOLDERS: dict[str, list[str]] = {
    "resourcemanager.projects.setIamPolicy": [
        "appengineflex.serviceAgent",
        "firebase.managementServiceAgent",
        "gkehub.crossProjectServiceAgent",
        "iam.securityAdmin",
        "krmapihosting.anthosApiEndpointServiceAgent",
        "owner",
        "privilegedaccessmanager.projectServiceAgent",
        "privilegedaccessmanager.serviceAgent",
        "resourcemanager.folderAdmin",
        "resourcemanager.organizationAdmin",
        "resourcemanager.projectIamAdmin",
    ],
    "resourcemanager.folders.setIamPolicy": [
        "iam.securityAdmin",
        "privilegedaccessmanager.folderServiceAgent",
        "privilegedaccessmanager.serviceAgent",
        "resourcemanager.folderAdmin",
        "resourcemanager.folderIamAdmin",
        "resourcemanager.organizationAdmin",
    ],
    "resourcemanager.organizations.setIamPolicy": [
        "iam.securityAdmin",
        "privilegedaccessmanager.organizationServiceAgent",
        "privilegedaccessmanager.serviceAgent",
        "resourcemanager.organizationAdmin",
    ],
    "iam.roles.update": [
        "clouddeploymentmanager.serviceAgent",
        "iam.admin",
        "iam.organizationRoleAdmin",
        "iam.roleAdmin",
        "owner",
    ],
    "iam.roles.undelete": ["iam.admin", "iam.organizationRoleAdmin", "iam.roleAdmin", "owner"],
    "cloudkms.cryptoKeys.setIamPolicy": [
        "cloudkms.admin",
        "cloudkms.serviceAgent",
        "iam.securityAdmin",
        "owner",
        "securedlandingzone.bqdwProjectRemediator",
    ],
    "cloudkms.keyRings.setIamPolicy": [
        "cloudkms.admin",
        "iam.securityAdmin",
        "owner",
        "securedlandingzone.bqdwProjectRemediator",
    ],
    "cloudkms.importJobs.setIamPolicy": ["cloudkms.admin", "iam.securityAdmin", "owner"],
    "cloudkms.ekmConnections.setIamPolicy": ["cloudkms.admin", "iam.securityAdmin", "owner"],
    "cloudkms.ekmConfigs.setIamPolicy": ["cloudkms.admin", "iam.securityAdmin", "owner"],
    "cloudkms.cryptoKeyVersions.useToEncrypt": [
        "cloudkms.cryptoKeyEncrypter",
        "cloudkms.cryptoKeyEncrypterDecrypter",
        "cloudkms.cryptoOperator",
        "cloudkmskacls.serviceAgent",
        "iam.dataScientist",
        "iam.devOps",
        "owner",
    ],
    "cloudkms.cryptoKeyVersions.useToDecrypt": [
        "cloudkms.cryptoKeyDecrypter",
        "cloudkms.cryptoKeyEncrypterDecrypter",
        "cloudkms.cryptoOperator",
        "cloudkmskacls.serviceAgent",
        "dlp.serviceAgent",
        "iam.dataScientist",
        "iam.devOps",
        "owner",
    ],
    # [DS] also lists roles/cloudkms.admin for both ...ViaDelegation permissions (left out on purpose).
    "cloudkms.cryptoKeyVersions.useToEncryptViaDelegation": [
        "cloudkms.cryptoKeyEncrypterDecrypterViaDelegation",
        "cloudkms.cryptoKeyEncrypterViaDelegation",
        "owner",
    ],
    "cloudkms.cryptoKeyVersions.useToDecryptViaDelegation": [
        "cloudkms.cryptoKeyDecrypterViaDelegation",
        "cloudkms.cryptoKeyEncrypterDecrypterViaDelegation",
        "owner",
    ],
    "cloudkms.cryptoKeyVersions.useToDecapsulate": [
        "cloudkms.cryptoOperator",
        "cloudkms.decapsulator",
        "owner",
    ],
    "cloudkms.cryptoKeyVersions.useToSign": [
        "cloudkms.cryptoOperator",
        "cloudkms.signer",
        "cloudkms.signerVerifier",
        "container.cloudKmsKeyUser",
        "owner",
    ],
    "cloudkms.cryptoKeyVersions.useToVerify": [
        "cloudkms.cryptoOperator",
        "cloudkms.signerVerifier",
        "cloudkms.verifier",
        "container.cloudKmsKeyUser",
        "owner",
    ],
}


# ----------------------------------------------------------------------------------- permission table
@pytest.mark.parametrize(
    ("capabilities", "permission"), [(caps, p) for caps, perms in EXPECTED.items() for p in perms]
)
def test_each_permission_maps_to_exactly_its_capabilities(
    capabilities: frozenset[Capability], permission: str
) -> None:
    assert PERMISSIONS[permission] == capabilities
    assert capabilities_for_permissions([permission]) == capabilities


def test_the_table_is_exactly_the_expected_permissions() -> None:
    expected = [p for perms in EXPECTED.values() for p in perms]
    assert len(expected) == len(set(expected))
    assert set(PERMISSIONS) == set(expected)
    for name, capabilities in PERMISSIONS.items():
        assert isinstance(capabilities, frozenset)
        assert all(isinstance(c, Capability) for c in capabilities)
        assert name.split(".", 1)[0] in ("cloudkms", "resourcemanager", "iam")
        assert name.count(".") == 2


def test_set_iam_policy_anywhere_on_the_hierarchy_administers_access() -> None:
    setters = [p for p in PERMISSIONS if p.endswith(".setIamPolicy")]
    assert len(setters) == 8
    assert all(PERMISSIONS[p] == {C.ADMINISTER_ACCESS} for p in setters)
    assert all(PERMISSIONS[p] == {C.READ_METADATA} for p in PERMISSIONS if p.endswith(".getIamPolicy"))


def test_unknown_permissions_wildcards_and_other_services_are_ignored() -> None:
    assert capabilities_for_permissions([]) == frozenset()
    assert (
        capabilities_for_permissions(
            [
                "storage.objects.get",
                "cloudkms.*",  # wildcards are not valid in GCP roles: no match
                "cloudkms.cryptoKeyVersions.*",
                "cloudkms.cryptoKeyVersions.useToDecryptt",
                "CLOUDKMS.CRYPTOKEYVERSIONS.USETODECRYPT",  # names are case-sensitive
                "cloudkms.cryptoKeyVersions.import",  # not a real permission
                "",
            ]
        )
        == frozenset()
    )
    assert capabilities_for_permissions(
        ["compute.instances.get", "cloudkms.cryptoKeyVersions.useToSign"]
    ) == {C.SIGN}


def test_permissions_accept_any_iterable_and_union() -> None:
    perms = (p for p in ["cloudkms.cryptoKeyVersions.useToEncrypt", "cloudkms.cryptoKeyVersions.destroy"])
    assert capabilities_for_permissions(perms) == {C.ENCRYPT, C.DESTROY}


# ---------------------------------------------------------------------------------- predefined roles
def test_every_role_of_the_table_is_asserted() -> None:
    listed = [role for _, roles in BY_CAPABILITIES for role in roles]
    assert len(listed) == len(set(listed))
    assert set(PREDEFINED_ROLES) == set(ROLE_CAPABILITIES)


@pytest.mark.parametrize(("role", "expected"), sorted(ROLE_CAPABILITIES.items()))
def test_predefined_role_capabilities(role: str, expected: frozenset[Capability]) -> None:
    assert capabilities_for_role(role, NO_CUSTOM) == expected


def test_role_permissions_are_all_in_the_permission_table() -> None:
    for role, perms in PREDEFINED_ROLES.items():
        assert perms, role
        assert perms <= set(PERMISSIONS), (role, sorted(perms - set(PERMISSIONS)))


@pytest.mark.parametrize(("permission", "holders"), sorted(SNAPSHOT_HOLDERS.items()))
def test_the_table_lists_exactly_the_snapshot_holders_of_admin_and_use_permissions(
    permission: str, holders: list[str]
) -> None:
    in_table = {role for role, perms in PREDEFINED_ROLES.items() if permission in perms}
    assert in_table == {f"roles/{h}" for h in holders}


def test_roles_that_set_hierarchy_iam_policies_administer_every_key_below() -> None:
    # Folder Admin was missing once: it sets folder and project allow policies.
    for role in (
        "roles/resourcemanager.folderAdmin",
        "roles/resourcemanager.organizationAdmin",
        "roles/privilegedaccessmanager.serviceAgent",
        "roles/iam.securityAdmin",
    ):
        capabilities = capabilities_for_role(role, NO_CUSTOM)
        assert capabilities is not None
        assert C.ADMINISTER_ACCESS in capabilities, role
        assert "resourcemanager.projects.setIamPolicy" in PREDEFINED_ROLES[role]
    assert {"resourcemanager.folders.setIamPolicy", "resourcemanager.projects.setIamPolicy"} <= (
        PREDEFINED_ROLES["roles/resourcemanager.folderAdmin"]
    )


def test_owner_holds_every_cloud_kms_permission_and_project_iam() -> None:
    owner = PREDEFINED_ROLES["roles/owner"]
    assert {p for p in PERMISSIONS if p.startswith("cloudkms.")} <= owner
    assert "resourcemanager.projects.setIamPolicy" in owner
    assert "resourcemanager.folders.setIamPolicy" not in owner
    assert capabilities_for_role("roles/owner", NO_CUSTOM) == frozenset(Capability)


def test_kms_admin_administers_and_destroys_but_is_not_a_key_user() -> None:
    admin = PREDEFINED_ROLES["roles/cloudkms.admin"]
    capabilities = capabilities_for_role("roles/cloudkms.admin", NO_CUSTOM)
    assert capabilities is not None
    assert capabilities >= ADMIN_CAPABILITIES
    assert {C.ADMINISTER_ACCESS, C.MANAGE_LIFECYCLE, C.DESTROY} <= capabilities
    assert not USE & capabilities
    # Not even the ...ViaDelegation permissions the dataset lists for the role (CIS GCP 1.11, SCC).
    assert not {p for p in admin if "cryptoKeyVersions.useTo" in p}


def test_via_delegation_permissions_still_count_as_use() -> None:
    assert PERMISSIONS["cloudkms.cryptoKeyVersions.useToEncryptViaDelegation"] == {C.ENCRYPT}
    assert PERMISSIONS["cloudkms.cryptoKeyVersions.useToDecryptViaDelegation"] == {C.DECRYPT}
    assert (
        capabilities_for_role("roles/cloudkms.cryptoKeyEncrypterDecrypterViaDelegation", NO_CUSTOM) == ENC_DEC
    )
    assert capabilities_for_role("roles/cloudkms.cryptoKeyDecrypterViaDelegation", NO_CUSTOM) == frozenset(
        {C.DECRYPT}
    )
    assert capabilities_for_role("roles/cloudkms.cryptoKeyEncrypterViaDelegation", NO_CUSTOM) == frozenset(
        {C.ENCRYPT}
    )


def test_a_custom_role_with_set_iam_policy_and_delegated_decrypt_administers_and_uses() -> None:
    custom = {
        "projects/p1/roles/kmsAdminPlus": [
            "cloudkms.cryptoKeys.setIamPolicy",
            "cloudkms.cryptoKeyVersions.useToDecryptViaDelegation",
        ]
    }
    assert capabilities_for_role("projects/p1/roles/kmsAdminPlus", custom) == frozenset(
        {C.ADMINISTER_ACCESS, C.DECRYPT}
    )


def test_editor_cannot_administer_access_destroy_or_use_keys() -> None:
    editor = PREDEFINED_ROLES["roles/editor"]
    assert not {p for p in editor if p.endswith(".setIamPolicy") or "cryptoKeyVersions.useTo" in p}
    assert "cloudkms.cryptoKeyVersions.destroy" not in editor
    assert "cloudkms.cryptoKeyVersions.restore" not in editor
    assert {"cloudkms.cryptoKeys.create", "cloudkms.cryptoKeys.update"} <= editor
    capabilities = capabilities_for_role("roles/editor", NO_CUSTOM)
    assert capabilities is not None
    assert not {C.ADMINISTER_ACCESS, C.DESTROY} & capabilities
    assert not USE & capabilities


def test_encrypter_decrypter_has_encrypt_and_decrypt_only() -> None:
    assert capabilities_for_role("roles/cloudkms.cryptoKeyEncrypterDecrypter", NO_CUSTOM) == ENC_DEC


def test_hierarchy_iam_admins_administer_access_only() -> None:
    for role in (
        "roles/resourcemanager.projectIamAdmin",
        "roles/resourcemanager.folderIamAdmin",
        "roles/resourcemanager.folderAdmin",
        "roles/resourcemanager.organizationAdmin",
        "roles/iam.securityAdmin",
        "roles/privilegedaccessmanager.serviceAgent",
    ):
        capabilities = capabilities_for_role(role, NO_CUSTOM)
        assert capabilities is not None
        assert C.ADMINISTER_ACCESS in capabilities
        assert not (USE | {C.DESTROY, C.MANAGE_LIFECYCLE}) & capabilities


def test_service_roles_with_autokey_permissions_are_in_the_table() -> None:
    # [DS]: ~50 service roles carry cloudkms.keyHandles.create/get/list (request an Autokey key), so they
    # are not "no Cloud KMS permission" roles.
    storage_admin = PREDEFINED_ROLES["roles/storage.admin"]
    assert "cloudkms.keyHandles.create" in storage_admin
    assert not {p for p in storage_admin if "useTo" in p or p.endswith("setIamPolicy")}


@pytest.mark.parametrize("role", ["roles/storage.admin", "roles/bigquery.user"])
def test_autokey_key_handle_requesters_are_neither_key_admins_nor_key_users(role: str) -> None:
    # Counting keyHandles.create as lifecycle made every storage/BigQuery/Compute admin a key
    # administrator for segregation of duties; requesting a key handle gives no power over keys.
    assert "cloudkms.keyHandles.create" in PREDEFINED_ROLES[role]
    capabilities = capabilities_for_role(role, NO_CUSTOM)
    assert capabilities is not None
    assert not ADMIN_CAPABILITIES & capabilities
    assert not {C.ADMINISTER_ACCESS, C.MANAGE_LIFECYCLE, C.DESTROY, C.IMPORT_MATERIAL} & capabilities
    assert not USE & capabilities
    assert capabilities == {C.READ_METADATA}  # it can still follow its own key-handle requests


# -------------------------------------------------------------------------------------- custom roles
def test_custom_role_resolves_through_its_permissions() -> None:
    custom = {
        "projects/p1/roles/keyOps": [
            "cloudkms.cryptoKeyVersions.useToDecrypt",
            "cloudkms.cryptoKeyVersions.destroy",
            "storage.buckets.get",
        ],
        "organizations/123/roles/kmsIam": ["cloudkms.keyRings.setIamPolicy"],
    }
    assert capabilities_for_role("projects/p1/roles/keyOps", custom) == frozenset({C.DECRYPT, C.DESTROY})
    assert capabilities_for_role("organizations/123/roles/kmsIam", custom) == frozenset({C.ADMINISTER_ACCESS})


def test_custom_role_without_kms_permissions_is_known_and_gives_nothing() -> None:
    custom: dict[str, list[str]] = {
        "projects/p1/roles/storageReader": ["storage.objects.get"],
        "projects/p1/roles/empty": [],
        "projects/p1/roles/wildcard": ["cloudkms.*"],
    }
    for role in custom:
        assert capabilities_for_role(role, custom) == frozenset()


# ------------------------------------------------------------------------------------- unknown roles
@pytest.mark.parametrize(
    "role",
    [
        "roles/storage.objectViewer",
        "roles/compute.viewer",
        "roles/logging.admin",
        "roles/someService.newRole",
    ],
)
def test_a_predefined_role_missing_from_the_table_gives_no_access(role: str) -> None:
    assert role not in PREDEFINED_ROLES
    assert capabilities_for_role(role, NO_CUSTOM) == frozenset()


@pytest.mark.parametrize(
    "role",
    [
        "roles/cloudkms.someNewRole",  # newer than the snapshot: may hold Cloud KMS permissions
        "roles/resourcemanager.someNewRole",
        "roles/iam.someNewRole",
        "roles/CloudKms.Admin",  # names are case-sensitive: not roles/cloudkms.admin, but not "no access"
        "roles/IAM.someNewRole",
    ],
)
def test_an_unlisted_role_of_a_covered_service_stays_unknown(role: str) -> None:
    assert capabilities_for_role(role, NO_CUSTOM) is None


def test_an_unread_custom_role_stays_unknown() -> None:
    assert capabilities_for_role("projects/p1/roles/notRead", NO_CUSTOM) is None
    assert capabilities_for_role("organizations/42/roles/notRead", NO_CUSTOM) is None
    assert capabilities_for_role("projects/p1/roles/notRead", {"projects/p2/roles/notRead": []}) is None


def test_names_that_are_no_role_stay_unknown() -> None:
    assert capabilities_for_role("", NO_CUSTOM) is None
    assert capabilities_for_role("cloudkms.admin", NO_CUSTOM) is None  # the table is keyed by exact names
    assert capabilities_for_role("storage.admin", NO_CUSTOM) is None


def test_a_definition_read_from_the_api_wins_over_the_builtin_table() -> None:
    live = {"roles/cloudkms.viewer": ["cloudkms.cryptoKeys.get", "cloudkms.cryptoKeyVersions.useToSign"]}
    assert capabilities_for_role("roles/cloudkms.viewer", live) == frozenset({C.READ_METADATA, C.SIGN})
    # ...and a covered-service role the built-in table lacks can be supplied the same way.
    live = {"roles/cloudkms.someNewRole": ["cloudkms.cryptoKeyVersions.useToDecrypt"]}
    assert capabilities_for_role("roles/cloudkms.someNewRole", live) == frozenset({C.DECRYPT})
    assert capabilities_for_role("roles/storage.admin", {"roles/storage.admin": ["storage.objects.get"]}) == (
        frozenset()
    )
