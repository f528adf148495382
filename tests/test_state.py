"""The state store (``--state``): change labels, history, diff, schema versions, in SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from scanner.errors import InputError
from scanner.findings import Finding
from scanner.inventory import ErrorClass, Provider
from scanner.rule import ResourceRef, Severity, Status
from scanner.state.report import diff, history
from scanner.state.store import RunRecord, StateStore, StateTarget
from scanner.state.tracker import Coverage, Tracker
from tests import factories as f

T0 = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
ACCOUNT = f.ACCOUNT
REGION = f.REGION
OTHER_REGION = "us-east-1"


def finding(uid: str, status: Status = Status.FAIL, *, location: str | None = REGION, **kw: Any) -> Finding:
    rule = kw.pop("rule", "key_rotation_enabled")
    scope = kw.pop("scope", ACCOUNT)
    from scanner.findings import finding_id

    return Finding(
        finding_id=finding_id(rule, "aws", scope, uid),
        rule_id=rule,
        title="Rotation",
        severity=Severity.HIGH,
        status=status,
        provider="aws",
        scope=scope,
        location=location,
        resource=ResourceRef(uid=uid, type="AWS::KMS::Key", name=uid.rsplit("/", 1)[-1]),
        message="m",
        evidence={},
        remediation="r",
        controls=("CSA-AICM:CEK-01",),
        **kw,
    )


def full_coverage(*locations: str) -> Coverage:
    return Coverage.of([f.scope(locations=locations or (REGION, OTHER_REGION))], [])


# ------------------------------------------------------------------------------------------- pure labels
def _run(store: StateStore, at: datetime, findings: list[Finding], coverage: Coverage) -> list[Finding]:
    """One run through the real tracker and store (as the CLI does), returning the labelled findings."""
    tracker = Tracker(
        known=store.known_findings(),
        coverage=coverage,
        observed_at=at,
        observed_iso=at.isoformat().replace("+00:00", "Z"),
    )
    labelled = [tracker.label(x) for x in findings]
    labelled += list(tracker.vanished())
    store.record(
        RunRecord(run_id=f"run-{at:%d%H%M}", mode="scan", started_at=at, finished_at=at, exit_code=3), tracker
    )
    return labelled


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        target = StateTarget.parse(tmp_path / "state.db")
    else:
        target = StateTarget.parse(request.getfixturevalue("postgres_url"))
    opened = StateStore.open(target)
    opened.check_schema(migrate=True)
    yield opened
    opened.close()


def _labels(findings: list[Finding]) -> dict[str, str | None]:
    return {x.resource.uid: x.change for x in findings}


def test_new_still_open_resolved_reappeared(store: StateStore) -> None:
    cover = full_coverage()
    first = _run(store, T0, [finding("k1"), finding("k2"), finding("k3", Status.PASS)], cover)
    assert _labels(first) == {"k1": "new", "k2": "new", "k3": None}
    assert first[0].first_seen == first[0].last_seen == "2026-11-01T06:00:00Z"

    t1 = T0 + timedelta(days=1)
    second = _run(store, t1, [finding("k1"), finding("k2", Status.PASS), finding("k3", Status.PASS)], cover)
    assert _labels(second) == {"k1": "still_open", "k2": "resolved", "k3": None}
    assert second[0].first_seen == "2026-11-01T06:00:00Z" and second[0].last_seen == "2026-11-02T06:00:00Z"
    assert second[1].last_seen == "2026-11-01T06:00:00Z"  # last seen failing

    t2 = T0 + timedelta(days=2)
    third = _run(store, t2, [finding("k1"), finding("k2"), finding("k3", Status.UNKNOWN)], cover)
    assert _labels(third) == {"k1": "still_open", "k2": "reappeared", "k3": "new"}  # unknown is open too
    assert third[1].first_seen == "2026-11-01T06:00:00Z"


def test_a_waived_failure_is_still_tracked(store: StateStore) -> None:
    [labelled] = _run(store, T0, [finding("k1", waived=True)], full_coverage())
    assert labelled.change == "new" and labelled.waived


def test_a_collection_error_in_the_region_keeps_its_findings_open(store: StateStore) -> None:
    _run(store, T0, [finding("k1"), finding("k2", location=OTHER_REGION)], full_coverage())
    region_failed = Coverage.of(
        [f.scope(locations=(REGION, OTHER_REGION))], [f.error(location=OTHER_REGION, api="kms:ListKeys")]
    )
    # k2's region failed: k2 did not come back (absent) and a pass there could not be trusted either.
    second = _run(store, T0 + timedelta(days=1), [finding("k1", Status.PASS)], region_failed)
    assert _labels(second) == {"k1": "resolved"}
    third = _run(
        store, T0 + timedelta(days=2), [finding("k1", Status.PASS), finding("k2", Status.FAIL, location=OTHER_REGION)],
        full_coverage(),
    )  # fmt: skip
    assert _labels(third)["k2"] == "still_open"


def test_a_pass_in_a_partly_read_scope_does_not_resolve(store: StateStore) -> None:
    _run(store, T0, [finding("k1")], full_coverage())
    scope_failed = Coverage.of(
        [f.scope(locations=(REGION,))], [f.error(api="iam:GetAccountAuthorizationDetails")]
    )
    [again] = _run(store, T0 + timedelta(days=1), [finding("k1", Status.PASS)], scope_failed)
    assert again.change is None and again.first_seen == "2026-11-01T06:00:00Z"
    [later] = _run(store, T0 + timedelta(days=2), [finding("k1")], full_coverage())
    assert later.change == "still_open"


def test_an_absent_finding_resolves_only_where_the_listing_was_complete(store: StateStore) -> None:
    _run(store, T0, [finding("k1"), finding("k2", location=OTHER_REGION)], full_coverage())
    # Only eu-west-1 listed: the us-east-1 finding is carried, the eu-west-1 one (its key deleted) resolves.
    second = _run(store, T0 + timedelta(days=1), [], full_coverage(REGION))
    [gone] = second
    assert gone.resource.uid == "k1" and gone.change == "resolved" and gone.status is Status.PASS
    assert gone.evidence["resource_absent"] is True and gone.rule_id == "key_rotation_enabled"
    known = {k.resource_uid: k.is_open for k in store.known_findings().values()}
    assert known == {"k1": False, "k2": True}


def test_an_unscanned_scope_resolves_nothing(store: StateStore) -> None:
    _run(store, T0, [finding("k1", scope="999988887777")], full_coverage())
    assert _run(store, T0 + timedelta(days=1), [], full_coverage()) == []
    assert next(iter(store.known_findings().values())).is_open


def test_a_rule_reporting_one_resource_twice_gets_one_history_row(store: StateStore) -> None:
    labelled = _run(store, T0, [finding("k1"), finding("k1")], full_coverage())
    assert [x.change for x in labelled] == ["new", "new"]


# ------------------------------------------------------------------------------------------- history, diff
def test_history_and_diff(store: StateStore) -> None:
    cover = full_coverage()
    _run(store, T0, [finding("k1"), finding("k2")], cover)
    _run(store, T0 + timedelta(days=1), [finding("k1"), finding("k2", Status.PASS)], cover)
    _run(store, T0 + timedelta(days=2), [finding("k1"), finding("k2"), finding("k3")], cover)
    runs = history(store, limit=None)
    assert [r["changes"] for r in runs] == [
        {"new": 1, "still_open": 1, "resolved": 0, "reappeared": 1},
        {"new": 0, "still_open": 1, "resolved": 1, "reappeared": 0},
        {"new": 2, "still_open": 0, "resolved": 0, "reappeared": 0},
    ]
    latest = diff(store, since=None, until=None).to_dict()
    assert [x["resource"]["uid"] for x in latest["new"]] == ["k3"]
    assert [x["resource"]["uid"] for x in latest["reappeared"]] == ["k2"]
    assert [x["resource"]["uid"] for x in latest["still_open"]] == ["k1"]
    assert latest["resolved"] == []
    since_first = diff(store, since=runs[2]["run_id"], until=runs[1]["run_id"]).to_dict()
    assert [x["resource"]["uid"] for x in since_first["resolved"]] == ["k2"]
    by_date = diff(store, since="2026-11-01", until=None)
    assert by_date.since.run_id == runs[2]["run_id"]
    with pytest.raises(InputError, match="no such run"):
        diff(store, since="nope", until=None)


def test_failed_runs_are_recorded_but_never_compared(store: StateStore) -> None:
    _run(store, T0, [finding("k1")], full_coverage())
    store.record(
        RunRecord(run_id="broken", mode="scan", started_at=T0, finished_at=T0, exit_code=1, error="boom"),
        None,
    )
    assert [r["completed"] for r in history(store, limit=None)] == [False, True]
    first_only = diff(store, since=None, until=None)  # the first completed run against an empty history
    assert first_only.since is None and [f.resource_uid for f in first_only.groups["new"]] == ["k1"]
    assert first_only.to_dict()["since"] is None
    with pytest.raises(InputError, match="did not complete"):
        diff(store, since="broken", until=None)
    assert store.last_success_at() == T0


# ------------------------------------------------------------------------------------------- schema
def test_a_store_from_a_newer_keyaudit_is_refused(tmp_path: Path) -> None:
    target = StateTarget.parse(tmp_path / "state.db")
    store = StateStore.open(target)
    store.check_schema(migrate=True)
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(InputError, match=r"newer keyaudit \(schema 9999"):
        store.check_schema(migrate=True)
    store.close()


def test_a_foreign_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE customers (id INTEGER)"))
    engine.dispose()
    with pytest.raises(InputError, match="not a keyaudit state store"):
        StateStore.open(StateTarget.parse(path)).check_schema(migrate=True)
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(InputError, match="not a usable keyaudit state store"):
        StateStore.open(StateTarget.parse(garbage)).check_schema(migrate=True)


def test_migrations_build_the_tables_the_code_uses(tmp_path: Path) -> None:
    from sqlalchemy import inspect

    from scanner.state import tables

    store = StateStore.open(StateTarget.parse(tmp_path / "state.db"))
    store.check_schema(migrate=True)
    with store.engine.connect() as connection:
        inspector = inspect(connection)
        for table in tables.metadata.sorted_tables:
            columns = {c["name"] for c in inspector.get_columns(table.name)}
            assert columns == {c.name for c in table.columns}, table.name
    store.close()


def test_urls_and_passwords() -> None:
    pg = StateTarget.parse("postgresql://scanner:s3cr3t@db.internal:5432/keyaudit")
    assert pg.url.drivername == "postgresql+psycopg"
    assert "s3cr3t" not in pg.display and "db.internal" in pg.display
    assert StateTarget.parse("sqlite:////var/tmp/x.db").sqlite_path == Path("/var/tmp/x.db")
    with pytest.raises(InputError, match="unsupported database 'mysql'") as caught:
        StateTarget.parse("mysql://u:hunter2@h/db")
    assert "hunter2" not in str(caught.value)


# ------------------------------------------------------------------------------------------- CLI
def test_cli_labels_two_evaluations_and_the_ocsf_activity_follows(keyaudit: Any, tmp_path: Path) -> None:
    from tests.conftest import REPO

    inventory = json.loads((REPO / "samples" / "inventory-multicloud.json").read_text())
    (tmp_path / "inv1.json").write_text(json.dumps(inventory))
    common = [
        "--policy", str(REPO / "samples" / "cek-policy.yaml"), "--as-of", "2026-11-22", "--fail-on", "none",
    ]  # fmt: skip
    first = keyaudit("evaluate", "inv1.json", "--state", "h.db", "--format", "json", "-o", "r1.json", *common)
    assert first.returncode == 0, first.stderr
    # The second estate lost an AWS key that had failing findings, in a scope read fully: they resolve.
    gaps = {(e["scope"], e.get("location")) for e in inventory["errors"]}
    failing = {x["resource"]["uid"] for x in json.loads((tmp_path / "r1.json").read_text())["findings"]
               if x["status"] == "fail"}  # fmt: skip
    dropped = next(
        k["uid"] for k in inventory["keys"]
        if k["provider"] == "aws" and k["uid"] in failing
        and (k["scope"], None) not in gaps and (k["scope"], k["location"]) not in gaps
    )  # fmt: skip
    inventory["keys"] = [k for k in inventory["keys"] if k["uid"] != dropped]
    inventory["bindings"] = [b for b in inventory["bindings"] if b.get("target") != dropped]
    (tmp_path / "inv2.json").write_text(json.dumps(inventory))
    second = keyaudit(
        "evaluate", "inv2.json", "--state", "h.db", "--format", "ocsf", "-o", "r2.ndjson", *common
    )
    assert second.returncode == 0, second.stderr
    events = [json.loads(line) for line in (tmp_path / "r2.ndjson").read_text().splitlines()]
    for event in events:
        change = event["unmapped"]["keyaudit"]["change"]
        expected = {"still_open": (2, "Update"), "resolved": (3, "Close")}.get(change, (1, "Create"))
        assert (event["activity_id"], event["activity_name"]) == expected
        if change == "resolved":
            assert (event["status_id"], event["status"]) == (4, "Resolved")
        if change is not None:
            assert "first_seen_time" in event["finding_info"]
    closed = [e for e in events if e["activity_id"] == 3]
    assert closed and {e["resources"][0]["uid"] for e in closed} == {dropped}
    assert any(e["activity_id"] == 2 for e in events)


def test_cli_state_errors_are_clear(keyaudit: Any, tmp_path: Path) -> None:
    from tests.conftest import REPO

    sample = str(REPO / "samples" / "inventory-multicloud.json")
    only_new = keyaudit("evaluate", sample, "--only-new")
    assert only_new.returncode == 2 and "--only-new: needs a state store" in only_new.stderr
    (tmp_path / "junk.db").write_bytes(b"junk" * 1000)
    junk = keyaudit("evaluate", sample, "--state", "junk.db", "--format", "json", "-o", "out.json")
    assert junk.returncode == 2 and "junk.db" in junk.stderr and not (tmp_path / "out.json").exists()
    missing = keyaudit("history", "--state", "nothing-here.db")
    assert missing.returncode == 2 and "nothing-here.db" in missing.stderr
    conflicting = keyaudit("evaluate", sample, "--state", "a.db", "--no-state")
    assert conflicting.returncode == 2


def test_scan_records_in_the_user_data_dir_by_default_even_when_it_cannot_run(
    keyaudit: Any, tmp_path: Path
) -> None:
    """`keyaudit scan` keeps history without being asked (SPEC 2.1); the tests' data dir is a temp dir.
    A scan that could not run (no AWS endpoint reachable) is recorded too, as failed."""
    import os

    data_home = Path(os.environ["XDG_DATA_HOME"])
    done = keyaudit(
        "scan", "aws", "--region", REGION, "--format", "json", "--fail-on", "none",
        env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"},
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert (data_home / "keyaudit" / "state.db").exists()
    listed = keyaudit("history", "--format", "json")
    [run] = json.loads(listed.stdout)
    assert run["mode"] == "scan" and run["exit_code"] == 1 and not run["completed"]
    assert "EndpointConnectionError" in run["error"]


def test_coverage_reads_errors_by_scope_and_region() -> None:
    errors = [
        f.error(location=OTHER_REGION),
        f.error(scope_uid="999988887777", provider=Provider.AWS, error_class=ErrorClass.ACCESS_DENIED),
    ]
    cover = Coverage.of([f.scope(locations=(REGION, OTHER_REGION)), f.scope("999988887777")], errors)
    assert cover.judged_fully("aws", ACCOUNT, REGION)
    assert not cover.judged_fully("aws", ACCOUNT, OTHER_REGION)
    assert not cover.judged_fully("aws", ACCOUNT, None)  # a global finding: any gap in the scope counts
    assert not cover.judged_fully("aws", "999988887777", REGION)
    assert not cover.read_absence("aws", ACCOUNT, "ap-south-1")  # that region was not listed


def test_asff_and_the_terminal_report_show_the_change() -> None:
    import io

    from scanner.findings import Summary
    from scanner.output.siem_writers import asff_finding
    from scanner.output.table_writer import TableWriter

    resolved = finding("k1", Status.PASS, change="resolved", first_seen="2026-11-01T06:00:00Z")
    doc = asff_finding(resolved, account_id=ACCOUNT, region=REGION, time=T0)
    assert doc["Workflow"]["Status"] == "RESOLVED" and doc["FirstObservedAt"] == "2026-11-01T06:00:00.000Z"
    waived_new = finding("k2", change="new", waived=True)
    assert (
        asff_finding(waived_new, account_id=ACCOUNT, region=REGION, time=T0)["Workflow"]["Status"]
        == "SUPPRESSED"
    )

    out = io.BytesIO()
    writer = TableWriter(out, color=False)
    summary = Summary(fail_on=Severity.HIGH)
    for item in (finding("k3", change="new"), finding("k4", change="still_open")):
        summary.add(item)
        writer.write(item)
    state = {"store": "h.db", "previous_run": "abcdef123456", "only_new": False,
             "changes": {"new": 1, "still_open": 1, "resolved": 2, "reappeared": 0}}  # fmt: skip
    writer.close({"run_id": "r", "state": state, "coverage": []}, summary)
    report = out.getvalue().decode()
    assert "Since run abcdef12 in h.db: 1 new, 0 reappeared, 2 resolved, 1 still open" in report
    [k3_line] = [line for line in report.splitlines() if line.rstrip().endswith("k3")]
    assert " NEW " in k3_line
    [k4_line] = [line for line in report.splitlines() if line.rstrip().endswith("k4")]
    assert "NEW" not in k4_line
