"""No key, and no key version, is scheduled for deletion or destruction."""

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from scanner.inventory import KeyAspect, KeyState, KeyVersion
from scanner.rule import Context, RuleMeta, RuleResult, Severity, Status

MAX_LISTED = 50

META = RuleMeta(
    id="key_not_pending_deletion",
    title="Keys and key versions are not scheduled for deletion or destruction",
    severity=Severity.CRITICAL,
    providers=("aws", "gcp", "azure"),
    rationale=(
        "Once the waiting period ends, deleted or destroyed key material is gone for good and every "
        "ciphertext made with it becomes unreadable (CEK-14 key destruction, CEK-20 key recovery). A key or "
        "version waiting for deletion is either a deliberate, approved destruction or an accident that can "
        "still be undone, so each one needs a person to confirm it before the date passes."
    ),
    remediation={
        "aws": (
            "If the key is still needed, cancel the deletion and re-enable it: `aws kms cancel-key-deletion "
            "--key-id KEY_ID` then `aws kms enable-key --key-id KEY_ID` (console: key > Key actions > Cancel "
            "key deletion). If the deletion is intended, waive the finding with the approval reference."
        ),
        "gcp": (
            "Restore each destroy-scheduled version before its destroy time: `gcloud kms keys versions "
            "restore VERSION --key KEY --keyring RING --location LOCATION`, then `gcloud kms keys versions "
            "enable ...`. If the destruction is intended, waive the finding with the approval reference."
        ),
        "azure": (
            "Recover the soft-deleted key before its scheduled purge date: `az keyvault key recover "
            "--vault-name VAULT --name KEY` (Managed HSM: `--hsm-name HSM`). If the deletion is intended, "
            "waive the finding with the approval reference."
        ),
    },
    controls=(
        "CSA-AICM:CEK-14",
        "CSA-AICM:CEK-20",
        "AWS-SecurityHub:KMS.3",
        "ISO-27001-2022:A.8.24",
    ),
)


def _day(moment: datetime | None) -> str:
    return "an unknown date" if moment is None else moment.date().isoformat()


def _short(version: KeyVersion) -> str:
    return version.uid.rstrip("/").rsplit("/", 1)[-1]


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    for key in ctx.customer_keys():
        if key.state is KeyState.DESTROYED:
            continue
        label = key.name or key.uid
        pending = [v for v in key.versions if v.state is KeyState.PENDING_DELETION]
        scheduled = key.scheduled_deletion
        evidence: dict[str, Any] = {
            "state": None if key.state is None else key.state.value,
            "scheduled_deletion": None if scheduled is None else scheduled.isoformat(),
            "days_until_deletion": None if scheduled is None else (scheduled - ctx.now).days,
            "deletion_window_days": key.deletion_window_days,
            "pending_versions": [
                {
                    "uid": v.uid,
                    "scheduled_destruction": (
                        None if v.scheduled_destruction is None else v.scheduled_destruction.isoformat()
                    ),
                }
                for v in pending[:MAX_LISTED]
            ],
            "pending_version_count": len(pending),
        }
        problems = []
        if key.state is KeyState.PENDING_DELETION:
            problems.append(f"is scheduled for deletion on {_day(scheduled)}")
        if pending:
            named = ", ".join(f"{_short(v)} ({_day(v.scheduled_destruction)})" for v in pending[:5])
            more = f" and {len(pending) - 5} more" if len(pending) > 5 else ""
            problems.append(f"has {len(pending)} version(s) scheduled for destruction: {named}{more}")
        if problems:
            yield RuleResult.for_key(
                key,
                Status.FAIL,
                f"Key {label} {' and '.join(problems)}; cancel or restore it unless the destruction is "
                "approved.",
                **evidence,
            )
        elif key.state is None or KeyAspect.VERSIONS in key.unreadable:
            what = "state" if key.state is None else "versions"
            yield RuleResult.for_key(
                key,
                Status.UNKNOWN,
                f"The {what} of key {label} could not be read, so a scheduled deletion cannot be ruled out.",
                **evidence,
            )
        else:
            yield RuleResult.for_key(
                key,
                Status.PASS,
                f"Key {label} ({key.state.value}) is not scheduled for deletion or destruction.",
                **evidence,
            )
