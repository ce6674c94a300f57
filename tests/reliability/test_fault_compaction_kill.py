"""The driver's machine dies while a trial merges its parts (issue #33, item 3), end to end.

A compaction writes the merged part first and deletes what it merged after (sweeps.store), so a kill between
the two leaves duplicates and never a gap; the unit test interrupts that in-process (tests/sweeps/test_sweeps_store.py).
Here the whole launch (driver and Ray workers) is SIGKILLed in that window, widened by a test seam
(`GANAUG_TEST_HOLD_IN_COMPACTION_S`), and `--resume` must leave exactly one row per trial x tick.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sweeps"))

from launch_helpers import descendants, kill_tree, run, sets, start, wait_for  # noqa: E402
from resultsformat.layout import parse_part_name  # noqa: E402
from sweeps.store import COMPACT_HOLD_ENV, SweepStore  # noqa: E402

pytestmark = pytest.mark.e2e

# One trial of 2 ticks, a checkpoint at each: the last tick's flush merges the two tick parts.
ARGS = ["fixed_p_grid", "--no-variant", "baseline", *sets("augment.augpipe=blit", "augment.p=0.3", "run.total_kimg=2")]


def _kinds(store: SweepStore) -> list[bool]:
    folder = Path(store.path("metrics"))
    names = [parse_part_name(p.name) for p in folder.glob("*.parquet")] if folder.is_dir() else []
    return sorted(n.compacted for n in names if n is not None)


def test_kill_during_compaction_then_resume_one_row_per_tick(tmp_path: Path, monkeypatch) -> None:
    store = SweepStore(str(tmp_path), "fixed_p_grid")
    monkeypatch.setenv(COMPACT_HOLD_ENV, "120")
    proc = start([*ARGS, "--storage", str(tmp_path)], tmp_path / "launch1.log")
    family: list = []
    try:
        wait_for(lambda: _kinds(store) == [False, False, True], 180, "the merged part beside the parts it merges", proc)
        family = descendants(proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        kill_tree(proc, family)
    raw = store.read_metrics(dedup=False)
    assert sorted(raw["tick"].tolist()) == [1, 1, 2, 2]          # duplicates, no gap
    monkeypatch.delenv(COMPACT_HOLD_ENV)
    t0 = time.time()
    rc = run(["fixed_p_grid", "--storage", str(tmp_path), "--resume"], tmp_path / "launch2.log")
    assert rc == 0, (tmp_path / "launch2.log").read_text()[-3000:]
    rows = store.read_metrics()
    assert rows["tick"].tolist() == [1, 2] and rows["trial_index"].tolist() == [0, 0]
    print(f"kill in compaction: raw rows before {len(raw)}, after {len(store.read_metrics(dedup=False))}, "
          f"resume {time.time() - t0:.1f} s")
