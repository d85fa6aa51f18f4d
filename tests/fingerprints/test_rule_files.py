"""Every shipped rule file passes the verifier (every example, counterexample and check)."""

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
