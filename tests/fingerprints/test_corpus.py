"""The accuracy targets on the real-value corpus (tests/fingerprints/corpus/*.toml).

Run ``.venv/bin/python benchmarks/fingerprint_accuracy.py`` to print the same figures.
"""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COVERED_MAKERS = {"hikvision", "dahua", "huawei", "zte", "hytera"}


def _benchmark():
    spec = importlib.util.spec_from_file_location(
        "fingerprint_accuracy", ROOT / "benchmarks" / "fingerprint_accuracy.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _benchmark()
CASES = bench.load_corpus()


@pytest.fixture(scope="module")
def report():
    return bench.run(CASES)


def test_every_case_is_sourced_and_well_formed():
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    for case in CASES:
        assert len(case.source) > 10, case.id
        assert case.observations, case.id
        assert (case.truth in COVERED_MAKERS) is case.covered, case.id


def test_corpus_has_what_the_targets_need():
    truths = {case.truth for case in CASES if case.covered}
    assert truths == COVERED_MAKERS
    brands = {case.brand for case in CASES if case.covered and case.brand}
    assert {"Annke", "Lorex", "Amcrest", "BCS", "CP PLUS"} <= brands
    hard = {case.id for case in CASES if case.id.startswith("hard-")}
    for needle in (
        "bare-webs",
        "goahead",
        "xiongmai",
        "hisilicon",
        "uniview",
        "tplink-shenzhen",
        "honor",
        "dahua-scale-factory",
    ):
        assert any(needle in case_id for case_id in hard), needle


def test_recall_per_covered_maker_is_at_least_95_percent(report):
    recall = report.recall()
    print()
    print(bench.render(report, verbose=False))
    for maker, (right, _, total) in recall.items():
        assert right / total >= 0.95, (maker, right, total)
    assert report.overall_recall() >= 0.95


def test_false_positive_rate_on_negatives_is_at_most_1_percent(report):
    assert report.false_positive_rate() <= 0.01, [o.case.id for o in report.false_positives()]


def test_oem_rebrands_resolve_to_the_true_maker(report):
    oem = [o for o in report.positives() if o.case.brand]
    assert oem
    assert all(o.maker == o.case.truth for o in oem)


def test_hard_negatives_are_never_covered(report):
    hard = [o for o in report.negatives() if o.case.id.startswith("hard-")]
    assert hard
    assert not [o.case.id for o in hard if o.covered is True]


#: Fields a covered maker's rule reads that have no sourced negative yet, and why. Vendor
#: protocols are answered only by their maker's firmware, so a negative cannot exist.
NEGATIVE_GAPS = {
    "sadp": "Hikvision's own discovery protocol",
    "dhip": "Dahua's own discovery protocol",
    "isapi": "Hikvision's own HTTP API (issue 9)",
    "dahua_cgi": "Dahua's own CGI API (issue 9)",
    "http.vendor_path": "built by our probe; negatives come from the lab (tests/lab)",
    "http.header_names": "no sourced non-covered header list yet",
    "http.favicon_md5": "no sourced non-covered favicon hash yet",
    "nmap.product": "no sourced non-covered nmap product line yet",
    "upnp.model": "no probe emits it; import-only",
}


def test_every_field_a_covered_rule_reads_has_negatives():
    from fingerprints import covered_entities, load_database

    covered = set(covered_entities())
    # A rule's ``also`` keys carry the same value through another probe: its field stands for them.
    fields = {c.rule.field for c in load_database().rules if c.rule.asserts.get("maker") in covered}
    negated = {key for case in CASES if not case.covered for key, _ in case.observations}
    missing = {
        key
        for key in fields - negated
        if key not in NEGATIVE_GAPS and key.split(".")[0] not in NEGATIVE_GAPS
    }
    assert not missing, sorted(missing)


def test_no_field_makes_a_negative_covered(report):
    for key, (_, _, covered) in report.field_false_positives().items():
        assert covered == 0, key


def test_stated_confidence_is_calibrated(report):
    checked = [row for row in report.calibration() if row.checked]
    assert checked, "no confidence bin has enough cases to check"
    for row in checked:
        assert row.within_tolerance, (row.low, row.cases, row.stated, row.observed)
