"""The CEK policy names an owner accountable for it."""

from collections.abc import Iterator

from scanner.rule import Context, RuleMeta, RuleResult, Severity, Status

META = RuleMeta(
    id="cek_policy_owner_assigned",
    title="The CEK policy has an accountable owner",
    severity=Severity.MEDIUM,
    providers=("policy",),
    rationale=(
        "A policy nobody owns is not maintained: CEK-01 expects the key-management policy to be established "
        "and maintained, and CEK-02 expects key-management responsibilities to be assigned. The owner is the "
        "person or team an auditor asks about reviews and exceptions."
    ),
    remediation={"policy": "Set `policy.owner` in the policy file to the accountable person or team."},
    controls=(
        "CSA-AICM:CEK-01",
        "CSA-AICM:CEK-02",
        "ISO-27001-2022:A.5.1",
        "ISO-27002-2022:5.2",
        "ISO-27001-2022:A.8.24",
    ),
)


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    owner = (ctx.policy.policy.owner or "").strip()
    if not owner:
        where = "the CEK policy" if ctx.policy_source else "no CEK policy file was given, so nothing"
        yield ctx.policy_result(Status.FAIL, f"Set policy.owner: {where} names an owner.", owner=None)
    else:
        yield ctx.policy_result(Status.PASS, f"The CEK policy is owned by {owner}.", owner=owner)
