"""The lab's device responders: one asyncio process serving every simulated host.

Each host's listening sockets are opened inside that host's namespace (``setns``), then served
by one event loop, so a 50-host lab costs one process (lab-feasibility.md §9.3). Replies are the
exact bytes the profile gives. Two habits of real devices matter to scanners: answer on the
first bytes received (do not wait for a blank line), and keep an idle connection open for 30 s
(closing sooner makes nmap report ``tcpwrapped``).

Run as ``python -m scanner.lab.responder --lab NAME --profile FILE --ready FILE``.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import os
import signal
import socket
import sys
from email.utils import formatdate
from pathlib import Path
from typing import Final

from scanner.lab.profile import HttpService, LabProfile, load_profile
from scanner.lab.topology import host_namespace
from scanner.netns import open_in_netns

__all__ = ["main", "render_http"]

log = logging.getLogger("scanner.lab.responder")

IDLE_TIMEOUT_S: Final = 30.0
# Requests to a camera are short; 8 KiB is more than any request line plus headers we serve.
MAX_REQUEST_BYTES: Final = 8192


def render_http(service: HttpService, request: bytes) -> bytes:
    """Return the response bytes ``service`` sends for ``request``."""
    first_line = request.split(b"\r\n", 1)[0].split(b"\n", 1)[0]
    parts = first_line.split(b" ")
    path = parts[1].decode("latin-1") if len(parts) >= 2 else "/"
    route = service.route_for(path.split("?", 1)[0])
    body = route.body.encode("utf-8")
    lines = [route.status_line]
    for name, value in route.headers:
        text = value.replace("{http_date}", formatdate(usegmt=True)).replace(
            "{content_length}", str(len(body))
        )
        lines.append(f"{name}: {text}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _http_handler(service: HttpService):  # type: ignore[no-untyped-def]
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(IDLE_TIMEOUT_S):
                request = await reader.read(MAX_REQUEST_BYTES)
            if request:
                writer.write(render_http(service, request))
                await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    return handle


def _listen(address: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def serve(profile: LabProfile, lab: str, ready: Path | None) -> None:
    """Open every host's sockets in its namespace and serve until SIGTERM."""
    servers: list[asyncio.Server] = []
    for index, host in enumerate(profile.hosts):
        ns = host_namespace(lab, index)
        for service in host.http:
            sock = open_in_netns(ns, functools.partial(_listen, str(host.address), service.port))
            servers.append(await asyncio.start_server(_http_handler(service), sock=sock))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if ready is not None:
        await asyncio.to_thread(ready.write_text, f"{len(servers)}\n", encoding="utf-8")
    log.info("lab %s: %d listeners ready", lab, len(servers))
    await stop.wait()
    for server in servers:
        server.close()


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
