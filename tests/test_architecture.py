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


# Calls whose string arguments are paths inside a run or sweep folder.
_PATH_CALLS = {"join", "exists", "path", "_parts_in", "read_json", "write_json", "write_bytes", "create_json",
               "put_if_absent", "delete", "read_bytes"}
# Folders that share a layout name but are no part of a run or sweep.
_NOT_LAYOUT = {"trainer/metrics/cache.py": {"metrics"},          # the detector cache's own folder
               "trainer/metrics/inception.py": {"checkpoints"}}  # torch hub's folder


def _layout_names() -> tuple[set[str], set[str]]:
    """(file names, folder names) that resultsformat/layout.py declares."""
    from resultsformat import layout
    values = {v for k, v in vars(layout).items() if k.isupper() and isinstance(v, str)}
    return {v for v in values if "." in v}, {v for v in values if "." not in v}


def _layout_literals(path: Path, files: set[str], folders: set[str]) -> list[str]:
    """Where PATH spells a layout name by hand: a file name anywhere, a folder name where it builds a path."""
    tree = ast.parse(path.read_text(), filename=str(path))
    path_args: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            path_args.update(id(n) for n in (node.left, node.right))
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in _PATH_CALLS:
                path_args.update(id(a) for a in node.args)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
            if (text.startswith("tick{}") and text.endswith(".png")) or text.split("/")[0] in folders and "/" in text:
                found.append(f"{node.lineno}: f{text!r}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            v = node.value
            if v in files or (v in folders and id(node) in path_args) or ("/" in v and v.split("/")[0] in folders and " " not in v):
                found.append(f"{node.lineno}: {v!r}")
    return found


@pytest.mark.parametrize("package", ("trainer", "sweeps", "analysis"))
def test_layout_names_come_from_resultsformat(package: str) -> None:
    """Every file and folder name of a run or sweep is spelled once, in resultsformat/layout.py."""
    files, folders = _layout_names()
    offenders = {rel: hits for p in _sources(package)
                 if (hits := _layout_literals(p, files, folders - _NOT_LAYOUT.get(rel := str(p.relative_to(ROOT)), set())))}
    assert offenders == {}


# Calls that open a filesystem or read Parquet: the store's one reader makes them (resultsformat/reader.py).
_READER_CALLS = {"from_uri", "read_table", "ParquetFile", "read_parquet", "dataset"}
# The report's upload writes its own output to a bucket, which is no read of a store.
_NOT_STORE_READS = {"analysis/report.py": {"from_uri"}}


@pytest.mark.parametrize("package", ("sweeps", "analysis"))
def test_one_store_reader(package: str) -> None:
    """sweeps.store and analysis read a store, local or in a bucket, only through resultsformat.reader."""
    offenders = {}
    for path in _sources(package):
        rel = str(path.relative_to(ROOT))
        calls = {node.func.attr for node in ast.walk(ast.parse(path.read_text(), filename=rel))
                 if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)}
        if hits := sorted(calls & _READER_CALLS - _NOT_STORE_READS.get(rel, set())):
            offenders[rel] = hits
    assert offenders == {}


def test_catalog_sweep_names_are_declared_once() -> None:
    """sweeps.catalog and analysis's figures name the catalogue's sweeps from resultsformat.sweep_names, and agree."""
    from analysis.figures import CATALOG_SWEEPS, FIGURES, TABLES
    from resultsformat.sweep_names import CATALOG
    from sweeps.catalog import SWEEPS
    assert tuple(SWEEPS) == CATALOG
    assert sorted(CATALOG_SWEEPS) == sorted(CATALOG)
    assert {s for spec in (*FIGURES, *TABLES) for s in spec.sweeps} == set(CATALOG_SWEEPS)


def _absolute_imports(path: Path) -> set[str]:
    """Full dotted names PATH imports (`from a.b import c` gives a.b and a.b.c)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


_CONFIG_MODULES = ("trainer.config", "trainer.config.augment", "trainer.nvlabs_config")


def _is_config(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in _CONFIG_MODULES)


def test_augmentation_imports_no_configuration() -> None:
    """trainer/augment/ knows nothing of the trainer's configuration: the config imports its names, never the reverse."""
    offenders = {str(p.relative_to(ROOT)): sorted(n for n in _absolute_imports(p) if _is_config(n))
                 for p in _sources("trainer/augment")}
    assert {k: v for k, v in offenders.items() if v} == {}


# What trainer/config/ may import from the trainer: modules that, like it, load no torch.
_CONFIG_MAY_IMPORT = ("trainer.config", "trainer.config.augment", "trainer.errors", "trainer.augment.specs")


def test_config_package_imports_only_torch_free_modules() -> None:
    """trainer/config/ (models, presets, overrides, error line, dry-run display, Parquet columns) imports no torch,
    ray or numpy, and of the trainer only torch-free modules: the sweep driver validates a whole grid with it."""
    offenders = {}
    for path in _sources("trainer/config"):
        modules = {n.split(".")[0] if n.split(".")[0] != "trainer" else n for n in _absolute_imports(path)}
        bad = {m for m in modules if m in ("torch", "ray", "numpy", "torchvision")
               or (m.startswith("trainer") and not any(m == a or m.startswith(a + ".") for a in _CONFIG_MAY_IMPORT))}
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_config_and_augment_specs_pull_in_no_torch() -> None:
    """The config validates augpipe specs and DiffAugment ops against trainer.augment.specs without loading torch."""
    code = ("import sys, trainer.config, trainer.augment.specs, trainer.augment; "
            "from trainer.augment import SPECS; bad = [m for m in ('torch', 'ray') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _reported_literals(path: Path) -> set[str]:
    """Names PATH reports to the statistics channel: the literal first argument of every `.report(...)` call."""
    return {node.args[0].value for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "report"
            and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)}


def test_statistics_go_through_the_channel() -> None:
    """Every column declared `reported` has its report line in trainer/, and nothing in trainer/ keeps a statistic's
    running sum by hand (a TickStats-style `sum_loss_D` field): trainer/stats.py accumulates, readers take windows."""
    from resultsformat import reported_names
    reported = set().union(*(_reported_literals(p) for p in _sources("trainer")))
    assert set(reported_names()) - reported == set()
    hand_kept = {f"sum_{n}" for n in (*reported_names(), "sign")} | {"n_logits"}
    offenders = {str(p.relative_to(ROOT)): sorted(found) for p in _sources("trainer")
                 if (found := {getattr(n, "attr", getattr(n, "id", None)) for n in ast.walk(ast.parse(p.read_text()))}
                     & hand_kept)}
    assert offenders == {}
