from rules import ai_service_not_key_admin as rule
from scanner.inventory import Capability, KeyAspect, PrincipalKind
from scanner.rule import Status
from tests.factories import binding, context, inventory, key, principal, results_by_uid

BEDROCK = "bedrock.amazonaws.com"
SAGEMAKER = "sagemaker.amazonaws.com"


def _run(keys, bindings, principals):
    return results_by_uid(
        rule.evaluate(context(inventory(keys=keys, bindings=bindings, principals=principals)))
    )


def test_an_ai_service_that_can_administer_its_key_fails_use_only_passes() -> None:
    k1, k2, k3 = key("k1"), key("k2"), key("k3")
    principals = (
        principal(BEDROCK, PrincipalKind.SERVICE, ai_service="bedrock"),
        principal(SAGEMAKER, PrincipalKind.SERVICE, ai_service="sagemaker"),
    )
    bindings = (
        binding(BEDROCK, k1.uid, Capability.DECRYPT, Capability.ENCRYPT),
        binding(SAGEMAKER, k2.uid, Capability.DECRYPT, Capability.ADMINISTER_ACCESS, Capability.DESTROY),
    )
    results = _run((k1, k2, k3), bindings, principals)
    assert results[k1.uid].status is Status.PASS
    assert results[k2.uid].status is Status.FAIL
    [entry] = results[k2.uid].evidence["ai_principals"]
    assert (
        entry["admin_capabilities"] == ["administer_access", "destroy"] and entry["ai_service"] == "sagemaker"
    )
    assert k3.uid not in results  # no AI principal reaches it: not judged


def test_unreadable_access_is_unknown() -> None:
    k1 = key("k1", unreadable=frozenset({KeyAspect.ACCESS}))
    results = _run(
        (k1,),
        (binding(BEDROCK, k1.uid, Capability.DECRYPT),),
        (principal(BEDROCK, PrincipalKind.SERVICE, ai_service="bedrock"),),
    )
    assert results[k1.uid].status is Status.UNKNOWN
