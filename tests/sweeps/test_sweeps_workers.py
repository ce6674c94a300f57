"""Two 2-worker trials (run.workers=2, gloo on CPU) on the local Ray runtime; one has a worker killed mid-run.

Each trial reserves two 1-CPU bundles (sweeps/gang.py), so on this 2-core machine they run one after the other.
SIGKILL the second worker (the `GangWorker` actor, found among the launch's descendants by pid) of trial 0 after
its tick-1 row: worker 0's next collective fails, the trial is retried from its tick-1 checkpoint, and the store
holds one row per trial x tick, the retry's from tick 2 on.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from launch_helpers import ROOT, descendants, kill_tree, sets, start, wait_for  # noqa: E402
from sweeps.store import SweepStore  # noqa: E402

EXAMPLE = str(ROOT / "sweeps" / "examples" / "r1_gamma_x_p.yaml")
ARGS = [EXAMPLE, *sets("run.total_kimg=3", "run.workers=2", "loss.r1_gamma=1.0", "augment.p=0.2"),
        "--no-variant", "baseline", "--seeds", "2"]


def test_dry_run_shows_the_workers_and_the_resources_a_trial_takes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sweeps.launch import main
    assert main([*ARGS, "--storage", str(tmp_path), "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[-3:] == ["workers", "cpu", "gpu"]
    assert [line.split()[-3:] for line in lines[2:4]] == [["2", "2", "0"], ["2", "2", "0"]]


def _gang_worker(proc: object) -> int | None:
    for p in descendants(proc):   # type: ignore[arg-type]
        try:
            if "GangWorker" in " ".join(p.cmdline()):
                return p.pid
        except Exception:   # exited while we looked
            continue
    return None


@pytest.mark.e2e
def test_two_worker_trials_one_row_per_tick_and_a_killed_worker_retries_from_checkpoint(tmp_path: Path) -> None:
    store = SweepStore(str(tmp_path), "r1_gamma_x_p")
    proc = start([*ARGS, "--storage", str(tmp_path), "--set", "run.checkpoint_ticks=1"], tmp_path / "launch.log")
    try:
        def tick1_of_trial0() -> bool:
            rows = store.read_metrics() if store.exists("metrics") else None
            return rows is not None and len(rows) > 0 and bool(((rows["trial_index"] == 0) & (rows["tick"] == 1)).any())
        wait_for(tick1_of_trial0, 240, "trial 0's tick-1 row", proc)
        pid = int(wait_for(lambda: _gang_worker(proc), 30, "trial 0's second worker", proc))
        os.kill(pid, signal.SIGKILL)
        assert proc.wait(timeout=400) == 0, (tmp_path / "launch.log").read_text()[-3000:]
    finally:
        kill_tree(proc)
    rows = store.read_metrics().sort_values(["trial_index", "tick"])
    assert rows.groupby("trial_index")["tick"].apply(list).tolist() == [[1, 2, 3], [1, 2, 3]]
    every = store.read_metrics(dedup=False)
    assert len(every) == len(every.drop_duplicates(["trial_id", "tick", "attempt"]))
    retry = every.query("trial_index == 0 and attempt == 1")
    assert len(retry) > 0 and retry["tick"].min() >= 2, "the retry started from scratch instead of a checkpoint"
    trials = store.read_trials().sort_values("trial_index")
    assert trials["status"].tolist() == ["TERMINATED", "TERMINATED"] and trials["retries"].tolist() == [1, 0]


def test_workers_need_whole_gpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sweeps.launch import main
    assert main(["fixed_p_grid", "--scale", "tiny", "--set", "run.workers=2", "--storage", str(tmp_path), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "run.workers=2 needs whole GPUs per worker, but the sweep gives 0.25" in err, err
