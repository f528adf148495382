"""Key administrators, key users and auditors are declared with members."""

from collections.abc import Iterator

from scanner.rule import Context, RuleMeta, RuleResult, Severity, Status

META = RuleMeta(
    id="cek_roles_defined",
    title="Key-management roles are defined with members",
    severity=Severity.HIGH,
    providers=("policy",),
    rationale=(
        "CEK-02 asks for cryptographic and key-management roles and responsibilities to be defined and "
        "implemented. keyaudit compares the declared key administrators and key users with who can really "
        "administer and use each key, so undefined roles leave segregation of duties unprovable."
    ),
    remediation={
        "policy": (
            "List the principals of each role under `roles.key_administrators.members`, "
            "`roles.key_users.members` and `roles.auditors.members` (IAM ARNs, GCP members or Azure object ids; "
            "globs allowed)."
        )
    },
    controls=("CSA-AICM:CEK-02", "ISO-27001-2022:A.5.2", "ISO-27002-2022:5.2"),
)


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    members = {name: list(role.members) for name, role in ctx.policy.roles.items()}
    empty = [name for name, people in members.items() if not people]
    evidence = {"members": {name: len(people) for name, people in members.items()}}
    if empty:
        yield ctx.policy_result(
            Status.FAIL, f"Declare members for the role(s) {', '.join(empty)} in the CEK policy.", **evidence
        )
    else:
        yield ctx.policy_result(Status.PASS, "Every key-management role has declared members.", **evidence)
