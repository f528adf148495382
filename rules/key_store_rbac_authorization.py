"""Azure key vaults authorise data-plane access with Azure RBAC, not with vault access policies.

Judged: every Azure key store (vault or managed HSM), from ``KeyStore.access_model``:

* ``rbac`` passes;
* ``access_policy`` fails; the evidence lists the principals holding access-policy entries on the
  vault, which are the grants to move into role assignments before switching the model;
* ``managed_hsm`` / ``managed_hsm_rbac`` passes: a managed HSM's data plane obeys only its own local
  RBAC and has no access-policy mode. It gets a PASS rather than no result, so every Azure key store
  carries evidence of how its keys are authorised;
* no model read (``None``), or a value this rule does not know, is UNKNOWN. A store whose metadata was
  only partly read (``KeyStoreAspect.METADATA`` unreadable) cannot pass; a model read as
  ``access_policy`` is still reported as a failure.

Key stores of other kinds (AWS, GCP) have no such setting and get no result.
"""

from collections.abc import Iterator

from scanner.inventory import BindingSource, KeyStore, KeyStoreAspect, KeyStoreKind
from scanner.rule import Context, RuleMeta, RuleResult, Severity, Status

META = RuleMeta(
    id="key_store_rbac_authorization",
    title="Key vaults use the Azure RBAC permission model instead of vault access policies",
    severity=Severity.MEDIUM,
    providers=("azure",),
    rationale=(
        "CEK-02 asks for key-management roles that are defined, separated and kept to least privilege. "
        "A vault using access policies grants data-plane rights for every key in the vault at once, with "
        "no way to limit an entry to one key or to attach a condition, and its access policies are part "
        "of the vault's own properties: Microsoft warns that anyone holding Contributor, Key Vault "
        "Contributor or any role with `Microsoft.KeyVault/vaults/write` can add an entry for themselves "
        "and read or use every key. The Azure RBAC model separates managing the vault from using its "
        "keys, supports key-level scopes, conditions and Privileged Identity Management, and records "
        "grants as role assignments that can be reviewed like any other."
    ),
    remediation={
        "azure": (
            "Recreate each access-policy entry as a role assignment scoped to the vault or to single keys "
            "(e.g. `az role assignment create --role 'Key Vault Crypto Service Encryption User' --assignee "
            "<object id> --scope <vault id>/keys/<key>`), then switch the permission model: `az keyvault "
            "update --name <vault> --enable-rbac-authorization true` (portal: Key vault > Access "
            "configuration > Permission model > Azure role-based access control). Enforce it for new "
            "vaults with the built-in Azure Policy 'Azure Key Vault should use RBAC permission model'."
        ),
    },
    controls=(
        "CSA-AICM:CEK-02",
        "CIS-Azure-3.0:3.3.6",
        "CIS-Azure-5.0:8.3.6",
        "CIS-Azure-6.0:8.3.6",
        "AzurePolicy:12d4fa5e-1f9f-4c21-97a9-b99b3c6611b5",
        "MCSB:PA-7",
        "ISO-27002-2022:5.2",
    ),
)

RBAC = "rbac"
ACCESS_POLICY = "access_policy"
# The Azure provider's permission tables call a managed HSM's model "managed_hsm"; accept both spellings.
MANAGED_HSM_MODELS = frozenset({"managed_hsm", "managed_hsm_rbac"})
AZURE_STORE_KINDS = frozenset({KeyStoreKind.AZURE_VAULT, KeyStoreKind.AZURE_MANAGED_HSM})
MAX_LISTED = 50


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    stores = [s for s in ctx.inventory.key_stores if s.kind in AZURE_STORE_KINDS]
    holders = _access_policy_holders(ctx, {s.uid for s in stores if s.access_model == ACCESS_POLICY})
    for store in sorted(stores, key=lambda s: s.uid):
        yield _judge(ctx, store, holders.get(store.uid, set()))


def _access_policy_holders(ctx: Context, vaults: set[str]) -> dict[str, set[str]]:
    """Principals with an access-policy entry on each access-policy vault (one pass over the bindings)."""
    if not vaults:
        return {}
    found: dict[str, set[str]] = {}
    for binding in ctx.inventory.bindings:
        if binding.source is BindingSource.ACCESS_POLICY and binding.target in vaults:
            found.setdefault(binding.target, set()).add(binding.principal)
    return found


def _judge(ctx: Context, store: KeyStore, holders: set[str]) -> RuleResult:
    label = store.name or store.uid
    model = store.access_model
    metadata_unread = KeyStoreAspect.METADATA in store.unreadable
    listed = sorted(holders)
    evidence = {
        "access_model": model,
        "kind": store.kind.value,
        "customer_keys": sum(1 for k in ctx.inventory.keys_in_store(store.uid) if k.is_customer_managed),
        "access_policy_principals": listed[:MAX_LISTED],
        "access_policy_principal_count": len(listed),
        "unreadable": sorted(aspect.value for aspect in store.unreadable),
    }
    if model == ACCESS_POLICY:
        held = f" ({len(listed)} principal(s) hold access-policy entries)" if listed else ""
        return RuleResult.for_store(
            store,
            Status.FAIL,
            f"{_noun(store)} {label} authorises key access with vault access policies{held}, which cannot be "
            "scoped to one key or conditioned and which any holder of vaults/write can extend to itself; "
            "move the entries to role assignments and switch the vault to the Azure RBAC permission model.",
            **evidence,
        )
    if model is None or (model != RBAC and model not in MANAGED_HSM_MODELS):
        read = (
            "could not be read"
            if model is None
            else f"is reported as {model!r}, which keyaudit does not know"
        )
        return RuleResult.for_store(
            store,
            Status.UNKNOWN,
            f"The permission model of key store {label} {read}, so whether its keys are authorised through "
            "Azure RBAC cannot be judged; grant the scanner read access to the store's properties.",
            **evidence,
        )
    if metadata_unread:
        return RuleResult.for_store(
            store,
            Status.UNKNOWN,
            f"The metadata of key store {label} could not be read completely, so its permission model "
            f"({model}) cannot be confirmed; grant the scanner read access to the store's properties.",
            **evidence,
        )
    if model in MANAGED_HSM_MODELS or store.kind is KeyStoreKind.AZURE_MANAGED_HSM:
        message = (
            f"Managed HSM {label} authorises key access through its local RBAC only (it has no "
            "access-policy mode)."
        )
    else:
        message = f"Key vault {label} authorises key access through the Azure RBAC permission model."
    return RuleResult.for_store(store, Status.PASS, message, **evidence)


def _noun(store: KeyStore) -> str:
    return "Managed HSM" if store.kind is KeyStoreKind.AZURE_MANAGED_HSM else "Key vault"
