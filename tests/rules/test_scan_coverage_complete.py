from rules import scan_coverage_complete
from scanner.inventory import ErrorClass, ScopeAspect
from scanner.rule import Status
from tests.factories import ACCOUNT, context, error, inventory, results_by_uid, scope


def test_scope_read_completely_passes() -> None:
    results = results_by_uid(scan_coverage_complete.evaluate(context(inventory())))
    assert results[ACCOUNT].status is Status.PASS
    assert results[ACCOUNT].evidence["error_count"] == 0


def test_collection_error_fails_its_scope_naming_region_and_api() -> None:
    inv = inventory(
        scopes=(scope(), scope("444455556666")),
        errors=(error(location="us-east-1", api="kms:GetKeyPolicy", error_class=ErrorClass.THROTTLED),),
    )
    results = results_by_uid(scan_coverage_complete.evaluate(context(inv)))
    failed = results[ACCOUNT]
    assert failed.status is Status.FAIL
    assert "kms:GetKeyPolicy in us-east-1 (throttled)" in failed.message
    assert failed.evidence["errors"][0]["location"] == "us-east-1"
    assert results["444455556666"].status is Status.PASS


def test_unreadable_scope_aspect_fails_even_without_error_records() -> None:
    inv = inventory(scopes=(scope(unreadable=frozenset({ScopeAspect.AUDIT_LOGGING})),))
    [result] = scan_coverage_complete.evaluate(context(inv))
    assert result.status is Status.FAIL
    assert result.evidence["unreadable"] == ["audit_logging"]


def test_error_for_a_scope_missing_from_the_inventory_still_fails() -> None:
    inv = inventory(errors=(error("999988887777", api="sts:AssumeRole"),))
    results = results_by_uid(scan_coverage_complete.evaluate(context(inv)))
    assert results["999988887777"].status is Status.FAIL
    assert "could not be scanned" in results["999988887777"].message
    assert results[ACCOUNT].status is Status.PASS
