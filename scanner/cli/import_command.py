"""``ndaa-scan import``: judge a scan the user already has (nmap ``-oX`` XML), offline.

The report is read with defusedxml (:func:`scanner.probes.nmap_service.parse_nmap_xml`) and
mapped into the same observation fields a sweep produces, then identified and written as an
inventory exactly like a sweep's. Nothing is sent on the network.
"""

from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path
from typing import Annotated

import typer

from fingerprints import identify
from reports import ScanInfo, build_inventory
from scanner import __version__
from scanner.cli.common import (
    EXIT_USAGE,
    CliError,
    FailOn,
    app,
    load_db,
)
from scanner.cli.outputs import finish
from scanner.errors import ProbeParseError
from scanner.probes.nmap_service import MAX_IMPORT_BYTES, host_observations, parse_nmap_xml
from scanner.results import ProbeResult, ProbeStatus, tally_statuses, utc_now

__all__ = ["import_command"]

PROBE_NAME = "nmap_import"


@app.command("import")
def import_command(
    report: Annotated[
        Path, typer.Argument(help="An nmap XML report (nmap -oX FILE).", show_default=False)
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Directory for results.jsonl and the inventory.")
    ] = Path("out"),
    operator: Annotated[
        str | None, typer.Option(help="Who ran the original scan (recorded in the inventory).")
    ] = None,
    fail_on: Annotated[FailOn, typer.Option(help="Exit 1 when these are found.")] = FailOn.COVERED,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the inventory as JSON on stdout.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No table.")] = False,
) -> int:
    """Turn an nmap XML report into observations and an inventory (no network traffic)."""
    started = utc_now()
    try:
        if report.stat().st_size > MAX_IMPORT_BYTES:
            raise CliError(f"{report}: larger than {MAX_IMPORT_BYTES} bytes", EXIT_USAGE)
        hosts = parse_nmap_xml(report.read_bytes())
    except OSError as exc:
        raise CliError(f"{report}: cannot read: {exc.strerror}", EXIT_USAGE) from exc
    except ProbeParseError as exc:
        raise CliError(f"{report}: {exc}", EXIT_USAGE) from exc
    results = []
    for host in hosts:
        observations = host_observations(host, probe=PROBE_NAME)
        results.append(
            ProbeResult(
                probe=PROBE_NAME,
                target=str(host.address),
                status=ProbeStatus.SUCCESS if observations else ProbeStatus.NO_REPLY,
                started_at=started,
                elapsed_s=0.0,
                observations=tuple(observations),
            )
        )
    out.mkdir(parents=True, exist_ok=True)
    with (out / "results.jsonl").open("w", encoding="utf-8") as stream:
        for result in results:
            stream.write(result.model_dump_json() + "\n")
    db = load_db()
    identities = identify([obs for r in results for obs in r.observations], db)
    scan = ScanInfo(
        scope=tuple(sorted({str(IPv4Network(h.address)) for h in hosts})),
        exclude=(),
        started_at=started,
        finished_at=utc_now(),
        probes=(PROBE_NAME,),
        status_counts=tally_statuses(results),
        tool_version=__version__,
        fingerprint_db_version=db.version,
        operator=operator,
        limitations=(
            f"Imported from {report.name}: only what that nmap run saw is evidence; "
            "nmap's -sV does not speak SADP, DHIP or ONVIF.",
        ),
    )
    return finish(
        build_inventory(identities, scan),
        out,
        json_output=json_output,
        quiet=quiet,
        fail_on=fail_on,
    )
