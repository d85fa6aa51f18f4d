"""The published schema matches the model; exports validate against it; the digest checks out."""

import io
import json
from pathlib import Path

import jsonschema
import pytest

from reports import SCHEMA_VERSION, ExportFormat, Inventory, export, inventory_digest
from reports.digest import canonical_bytes, digest_of_document, verify_document
from reports.inventory import MAX_TEXT, clean_text
from reports.schema import SCHEMA_FILE, load_schema, schema_text

SCHEMA_PATH = Path(__file__).parents[2] / "reports" / "schema" / SCHEMA_FILE


def as_json(inventory: Inventory) -> dict:
    buffer = io.BytesIO()
    export(inventory, ExportFormat.JSON, buffer)
    return json.loads(buffer.getvalue())


def test_committed_schema_matches_the_model(update_golden):
    # The committed schema is the golden file: regenerate with --update-golden (or
    # `python -m reports.schema`), review the diff, and bump SCHEMA_VERSION if it changed.
    if update_golden:
        SCHEMA_PATH.write_text(schema_text(), encoding="utf-8")
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text()


def test_schema_is_valid_draft_2020_12():
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert SCHEMA_VERSION in schema["$id"]


@pytest.mark.parametrize("fixture", ["sample_inventory", "hostile_inventory"])
def test_exports_validate_against_the_published_schema(fixture, request):
    document = as_json(request.getfixturevalue(fixture))
    jsonschema.Draft202012Validator(load_schema()).validate(document)


def test_schema_rejects_a_bad_document(sample_inventory):
    document = as_json(sample_inventory)
    document["devices"][0]["covered"] = "maybe"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(load_schema()).validate(document)


def test_inventory_is_sealed_and_the_digest_is_reproducible(sample_inventory):
    assert sample_inventory.digest is not None
    assert sample_inventory.digest == inventory_digest(sample_inventory)
    document = as_json(sample_inventory)
    # The documented recipe, spelled out independently of reports.digest.
    import hashlib

    body = {k: v for k, v in document.items() if k != "digest"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert document["digest"] == "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    assert verify_document(document).ok


def test_any_edit_breaks_the_digest(sample_inventory):
    document = as_json(sample_inventory)
    document["devices"][0]["covered"] = "not_covered"
    check = verify_document(document)
    assert not check.ok
    assert check.actual != check.stated
    del document["digest"]
    assert verify_document(document).stated is None


def test_digest_ignores_key_order_and_whitespace(sample_inventory):
    document = as_json(sample_inventory)
    shuffled = json.loads(json.dumps(dict(reversed(list(document.items()))), indent=7))
    assert digest_of_document(shuffled) == document["digest"]
    assert b" " not in canonical_bytes({"a": [1, 2]})


def test_clean_text_caps_strips_and_redacts():
    assert len(clean_text("x" * 10_000)) == MAX_TEXT
    assert clean_text("a\x00b\x1bc") == "abc"
    assert clean_text("rtsp://admin:hunter2@198.18.0.10/stream") == "rtsp://***@198.18.0.10/stream"


def test_old_schema_1_0_files_still_load():
    golden_10 = {
        "schema_version": "1.0",
        "generated_at": "2026-11-22T12:01:00Z",
        "scan": {
            "scope": ["198.18.0.0/24"],
            "started_at": "2026-11-22T12:00:00Z",
            "finished_at": "2026-11-22T12:01:00Z",
            "probes": ["arp"],
            "tool_version": "0.1.0",
            "fingerprint_db_version": "x",
        },
        "summary": {
            "devices": 0,
            "covered": 0,
            "not_covered": 0,
            "undetermined": 0,
            "by_maker": {},
        },
        "devices": [],
    }
    inventory = Inventory.model_validate(golden_10)
    assert inventory.digest is None
