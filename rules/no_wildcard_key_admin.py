"""Only declared key administrators may administer every key of a scope through a broad grant.

A grant attached to the account, project or subscription itself, or to a folder, organization or
management group above it (``ScopeLevel.is_broad``), that carries any administrative capability
(change access, manage lifecycle, destroy, import material) makes its holder an administrator of
every key in the scope: ``kms:*`` in an IAM policy, ``roles/owner`` or ``roles/cloudkms.admin`` on
a project, Key Vault Administrator on a subscription. One result per scanned scope lists the
holders the policy's ``roles.key_administrators`` does not declare.
"""

from collections.abc import Callable, Iterator
from typing import Any

from rules._access import MAX_LISTED, declared_matcher
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
from scanner.inventory import ADMIN_CAPABILITIES, Scope
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
        "ISO-27002-2022:5.2",
    ),
)


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    # One pass over all bindings, then each scope looks up its own uid and its parents' uids.
    broad = broad_index(ctx, ADMIN_CAPABILITIES)
    declared = declared_matcher(ctx, ctx.policy.roles.key_administrators)
    for scope in ctx.inventory.scopes:
        yield _judge(ctx, scope, broad, declared)


def _judge(ctx: Context, scope: Scope, broad: BroadIndex, declared: Callable[[str], bool]) -> RuleResult:
    targets, grants = broad_grants(scope, broad, ADMIN_CAPABILITIES)
    undeclared_grants = sorted(grant for grant in grants if not declared(grant.principal))
    declared_grants = sorted(grant for grant in grants if declared(grant.principal))
    undeclared = sorted({grant.principal for grant in undeclared_grants})
    accepted = sorted({grant.principal for grant in declared_grants})
    missing = unreadable_phrases(scope)
    people = sorted(ctx.policy.roles.key_administrators.people)
    evidence: dict[str, Any] = {
        "targets": targets,
        "undeclared_principal_count": len(undeclared),
        "undeclared_principals": [
            grant_entry(ctx, grant, capabilities=True) for grant in undeclared_grants[:MAX_LISTED]
        ],
        "declared_principal_count": len(accepted),
        "declared_principals": [
            grant_entry(ctx, grant, capabilities=True) for grant in declared_grants[:MAX_LISTED]
        ],
        "declared_key_administrators": people[:MAX_LISTED],
        "unreadable": unreadable_aspects(scope),
    }
    if undeclared:
        return RuleResult.for_scope(
            scope,
            Status.FAIL,
            f"{len(undeclared)} principal(s) not declared in roles.key_administrators can administer every "
            f"key in scope {scope.uid} through grants at scope level or above: {name_listed(undeclared)}"
            f"{incomplete_note(missing)}; "
            "remove those grants or declare the principals as key administrators.",
            **evidence,
        )
    if missing:
        return unknown_scope_result(
            scope, missing, "whether undeclared principals can administer every key there", evidence
        )
    summary = (
        f"only declared key administrators ({name_listed(accepted)}) hold"
        if accepted
        else "no principal holds"
    )
    return RuleResult.for_scope(
        scope,
        Status.PASS,
        f"In scope {scope.uid}, {summary} administrative rights over every key through a grant at scope "
        "level or above.",
        **evidence,
    )
