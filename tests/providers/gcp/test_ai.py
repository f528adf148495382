"""AI workloads on GCP: AI resources from Cloud Asset Inventory and the AI service agents, through the real
google-cloud clients and the replay server, into the inventory and the AI rules."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from providers.gcp import simulated as sim
from providers.gcp.ai import AI_ASSET_TYPES, ai_service_of_member, key_uid
from providers.gcp.collect import GcpCollector, GcpOptions, RawGcpEstate
from providers.gcp.normalise import normalise
from providers.gcp.plugin import GcpProvider
from providers.gcp.replay import ReplayServer
from scanner.engine import discover_rules, evaluate_all
from scanner.inventory import (
    Encryption,
    ErrorClass,
    Inventory,
    PrincipalKind,
    ProtectedResource,
    ResourceAspect,
    ScopeAspect,
)
from scanner.policy import default_policy, load_policy
from scanner.progress import NullProgress
from scanner.provider import CollectRequest
from scanner.rule import Context, Status

CASSETTES = Path(__file__).parent / "cassettes"
SAMPLE_POLICY = Path(__file__).parents[3] / "samples" / "cek-policy.yaml"
PROJECTS = ("acme-prod", "acme-dev", "acme-restricted")
CARD = "projects/acme-prod/locations/europe-west1/keyRings/payments/cryptoKeys/card-data"
EKM_VPC = "projects/acme-prod/locations/europe-west1/keyRings/payments/cryptoKeys/ekm-vpc"
APP_KEY = "projects/acme-dev/locations/us-central1/keyRings/apps/cryptoKeys/app-key"
VERTEX = "//aiplatform.googleapis.com/projects"
NOW = datetime(2026, 11, 20, tzinfo=UTC)  # the demo estate's snapshot day
AI_RULES = (
    "ai_resource_uses_customer_managed_key",
    "ai_workload_keys_meet_policy",
    "ai_service_not_key_admin",
    "ai_workload_keys_dedicated",
    "key_origin_allowed",
)


def _by_name(inventory: Inventory) -> dict[str, ProtectedResource]:
    return {r.name or r.uid: r for r in inventory.resources}


# ------------------------------------------------------------------------------- the one table (pure)
def test_service_agents_are_ai_principals_and_nothing_else_is() -> None:
    assert ai_service_of_member("serviceAccount:service-42@gcp-sa-aiplatform.iam.gserviceaccount.com") == (
        "vertex_ai"
    )
    assert ai_service_of_member("serviceAccount:service-42@gcp-sa-aiplatform-cc.iam.gserviceaccount.com") == (
        "vertex_ai"
    )
    agent = "serviceAccount:service-42@gcp-sa-prod-dai-core.iam.gserviceaccount.com"
    assert ai_service_of_member(agent) == "document_ai"
    assert ai_service_of_member("serviceAccount:service-42@gcp-sa-bigquery.iam.gserviceaccount.com") is None
    # A customer's own account is no agent, whatever it is called.
    assert ai_service_of_member("serviceAccount:vertex@gcp-sa-aiplatform.iam.gserviceaccount.com") is None
    assert ai_service_of_member("user:service-42@gcp-sa-aiplatform.iam.gserviceaccount.com") is None


def test_key_references_are_spelled_as_key_uids() -> None:
    assert key_uid(f"{CARD}/cryptoKeyVersions/7") == CARD
    assert key_uid(f"//cloudkms.googleapis.com/{CARD}") == CARD
    assert key_uid(CARD) == CARD


# ------------------------------------------------------------------- per-project path (cassettes)
@pytest.fixture(scope="module")
def scanned() -> Iterator[tuple[RawGcpEstate, Inventory, dict[str, int]]]:
    with ReplayServer(*sorted(CASSETTES.glob("*.json"))) as server:
        options = GcpOptions(
            projects=PROJECTS, endpoint=server.url, concurrency=3, anonymous=True, retry_deadline=0.3
        )
        estate = GcpCollector(options, NullProgress()).collect()
        assert [str(r) for r in server.unmatched] == []
        calls = dict(server.calls)
    yield estate, normalise(estate), calls


def test_each_project_lists_its_ai_resources_through_cloud_asset(
    scanned: tuple[RawGcpEstate, Inventory, dict[str, int]],
) -> None:
    estate, inventory, calls = scanned
    # One paged list_assets call per project: acme-prod's two pages, acme-dev's one.
    assert calls["/v1/projects/111111111111/assets"] == 2
    assert calls["/v1/projects/333333333333/assets"] == 1
    assert estate.api_calls["cloudasset.assets.listAssets"] == 4  # the restricted project's call included
    found = _by_name(inventory)
    assert sorted(found) == [
        "claims-images",
        "fraud-detector",
        "fraud-scoring",
        "invoice-parser",
        "policy-docs",
        "risk-workbench",
    ]
    endpoint = found["fraud-scoring"]
    assert endpoint.uid == f"{VERTEX}/111111111111/locations/europe-west1/endpoints/4815162342"
    assert (endpoint.provider.value, endpoint.scope, endpoint.location) == (
        "gcp",
        "acme-prod",
        "europe-west1",
    )
    assert (endpoint.service, endpoint.ai_service) == ("vertex_ai", "vertex_ai")
    assert endpoint.native_type == "aiplatform.googleapis.com/Endpoint"
    # The endpoint names a key version: the resource is protected by its key, as Key.uid spells it.
    assert (endpoint.encryption, endpoint.keys) == (Encryption.CUSTOMER_MANAGED, (CARD,))
    assert endpoint.evidence == {"field": "encryptionSpec.kmsKeyName", "value": f"{CARD}/cryptoKeyVersions/2"}
    assert endpoint.tags == {"team": "risk", "tenant": "cards"}
    assert CARD in {k.uid for k in inventory.keys}

    # No encryptionSpec: Google default encryption.
    model = found["fraud-detector"]
    assert (model.encryption, model.keys) == (Encryption.PROVIDER_MANAGED, ())
    # A Workbench instance with its boot disk under CMEK and a data disk under Google's key.
    workbench = found["risk-workbench"]
    assert (workbench.service, workbench.location) == ("notebooks", "europe-west1-b")
    assert (workbench.encryption, workbench.keys) == (Encryption.PROVIDER_MANAGED, (CARD,))
    assert workbench.evidence["field"] == "gceSetup.bootDisk.kmsKey, gceSetup.dataDisks[0].kmsKey"
    # Document AI (a key in full resource name form) and Vertex AI Search (cmekConfig).
    processor, store = found["invoice-parser"], found["policy-docs"]
    assert (processor.ai_service, processor.encryption, processor.keys) == (
        "document_ai",
        Encryption.CUSTOMER_MANAGED,
        (EKM_VPC,),
    )
    assert (store.ai_service, store.encryption, store.keys) == (
        "discovery_engine",
        Encryption.CUSTOMER_MANAGED,
        (EKM_VPC,),
    )
    dataset = found["claims-images"]
    assert (dataset.scope, dataset.encryption, dataset.keys) == (
        "acme-dev",
        Encryption.CUSTOMER_MANAGED,
        (APP_KEY,),
    )


def test_a_project_whose_ai_resources_cannot_be_listed_is_unknown_not_empty(
    scanned: tuple[RawGcpEstate, Inventory, dict[str, int]],
) -> None:
    _, inventory, _ = scanned
    restricted = inventory.scope_by_uid["acme-restricted"]
    assert ScopeAspect.AI_RESOURCES in restricted.unreadable
    [denied] = [e for e in inventory.errors if e.api == "cloudasset.assets.listAssets"]
    assert (denied.scope, denied.error_class, denied.resource) == (
        "acme-restricted",
        ErrorClass.ACCESS_DENIED,
        "projects/222222222222",
    )
    assert "cloudasset.assets.listResource" in denied.message
    for listed in ("acme-prod", "acme-dev"):
        assert ScopeAspect.AI_RESOURCES not in inventory.scope_by_uid[listed].unreadable


def test_keys_protecting_ai_resources_and_their_verdicts(
    scanned: tuple[RawGcpEstate, Inventory, dict[str, int]],
) -> None:
    _, inventory, _ = scanned
    use = inventory.ai_key_use
    assert use[CARD].services == ("notebooks", "vertex_ai")
    assert len(use[CARD].resources) == 2
    assert use[EKM_VPC].services == ("discovery_engine", "document_ai")
    findings = evaluate_all(discover_rules(), Context.build(inventory, default_policy(), now=NOW))
    verdicts = {
        f.resource.name: f.status for f in findings if f.rule_id == "ai_resource_uses_customer_managed_key"
    }
    assert verdicts == {
        "fraud-scoring": Status.PASS,
        "fraud-detector": Status.FAIL,
        "risk-workbench": Status.FAIL,
        "invoice-parser": Status.PASS,
        "policy-docs": Status.PASS,
        "claims-images": Status.PASS,
    }


# --------------------------------------------------------------- Cloud Asset Inventory path (simulated)
ORG_ID = "555000333444"
ORG = f"organizations/{ORG_ID}"
HUB, APP = "kms-hub", "ml-app"
APP_NUMBER = "700000000020"


def _ai_estate() -> sim.Estate:
    """Keys in a key project; Vertex AI resources in an application project that holds no key."""
    org = sim.Organization(ORG_ID, "example.net")
    hub = sim.Project(HUB, "700000000010", ORG, "Key hub")
    app = sim.Project(APP, APP_NUMBER, ORG, "ML app")
    ring = sim.KeyRing(HUB, "us-central1", "vertex")
    agent = f"serviceAccount:service-{APP_NUMBER}@gcp-sa-aiplatform.iam.gserviceaccount.com"
    key = sim.CryptoKey(
        ring,
        "models",
        protection_level="HSM",
        rotation_period_days=90,
        versions=[sim.Version(1, "ENABLED", "HSM", "2026-10-01T00:00:00Z")],
        primary=1,
        policy=sim.policy(sim.binding("roles/cloudkms.cryptoKeyEncrypterDecrypter", agent)),
    )
    resources = [
        sim.AiResource(
            APP,
            "aiplatform.googleapis.com/Endpoint",
            "locations/us-central1/endpoints/1",
            "scoring",
            key=f"{key.resource_name}/cryptoKeyVersions/1",
            labels={"tenant": "a"},
        ),
        sim.AiResource(
            APP, "notebooks.googleapis.com/Instance", "locations/us-central1-a/instances/lab", "lab"
        ),
    ]
    return sim.Estate(
        organization=org, projects=[hub, app], key_rings=[ring], keys=[key], ai_resources=resources
    ).validate()


def _scan_org(server: ReplayServer) -> tuple[RawGcpEstate, Inventory]:
    options = GcpOptions(organization=ORG, endpoint=server.url, anonymous=True, retry_deadline=0.3)
    estate = GcpCollector(options, NullProgress()).collect()
    return estate, normalise(estate)


def test_an_organization_scan_finds_projects_holding_only_ai_resources() -> None:
    estate = _ai_estate()
    with ReplayServer(exchanges=sim.asset_exchanges(estate, ORG, assets_per_page=1)) as server:
        raw, inventory = _scan_org(server)
        assert [str(r) for r in server.unmatched] == []
        # The AI listing paged (one asset a page); the application project was named by its number once.
        assert server.calls[f"/v1/{ORG}/assets"] == 3 + 2  # a ring, a key, a version; then 2 AI resources
        assert server.calls[f"/v3/projects/{APP_NUMBER}"] == 1
    assert raw.paths[ORG] == "asset_inventory"
    assert {s.uid for s in inventory.scopes} == {HUB, APP}
    app = inventory.scope_by_uid[APP]
    assert (app.name, app.unreadable, [p.uid for p in app.parents]) == ("ML app", frozenset(), [ORG])
    # No key lives in the application project: there is no key use to audit-log there.
    assert {a.scope for a in inventory.audit_logging} == {HUB}
    found = _by_name(inventory)
    key = f"projects/{HUB}/locations/us-central1/keyRings/vertex/cryptoKeys/models"
    assert (found["scoring"].scope, found["scoring"].keys) == (APP, (key,))
    assert (found["lab"].encryption, found["lab"].evidence["field"]) == (
        Encryption.PROVIDER_MANAGED,
        "gceSetup.bootDisk.kmsKey",
    )
    agent = inventory.principal_by_uid[
        f"serviceAccount:service-{APP_NUMBER}@gcp-sa-aiplatform.iam.gserviceaccount.com"
    ]
    assert (agent.kind, agent.ai_service) == (PrincipalKind.SERVICE, "vertex_ai")
    assert inventory.ai_key_use[key].principals == (agent.uid,)


def test_a_failed_ai_listing_leaves_the_keys_and_marks_ai_resources_unknown() -> None:
    estate = _ai_estate()
    with ReplayServer(exchanges=sim.asset_exchanges(estate, ORG)) as server:
        server.inject_error(
            "GET", f"/v1/{ORG}/assets", "INVALID_ARGUMENT", query={"assetTypes": list(AI_ASSET_TYPES)}
        )
        raw, inventory = _scan_org(server)
    # Cloud KMS was read through Cloud Asset all the same.
    assert raw.paths[ORG] == "asset_inventory"
    assert [k.name for k in inventory.keys] == ["models"]
    assert inventory.resources == ()
    # The application project is unknown now; the key project's AI resources are unknown, not "none".
    assert {s.uid for s in inventory.scopes} == {HUB}
    assert ScopeAspect.AI_RESOURCES in inventory.scope_by_uid[HUB].unreadable
    [error] = [e for e in inventory.errors if e.api == "cloudasset.assets.listAssets"]
    assert (error.scope, error.error_class) == (ORG, ErrorClass.SERVICE_ERROR)
    findings = evaluate_all(discover_rules(), Context.build(inventory, default_policy(), now=NOW))
    coverage = {f.resource.uid: f.status for f in findings if f.rule_id == "scan_coverage_complete"}
    assert coverage == {HUB: Status.FAIL, ORG: Status.FAIL}


def test_unreadable_resource_content_is_unknown_encryption() -> None:
    from providers.gcp.collect import RawProject

    asset = {
        "name": f"{VERTEX}/1/locations/us-central1/endpoints/9",
        "assetType": "aiplatform.googleapis.com/Endpoint",
        "resource": {"location": "us-central1"},  # listed without its content
    }
    raw = RawProject(project_id="p1", resource="projects/1", ancestry_complete=True, policy={}, locations=[])
    raw.ai_assets = [asset]
    [resource] = normalise(RawGcpEstate(projects=[raw], errors=[])).resources
    assert (resource.encryption, resource.unreadable) == (None, frozenset({ResourceAspect.ENCRYPTION}))


# -------------------------------------------------------------------------------------- the demo
@pytest.fixture(scope="module")
def demo() -> Inventory:
    return GcpProvider().demo(CollectRequest(options={}, concurrency=4, progress=NullProgress()))


def test_demo_estate_holds_the_intended_ai_resources_keys_and_agents(demo: Inventory) -> None:
    byok = f"projects/{sim.PAYMENTS}/locations/us-central1/keyRings/vertex-fraud/cryptoKeys/fraud-models-byok"
    tabular = f"projects/{sim.ANALYTICS}/locations/us-central1/keyRings/archive/cryptoKeys/tabular-import"
    features = f"projects/{sim.ANALYTICS}/locations/us/keyRings/warehouse/cryptoKeys/ml-features"
    found = {r.name: (r.scope, r.ai_service, r.encryption, r.keys) for r in demo.resources}
    managed = Encryption.CUSTOMER_MANAGED
    assert found == {
        "fraud-scoring": (sim.ML, "vertex_ai", managed, (byok,)),
        "fraud-detector": (sim.ML, "vertex_ai", managed, (byok,)),
        "tabular-training": (sim.ANALYTICS, "vertex_ai", managed, (tabular,)),
        "churn-training-20261102": (sim.ANALYTICS, "vertex_ai", managed, (tabular,)),
        "churn-scoring": (sim.ANALYTICS, "vertex_ai", Encryption.PROVIDER_MANAGED, ()),
        "claims-parser": (sim.ANALYTICS, "document_ai", managed, (features,)),
    }
    agents = {p.uid.split("@")[1].split(".")[0]: p.ai_service for p in demo.principals if p.ai_service}
    assert agents == {
        "gcp-sa-aiplatform": "vertex_ai",
        "gcp-sa-aiplatform-cc": "vertex_ai",
        "gcp-sa-prod-dai-core": "document_ai",
    }
    bigquery = "serviceAccount:service-518273649051@gcp-sa-bigquery.iam.gserviceaccount.com"
    assert demo.principal_by_uid[bigquery].ai_service is None
    assert sorted(demo.ai_key_use) == sorted(
        {byok, tabular, features, tabular.replace("tabular-import", "model-archive-2023")}
    )


def test_every_ai_rule_passes_and_fails_somewhere_in_the_gcp_demo(demo: Inventory) -> None:
    findings = list(evaluate_all(discover_rules(), Context.build(demo, load_policy(SAMPLE_POLICY), now=NOW)))
    statuses: dict[str, set[Status]] = {rule: set() for rule in AI_RULES}
    for finding in findings:
        if finding.rule_id in statuses:
            statuses[finding.rule_id].add(finding.status)
    assert {rule: {Status.PASS, Status.FAIL} <= found for rule, found in statuses.items()} == dict.fromkeys(
        AI_RULES, True
    ), statuses
    byok = f"projects/{sim.PAYMENTS}/locations/us-central1/keyRings/vertex-fraud/cryptoKeys/fraud-models-byok"
    on_byok = {f.rule_id: f.status for f in findings if f.resource.uid == byok and f.rule_id in AI_RULES}
    assert on_byok == dict.fromkeys(AI_RULES[1:], Status.PASS)
