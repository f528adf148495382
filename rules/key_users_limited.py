"""No key can be used by more distinct principals than the policy's ``segregation.max_key_users``.

A principal is a user of a key when its effective access (every binding at every level, merged)
carries a use capability (encrypt, decrypt, sign). Principals count as they are: a group, a role, a
service account or a managed identity is one user each. Platform service principals
(``PrincipalKind.SERVICE``: AWS service principals such as ``logs.amazonaws.com``, GCP service
agents) are listed but not counted: they act only for resources the customer configured with the key.
"""

from collections.abc import Iterator
from typing import Any

from rules._access import (
    MAX_LISTED,
    access_gaps,
    judged_keys,
    name_principals,
    principal_entries,
    unknown_result,
    users,
)
from scanner.inventory import PrincipalKind
from scanner.rule import Context, RuleMeta, RuleResult, Severity, Status

META = RuleMeta(
    id="key_users_limited",
    title="Each key has no more users than the CEK policy allows",
    severity=Severity.MEDIUM,
    providers=("aws", "gcp", "azure"),
    rationale=(
        "CEK-02 asks for key roles to be assigned on a least-privilege basis. Every identity that can "
        "encrypt, decrypt or sign with a key is a path to the data it protects, and a long list of such "
        "identities is hard to review and easy to abuse; GCP Security Command Center raises "
        "TOO_MANY_KMS_USERS once a key has more than three. keyaudit counts the distinct principals "
        "holding a use capability after merging every grant source and level, and compares that number "
        "with segregation.max_key_users (default 3; null turns the check off). Groups, roles, service "
        "accounts and managed identities count once each. Cloud service principals and service agents "
        "(for example cloudtrail.amazonaws.com or a BigQuery service agent) are listed in the evidence but "
        "not counted: nobody signs in as them, they only act for resources configured to use the key, and "
        "counting them would penalise every service integration; key_users_declared still judges them."
    ),
    remediation={
        "aws": (
            "Remove encrypt/decrypt/sign permissions (kms:Encrypt, kms:Decrypt, kms:ReEncrypt*, "
            "kms:GenerateDataKey*, kms:Sign) from principals that do not need them in the key policy "
            "(`aws kms put-key-policy`), their IAM policies and grants (`aws kms revoke-grant`); give "
            "shared workloads one role or group, or raise segregation.max_key_users if the number is intended."
        ),
        "gcp": (
            "Remove roles/cloudkms.cryptoKeyEncrypterDecrypter, cryptoKeyEncrypter, cryptoKeyDecrypter, "
            "signer, signerVerifier and broader roles from members that do not need them at key, key ring, "
            "project, folder and organization level (`gcloud kms keys remove-iam-policy-binding`, `gcloud "
            "projects remove-iam-policy-binding`), grant use to one group instead of many members, or raise "
            "segregation.max_key_users if the number is intended."
        ),
        "azure": (
            "Delete role assignments giving crypto use (Key Vault Crypto User, Crypto Service Encryption "
            "User, Crypto Officer, Administrator) from principals that do not need them (`az role "
            "assignment delete --assignee ID --scope SCOPE`), remove encrypt, decrypt, wrapKey, unwrapKey "
            "and sign from vault access policies (`az keyvault set-policy`), assign use to one group, or "
            "raise segregation.max_key_users if the number is intended."
        ),
    },
    controls=(
        "CSA-AICM:CEK-02",
        "GCP-SCC:TOO_MANY_KMS_USERS",
        "ISO-27001-2022:A.5.15",
        "ISO-27002-2022:5.2",
    ),
)

_QUESTION = "how many principals can use it"


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    limit = ctx.policy.segregation.max_key_users
    if limit is None:
        return
    for key in judged_keys(ctx):
        holding = users(ctx.inventory.effective_access(key))
        services = sorted(uid for uid in holding if ctx.principal(uid).kind is PrincipalKind.SERVICE)
        counted = {uid: caps for uid, caps in holding.items() if uid not in services}
        count = len(counted)
        gaps = access_gaps(ctx, key)
        if gaps and count <= limit:
            yield unknown_result(key, gaps, _QUESTION)
            continue
        passed = count <= limit
        evidence: dict[str, Any] = {
            "user_count": count,
            "max_key_users": limit,
            # Who and with what; where each grant comes from is in key_users_declared for the same key
            # (provenance costs a second pass over every binding of every failing key).
            "users": principal_entries(ctx, key, counted),
            "excluded_service_principal_count": len(services),
            "excluded_service_principals": services[:MAX_LISTED],
        }
        if passed:
            yield RuleResult.for_key(
                key,
                Status.PASS,
                f"Key {key.uid} has {count} user(s), within the policy maximum of {limit}.",
                **evidence,
            )
            continue
        note = ""
        if gaps:
            evidence["unreadable"] = [gap.as_evidence() for gap in gaps]
            missing = "; ".join(gap.phrase for gap in gaps)
            note = f" (there may be more: {missing} could not be read)"
        yield RuleResult.for_key(
            key,
            Status.FAIL,
            f"Key {key.uid} can be used by {count} principals ({name_principals(counted)}){note}, more than "
            f"the policy maximum of {limit} in segregation.max_key_users; remove the use permissions "
            "of those that do not need them.",
            **evidence,
        )
