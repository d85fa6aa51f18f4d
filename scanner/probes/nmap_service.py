"""nmap ``-sV`` as an optional deeper pass, and the nmap-XML reader behind ``ndaa-scan import``.

The probe runs nmap (through python-nmap, confined to this module because it is untyped) over
the live hosts only, listed one by one (``-n -Pn``: no DNS, no host discovery, nothing outside
the list), with ``--host-timeout`` and a subprocess timeout inside the sweep's budget. nmap's
XML is then read by :func:`parse_nmap_xml` (defusedxml) and mapped into the *same* fields the
native probes emit: the ``http-server-header``/``http-title``/``rtsp-methods`` scripts give
``http.server_header``, ``http.title``, ``rtsp.public``; the MAC gives ``mac.mac``; nmap's own
verdict (``product``, ``version``, ``devicetype``, CPE) is kept under ``nmap.*``. nmap -sV runs
at 2-3 hosts/s (lab-feasibility §6), hence optional (``--nmap``).
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import ClassVar, Final

from scanner.context import ProbeContext
from scanner.errors import ProbeParseError, ScopeViolation
from scanner.probes.base import ObservationSet, ProbeInfo, failed_result
from scanner.results import Observation, ProbeResult, ProbeStatus, normalize_mac, utc_now
from scanner.safe_xml import Element, find_all, find_first, local_name, parse_xml

__all__ = ["PROBE", "NmapHost", "NmapServiceProbe", "host_observations", "parse_nmap_xml"]

#: The ports the native probes use, so the comparison in benchmarks/ is like for like.
DEFAULT_PORTS: Final = (80, 443, 554, 8000, 8080, 8443, 37777)
#: An import of a /16 scan is tens of MB of XML; 256 MiB is the ceiling for one file.
MAX_IMPORT_BYTES: Final = 256 * 1024 * 1024
#: nmap may spend this long on one host before giving up on it.
HOST_TIMEOUT_S: Final = 60
_SCRIPTS: Final = "http-server-header,http-title,rtsp-methods"


@dataclass
class NmapPort:
    """One open port as nmap saw it."""

    protocol: str
    port: int
    service: str | None = None
    product: str | None = None
    version: str | None = None
    extrainfo: str | None = None
    devicetype: str | None = None
    tunnel: str | None = None
    cpes: list[str] = field(default_factory=list)
    scripts: dict[str, str] = field(default_factory=dict)


@dataclass
class NmapHost:
    """One host of an nmap XML report."""

    address: IPv4Address
    mac: str | None = None
    mac_vendor: str | None = None
    ports: list[NmapPort] = field(default_factory=list)


def _attr(element: Element, name: str) -> str | None:
    value = element.get(name)
    return value.strip() if value and value.strip() else None


def _port(element: Element) -> NmapPort | None:
    state = find_first(element, "state")
    if state is None or state.get("state") != "open":
        return None  # closed and filtered ports say nothing about the device
    try:
        number = int(element.get("portid", ""))
    except ValueError:
        return None
    port = NmapPort(protocol=element.get("protocol", "tcp"), port=number)
    service = find_first(element, "service")
    if service is not None:
        port.service = _attr(service, "name")
        port.product = _attr(service, "product")
        port.version = _attr(service, "version")
        port.extrainfo = _attr(service, "extrainfo")
        port.devicetype = _attr(service, "devicetype")
        port.tunnel = _attr(service, "tunnel")
        port.cpes = [text for cpe in find_all(service, "cpe") if (text := (cpe.text or "").strip())]
    for script in find_all(element, "script"):
        name, output = script.get("id"), script.get("output")
        if name and output:
            port.scripts[name] = output.strip()
    return port


def parse_nmap_xml(data: bytes, *, max_bytes: int = MAX_IMPORT_BYTES) -> list[NmapHost]:
    """Parse an nmap ``-oX`` report; raise :class:`ProbeParseError` if it is not one."""
    root = parse_xml(data, max_bytes=max_bytes, allow_doctype=True)
    if not isinstance(root.tag, str) or local_name(root.tag) != "nmaprun":
        raise ProbeParseError("not an nmap XML report (no <nmaprun>)")
    hosts: list[NmapHost] = []
    for element in root:
        if not isinstance(element.tag, str) or local_name(element.tag) != "host":
            continue
        ipv4: IPv4Address | None = None
        mac = vendor = None
        for address in element:
            if not isinstance(address.tag, str) or local_name(address.tag) != "address":
                continue
            kind, value = address.get("addrtype"), address.get("addr", "")
            if kind == "ipv4":
                try:
                    ipv4 = IPv4Address(value)
                except ValueError:
                    continue
            elif kind == "mac":
                try:
                    mac = normalize_mac(value)
                except ValueError:
                    continue
                vendor = _attr(address, "vendor")
        if ipv4 is None:
            continue
        host = NmapHost(address=ipv4, mac=mac, mac_vendor=vendor)
        ports = find_first(element, "ports")
        if ports is not None:
            for port_element in ports:
                if isinstance(port_element.tag, str) and local_name(port_element.tag) == "port":
                    port = _port(port_element)
                    if port is not None:
                        host.ports.append(port)
        hosts.append(host)
    return hosts


def _http_protocol(port: NmapPort) -> str | None:
    service = (port.service or "").lower()
    if service in {"https", "https-alt"} or (service.startswith("http") and port.tunnel == "ssl"):
        return "https"
    if service.startswith("http"):
        return "http"
    return None


def host_observations(host: NmapHost, *, probe: str = "nmap_service") -> list[Observation]:
    """Map one nmap host into the shared vocabulary (the same fields the native probes use)."""
    obs = ObservationSet(probe, host.address, mac=host.mac, at=utc_now())
    obs.add("mac", "mac", host.mac)
    for port in host.ports:
        obs.port = port.port
        obs.add("tcp", "open_port", str(port.port))
        obs.add("nmap", "service", port.service)
        obs.add("nmap", "product", port.product)
        obs.add("nmap", "version", port.version)
        obs.add("nmap", "extrainfo", port.extrainfo)
        obs.add("nmap", "devicetype", port.devicetype)
        obs.extend("nmap", "cpe", port.cpes)
        web = _http_protocol(port)
        if web is not None:
            obs.add(web, "server_header", port.scripts.get("http-server-header"))
            obs.add(web, "title", port.scripts.get("http-title"))
        if (port.service or "").lower() == "rtsp":
            methods = port.scripts.get("rtsp-methods", "")
            obs.add("rtsp", "public", methods.removeprefix("\n").strip() or None)
    return obs.items


def _run_nmap(hosts: list[str], ports: str, timeout_s: float) -> bytes:
    """Run nmap through python-nmap and return its raw XML (blocking; called in a thread)."""
    import nmap

    scanner = nmap.PortScanner()
    scanner.scan(
        hosts=" ".join(hosts),
        ports=ports,
        arguments=(
            f"-n -Pn -sV --version-light --script {_SCRIPTS} "
            f"--host-timeout {HOST_TIMEOUT_S}s --max-retries 1"
        ),
        timeout=max(1, int(timeout_s)),
    )
    output = scanner.get_nmap_last_output()
    return output if isinstance(output, bytes) else str(output).encode("utf-8")


class NmapServiceProbe:
    """nmap ``-sV`` over the live hosts (optional: ``--nmap``)."""

    info: ClassVar[ProbeInfo] = ProbeInfo(
        name="nmap_service",
        summary="nmap -sV over live hosts (optional, slow): product, version, Server, title",
        kind="network",
        transport="external",
        ports=DEFAULT_PORTS,
        rarity=9,
        fields=(
            "mac.mac",
            "tcp.open_port",
            "nmap.service",
            "nmap.product",
            "nmap.version",
            "nmap.extrainfo",
            "nmap.devicetype",
            "nmap.cpe",
            "http.server_header",
            "http.title",
            "https.server_header",
            "https.title",
            "rtsp.public",
        ),
        after_liveness=True,
        optional=True,
    )

    async def discover(
        self, targets: Sequence[IPv4Address], ctx: ProbeContext
    ) -> list[ProbeResult]:
        """Run nmap over ``targets`` (each scope-checked) and map its report."""
        started = time.monotonic()
        if not targets:
            return [
                failed_result("nmap_service", "*", ProbeStatus.NO_REPLY, "no live hosts", started)
            ]
        if shutil.which("nmap") is None:
            return [
                failed_result(
                    "nmap_service", "*", ProbeStatus.ERROR, "nmap is not installed", started
                )
            ]
        try:
            hosts = [str(ctx.check(addr)) for addr in targets]
        except ScopeViolation as exc:
            return [failed_result("nmap_service", "*", ProbeStatus.OUT_OF_SCOPE, str(exc), started)]
        budget = ctx.remaining_s()
        ports = ",".join(str(p) for p in self.info.ports)
        ctx.packets_sent += len(hosts) * len(self.info.ports)
        try:
            async with asyncio.timeout(budget + 5):
                xml = await asyncio.to_thread(_run_nmap, hosts, ports, budget)
            report = parse_nmap_xml(xml)
        except TimeoutError:
            return [
                failed_result(
                    "nmap_service", "*", ProbeStatus.TIMEOUT, "nmap ran out of budget", started
                )
            ]
        except ProbeParseError as exc:
            return [
                failed_result("nmap_service", "*", ProbeStatus.PROTOCOL_ERROR, str(exc), started)
            ]
        # python-nmap raises its own PortScannerError/PortScannerTimeout, plus OSError.
        except Exception as exc:  # noqa: BLE001
            return [
                failed_result(
                    "nmap_service", "*", ProbeStatus.ERROR, f"nmap: {str(exc)[:200]}", started
                )
            ]
        results = []
        for host in report:
            if not ctx.scope.contains(host.address):
                continue
            observations = host_observations(host)
            results.append(
                ProbeResult(
                    probe="nmap_service",
                    target=str(host.address),
                    status=ProbeStatus.SUCCESS if observations else ProbeStatus.NO_REPLY,
                    started_at=utc_now(),
                    elapsed_s=time.monotonic() - started,
                    observations=tuple(observations),
                )
            )
        return results or [
            failed_result("nmap_service", "*", ProbeStatus.NO_REPLY, "nmap found nothing", started)
        ]


PROBE: Final = NmapServiceProbe()
