"""The REST shape every recorded Google response must have: parsed strictly into its real message class.

Shared by the cassette tests and the simulated-estate tests, so a recording that drifts from what the
Google clients send and expect fails in one place."""

from __future__ import annotations

import importlib
import json
import re

from providers.gcp.replay import Exchange

# Path -> the message its response must parse into, strictly (no unknown field).
WIRE_TYPES = [
    (r"^/v1/projects/[^/]+/locations$", "google.cloud.location.locations_pb2:ListLocationsResponse"),
    (r"/keyRings$", "google.cloud.kms_v1:ListKeyRingsResponse"),
    (r"/cryptoKeys$", "google.cloud.kms_v1:ListCryptoKeysResponse"),
    (r"/cryptoKeyVersions$", "google.cloud.kms_v1:ListCryptoKeyVersionsResponse"),
    (r"/ekmConnections/[^/]+$", "google.cloud.kms_v1:EkmConnection"),
    (r":getIamPolicy$", "google.iam.v1.policy_pb2:Policy"),
    (r"^/v3/projects/[^/:]+$", "google.cloud.resourcemanager_v3:Project"),
    (r"^/v3/folders/[^/:]+$", "google.cloud.resourcemanager_v3:Folder"),
    (r"^/v3/organizations/[^/:]+$", "google.cloud.resourcemanager_v3:Organization"),
    (r"^/v3/folders$", "google.cloud.resourcemanager_v3:ListFoldersResponse"),
    (r"^/v3/projects$", "google.cloud.resourcemanager_v3:ListProjectsResponse"),
    (r"^/v3/projects:search$", "google.cloud.resourcemanager_v3:SearchProjectsResponse"),
    (r"/assets$", "google.cloud.asset_v1:ListAssetsResponse"),
    (r":searchAllIamPolicies$", "google.cloud.asset_v1:SearchAllIamPoliciesResponse"),
]
# IAM Admin roles.get: google-cloud-iam (which holds the Role message) has no REST client and is not a
# dependency, so its fields are checked by name.
ROLE_PATH = re.compile(r"^/v1/(organizations|projects)/[^/]+/roles/[^/]+$")
ROLE_FIELDS = {"name", "title", "description", "includedPermissions", "stage", "etag", "deleted"}


def check_exchange(exchange: Exchange) -> str:
    """Assert the exchange's response is valid wire JSON; return the pattern that matched its path."""
    if exchange.status >= 400:
        error = exchange.response["error"]
        assert error["code"] == exchange.status and error["status"] and error["message"], exchange.source
        return "error"
    if ROLE_PATH.search(exchange.path):
        role = exchange.response
        assert set(role) <= ROLE_FIELDS, exchange.source
        assert role["name"] == exchange.path.removeprefix("/v1/")
        assert all(isinstance(p, str) for p in role["includedPermissions"])
        return "role"
    from google.protobuf import json_format

    importlib.import_module("google.cloud.kms_v1")  # registers LocationMetadata (an Any in list_locations)
    pattern, spec = next(((p, t) for p, t in WIRE_TYPES if re.search(p, exchange.path)), (None, None))
    assert pattern and spec, f"{exchange.source}: no wire type known for {exchange.path}"
    module, name = spec.split(":")
    message = getattr(importlib.import_module(module), name)
    pb = message.pb(message()) if hasattr(message, "pb") else message()
    json_format.Parse(json.dumps(exchange.response), pb, ignore_unknown_fields=False)
    return pattern
