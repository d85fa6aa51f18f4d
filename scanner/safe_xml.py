"""The one place device XML is parsed: defusedxml, a byte cap, and namespace-blind lookups.

Cameras answer WS-Discovery, SADP and ONVIF with XML, and a hostile device can answer with an
entity bomb, an external entity or a gigabyte of nesting. Every such reply goes through
:func:`parse_xml`, which refuses DTDs, entities and external references (defusedxml) and
anything above the byte cap, and raises :class:`ProbeParseError` so the probe records
``protocol_error`` instead of crashing.

Vendors disagree on namespace prefixes (gSOAP ``env``/``d``, NVR ``soap``/``wsd``; fingerprints.md
§3.2), so lookups here match on local names and never on prefixes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final
from xml.etree.ElementTree import Element, ParseError  # noqa: TID251 - types only, never parsing

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from scanner.errors import ProbeParseError

__all__ = [
    "MAX_XML_BYTES",
    "Element",
    "child_text",
    "find_all",
    "find_first",
    "local_name",
    "parse_xml",
]

#: A ProbeMatch is < 2 KiB and GetCapabilities < 16 KiB; 256 KiB is generous and still small.
MAX_XML_BYTES: Final = 256 * 1024
# Real replies nest < 15 deep; a deep tree is an attack on the recursive walkers below.
MAX_DEPTH: Final = 64


def local_name(tag: str) -> str:
    """Return ``Types`` for ``{http://...}Types`` or ``d:Types``."""
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _depth(element: Element, limit: int) -> int:
    stack = [(element, 1)]
    deepest = 1
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth + 1) for child in node)
    return deepest


def parse_xml(
    data: bytes, *, max_bytes: int = MAX_XML_BYTES, allow_doctype: bool = False
) -> Element:
    """Parse untrusted XML bytes; raise :class:`ProbeParseError` for anything unsafe or broken.

    ``allow_doctype`` admits a bare ``<!DOCTYPE x>`` (nmap writes one); entity declarations and
    external references stay forbidden either way.
    """
    if len(data) > max_bytes:
        raise ProbeParseError(f"XML reply larger than {max_bytes} bytes")
    # Some firmware pads datagrams with NULs or trailing whitespace after the root element.
    text = data.rstrip(b"\x00 \t\r\n").lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text.startswith(b"<"):
        raise ProbeParseError("not XML")
    try:
        root = fromstring(
            text, forbid_dtd=not allow_doctype, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise ProbeParseError(f"unsafe XML refused: {type(exc).__name__}") from None
    except (ParseError, ValueError, UnicodeError) as exc:
        raise ProbeParseError(f"malformed XML: {str(exc)[:120]}") from None
    if _depth(root, MAX_DEPTH) > MAX_DEPTH:
        raise ProbeParseError("XML nested too deeply")
    return root


def find_all(root: Element, name: str) -> Iterator[Element]:
    """Yield every element below (and including) ``root`` whose local name is ``name``."""
    for element in root.iter():
        if isinstance(element.tag, str) and local_name(element.tag) == name:
            yield element


def find_first(root: Element, name: str) -> Element | None:
    """Return the first element called ``name`` (local name), or ``None``."""
    return next(find_all(root, name), None)


def child_text(root: Element, name: str) -> str | None:
    """Return the stripped text of the first element called ``name``, or ``None`` if empty."""
    element = find_first(root, name)
    if element is None:
        return None
    text = "".join(element.itertext()).strip()
    return text or None
