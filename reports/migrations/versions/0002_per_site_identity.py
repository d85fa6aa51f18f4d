"""Per-site device identity: a devices table, and sightings and remediation keyed by site + key.

Keys become ``serial:…``, ``mac:…`` or ``ip:…`` (reports.identity). Old keys were a bare MAC or
an address, so they convert one to one; the site of a device is the site of the scans it was
seen in, and an old remediation follows its device's latest sighting. The remediation's free-text
``site`` (a building or room) becomes ``place``, freeing ``site`` for the partition.

Revision ID: 0002
Revises: 0001
"""

import re
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_KEY = sa.String(300)


def _new_key(old: str) -> str:
    return ("mac:" if _MAC.match(old) else "ip:") + old


def _old_key(new: str) -> str:
    return new.split(":", 1)[1] if new.startswith(("mac:", "ip:", "serial:")) else new


def _create_devices() -> None:
    op.create_table(
        "devices",
        sa.Column("site", _KEY, primary_key=True),
        sa.Column("device", _KEY, primary_key=True),
        sa.Column("serial", sa.String(300)),
        sa.Column("mac", sa.String(64)),
        sa.Column("address", sa.String(64)),
        sa.Column("maker", sa.String(300)),
        sa.Column("model", sa.String(300)),
        sa.Column("first_seen", sa.String(40), nullable=False),
        sa.Column("last_seen", sa.String(40), nullable=False),
        sa.Column("last_scan_id", sa.Integer, nullable=False),
    )
    op.create_index("ix_devices_site_address", "devices", ["site", "address"])
    op.create_index("ix_devices_site_mac", "devices", ["site", "mac"])
    op.create_index("ix_devices_site_serial", "devices", ["site", "serial"])


def _carry_sightings(conn: sa.Connection) -> tuple[list[dict[str, Any]], dict[str, str]]:
    rows = conn.execute(
        sa.text(
            "SELECT s.scan_id, s.device, s.address, s.seen_at, s.covered, c.site "
            "FROM sightings s JOIN scans c ON c.id = s.scan_id ORDER BY s.scan_id"
        )
    ).mappings()
    sightings = []
    site_of: dict[str, str] = {}
    for row in rows:
        site = row["site"] or ""
        site_of[row["device"]] = site  # ordered by scan: the latest sighting wins
        sightings.append(
            {
                "scan_id": row["scan_id"],
                "device": _new_key(row["device"]),
                "site": site,
                "address": row["address"],
                "seen_at": row["seen_at"],
                "covered": row["covered"],
            }
        )
    return sightings, site_of


def _devices_from(sightings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for row in sightings:
        key = (row["site"], row["device"])
        device = out.setdefault(
            key,
            {
                "site": row["site"],
                "device": row["device"],
                "serial": None,
                "mac": row["device"][4:] if row["device"].startswith("mac:") else None,
                "maker": None,
                "model": None,
                "first_seen": row["seen_at"],
            },
        )
        device.update(address=row["address"], last_seen=row["seen_at"], last_scan_id=row["scan_id"])
        device["first_seen"] = min(device["first_seen"], row["seen_at"])
    return list(out.values())


def upgrade() -> None:
    """Partition by site and re-key devices."""
    conn = op.get_bind()
    sightings, site_of = _carry_sightings(conn)
    remediation = [dict(r) for r in conn.execute(sa.text("SELECT * FROM remediation")).mappings()]
    op.drop_table("sightings")
    op.drop_table("remediation")
    _create_devices()
    new_sightings = op.create_table(
        "sightings",
        sa.Column("scan_id", sa.Integer, sa.ForeignKey("scans.id"), primary_key=True),
        sa.Column("device", _KEY, primary_key=True),
        sa.Column("site", _KEY, nullable=False),
        sa.Column("address", sa.String(64)),
        sa.Column("seen_at", sa.String(40), nullable=False),
        sa.Column("covered", sa.String(20), nullable=False),
    )
    op.create_index("ix_sightings_site_device", "sightings", ["site", "device"])
    new_remediation = op.create_table(
        "remediation",
        sa.Column("site", _KEY, primary_key=True),
        sa.Column("device", _KEY, primary_key=True),
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
    op.create_index("ix_scans_site", "scans", ["site"])
    if sightings:
        op.bulk_insert(new_sightings, sightings)
        rows = _devices_from(sightings)
        op.bulk_insert(sa.table("devices", *(sa.column(c) for c in rows[0])), rows)
    if remediation:
        for row in remediation:
            row["place"] = row.pop("site")
            row["site"] = site_of.get(row["device"], "")
            row["device"] = _new_key(row["device"])
        op.bulk_insert(new_remediation, remediation)


def downgrade() -> None:
    """Back to one device namespace (keys of different sites may then collide: later wins)."""
    conn = op.get_bind()
    sightings = [dict(r) for r in conn.execute(sa.text("SELECT * FROM sightings")).mappings()]
    remediation = [dict(r) for r in conn.execute(sa.text("SELECT * FROM remediation")).mappings()]
    op.drop_index("ix_scans_site", "scans")
    op.drop_table("devices")
    op.drop_table("sightings")
    op.drop_table("remediation")
    old_sightings = op.create_table(
        "sightings",
        sa.Column("scan_id", sa.Integer, sa.ForeignKey("scans.id"), primary_key=True),
        sa.Column("device", _KEY, primary_key=True),
        sa.Column("address", sa.String(64)),
        sa.Column("seen_at", sa.String(40), nullable=False),
        sa.Column("covered", sa.String(20), nullable=False),
    )
    op.create_index("ix_sightings_device", "sightings", ["device"])
    op.create_index("ix_sightings_address", "sightings", ["address"])
    old_remediation = op.create_table(
        "remediation",
        sa.Column("device", _KEY, primary_key=True),
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
    by_key = {
        (row["scan_id"], _old_key(row["device"])): {
            "scan_id": row["scan_id"],
            "device": _old_key(row["device"]),
            "address": row["address"],
            "seen_at": row["seen_at"],
            "covered": row["covered"],
        }
        for row in sightings
    }
    if by_key:
        op.bulk_insert(old_sightings, list(by_key.values()))
    old = {}
    for row in remediation:
        row.pop("site")
        row["site"] = row.pop("place")
        row["device"] = _old_key(row["device"])
        old[row["device"]] = row
    if old:
        op.bulk_insert(old_remediation, list(old.values()))
