"""Which hosts run an SNMP agent that takes one of our communities: every host asked at once.

pysnmp's high-level API writes a target row into its local configuration datastore for every
new agent address, through its full MIB instrumentation: about 5 ms of CPU per address
(``cProfile`` of a 2,046-host scale-farm sweep: 10.3 s of 13.9 s in ``lcd.configure``). Asking
every live host through it made a large range of silent hosts cost minutes and starved the
other probes of the event loop. The knock asks every host from one socket with the request a
session would send first (GET sysDescr, sysObjectID, sysName), built and read by pysnmp's own
message codec (:mod:`pysnmp.proto.api`), and pairs each reply by source address and
request-id. Only the agents that answered are then read through a full session.

Every datagram goes through :meth:`ProbeContext.udp_collect`: scope-checked, rate-limited,
counted, and the window ends once replies stop (at most one ``timeout_s`` after the last
send). The hosts still silent are asked again inside the same window, as pysnmp retries, and
each agent is handed to the caller the moment it answers, so reading it overlaps the wait.
The community is only ever in the encoded datagram, never in a return value or a log line.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from ipaddress import IPv4Address
from typing import Any, Final

from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api

from scanner.context import Datagram, ProbeContext
from scanner.snmp_session import Oid, SnmpAuth

__all__ = ["knock", "knock_message", "knock_messages", "reply_request_id"]

#: Request-ids stay below 2**31 (a signed INTEGER) and at or above 2**23, so each one is
#: BER-encoded in exactly four bytes; each round numbers its hosts from a random base.
_ID_LOW: Final = 2**23
_ID_HIGH: Final = 2**31 - 1


def _module(version: str) -> Any:
    return api.PROTOCOL_MODULES[api.SNMP_VERSION_1 if version == "1" else api.SNMP_VERSION_2C]


def knock_message(auth: SnmpAuth, request_id: int, oids: Sequence[Oid]) -> bytes:
    """A v1/v2c GetRequest for ``oids`` under ``auth``'s community, BER-encoded by pysnmp."""
    if auth.user is not None or auth.community is None:
        raise ValueError("a knock carries a v1/v2c community")
    module = _module(auth.version)
    pdu = module.GetRequestPDU()
    module.apiPDU.set_defaults(pdu)
    module.apiPDU.set_request_id(pdu, request_id)
    module.apiPDU.set_varbinds(pdu, [(".".join(map(str, oid)), module.Null("")) for oid in oids])
    message = module.Message()
    module.apiMessage.set_defaults(message)
    module.apiMessage.set_community(message, auth.community.get_secret_value())
    module.apiMessage.set_pdu(message, pdu)
    return bytes(encoder.encode(message))


def knock_messages(auth: SnmpAuth, oids: Sequence[Oid]) -> Callable[[int], bytes]:
    """``request_id -> datagram`` for one community and ``oids``, encoded by pysnmp once.

    pyasn1 takes about a millisecond of CPU per message, two minutes for a /16 asked twice
    with two communities. Every knock of a round differs only in its request-id, a four-byte
    INTEGER (:data:`_ID_LOW`), so one message is encoded and the id's four bytes replaced.
    """
    for marker_id in (0x5A17C3E1, 0x3C96A5D2, 0x61E8B74F):
        template = knock_message(auth, marker_id, oids)
        marker = b"\x02\x04" + marker_id.to_bytes(4, "big")
        if template.count(marker) == 1:  # a community that holds the marker tries another
            at = template.index(marker) + 2

            def message(request_id: int, template: bytes = template, at: int = at) -> bytes:
                if not _ID_LOW <= request_id <= _ID_HIGH:
                    raise ValueError("request-id outside the four-byte range")
                return template[:at] + request_id.to_bytes(4, "big") + template[at + 4 :]

            return message
    return lambda request_id: knock_message(auth, request_id, oids)


def reply_request_id(data: bytes) -> int | None:
    """The request-id of a v1/v2c GetResponse, or None for anything else (hostile bytes too)."""
    try:
        version = int(api.decodeMessageVersion(data))
        module = api.PROTOCOL_MODULES[version]
        message, _rest = decoder.decode(data, asn1Spec=module.Message())
        pdu = module.apiMessage.get_pdu(message)
        if not pdu.isSameTypeWith(module.GetResponsePDU()):
            return None
        return int(module.apiPDU.get_request_id(pdu))
    # pyasn1 and pysnmp raise many kinds of error on malformed input: all mean "not a reply".
    except Exception:  # noqa: BLE001
        return None


def _payloads(
    auth: SnmpAuth, ids: dict[IPv4Address, int], oids: Sequence[Oid]
) -> Callable[[IPv4Address], bytes]:
    message = knock_messages(auth, oids)
    return lambda host: message(ids[host])


async def knock(
    ctx: ProbeContext,
    auth: SnmpAuth,
    hosts: Sequence[IPv4Address],
    oids: Sequence[Oid],
    *,
    port: int,
    timeout_s: float,
    resends: int = 0,
    on_answer: Callable[[IPv4Address, float | None], None] | None = None,
) -> set[IPv4Address]:
    """The ``hosts`` whose agent answered ``auth``'s community in one window of datagrams.

    ``resends`` asks the hosts still silent again (as pysnmp retries), half a ``timeout_s``
    after the previous send, inside the same window; ``on_answer`` hears each agent the moment
    its reply is paired, with the reply's round trip, so the caller can start reading it while
    the others are still asked.
    """
    if not hosts or ctx.remaining_s() <= 0:
        return set()
    base = _ID_LOW + secrets.randbelow(_ID_HIGH - _ID_LOW - len(hosts))
    expected = {host: base + i for i, host in enumerate(hosts)}
    answered: set[IPv4Address] = set()

    def paired(datagram: Datagram) -> None:
        want = expected.get(datagram.source)
        if want is None or datagram.source in answered:
            return
        if reply_request_id(datagram.data) == want:
            answered.add(datagram.source)
            if on_answer is not None:
                on_answer(datagram.source, datagram.rtt)

    await ctx.udp_collect(
        port,
        _payloads(auth, expected, oids),
        unicast=hosts,
        wait_s=timeout_s,
        min_quiet_s=timeout_s,
        expect_sources=len(hosts),
        max_replies=(resends + 2) * len(hosts) + 16,
        resends=resends,
        resend_after_s=timeout_s / 2,
        on_reply=paired,
    )
    return answered
