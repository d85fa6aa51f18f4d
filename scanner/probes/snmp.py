"""SNMP (UDP 161) on pysnmp 7: the system group, ENTITY-MIB, the vendor subtree, router and
switch tables.

Per live host the probe holds communities (``--snmp-community``, then the credentials file's
entries in scope for the host), asked over v2c, then v1 with the first, and SNMPv3 USM users in
scope. Every host is first asked with each community at once from one socket
(:mod:`scanner.snmp_knock`); the first community an agent answered reads everything else through
a pysnmp session, and v3 users are tried only on hosts no community reached. An agent that drops
a wrong community is silent, so a host that answers no credential is ``no_reply``; a v3 agent
that rejects the user or its keys is ``auth_required``.

What is read, each walk by GETBULK with a row cap and under one deadline per host:

* the system group: ``snmp.sysdescr``, ``snmp.sysobjectid``, ``snmp.sysname`` and
  ``snmp.enterprise``, the decimal enterprise number under 1.3.6.1.4.1 (resolving it to a
  maker is the fingerprint engine's job, through the IANA PEN registry);
* ENTITY-MIB entPhysicalTable (RFC 6933): ``snmp.entity.{descr,software_rev,serial,mfg_name,
  model_name}``;
* a bounded walk of the agent's own enterprise subtree 1.3.6.1.4.1.<PEN>: printable string
  values become ``snmp.vendor_value`` as ``<oid> = <text>`` (the OID is kept);
* the ARP cache, IP-MIB ipNetToPhysicalTable (RFC 4293) or the older ipNetToMediaTable: a
  ``mac.mac`` observation *of the host it describes*, so OUI evidence reaches routed hosts;
* BRIDGE-MIB dot1dTpFdbTable (RFC 4188) or Q-BRIDGE-MIB dot1qTpFdbTable (RFC 4363), mapped
  through dot1dBasePortIfIndex and IF-MIB ifName (RFC 2863): ``snmp.switch_port`` of the host
  whose MAC sits on that port, as ``<switch sysName>/<ifName>``. A port that carries more than
  :data:`MAX_MACS_PER_PORT` MACs is an uplink or a hub, not a host's port: ignored, and counted;
* LLDP-MIB lldpRemTable (IEEE 802.1AB): the neighbour's ``lldp.sysname``/``lldp.sysdescr``/
  ``lldp.chassis_id``, recorded on the neighbour's address when its chassis id is a MAC whose
  address is known.

Harvested facts carry ``origin`` = the reporting agent's address. A MAC is tied to an address
only by an ARP cache read in this sweep or by the scanner's own ARP sweep, never guessed, and
only addresses the scope holds get observations. Communities and keys never appear in a
result, a log line or an exception (:class:`scanner.snmp_session.SnmpAuth`).
"""

from __future__ import annotations

import asyncio
import string
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import ClassVar, Final

from pydantic import SecretStr
from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

from scanner.context import ExchangeError, ProbeContext
from scanner.credentials import SnmpV3User
from scanner.errors import ScopeViolation
from scanner.probes.base import ObservationSet, ProbeInfo, failed_result
from scanner.results import Observation, ProbeResult, ProbeStatus, normalize_mac
from scanner.snmp_knock import knock
from scanner.snmp_session import Oid, SnmpAuth, SnmpSession, Value, Varbind

__all__ = [
    "PROBE",
    "SnmpProbe",
    "enterprise_number",
    "parse_arp",
    "parse_entity",
    "parse_fdb",
    "parse_lldp",
    "parse_port_names",
    "parse_system",
    "parse_vendor_values",
]

PORT: Final = 161
SYSTEM: Final[Oid] = (1, 3, 6, 1, 2, 1, 1)
SYS_DESCR: Final[Oid] = (*SYSTEM, 1, 0)
SYS_OBJECT_ID: Final[Oid] = (*SYSTEM, 2, 0)
SYS_NAME: Final[Oid] = (*SYSTEM, 5, 0)
ENTERPRISES: Final[Oid] = (1, 3, 6, 1, 4, 1)
ENT_PHYSICAL_ENTRY: Final[Oid] = (1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1)
#: entPhysicalEntry columns we read -> field (RFC 6933 §6).
ENTITY_COLUMNS: Final = {
    2: "descr",
    10: "software_rev",
    11: "serial",
    12: "mfg_name",
    13: "model_name",
}
IP_NET_TO_PHYSICAL_PHYS: Final[Oid] = (1, 3, 6, 1, 2, 1, 4, 35, 1, 4)
IP_NET_TO_MEDIA_PHYS: Final[Oid] = (1, 3, 6, 1, 2, 1, 4, 22, 1, 2)
DOT1D_TP_FDB_PORT: Final[Oid] = (1, 3, 6, 1, 2, 1, 17, 4, 3, 1, 2)
DOT1Q_TP_FDB_PORT: Final[Oid] = (1, 3, 6, 1, 2, 1, 17, 7, 1, 2, 2, 1, 2)
DOT1D_BASE_PORT_IFINDEX: Final[Oid] = (1, 3, 6, 1, 2, 1, 17, 1, 4, 1, 2)
IF_NAME: Final[Oid] = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1)
LLDP_REM_ENTRY: Final[Oid] = (1, 0, 8802, 1, 1, 2, 1, 4, 1, 1)
LLDP_COLUMNS: Final = {5: "chassis_id", 9: "sysname", 10: "sysdescr"}
LLDP_CHASSIS_SUBTYPE: Final = 4
LLDP_SUBTYPE_MAC: Final = 4

#: Rows read from one table, and from one agent in all; a core switch's FDB is a few thousand.
MAX_TABLE_ROWS: Final = 4096
MAX_HOST_ROWS: Final = 16384
#: Vendor subtree rows: enough for identity objects, far from a full walk.
MAX_VENDOR_ROWS: Final = 256
#: Vendor strings kept as observations (identity objects come first in a vendor MIB's tree).
MAX_VENDOR_VALUES: Final = 32
#: Wall-clock budget per agent, for every request together.
HOST_BUDGET_S: Final = 30.0
#: A table walk waits for each GETBULK this many times the agent's own GET round trip (at
#: least the floor, at most the probe's timeout): an agent that answered a GET in 3 ms and is
#: silent after 300 ms drops GETBULK (as some embedded v2c agents do), and the walk must not
#: cost it two full seconds, while a slow switch's round trips stretch its waits to fit.
WALK_WAIT_PER_RTT: Final = 10.0
WALK_WAIT_FLOOR_S: Final = 0.3
#: Agents asked at once. A request is one datagram and a pending reply costs a few hundred bytes,
#: so the bound that protects the network is the sweep's packet rate (every request waits for
#: it), not this; a small number here made every silent host of a large range wait its turn for
#: a full timeout (2,046 silent hosts, 32 at a time: 128 s of a 148 s sweep).
AGENTS_AT_ONCE: Final = 1024
#: An access port carries a host (or a phone and a host); more MACs mean an uplink or a hub.
MAX_MACS_PER_PORT: Final = 3
#: Credentials offered to one host, all kinds together (lockout policies, credentials.MAX_TRIES).
MAX_CREDENTIALS: Final = 6
_PRINTABLE: Final = frozenset(string.printable) - frozenset("\x0b\x0c")


def _oid_text(oid: Oid) -> str:
    return ".".join(str(part) for part in oid)


def _text(value: Value) -> str | None:
    """A DisplayString as text; None for binary or empty values."""
    if isinstance(value, bytes):
        text = value.decode("utf-8", errors="replace").strip("\x00").strip()
        if text and all(ch in _PRINTABLE or ord(ch) > 0xA0 for ch in text) and "\ufffd" not in text:
            return text[:1024]
        return None
    if isinstance(value, str):
        return value.strip() or None
    return None


def _mac(value: Value) -> str | None:
    if isinstance(value, bytes) and len(value) == 6 and any(value):
        return ":".join(f"{b:02x}" for b in value)
    if isinstance(value, bytes):
        try:
            return normalize_mac(value.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            return None
    return None


def _under(rows: Iterable[Varbind], prefix: Oid) -> Iterable[tuple[Oid, Value]]:
    for oid, value in rows:
        if oid[: len(prefix)] == prefix and len(oid) > len(prefix):
            yield oid[len(prefix) :], value


def enterprise_number(oid: Value) -> int | None:
    """The private enterprise number of a sysObjectID under 1.3.6.1.4.1, else None."""
    if not isinstance(oid, tuple) or len(oid) < 7 or oid[:6] != ENTERPRISES:
        return None
    number = oid[6]
    return number if isinstance(number, int) and 0 < number < 2**32 else None


def parse_system(rows: Sequence[Varbind]) -> dict[str, str]:
    """sysDescr, sysObjectID, sysName and the enterprise number, as observation fields."""
    found: dict[str, str] = {}
    for oid, value in rows:
        if oid == SYS_DESCR and (text := _text(value)):
            found["sysdescr"] = text
        elif oid == SYS_NAME and (text := _text(value)):
            found["sysname"] = text
        elif oid == SYS_OBJECT_ID and isinstance(value, tuple) and value:
            found["sysobjectid"] = _oid_text(value)
            if (number := enterprise_number(value)) is not None:
                found["enterprise"] = str(number)
    return found


def parse_entity(rows: Sequence[Varbind]) -> list[tuple[str, str]]:
    """entPhysicalTable cells as ``(entity field, text)``, in walk order, empty cells dropped."""
    out: list[tuple[str, str]] = []
    for suffix, value in _under(rows, ENT_PHYSICAL_ENTRY):
        name = ENTITY_COLUMNS.get(suffix[0])
        if name is not None and len(suffix) == 2 and (text := _text(value)):
            out.append((name, text))
    return out


def parse_vendor_values(rows: Sequence[Varbind], pen: int) -> list[tuple[str, str]]:
    """Printable string values under 1.3.6.1.4.1.<pen> as ``(oid, text)``."""
    prefix = (*ENTERPRISES, pen)
    out: list[tuple[str, str]] = []
    for oid, value in rows:
        if oid[: len(prefix)] == prefix and (text := _text(value)) and len(text) >= 2:
            out.append((_oid_text(oid), text))
    return out


def _ipv4(parts: Sequence[int]) -> IPv4Address | None:
    if len(parts) != 4 or any(not 0 <= p <= 255 for p in parts):
        return None
    return IPv4Address(".".join(map(str, parts)))


def parse_arp(rows: Sequence[Varbind]) -> dict[IPv4Address, str]:
    """The ARP cache: address -> MAC, from ipNetToPhysicalTable or ipNetToMediaTable rows."""
    found: dict[IPv4Address, str] = {}
    for suffix, value in _under(rows, IP_NET_TO_PHYSICAL_PHYS):
        # index: ifIndex, InetAddressType (1 = ipv4), length-prefixed InetAddress
        if len(suffix) == 7 and suffix[1] == 1 and suffix[2] == 4:
            addr, mac = _ipv4(suffix[3:]), _mac(value)
            if addr is not None and mac is not None:
                found.setdefault(addr, mac)
    for suffix, value in _under(rows, IP_NET_TO_MEDIA_PHYS):
        if len(suffix) == 5:  # ifIndex, IpAddress
            addr, mac = _ipv4(suffix[1:]), _mac(value)
            if addr is not None and mac is not None:
                found.setdefault(addr, mac)
    return found


def parse_fdb(rows: Sequence[Varbind]) -> dict[str, int]:
    """The forwarding database: MAC -> bridge port (dot1dTpFdbPort or dot1qTpFdbPort)."""
    found: dict[str, int] = {}
    tables = ((DOT1D_TP_FDB_PORT, 6), (DOT1Q_TP_FDB_PORT, 7))
    for prefix, length in tables:
        for suffix, value in _under(rows, prefix):
            octets = suffix[-6:]
            if len(suffix) != length or not isinstance(value, int) or value <= 0:
                continue
            if any(not 0 <= b <= 255 for b in octets) or not any(octets):
                continue
            found.setdefault(":".join(f"{b:02x}" for b in octets), value)
    return found


def parse_port_names(rows: Sequence[Varbind]) -> dict[int, str]:
    """Bridge port -> interface name, from dot1dBasePortIfIndex and IF-MIB ifName rows."""
    if_index: dict[int, int] = {}
    for suffix, value in _under(rows, DOT1D_BASE_PORT_IFINDEX):
        if len(suffix) == 1 and isinstance(value, int):
            if_index[suffix[0]] = value
    names: dict[int, str] = {}
    for suffix, value in _under(rows, IF_NAME):
        if len(suffix) == 1 and (text := _text(value)):
            names[suffix[0]] = text[:64]
    # Bridges without dot1dBasePortIfIndex number ports as their ifIndex (RFC 4188 §3.2.1 says
    # the two may differ, so the table wins whenever it is there).
    ports = if_index or {index: index for index in names}
    return {port: names[index] for port, index in ports.items() if index in names}


@dataclass(frozen=True, slots=True)
class LldpNeighbour:
    """One lldpRemTable row."""

    local_port: int
    chassis_mac: str | None
    fields: tuple[tuple[str, str], ...]


def parse_lldp(rows: Sequence[Varbind]) -> list[LldpNeighbour]:
    """lldpRemTable rows (index: timeMark, localPortNum, remIndex) as neighbours."""
    cells: dict[tuple[int, int, int], dict[int, Value]] = defaultdict(dict)
    for suffix, value in _under(rows, LLDP_REM_ENTRY):
        if len(suffix) == 4:
            cells[(suffix[1], suffix[2], suffix[3])][suffix[0]] = value
    out: list[LldpNeighbour] = []
    for (time_mark, local_port, _), row in sorted(cells.items()):
        del time_mark
        chassis = row.get(5)
        mac = _mac(chassis) if row.get(LLDP_CHASSIS_SUBTYPE) == LLDP_SUBTYPE_MAC else None
        values = []
        for column, name in LLDP_COLUMNS.items():
            text = (mac or _text(chassis)) if column == 5 else _text(row.get(column))
            if text:
                values.append((name, text))
        out.append(LldpNeighbour(local_port, mac, tuple(values)))
    return out


@dataclass
class _Harvest:
    """What one agent answered."""

    agent: IPv4Address
    result: ProbeResult
    name: str = ""
    arp: dict[IPv4Address, str] = field(default_factory=dict)
    fdb: dict[str, str] = field(default_factory=dict)  # MAC -> "switch/port"
    lldp: list[LldpNeighbour] = field(default_factory=list)
    uplink_macs: int = 0


def _credentials(host: IPv4Address, ctx: ProbeContext) -> list[SnmpAuth]:
    communities: list[SecretStr] = list(ctx.settings.snmp_communities)
    users: tuple[SnmpV3User, ...] = ()
    if ctx.settings.credentials is not None:
        held = ctx.settings.credentials.snmp_for(host)
        communities.extend(held.communities)
        users = held.v3_users
    unique = list({c.get_secret_value(): c for c in communities}.values())
    auths = [SnmpAuth("2c", c, index=i) for i, c in enumerate(unique, 1)]
    if unique:
        auths.append(SnmpAuth("1", unique[0], index=1))
    auths.extend(SnmpAuth("3", user=user) for user in users)
    return auths[:MAX_CREDENTIALS]


def _at_position(
    answered: Callable[[IPv4Address, float | None, int], None], position: int
) -> Callable[[IPv4Address, float | None], None]:
    return lambda host, rtt: answered(host, rtt, position)


def _first_community(held: Sequence[SnmpAuth]) -> int:
    return next(i for i, auth in enumerate(held) if auth.user is None)


class SnmpProbe:
    """Every live host: identity objects, and the router/switch tables of those that have them."""

    info: ClassVar[ProbeInfo] = ProbeInfo(
        name="snmp",
        summary="SNMP v1/v2c/v3 (UDP 161): system group, ENTITY-MIB, vendor subtree, ARP/FDB/LLDP",
        kind="network",
        transport="udp",
        ports=(PORT,),
        rarity=5,
        fields=(
            "snmp.sysdescr",
            "snmp.sysobjectid",
            "snmp.sysname",
            "snmp.enterprise",
            "snmp.entity.mfg_name",
            "snmp.entity.model_name",
            "snmp.entity.serial",
            "snmp.entity.software_rev",
            "snmp.entity.descr",
            "snmp.vendor_value",
            "snmp.switch_port",
            "mac.mac",
            "lldp.sysname",
            "lldp.sysdescr",
            "lldp.chassis_id",
        ),
        after_liveness=True,
    )

    #: Per-request timeout and retries; tests shorten them.
    timeout_s: float = 1.0
    retries: int = 1
    port: int = PORT

    async def discover(
        self, targets: Sequence[IPv4Address], ctx: ProbeContext
    ) -> list[ProbeResult]:
        """One result for every target, plus the harvested facts about the hosts they know."""
        started = time.monotonic()
        auths = {host: _credentials(host, ctx) for host in targets}
        engine = SnmpEngine()
        gate = asyncio.Semaphore(AGENTS_AT_ONCE)

        async def read(
            host: IPv4Address, ask: list[SnmpAuth], rtt: float | None = None
        ) -> _Harvest:
            if not ask:
                held = auths[host]
                status, message = (
                    (ProbeStatus.NO_REPLY, "no reply to any credential")
                    if held
                    else (ProbeStatus.SKIPPED, "no SNMP credential")
                )
                target = f"{host}:{self.port}"
                return _Harvest(host, failed_result("snmp", target, status, message, started))
            async with gate:
                return await self._agent(host, ask, ctx, engine, rtt)

        reading: dict[IPv4Address, asyncio.Task[_Harvest]] = {}
        #: A host whose agent took only a later credential waits for the window's end: the
        #: first one (v2c before v1, the operator's order) may still answer.
        later: dict[IPv4Address, int] = {}

        def answered(host: IPv4Address, rtt: float | None, position: int) -> None:
            if host in reading:
                return
            if position == _first_community(auths[host]):
                reading[host] = asyncio.create_task(read(host, [auths[host][position]], rtt))
            else:
                later[host] = min(position, later.get(host, position))

        try:
            pending = {h: held for h, held in auths.items() if any(a.user is None for a in held)}
            if pending and ctx.remaining_s() > 0:
                await self._knock(pending, ctx, answered)
            for host, position in sorted(later.items()):
                if host not in reading:
                    reading[host] = asyncio.create_task(read(host, [auths[host][position]]))
            # v3 users (which need an engine-id discovery a knock cannot do) only where no
            # community answered.
            for host in targets:
                if host not in reading:
                    ask = [a for a in auths[host] if a.user is not None]
                    reading[host] = asyncio.create_task(read(host, ask))
            harvests = await asyncio.gather(*(reading[host] for host in targets))
        except ScopeViolation as exc:
            return [
                failed_result(
                    "snmp", f"{host}:{self.port}", ProbeStatus.OUT_OF_SCOPE, str(exc), started
                )
                for host in targets
            ]
        finally:
            for task in reading.values():
                task.cancel()
            engine.close_dispatcher()
        return _attribute(list(harvests), ctx)

    async def _knock(
        self,
        auths: dict[IPv4Address, list[SnmpAuth]],
        ctx: ProbeContext,
        answered: Callable[[IPv4Address, float | None, int], None],
    ) -> None:
        """Ask every host with every community at once; ``answered(host, rtt, position)`` each hit.

        Every community is asked at once (an agent drops a wrong one silently, so asking in
        turn would cost a full wait each); hosts holding the same one share a window. Silent
        hosts are asked again ``retries`` times inside it (a lost datagram, as pysnmp retries).
        """
        groups: dict[tuple[int, str, str], tuple[SnmpAuth, list[IPv4Address]]] = {}
        for host, held in auths.items():
            for position, auth in enumerate(held):
                if auth.user is not None or auth.community is None:
                    continue
                key = (position, auth.version, auth.community.get_secret_value())
                groups.setdefault(key, (auth, []))[1].append(host)
        await asyncio.gather(
            *(
                knock(
                    ctx,
                    auth,
                    hosts,
                    (SYS_DESCR, SYS_OBJECT_ID, SYS_NAME),
                    port=self.port,
                    timeout_s=self.timeout_s,
                    resends=self.retries,
                    on_answer=_at_position(answered, position),
                )
                for (position, _version, _secret), (auth, hosts) in groups.items()
            )
        )

    async def _agent(
        self,
        host: IPv4Address,
        auths: Sequence[SnmpAuth],
        ctx: ProbeContext,
        engine: SnmpEngine,
        knock_rtt: float | None = None,
    ) -> _Harvest:
        started = time.monotonic()
        target = f"{host}:{self.port}"
        status, message = ProbeStatus.NO_REPLY, "no reply to any credential"
        try:
            async with asyncio.timeout(min(HOST_BUDGET_S, max(ctx.remaining_s(), 0.001))):
                sessions = [
                    SnmpSession(
                        ctx,
                        engine,
                        host,
                        auth,
                        timeout_s=self.timeout_s,
                        retries=self.retries,
                        port=self.port,
                    )
                    for auth in auths
                ]
                asked = time.monotonic()
                answers = await asyncio.gather(
                    *(s.get([SYS_DESCR, SYS_OBJECT_ID, SYS_NAME]) for s in sessions),
                    return_exceptions=True,
                )
                # The knock's round trip is the agent's own; this GET's also holds pysnmp's
                # set-up of a new target (milliseconds of CPU each, shared by all at once).
                rtt = min(time.monotonic() - asked, knock_rtt or float("inf"))
                for session, answer in zip(sessions, answers, strict=True):
                    if isinstance(answer, list):
                        walker = self._walker(session, rtt, ctx, engine)
                        return await _read_agent(walker, answer, started, target)
                for answer in answers:
                    if isinstance(answer, ScopeViolation):
                        raise answer
                    if isinstance(answer, ExchangeError):
                        if answer.status is not ProbeStatus.NO_REPLY:
                            status, message = answer.status, str(answer)
                    elif isinstance(answer, BaseException):
                        raise answer
        except ScopeViolation as exc:
            status, message = ProbeStatus.OUT_OF_SCOPE, str(exc)
        except TimeoutError:
            status, message = ProbeStatus.TIMEOUT, f"agent budget of {HOST_BUDGET_S:.0f} s spent"
        return _Harvest(host, failed_result("snmp", target, status, message, started))

    def _walker(
        self, session: SnmpSession, rtt: float, ctx: ProbeContext, engine: SnmpEngine
    ) -> SnmpSession:
        """The session that walks an agent's tables, its waits fitted to the agent's pace."""
        wait = min(max(WALK_WAIT_PER_RTT * rtt, WALK_WAIT_FLOOR_S), self.timeout_s)
        walker = SnmpSession(
            ctx,
            engine,
            session.host,
            session.auth,
            timeout_s=wait,
            retries=self.retries,
            port=self.port,
        )
        walker.requests = session.requests
        return walker


async def _read_agent(
    session: SnmpSession, system_rows: list[Varbind], started: float, target: str
) -> _Harvest:
    host = session.host
    obs = ObservationSet("snmp", host, port=session.port)
    system = parse_system(system_rows)
    for name in ("sysdescr", "sysobjectid", "sysname", "enterprise"):
        obs.add("snmp", name, system.get(name))
    budget = MAX_HOST_ROWS
    cut: list[str] = []

    silent: list[str] = []

    async def walk(prefix: Oid, limit: int = MAX_TABLE_ROWS) -> list[Varbind]:
        nonlocal budget
        if silent:
            return []  # an agent that ignored one GETBULK ignores them all: no more waits
        if budget <= 0:
            cut.append(_oid_text(prefix))
            return []
        try:
            rows, truncated = await session.walk(prefix, min(limit, budget))
        except ExchangeError as exc:
            if exc.status is ProbeStatus.NO_REPLY:
                silent.append(_oid_text(prefix))
            return []
        budget -= len(rows)
        if truncated:
            cut.append(_oid_text(prefix))
        return rows

    for name, text in parse_entity(await walk(ENT_PHYSICAL_ENTRY)):
        obs.add("snmp", f"entity.{name}", text)
    if (pen := system.get("enterprise")) is not None:
        rows = await walk((*ENTERPRISES, int(pen)), MAX_VENDOR_ROWS)
        for oid, text in parse_vendor_values(rows, int(pen))[:MAX_VENDOR_VALUES]:
            obs.add("snmp", "vendor_value", f"{oid} = {text}")
    arp = parse_arp(await walk(IP_NET_TO_PHYSICAL_PHYS))
    if not arp:
        arp = parse_arp(await walk(IP_NET_TO_MEDIA_PHYS))
    fdb = parse_fdb(await walk(DOT1Q_TP_FDB_PORT))
    if not fdb:
        fdb = parse_fdb(await walk(DOT1D_TP_FDB_PORT))
    harvest = _Harvest(host, obs.result(target, started), name=system.get("sysname", str(host)))
    harvest.arp = arp
    if fdb:
        names = parse_port_names(await walk(DOT1D_BASE_PORT_IFINDEX) + await walk(IF_NAME))
        per_port = Counter(fdb.values())
        for mac, port in fdb.items():
            if per_port[port] > MAX_MACS_PER_PORT:
                harvest.uplink_macs += 1
                continue
            harvest.fdb[mac] = f"{harvest.name}/{names.get(port, f'port{port}')}"
    harvest.lldp = parse_lldp(await walk(LLDP_REM_ENTRY))
    counts = {
        "requests": session.requests,
        "arp_entries": len(arp),
        "fdb_entries": len(fdb),
        "fdb_uplink_macs_ignored": harvest.uplink_macs,
        "lldp_neighbours": len(harvest.lldp),
    }
    notes = []
    if silent:
        notes.append(f"no reply to GETBULK under {silent[0]}: tables not read")
    if cut:
        notes.append(f"row cap reached under {', '.join(cut)[:300]}")
    error = "; ".join(notes) or None
    harvest.result = obs.result(target, started, error=error).model_copy(
        update={"counts": {k: v for k, v in counts.items() if v}}
    )
    return harvest


def _attribute(harvests: list[_Harvest], ctx: ProbeContext) -> list[ProbeResult]:
    """Turn each agent's tables into observations of the hosts they describe."""
    mac_to_host: dict[str, IPv4Address] = {}
    for addr, mac in ctx.link_macs.items():
        mac_to_host.setdefault(mac, addr)
    for harvest in harvests:
        for addr, mac in harvest.arp.items():
            if ctx.scope.contains(addr):
                mac_to_host.setdefault(mac, addr)
    results = []
    for harvest in harvests:
        extra: list[Observation] = []
        origin = str(harvest.agent)
        # Neither the agent nor the scanner is described by the agent's own tables.
        skip = {harvest.agent, *ctx.own_addresses}
        for addr, mac in sorted(harvest.arp.items()):
            if ctx.scope.contains(addr) and addr not in skip:
                extra.append(_about(addr, "mac", "mac", mac, mac, origin))
        for mac, where in sorted(harvest.fdb.items()):
            owner = mac_to_host.get(mac)
            if owner is not None and owner not in skip:
                extra.append(_about(owner, "snmp", "switch_port", where, mac, origin))
        for neighbour in harvest.lldp:
            seen = mac_to_host.get(neighbour.chassis_mac or "")
            if seen is None or seen in skip:
                continue
            for name, text in neighbour.fields:
                extra.append(_about(seen, "lldp", name, text, neighbour.chassis_mac, origin))
        result = harvest.result
        if extra:
            result = result.model_copy(update={"observations": (*result.observations, *extra)})
        results.append(result)
    return results


def _about(
    host: IPv4Address, protocol: str, name: str, value: str, mac: str | None, origin: str
) -> Observation:
    return Observation(
        host=host,
        protocol=protocol,
        field=name,
        value=value,
        mac=mac,
        probe="snmp",
        origin=origin,
    )


PROBE: Final = SnmpProbe()
