"""No rule, parser or reader raises or runs slowly on arbitrary input."""

import json
import time
from ipaddress import IPv4Address

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fingerprints import identify, load_database
from fingerprints.oui import lookup_registrant, oui_lead
from scanner.cli.identify_command import parse_observation_lines
from scanner.results import Observation

DB = load_database()
KEYS = sorted(DB.by_field)
# Per-value budget: every rule on a field, 4 KiB of hostile text, on a slow CI machine.
BUDGET_S = 0.5

hostile_text = st.one_of(
    st.text(max_size=4096),
    st.builds(lambda s, n: (s * n)[:4096], st.text(min_size=1, max_size=12), st.integers(1, 4096)),
    st.sampled_from(
        [
            "<ProbeMatch>" * 400,
            '"mac" : "' * 500,
            "onvif://www.onvif.org/hardware/" * 150,
            'Digest realm="Login to ' * 200,
            "DS-2CD" * 600 + "!",
            "CONNECTION," * 370,
            "\x00\r\n" * 1300,
        ]
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(KEYS), hostile_text)
def test_every_rule_field_survives_arbitrary_values(key, value):
    started = time.perf_counter()
    DB.evidence_for(key, value)
    assert time.perf_counter() - started < BUDGET_S


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(KEYS), hostile_text), min_size=1, max_size=8))
def test_identify_never_raises(rows):
    observations = [
        Observation(
            host=IPv4Address("198.18.0.1"), protocol=k.split(".")[0], field=k.split(".")[1], value=v
        )
        for k, v in rows
    ]
    [device] = identify(observations, DB)
    assert 0.0 <= device.confidence <= 1.0


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_oui_lookup_never_raises(value):
    lookup_registrant(value)
    oui_lead(value)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=2048))
def test_identify_reader_never_raises_on_bytes(tmp_path, data):
    path = tmp_path / "in.jsonl"
    path.write_bytes(data)
    _observations, errors = parse_observation_lines(str(path))
    assert isinstance(errors, list)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_identify_reader_never_raises_on_json(tmp_path, value):
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(value) + "\n")
    parse_observation_lines(str(path))


@pytest.mark.parametrize("depth", [10_000, 100_000])
def test_deeply_nested_json_is_a_skipped_line(tmp_path, depth):
    path = tmp_path / "deep.jsonl"
    path.write_text("[" * depth + "]" * depth + "\n")
    observations, errors = parse_observation_lines(str(path))
    assert observations == []
    assert len(errors) == 1


def test_every_pattern_is_fast_on_its_own_examples_repeated():
    for compiled in DB.rules:
        for example in compiled.rule.examples:
            value = (example.text * (4096 // max(len(example.text), 1) + 1))[:4096]
            started = time.perf_counter()
            compiled.match(value)
            assert time.perf_counter() - started < 0.1, compiled.rule.id
