"""Keys that rotate automatically do so at least as often as the policy's rotation.max_days."""

from collections.abc import Iterator
from datetime import timedelta

from scanner.inventory import KeyAspect, KeyState
from scanner.rule import Context, RuleMeta, RuleResult, Severity, Status

META = RuleMeta(
    id="key_rotation_period_within_policy",
    title="Automatic key rotation happens within the policy's maximum period",
    severity=Severity.MEDIUM,
    providers=("aws", "gcp", "azure"),
    rationale=(
        "CEK-12 ties rotation to a cryptoperiod the organisation calculated. Turning rotation on is not "
        "enough when the schedule is longer than that cryptoperiod (AWS allows up to 2560 days, GCP and "
        "Azure any length), or when the next rotation has been pushed further out than the policy allows. "
        "The limit is the policy's `rotation.max_days` (365 days unless set)."
    ),
    remediation={
        "aws": (
            "Shorten the schedule: `aws kms enable-key-rotation --key-id KEY_ID --rotation-period-in-days N` "
            "with N no greater than the policy's rotation.max_days (console: key > Key rotation > Edit)."
        ),
        "gcp": (
            "Shorten the schedule and bring the next rotation forward: `gcloud kms keys update KEY --keyring "
            "RING --location LOCATION --rotation-period Nd --next-rotation-time TIMESTAMP`, with N and the "
            "next rotation within the policy's rotation.max_days."
        ),
        "azure": (
            "Edit the key's rotation policy so the Rotate lifetime action fires within the policy's "
            "rotation.max_days (`timeAfterCreate`, e.g. P90D, or `timeBeforeExpiry` with a matching "
            "`expiryTime`): `az keyvault key rotation-policy update --vault-name VAULT --name KEY --value "
            "policy.json`."
        ),
    },
    controls=(
        "CSA-AICM:CEK-12",
        "CIS-GCP-3.0:1.10",
        "CIS-GCP-5.0:1.11",
        "GCP-SCC:KMS_KEY_NOT_ROTATED",
        "AzurePolicy:d8cf8476-a2ec-4916-896e-992351803c44",
        "MCSB:DP-6",
        "ISO-27001-2022:A.8.24",
    ),
)


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    max_days = ctx.policy.rotation.max_days
    limit = timedelta(days=max_days)
    for key in ctx.customer_keys():
        rotation = key.rotation
        # Keys without rotation (or whose rotation could not be read) are judged by key_rotation_enabled.
        if rotation is None or rotation.enabled is not True or key.state is KeyState.DESTROYED:
            continue
        label = key.name or key.uid
        next_rotation = rotation.next_rotation
        until_next = None if next_rotation is None else next_rotation - ctx.now
        evidence = {
            "period_days": rotation.period_days,
            "max_days": max_days,
            "next_rotation": None if next_rotation is None else next_rotation.isoformat(),
            "days_until_next_rotation": None if until_next is None else until_next.days,
            "last_rotation": None if rotation.last_rotation is None else rotation.last_rotation.isoformat(),
        }
        problems = []
        if rotation.period_days is not None and rotation.period_days > max_days:
            problems.append(f"rotates every {rotation.period_days} days")
        if next_rotation is not None and until_next is not None and until_next > limit:
            problems.append(
                f"is next rotated on {next_rotation.date().isoformat()}, {until_next.days} days from now"
            )
        if problems:
            yield RuleResult.for_key(
                key,
                Status.FAIL,
                f"Key {label} {' and '.join(problems)}, beyond the policy's {max_days}-day maximum; "
                "shorten its rotation schedule.",
                **evidence,
            )
        elif KeyAspect.ROTATION in key.unreadable or rotation.period_days is None:
            yield RuleResult.for_key(
                key,
                Status.UNKNOWN,
                f"Key {label} rotates automatically but its rotation period could not be read, so it cannot "
                f"be compared with the policy's {max_days}-day maximum.",
                **evidence,
            )
        else:
            yield RuleResult.for_key(
                key,
                Status.PASS,
                f"Key {label} rotates every {rotation.period_days} days, within the policy's "
                f"{max_days}-day maximum.",
                **evidence,
            )
