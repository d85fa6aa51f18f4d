"""``ndaa-scan bundle``: one zip an auditor can keep, and re-check years later.

``bundle SCAN_DIR -o FILE.zip`` packs a sweep's ``--out`` directory: the probe results
(``results.jsonl``), the inventory in every format, the verdicts re-derived from the results
(``verdicts.jsonl``, in ``identify``'s format), the fingerprint rules that judged them with their
version hash, a hash of the reference data (MAC registry, covered entities, policies) and the
tool version, all listed with SHA-256 in ``manifest.json``. Entries carry the inventory's date; the
verdicts, results and text formats are the same bytes every time the same scan is bundled (the
PDF and XLSX renders embed their own build times).

``identify --bundle FILE.zip`` checks the manifest, loads the bundled rules (not the installed
ones), identifies the bundled results again and prints the verdicts: byte-identical to the
bundled ``verdicts.jsonl``, or exit 1 with what differs.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from importlib import metadata, resources
from pathlib import Path
from typing import Annotated, Final

import typer

from fingerprints import identify, load_database
from fingerprints.database import RuleLoadError
from reports import ExportFormat, Inventory, InventoryLoadError, export, load_inventory_file
from scanner.cli.common import EXIT_FOUND, EXIT_OK, EXIT_USAGE, CliError, app, load_db
from scanner.cli.identify_command import identity_json, parse_observation_lines
from scanner.results import Observation

__all__ = ["bundle_command", "check_bundle", "rederive", "verdict_lines"]

MANIFEST: Final = "manifest.json"
VERDICTS: Final = "verdicts.jsonl"
RESULTS: Final = "results.jsonl"
RULES_DIR: Final = "fingerprints/rules/"
REFERENCE_DIR: Final = "fingerprints/reference/"
#: Bounds on a bundle read back: entries, and bytes per entry once inflated.
MAX_ENTRIES: Final = 2000
MAX_ENTRY_BYTES: Final = 512 * 1024 * 1024


def verdict_lines(observations: Iterable[Observation], rules: Iterable[Path] | None) -> bytes:
    """The verdicts as ``identify`` prints them, one JSON object per host."""
    db = load_database(rules) if rules is not None else load_db()
    out = io.StringIO()
    for identity in identify(observations, db):
        for host in identity.addresses:
            out.write(json.dumps(identity_json(identity, host), ensure_ascii=True) + "\n")
    return out.getvalue().encode("utf-8")


def _package_files(folder: str) -> dict[str, bytes]:
    """Every file under ``fingerprints/<folder>`` as shipped, by path relative to it."""
    root = resources.files("fingerprints").joinpath(folder)
    found: dict[str, bytes] = {}

    def walk(node: object, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):  # type: ignore[attr-defined]
            if child.name.startswith(("_", ".")):
                continue
            if child.is_dir():
                walk(child, f"{prefix}{child.name}/")
            else:
                found[prefix + child.name] = child.read_bytes()

    walk(root, "")
    return found


def _tree_hash(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return "sha256:" + digest.hexdigest()


def _tool_version() -> str:
    try:
        return metadata.version("ndaa-scan")
    except metadata.PackageNotFoundError:
        return "unknown"


def _render(inventory: Inventory, fmt: ExportFormat) -> bytes:
    buffer = io.BytesIO()
    export(inventory, fmt, buffer)
    return buffer.getvalue()


def _observations(path: Path) -> list[Observation]:
    observations, errors = parse_observation_lines(str(path), set())
    if errors:
        raise CliError(f"{path}: {errors[0]}", EXIT_USAGE)
    if not observations:
        raise CliError(f"{path}: no observations", EXIT_USAGE)
    return observations


@app.command("bundle")
def bundle_command(
    scan_dir: Annotated[
        Path,
        typer.Argument(
            metavar="SCAN", help="A sweep's --out directory (inventory.json and results.jsonl)."
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="The zip to write.")],
) -> int:
    """Pack a scan into one evidence zip: results, inventory, rules, versions, hashes."""
    try:
        inventory = load_inventory_file(scan_dir / "inventory.json")
    except InventoryLoadError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc
    results = scan_dir / RESULTS
    observations = _observations(results)
    db = load_db()
    if db.version != inventory.scan.fingerprint_db_version:
        raise CliError(
            f"the installed rules ({db.version}) are not the ones that judged this scan "
            f"({inventory.scan.fingerprint_db_version}): bundle with the same ndaa-scan",
            EXIT_USAGE,
        )
    rules = _package_files("rules")
    reference = _package_files("reference")
    files: dict[str, bytes] = {
        RESULTS: results.read_bytes(),
        "inventory.json": (scan_dir / "inventory.json").read_bytes(),
        VERDICTS: verdict_lines(observations, None),
        **{
            f"inventory{fmt.suffix}": _render(inventory, fmt)
            for fmt in ExportFormat
            if fmt is not ExportFormat.JSON
        },
        **{RULES_DIR + name: data for name, data in rules.items()},
        **{REFERENCE_DIR + name: data for name, data in reference.items()},
    }
    manifest = {
        "bundle_version": 1,
        "tool_version": _tool_version(),
        "scan_tool_version": inventory.scan.tool_version,
        "fingerprint_db_version": db.version,
        "reference_sha256": _tree_hash(reference),
        "inventory_digest": inventory.digest,
        "generated_at": inventory.generated_at.isoformat(),
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    stamp = inventory.generated_at.timetuple()[:6]
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in [
            (MANIFEST, json.dumps(manifest, indent=2).encode()),
            *sorted(files.items()),
        ]:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    sys.stdout.write(
        f"wrote {output}: {len(files)} files, rules {db.version}, inventory {inventory.digest}\n"
    )
    return EXIT_OK


def _read_bundle(path: Path) -> tuple[dict[str, object], dict[str, bytes]]:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_ENTRIES:
                raise CliError(f"{path}: {len(infos)} entries; not an ndaa-scan bundle", EXIT_USAGE)
            if any(i.file_size > MAX_ENTRY_BYTES for i in infos):
                raise CliError(f"{path}: an entry inflates too far; refused", EXIT_USAGE)
            entries = {i.filename: archive.read(i) for i in infos if not i.is_dir()}
    except (zipfile.BadZipFile, OSError) as exc:
        raise CliError(f"{path}: not a readable zip ({exc})", EXIT_USAGE) from exc
    try:
        manifest = json.loads(entries[MANIFEST])
        listed = manifest["files"]
    except (KeyError, ValueError, TypeError) as exc:
        raise CliError(f"{path}: no valid {MANIFEST}; not an ndaa-scan bundle", EXIT_USAGE) from exc
    for name, expected in listed.items():
        data = entries.get(name)
        if data is None or hashlib.sha256(data).hexdigest() != expected:
            raise CliError(f"{path}: {name} does not match the manifest", EXIT_FOUND)
    return manifest, entries


def rederive(path: Path) -> tuple[bytes, bytes, list[str]]:
    """(re-derived verdicts, bundled verdicts, problems) for a bundle."""
    manifest, entries = _read_bundle(path)
    problems: list[str] = []
    if manifest.get("reference_sha256") != _tree_hash(_package_files("reference")):
        problems.append(
            "the installed reference data (MAC registry, covered entities, policies) differs "
            "from the bundled snapshot; verdicts may differ for that reason"
        )
    with tempfile.TemporaryDirectory(prefix="ndaa-bundle-") as tmp:
        root = Path(tmp)
        rule_paths = []
        for name, data in entries.items():
            if (
                name.startswith(RULES_DIR)
                and name.endswith(".toml")
                and "/" not in name[len(RULES_DIR) :]
            ):
                target = root / name[len(RULES_DIR) :]
                target.write_bytes(data)
                rule_paths.append(target)
        results = root / RESULTS
        results.write_bytes(entries.get(RESULTS, b""))
        try:
            db = load_database(rule_paths)
        except RuleLoadError as exc:
            raise CliError(f"{path}: bundled rules do not load: {exc}", EXIT_USAGE) from exc
        if db.version != manifest.get("fingerprint_db_version"):
            problems.append(f"bundled rules hash to {db.version}, not the manifest's version")
        derived = verdict_lines(_observations(results), rule_paths)
    return derived, entries.get(VERDICTS, b""), problems


def check_bundle(path: Path) -> int:
    """``identify --bundle``: print the re-derived verdicts; 0 only when byte-identical."""
    derived, bundled, problems = rederive(path)
    sys.stdout.buffer.write(derived)
    same = derived == bundled
    if not same:
        problems.append("re-derived verdicts differ from the bundled verdicts.jsonl")
    for problem in problems:
        sys.stderr.write(f"ndaa-scan: {problem}\n")
    return EXIT_OK if same and not problems else EXIT_FOUND
