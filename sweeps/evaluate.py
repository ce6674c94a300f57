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
grid index.  Trials that did not finish (ERROR, RUNNING) are skipped and
named.  Everything -- the folder, every selected trial's checkpoint, the
overrides, that the folder is writable -- is checked before the first
measurement, and the part is written once, atomically, after the last; an
interrupted run writes nothing.  Only local sweep folders are supported:
copy a bucket's sweep down first (its checkpoints are under `ray/`).
"""

from __future__ import annotations

import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resultsformat import EVAL_COLUMNS, conform
from resultsformat.layout import EVAL_DIR, RAY_DIR
from sweeps.extend import EXT_DIR
from sweeps.runner import trial_id_of_dirname, trial_index_of_dirname
from sweeps.store import SWEEP_FILE, SweepStore, probe_writable
from trainer.checkpoint import read_checkpoint_config, read_progress
from trainer.config import TrainConfig, apply_overrides
from trainer.errors import OneLineArgumentParser, UserInputError, cli_main
from trainer.evaluate import MAX_REPEATS, check_overrides, measure, resolve_checkpoint
from trainer.paths import resolve_paths

FINISHED = "TERMINATED"


@dataclass(frozen=True)
class Job:
    trial_id: str
    checkpoint: Path
    config: TrainConfig


def build_parser() -> OneLineArgumentParser:
    p = OneLineArgumentParser(prog="python -m sweeps.evaluate",
                              description="Re-measure the last snapshot of every finished trial of a sweep and store "
                                          "the FIDs in <sweep>/evaluations/ for analysis.report.")
    p.add_argument("sweep_dir", help="a local sweep folder, <storage>/<sweep> (holds sweep.json and ray/)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override metrics.* (e.g. metrics.fid_samples=10000), run.device or run.threads (repeatable)")
    p.add_argument("--repeats", type=int, default=3, help=f"independent latent draws per trial, 1..{MAX_REPEATS} (default 3)")
    p.add_argument("--trials", nargs="+", default=None, metavar="TRIAL_ID", help="only these trial ids (default: every finished trial)")
    p.add_argument("--cache-dir", type=Path, default=None, help="cache for datasets and metric statistics (default $GANAUG_CACHE or ~/.cache/ganaug)")
    return p


def _named_dirs(ray_dir: Path) -> list[Path]:
    return [d for d in sorted(ray_dir.iterdir()) if d.is_dir() and trial_id_of_dirname(d.name) is not None] \
        if ray_dir.is_dir() else []


def trial_dirs(sweep_dir: Path, extension_dirs: list[str]) -> dict[str, list[Path]]:
    """Ray trial folders per store trial id, oldest Tune experiment first.

    Why not only `ray/`: an extension (sweeps.extend) runs a new Tune experiment in `ray_ext<k>/` whose
    trials have new Ray ids; its folder belongs to the original trial with the same grid index, and its
    checkpoints are the newer ones.  Measuring `ray/` alone re-measured the snapshot from before the
    extension, joined to an older tick than the trial's last."""
    original = _named_dirs(sweep_dir / RAY_DIR)
    found: dict[str, list[Path]] = {trial_id_of_dirname(d.name): [d] for d in original}  # type: ignore[misc]
    by_index = {trial_index_of_dirname(d.name): trial_id_of_dirname(d.name) for d in original}
    for name in extension_dirs:
        for d in _named_dirs(sweep_dir / name):
            trial_id = by_index.get(trial_index_of_dirname(d.name))
            if trial_id is not None:
                found[trial_id].append(d)
    return found


def newest_checkpoint(dirs: list[Path]) -> Path:
    """The newest checkpoint of a trial: from its newest Ray folder that has one (an extension interrupted
    before this trial started has a folder without a checkpoint, or none)."""
    for d in reversed(dirs[1:]):
        try:
            return resolve_checkpoint(d)
        except UserInputError:
            continue
    return resolve_checkpoint(dirs[0])


def plan(args: Any) -> tuple[SweepStore, list[Job], list[str]]:
    """(store, jobs, skipped notes); every check happens here, before anything is measured."""
    if not 1 <= args.repeats <= MAX_REPEATS:
        raise UserInputError(f"--repeats {args.repeats}: must be between 1 and {MAX_REPEATS}")
    check_overrides(args.overrides)
    if any(item.partition("=")[0].strip() == "metrics.detector" for item in args.overrides):
        raise UserInputError("--set metrics.detector: the report joins re-measured FIDs to ticks logged with the same "
                             "detector; to measure with another detector use python -m trainer.evaluate")
    if "://" in args.sweep_dir:   # kept a str until here: Path would turn s3://b/x into s3:/b/x
        raise UserInputError(f"{args.sweep_dir}: sweeps.evaluate reads checkpoints from a local folder; copy the sweep "
                             f"down first (its checkpoints are under {RAY_DIR}/)")
    sweep_dir = Path(args.sweep_dir).expanduser().resolve()
    if not (sweep_dir / SWEEP_FILE).is_file():
        raise UserInputError(f"{args.sweep_dir}: not a sweep folder (no {SWEEP_FILE}); pass <storage>/<sweep>")
    store = SweepStore(str(sweep_dir.parent), sweep_dir.name)
    extensions = [str(e.get("ray_dir", "")) for e in (store.read_json(SWEEP_FILE) or {}).get("extensions", [])]
    dirs = trial_dirs(sweep_dir, [e for e in extensions if e.startswith(EXT_DIR)])
    statuses = store.read_statuses()
    wanted = args.trials if args.trials is not None else sorted(statuses)
    unknown = [t for t in wanted if t not in statuses]
    if unknown:
        raise UserInputError(f"--trials: {', '.join(unknown)} not in {args.sweep_dir} (its trials: {', '.join(sorted(statuses)) or 'none'})")
    jobs, skipped = [], []
    for trial_id in wanted:
        status = statuses[trial_id].get("status")
        if status != FINISHED:
            skipped.append(f"{trial_id} ({status})")
            continue
        if trial_id not in dirs:
            raise UserInputError(f"{trial_id}: no Ray trial folder under {sweep_dir / RAY_DIR} (was ray/ moved or deleted?)")
        ckpt = newest_checkpoint(dirs[trial_id])
        read_progress(ckpt)   # an unreadable state.pt is refused now, not after other trials were measured
        jobs.append(Job(trial_id, ckpt, resolve_paths(apply_overrides(read_checkpoint_config(ckpt), args.overrides))))
    if not jobs:
        raise UserInputError(f"{args.sweep_dir}: no finished trial to measure" + (f" (skipped: {', '.join(skipped)})" if skipped else ""))
    try:
        probe_writable(str(sweep_dir))
    except UserInputError as exc:   # its message names --storage, which this command does not have
        raise UserInputError(f"{args.sweep_dir}: cannot write {EVAL_DIR}/ there ({str(exc).partition('(')[2].rstrip(')')})") from None
    return store, jobs, skipped


def row(store: SweepStore, job: Job, result: dict[str, Any], now: float) -> dict[str, Any]:
    """One Parquet row: the trial key and tick the logged row has, plus what was measured and how."""
    return {
        "sweep": store.sweep, "trial_id": job.trial_id, "tick": int(result["tick"]), "kimg": float(result["kimg"]),
        "detector": result["detector"], "fid_samples": int(result["fid_samples"]), "repeats": int(result["repeats"]),
        "fid": float(result["fid"]), "fid_std": result["fid_std"], "kid": result["kid"],
        "checkpoint": str(job.checkpoint.relative_to(Path(store.root))), "written_at": now,
    }


def run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    store, jobs, skipped = plan(args)
    if skipped:
        print(f"skipping unfinished trials: {', '.join(skipped)}", file=sys.stderr)
    suites: dict[str, Any] = {}
    rows = []
    for i, job in enumerate(jobs, 1):
        result = measure(job.checkpoint, job.config, args.repeats, args.cache_dir, suites)
        rows.append(row(store, job, result, time.time()))
        std = f" ± {result['fid_std']:.3f}" if result["fid_std"] is not None else ""
        print(f"[{i}/{len(jobs)}] {job.trial_id} tick {result['tick']} ({result['kimg']:.0f} kimg): "
              f"FID {result['fid']:.3f}{std} ({result['fid_samples']} samples x {result['repeats']})", flush=True)
    table = conform(rows, EVAL_COLUMNS, "evaluation rows")   # one row per trial; analysis.load joins them to tick rows
    path = store.write_table(f"{EVAL_DIR}/{uuid.uuid4().hex[:12]}.parquet", table)
    print(f"wrote {len(rows)} rows to {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli_main(run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
