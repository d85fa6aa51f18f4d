"""Evidence bundle: pack a scan, re-derive its verdicts from the bundled rules, byte for byte."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from fingerprints import identify, load_database
from reports import ScanInfo, build_inventory

from .conftest import CITY_SAMPLE, T0, observations

ROOT = Path(__file__).parents[2]
ROUTER = ("198.18.0.40", "telnet.banner", "TD-W8961ND 1.0 DSL Modem Router\r\nLogin: ")


def ndaa(*args):
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        capture_output=True,
        timeout=120,
        check=False,
        cwd=ROOT,
        env={**os.environ, "NDAA_SCAN_DB": "off"},
    )


@pytest.fixture
def scan_dir(tmp_path):
    """A sweep's --out directory: results.jsonl and the inventory judged by the current rules."""
    obs = observations([*CITY_SAMPLE, ROUTER])
    db = load_database()
    info = ScanInfo(
        scope=("198.18.0.0/24",),
        started_at=T0,
        finished_at=T0.replace(minute=1),
        probes=("arp", "http_banner"),
        tool_version="0.1.0",
        fingerprint_db_version=db.version,
    )
    out = tmp_path / "scan"
    out.mkdir()
    (out / "results.jsonl").write_text("".join(o.model_dump_json() + "\n" for o in obs))
    (out / "inventory.json").write_text(build_inventory(identify(obs, db), info).model_dump_json())
    return out


def test_bundle_rederives_identical_verdicts(scan_dir, tmp_path):
    bundle = tmp_path / "evidence.zip"
    proc = ndaa("bundle", str(scan_dir), "-o", str(bundle))
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
        bundled = archive.read("verdicts.jsonl")
    for name in (
        "results.jsonl",
        "inventory.json",
        "inventory.csv",
        "inventory.html",
        "inventory.pdf",
        "inventory.junit.xml",
        "inventory.xlsx",
        "fingerprints/rules/hikvision.toml",
        "fingerprints/reference/policies/fcc-covered-list.toml",
    ):
        assert name in names, name
    assert manifest["fingerprint_db_version"] == load_database().version
    assert manifest["reference_sha256"].startswith("sha256:")
    assert manifest["tool_version"]

    proc = ndaa("identify", "--bundle", str(bundle))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == bundled  # byte-identical
    verdicts = [json.loads(line) for line in bundled.splitlines()]
    assert {v["host"]: v["coverage"] for v in verdicts}["198.18.0.10"] == "covered"

    # Bundling again gives the same verdicts and results (PDF/XLSX renders carry build times).
    again = tmp_path / "again.zip"
    assert ndaa("bundle", str(scan_dir), "-o", str(again)).returncode == 0
    with zipfile.ZipFile(again) as archive:
        files = json.loads(archive.read("manifest.json"))["files"]
    for name in ("verdicts.jsonl", "results.jsonl", "inventory.json", "inventory.csv"):
        assert files[name] == manifest["files"][name]


def test_tampered_bundle_fails(scan_dir, tmp_path):
    bundle = tmp_path / "evidence.zip"
    assert ndaa("bundle", str(scan_dir), "-o", str(bundle)).returncode == 0
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "fingerprints/rules/hikvision.toml":
                data = data.replace(b"certainty = 0.9", b"certainty = 0.1", 1)
            dst.writestr(info, data)
    proc = ndaa("identify", "--bundle", str(tampered))
    assert proc.returncode == 1
    assert b"does not match the manifest" in proc.stderr
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    assert ndaa("identify", "--bundle", str(junk)).returncode == 2
