"""No principal can decrypt with every key of a scope through a scope-wide or inherited grant.

A grant attached to the account, project or subscription itself, or to a folder, organization or
management group above it (``ScopeLevel.is_broad``), applies to every key there, including keys
created later. One result per scanned scope lists who holds decrypt that way.
"""

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from scanner.inventory import AccessBinding, Capability, Scope, ScopeAspect
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
    controls=("CSA-AICM:CEK-02", "AWS-SecurityHub:KMS.1", "AWS-SecurityHub:KMS.2"),
)

_MAX_LISTED = 50
_MAX_NAMED = 3

_Row = tuple[str, str, str, str, str, str, bool]


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    # One pass over all bindings, then each scope looks up its own uid and its parents' uids.
    broad: dict[str, list[AccessBinding]] = defaultdict(list)
    for binding in ctx.inventory.bindings:
        if binding.level.is_broad and Capability.DECRYPT in binding.capabilities:
            broad[binding.target].append(binding)
    for scope in ctx.inventory.scopes:
        yield _judge(ctx, scope, broad)


def _judge(ctx: Context, scope: Scope, broad: dict[str, list[AccessBinding]]) -> RuleResult:
    targets = list(dict.fromkeys((scope.uid, *(parent.uid for parent in scope.parents))))
    rows: set[_Row] = set()
    for target in targets:
        for binding in broad.get(target, ()):
            rows.add(
                (
                    binding.principal,
                    binding.target,
                    binding.level.value,
                    binding.source.value,
                    binding.via or "",
                    binding.inherited_from or "",
                    binding.conditional,
                )
            )
    principals = sorted({row[0] for row in rows})
    missing = _unreadable(scope)
    evidence: dict[str, Any] = {
        "targets": targets,
        "principal_count": len(principals),
        "grant_count": len(rows),
        "principals": [_entry(ctx, row) for row in sorted(rows)[:_MAX_LISTED]],
        "unreadable": sorted(
            a.value for a in scope.unreadable if a in (ScopeAspect.ACCESS, ScopeAspect.HIERARCHY)
        ),
    }
    if principals:
        incomplete = (
            f" (the list may be incomplete: {' and '.join(missing)} could not be read)" if missing else ""
        )
        return RuleResult.for_scope(
            scope,
            Status.FAIL,
            f"{len(principals)} principal(s) can decrypt with every key in scope {scope.uid} through grants "
            f"at scope level or above: {_name(principals)}{incomplete}; grant decrypt on individual keys or "
            "key stores instead.",
            **evidence,
        )
    if missing:
        return RuleResult.for_scope(
            scope,
            Status.UNKNOWN,
            f"Could not read {' and '.join(missing)} of scope {scope.uid}, so whether anyone can decrypt "
            "with every key there cannot be judged; grant the scanner read access to them.",
            **evidence,
        )
    return RuleResult.for_scope(
        scope,
        Status.PASS,
        f"No principal can decrypt with every key in scope {scope.uid} through a grant at scope level "
        "or above.",
        **evidence,
    )


def _unreadable(scope: Scope) -> list[str]:
    missing = []
    if ScopeAspect.ACCESS in scope.unreadable:
        missing.append("the scope-wide access bindings")
    if ScopeAspect.HIERARCHY in scope.unreadable:
        missing.append("the access inherited from its parents")
    return missing


def _entry(ctx: Context, row: _Row) -> dict[str, Any]:
    principal, target, level, source, via, inherited_from, conditional = row
    return {
        "uid": principal,
        "kind": ctx.principal(principal).kind.value,
        "source": source,
        "via": via or None,
        "level": level,
        "target": target,
        "inherited_from": inherited_from or None,
        "conditional": conditional,
    }


def _name(uids: list[str]) -> str:
    shown = uids[:_MAX_NAMED]
    rest = len(uids) - len(shown)
    return ", ".join(shown) + (f" and {rest} more" if rest else "")
