"""ndaa-scan sweep vs nmap -sV on the same lab and the same TCP ports: wall time and what each
identified, side by side, with the speed ratio.

Run as root from the repository (both tools run inside the lab's scanner namespace; nothing is
sent from the root namespace):

    .venv/bin/python benchmarks/sweep_vs_nmap.py [--profile examples/lab/city-hall.toml]

The lab is brought up and torn down by the script (``--keep NAME`` reuses a running lab).
"Identified" means: for every host whose ground truth names a maker, the tool named that maker.
For ndaa-scan that is the inventory's ``maker``; for nmap it is nmap's own verdict (the maker's
name in a service product/extrainfo or in nmap's MAC vendor), and separately the same nmap XML
judged by ndaa-scan's rules (``ndaa-scan import``), which shows what the probes add.

ndaa-scan's wall time is given twice: until it returns with the inventory of record (JSON) and
the CSV, HTML and JUnit files (``--heavy-reports background``), and until the PDF and XLSX are
in place as well. nmap writes only its XML. ``--rate`` sets ndaa-scan's packet rate (the CLI's
own default otherwise); nmap keeps its default timing, which has no rate cap.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scanner import lab  # noqa: E402
from scanner.cli.deferred import wait_for_deferred  # noqa: E402
from scanner.lab.profile import load_profile  # noqa: E402
from scanner.probes.nmap_service import parse_nmap_xml  # noqa: E402

#: The TCP ports the native probes use (web, TLS, RTSP, ONVIF) plus the vendor SDK ports that
#: the liveness check knocks on; nmap gets exactly these.
PORTS = "80,443,554,8000,8080,8443,37777"
NMAP_NAMES = {
    "hikvision": ("hikvision",),
    "dahua": ("dahua",),
    "huawei": ("huawei",),
    "zte": ("zte",),
    "hytera": ("hytera",),
    "axis": ("axis",),
}


def run(cmd: list[str], timeout: float) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    return time.monotonic() - started, proc


def nmap_makers(xml: bytes) -> dict[str, set[str]]:
    """host -> makers named in nmap's own verdict (service strings and MAC vendor)."""
    named: dict[str, set[str]] = {}
    for host in parse_nmap_xml(xml):
        text = (
            " ".join(
                " ".join(filter(None, (p.product, p.extrainfo, p.devicetype, " ".join(p.cpes))))
                for p in host.ports
            )
            + " "
            + (host.mac_vendor or "")
        )
        lowered = text.lower()
        named[str(host.address)] = {
            m for m, words in NMAP_NAMES.items() if any(w in lowered for w in words)
        }
    return named


def inventory_makers(path: Path) -> dict[str, str | None]:
    inventory = json.loads(path.read_text())
    return {a: d.get("maker") for d in inventory["devices"] for a in d["addresses"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--profile", type=Path, default=ROOT / "examples" / "lab" / "city-hall.toml"
    )
    parser.add_argument("--keep", help="use this running lab instead of building one")
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="ndaa-scan's --rate (default: the CLI's own); nmap keeps its default timing",
    )
    args = parser.parse_args()
    profile = load_profile(args.profile)
    name = args.keep or "e4nmap"
    if not args.keep:
        lab.down(name)
        lab.up(args.profile, name)
    scan_ns = f"ndl-{name}-scan"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            ours_s, proc = run(
                [
                    sys.executable,
                    "-m",
                    "scanner",
                    "sweep",
                    "--netns",
                    scan_ns,
                    str(profile.network),
                    "--out",
                    str(work / "ours"),
                    "--quiet",
                    "--fail-on",
                    "never",
                    # The inventory of record, CSV, HTML and JUnit before it returns; PDF and
                    # XLSX right after, timed separately below.
                    "--heavy-reports",
                    "background",
                    *(["--rate", str(args.rate)] if args.rate else []),
                ],
                timeout=900,
            )
            if proc.returncode != 0:
                print(proc.stderr)
                return 1
            returned = time.monotonic()
            in_place = wait_for_deferred(work / "ours", timeout_s=300)
            every_file_s = ours_s + time.monotonic() - returned if in_place else None
            nmap_s, proc = run(
                [
                    "ip",
                    "netns",
                    "exec",
                    scan_ns,
                    "nmap",
                    "-n",
                    "-sV",
                    "-p",
                    PORTS,
                    "-oX",
                    str(work / "nmap.xml"),
                    str(profile.network),
                ],
                timeout=3600,
            )
            if proc.returncode != 0:
                print(proc.stderr)
                return 1
            xml = (work / "nmap.xml").read_bytes()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "scanner",
                    "import",
                    str(work / "nmap.xml"),
                    "--out",
                    str(work / "imported"),
                    "--quiet",
                    "--fail-on",
                    "never",
                ],
                check=True,
                capture_output=True,
                timeout=300,
            )
            ours = inventory_makers(work / "ours" / "inventory.json")
            imported = inventory_makers(work / "imported" / "inventory.json")
            theirs = nmap_makers(xml)
    finally:
        if not args.keep:
            lab.down(name)

    truth = {str(h.address): h.truth for h in profile.hosts}
    with_maker = {a: t for a, t in truth.items() if t.maker}
    covered = {a for a, t in truth.items() if t.covered}

    def score(found) -> tuple[int, int]:
        hits = [
            a for a, t in with_maker.items() if found(a) == t.maker or t.maker in (found(a) or ())
        ]
        return len(hits), len([a for a in hits if a in covered])

    ours_hits = score(lambda a: ours.get(a))
    nmap_hits = score(lambda a: theirs.get(a, set()))
    imported_hits = score(lambda a: imported.get(a))
    wrong_ours = [a for a in truth if ours.get(a) and ours.get(a) != truth[a].maker]
    print(
        f"lab {profile.name}: {len(truth)} hosts, {len(with_maker)} with a known maker, "
        f"{len(covered)} covered; TCP ports {PORTS}"
    )
    print(f"{'':34}{'ndaa-scan sweep':>18}{'nmap -sV':>14}{'nmap XML + rules':>20}")
    print(f"{'wall time (s)':34}{ours_s:>18.1f}{nmap_s:>14.1f}{'-':>20}")
    every = f"{every_file_s:.1f}" if every_file_s is not None else "not in 300 s"
    print(f"{'  ... every file (PDF, XLSX) (s)':34}{every:>18}{'':>14}{'':>20}")
    rows = [
        (f"maker identified (of {len(with_maker)})", 0),
        (f"covered devices found (of {len(covered)})", 1),
    ]
    for label, k in rows:
        print(f"{label:34}{ours_hits[k]:>18}{nmap_hits[k]:>14}{imported_hits[k]:>20}")
    print(f"{'wrong maker claimed':34}{len(wrong_ours):>18}{'':>14}{'':>20}")
    rate = f"--rate {args.rate:.0f}" if args.rate else "its default --rate"
    print(f"speed ratio nmap/ndaa-scan ({rate}; nmap -sV at its default timing):")
    print(f"  to the inventory of record (JSON, CSV, HTML, JUnit): {nmap_s / ours_s:.1f}x")
    if every_file_s is not None:
        print(f"  to every file in place (PDF and XLSX too):         {nmap_s / every_file_s:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
