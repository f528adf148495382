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
        "cloudkms.keyHandles.create",
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
L = C.MANAGE_LIFECYCLE
R = C.READ_METADATA

# Every predefined role in the table -> the capabilities a binding of it gives.
ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    "roles/owner": ALL,
    # Editor manages and imports, but can neither change IAM, destroy, nor use keys.
    "roles/editor": frozenset({L, C.IMPORT_MATERIAL, C.EXPORT, R}),
    "roles/viewer": frozenset({R}),
    # Admin: administer, lifecycle, destroy, import; encrypt/decrypt only through ...ViaDelegation.
    "roles/cloudkms.admin": frozenset(
        {C.ADMINISTER_ACCESS, L, C.DESTROY, C.IMPORT_MATERIAL, C.EXPORT, C.ENCRYPT, C.DECRYPT, R}
    ),
    "roles/cloudkms.cryptoKeyEncrypterDecrypter": frozenset({C.ENCRYPT, C.DECRYPT}),
    "roles/cloudkms.cryptoKeyEncrypter": frozenset({C.ENCRYPT}),
    "roles/cloudkms.cryptoKeyDecrypter": frozenset({C.DECRYPT}),
    "roles/cloudkms.cryptoOperator": frozenset({C.ENCRYPT, C.DECRYPT, C.SIGN, C.VERIFY, R}),
    "roles/cloudkms.signer": frozenset({C.SIGN}),
    "roles/cloudkms.signerVerifier": frozenset({C.SIGN, C.VERIFY, R}),
    "roles/cloudkms.verifier": frozenset({C.VERIFY, R}),
    "roles/cloudkms.publicKeyViewer": frozenset({R}),
    "roles/cloudkms.decapsulator": frozenset({C.DECRYPT, R}),
    "roles/cloudkms.viewer": frozenset({R}),
    "roles/cloudkms.importer": frozenset({C.IMPORT_MATERIAL, C.EXPORT, R}),
    "roles/cloudkms.ekmConnectionsAdmin": frozenset({L, R}),
    "roles/cloudkms.autokeyAdmin": frozenset({L, R}),
    "roles/cloudkms.autokeyUser": frozenset({L, R}),
    "roles/cloudkms.protectedResourcesViewer": frozenset({R}),
    "roles/cloudkms.encryptionDashboardViewer": frozenset({R}),
    "roles/cloudkms.cryptoKeyEncrypterDecrypterViaDelegation": frozenset({C.ENCRYPT, C.DECRYPT}),
    "roles/cloudkms.cryptoKeyDecrypterViaDelegation": frozenset({C.DECRYPT}),
    "roles/cloudkms.cryptoKeyEncrypterViaDelegation": frozenset({C.ENCRYPT}),
    "roles/cloudkms.expertRawAesCbc": frozenset({L}),
    "roles/cloudkms.expertRawAesCtr": frozenset({L}),
    "roles/cloudkms.expertRawPKCS1": frozenset({L}),
    "roles/cloudkms.expertPqcSigner": frozenset({L}),
    "roles/cloudkms.keyAccessJustificationsPolicyConfigAdmin": frozenset({L, R}),
    "roles/cloudkms.keyAccessJustificationsEnrollmentConfigViewer": frozenset({R}),
    "roles/cloudkms.hsmSingleTenantProposer": frozenset({L, R}),
    "roles/cloudkms.hsmSingleTenantQuorumMember": frozenset({L, R}),
    "roles/cloudkms.hsmSingleTenantExecutor": frozenset({L, R}),
    "roles/cloudkms.hsmSingleTenantKeyCreator": frozenset({L, R}),
    "roles/cloudkms.serviceAgent": frozenset({C.ADMINISTER_ACCESS, L, R}),
    "roles/resourcemanager.projectIamAdmin": frozenset({C.ADMINISTER_ACCESS, R}),
    "roles/resourcemanager.folderIamAdmin": frozenset({C.ADMINISTER_ACCESS, R}),
    "roles/resourcemanager.organizationAdmin": frozenset({C.ADMINISTER_ACCESS, R}),
    "roles/iam.securityAdmin": frozenset({C.ADMINISTER_ACCESS, R}),
    "roles/iam.roleAdmin": frozenset({C.ADMINISTER_ACCESS, R}),
    "roles/iam.organizationRoleAdmin": frozenset({C.ADMINISTER_ACCESS, R}),
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
    assert set(PREDEFINED_ROLES) == set(ROLE_CAPABILITIES)


@pytest.mark.parametrize(("role", "expected"), sorted(ROLE_CAPABILITIES.items()))
def test_predefined_role_capabilities(role: str, expected: frozenset[Capability]) -> None:
    assert capabilities_for_role(role, NO_CUSTOM) == expected


def test_role_permissions_are_all_in_the_permission_table() -> None:
    for role, perms in PREDEFINED_ROLES.items():
        assert perms, role
        assert perms <= set(PERMISSIONS), (role, sorted(perms - set(PERMISSIONS)))


def test_owner_holds_every_cloud_kms_permission_and_project_iam() -> None:
    owner = PREDEFINED_ROLES["roles/owner"]
    assert {p for p in PERMISSIONS if p.startswith("cloudkms.")} <= owner
    assert "resourcemanager.projects.setIamPolicy" in owner
    assert capabilities_for_role("roles/owner", NO_CUSTOM) == frozenset(Capability)


def test_admin_administers_and_destroys_but_never_uses_directly() -> None:
    admin = PREDEFINED_ROLES["roles/cloudkms.admin"]
    capabilities = capabilities_for_role("roles/cloudkms.admin", NO_CUSTOM)
    assert capabilities is not None
    assert capabilities >= ADMIN_CAPABILITIES
    assert not {C.SIGN, C.VERIFY} & capabilities
    direct_use = {p for p in admin if "cryptoKeyVersions.useTo" in p and not p.endswith("ViaDelegation")}
    assert direct_use == set()
    # Its only cryptographic permissions are the two ...ViaDelegation ones (cloud.google.com/iam/docs/
    # roles-permissions/cloudkms): without them it would not encrypt or decrypt at all.
    assert {p for p in admin if "cryptoKeyVersions.useTo" in p} == {
        "cloudkms.cryptoKeyVersions.useToEncryptViaDelegation",
        "cloudkms.cryptoKeyVersions.useToDecryptViaDelegation",
    }
    assert not capabilities_for_permissions(p for p in admin if "ViaDelegation" not in p) & USE


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
    assert capabilities_for_role("roles/cloudkms.cryptoKeyEncrypterDecrypter", NO_CUSTOM) == {
        C.ENCRYPT,
        C.DECRYPT,
    }


def test_via_delegation_counts_as_use() -> None:
    assert capabilities_for_role("roles/cloudkms.cryptoKeyDecrypterViaDelegation", NO_CUSTOM) == {C.DECRYPT}
    assert capabilities_for_role("roles/cloudkms.cryptoKeyEncrypterViaDelegation", NO_CUSTOM) == {C.ENCRYPT}


def test_hierarchy_iam_admins_administer_access_only() -> None:
    for role in (
        "roles/resourcemanager.projectIamAdmin",
        "roles/resourcemanager.folderIamAdmin",
        "roles/resourcemanager.organizationAdmin",
        "roles/iam.securityAdmin",
    ):
        capabilities = capabilities_for_role(role, NO_CUSTOM)
        assert capabilities is not None
        assert C.ADMINISTER_ACCESS in capabilities
        assert not (USE | {C.DESTROY, C.MANAGE_LIFECYCLE}) & capabilities


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
    assert capabilities_for_role("projects/p1/roles/keyOps", custom) == {C.DECRYPT, C.DESTROY}
    assert capabilities_for_role("organizations/123/roles/kmsIam", custom) == {C.ADMINISTER_ACCESS}


def test_custom_role_without_kms_permissions_is_known_and_gives_nothing() -> None:
    custom: dict[str, list[str]] = {
        "projects/p1/roles/storageReader": ["storage.objects.get"],
        "projects/p1/roles/empty": [],
        "projects/p1/roles/wildcard": ["cloudkms.*"],
    }
    for role in custom:
        assert capabilities_for_role(role, custom) == frozenset()


def test_unknown_role_is_none_never_no_access() -> None:
    assert capabilities_for_role("roles/storage.admin", NO_CUSTOM) is None
    assert capabilities_for_role("projects/p1/roles/notRead", NO_CUSTOM) is None
    assert capabilities_for_role("projects/p1/roles/notRead", {"projects/p2/roles/notRead": []}) is None
    assert capabilities_for_role("", NO_CUSTOM) is None
    # The table is keyed by exact role names.
    assert capabilities_for_role("cloudkms.admin", NO_CUSTOM) is None
    assert capabilities_for_role("roles/CloudKms.Admin", NO_CUSTOM) is None


def test_a_definition_read_from_the_api_wins_over_the_builtin_table() -> None:
    live = {"roles/cloudkms.viewer": ["cloudkms.cryptoKeys.get", "cloudkms.cryptoKeyVersions.useToSign"]}
    assert capabilities_for_role("roles/cloudkms.viewer", live) == {C.READ_METADATA, C.SIGN}
    # ...and a predefined role the built-in table lacks can be supplied the same way.
    assert capabilities_for_role("roles/storage.admin", {"roles/storage.admin": ["storage.objects.get"]}) == (
        frozenset()
    )
