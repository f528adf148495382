"""Every key-management role can be filled by at least two people (succession, continuity)."""

from collections.abc import Iterator

from scanner.rule import Context, RuleMeta, RuleResult, Severity, Status

MIN_PEOPLE = 2

META = RuleMeta(
    id="cek_roles_have_alternates",
    title="Each key-management role has at least two people able to fill it",
    severity=Severity.MEDIUM,
    providers=("policy",),
    rationale=(
        "A role held by one person stops when that person is absent or leaves; CEK-02 guidance calls for two "
        "or more individuals controlling a key-management process, and succession planning needs a named "
        "alternate. Members and alternates together must reach two distinct principals."
    ),
    remediation={
        "policy": "Add a second member, or an `alternates:` entry, to each role in the policy file's `roles` section."
    },
    controls=("CSA-AICM:CEK-02", "CSA-AICM:CEK-20", "ISO-27002-2022:5.2"),
)


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    people = {name: len(role.people) for name, role in ctx.policy.roles.items()}
    short = [f"{name} ({count})" for name, count in people.items() if count < MIN_PEOPLE]
    if short:
        yield ctx.policy_result(
            Status.FAIL,
            f"Give these roles at least {MIN_PEOPLE} members or alternates: {', '.join(short)}.",
            people_per_role=people,
        )
    else:
        yield ctx.policy_result(
            Status.PASS,
            f"Every role has at least {MIN_PEOPLE} people able to fill it.",
            people_per_role=people,
        )
