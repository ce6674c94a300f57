"""The analysis on results written by real sweeps, not synthetic ones: report figures and notebooks.

Two small sweeps run through `python -m sweeps.launch` (a real Ray runtime, the real
trainer and store) into one storage root; the report and the matching notebooks
must then draw from them.  The synthetic study in conftest.py covers every figure
and edge case; this one catches the store and the analysis drifting apart.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "analysis" / "notebooks"
sys.path.insert(0, str(ROOT / "tests" / "sweeps"))
from launch_helpers import FAST  # noqa: E402

# The e2e sweeps' fast trial settings, but keeping each sweep's own dataset sizes (overfitting's are its axis).
SMALL = [s for s in FAST if not s.startswith("data.dataset_size=")] + ["run.total_kimg=2"]

pytestmark = pytest.mark.e2e


def _launch(name: str, storage: Path, *extra: str) -> None:
    sets = [a for s in [*SMALL, *extra] for a in ("--set", s)]
    proc = subprocess.run([sys.executable, "-m", "sweeps.launch", name, "--storage", str(storage), *sets],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.fixture(scope="module")
def real_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("real_store")
    _launch("fixed_p_grid", root, "augment.augpipe=blit", "data.dataset_size=200")
    _launch("overfitting", root, "data.val_size=200")
    return root


def test_report_draws_the_real_sweeps(real_root: Path, tmp_path: Path) -> None:
    import pandas as pd
    from analysis import load_metrics
    from analysis.report import render_report

    m = load_metrics(str(real_root))
    assert sorted(m.groupby("sweep")["trial_id"].nunique().items()) == [("fixed_p_grid", 3), ("overfitting", 2)]
    assert m.groupby(["trial_id", "tick"]).size().max() == 1 and set(m["tick"]) == {1, 2}
    assert set(m.loc[m["sweep"] == "overfitting", "dataset_size"]) == {1000, 5000}
    assert m["fid"].notna().all() and m["D_real_val"].notna().all() and set(m["detector"]) == {"offline"}
    assert pd.api.types.is_float_dtype(m["p"]) and m.loc[m["aug_mode"] == "none", "p"].isna().all()
    index = render_report(str(real_root), str(tmp_path / "report"), workers=1, formats=("png",))
    drawn = {p.stem for p in index.parent.glob("*.png")}
    assert {"ada_fig4abc_fid_vs_p", "ada_fig1bc_d_outputs"} <= drawn, drawn
    html = index.read_text()
    assert "TERMINATED" in html and "python -m sweeps.launch leakage_grid" in html   # skipped figures say what to run


def test_notebooks_run_on_the_real_sweeps(real_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GANAUG_RESULTS", str(real_root))
    for name in ("fixed_p", "overfitting"):
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
        outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
        assert not [o for o in outputs if o.output_type == "error"], name
        assert any("image/png" in o.get("data", {}) for o in outputs), f"{name} drew nothing from real results"
