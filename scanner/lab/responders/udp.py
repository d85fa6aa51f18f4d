"""UDP discovery endpoints (WS-Discovery, SADP, DHIP, SNMP) with ``IP_PKTINFO`` in and out.

``IP_PKTINFO`` tells the responder which address a datagram was sent to (a host's unicast
address, a multicast group, a broadcast), and sets the source address of the reply. In the
scale farm that is how one socket speaks for 65,534 hosts; without it, replies would leave from
the farm's link address (lab-feasibility §3.2). Python 3.11 does not export the constant.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from collections.abc import Callable, Sequence
from typing import Final

from scanner.lab.responders.common import HostContext

__all__ = ["IP_PKTINFO", "UdpEndpoint", "open_udp"]

log = logging.getLogger("scanner.lab.responder")

IP_PKTINFO: Final = 8
_IP_ADD_MEMBERSHIP: Final = 35
_MAX_DATAGRAM: Final = 65535
# Datagrams handled per wake-up before yielding to the loop, so one flood cannot starve TCP.
_BATCH: Final = 64
# Fan-out pacing for one multicast probe answered by many farm hosts (lab-feasibility §3.4).
_PACE_EVERY: Final = 256
_PACE_S: Final = 0.002

Resolver = Callable[[str | None], Sequence[HostContext]]
Answer = Callable[[HostContext, bytes], bytes | None]


def open_udp(port: int, groups: Sequence[str], interface: str | None) -> socket.socket:
    """A UDP socket on 0.0.0.0:``port`` with PKTINFO, joined to ``groups`` on ``interface``.

    Call it inside the target namespace: the interface index is looked up there.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.bind(("0.0.0.0", port))  # noqa: S104 - inside a lab namespace; multicast needs it
        if interface is not None:
            index = socket.if_nametoindex(interface)
            for group in groups:
                mreq = struct.pack("4s4si", socket.inet_aton(group), b"\0" * 4, index)
                sock.setsockopt(socket.IPPROTO_IP, _IP_ADD_MEMBERSHIP, mreq)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class UdpEndpoint:
    """One UDP socket: read datagrams, ask ``answer`` per addressed host, send replies."""

    def __init__(self, sock: socket.socket, resolve: Resolver, answer: Answer) -> None:
        self._sock = sock
        self._resolve = resolve
        self._answer = answer
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Begin serving on ``loop``."""
        loop.add_reader(self._sock.fileno(), self._on_readable)

    def close(self, loop: asyncio.AbstractEventLoop) -> None:
        """Stop serving and close the socket."""
        loop.remove_reader(self._sock.fileno())
        for task in self._tasks:
            task.cancel()
        self._sock.close()

    def _on_readable(self) -> None:
        for _ in range(_BATCH):
            try:
                data, ancillary, _flags, peer = self._sock.recvmsg(_MAX_DATAGRAM, 256)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.debug("udp recv: %s", exc)
                return
            destination = None
            for level, kind, cdata in ancillary:
                if level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(cdata) >= 12:
                    destination = socket.inet_ntoa(cdata[8:12])
            hosts = self._resolve(destination)
            if len(hosts) <= _BATCH:
                for ctx in hosts:
                    self._reply(ctx, data, peer)
            else:
                task = asyncio.get_running_loop().create_task(self._fan_out(hosts, data, peer))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _fan_out(
        self, hosts: Sequence[HostContext], data: bytes, peer: tuple[str, int]
    ) -> None:
        for index, ctx in enumerate(hosts):
            self._reply(ctx, data, peer)
            if index % _PACE_EVERY == _PACE_EVERY - 1:
                await asyncio.sleep(_PACE_S)

    def _reply(self, ctx: HostContext, data: bytes, peer: tuple[str, int]) -> None:
        try:
            payload = self._answer(ctx, data)
        except Exception as exc:  # noqa: BLE001 - one hostile datagram must not stop the lab
            log.warning("udp answer failed for %s: %s", ctx.address, type(exc).__name__)
            return
        if payload is None:
            return
        source = struct.pack("i4s4s", 0, socket.inet_aton(ctx.address), b"\0" * 4)
        with contextlib.suppress(OSError):
            self._sock.sendmsg([payload], [(socket.IPPROTO_IP, IP_PKTINFO, source)], 0, peer)
