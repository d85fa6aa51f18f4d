"""The published JSON Schema of the inventory, generated from the model.

``python -m reports.schema`` rewrites ``inventory.schema.json``; a golden test fails when the
committed file and the model disagree, so a schema change is always a reviewed diff.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, Final

from reports.inventory import SCHEMA_VERSION, Inventory

__all__ = ["SCHEMA_FILE", "SCHEMA_ID", "generate_schema", "load_schema", "schema_text"]

SCHEMA_FILE: Final = "inventory.schema.json"
SCHEMA_ID: Final = f"https://example.invalid/ndaa-scan/inventory-{SCHEMA_VERSION}.schema.json"


def generate_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the inventory JSON export."""
    schema = Inventory.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "description": (
            f"ndaa-scan remediation inventory, schema_version {SCHEMA_VERSION}. The digest is "
            "sha256 over the UTF-8 bytes of the document without its 'digest' member, serialised "
            "with sorted keys, separators (',', ':') and non-ASCII characters unescaped."
        ),
    }


def schema_text() -> str:
    """The schema as the committed file holds it."""
    return json.dumps(generate_schema(), indent=2, ensure_ascii=False) + "\n"


def load_schema() -> dict[str, Any]:
    """The committed schema file shipped with the package."""
    text = resources.files("reports.schema").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data
