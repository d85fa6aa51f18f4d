"""The history store's tables (SQLAlchemy Core), as the newest migration leaves them.

Alembic owns the layout (``reports/migrations``); these definitions are what the code queries and
must match the head revision, which a test checks by comparing the two. Every device-level table
is partitioned by ``site`` (``''`` for a scan without one): two sites on the same private range
never share a row.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "devices",
    "metadata",
    "probe_results",
    "remediation",
    "scan_jobs",
    "scans",
    "sightings",
]

metadata = sa.MetaData()

#: One row per stored inventory (the full JSON, so any scan can be rendered again).
scans = sa.Table(
    "scans",
    metadata,
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
    sa.Index("ix_scans_site", "site"),
)

#: Every device a site has shown, under the key that follows it (reports.identity), with the
#: identifying fields of its latest sighting and the span it was seen over.
devices = sa.Table(
    "devices",
    metadata,
    sa.Column("site", sa.String(300), primary_key=True),
    sa.Column("device", sa.String(300), primary_key=True),
    sa.Column("serial", sa.String(300)),
    sa.Column("mac", sa.String(64)),
    sa.Column("address", sa.String(64)),
    sa.Column("maker", sa.String(300)),
    sa.Column("model", sa.String(300)),
    sa.Column("first_seen", sa.String(40), nullable=False),
    sa.Column("last_seen", sa.String(40), nullable=False),
    sa.Column("last_scan_id", sa.Integer, nullable=False),
    sa.Index("ix_devices_site_address", "site", "address"),
    sa.Index("ix_devices_site_mac", "site", "mac"),
    sa.Index("ix_devices_site_serial", "site", "serial"),
)

#: Which device appeared in which scan, at which address, with which verdict.
sightings = sa.Table(
    "sightings",
    metadata,
    sa.Column("scan_id", sa.Integer, sa.ForeignKey("scans.id"), primary_key=True),
    sa.Column("device", sa.String(300), primary_key=True),
    sa.Column("site", sa.String(300), nullable=False),
    sa.Column("address", sa.String(64)),
    sa.Column("seen_at", sa.String(40), nullable=False),
    sa.Column("covered", sa.String(20), nullable=False),
    sa.Index("ix_sightings_site_device", "site", "device"),
)

#: The disposition an operator recorded for a device of a site; it outlives the scans.
remediation = sa.Table(
    "remediation",
    metadata,
    sa.Column("site", sa.String(300), primary_key=True),
    sa.Column("device", sa.String(300), primary_key=True),
    sa.Column("disposition", sa.String(30), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("waiver_ref", sa.String(300)),
    sa.Column("target_date", sa.String(10)),
    sa.Column("note", sa.String(300)),
    sa.Column("place", sa.String(300)),
    sa.Column("switch_port", sa.String(300)),
    sa.Column("description", sa.String(300)),
    sa.Column("updated_at", sa.String(40), nullable=False),
    sa.Column("updated_by", sa.String(300)),
)

#: A sweep asked of a site (by ``scans submit`` or the schedule), and how far it got.
scan_jobs = sa.Table(
    "scan_jobs",
    metadata,
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
    sa.Index("ix_scan_jobs_site", "site"),
)

#: Every probe result a site worker streamed in, once: the key is site, job, probe and target
#: (``slot``: the target, with ``#n`` for a probe's n-th result on the same target), so a batch
#: sent twice after a redelivery adds nothing.
probe_results = sa.Table(
    "probe_results",
    metadata,
    sa.Column("site", sa.String(300), primary_key=True),
    sa.Column("job_id", sa.String(40), sa.ForeignKey("scan_jobs.id"), primary_key=True),
    sa.Column("probe", sa.String(64), primary_key=True),
    sa.Column("slot", sa.String(200), primary_key=True),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("result", sa.Text, nullable=False),
)

#: The asset register (``ndaa-scan assets import``): the latest imported rows, one JSON each. A
#: register is a snapshot of the organisation's records, so an import replaces the previous one;
#: each record names its own site.
asset_records = sa.Table(
    "asset_records",
    metadata,
    sa.Column("row", sa.Integer, primary_key=True),
    sa.Column("source", sa.String(300), nullable=False),
    sa.Column("imported_at", sa.String(40), nullable=False),
    sa.Column("record", sa.Text, nullable=False),
)
