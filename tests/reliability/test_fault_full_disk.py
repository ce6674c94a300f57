"""A full disk under `--storage` mid-sweep (issue #33, item 2), on a real size-limited filesystem.

The sweep must stop with one line naming the sweep folder and "no space left on device", exit 1, leave every
metric part readable, and `--resume` after space is freed must continue with nothing lost or doubled.  Before,
the trial burnt its retries into ERROR, Ray's truncated `error.pkl` ended the driver in `EOFError: Ran out of
input`, and a `--resume` met Ray's experiment state truncated by the full disk: Ray restarted the experiment
without our config and the launch died in `KeyError: 'trial'` (exit 1, the sweep could not be continued).

Which of Ray's files the full disk cuts short depends on timing (its experiment state is synced every second,
in the background): in one CI run it was `experiment_state-*.json`, in others none.  So the test cuts that file
itself after the fill, as the disk does (its first half is kept), and the resume always meets the worst case:
sweeps.ray_state must notice it and continue the trial from its newest complete checkpoint.

The disk is a tmpfs mounted for the test (8 MB: two smoke checkpoints of 3 MB fit, the third does not).  Where
the machine refuses the mount (not root, no CAP_SYS_ADMIN: the usual CI container), the test says so and fills
the disk at the store's writer seam instead (`GANAUG_TEST_FULL_DISK_FLAG`: every store write fails with ENOSPC
while the flag file exists), which covers our side but not Ray's own checkpoint copies.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sweeps"))

from launch_helpers import run, sets  # noqa: E402
from sweeps.store import FULL_DISK_FLAG_ENV, SweepStore  # noqa: E402

pytestmark = pytest.mark.e2e

ARGS = ["fixed_p_grid", "--no-variant", "baseline", "--max-failures", "1",
        *sets("augment.augpipe=blit", "augment.p=0.3", "run.total_kimg=4")]


def _mount(path: Path, size: str) -> str | None:
    """Mount a tmpfs of SIZE at PATH; None, or why this machine refuses."""
    if os.geteuid() != 0:
        return "not root: a tmpfs cannot be mounted"
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True,
                          text=True)
    return None if proc.returncode == 0 else f"mount refused: {proc.stderr.strip()}"


def test_full_disk_stops_the_sweep_and_resume_loses_nothing(tmp_path: Path, monkeypatch) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    refused = _mount(disk, "8m")
    flag = tmp_path / "full"
    if refused:   # inject ENOSPC at the writer's seam instead, after the first rows
        print(f"no small filesystem ({refused}): ENOSPC injected at the store's writer")
        monkeypatch.setenv(FULL_DISK_FLAG_ENV, str(flag))
    try:
        _fill_then_resume(disk, tmp_path, flag if refused else None)
    finally:
        if not refused:
            subprocess.run(["umount", "-l", str(disk)], check=False)


def _fill_then_resume(disk: Path, tmp_path: Path, flag: Path | None) -> None:
    store = SweepStore(str(disk), "fixed_p_grid")
    log1 = tmp_path / "launch1.log"
    if flag is not None:
        flag.write_text("")   # full from the start: the first flush fails
    rc = run([*ARGS, "--storage", str(disk)], log1)
    text = log1.read_text()
    assert rc == 1, text[-3000:]
    ours = [ln for ln in text.splitlines() if ln.startswith("error: trial t0000: results store")]
    assert len(ours) == 1 and f"{disk}/fixed_p_grid: no space left on device" in ours[0], text[-3000:]
    assert "resume with: python -m sweeps.launch fixed_p_grid" in text, text[-3000:]
    assert "Traceback" not in text.split(ours[0])[1], text[-3000:]   # after our line: no crash (was EOFError)
    before = store.read_metrics()
    assert before.attrs["skipped_parts"] == []                  # every part readable
    ticks_before = before["tick"].tolist() if len(before) else []
    if flag is not None:
        flag.unlink()
    else:
        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)   # the disk was grown
    state = max((disk / "fixed_p_grid" / "ray").glob("experiment_state-*.json"))
    os.truncate(state, state.stat().st_size // 2)   # what a full disk leaves of Ray's state (see the docstring)
    t0 = time.time()
    log2 = tmp_path / "launch2.log"
    rc = run(["fixed_p_grid", "--storage", str(disk), "--resume"], log2)
    text2 = log2.read_text()
    assert rc == 0, text2[-3000:]
    assert f"warning: Ray's experiment state cannot be restored (ray/{state.name} is truncated" in text2, text2[-3000:]
    assert "Traceback" not in text2, text2[-3000:]
    after = store.read_metrics()
    assert after["tick"].tolist() == [1, 2, 3, 4], after[["tick", "attempt"]]
    raw = store.read_metrics(dedup=False)
    assert not raw.duplicated(["trial_id", "tick", "attempt"]).any()
    assert set(raw["trial_id"]) == set(before["trial_id"]) or not len(before)   # the same trial continued
    print(f"full disk: ticks before {ticks_before}, after {after['tick'].tolist()}, raw rows {len(raw)} "
          f"(ticks x attempts {sorted(zip(raw['tick'], raw['attempt']))}), resume {time.time() - t0:.1f} s")
