"""The scan history: every sweep's inventory, when each device was seen, and its remediation.

Storage is SQLAlchemy 2 Core with Alembic migrations (:mod:`reports.migrations`), so one code path
serves the default SQLite file under the user's data directory and a PostgreSQL URL shared by many
sites. Tables (:mod:`reports.history_tables`): ``scans`` (each stored inventory, whole),
``devices`` (every device a site has shown, under the key that follows it), ``sightings`` (which
device was in which scan) and ``remediation`` (the disposition an operator recorded for a device).

Everything below the scan is **per site**: a device is site + serial, MAC or address
(:mod:`reports.identity`), and ``latest``/``previous`` are a site's. A remediation is kept per
device, so it survives re-scans. A device recorded as replaced or decommissioned (status done)
that comes back — the same device: serial or MAC match, or the same maker and model at the
address when neither is known — is flagged ``reappeared_after_remediation``; a *different* device
at that address is flagged ``replacement_seen``.

Where the store lives: ``--db`` (a path or SQLAlchemy URL), else ``$NDAA_SCAN_DB``, else
``<user data dir>/ndaa-scan/history.sqlite3``. ``NDAA_SCAN_DB=off`` disables recording.
"""

from __future__ import annotations

import contextlib
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

from reports import migrations
from reports.assets import AssetRecord, Register, attach_purchases
from reports.history_tables import asset_records as _asset_records
from reports.history_tables import devices as _devices
from reports.history_tables import remediation as _remediation
from reports.history_tables import scan_jobs as _scan_jobs
from reports.history_tables import scans as _scans
from reports.history_tables import sightings as _sightings
from reports.identity import DeviceRef, SiteDevices, device_keys, ref_of, same_device
from reports.inventory import (
    REAPPEARED,
    REPLACEMENT_SEEN,
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

_GONE_FOR_GOOD: Final = frozenset({Disposition.REPLACE, Disposition.DECOMMISSION})
#: Device columns an update binds under another name (the key, and what only accumulates).
_KEPT: Final = frozenset({"site", "device", "serial", "mac", "maker", "model"})


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

    #: The site the device belongs to (``''`` for scans without one): part of its identity.
    site: str = ""
    device: str
    remediation: Remediation
    #: Building, room or pole, as the operator wrote it.
    place: str | None = None
    switch_port: str | None = None
    description: str | None = None


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def site_of(inventory: Inventory) -> str:
    """The site partition an inventory belongs to (``''`` when the sweep named none)."""
    return (inventory.scan.site or "").strip()


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


def safe_url(url: str) -> str:
    """The URL with any password hidden: fit for an error line or a log."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"


def _site_clause(column: sa.ColumnElement[Any], site: str) -> sa.ColumnElement[bool]:
    return sa.func.coalesce(column, "") == site


class HistoryStore:
    """Scan history and remediation records in one SQLAlchemy database."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            parsed = sa.make_url(url)
            if parsed.get_backend_name() == "sqlite" and parsed.database:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self._engine = sa.create_engine(parsed)
            migrations.upgrade(self._engine)
        except (ArgumentError, SQLAlchemyError, OSError, ImportError) as exc:
            raise HistoryError(
                f"cannot open history database {safe_url(url)}: {_one_line(exc)}"
            ) from exc

    @property
    def engine(self) -> sa.Engine:
        """The engine, for modules that keep their own tables in the same store."""
        return self._engine

    def close(self) -> None:
        """Release the connection pool."""
        self._engine.dispose()

    def transaction(self) -> contextlib.AbstractContextManager[sa.Connection]:
        """One transaction on the store; SQLAlchemy errors become one-line HistoryErrors."""
        return self._begin()

    @contextmanager
    def _begin(self) -> Iterator[sa.Connection]:
        try:
            with self._engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise HistoryError(
                f"history database {safe_url(self.url)} failed: {_one_line(exc)}"
            ) from exc

    # ------------------------------------------------------------------ scans

    def record(self, inventory: Inventory, *, job: str | None = None) -> tuple[int, Inventory]:
        """Store a scan; return its id and the inventory enriched from history, resealed.

        Enrichment, within the scan's site: first seen widened to the device's earliest
        sighting, the recorded remediation and location applied, a remediated device that came
        back flagged reappeared, a different device at its address flagged replacement seen,
        priorities recomputed.

        With ``job`` (a site worker's scan job), the scan is recorded and the job marked done in
        one transaction, and a job already done returns the scan it recorded: a redelivered
        task that reaches this point twice stores one scan.
        """
        site = site_of(inventory)
        with self._begin() as conn:
            if job is not None and (done := self._recorded_by(conn, job)) is not None:
                return done, self._stored(conn, done)
            scan_id = self._insert_scan(conn, inventory)
            known = self._site_devices(conn, site)
            entries = {e.device: e for e in self._entries(conn, site)}
            keyed: list[tuple[str, DeviceRef, InventoryRecord]] = []
            for record, key in zip(inventory.devices, device_keys(inventory.devices), strict=True):
                seen = ref_of(record, key, site)
                resolved = known.resolve(key, seen, scan_id)
                seen = seen.model_copy(update={"key": resolved})
                keyed.append((resolved, seen, _enrich(record, seen, known, entries)))
            rows = [r for _, _, r in keyed]
            # A first sighting changes nothing: resealing an unchanged inventory would cost a
            # second digest of every device (about a second for 2,000 devices).
            unchanged = all(new == old for new, old in zip(rows, inventory.devices, strict=True))
            enriched = inventory if unchanged else with_devices(inventory, rows)
            enriched = attach_purchases(enriched, self._asset_rows(conn))
            self._finish_scan(conn, scan_id, enriched)
            self._insert_sightings(conn, scan_id, enriched, keyed)
            self._upsert_devices(conn, scan_id, enriched, keyed, known)
            if job is not None:
                conn.execute(
                    _scan_jobs.update()
                    .where(_scan_jobs.c.id == job)
                    .values(state="done", scan_id=scan_id, finished_at=_iso(datetime.now(UTC)))
                )
        return scan_id, enriched

    def _recorded_by(self, conn: sa.Connection, job: str) -> int | None:
        query = sa.select(_scan_jobs.c.scan_id).where(
            _scan_jobs.c.id == job, _scan_jobs.c.state == "done"
        )
        found = conn.execute(query).scalar()
        return int(found) if found is not None else None

    def _stored(self, conn: sa.Connection, scan_id: int) -> Inventory:
        text = conn.execute(
            sa.select(_scans.c.inventory).where(_scans.c.id == scan_id)
        ).scalar_one()
        try:
            return Inventory.model_validate_json(text)
        except ValidationError as exc:
            raise HistoryError(
                f"stored scan {scan_id} is unreadable: {exc.errors()[0]['msg']}"
            ) from exc

    def _insert_scan(self, conn: sa.Connection, inventory: Inventory) -> int:
        result = conn.execute(
            _scans.insert().values(
                started_at=_iso(inventory.scan.started_at),
                finished_at=_iso(inventory.scan.finished_at),
                site=inventory.scan.site,
                operator=inventory.scan.operator,
                scope=json.dumps(list(inventory.scan.scope)),
                devices=0,
                covered=0,
                undetermined=0,
                inventory="{}",
            )
        )
        primary_key = result.inserted_primary_key
        if primary_key is None:  # every backend SQLAlchemy supports returns it for an INSERT
            raise HistoryError("the history database returned no id for the new scan")
        return int(primary_key[0])

    def _finish_scan(self, conn: sa.Connection, scan_id: int, inventory: Inventory) -> None:
        s = inventory.summary
        conn.execute(
            _scans.update()
            .where(_scans.c.id == scan_id)
            .values(
                devices=s.devices,
                covered=s.covered,
                undetermined=s.undetermined,
                digest=inventory.digest,
                inventory=inventory.model_dump_json(),
            )
        )

    def _insert_sightings(
        self,
        conn: sa.Connection,
        scan_id: int,
        inventory: Inventory,
        keyed: Sequence[tuple[str, DeviceRef, InventoryRecord]],
    ) -> None:
        seen_at = _iso(inventory.scan.finished_at)
        rows = [
            {
                "scan_id": scan_id,
                "device": key,
                "site": ref.site,
                "address": (ref.address or "")[:64] or None,
                "seen_at": seen_at,
                "covered": record.covered.value,
            }
            for key, ref, record in keyed
        ]
        if rows:
            conn.execute(_sightings.insert(), rows)

    def _upsert_devices(
        self,
        conn: sa.Connection,
        scan_id: int,
        inventory: Inventory,
        keyed: Sequence[tuple[str, DeviceRef, InventoryRecord]],
        known: SiteDevices,
    ) -> None:
        seen_at = _iso(inventory.scan.finished_at)
        new, old = [], []
        for key, ref, record in keyed:
            row = {
                "site": ref.site,
                "device": key,
                "serial": ref.serial,
                "mac": ref.mac,
                "address": (ref.address or "")[:64] or None,
                "maker": ref.maker,
                "model": ref.model,
                "first_seen": _iso(record.first_seen) if record.first_seen else seen_at,
                "last_seen": seen_at,
                "last_scan_id": scan_id,
            }
            if known.get(key) is None:
                new.append(row)
            else:
                old.append({(f"b_{k}" if k in _KEPT else k): v for k, v in row.items()})
        if new:
            conn.execute(_devices.insert(), new)
        if old:
            c = _devices.c
            # Serial, MAC, maker and model are kept when this sighting lacks them.
            conn.execute(
                _devices.update()
                .where(c.site == sa.bindparam("b_site"), c.device == sa.bindparam("b_device"))
                .values(
                    {
                        name: sa.func.coalesce(sa.bindparam(f"b_{name}"), c[name])
                        for name in ("serial", "mac", "maker", "model")
                    }
                ),
                old,
            )

    def _site_devices(self, conn: sa.Connection, site: str) -> SiteDevices:
        query = sa.select(_devices).where(_devices.c.site == site)
        return SiteDevices(
            (
                DeviceRef(
                    site=site,
                    key=row["device"],
                    serial=row["serial"],
                    mac=row["mac"],
                    address=row["address"],
                    maker=row["maker"],
                    model=row["model"],
                    first_seen=_parse(row["first_seen"]),
                ),
                row["last_scan_id"],
            )
            for row in conn.execute(query).mappings()
        )

    def _entries(self, conn: sa.Connection, site: str | None) -> list[RemediationEntry]:
        query = sa.select(_remediation).order_by(_remediation.c.site, _remediation.c.device)
        if site is not None:
            query = query.where(_remediation.c.site == site)
        return [_entry(row) for row in conn.execute(query).mappings()]

    def sites(self) -> list[str]:
        """Every site with a stored scan (``''`` for scans without one), sorted."""
        with self._begin() as conn:
            query = sa.select(sa.func.coalesce(_scans.c.site, "")).distinct()
            return sorted(str(s) for s in conn.execute(query).scalars())

    def scans(self, limit: int = 50, site: str | None = None) -> list[ScanRow]:
        """The most recent scans (of one site, if given), newest first."""
        columns = [c for c in _scans.c if c.name != "inventory"]
        query = sa.select(*columns).order_by(_scans.c.id.desc()).limit(limit)
        if site is not None:
            query = query.where(_site_clause(_scans.c.site, site))
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

    def _one_site(self, site: str | None, what: str) -> str | None:
        if site is not None:
            return site
        sites = self.sites()
        if len(sites) > 1:
            named = ", ".join(repr(s) if s else "(no site)" for s in sites)
            raise HistoryError(f"the history holds several sites ({named}); pass --site for {what}")
        return sites[0] if sites else None

    def scan_id(self, ref: str, site: str | None = None) -> int:
        """Resolve ``7``, ``#7``, ``latest`` or ``previous`` (of ``site``) to a stored scan id.

        ``latest`` and ``previous`` are a site's: without ``site`` they are refused when the
        store holds more than one, so two sites' scans are never compared by accident.
        """
        text = ref.strip().lstrip("#").lower()
        if text in {"latest", "previous"}:
            chosen = self._one_site(site, f"{text!r}")
            query = sa.select(_scans.c.id).order_by(_scans.c.id.desc())
            query = query.offset(0 if text == "latest" else 1).limit(1)
            if chosen is not None:
                query = query.where(_site_clause(_scans.c.site, chosen))
        elif text.isdigit():
            query = sa.select(_scans.c.id).where(_scans.c.id == int(text))
            if site is not None:
                query = query.where(_site_clause(_scans.c.site, site))
        else:
            raise HistoryError(f"{ref!r} is not a scan id (a number, latest or previous)")
        with self._begin() as conn:
            found = conn.execute(query).scalar()
        if found is None:
            where = f" of site {site!r}" if site is not None else ""
            raise HistoryError(f"no scan {ref!r}{where} in the history database")
        return int(found)

    def inventory(self, ref: str, site: str | None = None) -> Inventory:
        """The stored inventory of scan ``ref`` (of ``site``, see :meth:`scan_id`)."""
        scan_id = self.scan_id(ref, site)
        with self._begin() as conn:
            return self._stored(conn, scan_id)

    # ------------------------------------------------------------------ remediation

    def resolve_device(self, ref: str, site: str | None = None) -> tuple[str, str]:
        """The (site, key) of a device the user named by key, MAC, serial or address."""
        text = ref.strip()
        mac = text.lower().replace("-", ":")
        try:
            address: str | None = str(ipaddress.ip_address(text))
        except ValueError:
            address = None
        c = _devices.c
        # An address names whichever device answered there last, whatever its key.
        clause = (
            c.address == address
            if address is not None
            else sa.or_(
                c.device.in_([text, f"mac:{mac}", f"serial:{text}"]),
                c.mac == mac,
                c.serial == text,
                c.address == text,  # a camera behind a recorder: "<recorder>/ch<N>"
            )
        )
        query = sa.select(c.site, c.device).where(clause).order_by(c.last_scan_id.desc())
        if site is not None:
            query = query.where(c.site == site)
        with self._begin() as conn:
            hits = list(conn.execute(query))
        sites = {str(s) for s, _ in hits}
        if len(sites) > 1:
            named = ", ".join(repr(s) for s in sorted(sites))
            raise HistoryError(f"{ref!r} is a device of several sites ({named}); pass --site")
        if hits:
            return str(hits[0][0]), str(hits[0][1])
        where = f" at site {site!r}" if site is not None else ""
        raise HistoryError(
            f"no device {ref!r}{where} in the history (use a MAC, serial, address or device key)"
        )

    def set_remediation(
        self,
        device: str,
        *,
        site: str | None = None,
        updated_by: str | None = None,
        now: datetime | None = None,
        **fields: Any,
    ) -> RemediationEntry:
        """Record (merge) a device's remediation fields and location details; return the entry."""
        site_name, key = self.resolve_device(device, site)
        current = self.remediation(key, site_name)
        rem = current.remediation.model_dump() if current else Remediation().model_dump()
        loc = {
            "place": current.place if current else None,
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
        entry = RemediationEntry(
            site=site_name, device=key, remediation=Remediation.model_validate(rem), **loc
        )
        r = entry.remediation
        values = {
            "disposition": r.disposition.value,
            "status": r.status.value,
            "waiver_ref": r.waiver_ref,
            "target_date": r.target_date.isoformat() if r.target_date else None,
            "note": r.note,
            "place": entry.place,
            "switch_port": entry.switch_port,
            "description": entry.description,
            "updated_at": _iso(rem["updated_at"]),
            "updated_by": r.updated_by,
        }
        with self._begin() as conn:
            if current is None:
                conn.execute(_remediation.insert().values(site=site_name, device=key, **values))
            else:
                conn.execute(
                    _remediation.update()
                    .where(_remediation.c.site == site_name)
                    .where(_remediation.c.device == key)
                    .values(**values)
                )
        return entry

    def remediation(self, device: str, site: str = "") -> RemediationEntry | None:
        """The recorded entry for a device key of a site, if any."""
        query = sa.select(_remediation).where(
            _remediation.c.site == site, _remediation.c.device == device
        )
        with self._begin() as conn:
            row = conn.execute(query).mappings().first()
        return _entry(row) if row is not None else None

    def remediation_entries(self, site: str | None = None) -> list[RemediationEntry]:
        """Every recorded entry (of one site, if given), by site and device."""
        with self._begin() as conn:
            return self._entries(conn, site)

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
        site=row["site"],
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
        place=row["place"],
        switch_port=row["switch_port"],
        description=row["description"],
    )


def _gone_before(entry: RemediationEntry, record: InventoryRecord) -> bool:
    """Recorded as replaced or decommissioned, done, before this sighting."""
    rem = entry.remediation
    seen_after = (
        rem.updated_at is None or record.last_seen is None or record.last_seen > rem.updated_at
    )
    return rem.disposition in _GONE_FOR_GOOD and rem.status is RemediationStatus.DONE and seen_after


def _enrich(
    record: InventoryRecord,
    seen: DeviceRef,
    known: SiteDevices,
    entries: dict[str, RemediationEntry],
) -> InventoryRecord:
    update: dict[str, Any] = {}
    remembered = known.get(seen.key)
    first_seen = remembered.first_seen if remembered is not None else None
    if first_seen is not None and (record.first_seen is None or first_seen < record.first_seen):
        update["first_seen"] = first_seen
    flags = list(record.flags)
    entry = entries.get(seen.key)
    if entry is not None:
        update["remediation"] = entry.remediation
        update["location"] = Location(
            site=entry.place or record.location.site,
            network=record.location.network,
            switch_port=entry.switch_port or record.location.switch_port,
            description=entry.description or record.location.description,
        )
        if _gone_before(entry, record):
            # The history continues, but only a matching serial or MAC (or maker and model at
            # the address, when neither is known) proves the remediated device itself is back.
            back = remembered is not None and same_device(remembered, seen)
            flags.append(REAPPEARED if back else REPLACEMENT_SEEN)
    elif any(
        (gone := entries.get(other.key)) is not None and _gone_before(gone, record)
        for other in known.at_address(seen.address)
        if other.key != seen.key
    ):
        flags.append(REPLACEMENT_SEEN)
    update["flags"] = tuple(dict.fromkeys(flags))
    enriched = record.model_copy(update=update)
    return enriched.model_copy(update={"priority": priority_for(enriched)})


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(getattr(exc, "orig", None) or exc).split())
    return text[:200]


def open_store(db: str | None = None) -> HistoryStore | None:
    """Open the configured store, or None when recording is switched off."""
    url = resolve_url(db)
    return HistoryStore(url) if url is not None else None
