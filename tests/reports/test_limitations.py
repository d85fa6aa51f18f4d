"""The limitations statement is generated from what the scan did and did not do."""

from reports import scan_limitations

from .conftest import CITY_SAMPLE, make_inventory


def test_multicast_and_missing_probes_are_stated():
    notes = scan_limitations(("arp", "http_banner"), {"http_banner": {"success": 2}})
    text = " ".join(notes)
    assert "WS-Discovery" in text
    assert "Not probed:" in text
    assert "RTSP" in text
    assert "No credentials were used" in text


def test_multicast_probe_run_is_limited_to_the_segment():
    notes = scan_limitations(("arp", "ws_discovery"), {})
    assert any("multicast was not probed across routed subnets" in n for n in notes)


def test_failure_counts_per_probe():
    counts = {"rtsp": {"success": 3, "timeout": 2, "reset": 1, "refused": 4}}
    notes = scan_limitations(("rtsp",), counts)
    assert "rtsp: 3 of 10 exchanges ended without a usable reply (1 reset, 2 timeout)." in notes
    assert any("ARP not run" in n for n in notes)


def test_build_inventory_generates_them_when_none_given():
    inventory = make_inventory(CITY_SAMPLE, limitations=())
    assert any("WS-Discovery" in n for n in inventory.scan.limitations)
