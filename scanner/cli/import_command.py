"""``ndaa-scan import``: judge evidence the user already has, offline.

Two kinds of file, told apart by their content, not their name: an nmap ``-oX`` XML report
(read with defusedxml, :func:`scanner.probes.nmap_service.parse_nmap_xml`) and a pcap or pcapng
capture (read by :mod:`scanner.passive`). Both become the same observation fields a sweep
produces, then are identified and written as an inventory exactly like a sweep's. Nothing is
sent on the network.
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
from scanner.passive import CaptureReadError, detect_format, observe_capture
from scanner.passive.facts import PASSIVE_PROBE
from scanner.probes.nmap_service import MAX_IMPORT_BYTES, host_observations, parse_nmap_xml
from scanner.results import ProbeResult, ProbeStatus, tally_statuses, utc_now

__all__ = ["import_command", "judge_capture"]

PROBE_NAME = "nmap_import"


class _Imported:
    """What one file gave: results, the scope they cover, and what the evidence cannot show."""

    def __init__(
        self, results: list[ProbeResult], probes: tuple[str, ...], limitations: tuple[str, ...]
    ) -> None:
        self.results = results
        self.probes = probes
        self.limitations = limitations


def _from_nmap(report: Path) -> _Imported:
    try:
        if report.stat().st_size > MAX_IMPORT_BYTES:
            raise CliError(f"{report}: larger than {MAX_IMPORT_BYTES} bytes", EXIT_USAGE)
        hosts = parse_nmap_xml(report.read_bytes())
    except OSError as exc:
        raise CliError(f"{report}: cannot read: {exc.strerror}", EXIT_USAGE) from exc
    except ProbeParseError as exc:
        raise CliError(f"{report}: {exc}", EXIT_USAGE) from exc
    started = utc_now()
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
    limitation = (
        f"Imported from {report.name}: only what that nmap run saw is evidence; "
        "nmap's -sV does not speak SADP, DHIP or ONVIF."
    )
    return _Imported(results, (PROBE_NAME,), (limitation,))


def _from_capture(capture: Path) -> _Imported:
    try:
        summary = observe_capture(capture)
    except CaptureReadError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc
    return _Imported(list(summary.results), (PASSIVE_PROBE,), summary.limitations())


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as stream:
            return stream.read(16)
    except OSError as exc:
        raise CliError(f"{path}: cannot read: {exc.strerror}", EXIT_USAGE) from exc


def _write_results(out: Path, results: list[ProbeResult]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with (out / "results.jsonl").open("w", encoding="utf-8") as stream:
        for result in results:
            stream.write(result.model_dump_json() + "\n")


def _judge(
    imported: _Imported,
    out: Path,
    *,
    operator: str | None,
    fail_on: FailOn,
    json_output: bool,
    quiet: bool,
) -> int:
    started = utc_now()
    _write_results(out, imported.results)
    db = load_db()
    identities = identify([obs for r in imported.results for obs in r.observations], db)
    scan = ScanInfo(
        scope=tuple(sorted({str(IPv4Network(r.target)) for r in imported.results})),
        exclude=(),
        started_at=min((r.started_at for r in imported.results), default=started),
        finished_at=utc_now(),
        probes=imported.probes,
        status_counts=tally_statuses(imported.results),
        tool_version=__version__,
        fingerprint_db_version=db.version,
        operator=operator,
        limitations=imported.limitations,
    )
    return finish(
        build_inventory(identities, scan),
        out,
        json_output=json_output,
        quiet=quiet,
        fail_on=fail_on,
    )


def judge_capture(
    capture: Path,
    out: Path,
    *,
    operator: str | None,
    fail_on: FailOn,
    json_output: bool,
    quiet: bool,
) -> int:
    """Identify what a capture holds and write the inventory (shared with ``listen``)."""
    return _judge(
        _from_capture(capture),
        out,
        operator=operator,
        fail_on=fail_on,
        json_output=json_output,
        quiet=quiet,
    )


@app.command("import")
def import_command(
    report: Annotated[
        Path,
        typer.Argument(
            help="An nmap XML report (nmap -oX FILE) or a pcap/pcapng capture.",
            show_default=False,
        ),
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
    """Turn an nmap XML report or a packet capture into an inventory (no network traffic)."""
    is_capture = detect_format(_head(report)) is not None
    imported = _from_capture(report) if is_capture else _from_nmap(report)
    return _judge(
        imported, out, operator=operator, fail_on=fail_on, json_output=json_output, quiet=quiet
    )
