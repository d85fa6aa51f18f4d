"""The lab side of HTTP logins (issue 9): which route a query names, and whether a request
carries a valid digest (RFC 7616: MD5, SHA-256, ``qop=auth`` or none) or, where the profile
allows it, basic login for the route's one account.

The simulated device does not track the nonces it issued (any well-formed nonce is accepted):
the lab tests the scanner's side of the exchange, not replay protection.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from typing import Final

from scanner.lab.profile import RouteAuth
from scanner.lab.responders.common import HostContext

__all__ = ["authorized", "query_of"]

_PARAM: Final = re.compile(r'([a-zA-Z0-9_-]+)\s*=\s*(?:"([^"]*)"|([^\s,]+))')
_HASHES: Final = {"md5": hashlib.md5, "sha-256": hashlib.sha256}


def query_of(request: bytes) -> str | None:
    """The query string of the request line (None without one)."""
    first_line = request.split(b"\n", 1)[0].rstrip(b"\r")
    parts = first_line.split(b" ")
    if len(parts) < 2 or b"?" not in parts[1]:
        return None
    return parts[1].split(b"?", 1)[1].decode("latin-1", errors="replace")


def _header(request: bytes, name: str) -> str | None:
    head = request.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n")[1:]:
        key, sep, value = line.partition(b":")
        if sep and key.strip().lower() == name.lower().encode():
            return value.strip().decode("latin-1", errors="replace")
    return None


def _digest_ok(value: str, auth: RouteAuth, realm: str, method: str) -> bool:
    params = {m.group(1).lower(): m.group(2) or m.group(3) or "" for m in _PARAM.finditer(value)}
    algorithm = params.get("algorithm", "MD5").lower()
    digest = _HASHES.get(algorithm)
    if digest is None or params.get("username") != auth.username or params.get("realm") != realm:
        return False

    def h(text: str) -> str:
        return digest(text.encode("utf-8")).hexdigest()

    ha1 = h(f"{auth.username}:{realm}:{auth.password}")
    ha2 = h(f"{method}:{params.get('uri', '')}")
    nonce = params.get("nonce", "")
    if params.get("qop"):
        expected = h(
            f"{ha1}:{nonce}:{params.get('nc', '')}:{params.get('cnonce', '')}:{params['qop']}:{ha2}"
        )
    else:
        expected = h(f"{ha1}:{nonce}:{ha2}")
    return bool(nonce) and hmac.compare_digest(expected, params.get("response", ""))


def _basic_ok(value: str, auth: RouteAuth) -> bool:
    try:
        pair = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return hmac.compare_digest(pair, f"{auth.username}:{auth.password}")


def authorized(ctx: HostContext, auth: RouteAuth, request: bytes) -> bool:
    """Whether ``request`` carries a login the route accepts."""
    value = _header(request, "Authorization")
    if value is None:
        return False
    scheme, _, rest = value.partition(" ")
    method = request.split(b" ", 1)[0].decode("latin-1", errors="replace")
    if scheme.lower() == "digest":
        return _digest_ok(rest, auth, ctx.fill(auth.realm), method)
    if scheme.lower() == "basic" and auth.basic:
        return _basic_ok(rest, auth)
    return False
