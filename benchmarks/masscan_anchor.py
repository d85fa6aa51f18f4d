"""masscan (Debian) beside ndaa-scan on the liveness and port phase: a second speed anchor.

masscan only finds open ports; ndaa-scan's liveness phase plus its first TCP round does the same
work before it identifies anything. Both run inside the lab's scanner namespace at the same
packet rate over the same targets and ports. masscan 1.3.2 keeps its status line running after
its ``--wait`` inside a namespace instead of exiting, so its end is read from its own progress
line ("100.00% done") plus the wait, and it is then stopped with SIGINT (which makes it write
its output).
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

__all__ = ["masscan_run", "router_mac"]

_DONE = re.compile(rb"100\.00% done")


def router_mac(farm_ns: str, dev: str = "eth0") -> str:
    """The MAC of the farm's link: masscan sends raw frames and needs its next hop."""
    out = subprocess.run(
        ["ip", "netns", "exec", farm_ns, "ip", "-j", "link", "show", dev],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    )
    return str(json.loads(out.stdout)[0]["address"])


def masscan_run(
    scan_ns: str,
    targets: str,
    ports: str,
    rate: float,
    *,
    interface: str,
    next_hop_mac: str,
    out_file: Path,
    wait_s: int = 1,
    timeout_s: float = 600,
) -> tuple[float, int] | None:
    """(seconds until masscan finished sending and waiting, open ports found), or None."""
    if shutil.which("masscan") is None:
        return None
    cmd = [
        "ip",
        "netns",
        "exec",
        scan_ns,
        "masscan",
        targets,
        "-p",
        ports,
        "--rate",
        str(rate),
        "--wait",
        str(wait_s),
        "--interface",
        interface,
        "--router-mac",
        next_hop_mac,
        "-oL",
        str(out_file),
    ]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done_at: float | None = None
    buffer = b""
    try:
        assert proc.stderr is not None  # noqa: S101 - PIPE was asked for
        while time.monotonic() - started < timeout_s:
            chunk = proc.stderr.read1(4096)  # type: ignore[attr-defined]
            if not chunk:
                break
            buffer = (buffer + chunk)[-4096:]
            if done_at is None and _DONE.search(buffer):
                done_at = time.monotonic() - started + wait_s
                time.sleep(wait_s + 0.5)
                break
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    found = 0
    if out_file.exists():
        found = sum(1 for line in out_file.read_text().splitlines() if line.startswith("open"))
    return (done_at if done_at is not None else time.monotonic() - started), found
