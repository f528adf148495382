"""The demo estate: each provider's simulator scanned through its real code, or, for a provider whose
simulator has not been built yet, its part of the bundled sample inventory."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.resources import as_file, files

from scanner import __version__
from scanner.errors import RuntimeFailure
from scanner.inventory import CollectionInfo, Inventory, Provider, load_inventory
from scanner.progress import Progress
from scanner.provider import KNOWN_PROVIDERS, CollectRequest, load_provider, merge_inventories


def bundled_sample() -> Inventory:
    with as_file(files("scanner") / "data" / "sample-inventory.json") as path:
        return load_inventory(path)


def provider_part(inventory: Inventory, provider: Provider) -> Inventory:
    """The records of one provider, with the principals its bindings name."""
    bindings = tuple(b for b in inventory.bindings if b.provider is provider)
    named = {b.principal for b in bindings}
    return Inventory(
        scopes=tuple(s for s in inventory.scopes if s.provider is provider),
        key_stores=tuple(s for s in inventory.key_stores if s.provider is provider),
        keys=tuple(k for k in inventory.keys if k.provider is provider),
        principals=tuple(p for p in inventory.principals if p.uid in named),
        bindings=bindings,
        audit_logging=tuple(a for a in inventory.audit_logging if a.provider is provider),
        errors=tuple(e for e in inventory.errors if e.provider is provider),
    )


def simulated_estate(progress: Progress, concurrency: int = 8) -> tuple[Inventory, dict[str, str]]:
    """The merged demo inventory and, per provider, where its part came from."""
    started = datetime.now(UTC)
    sample: Inventory | None = None
    parts: list[Inventory] = []
    origins: dict[str, str] = {}
    for name in KNOWN_PROVIDERS:
        try:
            plugin = load_provider(name)
        except RuntimeFailure:
            plugin = None
        demo = getattr(plugin, "demo", None)
        if demo is not None:
            parts.append(demo(CollectRequest(options={}, concurrency=concurrency, progress=progress)))
            origins[name] = "simulated estate scanned by the real provider code"
        else:
            sample = sample or bundled_sample()
            parts.append(provider_part(sample, Provider(name)))
            origins[name] = "bundled sample inventory (its simulator is not built yet)"
    info = CollectionInfo(
        tool_version=__version__,
        started_at=started,
        finished_at=datetime.now(UTC),
        providers=tuple(Provider(name) for name in KNOWN_PROVIDERS),
        notes={f"demo.{name}": origin for name, origin in origins.items()},
    )
    return merge_inventories(parts, info), origins
