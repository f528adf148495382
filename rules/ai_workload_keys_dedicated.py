"""A key used by an AI service protects AI workloads of one tenant only (policy ``ai_workloads.dedicated_keys``).

Judged: every customer key protecting an AI workload. It fails when it also serves non-AI workloads:
a non-AI resource recorded as encrypted with it, a non-AI service principal holding use rights on it,
or a grant usable through a non-AI service (``kms:ViaService`` s3, rds, ...); or when it protects AI
resources of more than one tenant (the ``ai_workloads.tenant_tag`` tag, else the account / project /
subscription). When the AI resources of a scope could not all be listed, or the key's access could not
be read, the key is UNKNOWN unless a failure is already certain. Without ``dedicated_keys: true`` keys
pass with the policy decision as evidence.
"""

from collections.abc import Iterator

from rules._access import access_gaps
from rules._ai import ai_keys, ai_listing_incomplete, tenant_of, use_evidence
from scanner.inventory import AI_SERVICES, USE_CAPABILITIES, PrincipalKind
from scanner.rule import Context, RuleMeta, RuleResult, Severity, Status

META = RuleMeta(
    id="ai_workload_keys_dedicated",
    title="Keys used by AI services are dedicated to AI workloads of one tenant",
    severity=Severity.MEDIUM,
    providers=("aws", "gcp", "azure"),
    rationale=(
        "The AI Controls Matrix guidance asks for cryptographic isolation of AI workloads and tenant-specific "
        "encryption for AI services. A key shared between an AI service and ordinary storage, or between two "
        "tenants' AI resources, couples their fates: revoking it to contain an AI incident breaks the other "
        "workload, its access policy must admit both, and its audit trail mixes them. CEK-11 asks for keys "
        "with a unique purpose."
    ),
    remediation={
        "aws": (
            "Create a KMS key per tenant for its AI resources (SageMaker, Bedrock), re-encrypt them with it, and "
            "remove other services (kms:ViaService s3, ebs, rds ...) and principals from the AI key's policy."
        ),
        "gcp": (
            "Create a key (ideally in a dedicated key project, e.g. with Autokey) per tenant for Vertex AI "
            "resources and remove other service agents' roles/cloudkms.cryptoKeyEncrypterDecrypter from it."
        ),
        "azure": (
            "Give each tenant's Azure OpenAI / AI services account and ML workspace its own key and remove "
            "other workloads' identities from the key's role assignments or access policies."
        ),
    },
    controls=("CSA-AICM:CEK-02", "CSA-AICM:CEK-11", "CSA-AICM:CEK-08", "ISO-27001-2022:A.8.24"),
)


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    policy = ctx.policy.ai_workloads
    inventory = ctx.inventory
    by_uid = {r.uid: r for r in inventory.resources}
    non_ai_users: dict[str, list[str]] = {}
    for resource in inventory.resources:
        if not resource.is_ai:
            for key_uid in resource.keys:
                non_ai_users.setdefault(key_uid, []).append(resource.uid)
    for key, use in ai_keys(ctx):
        tenant_by_resource = {
            uid: tenant_of(by_uid[uid], policy.tenant_tag) for uid in use.resources if uid in by_uid
        }
        tenants = sorted({t for t in tenant_by_resource.values() if t is not None})
        untagged = sorted(uid for uid, tenant in tenant_by_resource.items() if tenant is None)
        others = sorted(non_ai_users.get(key.uid, ()))
        services = set()
        for binding in inventory.bindings_for(key):
            principal = ctx.principal(binding.principal)
            usable = not USE_CAPABILITIES.isdisjoint(binding.capabilities)
            if usable and principal.kind is PrincipalKind.SERVICE and principal.ai_service is None:
                services.add(binding.principal)
            services.update(f"via {s}" for s in binding.via_services if s not in AI_SERVICES)
        evidence = {
            **use_evidence(use),
            "tenants": tenants,
            "non_ai_resources": others[:50],
            "non_ai_services": sorted(services)[:50],
            "dedicated_keys_required": policy.dedicated_keys,
            "tenant_tag": policy.tenant_tag,
        }
        if not policy.dedicated_keys:
            yield RuleResult.for_key(
                key, Status.PASS, f"Key {key.uid} protects AI workloads; the policy does not require dedicated AI keys "
                "(ai_workloads.dedicated_keys: false).", **evidence,
            )  # fmt: skip
            continue
        problems = []
        if others:
            problems.append(f"it also protects {len(others)} non-AI resource(s) such as {others[0]}")
        if services:
            problems.append(f"non-AI services can use it ({', '.join(sorted(services)[:3])})")
        if len(tenants) > 1:
            problems.append(f"it protects AI resources of {len(tenants)} tenants ({', '.join(tenants[:3])})")
        if problems:
            yield RuleResult.for_key(
                key, Status.FAIL, f"Key {key.uid} is used by AI services ({', '.join(use.services)}) but "
                f"{'; '.join(problems)}: give each tenant's AI workloads a key of their own.", **evidence,
            )  # fmt: skip
            continue
        incomplete = [scope for scope in {key.scope} | {by_uid[u].scope for u in use.resources if u in by_uid}
                      if ai_listing_incomplete(ctx, scope)]  # fmt: skip
        gaps = access_gaps(ctx, key)
        if incomplete or gaps or untagged:
            if incomplete:
                missing = "the AI resources of " + ", ".join(sorted(incomplete))
            elif gaps:
                missing = "the key's access"
            else:  # the tenant tag of a resource is among tags that could not be read
                missing = f"the tags (tenant) of {untagged[0]}" + (
                    f" and {len(untagged) - 1} more" if len(untagged) > 1 else ""
                )
            yield RuleResult.for_key(
                key, Status.UNKNOWN, f"Whether key {key.uid} is dedicated to one tenant's AI workloads cannot be "
                f"judged: {missing} could not be read completely.", **evidence,
            )  # fmt: skip
            continue
        yield RuleResult.for_key(
            key, Status.PASS, f"Key {key.uid} protects only AI workloads ({', '.join(use.services)}) of one tenant "
            f"({tenants[0] if tenants else 'scope=' + key.scope}).", **evidence,
        )  # fmt: skip
