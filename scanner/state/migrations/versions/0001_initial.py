"""State store, first schema: runs, findings, run_findings, lock_holder.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), nullable=False, unique=True),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("tool_version", sa.String(32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("exit_code", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("providers", sa.JSON, nullable=False),
        sa.Column("scopes", sa.JSON, nullable=False),
        sa.Column("coverage", sa.JSON, nullable=False),
        sa.Column("summary", sa.JSON, nullable=True),
        sa.Column("changes", sa.JSON, nullable=False),
        sa.Column("policy_sha256", sa.String(64), nullable=True),
    )
    op.create_table(
        "findings",
        sa.Column("finding_id", sa.String(64), primary_key=True),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("scope", sa.String(255), nullable=False),
        sa.Column("location", sa.String(64), nullable=True),
        sa.Column("resource_uid", sa.Text, nullable=False),
        sa.Column("resource_type", sa.String(128), nullable=False),
        sa.Column("resource_name", sa.Text, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("is_open", sa.Boolean, nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_run_seq", sa.Integer, sa.ForeignKey("runs.seq"), nullable=False),
    )
    op.create_table(
        "run_findings",
        sa.Column("run_seq", sa.Integer, sa.ForeignKey("runs.seq", ondelete="CASCADE"), primary_key=True),
        sa.Column("finding_id", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("change", sa.String(16), nullable=True),
        sa.Column("is_open", sa.Boolean, nullable=False),
        sa.Column("waived", sa.Boolean, nullable=False),
    )
    op.create_index("ix_run_findings_open", "run_findings", ["run_seq", "is_open"])
    op.create_table(
        "lock_holder",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("lock_holder")
    op.drop_index("ix_run_findings_open", table_name="run_findings")
    op.drop_table("run_findings")
    op.drop_table("findings")
    op.drop_table("runs")
