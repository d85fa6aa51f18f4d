"""Rules on fields no probe emits yet are fed through ``identify`` here (verifier check 12).

Such a rule is marked ``import_only = true``: it serves observations brought in from other
tools. Its examples must reach a verdict through the same reader ``ndaa-scan identify`` uses,
or the rule is dead data.
"""

import json

import pytest

from fingerprints import load_database
from fingerprints.database import default_rules_dir
from fingerprints.verdict import identify
from fingerprints.verify import probe_emitted_fields, verify_files
from scanner.cli.identify_command import parse_observation_lines

DB = load_database()
IMPORT_ONLY = [c.rule for c in DB.rules if c.rule.import_only]
CASES = [
    pytest.param(rule, index, id=f"{rule.id}[{index}]")
    for rule in IMPORT_ONLY
    for index in range(len(rule.examples))
]


def test_the_marked_rules_are_the_ones_no_probe_serves():
    emitted = probe_emitted_fields()
    assert emitted is not None
    assert IMPORT_ONLY
    assert {rule.field for rule in IMPORT_ONLY}.isdisjoint(emitted)
    assert all(c.rule.field in emitted for c in DB.rules if not c.rule.import_only)


@pytest.mark.parametrize(("rule", "index"), CASES)
def test_import_only_rule_fires_through_identify(tmp_path, rule, index):
    protocol, field = rule.field.split(".", 1)
    line = {"host": "198.18.5.1", "protocol": protocol, "field": field}
    line["value"] = rule.examples[index].text
    path = tmp_path / "observations.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    observations, errors = parse_observation_lines(str(path))
    assert not errors
    [device] = identify(observations, DB)
    assert rule.id in {e.rule_id for e in device.evidence}
    if maker := rule.asserts.get("maker"):
        assert device.maker == maker


def test_a_mark_on_a_probed_field_is_a_warning(tmp_path):
    text = (default_rules_dir() / "sony.toml").read_text(encoding="utf-8")
    marked = text.replace('clue = "identifying"\n', 'clue = "identifying"\nimport_only = true\n', 1)
    path = tmp_path / "sony.toml"
    path.write_text(marked, encoding="utf-8")
    problems = verify_files([path])
    assert [(p.level, "drop import_only" in p.message) for p in problems] == [("WARN", True)]
