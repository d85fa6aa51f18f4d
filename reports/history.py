"""The scan history: every sweep's inventory, when each device was seen, and its remediation.

Storage is SQLAlchemy 2 Core, so one code path serves the default SQLite file under the user's
data directory and a PostgreSQL URL shared by many sites. Three tables:

* ``scans`` — one row per stored inventory (the full JSON, so any scan can be rendered again);
* ``sightings`` — which device (MAC, else device key) appeared in which scan, at which address;
* ``remediation`` — the disposition an operator recorded for a device, with location details.
  It is keyed by device, not by scan, so it survives re-scans; a device recorded as replaced or
  decommissioned (status done) that shows up again is flagged ``reappeared_after_remediation``.

Where the store lives: ``--db`` (a path or SQLAlchemy URL), else ``$NDAA_SCAN_DB``, else
``<user data dir>/ndaa-scan/history.sqlite3``. ``NDAA_SCAN_DB=off`` disables recording.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final

import platformdirs
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from reports.assets import AssetRecord, Register, attach_purchases
from reports.inventory import (
    REAPPEARED,
    Disposition,
    Inventory,
    InventoryRecord,
    Location,
    Remediation,
    RemediationStatus,
    clean_text,
    priority_for,
    with_devices,
)

__all__ = [
    "DB_ENV",
    "HistoryError",
    "HistoryStore",
    "RemediationEntry",
    "ScanRow",
    "open_store",
    "resolve_url",
]

log = logging.getLogger(__name__)

#: Environment variable that overrides the default store (tests point it at a temp dir).
DB_ENV: Final = "NDAA_SCAN_DB"
_DISABLED: Final = frozenset({"off", "none", "0", "false"})

_meta = sa.MetaData()
_scans = sa.Table(
    "scans",
    _meta,
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
_sightings = sa.Table(
    "sightings",
    _meta,
    sa.Column("scan_id", sa.Integer, sa.ForeignKey("scans.id"), primary_key=True),
    sa.Column("device", sa.String(300), primary_key=True),
    sa.Column("address", sa.String(64)),
    sa.Column("seen_at", sa.String(40), nullable=False),
    sa.Column("covered", sa.String(20), nullable=False),
    sa.Index("ix_sightings_device", "device"),
    sa.Index("ix_sightings_address", "address"),
)
_remediation = sa.Table(
    "remediation",
    _meta,
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

# The asset register (``ndaa-scan assets import``): the latest imported rows, one JSON each.
_asset_records = sa.Table(
    "asset_records",
    _meta,
    sa.Column("row", sa.Integer, primary_key=True),
    sa.Column("source", sa.String(300), nullable=False),
    sa.Column("imported_at", sa.String(40), nullable=False),
    sa.Column("record", sa.Text, nullable=False),
)


class HistoryError(Exception):
    """The history store cannot be opened, read or written (one line, for the CLI)."""


class ScanRow(BaseModel):
    """One stored scan, as ``ndaa-scan history`` lists it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: int
    started_at: datetime
    finished_at: datetime
    site: str | None
    operator: str | None
    scope: tuple[str, ...]
    devices: int
    covered: int
    undetermined: int
    digest: str | None


class RemediationEntry(BaseModel):
    """A device's recorded disposition and the location details the operator added."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    device: str
    remediation: Remediation
    site: str | None = None
    switch_port: str | None = None
    description: str | None = None


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def default_path() -> Path:
    """The default SQLite file under the user's data directory."""
    return Path(platformdirs.user_data_dir("ndaa-scan", appauthor=False)) / "history.sqlite3"


def resolve_url(db: str | None) -> str | None:
    """The SQLAlchemy URL to use, or None when recording is switched off."""
    value = db if db is not None else os.environ.get(DB_ENV)
    if value is not None and value.strip().lower() in _DISABLED:
        return None
    if not value:
        return "sqlite:///" + str(default_path())
    if "://" in value:
        return value
    return "sqlite:///" + str(Path(value).expanduser().resolve())


def _safe_url(url: str) -> str:
    # Never echo a password from a PostgreSQL URL into an error line or a log.
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"


class HistoryStore:
    """Scan history and remediation records in one SQLAlchemy database."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            parsed = sa.make_url(url)
            if parsed.get_backend_name() == "sqlite" and parsed.database:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self._engine = sa.create_engine(parsed)
            _meta.create_all(self._engine)
        except (ArgumentError, SQLAlchemyError, OSError, ImportError) as exc:
            raise HistoryError(
                f"cannot open history database {_safe_url(url)}: {_one_line(exc)}"
            ) from exc

    def close(self) -> None:
        """Release the connection pool."""
        self._engine.dispose()

    @contextmanager
    def _begin(self) -> Iterator[sa.Connection]:
        try:
            with self._engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise HistoryError(
                f"history database {_safe_url(self.url)} failed: {_one_line(exc)}"
            ) from exc

    # ------------------------------------------------------------------ scans

    def record(self, inventory: Inventory) -> tuple[int, Inventory]:
        """Store a scan; return its id and the inventory enriched from history, resealed.

        Enrichment: first seen widened to the earliest sighting, the recorded remediation and
        location applied, re-appearing remediated devices flagged, priorities recomputed.
        """
        with self._begin() as conn:
            keys = [r.history_key for r in inventory.devices]
            first_seen = self._first_seen(conn, keys)
            notes = self._remediation_for(conn, keys)
            enriched = with_devices(
                inventory,
                (
                    _enrich(r, first_seen.get(r.history_key), notes.get(r.history_key))
                    for r in inventory.devices
                ),
            )
            enriched = attach_purchases(enriched, self._asset_rows(conn))
            scan_id = self._insert(conn, enriched)
        return scan_id, enriched

    def _insert(self, conn: sa.Connection, inventory: Inventory) -> int:
        s = inventory.summary
        result = conn.execute(
            _scans.insert().values(
                started_at=_iso(inventory.scan.started_at),
                finished_at=_iso(inventory.scan.finished_at),
                site=inventory.scan.site,
                operator=inventory.scan.operator,
                scope=json.dumps(list(inventory.scan.scope)),
                devices=s.devices,
                covered=s.covered,
                undetermined=s.undetermined,
                digest=inventory.digest,
                inventory=inventory.model_dump_json(),
            )
        )
        primary_key = result.inserted_primary_key
        if primary_key is None:  # every backend SQLAlchemy supports returns it for an INSERT
            raise HistoryError("the history database returned no id for the new scan")
        scan_id = int(primary_key[0])
        seen_at = _iso(inventory.scan.finished_at)
        rows = {
            r.history_key: {
                "scan_id": scan_id,
                "device": r.history_key,
                "address": r.addresses[0][:64] if r.addresses else None,
                "seen_at": seen_at,
                "covered": r.covered.value,
            }
            for r in inventory.devices
        }
        if rows:
            conn.execute(_sightings.insert(), list(rows.values()))
        return scan_id

    def _first_seen(self, conn: sa.Connection, keys: Sequence[str]) -> dict[str, datetime]:
        out: dict[str, datetime] = {}
        for chunk in _chunks(keys):
            query = (
                sa.select(_sightings.c.device, sa.func.min(_sightings.c.seen_at))
                .where(_sightings.c.device.in_(chunk))
                .group_by(_sightings.c.device)
            )
            out.update({device: _parse(seen) for device, seen in conn.execute(query)})
        return out

    def _remediation_for(
        self, conn: sa.Connection, keys: Sequence[str]
    ) -> dict[str, RemediationEntry]:
        out: dict[str, RemediationEntry] = {}
        for chunk in _chunks(keys):
            query = sa.select(_remediation).where(_remediation.c.device.in_(chunk))
            for row in conn.execute(query).mappings():
                entry = _entry(row)
                out[entry.device] = entry
        return out

    def scans(self, limit: int = 50) -> list[ScanRow]:
        """The most recent scans, newest first."""
        columns = [c for c in _scans.c if c.name != "inventory"]
        query = sa.select(*columns).order_by(_scans.c.id.desc()).limit(limit)
        with self._begin() as conn:
            return [
                ScanRow(
                    id=row["id"],
                    started_at=_parse(row["started_at"]),
                    finished_at=_parse(row["finished_at"]),
                    site=row["site"],
                    operator=row["operator"],
                    scope=tuple(json.loads(row["scope"])),
                    devices=row["devices"],
                    covered=row["covered"],
                    undetermined=row["undetermined"],
                    digest=row["digest"],
                )
                for row in conn.execute(query).mappings()
            ]

    def scan_id(self, ref: str) -> int:
        """Resolve ``7``, ``#7``, ``latest`` or ``previous`` to a stored scan id."""
        text = ref.strip().lstrip("#").lower()
        with self._begin() as conn:
            if text in {"latest", "previous"}:
                offset = 0 if text == "latest" else 1
                query = sa.select(_scans.c.id).order_by(_scans.c.id.desc()).offset(offset).limit(1)
                found = conn.execute(query).scalar()
            elif text.isdigit():
                found = conn.execute(
                    sa.select(_scans.c.id).where(_scans.c.id == int(text))
                ).scalar()
            else:
                raise HistoryError(f"{ref!r} is not a scan id (a number, latest or previous)")
        if found is None:
            raise HistoryError(f"no scan {ref!r} in the history database")
        return int(found)

    def inventory(self, ref: str) -> Inventory:
        """The stored inventory of scan ``ref``."""
        scan_id = self.scan_id(ref)
        with self._begin() as conn:
            text = conn.execute(
                sa.select(_scans.c.inventory).where(_scans.c.id == scan_id)
            ).scalar_one()
        try:
            return Inventory.model_validate_json(text)
        except ValidationError as exc:
            raise HistoryError(
                f"stored scan {scan_id} is unreadable: {exc.errors()[0]['msg']}"
            ) from exc

    # ------------------------------------------------------------------ remediation

    def resolve_device(self, ref: str) -> str:
        """The history key for a MAC, address or device key the user typed."""
        text = ref.strip()
        mac = text.lower().replace("-", ":")
        with self._begin() as conn:
            for candidate in (text, mac):
                hit = conn.execute(
                    sa.select(_sightings.c.device).where(_sightings.c.device == candidate).limit(1)
                ).scalar()
                if hit is not None:
                    return str(hit)
            try:
                address = str(ipaddress.ip_address(text))
            except ValueError:
                address = None
            if address is not None:
                hit = conn.execute(
                    sa.select(_sightings.c.device)
                    .where(_sightings.c.address == address)
                    .order_by(_sightings.c.scan_id.desc())
                    .limit(1)
                ).scalar()
                if hit is not None:
                    return str(hit)
        raise HistoryError(f"no device {ref!r} in the history (use a MAC, address or device key)")

    def set_remediation(
        self,
        device: str,
        *,
        updated_by: str | None = None,
        now: datetime | None = None,
        **fields: Any,
    ) -> RemediationEntry:
        """Record (merge) a device's remediation fields and location details; return the entry."""
        key = self.resolve_device(device)
        current = self.remediation(key)
        rem = current.remediation.model_dump() if current else Remediation().model_dump()
        loc = {
            "site": current.site if current else None,
            "switch_port": current.switch_port if current else None,
            "description": current.description if current else None,
        }
        for name, value in fields.items():
            if value is None:
                continue
            if name in loc:
                loc[name] = clean_text(str(value))
            else:
                rem[name] = value
        rem["updated_at"] = now or datetime.now(UTC)
        rem["updated_by"] = updated_by
        entry = RemediationEntry(device=key, remediation=Remediation.model_validate(rem), **loc)
        r = entry.remediation
        values = {
            "disposition": r.disposition.value,
            "status": r.status.value,
            "waiver_ref": r.waiver_ref,
            "target_date": r.target_date.isoformat() if r.target_date else None,
            "note": r.note,
            "site": entry.site,
            "switch_port": entry.switch_port,
            "description": entry.description,
            "updated_at": _iso(rem["updated_at"]),
            "updated_by": r.updated_by,
        }
        with self._begin() as conn:
            if current is None:
                conn.execute(_remediation.insert().values(device=key, **values))
            else:
                conn.execute(
                    _remediation.update().where(_remediation.c.device == key).values(**values)
                )
        return entry

    def remediation(self, device: str) -> RemediationEntry | None:
        """The recorded entry for a history key, if any."""
        with self._begin() as conn:
            row = (
                conn.execute(sa.select(_remediation).where(_remediation.c.device == device))
                .mappings()
                .first()
            )
        return _entry(row) if row is not None else None

    def remediation_entries(self) -> list[RemediationEntry]:
        """Every recorded entry, by device."""
        with self._begin() as conn:
            rows = conn.execute(sa.select(_remediation).order_by(_remediation.c.device)).mappings()
            return [_entry(row) for row in rows]

    # ------------------------------------------------------------------ asset register

    def replace_assets(self, register: Register, now: datetime | None = None) -> int:
        """Store a register import, replacing the previous one (a register is a snapshot)."""
        at = _iso(now or datetime.now(UTC))
        rows = [
            {
                "row": record.row,
                "source": register.source[:300],
                "imported_at": at,
                "record": record.model_dump_json(),
            }
            for record in register.records
        ]
        with self._begin() as conn:
            conn.execute(_asset_records.delete())
            if rows:
                conn.execute(_asset_records.insert(), rows)
        return len(rows)

    def asset_records(self) -> list[AssetRecord]:
        """The stored register rows, in row order."""
        with self._begin() as conn:
            return self._asset_rows(conn)

    def _asset_rows(self, conn: sa.Connection) -> list[AssetRecord]:
        query = sa.select(_asset_records.c.record).order_by(_asset_records.c.row)
        try:
            return [AssetRecord.model_validate_json(text) for text in conn.execute(query).scalars()]
        except ValidationError as exc:
            raise HistoryError(
                f"stored asset register is unreadable: {exc.errors()[0]['msg']}"
            ) from exc


def _entry(row: sa.RowMapping) -> RemediationEntry:
    return RemediationEntry(
        device=row["device"],
        remediation=Remediation(
            disposition=Disposition(row["disposition"]),
            status=RemediationStatus(row["status"]),
            waiver_ref=row["waiver_ref"],
            target_date=date.fromisoformat(row["target_date"]) if row["target_date"] else None,
            note=row["note"],
            updated_at=_parse(row["updated_at"]),
            updated_by=row["updated_by"],
        ),
        site=row["site"],
        switch_port=row["switch_port"],
        description=row["description"],
    )


def _enrich(
    record: InventoryRecord, first_seen: datetime | None, entry: RemediationEntry | None
) -> InventoryRecord:
    update: dict[str, Any] = {}
    if first_seen is not None and (record.first_seen is None or first_seen < record.first_seen):
        update["first_seen"] = first_seen
    if entry is not None:
        update["remediation"] = entry.remediation
        update["location"] = Location(
            site=entry.site or record.location.site,
            network=record.location.network,
            switch_port=entry.switch_port or record.location.switch_port,
            description=entry.description or record.location.description,
        )
        rem = entry.remediation
        gone_for_good = rem.disposition in {Disposition.REPLACE, Disposition.DECOMMISSION}
        # Seen *after* it was recorded as gone: the old camera is back on the network.
        seen_after = (
            rem.updated_at is None or record.last_seen is None or record.last_seen > rem.updated_at
        )
        if gone_for_good and rem.status is RemediationStatus.DONE and seen_after:
            update["flags"] = (*record.flags, REAPPEARED)
    enriched = record.model_copy(update=update)
    return enriched.model_copy(update={"priority": priority_for(enriched)})


def _chunks(keys: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    # Bound the IN (...) list: SQLite caps bound parameters (32766 on recent builds, 999 on old).
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(getattr(exc, "orig", None) or exc).split())
    return text[:200]


def open_store(db: str | None = None) -> HistoryStore | None:
    """Open the configured store, or None when recording is switched off."""
    url = resolve_url(db)
    return HistoryStore(url) if url is not None else None
