"""Deleted keys stay recoverable: vault soft delete + purge protection, and a long enough destroy wait.

Two kinds of result, on different resources:

* every key store that has recovery settings at all (``deletion_protection`` is not None: Azure
  vaults and managed HSMs) passes when soft delete and purge protection are both on;
* every customer key that carries a wait between a destroy request and the destruction
  (``deletion_window_days``: GCP destroy-scheduled duration, AWS pending-deletion window) passes
  when that wait is at least ``protection.min_destroy_scheduled_days``.

Stores and keys without these fields get no result: the platform has no such setting for them.
"""

from collections.abc import Iterator

from scanner.inventory import Key, KeyState, KeyStore, KeyStoreAspect
from scanner.rule import Context, RuleMeta, RuleResult, Severity, Status

META = RuleMeta(
    id="key_store_deletion_protected",
    title="Key stores and keys are protected against immediate, unrecoverable deletion",
    severity=Severity.HIGH,
    providers=("azure", "gcp", "aws"),
    rationale=(
        "Destroying a key makes everything encrypted under it unreadable for good, so CEK-14 and CEK-20 "
        "call for destruction to be deliberate and for a way back from mistakes or sabotage. An Azure "
        "vault or managed HSM without soft delete loses its keys the moment it is deleted, and without "
        "purge protection anyone with purge rights can empty the recycle bin before the retention period "
        "ends. Likewise, a key whose destruction waits only a few hours or days leaves too little time to "
        "notice a malicious or mistaken destroy request and cancel it."
    ),
    remediation={
        "azure": (
            "Turn on soft delete and purge protection: `az keyvault update --name <vault> "
            "--enable-purge-protection true` (soft delete is on by default for new vaults; older vaults need "
            "`--enable-soft-delete true`), or for a managed HSM `az keyvault update-hsm --hsm-name <hsm> "
            "--enable-purge-protection true`; in the portal: Key vault > Properties > Purge protection. "
            "Purge protection cannot be turned off again, which is the point."
        ),
        "gcp": (
            "The destroy-scheduled duration is fixed when a key is created: create keys with "
            "`gcloud kms keys create ... --destroy-scheduled-duration=30d` (or longer, per the policy's "
            "protection.min_destroy_scheduled_days), move data to them, and enforce the minimum for every "
            "new key with the organization policy constraint "
            "`constraints/cloudkms.minimumDestroyScheduledDuration`."
        ),
        "aws": (
            "Cancel the deletion (`aws kms cancel-key-deletion --key-id <key>`) and, if the key really must "
            "go, schedule it again with a waiting period that meets the policy: "
            "`aws kms schedule-key-deletion --key-id <key> --pending-window-in-days 30`."
        ),
    },
    controls=(
        "CSA-AICM:CEK-14",
        "CSA-AICM:CEK-20",
        "CIS-Azure-3.0:3.3.5",
        "CIS-Azure-5.0:8.3.5",
        "CIS-Azure-6.0:8.3.5",
        "AzurePolicy:1e66c121-a66a-4b1f-9b83-0fd99bf0fc2d",
        "AzurePolicy:0b60c0b2-2dc2-4e1c-b5c9-abbed971de53",
        "AzurePolicy:c39ba22d-4428-4149-b981-70acb31fc383",
        "ISO-27001-2022:A.8.24",
    ),
)


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    for store in ctx.inventory.key_stores:
        if store.deletion_protection is not None:
            yield _judge_store(store)
    minimum = ctx.policy.protection.min_destroy_scheduled_days
    for key in ctx.customer_keys():
        # A destroyed key has nothing left to protect; keys without the setting are not applicable.
        if key.deletion_window_days is None or key.state is KeyState.DESTROYED:
            continue
        yield _judge_key(key, minimum)


def _judge_store(store: KeyStore) -> RuleResult:
    protection = store.deletion_protection
    assert protection is not None
    settings = (("soft delete", protection.soft_delete), ("purge protection", protection.purge_protection))
    disabled = [name for name, value in settings if value is False]
    unread = [name for name, value in settings if value is None]
    metadata_unreadable = KeyStoreAspect.METADATA in store.unreadable
    evidence = {
        "soft_delete": protection.soft_delete,
        "purge_protection": protection.purge_protection,
        "retention_days": protection.retention_days,
        "unreadable": sorted(aspect.value for aspect in store.unreadable),
    }
    if disabled:
        also = f" ({' and '.join(unread)} could not be read)" if unread else ""
        return RuleResult.for_store(
            store,
            Status.FAIL,
            f"Key store {store.uid} has {' and '.join(disabled)} disabled{also}, so it and its keys can be "
            f"deleted for good without a recovery period; enable {' and '.join(disabled)}.",
            **evidence,
        )
    if unread or metadata_unreadable:
        missing = " and ".join(unread) if unread else "its metadata"
        return RuleResult.for_store(
            store,
            Status.UNKNOWN,
            f"Could not read {missing} of key store {store.uid}, so its protection against permanent "
            "deletion cannot be confirmed; grant the scanner read access to the store's properties.",
            **evidence,
        )
    retention = (
        f" (deleted items are kept {protection.retention_days} days)"
        if protection.retention_days is not None
        else ""
    )
    return RuleResult.for_store(
        store,
        Status.PASS,
        f"Key store {store.uid} has soft delete and purge protection enabled{retention}.",
        **evidence,
    )


def _judge_key(key: Key, minimum: int) -> RuleResult:
    days = key.deletion_window_days
    assert days is not None
    evidence = {"deletion_window_days": days, "min_destroy_scheduled_days": minimum}
    if days >= minimum:
        return RuleResult.for_key(
            key,
            Status.PASS,
            f"Key {key.uid} waits {days} days between a destroy request and destruction "
            f"(policy minimum {minimum}).",
            **evidence,
        )
    return RuleResult.for_key(
        key,
        Status.FAIL,
        f"Key {key.uid} waits only {days} day{'' if days == 1 else 's'} between a destroy request and destruction, below the "
        f"policy minimum of {minimum}; use a waiting period of at least {minimum} days.",
        **evidence,
    )
