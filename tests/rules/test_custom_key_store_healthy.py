import dataclasses

import pytest

from rules import custom_key_store_healthy as rule
from scanner.inventory import ConnectionState, HsmCluster, KeyStoreAspect, KeyStoreKind, Provider
from scanner.rule import Status
from tests.factories import context, inventory, results_by_uid, store

CKS = "arn:aws:kms:eu-west-1:111122223333:custom-key-store/cks-1"
XKS = "arn:aws:kms:eu-west-1:111122223333:custom-key-store/cks-xks"
ZONES = ("eu-west-1a", "eu-west-1b")


def _cloudhsm(active=2, zones=ZONES, state=ConnectionState.CONNECTED, **kw):
    kw.setdefault(
        "hsm_cluster",
        HsmCluster(uid="cluster-1", state="ACTIVE", active_hsms=active, availability_zones=zones),
    )
    return store(CKS, provider=Provider.AWS, kind=KeyStoreKind.AWS_CLOUDHSM, connection_state=state, **kw)


def _judge(*stores):
    return results_by_uid(rule.evaluate(context(inventory(key_stores=stores))))


def test_connected_cluster_with_two_hsms_in_two_zones_passes() -> None:
    result = _judge(_cloudhsm())[CKS]
    assert result.status is Status.PASS
    assert result.evidence["hsm_cluster"]["availability_zones"] == list(ZONES)
    assert result.evidence["connection_state"] == "connected"


@pytest.mark.parametrize("state", [s for s in ConnectionState if s is not ConnectionState.CONNECTED])
def test_store_that_is_not_connected_fails(state) -> None:
    result = _judge(_cloudhsm(state=state))[CKS]
    assert result.status is Status.FAIL
    assert state.value in result.message
    assert "reconnect" in result.message


def test_unread_connection_state_is_unknown() -> None:
    assert _judge(_cloudhsm(state=None))[CKS].status is Status.UNKNOWN


def test_single_active_hsm_fails() -> None:
    result = _judge(_cloudhsm(active=1, zones=("eu-west-1a",)))[CKS]
    assert result.status is Status.FAIL
    assert "1 active HSM(s)" in result.message


def test_two_hsms_in_one_zone_fail() -> None:
    result = _judge(_cloudhsm(active=2, zones=("eu-west-1a", "eu-west-1a")))[CKS]
    assert result.status is Status.FAIL
    assert "only availability zone eu-west-1a" in result.message


def test_unread_hsm_count_is_unknown() -> None:
    result = _judge(_cloudhsm(active=None))[CKS]
    assert result.status is Status.UNKNOWN
    assert "active HSMs" in result.message


def test_hsms_without_reported_zones_are_unknown() -> None:
    assert _judge(_cloudhsm(active=2, zones=()))[CKS].status is Status.UNKNOWN


def test_empty_cluster_fails_on_its_hsm_count() -> None:
    result = _judge(_cloudhsm(active=0, zones=()))[CKS]
    assert result.status is Status.FAIL
    assert "0 active HSM(s)" in result.message


def test_cloudhsm_store_without_cluster_data_is_unknown() -> None:
    result = _judge(_cloudhsm(hsm_cluster=None))[CKS]
    assert result.status is Status.UNKNOWN
    assert "CloudHSM cluster" in result.message


def test_failure_is_kept_when_something_else_is_unread() -> None:
    result = _judge(_cloudhsm(state=ConnectionState.DISCONNECTED, hsm_cluster=None))[CKS]
    assert result.status is Status.FAIL
    assert "could not be read" in result.message


def test_unreadable_metadata_blocks_a_pass() -> None:
    result = _judge(_cloudhsm(unreadable=frozenset({KeyStoreAspect.METADATA})))[CKS]
    assert result.status is Status.UNKNOWN


def test_external_key_store_needs_only_a_connection() -> None:
    xks = store(
        XKS, provider=Provider.AWS, kind=KeyStoreKind.AWS_EXTERNAL, connection_state=ConnectionState.CONNECTED
    )
    assert _judge(xks)[XKS].status is Status.PASS
    down = dataclasses.replace(xks, connection_state=ConnectionState.FAILED)
    assert _judge(down)[XKS].status is Status.FAIL


def test_other_key_stores_get_no_result() -> None:
    stores = (
        store("default", provider=Provider.AWS, kind=KeyStoreKind.AWS_KMS_DEFAULT),
        store("vault"),
        store("ring", provider=Provider.GCP, kind=KeyStoreKind.GCP_KEY_RING),
    )
    assert _judge(*stores) == {}


def test_degraded_cluster_fails_even_with_two_hsms_in_two_zones() -> None:
    cluster = HsmCluster(
        uid="cluster-1", state="DEGRADED", active_hsms=2, availability_zones=ZONES, degraded=True
    )
    result = _judge(_cloudhsm(hsm_cluster=cluster))[CKS]
    assert result.status is Status.FAIL
    assert "DEGRADED" in result.message
