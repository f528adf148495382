"""Every key has at least the policy's minimum number of administrators, so it stays manageable."""

from collections.abc import Iterator

from rules._access import (
    MAX_LISTED,
    access_gaps,
    administrators,
    judged_keys,
    name_principals,
    principal_entries,
    unknown_result,
)
from scanner.inventory import ADMIN_CAPABILITIES
from scanner.rule import Context, RuleMeta, RuleResult, Severity, Status

META = RuleMeta(
    id="key_has_multiple_admins",
    title="Each key has at least the minimum number of administrators",
    severity=Severity.MEDIUM,
    providers=("aws", "gcp", "azure"),
    rationale=(
        "A key that only one identity can administer is lost to the organisation when that identity is "
        "deleted, locked out or unavailable: nobody can rotate, disable, re-grant or recover it, and the "
        "data it protects may become unrecoverable (CEK-20). CEK-02 also asks that key-management duties "
        "rest with more than one person. The policy's segregation.min_administrators (default 2) sets the "
        "minimum; anonymous or any-authenticated principals never count as administrators."
    ),
    remediation={
        "aws": (
            "Add a second administrator role (for example a break-glass role) to the key policy's "
            "administrator statement with `aws kms put-key-policy`, and keep the account-root statement that "
            "lets IAM policies govern the key so it can never become unmanageable."
        ),
        "gcp": (
            "Grant roles/cloudkms.admin on the key or key ring to a group or a second member, e.g. "
            "`gcloud kms keyrings add-iam-policy-binding RING --location LOCATION "
            "--member group:kms-admins@example.com --role roles/cloudkms.admin`."
        ),
        "azure": (
            "Assign a key-management role (a custom key-administrator role, Key Vault Data Access "
            "Administrator or Key Vault Crypto Officer) to a second principal or a group at vault scope with "
            "`az role assignment create --scope <vault id>`; on Managed HSM use "
            '`az keyvault role assignment create --hsm-name NAME --role "Managed HSM Crypto Officer"`.'
        ),
    },
    controls=(
        "CSA-AICM:CEK-02",
        "CSA-AICM:CEK-20",
        "ISO-27002-2022:5.2",
    ),
)

_QUESTION = "how many administrators it has"


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    minimum = ctx.policy.segregation.min_administrators
    for key in judged_keys(ctx):
        gaps = access_gaps(ctx, key)
        if gaps:
            yield unknown_result(key, gaps, _QUESTION)
            continue
        admins = administrators(ctx.inventory.effective_access(key))
        anonymous = {uid for uid in admins if ctx.principal(uid).is_anonymous}
        counted = {uid: caps for uid, caps in admins.items() if uid not in anonymous}
        count = len(counted)
        passed = count >= minimum
        evidence = {
            "administrator_count": count,
            "min_administrators": minimum,
            "administrators": principal_entries(
                ctx, key, counted, provenance=not passed, relevant=ADMIN_CAPABILITIES
            ),
            "excluded_anonymous": sorted(anonymous)[:MAX_LISTED],
        }
        if passed:
            message = f"Key {key.uid} has {count} administrators (policy minimum {minimum})."
        elif count == 0:
            also = f" (only anonymous principals {name_principals(anonymous)})" if anonymous else ""
            message = (
                f"Key {key.uid} has no administrator{also}, so it is unmanageable: nobody can change "
                "its access, rotate, disable or delete it; grant administration to at least "
                f"{minimum} principals."
            )
        else:
            message = (
                f"Key {key.uid} has {count} administrator{'s' if count > 1 else ''} "
                f"({name_principals(counted)}), fewer than the policy minimum of {minimum}; "
                "grant administration to another principal."
            )
        yield RuleResult.for_key(key, Status.PASS if passed else Status.FAIL, message, **evidence)
