"""``ndaa-scan lab``: build, inspect and remove the simulated device lab."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from scanner import lab
from scanner.cli.common import (
    EXIT_OK,
    EXIT_UNABLE,
    EXIT_USAGE,
    CliError,
    lab_app,
    stderr,
    stdout_console,
)
from scanner.errors import LabError
from scanner.lab import shipped


@lab_app.command("up")
def lab_up(
    profile: Annotated[
        str,
        typer.Option(
            "--profile",
            help="Lab profile: a TOML file, or the name of a shipped one "
            "(`ndaa-scan lab profiles` lists them), e.g. city-hall.",
        ),
    ],
    name: Annotated[
        str | None,
        typer.Option("--name", help="Lab name (default: the profile's); 1-12 of a-z0-9."),
    ] = None,
    root_link: Annotated[
        bool,
        typer.Option(
            "--root-link",
            help="Also reach the scanner namespace from the root namespace over a veth "
            "ndl-<lab>-r with a /30 from 198.18.255.0/24 (lab name at most 9 characters). "
            "The root's routes are otherwise untouched.",
        ),
    ] = False,
) -> int:
    """Build the lab's namespaces and start its device responders."""
    try:
        profile_path = shipped.resolve(profile)
    except LabError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc
    try:
        state = lab.up(profile_path, name, root_link=root_link)
    except LabError as exc:
        raise CliError(str(exc), EXIT_UNABLE) from exc
    stderr.print(
        f"lab {state.lab} up: {state.hosts} hosts on {state.network}; "
        f"scanner namespace {state.scan_namespace}"
    )
    if state.scale_prefix:
        stderr.print(f"scale farm answers for every address of {state.scale_prefix}")
    if state.root_link_address:
        stderr.print(
            f"root link: the scanner namespace is {state.root_link_address} on ndl-{state.lab}-r"
        )
    target = state.scale_prefix or state.network
    stderr.print(f"sweep it with: ndaa-scan sweep --netns {state.scan_namespace} {target}")
    return EXIT_OK


@lab_app.command("down")
def lab_down(
    name: Annotated[str | None, typer.Argument(help="Lab to remove (default: every lab).")] = None,
) -> int:
    """Remove a lab's namespaces, links and processes (also after a crash)."""
    try:
        removed = lab.down(name)
    except LabError as exc:
        raise CliError(str(exc), EXIT_UNABLE) from exc
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
        stdout_console().print("no lab is running")
    for state in states:
        alive = "running" if state.responder_pids else "[red]not running[/]"
        stdout_console().print(
            f"{state.lab}: {state.namespaces} namespaces, responder {alive}, "
            f"{state.hosts if state.hosts is not None else '?'} hosts on {state.network or '?'}"
            + (f" + scale farm {state.scale_prefix}" if state.scale_prefix else "")
            + (f", root link {state.root_link_address}" if state.root_link_address else "")
            + f", scanner in {state.scan_namespace}"
        )
    return EXIT_OK


@lab_app.command("profiles")
def lab_profiles(
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object: name → path.")] = False,
) -> int:
    """List the lab files that ship with the tool (profiles and their credentials examples)."""
    files = shipped.shipped()
    if json_out:
        sys.stdout.write(json.dumps({name: str(path) for name, path in files.items()}) + "\n")
        return EXIT_OK
    for name, path in files.items():
        stdout_console().print(f"{name}\t{path}", highlight=False, soft_wrap=True)
    return EXIT_OK


@lab_app.command("path")
def lab_path(
    name: Annotated[str, typer.Argument(help="A shipped lab file, e.g. city-hall-credentials.")],
) -> int:
    """Print the path of a shipped lab file (for `--credentials "$(ndaa-scan lab path …)"`)."""
    try:
        path = shipped.resolve(name)
    except LabError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc
    sys.stdout.write(f"{path}\n")
    return EXIT_OK


# ------------------------------------------------------------------------------ fingerprints
