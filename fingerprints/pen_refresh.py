"""Regenerate ``reference/enterprise_numbers.tsv`` from a local copy of the IANA PEN registry.

The IANA Private Enterprise Numbers registry
(https://www.iana.org/assignments/enterprise-numbers/) names the organisation behind every
``1.3.6.1.4.1.<n>`` arc, so the enterprise number of a sysObjectID resolves to a registrant the
way a MAC prefix does. Debian's ``libwireshark-data`` ships a dated copy as
``/usr/share/wireshark/enterprises.tsv`` (``<number><TAB><name>[<TAB># note]``); ``--iana`` reads
the registry's own text export (number, organization, contact, email in four-line records).

Every number is kept (number and registrant only, ~60k lines): any enterprise a device answers
under must resolve, not only the ones §889 cares about; ``reference/enterprise_registrants.toml``
turns a registrant into a maker at lookup time.

Run ``ndaa-scan fingerprints refresh-pen`` or ``python -m fingerprints.pen_refresh``.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Final

__all__ = [
    "WIRESHARK_ENTERPRISES",
    "build_pen_registry",
    "default_pen_output",
    "main",
    "render_pen_registry",
]

WIRESHARK_ENTERPRISES: Final = Path("/usr/share/wireshark/enterprises.tsv")
_UPDATED: Final = re.compile(r"last updated (\d{4}-\d{2}-\d{2})")
# The IANA text export: the number alone on a line, the organisation on the next, indented.
_IANA_NUMBER: Final = re.compile(r"^(\d{1,10})$")


def _clean(name: str) -> str:
    return " ".join(name.replace("\t", " ").split())


def _from_wireshark(text: str) -> Iterator[tuple[int, str]]:
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        number, _, rest = line.partition("\t")
        name = rest.split("\t#", 1)[0]
        if number.strip().isdigit() and _clean(name):
            yield int(number), _clean(name)


def _from_iana(text: str) -> Iterator[tuple[int, str]]:
    lines = text.splitlines()
    for index, line in enumerate(lines[:-1]):
        found = _IANA_NUMBER.match(line.strip()) if line[:1].isdigit() else None
        if found and lines[index + 1].startswith(" "):
            name = _clean(lines[index + 1])
            if name and name != "---none---":
                yield int(found.group(1)), name


def build_pen_registry(
    wireshark: Path | None = WIRESHARK_ENTERPRISES, iana: Path | None = None
) -> tuple[dict[int, str], list[str]]:
    """Read the registry (IANA export first, then Wireshark's copy); return (table, sources)."""
    table: dict[int, str] = {}
    used: list[str] = []
    for path, parse, label in (
        (iana, _from_iana, "IANA enterprise-numbers text export"),
        (wireshark, _from_wireshark, "Debian libwireshark-data enterprises.tsv"),
    ):
        if path is None or not path.exists():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        updated = _UPDATED.search(text[:2000])
        count = 0
        for number, name in parse(text):
            if number not in table:
                table[number] = name
                count += 1
        when = f", registry last updated {updated.group(1)}" if updated else ""
        used.append(f"{label} {path}{when}: {count} numbers")
    if not table:
        raise FileNotFoundError(
            f"no PEN registry found (apt-get install libwireshark-data for {WIRESHARK_ENTERPRISES},"
            " or pass --iana enterprise-numbers.txt)"
        )
    return table, used


def render_pen_registry(table: dict[int, str], sources: Sequence[str], when: str) -> str:
    """The TSV text, with its provenance in a comment header."""
    header = [
        "# ndaa-scan IANA Private Enterprise Numbers registry: number -> registrant, every entry.",
        "# https://www.iana.org/assignments/enterprise-numbers/ . GENERATED - do not edit by hand;",
        "#   ndaa-scan fingerprints refresh-pen   (or python -m fingerprints.pen_refresh)",
        f"# generated: {when}",
        *(f"# source: {s}" for s in sources),
        f"# entries: {len(table)}",
        "# columns: enterprise number <TAB> registrant",
    ]
    rows = [f"{number}\t{name}" for number, name in sorted(table.items())]
    return "\n".join(header + rows) + "\n"


def default_pen_output() -> Path:
    """Where the shipped registry lives."""
    return Path(str(resources.files("fingerprints").joinpath("reference/enterprise_numbers.tsv")))


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate the registry file; print a one-line summary on stderr."""
    parser = argparse.ArgumentParser(prog="python -m fingerprints.pen_refresh", description=__doc__)
    parser.add_argument("--wireshark", type=Path, default=WIRESHARK_ENTERPRISES)
    parser.add_argument("--iana", type=Path, default=None)
    parser.add_argument("-o", "--output", type=Path, default=None)
    args = parser.parse_args(argv)
    table, sources = build_pen_registry(args.wireshark, args.iana)
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    output: Path = args.output or default_pen_output()
    output.write_text(render_pen_registry(table, sources, when), encoding="utf-8")
    sys.stderr.write(f"wrote {len(table)} enterprise numbers to {output}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
