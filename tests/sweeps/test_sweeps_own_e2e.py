"""A user's own sweep end to end: the README's example file with `--grid`, watched, reported, then extended.

One real sweep (a local Ray runtime, the real trainer at 2 kimg per trial) feeds every check, in order:
- the example file with `--grid run.seed=0,1` runs every trial --dry-run announced, one row per trial x tick;
- `sweeps.status` while it runs shows running trials with their kimg, and the launch prints total lines;
- `sweeps.status` after it shows every trial TERMINATED and 'finished';
- the report draws the generic figures (FID vs each axis, over training, a heatmap) with the Parquet's numbers;
- `--resume --set run.total_kimg=3` continues every (finished) trial: ticks 1..3, no gaps or doubles, the
  first two ticks untouched, and sweep.json records the extension.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from launch_helpers import ROOT, kill_tree, run, sets, start, wait_for  # noqa: E402
from sweeps.launch import main  # noqa: E402
from sweeps.status import main as status_main  # noqa: E402
from sweeps.store import SweepStore  # noqa: E402

EXAMPLE = str(ROOT / "sweeps" / "examples" / "r1_gamma_x_p.yaml")
NAME = "r1_gamma_x_p"


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Run the example sweep once, sampling `sweeps.status` while it runs; returns paths and what was seen."""
    tmp = tmp_path_factory.mktemp("own")
    args = [EXAMPLE, "--storage", str(tmp), "--grid", "run.seed=0,1", *sets("run.total_kimg=2")]
    old = os.environ.get("GANAUG_PROGRESS_EVERY_S")
    os.environ["GANAUG_PROGRESS_EVERY_S"] = "2"
    proc = start(args, tmp / "launch.log")
    store = SweepStore(str(tmp), NAME)
    watcher = None
    try:
        def running_rows() -> str | None:
            if not store.exists("metrics") or not any(r.get("status") == "RUNNING" for r in store.read_statuses().values()):
                return None
            out = _status_text([str(tmp / NAME)])
            return out if " RUNNING " in out and "/2 " in out else None
        live = wait_for(running_rows, 240, "a running trial in sweeps.status", proc)
        watcher = subprocess.Popen([sys.executable, "-m", "sweeps.status", str(tmp / NAME), "--watch", "--every", "1"],
                                   cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        rc = proc.wait(timeout=400)
        watched = watcher.communicate(timeout=60)[0]   # --watch ends by itself once every trial has ended
    finally:
        kill_tree(proc)
        if watcher is not None and watcher.poll() is None:
            watcher.kill()
            watcher.wait(timeout=30)
        if old is None:
            os.environ.pop("GANAUG_PROGRESS_EVERY_S", None)
        else:
            os.environ["GANAUG_PROGRESS_EVERY_S"] = old
    return {"tmp": tmp, "args": args, "rc": rc, "live": live, "watched": watched, "log": (tmp / "launch.log").read_text(), "store": store}


def _status_text(argv: list[str]) -> str:
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert status_main(argv) == 0
    return buf.getvalue()


@pytest.mark.e2e
def test_file_with_grid_runs_every_announced_trial(sweep: dict, capsys: pytest.CaptureFixture[str]) -> None:
    assert sweep["rc"] == 0, sweep["log"][-3000:]
    store: SweepStore = sweep["store"]
    rows = store.read_metrics(dedup=False)
    assert sorted(zip(rows["trial_index"], rows["tick"])) == [(i, t) for i in range(12) for t in (1, 2)]
    first = rows[rows["tick"] == 1].sort_values("trial_index")
    assert first["seed"].tolist()[:4] == [0, 1, 0, 1]
    assert sorted(set(first["aug_mode"])) == ["fixed", "none"] and set(first["augpipe"].dropna()) == {"geom"}
    recorded = json.loads((sweep["tmp"] / NAME / "sweep.json").read_text())
    assert recorded["grid"] == ["run.seed=0,1"] and recorded["source"] == EXAMPLE
    assert recorded["axis_order"]["main"] == ["loss.r1_gamma", "augment.p"]
    assert "total: " in sweep["log"] and "kimg" in sweep["log"]   # the launch's total progress line


@pytest.mark.e2e
def test_status_while_running_and_after(sweep: dict) -> None:
    live = sweep["live"]
    assert live.splitlines()[1].split() == ["trial", "status", "attempt", "kimg", "img/s", "left", "best_fid", "p"]
    assert "expected finish" in live and "total: " in live
    totals = [ln for ln in sweep["watched"].splitlines() if ln.startswith("total: ")]
    assert len(totals) >= 2 and not totals[0].endswith("finished") and totals[-1].endswith("finished"), sweep["watched"][-2000:]
    done = _status_text([str(sweep["tmp"])])   # the storage root finds the sweep too
    lines = done.splitlines()
    assert len(lines) == 2 + 12 + 1
    store: SweepStore = sweep["store"]
    best = store.read_metrics().groupby("trial_index")["fid"].min()
    for line in lines[2:-1]:
        cells = line.split()
        assert cells[1] == "TERMINATED" and cells[3] == "2.0/2"
        assert float(cells[6]) == pytest.approx(best[int(cells[0])], rel=2e-3)
    assert lines[-1].startswith("total: 12/12 done, 0 running, 0 errored; 24.0/24 kimg (100%); finished")
    assert _status_text([str(sweep["tmp"] / NAME), "--watch", "--every", "0.2"]) == done   # ended: one draw, then exit


@pytest.mark.e2e
def test_report_draws_generic_figures_from_the_parquet(sweep: dict) -> None:
    from analysis.figures_generic import seed_stats
    from analysis.report import render_report
    out = sweep["tmp"] / "report"
    render_report(str(sweep["tmp"] / NAME), str(out), formats=("png",), workers=1)
    names = sorted(p.name for p in out.glob("*.png"))
    assert names == [f"{NAME}_fid_heatmap.png", f"{NAME}_fid_over_training.png", f"{NAME}_fid_vs_p.png",
                     f"{NAME}_fid_vs_r1_gamma.png", "verdicts.png"]
    assert not any(n.startswith("ada_") for n in names)   # paper figures stay for the catalog sweeps
    # the heatmap's cells are the median final FIDs over the two seeds, from the Parquet
    from analysis.figures_generic import fid_heatmap, trial_table
    from analysis.load import load_metrics, sweep_configs
    metrics = load_metrics(str(sweep["tmp"] / NAME))
    record = sweep_configs(str(sweep["tmp"] / NAME))[NAME]
    trials, axes = trial_table(metrics, record, None)
    assert axes == ["loss.r1_gamma", "augment.p"]
    fig = fid_heatmap(trials, axes, NAME)
    grid = fig.axes[0].images[0].get_array()
    finals = metrics.sort_values("tick").groupby("trial_index").tail(1).set_index("trial_index")
    # trial order: gamma 0.01 x p 0.2 x seeds 0,1 = trials 0,1; p 0.6 = 2,3; gamma 1.0: 4,5 and 6,7
    # rows: r1_gamma 0.01, 1.0; columns: p 0.2, 0.6
    expect = np.array([[seed_stats(finals.loc[[0, 1], "fid"]).median, seed_stats(finals.loc[[2, 3], "fid"]).median],
                       [seed_stats(finals.loc[[4, 5], "fid"]).median, seed_stats(finals.loc[[6, 7], "fid"]).median]])
    assert np.allclose(np.asarray(grid), expect)


@pytest.mark.e2e
def test_extending_the_finished_sweep_continues_every_trial(sweep: dict) -> None:
    tmp, store = sweep["tmp"], sweep["store"]
    before = store.read_metrics().set_index(["trial_id", "tick"])["fid"]
    rc = run([NAME, "--storage", str(tmp), "--resume", "--set", "run.total_kimg=3"], tmp / "extend.log", timeout=400)
    log = (tmp / "extend.log").read_text()
    assert rc == 0, log[-3000:]
    rows = store.read_metrics(dedup=False)
    assert sorted(zip(rows["trial_index"], rows["tick"])) == [(i, t) for i in range(12) for t in (1, 2, 3)]
    assert set(rows.loc[rows["tick"] == 3, "attempt"]) == {1} and set(rows.loc[rows["tick"] < 3, "attempt"]) == {0}
    assert rows.groupby("trial_index")["trial_id"].nunique().eq(1).all()      # the same trials continue
    after = rows.set_index(["trial_id", "tick"])["fid"]
    pd.testing.assert_series_equal(after.loc[before.index].sort_index(), before.sort_index(), check_names=False)
    trials = store.read_trials()
    assert trials["status"].eq("TERMINATED").all() and trials["final_kimg"].round(1).eq(3.0).all()
    recorded = json.loads((tmp / NAME / "sweep.json").read_text())
    assert [(e["from_kimg"], e["to_kimg"]) for e in recorded["extensions"]] == [(2.0, 3.0)]
    assert "run.total_kimg=3" in recorded["set"] and recorded["ray_path"].endswith("/ray_ext1")
    # a finished extension resumes as a no-op: nothing is re-run
    assert main([NAME, "--storage", str(tmp), "--resume", "--dry-run"]) == 0

    # sweeps.evaluate measures the extension's snapshot (tick 3, under ray_ext1/), not the one before it:
    # one draw with the logged settings reproduces the logged tick-3 FID exactly
    from analysis import load_metrics
    picked = sorted(rows["trial_id"].unique())[:2]
    proc = subprocess.run([sys.executable, "-m", "sweeps.evaluate", str(tmp / NAME), "--repeats", "1", "--trials", *picked],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    evals = pd.read_parquet(next((tmp / NAME / "evaluations").glob("*.parquet")))
    assert sorted(evals["trial_id"]) == picked and set(evals["tick"]) == {3}
    assert all(Path(c).parts[0] == "ray_ext1" for c in evals["checkpoint"]), list(evals["checkpoint"])
    last = load_metrics(tmp / NAME).query("tick == 3").set_index("trial_id").loc[picked]
    assert (last["fid_eval"] == last["fid"]).all(), last[["fid", "fid_eval"]]
