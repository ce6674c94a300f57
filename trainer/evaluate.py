"""`python -m trainer.evaluate`: re-measure saved snapshots, e.g. with more FID samples or several latent draws.

    python -m trainer.evaluate results/fixed_p_grid/ray/trial0001_* --set metrics.fid_samples=10000 --repeats 3

Why: a metrics tick draws 2 000 images at `tiny` and `smoke`.  On a tiny
snapshot whose FID is ~1.2, five draws of 2 000 latents gave FIDs from 1.15
to 1.37 (std 0.10), while 10 000 latents gave a std of 0.015 and a mean lower
by 0.14 (FID is biased upwards at few samples).  That noise is as large as the
differences Fig 4 is about, so runs are best compared on their last snapshots
re-measured with 10 000 samples and a few draws, the way stylegan2-ada-pytorch's
calc_metrics re-scores network pickles after training.

Each argument is a checkpoint directory (config.json + state.pt), a
`python -m trainer` run directory (its latest checkpoint) or a Ray trial
directory (its newest checkpoint_*).  Only `metrics.*`, `run.device` and
`run.threads` may be overridden: anything else would measure a different run.
Repeat 0 draws the latents the tick itself drew, so with no overrides it
reproduces the logged FID exactly; repeat r > 0 draws fresh latents.  Prints
one JSON object per checkpoint on stdout; bad input is one line on stderr and
exit 2, checked for every argument before any measuring starts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from resultsformat.layout import find_checkpoint_dir
from trainer.checkpoint import CONFIG_FILE, STATE_FILE, read_checkpoint, read_checkpoint_config, read_progress
from trainer.config import TrainConfig, apply_overrides
from trainer.errors import OneLineArgumentParser, UserInputError, cli_main
from trainer.paths import resolve_paths
from trainer.seeds import metrics_seed

MAX_REPEATS = 100
_CHANGEABLE_PREFIXES = ("metrics.",)
_CHANGEABLE_KEYS = frozenset({"run.device", "run.threads"})


def build_parser() -> OneLineArgumentParser:
    p = OneLineArgumentParser(prog="python -m trainer.evaluate",
                              description="Re-measure FID/KID of saved checkpoints (one JSON line per checkpoint).")
    p.add_argument("checkpoints", nargs="+", type=Path, metavar="CHECKPOINT",
                   help="checkpoint dir, `python -m trainer` run dir, or Ray trial dir")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override metrics.* (e.g. metrics.fid_samples=10000), run.device or run.threads (repeatable)")
    p.add_argument("--repeats", type=int, default=1, help=f"independent latent draws per checkpoint, 1..{MAX_REPEATS} (default 1)")
    p.add_argument("--cache-dir", type=Path, default=None, help="cache for datasets and metric statistics (default $GANAUG_CACHE or ~/.cache/ganaug)")
    return p


def resolve_checkpoint(path: Path) -> Path:
    """The checkpoint directory PATH names (itself, a run dir's latest, or a Ray trial's newest checkpoint_*)."""
    if not path.is_dir():
        raise UserInputError(f"{path}: no such directory")
    found = find_checkpoint_dir(path)
    if found is not None:
        return found
    raise UserInputError(f"{path}: no checkpoint here (expected {CONFIG_FILE} + {STATE_FILE}, checkpoints/latest/ "
                         f"or checkpoint_*/)")


def check_overrides(overrides: list[str]) -> None:
    for item in overrides:
        key = item.partition("=")[0].strip()
        if not (key.startswith(_CHANGEABLE_PREFIXES) or key in _CHANGEABLE_KEYS):
            raise UserInputError(f"--set {key}: only metrics.*, run.device and run.threads may change when re-measuring "
                                 f"a checkpoint (anything else is a different run)")


def checkpoints_to_measure(args: Any) -> list[tuple[Path, TrainConfig]]:
    """(checkpoint, config to measure with) per argument; every argument is checked before anything is measured."""
    if not 1 <= args.repeats <= MAX_REPEATS:
        raise UserInputError(f"--repeats {args.repeats}: must be between 1 and {MAX_REPEATS}")
    check_overrides(args.overrides)
    out = []
    for path in args.checkpoints:
        ckpt = resolve_checkpoint(path)
        read_progress(ckpt)   # an unreadable state.pt is refused now, not after other checkpoints were measured
        out.append((ckpt, resolve_paths(apply_overrides(read_checkpoint_config(ckpt), args.overrides))))
    return out


def measure(ckpt: Path, cfg: TrainConfig, repeats: int, cache_dir: Path | None = None,
            suites: dict[str, Any] | None = None) -> dict[str, Any]:
    """FID (and KID) of one checkpoint's G_ema over REPEATS latent draws, with CFG's metrics settings.

    SUITES, when given, keeps one dataset + MetricSuite per (data, metrics, seed, device) across calls: the
    checkpoints of one sweep share them, and building them (dataset, detector, real statistics) costs more than
    scoring a snapshot."""
    from trainer.device import torch_threads
    with torch_threads(cfg.run.threads):
        return _measure(ckpt, cfg, repeats, cache_dir, suites)


def _measure(ckpt: Path, cfg: TrainConfig, repeats: int, cache_dir: Path | None,
             suites: dict[str, Any] | None) -> dict[str, Any]:
    from trainer.data import load_dataset
    from trainer.device import resolve_device
    from trainer.loop import measure_snapshot
    from trainer.metrics import MetricSuite
    from trainer.state import TrainState

    _, saved = read_checkpoint(ckpt, map_location="cpu")
    setup = resolve_device(cfg.run)
    key = json.dumps([cfg.data.model_dump(mode="json"), cfg.metrics.model_dump(mode="json"), cfg.run.seed, str(setup.device)])
    suites = {} if suites is None else suites
    if key not in suites:
        bundle = load_dataset(cfg.data, cache_dir=cache_dir)
        suites[key] = (bundle, MetricSuite(cfg.metrics, bundle, setup.device, cache_dir=cache_dir, seed=cfg.run.seed))
    bundle, suite = suites[key]
    state = TrainState(cfg, setup, resolution=bundle.resolution, channels=bundle.channels, train_size=len(bundle.train))
    state.load_state_dict(saved)
    del saved
    rows = [measure_snapshot(suite, state, metrics_seed(cfg.run.seed, state.tick, r)) for r in range(repeats)]
    fids = [float(r["fid"]) for r in rows]
    kids = [float(r["kid"]) for r in rows if r.get("kid") is not None]
    return {
        "checkpoint": str(ckpt), "tick": state.tick, "kimg": state.cur_nimg / 1000, "detector": rows[0]["detector"],
        "fid_samples": cfg.metrics.fid_samples, "repeats": repeats,
        "fid": float(np.mean(fids)), "fid_std": float(np.std(fids, ddof=1)) if repeats > 1 else None, "fids": fids,
        "kid": float(np.mean(kids)) if kids else None,
    }


def run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    suites: dict[str, Any] = {}
    for ckpt, cfg in checkpoints_to_measure(args):
        print(json.dumps(measure(ckpt, cfg, args.repeats, args.cache_dir, suites)), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli_main(run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
