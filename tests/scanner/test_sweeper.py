"""The sweep planner on loopback: phases, a broken probe, resume."""

import json
from ipaddress import IPv4Address
from typing import ClassVar

from scanner.probes.base import ObservationSet, ProbeInfo
from scanner.scope import Scope
from scanner.sweeper import result_key, select_probes, sweep

from .probes.loopback import FAST


class Finder:
    info: ClassVar[ProbeInfo] = ProbeInfo(
        name="finder", summary="test", kind="network", transport="udp", fields=()
    )

    async def discover(self, targets, ctx):
        import time

        return [
            ObservationSet("finder", t).result(str(t), time.monotonic())
            for t in targets
            if int(t) % 8 in (1, 2, 3)
        ]


class Broken:
    info: ClassVar[ProbeInfo] = ProbeInfo(
        name="broken", summary="test", kind="host", transport="tcp", fields=()
    )

    async def probe(self, host, ctx):
        raise ZeroDivisionError("a bug")


class Fine:
    info: ClassVar[ProbeInfo] = ProbeInfo(
        name="fine", summary="test", kind="host", transport="tcp", fields=("tcp.open_port",)
    )

    async def probe(self, host, ctx):
        import time

        obs = ObservationSet("fine", host, port=1)
        obs.add("tcp", "open_port", "1")
        return obs.result(f"{host}:1", time.monotonic())


SCOPE = Scope.from_specs(["127.77.200.0/29"])


async def collect(**kwargs):
    return [r async for r in sweep(SCOPE, limits=FAST, **kwargs)]


async def test_a_broken_probe_costs_its_results_only():
    results = await collect(probes=[Finder(), Broken(), Fine()])
    by = {}
    for r in results:
        by.setdefault(r.probe, []).append(r)
    assert len(by["finder"]) == 3
    assert {r.status for r in by["broken"]} == {"error"}
    assert len(by["fine"]) == 3  # every live host, despite the bug next door
    assert "ZeroDivisionError" in by["broken"][0].error


async def test_resume_skips_done_pairs_and_keeps_known_live_hosts():
    first = await collect(probes=[Finder(), Fine()])
    half = [r for r in first if r.probe == "finder"] + [r for r in first if r.probe == "fine"][:1]
    done = {result_key(r) for r in half}
    second = await collect(
        probes=[Finder(), Fine()], done=done, known_live=[IPv4Address("127.77.200.1")]
    )
    assert not {result_key(r) for r in second} & done
    assert {result_key(r) for r in half + second} == {result_key(r) for r in first}


def test_optional_probes_are_off_by_default():
    names = {p.info.name for p in select_probes(None)}
    assert "nmap_service" not in names
    assert {
        "arp",
        "liveness",
        "ws_discovery",
        "sadp",
        "dhip",
        "snmp",
        "rtsp",
        "http_banner",
        "tls_certificate",
        "onvif_device",
    } <= names
    assert "nmap_service" in {
        p.info.name for p in select_probes(None, include_optional=["nmap_service"])
    }


def test_results_round_trip_through_json():
    from scanner.results import ProbeResult

    obs = ObservationSet("fine", IPv4Address("127.0.0.1"))
    obs.add("tcp", "open_port", "80")
    result = obs.result("127.0.0.1:80", 0.0)
    assert (
        ProbeResult.model_validate_json(json.dumps(json.loads(result.model_dump_json()))) == result
    )
