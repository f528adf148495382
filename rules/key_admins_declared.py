"""Every principal able to administer a key is declared in the policy's key_administrators role."""

from collections.abc import Iterator

from rules._access import judge_declared
from scanner.inventory import ADMIN_CAPABILITIES
from scanner.rule import Context, RuleMeta, RuleResult, Severity

META = RuleMeta(
    id="key_admins_declared",
    title="Every key administrator is declared in the CEK policy",
    severity=Severity.HIGH,
    providers=("aws", "gcp", "azure"),
    rationale=(
        "CEK-02 and ISO 27002 5.2 ask that key-management roles be defined and assigned on purpose. The "
        "policy's key_administrators role is that assignment; any other identity that can change a key's "
        "access, rotate, disable, destroy it or import material into it holds a privilege nobody approved, "
        "whether it came from a forgotten key-policy statement, a broad project or subscription role, or an "
        "inherited organisation binding. Undeclared administrators can also grant themselves use of the key."
    ),
    remediation={
        "aws": (
            "Remove the principal from the key policy's administrator statement (`aws kms put-key-policy`) "
            "and strip kms:PutKeyPolicy, kms:CreateGrant, kms:Enable*/Disable*, kms:ScheduleKeyDeletion and "
            "kms:ImportKeyMaterial (or kms:*) from its IAM policies, or, if the access is intended, add its "
            "ARN to roles.key_administrators.members in the policy file after approval."
        ),
        "gcp": (
            "Remove roles/cloudkms.admin, roles/cloudkms.importer, roles/owner, roles/editor or any role "
            "with cloudkms.*.setIamPolicy from the member on the key, key ring, project, folder and "
            "organization (`gcloud ... remove-iam-policy-binding`), or, if intended, add the member (e.g. "
            "`group:kms-admins@example.com`) to roles.key_administrators.members in the policy file."
        ),
        "azure": (
            "Delete the role assignments that give key management (Owner, User Access Administrator, Key "
            "Vault Administrator, Key Vault Contributor, Key Vault Crypto Officer, Key Vault Data Access "
            "Administrator) with `az role assignment delete --assignee ID --scope SCOPE`, remove "
            "key-management permissions from access policies (`az keyvault set-policy` / `delete-policy`), "
            "or, if intended, add the object id to roles.key_administrators.members in the policy file."
        ),
    },
    controls=("CSA-AICM:CEK-02", "ISO-27002-2022:5.2", "ISO-27001-2022:A.5.2"),
)


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    return judge_declared(
        ctx,
        capabilities=ADMIN_CAPABILITIES,
        role=ctx.policy.roles.key_administrators,
        role_name="key_administrators",
        holder_noun="administrator",
    )
