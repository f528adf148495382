"""GCP semantics settled in review: what grants nothing, what is counted once, what rotates, what is weakest.

Pure normaliser checks on raw responses, plus collector runs against the replay server where the
behaviour lives in the collector (custom role state, overlapping scopes)."""

from __future__ import annotations

import json
from typing import Any

from providers.gcp import simulated as sim
from providers.gcp.collect import (
    GcpCollector,
    GcpOptions,
    RawCryptoKey,
    RawEkmConnection,
    RawGcpEstate,
    RawKeyRing,
    RawLocation,
    RawProject,
)
from providers.gcp.iam import normalize_policy
from providers.gcp.normalise import normalise
from providers.gcp.plugin import _without_userinfo
from providers.gcp.replay import ReplayServer
from scanner.inventory import Capability, Inventory, ScopeLevel
from scanner.progress import NullProgress

RING = "projects/p1/locations/europe-west1/keyRings/r"
EKM = "projects/p1/locations/europe-west1/ekmConnections/ekm"
DEMO = json.loads(sim.DEMO_FILE.read_text(encoding="utf-8"))["exchanges"]


def _inventory(
    key: dict[str, Any],
    versions: list[dict[str, Any]] | None = None,
    *,
    connections: tuple[RawEkmConnection, ...] = (),
) -> Inventory:
    name = f"{RING}/cryptoKeys/k"
    raw_key = RawCryptoKey(name=name, key={"name": name, **key}, versions=versions or [], policy={})
    ring = RawKeyRing(name=RING, location="europe-west1", ring={"name": RING}, keys=[raw_key], policy={})
    project = RawProject(
        project_id="p1",
        resource="projects/1",
        ancestry_complete=True,
        policy={},
        locations=[RawLocation(location_id="europe-west1", key_rings=[ring])],
        ekm_connections=list(connections),
    )
    return normalise(RawGcpEstate(projects=[project], errors=[]))


def _external_vpc(backend: str | None) -> dict[str, Any]:
    key = {"purpose": "ENCRYPT_DECRYPT", "versionTemplate": {"protectionLevel": "EXTERNAL_VPC",
           "algorithm": "EXTERNAL_SYMMETRIC_ENCRYPTION"}}  # fmt: skip
    return {**key, "cryptoKeyBackend": backend} if backend else key


def test_deleted_members_grant_nothing() -> None:
    policy = {"bindings": [{"role": "roles/cloudkms.admin", "members": [
        "deleted:user:former@example.com?uid=123456789", "user:ana@example.com"]}]}  # fmt: skip
    assert [g.member for g in normalize_policy(policy)] == ["user:ana@example.com"]


def test_coordinated_external_keys_rotate_manual_ones_do_not() -> None:
    def supported(mode: str | None, backend: str | None = EKM) -> bool | None:
        connections = (
            () if mode is None else (RawEkmConnection(EKM, "europe-west1", {"keyManagementMode": mode}),)
        )
        [key] = _inventory(_external_vpc(backend), connections=connections).keys
        return key.auto_rotation_supported

    assert supported("CLOUD_KMS") is True  # Cloud KMS creates the external key versions itself
    assert supported("MANUAL") is False
    assert supported(None) is None  # the connection was not read: unknown, not "cannot rotate"
    assert supported("CLOUD_KMS", backend=None) is False


def test_rotation_period_is_rounded_up_to_whole_days() -> None:
    [key] = _inventory({"purpose": "ENCRYPT_DECRYPT", "rotationPeriod": "7776001s"}).keys
    assert key.rotation.period_days == 91  # 90 days and a second is over a 90-day maximum
    [key] = _inventory({"purpose": "ENCRYPT_DECRYPT", "rotationPeriod": "7776000s"}).keys
    assert key.rotation.period_days == 90


def test_the_weakest_algorithm_still_in_use_is_judged_not_the_template() -> None:
    key = {"purpose": "ASYMMETRIC_SIGN",
           "versionTemplate": {"protectionLevel": "HSM", "algorithm": "RSA_SIGN_PSS_4096_SHA512"}}  # fmt: skip
    versions = [
        {"name": f"{RING}/cryptoKeys/k/cryptoKeyVersions/1", "state": "ENABLED", "algorithm": "RSA_SIGN_PSS_2048_SHA256"},
        {"name": f"{RING}/cryptoKeys/k/cryptoKeyVersions/2", "state": "ENABLED", "algorithm": "RSA_SIGN_PSS_4096_SHA512"},
        {"name": f"{RING}/cryptoKeys/k/cryptoKeyVersions/3", "state": "DESTROYED", "algorithm": "RSA_SIGN_PSS_2048_SHA256"},
    ]  # fmt: skip
    [found] = _inventory(key, versions).keys
    assert (found.algorithm, found.size_bits) == ("RSA_SIGN_PSS_2048_SHA256", 2048)
    # Once the weak version is disabled, only the strong one is in use.
    versions[0] = {**versions[0], "state": "DISABLED"}
    [found] = _inventory(key, versions).keys
    assert found.size_bits == 4096


def test_a_disabled_custom_role_grants_nothing() -> None:
    estate = sim.demo_estate()
    [role] = [r for r in estate.custom_roles if r.name.startswith("organizations/")]
    exchanges = [
        {"method": "GET", "path": f"/v1/{role.name}",
         "response": {"name": role.name, "includedPermissions": role.included_permissions, "stage": "DISABLED"}},
        *sim.per_project_exchanges(estate),
    ]  # fmt: skip
    with ReplayServer(exchanges=exchanges) as server:
        options = GcpOptions(projects=(sim.PAYMENTS,), endpoint=server.url, anonymous=True)
        raw = GcpCollector(options, NullProgress()).collect()
    assert raw.custom_roles[role.name] == []
    inventory = normalise(raw)
    assert not [b for b in inventory.bindings if b.via == role.name]
    assert not [e for e in inventory.errors if e.resource == role.name]  # known, not unknown


def test_an_organization_and_a_folder_inside_it_read_each_project_once() -> None:
    with ReplayServer(exchanges=DEMO) as server:
        options = GcpOptions(organization=sim.ORG, folder=sim.PRODUCTION, endpoint=server.url, anonymous=True)
        inventory = normalise(GcpCollector(options, NullProgress()).collect())
    uids = [k.uid for k in inventory.keys]
    assert len(uids) == len(set(uids)) == 15
    assert sorted(s.uid for s in inventory.scopes) == sorted(
        {sim.PAYMENTS, sim.ANALYTICS, sim.SANDBOX, sim.ML}
    )
    # The AI resources too: each once.
    assert len(inventory.resources) == len({r.uid for r in inventory.resources}) == 6


def test_organization_and_folder_bindings_are_kept_once_for_all_projects() -> None:
    with ReplayServer(exchanges=DEMO) as server:
        options = GcpOptions(organization=sim.ORG, endpoint=server.url, anonymous=True)
        inventory = normalise(GcpCollector(options, NullProgress()).collect())
    above = [b for b in inventory.bindings if b.level in (ScopeLevel.ORGANIZATION, ScopeLevel.FOLDER)]
    identities = [(b.principal, b.target, b.capabilities, b.conditional, b.via) for b in above]
    assert above and len(identities) == len(set(identities))
    # ... and still reach the keys of every project below them.
    org_admins = "group:gcp-org-admins@example.com"
    for key in inventory.keys:
        if key.scope != sim.SANDBOX:
            assert Capability.ADMINISTER_ACCESS in inventory.effective_access(key).get(
                org_admins, frozenset()
            )


def test_the_recorded_endpoint_never_carries_credentials() -> None:
    assert (
        _without_userinfo("https://scanner:s3cret@psc.example.com:8443/base")
        == "https://psc.example.com:8443/base"
    )
    assert _without_userinfo("http://127.0.0.1:8080") == "http://127.0.0.1:8080"
