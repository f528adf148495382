"""AI resources encrypt their data with a customer-managed key, not the provider's own.

Judged: every AI workload resource in the inventory (SageMaker, Bedrock, Vertex AI, Azure OpenAI / AI
services, Azure Machine Learning, ...). ``customer_managed`` with a key passes, ``provider_managed``
fails (the provider holds the only key: no revocation, no rotation control, no key-use audit trail of
your own), encryption not read is UNKNOWN. With ``ai_workloads.require_customer_managed_keys: false``
provider-managed encryption passes, with the policy decision as evidence.
"""

from collections.abc import Iterator

from rules._ai import ai_resources
from scanner.inventory import Encryption, ResourceAspect
from scanner.rule import Context, RuleMeta, RuleResult, Severity, Status

META = RuleMeta(
    id="ai_resource_uses_customer_managed_key",
    title="AI workload resources are encrypted with customer-managed keys",
    severity=Severity.HIGH,
    providers=("aws", "gcp", "azure"),
    rationale=(
        "The CSA AI Controls Matrix asks for tenant-specific encryption of AI services and for the customer to "
        "manage its own keys (CEK-08). Models, training data, prompts and embeddings held by an AI service "
        "under the provider's own key cannot be made unreadable by revoking a key, their key use leaves no "
        "trail in your key-management logs, and your rotation and segregation-of-duties policy never applies "
        "to them. A customer-managed key puts the AI workload's data under the CEK policy like any other data."
    ),
    remediation={
        "aws": (
            "Recreate the resource with a customer managed KMS key: SageMaker `KmsKeyId` (endpoint configs, "
            "notebook instances) and `VolumeKmsKeyId`/`OutputDataConfig.KmsKeyId` (training, processing jobs); "
            "Bedrock `customModelKmsKeyId` (model customization), `customerEncryptionKeyArn` (agents), the "
            "knowledge base's data source and vector store KMS keys."
        ),
        "gcp": (
            "Create Vertex AI resources with CMEK: `encryptionSpec.kmsKeyName` on the endpoint, model, dataset, "
            "index, feature store or job (e.g. `gcloud ai endpoints create --encryption-kms-key-name=...`), and "
            "enforce it with the org policy constraint constraints/gcp.restrictNonCmekServices."
        ),
        "azure": (
            "Switch the account's encryption to customer-managed keys: Azure OpenAI / AI services `az "
            "cognitiveservices account update --encryption-key-source Microsoft.KeyVault --encryption-key-name "
            "... --encryption-key-vault ...`; Azure Machine Learning workspaces are created with `--cmk-keyvault` "
            "and `--resource-cmk-uri`."
        ),
    },
    controls=(
        "CSA-AICM:CEK-08",
        "CSA-AICM:CEK-03",
        "CSA-AICM:CEK-01",
        "AzurePolicy:67121cc7-ff39-4ab8-b7e3-95b84dab487d",
        "AzurePolicy:ba769a63-b8cc-4b2d-abf6-ac33c7204be8",
        "ISO-27001-2022:A.8.24",
    ),
)


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    required = ctx.policy.ai_workloads.require_customer_managed_keys
    for resource in ai_resources(ctx):
        label = resource.name or resource.uid
        evidence = {
            "ai_service": resource.ai_service,
            "encryption": resource.encryption.value if resource.encryption else None,
            "keys": list(resource.keys),
            "key_reference": dict(resource.evidence),
            "required_by_policy": required,
        }
        if resource.encryption is Encryption.CUSTOMER_MANAGED and resource.keys:
            yield RuleResult.for_resource(
                resource,
                Status.PASS,
                f"{resource.native_type} {label} is encrypted with the customer-managed key {resource.keys[0]}.",
                **evidence,
            )
        elif resource.encryption is Encryption.PROVIDER_MANAGED:
            if required:
                yield RuleResult.for_resource(
                    resource,
                    Status.FAIL,
                    f"{resource.native_type} {label} ({resource.ai_service}) is encrypted with the provider's own "
                    "key, outside your key management; recreate or reconfigure it with a customer-managed key.",
                    **evidence,
                )
            else:
                yield RuleResult.for_resource(
                    resource,
                    Status.PASS,
                    f"{resource.native_type} {label} uses provider-managed encryption, which the policy allows "
                    "(ai_workloads.require_customer_managed_keys: false).",
                    **evidence,
                )
        else:
            why = (
                "its encryption settings could not be read"
                if resource.encryption is None or ResourceAspect.ENCRYPTION in resource.unreadable
                else "it reports customer-managed encryption without naming the key"
            )
            yield RuleResult.for_resource(
                resource,
                Status.UNKNOWN,
                f"Whether {resource.native_type} {label} uses a customer-managed key cannot be judged: {why}.",
                **evidence,
            )
