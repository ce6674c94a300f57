"""`python -m sweeps.evaluate SWEEP_DIR`: re-measure each finished trial's last snapshot and store the FIDs with the sweep.

    python -m sweeps.evaluate results/fixed_p_grid --set metrics.fid_samples=10000 --repeats 3
    python -m analysis.report results/fixed_p_grid --out report/

Why: a tick's FID at `tiny` uses 2 000 samples, whose draw-to-draw noise (std
~0.1 at FID ~1.2) is as large as the differences ADA Fig 4 is about; ranking
trials on it can reverse their order (docs/tiny-results.md, section 3).
`trainer.evaluate` re-measures checkpoints one names and prints JSON; this
command does it for a whole sweep and keeps the numbers where the report and
notebooks look: one immutable Parquet part, `evaluations/<uuid>.parquet`, one
row per trial.  `analysis.load.load_metrics` joins them to the tick rows they
re-measure (columns `fid_eval`, `fid_eval_std`, `fid_eval_samples`,
`fid_eval_repeats`), and figures of final FID per trial use them once every
trial in the figure has one -- never a mix of logged and re-measured numbers.

The snapshot is each trial's newest Ray checkpoint, which for a finished trial is
its last tick; after `--resume --set run.total_kimg=N` that is in the newest
extension's folder (`ray_ext<k>/`), whose Ray trials have new ids but keep their
grid index.  Trials that did not finish (ERROR, RUNNING) are skipped and named.
Everything -- the folder, every selected trial's checkpoint, the overrides,
that the folder is writable -- is checked before the first measurement, and
the part is written once, atomically, after the last; an interrupted run
writes nothing.

SWEEP_DIR may be a bucket (`s3://bucket/prefix/<sweep>`, as a cluster's
`--storage` writes it): the checkpoints are read through the same pyarrow
filesystem as the results, each downloaded into a temporary folder just before
it is measured and deleted after, so a sweep of many paper-size snapshots does
not need their total size on local disk; the part goes back to the bucket.  A
checkpoint's config is checked up front there too; its state.pt is only read
when its turn comes, and a bad one stops the run with nothing written.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs

from resultsformat import EVAL_COLUMNS, conform
from resultsformat.layout import EVAL_DIR, RAY_CHECKPOINT_PREFIX, RAY_DIR, SWEEP_FILE
from resultsformat.statuses import TERMINATED
from sweeps.extend import EXT_DIR
from sweeps.runner import trial_id_of_dirname, trial_index_of_dirname
from sweeps.store import SweepStore, probe_writable
from trainer.checkpoint import CONFIG_FILE, STATE_FILE, read_progress
from trainer.config import TrainConfig, apply_overrides
from trainer.errors import OneLineArgumentParser, UserInputError, cli_main
from trainer.evaluate import MAX_REPEATS, check_overrides, measure
from trainer.paths import resolve_paths


@dataclass(frozen=True)
class Job:
    trial_id: str
    checkpoint: str        # the checkpoint folder in the store's filesystem (a local path, or a key in the bucket)
    config: TrainConfig


def build_parser() -> OneLineArgumentParser:
    p = OneLineArgumentParser(prog="python -m sweeps.evaluate",
                              description="Re-measure the last snapshot of every finished trial of a sweep and store "
                                          f"the FIDs in <sweep>/{EVAL_DIR}/ for analysis.report.")
    p.add_argument("sweep_dir", help=f"a sweep folder, <storage>/<sweep> (holds {SWEEP_FILE} and {RAY_DIR}/): local, "
                                    "or s3://...")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override metrics.* (e.g. metrics.fid_samples=10000), run.device or run.threads (repeatable)")
    p.add_argument("--repeats", type=int, default=3, help=f"independent latent draws per trial, 1..{MAX_REPEATS} (default 3)")
    p.add_argument("--trials", nargs="+", default=None, metavar="TRIAL_ID", help="only these trial ids (default: every finished trial)")
    p.add_argument("--cache-dir", type=Path, default=None, help="cache for datasets and metric statistics (default $GANAUG_CACHE or ~/.cache/ganaug)")
    return p


def open_sweep(arg: str) -> SweepStore:
    """The store of the sweep folder ARG names (a local path or a URI); one line when it is not one."""
    not_sweep = UserInputError(f"{arg}: not a sweep folder (no {SWEEP_FILE}); pass <storage>/<sweep>")
    if "://" in arg:   # kept a str: Path would turn s3://b/x into s3:/b/x
        parent, _, name = arg.rstrip("/").rpartition("/")
        if not name or parent.endswith(":/"):
            raise not_sweep
        try:
            store = SweepStore(parent, name)
        except UserInputError as exc:   # its message names --storage, which this command does not have
            raise UserInputError(f"{arg}: {str(exc).partition(': ')[2]}") from None
    else:
        local = Path(arg).expanduser().resolve()
        store = SweepStore(str(local.parent), local.name)
    try:
        found = store.fs.get_file_info(store.path(SWEEP_FILE)).type == pafs.FileType.File
    except (OSError, pa.ArrowException) as exc:
        raise UserInputError(f"{arg}: cannot read it ({str(exc).splitlines()[0]})") from None
    if not found:
        raise not_sweep
    return store


def _subdirs(store: SweepStore, path: str) -> list[pafs.FileInfo]:
    infos = store.fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
    return sorted((i for i in infos if i.type == pafs.FileType.Directory), key=lambda i: i.base_name)


def _trial_folders(store: SweepStore, ray_dir: str) -> list[pafs.FileInfo]:
    return [i for i in _subdirs(store, store.path(ray_dir)) if trial_id_of_dirname(i.base_name) is not None]


def trial_dirs(store: SweepStore, extension_dirs: list[str]) -> dict[str, list[str]]:
    """Ray trial folders per store trial id, oldest Tune experiment first.

    Why not only `ray/`: an extension (sweeps.extend) runs a new Tune experiment in `ray_ext<k>/` whose
    trials have new Ray ids; its folder belongs to the original trial with the same grid index, and its
    checkpoints are the newer ones.  Measuring `ray/` alone re-measured the snapshot from before the
    extension, joined to an older tick than the trial's last."""
    original = _trial_folders(store, RAY_DIR)
    found = {str(trial_id_of_dirname(i.base_name)): [i.path] for i in original}
    by_index = {trial_index_of_dirname(i.base_name): str(trial_id_of_dirname(i.base_name)) for i in original}
    for name in extension_dirs:
        for i in _trial_folders(store, name):
            trial_id = by_index.get(trial_index_of_dirname(i.base_name))
            if trial_id is not None:
                found[trial_id].append(i.path)
    return found


def newest_checkpoint(store: SweepStore, dirs: list[str]) -> str | None:
    """A trial's newest complete checkpoint folder: from its newest Ray folder that has one (an extension
    interrupted before this trial started has a folder without a checkpoint), newest checkpoint_* first
    (a half-uploaded one lacks one of its two files)."""
    for d in reversed(dirs):
        for c in reversed([i for i in _subdirs(store, d) if i.base_name.startswith(RAY_CHECKPOINT_PREFIX)]):
            files = store.fs.get_file_info([f"{c.path}/{CONFIG_FILE}", f"{c.path}/{STATE_FILE}"])
            if all(f.type == pafs.FileType.File for f in files):
                return c.path
    return None


def _read_config(store: SweepStore, checkpoint: str) -> TrainConfig:
    with store.fs.open_input_stream(f"{checkpoint}/{CONFIG_FILE}") as f:
        return TrainConfig.from_json(f.read().decode())


def jobs_to_measure(args: Any) -> tuple[SweepStore, list[Job], list[str]]:
    """(store, jobs, skipped notes); every check happens here, before anything is measured."""
    if not 1 <= args.repeats <= MAX_REPEATS:
        raise UserInputError(f"--repeats {args.repeats}: must be between 1 and {MAX_REPEATS}")
    check_overrides(args.overrides)
    if any(item.partition("=")[0].strip() == "metrics.detector" for item in args.overrides):
        raise UserInputError("--set metrics.detector: the report joins re-measured FIDs to ticks logged with the same "
                             "detector; to measure with another detector use python -m trainer.evaluate")
    store = open_sweep(args.sweep_dir)
    extensions = [str(e.get("ray_dir", "")) for e in (store.read_json(SWEEP_FILE) or {}).get("extensions", [])]
    dirs = trial_dirs(store, [e for e in extensions if e.startswith(EXT_DIR)])
    statuses = store.read_statuses()
    wanted = args.trials if args.trials is not None else sorted(statuses)
    unknown = [t for t in wanted if t not in statuses]
    if unknown:
        raise UserInputError(f"--trials: {', '.join(unknown)} not in {args.sweep_dir} (its trials: {', '.join(sorted(statuses)) or 'none'})")
    jobs, skipped = [], []
    for trial_id in wanted:
        status = statuses[trial_id].get("status")
        if status != TERMINATED:
            skipped.append(f"{trial_id} ({status})")
            continue
        if trial_id not in dirs:
            raise UserInputError(f"{trial_id}: no Ray trial folder under {store.uri}/{RAY_DIR} (was {RAY_DIR}/ moved or deleted?)")
        ckpt = newest_checkpoint(store, dirs[trial_id])
        if ckpt is None:
            raise UserInputError(f"{trial_id}: no checkpoint in {', '.join(dirs[trial_id])} (expected "
                                 f"{RAY_CHECKPOINT_PREFIX}*/ with {CONFIG_FILE} and {STATE_FILE})")
        if store.is_local:
            read_progress(Path(ckpt))   # an unreadable state.pt is refused now, not after other trials were measured
        jobs.append(Job(trial_id, ckpt, resolve_paths(apply_overrides(_read_config(store, ckpt), args.overrides))))
    if not jobs:
        raise UserInputError(f"{args.sweep_dir}: no finished trial to measure" + (f" (skipped: {', '.join(skipped)})" if skipped else ""))
    try:
        probe_writable(store.uri)
    except UserInputError as exc:   # its message names --storage, which this command does not have
        raise UserInputError(f"{args.sweep_dir}: cannot write {EVAL_DIR}/ there ({str(exc).partition('(')[2].rstrip(')')})") from None
    return store, jobs, skipped


def local_copy(store: SweepStore, checkpoint: str, workdir: Path) -> Path:
    """CHECKPOINT as a local folder: itself on a local store, else downloaded into WORKDIR (checked like a local one)."""
    if store.is_local:
        return Path(checkpoint)
    target = workdir / checkpoint.rstrip("/").rsplit("/", 1)[-1]
    target.mkdir(parents=True)
    try:
        pafs.copy_files(checkpoint, str(target), source_filesystem=store.fs, destination_filesystem=pafs.LocalFileSystem())
    except (OSError, pa.ArrowException) as exc:
        raise UserInputError(f"{checkpoint}: cannot download it ({str(exc).splitlines()[0]}); nothing was written") from None
    read_progress(target)
    return target


def row(store: SweepStore, job: Job, result: dict[str, Any], now: float) -> dict[str, Any]:
    """One Parquet row: the trial key and tick the logged row has, plus what was measured and how."""
    return {
        "sweep": store.sweep, "trial_id": job.trial_id, "tick": int(result["tick"]), "kimg": float(result["kimg"]),
        "detector": result["detector"], "fid_samples": int(result["fid_samples"]), "repeats": int(result["repeats"]),
        "fid": float(result["fid"]), "fid_std": result["fid_std"], "kid": result["kid"],
        "checkpoint": job.checkpoint[len(store.root) + 1:], "written_at": now,
    }


def run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    store, jobs, skipped = jobs_to_measure(args)
    if skipped:
        print(f"skipping unfinished trials: {', '.join(skipped)}", file=sys.stderr)
    suites: dict[str, Any] = {}
    rows = []
    with tempfile.TemporaryDirectory(prefix="ganaug-evaluate-") as tmp:
        for i, job in enumerate(jobs, 1):
            local = local_copy(store, job.checkpoint, Path(tmp))
            result = measure(local, job.config, args.repeats, args.cache_dir, suites)
            if not store.is_local:
                shutil.rmtree(local)   # one snapshot on local disk at a time
            rows.append(row(store, job, result, time.time()))
            std = f" ± {result['fid_std']:.3f}" if result["fid_std"] is not None else ""
            print(f"[{i}/{len(jobs)}] {job.trial_id} tick {result['tick']} ({result['kimg']:.0f} kimg): "
                  f"FID {result['fid']:.3f}{std} ({result['fid_samples']} samples x {result['repeats']})", flush=True)
    table = conform(rows, EVAL_COLUMNS, "evaluation rows")   # one row per trial; analysis.load joins them to tick rows
    rel = f"{EVAL_DIR}/{uuid.uuid4().hex[:12]}.parquet"
    store.write_table(rel, table)
    print(f"wrote {len(rows)} rows to {store.uri}/{rel}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli_main(run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
