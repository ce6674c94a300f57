"""Real sweeps through `python -m sweeps.launch`: a local Ray runtime, the real trainer at a tiny budget, real Parquet.

- a small sweep leaves exactly one row per trial x tick for every trial --dry-run announced;
- a trial whose worker is SIGKILLed mid-run is retried from its checkpoint: no gaps, no doubles, ADA's p continuous;
- a driver SIGKILLed mid-sweep is finished by --resume without re-running finished trials.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from launch_helpers import FAST, descendants, kill_tree, run, sets, start, wait_for  # noqa: E402
from resultsformat.layout import parse_part_name  # noqa: E402
from sweeps.launch import main  # noqa: E402
from sweeps.store import SweepStore  # noqa: E402


def _dry_run_indices(args: list[str], capsys: pytest.CaptureFixture[str]) -> list[int]:
    assert main([*args, "--dry-run"]) == 0
    lines = capsys.readouterr().out.split("\n\n")[0].strip().splitlines()[2:]   # the table; the budget follows a blank line
    return [int(line.split()[0]) for line in lines]


def _parts_with_tick(store: SweepStore, tick: int) -> list[str]:
    """Parts showing a trial reached TICK: a tick part from it on, or a merged part up to it (compaction is ongoing)."""
    d = Path(store.path("metrics"))
    return [n for n in os.listdir(d) if (p := parse_part_name(n)) and p.tick >= tick] if d.is_dir() else []


def _status(store: SweepStore, index: int) -> dict | None:
    return next((r for r in store.read_statuses().values() if r.get("trial_index") == index), None)


def test_small_sweep_one_row_per_trial_and_tick(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["fixed_p_grid", "--storage", str(tmp_path), *sets("augment.augpipe=blit", "run.total_kimg=2")]
    announced = _dry_run_indices(args, capsys)
    assert announced == [0, 1, 2]
    assert run(args, tmp_path / "launch.log") == 0, (tmp_path / "launch.log").read_text()[-3000:]
    store = SweepStore(str(tmp_path), "fixed_p_grid")
    rows = store.read_metrics(dedup=False)
    assert sorted(zip(rows["trial_index"], rows["tick"])) == [(i, t) for i in announced for t in (1, 2)]
    assert set(rows["attempt"]) == {0} and set(rows["sweep"]) == {"fixed_p_grid"} and set(rows["scale"]) == {"smoke"}
    assert rows["fid"].notna().all() and (rows["time_train_s"] > 0).all()
    by_index = rows.groupby("trial_index")
    assert by_index["p"].first().round(6).tolist()[:2] == [0.3, 0.7]
    assert rows.loc[rows["trial_index"] == 2, "p"].isna().all()     # no augmentation: p is null, not a made-up 0
    assert by_index["aug_mode"].first().tolist() == ["fixed", "fixed", "none"]
    trials = store.read_trials().sort_values("trial_index")
    assert trials["status"].tolist() == ["TERMINATED"] * 3 and trials["error"].isna().all()
    assert trials["final_kimg"].tolist() == pytest.approx([2.0] * 3, abs=0.1)
    assert trials["trial_id"].tolist() == by_index["trial_id"].first().tolist()
    assert json.loads(trials["config_json"].iloc[1])["augment"]["p"] == 0.7
    assert (trials["best_fid"] <= trials["final_fid"]).all()
    sweep = json.loads((tmp_path / "fixed_p_grid" / "sweep.json").read_text())
    assert sweep["scale"] == "smoke" and sweep["command"].startswith("python -m sweeps.launch fixed_p_grid")
    for tid in trials["trial_id"]:
        assert (tmp_path / "fixed_p_grid" / "samples" / tid / "tick000002.png").stat().st_size > 0


@pytest.mark.e2e
def test_killed_worker_is_retried_from_checkpoint(tmp_path: Path) -> None:
    """SIGKILL the trial's worker after its tick-2 row; the retry resumes from a checkpoint, p carries over exactly."""
    pins = ["augment.heuristic=rt", "augment.ada_target=0.4", "run.total_kimg=5", "metrics.every_ticks=5"]
    args = ["ada_target_grid", "--storage", str(tmp_path), *sets(*pins)]
    store = SweepStore(str(tmp_path), "ada_target_grid")
    proc = start(args, tmp_path / "launch.log")
    try:
        wait_for(lambda: _parts_with_tick(store, 2), 180, "the tick-2 row", proc)
        pid = int(wait_for(lambda: (_status(store, 0) or {}).get("pid"), 30, "the trial's pid", proc))
        os.kill(pid, signal.SIGKILL)
        assert proc.wait(timeout=240) == 0, (tmp_path / "launch.log").read_text()[-3000:]
    finally:
        kill_tree(proc)
    rows = store.read_metrics()
    assert rows["tick"].tolist() == [1, 2, 3, 4, 5]
    assert rows["attempt"].iloc[-1] == 1
    retry = store.read_metrics(dedup=False).query("attempt == 1")
    assert retry["tick"].min() >= 2, "the retry started from scratch instead of a checkpoint"
    trials = store.read_trials()
    assert trials["status"].tolist() == ["TERMINATED"] and trials["retries"].tolist() == [1]
    # Reference: the same config, uninterrupted, in this process. The resumed run must match it tick for tick.
    from trainer.config import validate_config
    from trainer.hooks import CollectingHooks
    from trainer.loop import train
    ref = train(validate_config(json.loads(trials["config_json"].iloc[0])), CollectingHooks())
    assert rows["p"].tolist() == pytest.approx([r["p"] for r in ref], abs=1e-6)
    assert rows["p"].iloc[-1] > 0


@pytest.mark.e2e
def test_killed_driver_resumes_without_rerunning_finished_trials(tmp_path: Path) -> None:
    args = ["fixed_p_grid", "--storage", str(tmp_path), "--max-concurrent", "1",
            *sets("augment.augpipe=blit", "augment.p=0.3", "run.total_kimg=4")]
    store = SweepStore(str(tmp_path), "fixed_p_grid")
    proc = start(args, tmp_path / "launch1.log")
    try:
        wait_for(lambda: (_status(store, 0) or {}).get("status") == "TERMINATED", 180, "trial 0 to finish", proc)
        wait_for(lambda: len(_parts_with_tick(store, 2)) >= 1 and (_status(store, 1) or {}).get("status") == "RUNNING"
                 and any(n.startswith((_status(store, 1) or {}).get("trial_id", "?")) for n in _parts_with_tick(store, 2)),
                 180, "trial 1's tick-2 row", proc)
        family = descendants(proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        kill_tree(proc, family)     # the machine running the driver is gone: so are its Ray processes
    before = store.read_metrics()
    first = before[before["trial_index"] == 0].copy()
    assert first["tick"].tolist() == [1, 2, 3, 4]
    done_record = _status(store, 0)
    assert run(["fixed_p_grid", "--storage", str(tmp_path), "--resume"], tmp_path / "launch2.log") == 0, \
        (tmp_path / "launch2.log").read_text()[-3000:]
    after = store.read_metrics()
    assert sorted(zip(after["trial_index"], after["tick"])) == [(i, t) for i in (0, 1) for t in (1, 2, 3, 4)]
    again = after[after["trial_index"] == 0]
    pd.testing.assert_series_equal(again["written_at"].reset_index(drop=True), first["written_at"].reset_index(drop=True))
    assert set(again["attempt"]) == {0}
    assert _status(store, 0)["finished_at"] == done_record["finished_at"]
    second = after[after["trial_index"] == 1]
    assert second["attempt"].max() == 1
    trials = store.read_trials().sort_values("trial_index")
    assert trials["status"].tolist() == ["TERMINATED", "TERMINATED"]
    assert FAST[0] in json.loads((tmp_path / "fixed_p_grid" / "sweep.json").read_text())["set"]
