"""The ``ndaa-scan`` command line, and the composition root of the three stages.

This is the only module that imports ``scanner``, ``fingerprints`` and ``reports`` together.

Exit codes (one table, tested):

====  ==========================================================================
0     finished; nothing matched the ``--fail-on`` policy
1     finished; covered devices found (per ``--fail-on``), or verification failures
2     usage, configuration or input error (bad arguments, bad scope, unreadable file)
3     the sweep could not run (network safety refusal, lab or permission failure)
130   interrupted
====  ==========================================================================
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from enum import StrEnum
from pathlib import Path
from typing import IO, Annotated, Final

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fingerprints import (
    CoverageStatus,
    DeviceIdentity,
    FingerprintDB,
    RuleLoadError,
    identify,
    load_database,
    verify_files,
)
from fingerprints.database import default_rules_dir
from reports import (
    ExportFormat,
    Inventory,
    ScanInfo,
    build_inventory,
    diff_inventories,
    export,
    render_table,
)
from scanner import __version__, lab
from scanner.errors import LabError, NetworkSafetyError, ScanError, ScopeError, TargetSpecError
from scanner.limits import Limits
from scanner.netns import enter_netns
from scanner.results import Observation, ProbeResult, ProbeStatus, utc_now
from scanner.routes import check_lab_routes
from scanner.scope import Scope
from scanner.sweeper import select_probes, sweep

__all__ = ["EXIT_FOUND", "EXIT_OK", "EXIT_UNABLE", "EXIT_USAGE", "app", "main"]

EXIT_OK: Final = 0
EXIT_FOUND: Final = 1
EXIT_USAGE: Final = 2
EXIT_UNABLE: Final = 3
EXIT_INTERRUPTED: Final = 130

# A line of JSON from `identify` input: a ProbeResult with a few hundred observations fits.
MAX_INPUT_LINE_BYTES: Final = 1024 * 1024

log = logging.getLogger("scanner.cli")
stderr = Console(stderr=True)

app = typer.Typer(
    name="ndaa-scan",
    help=(
        "Find NDAA §889 covered equipment (Hikvision, Dahua, Huawei, ZTE, Hytera and OEM "
        "rebrands) on networks you are authorised to scan, with evidence, and export a "
        "remediation inventory."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
lab_app = typer.Typer(help="Run the simulated device lab (needs root).", no_args_is_help=True)
fingerprints_app = typer.Typer(
    help="Inspect and verify the fingerprint rules.", no_args_is_help=True
)
app.add_typer(lab_app, name="lab")
app.add_typer(fingerprints_app, name="fingerprints")


class FailOn(StrEnum):
    """Which findings make ``sweep``/``report`` exit 1 (for CI)."""

    COVERED = "covered"  # devices whose verdict is covered
    LIKELY = "likely"  # covered, plus undetermined devices with a covered-maker lead
    NEVER = "never"


class ReportFormat(StrEnum):
    """Formats ``report`` renders."""

    JSON = "json"
    CSV = "csv"
    TABLE = "table"


class _CliError(Exception):
    """A failure to report as one line with an exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


# ------------------------------------------------------------------------------ helpers


def _write_atomic(path: Path, inventory: Inventory, fmt: ExportFormat) -> None:
    """Write a report next to its final name, then rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            export(inventory, fmt, handle)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _exit_code(inventory: Inventory, fail_on: FailOn) -> int:
    if fail_on is FailOn.NEVER:
        return EXIT_OK
    if inventory.summary.covered:
        return EXIT_FOUND
    if fail_on is FailOn.LIKELY and any(
        d.covered is CoverageStatus.UNDETERMINED and d.coverage.entity for d in inventory.devices
    ):
        return EXIT_FOUND
    return EXIT_OK


def _load_inventory(path: Path) -> Inventory:
    try:
        return Inventory.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise _CliError(f"cannot read {path}: {exc.strerror}", EXIT_USAGE) from exc
    except ValidationError as exc:
        raise _CliError(
            f"{path} is not an ndaa-scan inventory: {exc.errors()[0]['msg']}", EXIT_USAGE
        ) from exc


def _load_db() -> FingerprintDB:
    try:
        return load_database()
    except RuleLoadError as exc:
        raise _CliError(f"fingerprint rules are broken: {exc}", EXIT_USAGE) from exc


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
        raise _CliError(f"refusing to scan: {exc}", EXIT_USAGE) from exc
    except KeyError as exc:
        raise _CliError(str(exc.args[0]), EXIT_USAGE) from exc
    db = _load_db()
    if netns:
        try:
            enter_netns(netns)
        except LabError as exc:
            raise _CliError(str(exc), EXIT_UNABLE) from exc
    try:
        check_lab_routes(scope)
    except NetworkSafetyError as exc:
        raise _CliError(f"refusing to scan: {exc}", EXIT_UNABLE) from exc

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
        raise _CliError(f"refusing to scan: {exc}", EXIT_USAGE) from exc

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
    for fmt in (ExportFormat.JSON, ExportFormat.CSV):
        _write_atomic(out / f"inventory{fmt.suffix}", inventory, fmt)
    if json_output:
        export(inventory, ExportFormat.JSON, sys.stdout.buffer)
    elif not quiet:
        render_table(inventory, Console())
        stderr.print(
            f"wrote {out / 'inventory.json'}, {out / 'inventory.csv'}, {out / 'results.jsonl'}"
        )
    return _exit_code(inventory, fail_on)


# ------------------------------------------------------------------------------ identify


def _read_lines(source: str) -> Iterator[tuple[int, bytes]]:
    handle: IO[bytes]
    if source == "-":
        handle = sys.stdin.buffer
    else:
        try:
            handle = Path(source).open("rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise _CliError(f"cannot read {source}: {exc.strerror}", EXIT_USAGE) from exc
    try:
        yield from enumerate(iter(lambda: handle.readline(MAX_INPUT_LINE_BYTES + 1), b""), 1)
    finally:
        if handle is not sys.stdin.buffer:
            handle.close()


def parse_observation_lines(source: str) -> tuple[list[Observation], list[str]]:
    """Read observations (or whole probe results) from JSON Lines; return them and the errors."""
    observations: list[Observation] = []
    errors: list[str] = []
    for number, raw in _read_lines(source):
        if len(raw) > MAX_INPUT_LINE_BYTES:
            errors.append(f"line {number}: longer than 1 MiB")
            continue
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
            if isinstance(data, dict) and "observations" in data and "status" in data:
                observations.extend(ProbeResult.model_validate(data).observations)
            else:
                observations.append(Observation.model_validate(data))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            errors.append(f"line {number}: not JSON ({exc.__class__.__name__})")
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "line"
            errors.append(f"line {number}: {where}: {first['msg']}")
    return observations, errors


def identity_json(identity: DeviceIdentity) -> dict[str, object]:
    """The per-host object ``identify`` prints (stable keys first, then the full verdict)."""
    covered = {CoverageStatus.COVERED: True, CoverageStatus.NOT_COVERED: False}.get(
        identity.coverage.status
    )
    return {
        "host": identity.addresses[0] if identity.addresses else identity.device_key,
        "maker": identity.maker,
        "brand": identity.brand,
        "covered": covered,
        "coverage": identity.coverage.status.value,
        "confidence": identity.confidence,
        "evidence": [e.model_dump(mode="json") for e in identity.evidence],
        "identity": identity.model_dump(mode="json", exclude={"evidence"}),
    }


@app.command("identify")
def identify_command(
    source: Annotated[
        str, typer.Argument(help="JSON Lines of observations (or results.jsonl); - for stdin.")
    ],
) -> int:
    """Identify devices from recorded observations, without touching the network."""
    observations, errors = parse_observation_lines(source)
    for error in errors[:20]:
        stderr.print(f"[yellow]skipped[/] {error}", markup=True, highlight=False)
    if len(errors) > 20:
        stderr.print(f"[yellow]skipped {len(errors) - 20} more bad lines[/]")
    if not observations:
        raise _CliError("no valid observations in the input", EXIT_USAGE)
    for identity in identify(observations, _load_db()):
        sys.stdout.write(json.dumps(identity_json(identity), ensure_ascii=False) + "\n")
    return EXIT_OK


# ------------------------------------------------------------------------------ report / diff


@app.command("report")
def report_command(
    inventory_path: Annotated[
        Path, typer.Argument(metavar="INVENTORY.json", help="An inventory written by sweep.")
    ],
    fmt: Annotated[
        ReportFormat, typer.Option("--format", "-f", help="Output format.")
    ] = ReportFormat.TABLE,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    fail_on: Annotated[FailOn, typer.Option(help="Exit 1 when these are found.")] = FailOn.NEVER,
) -> int:
    """Render a stored inventory again, in another format."""
    inventory = _load_inventory(inventory_path)
    if fmt is ReportFormat.TABLE:
        if output is None:
            render_table(inventory, Console())
        else:
            with output.open("w", encoding="utf-8") as handle:
                render_table(inventory, Console(file=handle, width=160))
    elif output is not None:
        _write_atomic(output, inventory, ExportFormat(fmt.value))
    else:
        export(inventory, ExportFormat(fmt.value), sys.stdout.buffer)
    return _exit_code(inventory, fail_on)


@app.command("diff")
def diff_command(
    before: Annotated[Path, typer.Argument(metavar="A.json", help="The older inventory.")],
    after: Annotated[Path, typer.Argument(metavar="B.json", help="The newer inventory.")],
    json_output: Annotated[bool, typer.Option("--json", help="Print the diff as JSON.")] = False,
) -> int:
    """Show devices that are new, gone or changed between two inventories (exit 1 if any)."""
    result = diff_inventories(_load_inventory(before), _load_inventory(after))
    if json_output:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
    else:
        console = Console()
        for mark, records in (
            ("[green]+ new[/]    ", result.added),
            ("[red]- gone[/]   ", result.removed),
        ):
            for record in records:
                where = ", ".join(record.addresses)
                console.print(f"{mark} {where}  {record.maker or '?'}  {record.covered.value}")
        for change in result.changed:
            console.print(
                f"[yellow]~ changed[/] {change.device_key}  {change.field}: "
                f"{change.before} -> {change.after}",
                highlight=False,
            )
        if result.empty:
            console.print("no changes")
    return EXIT_OK if result.empty else EXIT_FOUND


# ------------------------------------------------------------------------------ lab


@lab_app.command("up")
def lab_up(
    profile: Annotated[
        Path, typer.Option("--profile", help="Lab profile (TOML), e.g. examples/lab/skeleton.toml.")
    ],
    name: Annotated[
        str | None,
        typer.Option("--name", help="Lab name (default: the profile's); 1-12 of a-z0-9."),
    ] = None,
) -> int:
    """Build the lab's namespaces and start its device responders."""
    try:
        state = lab.up(profile, name)
    except LabError as exc:
        raise _CliError(str(exc), EXIT_UNABLE) from exc
    stderr.print(
        f"lab {state.lab} up: {state.hosts} hosts on {state.network}; "
        f"scanner namespace {state.scan_namespace}"
    )
    stderr.print(f"sweep it with: ndaa-scan sweep --netns {state.scan_namespace} {state.network}")
    return EXIT_OK


@lab_app.command("down")
def lab_down(
    name: Annotated[str | None, typer.Argument(help="Lab to remove (default: every lab).")] = None,
) -> int:
    """Remove a lab's namespaces, links and processes (also after a crash)."""
    try:
        removed = lab.down(name)
    except LabError as exc:
        raise _CliError(str(exc), EXIT_UNABLE) from exc
    stderr.print("removed: " + (", ".join(removed) if removed else "nothing"))
    return EXIT_OK


@lab_app.command("status")
def lab_status(
    name: Annotated[
        str | None, typer.Argument(help="Lab to describe (default: every lab).")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> int:
    """List labs: namespaces, responder processes, scanner namespace."""
    found = lab.status(name)
    states = found if isinstance(found, list) else [found]
    if json_output:
        sys.stdout.write(json.dumps([s.model_dump() for s in states], indent=2) + "\n")
        return EXIT_OK
    if not states:
        Console().print("no lab is running")
    for state in states:
        alive = "running" if state.responder_pids else "[red]not running[/]"
        Console().print(
            f"{state.lab}: {state.namespaces} namespaces, responder {alive}, "
            f"{state.hosts or '?'} hosts on {state.network or '?'}, "
            f"scanner in {state.scan_namespace}"
        )
    return EXIT_OK


# ------------------------------------------------------------------------------ fingerprints


@fingerprints_app.command("verify")
def fingerprints_verify(
    files: Annotated[
        list[Path] | None, typer.Argument(help="Rule files (default: every shipped file).")
    ] = None,
) -> int:
    """Check every rule, example and counterexample; print path:line: FAIL lines."""
    paths = files or sorted(default_rules_dir().glob("*.toml"))
    problems = verify_files(paths)
    for problem in problems:
        sys.stdout.write(f"{problem}\n")
    rules = sum(
        len(load_database([p]).rules) for p in paths if not any(x.path == p for x in problems)
    )
    stderr.print(f"{len(paths)} files, {rules} rules in clean files, {len(problems)} problems")
    return EXIT_FOUND if problems else EXIT_OK


@fingerprints_app.command("list")
def fingerprints_list() -> int:
    """List every rule: id, field, certainty and what it asserts."""
    console = Console()
    for compiled in _load_db().rules:
        rule = compiled.rule
        asserts = ", ".join(f"{k}={v}" for k, v in rule.asserts.items())
        console.print(
            f"{rule.id:45} {rule.field:24} {rule.certainty:.2f}  {asserts}", highlight=False
        )
    return EXIT_OK


# ------------------------------------------------------------------------------ entry point


def _usage_error_types() -> tuple[type[Exception], ...]:
    # Typer 0.29+ ships its own copy of click; match its UsageError by ancestry, not by import.
    return tuple(
        cls
        for cls in typer.BadParameter.__mro__
        if cls.__name__ == "UsageError" and issubclass(cls, Exception)
    )


_USAGE_ERRORS: Final = _usage_error_types()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; every failure becomes one line on stderr and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="ndaa-scan: %(levelname)s: %(message)s")
    try:
        result = app(args=args, prog_name="ndaa-scan", standalone_mode=False)
    except _CliError as exc:
        sys.stderr.write(f"ndaa-scan: error: {' '.join(str(exc).split())}\n")
        return exc.code
    except _USAGE_ERRORS as exc:
        text = exc.format_message()  # type: ignore[attr-defined]
        if type(exc).__name__ == "NoArgsIsHelpError":
            sys.stderr.write(text + "\n")  # a bare group name: show its help
            return EXIT_USAGE
        sys.stderr.write(f"ndaa-scan: error: {' '.join(text.split())} (see --help)\n")
        return EXIT_USAGE
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("ndaa-scan: interrupted\n")
        return EXIT_INTERRUPTED
    except ScanError as exc:
        sys.stderr.write(f"ndaa-scan: error: {exc}\n")
        return EXIT_UNABLE
    return result if isinstance(result, int) else EXIT_OK
