"""JSON export: the inventory model as-is, keys in model order, devices sorted by address.

Streamed: the document around the device list is serialised once, then each device is written
as it is serialised, so a 65,534-device inventory never exists as one string in memory (it is
about 15 KB a device). The bytes are those of ``model_dump_json(indent=2)``, which the tests
check: the digest and every reader see the same document either way.
"""

from __future__ import annotations

from typing import IO, Final

from reports.inventory import Inventory

__all__ = ["write_json"]

#: Where the device list sits in the indented document (a top-level key, two spaces in).
_DEVICES_SLOT: Final = '\n  "devices": []'
#: Devices are list items inside a top-level key: their lines are indented four spaces.
_DEVICE_INDENT: Final = "    "


def write_json(inventory: Inventory, out: IO[bytes]) -> None:
    """Write the inventory as indented UTF-8 JSON, one device at a time."""
    frame = inventory.model_copy(update={"devices": ()}).model_dump_json(indent=2)
    head, slot, tail = frame.partition(_DEVICES_SLOT)
    if not slot:  # the model changed shape: fall back to the one-string form
        out.write(inventory.model_dump_json(indent=2).encode("utf-8") + b"\n")
        return
    out.write((head + '\n  "devices": [').encode("utf-8"))
    for index, device in enumerate(inventory.devices):
        body = device.model_dump_json(indent=2).replace("\n", "\n" + _DEVICE_INDENT)
        out.write(((",\n" if index else "\n") + _DEVICE_INDENT + body).encode("utf-8"))
    out.write(("\n  ]" if inventory.devices else "]").encode("utf-8"))
    out.write(tail.encode("utf-8") + b"\n")
