"""Dahua RPC2: the challenge login and the RemoteDevice table, on loopback servers.

Reply shapes: the step-1 challenge (``result: false``, ``session``, ``params`` with
``authorization``, ``encryption``, ``random``, ``realm``) and the step-2 hash as read by public
RPC2 clients (rroller/dahua custom_components/dahua/rpc2.py ``login``; the
``DahuaChallengeParams`` interface of a TypeScript NVR client, search corpus 2026-12); error code
268632079 is the "login challenge" code of public dumps (GK). The RemoteDevice table is the
JSON form of the CGI table in ``digest_server.REMOTE`` (same keys, slot = channel - 1).
"""

import asyncio
import contextlib
import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.errors import ProbeParseError
from scanner.probes.base import run_host_probe
from scanner.probes.dahua_rpc2 import PROBE as RPC2
from scanner.probes.dahua_rpc2 import (
    parse_rpc2_challenge,
    parse_rpc2_remote_devices,
    parse_rpc2_reply,
    password_hash,
)
from scanner.results import Observation, utc_now

from .digest_server import PASSWORD, USER, creds
from .loopback import fresh_address, http_response, loopback_ctx, tcp_server

REALM = "Login to 8L0E41CPAZ00192"
RANDOM = "1736281931"
CHALLENGE = json.dumps(
    {
        "error": {"code": 268632079, "message": "Component error: login challenge!"},
        "id": 1,
        "params": {
            "authorization": "8bd6f20c3fa3e0ab8b5c9e1d2a7f4c60b1e2d3f4",
            "encryption": "Default",
            "mac": "BC325F4701C0",
            "random": RANDOM,
            "realm": REALM,
        },
        "result": False,
        "session": "0f3e8a5b2c7d1e9f4a6b8c0d2e4f6a8b",
    }
).encode()
TABLE = json.dumps(
    {
        "id": 3,
        "params": {
            "table": {
                "uuid:System_CONFIG_NETCAMERA_INFO_0": {
                    "Address": "192.168.1.108",
                    "DeviceType": "IPC-HDW2431T-AS-S2",
                    "Enable": True,
                    "HttpPort": 80,
                    "Mac": "e0:50:8b:12:34:56",
                    "Name": "Lobby",
                    "Port": 37777,
                    "ProtocolType": "Private",
                    "SerialNo": "7J0A3B2PAZ5C1D9",
                },
                "uuid:System_CONFIG_NETCAMERA_INFO_1": {
                    "Address": "192.168.0.0",
                    "DeviceType": "",
                    "Enable": False,
                    "Mac": "ff:ff:ff:ff:ff:ff",
                },
                "uuid:System_CONFIG_NETCAMERA_INFO_2": {
                    "Address": "192.168.1.110",
                    "DeviceType": "IP Camera",
                    "Enable": True,
                    "Mac": "00:09:18:6c:11:10",
                    "ProtocolType": "Onvif",
                },
            }
        },
        "result": True,
        "session": "0f3e8a5b2c7d1e9f4a6b8c0d2e4f6a8b",
    }
).encode()


def test_challenge_and_hash():
    session, realm, random, encryption = parse_rpc2_challenge(CHALLENGE)
    assert (realm, random, encryption) == (REALM, RANDOM, "Default")
    assert session == "0f3e8a5b2c7d1e9f4a6b8c0d2e4f6a8b"
    inner = hashlib.md5(f"admin:{REALM}:secret".encode(), usedforsecurity=False).hexdigest().upper()
    expected = (
        hashlib.md5(f"admin:{RANDOM}:{inner}".encode(), usedforsecurity=False).hexdigest().upper()
    )
    assert password_hash("admin", "secret", REALM, RANDOM) == expected
    with pytest.raises(ProbeParseError):
        parse_rpc2_challenge(b'{"result": false, "params": {}}')


def test_remote_device_table_object_and_list_forms():
    cameras = parse_rpc2_remote_devices(TABLE)
    assert [c.channel for c in cameras] == [1, 3]
    assert cameras[0].model == "IPC-HDW2431T-AS-S2"
    assert cameras[0].serial == "7J0A3B2PAZ5C1D9"
    assert cameras[1].model is None  # "IP Camera" is a class, not a model
    assert cameras[1].dahua_protocol == "Onvif"
    doc = json.loads(TABLE)
    doc["params"]["table"] = list(doc["params"]["table"].values())
    assert [c.channel for c in parse_rpc2_remote_devices(json.dumps(doc).encode())] == [1, 3]
    with pytest.raises(ProbeParseError):
        parse_rpc2_remote_devices(b'{"result": false, "error": {"code": 268894211}}')


def test_hostile_nesting_and_non_json_are_parse_errors():
    with pytest.raises(ProbeParseError):
        parse_rpc2_reply(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(ProbeParseError):
        parse_rpc2_reply(b'{"result": true, "params": ' + b'{"a":' * 40 + b"1" + b"}" * 41)
    with pytest.raises(ProbeParseError):
        parse_rpc2_reply(b"<html>404</html>")


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=4096)
    | st.sampled_from([CHALLENGE, TABLE]).map(lambda doc: doc[: len(doc) // 2])
    | st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=40), inner),
        max_leaves=40,
    ).map(lambda v: json.dumps({"result": True, "session": 1, "params": {"table": v}}).encode())
)
def test_parsers_never_crash_on_garbage(data):
    for parse in (parse_rpc2_reply, parse_rpc2_challenge, parse_rpc2_remote_devices):
        with contextlib.suppress(ProbeParseError):
            parse(data)


def rpc2_server(password: str, calls: list[dict], table: bytes = TABLE):
    """A recorder's RPC2: the challenge login (checked as the scheme says) and getConfig."""

    async def handler(reader, writer):
        data = await reader.read(65536)
        while b"\r\n\r\n" not in data:
            data += await reader.read(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(
            next(
                line.split(b":")[1]
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
        )
        while len(body) < length:
            body += await reader.read(65536)
        call = json.loads(body)
        calls.append(call)
        path = head.split(b" ")[1]
        if path == b"/RPC2_Login" and call["params"]["password"] == "":
            reply = CHALLENGE
        elif path == b"/RPC2_Login":
            inner = (
                hashlib.md5(f"{USER}:{REALM}:{password}".encode(), usedforsecurity=False)
                .hexdigest()
                .upper()
            )
            good = (
                hashlib.md5(f"{USER}:{RANDOM}:{inner}".encode(), usedforsecurity=False)
                .hexdigest()
                .upper()
            )
            ok = call["params"]["password"] == good and call.get("session")
            reply = json.dumps(
                {"id": 2, "params": None, "result": bool(ok), "session": call.get("session")}
                if ok
                else {"error": {"code": 268632085, "message": "Invalid password"}, "result": False}
            ).encode()
        elif call.get("session") and call["method"] == "configManager.getConfig":
            reply = table
        elif call["method"] == "global.logout":
            reply = b'{"id": 4, "params": null, "result": true}'
        else:
            reply = b'{"error": {"code": 287637505, "message": "Invalid session"}, "result": false}'
        writer.write(http_response("200 OK", [("Connection", "close")], reply))
        await writer.drain()

    return handler


@pytest.mark.loopback
async def test_login_reads_the_channels_and_logs_out():
    host, calls = fresh_address(), []
    async with tcp_server(host, 80, rpc2_server(PASSWORD, calls)):
        result = await run_host_probe(RPC2, host, loopback_ctx(settings=creds(host)))
    facts = {(o.key, o.channel): o for o in result.observations}
    assert result.status == "success"
    assert facts[("channel.model", 1)].value == "IPC-HDW2431T-AS-S2"
    assert facts[("channel.mac", 1)].value == "e0:50:8b:12:34:56"
    assert facts[("channel.address", 3)].value == "192.168.1.110"
    assert all(o.authenticated for o in result.observations)
    assert facts[("channel.model", 1)].behind == str(host)
    assert [c["method"] for c in calls][-1] == "global.logout"
    sent = json.dumps(calls)
    assert PASSWORD not in sent  # only the one-time hash goes on the wire
    assert "Invalid" not in (result.error or "")


@pytest.mark.loopback
async def test_wrong_password_is_auth_required_and_tried_once():
    host, calls = fresh_address(), []
    async with tcp_server(host, 80, rpc2_server(PASSWORD, calls)):
        result = await run_host_probe(RPC2, host, loopback_ctx(settings=creds(host, "wrong-pw")))
    assert result.status == "auth_required"
    assert [o.key for o in result.observations] == ["auth.rejected"]
    assert len(calls) == 2  # one challenge, one answer: no retry that could lock the account
    assert "wrong-pw" not in (result.error or "") + result.model_dump_json()


@pytest.mark.loopback
async def test_without_credentials_the_refusal_is_recorded():
    host, calls = fresh_address(), []
    async with tcp_server(host, 80, rpc2_server(PASSWORD, calls)):
        result = await run_host_probe(RPC2, host, loopback_ctx())
    assert [o.key for o in result.observations] == ["auth.required"]
    assert result.status == "auth_required"
    assert "session" not in calls[0]


@pytest.mark.loopback
async def test_a_huge_reply_is_oversized_and_a_hostile_one_protocol_error():
    host, calls = fresh_address(), []
    huge = b'{"result": true, "params": {"table": "' + b"A" * 600_000 + b'"}}'
    async with tcp_server(host, 80, rpc2_server(PASSWORD, calls, table=huge)):
        result = await run_host_probe(RPC2, host, loopback_ctx(settings=creds(host)))
    assert result.status == "oversized"
    assert not [o for o in result.observations if o.protocol == "channel"]

    host = fresh_address()

    async def garbage(reader, writer):
        await reader.read(65536)
        junk = b'{"result": fal\x00{[' * 1000
        writer.write(http_response("200 OK", [("Connection", "close")], junk))
        await writer.drain()

    async with tcp_server(host, 80, garbage):
        result = await run_host_probe(RPC2, host, loopback_ctx(settings=creds(host)))
    assert result.status == "protocol_error"
    assert not result.observations

    host = fresh_address()

    async def page(reader, writer):
        await reader.read(65536)
        writer.write(http_response("200 OK", [("Connection", "close")], b"<html>login</html>"))
        await writer.drain()

    async with tcp_server(host, 80, page):
        result = await run_host_probe(RPC2, host, loopback_ctx(settings=creds(host)))
    assert result.status == "not_found"


@pytest.mark.loopback
async def test_a_silent_server_times_out_without_hanging():
    host = fresh_address()

    async def silent(reader, writer):
        await asyncio.sleep(30)

    async with tcp_server(host, 80, silent):
        result = await asyncio.wait_for(
            run_host_probe(RPC2, host, loopback_ctx(settings=creds(host))), 20
        )
    assert result.status == "timeout"


def test_announced_web_ports_become_endpoints():
    from ipaddress import IPv4Address

    host = IPv4Address("198.18.0.192")
    lead = Observation(
        host=host,
        protocol="dhip",
        field="http_port",
        value="8080",
        probe="dhip",
        observed_at=utc_now(),
    )
    assert [e.port for e in RPC2.endpoints(host, [lead])] == [80, 8080]


@pytest.mark.loopback
async def test_the_city_hall_xvr_profile_answers_the_probe_on_its_announced_port():
    """The lab's RPC2 responder, driven by the city-hall profile's own bytes, on loopback."""
    from pathlib import Path

    from scanner.lab.profile import load_profile
    from scanner.lab.responders.common import HostContext
    from scanner.lab.responders.http import handler

    root = Path(__file__).parents[3]
    profile = load_profile(root / "examples" / "lab" / "city-hall.toml")
    host = next(h for h in profile.hosts if h.name == "dh-xvr-north")
    address = fresh_address()
    ctx = HostContext.build(host, str(address), host.mac, "255.255.255.0", "127.0.0.1")
    [service] = host.http
    lead = Observation(
        host=address,
        protocol="dhip",
        field="http_port",
        value=str(service.port),
        probe="dhip",
        observed_at=utc_now(),
    )
    endpoint = RPC2.endpoints(address, [lead])[1]
    password = service.rpc2.password
    async with tcp_server(address, service.port, handler(ctx, service, None)):
        good = await run_host_probe(
            RPC2, address, loopback_ctx(settings=creds(address, password)), endpoint
        )
        bad = await run_host_probe(RPC2, address, loopback_ctx(settings=creds(address)), endpoint)
        anonymous = await run_host_probe(RPC2, address, loopback_ctx(), endpoint)
    listed = {o.channel: o.value for o in good.observations if o.key == "channel.address"}
    assert listed == {c.channel: str(c.address) for c in host.channels}
    assert bad.status == "auth_required"
    assert [o.key for o in bad.observations] == ["auth.rejected"]
    assert [o.key for o in anonymous.observations] == ["auth.required"]
