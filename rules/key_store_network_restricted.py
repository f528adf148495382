"""Key vaults and managed HSMs are not reachable from every network.

A store is restricted when its public endpoint is disabled, or when its firewall denies by default
(IP and virtual-network rules may then let chosen networks in). Private endpoints are one way to
reach a restricted store, not a condition for being restricted: they are reported, not judged.
An allow rule for every address (``0.0.0.0/0`` or ``::/0``) defeats a deny-by-default firewall.
"""

from collections.abc import Iterator
from ipaddress import ip_network

from scanner.inventory import KeyStore, KeyStoreAspect
from scanner.rule import Context, RuleMeta, RuleResult, Severity, Status

META = RuleMeta(
    id="key_store_network_restricted",
    title="Key vaults and managed HSMs are not open to all networks",
    severity=Severity.MEDIUM,
    providers=("azure",),
    rationale=(
        "Credentials leak; a key store that accepts connections from the whole internet lets a stolen token "
        "be used from anywhere, and leaves only identity checks between an attacker and the keys. "
        "Limiting the endpoint to the organisation's networks (public access off, or a firewall that "
        "denies by default) adds a second, independent barrier around key use and administration, which "
        "supports CEK-08's expectation that the customer keeps control over access to its key management."
    ),
    remediation={
        "azure": (
            "Disable public network access (`az keyvault update --name <vault> --public-network-access "
            "Disabled` and reach the vault through a private endpoint), or keep it enabled with the firewall "
            "denying by default and only named networks allowed: `az keyvault update --name <vault> "
            "--default-action Deny` plus `az keyvault network-rule add --ip-address <cidr>` / "
            "`--subnet <id>`; "
            "in the portal: Key vault > Networking > Firewalls and virtual networks. For a managed HSM use "
            "`az keyvault update-hsm --hsm-name <hsm> --public-network-access Disabled`."
        ),
    },
    controls=(
        "CSA-AICM:CEK-08",
        "CIS-Azure-5.0:8.3.7",
        "CIS-Azure-6.0:8.3.7",
        "AzurePolicy:55615ac9-af46-4a59-874e-391cc3dfb490",
        "AzurePolicy:405c5871-3e91-4644-8a63-58e19d68ff5b",
        "AzurePolicy:19ea9d63-adee-4431-a95e-1913c6c1c75f",
        "ISO-27001-2022:A.8.24",
    ),
)

_MAX_LISTED = 50


def evaluate(ctx: Context) -> Iterator[RuleResult]:
    for store in ctx.inventory.key_stores:
        if store.network is not None:
            yield _judge(store)


def _judge(store: KeyStore) -> RuleResult:
    network = store.network
    assert network is not None
    public, deny = network.public_network_access, network.default_action_deny
    ranges = sorted(network.allowed_ip_ranges)
    open_ranges = [r for r in ranges if _is_everything(r)]
    evidence = {
        "public_network_access": public,
        "default_action_deny": deny,
        "private_endpoints": network.private_endpoints,
        "allowed_ip_ranges": ranges[:_MAX_LISTED],
        "allowed_ip_range_count": len(ranges),
        "unreadable": sorted(aspect.value for aspect in store.unreadable),
    }
    status, message = _verdict(
        store.uid,
        public=public,
        deny=deny,
        open_ranges=open_ranges,
        range_count=len(ranges),
        private_endpoints=network.private_endpoints,
    )
    if status is Status.PASS and KeyStoreAspect.METADATA in store.unreadable:
        status, message = (
            Status.UNKNOWN,
            f"The metadata of key store {store.uid} could not be read completely, so its network "
            "restriction cannot be confirmed; grant the scanner read access to the store's properties.",
        )
    return RuleResult.for_store(store, status, message, **evidence)


def _verdict(
    uid: str,
    *,
    public: bool | None,
    deny: bool | None,
    open_ranges: list[str],
    range_count: int,
    private_endpoints: int | None,
) -> tuple[Status, str]:
    endpoints = f", {private_endpoints} private endpoint(s)" if private_endpoints else ""
    if public is False:
        with_endpoints = f" ({private_endpoints} private endpoint(s))" if private_endpoints else ""
        return Status.PASS, f"Key store {uid} has public network access disabled{with_endpoints}."
    if deny is True and open_ranges:
        everything = ", ".join(open_ranges)
        if public is True:
            return (
                Status.FAIL,
                f"Key store {uid} denies by default but its firewall allows every address ({everything}), "
                "so it is reachable from all networks; remove that rule or disable public network access.",
            )
        return (
            Status.UNKNOWN,
            f"Could not read whether public network access is enabled on key store {uid}, whose firewall "
            f"allows every address ({everything}); grant the scanner read access to its network settings.",
        )
    if deny is True:
        return (
            Status.PASS,
            f"Key store {uid} only accepts networks its firewall allows "
            f"({range_count} IP range(s) allowed{endpoints}).",
        )
    if public is True and deny is False:
        return (
            Status.FAIL,
            f"Key store {uid} accepts connections from all networks (public network access enabled, "
            "firewall default action Allow); disable public network access or set the firewall's default "
            "action to Deny.",
        )
    missing = " and ".join(
        name
        for name, value in (
            ("whether public network access is enabled", public),
            ("the firewall's default action", deny),
        )
        if value is None
    )
    return (
        Status.UNKNOWN,
        f"Could not read {missing} of key store {uid}, so whether it is open to all networks cannot be "
        "judged; grant the scanner read access to its network settings.",
    )


def _is_everything(cidr: str) -> bool:
    try:
        return ip_network(cidr.strip(), strict=False).prefixlen == 0
    except ValueError:
        return False
