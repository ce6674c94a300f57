"""Named sweeps as data: `SweepSpec` and its expansion into a validated list of trials (ADA §3-§5, DiffAugment §4 grids).

A sweep is a Cartesian grid of axes (dotted config path -> values) plus a few
non-Cartesian "variants" (e.g. the no-augmentation baseline, crossed with only
some of the main axes).  Each axis lists its values per scale: the scale may
shrink an axis (fewer values at `smoke`) but never changes what it means,
because the axis keys are the same model field at every scale by construction.

A trial's config is built in one fixed order so that results are reproducible
from `sweep.json` alone:

    trainer.config.preset(scale) <- spec.base <- spec.scale_base[scale]
        <- variant.set <- axis values <- run.seed <- user --set overrides

User overrides come last and win everywhere: `--set augment.augpipe=blit` pins
that axis to one value, and trials that become identical are merged.  Every
trial is validated with trainer.config before Ray starts, so bad input stops
with a one-line `UserInputError` and nothing runs.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from trainer.config.augment import applies, inapplicable_message
from trainer.config import TrainConfig, apply_overrides, parse_overrides, preset
from trainer.errors import UserInputError

Scale = Literal["smoke", "tiny", "paper"]
SCALES: tuple[str, ...] = ("smoke", "tiny", "paper")
# Derived axis: a fraction of the full dataset, resolved to data.dataset_size (DiffAugment's 100% / 20% / 10%).
FRACTION_KEY = "data.fraction"
AxisValue = bool | int | float | str | None | dict[str, Any]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Axis(_Frozen):
    """The values of one axis at each scale; a dict value sets several keys at once (e.g. 70k + mirror = 140k)."""

    smoke: tuple[AxisValue, ...] = Field(description="Values at the smoke scale (CI, README); few of them")
    tiny: tuple[AxisValue, ...] = Field(description="Values at the tiny scale (a workstation or one GPU)")
    paper: tuple[AxisValue, ...] = Field(description="Values at the paper scale (a GPU cluster)")

    def at(self, scale: str) -> tuple[AxisValue, ...]:
        return getattr(self, scale)


class Resources(_Frozen):
    """Ray resources of one trial's worker (a trial takes run.workers of them, placed as one gang: sweeps/gang.py)."""

    cpu: float = Field(1.0, gt=0.0, le=256.0, description="CPUs per worker of a trial (fractions allowed)")
    gpu: float = Field(0.0, ge=0.0, le=16.0, description="GPUs per worker of a trial; fractions pack trials on one card (logical only)")
    placement: Literal["PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"] = Field(
        "PACK", description="How a trial's run.workers bundles are placed: PACK on as few nodes as possible, SPREAD over many, STRICT_PACK on one node only")


class Variant(_Frozen):
    """A non-Cartesian piece of a sweep: fixed overrides, crossed with some main axes and its own axes."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Label shown in the trial table, e.g. baseline")
    set: dict[str, Any] = Field(default_factory=dict, description="Dotted-path overrides of this variant")
    over: tuple[str, ...] = Field((), description="Main axes this variant is crossed with (their values at the scale)")
    axes: dict[str, Axis] = Field(default_factory=dict, description="Axes of this variant only")


class SweepSpec(_Frozen):
    """One named sweep: what it redraws, its grid at every scale, seeds and resources."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Name used on the command line and as the results folder")
    description: str = Field(min_length=1, description="One paragraph: what the sweep measures")
    figure: str = Field(min_length=1, description="The paper figure(s) this sweep redraws")
    base: dict[str, Any] = Field(default_factory=dict, description="Dotted-path overrides for every trial and scale")
    scale_base: dict[Scale, dict[str, Any]] = Field(default_factory=dict, description="Extra overrides per scale (budget only)")
    axes: dict[str, Axis] = Field(default_factory=dict, description="Main grid: dotted path -> values; Cartesian product")
    variants: tuple[Variant, ...] = Field((), description="Non-Cartesian pieces, e.g. the no-augmentation baseline")
    seeds: Axis = Field(default_factory=lambda: Axis(smoke=(0,), tiny=(0,), paper=(0,)), description="run.seed values per scale")
    resources: dict[Scale, Resources] = Field(description="Ray resources per trial at each scale")
    full_size: dict[Scale, int] = Field(default_factory=dict, description="Images in the full non-procedural dataset, for data.fraction axes")

    @field_validator("resources")
    @classmethod
    def _all_scales(cls, v: dict[str, Resources]) -> dict[str, Resources]:
        missing = [s for s in SCALES if s not in v]
        if missing:
            raise ValueError(f"resources missing for scale(s) {missing}")
        return v

    @model_validator(mode="after")
    def _variants_cross_known_axes(self) -> "SweepSpec":
        for var in self.variants:
            unknown = [a for a in var.over if a not in self.axes]
            if unknown:
                raise ValueError(f"variant {var.name!r} crosses unknown main axes {unknown}")
        return self


@dataclass(frozen=True)
class Trial:
    """One expanded trial: its index, the block it came from, the overrides that set it apart, and its validated config.

    params: dotted key -> value of the variant's overrides, the axis values (dict values and
    data.fraction resolved) and run.seed; data.fraction is kept as given for display.
    """

    index: int
    variant: str
    params: dict[str, Any]
    config: TrainConfig
    resources: Resources


def _product(axes: dict[str, Axis], scale: str) -> list[dict[str, AxisValue]]:
    keys = list(axes)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(axes[k].at(scale) for k in keys))]


def _resolve(key: str, value: AxisValue, cfg_so_far: TrainConfig, spec: SweepSpec, scale: str) -> dict[str, Any]:
    """Overrides one axis assignment stands for (derived keys and dict values expanded)."""
    if isinstance(value, dict):
        return dict(value)
    if key == FRACTION_KEY:
        if not isinstance(value, (int, float)) or not 0.0 < float(value) <= 1.0:
            raise UserInputError(f"sweep {spec.name}: {FRACTION_KEY} must be in (0, 1], got {value!r}")
        if cfg_so_far.data.kind == "procedural":
            full = cfg_so_far.data.procedural_count
        elif scale in spec.full_size:
            full = spec.full_size[scale]
        else:
            raise UserInputError(f"sweep {spec.name}: {FRACTION_KEY} needs full_size for scale {scale} with data.source={cfg_so_far.data.source}")
        return {"data.dataset_size": max(1, round(float(value) * full))}
    return {key: value}


def _blocks(spec: SweepSpec, scale: str) -> list[tuple[str, dict[str, Any], list[dict[str, AxisValue]]]]:
    """(variant name, fixed overrides, list of axis assignments) for the main grid and each variant."""
    blocks = [("main", {}, _product(spec.axes, scale))] if spec.axes else [("main", {}, [{}])]
    for var in spec.variants:
        crossed = {k: spec.axes[k] for k in var.over}
        blocks.append((var.name, dict(var.set), _product({**crossed, **var.axes}, scale)))
    return blocks


MAX_SEEDS = 100


def seed_values(spec: SweepSpec, scale: str, seeds: int | None = None) -> tuple[int, ...]:
    """run.seed values of every configuration: the spec's at SCALE, or 0..SEEDS-1 when `--seeds` gives a count.

    Only the training seed varies; data.subset_seed is not touched, so every seed trains on the same subset."""
    if seeds is None:
        return tuple(int(s) for s in spec.seeds.at(scale))
    if isinstance(seeds, bool) or not isinstance(seeds, int) or not 1 <= seeds <= MAX_SEEDS:
        raise UserInputError(f"--seeds must be an integer in 1..{MAX_SEEDS}, got {seeds!r}")
    return tuple(range(seeds))


def expand(spec: SweepSpec, scale: str, user_set: list[str] | None = None, seeds: int | None = None) -> list[Trial]:
    """All trials of `spec` at `scale`, each validated; identical configs (after --set pins) are merged.

    The layers are merged as dotted keys and applied to the preset in one step, so a layer that switches
    `augment.mode` keeps the augment fields of other layers that the new mode takes, and fields the trial's
    final mode does not take are skipped (a `--set augment.p` pins the fixed-p trials, not the baseline).
    A `--set` augment field that no trial takes is an error.  SEEDS (`--seeds N`) replaces the spec's
    seeds at this scale by 0..N-1.
    """
    if scale not in SCALES:
        raise UserInputError(f"unknown scale {scale!r}; allowed: {', '.join(SCALES)}")
    seed_list = seed_values(spec, scale, seeds)
    user = parse_overrides(list(user_set or []))
    common = {**spec.base, **spec.scale_base.get(scale, {})}
    start = preset(scale)
    apply_overrides(start, {**common, **user}, strict=False)   # a bad --set fails here, naming the flag
    trials: list[Trial] = []
    seen: set[str] = set()
    for variant, fixed, assignments in _blocks(spec, scale):
        block = {**common, **fixed}
        block_start = apply_overrides(start, block, strict=False)
        for assign in assignments:
            for seed in seed_list:
                overrides: dict[str, Any] = {}
                for key, value in assign.items():
                    overrides.update(_resolve(key, value, block_start, spec, scale))
                overrides["run.seed"] = seed
                cfg = apply_overrides(start, {**block, **overrides, **user}, strict=False)
                ident = cfg.model_dump_json()
                if ident in seen:
                    continue
                seen.add(ident)
                params = {k: _get(cfg, k) for k in {**fixed, **overrides} if _applies(cfg, k)}   # final values
                if FRACTION_KEY in assign:
                    params[FRACTION_KEY] = assign[FRACTION_KEY]
                trials.append(Trial(len(trials), variant, params, cfg, spec.resources[scale]))
    _check_user_fields_used(user, trials)
    return trials


def _applies(cfg: TrainConfig, dotted: str) -> bool:
    """False for an `augment.*` key the config's mode does not take (the one map: trainer.config.augment)."""
    section, _, name = dotted.partition(".")
    return section != "augment" or applies(cfg.augment.mode, name)


def _check_user_fields_used(user: dict[str, Any], trials: list[Trial]) -> None:
    for key in user:
        if trials and not any(_applies(t.config, key) for t in trials):
            modes = sorted({t.config.augment.mode for t in trials})
            name = key.partition(".")[2]
            raise UserInputError(f"--set {key}: no trial of this sweep takes it (modes here: {', '.join(modes)}); "
                                 + "; ".join(inapplicable_message(m, name) for m in modes))


def _get(cfg: TrainConfig, dotted: str) -> Any:
    node: Any = cfg
    for part in dotted.split("."):
        node = getattr(node, part)
    return node


def varying_columns(trials: list[Trial]) -> list[str]:
    """Keys set per trial whose value differs between the trials it applies to (the trial table's columns), in first-seen order."""
    keys: list[str] = []
    for t in trials:
        keys.extend(k for k in t.params if k not in keys)
    out = []
    for k in keys:
        values = {json.dumps(t.params.get(k, _get(t.config, k) if k != FRACTION_KEY else None), sort_keys=True, default=str)
                  for t in trials if _applies(t.config, k)}   # '-' where a key does not apply is no variation
        if len(values) > 1:
            out.append(k)
    return out


def trial_row(trial: Trial, columns: list[str]) -> dict[str, Any]:
    """The printable row of one trial: index, variant, its value of each varying key ('-' where it does not apply), resources."""
    row: dict[str, Any] = {"trial": trial.index, "variant": trial.variant}
    for k in columns:
        if k == FRACTION_KEY:
            row[k] = trial.params.get(k, "-")
        elif not _applies(trial.config, k):
            row[k] = "-"
        else:
            row[k] = _get(trial.config, k)
    workers = trial.config.run.workers   # a trial takes one bundle per worker: the table shows its total
    row["workers"] = workers
    row["cpu"] = trial.resources.cpu * workers
    row["gpu"] = trial.resources.gpu * workers
    return row
