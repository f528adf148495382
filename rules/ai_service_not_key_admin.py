"""An AI service principal may use a key, never administer it.

Judged: every customer key that an AI service principal, service agent or AI resource identity can
reach (``Principal.ai_service``). Administer access, manage lifecycle, destroy or import material held
by one of them fails; use-only access passes. Keys whose access could not be read completely are
UNKNOWN (a missing grant could be an administrative one).
"""

from collections.abc import Iterator

from rules._access import access_gaps, cap_values, judged_keys, unknown_result
from scanner.inventory import ADMIN_CAPABILITIES
from scanner.rule import Context, RuleMeta, RuleResult, Severity, Status

META = RuleMeta(
    id="ai_service_not_key_admin",
    title="AI service principals can use keys but never administer them",
    severity=Severity.HIGH,
    providers=("aws", "gcp", "azure"),
    rationale=(
        "CEK-02 separates those who manage keys from those who use them. An AI service (Bedrock, SageMaker, "
        "Vertex AI service agents, an Azure OpenAI account's managed identity) acts on prompts and data that "
        "outsiders can influence; if it can change a key's policy, disable, schedule deletion of or import "
        "material into the key that protects its own data, a confused-deputy or prompt-injection path "
        "reaches key administration. AI services need encrypt/decrypt (generate data key) only."
    ),
    remediation={
        "aws": (
            "Remove kms:PutKeyPolicy, kms:CreateGrant with admin operations, kms:ScheduleKeyDeletion, "
            "kms:DisableKey, kms:ImportKeyMaterial (and kms:*) from statements naming the AI service principal "
            "(bedrock.amazonaws.com, sagemaker.amazonaws.com, ...) or its roles; keep kms:Decrypt, "
            "kms:GenerateDataKey* and kms:DescribeKey, ideally with kms:ViaService and aws:SourceAccount."
        ),
        "gcp": (
            "Grant the AI service agent roles/cloudkms.cryptoKeyEncrypterDecrypter on the key only, and remove "
            "roles/cloudkms.admin, owner or editor from it (`gcloud kms keys remove-iam-policy-binding`)."
        ),
        "azure": (
            "Give the AI resource's managed identity 'Key Vault Crypto Service Encryption User' on the key "
            "only; remove Key Vault Administrator / Crypto Officer / Contributor assignments and access "
            "policies with key management permissions from it."
        ),
    },
    controls=("CSA-AICM:CEK-02", "CSA-AICM:CEK-08", "ISO-27002-2022:5.2", "ISO-27001-2022:A.8.24"),
)


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    inventory = ctx.inventory
    ai_principals = {p.uid: p.ai_service for p in inventory.principals if p.ai_service}
    if not ai_principals:
        return
    for key in judged_keys(ctx):
        access = inventory.effective_access(key)
        reaching = {uid: caps for uid, caps in access.items() if uid in ai_principals}
        if not reaching:
            continue
        gaps = access_gaps(ctx, key)
        if gaps:
            yield unknown_result(key, gaps, "whether an AI service principal can administer it")
            continue
        entries = [
            {
                "uid": uid,
                "ai_service": ai_principals[uid],
                "admin_capabilities": cap_values(caps & ADMIN_CAPABILITIES),
                "capabilities": cap_values(caps),
            }
            for uid, caps in sorted(reaching.items())
        ]
        admins = [e for e in entries if e["admin_capabilities"]]
        if admins:
            named = "; ".join(f"{e['uid']} ({', '.join(e['admin_capabilities'])})" for e in admins[:3])
            more = f" and {len(admins) - 3} more" if len(admins) > 3 else ""
            yield RuleResult.for_key(
                key,
                Status.FAIL,
                f"AI service principal(s) can administer key {key.uid}: {named}{more}; an AI service should "
                "only encrypt and decrypt with it.",
                ai_principals=entries,
            )
        else:
            yield RuleResult.for_key(
                key,
                Status.PASS,
                f"The {len(entries)} AI service principal(s) with access to key {key.uid} can only use it.",
                ai_principals=entries,
            )
