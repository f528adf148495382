import pytest

from rules import key_store_network_restricted as rule
from scanner.inventory import KeyStoreAspect, KeyStoreKind, NetworkAccess, Provider
from scanner.rule import Status
from tests.factories import context, inventory, results_by_uid, store

VAULT = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v1"


def _judge(**network):
    unreadable = network.pop("unreadable", frozenset())
    vault = store(VAULT, network=NetworkAccess(**network), unreadable=unreadable)
    return results_by_uid(rule.evaluate(context(inventory(key_stores=(vault,)))))[VAULT]


@pytest.mark.parametrize("deny", [True, False, None])
def test_public_access_disabled_passes_whatever_the_firewall(deny) -> None:
    assert _judge(public_network_access=False, default_action_deny=deny).status is Status.PASS


@pytest.mark.parametrize("public", [True, None])
def test_firewall_deny_by_default_passes_without_private_endpoints(public) -> None:
    result = _judge(
        public_network_access=public,
        default_action_deny=True,
        private_endpoints=0,
        allowed_ip_ranges=("203.0.113.0/24",),
    )
    assert result.status is Status.PASS
    assert result.evidence["private_endpoints"] == 0
    assert result.evidence["allowed_ip_ranges"] == ["203.0.113.0/24"]


def test_open_to_all_networks_fails() -> None:
    result = _judge(public_network_access=True, default_action_deny=False, private_endpoints=2)
    assert result.status is Status.FAIL
    assert "all networks" in result.message
    assert result.evidence["private_endpoints"] == 2  # a private endpoint does not close the public one


@pytest.mark.parametrize(
    ("public", "deny"),
    [(None, False), (True, None), (None, None)],
)
def test_unread_fact_that_does_not_settle_it_is_unknown(public, deny) -> None:
    result = _judge(public_network_access=public, default_action_deny=deny)
    assert result.status is Status.UNKNOWN
    assert "Could not read" in result.message


def test_allow_rule_for_every_address_defeats_deny_by_default() -> None:
    result = _judge(public_network_access=True, default_action_deny=True, allowed_ip_ranges=("0.0.0.0/0",))
    assert result.status is Status.FAIL
    assert "0.0.0.0/0" in result.message
    unread = _judge(public_network_access=None, default_action_deny=True, allowed_ip_ranges=("::/0",))
    assert unread.status is Status.UNKNOWN
    closed = _judge(public_network_access=False, default_action_deny=True, allowed_ip_ranges=("0.0.0.0/0",))
    assert closed.status is Status.PASS


def test_malformed_ranges_are_reported_not_judged() -> None:
    result = _judge(public_network_access=True, default_action_deny=True, allowed_ip_ranges=("not-a-cidr",))
    assert result.status is Status.PASS
    assert result.evidence["allowed_ip_ranges"] == ["not-a-cidr"]


def test_unreadable_metadata_blocks_a_pass_but_not_a_fail() -> None:
    unreadable = frozenset({KeyStoreAspect.METADATA})
    assert _judge(public_network_access=False, unreadable=unreadable).status is Status.UNKNOWN
    failing = _judge(public_network_access=True, default_action_deny=False, unreadable=unreadable)
    assert failing.status is Status.FAIL


def test_ip_range_evidence_is_capped() -> None:
    ranges = tuple(f"198.51.{i // 256}.{i % 256}/32" for i in range(60))
    result = _judge(public_network_access=True, default_action_deny=True, allowed_ip_ranges=ranges)
    assert len(result.evidence["allowed_ip_ranges"]) == 50
    assert result.evidence["allowed_ip_range_count"] == 60


def test_stores_without_network_settings_get_no_result() -> None:
    ring = store("projects/p/locations/l/keyRings/r", provider=Provider.GCP, kind=KeyStoreKind.GCP_KEY_RING)
    hsm = store(
        "mhsm", kind=KeyStoreKind.AZURE_MANAGED_HSM, network=NetworkAccess(public_network_access=True)
    )
    results = results_by_uid(rule.evaluate(context(inventory(key_stores=(ring, hsm)))))
    assert set(results) == {"mhsm"}
