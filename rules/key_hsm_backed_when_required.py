"""Keys the policy marks by tag or label as needing HSM or dedicated-HSM protection have it."""

from collections.abc import Iterator, Mapping

from scanner.inventory import Key, KeyAspect, KeyState, ProtectionLevel
from scanner.policy import tags_match
from scanner.rule import Context, RuleMeta, RuleResult, Severity, Status

MAX_LISTED = 50

META = RuleMeta(
    id="key_hsm_backed_when_required",
    title="Keys that the policy marks for HSM or dedicated-HSM protection have it",
    severity=Severity.HIGH,
    providers=("aws", "gcp", "azure"),
    rationale=(
        "CEK-08 and CEK-03 expect the protection of key material to match the sensitivity of the data. The "
        "policy names, by tag or label, the keys whose material must stay inside a FIPS-validated HSM "
        "(`protection.hsm_required_when`) or inside a single-tenant HSM or an external key manager "
        "(`protection.dedicated_hsm_required_when`). A software-protected or multi-tenant key carrying such "
        "a tag protects that data less than the organisation decided. The protection level of existing "
        "material cannot be raised later, so the key has to be replaced."
    ),
    remediation={
        "aws": (
            "Standard AWS KMS keys already meet `hsm`. For `dedicated_hsm`, create a replacement key in a "
            "CloudHSM or external key store (`aws kms create-key --origin AWS_CLOUDHSM --custom-key-store-id "
            "cks-...` or `--origin EXTERNAL_KEY_STORE`), re-encrypt the data under it and retire the old key."
        ),
        "gcp": (
            "Protection levels cannot be changed: create a replacement key with `gcloud kms keys create KEY "
            "--keyring RING --location LOCATION --purpose encryption --protection-level hsm` (or a "
            "single-tenant HSM / `external` / `external-vpc` key for dedicated_hsm), re-encrypt the data "
            "under it and disable the old key."
        ),
        "azure": (
            "For `hsm`, create an RSA-HSM or EC-HSM key (Premium vault: `az keyvault key create --vault-name "
            "VAULT --name KEY --kty RSA-HSM`); for `dedicated_hsm`, create the key in a Managed HSM "
            "(`az keyvault key create --hsm-name HSM ...`). Move workloads to the new key and disable the "
            "old versions."
        ),
    },
    controls=(
        "CSA-AICM:CEK-08",
        "CSA-AICM:CEK-03",
        "CIS-Azure-5.0:8.3.10",
        "CIS-Azure-6.0:8.3.10",
        "AzurePolicy:587c79fe-dd04-4a5e-9d0b-f89598c7261b",
        "ISO-27001-2022:A.8.24",
    ),
)


def _selected_tags(selector: Mapping[str, tuple[str, ...]], tags: Mapping[str, str]) -> dict[str, str]:
    wanted = {name.casefold() for name in selector}
    return {name: value for name, value in sorted(tags.items()) if name.casefold() in wanted}


def _weak_versions(key: Key, required: ProtectionLevel) -> list[dict[str, str | None]]:
    return [
        {"uid": version.uid, "protection": version.protection.value}
        for version in key.versions
        if version.protection is not None
        and version.state is not KeyState.DESTROYED
        and not version.protection.satisfies(required)
    ]


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    hsm_when = ctx.policy.protection.hsm_required_when
    dedicated_when = ctx.policy.protection.dedicated_hsm_required_when
    if not hsm_when and not dedicated_when:
        return
    for key in ctx.customer_keys():
        if key.state is KeyState.DESTROYED:
            continue
        label = key.name or key.uid
        if KeyAspect.TAGS in key.unreadable:
            yield RuleResult.for_key(
                key,
                Status.UNKNOWN,
                f"The tags/labels of key {label} could not be read, so keyaudit cannot tell whether the "
                "policy requires HSM protection for it.",
                protection=None if key.protection is None else key.protection.value,
                required=None,
            )
            continue
        if tags_match(dedicated_when, key.tags):
            required, selector = ProtectionLevel.DEDICATED_HSM, dedicated_when
        elif tags_match(hsm_when, key.tags):
            required, selector = ProtectionLevel.HSM, hsm_when
        else:
            continue
        matched = _selected_tags(selector, key.tags)
        because = ", ".join(f"{name}={value}" for name, value in matched.items())
        weak = _weak_versions(key, required)
        evidence = {
            "required": required.value,
            "protection": None if key.protection is None else key.protection.value,
            "matched_tags": matched,
            "weak_versions": weak[:MAX_LISTED],
            "weak_version_count": len(weak),
        }
        if key.protection is not None and not key.protection.satisfies(required):
            yield RuleResult.for_key(
                key,
                Status.FAIL,
                f"Key {label} is tagged {because}, which requires {required.value} protection, but it is "
                f"protected by {key.protection.value}; replace it with a key at the required level.",
                **evidence,
            )
        elif weak:
            yield RuleResult.for_key(
                key,
                Status.FAIL,
                f"Key {label} is tagged {because}, which requires {required.value} protection, but "
                f"{len(weak)} of its versions are protected by a weaker level "
                f"({', '.join(sorted({v['protection'] or '' for v in weak}))}); retire those versions.",
                **evidence,
            )
        elif key.protection is None:
            yield RuleResult.for_key(
                key,
                Status.UNKNOWN,
                f"Key {label} is tagged {because}, which requires {required.value} protection, but its "
                "protection level could not be read.",
                **evidence,
            )
        else:
            yield RuleResult.for_key(
                key,
                Status.PASS,
                f"Key {label} is tagged {because} and is protected by {key.protection.value}, meeting the "
                f"required {required.value} level.",
                **evidence,
            )
