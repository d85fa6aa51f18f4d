"""The asset register: an organisation's purchase records, joined to the devices a scan found.

A register is a CSV or XLSX file with one row per item and a header row. Columns are found by
name, tolerantly: case, spaces and punctuation are ignored and common spellings are known
(``Serial No.``, ``S/N`` and ``serialnumber`` are all the serial). :data:`COLUMN_ALIASES` is the
documented mapping; ``--map "Header=field"`` adds one. Unknown columns are ignored and listed.

Rows are tied to devices in three passes, each record and each device used once:

1. serial number (letters and digits only, case-folded);
2. MAC address;
3. model and site together, paired in address and row order when several share both (the weakest
   tie, so it is named in ``matched_by``).

Two lists come out: devices on the network without a record, and records never seen on the
network (unaccounted equipment). Bad input (unreadable file, no identifying column, a malformed
UEI, a cell that is a date in no known format) is one :class:`AssetImportError` line naming the
file, row and column; nothing is half-imported.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, ValidationError

from reports.inventory import Inventory, InventoryRecord, with_devices
from reports.purchase import PURCHASE_FIELDS, Purchase

__all__ = [
    "COLUMN_ALIASES",
    "AssetImportError",
    "AssetRecord",
    "Reconciliation",
    "Register",
    "attach_purchases",
    "read_register",
    "reconcile",
]

#: Register files larger than this are refused before parsing (a register is not a data lake).
MAX_FILE_BYTES: Final = 50 * 1024 * 1024
#: An XLSX is a zip: its parts may not inflate past this (a zip bomb is refused unopened).
MAX_XLSX_INFLATED: Final = 200 * 1024 * 1024
MAX_ROWS: Final = 200_000

#: The fields a register row can fill: the device keys, then every :class:`Purchase` field.
KEY_FIELDS: Final = ("serial", "mac", "model", "site", "brand")

#: Normalised header (lower case, letters and digits only) -> field. Documented in the CLI help.
COLUMN_ALIASES: Final[Mapping[str, str]] = {
    **dict.fromkeys(("serial", "serialnumber", "serialno", "sn", "serialnum"), "serial"),
    **dict.fromkeys(
        ("mac", "macaddress", "macaddr", "hwaddress", "hardwareaddress", "ethernetaddress"),
        "mac",
    ),
    **dict.fromkeys(("model", "modelnumber", "modelno", "modelname"), "model"),
    **dict.fromkeys(("site", "location", "building", "facility", "room"), "site"),
    **dict.fromkeys(("brand", "make", "manufacturer", "label"), "brand"),
    **dict.fromkeys(
        ("assettag", "assetnumber", "assetno", "assetid", "tag", "propertynumber"), "asset_tag"
    ),
    **dict.fromkeys(("description", "itemdescription", "item"), "item_description"),
    **dict.fromkeys(("contract", "contractnumber", "contractno", "piid"), "contract_number"),
    **dict.fromkeys(
        (
            "order",
            "orders",
            "ordernumber",
            "ordernumbers",
            "po",
            "ponumber",
            "purchaseorder",
            "deliveryorder",
            "taskorder",
        ),
        "order_numbers",
    ),
    **dict.fromkeys(
        ("supplier", "suppliername", "vendor", "vendorname", "reseller", "seller"),
        "supplier_name",
    ),
    **dict.fromkeys(("uei", "supplieruei", "vendoruei", "samuei"), "supplier_uei"),
    **dict.fromkeys(("cage", "cagecode", "suppliercage", "vendorcage"), "supplier_cage"),
    **dict.fromkeys(("producer", "producingentity", "oem", "originalmanufacturer"), "producer"),
    **dict.fromkeys(("supplierrole", "oemordistributor", "role"), "supplier_role"),
    **dict.fromkeys(
        (
            "partnumber",
            "mpn",
            "oemnumber",
            "manufacturerpartnumber",
            "mfrpartnumber",
            "mfrpart",
            "partno",
            "wholesalernumber",
            "sku",
        ),
        "part_number",
    ),
    **dict.fromkeys(("award", "awardnumber", "grant", "grantnumber", "fain"), "award_number"),
    **dict.fromkeys(("funding", "fundingsource", "fund", "program"), "funding_source"),
    **dict.fromkeys(
        ("purchasedate", "dateacquired", "acquisitiondate", "acquired", "datepurchased"),
        "purchase_date",
    ),
    **dict.fromkeys(
        ("cost", "price", "unitcost", "unitprice", "amount", "acquisitioncost"), "cost"
    ),
    "currency": "currency",
    **dict.fromkeys(("fccid", "fcc"), "fcc_id"),
}
_FIELDS: Final = frozenset((*KEY_FIELDS, *PURCHASE_FIELDS))
_NOT_FROM_FILE: Final = frozenset({"record_ref", "matched_by", "fcc_grantee_code"})
_DATE_FORMATS: Final = ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%d.%m.%Y", "%Y/%m/%d")


class AssetImportError(Exception):
    """The register cannot be read or holds a bad value (one line: file, row, column, why)."""


class AssetRecord(BaseModel):
    """One register row: the keys that tie it to a device, and its purchase record."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    row: int
    serial: str | None = None
    mac: str | None = None
    model: str | None = None
    site: str | None = None
    brand: str | None = None
    purchase: Purchase


class DeviceGap(BaseModel):
    """A device on the network with no register record."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    device_key: str
    addresses: tuple[str, ...]
    mac: str | None
    maker: str | None
    model: str | None
    serial: str | None
    covered: str


class Reconciliation(BaseModel):
    """How a register and a scan line up."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    records: int
    devices: int
    #: device key -> (register row, how it was matched)
    matched: dict[str, tuple[int, str]]
    unrecorded: tuple[DeviceGap, ...]
    unseen: tuple[AssetRecord, ...]


def normalise_header(text: str) -> str:
    """Lower case, letters and digits only: ``'Serial No.'`` -> ``'serialno'``."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _norm_serial(value: str | None) -> str | None:
    text = re.sub(r"[^A-Z0-9]", "", (value or "").upper())
    return text or None


def _norm_mac(value: str | None) -> str | None:
    digits = re.sub(r"[^0-9a-f]", "", (value or "").lower())
    if len(digits) != 12:
        return None
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def _norm_text(value: str | None) -> str | None:
    text = re.sub(r"[^a-z0-9]", "", (value or "").lower())
    return text or None


def _mapping(headers: Sequence[str], extra: Mapping[str, str]) -> tuple[dict[int, str], list[str]]:
    wanted = {normalise_header(k): v for k, v in extra.items()}
    for target in wanted.values():
        if target not in _FIELDS or target in _NOT_FROM_FILE:
            raise AssetImportError(f"--map names unknown field {target!r}")
    columns: dict[int, str] = {}
    ignored: list[str] = []
    for index, header in enumerate(headers):
        key = normalise_header(header)
        field = wanted.get(key) or COLUMN_ALIASES.get(key)
        if field is None or field in columns.values():
            if header.strip():
                ignored.append(header.strip()[:60])
            continue
        columns[index] = field
    if not {"serial", "mac", "model"} & set(columns.values()):
        raise AssetImportError(
            "no serial, MAC or model column found in the header row "
            f"({', '.join(h.strip()[:30] for h in headers[:12]) or 'empty'}); "
            "name one with --map 'Header=serial'"
        )
    return columns, ignored


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a spreadsheet's 12345.0 serial is 12345
    text = str(value).strip()
    return text or None


def _as_date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _as_text(value)
    if text is None:
        return None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text[:10], fmt).date()  # noqa: DTZ007 - a calendar date
        except ValueError:
            continue
    raise ValueError(f"{text[:30]!r} is not a date (use YYYY-MM-DD)")


def _as_cost(value: object) -> Decimal | None:
    if isinstance(value, int | float):
        return Decimal(str(value)).quantize(Decimal("0.01"))
    text = _as_text(value)
    if text is None:
        return None
    try:
        return Decimal(re.sub(r"[\s$€£,]", "", text)).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise ValueError(f"{text[:30]!r} is not an amount") from exc


def _record(row_number: int, cells: Mapping[str, object], source: str) -> AssetRecord | None:
    values: dict[str, Any] = {}
    for field, raw in cells.items():
        if field == "purchase_date":
            values[field] = _as_date(raw)
        elif field == "cost":
            values[field] = _as_cost(raw)
        elif field == "supplier_role":
            text = (_as_text(raw) or "").lower()
            values[field] = None if not text else "distributor" if text.startswith("dist") else text
        else:
            values[field] = _as_text(raw)
    if not any(values.values()):
        return None  # a blank row
    keys = {k: values.pop(k) for k in KEY_FIELDS if k in values}
    purchase = Purchase.model_validate(
        {**values, "record_ref": f"{source}:{row_number}"} | {"matched_by": None}
    )
    return AssetRecord(row=row_number, purchase=purchase, **keys)


def _rows_csv(data: bytes) -> Iterator[list[str]]:
    text = data.decode("utf-8-sig", errors="replace")
    dialect: type[csv.Dialect] | csv.Dialect
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    yield from csv.reader(io.StringIO(text, newline=""), dialect)


def _rows_xlsx(path: Path) -> Iterator[list[object]]:
    try:
        with zipfile.ZipFile(path) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise AssetImportError(f"{path.name}: not an XLSX file ({exc})") from exc
    if inflated > MAX_XLSX_INFLATED:
        raise AssetImportError(f"{path.name}: inflates to {inflated} bytes; refused")
    import openpyxl

    try:
        # read_only streams rows; data_only reads cached values, so no formula is evaluated.
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise AssetImportError(f"{path.name}: not a readable XLSX file ({exc})") from exc
    try:
        sheet = book.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield list(row)
    finally:
        book.close()


class Register(BaseModel):
    """A parsed register file: its rows and the header cells no field was mapped to."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    records: tuple[AssetRecord, ...]
    #: Shown to the operator, so a typo in a header is noticed rather than silently dropped.
    ignored_columns: tuple[str, ...] = ()


def read_register(path: Path, column_map: Mapping[str, str] | None = None) -> Register:
    """Read a CSV or XLSX register; raise :class:`AssetImportError` on any bad input."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise AssetImportError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if size > MAX_FILE_BYTES:
        raise AssetImportError(f"{path.name} is {size} bytes; the limit is {MAX_FILE_BYTES}")
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xlsm"}:
        rows: Iterator[Sequence[object]] = _rows_xlsx(path)
    elif suffix in {".csv", ".tsv", ".txt"}:
        rows = _rows_csv(path.read_bytes())
    else:
        raise AssetImportError(f"{path.name}: expected a .csv or .xlsx file")
    return _parse_rows(rows, path.name, column_map or {})


def _parse_rows(
    rows: Iterator[Sequence[object]], source: str, column_map: Mapping[str, str]
) -> Register:
    header = next(rows, None)
    if header is None:
        raise AssetImportError(f"{source}: the file is empty")
    columns, ignored = _mapping([_as_text(h) or "" for h in header], column_map)
    records: list[AssetRecord] = []
    for number, row in enumerate(rows, start=2):
        if number > MAX_ROWS + 1:
            raise AssetImportError(f"{source}: more than {MAX_ROWS} rows; split the register")
        cells = {field: row[i] for i, field in columns.items() if i < len(row)}
        try:
            record = _record(number, cells, source)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"]) or "row"
            raise AssetImportError(f"{source}:{number}: {where}: {error['msg']}") from exc
        except ValueError as exc:
            raise AssetImportError(f"{source}:{number}: {exc}") from exc
        if record is not None:
            records.append(record)
    return Register(source=source, records=tuple(records), ignored_columns=tuple(ignored))


def _pairs(
    devices: Sequence[InventoryRecord], records: Sequence[AssetRecord]
) -> dict[str, tuple[AssetRecord, str]]:
    matched: dict[str, tuple[AssetRecord, str]] = {}
    used: set[int] = set()

    def one_to_one(how: str, device_key: Any, record_key: Any) -> None:
        by_key: dict[object, list[AssetRecord]] = defaultdict(list)
        for record in records:
            if record.row not in used and (key := record_key(record)) is not None:
                by_key[key].append(record)
        for device in devices:
            if device.device_key in matched:
                continue
            key = device_key(device)
            candidates = by_key.get(key) if key is not None else None
            if candidates:
                record = candidates.pop(0)
                used.add(record.row)
                matched[device.device_key] = (record, how)

    one_to_one("serial", lambda d: _norm_serial(d.serial), lambda r: _norm_serial(r.serial))
    one_to_one("mac", lambda d: _norm_mac(d.mac), lambda r: _norm_mac(r.mac))

    def model_site(model: str | None, site: str | None) -> tuple[str, str] | None:
        m, s = _norm_text(model), _norm_text(site)
        return (m, s) if m and s else None

    one_to_one(
        "model+site",
        lambda d: model_site(d.model, d.location.site),
        lambda r: model_site(r.model, r.site),
    )
    return matched


def reconcile(
    inventory: Inventory, records: Sequence[AssetRecord], source: str = "register"
) -> Reconciliation:
    """Tie register rows to devices; list the devices without a record and the unseen records."""
    matched = _pairs(inventory.devices, records)
    used = {record.row for record, _ in matched.values()}
    return Reconciliation(
        source=source,
        records=len(records),
        devices=len(inventory.devices),
        matched={key: (record.row, how) for key, (record, how) in sorted(matched.items())},
        unrecorded=tuple(
            DeviceGap(
                device_key=d.device_key,
                addresses=d.addresses,
                mac=d.mac,
                maker=d.maker,
                model=d.model,
                serial=d.serial,
                covered=d.covered.value,
            )
            for d in inventory.devices
            if d.device_key not in matched
        ),
        unseen=tuple(r for r in records if r.row not in used),
    )


def attach_purchases(inventory: Inventory, records: Iterable[AssetRecord]) -> Inventory:
    """The inventory with each matched device's purchase record set (and how it matched)."""
    rows = list(records)
    if not rows:
        return inventory
    matched = _pairs(inventory.devices, rows)
    if not matched:
        return inventory
    devices = []
    for device in inventory.devices:
        hit = matched.get(device.device_key)
        if hit is None:
            devices.append(device)
            continue
        record, how = hit
        purchase = record.purchase.model_copy(update={"matched_by": how})
        devices.append(device.model_copy(update={"purchase": purchase}))
    return with_devices(inventory, devices)
