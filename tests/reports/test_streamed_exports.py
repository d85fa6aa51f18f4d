"""JSON and CSV are streamed device by device: the bytes must be the one-string form's."""

import csv
import io

import pytest

from reports import ExportFormat, Inventory, export
from reports.exporters.csv_report import CSV_COLUMNS


def render(inventory: Inventory, fmt: ExportFormat) -> bytes:
    buffer = io.BytesIO()
    export(inventory, fmt, buffer)
    assert not buffer.closed  # the caller's stream stays the caller's
    return buffer.getvalue()


@pytest.mark.parametrize("name", ["sample_inventory", "hostile_inventory", "cityhall_inventory"])
def test_streamed_json_is_the_model_dump(name, request):
    inventory = request.getfixturevalue(name)
    assert render(inventory, ExportFormat.JSON) == (
        inventory.model_dump_json(indent=2).encode("utf-8") + b"\n"
    )


def test_streamed_json_without_devices(sample_inventory):
    empty = sample_inventory.model_copy(update={"devices": ()})
    data = render(empty, ExportFormat.JSON)
    assert data == empty.model_dump_json(indent=2).encode("utf-8") + b"\n"
    assert Inventory.model_validate_json(data) == empty


def test_streamed_csv_has_one_row_per_device(cityhall_inventory):
    rows = list(csv.reader(io.StringIO(render(cityhall_inventory, ExportFormat.CSV).decode())))
    assert rows[0] == list(CSV_COLUMNS)
    assert len(rows) == 1 + len(cityhall_inventory.devices)
    assert [r[0] for r in rows[1:]] == [", ".join(d.addresses) for d in cityhall_inventory.devices]
