"""The GCP replay server, driven by the real google-cloud clients over REST (loopback HTTP only)."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from providers.gcp.clients import (
    asset_client,
    folders_client,
    kms_client,
    normalise_endpoint,
    organizations_client,
    projects_client,
)
from providers.gcp.replay import Exchange, ReplayServer, load_cassette
from tests.providers.gcp.wire import check_exchange

CASSETTES = Path(__file__).parent / "cassettes"
KMS = CASSETTES / "kms_acme_prod.json"
RM = CASSETTES / "resourcemanager_hierarchy.json"
ERRORS = CASSETTES / "errors.json"
ASSETS = CASSETTES / "asset_org.json"

EW1 = "projects/acme-prod/locations/europe-west1"
PAYMENTS = f"{EW1}/keyRings/payments"
CARD = f"{PAYMENTS}/cryptoKeys/card-data"
# What every generated REST method appends, percent-encoded: ``$alt=json;enum-encoding=int``.
ALT = "%24alt=json%3Benum-encoding%3Dint"


@pytest.fixture
def server():
    with ReplayServer(KMS, RM, ERRORS, ASSETS) as srv:
        yield srv


def test_binds_loopback_only_and_stops() -> None:
    srv = ReplayServer(KMS)
    with srv:
        port = srv.port
        assert srv.url == f"http://127.0.0.1:{port}"
        assert srv.address == ("127.0.0.1", port)
        listening = Path("/proc/net/tcp")
        if listening.exists():  # Linux: the kernel's view of the listening socket (state 0A = LISTEN)
            rows = [line.split() for line in listening.read_text().splitlines()[1:]]
            mine = [r for r in rows if r[1].endswith(f":{port:04X}") and r[3] == "0A"]
            assert [r[1] for r in mine] == [f"0100007F:{port:04X}"]
        # An idle kept-alive connection must not hold up stop().
        idle = socket.create_connection(("127.0.0.1", port), timeout=2)
        started = time.monotonic()
    assert time.monotonic() - started < 2
    idle.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    with pytest.raises(RuntimeError):
        _ = srv.url


def test_kept_alive_requests_are_fast(server: ReplayServer) -> None:
    """One connection, many requests: with Nagle on, each would wait ~40 ms for a delayed ACK."""
    kms = kms_client(server.url, anonymous=True)
    started = time.monotonic()
    for _ in range(100):
        kms.get_iam_policy(request={"resource": CARD, "options": {"requested_policy_version": 3}})
    assert time.monotonic() - started < 2
    assert server.calls[f"/v1/{CARD}:getIamPolicy"] == 100


def test_locations_mixin_pages_by_hand(server: ReplayServer) -> None:
    """``list_locations`` is a mixin: it returns one raw ``ListLocationsResponse`` page, not a pager."""
    kms = kms_client(server.url, anonymous=True)
    names, token = [], ""
    while True:
        page = kms.list_locations(request={"name": "projects/acme-prod", "page_token": token})
        names += [loc.location_id for loc in page.locations]
        token = page.next_page_token
        if not token:
            break
    assert names == ["global", "europe-west1", "europe", "us-east1"]
    first, second = [r for r in server.requests if r.path == "/v1/projects/acme-prod/locations"]
    assert first.raw_query == ""  # the mixins send no $alt
    assert second.query == {"pageToken": ["CgxldXJvcGUtd2VzdDE"]}
    server.assert_all_matched()


def test_pager_follows_next_page_token_for_key_rings_and_keys(server: ReplayServer) -> None:
    from google.cloud import kms_v1

    kms = kms_client(server.url, anonymous=True)
    rings = [r.name for r in kms.list_key_rings(parent=EW1)]
    assert rings == [PAYMENTS, f"{EW1}/keyRings/backups"]
    assert server.calls[f"/v1/{EW1}/keyRings"] == 2

    full = kms_v1.CryptoKeyVersion.CryptoKeyVersionView.FULL
    keys = {
        k.name.rsplit("/", 1)[1]: k
        for k in kms.list_crypto_keys(request={"parent": PAYMENTS, "version_view": full})
    }
    assert list(keys) == ["card-data", "signing", "ekm-vpc", "ekm-internet"]
    assert server.calls[f"/v1/{PAYMENTS}/cryptoKeys"] == 2
    first_page = next(r for r in server.requests if r.path == f"/v1/{PAYMENTS}/cryptoKeys")
    assert first_page.raw_query == f"versionView=1&{ALT}"  # enums travel as integers

    level = kms_v1.ProtectionLevel
    card = keys["card-data"]
    assert card.purpose == kms_v1.CryptoKey.CryptoKeyPurpose.ENCRYPT_DECRYPT
    assert card.rotation_period.total_seconds() == 90 * 86400
    assert card.next_rotation_time.isoformat() == "2024-08-31T09:12:44+00:00"
    assert card.destroy_scheduled_duration.total_seconds() == 30 * 86400
    assert dict(card.labels)["data-class"] == "pci"
    assert card.primary.name.endswith("/cryptoKeyVersions/2")
    assert card.version_template.protection_level == level.SOFTWARE
    signing = keys["signing"]
    assert signing.version_template.protection_level == level.HSM
    assert "primary" not in signing  # asymmetric keys have no primary version
    ekm_vpc = keys["ekm-vpc"]
    assert ekm_vpc.version_template.protection_level == level.EXTERNAL_VPC
    assert ekm_vpc.crypto_key_backend == f"{EW1}/ekmConnections/thales-ekm"
    assert (
        ekm_vpc.primary.external_protection_level_options.ekm_connection_key_path == "v0/keys/acme-card-kek"
    )
    assert keys["ekm-internet"].primary.external_protection_level_options.external_key_uri.startswith(
        "https://"
    )
    server.assert_all_matched()


def test_crypto_key_versions_include_destroy_scheduled(server: ReplayServer) -> None:
    from google.cloud import kms_v1

    kms = kms_client(server.url, anonymous=True)
    versions = list(kms.list_crypto_key_versions(parent=f"{EW1}/keyRings/backups/cryptoKeys/old-backups"))
    state = kms_v1.CryptoKeyVersion.CryptoKeyVersionState
    assert [v.state for v in versions] == [state.DESTROY_SCHEDULED, state.ENABLED]
    assert versions[0].destroy_time.isoformat() == "2024-07-14T10:00:00+00:00"


def test_key_iam_policy_version_3_with_condition(server: ReplayServer) -> None:
    from google.api_core.exceptions import NotFound
    from google.protobuf.json_format import MessageToDict

    kms = kms_client(server.url, anonymous=True)
    policy = kms.get_iam_policy(request={"resource": CARD, "options": {"requested_policy_version": 3}})
    request = server.requests[-1]
    assert (request.method, request.path) == ("GET", f"/v1/{CARD}:getIamPolicy")
    assert request.raw_query == "options.requestedPolicyVersion=3"  # IAM mixin: no $alt either
    assert policy.version == 3
    as_json = MessageToDict(policy)  # the camelCase REST shape providers.gcp.iam reads
    conditional = [b for b in as_json["bindings"] if "condition" in b]
    assert conditional == [
        {
            "role": "roles/cloudkms.cryptoKeyDecrypter",
            "members": ["group:payments-oncall@example.com"],
            "condition": {
                "title": "break-glass until July",
                "description": "Temporary decrypt access for the incident INC-2291",
                "expression": 'request.time < timestamp("2024-07-01T00:00:00Z")',
            },
        }
    ]
    # Without requestedPolicyVersion the recording does not answer: the cassette pins the version.
    with pytest.raises(NotFound):
        kms.get_iam_policy(request={"resource": CARD})
    assert [str(r) for r in server.unmatched] == [f"GET /v1/{CARD}:getIamPolicy"]


def test_project_iam_policy_is_a_post_with_the_version_in_the_body(server: ReplayServer) -> None:
    from google.api_core.exceptions import NotFound

    projects = projects_client(server.url, anonymous=True)
    policy = projects.get_iam_policy(
        request={"resource": "projects/111111111111", "options": {"requested_policy_version": 3}}
    )
    request = server.requests[-1]
    assert (request.method, request.path, request.body) == (
        "POST",
        "/v3/projects/111111111111:getIamPolicy",
        {"options": {"requestedPolicyVersion": 3}},
    )
    assert request.raw_query == ALT
    assert {b.role for b in policy.bindings} >= {"roles/owner", "roles/cloudkms.admin"}
    assert [c.service for c in policy.audit_configs] == ["cloudkms.googleapis.com"]
    with pytest.raises(NotFound):  # body {} does not match the recorded body
        projects.get_iam_policy(resource="projects/111111111111")
    assert server.unmatched[-1].body == {}


def test_ancestry_project_folder_organization(server: ReplayServer) -> None:
    from google.cloud import resourcemanager_v3

    projects = projects_client(server.url, anonymous=True)
    folders = folders_client(server.url, anonymous=True)
    orgs = organizations_client(server.url, anonymous=True)
    v3 = {"options": {"requested_policy_version": 3}}

    project = projects.get_project(name="projects/acme-prod")
    assert (project.name, project.project_id) == ("projects/111111111111", "acme-prod")
    assert project.state == resourcemanager_v3.Project.State.ACTIVE
    chain = [project.name]
    parent = project.parent
    while parent.startswith("folders/"):
        folder = folders.get_folder(name=parent)
        chain.append(folder.name)
        parent = folder.parent
    org = orgs.get_organization(name=parent)
    chain.append(org.name)
    assert chain == ["projects/111111111111", "folders/345678901234", "organizations/123456789012"]
    assert org.directory_customer_id == "C03x7k9qz"

    roles = {
        "folder": [b.role for b in folders.get_iam_policy(request={"resource": chain[1], **v3}).bindings],
        "org": [b.role for b in orgs.get_iam_policy(request={"resource": chain[2], **v3}).bindings],
    }
    assert "organizations/123456789012/roles/kmsKeyOperator" in roles["folder"]
    assert "roles/cloudkms.admin" in roles["org"]
    assert [r.method for r in server.requests[-2:]] == ["POST", "POST"]
    server.assert_all_matched()


def test_permission_denied_and_quota_errors_surface_without_retry(server: ReplayServer) -> None:
    """Over REST, api_core picks the exception class from the HTTP status alone.

    A 403 is ``Forbidden`` (the base class of ``PermissionDenied``) and a 429 ``TooManyRequests`` (the
    base of ``ResourceExhausted``), whatever the body's ``status`` says, and their ``grpc_status_code``
    is None: catch the base classes (which also cover the gRPC subclasses) and read ``code``, ``reason``
    and ``metadata`` (from the ErrorInfo detail). Neither is retried by the default retry policy.
    """
    from google.api_core.exceptions import Forbidden, TooManyRequests

    kms = kms_client(server.url, anonymous=True)
    with pytest.raises(Forbidden) as denied:
        kms.list_locations(request={"name": "projects/acme-restricted"})
    assert type(denied.value) is Forbidden
    assert (denied.value.code, denied.value.grpc_status_code) == (403, None)
    assert denied.value.response.json()["error"]["status"] == "PERMISSION_DENIED"
    assert denied.value.reason == "IAM_PERMISSION_DENIED"
    assert denied.value.metadata == {
        "permission": "cloudkms.locations.list",
        "resource": "projects/acme-restricted",
    }
    assert "cloudkms.locations.list" in denied.value.message

    projects = projects_client(server.url, anonymous=True)
    started = time.monotonic()
    with pytest.raises(TooManyRequests) as throttled:
        projects.get_iam_policy(request={"resource": "projects/222222222222"})  # default retry policy
    assert time.monotonic() - started < 2
    assert type(throttled.value) is TooManyRequests
    assert (throttled.value.code, throttled.value.grpc_status_code) == (429, None)
    assert throttled.value.reason == "RATE_LIMIT_EXCEEDED"
    assert throttled.value.domain == "googleapis.com"
    assert server.calls["/v3/projects/222222222222:getIamPolicy"] == 1
    assert server.calls["/v1/projects/acme-restricted/locations"] == 1
    server.assert_all_matched()  # errors are recorded exchanges, not unmatched requests


def test_injected_errors_take_precedence_for_a_number_of_calls(server: ReplayServer) -> None:
    from google.api_core.exceptions import Forbidden, ResourceExhausted, TooManyRequests

    kms = kms_client(server.url, anonymous=True)
    projects = projects_client(server.url, anonymous=True)
    server.inject_error("GET", f"/v1/{EW1}/keyRings", "RESOURCE_EXHAUSTED", times=1)
    with pytest.raises(TooManyRequests) as excinfo:
        list(kms.list_key_rings(parent=EW1, retry=None))
    assert not isinstance(excinfo.value, ResourceExhausted)  # the HTTP class, see the test above
    assert len(list(kms.list_key_rings(parent=EW1))) == 2  # injection used up: the recording answers

    # 503 is retried by the default policy (UNAVAILABLE), with a short first backoff.
    server.inject_error("GET", "/v3/projects/acme-prod", "UNAVAILABLE", times=1)
    started = time.monotonic()
    assert projects.get_project(name="projects/acme-prod").project_id == "acme-prod"
    assert time.monotonic() - started < 2
    assert server.calls["/v3/projects/acme-prod"] == 2

    server.inject_error("GET", f"/v1/{CARD}:getIamPolicy", "PERMISSION_DENIED")  # every time
    for _ in range(2):
        with pytest.raises(Forbidden):
            kms.get_iam_policy(request={"resource": CARD, "options": {"requested_policy_version": 3}})
    server.assert_all_matched()


def test_unmatched_requests_are_reported(server: ReplayServer) -> None:
    from google.api_core.exceptions import NotFound

    kms = kms_client(server.url, anonymous=True)
    with pytest.raises(NotFound) as excinfo:
        kms.list_crypto_keys(parent=f"{EW1}/keyRings/unknown")
    assert "no recorded exchange" in excinfo.value.message
    assert [(r.method, r.path) for r in server.unmatched] == [
        ("GET", f"/v1/{EW1}/keyRings/unknown/cryptoKeys")
    ]
    with pytest.raises(AssertionError, match="1 request"):
        server.assert_all_matched()
    # A page token nobody recorded is not answered with the first page.
    with pytest.raises(NotFound):
        kms.list_key_rings(request={"parent": EW1, "page_token": "stale"})
    assert server.unmatched[-1].query == {"pageToken": ["stale"]}


def test_asset_inventory_lists_keys_and_searches_policies(server: ReplayServer) -> None:
    from google.cloud import asset_v1

    assets = asset_client(server.url, anonymous=True)
    key_type = "cloudkms.googleapis.com/CryptoKey"
    found = list(
        assets.list_assets(
            request={
                "parent": "organizations/123456789012",
                "asset_types": [key_type],
                "content_type": asset_v1.ContentType.RESOURCE,
            }
        )
    )
    assert [a.name.rsplit("/", 1)[1] for a in found] == ["card-data", "signing"]
    data = asset_v1.Asset.to_dict(found[0])["resource"]["data"]
    assert (data["rotationPeriod"], data["versionTemplate"]["protectionLevel"]) == ("7776000s", "SOFTWARE")
    first = next(r for r in server.requests if r.path.endswith("/assets"))
    assert first.query == {"assetTypes": [key_type], "contentType": ["1"]}

    results = list(
        assets.search_all_iam_policies(
            request={"scope": "organizations/123456789012", "asset_types": [key_type]}
        )
    )
    assert results[0].resource == f"//cloudkms.googleapis.com/{CARD}"
    assert any(b.condition.expression for b in results[0].policy.bindings)
    server.assert_all_matched()


@pytest.mark.parametrize("cassette", sorted(CASSETTES.glob("*.json")), ids=lambda p: p.stem)
def test_cassettes_are_valid_wire_json(cassette: Path) -> None:
    for exchange in load_cassette(cassette):
        check_exchange(exchange)


def test_cassette_validation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"method": "GET", "path": "/v1/x", "respone": {}}]))
    with pytest.raises(ValueError, match="respone"):
        load_cassette(bad)
    bad.write_text(json.dumps({"method": "GET"}))
    with pytest.raises(ValueError, match="list of exchanges"):
        load_cassette(bad)
    with pytest.raises(ValueError, match="canonical status"):
        ReplayServer(exchanges=[{"method": "GET", "path": "/v1/x", "error": "NOPE"}])
    with pytest.raises(ValueError, match="HTTP status"):
        Exchange.from_mapping({"method": "GET", "path": "/v1/x", "status": "403"})
    # A bare error status gets a Google error body.
    bare = Exchange.from_mapping({"method": "GET", "path": "/v1/x", "status": 403})
    assert bare.response["error"]["status"] == "PERMISSION_DENIED"
    assert bare.response["error"]["details"][0]["reason"] == "IAM_PERMISSION_DENIED"


def test_endpoint_normalisation() -> None:
    assert normalise_endpoint("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"
    assert normalise_endpoint("http://[::1]:8080") == "http://[::1]:8080"
    assert normalise_endpoint("cloudkms-psc.p.googleapis.com") == "cloudkms-psc.p.googleapis.com"
    # Plain http is allowed anywhere (SPEC 2.1); the factories warn about it off loopback.
    assert normalise_endpoint("http://10.0.0.8:8080/") == "http://10.0.0.8:8080"
    with pytest.raises(ValueError, match="scheme"):
        normalise_endpoint("ftp://127.0.0.1")
