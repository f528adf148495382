"""The membership of the privileged key roles was reviewed within the policy's review interval."""

from collections.abc import Iterator

from rules._review import review_verdict
from scanner.rule import Context, RuleMeta, RuleResult, Severity, Status

# Auditors only read: their membership review is recorded when given but not required.
REVIEWED_ROLES = ("key_administrators", "key_users")

META = RuleMeta(
    id="cek_roles_reviewed_within_interval",
    title="Key administrator and key user role memberships were reviewed within the interval",
    severity=Severity.MEDIUM,
    providers=("policy",),
    rationale=(
        "People change jobs; a role list that is never reviewed keeps leavers able to manage or use keys. "
        "CEK-02 roles must be kept current and CEK-13 expects access to be revoked when people leave, so the "
        "membership of the privileged roles is reviewed at least as often as the policy itself."
    ),
    remediation={
        "policy": (
            "Review `roles.key_administrators` and `roles.key_users` with their managers and set each role's "
            "`last_reviewed` date."
        )
    },
    controls=("CSA-AICM:CEK-02", "CSA-AICM:CEK-13", "ISO-27002-2022:5.2", "ISO-27001-2022:A.5.18"),
)


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    interval = ctx.policy.policy.review_interval_days
    verdicts = {}
    failing = []
    for name in REVIEWED_ROLES:
        role = getattr(ctx.policy.roles, name)
        status, message = review_verdict(role.last_reviewed, ctx.today, interval, f"Role {name}")
        verdicts[name] = {
            "last_reviewed": role.last_reviewed.isoformat() if role.last_reviewed else None,
            "status": status.value,
        }
        if status is Status.FAIL:
            failing.append(message)
    evidence = {"roles": verdicts, "review_interval_days": interval, "as_of": ctx.today.isoformat()}
    if failing:
        yield ctx.policy_result(Status.FAIL, " ".join(failing), **evidence)
    else:
        yield ctx.policy_result(
            Status.PASS, f"Both privileged roles were reviewed within {interval} days.", **evidence
        )
