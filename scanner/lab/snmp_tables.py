"""Switch tables for the lab's net-snmp ``snmpd``: BRIDGE-MIB FDB, ifName and LLDP remote rows.

net-snmp answers the system group, IP-MIB (the kernel's real ARP cache) and the rest itself;
what a namespace cannot have is a switch ASIC's forwarding table. This module builds those rows
from the lab profile (every host on the main segment sits on its own access port, an uplink
carries the upstream MACs) and serves them to snmpd over its documented ``pass_persist``
protocol (snmpd.conf(5), "pass_persist"): snmpd sends ``PING``, ``get``/``getnext`` + OID and
reads back OID, type and value, or ``NONE``. snmpd does the BER, communities and USM, so what
the scanner talks to is net-snmp, not our code.

Run by snmpd as ``python -m scanner.lab.snmp_tables TABLE.json``; the JSON is written at
``lab up`` by :func:`write_tables`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final, TextIO

if TYPE_CHECKING:
    from scanner.lab.profile import LabHost

__all__ = ["ROOTS", "serve", "switch_rows", "write_tables"]

Row = tuple[tuple[int, ...], str, str]  # oid, pass_persist type, value

DOT1D_BRIDGE: Final = (1, 3, 6, 1, 2, 1, 17)
IF_NAME: Final = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1)
LLDP_REM: Final = (1, 0, 8802, 1, 1, 2, 1, 4, 1, 1)
#: The subtrees snmpd hands to this script (one pass_persist line each).
ROOTS: Final = (DOT1D_BRIDGE, (1, 3, 6, 1, 2, 1, 31, 1, 1, 1), LLDP_REM)
_IF_BASE: Final = 10100  # ifIndex of access port 1, as many stacked switches number them
_MAX_LINE: Final = 512


def _mac_octets(mac: str) -> tuple[int, ...]:
    return tuple(int(part, 16) for part in mac.split(":"))


def switch_rows(
    name: str,
    ports: Sequence[LabHost],
    uplink_macs: Sequence[str],
    lldp: Sequence[LabHost],
) -> list[Row]:
    """Rows of a 48-port access switch: host ``i`` on ``Gi1/0/<i+1>``, the uplink on Te1/0/1."""
    del name
    rows: list[Row] = []
    port_names: dict[int, str] = {}
    fdb: list[tuple[str, int]] = []
    for number, host in enumerate(ports, 1):
        port_names[number] = f"Gi1/0/{number}"
        fdb.append((host.mac, number))
    uplink = len(ports) + 1
    port_names[uplink] = "Te1/0/1"
    fdb.extend((mac, uplink) for mac in uplink_macs)
    for port in sorted(port_names):
        rows.append(((*DOT1D_BRIDGE, 1, 4, 1, 1, port), "integer", str(port)))
        rows.append(((*DOT1D_BRIDGE, 1, 4, 1, 2, port), "integer", str(_IF_BASE + port)))
    for mac, port in fdb:
        index = _mac_octets(mac)
        rows.append(((*DOT1D_BRIDGE, 4, 3, 1, 1, *index), "octet", mac.replace(":", " ")))
        rows.append(((*DOT1D_BRIDGE, 4, 3, 1, 2, *index), "integer", str(port)))
        rows.append(((*DOT1D_BRIDGE, 4, 3, 1, 3, *index), "integer", "3"))  # learned
    for port, label in port_names.items():
        rows.append(((*IF_NAME, _IF_BASE + port), "string", label))
    by_host = {h.name: n for n, h in enumerate(ports, 1)}
    for rem_index, host in enumerate(lldp, 1):
        index = (0, by_host.get(host.name, uplink), rem_index)
        rows.append(((*LLDP_REM, 4, *index), "integer", "4"))  # chassis id subtype macAddress
        rows.append(((*LLDP_REM, 5, *index), "octet", host.mac.replace(":", " ")))
        rows.append(((*LLDP_REM, 9, *index), "string", host.name))
        model = host.truth.model or host.name
        rows.append(((*LLDP_REM, 10, *index), "string", model))
    return sorted(rows)


def write_tables(path: Path, rows: Iterable[Row]) -> Path:
    """Write the rows snmpd's pass_persist script serves."""
    path.write_text(
        json.dumps([[list(oid), kind, value] for oid, kind, value in rows]), encoding="utf-8"
    )
    return path


def _parse_oid(text: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in text.strip().strip(".").split(".") if part)
    except ValueError:
        return None


def serve(rows: Sequence[Row], stdin: TextIO, stdout: TextIO) -> None:
    """The pass_persist loop: answer until snmpd closes our stdin."""
    table = sorted(rows)
    exact = {oid: (kind, value) for oid, kind, value in table}

    def answer(oid: tuple[int, ...], kind: str, value: str) -> None:
        stdout.write(f".{'.'.join(map(str, oid))}\n{kind}\n{value}\n")

    while line := stdin.readline(_MAX_LINE):
        command = line.strip()
        if command == "PING":
            stdout.write("PONG\n")
        elif command in {"get", "getnext"}:
            oid = _parse_oid(stdin.readline(_MAX_LINE))
            found = None
            if oid is not None and command == "get" and oid in exact:
                found = (oid, *exact[oid])
            elif oid is not None and command == "getnext":
                found = next((row for row in table if row[0] > oid), None)
            if found is None:
                stdout.write("NONE\n")
            else:
                answer(*found)
        elif command == "set":
            stdin.readline(_MAX_LINE)
            stdin.readline(_MAX_LINE)
            stdout.write("not-writable\n")
        else:
            stdout.write("NONE\n")
        stdout.flush()


def main(argv: Sequence[str]) -> int:
    """Entry point for snmpd: ``python -m scanner.lab.snmp_tables TABLE.json ROOT``.

    One process per registered subtree, holding only that subtree's rows, so a ``getnext``
    past its last row says ``NONE`` and snmpd moves on to the next MIB itself.
    """
    data = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    root = tuple(int(part) for part in argv[2].strip(".").split("."))
    rows = [
        (tuple(oid), str(kind), str(value))
        for oid, kind, value in data
        if tuple(oid[: len(root)]) == root
    ]
    serve(rows, sys.stdin, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
