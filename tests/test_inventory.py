from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest

from scanner.inventory import (
    Capability,
    Inventory,
    InventoryLoadError,
    KeyStoreKind,
    ProtectionLevel,
    ScopeKind,
    ScopeLevel,
    ScopeRef,
    load_inventory,
)
from tests import factories as f

ORG = "organizations/123"
FOLDER = "folders/456"


def _hierarchy_inventory(order_seed: int | None = None) -> Inventory:
    gcp = f.Provider.GCP
    project = f.scope(
        "proj-a", gcp, parents=(ScopeRef(kind=ScopeKind.GCP_FOLDER, uid=FOLDER), ScopeRef(kind=ScopeKind.GCP_ORGANIZATION, uid=ORG))
    )  # fmt: skip
    ring = f.store(
        "projects/proj-a/locations/global/keyRings/r", gcp, kind=KeyStoreKind.GCP_KEY_RING, scope="proj-a"
    )
    key = f.key(provider=gcp, uid=f"{ring.uid}/cryptoKeys/k", scope="proj-a", store=ring.uid)
    other = f.key(
        "other", provider=gcp, uid="projects/proj-b/locations/global/keyRings/x/cryptoKeys/o", scope="proj-b"
    )
    bindings = [
        f.binding("user:ana@example.com", key.uid, Capability.ENCRYPT, provider=gcp, scope="proj-a"),
        f.binding("user:ana@example.com", ring.uid, Capability.DECRYPT, level=ScopeLevel.KEY_STORE, provider=gcp, scope="proj-a"),
        f.binding("user:ana@example.com", "proj-a", Capability.MANAGE_LIFECYCLE, level=ScopeLevel.SCOPE, provider=gcp, scope="proj-a"),
        f.binding("group:sec@example.com", FOLDER, Capability.ADMINISTER_ACCESS, level=ScopeLevel.FOLDER, provider=gcp, scope="proj-a", inherited_from=FOLDER),
        f.binding("user:cto@example.com", ORG, Capability.DESTROY, level=ScopeLevel.ORGANIZATION, provider=gcp, scope="proj-a", inherited_from=ORG),
        f.binding("user:bo@example.com", other.uid, Capability.DECRYPT, provider=gcp, scope="proj-b"),
    ]  # fmt: skip
    if order_seed is not None:
        random.Random(order_seed).shuffle(bindings)
    return f.inventory(scopes=(project,), key_stores=(ring,), keys=(key, other), bindings=tuple(bindings))


def test_effective_access_merges_every_level_and_is_order_independent() -> None:
    inv = _hierarchy_inventory()
    key = inv.keys[0]
    expected = {
        "user:ana@example.com": frozenset(
            {Capability.ENCRYPT, Capability.DECRYPT, Capability.MANAGE_LIFECYCLE}
        ),
        "group:sec@example.com": frozenset({Capability.ADMINISTER_ACCESS}),
        "user:cto@example.com": frozenset({Capability.DESTROY}),
    }
    assert inv.effective_access(key) == expected
    for seed in range(5):
        shuffled = _hierarchy_inventory(seed)
        assert shuffled.effective_access(shuffled.keys[0]) == expected


def test_round_trip_through_json_keeps_everything(tmp_path: Path) -> None:
    inv = _hierarchy_inventory()
    path = tmp_path / "inv.json"
    path.write_text(inv.model_dump_json())
    loaded = load_inventory(path)
    assert loaded == inv
    assert loaded.schema_version == "1.0"


def test_inventory_is_immutable() -> None:
    inv = _hierarchy_inventory()
    with pytest.raises(dataclasses.FrozenInstanceError):
        inv.keys[0].state = None  # type: ignore[misc]
    with pytest.raises(ValueError, match="frozen"):
        inv.keys = ()  # type: ignore[misc]


def test_unsupported_schema_version_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "inv.json"
    path.write_text('{"schema_version": "7.0"}')
    with pytest.raises(InventoryLoadError, match=r"(?s)inv.json.*schema_version"):
        load_inventory(path)


def test_unknown_field_is_rejected_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "inv.json"
    path.write_text('{"keys": [{"provider": "aws", "uid": "k", "scope": "1", "colour": "red"}]}')
    with pytest.raises(InventoryLoadError, match=r"keys\[0\]\.colour"):
        load_inventory(path)


def test_protection_levels_order_and_dedicated_semantics() -> None:
    assert ProtectionLevel.HSM.satisfies(ProtectionLevel.HSM)
    assert ProtectionLevel.EXTERNAL.satisfies(ProtectionLevel.DEDICATED_HSM)
    assert ProtectionLevel.DEDICATED_HSM.satisfies(ProtectionLevel.HSM)
    assert not ProtectionLevel.SOFTWARE.satisfies(ProtectionLevel.HSM)
    assert not ProtectionLevel.HSM.satisfies(ProtectionLevel.DEDICATED_HSM)


def test_broad_levels() -> None:
    assert ScopeLevel.SCOPE.is_broad and ScopeLevel.ORGANIZATION.is_broad
    assert not ScopeLevel.KEY.is_broad and not ScopeLevel.KEY_STORE.is_broad


def test_key_that_does_not_inherit_ignores_scope_and_parent_bindings() -> None:
    inv = _hierarchy_inventory()
    isolated = dataclasses.replace(inv.keys[0], inherits_access=False)
    inv = inv.model_copy(update={"keys": (isolated, inv.keys[1])})
    assert set(inv.effective_access(isolated)) == {"user:ana@example.com"}
    assert inv.effective_access(isolated)["user:ana@example.com"] == frozenset(
        {Capability.ENCRYPT, Capability.DECRYPT}
    )
