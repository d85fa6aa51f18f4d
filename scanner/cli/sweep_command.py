"""``ndaa-scan sweep``: discovery, identification and the inventory in one run."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fingerprints import (
    identify,
)
from reports import (
    ExportFormat,
    ScanInfo,
    build_inventory,
    export,
    render_table,
)
from scanner import __version__
from scanner.cli.common import (
    EXIT_UNABLE,
    EXIT_USAGE,
    CliError,
    FailOn,
    app,
    exit_code_for,
    load_db,
    stderr,
    stdout_console,
)
from scanner.cli.outputs import publish_inventory
from scanner.errors import LabError, NetworkSafetyError, ScopeError, TargetSpecError
from scanner.limits import Limits
from scanner.netns import enter_netns
from scanner.results import ProbeResult, ProbeStatus, utc_now
from scanner.routes import check_lab_routes
from scanner.scope import Scope
from scanner.sweeper import select_probes, sweep


class _RichProgress:
    """Sweep progress on stderr: phase, done/total, elapsed, live findings."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: object | None = None
        self.hosts_answering: set[str] = set()

    def phase(self, name: str, total: int) -> None:
        if self._task is not None:
            self._progress.update(self._task, visible=False)  # type: ignore[arg-type]
        self._task = self._progress.add_task(name, total=max(total, 1))

    def advance(self, result: ProbeResult | None) -> None:
        if result is not None and result.status is ProbeStatus.SUCCESS:
            self.hosts_answering.add(result.target.split(":")[0])
        if self._task is not None:
            self._progress.update(
                self._task,  # type: ignore[arg-type]
                advance=1,
                description=f"probing ({len(self.hosts_answering)} answering)",
            )


def _status_counts(results: Sequence[ProbeResult]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for result in results:
        per_probe = counts.setdefault(result.probe, {})
        per_probe[result.status.value] = per_probe.get(result.status.value, 0) + 1
    return counts


def _limitations(probes: Sequence[str], results: Sequence[ProbeResult]) -> tuple[str, ...]:
    notes = []
    if "arp" in probes:
        notes.append(
            "ARP sees only the scanner's own layer-2 segment; routed subnets show no MACs."
        )
    else:
        notes.append("ARP not run: no MAC addresses or OUI evidence collected.")
    failed = sum(1 for r in results if r.status not in {ProbeStatus.SUCCESS, ProbeStatus.REFUSED})
    if failed:
        notes.append(f"{failed} probe exchanges ended without a usable reply (see status_counts).")
    notes.append(
        "No credentials were used; devices that answer only after login are identified "
        "from unauthenticated banners."
    )
    notes.append(
        f"Probes run: {', '.join(probes)}. Protocols not probed cannot contribute evidence."
    )
    return tuple(notes)


# ------------------------------------------------------------------------------ sweep


@app.command("sweep")
def sweep_command(
    targets: Annotated[
        list[str],
        typer.Argument(help="CIDRs, ranges (a-b), addresses, or @FILE.", show_default=False),
    ],
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", "-x", help="Addresses or CIDRs never to touch.")
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Directory for results.jsonl and the inventory.")
    ] = Path("out"),
    probe: Annotated[
        list[str] | None, typer.Option("--probe", "-p", help="Run only these probes (repeatable).")
    ] = None,
    netns: Annotated[
        str | None,
        typer.Option(help="Run inside this network namespace (e.g. the lab's ndl-<lab>-scan)."),
    ] = None,
    allow_private: Annotated[
        bool,
        typer.Option(
            "--allow-private", help="Allow RFC 1918 targets (with written authorisation)."
        ),
    ] = False,
    allow_public: Annotated[
        bool,
        typer.Option("--allow-public", help="Allow public targets (with written authorisation)."),
    ] = False,
    rate: Annotated[
        float, typer.Option(help="Packets per second, at most.", min=0.1, max=100_000)
    ] = 1000.0,
    concurrency: Annotated[
        int, typer.Option(help="Connections open at once.", min=1, max=4096)
    ] = 64,
    budget: Annotated[
        float, typer.Option(help="Hard limit on the sweep's duration, in seconds.", min=1)
    ] = 900.0,
    max_hosts: Annotated[int, typer.Option(help="Refuse scopes larger than this.", min=1)] = 65_536,
    operator: Annotated[
        str | None, typer.Option(help="Who ran the sweep (recorded in the inventory).")
    ] = None,
    fail_on: Annotated[FailOn, typer.Option(help="Exit 1 when these are found.")] = FailOn.COVERED,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the inventory as JSON on stdout.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or table.")] = False,
) -> int:
    """Sweep TARGETS, identify what answers, and write the inventory under --out."""
    try:
        scope = Scope.from_specs(
            targets, exclude or (), allow_private=allow_private, allow_public=allow_public
        )
        limits = Limits(
            rate_pps=rate, concurrency=concurrency, sweep_budget_s=budget, max_hosts=max_hosts
        )
        chosen = select_probes(probe)
    except (ScopeError, TargetSpecError) as exc:
        raise CliError(f"refusing to scan: {exc}", EXIT_USAGE) from exc
    except KeyError as exc:
        raise CliError(str(exc.args[0]), EXIT_USAGE) from exc
    db = load_db()
    if netns:
        try:
            enter_netns(netns)
        except LabError as exc:
            raise CliError(str(exc), EXIT_UNABLE) from exc
    try:
        check_lab_routes(scope)
    except NetworkSafetyError as exc:
        raise CliError(f"refusing to scan: {exc}", EXIT_UNABLE) from exc

    out.mkdir(parents=True, exist_ok=True)
    started = utc_now()
    results: list[ProbeResult] = []
    show = not quiet and not json_output

    async def run(sink: _RichProgress | None) -> None:
        with (out / "results.jsonl").open("w", encoding="utf-8") as stream:
            async for result in sweep(scope, probes=chosen, limits=limits, progress=sink):
                results.append(result)
                # One line per result as it arrives: an interrupted sweep keeps what it found.
                stream.write(result.model_dump_json() + "\n")
                stream.flush()

    try:
        if show:
            columns = (
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )
            with Progress(*columns, console=stderr, transient=True) as progress:
                asyncio.run(run(_RichProgress(progress)))
        else:
            asyncio.run(run(None))
    except ScopeError as exc:
        raise CliError(f"refusing to scan: {exc}", EXIT_USAGE) from exc

    observations = [obs for result in results for obs in result.observations]
    identities = identify(observations, db)
    probe_names = tuple(p.info.name for p in chosen)
    scan = ScanInfo(
        scope=tuple(str(n) for n in scope.networks),
        exclude=tuple(str(n) for n in scope.exclude),
        started_at=started,
        finished_at=utc_now(),
        probes=probe_names,
        status_counts=_status_counts(results),
        tool_version=__version__,
        fingerprint_db_version=db.version,
        operator=operator,
        limitations=_limitations(probe_names, results),
    )
    inventory = build_inventory(identities, scan)
    written = publish_inventory(inventory, out)
    if json_output:
        export(inventory, ExportFormat.JSON, sys.stdout.buffer)
    elif not quiet:
        render_table(inventory, stdout_console())
        stderr.print("wrote " + ", ".join(str(p) for p in [*written, out / "results.jsonl"]))
    return exit_code_for(inventory, fail_on)


# ------------------------------------------------------------------------------ identify
