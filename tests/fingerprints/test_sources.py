"""Sources an auditor can open: the bibliography, citations, the verifier check and reports."""

from pathlib import Path

import pytest

from fingerprints.database import load_database
from fingerprints.sources import (
    SourceError,
    bibliography,
    is_unattributed,
    parse_citations,
    render_markdown,
    resolve,
    sources_md_path,
)
from fingerprints.verify import catalogue_source_problems, verify_files

BAD = Path(__file__).parent / "bad_rules"


def test_sources_md_is_generated_from_the_bibliography():
    assert sources_md_path().read_text(encoding="utf-8") == render_markdown(), (
        "fingerprints/SOURCES.md is stale: python -m fingerprints.sources --write"
    )


def test_every_key_is_listed_once_in_sources_md():
    text = sources_md_path().read_text(encoding="utf-8")
    for key in bibliography():
        assert text.count(f"**`{key}`**") == 1, key


def test_every_shipped_rule_source_resolves():
    for compiled in load_database().rules:
        citations = parse_citations(compiled.rule.source)
        assert citations, compiled.rule.id


def test_catalogues_cite_resolvable_sources():
    assert [str(p) for p in catalogue_source_problems()] == []


def test_no_notes_file_or_index_number_in_shipped_data():
    root = Path(__file__).parents[2]
    for folder in ("fingerprints", "reports"):
        for path in (root / folder).rglob("*"):
            if path.suffix in {".toml", ".py", ".j2", ".md"} and path.name != "sources.toml":
                assert "research/fingerprints.md" not in path.read_text(encoding="utf-8"), path


@pytest.mark.parametrize(
    ("source", "needle"),
    [
        ("no-such-key §1", "unknown source key"),
        ("https://nohost", "malformed URL"),
        ("http://example.org/x", "malformed URL"),
        ("a/b:path@xyz", "malformed repository path"),
        ("research/fingerprints.md §4", "notes file"),
        ("recog-http-servers; search-index 123", "notes file or index number"),
        ("", "no source cited"),
    ],
)
def test_bad_citations_do_not_resolve(source, needle):
    with pytest.raises(SourceError, match=needle):
        parse_citations(source)


def test_resolved_form_names_an_openable_reference_not_a_key():
    text = resolve("recog-http-servers (App-webs); nmap-service-probes line 9762")
    assert "https://github.com/rapid7/recog/blob/14fa1a7211e7fb5707c7a1b421a07d6c2cf4eec5" in text
    assert "xml/http_servers.xml" in text
    assert "line 9762" in text
    assert "recog-http-servers" not in text
    assert (
        resolve("home-assistant/core#77779")
        == "https://github.com/home-assistant/core/issues/77779"
    )
    assert resolve("far-52.204-25 (a)(1)").endswith("https://www.acquisition.gov/far/52.204-25")


def test_semicolons_inside_a_note_do_not_split_the_citation():
    (one,) = parse_citations("recog-rtsp-servers (Foscam HiIpcam; Hipcam RealServer)")
    assert one.detail == "(Foscam HiIpcam; Hipcam RealServer)"


def test_a_clue_cited_only_from_unattributed_files_is_a_lead():
    assert is_unattributed("unattributed-lorex-discover (Vendor Lorex)")
    assert not is_unattributed("unattributed-lorex-discover; rroller-dahua-readme")
    db = load_database()
    unattributed = [c for c in db.rules if is_unattributed(c.rule.source)]
    assert unattributed, "expected the rules resting on unidentified files to be counted"
    rule = unattributed[0].rule
    (evidence, *_) = db.evidence_for(rule.field, rule.examples[0].text)
    assert evidence.lead
    assert "unattributed" in evidence.source


def test_verifier_rejects_sources_that_do_not_resolve():
    lines = [str(p) for p in verify_files([BAD / "bad_sources.toml"])]
    text = "\n".join(lines)
    assert all(": FAIL: " in line for line in lines)
    assert "bad_sources.toml:4: FAIL: -: source does not resolve" in text
    assert "axis.bad.unknown-key: source does not resolve: unknown source key" in text
    assert "axis.bad.malformed-url: source does not resolve: malformed URL" in text
    assert "axis.bad.notes-file: source does not resolve: 'research/fingerprints.md'" in text
    assert "axis.bad.notes-file: example 0 source does not resolve" in text
    assert "axis.bad.repo-path: source does not resolve: malformed repository path" in text


def test_a_cited_line_opens_the_file_at_that_line():
    text = resolve("nmap-service-probes lines 10443-10447 (Dahua webcam httpd)")
    assert text.endswith("/nmap-service-probes#L10443")
