"""A driver killed at a trial's last tick (issue #33, item 0): the trial resumes as finished, not as a failure.

The window: the trial has flushed its last rows and reported its final checkpoint (12.032 of 12 kimg at smoke:
the last minibatch crosses the budget), but Ray has not yet recorded it finished.  `--resume` then restores it
from that checkpoint.  Before the fix the trainer refused ("run.total_kimg=... is below the checkpoint's
progress"), Ray retried it into ERROR and the sweep exited 1.  The trainable's test seam
(`GANAUG_TEST_HOLD_AFTER_LAST_S`) holds the trial in that window so the kill lands in it every time.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sweeps"))

from launch_helpers import descendants, kill_tree, run, sets, start, wait_for  # noqa: E402
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
        family = descendants(proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        kill_tree(proc, family)
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
    print(f"resume of a trial killed at its last tick: {time.time() - t0:.1f} s, rows {len(after)}")
