"""`sweeps.status` on a sweep whose driver was killed outright: its RUNNING records go silent and show as STALLED.

Hand-written store contents with known write times, so every threshold is checked on both sides."""

from __future__ import annotations

from pathlib import Path

import pytest

from sweeps.status import STALL_NO_ROWS_S, render, stall_after_s, total_line, trial_states
from sweeps.store import SWEEP_FILE, SweepStore


def _store(tmp_path: Path, wall: list[float], status: str = "RUNNING", rows: bool = True) -> tuple[SweepStore, float]:
    """Trial 0 with STATUS and ticks at the given wall seconds; trial 1 finished. Returns (store, last write time)."""
    store = SweepStore(str(tmp_path), "s")
    store.write_json(SWEEP_FILE, {"trials": [{"trial": 0}, {"trial": 1}]})
    store.write_status("a", {"trial_index": 0, "status": status, "attempt": 0})
    store.write_status("b", {"trial_index": 1, "status": "TERMINATED", "attempt": 0})
    if rows:
        store.write_rows([{"trial_index": 0, "tick": i + 1, "kimg": 4.0 * (i + 1), "wall_s": w} for i, w in enumerate(wall)],
                         trial_id="a", attempt=0)
    newest = max([r["updated_at"] for r in store.read_statuses().values()]
                 + ([float(store.read_metrics()["written_at"].max())] if rows else []))
    return store, newest


def _status(store: SweepStore, now: float) -> str:
    return {t.index: t.status for t in trial_states(store, now)}[0]


def test_the_threshold_follows_the_slowest_tick_with_floors() -> None:
    assert stall_after_s([]) == STALL_NO_ROWS_S == 3600
    assert stall_after_s([10.0, 12.0]) == 900            # fast ticks: the 15-minute floor
    assert stall_after_s([10.0, 600.0]) == 3 * 630       # one slow (metrics) tick: 3 x (it + the flush interval)


def test_a_silent_running_trial_is_stalled_and_the_total_line_says_so(tmp_path: Path) -> None:
    store, last = _store(tmp_path, [10.0, 20.0, 30.0])
    assert _status(store, last + 890) == "RUNNING"
    assert _status(store, last + 910) == "STALLED"
    states = trial_states(store, last + 910)
    line = total_line(states, last + 910)
    assert line.startswith("total: 1/2 done, 0 running, 1 stalled, 0 errored;"), line
    assert "stopped: no trial has written anything for 15m1" in line and "--resume continues it" in line
    text, ended = render(str(tmp_path / "s"), last + 910)
    assert ended and "STALLED" in text            # --watch stops instead of waiting for a dead trial
    text, ended = render(str(tmp_path / "s"), last + 10)
    assert not ended and "STALLED" not in text


def test_slow_ticks_wait_longer(tmp_path: Path) -> None:
    store, last = _store(tmp_path, [10.0, 610.0])   # a 600-s tick: stalled only after 1 890 s
    assert _status(store, last + 1800) == "RUNNING"
    assert _status(store, last + 1900) == "STALLED"


def test_before_its_first_tick_a_trial_gets_an_hour(tmp_path: Path) -> None:
    store, last = _store(tmp_path, [], rows=False)
    assert _status(store, last + 3500) == "RUNNING"
    assert _status(store, last + 3700) == "STALLED"


@pytest.mark.parametrize("status", ["TERMINATED", "ERROR", "PENDING"])
def test_only_running_trials_can_stall(tmp_path: Path, status: str) -> None:
    store, last = _store(tmp_path, [10.0, 20.0], status=status)
    assert _status(store, last + 10 ** 6) == status
