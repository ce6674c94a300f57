"""Drives Ray Tune for a validated `Plan`: start or join Ray, run or restore the Tuner, write trials.parquet, summarise.

Ray choices (docs/ray-notes.md): one grid_search over the expanded trials (each a
plain dict validated again inside the trial), `with_resources` per scale,
`reuse_actors=True` (14 s instead of 114 s for 40 no-op trials), Ray's own
CSV/JSON/TensorBoard loggers off (our Parquet store is the record), bounded
retries via FailureConfig, and `Tuner.restore(resume_errored=True)` for
`--resume`, which skips finished trials.  Progress is one line per trial event.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import re
import sys
import time
from typing import Any

from resultsformat.layout import SWEEP_FILE, TRIALS_FILE
from resultsformat.statuses import ERROR, PAUSED, PENDING, RUNNING, TERMINATED
from sweeps.plan import Extension, Plan, redact, sweep_record
from sweeps.ray_address import check_reachable
from sweeps.extend import previous_trials, record_extension
from sweeps.lease import DriverLease, check_free
from sweeps.quiet import divert_raylet_lines, log_path
from sweeps.ray_state import plan_recovery, recovered_trials
from sweeps.store import StoreWriteError, SweepStore
from sweeps.summary import build_trials, missing_results, summary_text
from trainer.errors import UserInputError
from trainer.paths import absolute_path

EXIT_OK, EXIT_TRIAL_ERRORS, EXIT_INTERRUPTED = 0, 1, 130
# The logger of ray.init's "Token authentication is enabled for this Ray cluster" announcement (Ray 2.60).
_RAY_AUTH_SETUP_LOGGER = "ray._private.authentication.authentication_token_setup"


def _env_before_ray() -> None:
    # Must be set before ray.tune is imported: Tune reads them at import / Tuner creation.
    os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] = "1"
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    os.environ.setdefault("TUNE_GLOBAL_CHECKPOINT_S", "10")
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    # Checkpointing every tick (smoke) triggers Tune's "snapshotting too often" advice; the checkpoints are small.
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    # Trials run in Ray's per-trial working directories (sweeps/trainable.py) and inherit this process's
    # environment: a relative cache directory would be a different, empty cache in every trial.
    if os.environ.get("GANAUG_CACHE"):
        os.environ["GANAUG_CACHE"] = absolute_path(os.environ["GANAUG_CACHE"])


def _grid_index(trial: Any) -> int | None:
    """The trial's index in the expanded sweep; None when Ray restored it without our config (a damaged state save)."""
    spec = (trial.config or {}).get("trial")
    return int(spec["index"]) if isinstance(spec, dict) and "index" in spec else None


def trial_name(trial: Any) -> str:
    idx = _grid_index(trial)
    return f"t{idx:04d}" if idx is not None else f"ray-{trial.trial_id}"


def trial_dirname(trial: Any) -> str:
    idx = _grid_index(trial)
    return f"trial{idx:04d}_{trial.trial_id}" if idx is not None else f"ray_{trial.trial_id}"


_TRIAL_DIRNAME = re.compile(r"^trial(?P<index>\d{4,})_(?P<trial_id>.+)$")


def trial_id_of_dirname(name: str) -> str | None:
    """The Ray trial id in a folder name `trial_dirname` made (None for other names): sweeps.evaluate finds checkpoints by it."""
    m = _TRIAL_DIRNAME.match(name)
    return m.group("trial_id") if m else None


def trial_index_of_dirname(name: str) -> int | None:
    """The grid index in a folder name `trial_dirname` made (None for other names).

    An extension's Ray trials get new Ray ids but keep the grid index, so the index is what ties a
    `ray_ext<k>/` folder to the trial it continues."""
    m = _TRIAL_DIRNAME.match(name)
    return int(m.group("index")) if m else None


def _progress_callback(total: int, totals_kimg: dict[int, float] | None = None, start_kimg: float = 0.0) -> Any:
    from sweeps.progress import ProgressLines   # imports ray.tune: only after _env_before_ray
    return ProgressLines(total, totals_kimg or {}, start_kimg)


def ray_total_line(trials: list[Any], totals_kimg: dict[int, float], start_kimg: float = 0.0) -> str:
    """sweeps.status's total line from Ray's trial objects (no store reads on the driver's event loop).

    With --max-concurrent Ray creates trials only as slots free up, so the grid's other trials (TOTALS_KIMG's
    indices Ray has not created yet) count as PENDING at START_KIMG: 0, or the old budget in an extension."""
    from sweeps.status import TrialState, total_line
    states = []
    for t in trials:
        res = t.last_result or {}
        idx = _grid_index(t)
        if idx is None:
            continue
        kimg = float(res.get("kimg") or 0.0)
        total = totals_kimg.get(idx, float("nan"))
        if str(t.status) == TERMINATED and not res.get("kimg") and not math.isnan(total):
            kimg = total   # finished without a result in this experiment: an extension's trial already at budget
        # the run's own clock (restored with its checkpoint); Tune's time_total_s restarts in a new experiment while
        # kimg does not, which made a trial resumed at 444 kimg look 28 kimg/s fast ("expected finish in 0m40s")
        secs = float(res.get("wall_s") or 0.0) or (float(res.get("time_total_s") or 0.0) if start_kimg == 0 else 0.0)
        states.append(TrialState(idx, str(t.status), None, kimg, total, None,
                                 kimg / secs if secs > 0 and kimg > 0 else None, None, None))
    seen = {s.index for s in states}
    states += [TrialState(i, PENDING, None, start_kimg, total, None, None, None, None)
               for i, total in sorted(totals_kimg.items()) if i not in seen]
    return total_line(states)


def _init_ray(plan: Plan) -> dict[str, float]:
    import ray
    # Our summary lists failed trials; Tune's own end-of-run complaints (no result.json: its loggers are off) are noise.
    logging.getLogger("ray.tune.tune").setLevel(logging.CRITICAL)
    logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)
    check_reachable(plan.address)   # Ray would retry a dead address for minutes (docs/ray-notes.md)
    try:
        if plan.address:
            ray.init(address=plan.address, log_to_driver=False, logging_level=logging.WARNING)
        else:
            # A new local runtime: Ray turns token authentication on by itself (a token in ~/.ray/auth_token) and
            # says so in a WARNING that would be a new user's first line.  Only that announcement is hidden; the
            # mode is Ray's default (token), and an explicit RAY_AUTH_MODE is honoured.  Joining a cluster
            # (--address) changes nothing: there the README's RAY_AUTH_MODE=token and check_cluster apply.
            logging.getLogger(_RAY_AUTH_SETUP_LOGGER).setLevel(logging.ERROR)
            ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        ray.shutdown()
        where = f"--address {plan.address}" if plan.address else "a local Ray runtime"
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UserInputError(f"{where}: Ray did not start ({reason})") from None
    return dict(ray.cluster_resources())


def _claim_folder(plan: Plan) -> tuple[DriverLease, Plan]:
    """Take the folder's driver lease (sweeps.lease) and write sweep.json, once Ray is up: a start that fails
    leaves no folder a later launch would refuse.  The caller releases the lease.  The plan returned is PLAN, or,
    for a --resume whose Ray state is damaged, the recovery's (sweeps.ray_state): a new Tune experiment."""
    import ray
    ext = plan.extension
    lease = DriverLease(plan.store)
    try:
        lease.acquire()   # a second driver on this folder (launch or --resume) is refused, naming the first
        if plan.resume and not ext:
            return lease, _recover_if_damaged(plan)
        if ext:
            record_extension(plan.store, plan.sets, ext.from_kimg, ext.to_kimg, ext.ray_dir, plan.ray_path)
            print(f"extending {plan.spec.name}: every trial continues from its last checkpoint, "
                  f"{ext.from_kimg:g} -> {ext.to_kimg:g} kimg", flush=True)
        else:
            plan.store.create_json(SWEEP_FILE, sweep_record(plan))   # refuses a second launch racing for this folder
    except BaseException:
        lease.release()
        ray.shutdown()
        raise
    return lease, plan


def _recover_if_damaged(plan: Plan) -> Plan:
    """A --resume whose Ray state a full disk truncated continues from the store's records instead (sweeps.ray_state)."""
    rec = plan_recovery(plan.store, plan.ray_dir, max(t.config.run.total_kimg for t in plan.trials))
    if rec is None:
        return plan
    print(f"warning: Ray's experiment state cannot be restored ({rec['recovered']}); every trial continues from "
          f"its newest complete checkpoint in a new Tune experiment, {plan.store.uri}/{rec['ray_dir']}",
          file=sys.stderr, flush=True)
    ext = Extension(from_kimg=rec["from_kimg"], to_kimg=rec["to_kimg"], previous_ray_dir=rec["previous_ray_dirs"][-1],
                    ray_dir=rec["ray_dir"], recovered=rec["recovered"], previous_ray_dirs=tuple(rec["previous_ray_dirs"]))
    return dataclasses.replace(plan, ray_dir=rec["ray_dir"], extension=ext)


def _resources(plan: Plan, cluster: dict[str, float]) -> Any:
    """Each trial's placement group: run.workers bundles of the scale's per-worker CPU/GPU (sweeps/gang.py)."""
    from sweeps.gang import trial_resources
    res = plan.trials[0].resources
    gpu = res.gpu
    if gpu > 0 and not plan.address and cluster.get("GPU", 0) == 0:
        print(f"note: no GPU in the local Ray runtime; running trials with {res.cpu:g} CPU per worker and no GPU", flush=True)
        gpu = 0.0
    return trial_resources(res.cpu, gpu, res.placement)


def _tuner(plan: Plan, trainable: Any) -> Any:
    from ray import tune
    ext = plan.extension
    if plan.resume and not ext:
        if not tune.Tuner.can_restore(plan.ray_path):
            raise UserInputError(f"--resume: cannot restore Ray state at {plan.ray_path}")
        return tune.Tuner.restore(plan.ray_path, trainable, resume_errored=True)
    tracking = [dict(t) for t in plan.log] or ((plan.store.read_json(SWEEP_FILE) or {}).get("log") if ext else None)
    if tracking:
        from sweeps.tracking import prepare
        prepare(tracking, plan.spec.name)
    previous = {}
    if ext:
        previous = (recovered_trials(plan.store, list(ext.previous_ray_dirs)) if ext.recovered
                    else previous_trials(plan.store.uri + "/" + ext.previous_ray_dir))
    param_space = {"trial": tune.grid_search([
        {"sweep": plan.spec.name, "storage": plan.store.storage, "scale": plan.scale, "index": t.index,
         "variant": t.variant, "config": t.config.model_dump(mode="json"),
         **({"store_trial_id": previous[t.index][0], "resume_from": previous[t.index][1]} if t.index in previous else {}),
         **({"tracking": tracking} if tracking else {})}
        for t in plan.trials])}
    progress = _progress_callback(len(plan.trials), {t.index: t.config.run.total_kimg for t in plan.trials},
                                  plan.extension.from_kimg if plan.extension else 0.0)
    return tune.Tuner(
        trainable,
        param_space=param_space,
        tune_config=tune.TuneConfig(reuse_actors=True, max_concurrent_trials=plan.max_concurrent,
                                    trial_name_creator=trial_name, trial_dirname_creator=trial_dirname),
        run_config=tune.RunConfig(
            name=plan.ray_dir, storage_path=plan.store.uri, verbose=0, callbacks=[progress],
            failure_config=tune.FailureConfig(max_failures=plan.max_failures),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=2)),
    )


def _ray_outcome(grid: Any) -> tuple[dict[int, tuple[str, str]], dict[int, str], bool]:
    """What Ray says: (index -> (trial id, error line)) of errored trials, (index -> trial id) of finished ones,
    and whether any trial was left unfinished.

    Public ResultGrid API only (docs/ray-notes.md "The API we use"): each `Result.error`, `Result.metrics["done"]`
    (set when the trainable returned), the trial folder `Result.path` (named by `trial_dirname`), and the grid's
    terminated / errored counts.
    """
    errors: dict[int, tuple[str, str]] = {}
    finished: dict[int, str] = {}
    for result in grid:
        m = _TRIAL_DIRNAME.match(str(result.path).rstrip("/").rsplit("/", 1)[-1])
        if m is None:
            continue
        idx, trial_id = int(m.group("index")), m.group("trial_id")
        # an extension writes under the trial it continues (sweeps.extend)
        trial_id = ((result.config or {}).get("trial") or {}).get("store_trial_id") or trial_id
        if result.error is not None:
            errors[idx] = (trial_id, _error_line(result.error) or "trial errored (see Ray logs)")
        elif (result.metrics or {}).get("done"):
            finished[idx] = trial_id
    unfinished = grid.num_terminated + grid.num_errors < len(grid)
    return errors, finished, unfinished


def _error_line(error: BaseException) -> str | None:
    """The line of Ray's error text (a remote traceback) that names the exception, e.g. 'ValueError: boom'."""
    lines = [ln.strip() for ln in str(error).strip().splitlines() if ln.strip()]
    named = [ln for ln in lines if re.match(r"^[\w.]+(Error|Exception|Diverged|Interrupt)\b", ln)]
    return (named or lines or [type(error).__name__])[-1]


def _render_report(plan: Plan) -> str | None:
    try:
        from analysis.report import render_report   # type: ignore[attr-defined]
    except ImportError:
        return None
    try:
        out = plan.store.uri + "/report"
        index = render_report(plan.store.uri, out)
        return str(index) if index else out + "/index.html"
    except Exception as exc:   # noqa: BLE001 - a report failure must not lose the sweep's exit status
        print(f"warning: analysis.report failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return None


def _pause_running(store: SweepStore) -> None:
    """After an interrupted launch, mark PAUSED every trial whose record still says RUNNING.

    Ray has stopped this launch's trials by now (ray.shutdown ends a job's actors), and a record a killed
    earlier launch left RUNNING is not running either; without this, `sweeps.status` showed them running,
    with time left, until they went silent for long enough to count as stalled."""
    try:
        for trial_id, rec in store.read_statuses().items():
            if rec.get("status") == RUNNING:
                store.write_status(trial_id, {**rec, "status": PAUSED, "paused_at": time.time()})
    except (OSError, StoreWriteError) as exc:   # the storage is what stopped the sweep: the records stay as they are
        print(f"warning: could not mark the stopped trials PAUSED: {str(exc).splitlines()[0] if str(exc) else exc}",
              file=sys.stderr, flush=True)


def run(plan: Plan, trainable_fn: Any = None, render: bool = True) -> int:
    """Run (or resume) the sweep; returns the exit code (0 ok, 1 trial errors, 130 interrupted).

    trainable_fn: the function trainable (default `sweeps.trainable.run_trial`); benchmarks pass a no-op one
    to measure the orchestration alone.  render: call analysis.report at the end.
    """
    _env_before_ray()
    check_free(plan.store)   # a live driver on this folder: one line, exit 2, before Ray starts or anything is written
    cluster = _init_ray(plan)
    lease, plan = _claim_folder(plan)   # the driver lease and sweep.json, or the extension's record, only once Ray is up
    try:
        return _drive(plan, trainable_fn, cluster, render)
    finally:
        lease.release()


def _drive(plan: Plan, trainable_fn: Any, cluster: dict[str, float], render: bool) -> int:
    """Fit (or restore) the Tuner, then write trials.parquet, the report and the summary; the exit code."""
    import ray
    from ray import tune
    from sweeps.trainable import run_trial
    trainable_fn = trainable_fn or run_trial
    quiet = contextlib.ExitStack()   # Ray's (raylet) lines go to a file, not among our progress lines
    quiet.enter_context(divert_raylet_lines(log_path(plan.store, plan.ray_dir)))
    interrupted = False
    grid = None
    try:
        trainable = tune.with_resources(trainable_fn, _resources(plan, cluster))
        print(f"sweep {plan.spec.name} at scale {plan.scale}: {len(plan.trials)} trials, results in {plan.store.uri}", flush=True)
        try:
            grid = _tuner(plan, trainable).fit()
        except KeyboardInterrupt:
            interrupted = True
        except (EOFError, OSError) as exc:   # Ray reading back what a full disk truncated (an empty error.pkl)
            print(f"warning: Ray's results could not be read back ({type(exc).__name__}: {exc}); the store's records "
                  f"are used", file=sys.stderr, flush=True)
        errors, finished, unfinished = _ray_outcome(grid) if grid is not None else ({}, {}, True)
        interrupted = interrupted or unfinished
    finally:
        ray.shutdown()
        quiet.close()
    metrics = plan.store.read_metrics()
    for note in metrics.attrs.get("skipped_parts", []):   # a corrupt part costs its own rows, named once
        print(f"warning: {note}", file=sys.stderr, flush=True)
    # A trial Ray calls finished must have left its record and rows in the store; if not, that is an error
    # naming it (and where it looked), never a "pending" trial of an "interrupted" sweep.
    vanished = missing_results(finished, plan.store, metrics)
    for idx, (trial_id, what) in sorted(vanished.items()):
        print(f"error: trial {idx} ({trial_id}) {what}", file=sys.stderr, flush=True)
    df = build_trials(plan.trials, plan.store, errors, metrics, vanished, plan.extension is not None)
    # After Ctrl-C Tune returns normally; trials our records still show running or pending tell us it stopped early.
    interrupted = interrupted or bool(df["status"].isin([RUNNING, PAUSED, PENDING]).any())
    if interrupted and (df["status"] == RUNNING).any():
        _pause_running(plan.store)
        df = build_trials(plan.trials, plan.store, errors, metrics, vanished, plan.extension is not None)
    store_failed = False
    try:
        plan.store.write_trials(df)
    except StoreWriteError as exc:   # the rows and status records already written stay readable
        print(f"error: {TRIALS_FILE} not written: {exc}", file=sys.stderr, flush=True)
        render, store_failed = False, True
    index = None if interrupted or not render else _render_report(plan)
    resume_cmd = f"python -m sweeps.launch {plan.spec.name} --storage {redact(plan.store.storage)} --resume"
    print(summary_text(df, plan.store, index, interrupted, resume_cmd), flush=True)
    if interrupted and not store_failed:
        return EXIT_INTERRUPTED
    return EXIT_TRIAL_ERRORS if store_failed or vanished or (df["status"] == ERROR).any() else EXIT_OK
