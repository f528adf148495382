"""Only declared key administrators may administer every key of a scope through a broad grant.

A grant attached to the account, project or subscription itself, or to a folder, organization or
management group above it (``ScopeLevel.is_broad``), that carries any administrative capability
(change access, manage lifecycle, destroy, import material) makes its holder an administrator of
every key in the scope: ``kms:*`` in an IAM policy, ``roles/owner`` or ``roles/cloudkms.admin`` on
a project, Key Vault Administrator on a subscription. One result per scanned scope lists the
holders the policy's ``roles.key_administrators`` does not declare.
"""

from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from scanner.inventory import ADMIN_CAPABILITIES, AccessBinding, Scope, ScopeAspect
from scanner.rule import Context, RuleMeta, RuleResult, Severity, Status

META = RuleMeta(
    id="no_wildcard_key_admin",
    title="No broad key-administration grants beyond declared key administrators",
    severity=Severity.HIGH,
    providers=("aws", "gcp", "azure"),
    rationale=(
        "CEK-02 expects key-management roles to be defined and given only to the people who hold them. "
        "Wildcard or high-level grants (kms:* for all resources, project or organization Owner, Cloud KMS "
        "Admin on a project, Key Vault Administrator on a subscription) silently make their holders "
        "administrators of every key in the scope, including keys created later: they can change who may "
        "use a key, disable it or schedule its destruction. Such grants are acceptable only for the "
        "administrators the CEK policy names."
    ),
    remediation={
        "aws": (
            'Remove kms:* (and *:*) on Resource "*" from IAM policies of principals that are not declared '
            "key administrators (`aws iam create-policy-version` / `aws iam delete-role-policy`), give "
            "administration per key through the key policy's administrator statement, or declare the "
            "principal under roles.key_administrators in the CEK policy if it really is one."
        ),
        "gcp": (
            "Remove roles/owner, roles/cloudkms.admin and other key-administering roles granted at project, "
            "folder or organization level to undeclared members (`gcloud projects|resource-manager "
            "folders|organizations remove-iam-policy-binding`), grant roles/cloudkms.admin on the key ring "
            "to the declared administrators instead, or declare the member under roles.key_administrators."
        ),
        "azure": (
            "Remove Key Vault Administrator, Key Vault Crypto Officer, Owner or other key-administering role "
            "assignments at subscription or management-group scope from undeclared principals (`az role "
            "assignment delete --assignee <id> --scope /subscriptions/<id>`), assign administration on the "
            "vault to the declared administrators, or declare the principal under roles.key_administrators."
        ),
    },
    controls=(
        "CSA-AICM:CEK-02",
        "CIS-GCP-3.0:1.11",
        "CIS-GCP-5.0:1.12",
        "GCP-SCC:KMS_PROJECT_HAS_OWNER",
    ),
)

_MAX_LISTED = 50
_MAX_NAMED = 3

_Row = tuple[str, str, str, str, str, str, bool, tuple[str, ...]]


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    # One pass over all bindings, then each scope looks up its own uid and its parents' uids.
    broad: dict[str, list[AccessBinding]] = defaultdict(list)
    for binding in ctx.inventory.bindings:
        if binding.level.is_broad and binding.capabilities & ADMIN_CAPABILITIES:
            broad[binding.target].append(binding)
    role = ctx.policy.roles.key_administrators
    declared_cache: dict[str, bool] = {}

    def declared(uid: str) -> bool:
        known = declared_cache.get(uid)
        if known is None:
            principal = ctx.principal(uid)
            known = declared_cache[uid] = role.declares(principal.uid, *principal.aliases)
        return known

    for scope in ctx.inventory.scopes:
        yield _judge(ctx, scope, broad, declared)


def _judge(
    ctx: Context,
    scope: Scope,
    broad: dict[str, list[AccessBinding]],
    declared: Callable[[str], bool],
) -> RuleResult:
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
                    tuple(sorted(c.value for c in binding.capabilities & ADMIN_CAPABILITIES)),
                )
            )
    undeclared_rows = sorted(row for row in rows if not declared(row[0]))
    declared_rows = sorted(row for row in rows if declared(row[0]))
    undeclared = sorted({row[0] for row in undeclared_rows})
    accepted = sorted({row[0] for row in declared_rows})
    missing = _unreadable(scope)
    people = sorted(ctx.policy.roles.key_administrators.people)
    evidence: dict[str, Any] = {
        "targets": targets,
        "undeclared_principal_count": len(undeclared),
        "undeclared_principals": [_entry(ctx, row) for row in undeclared_rows[:_MAX_LISTED]],
        "declared_principal_count": len(accepted),
        "declared_principals": [_entry(ctx, row) for row in declared_rows[:_MAX_LISTED]],
        "declared_key_administrators": people[:_MAX_LISTED],
        "unreadable": sorted(
            a.value for a in scope.unreadable if a in (ScopeAspect.ACCESS, ScopeAspect.HIERARCHY)
        ),
    }
    if undeclared:
        incomplete = (
            f" (the list may be incomplete: {' and '.join(missing)} could not be read)" if missing else ""
        )
        return RuleResult.for_scope(
            scope,
            Status.FAIL,
            f"{len(undeclared)} principal(s) not declared in roles.key_administrators can administer every "
            f"key in scope {scope.uid} through grants at scope level or above: {_name(undeclared)}"
            f"{incomplete}; "
            "remove those grants or declare the principals as key administrators.",
            **evidence,
        )
    if missing:
        return RuleResult.for_scope(
            scope,
            Status.UNKNOWN,
            f"Could not read {' and '.join(missing)} of scope {scope.uid}, so whether undeclared principals "
            "can administer every key there cannot be judged; grant the scanner read access to them.",
            **evidence,
        )
    summary = (
        f"only declared key administrators ({_name(accepted)}) hold" if accepted else "no principal holds"
    )
    return RuleResult.for_scope(
        scope,
        Status.PASS,
        f"In scope {scope.uid}, {summary} administrative rights over every key through a grant at scope "
        "level or above.",
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
    principal, target, level, source, via, inherited_from, conditional, capabilities = row
    return {
        "uid": principal,
        "kind": ctx.principal(principal).kind.value,
        "capabilities": list(capabilities),
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
