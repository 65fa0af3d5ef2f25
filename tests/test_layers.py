"""The layers of DESIGN.md point one way, read from every module's imports (ast, not run):
common <- drivers <- sequences <- bench; sim_instruments below pyvisa, on common only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
LAYERS = ("common", "drivers", "sequences", "sim_instruments", "bench")
ALLOWED = {  # which of our packages each package may import (itself always)
    "common": set(),
    "drivers": {"common"},
    "sequences": {"common", "drivers"},
    "sim_instruments": {"common"},
    "bench": {"common", "drivers", "sequences", "sim_instruments"},
}


def imported_packages(path: Path, package: str) -> set[tuple[str, int]]:
    """Our top-level packages a module imports, anywhere in it (function-level imports too),
    with their line."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [package] if node.level else [node.module or ""]
        else:
            continue
        found.update((name.split(".")[0], node.lineno) for name in names
                     if name.split(".")[0] in LAYERS)
    return found


MODULES = [(package, path) for package in LAYERS
           for path in sorted((ROOT / package).rglob("*.py"))]


@pytest.mark.parametrize("package, path", MODULES,
                         ids=[str(p.relative_to(ROOT)) for _, p in MODULES])
def test_imports_point_down(package, path):
    wrong = sorted((name, line) for name, line in imported_packages(path, package)
                   if name != package and name not in ALLOWED[package])
    assert not wrong, f"{path.relative_to(ROOT)} imports " + ", ".join(
        f"{name} (line {line})" for name, line in wrong)


def test_every_layer_has_modules_and_the_reader_sees_imports():
    assert {package for package, _ in MODULES} == set(LAYERS)
    found = imported_packages(ROOT / "bench" / "runner.py", "bench")
    assert {"drivers", "sequences", "common"} <= {name for name, _ in found}
