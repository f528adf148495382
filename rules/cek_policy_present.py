"""A CEK policy file is given: without one, every threshold is a built-in default nobody approved."""

from collections.abc import Iterator

from scanner.rule import Context, RuleMeta, RuleResult, Severity, Status

META = RuleMeta(
    id="cek_policy_present",
    title="A cryptography, encryption and key management policy is in force",
    severity=Severity.HIGH,
    providers=("policy",),
    rationale=(
        "CEK-01 asks for an established, documented and approved key-management policy. Without the "
        "organisation's own policy file, keyaudit judges keys against built-in defaults that nobody in "
        "the organisation approved, so the scan cannot show that the organisation's policy is implemented."
    ),
    remediation={
        "policy": (
            "Write the organisation's CEK policy as a keyaudit policy file (`keyaudit policy init > cek-policy.yaml`, "
            "then fill in owner, approval, roles and thresholds) and pass it with `--policy`."
        )
    },
    controls=("CSA-AICM:CEK-01", "ISO-27001-2022:A.5.1", "ISO-27001-2022:A.8.24", "ISO-27002-2022:8.24"),
)


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    if ctx.policy_source is None:
        yield ctx.policy_result(
            Status.FAIL,
            "No CEK policy file was given; rules ran against keyaudit's built-in defaults.",
            policy_file=None,
        )
    else:
        yield ctx.policy_result(
            Status.PASS,
            f"CEK policy file {ctx.policy_source.path} is in force.",
            policy_file=ctx.policy_source.path,
            sha256=ctx.policy_source.sha256,
        )
