"""The lab files that ship with the tool, found by name.

In a checkout they are ``examples/lab/*.toml``; an installed wheel carries the same files as
``scanner/lab/profiles/`` (see pyproject's force-include). CI users who only ``pip install
ndaa-scan`` can then say ``lab up --profile city-hall`` without the repository.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from scanner.errors import LabError

__all__ = ["resolve", "shipped", "shipped_dir"]

_PACKAGED: Final = Path(__file__).resolve().parent / "profiles"
_CHECKOUT: Final = Path(__file__).resolve().parents[2] / "examples" / "lab"


def shipped_dir() -> Path | None:
    """Where the shipped lab files are: the installed package's copy, else the checkout's."""
    for candidate in (_PACKAGED, _CHECKOUT):
        if candidate.is_dir():
            return candidate
    return None


def shipped() -> dict[str, Path]:
    """Every shipped lab file by name (file name without ``.toml``), sorted."""
    where = shipped_dir()
    if where is None:
        return {}
    return {path.stem: path for path in sorted(where.glob("*.toml"))}


def resolve(spec: str | Path) -> Path:
    """A path as given when it exists; otherwise the shipped file of that name.

    A name that is neither raises :class:`LabError` listing the shipped names, so a typo in a
    CI job fails with the fix in the message.
    """
    path = Path(spec)
    if path.exists():
        return path
    name = path.name.removesuffix(".toml")
    files = shipped()
    if path.parent == Path() and name in files:
        return files[name]
    known = ", ".join(files) or "none"
    raise LabError(f"{spec}: no such file and no shipped lab file of that name (shipped: {known})")
