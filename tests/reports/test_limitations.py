"""The limitations statement is generated from what the scan did and did not do."""

from ipaddress import IPv4Address

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


def test_absent_services_are_not_failures_and_locked_ones_are_named():
    counts = {"onvif_device": {"success": 3, "not_found": 5, "refused": 9, "auth_required": 2}}
    notes = scan_limitations(("onvif_device",), counts)
    assert not any("ended without a usable reply" in n for n in notes)
    assert any("2 endpoints refused without credentials (auth_required)" in n for n in notes)


def test_liveness_says_exactly_what_was_done_and_what_was_skipped():
    import time

    from reports import liveness_facts
    from scanner.probes.base import ObservationSet, failed_result

    started = time.monotonic()
    live = ObservationSet("liveness", IPv4Address("198.18.2.10")).result("198.18.2.10:554", started)
    checked = failed_result("liveness", "198.18.2.0/24", "no_reply", "silent", started)
    checked = checked.model_copy(
        update={
            "counts": {
                "targets": 254,
                "icmp_asked": 254,
                "icmp_answered": 0,
                "tcp_checked": 254,
                "tcp_answered": 1,
                "tcp_skipped": 0,
                "silent": 253,
            }
        }
    )
    skipped = failed_result("liveness", "198.18.3.0/24", "skipped", "capped", started)
    skipped = skipped.model_copy(
        update={
            "counts": {
                "targets": 254,
                "icmp_asked": 254,
                "tcp_checked": 0,
                "tcp_skipped": 254,
                "silent": 254,
            }
        }
    )
    facts = liveness_facts([live, checked, skipped])
    assert (facts.targets, facts.live, facts.tcp_checked, facts.tcp_skipped) == (508, 1, 254, 254)
    notes = scan_limitations(("liveness",), {"liveness": {"success": 1}}, liveness=facts)
    text = " ".join(notes)
    assert "TCP connects to 80/554/443/8000/37777 on 254 silent targets, decided per target" in text
    assert "254 silent targets were not TCP-checked" in text
    assert "198.18.3.0/24" in text
    assert "198.18.2.0/24" not in text


def test_credentials_are_stated_when_given():
    notes = scan_limitations(("onvif_device",), {}, onvif_credentials=True)
    assert any("ONVIF credentials were supplied" in n for n in notes)
    assert not any("No credentials were used" in n for n in notes)
