"""Keys replicated to other regions carry a tag that the policy accepts as the reason for replicating them."""

from collections.abc import Iterator, Mapping

from scanner.inventory import KeyAspect, KeyState
from scanner.policy import tags_match
from scanner.rule import Context, RuleMeta, RuleResult, Severity, Status

META = RuleMeta(
    id="key_multi_region_justified",
    title="Multi-region keys are replicated only where the policy allows it",
    severity=Severity.MEDIUM,
    providers=("aws", "azure"),
    rationale=(
        "A multi-region key exists as interchangeable copies in several regions: the same key material "
        "decrypts data in every one of them, each copy has its own key policy, and destroying the key "
        "means destroying every replica. That widens where protected data can be read and who has to be "
        "controlled, so CEK-21 (key inventory) and CEK-08 (where customer keys are held) expect "
        "replication to be a deliberate, recorded choice. The policy's "
        "`replication.multi_region_allowed_when` tag selector says which keys may be replicated (for "
        "example disaster-recovery keys); any other multi-region key fails, and with an empty selector "
        "no key may be multi-region."
    ),
    remediation={
        "aws": (
            "If replication is intended, tag the primary key and each replica with a tag the policy accepts "
            "(`aws kms tag-resource --key-id KEY_ARN --tags TagKey=dr_replica,TagValue=true`). Otherwise "
            "create a single-region key (`aws kms create-key` without `--multi-region`), re-encrypt the "
            "data under it, and schedule the replicas and then the primary for deletion "
            "(`aws kms schedule-key-deletion --key-id REPLICA_ARN --region REPLICA_REGION`); the "
            "MultiRegion property of an existing key cannot be turned off."
        ),
        "azure": (
            "If the Managed HSM is meant to replicate, tag the key with a tag the policy accepts "
            "(`az keyvault key set-attributes --hsm-name HSM --name KEY --tags dr_replica=true`). "
            "Otherwise remove the extra regions from the Managed HSM (`az keyvault region list "
            "--hsm-name HSM`, then `az keyvault region remove --hsm-name HSM --region REGION`), or move "
            "the key to a Managed HSM without multi-region replication."
        ),
    },
    controls=(
        "CSA-AICM:CEK-21",
        "CSA-AICM:CEK-08",
        "ISO-27001-2022:A.8.24",
    ),
)


def _matched_tags(selector: Mapping[str, tuple[str, ...]], tags: Mapping[str, str]) -> dict[str, str]:
    """The key's tags that satisfy ``selector`` on their own (as named on the key), for evidence."""
    return {name: value for name, value in tags.items() if tags_match(selector, {name: value})}


def _justifying(selector: Mapping[str, tuple[str, ...]]) -> str:
    """``dr_replica=true or tier=dr|backup``: the tags the policy accepts, in policy order."""
    return " or ".join(f"{name}={'|'.join(values)}" for name, values in selector.items())


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    selector = ctx.policy.replication.multi_region_allowed_when
    allowed = {name: list(values) for name, values in selector.items()}
    accepted = _justifying(selector)
    for key in ctx.customer_keys():
        if key.state is KeyState.DESTROYED or key.multi_region is False:
            continue
        label = key.name or key.uid
        if key.multi_region is None:
            yield RuleResult.for_key(
                key,
                Status.UNKNOWN,
                f"Whether key {label} is replicated to other regions could not be read; grant the scanner "
                "read access to the key's metadata and scan again.",
                multi_region=None,
                metadata_unreadable=KeyAspect.METADATA in key.unreadable,
            )
            continue
        if KeyAspect.TAGS in key.unreadable:
            yield RuleResult.for_key(
                key,
                Status.UNKNOWN,
                f"Key {label} is a multi-region key but its tags could not be read, so whether replication "
                "is justified cannot be judged; grant the scanner read access to the key's tags and scan "
                "again.",
                multi_region=True,
                tags_unreadable=True,
                multi_region_allowed_when=allowed,
            )
            continue
        evidence = {"multi_region": True, "tags": dict(key.tags), "multi_region_allowed_when": allowed}
        if selector and tags_match(selector, key.tags):
            matched = _matched_tags(selector, key.tags)
            shown = ", ".join(f"{name}={value}" for name, value in sorted(matched.items()))
            yield RuleResult.for_key(
                key,
                Status.PASS,
                f"Key {label} is a multi-region key justified by its tag {shown}.",
                matched_tags=matched,
                **evidence,
            )
        elif selector:
            yield RuleResult.for_key(
                key,
                Status.FAIL,
                f"Key {label} is a multi-region key without a tag that justifies replication (the policy "
                f"accepts {accepted}); tag it if the replication is intended, or replace it with a "
                "single-region key.",
                matched_tags={},
                **evidence,
            )
        else:
            yield RuleResult.for_key(
                key,
                Status.FAIL,
                f"Key {label} is a multi-region key but the policy allows no multi-region keys "
                "(replication.multi_region_allowed_when is empty); replace it with a single-region key, "
                "or add a selector for justified keys to the policy.",
                matched_tags={},
                **evidence,
            )
