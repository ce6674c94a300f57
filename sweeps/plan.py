"""Everything `sweeps.launch` checks before Ray starts, and the `--dry-run` table.

Bad input must stop here with one line and exit code 2, having written
nothing: the sweep name, the scale, every `--set`, every trial's config, the
dataset paths and the storage (probed by writing and removing a temp file).
Every path (--storage, data.source, metrics.detector_path) is made absolute
here first, against the directory the user launched from, so the checks, the
saved sweep.json and what the trials receive all mean the same files.
A sweep folder that already holds results is only continued with `--resume`
(building a new Tuner under the same name would start the grid over and mix
two runs' rows).
"""

from __future__ import annotations

import dataclasses
import shlex
import time
from dataclasses import dataclass
from typing import Any

from resultsformat.reader import redact  # one definition of what may be printed about a URI
from resultsformat.layout import RAY_DIR, SWEEP_FILE, sweep_json
from sweeps.extend import check_longer, extended_sets, next_ray_dir, recorded_ray_dir, requested_extension
from sweeps.sources import apply_grid, axis_order, drop_variants, parse_grid, resolve_spec
from sweeps.spec import SCALES, SweepSpec, Trial, expand, trial_row, varying_columns
from sweeps.lease import check_free
from sweeps.store import SweepStore, probe_writable
from sweeps.tracking import parse_log_flags
from trainer.config import shared_settings
from sweeps.gang_fit import check_worker_gpus
from trainer.errors import UserInputError
from trainer.paths import PATH_FIELDS, absolute_path, config_value, resolve_paths, resolve_set_items, resolve_value

DEFAULT_SCALE = "smoke"
RAY_STATE_FILE = "tuner.pkl"   # what tune.Tuner.can_restore looks for in RAY_DIR


@dataclass(frozen=True)
class Extension:
    """A --resume that raises run.total_kimg (sweeps.extend): a new Tune experiment that continues every trial."""

    from_kimg: float        # the longest budget the sweep had
    to_kimg: float          # the new run.total_kimg
    previous_ray_dir: str   # the Tune experiment it continues (the original one, or the newest extension's)
    ray_dir: str            # its own Tune experiment
    recovered: str | None = None          # set when Ray's state was damaged (sweeps.ray_state): why it was replaced
    previous_ray_dirs: tuple[str, ...] = ()   # then: every earlier Tune experiment, whose store records it continues


@dataclass(frozen=True)
class Plan:
    """A validated sweep launch: what runs, where results go, how Ray is driven.  Built once by `make_plan`
    (transfer.prepare returns a copy with its trials' sources filled in); nothing changes it afterwards."""

    spec: SweepSpec
    scale: str
    sets: list[str]
    trials: list[Trial]
    store: SweepStore
    resume: bool = False
    address: str | None = None
    max_concurrent: int | None = None
    max_failures: int = 2
    seeds: int | None = None
    command: str = ""
    grid: tuple[str, ...] = ()                    # the --grid flags
    source: str | None = None                     # the sweep file it was launched from (None: a catalog sweep)
    no_variant: tuple[str, ...] = ()              # the --no-variant flags
    axis_order: dict[str, Any] | None = None      # sources.axis_order of the spec: sweep.json sorts keys, indices follow it
    log: tuple[dict[str, str], ...] = ()          # the --log trackers ({kind, target}), sweeps.tracking
    ray_dir: str = RAY_DIR                        # the Tune experiment folder under the sweep's (an extension has its own)
    extension: Extension | None = None            # set when this --resume is an extension

    @property
    def ray_path(self) -> str:
        """Ray's experiment directory (what Tuner.restore takes); an extension (sweeps.extend) has its own."""
        return self.store.uri + "/" + self.ray_dir


def check_datasets(trials: list[Trial]) -> None:
    """Open each distinct source of the grid once (headers only), then check that every trial's split fits it."""
    from trainer.data import check_split, dataset_count

    totals: dict[tuple[str, int, bool], int] = {}
    for data in {t.config.data.model_dump_json(): t.config.data for t in trials}.values():
        key = (data.source, data.resolution, data.resize)
        if key not in totals:
            totals[key] = dataset_count(data)
        check_split(data, totals[key])


def _resume_settings(store: SweepStore, scale: str | None, sets: list[str],
                     seeds: int | None) -> tuple[str, list[str], int | None]:
    saved = store.read_json(SWEEP_FILE)
    if saved is None:
        raise UserInputError(f"--resume: nothing to resume at {store.uri} (no {SWEEP_FILE}); run without --resume first")
    if scale is not None and scale != saved["scale"]:
        raise UserInputError(f"--resume: --scale {scale} differs from the sweep's scale {saved['scale']}; omit --scale")
    if sets and sets != saved["set"]:
        raise UserInputError(f"--resume: --set {' '.join(sets)} differs from the sweep's overrides {saved['set']}; omit --set")
    if not store.exists(RAY_DIR, RAY_STATE_FILE):
        raise UserInputError(f"--resume: {store.uri} holds no Ray experiment state ({RAY_DIR}/{RAY_STATE_FILE}), so "
                             f"there is nothing to restore; remove that folder and launch without --resume")
    saved_seeds = saved.get("seeds")   # absent in sweep.json files written before --seeds existed
    if seeds is not None and seeds != saved_seeds:
        raise UserInputError(f"--resume: --seeds {seeds} differs from the sweep's ({saved_seeds or 'the catalog default'}); "
                             f"omit --seeds")
    return saved["scale"], list(saved["set"]), saved_seeds


def make_plan(name: str, *, scale: str | None = None, sets: list[str] | None = None, storage: str = "./results",
              resume: bool = False, address: str | None = None, max_concurrent: int | None = None,
              max_failures: int = 2, argv: list[str] | None = None, check_data: bool = True,
              seeds: int | None = None, grid: list[str] | None = None, no_variant: list[str] | None = None,
              log: list[str] | None = None) -> Plan:
    """Validate a launch request completely, without starting Ray or creating anything.

    check_data=False leaves the datasets to `check_datasets`: `--dry-run` prints the table first, so a
    user planning a cluster sweep sees it even where the dataset is not (yet) on this machine.
    NAME may be a catalog name or a sweep file (sweeps.sweep_file); `grid` is the `--grid` flags, `log` the `--log` ones.
    """
    sets = list(sets or [])
    grid = list(grid or [])
    no_variant = list(no_variant or [])
    spec, source = resolve_spec(name, storage, resume)
    if scale is not None and scale not in SCALES:
        raise UserInputError(f"unknown scale {scale!r}; allowed: {', '.join(SCALES)}")
    if max_concurrent is not None and max_concurrent < 1:
        raise UserInputError(f"--max-concurrent must be >= 1, got {max_concurrent}")
    if max_failures < 0:
        raise UserInputError(f"--max-failures must be >= 0, got {max_failures}")
    if redact(storage) != storage:
        raise UserInputError(f"--storage {redact(storage)}: remove the credentials from the URI (they would be kept in "
                             f"Ray's experiment state and logs); give them through the environment, e.g. "
                             f"AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or GOOGLE_APPLICATION_CREDENTIALS")
    # Paths mean what they mean here, in the driver's directory: Ray runs each trial in its own working
    # directory (sweeps.runner), so only absolute paths and URIs may reach a trial (trainer/paths.py).
    storage = absolute_path(storage)
    sets = resolve_set_items(sets)
    probe_writable(storage)
    store = SweepStore(storage, spec.name)
    if check_data:   # a dry run writes nothing, so it may look at a folder whose driver is alive
        check_free(store)   # a driver alive on this folder is named first (sweeps.lease), launch or --resume
    ray_dir, extension = RAY_DIR, None
    if resume:
        scale, sets, seeds, ray_dir, extension = _resume_or_extend(store, spec, scale, sets, seeds)
        _resume_grid(store, grid, no_variant)
    elif store.exists(SWEEP_FILE):
        raise UserInputError(f"{store.uri} already holds results of {spec.name}: pass --resume to continue it, "
                             f"or choose another --storage")
    else:
        spec = drop_variants(apply_grid(spec, parse_grid(grid, sets)), no_variant)
    scale = scale or DEFAULT_SCALE
    trials = _with_resolved_paths(expand(spec, scale, sets, seeds))
    check_worker_gpus(trials)   # run.workers > 1 takes whole GPUs (sweeps/gang.py)
    if check_data:
        check_datasets(trials)
    command = "python -m sweeps.launch " + " ".join(shlex.quote(redact(a)) for a in (argv or []))
    trackers = tuple(parse_log_flags(log, store)) if log else ()
    return Plan(spec, scale, sets, trials, store, resume, address, max_concurrent, max_failures, seeds, command.strip(),
                grid=tuple(grid), source=source, no_variant=tuple(no_variant), axis_order=axis_order(spec),
                log=trackers, ray_dir=ray_dir, extension=extension)


def _resume_or_extend(store: SweepStore, spec: SweepSpec, scale: str | None, sets: list[str],
                      seeds: int | None) -> tuple[str, list[str], int | None, str, Extension | None]:
    """(scale, sets, seeds, Ray folder, extension) of a --resume; a larger run.total_kimg alone makes it an extension
    (sweeps.extend)."""
    saved = store.read_json(SWEEP_FILE) or {}
    new_total = requested_extension(saved, sets)
    scale, saved_sets, seeds = _resume_settings(store, scale, list(saved.get("set", [])) if new_total is not None else sets,
                                                seeds)
    ray_dir = recorded_ray_dir(saved, RAY_DIR)
    if new_total is None:
        return scale, saved_sets, seeds, ray_dir, None
    old = [t.config.run.total_kimg for t in expand(spec, scale, saved_sets, seeds)]
    check_longer(new_total, old)
    ext = Extension(from_kimg=max(old), to_kimg=new_total, previous_ray_dir=ray_dir, ray_dir=next_ray_dir(saved))
    return scale, extended_sets(saved_sets, new_total), seeds, ext.ray_dir, ext


def _resume_grid(store: SweepStore, grid: list[str], no_variant: list[str]) -> None:
    """On --resume the recorded spec already holds the sweep's --grid axes and lacks its --no-variant variants; a
    different --grid or --no-variant would be another sweep."""
    saved = store.read_json(SWEEP_FILE) or {}
    if grid and grid != saved.get("grid", []):
        raise UserInputError(f"--resume: --grid {' '.join(grid)} differs from the sweep's {saved.get('grid', [])}; omit --grid")
    if no_variant and no_variant != saved.get("no_variant", []):
        raise UserInputError(f"--resume: --no-variant {' '.join(no_variant)} differs from the sweep's "
                             f"{saved.get('no_variant', [])}; omit --no-variant")


def _with_resolved_paths(trials: list[Trial]) -> list[Trial]:
    """Trials whose path fields (also those a preset or catalog axis gives, e.g. paper's zip:datasets/…) are absolute."""
    return [dataclasses.replace(t, config=resolve_paths(t.config),
                                params={k: resolve_value(k, v) for k, v in t.params.items()}) for t in trials]


def _shared_paths(plan: Plan, cols: list[str]) -> str:
    """' key=value' for each path field every trial shares and that names a path: the dry run shows where data is read."""
    out = ""
    for key in PATH_FIELDS:
        values = {config_value(t.config, key) for t in plan.trials} if key not in cols else set()
        value = next(iter(values)) if len(values) == 1 else None
        if value not in (None, "procedural"):
            out += f" {key}={value}"
    return out


def dry_run_table(plan: Plan) -> str:
    """The trial table `--dry-run` prints: index, variant, the varying parameters and resources."""
    cols = varying_columns(plan.trials)
    rows = [trial_row(t, cols) for t in plan.trials]
    headers = list(rows[0]) if rows else ["trial"]
    cells = [[_fmt(r[h]) for h in headers] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    seeds = sorted({t.config.run.seed for t in plan.trials})
    shared = shared_settings([t.config for t in plan.trials], skip=set(cols)) if plan.trials else ""
    lines = [f"sweep {plan.spec.name} ({plan.spec.figure}) at scale {plan.scale}: {len(rows)} trials, "
             f"{len(seeds)} seed(s) per configuration (run.seed {', '.join(map(str, seeds))}) -> {plan.store.uri}"
             + _shared_paths(plan, cols) + (f"; every trial: {shared}" if shared else ""),
             "  ".join(h.ljust(w) for h, w in zip(headers, widths))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def sweep_record(plan: Plan) -> dict[str, Any]:
    """The content of sweep.json: spec, scale, overrides, the command line (credentials redacted) and the trial table.

    Written once, at a launch; a --resume (an extension included) keeps it (sweeps.extend records an extension)."""
    cols = varying_columns(plan.trials)
    optional: dict[str, Any] = {}
    if plan.grid or plan.source:
        optional.update(grid=list(plan.grid), source=plan.source)
    if plan.no_variant:
        optional["no_variant"] = list(plan.no_variant)
    if plan.axis_order is not None:
        optional["axis_order"] = plan.axis_order
    if plan.log:
        optional["log"] = [dict(t) for t in plan.log]
    return sweep_json(
        sweep=plan.spec.name,
        scale=plan.scale,
        set=plan.sets,
        seeds=plan.seeds,
        spec=plan.spec.model_dump(mode="json"),
        command=plan.command,
        storage=redact(plan.store.storage),
        created_at=time.time(),
        ray_path=plan.ray_path,
        trials=[{**trial_row(t, cols), "params": t.params} for t in plan.trials],
        **optional,
    )
