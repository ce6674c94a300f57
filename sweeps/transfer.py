"""The source network of a transfer sweep (ADA §4.2): trained by the sweep itself first, or reused, or given by the user.

`transfer_grid`'s from-source trials carry the placeholder `run.init_from=@source`
(trainer/paths.py leaves it alone; a trial refuses it as a relative path, so it
can never train by accident).  Before Ray starts, `sweeps.launch` replaces it:

- at `smoke` and `tiny` the sweep trains the source itself -- the scale's preset
  on the full set of the other procedural domain (`SOURCE_SETS`), without
  augmentation -- with `python -m trainer` into `<cache>/sources/<key>/`, key
  = hash of the source's config; a finished source with that key is reused, a
  half-trained one continued (`--resume`), so every part of a sweep run in parts
  and every `--resume` starts from the same network (on CPU, bit for bit);
- at `paper` the user gives it: `--grid run.init_from=none,PATH` replaces the
  axis {scratch, @source} by {scratch, PATH} (a `--set` would pin every trial,
  the from-scratch ones included).

The user's `model.*`, `data.resolution`, `run.batch`/`run.device`/`run.threads`/`run.amp` and `metrics.*`
`--set`s apply to the source too, so its architecture is the targets'.  Every
trial's source is then checked (architecture, readable) and its SHA-256 put in
`run.init_sha256`, so sweep.json, config_json and the `init_sha256` column say
which bytes each trial started from.
"""

from __future__ import annotations

import dataclasses
import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

from sweeps.cost import RATES
from sweeps.plan import Plan
from sweeps.spec import Trial
from trainer.config import TrainConfig, apply_overrides, parse_overrides, preset
from trainer.errors import UserInputError
from trainer.init_from import with_source_hash
from trainer.paths import PLACEHOLDER_PREFIX

SOURCE = PLACEHOLDER_PREFIX + "source"
# The source network per sweep and scale: overrides on the scale's preset (paper: none, the user gives it).
# The full set of domain a, no augmentation; tiny trains it as long as the catalog's long tiny runs.
SOURCE_SETS: dict[str, dict[str, dict[str, Any]]] = {
    "transfer_grid": {
        "smoke": {"data.source": "procedural", "data.dataset_size": None, "augment.mode": "none", "run.seed": 0,
                  "run.total_kimg": 4.0},   # checks the machinery in seconds, like the rest of smoke
        "tiny": {"data.source": "procedural", "data.dataset_size": None, "augment.mode": "none", "run.seed": 0,
                 "run.total_kimg": 300.0},
    },
}
_ARCH_SET_PREFIXES = ("model.", "data.resolution", "run.batch", "run.device", "run.threads", "run.amp", "metrics.")


def needs_source(trials: list[Trial]) -> bool:
    return any(t.config.run.init_from == SOURCE for t in trials)


def source_config(plan: Plan) -> TrainConfig:
    """The config of the network the plan's @source trials start from; UserInputError where the user must give it."""
    sets = SOURCE_SETS.get(plan.spec.name, {}).get(plan.scale)
    if sets is None:
        raise UserInputError(f"{plan.spec.name} at scale {plan.scale}: the from-source trials need a source network; "
                             f"give it with --grid run.init_from=none,PATH (PATH: a checkpoint, a `python -m trainer` "
                             f"run folder, a sweep trial folder or an NVlabs network .pkl whose architecture is this scale's)")
    user = {k: v for k, v in parse_overrides(plan.sets).items() if k.startswith(_ARCH_SET_PREFIXES)}
    return apply_overrides(preset(plan.scale), {**sets, **user})


def source_dir(cfg: TrainConfig, cache_dir: Path | None = None) -> Path:
    """Where the source of config CFG is trained: keyed by the config, so an equal config reuses it."""
    from trainer.data.cache import default_cache_dir
    key = hashlib.sha256(cfg.to_json().encode()).hexdigest()[:16]
    return Path(cache_dir or default_cache_dir()) / "sources" / f"{cfg.preset}-{key}"


def _progress_kimg(run_dir: Path) -> float | None:
    """kimg of a source run's latest checkpoint (None: nothing trained yet)."""
    from trainer.checkpoint import read_progress
    from resultsformat.layout import latest_checkpoint
    ckpt = latest_checkpoint(run_dir) if run_dir.is_dir() else None
    return None if ckpt is None else read_progress(ckpt)["cur_nimg"] / 1000


def dry_run_lines(plan: Plan) -> list[str]:
    """What --dry-run says about the source: where it comes from, and its cost when the sweep trains it."""
    if not needs_source(plan.trials):
        given = sorted({t.config.run.init_from for t in plan.trials if t.config.run.init_from})
        return [f"source network: {', '.join(given)} (given)"] if given else []
    try:
        cfg = source_config(plan)
    except UserInputError as exc:
        return [f"source network: not given -- {exc}"]
    where, total = source_dir(cfg), cfg.run.total_kimg
    done = _progress_kimg(where) or 0.0
    rate = RATES[plan.scale]
    left = max(0.0, total - done)
    state = ("reused (trained)" if left == 0 else f"continued from {done:g} kimg" if done else "trained first")
    return [f"source network: {state}, {cfg.data.source} (all {cfg.data.procedural_count} images), no augmentation, "
            f"{total:g} kimg, seed {cfg.run.seed} -> {where}",
            f"source cost: {left:g} kimg to train, {_span(left * rate.low, left * rate.high)} of one {rate.unit} "
            f"at {rate.low:g}-{rate.high:g} s/kimg, before the trials start"]


def _span(lo_s: float, hi_s: float) -> str:
    return f"{lo_s / 60:.0f}-{hi_s / 60:.0f} min" if hi_s < 3600 else f"{lo_s / 3600:.1f}-{hi_s / 3600:.1f} h"


def _train_source(cfg: TrainConfig, plan: Plan, where: Path, printer: Callable[[str], None]) -> None:
    done = _progress_kimg(where)
    if done is not None and done >= cfg.run.total_kimg - 1e-9:
        printer(f"source network: reusing {where} ({done:g} kimg)")
        return
    if done is not None:
        cmd = [sys.executable, "-m", "trainer", "--resume", str(where)]
    else:
        sets = {**SOURCE_SETS[plan.spec.name][plan.scale],
                **{k: v for k, v in parse_overrides(plan.sets).items() if k.startswith(_ARCH_SET_PREFIXES)}}
        cmd = [sys.executable, "-m", "trainer", "--preset", plan.scale, "--out", str(where)]
        cmd += [a for k, v in sets.items() for a in ("--set", f"{k}={'none' if v is None else v}")]
        where.parent.mkdir(parents=True, exist_ok=True)
    printer(f"source network: training it first ({cfg.run.total_kimg:g} kimg): python {' '.join(cmd[1:])}")
    try:
        rc = subprocess.run(cmd).returncode   # Ctrl-C reaches the trainer too: it stops at a clean point
    except KeyboardInterrupt:
        rc = 130
    if rc != 0 or (_progress_kimg(where) or 0.0) < cfg.run.total_kimg - 1e-9:
        raise SourceFailed(f"the source network's training stopped (exit {rc}) before {cfg.run.total_kimg:g} kimg, "
                           f"before any trial started; the same launch command continues it from {where}",
                           interrupted=rc in (130, -2))


class SourceFailed(RuntimeError):
    """The sweep's own source training did not finish (interrupted or failed); nothing of the grid started."""

    def __init__(self, message: str, interrupted: bool = False) -> None:
        super().__init__(message)
        self.interrupted = interrupted


def prepare(plan: Plan, printer: Callable[[str], None] = print) -> Plan:
    """PLAN with @source replaced by the trained (or reused) source, and every trial's run.init_sha256 filled in.

    A --resume takes each trial's source and hash from sweep.json instead: the trials Ray restores started from
    those bytes (a source changed since is refused), whatever the source's config would key today."""
    recorded = _recorded_sources(plan)
    trials = plan.trials
    if recorded:
        trials = [_with_source(t, *recorded.get(t.index, (None, None))) for t in trials]
    if needs_source(trials):
        cfg = source_config(plan)
        where = source_dir(cfg)
        _train_source(cfg, plan, where, printer)
        trials = [_with_source(t, str(where)) for t in trials]
    hashed: dict[tuple[str, str], TrainConfig] = {}
    out = []
    for t in trials:
        if t.config.run.init_from is None:
            out.append(t)
            continue
        key = (t.config.run.init_from, t.config.model.model_dump_json() + str(t.config.data.resolution),
               str(t.config.run.init_sha256))
        if key not in hashed:
            hashed[key] = with_source_hash(t.config)
        digest = hashed[key].run.init_sha256
        out.append(dataclasses.replace(t, config=apply_overrides(t.config, {"run.init_sha256": digest}),
                                       params={**t.params, "run.init_sha256": digest}))
    return dataclasses.replace(plan, trials=out)


def _recorded_sources(plan: Plan) -> dict[int, tuple[str, str | None]]:
    """On --resume: {trial index: (run.init_from, run.init_sha256)} as sweep.json recorded them at launch."""
    if not plan.resume:
        return {}
    from resultsformat.layout import SWEEP_FILE
    rows = (plan.store.read_json(SWEEP_FILE) or {}).get("trials", [])
    return {int(r["trial"]): (r["params"]["run.init_from"], r["params"].get("run.init_sha256")) for r in rows
            if isinstance(r.get("params"), dict) and r["params"].get("run.init_from")}


def _with_source(t: Trial, where: str | None, sha256: str | None = None) -> Trial:
    if where is None or t.config.run.init_from not in (SOURCE, where):
        return t
    params = {**t.params, "run.init_from": where}
    return dataclasses.replace(t, config=apply_overrides(t.config, {"run.init_from": where, "run.init_sha256": sha256}),
                               params=params)
