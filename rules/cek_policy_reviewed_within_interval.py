"""The CEK policy was reviewed within its review interval (at least annually by default)."""

from collections.abc import Iterator

from rules._review import review_verdict
from scanner.rule import Context, RuleMeta, RuleResult, Severity, Status

META = RuleMeta(
    id="cek_policy_reviewed_within_interval",
    title="The CEK policy was reviewed within its review interval",
    severity=Severity.MEDIUM,
    providers=("policy",),
    rationale=(
        "CEK-01 requires cryptography, encryption and key-management policies to be reviewed and updated at "
        "least annually or upon significant change. A stale policy drifts from the estate it governs."
    ),
    remediation={
        "policy": (
            "Review the policy with its owner, then set `policy.last_reviewed` to the review date; "
            "`policy.review_interval_days` (default 365) sets how often."
        )
    },
    controls=(
        "CSA-AICM:CEK-01",
        "ISO-27001-2022:A.5.1",
        "ISO-27002-2022:5.1",
        "ISO-27001-2022:A.8.24",
    ),
)


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    info = ctx.policy.policy
    interval = info.review_interval_days
    if ctx.policy_source is None:
        yield ctx.policy_result(
            Status.FAIL,
            "No CEK policy file was given, so no review can be shown.",
            review_interval_days=interval,
        )
        return
    status, message = review_verdict(info.last_reviewed, ctx.today, interval, "The CEK policy")
    yield ctx.policy_result(
        status,
        message,
        last_reviewed=info.last_reviewed.isoformat() if info.last_reviewed else None,
        review_interval_days=interval,
        as_of=ctx.today.isoformat(),
    )
