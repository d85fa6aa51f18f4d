"""Hikvision SADP on UDP 37020: XML ``<Probe>`` with ``<Types>inquiry</Types>`` → ``<ProbeMatch>``.

The reply follows the DS-2CD2385G1-I capture in fingerprints.md §6.1: XML declaration, then one
element per CRLF-separated line, ``Uuid`` echoed from the probe and ``Types`` ``inquiry`` first,
then the profile's fields in order (``DetailOEMCode`` among them, §6.2).
"""

from __future__ import annotations

import base64

from scanner.errors import ProbeParseError
from scanner.lab.profile import SadpService
from scanner.lab.responders.common import HostContext, xml_escape
from scanner.safe_xml import child_text, local_name, parse_xml

__all__ = ["reply"]


def reply(ctx: HostContext, service: SadpService, data: bytes) -> bytes | None:
    """The ProbeMatch for an inquiry, or None for anything else."""
    try:
        root = parse_xml(data)
    except ProbeParseError:
        return None
    if local_name(root.tag) != "Probe" or (child_text(root, "Types") or "").lower() != "inquiry":
        return None
    if service.raw_reply_b64 is not None:
        return base64.b64decode(service.raw_reply_b64)
    probe_uuid = xml_escape((child_text(root, "Uuid") or "")[:64])
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<ProbeMatch>",
        f"<Uuid>{probe_uuid}</Uuid>",
        "<Types>inquiry</Types>",
        *(f"<{tag}>{xml_escape(ctx.fill(value))}</{tag}>" for tag, value in service.fields),
        "</ProbeMatch>",
    ]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")
