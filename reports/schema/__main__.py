"""Regenerate ``reports/schema/inventory.schema.json`` from the model."""

from __future__ import annotations

from pathlib import Path

from reports.schema import SCHEMA_FILE, schema_text

if __name__ == "__main__":
    Path(__file__).with_name(SCHEMA_FILE).write_text(schema_text(), encoding="utf-8")
