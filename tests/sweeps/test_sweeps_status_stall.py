"""`sweeps.status` on a sweep whose driver was killed outright: its RUNNING records go silent and show as STALLED.

Hand-written store contents with known write times, so every threshold is checked on both sides."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from sweeps.runner import ray_total_line
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


def _ray_trial(index: int, status: str, kimg: float, seconds: float) -> SimpleNamespace:
    """What the launcher's progress callback reads of a Ray trial object."""
    return SimpleNamespace(config={"trial": {"index": index}}, trial_id=f"ab12c_{index:05d}", status=status,
                           last_result={"kimg": kimg, "time_total_s": seconds})


def test_the_launchers_total_line_counts_the_trials_ray_has_not_created_yet() -> None:
    """--max-concurrent 2 on 18 trials: Ray creates trials only as slots free up.  The launcher's total line said
    "0/2 done, 2 running; 24.1/300 kimg; expected finish in 8m49s" for the whole 18-trial, 2 700-kimg sweep."""
    running = [_ray_trial(0, "RUNNING", 12.0, 40.0), _ray_trial(1, "RUNNING", 12.0, 40.0)]
    totals = {i: 150.0 for i in range(18)}
    line = ray_total_line(running, totals)
    assert line.startswith("total: 0/18 done, 2 running, 0 errored; 24.0/2700 kimg (1%); expected finish"), line
    assert "(in 1h14m)" in line    # 2 676 kimg left at 2 x 0.3 kimg/s = 4 460 s
    # an extension 400 -> 800: the trials Ray has not started again stand at the old budget, not at 0
    ext = ray_total_line([_ray_trial(0, "RUNNING", 440.0, 100.0)], {0: 800.0, 1: 800.0}, start_kimg=400.0)
    assert ext.startswith("total: 0/2 done, 1 running, 0 errored; 840.0/1600 kimg (52%)"), ext
    # an extension Ray could not restore goes on in a new Tune experiment: a trial already at 800 finishes at once with
    # no result, and a resumed one reports kimg 444 after 16 s of Tune's clock.  The line said "1672.0/4800 kimg;
    # expected finish in 0m40s" (0 kimg for the finished trial, 444 kimg / 16 s); the run's own wall_s says 3 s/kimg
    finished = SimpleNamespace(**{**vars(_ray_trial(0, "TERMINATED", 0.0, 0.0)), "last_result": {}})
    resumed = _ray_trial(1, "RUNNING", 444.0, 16.0)
    resumed.last_result["wall_s"] = 1332.0
    rec = ray_total_line([finished, resumed], {0: 800.0, 1: 800.0, 2: 800.0}, start_kimg=400.0)
    assert rec == "total: 1/3 done, 1 running, 0 errored; 1644.0/2400 kimg (68%); " + rec[rec.index("expected"):], rec
    assert rec.endswith("(in 37m48s)"), rec        # (356 + 400) kimg left at 444 / 1332 kimg/s
    # the first seconds, before any trial has timed a tick: it said "2 running ... (no trial running)"
    fresh = ray_total_line([_ray_trial(0, "RUNNING", 0.0, 0.0), _ray_trial(1, "RUNNING", 0.0, 0.0)], totals)
    assert fresh.endswith("2 running, 0 errored; 0.0/2700 kimg (0%); expected finish ? (no tick timed yet)"), fresh


def test_an_interrupted_launch_marks_its_running_trials_paused_and_status_says_so(tmp_path: Path) -> None:
    """Ctrl-C: the launcher printed "interrupted; resume with: ...", yet `sweeps.status` showed the trial it had
    stopped as RUNNING, with 37 min left and an expected finish, for 15 min, and `--watch` went on redrawing."""
    from sweeps.runner import _pause_running
    store, _ = _store(tmp_path, [10.0, 20.0])                 # trial 0 RUNNING with rows, trial 1 TERMINATED
    store.write_status("c", {"trial_index": 2, "status": "PENDING", "attempt": 0})
    store.write_json(SWEEP_FILE, {"trials": [{"trial": 0}, {"trial": 1}, {"trial": 2}]})
    _pause_running(store)
    records = {r["trial_index"]: r for r in store.read_statuses().values()}
    assert [records[i]["status"] for i in (0, 1, 2)] == ["PAUSED", "TERMINATED", "PENDING"]
    assert records[0]["attempt"] == 0 and records[0]["paused_at"] > 0     # the rest of the record is kept
    states = trial_states(store)
    line = total_line(states)
    assert line.startswith("total: 1/3 done, 0 running, 1 paused, 0 errored;"), line
    assert line.endswith("interrupted: --resume continues it")
    assert render(str(tmp_path / "s"))[1]                     # --watch stops: nothing will run until --resume
    assert [s.seconds_left for s in states][0] == 0.0
