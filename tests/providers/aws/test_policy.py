from __future__ import annotations

import copy
import itertools
import json
import random
from typing import Any

import pytest

from providers.aws.actions import capabilities_for
from providers.aws.policy import (
    DenyRule,
    IdentityAccess,
    KeyPolicyAccess,
    PolicyParseError,
    PrincipalAccess,
    PrincipalRef,
    evaluate_identity_policies,
    evaluate_key_policy,
    normalize_principal,
)
from scanner.inventory import Capability, PrincipalKind

C = Capability
K = PrincipalKind

ACCOUNT = "111122223333"
OTHER = "444455556666"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{KEY_ID}"
OTHER_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/0987dcba-09fe-87dc-65ba-ab0987654321"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/KeyAdmin"
APP = f"arn:aws:iam::{ACCOUNT}:role/service/App"
PARTNER = f"arn:aws:iam::{OTHER}:role/Partner"

ALL_KMS = capabilities_for(["kms:*"])
ADMIN_ACTIONS = [
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
]
ADMIN_CAPS = {C.ADMINISTER_ACCESS, C.MANAGE_LIFECYCLE, C.DESTROY, C.IMPORT_MATERIAL, C.READ_METADATA}
USER_CAPS = {C.ENCRYPT, C.DECRYPT, C.READ_METADATA}


def stmt(
    principal: Any = None, action: Any = "kms:*", effect: str = "Allow", sid: str | None = None, **extra: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"Effect": effect, "Action": action, "Resource": "*"}
    if principal is not None:
        out["Principal"] = principal
    if sid is not None:
        out["Sid"] = sid
    out.update(extra)
    return {k: v for k, v in out.items() if v is not None}


def aws(*arns: str) -> dict[str, Any]:
    return {"AWS": arns[0] if len(arns) == 1 else list(arns)}


def policy(*statements: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def evaluate(document: Any) -> KeyPolicyAccess:
    return evaluate_key_policy(document, key_arn=KEY, account_id=ACCOUNT)


def grant(access: KeyPolicyAccess, principal: str) -> PrincipalAccess:
    found = access.grant_for(principal)
    assert found is not None, f"no grant for {principal}: {access.grants}"
    return found


def console_default_policy() -> dict[str, Any]:
    """The key policy the AWS console writes, with administrators and users chosen."""
    return {
        "Id": "key-consolepolicy-3",
        "Version": "2012-10-17",
        "Statement": [
            stmt(aws(ROOT), "kms:*", sid="Enable IAM User Permissions"),
            stmt(aws(ADMIN), ADMIN_ACTIONS, sid="Allow access for Key Administrators"),
            stmt(
                aws(APP),
                ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                sid="Allow use of the key",
            ),
            stmt(
                aws(APP),
                ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                sid="Allow attachment of persistent resources",
                Condition={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            ),
        ],
    }


# ---------------------------------------------------------------------------------------- key policies
def test_console_default_key_policy() -> None:
    access = evaluate(console_default_policy())

    assert [g.principal for g in access.grants] == sorted([ROOT, ADMIN, APP])
    root = grant(access, ROOT)
    assert (root.kind, root.external, root.capabilities, root.conditional) == (
        K.ACCOUNT,
        False,
        ALL_KMS,
        False,
    )
    assert root.statements == ("Enable IAM User Permissions",)
    admin = grant(access, ADMIN)
    assert admin.capabilities == ADMIN_CAPS
    assert admin.kind is K.ROLE and not admin.conditional
    app = grant(access, APP)
    # The grants-for-AWS-resources statement gives no power over access or lifecycle.
    assert app.capabilities == USER_CAPS
    assert app.conditional is False  # the use statement has no condition
    assert app.statements == ("Allow attachment of persistent resources", "Allow use of the key")
    assert access.delegates_to_iam is True
    assert access.delegated_capabilities == ALL_KMS
    assert access.denies == ()
    assert access.problems == ()


def test_json_text_and_mapping_give_the_same_result() -> None:
    document = console_default_policy()
    assert evaluate(json.dumps(document)) == evaluate(document)


def test_statement_may_be_a_single_object_and_elements_plain_strings() -> None:
    access = evaluate({"Statement": stmt(aws(APP), "kms:Decrypt")})
    assert grant(access, APP).capabilities == {C.DECRYPT}


@pytest.mark.parametrize(
    "condition",
    [
        None,
        {"Bool": {"kms:GrantIsForAWSResource": "false"}},
        {"BoolIfExists": {"kms:GrantIsForAWSResource": "true"}},
        {"StringEquals": {"kms:EncryptionContext:app": "x"}},
    ],
)
def test_create_grant_not_limited_to_aws_resources_administers_access(condition: Any) -> None:
    access = evaluate(policy(stmt(aws(APP), ["kms:CreateGrant", "kms:RevokeGrant"], Condition=condition)))
    assert grant(access, APP).capabilities == {C.ADMINISTER_ACCESS, C.MANAGE_LIFECYCLE}


def test_grant_for_aws_resource_condition_also_blocks_other_actions_of_the_statement() -> None:
    access = evaluate(
        policy(stmt(aws(APP), "kms:*", Condition={"Bool": {"kms:GrantIsForAWSResource": True}}))
    )
    app = grant(access, APP)
    assert app.capabilities == {C.READ_METADATA}  # only ListGrants can succeed
    assert app.conditional is False  # the condition limits the grants, not who may call


def test_unconditional_deny_overrides_allow_for_everyone() -> None:
    document = console_default_policy()
    destroy = ["kms:ScheduleKeyDeletion", "kms:DeleteImportedKeyMaterial"]
    document["Statement"].append(stmt("*", [*destroy, "kms:Decrypt"], effect="Deny", sid="NoDeletion"))
    access = evaluate(document)

    assert grant(access, ADMIN).capabilities == ADMIN_CAPS - {C.DESTROY}
    assert grant(access, ROOT).capabilities == ALL_KMS - {C.DESTROY}
    # Decrypt is denied, but GenerateDataKey and ReEncryptFrom still reveal: DECRYPT stays.
    assert C.DECRYPT in grant(access, APP).capabilities
    assert access.delegated_capabilities == ALL_KMS - {C.DESTROY}
    assert access.denies == (
        DenyRule(frozenset({*destroy, "kms:Decrypt"}), frozenset(), everyone_except=True),
    )
    assert access.denies[0].capabilities == {C.DESTROY}
    # The deny binds IAM-granted access too.
    any_role = f"arn:aws:iam::{ACCOUNT}:role/AnyRole"
    assert access.denied_capabilities(any_role) == {C.DESTROY}
    assert access.denied_actions(any_role) == {*destroy, "kms:Decrypt"}


def test_denies_subtract_actions_not_whole_capabilities() -> None:
    # ScheduleKeyDeletion denied, DeleteImportedKeyMaterial (kms:Delete*) still allowed: still DESTROY.
    access = evaluate(
        policy(stmt(aws(ADMIN), ADMIN_ACTIONS), stmt("*", "kms:ScheduleKeyDeletion", effect="Deny"))
    )
    assert grant(access, ADMIN).capabilities == ADMIN_CAPS
    assert access.denied_capabilities(ADMIN) == frozenset()
    assert access.denied_actions(ADMIN) == {"kms:ScheduleKeyDeletion"}


def test_deny_naming_a_principal_removes_only_its_capabilities() -> None:
    denied = [
        "kms:Put*",
        "kms:CreateGrant",
        "kms:ReplicateKey",
        "kms:ScheduleKeyDeletion",
        "kms:DeleteImported*",
    ]
    access = evaluate(policy(stmt(aws(ADMIN, APP), "kms:*"), stmt(aws(APP), denied, effect="Deny")))
    assert grant(access, ADMIN).capabilities == ALL_KMS
    assert grant(access, APP).capabilities == ALL_KMS - {C.ADMINISTER_ACCESS, C.DESTROY}
    assert access.denied_capabilities(ADMIN) == frozenset()
    assert access.denied_capabilities(APP) == {C.ADMINISTER_ACCESS, C.DESTROY}
    assert access.denied_capabilities("*") == frozenset()


def test_principal_denied_everything_it_was_allowed_is_dropped() -> None:
    access = evaluate(policy(stmt(aws(APP), "kms:Decrypt"), stmt(aws(APP), "kms:*", effect="Deny")))
    assert access.grant_for(APP) is None
    assert access.grants == ()


def test_deny_with_a_condition_is_ignored() -> None:
    access = evaluate(
        policy(
            stmt(aws(APP), "kms:*"),
            stmt("*", "kms:*", effect="Deny", Condition={"Bool": {"aws:MultiFactorAuthPresent": "false"}}),
        )
    )
    assert grant(access, APP).capabilities == ALL_KMS
    assert access.denies == ()


def test_deny_on_another_key_does_not_apply() -> None:
    access = evaluate(
        policy(stmt(aws(APP), "kms:Decrypt"), stmt("*", "kms:*", effect="Deny", Resource=OTHER_KEY))
    )
    assert grant(access, APP).capabilities == {C.DECRYPT}


def test_allow_not_action() -> None:
    access = evaluate(
        policy(
            stmt(
                aws(ADMIN),
                NotAction=[
                    "kms:Decrypt",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Sign",
                    "kms:Encrypt",
                    "kms:GenerateMac",
                    "kms:DeriveSharedSecret",
                    "kms:Decapsulate",
                    "kms:Encapsulate",
                ],
                action=None,
            )
        )
    )
    caps = grant(access, ADMIN).capabilities
    assert {C.ADMINISTER_ACCESS, C.DESTROY, C.MANAGE_LIFECYCLE, C.VERIFY} <= caps
    assert C.DECRYPT not in caps
    assert C.SIGN not in caps
    assert C.ENCRYPT not in caps


def test_deny_not_action_leaves_only_what_it_names() -> None:
    access = evaluate(
        policy(stmt(aws(APP), "kms:*"), stmt(aws(APP), effect="Deny", action=None, NotAction="kms:Describe*"))
    )
    assert grant(access, APP).capabilities == {C.READ_METADATA}


def test_allow_not_principal_is_everyone() -> None:
    access = evaluate(policy(stmt(action="kms:Decrypt", NotPrincipal=aws(ADMIN))))
    public = grant(access, "*")
    assert (public.kind, public.external, public.capabilities) == (K.PUBLIC, False, frozenset({C.DECRYPT}))
    assert access.grant_for(ADMIN) is None


def test_deny_not_principal_denies_everyone_else() -> None:
    access = evaluate(
        policy(
            stmt(aws(ADMIN, APP), "kms:*"),
            stmt(effect="Deny", action="kms:*", NotPrincipal=aws(ADMIN)),
        )
    )
    assert grant(access, ADMIN).capabilities == ALL_KMS
    assert access.grant_for(APP) is None
    assert access.denied_capabilities(APP) == ALL_KMS
    assert access.denied_capabilities(ADMIN) == frozenset()
    assert access.denied_capabilities("*") == ALL_KMS


def test_deny_not_principal_naming_the_account_exempts_its_principals() -> None:
    # Doubtful whether AWS exempts an account's roles here: kept on the side of more access.
    access = evaluate(
        policy(
            stmt(aws(APP, PARTNER), "kms:Decrypt"),
            stmt(effect="Deny", action="kms:*", NotPrincipal=aws(ACCOUNT)),
        )
    )
    assert grant(access, APP).capabilities == {C.DECRYPT}
    assert access.grant_for(PARTNER) is None


def test_deny_not_principal_that_cannot_be_read_is_ignored() -> None:
    access = evaluate(
        policy(
            stmt(aws(APP), "kms:Decrypt"),
            stmt(effect="Deny", action="kms:*", NotPrincipal={"AWS": ADMIN, "Odd": "x"}, sid="D"),
        )
    )
    assert grant(access, APP).capabilities == {C.DECRYPT}
    assert access.denies == ()
    assert access.problems == ("statement D: NotPrincipal type 'Odd' is not understood; ignored",)


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        ("kms:*", ALL_KMS),
        ("*", ALL_KMS),  # IAM actions mean nothing in a key policy
        ("kms:Get*", {C.READ_METADATA, C.IMPORT_MATERIAL}),
        ("kms:ReEncrypt*", {C.ENCRYPT, C.DECRYPT}),
        (["kms:Describe*", "kms:List*"], {C.READ_METADATA}),
        ("KMS:decrypt", {C.DECRYPT}),
        ("kms:SCHEDULEKEYDELETION", {C.DESTROY}),
    ],
)
def test_action_wildcards_and_case(actions: Any, expected: set[Capability]) -> None:
    assert grant(evaluate(policy(stmt(aws(APP), actions))), APP).capabilities == expected


def test_iam_actions_and_unknown_actions_give_nothing_in_a_key_policy() -> None:
    access = evaluate(policy(stmt(aws(APP), ["iam:PutRolePolicy", "s3:GetObject", "kms:NoSuchThing"])))
    assert access.grants == ()
    assert access.problems == ()


RESTRICTING = [
    {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}},
    {"StringEquals": {"AWS:SourceAccount": ACCOUNT}},  # keys are case-insensitive
    {"stringequals": {"kms:CallerAccount": ACCOUNT}},
    {"StringEquals": {"kms:ViaService": "ec2.us-east-1.amazonaws.com"}},
    {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/*"}},
    {"ArnEquals": {"aws:SourceArn": "arn:aws:s3:::bucket"}},
    {"StringEquals": {"aws:SourceVpce": ["vpce-1", "vpce-2"]}},
    {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
    {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-a/r-b/ou-c/*"}},
    # A restricting and a non-restricting key together still restrict.
    {"StringEquals": {"kms:EncryptionContext:app": "x", "aws:PrincipalAccount": ACCOUNT}},
]
NOT_RESTRICTING = [
    {"StringEquals": {"kms:EncryptionContext:app": "x"}},
    {"StringEquals": {"kms:KeySpec": "SYMMETRIC_DEFAULT"}},
    {"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-abc123"}},
    {"ArnLikeIfExists": {"aws:SourceArn": "arn:aws:s3:::bucket"}},
    # Wildcard org/account values and policy variables match callers anywhere. (GrantIsForAWSResource
    # limits what a grant is for, not who calls: see the grant test above.)
    {"StringLike": {"aws:PrincipalOrgID": "o-*"}},
    {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}},
    {"StringEquals": {"aws:SourceAccount": "${aws:PrincipalAccount}"}},
    {"StringLike": {"aws:PrincipalArn": "*"}},
    {"StringLike": {"aws:PrincipalAccount": ["*"]}},
    {"StringNotEquals": {"aws:PrincipalAccount": OTHER}},
    {"Null": {"aws:PrincipalOrgID": "false"}},
    {"ForAllValues:StringEquals": {"aws:PrincipalOrgID": "o-abc123"}},
    {"IpAddress": {"aws:SourceIp": ["0.0.0.0/0", "::/0"]}},
    {"Bool": {"aws:SecureTransport": "true"}},
]


@pytest.mark.parametrize("condition", RESTRICTING)
def test_restricting_conditions_make_access_conditional(condition: Any) -> None:
    access = evaluate(policy(stmt("*", ["kms:Describe*", "kms:ListGrants"], Condition=condition)))
    assert grant(access, "*").conditional is True


@pytest.mark.parametrize("condition", NOT_RESTRICTING)
def test_other_conditions_do_not(condition: Any) -> None:
    access = evaluate(policy(stmt("*", "kms:Describe*", Condition=condition)))
    assert grant(access, "*").conditional is False


def test_conditional_only_when_every_giving_statement_restricts() -> None:
    org = {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}
    both = evaluate(
        policy(
            stmt(aws(PARTNER), "kms:Decrypt", Condition=org), stmt(aws(PARTNER), "kms:Encrypt", sid="open")
        )
    )
    assert grant(both, PARTNER).conditional is False
    # A statement whose capabilities are all denied gave nothing: it does not count.
    denied = evaluate(
        policy(
            stmt(aws(PARTNER), "kms:Decrypt", Condition=org),
            stmt(aws(PARTNER), "kms:Encrypt", sid="open"),
            stmt(aws(PARTNER), "kms:Encrypt", effect="Deny"),
        )
    )
    assert grant(denied, PARTNER).conditional is True
    assert grant(denied, PARTNER).statements == ("stmt-" + grant(denied, PARTNER).statements[0][5:],)


def test_aws_managed_key_style_public_statement_is_conditional() -> None:
    access = evaluate(
        policy(
            stmt(
                {"AWS": "*"},
                ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                Condition={
                    "StringEquals": {
                        "kms:ViaService": "ebs.us-east-1.amazonaws.com",
                        "kms:CallerAccount": ACCOUNT,
                    }
                },
            )
        )
    )
    public = grant(access, "*")
    assert (public.kind, public.conditional) == (K.PUBLIC, True)
    assert access.delegates_to_iam is False


@pytest.mark.parametrize("root", [ROOT, ACCOUNT, [ACCOUNT]])
def test_root_delegation_in_either_spelling(root: Any) -> None:
    access = evaluate(policy(stmt({"AWS": root}, "kms:*")))
    assert access.delegates_to_iam is True
    assert [g.principal for g in access.grants] == [ROOT]
    assert grant(access, ROOT).kind is K.ACCOUNT


def test_root_allowed_only_with_a_restricting_condition_does_not_delegate() -> None:
    access = evaluate(
        policy(stmt(aws(ROOT), "kms:*", Condition={"StringEquals": {"kms:CallerAccount": ACCOUNT}}))
    )
    assert access.delegates_to_iam is False
    assert access.delegated_capabilities == frozenset()
    assert grant(access, ROOT).conditional is True


def test_root_with_a_non_restricting_condition_delegates() -> None:
    access = evaluate(
        policy(stmt(aws(ROOT), "kms:*", Condition={"StringEquals": {"kms:EncryptionContextKeys": "app"}}))
    )
    assert access.delegates_to_iam is True


def test_delegation_reaches_only_what_root_is_allowed() -> None:
    access = evaluate(policy(stmt(aws(ROOT), ["kms:Describe*", "kms:Put*"])))
    assert access.delegates_to_iam is True
    assert access.delegated_capabilities == {C.READ_METADATA, C.ADMINISTER_ACCESS}


def test_other_accounts_root_and_no_root_do_not_delegate() -> None:
    foreign = evaluate(policy(stmt(aws(OTHER), "kms:*")))
    assert foreign.delegates_to_iam is False
    other_root = grant(foreign, f"arn:aws:iam::{OTHER}:root")
    assert (other_root.kind, other_root.external) == (K.ACCOUNT, True)
    assert evaluate(policy(stmt(aws(ADMIN), "kms:*"))).delegates_to_iam is False


def test_root_denied_everything_does_not_delegate() -> None:
    access = evaluate(policy(stmt(aws(ROOT), "kms:*"), stmt("*", "kms:*", effect="Deny")))
    assert access.delegates_to_iam is False
    assert access.grants == ()


def test_principal_kinds_and_external() -> None:
    unique_id = "AROAEXAMPLEID12345678"
    access = evaluate(
        policy(
            stmt(
                {
                    "AWS": [
                        APP,
                        PARTNER,
                        f"arn:aws:iam::{ACCOUNT}:user/alice",
                        f"arn:aws:sts::{OTHER}:assumed-role/Ops/session-1",
                        unique_id,
                    ],
                    "Service": "bedrock.amazonaws.com",
                    "Federated": f"arn:aws:iam::{OTHER}:saml-provider/Corp",
                    "CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be",
                },
                "kms:Decrypt",
            )
        )
    )
    kinds = {g.principal: (g.kind, g.external) for g in access.grants}
    assert kinds == {
        APP: (K.ROLE, False),
        PARTNER: (K.ROLE, True),
        f"arn:aws:iam::{ACCOUNT}:user/alice": (K.USER, False),
        f"arn:aws:iam::{OTHER}:role/Ops": (K.ROLE, True),  # a session folds into its role
        unique_id: (K.UNKNOWN, False),
        "bedrock.amazonaws.com": (K.SERVICE, False),
        f"arn:aws:iam::{OTHER}:saml-provider/Corp": (K.ROLE, True),
        "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be": (K.UNKNOWN, False),
    }
    assert [g.principal for g in access.grants] == sorted(kinds)


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}, {"AWS": ["*"]}])
def test_public_principal_spellings(principal: Any) -> None:
    access = evaluate(policy(stmt(principal, "kms:Decrypt")))
    assert [(g.principal, g.kind, g.external) for g in access.grants] == [("*", K.PUBLIC, False)]


def test_normalize_principal() -> None:
    assert normalize_principal(ACCOUNT, account_id=ACCOUNT) == PrincipalRef(ROOT, K.ACCOUNT, False)
    assert normalize_principal(OTHER, account_id=ACCOUNT, partition="aws-cn") == PrincipalRef(
        f"arn:aws-cn:iam::{OTHER}:root", K.ACCOUNT, True
    )
    assert normalize_principal(" " + APP, account_id=ACCOUNT).uid == APP
    assert (
        normalize_principal("s3.amazonaws.com", account_id=ACCOUNT, principal_type="Service").kind
        is K.SERVICE
    )
    assert normalize_principal("accounts.google.com", account_id=ACCOUNT, principal_type="Federated") == (
        PrincipalRef("accounts.google.com", K.ROLE, False)
    )


def test_partition_comes_from_the_key() -> None:
    key = f"arn:aws-cn:kms:cn-north-1:{ACCOUNT}:key/{KEY_ID}"
    access = evaluate_key_policy(policy(stmt(aws(ACCOUNT), "kms:*")), key_arn=key, account_id=ACCOUNT)
    assert [g.principal for g in access.grants] == [f"arn:aws-cn:iam::{ACCOUNT}:root"]
    assert access.delegates_to_iam is True


@pytest.mark.parametrize(
    ("resource", "applies"),
    [
        ("*", True),
        (KEY, True),
        (f"arn:aws:kms:*:{ACCOUNT}:key/*", True),
        (f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234*", True),
        (OTHER_KEY, False),
        (f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/app", False),
        ([OTHER_KEY, KEY], True),
    ],
)
def test_resource_must_match_the_key(resource: Any, applies: bool) -> None:
    access = evaluate(policy(stmt(aws(APP), "kms:Decrypt", Resource=resource)))
    assert (access.grant_for(APP) is not None) is applies


def test_not_resource() -> None:
    excluded = evaluate(policy(stmt(aws(APP), "kms:Decrypt", Resource=None, NotResource=KEY)))
    assert excluded.grants == ()
    elsewhere = evaluate(policy(stmt(aws(APP), "kms:Decrypt", Resource=None, NotResource=OTHER_KEY)))
    assert grant(elsewhere, APP).capabilities == {C.DECRYPT}


def test_malformed_json_raises_a_clear_error() -> None:
    with pytest.raises(PolicyParseError, match=r"key policy is not valid JSON: .*line 1, column"):
        evaluate('{"Statement": [')
    with pytest.raises(PolicyParseError, match="not a JSON object"):
        evaluate("[]")


def test_statements_that_cannot_be_understood_are_problems_and_the_rest_still_counts() -> None:
    access = evaluate(
        policy(
            stmt(aws(APP), "kms:Decrypt"),
            "not a statement",
            stmt(aws(ADMIN), "kms:*", effect="Permit", sid="BadEffect"),
            stmt(aws(ADMIN), "kms:*", effect="allow", sid="LowerCaseEffect"),
            {"Effect": "Allow", "Principal": aws(ADMIN), "Resource": "*", "Sid": "NoAction"},
            stmt(aws(ADMIN), ["kms:Decrypt", 7], sid="NumberAction"),
            stmt(None, "kms:*", sid="NoPrincipal"),
            stmt({"Space": "x"}, "kms:*", sid="OddPrincipalType"),
            stmt(aws(ADMIN), "kms:*", sid="BothResources", NotResource="*"),
            stmt(aws(PARTNER), "kms:Decrypt", sid="BadCondition", Condition={"StringEquals": "x"}),
        )
    )
    assert [g.principal for g in access.grants] == sorted([APP, PARTNER])
    # An Allow whose condition cannot be read counts as unconditional (the safe side).
    assert grant(access, PARTNER).conditional is False
    sids = [
        "BadEffect",
        "LowerCaseEffect",
        "NoAction",
        "NumberAction",
        "NoPrincipal",
        "OddPrincipalType",
        "BothResources",
        "BadCondition",
    ]
    for sid in sids:
        assert any(p.startswith(f"statement {sid}: ") for p in access.problems), sid
    assert any("not an object" in p and p.startswith("statement stmt-") for p in access.problems)
    assert list(access.problems) == sorted(access.problems)


def test_document_without_statement_list_is_a_problem() -> None:
    assert evaluate({"Version": "2012-10-17"}).problems == ("the document has no Statement",)
    assert evaluate({"Statement": "x"}).problems == ("Statement is neither an object nor a list",)


def test_statement_order_never_changes_the_result() -> None:
    statements = [
        *console_default_policy()["Statement"],
        stmt("*", ["kms:ScheduleKeyDeletion", "kms:DeleteImportedKeyMaterial"], effect="Deny"),  # no Sid
        stmt(aws(PARTNER), "kms:Decrypt", Condition={"StringEquals": {"aws:PrincipalOrgID": "o-1"}}),
        stmt(aws(PARTNER), ["kms:Encrypt", "kms:DescribeKey"]),
        stmt(effect="Deny", action="kms:Put*", NotPrincipal=aws(ADMIN, ROOT)),
    ]
    # Fresh documents each time (as text): nothing may hang on object identity or position.
    assert (
        len({evaluate(json.dumps(policy(*order))) for order in itertools.permutations(statements[:6])}) == 1
    )
    shuffled = [random.Random(seed).sample(statements, len(statements)) for seed in range(200)]
    results = {evaluate(json.dumps(policy(*order))) for order in [*shuffled, list(reversed(statements))]}
    assert len(results) == 1
    (result,) = results
    assert grant(result, PARTNER).conditional is False
    assert C.DESTROY not in grant(result, ADMIN).capabilities
    assert all(s.startswith("stmt-") for s in grant(result, PARTNER).statements)


def test_input_document_is_not_modified() -> None:
    document = console_default_policy()
    before = copy.deepcopy(document)
    evaluate(document)
    assert document == before


# ------------------------------------------------------------------------------------ identity policies
def identity(*documents: tuple[str, Any], key_arn: str | None = KEY) -> IdentityAccess:
    return evaluate_identity_policies(documents, key_arn=key_arn)


@pytest.mark.parametrize(
    ("resource", "on_key", "on_all_keys"),
    [
        ("*", True, True),
        ("arn:aws:kms:*", True, True),
        (f"arn:aws:kms:*:{ACCOUNT}:key/*", True, True),
        (f"arn:aws:kms:us-east-1:{ACCOUNT}:key/*", True, True),
        ("arn:aws:kms:*:*:*", True, True),
        (f"arn:aws:kms:eu-*:{ACCOUNT}:key/*", False, True),  # every key of some regions
        (KEY, True, False),
        (f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234*", True, False),
        (f"arn:aws:kms:*:{ACCOUNT}:key/${{aws:username}}", True, False),
        (f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/*", False, False),
        ("arn:aws:s3:::*", False, False),
    ],
)
def test_identity_policy_for_one_key_and_for_all_keys(resource: str, on_key: bool, on_all_keys: bool) -> None:
    document = policy(stmt(action="kms:Decrypt", Resource=resource))
    assert (identity(("p", document)).capabilities == {C.DECRYPT}) is on_key
    assert (identity(("p", document), key_arn=None).capabilities == {C.DECRYPT}) is on_all_keys


def test_identity_via_names_only_policies_that_gave_something() -> None:
    access = identity(
        ("zeta-use", policy(stmt(action=["kms:Decrypt", "kms:Encrypt"]))),
        ("alpha-read", json.dumps(policy(stmt(action="kms:DescribeKey")))),
        ("s3-only", policy(stmt(action="s3:*"))),
        ("other-key", policy(stmt(action="kms:*", Resource=OTHER_KEY))),
    )
    assert access.capabilities == {C.DECRYPT, C.ENCRYPT, C.READ_METADATA}
    assert access.via == ("alpha-read", "zeta-use")
    assert access.conditional is False


def test_identity_denies_subtract() -> None:
    allow_all = ("admin", policy(stmt(action="kms:*")))
    deny_reveal = (
        "no-decrypt",
        policy(
            stmt(
                action=[
                    "kms:Decrypt",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:DeriveSharedSecret",
                    "kms:Decapsulate",
                ],
                effect="Deny",
            )
        ),
    )
    assert C.DECRYPT not in identity(allow_all, deny_reveal).capabilities
    assert C.DECRYPT not in identity(allow_all, deny_reveal, key_arn=None).capabilities
    conditional_deny = (
        "mfa",
        policy(
            stmt(action="kms:*", effect="Deny", Condition={"Bool": {"aws:MultiFactorAuthPresent": "false"}})
        ),
    )
    assert identity(allow_all, conditional_deny).capabilities == ALL_KMS


def test_identity_deny_on_one_key_does_not_remove_all_key_access() -> None:
    allow_all = ("admin", policy(stmt(action="kms:Decrypt")))
    deny_key = ("protect", policy(stmt(action="kms:*", effect="Deny", Resource=KEY)))
    assert identity(allow_all, deny_key).capabilities == frozenset()
    assert identity(allow_all, deny_key, key_arn=OTHER_KEY).capabilities == {C.DECRYPT}
    assert identity(allow_all, deny_key, key_arn=None).capabilities == {C.DECRYPT}
    # A deny on every key of one region is not a deny on every key either.
    deny_region = (
        "region",
        policy(stmt(action="kms:*", effect="Deny", Resource=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/*")),
    )
    assert identity(allow_all, deny_region, key_arn=None).capabilities == {C.DECRYPT}
    deny_everywhere = ("all", policy(stmt(action="kms:*", effect="Deny", Resource="arn:aws:kms:*:*:key/*")))
    assert identity(allow_all, deny_everywhere, key_arn=None).capabilities == frozenset()


def test_identity_not_action_and_not_resource() -> None:
    everything_but_iam = ("poweruser", policy(stmt(action=None, NotAction="iam:*")))
    assert identity(everything_but_iam, key_arn=None).capabilities == ALL_KMS
    but_this_key = ("others", policy(stmt(action="kms:Decrypt", Resource=None, NotResource=KEY)))
    assert identity(but_this_key).capabilities == frozenset()
    assert identity(but_this_key, key_arn=OTHER_KEY).capabilities == {C.DECRYPT}
    assert identity(but_this_key, key_arn=None).capabilities == {C.DECRYPT}  # all keys but one still counts
    but_kms = ("no-kms", policy(stmt(action="kms:Decrypt", Resource=None, NotResource="arn:aws:kms:*")))
    assert identity(but_kms, key_arn=None).capabilities == frozenset()


@pytest.mark.parametrize(
    ("resource", "escalates"),
    [
        ("*", True),
        ("arn:aws:iam::*:*", True),
        (f"arn:aws:iam::{ACCOUNT}:*", True),
        (f"arn:aws:iam::{ACCOUNT}:role/App", False),
        (f"arn:aws:iam::{ACCOUNT}:role/*", False),
    ],
)
def test_iam_escalation_actions_on_every_iam_resource_administer_access(
    resource: str, escalates: bool
) -> None:
    document = (
        "iam-admin",
        policy(stmt(action=["iam:PutRolePolicy", "iam:AttachRolePolicy"], Resource=resource)),
    )
    expected = {C.ADMINISTER_ACCESS} if escalates else set()
    assert identity(document, key_arn=None).capabilities == expected
    assert identity(document).capabilities == expected


def test_iam_escalation_denied() -> None:
    documents = (
        ("admin", policy(stmt(action="*"))),
        ("no-iam", policy(stmt(action="iam:*", effect="Deny"))),
    )
    assert identity(*documents, key_arn=None).capabilities == ALL_KMS
    assert C.ADMINISTER_ACCESS in ALL_KMS  # still there through kms:PutKeyPolicy
    no_put = (
        "no-put",
        policy(stmt(action=["kms:Put*", "kms:CreateGrant", "kms:ReplicateKey"], effect="Deny")),
    )
    assert C.ADMINISTER_ACCESS in identity(documents[0], no_put, key_arn=None).capabilities  # IAM route left
    assert C.ADMINISTER_ACCESS not in identity(*documents, no_put, key_arn=None).capabilities


def test_identity_conditional() -> None:
    vpce = {"StringEquals": {"aws:SourceVpce": "vpce-1"}}
    only_conditional = identity(("app", policy(stmt(action="kms:Decrypt", Condition=vpce))))
    assert (only_conditional.capabilities, only_conditional.conditional) == (frozenset({C.DECRYPT}), True)
    mixed = identity(
        ("app", policy(stmt(action="kms:Decrypt", Condition=vpce))),
        ("read", policy(stmt(action="kms:DescribeKey"))),
    )
    assert mixed.conditional is False
    if_exists = identity(
        (
            "app",
            policy(
                stmt(action="kms:Decrypt", Condition={"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1"}})
            ),
        )
    )
    assert if_exists.conditional is False
    assert identity(("none", policy(stmt(action="s3:*")))).conditional is False


def test_identity_policy_with_a_principal_or_bad_statement_is_a_problem() -> None:
    access = identity(
        ("odd", policy(stmt(aws(APP), "kms:Decrypt", sid="HasPrincipal"), stmt(action="kms:Encrypt"))),
        ("bad", policy(stmt(action="kms:Sign", effect="Maybe", sid="X"))),
    )
    assert access.capabilities == {C.ENCRYPT}
    assert access.problems == (
        "bad: statement X: Effect 'Maybe' is neither 'Allow' nor 'Deny'; ignored",
        "odd: statement HasPrincipal: an identity policy cannot name a Principal; ignored",
    )


def test_identity_malformed_document_names_the_policy() -> None:
    with pytest.raises(PolicyParseError, match="identity policy 'broken' is not valid JSON"):
        identity(("fine", policy(stmt(action="kms:*"))), ("broken", "{nope"))


def test_identity_order_never_changes_the_result() -> None:
    documents = [
        (
            "use",
            policy(
                stmt(action=["kms:Decrypt", "kms:Encrypt"]),
                stmt(action="kms:Sign", Condition={"StringEquals": {"aws:SourceVpc": "vpc-1"}}),
            ),
        ),
        ("deny-sign", policy(stmt(action="kms:Sign", effect="Deny"))),
        ("iam", policy(stmt(action="iam:Attach*"))),
        ("one-key", policy(stmt(action="kms:ScheduleKeyDeletion", Resource=KEY))),
    ]
    for key_arn in (KEY, None):
        results = {
            evaluate_identity_policies(order, key_arn=key_arn) for order in itertools.permutations(documents)
        }
        reversed_statements = [(n, {"Statement": list(reversed(d["Statement"]))}) for n, d in documents]
        results.add(evaluate_identity_policies(reversed_statements, key_arn=key_arn))
        assert len(results) == 1
    on_key = identity(*documents)
    assert on_key.capabilities == {C.DECRYPT, C.ENCRYPT, C.ADMINISTER_ACCESS, C.DESTROY}
    assert on_key.via == ("iam", "one-key", "use")
    assert identity(*documents, key_arn=None).capabilities == {C.DECRYPT, C.ENCRYPT, C.ADMINISTER_ACCESS}


def test_all_keys_of_the_scanned_account_only() -> None:
    def all_keys(resource: str) -> frozenset:
        document = {"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": resource}]}
        return evaluate_identity_policies([("p", document)], key_arn=None, account_id=ACCOUNT).capabilities

    assert all_keys("*") == {C.DECRYPT}
    assert all_keys(f"arn:aws:kms:*:{ACCOUNT}:key/*") == {C.DECRYPT}
    assert all_keys("arn:aws:kms:*:999999999999:key/*") == frozenset()  # a central key account's keys
    assert all_keys(f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/*") == frozenset()  # one region: judged per key


def test_data_perimeter_deny_confines_a_public_allow() -> None:
    allow_anyone = stmt("*", ["kms:Decrypt", "kms:DescribeKey"], sid="AnyoneDecrypt")
    perimeter = stmt("*", "kms:*", effect="Deny", sid="Perimeter",
                     Condition={"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}})  # fmt: skip
    assert grant(evaluate(policy(allow_anyone)), "*").conditional is False
    assert grant(evaluate(policy(allow_anyone, perimeter)), "*").conditional is True
    leaky = stmt(
        "*", "kms:*", effect="Deny", sid="Leaky", Condition={"StringNotLike": {"aws:PrincipalOrgID": "o-*"}}
    )
    assert grant(evaluate(policy(allow_anyone, leaky)), "*").conditional is False


def test_role_session_folds_into_its_role() -> None:
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/alice"
    access = evaluate(policy(stmt(aws(session), "kms:Decrypt")))
    assert grant(access, f"arn:aws:iam::{ACCOUNT}:role/Admin").capabilities == {C.DECRYPT}


# ------------------------------------------------------------------------------------- kms:ViaService
def via(*services: str, operator: str = "StringEquals") -> dict[str, Any]:
    return {operator: {"kms:ViaService": list(services) if len(services) > 1 else services[0]}}


def test_via_service_limits_are_the_union_of_the_statements_that_all_carry_one() -> None:
    access = evaluate(
        policy(
            stmt(aws(APP), "kms:Decrypt", Condition=via("bedrock.us-east-1.amazonaws.com")),
            stmt(aws(APP), "kms:Encrypt", Condition=via("S3.us-east-1.amazonaws.com", operator="StringLike")),
        )
    )
    found = grant(access, APP)
    assert found.via_services == ("bedrock.us-east-1.amazonaws.com", "s3.us-east-1.amazonaws.com")
    assert found.conditional and found.capabilities == {C.DECRYPT, C.ENCRYPT}


@pytest.mark.parametrize(
    "unlimited",
    [
        stmt(aws(APP), "kms:Encrypt"),  # a second statement without the condition
        stmt(
            aws(APP), "kms:Encrypt", Condition=via("s3.us-east-1.amazonaws.com", operator="StringNotEquals")
        ),
        stmt(
            aws(APP),
            "kms:Encrypt",
            Condition=via("s3.us-east-1.amazonaws.com", operator="StringEqualsIfExists"),
        ),
        stmt(aws(APP), "kms:Encrypt", Condition=via("*", operator="StringLike")),
    ],
)
def test_one_statement_without_a_service_limit_lifts_it(unlimited: dict[str, Any]) -> None:
    access = evaluate(
        policy(stmt(aws(APP), "kms:Decrypt", Condition=via("bedrock.us-east-1.amazonaws.com")), unlimited)
    )
    assert grant(access, APP).via_services == ()


def test_identity_policies_report_their_service_limit() -> None:
    limited = ("limited", policy(stmt(action="kms:Decrypt", Condition=via("s3.us-east-1.amazonaws.com"))))
    assert identity(limited).via_services == ("s3.us-east-1.amazonaws.com",)
    assert identity(limited, ("direct", policy(stmt(action="kms:Encrypt")))).via_services == ()
    # A denied statement gives nothing, so its missing limit does not count.
    denied = ("denied", policy(stmt(action="kms:Sign"), stmt(action="kms:Sign", effect="Deny")))
    assert identity(limited, denied).via_services == ("s3.us-east-1.amazonaws.com",)
