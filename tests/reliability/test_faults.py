"""Faults a long sweep meets, end to end through `python -m sweeps.launch` with a real local Ray runtime (issue #8).

- Ctrl-C (SIGINT) stops gracefully, exits 130, prints the resume command; `--resume` then finishes the grid.
- A trial that diverges (NaN loss) ends ERROR with its reason in trials.parquet; the others finish; exit 1.
- Two sweeps writing to one storage root at once keep their own folders; a third launch racing for a taken
  folder is refused with exit 2.
- A metrics folder that becomes unwritable mid-sweep gives a clear error naming it; the rows already written
  stay readable by `analysis.load_metrics`.

Killed workers and killed drivers are in tests/sweeps/test_sweeps_e2e.py.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sweeps"))

from launch_helpers import FAST, ROOT, kill_tree, launch_env, run, sets, start, wait_for  # noqa: E402
from sweeps.status import total_line, trial_states  # noqa: E402
from sweeps.store import SweepStore  # noqa: E402

pytestmark = pytest.mark.e2e

BLIT = ("augment.augpipe=blit", "augment.p=0.3")   # fixed_p_grid -> 2 trials: blit p=0.3 and the baseline


def _rows(store: SweepStore) -> list[tuple[int, int]]:
    m = store.read_metrics()
    return sorted(zip(m["trial_index"].astype(int), m["tick"].astype(int))) if not m.empty else []


def _parts(store: SweepStore) -> list[str]:
    d = Path(store.path("metrics"))
    return [n for n in os.listdir(d) if n.endswith(".parquet") and not n.startswith(".")] if d.is_dir() else []


def test_ctrl_c_stops_gracefully_and_resume_finishes(tmp_path: Path) -> None:
    args = ["fixed_p_grid", "--storage", str(tmp_path), "--max-concurrent", "1", *sets(*BLIT, "run.total_kimg=4")]
    store = SweepStore(str(tmp_path), "fixed_p_grid")
    log = tmp_path / "launch1.log"
    proc = start(args, log)
    try:
        wait_for(lambda: _parts(store), 180, "the first tick row", proc)
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=120)
    finally:
        kill_tree(proc)
    text = log.read_text()
    assert rc == 130, text[-3000:]
    assert f"python -m sweeps.launch fixed_p_grid --storage {tmp_path} --resume" in text, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    before = _rows(store)
    assert before and len(before) < 8, before           # stopped early, and what was written is readable
    # the trial it stopped is PAUSED, not RUNNING, in its record, in trials.parquet and in sweeps.status
    statuses = store.read_trials()["status"].tolist()
    assert "PAUSED" in statuses and "RUNNING" not in statuses, statuses
    assert total_line(trial_states(store)).endswith("interrupted: --resume continues it")
    assert run(["fixed_p_grid", "--storage", str(tmp_path), "--resume"], tmp_path / "launch2.log") == 0, \
        (tmp_path / "launch2.log").read_text()[-3000:]
    assert _rows(store) == [(i, t) for i in (0, 1) for t in (1, 2, 3, 4)]
    trials = store.read_trials()
    assert trials["status"].tolist() == ["TERMINATED", "TERMINATED"]


def _diverging_trainable(index: int, at_tick: int) -> Any:
    """The production trainable with hooks that raise TrainingDiverged in trial INDEX at tick AT_TICK, as if its loss
    had become NaN there (the trainer's own NaN detection is tested in tests/trainer).  Nested: Ray pickles it by value."""

    def trainable(config: dict[str, Any]) -> None:
        from sweeps.trainable import SweepHooks, run_trial
        from trainer.loop import TrainingDiverged

        class NanAt(SweepHooks):
            def on_tick(self, report: Any) -> None:
                if self.spec.index == index and int(report.row["tick"]) >= at_tick:
                    raise TrainingDiverged(f"loss_G became nan during tick {report.row['tick']} "
                                           f"at kimg {report.row['kimg']:.3f} (injected)")
                super().on_tick(report)

        run_trial(config, hooks_factory=NanAt)
    return trainable


def test_diverging_trial_errors_with_its_reason_and_the_others_finish(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from sweeps.plan import make_plan
    from sweeps.runner import run as run_sweep
    pins = [*FAST, "augment.augpipe=blit", "run.total_kimg=3"]
    plan = make_plan("fixed_p_grid", storage=str(tmp_path), sets=pins, argv=["fixed_p_grid"])
    rc = run_sweep(plan, trainable_fn=_diverging_trainable(1, 2), render=False)   # trial 1 diverges at its 2nd tick
    text = capsys.readouterr().out
    assert rc == 1, text[-3000:]
    store = SweepStore(str(tmp_path), "fixed_p_grid")
    trials = store.read_trials().sort_values("trial_index")
    assert trials["status"].tolist() == ["TERMINATED", "ERROR", "TERMINATED"]
    error = trials["error"].iloc[1]
    assert error.startswith("TrainingDiverged") and "loss_G became nan during tick 2" in error, error
    assert trials["error"].iloc[[0, 2]].isna().all()
    assert f"trial 1 ({trials['trial_id'].iloc[1]}) failed: TrainingDiverged" in text, text[-3000:]
    # the tick before the divergence is kept; the diverged trial was not retried into the same NaN three times
    assert _rows(store) == [(0, 1), (0, 2), (0, 3), (1, 1), (2, 1), (2, 2), (2, 3)]
    assert text.count("trial t0001: failed; retrying") <= 1


def test_two_sweeps_share_a_storage_root_and_a_racing_launch_is_refused(tmp_path: Path) -> None:
    fixed = ["fixed_p_grid", "--storage", str(tmp_path), *sets(*BLIT, "run.total_kimg=2")]
    # mode, pipe and p pinned: the control run without augmentation merges into the one trial
    leak = ["leakage_grid", "--storage", str(tmp_path),
            *sets("augment.mode=fixed", "augment.augpipe=rotate90", "augment.p=1.0", "run.total_kimg=2")]
    a, b = start(fixed, tmp_path / "a.log"), start(leak, tmp_path / "b.log")
    try:
        wait_for(lambda: (tmp_path / "fixed_p_grid" / "sweep.json").exists(), 60, "the first sweep's record", a)
        racer = subprocess.run([sys.executable, "-m", "sweeps.launch", *fixed], cwd=ROOT, env=launch_env(),
                               capture_output=True, text=True, timeout=120)
        rc_a, rc_b = a.wait(timeout=300), b.wait(timeout=300)
    finally:
        kill_tree(a)
        kill_tree(b)
    # the folder's driver is alive: the refusal names it (sweeps.lease); "already holds results" once it has ended
    named = f"driven by another launch (host {socket.gethostname()}, pid {a.pid},"
    assert racer.returncode == 2 and named in racer.stderr, racer.stderr
    assert rc_a == 0, (tmp_path / "a.log").read_text()[-3000:]
    assert rc_b == 0, (tmp_path / "b.log").read_text()[-3000:]
    fixed_rows = SweepStore(str(tmp_path), "fixed_p_grid").read_metrics()
    leak_rows = SweepStore(str(tmp_path), "leakage_grid").read_metrics()
    assert sorted(zip(fixed_rows["trial_index"], fixed_rows["tick"])) == [(0, 1), (0, 2), (1, 1), (1, 2)]
    assert sorted(zip(leak_rows["trial_index"], leak_rows["tick"])) == [(0, 1), (0, 2)]
    assert set(fixed_rows["sweep"]) == {"fixed_p_grid"} and set(leak_rows["sweep"]) == {"leakage_grid"}
    assert set(leak_rows["augpipe"]) == {"rotate90"}


def _freeze(folder: Path) -> None:
    """Make `folder` refuse new files. Root ignores permission bits, so root uses the immutable attribute."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(folder)], check=True)
    else:
        folder.chmod(0o555)


def _thaw(folder: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(folder)], check=False)
    elif folder.exists():
        folder.chmod(0o755)


def test_storage_unwritable_mid_sweep_is_a_clear_error_and_rows_stay_readable(tmp_path: Path) -> None:
    from analysis import load_metrics

    args = ["fixed_p_grid", "--storage", str(tmp_path), "--max-concurrent", "1", "--max-failures", "1",
            *sets(*BLIT, "run.total_kimg=6")]
    store = SweepStore(str(tmp_path), "fixed_p_grid")
    metrics_dir = tmp_path / "fixed_p_grid" / "metrics"
    log = tmp_path / "launch.log"
    proc = start(args, log)
    try:
        wait_for(lambda: _parts(store), 180, "the first tick row", proc)
        _freeze(metrics_dir)
        frozen_at = time.time()
        rc = proc.wait(timeout=300)
    finally:
        _thaw(metrics_dir)
        kill_tree(proc)
    text = log.read_text()
    assert rc == 1, text[-3000:]
    assert time.time() - frozen_at < 300
    assert f"results store {metrics_dir} is not writable" in text, text[-3000:]
    rows = load_metrics(str(tmp_path / "fixed_p_grid"))
    assert len(rows) >= 1 and rows.groupby(["trial_id", "tick"]).size().max() == 1
    trials = store.read_trials()
    assert (trials["status"] == "ERROR").all(), trials[["status", "error"]]
    assert trials["error"].str.contains("not writable").all(), trials["error"].tolist()
