"""Enabled keys carry an expiry date where the platform supports one, within the policy's maximum validity."""

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from scanner.inventory import Key, KeyAspect, KeyState
from scanner.rule import Context, RuleMeta, RuleResult, Severity, Status

META = RuleMeta(
    id="key_expiration_set",
    title="Enabled keys carry an expiry date within the policy's maximum validity",
    severity=Severity.MEDIUM,
    providers=("azure", "aws"),
    rationale=(
        "CEK-17 expects keys to be deactivated when their validity ends and CEK-12 ties that validity to a "
        "cryptoperiod. Where the platform can record an expiry on a key (Azure Key Vault and Managed HSM "
        "keys, AWS imported key material), a key without one stays usable for ever. When the policy sets "
        "`expiration.max_validity_days`, the span from activation (not-before date, else creation) to expiry "
        "must not exceed it."
    ),
    remediation={
        "azure": (
            "Set an expiry on the key: `az keyvault key set-attributes --vault-name VAULT --name KEY "
            "--expires 2027-06-30T00:00:00Z` (Managed HSM: `--hsm-name HSM`; portal: key > current version > "
            "Set expiration date), and give the rotation policy an `expiryTime` (e.g. P1Y) so new versions "
            "get one too."
        ),
        "aws": (
            "Re-import the key material with an expiry: `aws kms import-key-material --key-id KEY_ID "
            "--encrypted-key-material ... --import-token ... --expiration-model KEY_MATERIAL_EXPIRES "
            "--valid-to 2027-06-30T00:00:00Z`."
        ),
    },
    controls=(
        "CSA-AICM:CEK-17",
        "CSA-AICM:CEK-12",
        "CIS-Azure-3.0:3.3.1",
        "CIS-Azure-3.0:3.3.2",
        "CIS-Azure-5.0:8.3.1",
        "CIS-Azure-5.0:8.3.2",
        "CIS-Azure-6.0:8.3.1",
        "CIS-Azure-6.0:8.3.2",
        "AzurePolicy:152b15f7-8e1f-4c1f-ab71-8c010ba5dbc0",
        "AzurePolicy:49a22571-d204-4c91-a7b6-09b1a586fbc9",
        "AzurePolicy:1d478a74-21ba-4b9f-9d8f-8e6fced0eec5",
        "MCSB:DP-6",
        "ISO-27001-2022:A.8.24",
    ),
)


def _judge(key: Key, label: str, max_days: int | None, evidence: dict[str, Any]) -> tuple[Status, str]:
    expires = key.expires
    start = key.not_before or key.created
    if expires is None:
        if KeyAspect.METADATA in key.unreadable:
            return (
                Status.UNKNOWN,
                f"The attributes of key {label} could not be read, so its expiry is unknown.",
            )
        return (
            Status.FAIL,
            f"Key {label} has no expiry date although the platform supports one; set an expiration date.",
        )
    until = f"until {expires.date().isoformat()} ({evidence['days_left']} days left)"
    if max_days is None:
        return Status.PASS, f"Key {label} has an expiry date: valid {until}."
    if start is None:
        return (
            Status.UNKNOWN,
            f"Key {label} is valid {until}, but neither its activation nor its creation date could be read, "
            f"so its validity cannot be compared with the policy's {max_days}-day maximum.",
        )
    span = expires - start
    if span > timedelta(days=max_days):
        length = f"{span.days} days" if span == timedelta(days=span.days) else f"more than {span.days} days"
        return (
            Status.FAIL,
            f"Key {label} is valid for {length} (from {start.date().isoformat()} to "
            f"{expires.date().isoformat()}), longer than the policy's {max_days}-day maximum; bring the "
            "expiry date forward.",
        )
    return (
        Status.PASS,
        f"Key {label} is valid for {evidence['validity_days']} days, {until}, within the policy's "
        f"{max_days}-day maximum.",
    )


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    max_days = ctx.policy.expiration.max_validity_days
    for key in ctx.customer_keys():
        if not key.expiry_supported or (key.state is not None and key.state is not KeyState.ENABLED):
            continue
        label = key.name or key.uid
        start = key.not_before or key.created
        expires = key.expires
        evidence: dict[str, Any] = {
            "state": None if key.state is None else key.state.value,
            "expires": None if expires is None else expires.isoformat(),
            "not_before": None if key.not_before is None else key.not_before.isoformat(),
            "created": None if key.created is None else key.created.isoformat(),
            "validity_days": None if expires is None or start is None else (expires - start).days,
            "max_validity_days": max_days,
            "days_left": None if expires is None else (expires - ctx.now).days,
        }
        status, message = _judge(key, label, max_days, evidence)
        if status is Status.FAIL and key.state is None:
            # Only enabled keys are judged; with the state unread a failure cannot be asserted.
            status = Status.UNKNOWN
            message = f"The state of key {label} could not be read; if it is enabled: {message}"
        yield RuleResult.for_key(key, status, message, **evidence)
