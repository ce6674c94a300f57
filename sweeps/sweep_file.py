"""Sweep files: a researcher's own grid in YAML, mapped onto the catalog's `SweepSpec` (README "Your own sweep").

The file uses the catalog's concepts so that a file sweep and a named sweep
behave identically once loaded (same expansion, same `--set` / `--scale` /
`--resume`, same results layout).  Two conveniences over `SweepSpec` keep the
file short: an axis (or `seeds`) may be a plain list, meaning the same values at
every scale, and `total_kimg` (one number or one per scale) is the budget, so a
user need not know about `scale_base`.  `resources` may name only some scales;
the others get the catalog's defaults.

Validation happens entirely here, before anything starts: the YAML structure
(pydantic, `extra="forbid"`), then every dotted config key and every value at
every scale against `trainer.config` (so a typo in `axes` is caught even when
running another scale).  Every mistake is one `UserInputError` line naming the
file, the key and what is allowed.
"""

from __future__ import annotations

import os
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from resultsformat.layout import SWEEP_FILE
from sweeps.spec import SCALES, Axis, Resources, SweepSpec, Variant
from trainer.config import apply_overrides, preset, set_path
from trainer.errors import UserInputError

SWEEP_FILE_SUFFIXES = (".yaml", ".yml")
DEFAULT_RESOURCES = {"smoke": Resources(cpu=1.0, gpu=0.0), "tiny": Resources(cpu=1.0, gpu=0.25),
                     "paper": Resources(cpu=4.0, gpu=1.0)}
_NAME = r"^[a-z][a-z0-9_]*$"
PlainOrScaled = list[Any] | dict[str, list[Any]]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VariantFile(_Strict):
    """A variant as written in a file (see `sweeps.spec.Variant`)."""

    name: str = Field(pattern=_NAME, description="Label shown in the trial table, e.g. baseline")
    set: dict[str, Any] = Field(default_factory=dict, description="Dotted-path overrides of this variant")
    over: list[str] = Field(default_factory=list, description="Main axes this variant is crossed with")
    axes: dict[str, PlainOrScaled] = Field(default_factory=dict, description="Axes of this variant only")


class ResourcesFile(_Strict):
    """Ray resources of one trial at one scale."""

    cpu: float = Field(1.0, gt=0.0, le=256.0, description="CPUs per trial")
    gpu: float = Field(0.0, ge=0.0, le=16.0, description="GPUs per trial (fractions pack trials on one card)")


class SweepFile(_Strict):
    """The top level of a sweep file."""

    name: str = Field(pattern=_NAME, description="Sweep name: the results folder under --storage")
    description: str = Field(min_length=1, description=f"What the sweep measures (kept in {SWEEP_FILE})")
    figure: str = Field("custom sweep", min_length=1, description="What it redraws, if anything")
    base: dict[str, Any] = Field(default_factory=dict, description="Dotted-path overrides for every trial")
    total_kimg: float | dict[str, float] | None = Field(None, description="Budget per trial: one number or one per scale")
    scale_base: dict[str, dict[str, Any]] = Field(default_factory=dict, description="Extra overrides per scale")
    axes: dict[str, PlainOrScaled] = Field(default_factory=dict, description="Grid: dotted key -> values (or per scale)")
    variants: list[VariantFile] = Field(default_factory=list, description="Non-Cartesian pieces, e.g. a baseline")
    seeds: PlainOrScaled = Field(default_factory=lambda: [0], description="run.seed values (or per scale)")
    resources: dict[str, ResourcesFile] = Field(default_factory=dict, description="Ray resources per trial, per scale")
    full_size: dict[str, int] = Field(default_factory=dict, description="Full dataset size per scale, for data.fraction")


def looks_like_file(name: str) -> bool:
    """A launch argument is a sweep file when it has a YAML suffix or a path separator."""
    return name.endswith(SWEEP_FILE_SUFFIXES) or os.sep in name


def load_sweep_file(path: str) -> SweepSpec:
    """Read, validate and convert a sweep file; every mistake is one UserInputError naming the file and key."""
    from sweeps.catalog import SWEEPS
    raw = _read_yaml(path)
    try:
        sf = SweepFile.model_validate(raw)
    except ValidationError as exc:
        raise UserInputError(f"{path}: {_describe(exc, SweepFile)}") from None
    if sf.name in SWEEPS:
        raise UserInputError(f"{path}: name: {sf.name!r} is a catalog sweep; choose another name "
                             f"(catalog: {', '.join(SWEEPS)})")
    for scale in [*sf.scale_base, *sf.resources, *sf.full_size, *(sf.total_kimg if isinstance(sf.total_kimg, dict) else {})]:
        _check_scale(path, scale)
    axes = {k: _axis(path, f"axes.{k}", v) for k, v in sf.axes.items()}
    for key in axes:
        _check_key(path, f"axes.{key}", key)
    if not axes and not sf.variants:
        raise UserInputError(f"{path}: axes: a sweep needs at least one axis or variant")
    variants = []
    for i, v in enumerate(sf.variants):
        unknown = [a for a in v.over if a not in axes]
        if unknown:
            raise UserInputError(f"{path}: variants[{i}].over: {unknown[0]!r} is not a main axis; allowed: {', '.join(axes) or 'none'}")
        variants.append(Variant(name=v.name, set=v.set, over=tuple(v.over),
                                axes={k: _axis(path, f"variants[{i}].axes.{k}", a) for k, a in v.axes.items()}))
    spec = SweepSpec(
        name=sf.name, description=sf.description, figure=sf.figure, base=sf.base,
        scale_base=_scale_base(sf), axes=axes, variants=tuple(variants), seeds=_axis(path, "seeds", sf.seeds),
        resources={s: Resources(**sf.resources[s].model_dump()) if s in sf.resources else DEFAULT_RESOURCES[s] for s in SCALES},
        full_size=sf.full_size)
    _check_values(path, spec)
    return spec


def _read_yaml(path: str) -> dict[str, Any]:
    if not os.path.isfile(path):
        raise UserInputError(f"{path}: sweep file not found")
    try:
        with open(path, encoding="utf-8") as fh:
            raw = yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserInputError(f"{path}: not valid YAML{where}: {problem}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserInputError(f"{path}: cannot read the sweep file ({exc})") from None
    if not isinstance(raw, dict):
        raise UserInputError(f"{path}: a sweep file is a mapping with keys {', '.join(SweepFile.model_fields)}; "
                             f"got {type(raw).__name__}")
    return raw


def _describe(exc: ValidationError, model: type[BaseModel]) -> str:
    """One line for the first pydantic error: the key path, what is wrong, and what is allowed there."""
    errors = exc.errors()
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])   # a typo explains a "missing" too
    loc = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in err["loc"]).replace(".[", "[")
    if err["type"] == "extra_forbidden":
        owner: type[BaseModel] = VariantFile if err["loc"][0] == "variants" else ResourcesFile if err["loc"][0] == "resources" else model
        return f"{loc}: unknown key; allowed: {', '.join(owner.model_fields)}"
    if err["type"] == "missing":
        return f"{loc}: missing (required)"
    got = err.get("input")
    shown = f" (got {got!r})" if not isinstance(got, (dict, list)) else ""
    return f"{loc}: {err['msg'].replace('Value error, ', '')}{shown}"


def _check_scale(path: str, scale: str) -> None:
    if scale not in SCALES:
        raise UserInputError(f"{path}: unknown scale {scale!r}; allowed: {', '.join(SCALES)}")


def _axis(path: str, key: str, values: list[Any] | dict[str, list[Any]]) -> Axis:
    """A plain list means the same values at every scale; a mapping names every scale."""
    if isinstance(values, list):
        per = {s: values for s in SCALES}
    else:
        for s in values:
            _check_scale(path, s)
        missing = [s for s in SCALES if s not in values]
        if missing:
            raise UserInputError(f"{path}: {key}: values missing for scale(s) {', '.join(missing)}; give all of "
                                 f"{', '.join(SCALES)} or a plain list")
        per = values
    if not any(per.values()) or (key.startswith("axes.") and not all(per.values())):
        raise UserInputError(f"{path}: {key}: empty list of values; give at least one")
    for s, vals in per.items():
        if len(set(map(repr, vals))) != len(vals):
            raise UserInputError(f"{path}: {key}: repeated value at scale {s} ({vals})")
    return Axis(**{s: tuple(per[s]) for s in SCALES})


def _check_key(path: str, where: str, key: str) -> None:
    """A typo in an axis key is reported as such (before anything that merely refers to the axis)."""
    from sweeps.spec import FRACTION_KEY
    if key == FRACTION_KEY:
        return
    try:
        set_path(preset("smoke").model_dump(), key, None)
    except UserInputError as exc:
        raise UserInputError(f"{path}: {where}: {exc}") from None


def _scale_base(sf: SweepFile) -> dict[str, dict[str, Any]]:
    out = {s: dict(v) for s, v in sf.scale_base.items()}
    if sf.total_kimg is not None:
        kimg = sf.total_kimg if isinstance(sf.total_kimg, dict) else {s: sf.total_kimg for s in SCALES}
        for s, k in kimg.items():
            out.setdefault(s, {})["run.total_kimg"] = k
    return out


def _check_values(path: str, spec: SweepSpec) -> None:
    """Every key and value of the file against trainer.config at every scale, so a typo fails whichever scale runs."""
    from sweeps.spec import FRACTION_KEY
    for scale in SCALES:
        start = preset(scale)
        for where, overrides in [("base", spec.base), (f"scale_base.{scale}", spec.scale_base.get(scale, {}))]:
            start = _apply(path, where, scale, start, overrides)
        pieces: list[tuple[str, dict[str, Any]]] = []
        for key, axis in spec.axes.items():
            pieces += [(f"axes.{key}", _assign(key, v)) for v in axis.at(scale) if key != FRACTION_KEY]
        for i, var in enumerate(spec.variants):
            pieces.append((f"variants[{i}].set", var.set))
            for key, axis in var.axes.items():
                pieces += [(f"variants[{i}].axes.{key}", _assign(key, v)) for v in axis.at(scale)]
        pieces += [("seeds", {"run.seed": s}) for s in spec.seeds.at(scale)]
        for where, overrides in pieces:
            _apply(path, where, scale, start, overrides)


def _apply(path: str, where: str, scale: str, start: Any, overrides: dict[str, Any]) -> Any:
    try:
        return apply_overrides(start, overrides)
    except UserInputError as exc:
        raise UserInputError(f"{path}: {where} (scale {scale}): {exc}") from None


def _assign(key: str, value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {key: value}
