"""Data flows one way: scanner -> fingerprints -> reports, wired only in scanner/cli/.

A higher stage may import a lower one; never the reverse. This parses every module's imports
(static and lazy ones inside functions alike), so it fails the moment a wrong import appears.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
LAYER = {"scanner": 0, "fingerprints": 1, "reports": 2}
COMPOSITION_ROOT = ROOT / "scanner" / "cli"


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & LAYER.keys()


MODULES = sorted(p for pkg in LAYER for p in (ROOT / pkg).rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_flow_one_way(path):
    if COMPOSITION_ROOT in path.parents:
        return
    own = path.relative_to(ROOT).parts[0]
    upward = {pkg for pkg in imported_packages(path) if LAYER[pkg] > LAYER[own]}
    assert not upward, f"{path.relative_to(ROOT)} imports {upward}: data must flow one way"


def test_the_check_can_fail(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from reports import export\n")
    assert imported_packages(bad) == {"reports"}


def test_every_probe_module_exports_a_probe():
    from scanner.probes import all_probes

    modules = {p.stem for p in (ROOT / "scanner" / "probes").glob("*.py")} - {"__init__", "base"}
    assert modules == {probe.info.name for probe in all_probes().values()}
