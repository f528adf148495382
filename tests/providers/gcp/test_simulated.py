"""providers.gcp.simulated: a declared estate served to the real google-cloud clients by ReplayServer."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from typing import Any

import pytest
from google.api_core import exceptions as gexc
from google.cloud import asset_v1

from providers.gcp import clients
from providers.gcp import simulated as sim
from providers.gcp.collect import GcpCollector, GcpOptions
from providers.gcp.normalise import normalise
from providers.gcp.replay import ReplayServer
from scanner.inventory import (
    Capability,
    ErrorClass,
    Inventory,
    Key,
    KeyPurpose,
    KeyState,
    ProtectionLevel,
    ScopeAspect,
    ScopeLevel,
)
from scanner.progress import NullProgress
from tests.providers.gcp.wire import WIRE_TYPES, check_exchange

ORG_ID = "555000111222"
ORG = f"organizations/{ORG_ID}"
FOLDER = "folders/777000111222"
SUBFOLDER = "folders/777000111333"
KEY_OPS = f"{ORG}/roles/keyOps"
ALPHA, BETA, GAMMA = "alpha-prod", "beta-dev", "gamma-lab"
MAIN = f"projects/{ALPHA}/locations/europe-west1/keyRings/main"


def _estate() -> sim.Estate:
    """Org -> folder -> subfolder; alpha (3 keys, pages of 2), beta (KMS denied), gamma (under the org)."""
    org = sim.Organization(
        ORG_ID,
        "example.org",
        sim.policy(
            sim.binding("roles/resourcemanager.organizationAdmin", "group:org-admins@example.org"),
            audit_configs=[sim.audit_config("allServices", "ADMIN_READ")],
        ),
    )
    folder = sim.Folder(
        FOLDER.split("/")[1],
        ORG,
        "Production",
        sim.policy(
            sim.binding(KEY_OPS, "group:sre@example.org"),
            sim.binding("roles/cloudkms.viewer", "group:auditors@example.org"),
        ),
    )
    subfolder = sim.Folder(
        SUBFOLDER.split("/")[1],
        FOLDER,
        "Payments",
        sim.policy(sim.binding("roles/viewer", "group:payments@example.org")),
    )
    alpha = sim.Project(
        ALPHA,
        "700000000001",
        SUBFOLDER,
        "Alpha",
        sim.policy(
            sim.binding("roles/owner", "user:alice@example.org"),
            audit_configs=[
                sim.audit_config(
                    "cloudkms.googleapis.com",
                    "DATA_READ",
                    "DATA_WRITE",
                    exempted={"DATA_READ": ["serviceAccount:batch@alpha-prod.iam.gserviceaccount.com"]},
                )
            ],
        ),
    )
    beta = sim.Project(BETA, "700000000002", FOLDER, "Beta")
    gamma = sim.Project(GAMMA, "700000000003", ORG, "Gamma")
    main = sim.KeyRing(
        ALPHA,
        "europe-west1",
        "main",
        sim.policy(sim.binding("roles/cloudkms.cryptoKeyEncrypterDecrypter", "serviceAccount:app@x.com")),
    )
    other = sim.KeyRing(BETA, "global", "other")
    lab = sim.KeyRing(GAMMA, "us", "lab")
    expiry = sim.condition('request.time < timestamp("2030-01-01T00:00:00Z")', "temporary")
    keys = [
        sim.CryptoKey(
            main,
            "card",
            protection_level="HSM",
            rotation_period_days=90,
            labels={"data_classification": "confidential"},
            versions=[
                sim.Version(1, "DESTROYED", "HSM", "2025-01-01T00:00:00Z", "2025-05-01T00:00:00Z"),
                sim.Version(2, "DISABLED", "HSM", "2025-04-01T00:00:00Z"),
                sim.Version(3, "ENABLED", "HSM", "2025-07-01T00:00:00Z"),
            ],
            primary=3,
            policy=sim.policy(
                sim.binding("roles/cloudkms.cryptoKeyDecrypter", "group:oncall@example.org", condition=expiry)
            ),
        ),
        sim.CryptoKey(
            main,
            "signer",
            purpose="ASYMMETRIC_SIGN",
            algorithm="EC_SIGN_P384_SHA384",
            versions=[sim.Version(1, "ENABLED", "SOFTWARE", "2025-02-01T00:00:00Z")],
            policy=sim.policy(sim.binding("roles/cloudkms.signer", "allUsers")),
        ),
        sim.CryptoKey(
            main,
            "vpc-kek",
            protection_level="EXTERNAL_VPC",
            algorithm="EXTERNAL_SYMMETRIC_ENCRYPTION",
            crypto_key_backend=f"projects/{ALPHA}/locations/europe-west1/ekmConnections/ekm1",
            versions=[
                sim.Version(
                    1, "DESTROY_SCHEDULED", "EXTERNAL_VPC", "2025-03-01T00:00:00Z", "2030-01-01T00:00:00Z"
                )
            ],
            primary=1,
        ),
        sim.CryptoKey(
            other,
            "hidden",
            versions=[sim.Version(1, "ENABLED", "SOFTWARE", "2025-03-01T00:00:00Z")],
            primary=1,
        ),
        sim.CryptoKey(
            lab,
            "byok",
            import_only=True,
            versions=[sim.Version(1, "ENABLED", "SOFTWARE", "2025-03-01T00:00:00Z")],
            primary=1,
            policy=sim.policy(sim.binding("roles/cloudkms.cryptoKeyEncrypter", "user:bob@example.org")),
        ),
    ]
    role = sim.CustomRole(
        KEY_OPS,
        ["cloudkms.cryptoKeys.setIamPolicy", "cloudkms.cryptoKeyVersions.useToDecrypt"],
        title="Key operations",
    )
    return sim.Estate(
        organization=org,
        folders=[folder, subfolder],
        projects=[alpha, beta, gamma],
        key_rings=[main, other, lab],
        keys=keys,
        custom_roles=[role],
        error_overrides={f"/v1/projects/{BETA}/locations": "PERMISSION_DENIED"},
        locations=("global", "us", "europe"),
    ).validate()


def _key(inventory: Inventory, name: str) -> Key:
    [found] = [k for k in inventory.keys if k.name == name]
    return found


# ------------------------------------------------------------------------------------- per project
def test_per_project_exchanges_drive_the_real_collector() -> None:
    estate = _estate()
    with ReplayServer(exchanges=sim.per_project_exchanges(estate, page_size=2)) as server:
        options = GcpOptions(projects=(ALPHA, BETA), endpoint=server.url, concurrency=2, anonymous=True)
        raw = GcpCollector(options, NullProgress()).collect()
        assert [str(r) for r in server.unmatched] == []
        # Every list longer than two items was read page by page.
        assert server.calls[f"/v1/projects/{ALPHA}/locations"] == 2  # global, us, europe, europe-west1
        assert server.calls[f"/v1/{MAIN}/cryptoKeys"] == 2
        assert server.calls[f"/v1/{MAIN}/cryptoKeys/card/cryptoKeyVersions"] == 2
        assert server.calls[f"/v1/{KEY_OPS}"] == 1  # the custom role definition
    inventory = normalise(raw)

    assert {k.name for k in inventory.keys} == {"card", "signer", "vpc-kek"}
    card = _key(inventory, "card")
    assert (card.protection, card.state) == (ProtectionLevel.HSM, KeyState.ENABLED)
    assert card.rotation is not None and card.rotation.period_days == 90
    assert [v.state for v in card.versions] == [KeyState.DESTROYED, KeyState.DISABLED, KeyState.ENABLED]
    assert card.tags == {"data_classification": "confidential"}
    signer = _key(inventory, "signer")
    assert (signer.purpose, signer.curve) == (KeyPurpose.SIGN, "P-384")
    assert signer.rotation is not None and not signer.rotation.enabled
    kek = _key(inventory, "vpc-kek")
    assert (kek.protection, kek.state) == (ProtectionLevel.EXTERNAL, KeyState.PENDING_DELETION)

    found = {(b.principal, b.level, b.target, b.via, b.conditional) for b in inventory.bindings}
    assert found >= {
        (
            "group:org-admins@example.org",
            ScopeLevel.ORGANIZATION,
            ORG,
            "roles/resourcemanager.organizationAdmin",
            False,
        ),
        ("group:sre@example.org", ScopeLevel.FOLDER, FOLDER, KEY_OPS, False),
        ("user:alice@example.org", ScopeLevel.SCOPE, ALPHA, "roles/owner", False),
        (
            "serviceAccount:app@x.com",
            ScopeLevel.KEY_STORE,
            MAIN,
            "roles/cloudkms.cryptoKeyEncrypterDecrypter",
            False,
        ),
        ("group:oncall@example.org", ScopeLevel.KEY, card.uid, "roles/cloudkms.cryptoKeyDecrypter", True),
        ("allUsers", ScopeLevel.KEY, signer.uid, "roles/cloudkms.signer", False),
    }
    # The custom role read from GET /v1/organizations/O/roles/keyOps gives admin and use.
    assert {Capability.ADMINISTER_ACCESS, Capability.DECRYPT} <= inventory.effective_access(card)[
        "group:sre@example.org"
    ]
    alpha = inventory.scope_by_uid[ALPHA]
    assert [p.uid for p in alpha.parents] == [SUBFOLDER, FOLDER, ORG]
    assert not alpha.unreadable

    audit = {a.scope: a for a in inventory.audit_logging}
    # DATA_READ is on but exempts a member: its key use is not logged (CIS GCP 2.1), so not "logged".
    assert audit[ALPHA].usage_events is False
    assert audit[ALPHA].detail == (
        "DATA_READ is on for cloudkms but exempts serviceAccount:batch@alpha-prod.iam.gserviceaccount.com"
    )
    assert audit[BETA].usage_events is False  # only the organization's ADMIN_READ
    [denied] = [e for e in inventory.errors if e.scope == BETA]
    assert (denied.api, denied.error_class) == ("cloudkms.locations.list", ErrorClass.ACCESS_DENIED)
    assert ScopeAspect.KEYS in inventory.scope_by_uid[BETA].unreadable


# ----------------------------------------------------------------------------- Cloud Asset Inventory
def _list_assets(server: ReplayServer, scope: str) -> list[dict[str, Any]]:
    client = clients.asset_client(server.url, anonymous=True)
    request = {
        "parent": scope,
        "asset_types": list(sim.KMS_ASSET_TYPES),
        "content_type": asset_v1.ContentType.RESOURCE,
        "page_size": 1000,
    }
    return [asset_v1.Asset.to_dict(a) for a in client.list_assets(request=request)]


def _search(server: ReplayServer, scope: str) -> list[dict[str, Any]]:
    client = clients.asset_client(server.url, anonymous=True)
    request = {"scope": scope, "asset_types": list(sim.POLICY_ASSET_TYPES), "page_size": 500}
    found = client.search_all_iam_policies(request=request)
    return [asset_v1.IamPolicySearchResult.to_dict(r, preserving_proto_field_name=False) for r in found]


def test_asset_exchanges_answer_the_real_asset_client_page_by_page() -> None:
    estate = _estate()
    exchanges = sim.asset_exchanges(estate, ORG, assets_per_page=3, results_per_page=2)
    with ReplayServer(exchanges=exchanges) as server:
        assets = _list_assets(server, ORG)
        results = _search(server, ORG)
        assert [str(r) for r in server.unmatched] == []
        # 3 rings + 5 keys + 7 versions + 1 EKM connection = 16 assets: 6 pages of 3.
        assert len(assets) == 16
        assert server.calls[f"/v1/{ORG}/assets"] == math.ceil(16 / 3)
        assert server.calls[f"/v1/{ORG}:searchAllIamPolicies"] == math.ceil(len(results) / 2) > 1

    by_name = {a["name"]: a for a in assets}
    for key in estate.keys:
        asset = by_name[sim.KMS_PREFIX + key.resource_name]
        assert asset["asset_type"] == "cloudkms.googleapis.com/CryptoKey"
        assert asset["resource"]["data"] == sim.crypto_key_json(key)  # what Cloud KMS itself returns
        assert asset["resource"]["parent"] == sim.KMS_PREFIX + key.ring.resource_name
        assert asset["resource"]["location"] == key.ring.location
    card = by_name[f"{sim.KMS_PREFIX}{MAIN}/cryptoKeys/card"]
    assert card["ancestors"] == ["projects/700000000001", SUBFOLDER, FOLDER, ORG]
    assert card["resource"]["data"]["primary"]["name"].endswith("/cryptoKeyVersions/3")
    assert card["resource"]["data"]["rotationPeriod"] == "7776000s"
    byok = by_name[f"{sim.KMS_PREFIX}projects/{GAMMA}/locations/us/keyRings/lab/cryptoKeys/byok"]
    assert byok["resource"]["data"]["importOnly"] is True
    assert byok["ancestors"] == ["projects/700000000003", ORG]
    types = sorted(a["asset_type"].rsplit("/", 1)[-1] for a in assets)
    assert types.count("CryptoKeyVersion") == 7 and types.count("EkmConnection") == 1
    # Cloud KMS's own asset is there even where the KMS API is denied to the scanner (beta).
    assert f"{sim.KMS_PREFIX}projects/{BETA}/locations/global/keyRings/other/cryptoKeys/hidden" in by_name

    policies = {r["resource"]: r for r in results}
    # Only key rings and keys are searched: project, folder and organization policies (with their audit
    # configs) come from Resource Manager.
    assert {r.get("asset_type", r.get("assetType")) for r in results} <= set(sim.POLICY_ASSET_TYPES)
    assert not [r for r in policies if r.startswith(sim.CRM_PREFIX)]
    card = policies[f"{sim.KMS_PREFIX}{MAIN}/cryptoKeys/card"]
    assert card["project"] == "projects/700000000001"
    assert card["folders"] == [SUBFOLDER, FOLDER]
    assert card["organization"] == ORG
    oncall = card["policy"]["bindings"][0]
    assert oncall["condition"]["title"] == "temporary"
    # Resources without bindings give no result.
    assert f"{sim.KMS_PREFIX}{MAIN}/cryptoKeys/vpc-kek" not in policies


def test_folder_scope_holds_only_what_is_below_the_folder() -> None:
    estate = _estate()
    with ReplayServer(exchanges=sim.asset_exchanges(estate, FOLDER)) as server:
        assets = _list_assets(server, FOLDER)
        results = _search(server, FOLDER)
        # The audit configs of the projects with keys and of every container above them.
        projects = clients.projects_client(server.url, anonymous=True)
        organizations = clients.organizations_client(server.url, anonymous=True)
        request = {"resource": "projects/700000000001", "options": {"requested_policy_version": 3}}
        assert projects.get_iam_policy(request=request).audit_configs[0].service == "cloudkms.googleapis.com"
        request = {"resource": ORG, "options": {"requested_policy_version": 3}}
        assert organizations.get_iam_policy(request=request).audit_configs[0].service == "allServices"
        assert organizations.get_organization(name=ORG).display_name == "example.org"
        assert [str(r) for r in server.unmatched] == []
    assert {a["name"].split("/")[4] for a in assets} == {ALPHA, BETA}  # not gamma, under the org only
    assert {r["resource"].split("/")[4] for r in results} <= {ALPHA, BETA}
    assert results


@pytest.mark.parametrize("reason", [True, "SERVICE_DISABLED"])
def test_asset_denied(reason: bool | str) -> None:
    exchanges = sim.asset_exchanges(_estate(), ORG, asset_denied=reason)
    with ReplayServer(exchanges=exchanges) as server:
        with pytest.raises(gexc.Forbidden) as listed:
            _list_assets(server, ORG)
        with pytest.raises(gexc.Forbidden) as searched:
            _search(server, ORG)
    expected = "IAM_PERMISSION_DENIED" if reason is True else "SERVICE_DISABLED"
    assert listed.value.reason == searched.value.reason == expected
    if reason is True:
        assert "cloudasset.assets.listResource" in listed.value.message
    else:
        assert listed.value.domain == "googleapis.com"
        assert "Cloud Asset API has not been used" in listed.value.message


# ------------------------------------------------------------------------------ fallback enumeration
def test_resource_manager_enumeration_answers_the_real_clients() -> None:
    estate = _estate()
    with ReplayServer(exchanges=sim.enumeration_exchanges(estate, ORG, page_size=1)) as server:
        folders = clients.folders_client(server.url, anonymous=True)
        projects = clients.projects_client(server.url, anonymous=True)
        assert [f.name for f in folders.list_folders(request={"parent": ORG})] == [FOLDER]
        assert [f.display_name for f in folders.list_folders(request={"parent": FOLDER})] == ["Payments"]
        assert list(folders.list_folders(request={"parent": SUBFOLDER})) == []
        assert [p.project_id for p in projects.list_projects(request={"parent": FOLDER})] == [BETA]
        assert [p.project_id for p in projects.list_projects(request={"parent": ORG})] == [GAMMA]
        found = list(projects.search_projects(request={"query": "state:ACTIVE"}))
        assert [(p.project_id, p.name, p.state.name) for p in found] == [
            (ALPHA, "projects/700000000001", "ACTIVE"),
            (BETA, "projects/700000000002", "ACTIVE"),
            (GAMMA, "projects/700000000003", "ACTIVE"),
        ]
        assert server.calls["/v3/projects:search"] == 3  # one project a page
        assert [str(r) for r in server.unmatched] == []


def test_invalid_estates_are_refused() -> None:
    estate = _estate()
    estate.projects.append(sim.Project("orphan", "1", "folders/404", "Orphan"))
    with pytest.raises(ValueError, match="unknown parent folders/404"):
        sim.per_project_exchanges(estate)
    estate = _estate()
    estate.keys[1].primary = 1  # an asymmetric key has no primary version
    with pytest.raises(ValueError, match="only ENCRYPT_DECRYPT keys have a primary"):
        estate.validate()


def test_every_response_is_valid_wire_json() -> None:
    estate = _estate()
    exchanges = sim.combine(
        json.loads(sim.DEMO_FILE.read_text(encoding="utf-8"))["exchanges"],
        sim.per_project_exchanges(estate, page_size=2),
        sim.asset_exchanges(estate, ORG, assets_per_page=4),
        sim.asset_exchanges(estate, FOLDER, asset_denied="SERVICE_DISABLED"),
    )
    checked = {check_exchange(exchange) for exchange in ReplayServer(exchanges=exchanges).exchanges}
    assert checked >= {pattern for pattern, _ in WIRE_TYPES} | {"role"}


def test_module_imports_the_standard_library_only() -> None:
    code = (
        "import sys; before = set(sys.modules); import providers.gcp.simulated; "
        "print(sorted({m.split('.')[0] for m in set(sys.modules) - before} - set(sys.stdlib_module_names)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['providers']"


# ------------------------------------------------------------------------------------------ the demo
def test_demo_estate_file_is_current() -> None:
    assert sim.DEMO_FILE.read_text(encoding="utf-8") == sim.render_demo(), (
        "run: python -m providers.gcp.simulated --write-demo"
    )
    check = [sys.executable, "-m", "providers.gcp.simulated", "--check-demo"]
    assert subprocess.run(check, capture_output=True, check=False).returncode == 0


def test_demo_estate_through_both_collection_paths() -> None:
    exchanges = json.loads(sim.DEMO_FILE.read_text(encoding="utf-8"))["exchanges"]
    inventories = {}
    for path, options in (
        ("asset", GcpOptions(organization=sim.ORG, anonymous=True)),
        (
            "per_project",
            GcpOptions(projects=(sim.PAYMENTS, sim.ANALYTICS, sim.SANDBOX, sim.ML), anonymous=True),
        ),
    ):
        with ReplayServer(exchanges=exchanges) as server:
            options.endpoint = server.url
            inventories[path] = normalise(GcpCollector(options, NullProgress()).collect())
            assert [str(r) for r in server.unmatched] == [], path
    asset, per_project = inventories["asset"], inventories["per_project"]
    assert len(asset.keys) == 15
    # The sandbox's Cloud KMS is denied: only Cloud Asset Inventory sees its two keys.
    assert {k.uid for k in asset.keys} - {k.uid for k in per_project.keys} == {
        f"projects/{sim.SANDBOX}/locations/global/keyRings/scratch/cryptoKeys/scratch-key",
        f"projects/{sim.SANDBOX}/locations/global/keyRings/scratch/cryptoKeys/test-signing",
    }
    for inventory in inventories.values():
        assert {e.scope for e in inventory.errors} == {sim.SANDBOX}
        assert inventory.scope_by_uid[sim.SANDBOX].unreadable
        assert not inventory.scope_by_uid[sim.PAYMENTS].unreadable
        protections = {k.protection for k in inventory.keys}
        assert protections == {
            ProtectionLevel.SOFTWARE,
            ProtectionLevel.HSM,
            ProtectionLevel.DEDICATED_HSM,
            ProtectionLevel.EXTERNAL,
        }
