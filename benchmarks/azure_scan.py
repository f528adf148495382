"""Azure scan benchmark: one subscription of 20 vaults x 100 keys, replayed in-process to the real SDKs.

The estate is ``providers.azure.simulated.bulk_estate()``: RBAC and access-policy vaults alternate, role
assignments sit at every scope (management group, subscription, resource group, vault, key), a custom
role, diagnostic settings on two vaults in three. Its exchanges are served by
``providers.azure.replay.ReplayAdapter`` through azure-core's ``RequestsTransport``: no socket, the SDKs'
whole pipeline (challenge authentication, paging, deserialisation) runs.

What is measured, per concurrency, each run in a fresh child process:
  * ``plugin``: ``providers.azure.plugin.AzureProvider().collect_with(request, credential=...,
    transport=...)`` when the provider offers it (the whole provider: collect and normalise);
  * ``raw SDK`` otherwise, or with ``--raw``: the call contract of ``providers/azure/simulated.py`` made
    directly with the client factories of ``providers/azure/clients.py`` (subscriptions, vaults, HSMs,
    role assignments and definitions, diagnostic settings, then per vault the key list and per key
    ``get_key`` + ``get_key_rotation_policy``), fanned out over a thread pool of N workers. That is the
    floor any collector pays for this estate: SDK and replay cost, no normalisation.
For each: wall time of the scan (estate and exchanges built beforehand, not counted), requests the
adapters served (and how many matched nothing), keys found, the child's RSS before the scan and its peak.

The replay is sharded: one ``ReplayAdapter`` per host, mounted on one ``requests.Session`` (hence one
transport). ``ReplayAdapter`` tries its exchanges in order, so a single adapter holding all ~6,000 of
them spends more time matching than the SDKs spend working (``--one-adapter`` shows it). Everything runs
in one process, CPU-bound under the GIL: threads overlap nothing unless requests wait, which
``--latency MS`` simulates (a sleep per request, as a network round trip would).

Run: .venv/bin/python benchmarks/azure_scan.py [--vaults 20] [--keys 100] [--concurrency 1 8] [--raw]
     [--latency MS] [--one-adapter]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from providers.azure import simulated as sim  # noqa: E402


def _plugin() -> Any | None:
    """The collector's in-process entry point, when it exists yet."""
    try:
        from providers.azure.plugin import AzureProvider  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    provider = AzureProvider()
    return provider if hasattr(provider, "collect_with") else None


def _reset_challenges() -> None:
    from azure.keyvault.administration._internal import http_challenge_cache

    from providers.azure.replay import reset_key_vault_challenges

    reset_key_vault_challenges()
    http_challenge_cache.clear()


def _fan_out(pool: ThreadPoolExecutor, call: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
    return list(pool.map(call, items))


def raw_scan(estate: sim.Estate, transport: Any, credential: Any, concurrency: int) -> int:
    """The contract through the SDKs directly; returns the number of keys read (data plane or ARM)."""
    from providers.azure import clients

    tenant = clients.subscription_client(credential, estate.cloud, transport=transport)
    subscriptions = [s["subscriptionId"] for s in tenant.list_subscriptions() if s.get("state") == "Enabled"]
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return sum(
            _scan_subscription(pool, sub, estate.cloud, transport, credential) for sub in subscriptions
        )


def _scan_subscription(
    pool: ThreadPoolExecutor, sub: str, cloud: str, transport: Any, credential: Any
) -> int:
    from azure.core.exceptions import HttpResponseError, ServiceRequestError
    from azure.keyvault.administration import KeyVaultAccessControlClient

    from providers.azure import clients

    keyvault = clients.keyvault_mgmt_client(sub, credential, cloud, transport=transport)
    auth = clients.authorization_client(sub, credential, cloud, transport=transport)
    monitor = clients.monitor_client(sub, credential, cloud, transport=transport)
    vaults = list(keyvault.vaults.list_by_subscription())
    hsms = list(keyvault.managed_hsms.list_by_subscription())
    assignments = list(auth.role_assignments.list_for_subscription())
    _fan_out(pool, auth.role_definitions.get_by_id, dict.fromkeys(a.role_definition_id for a in assignments))
    _fan_out(pool, lambda store: list(monitor.diagnostic_settings.list(store.id)), [*vaults, *hsms])

    def list_keys(store: Any) -> tuple[Any, list[str]]:
        url = getattr(store.properties, "vault_uri", None) or store.properties.hsm_uri
        client = clients.key_client(url, credential, transport=transport)
        try:
            return client, [str(k.name) for k in client.list_properties_of_keys(max_page_size=25)]
        except (HttpResponseError, ServiceRequestError):  # the ARM view instead
            group = store.id.split("/")[4]
            listing = keyvault.keys.list if "/vaults/" in store.id else keyvault.managed_hsm_keys.list
            return None, [str(k.name) for k in listing(group, store.name)]

    def read_key(item: tuple[Any, str]) -> None:
        client, name = item
        client.get_key(name)
        client.get_key_rotation_policy(name)

    def local_rbac(hsm: Any) -> None:
        access = KeyVaultAccessControlClient(hsm.properties.hsm_uri, credential, transport=transport)
        # A refused HSM data plane costs the same requests as the plugin's attempt: nothing more to time.
        with contextlib.suppress(HttpResponseError, ServiceRequestError):
            list(access.list_role_assignments("/"))
            list(access.list_role_definitions("/"))

    listed = _fan_out(pool, list_keys, [*vaults, *hsms])
    _fan_out(pool, read_key, [(client, name) for client, names in listed if client for name in names])
    _fan_out(pool, local_rbac, hsms)
    return sum(len(names) for _, names in listed)


def plugin_scan(provider: Any, estate: sim.Estate, transport: Any, credential: Any, concurrency: int) -> int:
    from scanner.progress import NullProgress
    from scanner.provider import CollectRequest

    options = {"subscriptions": tuple(s.id for s in estate.subscriptions), "azure_cloud": estate.cloud}
    request = CollectRequest(options=options, concurrency=concurrency, progress=NullProgress())
    inventory = provider.collect_with(request, credential=credential, transport=transport)
    return len(inventory.keys)


def replay(exchanges: list[dict[str, Any]], *, latency_ms: float, sharded: bool) -> tuple[Any, list[Any]]:
    """A transport over one session with a ReplayAdapter per host (or one for all), and the adapters."""
    import requests
    from azure.core.pipeline.transport import RequestsTransport

    from providers.azure.replay import ReplayAdapter

    class Adapter(ReplayAdapter):
        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            if latency_ms:
                time.sleep(latency_ms / 1000)
            return super().send(request, *args, **kwargs)

    session = requests.Session()
    fallback = Adapter(exchanges=[] if sharded else exchanges)  # records requests to unknown hosts
    session.mount("https://", fallback)
    session.mount("http://", fallback)
    adapters = [fallback]
    if sharded:
        by_host: dict[str, list[dict[str, Any]]] = {}
        for exchange in exchanges:
            host = exchange.get("host") or urlsplit(exchange["url"]).netloc
            by_host.setdefault(host.lower().removesuffix(":443"), []).append(exchange)
        for host, group in by_host.items():
            adapter = Adapter(exchanges=group)
            session.mount(f"https://{host}/", adapter)
            session.mount(f"https://{host}:443/", adapter)  # Key Vault's nextLinks name the port
            adapters.append(adapter)
    return RequestsTransport(session=session, session_owner=False), adapters


def child(args: argparse.Namespace) -> None:
    """One measurement, printed as JSON on stdout."""
    from providers.azure.replay import ReplayCredential

    started = time.perf_counter()
    estate = sim.bulk_estate(vaults=args.vaults, keys_per_vault=args.keys)
    exchanges = sim.estate_exchanges(estate)
    transport, adapters = replay(exchanges, latency_ms=args.latency, sharded=not args.one_adapter)
    credential = ReplayCredential()
    provider = None if args.raw else _plugin()
    # Import the SDKs before the clock starts: import cost is the same for every run and not the scan's.
    import azure.keyvault.administration
    import azure.keyvault.keys
    import azure.mgmt.authorization
    import azure.mgmt.keyvault
    import azure.mgmt.monitor  # noqa: F401

    _reset_challenges()
    built = time.perf_counter() - started
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    if provider is not None:
        keys = plugin_scan(provider, estate, transport, credential, args.child)
    else:
        keys = raw_scan(estate, transport, credential, args.child)
    wall = time.perf_counter() - started
    print(
        json.dumps(
            {
                "path": "plugin" if provider is not None else "raw SDK",
                "wall_s": round(wall, 2),
                "built_s": round(built, 2),
                "requests": sum(len(a.requests) for a in adapters),
                "unmatched": sum(len(a.unmatched) for a in adapters),
                "keys": keys,
                "rss_before_mib": round(rss_before / 1024),
                "exchanges": len(exchanges),
            }
        )
    )


def measure(args: argparse.Namespace, concurrency: int) -> dict[str, Any]:
    command = [
        sys.executable, __file__, "--child", str(concurrency), "--vaults", str(args.vaults),
        "--keys", str(args.keys), "--latency", str(args.latency), *(["--raw"] if args.raw else []),
        *(["--one-adapter"] if args.one_adapter else []),
    ]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0 or not out.strip():
        return {"error": (err.strip().splitlines() or ["no output"])[-1]}
    row: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    row["peak_rss_mib"] = round(usage.ru_maxrss / 1024)  # KiB on Linux
    return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vaults", type=int, default=20)
    parser.add_argument("--keys", type=int, default=100, help="keys per vault")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument(
        "--raw", action="store_true", help="measure the raw SDK calls even if the plugin exists"
    )
    parser.add_argument("--latency", type=float, default=0.0, help="milliseconds added to every request")
    parser.add_argument("--one-adapter", action="store_true", help="one ReplayAdapter for every host")
    parser.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    print(
        f"estate: 1 subscription, {args.vaults} vaults x {args.keys} keys "
        f"({'raw SDK forced' if args.raw else 'plugin if available, else raw SDK'}; "
        f"{args.latency:g} ms per request; {'one adapter' if args.one_adapter else 'one adapter per host'})",
        flush=True,
    )
    rows = []
    for concurrency in args.concurrency:
        row = measure(args, concurrency)
        rows.append((concurrency, row))
        print(f"concurrency {concurrency}: {row}", file=sys.stderr, flush=True)
    print()
    print(
        "| concurrency | path | wall (s) | requests served | unmatched | keys | RSS before scan (MiB) "
        "| peak RSS (MiB) |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for concurrency, row in rows:
        if "error" in row:
            print(f"| {concurrency} | error: {row['error']} | | | | | | |")
            continue
        print(
            f"| {concurrency} | {row['path']} | {row['wall_s']} | {row['requests']} | {row['unmatched']} | "
            f"{row['keys']} | {row['rss_before_mib']} | {row['peak_rss_mib']} |"
        )


if __name__ == "__main__":
    main()
