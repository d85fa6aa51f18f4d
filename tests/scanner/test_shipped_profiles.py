"""Lab files by name: a path wins, a shipped name resolves, anything else names the choices."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.errors import LabError
from scanner.lab import shipped

ROOT = Path(__file__).resolve().parents[2]


def test_every_example_profile_ships_by_name():
    names = set(shipped.shipped())
    assert names == {p.stem for p in (ROOT / "examples" / "lab").glob("*.toml")}


def test_a_name_resolves_to_the_shipped_file():
    assert shipped.resolve("city-hall").name == "city-hall.toml"
    assert shipped.resolve("city-hall.toml").name == "city-hall.toml"


def test_an_existing_path_is_taken_as_given(tmp_path, monkeypatch):
    own = tmp_path / "city-hall.toml"
    own.write_text("schema_version = 1\n")
    monkeypatch.chdir(tmp_path)
    assert shipped.resolve("city-hall.toml") == Path("city-hall.toml")
    assert shipped.resolve(own) == own


def test_an_unknown_name_lists_the_shipped_ones():
    with pytest.raises(LabError, match=r"town-hall: no such file .*shipped: .*city-hall"):
        shipped.resolve("town-hall")


def test_a_missing_path_in_a_directory_is_not_taken_for_a_name():
    with pytest.raises(LabError, match="no such file"):
        shipped.resolve("somewhere/city-hall.toml")
