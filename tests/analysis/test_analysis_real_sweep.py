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
pytestmark = pytest.mark.e2e   # `real_root` (two real sweeps, shared with tests/test_results_format.py) is in tests/conftest.py


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


def _evaluate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sweeps.evaluate", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_sweeps_evaluate_remeasures_every_trial_and_the_report_uses_it(real_root: Path, tmp_path: Path) -> None:
    import shutil

    import pandas as pd
    from analysis import load_metrics
    from analysis.figures_fixed_p import fig4_fid_vs_p

    sweep = tmp_path / "store" / "fixed_p_grid"
    shutil.copytree(real_root / "fixed_p_grid", sweep)   # the other tests keep the untouched sweep
    logged = load_metrics(sweep)
    finals = logged[logged["tick"] == 2].set_index("trial_id")["fid"]

    # bad input: one line, exit 2, nothing written
    for args, needle in [((str(sweep / "ray"),), "not a sweep folder"), (("s3://no-such-host-bucket/fixed_p_grid",), "s3://no-such-host-bucket/fixed_p_grid: unsupported or unreachable URI"),
                         (("s3://bucket",), "s3://bucket: not a sweep folder"),
                         ((str(sweep), "--trials", "nope"), "--trials: nope not in"),
                         ((str(sweep), "--set", "model.z_dim=8"), "only metrics.*"),
                         ((str(sweep), "--set", "metrics.detector=inception"), "another detector"),
                         ((str(sweep), "--repeats", "0"), "--repeats 0")]:
        proc = _evaluate(*args)
        assert proc.returncode == 2 and needle in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, (args, proc.stderr)
    assert not (sweep / "evaluations").exists()

    # one draw with the logged settings reproduces each trial's logged final FID exactly
    proc = _evaluate(str(sweep), "--repeats", "1")
    assert proc.returncode == 0, proc.stderr[-2000:]
    m = load_metrics(sweep)
    last = m[m["tick"] == 2].set_index("trial_id")
    assert last["fid_eval"].to_dict() == finals.to_dict() and (last["fid_eval_repeats"] == 1).all()
    assert m.loc[m["tick"] == 1, "fid_eval"].isna().all()

    # three draws at four times the samples: the careful evaluation wins; draw 0 is a different size now, so it differs
    trial = str(finals.index[0])
    proc = _evaluate(str(sweep), "--trials", trial, "--repeats", "3", "--set", "metrics.fid_samples=400")
    assert proc.returncode == 0 and f"[1/1] {trial} tick 2" in proc.stdout, proc.stdout + proc.stderr
    parts = sorted((sweep / "evaluations").glob("*.parquet"))
    assert len(parts) == 2 and not list((sweep / "evaluations").glob(".*"))   # one immutable part per run, no temp left
    careful = pd.read_parquet([p for p in parts if len(pd.read_parquet(p)) == 1][0]).iloc[0]
    assert careful["fid_samples"] == 400 and careful["repeats"] == 3 and careful["fid_std"] > 0
    last = load_metrics(sweep).query("tick == 2").set_index("trial_id")
    assert last.loc[trial, "fid_eval"] == careful["fid"] and last.loc[trial, "fid_eval_samples"] == 400
    others = [t for t in finals.index if t != trial]
    assert (last.loc[others, "fid_eval"] == finals[others]).all()

    fig = fig4_fid_vs_p(load_metrics(sweep))
    assert "re-measured: several sample counts" in fig.axes[0].get_ylabel()
