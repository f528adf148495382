"""Custom key stores (AWS CloudHSM-backed and external key stores) are connected and resilient.

A custom key store that is not connected cannot serve its keys: every encrypt and decrypt call
fails. A CloudHSM cluster behind a key store needs at least two active HSMs in different
availability zones, or one HSM or one zone failing takes every key of the store offline.
"""

from collections.abc import Iterator
from typing import Any

from scanner.inventory import ConnectionState, KeyStore, KeyStoreAspect, KeyStoreKind
from scanner.rule import Context, RuleMeta, RuleResult, Severity, Status

META = RuleMeta(
    id="custom_key_store_healthy",
    title="Custom key stores are connected and backed by a resilient HSM cluster",
    severity=Severity.HIGH,
    providers=("aws",),
    rationale=(
        "Organisations choose CloudHSM-backed or external key stores to keep the key material under their "
        "own control (CEK-08), but then they also carry its availability: a disconnected store makes every "
        "key in it unusable, and a cluster with a single HSM, or all HSMs in one availability zone, turns "
        "one hardware or zone failure into an outage of everything those keys protect. CEK-20 asks for the "
        "risk of losing the ability to use keys to be assessed and managed, which starts with a connected "
        "store and an HSM cluster that survives the loss of one member."
    ),
    remediation={
        "aws": (
            "Reconnect the store (`aws kms connect-custom-key-store --custom-key-store-id <id>`, then watch "
            "`aws kms describe-custom-key-stores` for ConnectionState CONNECTED and fix any "
            "ConnectionErrorCode, e.g. INSUFFICIENT_CLOUDHSM_HSMS, USER_LOCKED_OUT or XKS_PROXY_*). For a "
            "CloudHSM key store keep at least two active HSMs in different Availability Zones: "
            "`aws cloudhsmv2 create-hsm --cluster-id <cluster> --availability-zone <another AZ>`."
        ),
    },
    controls=(
        "CSA-AICM:CEK-08",
        "CSA-AICM:CEK-20",
        "ISO-27001-2022:A.8.14",
        "ISO-27001-2022:A.8.24",
    ),
)

_MIN_HSMS = 2
_MIN_ZONES = 2


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    for store in ctx.inventory.key_stores:
        if store.kind.is_custom_key_store:
            yield _judge(store)


def _judge(store: KeyStore) -> RuleResult:
    problems: list[str] = []
    fixes: list[str] = []
    unread: list[str] = []
    state = store.connection_state
    if state is None:
        unread.append("its connection state")
    elif state is not ConnectionState.CONNECTED:
        problems.append(f"it is {state.value}, not connected")
        fixes.append("reconnect it")

    cluster = store.hsm_cluster
    evidence: dict[str, Any] = {
        "kind": store.kind.value,
        "connection_state": state.value if state is not None else None,
        "hsm_cluster": None,
        "unreadable": sorted(aspect.value for aspect in store.unreadable),
    }
    if cluster is not None:
        zones = sorted(set(cluster.availability_zones))
        evidence["hsm_cluster"] = {
            "uid": cluster.uid,
            "state": cluster.state,
            "active_hsms": cluster.active_hsms,
            "availability_zones": zones,
        }
        if cluster.degraded:
            problems.append(f"its cluster {cluster.uid} reports state {cluster.state or 'degraded'}")
            fixes.append("restore the cluster to an active state")
        if cluster.active_hsms is None:
            unread.append(f"the number of active HSMs in cluster {cluster.uid}")
        elif cluster.active_hsms < _MIN_HSMS:
            problems.append(
                f"its cluster {cluster.uid} has {cluster.active_hsms} active HSM(s), fewer than 2"
            )
        if not zones and cluster.active_hsms != 0:
            # HSMs (or an unread count) but no zone reported: the zones were not read.
            unread.append(f"the availability zones of cluster {cluster.uid}")
        elif zones and len(zones) < _MIN_ZONES:
            problems.append(f"its cluster {cluster.uid} spans only availability zone {zones[0]}")
            fixes.append("place its HSMs in at least two availability zones")
    elif store.kind is KeyStoreKind.AWS_CLOUDHSM:
        unread.append("its CloudHSM cluster")

    if problems:
        also = f" ({' and '.join(unread)} could not be read)" if unread else ""
        return RuleResult.for_store(
            store,
            Status.FAIL,
            f"Custom key store {store.uid} is not healthy: {'; '.join(problems)}{also}; {', '.join(fixes)}.",
            **evidence,
        )
    if unread or KeyStoreAspect.METADATA in store.unreadable:
        missing = " and ".join(unread) if unread else "its metadata"
        return RuleResult.for_store(
            store,
            Status.UNKNOWN,
            f"Could not read {missing} for custom key store {store.uid}, so its health cannot be judged; "
            "grant the scanner kms:DescribeCustomKeyStores and cloudhsm:DescribeClusters.",
            **evidence,
        )
    detail = (
        f" and its cluster {cluster.uid} has {cluster.active_hsms} active HSMs in "
        f"{len(set(cluster.availability_zones))} availability zones"
        if cluster is not None
        else ""
    )
    return RuleResult.for_store(
        store, Status.PASS, f"Custom key store {store.uid} is connected{detail}.", **evidence
    )
