from __future__ import annotations

import botocore.session  # type: ignore[import-untyped]
import pytest

from providers.aws.actions import (
    ACTIONS,
    IAM_ESCALATION_ACTIONS,
    KMS_ACTIONS,
    capabilities_for,
    matching_actions,
)
from scanner.inventory import Capability

C = Capability

EXPECTED: dict[Capability, list[str]] = {
    C.ADMINISTER_ACCESS: ["PutKeyPolicy", "CreateGrant", "ReplicateKey"],
    C.MANAGE_LIFECYCLE: [
        "EnableKey",
        "DisableKey",
        "EnableKeyRotation",
        "DisableKeyRotation",
        "RotateKeyOnDemand",
        "UpdateKeyDescription",
        "CreateAlias",
        "UpdateAlias",
        "DeleteAlias",
        "RevokeGrant",
        "RetireGrant",
        "UpdatePrimaryRegion",
        "CancelKeyDeletion",
        "TagResource",
        "UntagResource",
    ],
    C.DESTROY: ["ScheduleKeyDeletion", "DeleteImportedKeyMaterial"],
    C.IMPORT_MATERIAL: ["ImportKeyMaterial", "GetParametersForImport"],
    C.ENCRYPT: [
        "Encrypt",
        "ReEncryptTo",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPairWithoutPlaintext",
        "Encapsulate",
    ],
    C.DECRYPT: [
        "Decrypt",
        "ReEncryptFrom",
        "GenerateDataKey",
        "GenerateDataKeyPair",
        "DeriveSharedSecret",
        "Decapsulate",
    ],
    C.SIGN: ["Sign", "GenerateMac"],
    C.VERIFY: ["Verify", "VerifyMac"],
    C.READ_METADATA: [
        "DescribeKey",
        "GetKeyPolicy",
        "GetKeyRotationStatus",
        "GetKeyLastUsage",
        "GetPublicKey",
        "ListAliases",
        "ListGrants",
        "ListKeyPolicies",
        "ListKeyRotations",
        "ListKeys",
        "ListResourceTags",
        "ListRetirableGrants",
        "DescribeCustomKeyStores",
    ],
}


def test_every_kms_api_operation_of_the_botocore_model_is_in_the_table() -> None:
    operations = botocore.session.get_session().get_service_model("kms").operation_names
    missing: list[str] = []
    for operation in operations:
        # The ReEncrypt API is authorised by two IAM actions, one per key involved.
        names = ["ReEncryptFrom", "ReEncryptTo"] if operation == "ReEncrypt" else [operation]
        missing.extend(n for n in names if f"kms:{n}" not in ACTIONS)
    assert missing == []
    assert "kms:ReEncrypt" not in ACTIONS


@pytest.mark.parametrize(
    ("capability", "action"), [(cap, action) for cap, actions in EXPECTED.items() for action in actions]
)
def test_each_action_maps_to_exactly_its_capability(capability: Capability, action: str) -> None:
    assert ACTIONS[f"kms:{action}"] == frozenset({capability})
    assert capabilities_for([f"kms:{action}"]) == frozenset({capability})


@pytest.mark.parametrize(
    "action", ["CreateKey", "GenerateRandom", "CreateCustomKeyStore", "DeleteCustomKeyStore"]
)
def test_actions_not_about_an_existing_key_give_nothing(action: str) -> None:
    assert f"kms:{action}" in ACTIONS
    assert capabilities_for([f"kms:{action}"]) == frozenset()


@pytest.mark.parametrize(
    "action", ["ConnectCustomKeyStore", "DisconnectCustomKeyStore", "UpdateCustomKeyStore"]
)
def test_custom_key_store_connectivity_is_lifecycle(action: str) -> None:
    assert capabilities_for([f"kms:{action}"]) == {C.MANAGE_LIFECYCLE}


def test_table_values_are_capability_frozensets_and_names_are_canonical() -> None:
    for name, capabilities in ACTIONS.items():
        assert isinstance(capabilities, frozenset)
        assert all(isinstance(c, Capability) for c in capabilities)
        service, _, action = name.partition(":")
        assert service in ("kms", "iam")
        assert action[0].isupper()
    assert set(ACTIONS) == KMS_ACTIONS | IAM_ESCALATION_ACTIONS
    assert not KMS_ACTIONS & IAM_ESCALATION_ACTIONS


@pytest.mark.parametrize(
    "action",
    [
        "iam:PutUserPolicy",
        "iam:PutRolePolicy",
        "iam:PutGroupPolicy",
        "iam:AttachUserPolicy",
        "iam:AttachRolePolicy",
        "iam:AttachGroupPolicy",
        "iam:CreatePolicyVersion",
        "iam:SetDefaultPolicyVersion",
        "iam:AddUserToGroup",
        "iam:UpdateAssumeRolePolicy",
    ],
)
def test_iam_policy_changing_actions_administer_access(action: str) -> None:
    assert capabilities_for([action]) == {C.ADMINISTER_ACCESS}


def test_iam_actions_that_do_not_change_policies_are_not_in_the_table() -> None:
    assert capabilities_for(["iam:CreateAccessKey", "iam:GetRole", "iam:PassRole"]) == frozenset()
    assert capabilities_for(["iam:Put*"]) == {C.ADMINISTER_ACCESS}
    assert matching_actions(["iam:Put*"]) == {"iam:PutUserPolicy", "iam:PutRolePolicy", "iam:PutGroupPolicy"}


def test_full_wildcards() -> None:
    every_kms_capability = frozenset(EXPECTED)
    assert capabilities_for(["kms:*"]) == every_kms_capability
    assert matching_actions(["kms:*"]) == KMS_ACTIONS
    assert capabilities_for(["*"]) == every_kms_capability
    assert matching_actions(["*"]) == set(ACTIONS)
    assert C.EXPORT not in capabilities_for(["*"])  # AWS KMS never releases key material


def test_prefix_wildcards() -> None:
    assert capabilities_for(["kms:Get*"]) == {C.READ_METADATA, C.IMPORT_MATERIAL}
    assert capabilities_for(["kms:ReEncrypt*"]) == {C.ENCRYPT, C.DECRYPT}
    assert matching_actions(["kms:ReEncrypt*"]) == {"kms:ReEncryptFrom", "kms:ReEncryptTo"}
    assert capabilities_for(["kms:GenerateDataKey*"]) == {C.ENCRYPT, C.DECRYPT}
    assert capabilities_for(["kms:Describe*", "kms:List*"]) == {C.READ_METADATA}
    assert capabilities_for(["kms:Create*"]) == {C.ADMINISTER_ACCESS, C.MANAGE_LIFECYCLE}
    assert capabilities_for(["kms:Delete*"]) == {C.MANAGE_LIFECYCLE, C.DESTROY}
    assert capabilities_for(["kms:*Mac"]) == {C.SIGN, C.VERIFY}
    assert matching_actions(["kms:?ign"]) == {"kms:Sign"}


def test_matching_is_case_insensitive_for_service_and_action() -> None:
    assert capabilities_for(["KMS:decrypt"]) == {C.DECRYPT}
    assert capabilities_for(["Kms:SCHEDULEKEYDELETION"]) == {C.DESTROY}
    assert capabilities_for(["kms:reencrypt*"]) == {C.ENCRYPT, C.DECRYPT}
    assert capabilities_for(["IAM:attachrolepolicy"]) == {C.ADMINISTER_ACCESS}
    assert matching_actions(["kms:dEcRyPt"]) == {"kms:Decrypt"}


def test_unknown_actions_and_other_services_are_ignored() -> None:
    assert (
        capabilities_for(["s3:GetObject", "kms:NoSuchAction", "Decrypt", "kms:ReEncrypt", ""]) == frozenset()
    )
    assert capabilities_for(["s3:*", "kms:Sign", "ec2:Describe*"]) == {C.SIGN}
    assert capabilities_for([]) == frozenset()


def test_negate_gives_everything_not_matched() -> None:
    assert capabilities_for(["*"], negate=True) == frozenset()
    # NotAction kms:* leaves only the IAM escalation actions.
    assert capabilities_for(["kms:*"], negate=True) == {C.ADMINISTER_ACCESS}
    assert matching_actions(["kms:*"], negate=True) == IAM_ESCALATION_ACTIONS
    everything_but_reveal = capabilities_for(
        [
            "kms:Decrypt",
            "kms:ReEncrypt*",
            "kms:GenerateDataKey",
            "kms:GenerateDataKeyPair",
            "kms:Derive*",
            "kms:Decapsulate",
        ],
        negate=True,
    )
    assert C.DECRYPT not in everything_but_reveal
    assert C.ENCRYPT in everything_but_reveal  # ReEncryptTo went with ReEncrypt*, but Encrypt remains
    assert {C.ADMINISTER_ACCESS, C.DESTROY, C.SIGN} <= everything_but_reveal
    # Unknown names in a NotAction exclude nothing.
    assert capabilities_for(["s3:*"], negate=True) == capabilities_for(["*"])
    assert matching_actions([], negate=True) == set(ACTIONS)


def test_patterns_may_be_any_iterable() -> None:
    assert capabilities_for(f"kms:{op}" for op in ("Encrypt", "Verify")) == {C.ENCRYPT, C.VERIFY}
    assert capabilities_for(("kms:Sign",), negate=False) == {C.SIGN}
