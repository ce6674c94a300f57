"""A driver killed at a trial's last tick (issue #33, item 0): the trial resumes as finished, not as a failure.

The window: the trial has flushed its last rows and reported its final checkpoint (12.032 of 12 kimg at smoke:
the last minibatch crosses the budget), but Ray has not yet recorded it finished.  `--resume` then restores it
from that checkpoint.  Before the fix the trainer refused ("run.total_kimg=... is below the checkpoint's
progress"), Ray retried it into ERROR and the sweep exited 1.  The trainable's test seam
(`GANAUG_TEST_HOLD_AFTER_LAST_S`) holds the trial in that window so the kill lands in it every time.

While that driver is alive, a second `--resume` and a second plain launch on its folder are refused in one line
naming it (issue #33, item 5: one driver per sweep folder, sweeps.lease); once it is killed, the lease it left
does not block `--resume`.  (Both share one launch to keep the suite lean; the lease's expiry on S3 is in
tests/sweeps/test_sweeps_lease.py.)
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sweeps"))

from launch_helpers import ROOT, descendants, kill_tree, launch_env, run, sets, start, wait_for  # noqa: E402
from sweeps.store import SweepStore  # noqa: E402
from sweeps.trainable import HOLD_AFTER_LAST_ENV  # noqa: E402

pytestmark = pytest.mark.e2e

# One trial, 2 ticks of 1 kimg, a checkpoint at each; the final one holds 2.048 kimg of a 2-kimg budget.
ARGS = ["fixed_p_grid", "--no-variant", "baseline", *sets("augment.augpipe=blit", "augment.p=0.3", "run.total_kimg=2")]


def test_driver_killed_after_final_checkpoint_resumes_as_finished(tmp_path: Path, monkeypatch) -> None:
    store = SweepStore(str(tmp_path), "fixed_p_grid")
    log1 = tmp_path / "launch1.log"
    monkeypatch.setenv(HOLD_AFTER_LAST_ENV, "120")
    proc = start([*ARGS, "--storage", str(tmp_path)], log1)
    family: list = []
    try:
        wait_for(lambda: "tick 2 kimg 2.0" in log1.read_text(), 180, "the driver to receive the final tick", proc)
        time.sleep(3)   # Ray's experiment state (saved every second in tests) now records the final checkpoint
        _second_drivers_are_refused(tmp_path, proc.pid)
        family = descendants(proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        kill_tree(proc, family)
    assert json.loads((tmp_path / "fixed_p_grid" / "driver.json").read_text())["pid"] == proc.pid   # left behind
    before = store.read_metrics()
    assert before["tick"].tolist() == [1, 2]
    assert store.read_statuses()[before["trial_id"].iloc[0]]["status"] == "RUNNING"   # Ray never recorded the end
    monkeypatch.delenv(HOLD_AFTER_LAST_ENV)
    log2 = tmp_path / "launch2.log"
    t0 = time.time()
    rc = run(["fixed_p_grid", "--storage", str(tmp_path), "--resume"], log2)
    text = log2.read_text()
    assert rc == 0, text[-3000:]
    assert "Traceback" not in text and "cannot resume" not in text, text[-3000:]
    after = store.read_metrics()
    assert after[["tick", "attempt", "written_at"]].values.tolist() == before[["tick", "attempt", "written_at"]].values.tolist()
    record = store.read_statuses()[before["trial_id"].iloc[0]]
    assert (record["status"], record["ticks_this_attempt"], record["attempt"]) == ("TERMINATED", 0, 1)
    assert store.read_trials()["status"].tolist() == ["TERMINATED"]
    assert not (tmp_path / "fixed_p_grid" / "driver.json").exists()   # released at the end
    print(f"resume of a trial killed at its last tick: {time.time() - t0:.1f} s, rows {len(after)}")


def _second_drivers_are_refused(storage: Path, pid: int) -> None:
    """A second --resume, and a second plain launch, on the live driver's folder: exit 2, one line naming it."""
    env = {**launch_env(), "PYTHONPATH": str(ROOT)}
    env.pop(HOLD_AFTER_LAST_ENV, None)
    for extra in (["--resume"], sets("augment.augpipe=blit", "augment.p=0.3", "run.total_kimg=2")):
        t0 = time.time()
        proc = subprocess.run([sys.executable, "-m", "sweeps.launch", "fixed_p_grid", "--storage", str(storage), *extra],
                              capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
        lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
        assert proc.returncode == 2 and len(lines) == 1, proc.stdout + proc.stderr
        assert f"host {socket.gethostname()}, pid {pid}, started 20" in lines[0], lines
        assert time.time() - t0 < 30
