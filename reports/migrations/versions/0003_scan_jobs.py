"""Scan jobs and the probe results site workers stream in (issue 10).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    """Add the job and result tables."""
    op.create_table(
        "scan_jobs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("site", sa.String(300), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("submitted_by", sa.String(300)),
        sa.Column("submitted_at", sa.String(40), nullable=False),
        sa.Column("started_at", sa.String(40)),
        sa.Column("finished_at", sa.String(40)),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("worker", sa.String(300)),
        sa.Column("scan_id", sa.Integer, sa.ForeignKey("scans.id")),
        sa.Column("error", sa.String(500)),
    )
    op.create_index("ix_scan_jobs_site", "scan_jobs", ["site"])
    op.create_table(
        "probe_results",
        sa.Column("site", sa.String(300), primary_key=True),
        sa.Column("job_id", sa.String(40), sa.ForeignKey("scan_jobs.id"), primary_key=True),
        sa.Column("probe", sa.String(64), primary_key=True),
        sa.Column("slot", sa.String(200), primary_key=True),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("result", sa.Text, nullable=False),
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("probe_results")
    op.drop_index("ix_scan_jobs_site", "scan_jobs")
    op.drop_table("scan_jobs")
