"""The state store's tables (SQLAlchemy Core). Migrations in ``migrations/versions`` create and change them;
this module is what the code reads and writes, and a test checks both agree."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

# One row per run (scan, evaluate or demo) that used the store, including runs that could not finish.
runs = Table(
    "runs",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),  # the order runs were recorded in
    Column("run_id", String(64), nullable=False, unique=True),
    Column("mode", String(16), nullable=False),
    Column("tool_version", String(32), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("exit_code", Integer, nullable=False),
    Column("error", Text, nullable=True),  # why a run could not finish (exit 1)
    Column("providers", JSON, nullable=False),
    Column("scopes", JSON, nullable=False),  # [{provider, uid, locations}]
    Column("coverage", JSON, nullable=False),  # collection errors, as in scan.coverage
    Column("summary", JSON, nullable=True),  # scan.summary
    Column("changes", JSON, nullable=False),  # {"new": n, "still_open": n, "resolved": n, "reappeared": n}
    Column("policy_sha256", String(64), nullable=True),
)

# The current state of every finding that has ever been failing (passes never failed are not kept).
findings = Table(
    "findings",
    metadata,
    Column("finding_id", String(64), primary_key=True),
    Column("rule_id", String(64), nullable=False),
    Column("title", Text, nullable=False),
    Column("severity", String(16), nullable=False),
    Column("provider", String(16), nullable=False),
    Column("scope", String(255), nullable=False),
    Column("location", String(64), nullable=True),
    Column("resource_uid", Text, nullable=False),
    Column("resource_type", String(128), nullable=False),
    Column("resource_name", Text, nullable=True),
    Column("status", String(16), nullable=False),  # as last judged
    Column("is_open", Boolean, nullable=False),  # failing and not resolved since
    Column("first_seen", DateTime(timezone=True), nullable=False),  # first run that saw it failing
    Column("last_seen", DateTime(timezone=True), nullable=False),  # last run that saw it failing
    Column("last_run_seq", Integer, ForeignKey("runs.seq"), nullable=False),
)

# Per run, the findings that matter for history: everything not passing, every resolution, and open
# findings this run did not judge (carried, still open). ``is_open`` after the run makes "what was open
# after run R" one indexed query, which `keyaudit diff` compares between two runs.
run_findings = Table(
    "run_findings",
    metadata,
    Column("run_seq", Integer, ForeignKey("runs.seq", ondelete="CASCADE"), primary_key=True),
    Column("finding_id", String(64), primary_key=True),
    Column("status", String(16), nullable=False),  # pass/fail/unknown/error, absent, not_assessed
    Column("change", String(16), nullable=True),
    Column("is_open", Boolean, nullable=False),
    Column("waived", Boolean, nullable=False),
)
Index("ix_run_findings_open", run_findings.c.run_seq, run_findings.c.is_open)

# Who holds the scan lock of a PostgreSQL store (the lock itself is an advisory lock): for the message a
# second scan prints, and to notice a holder that died without cleaning up.
lock_holder = Table(
    "lock_holder",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("run_id", String(64), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("host", String(255), nullable=False),
    Column("since", DateTime(timezone=True), nullable=False),
)
