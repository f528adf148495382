"""The provider-plugin interface. Providers register through the ``keyaudit.providers`` entry point group,
the same way a third-party provider would, and are imported only when a scan asks for them."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Protocol

from scanner.errors import RuntimeFailure
from scanner.inventory import CollectionInfo, Inventory
from scanner.progress import Progress

ENTRY_POINT_GROUP = "keyaudit.providers"
KNOWN_PROVIDERS = ("aws", "gcp", "azure")


@dataclass(frozen=True)
class CollectRequest:
    """What the user asked for: provider-specific options by their CLI names, plus shared settings."""

    options: Mapping[str, Any]
    concurrency: int
    progress: Progress
    extra: dict[str, Any] = field(default_factory=dict)


class ProviderPlugin(Protocol):
    name: str

    def required_policy(self) -> str:
        """The least-privilege, read-only permissions the scan needs, in the provider's own format."""
        ...

    def collect(self, request: CollectRequest) -> Inventory:
        """Read the estate (read-only) and return it normalised. Failures are recorded as data
        (``Inventory.errors``, ``unreadable`` aspects), never raised for one scope or region."""
        ...


class DemoCapable(Protocol):
    def demo(self, request: CollectRequest) -> Inventory:
        """Build a simulated estate (no credentials, no network) and scan it through the real code."""
        ...


def load_provider(name: str) -> ProviderPlugin:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            plugin: ProviderPlugin = ep.load()()
            return plugin
    raise RuntimeFailure(
        f"provider '{name}' is not available in this build of keyaudit: its collector is not installed yet. "
        "A saved inventory can still be judged with `keyaudit evaluate INVENTORY.json`."
    )


def merge_inventories(parts: list[Inventory], info: CollectionInfo) -> Inventory:
    """One inventory from several providers' (or shards') inventories."""
    notes = {k: v for part in parts for k, v in part.collection.notes.items()} | dict(info.notes)
    return Inventory(
        collection=dataclasses.replace(info, notes=notes),
        scopes=tuple(s for p in parts for s in p.scopes),
        key_stores=tuple(s for p in parts for s in p.key_stores),
        keys=tuple(k for p in parts for k in p.keys),
        principals=tuple({pr.uid: pr for p in parts for pr in p.principals}.values()),
        bindings=tuple(b for p in parts for b in p.bindings),
        audit_logging=tuple(a for p in parts for a in p.audit_logging),
        resources=tuple(r for p in parts for r in p.resources),
        errors=tuple(e for p in parts for e in p.errors),
    )
