"""Dahua DHIP discovery on UDP 37810: framed ``DHDiscover.search`` → ``client.notifyDevInfo``.

Frame (fingerprints.md §7.1): a 32-byte header ``20 00 00 00`` ``DHIP``, eight zero bytes, the
body length as a little-endian 64-bit number twice, then the JSON body. Like current firmware,
the lab answers only a correctly framed search: bare JSON or a byte-swapped magic gets silence.
"""

from __future__ import annotations

import base64
import json
import struct
from typing import Final

from scanner.lab.profile import DhipService
from scanner.lab.responders.common import HostContext

__all__ = ["HEADER_LEN", "frame", "reply"]

HEADER_LEN: Final = 32
MAGIC: Final = b"\x20\x00\x00\x00DHIP"
MAX_BODY: Final = 16 * 1024


def frame(body: bytes) -> bytes:
    """Wrap a JSON body in the DHIP header."""
    return MAGIC + b"\0" * 8 + struct.pack("<QQ", len(body), len(body)) + body


def reply(ctx: HostContext, service: DhipService, data: bytes) -> bytes | None:
    """The notifyDevInfo frame for a framed DHDiscover.search, or None."""
    if len(data) < HEADER_LEN or data[:8] != MAGIC:
        return None
    (length,) = struct.unpack_from("<Q", data, 16)
    if length > MAX_BODY or HEADER_LEN + length > len(data):
        return None
    try:
        request = json.loads(data[HEADER_LEN : HEADER_LEN + length].rstrip(b"\0"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(request, dict) or request.get("method") != "DHDiscover.search":
        return None
    if service.raw_reply_b64 is not None:
        return base64.b64decode(service.raw_reply_b64)
    return frame(ctx.fill(service.body).encode("utf-8"))
