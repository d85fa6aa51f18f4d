"""``ndaa-scan sweep``: discovery, identification and the inventory in one run."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Sequence
from ipaddress import IPv4Address
from pathlib import Path
from typing import Annotated

import typer
from pydantic import SecretStr, ValidationError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fingerprints import (
    identify,
)
from reports import (
    ScanInfo,
    behind_recorder_limitations,
    build_inventory,
    liveness_facts,
    scan_limitations,
)
from scanner import __version__, event_loop
from scanner.cli.behind_recorder import login_notes, remote_channel_counts, unlisted_recorders
from scanner.cli.common import (
    EXIT_UNABLE,
    EXIT_USAGE,
    CliError,
    FailOn,
    app,
    load_db,
    stderr,
)
from scanner.cli.deferred import BACKGROUND_ABOVE_DEVICES, HeavyReports
from scanner.cli.outputs import finish
from scanner.cli.sweep_record import SweepRecord
from scanner.context import ProbeSettings
from scanner.credentials import CredentialError, load_credentials
from scanner.errors import LabError, NetworkSafetyError, ScopeError, TargetSpecError
from scanner.limits import Limits
from scanner.netns import enter_netns
from scanner.results import ProbeResult, ProbeStatus, utc_now
from scanner.routes import check_lab_routes
from scanner.scope import Scope
from scanner.sweeper import select_probes, sweep

#: Environment variables for ONVIF credentials (so they never appear on a command line).
ENV_ONVIF_USER = "NDAA_SCAN_ONVIF_USERNAME"
ENV_ONVIF_PASSWORD = "NDAA_SCAN_ONVIF_PASSWORD"  # noqa: S105 - a variable name, not a secret
ENV_SNMP_COMMUNITY = "NDAA_SCAN_SNMP_COMMUNITY"
#: A credentials file is two keys; anything larger is not one.
MAX_CREDENTIALS_BYTES = 4096


class _RichProgress:
    """Sweep progress on stderr: phase, hosts done / live / found, per-probe counts."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: object | None = None
        self._phase = ""
        self.live: set[str] = set()
        self.found: set[str] = set()
        self.per_probe: dict[str, int] = {}

    def phase(self, name: str, total: int) -> None:
        if self._task is not None:
            self._progress.update(self._task, visible=False)  # type: ignore[arg-type]
        self._phase = name
        self._task = self._progress.add_task(name, total=max(total, 1))

    def advance(self, result: ProbeResult | None) -> None:
        if result is not None and result.status is ProbeStatus.SUCCESS and result.target != "*":
            host = result.target.split(":")[0]
            self.live.add(host)
            if result.observations:
                self.found.add(host)
                self.per_probe[result.probe] = self.per_probe.get(result.probe, 0) + 1
        if self._task is not None:
            counts = " ".join(f"{k}:{v}" for k, v in sorted(self.per_probe.items()))
            self._progress.update(
                self._task,  # type: ignore[arg-type]
                advance=1 if result is None or self._phase == "hosts" else 0,
                description=(
                    f"{self._phase}: {len(self.live)} live, {len(self.found)} with evidence"
                    + (f" [{counts}]" if counts else "")
                ),
            )


def _load_settings(credentials: Path | None, snmp_community: Sequence[str] | None) -> ProbeSettings:
    """Read ONVIF credentials (file, then environment) and the SNMP community, as secrets."""
    username = os.environ.get(ENV_ONVIF_USER)
    password = os.environ.get(ENV_ONVIF_PASSWORD)
    if credentials is not None:
        try:
            if credentials.stat().st_size > MAX_CREDENTIALS_BYTES:
                raise CliError(f"{credentials}: not a credentials file (too large)", EXIT_USAGE)
            data = tomllib.loads(credentials.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"{credentials}: cannot read credentials file", EXIT_USAGE) from exc
        except tomllib.TOMLDecodeError:
            # The decoder's message may quote the file (and so the password): say only where.
            raise CliError(
                f"{credentials}: not TOML (expected username = ..., password = ...)", EXIT_USAGE
            ) from None
        username = str(data.get("username", "")) or None
        password = str(data.get("password", "")) or None
    communities = list(snmp_community or ()) or [os.environ.get(ENV_SNMP_COMMUNITY) or "public"]
    try:
        return ProbeSettings(
            snmp_communities=tuple(SecretStr(c) for c in communities if c),
            onvif_username=username,
            onvif_password=SecretStr(password) if password else None,
        )
    except ValidationError as exc:
        raise CliError("invalid probe settings", EXIT_USAGE) from exc


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as stream:
        stream.seek(-1, os.SEEK_END)
        return stream.read(1) == b"\n"


def _previous_results(path: Path) -> list[ProbeResult]:
    """Read a previous run's results.jsonl; a torn last line (the interruption) is skipped."""
    results = []
    try:
        with path.open(encoding="utf-8") as stream:
            for line in stream:
                try:
                    results.append(ProbeResult.model_validate_json(line))
                except ValidationError:
                    continue
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise CliError(f"cannot read {path} to resume: {exc.strerror}", EXIT_USAGE) from exc
    return results


# ------------------------------------------------------------------------------ sweep


@app.command("sweep")
def sweep_command(
    targets: Annotated[
        list[str] | None,
        typer.Argument(
            help="CIDRs, ranges (a-b), addresses, or @FILE (or --config with --site).",
            show_default=False,
        ),
    ] = None,
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
    site: Annotated[
        str | None, typer.Option(help="Site recorded in the inventory, e.g. 'City Hall'.")
    ] = None,
    fail_on: Annotated[FailOn, typer.Option(help="Exit 1 when these are found.")] = FailOn.COVERED,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the inventory as JSON on stdout.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or table.")] = False,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue an interrupted sweep: keep --out/results.jsonl and skip the "
            "(probe, host) pairs it already holds.",
        ),
    ] = False,
    use_nmap: Annotated[
        bool, typer.Option("--nmap", help="Also run nmap -sV over the live hosts (slow).")
    ] = False,
    snmp_community: Annotated[
        list[str] | None,
        typer.Option(
            help=f"SNMP v1/v2c community, repeatable, tried in order (default: "
            f"${ENV_SNMP_COMMUNITY} or 'public'); per-host ones and v3 users: --credentials.",
            show_default=False,
        ),
    ] = None,
    onvif_credentials: Annotated[
        Path | None,
        typer.Option(
            help="TOML file with username = ... and password = ... for ONVIF (else "
            f"${ENV_ONVIF_USER} / ${ENV_ONVIF_PASSWORD}). Never guessed, never logged.",
        ),
    ] = None,
    credentials: Annotated[
        Path | None,
        typer.Option(
            "--credentials",
            help="TOML credentials file: [[http]], [[onvif]], [[snmp]] entries scoped by CIDR, "
            "host or site:<name>. Used only after a device asks for a login; never guessed, "
            "never logged, never exported.",
        ),
    ] = None,
    heavy_reports: Annotated[
        HeavyReports,
        typer.Option(
            "--heavy-reports",
            help="Where the PDF and XLSX are rendered: auto (in the background above "
            f"{BACKGROUND_ABOVE_DEVICES} devices, after inventory.json is written), inline, or "
            "background.",
        ),
    ] = HeavyReports.AUTO,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="An ndaa-scan.toml: sweep its --site (scopes, exclusions, rate, budget, "
            "credentials, store) from this machine, no broker needed.",
            show_default=False,
        ),
    ] = None,
) -> int:
    """Sweep TARGETS, identify what answers, and write the inventory under --out."""
    db_url = None
    if config is not None:
        from scanner.cli.fleet.single_machine import site_sweep

        conf = site_sweep(config, site)
        targets, exclude = list(conf.targets), [*(exclude or ()), *conf.exclude]
        allow_private, allow_public = conf.allow_private, conf.allow_public
        rate, concurrency, budget, max_hosts = (
            conf.rate,
            conf.concurrency,
            conf.budget,
            conf.max_hosts,
        )
        probe = probe or (list(conf.probes) if conf.probes else None)
        onvif_credentials = onvif_credentials or conf.credentials
        netns, operator, db_url = netns or conf.netns, operator or conf.operator, conf.store
    if not targets:
        raise CliError("give TARGETS to sweep, or --config FILE --site NAME", EXIT_USAGE)
    try:
        scope = Scope.from_specs(
            targets, exclude or (), allow_private=allow_private, allow_public=allow_public
        )
        limits = Limits(
            rate_pps=rate, concurrency=concurrency, sweep_budget_s=budget, max_hosts=max_hosts
        )
        optional = (
            *(("nmap_service",) if use_nmap else ()),
            *(("onvif_auth",) if credentials else ()),
        )
        chosen = select_probes(probe, include_optional=optional)
    except (ScopeError, TargetSpecError) as exc:
        raise CliError(f"refusing to scan: {exc}", EXIT_USAGE) from exc
    except KeyError as exc:
        raise CliError(str(exc.args[0]), EXIT_USAGE) from exc
    settings = _load_settings(onvif_credentials, snmp_community)
    if credentials is not None:
        try:
            store = load_credentials(credentials, site=site)
        except CredentialError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
        settings = settings.model_copy(update={"credentials": store})
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
    results_path = out / "results.jsonl"
    record = SweepRecord()
    for previous in _previous_results(results_path) if resume else ():
        record.add(previous, remember_keys=True)
    done = record.keys
    known_live = {IPv4Address(host) for host in record.live_targets}
    show = not quiet and not json_output

    async def run(sink: _RichProgress | None) -> None:
        with results_path.open("a" if resume else "w", encoding="utf-8") as stream:
            if resume and stream.tell() > 0 and not _ends_with_newline(results_path):
                # The interrupted run left a torn last line: start ours on a line of its own.
                stream.write("\n")
            async for result in sweep(
                scope,
                probes=chosen,
                limits=limits,
                settings=settings,
                progress=sink,
                done=done,
                known_live=known_live,
            ):
                record.add(result)
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
                event_loop.run(run(_RichProgress(progress)))
        else:
            event_loop.run(run(None))
    except ScopeError as exc:
        raise CliError(f"refusing to scan: {exc}", EXIT_USAGE) from exc

    status_counts = record.status_counts
    reach = liveness_facts(record.liveness)
    observations = record.observations
    logins = login_notes(observations)
    channel_counts = remote_channel_counts(observations)
    # Identification takes the observations; nothing else holds them once it has.
    record.observations = []
    identities = identify(observations, db)
    del observations
    recorder_notes = behind_recorder_limitations(
        logins,
        unlisted_recorders(
            identities,
            logins,
            have_credentials=credentials is not None,
            channel_counts=channel_counts,
        ),
        credentials_file=credentials,
    )
    probe_names = tuple(p.info.name for p in chosen)
    scan = ScanInfo(
        scope=tuple(str(n) for n in scope.networks),
        exclude=tuple(str(n) for n in scope.exclude),
        started_at=started,
        finished_at=utc_now(),
        probes=probe_names,
        status_counts=status_counts,
        tool_version=__version__,
        fingerprint_db_version=db.version,
        operator=operator,
        site=site,
        # One module writes the statement, from what the sweep actually did.
        limitations=scan_limitations(
            probe_names,
            status_counts,
            liveness=reach,
            onvif_credentials=settings.onvif_password is not None,
            credentials_used=settings.credentials is not None,
        )
        + recorder_notes,
    )
    inventory = build_inventory(identities, scan)
    del identities
    return finish(
        inventory,
        out,
        json_output=json_output,
        quiet=quiet,
        fail_on=fail_on,
        db=db_url,
        heavy=heavy_reports,
    )


# ------------------------------------------------------------------------------ identify
