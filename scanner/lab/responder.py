"""The lab's device responders: one asyncio process serving every simulated host.

Each bridged host's sockets are opened inside that host's namespace (``setns``), then served by
one event loop, so a 50-host lab costs one process (lab-feasibility.md §9.3). In scale mode the
same process also serves the farm namespace, where a local route makes every address of the
prefix local: one socket per port answers for all of them and the host is chosen by the
destination address (TCP ``getsockname``, UDP ``IP_PKTINFO``).

Two habits of real devices matter to scanners: answer on the first bytes received (do not wait
for a blank line), and keep an idle connection open for 30 s (closing sooner makes nmap report
``tcpwrapped``). One bad connection or datagram is logged and dropped; it never stops the loop.

Run as ``python -m scanner.lab.responder --lab NAME --profile FILE --ready FILE``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import ipaddress
import logging
import os
import signal
import socket
import ssl
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

from scanner.lab.profile import HttpService, LabHost, LabProfile, TlsCertificate, load_profile
from scanner.lab.responders import banner, dhip, http, onvif, rtsp, sadp, snmp, tls, upnp
from scanner.lab.responders.common import HostContext, TcpHandler, abort_with_rst, render_reply
from scanner.lab.responders.udp import UdpEndpoint, open_udp
from scanner.lab.topology import farm_namespace, host_namespace
from scanner.netns import open_in_netns

__all__ = ["Farm", "main", "render_http", "tcp_handler_for", "udp_answer"]

log = logging.getLogger("scanner.lab.responder")

WSD_GROUP: Final = "239.255.255.250"  # WS-Discovery and SADP share it (fingerprints.md §3.1, §6.1)
DHIP_GROUP: Final = "239.255.255.251"  # fingerprints.md §7.1
WSD_PORT: Final = 3702
SADP_PORT: Final = 37020
DHIP_PORT: Final = 37810
SSDP_PORT: Final = 1900  # UPnP Device Architecture 1.1 §1.3, on the WS-Discovery group
_BACKLOG: Final = 4096
_CLOSE_TIMEOUT_S: Final = 2.0
_TLS_HANDSHAKE_S: Final = 10.0


def render_http(service: HttpService, request: bytes) -> bytes:
    """Return the response bytes ``service`` sends for ``request`` (text bodies, no host vars)."""
    _, path = http.request_target(request)
    route = service.route_for(path)
    probe = LabHost.model_validate(
        {
            "name": "render",
            "address": "198.18.0.2",
            "mac": "02:00:00:00:00:02",
            "truth": {"maker": None, "covered": False},
        }
    )
    ctx = HostContext.build(probe, "198.18.0.2", "02:00:00:00:00:02", "255.255.255.0", "")
    head, body = render_reply(ctx, route)
    return head + body


def tcp_handler_for(ctx: HostContext, port: int) -> TcpHandler | None:
    """The handler for ``port`` of ``ctx``'s host, or None when the host has nothing there."""
    host = ctx.host
    device = host.onvif if host.onvif and host.onvif.port == port else None
    for service in host.http:
        if service.port == port:
            return http.handler(ctx, service, device)
    if device is not None:
        return http.handler(ctx, None, device)
    if host.rtsp and host.rtsp.port == port:
        return rtsp.handler(ctx, host.rtsp)
    if host.upnp and host.upnp.port == port:
        return upnp.handler(ctx, host.upnp)
    for service_ in host.tcp:
        if service_.port == port:
            return banner.handler(ctx, service_)
    return None


def udp_ports(host: LabHost) -> dict[int, tuple[str, ...]]:
    """UDP port → multicast groups to join, for what ``host`` answers."""
    ports: dict[int, tuple[str, ...]] = {}
    if host.onvif and host.onvif.discovery:
        ports[WSD_PORT] = (WSD_GROUP,)
    if host.sadp:
        ports[SADP_PORT] = (WSD_GROUP,)
    if host.dhip:
        ports[DHIP_PORT] = (DHIP_GROUP,)
    if host.snmp:
        ports[host.snmp.port] = ()
    if host.upnp:
        ports[SSDP_PORT] = (WSD_GROUP,)
    return ports


def udp_answer(port: int) -> Callable[[HostContext, bytes], bytes | None]:
    """The function that answers datagrams on ``port``."""

    def answer(ctx: HostContext, data: bytes) -> bytes | None:
        host = ctx.host
        if port == WSD_PORT and host.onvif and host.onvif.discovery:
            return onvif.probe_match(ctx, host.onvif, data)
        if port == SADP_PORT and host.sadp:
            return sadp.reply(ctx, host.sadp, data)
        if port == DHIP_PORT and host.dhip:
            return dhip.reply(ctx, host.dhip, data)
        if host.snmp and port == host.snmp.port:
            return snmp.reply(ctx, host.snmp, data)
        if port == SSDP_PORT and host.upnp:
            return upnp.ssdp_reply(ctx, host.upnp, data)
        return None

    return answer


def _connection(resolve: Callable[[str], HostContext | None], port: int) -> TcpHandler:
    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            sockname = writer.get_extra_info("sockname")
            ctx = resolve(sockname[0]) if sockname else None
            handle = tcp_handler_for(ctx, port) if ctx else None
            if handle is None:
                abort_with_rst(writer)
                return
            await handle(reader, writer)
        except (ConnectionError, TimeoutError, ssl.SSLError, OSError):
            pass
        except Exception as exc:  # noqa: BLE001 - one hostile client must not stop the lab
            log.warning("tcp %d: %s: %s", port, type(exc).__name__, str(exc)[:200])
        finally:
            if not writer.is_closing():
                writer.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(_CLOSE_TIMEOUT_S):
                    await writer.wait_closed()

    return on_connect


def _listen(address: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(_BACKLOG)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class _Tls:
    """SSL contexts by certificate subject, so identical devices share one."""

    def __init__(self) -> None:
        self._by_spec: dict[TlsCertificate, ssl.SSLContext] = {}

    def for_port(self, host: LabHost, port: int) -> ssl.SSLContext | None:
        spec = next((s.tls for s in host.http if s.port == port and s.tls), None)
        if spec is None:
            return None
        if spec not in self._by_spec:
            self._by_spec[spec] = tls.server_context(spec)
        return self._by_spec[spec]


class Farm:
    """Scale mode: every address of the prefix is a host, its kind a pure function of it."""

    def __init__(self, profile: LabProfile) -> None:
        assert profile.scale is not None  # noqa: S101 - callers check; narrows the type
        self.scale = profile.scale
        self.prefix = profile.scale.prefix
        self.templates = profile.scale_hosts()
        self.slots = [index for index, mix in enumerate(self.scale.mix) for _ in range(mix.weight)]
        self._first = int(self.prefix.network_address)
        self._netmask = str(self.prefix.netmask)
        self._gateway = str(ipaddress.IPv4Address(self._first + 1))
        self.context = functools.lru_cache(maxsize=16384)(self._context)

    @property
    def size(self) -> int:
        """How many hosts the farm simulates."""
        return int(self.prefix.num_addresses) - 2

    def template_of(self, offset: int) -> LabHost:
        """The device template at ``offset`` inside the prefix."""
        return self.templates[self.slots[offset % len(self.slots)]]

    def _context(self, address: str) -> HostContext | None:
        try:
            offset = int(ipaddress.IPv4Address(address)) - self._first
        except ValueError:
            return None
        if not 0 < offset < self.size + 1:
            return None
        mix = self.scale.mix[self.slots[offset % len(self.slots)]]
        low = offset.to_bytes(3, "big").hex(":")
        mac = f"{mix.oui.lower()}:{low}"
        return HostContext.build(
            self.template_of(offset), address, mac, self._netmask, self._gateway, seq=offset
        )

    def resolve_udp(self, port: int) -> Callable[[str | None], Sequence[HostContext]]:
        """Unicast → the addressed host; multicast/broadcast → up to ``multicast_cap`` hosts."""
        answers = {i for i, t in enumerate(self.templates) if port in udp_ports(t)}

        def resolve(destination: str | None) -> Sequence[HostContext]:
            ctx = self.context(destination) if destination else None
            if ctx is not None:
                return [ctx]
            found: list[HostContext] = []
            for offset in range(1, self.size + 1):
                if len(found) >= self.scale.multicast_cap:
                    break
                if self.slots[offset % len(self.slots)] in answers:
                    address = str(ipaddress.IPv4Address(self._first + offset))
                    one = self._context(address)
                    if one is not None:
                        found.append(one)
            return found

        return resolve


def _host_sockets(
    host: LabHost,
) -> tuple[list[tuple[int, socket.socket]], list[tuple[int, socket.socket]]]:
    tcp = [(port, _listen(str(host.address), port)) for port in host.tcp_ports()]
    udp = [(port, open_udp(port, groups, "eth0")) for port, groups in udp_ports(host).items()]
    return tcp, udp


def _only(ctx: HostContext, _address: str) -> HostContext:
    """A bridged host's sockets live in its own namespace: everything they get is for it."""
    return ctx


def _only_list(ctx: HostContext, _destination: str | None) -> list[HostContext]:
    return [ctx]


async def _start(
    handler: TcpHandler, sock: socket.socket, context: ssl.SSLContext | None
) -> asyncio.Server:
    if context is None:
        return await asyncio.start_server(handler, sock=sock)
    return await asyncio.start_server(
        handler, sock=sock, ssl=context, ssl_handshake_timeout=_TLS_HANDSHAKE_S
    )


async def serve(profile: LabProfile, lab: str, ready: Path | None) -> None:
    """Open every host's sockets in its namespace and serve until SIGTERM."""
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(_quiet_exceptions)
    servers: list[asyncio.Server] = []
    endpoints: list[UdpEndpoint] = []
    certs = _Tls()
    for index, host in enumerate(profile.hosts):
        ns = host_namespace(lab, index)
        # A routed host announces its own subnet and router (SADP IPv4Gateway, DHIP gateway).
        network, gateway = profile.segment_of(host)
        ctx = HostContext.build(
            host, str(host.address), host.mac, str(network.netmask), str(gateway)
        )
        # One namespace switch per host, not per socket: each switch costs a few milliseconds.
        tcp_socks, udp_socks = open_in_netns(ns, functools.partial(_host_sockets, host))
        for port, sock in tcp_socks:
            handler = _connection(functools.partial(_only, ctx), port)
            servers.append(await _start(handler, sock, certs.for_port(host, port)))
        for port, usock in udp_socks:
            endpoint = UdpEndpoint(usock, functools.partial(_only_list, ctx), udp_answer(port))
            endpoint.start(loop)
            endpoints.append(endpoint)
    if profile.scale is not None:
        farm = Farm(profile)
        ns = farm_namespace(lab)
        tcp_ports = sorted({p for t in farm.templates for p in t.tcp_ports()})
        for port in tcp_ports:
            owner = next((t for t in farm.templates if certs.for_port(t, port)), None)
            sock = open_in_netns(ns, functools.partial(_listen, "0.0.0.0", port))  # noqa: S104
            servers.append(
                await _start(
                    _connection(farm.context, port),
                    sock,
                    certs.for_port(owner, port) if owner else None,
                )
            )
        udp = sorted({p: g for t in farm.templates for p, g in udp_ports(t).items()}.items())
        for port, groups in udp:
            usock = open_in_netns(ns, functools.partial(open_udp, port, groups, "eth0"))
            endpoint = UdpEndpoint(usock, farm.resolve_udp(port), udp_answer(port))
            endpoint.start(loop)
            endpoints.append(endpoint)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if ready is not None:
        await asyncio.to_thread(
            ready.write_text, f"{len(servers)} {len(endpoints)}\n", encoding="utf-8"
        )
    log.info("lab %s: %d TCP and %d UDP listeners ready", lab, len(servers), len(endpoints))
    await stop.wait()
    log.info("lab %s: stopping on signal", lab)
    for endpoint in endpoints:
        endpoint.close(loop)
    for server in servers:
        server.close()


def _quiet_exceptions(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # TLS garbage and resets from hostile clients end up here; they are expected, not errors.
    exc = context.get("exception")
    log.debug("loop: %s %s", context.get("message"), type(exc).__name__ if exc else "")


def _daemonize(log_path: Path) -> None:
    """Fork; the parent prints the child's pid and exits, the child runs on in its own session.

    The caller (``lab up``) then owns no child process, and the lab outlives it by design.
    """
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    pid = os.fork()
    if pid > 0:
        sys.stdout.write(f"{pid}\n")
        sys.stdout.flush()
        os._exit(0)
    os.setsid()
    null_fd = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null_fd, 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the responder process."""
    parser = argparse.ArgumentParser(prog="python -m scanner.lab.responder")
    parser.add_argument("--lab", required=True)
    parser.add_argument("--profile", required=True, type=Path)
    parser.add_argument("--ready", type=Path)
    parser.add_argument(
        "--daemonize",
        type=Path,
        metavar="LOG",
        help="detach, log to LOG, print the daemon's pid and return",
    )
    args = parser.parse_args(argv)
    if args.daemonize is not None:
        _daemonize(args.daemonize)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(serve(load_profile(args.profile), args.lab, args.ready))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
