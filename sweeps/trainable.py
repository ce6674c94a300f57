"""The Ray Tune function trainable: one sweep trial = one `trainer.loop.train` run (docs/architecture.md "Data flow").

The trial's config arrives as a plain dict (Ray pickles it into the experiment
state) and is validated with pydantic here, inside the trial, before training.
`SweepHooks` is the Ray side of the trainer's hook seam:

- every tick row gets `sweep`, `trial_id`, `trial_index`, `attempt` and is written
  to the Parquet store from this (the trial) process, batched by `RowBuffer`: flushed
  before each checkpoint is reported, at the last tick, and at least every 30 s, and
  the attempt's parts compacted at checkpoints so a long trial holds few objects;
- when the loop offers a checkpoint (every `run.checkpoint_ticks` ticks), it is
  written to a temp dir and handed to `tune.report`, which copies it to storage
  synchronously; other ticks report metrics only;
- sample grids go to `<sweep>/samples/<trial_id>/tick<NNNNNN>.png`.

Attempts: the status record `trials/<trial_id>.json` written by the previous
attempt gives the next attempt number, so a retried (worker killed) or resumed
(driver killed) trial always writes rows with a higher attempt than before, and
readers keep the newest.  A `TrainingDiverged` is deterministic (a run is a
function of its config and checkpoint), so a diverged trial records ERROR and
ends without raising (Ray would otherwise retry it into the same NaN), and a
resumed sweep fails it at once with the recorded reason.

Ray Tune runs each trial in its own working directory (a per-trial folder in
the Ray session's temp dir; RAY_CHDIR_TO_TRIAL_DIR).  We keep that default
rather than switch it off: the driver resolves every path before shipping it
(sweeps.plan, trainer/paths.py) and this module refuses a relative one, so a
trial does the same wherever it runs -- and a local run keeps exercising the
condition every cluster node has, where the driver's directory does not exist.

Nothing here is module-level mutable state: Ray reuses worker processes
(`reuse_actors=True`) between trials.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from ray import tune

from resultsformat.layout import SAMPLES_DIR, sample_file
from resultsformat.statuses import ERROR, RUNNING, TERMINATED
from sweeps.store import NO_SPACE, RowBuffer, StorageFull, StoreUnreachable, SweepStore, no_space
from trainer.atomic import png_bytes
from trainer.config import validate_config
from trainer.errors import UserInputError
from trainer.hooks import TickReport
from trainer.paths import is_resolved, unresolved_paths

# Test seam (tests/reliability/test_faults_storage.py): seconds a trial waits after reporting its final checkpoint,
# holding it in the window where Ray has that checkpoint but has not yet recorded the trial finished.
HOLD_AFTER_LAST_ENV = "GANAUG_TEST_HOLD_AFTER_LAST_S"
# Columns copied into tune.report: enough for Ray's progress and schedulers; the full row is in Parquet.
# wall_s: the run's seconds so far, restored with its checkpoint, so kimg / wall_s is a speed also for a trial that
# resumed at 400 kimg in a new Tune experiment (whose time_total_s starts again at 0)
REPORT_KEYS = ("tick", "kimg", "fid", "kid", "p", "r_t", "r_v", "loss_G", "loss_D", "img_per_s", "wall_s")


class TrialSpec(BaseModel):
    """The plain-dict config Ray passes to `run_trial`, validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sweep: str = Field(min_length=1, description="Sweep name (results folder)")
    storage: str = Field(min_length=1, description="Storage root: a directory or a URI")
    scale: str = Field(description="smoke | tiny | paper")
    index: int = Field(ge=0, description="Trial index in the expanded sweep (the --dry-run table)")
    variant: str = Field(description="Block of the sweep this trial comes from")
    config: dict[str, Any] = Field(description="The full TrainConfig as a nested dict")
    store_trial_id: str | None = Field(None, min_length=1, description="Extension (sweeps.extend): the trial whose rows this continues")
    resume_from: str | None = Field(None, min_length=1, description="Extension: that trial's newest checkpoint (path or URI)")
    tracking: list[dict[str, str]] = Field(default_factory=list, description="--log trackers (sweeps.tracking), copies of the rows")

    @field_validator("storage")
    @classmethod
    def _absolute(cls, v: str) -> str:
        # This process runs in Ray's per-trial working directory: a relative path would write elsewhere, silently.
        if not is_resolved(v):
            raise ValueError(f"storage {v!r} is relative; sweeps.plan resolves it on the driver")
        return v


class SweepHooks:
    """trainer Hooks that write rows to the store and report to Ray; one instance per trial attempt."""

    def __init__(self, store: SweepStore, spec: TrialSpec, trial_id: str, attempt: int) -> None:
        self.store, self.spec, self.trial_id, self.attempt = store, spec, trial_id, attempt
        self.buffer = RowBuffer(store, trial_id, attempt)
        self.ticks = 0
        self.trackers: Any = None   # sweeps.tracking.Trackers when --log was given

    def on_tick(self, report: TickReport) -> None:
        row = {**report.row, "sweep": self.spec.sweep, "trial_index": self.spec.index, "variant": self.spec.variant}
        self.buffer.add(row)
        if self.trackers is not None:
            self.trackers.log(int(row["tick"]), report.tracked(row))   # statistics without a column too
        save = report.save_checkpoint
        if report.is_last:
            self.buffer.drain()   # the trial cannot end with rows in memory: an outage is waited out, to its limit
        elif save is not None and not self.buffer.flush(compact=True):
            # before the checkpoint reaches Ray every tick up to it must be in the store (a retry re-reports
            # only ticks after it); while the store is unreachable (sweeps.outage) checkpoints wait
            save = None
        tick = int(row["tick"])
        if report.samples is not None:
            self._write_samples(tick, report.samples)
        metrics = {k: row[k] for k in REPORT_KEYS if isinstance(row.get(k), (int, float)) and not isinstance(row.get(k), bool)}
        metrics["attempt"] = self.attempt
        if self.buffer.outage.since is not None:   # sweeps.runner's progress line says so
            metrics.update(store_down_s=self.buffer.outage.down_s, store_buffered=len(self.buffer.rows))
        self.ticks += 1
        if save is None:
            tune.report(metrics)
            return
        tmp = Path(tempfile.mkdtemp(prefix="ganaug-ckpt-"))
        try:
            save(tmp)
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(str(tmp)))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        if report.is_last and os.environ.get(HOLD_AFTER_LAST_ENV):
            time.sleep(float(os.environ[HOLD_AFTER_LAST_ENV]))

    def _write_samples(self, tick: int, samples: Any) -> None:
        """A sample grid; skipped (not fatal) while an object store is unreachable: rows matter, pictures less."""
        try:
            self.store.write_bytes(f"{SAMPLES_DIR}/{self.trial_id}/{sample_file(tick)}", png_bytes(samples))
        except OSError as exc:
            if self.store.is_local or no_space(exc):
                raise

    def should_stop(self) -> bool:
        # Ray stops a trial by ending its actor or raising inside tune.report; nothing to poll here.
        return False


def _next_attempt(store: SweepStore, trial_id: str) -> tuple[int, dict[str, Any] | None]:
    prev = store.read_status(trial_id)
    return (0 if prev is None else int(prev.get("attempt", -1)) + 1), prev


def _record(store: SweepStore, spec: TrialSpec, trial_id: str, attempt: int, status: str, **extra: Any) -> None:
    store.write_status(trial_id, {"sweep": spec.sweep, "trial_index": spec.index, "variant": spec.variant, "status": status,
                                  "attempt": attempt, "host": socket.gethostname(), "pid": os.getpid(), **extra})


def _end_diverged(store: SweepStore, spec: TrialSpec, trial_id: str, attempt: int, error: str) -> None:
    """Record a diverged trial as ERROR and tell the driver, without raising (a retry would diverge again)."""
    _record(store, spec, trial_id, attempt, ERROR, error=error, diverged=True)
    tune.report({"diverged": 1, "attempt": attempt})


def run_trial(config: dict[str, Any], hooks_factory: Callable[..., SweepHooks] = SweepHooks) -> None:
    """Ray Tune function trainable: validate, restore, train, record.

    config: {"trial": TrialSpec fields} (one value of the sweep's grid_search).
    hooks_factory: the seam for fault-injection tests (a SweepHooks subclass that raises at some tick,
    wrapped in a trainable passed to `sweeps.runner.run`); Ray calls this with the default.
    Torch is imported in the worker (by `_train`), never on the driver.
    """

    if "trial" not in config:   # Ray's experiment state lost this trial's config (a truncated save, e.g. disk full)
        raise UserInputError("this Ray trial carries no sweep config: Ray's experiment state was damaged")
    spec = TrialSpec.model_validate(config["trial"])
    cfg = validate_config(spec.config)
    relative = unresolved_paths(cfg)
    if relative:   # the driver resolves every path (sweeps.plan): here it would mean Ray's per-trial directory
        raise UserInputError(f"relative path(s) reached a trial: {', '.join(relative)}")
    trial_id = spec.store_trial_id or tune.get_context().get_trial_id()
    store = SweepStore(spec.storage, spec.sweep)
    attempt, prev = _next_attempt(store, trial_id)
    if prev is not None and prev.get("diverged"):
        _end_diverged(store, spec, trial_id, attempt, str(prev.get("error")))
        return
    checkpoint = tune.get_checkpoint()   # this experiment's own (a retry); else the extended trial's last
    if checkpoint is None and spec.resume_from:
        checkpoint = tune.Checkpoint(spec.resume_from)
    if prev is not None and prev.get("status") == TERMINATED and checkpoint is not None and _finished(checkpoint, cfg):
        return   # recorded finished, and Ray (a recovery, or a state older than our record) runs it again: keep the record
    try:
        _record(store, spec, trial_id, attempt, RUNNING, started_at=time.time(), resumed=checkpoint is not None)
    except OSError as exc:
        if no_space(exc):
            raise _full(store) from exc
        raise
    hooks = hooks_factory(store, spec, trial_id, attempt)
    if spec.tracking:
        from sweeps.tracking import Trackers
        from trainer.config import flatten_dotted
        hooks.trackers = Trackers(spec.tracking, spec.sweep, f"{spec.sweep}/t{spec.index:04d}", trial_id,
                                  {**flatten_dotted(spec.config), "trial_index": spec.index, "variant": spec.variant})
    try:
        _train(cfg, hooks, checkpoint, store, spec, trial_id, attempt)
    finally:
        if hooks.trackers is not None:
            hooks.trackers.finish((store.read_status(trial_id) or {}).get("status", ERROR))


def _full(store: SweepStore) -> StorageFull:
    """The error of a trial that met a full disk; sweeps.runner stops the sweep on it (one line, then --resume)."""
    return StorageFull(f"results store {store.uri}: {NO_SPACE}; rows written so far are intact")


def _at_budget(ckpt_dir: Path, cfg: Any) -> bool:
    """Whether a checkpoint of this very config already holds the whole budget: the trial's final one.

    Ray restores a trial from its final checkpoint when the driver died after the trial reported it but before
    Ray recorded the trial finished (and the last minibatch usually crosses the budget: 12.032 of 12 kimg).
    Such a trial is done; training it again would be refused by check_resume_config."""
    from trainer.checkpoint import check_resume_config, read_checkpoint_config, read_progress
    check_resume_config(read_checkpoint_config(ckpt_dir), cfg, 0.0)   # same experiment, else train() refuses it
    return int(read_progress(ckpt_dir)["cur_nimg"]) >= round(cfg.run.total_kimg * 1000)


def _finished(checkpoint: Any, cfg: Any) -> bool:
    """Whether CHECKPOINT is this config's final one (see _at_budget)."""
    with checkpoint.as_directory() as ckpt_dir:
        return _at_budget(Path(ckpt_dir), cfg)


def _train(cfg: Any, hooks: SweepHooks, checkpoint: Any, store: SweepStore, spec: TrialSpec, trial_id: str,
           attempt: int) -> None:
    """Train and record the outcome (split from run_trial so that trackers are closed on every path)."""
    from sweeps.gang import train_gang   # run.workers > 1: this process is worker 0 of the trial's placement group
    from trainer.loop import TrainingDiverged   # torch is imported in the worker, not on the driver
    try:
        if checkpoint is None:
            train_gang(cfg, hooks)
        else:
            with checkpoint.as_directory() as ckpt_dir:
                if _at_budget(Path(ckpt_dir), cfg):
                    store.compact(trial_id)
                    _record(store, spec, trial_id, attempt, TERMINATED, finished_at=time.time(), ticks_this_attempt=0,
                            restored_finished=True)
                    return
                train_gang(cfg, hooks, resume=Path(ckpt_dir))
    except TrainingDiverged as exc:
        # Deterministic: a retry would diverge again at the same tick.  Record the reason and end the trial
        # without raising, so Ray does not spend max_failures retries on it; trials.parquet says ERROR.
        hooks.buffer.flush()
        store.compact(trial_id)
        _end_diverged(store, spec, trial_id, attempt, f"TrainingDiverged: {exc}")
        return
    except UserInputError as exc:
        _record(store, spec, trial_id, attempt, ERROR, error=f"UserInputError: {exc}")
        raise
    except Exception as exc:
        if no_space(exc):   # our rows or Ray's checkpoint copy: a status record would not fit either
            raise _full(store) from exc
        if isinstance(exc, StoreUnreachable):   # a status record would not get through either
            raise
        _record(store, spec, trial_id, attempt, ERROR, error=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        raise
    store.compact(trial_id)
    _record(store, spec, trial_id, attempt, TERMINATED, finished_at=time.time(), ticks_this_attempt=hooks.ticks)
