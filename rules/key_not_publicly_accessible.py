"""No key is open to the public or to any authenticated identity without a restricting condition."""

from collections.abc import Iterator
from typing import Any

from scanner.inventory import AccessBinding, KeyAspect, KeyState, KeyStoreAspect, Principal
from scanner.rule import Context, RuleMeta, RuleResult, Severity, Status

MAX_LISTED = 50

META = RuleMeta(
    id="key_not_publicly_accessible",
    title="Keys are not accessible to anonymous or any-authenticated principals",
    severity=Severity.CRITICAL,
    providers=("aws", "gcp", "azure"),
    rationale=(
        "CEK-02 and CEK-08 expect key access to be limited to defined roles of the organisation. A grant to "
        "everyone (AWS `Principal: *` without a restricting condition, GCP `allUsers`) or to any "
        "authenticated identity of any organisation (GCP `allAuthenticatedUsers`) lets strangers use or "
        "manage the key, which defeats encryption of everything it protects. Grants to such principals that "
        "a condition narrows (organisation id, calling account, source ARN) are listed in the evidence but "
        "pass."
    ),
    remediation={
        "aws": (
            "Edit the key policy (`aws kms get-key-policy`, then `aws kms put-key-policy --policy-name "
            'default`): remove statements with `"Principal": "*"` or `{"AWS": "*"}`, or restrict them with '
            "a condition such as `aws:PrincipalOrgID`, `kms:CallerAccount` or `aws:SourceArn`; revoke "
            "public grants (`aws kms revoke-grant`)."
        ),
        "gcp": (
            "Remove the public members from the key's and key ring's IAM policies: `gcloud kms keys "
            "remove-iam-policy-binding KEY --keyring RING --location LOCATION --member allUsers --role ROLE` "
            "(also for `allAuthenticatedUsers`, and `gcloud kms keyrings remove-iam-policy-binding`); "
            "consider the `iam.allowedPolicyMemberDomains` organisation policy."
        ),
        "azure": (
            "Remove the role assignment or vault access policy named in the evidence (`az role assignment "
            "delete --assignee ID --scope SCOPE` or `az keyvault delete-policy --name VAULT --object-id ID`)."
        ),
    },
    controls=(
        "CSA-AICM:CEK-02",
        "CSA-AICM:CEK-08",
        "AWS-SecurityHub:KMS.5",
        "CIS-AWS-7.0:2.21",
        "CIS-GCP-3.0:1.9",
        "CIS-GCP-5.0:1.10",
        "GCP-SCC:KMS_PUBLIC_KEY",
        "ISO-27001-2022:A.8.24",
    ),
)


def _describe(binding: AccessBinding, principal: Principal) -> dict[str, Any]:
    return {
        "principal": binding.principal,
        "kind": principal.kind.value,
        "capabilities": sorted(c.value for c in binding.capabilities),
        "level": binding.level.value,
        "target": binding.target,
        "source": binding.source.value,
        "via": binding.via,
    }


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    anonymous = {p.uid: p for p in ctx.inventory.principals if p.is_anonymous}
    stores = ctx.inventory.store_by_uid
    for key in ctx.customer_keys():
        if key.state is KeyState.DESTROYED:
            continue
        label = key.name or key.uid
        public: list[dict[str, Any]] = []
        conditional: list[dict[str, Any]] = []
        if anonymous:
            for binding in ctx.inventory.bindings_for(key):
                principal = anonymous.get(binding.principal)
                if principal is not None:
                    (conditional if binding.conditional else public).append(_describe(binding, principal))
        store = stores.get(key.store) if key.store else None
        unread = KeyAspect.ACCESS in key.unreadable or (
            store is not None and KeyStoreAspect.ACCESS in store.unreadable
        )
        evidence = {
            "public_bindings": public[:MAX_LISTED],
            "public_binding_count": len(public),
            "conditional_public_bindings": conditional[:MAX_LISTED],
            "conditional_public_binding_count": len(conditional),
            "access_unreadable": unread,
        }
        if public:
            who = sorted({b["principal"] for b in public})
            shown = ", ".join(who[:3]) + (f" and {len(who) - 3} more" if len(who) > 3 else "")
            caps = sorted({c for b in public for c in b["capabilities"]})
            yield RuleResult.for_key(
                key,
                Status.FAIL,
                f"Key {label} is open to {shown} without a restricting condition "
                f"({', '.join(caps) or 'no capabilities listed'}); remove the public grant or add a "
                "condition.",
                **evidence,
            )
        elif unread:
            yield RuleResult.for_key(
                key,
                Status.UNKNOWN,
                f"The access policy of key {label} (or of its key store) could not be read, so public access "
                "cannot be ruled out.",
                **evidence,
            )
        elif conditional:
            yield RuleResult.for_key(
                key,
                Status.PASS,
                f"Key {label} is granted to public principals only under restricting conditions "
                f"({len(conditional)} conditional grant(s)); check that the conditions are as narrow as "
                "intended.",
                **evidence,
            )
        else:
            yield RuleResult.for_key(
                key, Status.PASS, f"Key {label} has no grants to public principals.", **evidence
            )
