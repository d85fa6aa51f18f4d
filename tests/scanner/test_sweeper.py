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


class Announcer:
    """A discovery probe: the first live host announces a web port, the others stay silent."""

    info: ClassVar[ProbeInfo] = ProbeInfo(
        name="announcer",
        summary="test",
        kind="network",
        transport="udp",
        ports=(37020,),
        fields=("sadp.http_port",),
        after_liveness=True,
    )

    async def discover(self, targets, ctx):
        import time

        first = min(targets)
        obs = ObservationSet("announcer", first, port=37020)
        obs.add("sadp", "http_port", "8123")
        return [obs.result(f"{first}:37020", time.monotonic())]


class Knocker:
    """An endpoint probe: port 1 by default, plus any announced HttpPort."""

    info: ClassVar[ProbeInfo] = ProbeInfo(
        name="knocker", summary="test", kind="host", transport="tcp", ports=(1,), fields=()
    )

    def endpoints(self, host, leads):
        from scanner.probes.base import Endpoint

        ports = [1] + [int(o.value) for o in leads if o.key == "sadp.http_port"]
        return [Endpoint(host=host, port=port) for port in ports]

    async def probe_endpoint(self, endpoint, ctx):
        import time

        return ObservationSet("knocker", endpoint.host).result(endpoint.target, time.monotonic())

    async def probe(self, host, ctx):
        raise AssertionError("the sweeper runs an endpoint probe per endpoint")


async def test_announced_ports_are_followed_once_each():
    results = await collect(probes=[Finder(), Announcer(), Knocker()])
    knocked = sorted(r.target for r in results if r.probe == "knocker")
    live = sorted(r.target for r in results if r.probe == "finder")
    first = min(live, key=lambda t: IPv4Address(t))
    assert knocked == sorted([f"{t}:1" for t in live] + [f"{first}:8123"])


async def test_every_silent_discovery_target_gets_a_no_reply_row():
    results = await collect(probes=[Finder(), Announcer()])
    rows = {r.target: r.status for r in results if r.probe == "announcer"}
    live = sorted((r.target for r in results if r.probe == "finder"), key=IPv4Address)
    assert rows == {f"{t}:37020": ("success" if t == live[0] else "no_reply") for t in live}


def test_endpoint_probe_check_is_the_protocol_check():
    from scanner.probes import all_probes
    from scanner.probes.base import EndpointProbe, is_endpoint_probe

    probes = list(all_probes().values())
    assert any(is_endpoint_probe(p) for p in probes)
    for probe in probes:
        assert is_endpoint_probe(probe) is isinstance(probe, EndpointProbe)
        assert is_endpoint_probe(probe) is isinstance(probe, EndpointProbe)  # remembered


# ------------------------------------------------- routed liveness overlaps the rest


LINK_HOST, ROUTED_HOST = IPv4Address("127.77.200.1"), IPv4Address("127.77.200.2")


class LinkFinder:
    """ARP's place: finds the host on the scanner's own segment at once."""

    info: ClassVar[ProbeInfo] = ProbeInfo(
        name="link", summary="test", kind="network", transport="l2", fields=()
    )

    async def discover(self, targets, ctx):
        import time

        return [ObservationSet("link", LINK_HOST).result(str(LINK_HOST), time.monotonic())]


class SlowRoutedFinder:
    """Routed liveness: tells of its one host at once, then waits (connect timeouts) until the
    host probes have reached the segment's host, which they can only do if nothing waits for
    this probe to end."""

    info: ClassVar[ProbeInfo] = ProbeInfo(
        name="routed", summary="test", kind="network", transport="tcp", fields=()
    )

    def __init__(self, link_probed, first_round):
        self.link_probed = link_probed
        self.first_round = first_round
        self.overlapped = False

    async def discover(self, targets, ctx):
        import asyncio
        import time

        assert LINK_HOST not in targets  # ARP found it: not asked again
        async with asyncio.timeout(10):
            await self.first_round.wait()  # found after discovery's first round went out
            ctx.found_live(ROUTED_HOST)
            await self.link_probed.wait()
        self.overlapped = True
        return [ObservationSet("routed", ROUTED_HOST).result(str(ROUTED_HOST), time.monotonic())]


class RecordingDiscovery:
    """A discovery probe that notes who it asked, and whether multicast was allowed; its answer
    for the segment's host names the routed host (as a router's ARP table would)."""

    info: ClassVar[ProbeInfo] = ProbeInfo(
        name="disco",
        summary="test",
        kind="network",
        transport="udp",
        ports=(9,),
        fields=(),
        after_liveness=True,
    )

    def __init__(self, first_round):
        self.rounds = []
        self.first_round = first_round

    async def discover(self, targets, ctx):
        import time

        from scanner.context import _UNICAST_ONLY

        self.rounds.append((sorted(targets), _UNICAST_ONLY.get()))
        self.first_round.set()
        results = []
        if LINK_HOST in targets:
            obs = ObservationSet("disco", LINK_HOST, port=9)
            obs.add("mac", "mac", "00:11:22:33:44:55")
            told = ObservationSet("disco", ROUTED_HOST)
            told.add("mac", "mac", "00:11:22:33:44:66")
            obs.items.extend(told.items)
            results.append(obs.result(f"{LINK_HOST}:9", time.monotonic()))
        return results


class NotingHostProbe:
    info: ClassVar[ProbeInfo] = ProbeInfo(
        name="noting", summary="test", kind="host", transport="tcp", fields=()
    )

    def __init__(self, link_probed):
        self.link_probed = link_probed

    async def probe(self, host, ctx):
        import time

        if host == LINK_HOST:
            self.link_probed.set()
        return ObservationSet("noting", host).result(str(host), time.monotonic())


async def test_routed_liveness_runs_beside_discovery_and_host_probes():
    import asyncio

    link_probed, first_round = asyncio.Event(), asyncio.Event()
    routed = SlowRoutedFinder(link_probed, first_round)
    disco = RecordingDiscovery(first_round)
    results = await collect(probes=[LinkFinder(), routed, disco, NotingHostProbe(link_probed)])
    assert routed.overlapped  # the segment's host was probed while routed liveness ran
    noted = {r.target for r in results if r.probe == "noting"}
    assert noted == {str(LINK_HOST), str(ROUTED_HOST)}
    # First round: multicast allowed, the hosts live then. The routed host is asked later, one
    # by one, although the first answer already spoke of it.
    assert disco.rounds[0] == ([LINK_HOST], False)
    assert disco.rounds[1:] == [([ROUTED_HOST], True)]
    rows = {r.target: r.status for r in results if r.probe == "disco"}
    assert rows == {f"{LINK_HOST}:9": "success", f"{ROUTED_HOST}:9": "no_reply"}
