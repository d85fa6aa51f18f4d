"""``ndaa-scan identify``: judge recorded observations without touching the network."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Annotated, Final

import typer
from pydantic import ValidationError
from rich.markup import escape

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
#: Keys of an observation line; anything else (a corpus row's "source", a spreadsheet's "note")
#: is dropped and counted, so annotated exports from other tools still load.
_OBSERVATION_KEYS: Final = frozenset(Observation.model_fields)


def _read_lines(source: str) -> Iterator[tuple[int, bytes, bool]]:
    """Yield (line number, bytes, oversized); an oversized line is drained, never split."""
    handle: IO[bytes]
    if source == "-":
        handle = sys.stdin.buffer
    else:
        try:
            handle = Path(source).open("rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise CliError(f"cannot read {source}: {exc.strerror or exc}", EXIT_USAGE) from exc
    try:
        number = 0
        while True:
            try:
                chunk = handle.readline(MAX_INPUT_LINE_BYTES + 1)
            except OSError as exc:
                raise CliError(f"cannot read {source}: {exc.strerror or exc}", EXIT_USAGE) from exc
            if not chunk:
                return
            number += 1
            if len(chunk) > MAX_INPUT_LINE_BYTES and not chunk.endswith(b"\n"):
                # Skip the rest of this line in bounded reads: memory stays capped.
                while (rest := handle.readline(MAX_INPUT_LINE_BYTES)) and not rest.endswith(b"\n"):
                    pass
                yield number, b"", True
                continue
            yield number, chunk, False
    finally:
        if handle is not sys.stdin.buffer:
            handle.close()


def _observation(data: dict[str, object], dropped: set[str]) -> Observation:
    extra = set(data) - _OBSERVATION_KEYS
    if extra:
        dropped.update(key[:40] for key in extra)
        data = {k: v for k, v in data.items() if k in _OBSERVATION_KEYS}
    return Observation.model_validate(data)


def parse_observation_lines(
    source: str, dropped_keys: set[str] | None = None
) -> tuple[list[Observation], list[str]]:
    """Read observations (or whole probe results) from JSON Lines; return them and the errors."""
    observations: list[Observation] = []
    errors: list[str] = []
    dropped = dropped_keys if dropped_keys is not None else set()
    for number, raw, oversized in _read_lines(source):
        if oversized:
            errors.append(f"line {number}: longer than 1 MiB")
            continue
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                errors.append(f"line {number}: not a JSON object")
            elif "observations" in data and "status" in data:
                observations.extend(ProbeResult.model_validate(data).observations)
            else:
                observations.append(_observation(data, dropped))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            errors.append(f"line {number}: not JSON ({exc.__class__.__name__})")
        except RecursionError:
            errors.append(f"line {number}: JSON nested too deeply")
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "line"
            errors.append(f"line {number}: {where[:60]}: {first['msg'][:120]}")
    return observations, errors


def identity_json(identity: DeviceIdentity, host: str | None = None) -> dict[str, object]:
    """The per-host object ``identify`` prints (stable keys first, then the full verdict)."""
    covered = {CoverageStatus.COVERED: True, CoverageStatus.NOT_COVERED: False}.get(
        identity.coverage.status
    )
    return {
        "host": host or (identity.addresses[0] if identity.addresses else identity.device_key),
        "maker": identity.maker,
        "brand": identity.brand,
        "covered": covered,
        "coverage": identity.coverage.status.value,
        "confidence": identity.confidence,
        "level": identity.level.value,
        "model": identity.model,
        "serial": identity.serial,
        "device_key": identity.device_key,
        "evidence": [e.model_dump(mode="json") for e in identity.evidence],
        "identity": identity.model_dump(mode="json", exclude={"evidence"}),
    }


def _write_line(payload: dict[str, object]) -> None:
    try:
        sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    except UnicodeEncodeError:
        # A lone surrogate from hostile input cannot be encoded as UTF-8: escape everything.
        sys.stdout.write(json.dumps(payload, ensure_ascii=True) + "\n")


@app.command("identify")
def identify_command(
    source: Annotated[
        str | None,
        typer.Argument(help="JSON Lines of observations (or results.jsonl); - for stdin."),
    ] = None,
    bundle: Annotated[
        Path | None,
        typer.Option(
            "--bundle",
            help="Re-derive the verdicts of an evidence bundle (ndaa-scan bundle) with its own "
            "rules; exit 1 unless byte-identical to the bundled verdicts.",
        ),
    ] = None,
) -> int:
    """Identify devices from recorded observations, without touching the network.

    Each input line is an observation ({"host","protocol","field","value"} at least) or a whole
    probe result; one JSON object per host is written to stdout. Bad lines are skipped and
    reported on stderr.
    """
    if bundle is not None:
        from scanner.cli.bundle_command import check_bundle  # bundle_command imports this module

        return check_bundle(bundle)
    if source is None:
        raise CliError("name a JSON Lines file (or -), or --bundle FILE.zip", EXIT_USAGE)
    dropped: set[str] = set()
    observations, errors = parse_observation_lines(source, dropped)
    for error in errors[:20]:
        stderr.print(f"[yellow]skipped[/] {escape(error)}", markup=True, highlight=False)
    if len(errors) > 20:
        stderr.print(f"[yellow]skipped {len(errors) - 20} more bad lines[/]")
    if dropped:
        names = ", ".join(sorted(dropped)[:10])
        stderr.print(f"ignored keys that are not observation fields: {escape(names)}")
    if not observations:
        raise CliError("no valid observations in the input", EXIT_USAGE)
    identities = identify(observations, load_db())
    for identity in identities:
        for host in identity.addresses:
            _write_line(identity_json(identity, host))
    stderr.print(
        f"{len(observations)} observations, {len(identities)} devices, {len(errors)} bad lines",
        highlight=False,
    )
    return EXIT_OK


# ------------------------------------------------------------------------------ report / diff
