"""Orchestration overhead of `sweeps` against raw Ray Tune, the Parquet store's cost per row, and the training share.

Prints one JSON object.  Measured side by side in one run:

- `raw_s`: a grid of no-op trials (a bare function trainable calling tune.report) through a plain Tuner;
- `ours_s`: the same grid through our launch path (sweeps.runner.run: validated plan, sweep.json, status records,
  every report written as a Parquet part by the trial process, compaction, trials.parquet);
  `ratio` = ours / raw (goal <= 1.2);
- `store_us_per_row`: SweepStore.write_rows of one realistic tick row (~50 columns) as its own part, microseconds
  (the worst case: a checkpoint every tick, as at the smoke scale); `store_us_per_row_batched`: the same rows
  flushed 10 at a time, as RowBuffer does between checkpoints;
- `train_share` (unless --skip-smoke-sweep): the default `python -m sweeps.launch fixed_p_grid`, run for real;
  sum(time_train_s) / (wall x cores) (goal >= 0.5), with the sweep's wall time (goal <= ~6 min on 2 cores).

The no-op trainables live here only: they measure Ray overhead, they are never a product trainer.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from sweeps.plan import Plan  # noqa: E402
from sweeps.runner import _env_before_ray  # noqa: E402
from sweeps.spec import SCALES, Axis, Resources, SweepSpec, expand  # noqa: E402
from sweeps.store import SweepStore  # noqa: E402

REPORTS = 10


def _row(tick: int) -> dict[str, Any]:
    from benchmarks.store import tick_row
    return tick_row(tick)


def raw_trainable(config: dict[str, Any]) -> None:
    from ray import tune
    for i in range(1, config["reports"] + 1):
        tune.report({"tick": i, "x": config["seed"] * i})


def store_trainable(config: dict[str, Any]) -> None:
    """No-op trial through the real store: status records, one Parquet part per report, compaction."""
    from ray import tune
    from sweeps.store import RowBuffer
    from sweeps.trainable import TrialSpec, _record
    from trainer.config import validate_config
    spec = TrialSpec.model_validate(config["trial"])
    validate_config(spec.config)
    trial_id = tune.get_context().get_trial_id()
    store = SweepStore(spec.storage, spec.sweep)
    _record(store, spec, trial_id, 0, "RUNNING")
    buffer = RowBuffer(store, trial_id, 0)    # as SweepHooks: no checkpoints here, so one flush at the end
    for tick in range(1, REPORTS + 1):
        buffer.add({**_row(tick), "sweep": spec.sweep, "trial_index": spec.index})
        tune.report({"tick": tick, "kimg": float(tick)})
    buffer.flush()
    store.compact(trial_id)
    _record(store, spec, trial_id, 0, "TERMINATED", finished_at=time.time())


def time_raw(n_trials: int) -> float:
    _env_before_ray()   # the same Ray settings as the product (its CSV/JSON/TensorBoard loggers off)
    import ray
    from ray import tune
    t0 = time.perf_counter()
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    tuner = tune.Tuner(tune.with_resources(raw_trainable, {"cpu": 1}),
                       param_space={"seed": tune.grid_search(list(range(n_trials))), "reports": REPORTS},
                       tune_config=tune.TuneConfig(reuse_actors=True),
                       run_config=tune.RunConfig(storage_path=tempfile.mkdtemp(prefix="bench-raw-"), verbose=0))
    with contextlib.redirect_stdout(sys.stderr):
        tuner.fit()
    ray.shutdown()
    return time.perf_counter() - t0


def time_ours(n_trials: int) -> float:
    from sweeps.runner import run
    res = {s: Resources(cpu=1.0) for s in SCALES}
    seeds = Axis(smoke=tuple(range(n_trials)), tiny=(0,), paper=(0,))
    spec = SweepSpec(name="bench_noop", description="no-op grid", figure="none", seeds=seeds, resources=res)
    trials = expand(spec, "smoke")
    store = SweepStore(tempfile.mkdtemp(prefix="bench-ours-"), spec.name)
    plan = Plan(spec, "smoke", [], trials, store, command="benchmarks.orchestration")
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):   # progress lines to stderr: stdout is the JSON line only
        code = run(plan, trainable_fn=store_trainable, render=False)
    elapsed = time.perf_counter() - t0
    rows = store.read_metrics()
    assert code == 0 and len(rows) == n_trials * REPORTS, (code, len(rows))
    return elapsed


def store_cost_us(n: int = 200, batch: int = 1) -> float:
    store = SweepStore(tempfile.mkdtemp(prefix="bench-store-"), "s")
    t0 = time.perf_counter()
    for start in range(1, n + 1, batch):
        store.write_rows([_row(tick) for tick in range(start, start + batch)], trial_id="t", attempt=0)
    return (time.perf_counter() - t0) / n * 1e6


def smoke_sweep_share() -> dict[str, Any]:
    storage = tempfile.mkdtemp(prefix="bench-smoke-")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "sweeps.launch", "fixed_p_grid", "--storage", storage],
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    rows = SweepStore(storage, "fixed_p_grid").read_metrics()
    cores = os.cpu_count() or 1
    train = float(rows["time_train_s"].sum()) if not rows.empty else 0.0
    return {"smoke_sweep_exit": proc.returncode, "smoke_sweep_wall_s": round(wall, 1), "smoke_sweep_trials": int(rows["trial_id"].nunique()) if not rows.empty else 0,
            "train_s_sum": round(train, 1), "cores": cores, "train_share": round(train / (wall * cores), 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--reps", type=int, default=2, help="alternating raw/ours repetitions; the median of each is used")
    ap.add_argument("--skip-smoke-sweep", action="store_true", help="skip the real fixed_p_grid run (minutes)")
    args = ap.parse_args()
    out: dict[str, Any] = {"trials": args.trials, "reports_per_trial": REPORTS}
    out["store_us_per_row"] = round(store_cost_us(), 1)
    out["store_us_per_row_batched"] = round(store_cost_us(batch=10), 1)
    raw, ours = [], []
    for _ in range(args.reps):
        raw.append(time_raw(args.trials))
        ours.append(time_ours(args.trials))
    out["raw_s"], out["ours_s"] = round(statistics.median(raw), 2), round(statistics.median(ours), 2)
    out["raw_runs_s"], out["ours_runs_s"] = [round(x, 1) for x in raw], [round(x, 1) for x in ours]
    out["ratio"] = round(out["ours_s"] / out["raw_s"], 3)
    out["load_avg_1min"] = round(os.getloadavg()[0], 2)
    if not args.skip_smoke_sweep:
        out.update(smoke_sweep_share())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
