"""Every scope, region and API the rules need was read: coverage gaps are findings, never silent passes."""

from collections import defaultdict
from collections.abc import Iterator

from scanner.inventory import CollectionError
from scanner.rule import Context, ResourceRef, RuleMeta, RuleResult, Severity, Status

MAX_LISTED = 50

META = RuleMeta(
    id="scan_coverage_complete",
    title="Every scope, region and API needed by the rules was read",
    severity=Severity.HIGH,
    providers=("aws", "gcp", "azure"),
    rationale=(
        "A scanner that skips what it cannot read reports a cleaner estate than the real one. Every access "
        "denial, throttling that outlived retries, unreachable endpoint or failed region is reported here, so "
        "an auditor sees which parts of the evidence are missing (CEK-09: audit of key-management systems)."
    ),
    remediation={
        "aws": (
            "Grant the scanning role the read-only permissions printed by `keyaudit scan aws --print-required-policy` "
            "in every account and region listed, check SCPs and region opt-ins, then scan again."
        ),
        "gcp": (
            "Grant the scanning identity roles/cloudkms.viewer, roles/iam.securityReviewer and "
            "roles/cloudasset.viewer on the projects listed (or their folder/organization), enable the APIs named, "
            "then scan again."
        ),
        "azure": (
            "Give the scanning identity Reader on the subscriptions listed and a Key Vault data-plane reader role "
            "(e.g. Key Vault Reader) on the vaults listed; for firewalled vaults scan from an allowed network or "
            "private endpoint."
        ),
    },
    controls=("CSA-AICM:CEK-09", "CSA-AICM:CEK-21"),
)


def _describe(error: CollectionError) -> dict[str, str | None]:
    return {
        "api": error.api,
        "location": error.location,
        "resource": error.resource,
        "error_class": error.error_class.value,
        "message": error.message,
    }


def _summary(errors: list[CollectionError], unreadable: list[str]) -> str:
    parts = [f"{e.api} in {e.location or 'all locations'} ({e.error_class.value})" for e in errors[:3]]
    if len(errors) > 3:
        parts.append(f"{len(errors) - 3} more")
    if unreadable:
        parts.append(f"unreadable: {', '.join(unreadable)}")
    return "; ".join(parts)


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    errors_by_scope: dict[tuple[str, str], list[CollectionError]] = defaultdict(list)
    for error in ctx.inventory.errors:
        errors_by_scope[(error.provider.value, error.scope)].append(error)
    for scope in ctx.inventory.scopes:
        errors = errors_by_scope.pop((scope.provider.value, scope.uid), [])
        unreadable = sorted(aspect.value for aspect in scope.unreadable)
        evidence = {
            "locations": list(scope.locations),
            "errors": [_describe(e) for e in errors[:MAX_LISTED]],
            "error_count": len(errors),
            "unreadable": unreadable,
        }
        if errors or unreadable:
            yield RuleResult.for_scope(
                scope,
                Status.FAIL,
                f"Scan of {scope.uid} is incomplete: {_summary(errors, unreadable)}; results that depend on it "
                "are UNKNOWN.",
                **evidence,
            )
        else:
            yield RuleResult.for_scope(
                scope, Status.PASS, f"Every API needed was read in {scope.uid}.", **evidence
            )
    # Errors for scopes that never made it into the inventory (e.g. an account whose role could not be assumed).
    for (provider, scope_uid), errors in sorted(errors_by_scope.items()):
        yield RuleResult(
            status=Status.FAIL,
            provider=provider,
            scope=scope_uid,
            resource=ResourceRef(uid=scope_uid, type="scope", name=None),
            message=f"Scope {scope_uid} could not be scanned: {_summary(errors, [])}.",
            evidence={"errors": [_describe(e) for e in errors[:MAX_LISTED]], "error_count": len(errors)},
        )
