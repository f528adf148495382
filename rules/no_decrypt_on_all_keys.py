"""No principal can decrypt with every key of a scope through a scope-wide or inherited grant.

A grant attached to the account, project or subscription itself, or to a folder, organization or
management group above it (``ScopeLevel.is_broad``), applies to every key there, including keys
created later. One result per scanned scope lists who holds decrypt that way.
"""

from collections.abc import Iterator
from typing import Any

from rules._access import MAX_LISTED
from rules._broad import (
    BroadIndex,
    broad_grants,
    broad_index,
    grant_entry,
    incomplete_note,
    name_listed,
    unknown_scope_result,
    unreadable_aspects,
    unreadable_phrases,
)
from scanner.inventory import Capability, Scope
from scanner.rule import Context, RuleMeta, RuleResult, Severity, Status

META = RuleMeta(
    id="no_decrypt_on_all_keys",
    title="No identity policy or broad role grants decrypt on all keys",
    severity=Severity.MEDIUM,
    providers=("aws", "gcp", "azure"),
    rationale=(
        "Decrypt rights should follow need-to-know, key by key (CEK-02). A grant at account, project, "
        'subscription or higher level (an IAM policy with kms:Decrypt on Resource "*", a Cloud KMS '
        "decrypter role on a project or folder, a Key Vault crypto role on a subscription) reaches every "
        "existing key and every key created later, so one compromised identity can read all data protected "
        "in that scope and nobody reviewing a single key sees the grant."
    ),
    remediation={
        "aws": (
            'In customer managed and inline IAM policies, replace `"Resource": "*"` on kms:Decrypt and '
            "kms:ReEncryptFrom with the ARNs of the keys the principal needs (or restrict with conditions "
            "such as kms:ViaService / kms:EncryptionContext), using `aws iam create-policy-version` or "
            "`aws iam put-role-policy`; prefer granting use in each key's policy."
        ),
        "gcp": (
            "Remove decrypting roles (roles/cloudkms.cryptoKeyDecrypter, cryptoKeyEncrypterDecrypter, "
            "cryptoOperator, owner/editor) granted at project, folder or organization level "
            "(`gcloud projects|resource-manager folders|organizations remove-iam-policy-binding`) and grant "
            "them on the key or key ring instead (`gcloud kms keys add-iam-policy-binding`)."
        ),
        "azure": (
            "Remove Key Vault Crypto User, Crypto Officer, Administrator or Crypto Service Encryption User "
            "assignments at subscription or management-group scope (`az role assignment delete --scope "
            "/subscriptions/<id> ...`) and assign the role on the vault or the key instead "
            "(`az role assignment create --scope <vault id>`)."
        ),
    },
    controls=(
        "CSA-AICM:CEK-02",
        "AWS-SecurityHub:KMS.1",
        "AWS-SecurityHub:KMS.2",
        "ISO-27002-2022:5.2",
    ),
)

_DECRYPT = frozenset({Capability.DECRYPT})


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    # One pass over all bindings, then each scope looks up its own uid and its parents' uids.
    broad = broad_index(ctx, _DECRYPT)
    for scope in ctx.inventory.scopes:
        yield _judge(ctx, scope, broad)


def _judge(ctx: Context, scope: Scope, broad: BroadIndex) -> RuleResult:
    targets, grants = broad_grants(scope, broad)
    principals = sorted({grant.principal for grant in grants})
    missing = unreadable_phrases(scope)
    evidence: dict[str, Any] = {
        "targets": targets,
        "principal_count": len(principals),
        "grant_count": len(grants),
        "principals": [grant_entry(ctx, grant) for grant in sorted(grants)[:MAX_LISTED]],
        "unreadable": unreadable_aspects(scope),
    }
    if principals:
        return RuleResult.for_scope(
            scope,
            Status.FAIL,
            f"{len(principals)} principal(s) can decrypt with every key in scope {scope.uid} through grants "
            f"at scope level or above: {name_listed(principals)}{incomplete_note(missing)}; grant decrypt "
            "on individual keys or key stores instead.",
            **evidence,
        )
    if missing:
        return unknown_scope_result(
            scope, missing, "whether anyone can decrypt with every key there", evidence
        )
    return RuleResult.for_scope(
        scope,
        Status.PASS,
        f"No principal can decrypt with every key in scope {scope.uid} through a grant at scope level "
        "or above.",
        **evidence,
    )
