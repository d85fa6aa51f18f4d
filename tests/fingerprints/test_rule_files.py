"""Every shipped rule file passes the verifier (every example, counterexample and check)."""

import re
from pathlib import Path

import pytest

from fingerprints.database import default_rules_dir, load_database
from fingerprints.verify import main, verify_files

RULE_FILES = sorted(default_rules_dir().glob("*.toml"))
BAD = Path(__file__).parent / "bad_rules"


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_shipped_rule_file_verifies(path):
    assert [str(p) for p in verify_files([path])] == []


def test_every_covered_maker_has_rules():
    makers = {c.maker_file for c in load_database().rules}
    assert {"hikvision", "dahua", "huawei", "zte"} <= makers


def test_database_version_changes_with_content(tmp_path):
    original = RULE_FILES[0].read_text()
    copy = tmp_path / RULE_FILES[0].name
    copy.write_text(original)
    first = load_database([copy]).version
    copy.write_text(original + "\n# a comment\n")
    assert load_database([copy]).version != first


def test_verifier_catches_each_broken_rule():
    lines = [str(p) for p in verify_files([BAD / "broken.toml"])]
    text = "\n".join(lines)
    assert all(": FAIL: " in line for line in lines)
    assert "broken.example-does-not-match: example 0 does not match" in text
    assert "broken.counterexample-matches: counterexample 0 matches" in text
    assert "broken.unknown-maker-and-field: field 'http.not_a_field'" in text
    assert "broken.unknown-maker-and-field: pattern has an unnamed capture group" in text
    assert "broken.unknown-maker-and-field: maker 'acme'" in text
    assert "broken.unanchored-and-redos: pattern is not anchored" in text
    assert "broken.unanchored-and-redos: pattern takes over" in text


def test_verifier_reports_line_numbers():
    problems = verify_files([BAD / "broken.toml"])
    by_rule = {p.rule_id: p.line for p in problems}
    text = (BAD / "broken.toml").read_text().splitlines()
    assert "broken.counterexample-matches" in text[by_rule["broken.counterexample-matches"] - 1]


@pytest.mark.parametrize(
    ("name", "needle"), [("not_toml.toml", "TOML error"), ("unknown_key.toml", "schema error")]
)
def test_verifier_reports_unreadable_files(name, needle):
    problems = verify_files([BAD / name])
    assert len(problems) == 1
    assert needle in problems[0].message


def test_verify_main_exit_status_counts_failures(capsys):
    assert main([str(p) for p in RULE_FILES]) == 0
    assert main([str(BAD / "broken.toml")]) >= 7
    assert "FAIL" in capsys.readouterr().err


def test_verifier_catches_the_newer_checks():
    text = "\n".join(str(p) for p in verify_files([BAD / "broken_checks.toml"]))
    assert "covered_entity 'acme-corp'" in text
    assert "broken2.shadowed: example 0 is also matched by broken2.general" in text
    assert "broken2.strong-lead: a lead rule may not be more certain" in text
    assert "broken2.wrong-maker: asserts maker 'hikvision' in the rule file of 'dahua'" in text
    assert "broken2.bad-expect-and-also: field 'http.nope'" in text
    assert "broken2.bad-expect-and-also: example 0 expects 'colour'" in text
    assert "broken2.bad-expect-and-also: overrides unknown rule 'broken2.does-not-exist'" in text
    assert "broken2.untested-capture: capture 'model' is not checked" in text
    assert "broken2.untested-capture: duplicate rule id" in text
    assert "broken2.untested-capture: duplicate examples" in text


def test_verifier_catches_a_rule_that_steals_another_makers_example():
    hikvision = default_rules_dir() / "hikvision.toml"
    problems = verify_files([hikvision, BAD / "clash_with_hikvision.toml"])
    text = "\n".join(str(p) for p in problems)
    assert (
        "hikvision.http.server-app-webs: example 0 is also matched by broken3.steals-app-webs"
        in text
    )
    assert "asserts maker 'axis'" in text


def test_verifier_wants_a_reason_for_an_empty_file():
    [problem] = verify_files([BAD / "empty.toml"])
    assert "no rule" in problem.message


def test_every_problem_line_is_editor_parseable():
    for path in sorted(BAD.glob("*.toml")):
        for problem in verify_files([path]):
            assert re.match(r"^.+\.toml:\d+: (FAIL|WARN): \S+: .+$", str(problem)), str(problem)


def test_cli_verify_reports_failures(tmp_path):
    from scanner.cli import main as cli_main

    assert cli_main(["fingerprints", "verify", str(BAD / "broken_checks.toml")]) != 0
    assert cli_main(["fingerprints", "verify"]) == 0


def test_committed_json_schema_is_current():
    import json

    from fingerprints.schema import json_schema

    committed = json.loads(
        (default_rules_dir().parent / "reference" / "rule-file.schema.json").read_text()
    )
    assert committed == json.loads(json.dumps(json_schema()))


def test_every_rule_file_declares_its_schema_and_sources():
    for path in RULE_FILES:
        text = path.read_text()
        assert text.startswith("#:schema ../reference/rule-file.schema.json"), path.name
        assert "sources = [" in text, path.name


def _all_rules():
    from fingerprints.database import read_rule_file

    for path in RULE_FILES:
        rule_file = read_rule_file(path)
        for rule in rule_file.rule:
            yield pytest.param(path, rule_file.maker, rule, id=rule.id)


@pytest.mark.parametrize(("path", "maker", "rule"), list(_all_rules()))
def test_rule(path, maker, rule):
    """One pytest id per rule: its examples, counterexamples, captures and cost."""
    from fingerprints.verify import _check_rule

    assert list(_check_rule(rule, path, maker)) == []


def test_verifier_catches_identifying_shapes_and_unprobed_fields():
    problems = verify_files([BAD / "broken_clues.toml"])
    failed = {p.rule_id: p.message for p in problems if p.level == "FAIL"}
    assert set(failed) == {
        "broken4.grammar-called-identifying",
        "broken4.serial-called-identifying",
        "broken4.unprobed-field",
    }
    assert "demands no maker-naming literal" in failed["broken4.serial-called-identifying"]
    assert "no probe emits cdp.software" in failed["broken4.unprobed-field"]


@pytest.mark.parametrize(
    ("pattern", "demands"),
    [
        (r"^App-webs/$", True),
        (r"^\.?1\.3\.6\.1\.4\.1\.368(?:\.\d{1,10}){0,12}$", True),
        (r"^(?:Hikvision-Webs|DVRDVS-Webs|DNVRS-Webs)$", True),
        (r"^(?:Hikvision-Webs|Webs)$", False),
        (r"^V?[1-4]\.\d{3}\.[0-9A-F]{1,7}$", False),
        (r'^Digest\s.*realm="IP Camera\([0-9A-Za-z]{4,10}\)"', False),
        (r"^(?:AXIS)?\d{3}$", False),
        (r"^(unbalanced", False),
    ],
)
def test_maker_token_check(pattern, demands):
    from fingerprints.maker_token import demands_maker_token

    assert demands_maker_token(pattern) is demands
