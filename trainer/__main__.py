"""`python -m trainer`: one training run without Ray, into a run directory (docs/architecture.md "Public surface").

    python -m trainer --preset smoke --out runs/smoke1 [--set key=value ...]
    python -m trainer --resume runs/smoke1 [--set run.total_kimg=24]

Bad input (unknown preset, bad --set, bad dataset, unusable output directory,
bad checkpoint) prints one line on stderr and exits 2 before anything is
written: the config is validated and the dataset loaded before the directory
is created.  Paths (--out, --resume, data.source, metrics.detector_path) are
made absolute first (trainer/paths.py), so config.json names the same files
from any directory a later --resume or trainer.evaluate runs in.  A diverging run (NaN/inf loss) prints one line and exits 1.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from resultsformat.layout import CHECKPOINTS_DIR, CONFIG_FILE, LATEST_CHECKPOINT, SAMPLES_DIR, SINGLE_RUN_FILE
from trainer.config import PRESETS, TrainConfig, apply_overrides, preset
from trainer.errors import OneLineArgumentParser, UserInputError, cli_main
from trainer.init_from import with_source_hash
from trainer.paths import absolute_path, resolve_paths


def build_parser() -> argparse.ArgumentParser:
    p = OneLineArgumentParser(prog="python -m trainer", description="Train one GAN run (no Ray) into a run directory: "
                f"{CONFIG_FILE}, {SINGLE_RUN_FILE} (one row per tick), {CHECKPOINTS_DIR}/{LATEST_CHECKPOINT}/, "
                f"{SAMPLES_DIR}/tick*.png.",
                epilog="Transfer learning is not --resume: --set run.init_from=DIR (a checkpoint, run folder or sweep "
                "trial folder, or an NVlabs network .pkl with G, D and G_ema) starts a new run at kimg 0 from DIR's "
                "G, D and G_ema, with fresh optimisers and this "
                "run's augmentation (p starts at augment.p); add --set model.freeze_d=K to freeze D's first K layers. "
                "--resume continues one run exactly where its checkpoint stopped.")
    p.add_argument("--preset", choices=None, help=f"starting configuration: {' | '.join(PRESETS)} (required unless --resume)")
    p.add_argument("--out", type=Path, help="run directory to create (must not exist, or be empty)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. --set augment.mode=fixed --set augment.p=0.2 (repeatable)")
    p.add_argument("--resume", type=Path, metavar="DIR", help="continue the run in DIR from its latest checkpoint "
                   "(only run.total_kimg may change, via --set); to start a new run from another run's networks, "
                   "use --set run.init_from=DIR instead")
    p.add_argument("--cache-dir", type=Path, default=None, help="cache for datasets and metric statistics (default $GANAUG_CACHE or ~/.cache/ganaug)")
    return p


def _config(args: argparse.Namespace) -> tuple[TrainConfig, Path, Path | None]:
    """(config, run dir, checkpoint to resume or None), validated; nothing written."""
    from trainer.checkpoint import check_resume_config, read_checkpoint_config, read_progress
    from resultsformat.layout import latest_checkpoint
    if args.resume is None:
        if args.preset is None or args.out is None:
            raise UserInputError("--preset and --out are required (or --resume DIR to continue a run)")
        cfg = with_source_hash(resolve_paths(apply_overrides(preset(args.preset), args.overrides)))
        out = Path(absolute_path(str(args.out)))
        _check_new_out(out)
        return cfg, out, None
    run_dir = Path(absolute_path(str(args.resume)))
    if args.out is not None and args.out.resolve() != run_dir.resolve():
        raise UserInputError(f"--out {args.out} differs from --resume {run_dir}; a resumed run continues in its own directory")
    ckpt = latest_checkpoint(run_dir) if run_dir.is_dir() else None
    if ckpt is None:
        raise UserInputError(f"--resume {run_dir}: no checkpoint found (expected {run_dir / CHECKPOINTS_DIR / LATEST_CHECKPOINT}/)")
    saved_cfg = resolve_paths(read_checkpoint_config(ckpt))
    base = preset(args.preset) if args.preset is not None else saved_cfg
    cfg = resolve_paths(apply_overrides(base, args.overrides))
    # Refuse a changed config here, before config.json is rewritten (train() checks again, for other callers).
    check_resume_config(saved_cfg, cfg, read_progress(ckpt)["cur_nimg"] / 1000)
    return cfg, run_dir, ckpt


def _check_new_out(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserInputError(f"--out {out} already exists and is not an empty directory; choose a new path or use --resume {out}")
    parent = next((p for p in [out, *out.parents] if p.exists()), Path("."))
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise UserInputError(f"--out {out}: cannot create it, {parent} is not a writable directory")


def run(argv: list[str]) -> int:
    from trainer.atomic import atomic_write_bytes
    from trainer.checkpoint import read_progress
    from trainer.data import load_dataset
    from trainer.loop import TrainingDiverged
    from trainer.run_dir import RunDirHooks, read_rows
    from trainer.spawn import WorkerLost, train_workers

    args = build_parser().parse_args(argv)
    cfg, run_dir, ckpt = _config(args)
    load_dataset(cfg.data, cache_dir=args.cache_dir)   # bad dataset -> UserInputError before anything is written
    created = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    hooks = RunDirHooks(run_dir)
    try:
        atomic_write_bytes(run_dir / CONFIG_FILE, cfg.to_json().encode())
        if ckpt is not None:
            done_tick = int(read_progress(ckpt)["tick"])
            hooks = RunDirHooks(run_dir, read_rows(run_dir / SINGLE_RUN_FILE, done_tick))
        hooks.install_sigint()
        train_workers(cfg, hooks, resume=ckpt, cache_dir=args.cache_dir)   # run.workers processes (trainer/spawn.py)
    except UserInputError:
        if created and not hooks.rows:
            shutil.rmtree(run_dir, ignore_errors=True)   # nothing useful was written: leave no half-made run dir
        raise
    except TrainingDiverged as exc:
        print(f"training diverged: {exc}", file=sys.stderr)
        return 1
    except WorkerLost as exc:
        print(f"training stopped: {exc}", file=sys.stderr)
        return 1
    print(f"done: {len(hooks.rows)} ticks in {run_dir}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli_main(run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
