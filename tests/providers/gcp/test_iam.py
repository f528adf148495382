from __future__ import annotations

import copy
import itertools
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from providers.gcp.iam import (
    ALL_SERVICES,
    KMS_SERVICE,
    IamPolicyError,
    KmsAuditLogging,
    MemberGrant,
    audit_configs,
    base_role,
    is_service_agent,
    kms_audit_logging,
    member_kind,
    merge_audit_configs,
    normalize_policy,
)
from scanner.inventory import Capability, PrincipalKind

C = Capability
K = PrincipalKind

ADMIN = "user:admin@example.com"
APP = "serviceAccount:app@kms-prod.iam.gserviceaccount.com"
KMS_AGENT = "serviceAccount:service-123456789012@gcp-sa-cloudkms.iam.gserviceaccount.com"
OPS = "group:kms-ops@example.com"
ENC_DEC = frozenset({C.ENCRYPT, C.DECRYPT})
ADMIN_CAPS = frozenset(
    {
        C.ADMINISTER_ACCESS,
        C.MANAGE_LIFECYCLE,
        C.DESTROY,
        C.IMPORT_MATERIAL,
        C.EXPORT,
        C.READ_METADATA,
    }
)


# ------------------------------------------------------------------------------------------ members
@pytest.mark.parametrize(
    ("member", "kind"),
    [
        ("user:alice@example.com", K.USER),
        ("group:kms-admins@example.com", K.GROUP),
        ("domain:example.com", K.GROUP),
        ("allUsers", K.PUBLIC),
        ("allAuthenticatedUsers", K.AUTHENTICATED_ANY),
        # User-managed and default service accounts: identities workloads (and whoever may act as them) use.
        ("serviceAccount:app@kms-prod.iam.gserviceaccount.com", K.ROLE),
        ("serviceAccount:123456789012-compute@developer.gserviceaccount.com", K.ROLE),
        ("serviceAccount:kms-prod@appspot.gserviceaccount.com", K.ROLE),
        ("serviceAccount:service-123@kms-prod.iam.gserviceaccount.com", K.ROLE),  # a look-alike name
        # Google-managed service agents.
        ("serviceAccount:service-123456789012@gcp-sa-cloudkms.iam.gserviceaccount.com", K.SERVICE),
        ("serviceAccount:service-123456789012@gcp-sa-ekms.iam.gserviceaccount.com", K.SERVICE),
        ("serviceAccount:service-org-123456789012@gcp-sa-ktd-hpsa.iam.gserviceaccount.com", K.SERVICE),
        ("serviceAccount:service-folder-123456789012@gcp-sa-cloudkms.iam.gserviceaccount.com", K.SERVICE),
        ("serviceAccount:p123456789012-123456@gcp-sa-logging.iam.gserviceaccount.com", K.SERVICE),
        ("serviceAccount:service-123456789012@compute-system.iam.gserviceaccount.com", K.SERVICE),
        ("serviceAccount:service-123456789012@gs-project-accounts.iam.gserviceaccount.com", K.SERVICE),
        ("serviceAccount:123456789012@cloudservices.gserviceaccount.com", K.SERVICE),
        ("serviceAccount:bq-123456789012@bigquery-encryption.iam.gserviceaccount.com", K.SERVICE),
        # Deleted identities still referenced by a binding.
        ("deleted:user:bob@example.com?uid=123456789012345678901", K.UNKNOWN),
        ("deleted:serviceAccount:app@kms-prod.iam.gserviceaccount.com?uid=123", K.UNKNOWN),
        ("deleted:group:old@example.com?uid=9", K.UNKNOWN),
        # Workload and workforce identity federation.
        (
            "principal://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/ci/subject/repo",
            K.ROLE,
        ),
        ("principal://iam.googleapis.com/locations/global/workforcePools/staff/subject/alice", K.USER),
        ("principal://goog/subject/alice@example.com", K.USER),
        (
            "principalSet://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/ci/"
            "attribute.repository/org/repo",
            K.GROUP,
        ),
        ("principalSet://iam.googleapis.com/locations/global/workforcePools/staff/group/admins", K.GROUP),
        ("principalSet://goog/public:all", K.PUBLIC),
        # Convenience values: a project's owners, editors or viewers.
        ("projectOwner:kms-prod", K.GROUP),
        ("projectEditor:kms-prod", K.GROUP),
        ("projectViewer:kms-prod", K.GROUP),
        # Anything else is not understood.
        ("somethingNew:x", K.UNKNOWN),
        ("alice@example.com", K.UNKNOWN),
        ("allusers", K.UNKNOWN),
    ],
)
def test_member_kinds(member: str, kind: PrincipalKind) -> None:
    assert member_kind(member) is kind


def test_service_agent_detection_needs_a_google_service_account_domain() -> None:
    assert is_service_agent("service-123456789012@gcp-sa-cloudkms.iam.gserviceaccount.com")
    assert is_service_agent("SERVICE-123456789012@GCP-SA-CLOUDKMS.IAM.GSERVICEACCOUNT.COM")
    assert not is_service_agent("service-123456789012@example.com")
    assert not is_service_agent("gcp-sa-cloudkms.iam.gserviceaccount.com")
    assert not is_service_agent("app@gcp-sa-lookalike.example.com")
    assert not is_service_agent("")


# ----------------------------------------------------------------------------------------- policies
def _policy(*bindings: dict[str, Any], version: int = 3) -> dict[str, Any]:
    return {"version": version, "etag": "BwX1", "bindings": list(bindings)}


EXAMPLE = _policy(
    {"role": "roles/cloudkms.admin", "members": [ADMIN, OPS]},
    {"role": "roles/cloudkms.cryptoKeyEncrypterDecrypter", "members": [APP, KMS_AGENT, ADMIN]},
    {
        "role": "roles/cloudkms.cryptoKeyDecrypter",
        "members": ["user:oncall@example.com"],
        "condition": {
            "title": "business hours",
            "expression": "request.time.getHours('Europe/Berlin') >= 9",
        },
    },
    {"role": "roles/owner", "members": ["user:founder@example.com"]},
    {"role": "roles/cloudkms.viewer", "members": ["allAuthenticatedUsers"]},
)


def test_a_policy_becomes_sorted_member_grants() -> None:
    assert normalize_policy(EXAMPLE) == [
        MemberGrant("allAuthenticatedUsers", K.AUTHENTICATED_ANY, frozenset({C.READ_METADATA}), False,
                    "roles/cloudkms.viewer"),
        MemberGrant(OPS, K.GROUP, ADMIN_CAPS, False, "roles/cloudkms.admin"),
        MemberGrant(APP, K.ROLE, ENC_DEC, False, "roles/cloudkms.cryptoKeyEncrypterDecrypter"),
        MemberGrant(KMS_AGENT, K.SERVICE, ENC_DEC, False, "roles/cloudkms.cryptoKeyEncrypterDecrypter"),
        MemberGrant(ADMIN, K.USER, ADMIN_CAPS, False, "roles/cloudkms.admin"),
        MemberGrant(ADMIN, K.USER, ENC_DEC, False, "roles/cloudkms.cryptoKeyEncrypterDecrypter"),
        MemberGrant("user:founder@example.com", K.USER, frozenset(Capability), False, "roles/owner"),
        MemberGrant("user:oncall@example.com", K.USER, frozenset({C.DECRYPT}), True,
                    "roles/cloudkms.cryptoKeyDecrypter"),
    ]  # fmt: skip


def test_grants_unpack_as_records() -> None:
    member, kind, capabilities, conditional, role = normalize_policy(
        _policy({"role": "roles/cloudkms.signer", "members": [APP]})
    )[0]
    assert (member, kind, capabilities, conditional, role) == (
        APP,
        K.ROLE,
        {C.SIGN},
        False,
        "roles/cloudkms.signer",
    )


def test_binding_and_member_order_do_not_change_the_result() -> None:
    expected = normalize_policy(EXAMPLE)
    for order in itertools.permutations(EXAMPLE["bindings"]):
        reordered = copy.deepcopy(_policy(*order))
        for binding in reordered["bindings"]:
            binding["members"].reverse()
        assert normalize_policy(reordered) == expected


def test_crypto_binding_listed_before_the_admin_binding_is_not_missed() -> None:
    # The peer-tool bug (rule catalogue section 9): a user-role binding listed first hid the conflict.
    first = normalize_policy(
        _policy(
            {"role": "roles/cloudkms.cryptoKeyEncrypterDecrypter", "members": [ADMIN]},
            {"role": "roles/cloudkms.admin", "members": [ADMIN]},
        )
    )
    caps = frozenset().union(*(g.capabilities or frozenset() for g in first if g.member == ADMIN))
    assert {C.ADMINISTER_ACCESS, C.ENCRYPT, C.DECRYPT} <= caps


def test_conditional_bindings_are_marked() -> None:
    grants = normalize_policy(
        _policy(
            {"role": "roles/cloudkms.cryptoKeyDecrypter", "members": [APP]},
            {
                "role": "roles/cloudkms.cryptoKeyDecrypter",
                "members": [APP],
                "condition": {"expression": "resource.name.endsWith('/cryptoKeys/app')"},
            },
        )
    )
    # The same member and role, with and without a condition: two grants, kept apart.
    assert [(g.member, g.conditional) for g in grants] == [(APP, False), (APP, True)]
    assert all(g.capabilities == {C.DECRYPT} for g in grants)


def test_an_empty_condition_message_is_no_condition() -> None:
    grants = normalize_policy(
        _policy(
            {
                "role": "roles/cloudkms.signer",
                "members": [APP],
                "condition": {"expression": "", "title": "", "description": "", "location": ""},
            }
        )
    )
    assert [g.conditional for g in grants] == [False]


def test_version_1_withcond_roles_are_conditional_and_resolved() -> None:
    assert base_role("roles/cloudkms.admin_withcond_2656f7fcb1b8b8ae6c2a") == ("roles/cloudkms.admin", True)
    assert base_role("roles/cloudkms.admin") == ("roles/cloudkms.admin", False)
    grants = normalize_policy(
        _policy(
            {"role": "roles/cloudkms.cryptoKeyEncrypterDecrypter_withcond_a1b2c3", "members": [APP]},
            {"role": "projects/kms-prod/roles/keyOps_withcond_ffff", "members": [OPS]},
            version=1,
        ),
        {"projects/kms-prod/roles/keyOps": ["cloudkms.cryptoKeyVersions.destroy"]},
    )
    assert grants == [
        MemberGrant(OPS, K.GROUP, frozenset({C.DESTROY}), True, "projects/kms-prod/roles/keyOps"),
        MemberGrant(APP, K.ROLE, ENC_DEC, True, "roles/cloudkms.cryptoKeyEncrypterDecrypter"),
    ]


def test_unknown_roles_keep_the_grant_with_unknown_capabilities() -> None:
    grants = normalize_policy(
        _policy(
            {"role": "roles/cloudkms.someNewRole", "members": [APP]},
            {"role": "projects/kms-prod/roles/unread", "members": [OPS]},
        )
    )
    assert [(g.member, g.capabilities, g.role) for g in grants] == [
        (OPS, None, "projects/kms-prod/roles/unread"),
        (APP, None, "roles/cloudkms.someNewRole"),
    ]


def test_custom_roles_resolve_by_full_name() -> None:
    custom = {
        "projects/kms-prod/roles/keyOps": [
            "cloudkms.cryptoKeyVersions.useToDecrypt",
            "cloudkms.cryptoKeys.get",
        ],
        "organizations/42/roles/iamAdmin": ["resourcemanager.projects.setIamPolicy"],
        "projects/kms-prod/roles/unrelated": ["compute.instances.get"],
    }
    grants = normalize_policy(
        _policy(
            {"role": "projects/kms-prod/roles/keyOps", "members": [APP]},
            {"role": "organizations/42/roles/iamAdmin", "members": [ADMIN]},
            {"role": "projects/kms-prod/roles/unrelated", "members": [OPS]},
        ),
        custom,
    )
    assert {g.member: g.capabilities for g in grants} == {
        APP: {C.DECRYPT, C.READ_METADATA},
        ADMIN: {C.ADMINISTER_ACCESS},
        OPS: frozenset(),  # known role, no Cloud KMS access
    }


def test_duplicate_members_and_bindings_give_one_grant() -> None:
    binding = {"role": "roles/cloudkms.signer", "members": [APP, APP]}
    assert len(normalize_policy(_policy(binding, copy.deepcopy(binding)))) == 1


@pytest.mark.parametrize(
    "policy",
    [
        None,
        {},
        {"etag": "ACAB"},
        {"version": 1, "bindings": []},
        _policy({"role": "roles/owner", "members": []}),
    ],
)
def test_policies_without_grants(policy: dict[str, Any] | None) -> None:
    assert normalize_policy(policy) == []


@pytest.mark.parametrize(
    "policy",
    [
        [],
        {"bindings": {"role": "roles/owner"}},
        {"bindings": "roles/owner"},
        {"bindings": ["roles/owner"]},
        {"bindings": [{"members": [APP]}]},
        {"bindings": [{"role": "", "members": [APP]}]},
        {"bindings": [{"role": 7, "members": [APP]}]},
        {"bindings": [{"role": "roles/owner", "members": APP}]},
        {"bindings": [{"role": "roles/owner", "members": [APP, None]}]},
        {"bindings": [{"role": "roles/owner", "members": [""]}]},
        {"bindings": [{"role": "roles/owner", "members": [APP], "condition": "request.time < x"}]},
    ],
)
def test_malformed_policies_are_rejected(policy: Any) -> None:
    with pytest.raises(IamPolicyError):
        normalize_policy(policy)


# ------------------------------------------------------------------------------------ audit configs
def _audit(service: str, *log_types: str, exempted: dict[str, list[str]] | None = None) -> dict[str, Any]:
    exempted = exempted or {}
    return {
        "service": service,
        "auditLogConfigs": [
            {"logType": t, **({"exemptedMembers": exempted[t]} if t in exempted else {})} for t in log_types
        ],
    }


ALL_TYPES = ("ADMIN_READ", "DATA_READ", "DATA_WRITE")


def test_no_audit_configs_means_only_admin_activity_is_logged() -> None:
    for configs in (None, []):
        logging = kms_audit_logging(configs)
        assert logging == KmsAuditLogging(False, False, False, {}, ())
        assert logging.admin_write_logged  # Admin Activity logs cannot be disabled
        assert not logging.key_use_logged
        assert not logging.complete


def test_cloud_kms_service_config() -> None:
    logging = kms_audit_logging([_audit(KMS_SERVICE, "DATA_READ")])
    assert (logging.admin_read_logged, logging.data_read_logged, logging.data_write_logged) == (
        False,
        True,
        False,
    )
    assert logging.key_use_logged  # encrypt/decrypt/sign are DATA_READ
    assert logging.services == (KMS_SERVICE,)
    assert not logging.complete


def test_all_services_config_applies_to_cloud_kms() -> None:
    logging = kms_audit_logging([_audit(ALL_SERVICES, *ALL_TYPES)])
    assert logging.complete
    assert logging.services == (ALL_SERVICES,)


def test_all_services_and_cloud_kms_configs_are_united() -> None:
    logging = kms_audit_logging(
        [_audit(ALL_SERVICES, "ADMIN_READ"), _audit(KMS_SERVICE, "DATA_READ", "DATA_WRITE")]
    )
    assert logging.complete
    assert logging.services == (ALL_SERVICES, KMS_SERVICE)


def test_other_services_are_ignored() -> None:
    logging = kms_audit_logging([_audit("storage.googleapis.com", *ALL_TYPES)])
    assert not (logging.admin_read_logged or logging.data_read_logged or logging.data_write_logged)
    assert logging.services == ()


def test_exempted_members_are_noted_and_break_completeness() -> None:
    logging = kms_audit_logging(
        [
            _audit(ALL_SERVICES, *ALL_TYPES, exempted={"DATA_READ": [APP]}),
            _audit(KMS_SERVICE, "DATA_READ", exempted={"DATA_READ": [ADMIN]}),
            _audit("storage.googleapis.com", "DATA_WRITE", exempted={"DATA_WRITE": [OPS]}),
        ]
    )
    assert logging.data_read_logged and logging.key_use_logged
    assert logging.exempted_members == {"DATA_READ": frozenset({APP, ADMIN})}
    assert not logging.complete


def test_proto_dicts_with_snake_case_and_integer_enums() -> None:
    configs = [
        {
            "service": KMS_SERVICE,
            "audit_log_configs": [
                {"log_type": 1, "exempted_members": []},  # ADMIN_READ
                {"log_type": 3, "exempted_members": [APP]},  # DATA_READ
                {"log_type": 0},  # LOG_TYPE_UNSPECIFIED
            ],
        }
    ]
    logging = kms_audit_logging(configs)
    assert (logging.admin_read_logged, logging.data_read_logged, logging.data_write_logged) == (
        True,
        True,
        False,
    )
    assert logging.exempted_members == {"DATA_READ": frozenset({APP})}
    assert kms_audit_logging(
        [{"service": KMS_SERVICE, "audit_log_configs": [{"log_type": 2}]}]
    ).data_write_logged


def test_unspecified_and_unknown_log_types_are_ignored() -> None:
    logging = kms_audit_logging([_audit(KMS_SERVICE, "LOG_TYPE_UNSPECIFIED", "ADMIN_WRITE", "data_read")])
    assert not (logging.admin_read_logged or logging.data_read_logged or logging.data_write_logged)


def test_audit_configs_of_a_policy() -> None:
    configs = [_audit(KMS_SERVICE, "DATA_READ")]
    assert audit_configs({"bindings": [], "auditConfigs": configs}) == configs
    assert audit_configs({"audit_configs": configs}) == configs
    assert audit_configs({"bindings": []}) == []
    assert audit_configs(None) == []


def test_hierarchy_merge_is_additive() -> None:
    organization = [_audit(ALL_SERVICES, "DATA_READ", exempted={"DATA_READ": [APP]})]
    folder = [_audit(KMS_SERVICE, "ADMIN_READ")]
    project = [_audit(KMS_SERVICE, "DATA_WRITE", "DATA_READ", exempted={"DATA_READ": [ADMIN]})]
    merged = merge_audit_configs([organization, folder, None, project])
    assert merged == [
        {"service": ALL_SERVICES, "auditLogConfigs": [{"logType": "DATA_READ", "exemptedMembers": [APP]}]},
        {
            "service": KMS_SERVICE,
            "auditLogConfigs": [
                {"logType": "ADMIN_READ"},
                {"logType": "DATA_READ", "exemptedMembers": [ADMIN]},
                {"logType": "DATA_WRITE"},
            ],
        },
    ]
    logging = kms_audit_logging(merged)
    assert logging.admin_read_logged and logging.data_read_logged and logging.data_write_logged
    assert logging.exempted_members == {"DATA_READ": frozenset({APP, ADMIN})}
    # A project cannot switch off what its organization turned on: the project alone would not log reads.
    assert kms_audit_logging(merge_audit_configs([organization, []])).data_read_logged
    assert not kms_audit_logging(folder).data_read_logged


def test_hierarchy_merge_is_order_independent() -> None:
    levels = [
        [_audit(ALL_SERVICES, "ADMIN_READ", exempted={"ADMIN_READ": [OPS]})],
        [_audit(KMS_SERVICE, "DATA_READ", exempted={"DATA_READ": [APP]})],
        [_audit(KMS_SERVICE, "DATA_READ", "DATA_WRITE", exempted={"DATA_READ": [ADMIN]})],
    ]
    expected = merge_audit_configs(levels)
    for order in itertools.permutations(levels):
        assert merge_audit_configs(order) == expected
    assert merge_audit_configs([]) == []
    assert merge_audit_configs([None, []]) == []


@pytest.mark.parametrize(
    "configs",
    [
        {"service": KMS_SERVICE},
        [{"auditLogConfigs": [{"logType": "DATA_READ"}]}],
        [{"service": KMS_SERVICE, "auditLogConfigs": {"logType": "DATA_READ"}}],
        [{"service": KMS_SERVICE, "auditLogConfigs": ["DATA_READ"]}],
        [{"service": KMS_SERVICE, "auditLogConfigs": [{"logType": {"name": "DATA_READ"}}]}],
        [{"service": KMS_SERVICE, "auditLogConfigs": [{"logType": True}]}],
        [{"service": KMS_SERVICE, "auditLogConfigs": [{"logType": "DATA_READ", "exemptedMembers": APP}]}],
        [{"service": KMS_SERVICE, "auditLogConfigs": [{"logType": "DATA_READ", "exemptedMembers": [7]}]}],
    ],
)
def test_malformed_audit_configs_are_rejected(configs: Any) -> None:
    with pytest.raises(IamPolicyError):
        kms_audit_logging(configs)
    with pytest.raises(IamPolicyError):
        merge_audit_configs([configs])


def test_no_cloud_sdk_is_imported() -> None:
    code = (
        "import sys, providers.gcp.iam, providers.gcp.permissions\n"
        "loaded = [m for m in sys.modules if m == 'google' or m.startswith('google.')]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[3])
