"""The dependency rules of docs/architecture.md "Layers and import rules", checked on the source and on a live import.

`trainer` must stay usable without Ray (the CLI, notebooks, other schedulers), and
`analysis` must run on a laptop with no torch at all, so both are enforced here
rather than trusted to review.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("trainer", "sweeps", "analysis", "benchmarks", "resultsformat")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize(("package", "forbidden"), [
    ("trainer", {"ray", "sweeps", "analysis"}),
    ("analysis", {"torch", "ray", "trainer", "sweeps", "torchvision"}),
    # the results format is shared by all three: pyarrow (and numpy, which pyarrow brings) only
    ("resultsformat", {"torch", "ray", "trainer", "sweeps", "analysis", "torchvision", "pandas", "matplotlib"}),
])
def test_forbidden_imports_in_source(package: str, forbidden: set[str]) -> None:
    offenders = {str(p.relative_to(ROOT)): sorted(_imports(p) & forbidden) for p in _sources(package)}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_analysis_import_pulls_in_no_torch_or_ray() -> None:
    code = "import sys, analysis, analysis.report; bad = [m for m in ('torch', 'ray') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_resultsformat_import_pulls_in_pyarrow_only() -> None:
    code = ("import sys, resultsformat, resultsformat.layout; "
            "bad = [m for m in ('torch', 'ray', 'pandas', 'trainer', 'sweeps', 'analysis') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_trainer_loop_import_pulls_in_no_ray() -> None:
    code = "import sys, trainer.loop, trainer.__main__; sys.exit(1 if 'ray' in sys.modules else 0)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("package", PACKAGES)
def test_modules_have_docstrings_and_no_utils(package: str) -> None:
    for path in _sources(package):
        assert path.name != "utils.py", f"{path}: no utils.py, name the module after its job"
        tree = ast.parse(path.read_text())
        if path.name == "__init__.py" and not tree.body:
            continue
        assert ast.get_docstring(tree), f"{path.relative_to(ROOT)} has no module docstring"


@pytest.mark.parametrize("package", PACKAGES)
def test_files_stay_small(package: str) -> None:
    big = {str(p.relative_to(ROOT)): n for p in _sources(package) if (n := len(p.read_text().splitlines())) > 500}
    assert big == {}
