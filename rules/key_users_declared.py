"""Every principal able to use a key is declared in the policy's key_users role."""

from collections.abc import Iterator

from rules._access import judge_declared
from scanner.inventory import USE_CAPABILITIES
from scanner.rule import Context, RuleMeta, RuleResult, Severity

META = RuleMeta(
    id="key_users_declared",
    title="Every key user is declared in the CEK policy",
    severity=Severity.MEDIUM,
    providers=("aws", "gcp", "azure"),
    rationale=(
        "Whoever can encrypt, decrypt or sign with a key can read or vouch for the data it protects. CEK-02 "
        "and ISO 27002 5.2 expect that circle to be defined deliberately: the policy's key_users role lists "
        "the identities (preferably workload identities and groups) meant to use keys. Any other identity "
        "with cryptographic access, granted directly or through a broad inherited role, is an unreviewed "
        "path to the protected data."
    ),
    remediation={
        "aws": (
            "Remove kms:Encrypt, kms:Decrypt, kms:ReEncrypt*, kms:GenerateDataKey* and kms:Sign for the "
            "principal from the key policy (`aws kms put-key-policy`), its IAM policies and grants (`aws kms "
            "revoke-grant`), or, if intended, add its ARN to roles.key_users.members in the policy file."
        ),
        "gcp": (
            "Remove roles/cloudkms.cryptoKeyEncrypterDecrypter, cryptoKeyEncrypter, cryptoKeyDecrypter, "
            "signer, signerVerifier, cryptoOperator (and roles/owner / roles/editor) from the member at "
            "every level (`gcloud kms keys remove-iam-policy-binding`, `gcloud projects "
            "remove-iam-policy-binding`, ...), or, if intended, add the member to roles.key_users.members in "
            "the policy file."
        ),
        "azure": (
            "Delete role assignments giving crypto use (Key Vault Crypto User, Crypto Service Encryption "
            "User, Crypto Officer, Administrator) with `az role assignment delete --assignee ID --scope "
            "SCOPE`, remove encrypt, decrypt, wrapKey, unwrapKey and sign from its access policy (`az "
            "keyvault set-policy`), or, if intended, add the object id to roles.key_users.members in the "
            "policy file."
        ),
    },
    controls=("CSA-AICM:CEK-02", "ISO-27002-2022:5.2"),
)


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    return judge_declared(
        ctx,
        capabilities=USE_CAPABILITIES,
        role=ctx.policy.roles.key_users,
        role_name="key_users",
        holder_noun="user",
    )
