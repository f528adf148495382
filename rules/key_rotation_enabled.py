"""Enabled keys the platform can rotate by itself rotate automatically.

Which keys: those whose platform says so (``Key.auto_rotation_supported`` True: e.g. every Azure Key
Vault / Managed HSM key, whose rotation policy can renew RSA and EC keys too); without that answer, the
SPEC 5 default: symmetric encryption keys with provider-generated material. ``auto_rotation_supported``
False (AWS custom key stores, asymmetric keys) keeps a key out.
"""

from collections.abc import Iterator
from typing import Any

from scanner.inventory import Key, KeyAspect, KeyOrigin, KeyPurpose, KeyState, KeyType
from scanner.rule import Context, RuleMeta, RuleResult, Severity, Status

META = RuleMeta(
    id="key_rotation_enabled",
    title="Keys the platform can rotate automatically have scheduled rotation turned on",
    severity=Severity.MEDIUM,
    providers=("aws", "gcp", "azure"),
    rationale=(
        "CEK-12 expects keys to be replaced at the end of their cryptoperiod. For symmetric encryption keys "
        "whose material the provider generated, every platform can create new key material on a schedule "
        "while keeping old versions for decryption, so leaving it off means the same material protects data "
        "indefinitely and the amount of ciphertext exposed by one compromise keeps growing. Keys the "
        "platform cannot rotate by itself (asymmetric, HMAC, imported or external material, keys in AWS "
        "custom key stores) are not judged here. Where the platform itself says a key can rotate (Azure "
        "Key Vault and Managed HSM rotation policies also renew RSA and EC keys), that key is judged "
        "whatever its type: on Azure, rotation is on only when the key's rotation policy has a Rotate "
        "lifetime action."
    ),
    remediation={
        "aws": (
            "Turn on automatic rotation: console KMS > Customer managed keys > key > Key rotation > "
            "'Automatically rotate this KMS key', or `aws kms enable-key-rotation --key-id KEY_ID "
            "--rotation-period-in-days 365`."
        ),
        "gcp": (
            "Set a rotation schedule: `gcloud kms keys update KEY --keyring RING --location LOCATION "
            "--rotation-period 90d --next-rotation-time 2026-12-31T00:00:00Z` (console: key > Edit rotation "
            "period)."
        ),
        "azure": (
            "Give the key a rotation policy with a Rotate lifetime action, e.g. "
            "`az keyvault key rotation-policy update --vault-name VAULT --name KEY --value policy.json` "
            'where policy.json has `"lifetimeActions": [{"trigger": {"timeAfterCreate": "P365D"}, '
            '"action": {"type": "Rotate"}}]` (portal: key > Rotation policy).'
        ),
    },
    controls=(
        "CSA-AICM:CEK-12",
        "CIS-AWS-3.0:3.6",
        "CIS-AWS-5.0:3.6",
        "CIS-AWS-7.0:4.6",
        "AWS-SecurityHub:KMS.4",
        "CIS-GCP-3.0:1.10",
        "CIS-GCP-5.0:1.11",
        "GCP-SCC:KMS_KEY_NOT_ROTATED",
        "CIS-Azure-3.0:3.3.8",
        "CIS-Azure-5.0:8.3.9",
        "CIS-Azure-6.0:8.3.9",
        "AzurePolicy:d8cf8476-a2ec-4916-896e-992351803c44",
        "MCSB:DP-6",
        "ISO-27001-2022:A.8.24",
    ),
)


def _value(item: Any) -> Any:
    return None if item is None else item.value


def _cannot_auto_rotate(key: Key) -> bool:
    """A field that was read shows the key is out of scope: not enabled, or a kind that cannot auto-rotate.

    ``auto_rotation_supported`` is the platform's own answer and wins over the generic reading of key
    type, purpose and origin (Azure rotates RSA and EC keys; AWS cannot rotate keys in custom key stores).
    """
    if key.state is not None and key.state is not KeyState.ENABLED:
        return True
    if key.auto_rotation_supported is not None:
        return not key.auto_rotation_supported
    return (
        (key.purpose is not None and key.purpose is not KeyPurpose.ENCRYPT)
        or (key.key_type is not None and key.key_type is not KeyType.SYMMETRIC)
        or (key.origin is not None and key.origin is not KeyOrigin.GENERATED)
    )


def _unread_eligibility(key: Key) -> list[str]:
    fields: tuple[tuple[str, Any], ...] = (("state", key.state),)
    if key.auto_rotation_supported is None:
        fields += (("purpose", key.purpose), ("key type", key.key_type), ("origin", key.origin))
    return [name for name, value in fields if value is None]


def _is_classic_candidate(key: Key) -> bool:
    """An enabled symmetric encryption key with provider-generated material (the SPEC 5 wording)."""
    return (
        key.purpose is KeyPurpose.ENCRYPT
        and key.key_type is KeyType.SYMMETRIC
        and key.origin is KeyOrigin.GENERATED
    )


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    for key in ctx.customer_keys():
        if _cannot_auto_rotate(key):
            continue
        label = key.name or key.uid
        rotation = key.rotation
        unread = _unread_eligibility(key)
        evidence = {
            "state": _value(key.state),
            "purpose": _value(key.purpose),
            "key_type": _value(key.key_type),
            "origin": _value(key.origin),
            "auto_rotation_supported": key.auto_rotation_supported,
            "rotation_enabled": None if rotation is None else rotation.enabled,
            "rotation_period_days": None if rotation is None else rotation.period_days,
            "unread": unread,
        }
        if KeyAspect.ROTATION in key.unreadable or rotation is None or rotation.enabled is None:
            yield RuleResult.for_key(
                key,
                Status.UNKNOWN,
                f"The rotation setting of key {label} could not be read; grant the scanner read access to "
                "the key's rotation status and scan again.",
                **evidence,
            )
        elif rotation.enabled:
            period = f" every {rotation.period_days} days" if rotation.period_days is not None else ""
            yield RuleResult.for_key(
                key, Status.PASS, f"Key {label} rotates automatically{period}.", **evidence
            )
        elif unread:
            yield RuleResult.for_key(
                key,
                Status.UNKNOWN,
                f"Key {label} has automatic rotation off, but its {', '.join(unread)} could not be read, so "
                "keyaudit cannot tell whether the platform could rotate it automatically.",
                **evidence,
            )
        elif _is_classic_candidate(key):
            yield RuleResult.for_key(
                key,
                Status.FAIL,
                f"Key {label} is an enabled symmetric encryption key with provider-generated material but "
                "automatic rotation is off; turn on scheduled rotation.",
                **evidence,
            )
        else:
            yield RuleResult.for_key(
                key,
                Status.FAIL,
                f"Key {label} is an enabled key its platform can rotate automatically, but it has no "
                "rotation schedule (for an Azure key: no rotation policy with a Rotate lifetime action); "
                "turn on scheduled rotation.",
                **evidence,
            )
