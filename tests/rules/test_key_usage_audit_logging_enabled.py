from rules import key_usage_audit_logging_enabled as rule
from scanner.inventory import KeyManager, KeyStoreAspect, Provider, ScopeAspect
from scanner.rule import Status
from tests.factories import ACCOUNT, REGION, audit, context, inventory, key, results_by_uid, scope, store

OTHER_REGION = "us-east-1"
SUB = "sub-1"
VAULT_A = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/a"
VAULT_B = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/b"


def _results(**kw):
    return results_by_uid(rule.evaluate(context(inventory(**kw))))


def _logged(**kw):
    kw.setdefault("admin_events", True)
    kw.setdefault("usage_events", True)
    return audit(**kw)


def _azure(**kw):
    kw.setdefault("scopes", (scope(SUB, Provider.AZURE, locations=("westeurope",)),))
    kw.setdefault(
        "key_stores",
        tuple(store(uid, scope=SUB, location="westeurope") for uid in (VAULT_A, VAULT_B)),
    )
    return kw


def _azure_key(vault, name="k"):
    return key(
        name,
        provider=Provider.AZURE,
        uid=f"{vault}/keys/{name}",
        scope=SUB,
        location="westeurope",
        store=vault,
    )


def _azure_record(vault, **kw):
    return _logged(scope_uid=SUB, provider=Provider.AZURE, key_store=vault, location="westeurope", **kw)


def test_each_region_of_an_account_gets_its_own_result() -> None:
    records = (
        _logged(location=REGION, sources=("org-trail",)),
        _logged(location=OTHER_REGION, usage_events=False, sources=("org-trail",)),
    )
    results = _results(audit_logging=records)
    assert set(results) == {f"{ACCOUNT}/{REGION}", f"{ACCOUNT}/{OTHER_REGION}"}
    passing = results[f"{ACCOUNT}/{REGION}"]
    assert passing.status is Status.PASS
    assert passing.scope == ACCOUNT
    assert passing.location == REGION
    assert passing.resource.type == "aws_account"
    assert passing.evidence["sources"] == ["org-trail"]
    failing = results[f"{ACCOUNT}/{OTHER_REGION}"]
    assert failing.status is Status.FAIL
    assert failing.location == OTHER_REGION
    assert "Key use is not audit-logged" in failing.message


def test_fail_names_the_event_class_that_is_not_logged() -> None:
    [admin] = _results(audit_logging=(_logged(admin_events=False),)).values()
    assert admin.status is Status.FAIL
    assert admin.message.startswith("Key administration is not audit-logged")
    [both] = _results(audit_logging=(_logged(admin_events=False, usage_events=False),)).values()
    assert "Key administration and key use are not audit-logged" in both.message


def test_unread_event_class_is_unknown_and_a_known_gap_still_fails() -> None:
    [unknown] = _results(audit_logging=(_logged(usage_events=None),)).values()
    assert unknown.status is Status.UNKNOWN
    assert "key use" in unknown.message
    [failing] = _results(audit_logging=(_logged(admin_events=False, usage_events=None),)).values()
    assert failing.status is Status.FAIL
    assert "could not be read" in failing.message


def test_scope_level_record_uses_the_scope_uid() -> None:
    project = scope("proj-1", Provider.GCP)
    record = _logged(scope_uid="proj-1", provider=Provider.GCP, sources=("allServices",))
    results = _results(scopes=(project,), audit_logging=(record,))
    assert results["proj-1"].status is Status.PASS
    assert results["proj-1"].location is None


def test_vault_record_is_reported_on_the_vault() -> None:
    results = _results(**_azure(audit_logging=(_azure_record(VAULT_A), _azure_record(VAULT_B))))
    assert set(results) == {VAULT_A, VAULT_B}
    assert results[VAULT_A].resource.type == "key_store:azure_vault"
    assert results[VAULT_A].scope == SUB


def test_record_for_a_store_missing_from_the_inventory_keeps_the_store_uid() -> None:
    results = _results(**_azure(key_stores=(), audit_logging=(_azure_record(VAULT_A, usage_events=False),)))
    assert results[VAULT_A].status is Status.FAIL
    assert results[VAULT_A].resource.type == "key_store"


def test_records_for_the_same_target_are_merged() -> None:
    merged = _results(
        **_azure(
            audit_logging=(
                _azure_record(VAULT_A, usage_events=False, sources=("partial",)),
                _azure_record(VAULT_A, sources=("complete",)),
                _azure_record(VAULT_B, usage_events=False),
                _azure_record(VAULT_B, usage_events=None),
            )
        )
    )
    assert merged[VAULT_A].status is Status.PASS
    assert merged[VAULT_A].evidence["sources"] == ["complete", "partial"]
    assert merged[VAULT_A].evidence["record_count"] == 2
    assert merged[VAULT_B].status is Status.UNKNOWN


def test_result_does_not_depend_on_record_order() -> None:
    records = (
        _logged(location=REGION, admin_events=False),
        _logged(location=REGION, admin_events=None, usage_events=False),
        _logged(location=REGION, admin_events=False, usage_events=None),
    )
    forward = _results(audit_logging=records)
    backward = _results(audit_logging=tuple(reversed(records)))
    assert [(r.status, r.evidence["admin_events"], r.evidence["usage_events"]) for r in forward.values()] == [
        (r.status, r.evidence["admin_events"], r.evidence["usage_events"]) for r in backward.values()
    ]
    [result] = forward.values()
    assert result.status is Status.UNKNOWN  # no record logs administration, one could not tell
    assert result.evidence["usage_events"] is True


def test_scope_with_unreadable_audit_logging_is_unknown() -> None:
    unreadable = scope(unreadable=frozenset({ScopeAspect.AUDIT_LOGGING}))
    results = _results(scopes=(unreadable,))
    assert results[ACCOUNT].status is Status.UNKNOWN
    assert "Could not read the audit-logging configuration" in results[ACCOUNT].message


def test_unreadable_scope_turns_a_scope_level_pass_into_unknown_but_keeps_a_fail() -> None:
    project = scope("proj-1", Provider.GCP, unreadable=frozenset({ScopeAspect.AUDIT_LOGGING}))
    passing = _logged(scope_uid="proj-1", provider=Provider.GCP)
    assert _results(scopes=(project,), audit_logging=(passing,))["proj-1"].status is Status.UNKNOWN
    failing = _logged(scope_uid="proj-1", provider=Provider.GCP, usage_events=False)
    assert _results(scopes=(project,), audit_logging=(failing,))["proj-1"].status is Status.FAIL


def test_unreadable_scope_next_to_region_records_gives_one_result_each() -> None:
    unreadable = scope(unreadable=frozenset({ScopeAspect.AUDIT_LOGGING}))
    results = _results(scopes=(unreadable,), audit_logging=(_logged(location=REGION),))
    assert results[ACCOUNT].status is Status.UNKNOWN
    assert results[f"{ACCOUNT}/{REGION}"].status is Status.PASS


def test_scope_with_customer_keys_and_no_record_is_unknown_never_pass() -> None:
    results = _results(keys=(key(),))
    assert results[ACCOUNT].status is Status.UNKNOWN
    assert "No audit-logging information was collected" in results[ACCOUNT].message


def test_scope_without_customer_keys_or_records_gets_no_result() -> None:
    assert _results() == {}
    assert _results(keys=(key(manager=KeyManager.PROVIDER),)) == {}


def test_keys_in_a_region_without_a_record_are_unknown() -> None:
    other = key("k2", uid=f"arn:aws:kms:{OTHER_REGION}:{ACCOUNT}:key/k2", location=OTHER_REGION)
    results = _results(keys=(key(), other), audit_logging=(_logged(location=REGION),))
    assert results[f"{ACCOUNT}/{REGION}"].status is Status.PASS
    gap = results[f"{ACCOUNT}/{OTHER_REGION}"]
    assert gap.status is Status.UNKNOWN
    assert gap.location == OTHER_REGION
    assert ACCOUNT not in results


def test_keys_in_a_vault_without_a_record_are_unknown() -> None:
    results = _results(
        **_azure(keys=(_azure_key(VAULT_A), _azure_key(VAULT_B)), audit_logging=(_azure_record(VAULT_A),))
    )
    assert results[VAULT_A].status is Status.PASS
    assert results[VAULT_B].status is Status.UNKNOWN
    assert "No audit-logging information" in results[VAULT_B].message
    assert SUB not in results


def test_store_with_unreadable_audit_logging_is_unknown() -> None:
    unreadable = frozenset({KeyStoreAspect.AUDIT_LOGGING})
    stores = (
        store(VAULT_A, scope=SUB, unreadable=unreadable),
        store(VAULT_B, scope=SUB, unreadable=unreadable),
    )
    results = _results(**_azure(key_stores=stores, audit_logging=(_azure_record(VAULT_B),)))
    assert results[VAULT_A].status is Status.UNKNOWN
    assert results[VAULT_B].status is Status.UNKNOWN  # a pass on an unreadable store is not verified
    assert "Could not read" in results[VAULT_B].message


def test_one_scope_level_record_covers_keys_in_every_location() -> None:
    project = scope("proj-1", Provider.GCP, locations=("europe-west1", "global"))
    keys = tuple(
        key(
            f"k-{loc}",
            provider=Provider.GCP,
            uid=f"projects/proj-1/locations/{loc}/keyRings/r/cryptoKeys/k",
            scope="proj-1",
            location=loc,
        )
        for loc in ("europe-west1", "global")
    )
    record = _logged(scope_uid="proj-1", provider=Provider.GCP)
    results = _results(scopes=(project,), keys=keys, audit_logging=(record,))
    assert list(results) == ["proj-1"]
    assert results["proj-1"].status is Status.PASS
