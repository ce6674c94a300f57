"""The launcher's progress lines: one per tick result, completion and error, and the sweep's total line.

A class at module level, not one built inside a function, for one reason: `Tuner.restore` unpickles the
callbacks of the launch it restores.  cloudpickle stores a class made inside a function by value, so a sweep
interrupted before an upgrade and resumed after it printed with the old code; a module-level class is
stored by reference (`sweeps.progress.ProgressLines`), and a resumed launch prints with the code it runs.
Import this module only after `sweeps.runner._env_before_ray` (it imports ray.tune).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from typing import Any

from ray import tune

from resultsformat.layout import TRIALS_FILE
from resultsformat.statuses import ERROR, TERMINATED
from sweeps.runner import ray_total_line, trial_name
from sweeps.store import NO_SPACE


def _stop_if_storage_full(trial: Any) -> bool:
    """A trial that met a full disk (sweeps.store.StorageFull): say so in one line and stop the sweep as Ctrl-C does.

    Every other trial would meet the same disk, and retries would only fail again.  Tune's own SIGINT handling
    saves the experiment with the unfinished trials still unfinished, so `--resume` continues them once space is
    freed (a Stopper would mark them TERMINATED, and --resume would skip them)."""
    try:
        text = open(trial.error_file, encoding="utf-8", errors="replace").read() if trial.error_file else ""
    except OSError:
        return False
    line = next((ln.strip() for ln in reversed(text.splitlines()) if NO_SPACE in ln.lower() and "StorageFull" in ln), None)
    if line is None:
        return False
    print(f"error: trial {trial_name(trial)}: {line.split('StorageFull: ', 1)[-1]}; stopping the sweep: free space, "
          f"then run it again with --resume", file=sys.stderr, flush=True)
    # Ray's own saves of its experiment state now fail on the same disk: our line above says why, once
    logging.getLogger("ray.tune.execution.experiment_state").setLevel(logging.CRITICAL)
    signal.raise_signal(signal.SIGINT)
    return True


PROGRESS_EVERY_ENV = "GANAUG_PROGRESS_EVERY_S"   # seconds between total progress lines (default 60; tests lower it)


def _progress_every_s() -> float:
    try:
        return max(0.1, float(os.environ.get(PROGRESS_EVERY_ENV, "60")))
    except ValueError:
        return 60.0


class ProgressLines(tune.Callback):
    """One terse line per tick result, completion and error (runs on the driver: keep it cheap),
    and the sweep's total progress line (sweeps.status.total_line) at least every PROGRESS_EVERY_S."""

    def __init__(self, total: int, totals_kimg: dict[int, float], start_kimg: float = 0.0) -> None:
        self.total, self.totals_kimg, self.start_kimg = total, dict(totals_kimg), start_kimg
        self.start = time.time()
        self.last_total = time.time()

    def setup(self, **info: Any) -> None:
        self.start = time.time()   # also after Tuner.restore, which unpickles this callback
        self.last_total = time.time()

    def on_step_end(self, iteration: int, trials: list[Any], **info: Any) -> None:
        if time.time() - self.last_total >= _progress_every_s():
            self.last_total = time.time()
            line = ray_total_line(trials, self.totals_kimg, self.start_kimg)
            print(f"[{time.time() - self.start:6.0f}s] {line}", flush=True)

    def on_trial_recover(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        if not _stop_if_storage_full(trial):
            self._line(trial, "failed; retrying from its last checkpoint", trials)

    def _line(self, trial: Any, text: str, trials: list[Any], ended: str = "") -> None:
        # on_trial_complete/error run before Tune updates the trial's status: count the ending trial here
        done = sum(t.status == TERMINATED or (t is trial and ended == TERMINATED) for t in trials)
        err = sum(t.status == ERROR or (t is trial and ended == ERROR) for t in trials)
        print(f"[{time.time() - self.start:6.0f}s] trial {trial_name(trial)}: {text}  ({done}/{self.total} done, "
              f"{err} errored)", flush=True)

    def on_trial_result(self, iteration: int, trials: list[Any], trial: Any, result: dict, **info: Any) -> None:
        parts = [f"tick {result.get('tick')}", f"kimg {result.get('kimg', 0):.1f}"]
        for key in ("fid", "p"):
            if isinstance(result.get(key), (int, float)):
                parts.append(f"{key} {result[key]:.3g}")
        if result.get("store_down_s") is not None:   # sweeps.outage: rows wait in the trial's memory
            parts.append(f"(storage unreachable for {result['store_down_s']:.0f} s, "
                         f"{int(result.get('store_buffered') or 0)} rows buffered)")
        self._line(trial, " ".join(parts), trials)

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        if (trial.last_result or {}).get("diverged"):   # the trainable ended it without raising: no retries
            self._line(trial, f"ERROR (training diverged; see {TRIALS_FILE})", trials, ended=ERROR)
        else:
            self._line(trial, "finished", trials, ended=TERMINATED)

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        if not _stop_if_storage_full(trial):
            self._line(trial, ERROR, trials, ended=ERROR)
