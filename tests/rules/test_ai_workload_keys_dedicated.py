from rules import ai_workload_keys_dedicated as rule
from scanner.inventory import Capability, PrincipalKind, ScopeAspect
from scanner.rule import Status
from tests.factories import binding, context, inventory, key, principal, resource, results_by_uid, scope

POLICY = {"ai_workloads": {"dedicated_keys": True, "tenant_tag": "tenant"}}


def _run(keys, resources=(), bindings=(), principals=(), policy=POLICY, scopes=None):
    inv = inventory(keys=keys, resources=resources, bindings=bindings, principals=principals,
                    **({"scopes": scopes} if scopes else {}))  # fmt: skip
    return results_by_uid(rule.evaluate(context(inv, policy)))


def test_a_key_dedicated_to_one_tenants_ai_passes() -> None:
    k = key("k1")
    ep = resource("endpoint-config/a", keys=(k.uid,), tags={"tenant": "acme"})
    nb = resource("notebook-instance/a", keys=(k.uid,), tags={"tenant": "acme"})
    assert _run((k,), (ep, nb))[k.uid].status is Status.PASS


def test_a_key_shared_with_an_ordinary_workload_fails() -> None:
    k = key("k1")
    ep = resource("endpoint-config/a", keys=(k.uid,))
    bucket = resource(
        "bucket/data", ai_service=None, service="s3", native_type="AWS::S3::Bucket", keys=(k.uid,)
    )
    result = _run((k,), (ep, bucket))[k.uid]
    assert result.status is Status.FAIL and "non-AI resource" in result.message
    via_s3 = binding("arn:aws:iam::111122223333:role/app", k.uid, Capability.DECRYPT, via_services=("s3",))
    s3 = principal("s3.amazonaws.com", PrincipalKind.SERVICE)
    s3_grant = binding("s3.amazonaws.com", k.uid, Capability.ENCRYPT)
    result = _run((k,), (ep,), (via_s3, s3_grant), (s3,))[k.uid]
    assert result.status is Status.FAIL and "via s3" in result.evidence["non_ai_services"]
    assert "s3.amazonaws.com" in result.evidence["non_ai_services"]


def test_two_tenants_on_one_key_fail_and_the_scope_is_the_default_tenant() -> None:
    k = key("k1")
    a = resource("endpoint-config/a", keys=(k.uid,), tags={"tenant": "acme"})
    b = resource("endpoint-config/b", keys=(k.uid,), tags={"tenant": "globex"})
    result = _run((k,), (a, b))[k.uid]
    assert result.status is Status.FAIL and result.evidence["tenants"] == ["tenant=acme", "tenant=globex"]
    other = resource("endpoint-config/c", keys=(k.uid,), scope="999988887777")
    untagged = _run(
        (k,),
        (resource("endpoint-config/d", keys=(k.uid,)), other),
        policy={"ai_workloads": {"dedicated_keys": True}},
    )
    assert untagged[k.uid].status is Status.FAIL


def test_incomplete_ai_listing_is_unknown_and_the_policy_can_waive_dedication() -> None:
    k = key("k1")
    ep = resource("endpoint-config/a", keys=(k.uid,))
    partial = scope(unreadable=frozenset({ScopeAspect.AI_RESOURCES}))
    assert _run((k,), (ep,), scopes=(partial,))[k.uid].status is Status.UNKNOWN
    bucket = resource(
        "bucket/data", ai_service=None, service="s3", native_type="AWS::S3::Bucket", keys=(k.uid,)
    )
    assert _run((k,), (ep, bucket), policy={})[k.uid].status is Status.PASS


def test_unread_tags_make_the_tenant_unknown_never_a_pass() -> None:
    from scanner.inventory import ResourceAspect

    k = key("k1")
    tagged = resource("endpoint-config/a", keys=(k.uid,), tags={"tenant": "acme"})
    unread = resource("endpoint-config/b", keys=(k.uid,), unreadable=frozenset({ResourceAspect.TAGS}))
    result = _run((k,), (tagged, unread))[k.uid]
    assert result.status is Status.UNKNOWN and "tags (tenant)" in result.message
    # Without a tenant tag in the policy the account is the tenant: unread tags do not matter.
    assert (
        _run((k,), (tagged, unread), policy={"ai_workloads": {"dedicated_keys": True}})[k.uid].status
        is Status.PASS
    )
