"""``ndaa-scan identify``: judge recorded observations without touching the network."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Annotated, Final

import typer
from pydantic import ValidationError

from fingerprints import (
    CoverageStatus,
    DeviceIdentity,
    identify,
)
from scanner.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    app,
    load_db,
    stderr,
)
from scanner.results import Observation, ProbeResult

# A line of JSON from `identify` input: a ProbeResult with a few hundred observations fits.
MAX_INPUT_LINE_BYTES: Final = 1024 * 1024


def _read_lines(source: str) -> Iterator[tuple[int, bytes]]:
    handle: IO[bytes]
    if source == "-":
        handle = sys.stdin.buffer
    else:
        try:
            handle = Path(source).open("rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise CliError(f"cannot read {source}: {exc.strerror}", EXIT_USAGE) from exc
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
        raise CliError("no valid observations in the input", EXIT_USAGE)
    for identity in identify(observations, load_db()):
        sys.stdout.write(json.dumps(identity_json(identity), ensure_ascii=False) + "\n")
    return EXIT_OK


# ------------------------------------------------------------------------------ report / diff
