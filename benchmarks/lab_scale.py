"""Scale-mode benchmark: hosts simulated, connections per second served, responder memory.

Builds the scale lab (examples/lab/scale.toml: one farm namespace answering for 198.19.0.0/16),
then runs a bounded load generator *inside the lab's scanner namespace* (never the root one):
N × (connect, ``GET / HTTP/1.0``, read to close) against N distinct farm addresses, C at a time,
stopping at N or after the time limit, whichever comes first. Then one SADP multicast inquiry
counts how many farm hosts answer. Prints the figures and tears the lab down.

    sudo .venv/bin/python benchmarks/lab_scale.py [--connections 30000] [--concurrency 200]
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PREFIX = ipaddress.IPv4Network("198.19.0.0/16")
MAX_CONNECTIONS = 200_000
MAX_SECONDS = 120.0
SADP_PROBE = (
    b'<?xml version="1.0" encoding="utf-8"?><Probe><Uuid>B</Uuid><Types>inquiry</Types></Probe>'
)


def _same_netns(name: str) -> bool:
    return Path("/proc/self/ns/net").stat().st_ino == Path(f"/run/netns/{name}").stat().st_ino


class _Get(asyncio.Protocol):
    """A minimal HTTP client (protocol, not streams: the client must not be the bottleneck)."""

    def __init__(self, done: asyncio.Future[None]) -> None:
        self.done = done

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if isinstance(transport, asyncio.Transport):
            transport.write(b"GET / HTTP/1.0\r\n\r\n")

    def data_received(self, data: bytes) -> None:
        pass

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def _one(address: str, errors: list[int]) -> None:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    try:
        await loop.create_connection(lambda: _Get(done), address, 80)
        await done
    except OSError:
        errors[0] += 1


async def _load(count: int, concurrency: int, seconds: float) -> dict[str, float]:
    first = int(PREFIX.network_address) + 1
    span = PREFIX.num_addresses - 2
    errors = [0]
    done = 0
    queue = iter(range(count))

    async def worker() -> None:
        nonlocal done
        for index in queue:
            await _one(str(ipaddress.IPv4Address(first + index % span)), errors)
            done += 1

    started = time.monotonic()
    try:
        async with asyncio.timeout(seconds):
            await asyncio.gather(*(worker() for _ in range(concurrency)))
    except TimeoutError:
        pass
    elapsed = time.monotonic() - started
    return {"connections": done, "errors": errors[0], "seconds": elapsed}


def _multicast_count(wait: float) -> dict[str, float]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(("0.0.0.0", 0))  # noqa: S104 - inside the lab's scanner namespace only
    sock.sendto(SADP_PROBE, ("239.255.255.250", 37020))
    sources: set[str] = set()
    started = time.monotonic()
    last = started
    end = started + wait
    while len(sources) < 70_000 and (left := end - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            _, peer = sock.recvfrom(65535)
        except TimeoutError:
            break
        sources.add(peer[0])
        last = time.monotonic()
    sock.close()
    return {"sadp_replies": len(sources), "sadp_window_s": last - started}


def client(args: argparse.Namespace) -> int:
    """The load generator; refuses to run outside the lab's scanner namespace."""
    if not _same_netns(f"ndl-{args.name}-scan"):
        sys.stderr.write("refusing: not inside the lab's scanner namespace\n")
        return 2
    result = asyncio.run(_load(args.connections, args.concurrency, args.seconds))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["client_cpu_s"] = usage.ru_utime + usage.ru_stime
    result.update(_multicast_count(5.0))
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=30_000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--name", default="bench")
    parser.add_argument("--profile", type=Path, default=ROOT / "examples/lab/scale.toml")
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.connections = max(1, min(args.connections, MAX_CONNECTIONS))
    args.concurrency = max(1, min(args.concurrency, 1000))
    args.seconds = max(1.0, min(args.seconds, MAX_SECONDS))
    if args.client:
        return client(args)

    from scanner import lab  # the client mode runs without the package

    lab.down(args.name)
    started = time.monotonic()
    state = lab.up(args.profile, args.name)
    up_s = time.monotonic() - started
    try:
        pid = state.responder_pids[0]
        rss_idle = _rss_kib(pid)
        cpu_before = _cpu_s(pid)
        proc = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                f"ndl-{args.name}-scan",
                sys.executable,
                __file__,
                "--client",
                "--name",
                args.name,
                "--connections",
                str(args.connections),
                "--concurrency",
                str(args.concurrency),
                "--seconds",
                str(args.seconds),
            ],
            capture_output=True,
            text=True,
            timeout=args.seconds + 60,
            check=False,
        )
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            return 1
        result = json.loads(proc.stdout)
        rss_after = _rss_kib(pid)
        cpu = _cpu_s(pid) - cpu_before
    finally:
        started = time.monotonic()
        lab.down(args.name)
        down_s = time.monotonic() - started
    hosts = PREFIX.num_addresses - 2
    rate = result["connections"] / result["seconds"]
    print(f"hosts simulated:        {hosts:,} (one farm namespace, one responder process)")
    print(
        f"connections served:     {result['connections']:,} in {result['seconds']:.2f} s "
        f"= {rate:,.0f} connections/s ({result['errors']} errors, {args.concurrency} concurrent)"
    )
    print(
        f"SADP multicast inquiry: {result['sadp_replies']:,} replies in "
        f"{result['sadp_window_s']:.2f} s (farm cap 4,096)"
    )
    print(
        f"responder RSS:          {rss_idle / 1024:.1f} MiB idle, "
        f"{rss_after / 1024:.1f} MiB after load"
    )
    share = cpu / result["seconds"]
    client_share = result["client_cpu_s"] / result["seconds"]
    print(f"CPU (one core = 100%):  responder {share:.0%}, load generator {client_share:.0%}")
    print(f"lab up / down:          {up_s:.2f} s / {down_s:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
