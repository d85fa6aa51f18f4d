import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.errors import ProbeParseError
from scanner.safe_xml import child_text, find_first, local_name, parse_xml


def test_lookups_ignore_prefixes():
    root = parse_xml(
        b'<a:Envelope xmlns:a="urn:x"><a:Body><b:Types xmlns:b="urn:y"> dn:NVT </b:Types>'
        b"</a:Body></a:Envelope>"
    )
    assert local_name(root.tag) == "Envelope"
    assert child_text(root, "Types") == "dn:NVT"
    assert find_first(root, "Missing") is None


@pytest.mark.parametrize(
    "data",
    [
        b'<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>',  # entities
        b'<!DOCTYPE a SYSTEM "http://198.18.0.9/x.dtd"><a/>',  # external DTD
        b"<a>" * 100 + b"</a>" * 100,  # depth
        b"<a>" + b"x" * 300_000 + b"</a>",  # size
        b"not xml",
        b"<a><b></a>",
    ],
)
def test_unsafe_or_broken_xml_is_refused(data):
    with pytest.raises(ProbeParseError):
        parse_xml(data)


def test_nul_padding_and_bom_are_tolerated():
    assert local_name(parse_xml(b"\xef\xbb\xbf<a/>\x00\x00").tag) == "a"


@given(st.binary(max_size=1024))
@settings(max_examples=300, deadline=None)
def test_fuzz_parse_xml(data):
    with contextlib.suppress(ProbeParseError):
        parse_xml(data)
