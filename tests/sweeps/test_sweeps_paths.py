"""Paths are resolved where the user typed them, and a trial Ray finished never vanishes from the results.

- a sweep launched with a relative --storage and a relative dataset path keeps every row where the user looks,
  and `--resume` of it from the same directory finishes it (Ray runs trials in their own working directories);
- a trial that Ray reports finished but whose record and rows are not in the store is an error naming it (exit 1),
  not a "pending" trial of an "interrupted" sweep (exit 130).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from launch_helpers import descendants, kill_tree, run, sets, start, wait_for  # noqa: E402
from sweeps.store import SweepStore  # noqa: E402
from sweeps.summary import build_trials, missing_results, summary_text  # noqa: E402


def _has_rows(store: SweepStore, trial_id: str | None) -> bool:
    d = Path(store.path("metrics"))
    return bool(trial_id) and d.is_dir() and any(n.startswith(trial_id) for n in os.listdir(d))


def _status(store: SweepStore, index: int) -> dict | None:
    return next((r for r in store.read_statuses().values() if r.get("trial_index") == index), None)


@pytest.mark.e2e
def test_relative_storage_and_dataset_then_resume(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    images = np.random.default_rng(5).integers(0, 256, size=(300, 16, 16, 3), dtype=np.uint8)
    np.savez_compressed(tmp_path / "data" / "faces.npz", images=images)
    pins = ["augment.augpipe=blit", "augment.p=0.3", "run.total_kimg=2", "data.source=npz:data/faces.npz",
            "data.val_size=50", "metrics.fid_real=250", "metrics.detector=random"]
    args = ["fixed_p_grid", "--storage", "runs", "--max-concurrent", "1", *sets(*pins)]
    store = SweepStore(str(tmp_path / "runs"), "fixed_p_grid")
    proc = start(args, tmp_path / "launch1.log", cwd=tmp_path)
    try:
        wait_for(lambda: (_status(store, 0) or {}).get("status") == "TERMINATED", 240, "trial 0 to finish", proc)
        # trial 1 running with a row written: Ray has recorded trial 0's end (state saved every second)
        wait_for(lambda: _has_rows(store, (_status(store, 1) or {}).get("trial_id")), 120, "trial 1's first row", proc)
        time.sleep(1.5)
        family = descendants(proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        kill_tree(proc, family)
    first = store.read_metrics()
    assert first[first["trial_index"] == 0]["tick"].tolist() == [1, 2]
    log2 = tmp_path / "launch2.log"
    assert run(["fixed_p_grid", "--storage", "runs", "--resume"], log2, cwd=tmp_path) == 0, log2.read_text()[-3000:]
    rows = store.read_metrics()
    assert sorted(zip(rows["trial_index"], rows["tick"])) == [(i, t) for i in (0, 1) for t in (1, 2)]
    assert set(rows.loc[rows["trial_index"] == 0, "attempt"]) == {0}        # trial 0 was not run again
    trials = store.read_trials().sort_values("trial_index")
    assert trials["status"].tolist() == ["TERMINATED", "TERMINATED"]
    source = f"npz:{tmp_path / 'data' / 'faces.npz'}"
    assert set(rows["dataset"]) == {source}
    assert {json.loads(c)["data"]["source"] for c in trials["config_json"]} == {source}
    sweep = json.loads((tmp_path / "runs" / "fixed_p_grid" / "sweep.json").read_text())
    assert f"data.source={source}" in sweep["set"] and sweep["storage"] == str(tmp_path / "runs")
    assert not (tmp_path / "results").exists()


# ---- the end-of-sweep check ---------------------------------------------------------------------------------

def _plan_of_two(tmp_path: Path) -> Any:
    from sweeps.plan import make_plan
    return make_plan("overfitting", storage=str(tmp_path), check_data=False)


def _write_finished(store: SweepStore, trial_id: str, index: int, kimg: float, rows: bool = True) -> None:
    """A trial finished at KIMG, its budget (short of it, its record would read as mid-extension: PENDING)."""
    if rows:
        store.write_rows([{"tick": 1, "kimg": kimg, "sweep": store.sweep, "trial_index": index}], trial_id=trial_id, attempt=0)
    store.write_status(trial_id, {"sweep": store.sweep, "trial_index": index, "status": "TERMINATED", "attempt": 0})


def test_missing_results_names_the_trial_and_what_is_missing(tmp_path: Path) -> None:
    plan = _plan_of_two(tmp_path)
    store = plan.store
    budget = plan.trials[0].config.run.total_kimg
    _write_finished(store, "a_00000", 0, budget)
    _write_finished(store, "a_00001", 1, budget, rows=False)
    metrics = store.read_metrics()
    finished = {0: "a_00000", 1: "a_00001"}
    assert missing_results(finished, store, metrics) == {1: ("a_00001", f"finished in Ray, but no metrics rows in {store.uri}")}
    finished[2] = "a_00002"
    gone = missing_results(finished, store, metrics)
    assert gone[2] == ("a_00002", f"finished in Ray, but no status record trials/a_00002.json and no metrics rows in {store.uri}")
    df = build_trials(plan.trials, store, {}, metrics, {1: gone[1]})
    assert df["status"].tolist() == ["TERMINATED", "ERROR"]
    text = summary_text(df, store, None, False, "resume")
    assert "1 terminated, 1 error" in text and "trial 1 (a_00001) failed: finished in Ray, but no metrics rows" in text
    assert "interrupted" not in text and "pending" not in text


def _forgetful_trainable(config: dict[str, Any]) -> None:
    """Trial 1 reports to Ray but writes nothing to the store (as trials did with a relative --storage)."""
    from ray import tune

    from sweeps.trainable import TrialSpec, _record
    spec = TrialSpec.model_validate(config["trial"])
    if spec.index == 1:
        tune.report({"tick": 1})
        return
    store = SweepStore(spec.storage, spec.sweep)
    trial_id = tune.get_context().get_trial_id()
    store.write_rows([{"tick": 1, "kimg": 4.0, "sweep": spec.sweep, "trial_index": spec.index}], trial_id=trial_id, attempt=0)
    _record(store, spec, trial_id, 0, "TERMINATED")
    tune.report({"tick": 1})


@pytest.mark.e2e
def test_vanished_trial_is_an_error_not_an_interruption(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import ray.cloudpickle
    from sweeps.runner import run as run_plan
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])   # this test module is not importable on workers
    plan = _plan_of_two(tmp_path)
    assert run_plan(plan, trainable_fn=_forgetful_trainable, render=False) == 1
    out, err = capsys.readouterr()
    assert "interrupted" not in out and "pending" not in out
    trials = pd.read_parquet(tmp_path / "overfitting" / "trials.parquet").sort_values("trial_index")
    assert trials["status"].tolist() == ["TERMINATED", "ERROR"]
    tid = trials["trial_id"].iloc[1]
    assert f"error: trial 1 ({tid}) finished in Ray, but no status record trials/{tid}.json and no metrics rows" in err
    assert f"trial 1 ({tid}) failed: finished in Ray, but no status record" in out
