"""Baseline: the layout before migrations (scans, sightings and remediation keyed by device).

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    """Create the three original tables."""
    op.create_table(
        "scans",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("started_at", sa.String(40), nullable=False),
        sa.Column("finished_at", sa.String(40), nullable=False),
        sa.Column("site", sa.String(300)),
        sa.Column("operator", sa.String(300)),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("devices", sa.Integer, nullable=False),
        sa.Column("covered", sa.Integer, nullable=False),
        sa.Column("undetermined", sa.Integer, nullable=False),
        sa.Column("digest", sa.String(80)),
        sa.Column("inventory", sa.Text, nullable=False),
    )
    op.create_table(
        "sightings",
        sa.Column("scan_id", sa.Integer, sa.ForeignKey("scans.id"), primary_key=True),
        sa.Column("device", sa.String(300), primary_key=True),
        sa.Column("address", sa.String(64)),
        sa.Column("seen_at", sa.String(40), nullable=False),
        sa.Column("covered", sa.String(20), nullable=False),
    )
    op.create_index("ix_sightings_device", "sightings", ["device"])
    op.create_index("ix_sightings_address", "sightings", ["address"])
    op.create_table(
        "remediation",
        sa.Column("device", sa.String(300), primary_key=True),
        sa.Column("disposition", sa.String(30), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("waiver_ref", sa.String(300)),
        sa.Column("target_date", sa.String(10)),
        sa.Column("note", sa.String(300)),
        sa.Column("site", sa.String(300)),
        sa.Column("switch_port", sa.String(300)),
        sa.Column("description", sa.String(300)),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.Column("updated_by", sa.String(300)),
    )


def downgrade() -> None:
    """Drop everything."""
    op.drop_table("remediation")
    op.drop_table("sightings")
    op.drop_table("scans")
