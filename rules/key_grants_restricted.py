"""Delegations on a key (AWS KMS grants) go only to known principals of the organisation and cannot be
passed on."""

from collections.abc import Iterator
from typing import Any

from rules._access import MAX_LISTED, cap_values, judged_keys, name_principals
from scanner.inventory import AccessBinding, BindingSource, Capability, KeyAspect, PrincipalKind
from scanner.rule import Context, RuleMeta, RuleResult, Severity, Status

META = RuleMeta(
    id="key_grants_restricted",
    title="Key grants go only to known principals of the organisation",
    severity=Severity.HIGH,
    providers=("aws",),
    rationale=(
        "Grants delegate the use of a key outside its key policy: they are created at run time, are not "
        "visible in the policy document and stay in force until retired or revoked, so they are the "
        "easiest way for access to drift (CEK-02, CEK-13). A grant to another account, to an anonymous "
        "principal or to an identity that no longer exists (a grantee shown only as a unique id) hands "
        "the key to someone the organisation does not control, and a grant that lets its holder change "
        "who may use the key spreads it further without touching the key policy. Keys without any "
        "grant pass, as do keys whose grants all go to known principals of the organisation."
    ),
    remediation={
        "aws": (
            "List the key's grants (`aws kms list-grants --key-id KEY_ARN`) and revoke the ones named in the "
            "evidence (`aws kms revoke-grant --key-id KEY_ARN --grant-id GRANT_ID`). Re-create needed "
            "grants for principals of your own accounts, without the CreateGrant operation and with an "
            "encryption-context constraint; give cross-account access through the key policy instead, "
            "where it is reviewed, and limit kms:CreateGrant with `kms:GrantIsForAWSResource`."
        ),
    },
    controls=(
        "CSA-AICM:CEK-02",
        "CSA-AICM:CEK-13",
        "ISO-27002-2022:5.2",
    ),
)


def _reasons(ctx: Context, grant: AccessBinding) -> list[str]:
    """Why a grant is not acceptable; empty when it is."""
    principal = ctx.principal(grant.principal)
    reasons = []
    if principal.external:
        reasons.append("external principal")
    if principal.is_anonymous:
        reasons.append("anonymous principal")
    if principal.kind is PrincipalKind.UNKNOWN:
        reasons.append("unknown or deleted principal")
    if Capability.ADMINISTER_ACCESS in grant.capabilities:
        reasons.append("allows re-delegation (CreateGrant)")
    return reasons


def _describe(ctx: Context, grant: AccessBinding, reasons: list[str]) -> dict[str, Any]:
    principal = ctx.principal(grant.principal)
    return {
        "principal": grant.principal,
        "kind": principal.kind.value,
        "external": principal.external,
        "capabilities": cap_values(grant.capabilities),
        "via": grant.via,
        "reasons": reasons,
    }


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    for key in judged_keys(ctx):
        grants = [b for b in ctx.inventory.bindings_for(key) if b.source is BindingSource.GRANT]
        offending: list[dict[str, Any]] = []
        for grant in grants:
            reasons = _reasons(ctx, grant)
            if reasons:
                offending.append(_describe(ctx, grant, reasons))
        label = key.name or key.uid
        unreadable = KeyAspect.ACCESS in key.unreadable
        evidence: dict[str, Any] = {
            "grant_count": len(grants),
            "offending_grant_count": len(offending),
            "access_unreadable": unreadable,
        }
        if offending:
            offending.sort(key=lambda g: (g["principal"], g["via"] or "", g["capabilities"]))
            why = sorted({reason for g in offending for reason in g["reasons"]})
            yield RuleResult.for_key(
                key,
                Status.FAIL,
                f"Key {label} has {len(offending)} grant(s) to {name_principals({g['principal'] for g in offending})} "
                f"({'; '.join(why)}); revoke them and re-create only the grants that are needed.",
                offending_grants=offending[:MAX_LISTED],
                **evidence,
            )
        elif unreadable:
            yield RuleResult.for_key(
                key,
                Status.UNKNOWN,
                f"The grants of key {label} could not be read completely, so delegations to external, "
                "anonymous or deleted principals cannot be ruled out; grant the scanner kms:ListGrants and "
                "kms:GetKeyPolicy and scan again.",
                **evidence,
            )
        elif grants:
            grantees = sorted({g.principal for g in grants})
            yield RuleResult.for_key(
                key,
                Status.PASS,
                f"Key {label}: all {len(grants)} grant(s) go to known principals of the organisation and "
                "none allows re-delegation.",
                grantees=grantees[:MAX_LISTED],
                grantee_count=len(grantees),
                **evidence,
            )
        else:
            yield RuleResult.for_key(key, Status.PASS, f"Key {label} has no grants.", **evidence)
