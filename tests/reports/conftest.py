"""Fixed inventories shared by the exporter tests (frozen clock, frozen versions)."""

from datetime import UTC, datetime
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from fingerprints import identify, load_database
from reports import Inventory, ScanInfo, build_inventory
from scanner.results import Observation

T0 = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)


def observations(rows):
    return [
        Observation(
            host=IPv4Address(host),
            protocol=key.split(".")[0],
            field=key.split(".")[1],
            value=value,
            observed_at=T0,
        )
        for host, key, value in rows
    ]


def make_inventory(rows, **scan) -> Inventory:
    info = ScanInfo(
        scope=("198.18.0.0/24",),
        started_at=T0,
        finished_at=T0.replace(minute=1),
        probes=("arp", "http_banner"),
        status_counts={"arp": {"success": 3}},
        tool_version="0.1.0",
        fingerprint_db_version="sha256:test",
        operator="golden",
        **{"limitations": ("test limitation",), **scan},
    )
    return build_inventory(identify(observations(rows), load_database()), info)


CITY_SAMPLE = [
    ("198.18.0.10", "mac.mac", "44:19:b6:4e:1a:20"),
    ("198.18.0.10", "http.server_header", "App-webs/"),
    ("198.18.0.11", "mac.mac", "ac:cc:8e:3a:0a:8f"),
    (
        "198.18.0.11",
        "http.www_authenticate",
        'Digest realm="AXIS_ACCC8E3A0A8F", nonce="n", qop="auth"',
    ),
    ("198.18.0.12", "mac.mac", "3c:ef:8c:00:00:07"),
]

HOSTILE = [
    ("198.18.0.66", "http.server_header", "App-webs/"),
    ("198.18.0.66", "http.title", "=cmd|' /C calc'!A0"),
    ("198.18.0.67", "http.title", "<script>alert(1)</script>"),
    ("198.18.0.68", "http.title", "M" * 1_000_000),
]


@pytest.fixture(autouse=True)
def history_db(tmp_path, monkeypatch):
    """Every reports test records history in its own temp file, never in the user's data dir."""
    path = tmp_path / "history.sqlite3"
    monkeypatch.setenv("NDAA_SCAN_DB", str(path))
    return path


@pytest.fixture
def sample_inventory() -> Inventory:
    return make_inventory(CITY_SAMPLE)


@pytest.fixture
def hostile_inventory() -> Inventory:
    return make_inventory(HOSTILE)


DATA = Path(__file__).parent / "data"
#: A recorded sweep of the city-hall lab (examples/lab/city-hall.toml, 45 hosts), schema 1.2,
#: recorded once so the filing reports have golden files without lab time.
CITYHALL_INVENTORY = DATA / "cityhall-inventory.json"
#: An awkward asset register for the same site: odd headers, mixed MAC and date spellings.
CITYHALL_REGISTER = DATA / "cityhall-register.csv"


@pytest.fixture
def cityhall_inventory() -> Inventory:
    return Inventory.model_validate_json(CITYHALL_INVENTORY.read_bytes())
