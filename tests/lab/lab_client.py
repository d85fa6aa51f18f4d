"""Plain-socket client the lab tests run *inside* the scanner namespace (never the root one).

Reads a JSON list of exchanges on stdin, performs them one by one, writes a JSON list of results.
Every exchange is bounded: one send, reads capped in bytes and time.

  {"kind": "tcp", "host": "198.18.0.10", "port": 80, "send": "<b64>", "tls": false,
   "idle": 1.0, "max_bytes": 1048576}
  -> {"data": "<b64>", "error": null, "cert": "<b64 DER or null>"}
  {"kind": "udp", "host": "239.255.255.250", "port": 37020, "send": "<b64>", "wait": 0.6}
  -> {"replies": [["198.18.0.10", "<b64>"], ...]}
"""

from __future__ import annotations

import base64
import json
import socket
import ssl
import sys
import time

MAX_UDP_REPLIES = 2000


def tcp(ex: dict) -> dict:
    data = b""
    cert = None
    error = None
    idle = float(ex.get("idle", 1.0))
    cap = int(ex.get("max_bytes", 1 << 20))
    deadline = time.monotonic() + float(ex.get("deadline", 10.0))
    try:
        sock = socket.create_connection((ex["host"], ex["port"]), timeout=3)
        if ex.get("tls"):
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            sock = ctx.wrap_socket(sock)
            der = sock.getpeercert(binary_form=True)
            cert = base64.b64encode(der).decode() if der else None
        payload = base64.b64decode(ex.get("send", ""))
        if payload:
            sock.sendall(payload)
        sock.settimeout(idle)
        while len(data) < cap and time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            data += chunk
        sock.close()
    except (OSError, ssl.SSLError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    return {"data": base64.b64encode(data).decode(), "error": error, "cert": cert}


def udp(ex: dict) -> dict:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    sock.bind(("0.0.0.0", 0))
    sock.sendto(base64.b64decode(ex["send"]), (ex["host"], ex["port"]))
    replies = []
    end = time.monotonic() + float(ex.get("wait", 0.6))
    while len(replies) < MAX_UDP_REPLIES:
        left = end - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            data, peer = sock.recvfrom(65535)
        except TimeoutError:
            break
        replies.append([peer[0], base64.b64encode(data).decode()])
    sock.close()
    return {"replies": replies}


def main() -> None:
    exchanges = json.load(sys.stdin)
    out = [tcp(ex) if ex["kind"] == "tcp" else udp(ex) for ex in exchanges[:500]]
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
