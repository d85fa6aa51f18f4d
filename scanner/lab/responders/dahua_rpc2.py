"""Dahua RPC2 as a recorder's web server answers it: the challenge login, getConfig, logout.

Step 1 (``global.login`` with an empty password) answers ``result: false``, error 268632079
and ``params`` with ``realm``, ``random``, ``encryption``, plus a fresh ``session``; step 2 is
accepted when ``password`` equals MD5(user:random:MD5(user:realm:password)) in upper-case hex,
the scheme rroller/dahua's ``rpc2.py`` implements (see scanner/probes/dahua_rpc2.py). Calls
to ``/RPC2`` without a logged-in session answer ``result: false`` (error 287637505, "Invalid
session"), as firmware does. Sessions live per host for the responder's lifetime, bounded.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any, Final

from scanner.lab.profile import Rpc2Service
from scanner.lab.responders.common import HostContext

__all__ = ["Rpc2State", "rpc2_http_reply", "state_for"]

LOGIN_PATH: Final = "/RPC2_Login"
RPC_PATH: Final = "/RPC2"
_MAX_SESSIONS: Final = 64


class Rpc2State:
    """Sessions handed out by step 1 (challenge) and confirmed by step 2 (logged in)."""

    def __init__(self) -> None:
        self.challenges: dict[str, str] = {}  # session -> random
        self.logged_in: set[str] = set()

    def new_challenge(self) -> tuple[str, str]:
        """A fresh (session, random) pair; the oldest pending challenge gives way."""
        """A fresh (session, random) pair; the oldest pending challenge gives way."""
        if len(self.challenges) >= _MAX_SESSIONS:
            self.challenges.pop(next(iter(self.challenges)))
        session, random = secrets.token_hex(16), str(secrets.randbelow(10**10))
        self.challenges[session] = random
        return session, random


#: One state per simulated host and port: the farm builds a handler per connection, and a
#: login spans two connections (challenge, answer) and the calls after it.
_STATES: dict[tuple[str, int], Rpc2State] = {}


def state_for(address: str, port: int) -> Rpc2State:
    """The session state of the RPC2 server at ``address:port`` (created on first use)."""
    return _STATES.setdefault((address, port), Rpc2State())


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest().upper()


def _answer(
    ctx: HostContext, service: Rpc2Service, state: Rpc2State, path: str, call: dict[str, Any]
) -> dict[str, Any]:
    ident = call.get("id", 0)
    method = call.get("method")
    raw_params = call.get("params")
    params: dict[str, Any] = raw_params if isinstance(raw_params, dict) else {}
    session = call.get("session")
    realm = ctx.fill(service.realm)
    if path == LOGIN_PATH and method == "global.login":
        if not params.get("password"):
            new, random = state.new_challenge()
            return {
                "error": {"code": 268632079, "message": "Component error: login challenge!"},
                "id": ident,
                "params": {
                    "authorization": secrets.token_hex(20),
                    "encryption": service.encryption,
                    "mac": ctx.mac.replace(":", "").upper(),
                    "random": random,
                    "realm": realm,
                },
                "result": False,
                "session": new,
            }
        pending: str | None = state.challenges.pop(str(session), None)
        inner = _md5(f"{service.username}:{realm}:{service.password}")
        expected = _md5(f"{service.username}:{pending}:{inner}") if pending is not None else ""
        given = str(params.get("password", ""))
        if (
            pending is not None
            and params.get("userName") == service.username
            and hmac.compare_digest(expected, given)
        ):
            if len(state.logged_in) >= _MAX_SESSIONS:
                state.logged_in.pop()
            state.logged_in.add(str(session))
            return {"id": ident, "params": None, "result": True, "session": session}
        return {
            "error": {"code": 268632085, "message": "Login failed: invalid password"},
            "id": ident,
            "params": None,
            "result": False,
            "session": session,
        }
    if path == RPC_PATH and str(session) in state.logged_in:
        if method == "global.logout":
            state.logged_in.discard(str(session))
            return {"id": ident, "params": None, "result": True, "session": session}
        if method == "configManager.getConfig" and params.get("name") in service.tables:
            table = json.loads(ctx.fill(service.tables[str(params["name"])]))
            return {"id": ident, "params": {"table": table}, "result": True, "session": session}
        return {
            "error": {"code": 268959743, "message": "Unknown error"},
            "id": ident,
            "result": False,
            "session": session,
        }
    return {
        "error": {"code": 287637505, "message": "Invalid session in request data!"},
        "id": ident,
        "result": False,
    }


def rpc2_http_reply(
    ctx: HostContext, service: Rpc2Service, state: Rpc2State, path: str, body: bytes
) -> bytes:
    """The whole HTTP response to one RPC2 POST."""
    try:
        call = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        call = None
    if not isinstance(call, dict):
        reply: dict[str, Any] = {
            "error": {"code": 268632064, "message": "Parse error"},
            "result": False,
        }
    else:
        reply = _answer(ctx, service, state, path, call)
    payload = json.dumps(reply, separators=(",", ":")).encode()
    head = (
        "HTTP/1.1 200 OK\r\nCONNECTION: close\r\nCONTENT-TYPE: application/json\r\n"
        f"CONTENT-LENGTH: {len(payload)}\r\n\r\n"
    )
    return head.encode("ascii") + payload
