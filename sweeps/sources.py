"""Where a launch's `SweepSpec` comes from (catalog name, sweep file, or a resumed sweep's own record) and `--grid`.

`--resume` uses the spec recorded in `sweep.json` when it can: the grid a
sweep was started with (a file's, or one changed by `--grid`) is the grid it
continues, even if the file or the catalog changed since.  That also makes the
printed resume command (`python -m sweeps.launch NAME --storage DIR --resume`)
work for file sweeps, whose NAME is not in the catalog.

`--grid key=v1,v2,...` adds an axis, or replaces an existing axis's values, at
every scale.  A new axis crosses every variant whose mode takes the key (a
baseline gets one run per `loss.r1_gamma`, so a verdict compares like with like).  Values are parsed like `--set` values; a value that itself holds
commas (a DiffAugment policy) is given as a JSON list:
`--grid 'augment.diffaug_policy=["translation","color,translation,cutout"]'`.  A JSON object in that list is
one value that sets several keys together, as catalog axes do:
`--grid 'augment.mode=[{"augment.mode":"ada","augment.heuristic":"rt"},"none"]'`.
"""

from __future__ import annotations

import json
from typing import Any

from sweeps.catalog import SWEEPS, get_sweep
from sweeps.spec import SCALES, Axis, SweepSpec, Variant
from resultsformat.layout import SWEEP_FILE
from sweeps.store import SweepStore
from sweeps.sweep_file import load_sweep_file, looks_like_file
from trainer.config import apply_overrides, parse_value, preset
from trainer.config.augment import MODES, applies
from trainer.errors import UserInputError

SEED_KEY = "run.seed"


def resolve_spec(name: str, storage: str, resume: bool) -> tuple[SweepSpec, str | None]:
    """(spec, sweep file path or None) for a launch argument; on --resume the recorded spec wins."""
    path = name if looks_like_file(name) else None
    if path is not None:
        spec = load_sweep_file(path)
    elif name in SWEEPS:
        spec = get_sweep(name)
    elif resume:
        spec = None
    else:
        raise UserInputError(f"unknown sweep {name!r}; known sweeps: {', '.join(SWEEPS)}; or give a sweep file (.yaml)")
    if resume:
        recorded = _recorded_spec(storage, spec.name if spec else name)
        if recorded is not None:
            return recorded, path
        if spec is None:
            raise UserInputError(f"--resume: no sweep {name!r} at {storage} (no {SWEEP_FILE}); known sweeps: {', '.join(SWEEPS)}")
    assert spec is not None
    return spec, path


def _recorded_spec(storage: str, name: str) -> SweepSpec | None:
    try:
        saved = SweepStore(storage, name).read_json(SWEEP_FILE)
    except (OSError, ValueError, UserInputError):
        return None
    if not saved or "spec" not in saved:
        return None
    order = saved.get("axis_order")
    if not order:   # recorded before axis orders were (sweep.json sorts keys): the catalog's spec keeps the order
        return None
    spec = dict(saved["spec"])
    spec["axes"] = {k: spec["axes"][k] for k in order["main"]}
    spec["variants"] = [{**v, "axes": {k: v["axes"][k] for k in order["variants"].get(v["name"], [])}}
                        for v in spec.get("variants", [])]
    try:
        return SweepSpec.model_validate(spec)
    except (ValueError, KeyError):   # recorded by an older version of SweepSpec: the catalog's spec is the best we have
        return None


def axis_order(spec: SweepSpec) -> dict[str, Any]:
    """The axes' order, which sweep.json's sorted keys lose and the trial indices depend on (kept beside the spec)."""
    return {"main": list(spec.axes), "variants": {v.name: list(v.axes) for v in spec.variants}}


def parse_grid(items: list[str], sets: list[str]) -> dict[str, list[Any]]:
    """`--grid key=v1,v2` flags as {key: values}, each key and value checked against trainer.config like --set."""
    grid: dict[str, list[Any]] = {}
    pinned = {s.partition("=")[0].strip() for s in sets}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserInputError(f"bad --grid {item!r}: expected key=v1,v2,..., e.g. augment.p=0.2,0.4,0.6")
        values = _values(item, raw)
        if key in grid:
            raise UserInputError(f"--grid {key} given twice; put all its values in one flag")
        if key in pinned:
            raise UserInputError(f"--grid {key} and --set {key} both given: --set pins an axis, --grid varies it; choose one")
        if len({json.dumps(v, sort_keys=True, default=str) for v in values}) != len(values):
            raise UserInputError(f"--grid {item}: repeated value")
        for scale in SCALES:
            for v in values:
                try:
                    apply_overrides(preset(scale), _grid_value_overrides(key, v))
                except UserInputError as exc:
                    raise UserInputError(f"--grid {key}: {exc}") from None
        grid[key] = values
    return grid


def _grid_value_overrides(key: str, value: Any) -> dict[str, Any]:
    """The overrides one grid value stands for: {key: value}, or, for a JSON object, the several keys it sets.

    An object is a catalog-style axis value that moves keys together (ADA's heuristic, target and speed with
    `augment.mode`); it must set KEY itself, so the axis still names what varies."""
    if isinstance(value, dict):
        if key not in value:
            raise UserInputError(f"a value {json.dumps(value)} given as a JSON object must set {key} itself")
        return dict(value)
    if isinstance(value, list):
        raise UserInputError(f"a value {json.dumps(value)} is a list; give one value per list item, "
                             "or a JSON object that sets several keys")
    return {**_mode_taking(key), key: value}


def _mode_taking(key: str) -> dict[str, str]:
    """An augment field is checked in a mode that takes it (the preset's mode may not: p under diffaugment)."""
    section, _, name = key.partition(".")
    if section != "augment" or name == "mode":
        return {}
    modes = [m for m in MODES if applies(m, name)]
    return {"augment.mode": modes[0]} if modes else {}


def _values(item: str, raw: str) -> list[Any]:
    text = raw.strip()
    if text.startswith("["):
        try:
            values = json.loads(text)
        except json.JSONDecodeError:
            raise UserInputError(f"bad --grid {item!r}: a value list in [...] must be JSON, "
                                 f"e.g. augment.diffaug_policy=[\"translation\",\"color,cutout\"]") from None
    else:
        values = [parse_value(v) for v in text.split(",")] if text else []
    if not values or any(v == "" for v in values):
        raise UserInputError(f"bad --grid {item!r}: empty value; expected key=v1,v2,...")
    return values


def drop_variants(spec: SweepSpec, names: list[str]) -> SweepSpec:
    """`spec` without the variants NAMES (`--no-variant`): e.g. fixed_p_grid's baseline, when a launch that pins
    `augment.mode=fixed` would otherwise train it again as geom at p = 0 beside a baseline another part holds."""
    known = [v.name for v in spec.variants]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UserInputError(f"--no-variant {unknown[0]}: {spec.name} has "
                             + (f"the variants {', '.join(known)}" if known else "no variants"))
    return spec.model_copy(update={"variants": tuple(v for v in spec.variants if v.name not in names)})


def apply_grid(spec: SweepSpec, grid: dict[str, list[Any]]) -> SweepSpec:
    """`spec` with each grid key as an axis: replacing a main (or variant) axis's values, else a new main axis.

    `run.seed` replaces the spec's seeds (every block is repeated per seed)."""
    if not grid:
        return spec
    axes = dict(spec.axes)
    variants = list(spec.variants)
    for key, values in grid.items():
        axis = Axis(**{s: tuple(values) for s in SCALES})
        if key == SEED_KEY:   # seeds are their own axis in a spec (applied after the others): replace it
            spec = spec.model_copy(update={"seeds": axis})
            continue
        in_variant = False
        for i, var in enumerate(variants):
            if key in var.axes:
                variants[i] = var.model_copy(update={"axes": {**var.axes, key: axis}})
                in_variant = True
        if key in axes or not in_variant:
            if key not in axes:   # a new main axis: a variant whose mode takes the key is crossed with it too
                variants = [v.model_copy(update={"over": (*v.over, key)}) if _variant_takes(spec, v, key) else v
                            for v in variants]
            axes[key] = axis
    return spec.model_copy(update={"axes": axes, "variants": tuple(variants)})


def _variant_takes(spec: SweepSpec, var: Variant, key: str) -> bool:
    """Whether a variant trains with KEY: every loss/model/data/run key, and an augment key its mode takes.

    A verdict compares like with like: `--grid loss.r1_gamma=0.5,2` on fixed_p_grid gives the baseline a run at
    each gamma too, instead of comparing p > 0 at gamma 2 with a baseline at the preset's gamma."""
    section, _, name = key.partition(".")
    if section != "augment":
        return True
    mode = var.set.get("augment.mode", spec.base.get("augment.mode"))
    return isinstance(mode, str) and applies(mode, name)
