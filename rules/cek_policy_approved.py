"""The CEK policy records who approved it and when."""

from collections.abc import Iterator

from scanner.rule import Context, RuleMeta, RuleResult, Severity, Status

META = RuleMeta(
    id="cek_policy_approved",
    title="The CEK policy records its approver and approval date",
    severity=Severity.MEDIUM,
    providers=("policy",),
    rationale=(
        "CEK-01 asks for a policy that is approved, not only written. Recording the approver and the date of "
        "approval lets an auditor check that management endorsed the thresholds keyaudit enforces, and an "
        "approval date in the future is a data-entry error that hides an unapproved policy."
    ),
    remediation={
        "policy": "Set `policy.approved_by` and `policy.approved_on` (YYYY-MM-DD) after management signs the policy off."
    },
    controls=(
        "CSA-AICM:CEK-01",
        "ISO-27001-2022:A.5.1",
        "ISO-27001-2022:A.8.24",
    ),
)


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    info = ctx.policy.policy
    approver = (info.approved_by or "").strip() or None
    approved_on = info.approved_on
    evidence = {"approved_by": approver, "approved_on": approved_on.isoformat() if approved_on else None}
    missing = [name for name, value in (("approved_by", approver), ("approved_on", approved_on)) if not value]
    if missing:
        yield ctx.policy_result(
            Status.FAIL,
            f"The CEK policy does not record its approval: set policy.{' and policy.'.join(missing)}.",
            **evidence,
        )
    elif approved_on is not None and approved_on > ctx.today:
        yield ctx.policy_result(
            Status.FAIL,
            f"policy.approved_on ({approved_on.isoformat()}) is in the future; record the real approval date.",
            **evidence,
        )
    else:
        yield ctx.policy_result(
            Status.PASS,
            f"The CEK policy was approved by {approver} on {evidence['approved_on']}.",
            **evidence,
        )
