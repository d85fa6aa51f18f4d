"""Reading a stored inventory file, with one clear message for every way it can be bad."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from reports.inventory import Inventory

__all__ = ["MAX_INVENTORY_BYTES", "InventoryLoadError", "load_document", "load_inventory_file"]

#: A 65,536-host sweep with rich evidence is ~100 MB of JSON; refuse what cannot be one.
MAX_INVENTORY_BYTES: Final = 512 * 1024 * 1024


class InventoryLoadError(Exception):
    """The file is missing, unreadable, not JSON, or not an ndaa-scan inventory."""


def _read(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_INVENTORY_BYTES:
            raise InventoryLoadError(f"{path} is too large to be an inventory")
        return path.read_bytes()
    except OSError as exc:
        raise InventoryLoadError(f"cannot read {path}: {exc.strerror or exc}") from exc


def load_document(path: Path) -> dict[str, Any]:
    """The file parsed as a JSON object (for digest checks, which hash the text as filed)."""
    try:
        document = json.loads(_read(path))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InventoryLoadError(f"{path} is not JSON: {exc}") from exc
    except RecursionError as exc:
        raise InventoryLoadError(f"{path} is nested too deeply to be an inventory") from exc
    if not isinstance(document, dict):
        raise InventoryLoadError(f"{path} is not an ndaa-scan inventory: not a JSON object")
    return document


def load_inventory_file(path: Path) -> Inventory:
    """The file validated as an :class:`Inventory`."""
    try:
        return Inventory.model_validate_json(_read(path))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        detail = f"{first['msg']} at {where}" if where else first["msg"]
        raise InventoryLoadError(f"{path} is not an ndaa-scan inventory: {detail}") from exc
