"""No principal can both administer a key and use it, counting every source and level of access."""

from collections.abc import Iterator

from rules._access import (
    MAX_NAMED,
    access_gaps,
    administrators,
    cap_values,
    judged_keys,
    principal_entries,
    unknown_result,
    users,
)
from scanner.inventory import ADMIN_CAPABILITIES, USE_CAPABILITIES
from scanner.rule import Context, RuleMeta, RuleResult, Severity, Status

META = RuleMeta(
    id="key_admin_separated_from_use",
    title="Key administrators cannot also use the key",
    severity=Severity.HIGH,
    providers=("aws", "gcp", "azure"),
    rationale=(
        "CEK-02 expects the people who manage keys to be kept away from the data those keys protect. "
        "A principal that can change a key's access, rotate, disable or destroy it and can also encrypt, "
        "decrypt or sign with it needs nobody else to misuse the key or to hide that misuse, and anyone who "
        "controls access can grant itself use anyway. The check merges every path to the key (key policy, "
        "identity policies, grants, IAM and role assignments inherited from the key store, resource group, "
        "project, folder or organization) before comparing, so a conflict split across levels is still found."
    ),
    remediation={
        "aws": (
            "Give administration and use to different principals: in the key policy (`aws kms "
            "get-key-policy` / `aws kms put-key-policy`) keep the administrator statement (kms:Create*, "
            "kms:Put*, kms:Enable*, kms:Disable*, kms:Update*, kms:ScheduleKeyDeletion, "
            "kms:ImportKeyMaterial, ...) and the user statement (kms:Encrypt, kms:Decrypt, kms:ReEncrypt*, "
            "kms:GenerateDataKey*, kms:Sign) on separate roles, remove kms:* or crypto actions from the "
            "administrators' IAM policies, and retire grants that give them use (`aws kms revoke-grant`)."
        ),
        "gcp": (
            "Do not grant roles/cloudkms.admin (or roles/owner / roles/editor) together with "
            "roles/cloudkms.cryptoKeyEncrypterDecrypter, cryptoKeyEncrypter, cryptoKeyDecrypter, signer, "
            "signerVerifier or cryptoOperator to the same member at any level; remove one side with "
            "`gcloud kms keys remove-iam-policy-binding`, `gcloud kms keyrings remove-iam-policy-binding` or "
            "`gcloud projects|resource-manager folders|organizations remove-iam-policy-binding`."
        ),
        "azure": (
            "Built-in Key Vault Administrator and Key Vault Crypto Officer include decrypt and sign: give "
            "administrators a custom role whose NotDataActions exclude keys/decrypt, keys/unwrap and "
            "keys/sign (`az role definition create`, then `az role assignment delete|create --scope <vault "
            "id>`), keep Key Vault Crypto User / Crypto Service Encryption User for workloads only, and on "
            "access-policy vaults remove decrypt, unwrapKey and sign from administrators (`az keyvault "
            "set-policy`). On Managed HSM keep Crypto Officer / Policy Administrator apart from Crypto User."
        ),
    },
    controls=(
        "CSA-AICM:CEK-02",
        "CIS-GCP-3.0:1.11",
        "CIS-GCP-5.0:1.12",
        "GCP-SCC:KMS_ROLE_SEPARATION",
        "ISO-27002-2022:5.3",
        "ISO-27001-2022:A.5.3",
        "ISO-27002-2022:5.2",
    ),
)

_QUESTION = "whether anyone can both administer and use it"


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    for key in judged_keys(ctx):
        gaps = access_gaps(ctx, key)
        if gaps:
            yield unknown_result(key, gaps, _QUESTION)
            continue
        access = ctx.inventory.effective_access(key)
        admins = administrators(access)
        key_users = users(access)
        conflicting = {uid: caps for uid, caps in admins.items() if uid in key_users}
        if not conflicting:
            yield RuleResult.for_key(
                key,
                Status.PASS,
                f"Key {key.uid} has {len(admins)} administrator(s) and {len(key_users)} user(s) "
                "and none of them holds both roles.",
                administrator_count=len(admins),
                user_count=len(key_users),
                administrators=principal_entries(ctx, key, admins),
                users=principal_entries(ctx, key, key_users),
            )
            continue
        entries = principal_entries(ctx, key, conflicting, provenance=True)
        for entry in entries:
            caps = conflicting[entry["uid"]]
            entry["admin_capabilities"] = cap_values(caps & ADMIN_CAPABILITIES)
            entry["use_capabilities"] = cap_values(caps & USE_CAPABILITIES)
        named = "; ".join(
            f"{entry['uid']} ({', '.join(entry['admin_capabilities'])} with "
            f"{', '.join(entry['use_capabilities'])})"
            for entry in entries[:MAX_NAMED]
        )
        more = len(conflicting) - min(len(entries), MAX_NAMED)
        if more:
            named += f" and {more} more"
        yield RuleResult.for_key(
            key,
            Status.FAIL,
            f"Key {key.uid} can be both administered and used by {named}; "
            "remove either the administrative or the cryptographic access of "
            f"{'this principal' if len(conflicting) == 1 else 'each of them'}.",
            conflicting_principal_count=len(conflicting),
            conflicting_principals=entries,
            administrator_count=len(admins),
            user_count=len(key_users),
        )
