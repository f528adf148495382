"""Key algorithm, RSA size and elliptic curve meet the policy's `algorithms` section."""

from collections.abc import Iterator
from typing import Any

from scanner.inventory import Key, KeyState, KeyType
from scanner.policy import AlgorithmPolicy
from scanner.rule import Context, RuleMeta, RuleResult, Severity, Status

MIN_SYMMETRIC_BITS = 128

META = RuleMeta(
    id="key_algorithm_allowed",
    title="Key algorithms, RSA sizes and elliptic curves meet the policy",
    severity=Severity.HIGH,
    providers=("aws", "gcp", "azure"),
    rationale=(
        "CEK-04 and CEK-10 expect keys to be generated with algorithms and strengths the organisation "
        "approved for the data's risk. RSA moduli below the policy's `algorithms.min_rsa_bits` (2048 unless "
        "set) no longer give the expected security margin, elliptic-curve keys must use a curve from "
        "`algorithms.allowed_curves` and, by default, only for signing, and symmetric keys shorter than 128 "
        "bits are too weak for any use. A key's algorithm is fixed at creation, so a non-compliant key has "
        "to be replaced."
    ),
    remediation={
        "aws": (
            "Key specs cannot be changed: create a replacement key with an allowed spec (`aws kms create-key "
            "--key-spec RSA_3072` or `ECC_NIST_P384 --key-usage SIGN_VERIFY`), move callers and aliases to "
            "it (`aws kms update-alias`), re-encrypt data, then disable the old key."
        ),
        "gcp": (
            "Create a key (or, for asymmetric keys, a new version) with an allowed algorithm, e.g. `gcloud "
            "kms keys create KEY --keyring RING --location LOCATION --purpose asymmetric-signing "
            "--default-algorithm ec-sign-p384-sha384`, switch callers to it and disable the old versions."
        ),
        "azure": (
            "Create a new key version with an allowed type and size, e.g. `az keyvault key create "
            "--vault-name VAULT --name KEY --kty RSA-HSM --size 3072` or `--kty EC-HSM --curve P-384 --ops "
            "sign verify`, re-wrap data under it and disable the old version."
        ),
    },
    controls=(
        "CSA-AICM:CEK-04",
        "CSA-AICM:CEK-10",
        "AzurePolicy:82067dbb-e53b-4e06-b631-546d197452d9",
        "AzurePolicy:ff25f3c8-b739-4538-9d07-3d6d25cfb255",
        "AzurePolicy:86810a98-8e91-4a44-8386-ec66d0de5d57",
        "AzurePolicy:e58fd0c1-feac-4d12-92db-0a7e9421f53e",
        "AzurePolicy:fa85a975-a142-46dc-a9ab-8cc69ecb358c",
        "ISO-27001-2022:A.8.24",
    ),
)


def _judge_ec(key: Key, label: str, rules: AlgorithmPolicy) -> tuple[Status, str]:
    if key.curve is None:
        return Status.UNKNOWN, f"The curve of elliptic-curve key {label} could not be read."
    allowed_curves = {c.casefold() for c in rules.allowed_curves}
    if key.curve.casefold() not in allowed_curves:
        return (
            Status.FAIL,
            f"Key {label} uses curve {key.curve}, which the policy does not allow "
            f"(allowed: {', '.join(rules.allowed_curves) or 'none'}); replace it with a key on an allowed "
            "curve.",
        )
    if key.purpose is None:
        return (
            Status.UNKNOWN,
            f"Key {label} uses the allowed curve {key.curve}, but its purpose could not be read, so it "
            "cannot be checked against the purposes the policy allows for elliptic-curve keys.",
        )
    allowed_purposes = {p.casefold() for p in rules.ec_allowed_purposes}
    if key.purpose.value.casefold() not in allowed_purposes:
        return (
            Status.FAIL,
            f"Key {label} is an elliptic-curve key used for {key.purpose.value}, but the policy allows "
            f"elliptic-curve keys only for {', '.join(rules.ec_allowed_purposes) or 'nothing'}; replace it.",
        )
    return Status.PASS, f"Key {label} uses the allowed curve {key.curve} for {key.purpose.value}."


def _judge(key: Key, label: str, rules: AlgorithmPolicy) -> tuple[Status, str]:
    kind = key.key_type
    if kind is None:
        return Status.UNKNOWN, f"The key type of key {label} could not be read, so its algorithm is unknown."
    if kind is KeyType.RSA:
        if key.size_bits is None:
            return Status.UNKNOWN, f"The modulus size of RSA key {label} could not be read."
        if key.size_bits < rules.min_rsa_bits:
            return (
                Status.FAIL,
                f"RSA key {label} is {key.size_bits} bits, below the policy's minimum of "
                f"{rules.min_rsa_bits}; replace it with a larger key.",
            )
        return Status.PASS, f"RSA key {label} is {key.size_bits} bits (minimum {rules.min_rsa_bits})."
    if kind is KeyType.EC:
        return _judge_ec(key, label, rules)
    if kind in (KeyType.SYMMETRIC, KeyType.HMAC):
        if key.size_bits is not None and key.size_bits < MIN_SYMMETRIC_BITS:
            return (
                Status.FAIL,
                f"{kind.value.capitalize()} key {label} is only {key.size_bits} bits, below "
                f"{MIN_SYMMETRIC_BITS}; replace it with a longer key.",
            )
        size = f" of {key.size_bits} bits" if key.size_bits is not None else ""
        return Status.PASS, f"Key {label} is a {kind.value} key{size}."
    return (
        Status.UNKNOWN,
        f"Key {label} uses algorithm {key.algorithm or 'of an unrecognised type'}, which the policy's "
        "algorithm settings do not cover; review it by hand.",
    )


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    rules = ctx.policy.algorithms
    for key in ctx.customer_keys():
        if key.state is KeyState.DESTROYED:
            continue
        label = key.name or key.uid
        status, message = _judge(key, label, rules)
        evidence: dict[str, Any] = {
            "key_type": None if key.key_type is None else key.key_type.value,
            "algorithm": key.algorithm,
            "size_bits": key.size_bits,
            "curve": key.curve,
            "purpose": None if key.purpose is None else key.purpose.value,
        }
        if key.key_type is KeyType.RSA:
            evidence["min_rsa_bits"] = rules.min_rsa_bits
        elif key.key_type is KeyType.EC:
            evidence["allowed_curves"] = list(rules.allowed_curves)
            evidence["ec_allowed_purposes"] = list(rules.ec_allowed_purposes)
        yield RuleResult.for_key(key, status, message, **evidence)
