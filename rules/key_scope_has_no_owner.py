"""No principal holds owner-level control over a project that holds customer keys.

Owner-level control is one broad grant (on the project itself, or on a folder or organization above
it: ``ScopeLevel.is_broad``) that carries both ``administer_access`` and a use capability (encrypt,
decrypt, sign), which is what GCP's basic ``roles/owner`` gives over Cloud KMS; ``roles/cloudkms.admin``
administers but does not use, and is judged by no_wildcard_key_admin instead. Unlike that rule,
declared key administrators are not exempt. Scopes without customer keys get no result.
"""

from collections.abc import Iterator
from typing import Any

from rules._access import MAX_LISTED, judged_keys
from rules._broad import (
    BroadIndex,
    Grant,
    broad_grants,
    broad_index,
    grant_entry,
    incomplete_note,
    name_listed,
    unknown_scope_result,
    unreadable_aspects,
    unreadable_phrases,
)
from scanner.inventory import USE_CAPABILITIES, Capability, Scope, ScopeAspect
from scanner.rule import Context, RuleMeta, RuleResult, Severity, Status

META = RuleMeta(
    id="key_scope_has_no_owner",
    title="No owner-level grant on projects that hold customer keys",
    severity=Severity.HIGH,
    providers=("gcp",),
    rationale=(
        "CEK-02 expects whoever controls access to keys to be kept apart from whoever uses them. A basic "
        "Owner grant on a project, or on a folder or organization above it, does both at once for every "
        "key in the project: its holder can decrypt or sign with any key and can also rewrite the IAM "
        "policies that decide who else may. Security Command Center reports this as "
        "KMS_PROJECT_HAS_OWNER. The grant is judged whoever holds it, declared key administrators "
        "included, and an IAM condition on it does not excuse it (it is marked in the evidence): key "
        "administration belongs in roles/cloudkms.admin on the key ring, and key use in the cryptoKey "
        "roles, held by different principals."
    ),
    remediation={
        "gcp": (
            "Remove roles/owner (and custom roles combining setIamPolicy with cloudkms.cryptoKeyVersions."
            "useToEncrypt/useToDecrypt/useToSign) from the members named in the evidence at project, folder "
            "or organization level (`gcloud projects remove-iam-policy-binding PROJECT --member MEMBER "
            "--role roles/owner`, likewise `gcloud resource-manager folders|organizations "
            "remove-iam-policy-binding`); keep keys in a dedicated KMS project, give administrators "
            "roles/cloudkms.admin on the key ring and workloads cryptoKey roles on the key."
        ),
    },
    controls=(
        "CSA-AICM:CEK-02",
        "GCP-SCC:KMS_PROJECT_HAS_OWNER",
        "ISO-27001-2022:A.5.3",
        "ISO-27001-2022:A.8.2",
        "ISO-27002-2022:5.2",
    ),
)

_LISTED = frozenset({Capability.ADMINISTER_ACCESS}) | USE_CAPABILITIES
_USE_NAMES = frozenset(c.value for c in USE_CAPABILITIES)


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    key_counts: dict[str, int] = {}
    for key in judged_keys(ctx):
        key_counts[key.scope] = key_counts.get(key.scope, 0) + 1
    # One pass over all bindings, then each scope looks up its own uid and its parents' uids.
    broad = broad_index(ctx, frozenset({Capability.ADMINISTER_ACCESS}))
    for scope in ctx.inventory.scopes:
        key_count = key_counts.get(scope.uid, 0)
        if key_count or ScopeAspect.KEYS in scope.unreadable:
            yield _judge(ctx, scope, broad, key_count)


def _owner_level(grant: Grant) -> bool:
    return Capability.ADMINISTER_ACCESS.value in grant.capabilities and not _USE_NAMES.isdisjoint(
        grant.capabilities
    )


def _judge(ctx: Context, scope: Scope, broad: BroadIndex, key_count: int) -> RuleResult:
    targets, grants = broad_grants(scope, broad, _LISTED)
    owner_grants = sorted(grant for grant in grants if _owner_level(grant))
    owners = sorted({grant.principal for grant in owner_grants})
    conditional_only = sorted(
        {g.principal for g in owner_grants} - {g.principal for g in owner_grants if not g.conditional}
    )
    missing = unreadable_phrases(scope)
    keys_unlisted = ScopeAspect.KEYS in scope.unreadable
    evidence: dict[str, Any] = {
        "targets": targets,
        "customer_key_count": None if keys_unlisted and not key_count else key_count,
        "owner_count": len(owners),
        "owners": [grant_entry(ctx, grant, capabilities=True) for grant in owner_grants[:MAX_LISTED]],
        "conditional_only_owners": conditional_only[:MAX_LISTED],
        "unreadable": sorted(
            {*unreadable_aspects(scope), *([ScopeAspect.KEYS.value] if keys_unlisted else [])}
        ),
    }
    if owners and not key_count:
        # The keys of the scope could not be listed, so whether these owners hold keys is open.
        return RuleResult.for_scope(
            scope,
            Status.UNKNOWN,
            f"Could not list the keys of scope {scope.uid}, so whether the owner-level grants of "
            f"{name_listed(owners)} reach customer keys cannot be judged; grant the scanner read access "
            "to the keys.",
            **evidence,
        )
    if owners:
        conditional = (
            f" ({len(conditional_only)} only through conditional grants)" if conditional_only else ""
        )
        return RuleResult.for_scope(
            scope,
            Status.FAIL,
            f"{len(owners)} principal(s) hold owner-level control (administer access and use) over the "
            f"{key_count} customer key(s) of scope {scope.uid} through grants at scope level or above: "
            f"{name_listed(owners)}{conditional}{incomplete_note(missing)}; remove those grants and give "
            "key administration and key use to separate principals.",
            **evidence,
        )
    if missing:
        return unknown_scope_result(
            scope, missing, "whether any principal holds owner-level control over its keys", evidence
        )
    holds = f"holds {key_count} customer key(s)" if key_count else "may hold customer keys"
    return RuleResult.for_scope(
        scope,
        Status.PASS,
        f"Scope {scope.uid} {holds} and no principal holds owner-level control (administer access and "
        "use) over them through a grant at scope level or above.",
        **evidence,
    )
