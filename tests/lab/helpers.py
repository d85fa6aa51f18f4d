"""Helpers for the lab integration tests: run plain-socket exchanges inside a lab's scanner
namespace (never in the root namespace, whose default route leads off the machine)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
CLIENT = Path(__file__).with_name("lab_client.py")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


def in_scan_ns(lab_name: str, exchanges: list[dict], timeout: float = 60) -> list[dict]:
    """Run ``exchanges`` with tests/lab/lab_client.py inside ``ndl-<lab>-scan``."""
    proc = subprocess.run(
        ["ip", "netns", "exec", f"ndl-{lab_name}-scan", sys.executable, str(CLIENT)],
        input=json.dumps(exchanges),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def tcp(host: str, port: int, send: bytes = b"", **extra: object) -> dict:
    return {"kind": "tcp", "host": host, "port": port, "send": b64(send), **extra}


def udp(host: str, port: int, send: bytes, wait: float = 0.6) -> dict:
    return {"kind": "udp", "host": host, "port": port, "send": b64(send), "wait": wait}


def lab_name(prefix: str) -> str:
    """A lab name unique to this test process (two pytest runs must not collide)."""
    return f"{prefix}{os.getpid() % 100000}"
