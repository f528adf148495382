"""Keys that protect AI workloads meet the policy's AI requirements: HSM protection and rotation.

Judged: every customer key protecting an AI workload (``Inventory.ai_key_use``: AI resources encrypted
with it, AI service principals or AI-only grants that can use it). With ``ai_workloads.require_hsm`` the
key's protection must be ``hsm`` or stronger (dedicated HSM, external). Its material must be renewed
within ``ai_workloads.max_rotation_days`` (default ``rotation.max_days``): automatic rotation at that
period where the platform rotates the key, else material (the last rotation or the creation) no older
than that. External (HYOK) material is rotated outside the cloud: its age is UNKNOWN, never a pass.
"""

from collections.abc import Iterator
from typing import Any

from rules._ai import ai_keys, use_evidence
from scanner.inventory import Key, KeyOrigin, ProtectionLevel
from scanner.rule import Context, RuleMeta, RuleResult, Severity, Status

META = RuleMeta(
    id="ai_workload_keys_meet_policy",
    title="Keys protecting AI workloads meet the policy's AI key requirements (HSM, rotation)",
    severity=Severity.HIGH,
    providers=("aws", "gcp", "azure"),
    rationale=(
        "The AI Controls Matrix guidance for CEK-01 and CEK-08 asks that the encryption of AI services follow "
        "the organisation's policy like any other key use, and the policy may ask more of the keys behind "
        "models, training data and prompts (FIPS 140 HSM protection, a shorter cryptoperiod). A key that "
        "protects an AI workload but is software-protected or rotates on the general schedule shows the "
        "stricter policy is written but not implemented."
    ),
    remediation={
        "aws": (
            "Protect AI data with a KMS key backed by an HSM key store where the policy demands it (AWS KMS "
            "keys are FIPS 140-3 HSM-backed; CloudHSM or external key stores for dedicated protection) and "
            "enable rotation at the AI period: `aws kms enable-key-rotation --key-id KEY --rotation-period-in-"
            "days 90`; for imported material, import new material (on-demand rotation) within the period."
        ),
        "gcp": (
            "Use an HSM protection level key (`gcloud kms keys create --protection-level hsm`) for Vertex AI "
            "CMEK and set `--rotation-period 90d`; point the AI resource's encryptionSpec at it."
        ),
        "azure": (
            "Use an RSA-HSM key (Premium vault) or a Managed HSM key for Azure OpenAI / AI services and Azure "
            "ML, and give it a rotation policy with a Rotate action within the AI period."
        ),
    },
    controls=(
        "CSA-AICM:CEK-01",
        "CSA-AICM:CEK-08",
        "CSA-AICM:CEK-12",
        "CSA-AICM:CEK-03",
        "ISO-27001-2022:A.8.24",
    ),
)


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    policy = ctx.policy.ai_workloads
    max_days = policy.max_rotation_days or ctx.policy.rotation.max_days
    for key, use in ai_keys(ctx):
        problems: list[str] = []
        unknowns: list[str] = []
        evidence: dict[str, Any] = {
            **use_evidence(use),
            "protection": key.protection.value if key.protection else None,
            "require_hsm": policy.require_hsm,
            "max_rotation_days": max_days,
            "rotation_enabled": key.rotation.enabled if key.rotation else None,
            "rotation_period_days": key.rotation.period_days if key.rotation else None,
            "origin": key.origin.value if key.origin else None,
        }
        if policy.require_hsm:
            if key.protection is None:
                unknowns.append("its protection level was not read")
            elif not key.protection.satisfies(ProtectionLevel.HSM):
                problems.append(f"it is {key.protection.value}-protected, the policy requires an HSM")
        _judge_rotation(ctx, key, max_days=max_days, problems=problems, unknowns=unknowns, evidence=evidence)
        services = ", ".join(use.services)
        if problems:
            yield RuleResult.for_key(
                key,
                Status.FAIL,
                f"Key {key.uid} protects AI workloads ({services}) but {'; '.join(problems)}.",
                **evidence,
            )
        elif unknowns:
            yield RuleResult.for_key(
                key,
                Status.UNKNOWN,
                f"Key {key.uid} protects AI workloads ({services}); whether it meets the AI key policy cannot be "
                f"judged: {'; '.join(unknowns)}.",
                **evidence,
            )
        else:
            hsm = " is HSM-protected and" if policy.require_hsm else ""
            yield RuleResult.for_key(
                key,
                Status.PASS,
                f"Key {key.uid} protects AI workloads ({services}),{hsm} renews its material within {max_days} days.",
                **evidence,
            )


def _judge_rotation(
    ctx: Context,
    key: Key,
    *,
    max_days: int,
    problems: list[str],
    unknowns: list[str],
    evidence: dict[str, Any],
) -> None:
    rotation = key.rotation
    if key.auto_rotation_supported is not False and key.origin in (KeyOrigin.GENERATED, None):
        if rotation is None or rotation.enabled is None:
            unknowns.append("its rotation settings were not read")
        elif not rotation.enabled:
            problems.append("automatic rotation is off")
        elif rotation.period_days is None:
            unknowns.append("its rotation period was not read")
        elif rotation.period_days > max_days:
            problems.append(f"it rotates every {rotation.period_days} days, the AI policy allows {max_days}")
        return
    if key.origin is KeyOrigin.EXTERNAL:
        unknowns.append(
            "its material is external (HYOK) and rotated outside the cloud, so its age is not visible"
        )
        return
    renewed = (rotation.last_rotation if rotation else None) or key.created
    if renewed is None:
        unknowns.append("the age of its material (creation or last rotation) was not read")
        return
    age = (ctx.now - renewed).days
    evidence["material_age_days"] = age
    if age > max_days:
        problems.append(
            f"its material is {age} days old and the platform does not rotate it; the AI policy allows {max_days}"
        )
