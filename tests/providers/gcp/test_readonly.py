"""The GCP clients are read-only: allow-listed methods only, and an HTTP session that sends only reads.

Real google-cloud clients (REST) and google-auth against the loopback ReplayServer; nothing is mocked.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import requests
from structlog.testing import capture_logs

from providers.gcp import readonly
from providers.gcp.clients import (
    asset_client,
    ekm_client,
    folders_client,
    iam_roles_client,
    kms_client,
    organizations_client,
    projects_client,
)
from providers.gcp.readonly import (
    READ_OPERATIONS,
    ReadOnlyGuardError,
    ReadOnlyViolation,
    guard_client,
    guard_session,
    guard_transport,
    required_permissions,
    required_role,
)
from providers.gcp.replay import ReplayServer

PROJECT = "acme-prod"
LOC = f"projects/{PROJECT}/locations/global"
RING = f"{LOC}/keyRings/ring"
KEY = f"{RING}/cryptoKeys/key"
ORG = "organizations/3"
FOLDER = "folders/2"
ROLE = f"{ORG}/roles/kmsKeyOperator"
EKM = f"{LOC}/ekmConnections/ekm"
V3 = {"options": {"requested_policy_version": 3}}
POLICY = {"version": 3, "bindings": [{"role": "roles/cloudkms.admin", "members": ["user:ana@example.com"]}]}

READS = [
    {"method": "GET", "path": f"/v1/projects/{PROJECT}/locations",
     "response": {"locations": [{"name": LOC, "locationId": "global"}]}},
    {"method": "GET", "path": f"/v1/{LOC}/keyRings", "response": {"keyRings": [{"name": RING}]}},
    {"method": "GET", "path": f"/v1/{RING}/cryptoKeys", "response": {"cryptoKeys": [{"name": KEY}]}},
    {"method": "GET", "path": f"/v1/{KEY}/cryptoKeyVersions",
     "response": {"cryptoKeyVersions": [{"name": f"{KEY}/cryptoKeyVersions/1", "state": "ENABLED"}]}},
    {"method": "GET", "path": f"/v1/{KEY}:getIamPolicy", "response": POLICY},
    {"method": "GET", "path": f"/v3/projects/{PROJECT}",
     "response": {"name": "projects/1", "projectId": PROJECT, "parent": FOLDER}},
    {"method": "POST", "path": "/v3/projects/1:getIamPolicy", "response": POLICY},
    {"method": "GET", "path": "/v3/projects", "query": {"parent": FOLDER},
     "response": {"projects": [{"name": "projects/1", "projectId": PROJECT}]}},
    {"method": "GET", "path": "/v3/projects:search",
     "response": {"projects": [{"name": "projects/1", "projectId": PROJECT}]}},
    {"method": "GET", "path": f"/v3/{FOLDER}", "response": {"name": FOLDER, "parent": ORG}},
    {"method": "POST", "path": f"/v3/{FOLDER}:getIamPolicy", "response": POLICY},
    {"method": "GET", "path": "/v3/folders", "query": {"parent": ORG}, "response": {"folders": [{"name": FOLDER}]}},
    {"method": "GET", "path": f"/v3/{ORG}", "response": {"name": ORG, "displayName": "example.com"}},
    {"method": "POST", "path": f"/v3/{ORG}:getIamPolicy", "response": POLICY},
    {"method": "GET", "path": f"/v1/{ORG}/assets",
     "response": {"assets": [{"name": f"//cloudkms.googleapis.com/{KEY}",
                              "assetType": "cloudkms.googleapis.com/CryptoKey"}]}},
    {"method": "GET", "path": f"/v1/{ORG}:searchAllIamPolicies",
     "response": {"results": [{"resource": f"//cloudkms.googleapis.com/{KEY}", "policy": POLICY}]}},
    {"method": "GET", "path": f"/v1/{EKM}", "response": {"name": EKM, "keyManagementMode": "CLOUD_KMS"}},
    {"method": "GET", "path": f"/v1/{ROLE}",
     "response": {"name": ROLE, "includedPermissions": ["cloudkms.cryptoKeyVersions.useToDecrypt"]}},
]  # fmt: skip


@pytest.fixture
def server():
    with ReplayServer(exchanges=READS) as srv:
        yield srv


@pytest.fixture
def empty():
    with ReplayServer() as srv:
        yield srv


def _real(proxy: Any) -> Any:
    """Reach past the method layer on purpose, as careless code could."""
    return object.__getattribute__(proxy, "_client")


def test_every_allow_listed_method_works_through_the_proxy(server: ReplayServer) -> None:
    from google.cloud import asset_v1

    url = server.url
    kms = kms_client(url, anonymous=True)
    projects = projects_client(url, anonymous=True)
    folders = folders_client(url, anonymous=True)
    orgs = organizations_client(url, anonymous=True)
    assets = asset_client(url, anonymous=True)
    iam = iam_roles_client(url, anonymous=True)
    ekm = ekm_client(url, anonymous=True)

    calls: dict[tuple[str, str], Any] = {
        ("KeyManagementServiceClient", "list_locations"): lambda: kms.list_locations(
            request={"name": f"projects/{PROJECT}"}
        ).locations[0].location_id,
        ("KeyManagementServiceClient", "list_key_rings"): lambda: [r.name for r in kms.list_key_rings(parent=LOC)],
        ("KeyManagementServiceClient", "list_crypto_keys"): lambda: [k.name for k in kms.list_crypto_keys(parent=RING)],
        ("KeyManagementServiceClient", "list_crypto_key_versions"): lambda: [
            v.name for v in kms.list_crypto_key_versions(parent=KEY)
        ],
        ("KeyManagementServiceClient", "get_iam_policy"): lambda: kms.get_iam_policy(
            request={"resource": KEY, **V3}
        ).version,
        ("ProjectsClient", "get_project"): lambda: projects.get_project(name=f"projects/{PROJECT}").name,
        ("ProjectsClient", "get_iam_policy"): lambda: projects.get_iam_policy(
            request={"resource": "projects/1", **V3}
        ).version,
        ("ProjectsClient", "list_projects"): lambda: [p.name for p in projects.list_projects(parent=FOLDER)],
        ("ProjectsClient", "search_projects"): lambda: [p.name for p in projects.search_projects(query="")],
        ("FoldersClient", "get_folder"): lambda: folders.get_folder(name=FOLDER).parent,
        ("FoldersClient", "get_iam_policy"): lambda: folders.get_iam_policy(request={"resource": FOLDER, **V3}).version,
        ("FoldersClient", "list_folders"): lambda: [f.name for f in folders.list_folders(parent=ORG)],
        ("OrganizationsClient", "get_organization"): lambda: orgs.get_organization(name=ORG).display_name,
        ("OrganizationsClient", "get_iam_policy"): lambda: orgs.get_iam_policy(request={"resource": ORG, **V3}).version,
        ("AssetServiceClient", "list_assets"): lambda: [
            a.asset_type
            for a in assets.list_assets(
                request={"parent": ORG, "asset_types": ["cloudkms.googleapis.com/CryptoKey"],
                         "content_type": asset_v1.ContentType.RESOURCE}
            )
        ],
        ("AssetServiceClient", "search_all_iam_policies"): lambda: [
            r.resource for r in assets.search_all_iam_policies(request={"scope": ORG})
        ],
        ("IamRolesClient", "get_role"): lambda: iam.get_role(ROLE)["includedPermissions"],
        ("EkmServiceClient", "get_ekm_connection"): lambda: ekm.get_ekm_connection(name=EKM).key_management_mode.name,
    }  # fmt: skip
    # The test covers the whole allow-list, and nothing beyond it.
    assert set(calls) == {(kind, m) for kind, methods in READ_OPERATIONS.items() for m in methods}

    results = {call: fn() for call, fn in calls.items()}
    assert results[("KeyManagementServiceClient", "list_crypto_key_versions")] == [
        f"{KEY}/cryptoKeyVersions/1"
    ]
    assert results[("ProjectsClient", "get_iam_policy")] == 3
    assert results[("IamRolesClient", "get_role")] == ["cloudkms.cryptoKeyVersions.useToDecrypt"]
    server.assert_all_matched()
    assert not server.unused()
    for proxy, kind in [
        (kms, "KeyManagementServiceClient"),
        (projects, "ProjectsClient"),
        (iam, "IamRolesClient"),
    ]:
        assert dir(proxy) == sorted(READ_OPERATIONS[kind])


@pytest.mark.parametrize(
    ("factory", "method", "kwargs"),
    [
        (kms_client, "destroy_crypto_key_version", {"name": f"{KEY}/cryptoKeyVersions/1"}),
        (kms_client, "set_iam_policy", {"request": {"resource": KEY, "policy": {}}}),
        (kms_client, "create_key_ring", {"parent": LOC, "key_ring_id": "x", "key_ring": {}}),
        (
            kms_client,
            "update_crypto_key",
            {"crypto_key": {"name": KEY}, "update_mask": {"paths": ["labels"]}},
        ),
        (kms_client, "decrypt", {"name": KEY, "ciphertext": b"x"}),
        (kms_client, "get_crypto_key", {"name": KEY}),  # a read, but not one the scan needs
        (projects_client, "set_iam_policy", {"request": {"resource": "projects/1", "policy": {}}}),
        (projects_client, "delete_project", {"name": "projects/1"}),
        (folders_client, "move_folder", {"name": FOLDER, "destination_parent": ORG}),
        (organizations_client, "set_iam_policy", {"request": {"resource": ORG, "policy": {}}}),
        (asset_client, "create_feed", {"parent": ORG, "feed_id": "f", "feed": {}}),
    ],
)
def test_methods_off_the_allow_list_are_refused_before_any_request(
    empty: ReplayServer, factory: Any, method: str, kwargs: dict[str, Any]
) -> None:
    client = factory(empty.url, anonymous=True)
    with pytest.raises(ReadOnlyViolation, match=rf"\.{method} is not on its allow-list"):
        getattr(client, method)(**kwargs)
    assert empty.requests == []


def test_the_proxy_exposes_no_transport_and_cannot_be_changed(empty: ReplayServer) -> None:
    kms = kms_client(empty.url, anonymous=True)
    iam = iam_roles_client(empty.url, anonymous=True)
    # The transport (and the IAM client's session) would hand out an unchecked path to the API.
    for proxy, name in [(kms, "transport"), (kms, "_transport"), (kms, "api_endpoint"), (iam, "_session")]:
        with pytest.raises(AttributeError, match="does not expose"):
            getattr(proxy, name)
    with pytest.raises(AttributeError, match="cannot be modified"):
        kms.list_key_rings = print
    assert not hasattr(kms, "no_such_method")
    assert empty.requests == []


def test_the_http_layer_refuses_writes_that_get_past_the_method_layer(server: ReplayServer) -> None:
    from google.api_core import exceptions

    kms = _real(kms_client(server.url, anonymous=True))
    projects = _real(projects_client(server.url, anonymous=True))
    attempts = [
        lambda: kms.set_iam_policy(request={"resource": KEY, "policy": {}}),  # POST :setIamPolicy
        lambda: kms.update_crypto_key(crypto_key={"name": KEY}, update_mask={"paths": ["labels"]}),  # PATCH
        lambda: kms.destroy_crypto_key_version(name=f"{KEY}/cryptoKeyVersions/1"),  # POST :destroy
        lambda: kms.create_key_ring(parent=LOC, key_ring_id="x", key_ring={}),  # POST
        lambda: projects.delete_project(name="projects/1"),  # DELETE
    ]
    for attempt in attempts:
        with pytest.raises(ReadOnlyViolation, match="was refused and not sent"):
            attempt()

    session = kms._transport._session
    base = f"{server.url}/v1/{KEY}"
    for verb in ("POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"):
        with pytest.raises(ReadOnlyViolation, match=f"{verb} /v1/"):
            session.request(verb, f"{base}:setIamPolicy")
    with pytest.raises(ReadOnlyViolation):  # Session.send skips Session.request, not the adapters
        session.send(session.prepare_request(requests.Request("POST", f"{base}:encrypt", json={})))
    with pytest.raises(ReadOnlyViolation):  # the allowed suffix is matched on the path, not the query
        session.post(f"{base}:setIamPolicy", params={"x": ":getIamPolicy"})
    with pytest.raises(ReadOnlyViolation):
        session.post(f"{base}%3AsetIamPolicy")
    assert server.requests == []

    # Reads still go through the same session: GET, and POST ...:getIamPolicy (Resource Manager v3).
    assert session.get(f"{base}:getIamPolicy").json() == POLICY
    assert projects._transport._session.post(f"{server.url}/v3/{ORG}:getIamPolicy").status_code == 200
    assert [(r.method, r.path) for r in server.requests] == [
        ("GET", f"/v1/{KEY}:getIamPolicy"),
        ("POST", f"/v3/{ORG}:getIamPolicy"),
    ]
    with pytest.raises(exceptions.NotFound):  # the refusal is not a stand-in for real errors
        kms.get_crypto_key(name=f"{KEY}-missing")


def test_the_guard_fails_loudly_when_it_cannot_be_installed() -> None:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import kms_v1

    grpc_client = kms_v1.KeyManagementServiceClient(transport="grpc", credentials=AnonymousCredentials())
    with pytest.raises(ReadOnlyGuardError, match="no REST session"):
        guard_transport(grpc_client._transport)
    with pytest.raises(ReadOnlyGuardError, match="no read-only allow-list"):
        guard_client(object())
    with pytest.raises(ReadOnlyGuardError, match=r"requests\.Session"):
        guard_session(object())  # type: ignore[arg-type]
    bare = requests.Session()
    bare.adapters.clear()
    with pytest.raises(ReadOnlyGuardError, match="no transport adapter"):
        guard_session(bare)


def test_get_role_raises_the_api_core_errors_of_the_generated_clients(server: ReplayServer) -> None:
    from google.api_core import exceptions

    iam = iam_roles_client(server.url, anonymous=True)
    denied = f"projects/{PROJECT}/roles/secret"
    server.inject_error(
        "GET",
        f"/v1/{denied}",
        "PERMISSION_DENIED",
        metadata={"permission": "iam.roles.get", "resource": denied},
    )
    with pytest.raises(exceptions.Forbidden) as excinfo:
        iam.get_role(denied)
    assert excinfo.value.code == 403
    assert excinfo.value.reason == "IAM_PERMISSION_DENIED"
    assert excinfo.value.metadata == {"permission": "iam.roles.get", "resource": denied}
    with pytest.raises(exceptions.NotFound):
        iam.get_role(f"{ORG}/roles/gone")
    # 503 is retried like the generated clients do, then the recording answers.
    server.inject_error("GET", f"/v1/{ROLE}", "UNAVAILABLE", times=1)
    assert iam.get_role(ROLE)["name"] == ROLE
    assert server.calls[f"/v1/{ROLE}"] == 2
    server.inject_error("GET", f"/v1/{ROLE}", "UNAVAILABLE", times=1)
    with pytest.raises(exceptions.ServiceUnavailable):
        iam.get_role(ROLE, retry=None)
    before = len(server.requests)
    for bad in (
        "roles/cloudkms.admin",
        f"{ROLE}:undelete",
        f"projects/{PROJECT}/roles/../../x",
        "projects/../roles/x",
        f"{ORG}/roles/..",
        f"{ROLE}/permissions",
    ):
        with pytest.raises(ValueError, match="not a custom role name"):
            iam.get_role(bad)
    assert len(server.requests) == before


def test_a_service_account_key_gets_its_token_from_its_own_token_uri(
    server: ReplayServer, tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from google.oauth2 import service_account

    server.add(
        {"method": "POST", "path": "/token",
         "response": {"access_token": "ya29.test", "expires_in": 3600, "token_type": "Bearer"}},
        first=True,
    )  # fmt: skip
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    key_file = tmp_path / "scanner.json"
    key_file.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": PROJECT,
                "client_email": f"keyaudit@{PROJECT}.iam.gserviceaccount.com",
                "client_id": "1",
                "private_key_id": "k1",
                "private_key": pem,
                "token_uri": f"{server.url}/token",
            }
        )
    )
    credentials = service_account.Credentials.from_service_account_file(
        str(key_file), scopes=["https://www.googleapis.com/auth/cloud-platform"]
    )
    kms = kms_client(server.url, credentials=credentials)
    # replay.py does not record headers: read what requests actually sent from the response.
    sent: list[str | None] = []
    _real(kms)._transport._session.hooks["response"].append(
        lambda response, **_: sent.append(response.request.headers.get("Authorization"))
    )

    assert kms.list_locations(request={"name": f"projects/{PROJECT}"}).locations[0].location_id == "global"
    token_request, api_request = server.requests
    assert (token_request.method, token_request.path) == ("POST", "/token")
    assert "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer" in token_request.body
    assert (api_request.method, api_request.path) == ("GET", f"/v1/projects/{PROJECT}/locations")
    assert sent == ["Bearer ya29.test"]
    assert credentials.token == "ya29.test"

    # The IAM Admin client uses the same credentials (the token is still valid: no second POST).
    iam = iam_roles_client(server.url, credentials=credentials)
    assert iam.get_role(ROLE)["name"] == ROLE
    assert [r.method for r in server.requests] == ["POST", "GET", "GET"]


def test_plain_http_off_loopback_is_allowed_with_one_warning() -> None:
    with capture_logs() as logs:
        for _ in range(2):
            kms_client("http://user:pw@10.9.8.7:8080/", anonymous=True)
        iam_roles_client("http://10.9.8.7:8080", anonymous=True)
        kms_client("http://127.0.0.1:8080", anonymous=True)
        projects_client("https://10.9.8.6", anonymous=True)
        projects_client("kms-psc.p.googleapis.com", anonymous=True)
    assert logs == [{"event": "gcp.endpoint.plaintext", "endpoint": "10.9.8.7", "log_level": "warning"}]


def test_required_role_holds_every_allow_listed_permission_and_no_write() -> None:
    role = required_role()
    assert set(role) == {"title", "description", "stage", "includedPermissions"}
    assert (role["title"], role["stage"]) == ("keyaudit scanner (read-only)", "GA")
    permissions = role["includedPermissions"]
    assert permissions == required_permissions() == sorted(set(permissions))
    for kind, operations in READ_OPERATIONS.items():
        for method, needed in operations.items():
            assert needed, f"{kind}.{method} names no permission"
            assert set(needed) <= set(permissions), f"{kind}.{method}"
    mutating = re.compile(r"\.(set\w*|create\w*|update\w*|delete\w*|destroy|restore|undelete|move|use\w+)$")
    assert [p for p in permissions if mutating.search(p)] == []
    assert all(re.fullmatch(r"[a-z]+\.[A-Za-z]+\.[A-Za-z]+", p) for p in permissions)
    assert {
        "cloudkms.cryptoKeys.getIamPolicy",
        "cloudkms.keyRings.getIamPolicy",
        "cloudkms.cryptoKeyVersions.list",
        "resourcemanager.organizations.getIamPolicy",
        "cloudasset.assets.listResource",
        "cloudasset.assets.searchAllIamPolicies",
        "iam.roles.get",
    } <= set(permissions)
    assert readonly.__doc__ and "print-required-policy" in readonly.__doc__
