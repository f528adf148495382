from __future__ import annotations

import pytest

from providers.azure.permissions import (
    ACCESS_POLICY_KEY_PERMISSIONS,
    BUILT_IN_ROLES,
    CONTROL_ACTIONS,
    DATA_ACTIONS,
    MANAGED_HSM_ROLES,
    SELF_GRANT_OPERATIONS,
    AccessModel,
    access_policy_capabilities,
    can_grant_itself_data_access,
    capabilities_for_permissions,
    capabilities_for_role,
    effective_operations,
    role_guid,
    self_grant_operations,
)
from scanner.inventory import Capability

C = Capability
A = C.ADMINISTER_ACCESS
L = C.MANAGE_LIFECYCLE
D = C.DESTROY
I = C.IMPORT_MATERIAL  # noqa: E741
E = C.ENCRYPT
X = C.DECRYPT
S = C.SIGN
V = C.VERIFY
O = C.EXPORT  # noqa: E741
R = C.READ_METADATA

NONE = frozenset[Capability]()
KEYS_ALL = frozenset({R, L, I, D, O, E, X, S, V})  # every key operation, no access administration
KV = "Microsoft.KeyVault"

RBAC = AccessModel.RBAC
POLICY = AccessModel.ACCESS_POLICY
HSM = AccessModel.MANAGED_HSM
MODELS = (None, RBAC, POLICY, HSM)


def caps(*members: Capability) -> frozenset[Capability]:
    return frozenset(members)


def perm(
    actions: list[str] | None = None,
    not_actions: list[str] | None = None,
    data_actions: list[str] | None = None,
    not_data_actions: list[str] | None = None,
) -> dict[str, list[str]]:
    return {
        "actions": actions or [],
        "notActions": not_actions or [],
        "dataActions": data_actions or [],
        "notDataActions": not_data_actions or [],
    }


def kv_data(*ops: str) -> list[str]:
    return [f"{KV}/vaults/keys/{op}" for op in ops]


# --- wildcard, NotActions and NotDataActions semantics -----------------------------------------------


def test_star_in_both_planes_matches_every_table_entry_and_gives_everything() -> None:
    everything = [perm(actions=["*"], data_actions=["*"])]
    assert effective_operations(everything) == (frozenset(CONTROL_ACTIONS), frozenset(DATA_ACTIONS))
    assert capabilities_for_permissions(everything) == frozenset(Capability)


def test_provider_wildcard_matches_every_key_vault_entry_of_its_plane() -> None:
    control, data = effective_operations([perm(actions=[f"{KV}/*"], data_actions=[f"{KV}/*"])])
    assert control == {op for op in CONTROL_ACTIONS if op.startswith(f"{KV}/")}
    assert data == frozenset(DATA_ACTIONS)


def test_actions_and_data_actions_are_separate_planes() -> None:
    # Owner-style "*" in actions reaches no data action: no cryptographic use, no key import.
    assert capabilities_for_permissions([perm(actions=["*"])], RBAC) == caps(A, L, D, R)
    # A data action written into ``actions`` is not a control-plane operation.
    assert capabilities_for_permissions([perm(actions=kv_data("decrypt/action"))]) == NONE
    # NotActions never subtract data actions.
    assert capabilities_for_permissions(
        [perm(not_actions=["*"], data_actions=kv_data("decrypt/action"))]
    ) == {X}


def test_matching_is_case_insensitive() -> None:
    assert capabilities_for_permissions(
        [perm(data_actions=["MICROSOFT.KEYVAULT/Vaults/Keys/DECRYPT/action"])]
    ) == {X}
    assert capabilities_for_permissions([perm(actions=["microsoft.keyvault/VAULTS/delete"])]) == {D}
    # Contributor spells its exclusion "Microsoft.Authorization/*/Write": it removes roleAssignments/write.
    control, _ = effective_operations([perm(actions=["*"], not_actions=["microsoft.authorization/*/WRITE"])])
    assert "Microsoft.Authorization/roleAssignments/write" not in control
    assert "Microsoft.KeyVault/vaults/write" in control


def test_star_slash_read_is_every_read_and_nothing_else() -> None:
    control, data = effective_operations([perm(actions=["*/read"], data_actions=["*/read"])])
    assert control == {op for op in CONTROL_ACTIONS if op.endswith("/read")}
    assert data == {
        f"{KV}/vaults/keys/read",
        f"{KV}/vaults/keyrotationpolicies/read",
        f"{KV}/managedHsm/securitydomain/download/read",
        f"{KV}/managedHsm/securitydomain/upload/read",
        f"{KV}/managedHsm/securitydomain/transferkey/read",
    }
    # "/read/action" is not a read by this rule: "*/read" does not match it.
    assert f"{KV}/managedHsm/keys/read/action" not in data
    assert capabilities_for_permissions([perm(actions=["*/read"], data_actions=["*/read"])]) == {R}


def test_wildcard_in_the_middle() -> None:
    # "keys/*/action" covers every key action but neither keys/read nor keys/delete.
    remaining = [perm(data_actions=[f"{KV}/vaults/keys/*"], not_data_actions=[f"{KV}/vaults/keys/*/action"])]
    assert effective_operations(remaining)[1] == {f"{KV}/vaults/keys/read", f"{KV}/vaults/keys/delete"}
    assert capabilities_for_permissions(remaining) == {R, D}


def test_not_data_actions_make_a_key_manager_without_use() -> None:
    # The only way to administer vault keys without using them (no built-in role does it).
    manager = [
        perm(
            data_actions=[f"{KV}/vaults/keys/*", f"{KV}/vaults/keyrotationpolicies/*"],
            not_data_actions=kv_data(
                "encrypt/action",
                "decrypt/action",
                "wrap/action",
                "unwrap/action",
                "sign/action",
                "verify/action",
                "release/action",
            ),
        )
    ]
    assert capabilities_for_permissions(manager, RBAC) == caps(R, L, I, D, O)


def test_not_actions_subtract_from_actions() -> None:
    permissions = [perm(actions=[f"{KV}/*"], not_actions=[f"{KV}/vaults/delete", f"{KV}/locations/*"])]
    assert capabilities_for_permissions(permissions, RBAC) == caps(L, R)
    assert capabilities_for_permissions([perm(actions=[f"{KV}/*"])], RBAC) == caps(L, D, R)


def test_not_actions_only_apply_within_their_own_block() -> None:
    blocks = [perm(actions=[f"{KV}/vaults/delete"]), perm(actions=["*"], not_actions=[f"{KV}/vaults/delete"])]
    assert f"{KV}/vaults/delete" in effective_operations(blocks)[0]
    assert D in capabilities_for_permissions(blocks, RBAC)


def test_unknown_operations_give_nothing() -> None:
    other = [
        perm(
            actions=[
                "Microsoft.Storage/*",
                "Microsoft.KeyVault/vaults/secrets/write",
                "Microsoft.KeyVault/nope",
            ],
            data_actions=[
                "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
                f"{KV}/vaults/secrets/*",
                f"{KV}/vaults/certificates/*",
            ],
        )
    ]
    assert capabilities_for_permissions(other) == NONE
    assert capabilities_for_permissions([]) == NONE


def test_permission_blocks_in_sdk_spelling_and_with_missing_lists() -> None:
    sdk = [
        {
            "actions": None,
            "not_actions": None,
            "data_actions": kv_data("*"),
            "not_data_actions": kv_data("*/action"),
        }
    ]
    assert capabilities_for_permissions(sdk) == {R, D}
    assert capabilities_for_permissions([{"dataActions": kv_data("sign/action")}]) == {S}
    with pytest.raises(TypeError):
        capabilities_for_permissions([{"actions": 42}])


def test_access_model_takes_its_string_value_and_rejects_others() -> None:
    assert capabilities_for_permissions([perm(data_actions=kv_data("sign/action"))], "rbac") == {S}
    with pytest.raises(ValueError, match="bogus"):
        capabilities_for_permissions([], "bogus")


def test_rbac_data_actions_do_not_reach_access_policy_vaults_or_hsms() -> None:
    vault_user = [perm(data_actions=kv_data("decrypt/action"))]
    assert capabilities_for_permissions(vault_user, POLICY) == NONE
    assert capabilities_for_permissions(vault_user, HSM) == NONE
    hsm_user = [perm(data_actions=[f"{KV}/managedHsm/keys/decrypt/action"])]
    assert capabilities_for_permissions(hsm_user, HSM) == {X}
    assert capabilities_for_permissions(hsm_user, RBAC) == NONE


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        (f"{KV}/vaults/write", {None: caps(A, L), RBAC: caps(L), POLICY: caps(A, L), HSM: NONE}),
        (f"{KV}/vaults/accessPolicies/write", {None: caps(A), RBAC: NONE, POLICY: caps(A), HSM: NONE}),
        (
            "Microsoft.Authorization/roleAssignments/write",
            {None: caps(A), RBAC: caps(A), POLICY: caps(A), HSM: NONE},
        ),
        (
            "Microsoft.Authorization/roleDefinitions/write",
            {None: caps(A), RBAC: caps(A), POLICY: caps(A), HSM: NONE},
        ),
        (
            "Microsoft.Authorization/roleAssignments/delete",
            {None: caps(L), RBAC: caps(L), POLICY: NONE, HSM: NONE},
        ),
        (f"{KV}/vaults/delete", {None: caps(D), RBAC: caps(D), POLICY: caps(D), HSM: NONE}),
        (
            f"{KV}/locations/deletedVaults/purge/action",
            {None: caps(D), RBAC: caps(D), POLICY: caps(D), HSM: NONE},
        ),
        (f"{KV}/managedHSMs/write", {None: caps(L), RBAC: NONE, POLICY: NONE, HSM: caps(L)}),
        (f"{KV}/managedHSMs/delete", {None: caps(D), RBAC: NONE, POLICY: NONE, HSM: caps(D)}),
        (
            f"{KV}/locations/deletedManagedHsms/purge/action",
            {None: caps(D), RBAC: NONE, POLICY: NONE, HSM: caps(D)},
        ),
        # ARM key creation never touches an existing key.
        (f"{KV}/vaults/keys/write", {None: NONE, RBAC: NONE, POLICY: NONE, HSM: NONE}),
        (f"{KV}/vaults/read", {None: caps(R), RBAC: caps(R), POLICY: caps(R), HSM: NONE}),
    ],
)
def test_control_plane_operations(
    operation: str, expected: dict[AccessModel | None, frozenset[Capability]]
) -> None:
    for model in MODELS:
        assert capabilities_for_permissions([perm(actions=[operation])], model) == expected[model], model


VAULT_DATA: dict[str, frozenset[Capability]] = {
    "keys/read": caps(R),
    "keyrotationpolicies/read": caps(R),
    "keys/update/action": caps(L),
    "keys/create/action": caps(L),
    "keys/rotate/action": caps(L),
    "keys/recover/action": caps(L),
    "keys/restore/action": caps(L),
    "keyrotationpolicies/write": caps(L),
    "keys/import/action": caps(I),
    "keys/delete": caps(D),  # soft delete: destruction once the retention period ends
    "keys/purge/action": caps(D),
    "keys/backup/action": caps(O),
    "keys/release/action": caps(O),
    "keys/encrypt/action": caps(E),
    "keys/wrap/action": caps(E),
    "keys/decrypt/action": caps(X),
    "keys/unwrap/action": caps(X),
    "keys/sign/action": caps(S),
    "keys/verify/action": caps(V),
}

HSM_DATA: dict[str, frozenset[Capability]] = {
    "roleAssignments/write/action": caps(A),
    "roleDefinitions/write/action": caps(A),
    "roleAssignments/delete/action": caps(L),
    "roleDefinitions/delete/action": NONE,
    "roleAssignments/read/action": caps(R),
    "roleDefinitions/read/action": caps(R),
    "keys/read/action": caps(R),
    "keys/deletedKeys/read/action": caps(R),
    "keys/write/action": caps(L),
    "keys/create": caps(L),
    "keys/rotate/action": caps(L),
    "keys/deletedKeys/recover/action": caps(L),
    "keys/restore/action": caps(L),
    "keys/import/action": caps(I),
    "keys/delete": caps(D),
    "keys/deletedKeys/delete": caps(D),
    "keys/backup/action": caps(O),
    "keys/release/action": caps(O),
    "keys/export/action": caps(O),
    "keys/encrypt/action": caps(E),
    "keys/wrap/action": caps(E),
    "keys/decrypt/action": caps(X),
    "keys/unwrap/action": caps(X),
    "keys/derive/action": caps(X),
    "keys/sign/action": caps(S),
    "keys/verify/action": caps(V),
    "rng/action": NONE,
    "securitydomain/download/action": caps(O),
    "securitydomain/upload/action": caps(I),
    "securitydomain/download/read": caps(R),
    "securitydomain/upload/read": caps(R),
    "securitydomain/transferkey/read": caps(R),
    "backup/start/action": caps(O),
    "restore/start/action": caps(L),
    "backup/status/action": caps(R),
    "restore/status/action": caps(R),
    "settings/write/action": caps(L),
    "settings/read/action": caps(R),
}


def test_data_plane_table_is_pinned() -> None:
    expected = {f"{KV}/vaults/{op}": {RBAC: c} for op, c in VAULT_DATA.items()} | {
        f"{KV}/managedHsm/{op}": {HSM: c} for op, c in HSM_DATA.items()
    }
    assert {op: dict(effect) for op, effect in DATA_ACTIONS.items()} == expected


# --- built-in roles ----------------------------------------------------------------------------------

ARM_ROLES: dict[str, tuple[str, dict[AccessModel | None, frozenset[Capability]]]] = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": (
        "Owner",
        {None: caps(A, L, D, R), RBAC: caps(A, L, D, R), POLICY: caps(A, L, D, R), HSM: caps(L, D, R)},
    ),
    # No role assignments, but vaults/write: an access administrator of access-policy vaults only.
    "b24988ac-6180-42a0-ab88-20f7382dd24c": (
        "Contributor",
        {None: caps(A, L, D, R), RBAC: caps(L, D, R), POLICY: caps(A, L, D, R), HSM: caps(L, D, R)},
    ),
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": (
        "User Access Administrator",
        {None: caps(A, L, R), RBAC: caps(A, L, R), POLICY: caps(A, R), HSM: caps(R)},
    ),
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": (
        "Role Based Access Control Administrator",
        {None: caps(A, L, R), RBAC: caps(A, L, R), POLICY: caps(A, R), HSM: caps(R)},
    ),
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": (
        "Reader",
        {None: caps(R), RBAC: caps(R), POLICY: caps(R), HSM: caps(R)},
    ),
    # Every key operation, use included, but it cannot change who can do what.
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": (
        "Key Vault Administrator",
        {None: KEYS_ALL, RBAC: KEYS_ALL, POLICY: caps(R), HSM: caps(R)},
    ),
    # Can purge a deleted Managed HSM: its notActions miss locations/deletedManagedHsms/*.
    "f25e0fa2-a7c8-4377-a976-54943a77a395": (
        "Key Vault Contributor",
        {None: caps(A, L, D, R), RBAC: caps(L, D, R), POLICY: caps(A, L, D, R), HSM: caps(D, R)},
    ),
    "21090545-7ca7-4776-b22c-e363652d74d2": (
        "Key Vault Reader",
        {None: caps(R), RBAC: caps(R), POLICY: caps(R), HSM: caps(R)},
    ),
    "14b46e9e-c2b7-41b4-b07b-48a6ebf60603": (
        "Key Vault Crypto Officer",
        {None: KEYS_ALL, RBAC: KEYS_ALL, POLICY: caps(R), HSM: caps(R)},
    ),
    # update/action (disable, expiry) makes it a lifecycle administrator as well as a user.
    "12338af0-0e69-4776-bea7-57ae8d297424": (
        "Key Vault Crypto User",
        {None: caps(R, L, O, E, X, S, V), RBAC: caps(R, L, O, E, X, S, V), POLICY: NONE, HSM: NONE},
    ),
    "e147488a-f6f5-4113-8e2d-b22465e65bf6": (
        "Key Vault Crypto Service Encryption User",
        {None: caps(R, E, X), RBAC: caps(R, E, X), POLICY: NONE, HSM: NONE},
    ),
    "08bbd89e-9f13-488c-ac41-acfcb10c90ab": (
        "Key Vault Crypto Service Release User",
        {None: caps(O), RBAC: caps(O), POLICY: NONE, HSM: NONE},
    ),
    "8b54135c-b56d-4d72-a534-26097cfdc8d8": (
        "Key Vault Data Access Administrator",
        {None: caps(A, L, R), RBAC: caps(A, L, R), POLICY: caps(A, R), HSM: NONE},
    ),
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": (
        "Key Vault Secrets Officer",
        {None: caps(R), RBAC: caps(R), POLICY: caps(R), HSM: caps(R)},
    ),
    "4633458b-17de-408a-b874-0445c86b69e6": (
        "Key Vault Secrets User",
        {None: NONE, RBAC: NONE, POLICY: NONE, HSM: NONE},
    ),
    "a4417e6f-fecd-4de8-b567-7b0420556985": (
        "Key Vault Certificates Officer",
        {None: caps(R), RBAC: caps(R), POLICY: caps(R), HSM: caps(R)},
    ),
    "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba": (
        "Key Vault Certificate User",
        {None: caps(R), RBAC: caps(R), POLICY: NONE, HSM: NONE},
    ),
    "18500a29-7fe2-46b2-a342-b16a415e101d": (
        "Managed HSM contributor",
        {None: caps(L, D, R), RBAC: NONE, POLICY: NONE, HSM: caps(L, D, R)},
    ),
}

# Local roles only ever reach the HSM they live in.
HSM_ROLES: dict[str, tuple[str, frozenset[Capability]]] = {
    "a290e904-7015-4bba-90c8-60543313cdb4": ("Managed HSM Administrator", caps(A, L, R, O, I)),
    "515eb02d-2335-4d2d-92f2-b1cbdf9c3778": ("Managed HSM Crypto Officer", caps(A, L, R, D, O)),
    "21dbd100-6940-42c2-9190-5d6cb909625b": ("Managed HSM Crypto User", KEYS_ALL),
    "4bd23610-cdcf-4971-bdee-bdc562cc28e4": ("Managed HSM Policy Administrator", caps(A, L, R)),
    "2c18b078-7c48-4d3a-af88-5a3a1b3f82b3": ("Managed HSM Crypto Auditor", caps(R)),
    "33413926-3206-4cdd-b39a-83574fe37a17": ("Managed HSM Crypto Service Encryption User", caps(R, E, X)),
    "21dbd100-6940-42c2-9190-5d6cb909625c": ("Managed HSM Crypto Service Release User", caps(O)),
    "7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8": ("Managed HSM Backup User", caps(O, R)),
    "6efe6056-5259-49d2-8b3d-d3d73544b20b": ("Managed HSM Restore", caps(L, R)),
}


def test_tables_hold_exactly_the_pinned_roles() -> None:
    assert {guid: role.name for guid, role in BUILT_IN_ROLES.items()} == {
        g: n for g, (n, _) in ARM_ROLES.items()
    }
    assert {guid: role.name for guid, role in MANAGED_HSM_ROLES.items()} == {
        g: n for g, (n, _) in HSM_ROLES.items()
    }


@pytest.mark.parametrize("guid", sorted(ARM_ROLES))
def test_built_in_role_capabilities(guid: str) -> None:
    _, expected = ARM_ROLES[guid]
    for model in MODELS:
        assert capabilities_for_role(guid, {}, model) == expected[model], model


@pytest.mark.parametrize("guid", sorted(HSM_ROLES))
def test_managed_hsm_local_role_capabilities(guid: str) -> None:
    _, expected = HSM_ROLES[guid]
    assert capabilities_for_role(guid, {}, HSM) == expected
    assert capabilities_for_role(guid, {}) == expected
    assert capabilities_for_role(guid, {}, RBAC) == NONE
    assert capabilities_for_role(guid, {}, POLICY) == NONE


def test_key_vault_administrator_cannot_administer_access() -> None:
    kv_admin = "00482a5a-887f-4fb3-b363-3b7fe8e74483"
    assert capabilities_for_role(kv_admin, {}, RBAC) == KEYS_ALL  # everything else, use included
    assert not can_grant_itself_data_access(BUILT_IN_ROLES[kv_admin].permissions)


def test_owner_has_no_power_over_managed_hsm_keys_access() -> None:
    # ARM role assignments do not reach an HSM's local RBAC: only its local roles administer access.
    assert capabilities_for_role("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", {}, HSM) == caps(L, D, R)


# --- role resolution ---------------------------------------------------------------------------------

OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
SUB = "00000000-0000-0000-0000-000000000001"


@pytest.mark.parametrize(
    "role_id",
    [
        OWNER,
        OWNER.upper(),
        f"/providers/Microsoft.Authorization/roleDefinitions/{OWNER}",
        f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{OWNER.upper()}",
        f"/providers/microsoft.authorization/ROLEDEFINITIONS/{OWNER}/",
    ],
)
def test_role_ids_match_on_their_guid(role_id: str) -> None:
    assert role_guid(role_id) == OWNER
    assert capabilities_for_role(role_id, {}, RBAC) == caps(A, L, D, R)


def test_managed_hsm_role_id_form() -> None:
    release_user = "21dbd100-6940-42c2-9190-5d6cb909625c"
    role_id = f"Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/{release_user}"
    assert capabilities_for_role(role_id, {}, HSM) == caps(O)


CUSTOM_GUID = "0b1c2d3e-0000-4000-8000-00000000c0de"
CUSTOM_ID = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{CUSTOM_GUID}"
KEY_ROTATOR = [perm(data_actions=kv_data("rotate/action", "read"))]


@pytest.mark.parametrize(
    "key",
    [
        CUSTOM_ID,
        CUSTOM_ID.upper(),
        "0b1c2d3e-0000-4000-8000-00000000c0de",
        "/providers/Microsoft.Authorization/roleDefinitions/0B1C2D3E-0000-4000-8000-00000000C0DE",
    ],
)
def test_custom_role_resolution(key: str) -> None:
    custom = {
        "/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/other": [perm(actions=["*"])],
        key: KEY_ROTATOR,
    }
    assert capabilities_for_role(CUSTOM_ID, custom, RBAC) == caps(L, R)
    assert capabilities_for_role("0b1c2d3e-0000-4000-8000-00000000c0de", custom, RBAC) == caps(L, R)


def test_live_definition_wins_over_the_table() -> None:
    live = {f"/providers/Microsoft.Authorization/roleDefinitions/{OWNER}": [perm(actions=["*/read"])]}
    assert capabilities_for_role(OWNER, live, RBAC) == caps(R)


def test_known_role_without_key_permissions_is_empty_not_unknown() -> None:
    assert capabilities_for_role(CUSTOM_ID, {CUSTOM_ID: []}) == NONE
    assert capabilities_for_role("4633458b-17de-408a-b874-0445c86b69e6", {}) == NONE  # Secrets User


@pytest.mark.parametrize(
    "role_id",
    [
        "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",  # Storage Blob Data Reader: another service, not in the table
        CUSTOM_ID,
        "acdd72a7-3b0f-4a5c-9f1d-4a1ffc2f0e8e",  # not Reader's GUID (acdd72a7-3385-...)
    ],
)
def test_unknown_role_is_none(role_id: str) -> None:
    assert capabilities_for_role(role_id, {}) is None
    assert (
        capabilities_for_role(role_id, {"/providers/Microsoft.Authorization/roleDefinitions/feed": []})
        is None
    )
    assert capabilities_for_role(role_id) is None


# --- access policies ---------------------------------------------------------------------------------

ACCESS_POLICY: dict[str, frozenset[Capability]] = {
    "get": caps(R),
    "list": caps(R),
    "getrotationpolicy": caps(R),
    "update": caps(L),
    "create": caps(L),
    "rotate": caps(L),
    "setrotationpolicy": caps(L),
    "recover": caps(L),
    "restore": caps(L),
    "import": caps(I),
    "delete": caps(D),
    "purge": caps(D),
    "backup": caps(O),
    "release": caps(O),
    "encrypt": caps(E),
    "wrapKey": caps(E),
    "decrypt": caps(X),
    "unwrapKey": caps(X),
    "sign": caps(S),
    "verify": caps(V),
}


@pytest.mark.parametrize(("permission", "expected"), sorted(ACCESS_POLICY.items()))
def test_access_policy_key_permission(permission: str, expected: frozenset[Capability]) -> None:
    assert access_policy_capabilities([permission]) == expected
    assert access_policy_capabilities([permission.upper()]) == expected


def test_access_policy_all_is_every_key_operation_but_no_access_administration() -> None:
    assert access_policy_capabilities(["all"]) == KEYS_ALL
    assert access_policy_capabilities(["All"]) == access_policy_capabilities(list(ACCESS_POLICY))
    assert A not in access_policy_capabilities(["all"])


def test_access_policy_combinations_and_unknown_names() -> None:
    assert access_policy_capabilities(["Get", "WrapKey", "unwrapkey"]) == {R, E, X}
    assert access_policy_capabilities(["get", "setSecret", "managecontacts", ""]) == {R}
    assert access_policy_capabilities([]) == NONE


def test_access_policy_table_covers_the_sdk_key_permissions() -> None:
    from azure.mgmt.keyvault.models import KeyPermissions

    assert {p.value for p in KeyPermissions} == set(ACCESS_POLICY_KEY_PERMISSIONS)
    assert set(ACCESS_POLICY_KEY_PERMISSIONS) == set(ACCESS_POLICY) | {"all"}


# --- self-grant (control-plane escalation) -----------------------------------------------------------


def test_self_grant_operations_per_access_model() -> None:
    assert dict(SELF_GRANT_OPERATIONS) == {
        RBAC: {
            "Microsoft.Authorization/roleAssignments/write",
            "Microsoft.Authorization/roleDefinitions/write",
        },
        POLICY: {
            "Microsoft.Authorization/roleAssignments/write",
            "Microsoft.Authorization/roleDefinitions/write",
            f"{KV}/vaults/write",
            f"{KV}/vaults/accessPolicies/write",
        },
        HSM: {
            f"{KV}/managedHsm/roleAssignments/write/action",
            f"{KV}/managedHsm/roleDefinitions/write/action",
        },
    }


def test_contributor_can_grant_itself_data_access_only_on_access_policy_vaults() -> None:
    contributor = BUILT_IN_ROLES["b24988ac-6180-42a0-ab88-20f7382dd24c"].permissions
    assert self_grant_operations(contributor, POLICY) == {
        f"{KV}/vaults/write",
        f"{KV}/vaults/accessPolicies/write",
    }
    assert can_grant_itself_data_access(contributor, "access_policy")
    assert self_grant_operations(contributor, RBAC) == NONE
    assert not can_grant_itself_data_access(contributor, RBAC)
    assert not can_grant_itself_data_access(contributor, HSM)
    assert can_grant_itself_data_access(contributor)  # model unknown: the worst case


def test_owner_grants_itself_through_role_assignments_on_rbac_vaults() -> None:
    owner = BUILT_IN_ROLES[OWNER].permissions
    assert self_grant_operations(owner, RBAC) == SELF_GRANT_OPERATIONS[RBAC]
    assert self_grant_operations(owner, POLICY) == SELF_GRANT_OPERATIONS[POLICY]
    assert self_grant_operations(owner, HSM) == NONE


def test_access_policy_writer_custom_role() -> None:
    writer = [perm(actions=[f"{KV}/vaults/accessPolicies/write", f"{KV}/vaults/read"])]
    assert capabilities_for_permissions(writer, POLICY) == {A, R}
    assert capabilities_for_permissions(writer, RBAC) == {R}
    assert self_grant_operations(writer, POLICY) == {f"{KV}/vaults/accessPolicies/write"}


def test_managed_hsm_policy_administrator_grants_itself_in_the_hsm() -> None:
    policy_admin = MANAGED_HSM_ROLES["4bd23610-cdcf-4971-bdee-bdc562cc28e4"].permissions
    assert self_grant_operations(policy_admin, HSM) == SELF_GRANT_OPERATIONS[HSM]
    assert not can_grant_itself_data_access(policy_admin, RBAC)


@pytest.mark.parametrize("model", MODELS)
def test_administer_access_means_self_grant(model: AccessModel | None) -> None:
    for role in (*BUILT_IN_ROLES.values(), *MANAGED_HSM_ROLES.values()):
        capabilities = capabilities_for_permissions(role.permissions, model)
        assert (A in capabilities) == can_grant_itself_data_access(role.permissions, model), role.name
