"""Every module that parses untrusted bytes (defines ``parse_*``) has a hypothesis fuzz test.

zgrab2's check-fuzz-coverage, as a pytest (aesthetics §3.9, §7.4).
"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PARSER_MODULES = sorted(
    path
    for path in [*(ROOT / "scanner" / "probes").glob("*.py"), ROOT / "scanner" / "safe_xml.py"]
    if re.search(r"^def parse_\w+\(", path.read_text(), re.MULTILINE)
)


def _test_file(module: Path) -> Path:
    if module.parent.name == "probes":
        return ROOT / "tests" / "scanner" / "probes" / f"test_{module.stem}.py"
    return ROOT / "tests" / "scanner" / f"test_{module.stem}.py"


def test_there_are_parsers_to_check():
    assert len(PARSER_MODULES) >= 8


@pytest.mark.parametrize("module", PARSER_MODULES, ids=lambda p: p.stem)
def test_every_parser_has_a_fuzz_test(module):
    parsers = re.findall(r"^def (parse_\w+)\(", module.read_text(), re.MULTILINE)
    test_file = _test_file(module)
    assert test_file.exists(), f"{module.name} parses bytes but has no {test_file.name}"
    tree = ast.parse(test_file.read_text())
    fuzzed: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and any(
            isinstance(d, ast.Call) and getattr(d.func, "id", "") == "given"
            for d in node.decorator_list
        ):
            fuzzed |= {
                n.id
                for n in ast.walk(node)
                if isinstance(n, ast.Name) and n.id.startswith("parse_")
            }
    missing = [name for name in parsers if name not in fuzzed]
    assert not missing, f"{module.name}: no @given test calls {missing}"


def test_every_probe_module_exports_a_probe_and_names_are_unique():
    from scanner.probes import all_probes

    modules = {p.stem for p in (ROOT / "scanner" / "probes").glob("*.py")} - {"__init__", "base"}
    modules = {m for m in modules if not m.startswith("_")}
    assert {p.info.name for p in all_probes().values()} >= modules
    assert len(all_probes()) == len(modules)


def test_every_emitted_field_is_in_the_vocabulary():
    from scanner.probes import emitted_fields
    from scanner.results import FIELD_VOCABULARY

    for key in emitted_fields():
        protocol, field = key.split(".", 1)
        assert field in FIELD_VOCABULARY.get(protocol, frozenset()), key
