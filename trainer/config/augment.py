"""How D's inputs are augmented: one config model per mode, told apart by `mode` (docs/papers.md §1-§4).

Each mode takes only the fields that mean something for it, so `--set augment.mode=none --set augment.p=0.3`
is an error naming the mode and its fields instead of a silently ignored value.  `MODE_FIELDS` (derived from the
models) is the one place that says which field applies to which mode; the flat Parquet columns and the sweep
table read it.

`ada_target` left unset means the paper's target for the heuristic (r_t 0.6, r_v 0.5, docs/papers.md §4): it
stays None in the config, so switching the heuristic later (a sweep axis, a `--set`) still gets the right
default, and `target` resolves it.

Old `config.json` files (from before the split) hold every field of every mode; `drop_inapplicable` turns such a
dict into the new form, keeping what the run actually used.  Imports neither torch nor ray.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from trainer.augment.specs import DEFAULT_TARGETS, DIFFAUG_OPS, SPECS

AUGPIPE_SPECS = tuple(SPECS)   # the valid `augpipe` values, declared in trainer/augment/specs.py
MODES = ("none", "fixed", "ada", "diffaugment")


class _Mode(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class _Applied(_Mode):
    apply_to: Literal["both", "reals_only", "d_only"] = Field("both", description="both: reals+fakes in D and G steps (the method); reals_only; d_only: both in the D step only")


class _Pipe(_Applied):
    augpipe: str = Field("bgc", description="ADA pipeline spec")
    p: float = Field(0.0, ge=0.0, le=1.0, description="Fixed p, or ADA's initial p; clamped to [0, 1] by design")

    @field_validator("augpipe")
    @classmethod
    def _spec(cls, v: str) -> str:
        if v not in AUGPIPE_SPECS:
            raise ValueError(f"unknown augpipe {v!r}; allowed: {', '.join(AUGPIPE_SPECS)}")
        return v


class NoAugment(_Mode):
    """No augmentation: D sees plain images (the baselines)."""

    mode: Literal["none"] = Field("none", description="none | fixed | ada | diffaugment")


class FixedAugment(_Pipe):
    """ADA's pipeline at a constant p (ADA Fig 3, 4)."""

    mode: Literal["fixed"] = Field("fixed", description="none | fixed | ada | diffaugment")


class AdaAugment(_Pipe):
    """ADA's pipeline with p driven by the overfitting heuristic (ADA Fig 5, 7)."""

    mode: Literal["ada"] = Field("ada", description="none | fixed | ada | diffaugment")
    heuristic: Literal["rt", "rv"] = Field("rt", description="Overfitting heuristic that drives ADA")
    ada_target: float | None = Field(None, gt=0.0, lt=1.0, description="Target of the heuristic; None = the paper's (r_t 0.6, r_v 0.5)")
    ada_interval: int = Field(4, ge=1, le=1000, description="Adjust p every N minibatches")
    ada_kimg: float = Field(500.0, gt=0.0, le=100_000.0, description="Speed: kimg for p to move from 0 to 1")

    @property
    def target(self) -> float:
        """The target in force: `ada_target`, or the paper's for the heuristic."""
        return DEFAULT_TARGETS[self.heuristic] if self.ada_target is None else self.ada_target


class DiffAugment(_Applied):
    """DiffAugment: every op of the policy on every image, no p (DiffAugment §3)."""

    mode: Literal["diffaugment"] = Field("diffaugment", description="none | fixed | ada | diffaugment")
    diffaug_policy: str = Field("color,translation,cutout", description="DiffAugment ops, comma-separated, applied in order")

    @field_validator("diffaug_policy")
    @classmethod
    def _policy(cls, v: str) -> str:
        names = [s.strip() for s in v.split(",") if s.strip()]
        bad = [n for n in names if n not in DIFFAUG_OPS]
        if bad or not names:
            raise ValueError(f"unknown DiffAugment op(s) {bad or [v]}; allowed: {', '.join(DIFFAUG_OPS)}")
        return ",".join(names)


AugmentConfig = Annotated[Union[NoAugment, FixedAugment, AdaAugment, DiffAugment], Field(discriminator="mode")]
MODELS: dict[str, type[_Mode]] = {"none": NoAugment, "fixed": FixedAugment, "ada": AdaAugment, "diffaugment": DiffAugment}
# The one map of which field applies to which mode.
MODE_FIELDS: dict[str, tuple[str, ...]] = {
    mode: ("mode", *sorted(set(model.model_fields) - {"mode"})) for mode, model in MODELS.items()}
ALL_FIELDS: dict[str, Any] = {name: info for model in MODELS.values() for name, info in model.model_fields.items()}
# Every field of the flat model before the split: a dict holding all of them is an old config.json.
_LEGACY_FIELDS = frozenset(ALL_FIELDS)
_ADAPTER: TypeAdapter[Any] = TypeAdapter(AugmentConfig)


def augment_config(**fields: Any) -> NoAugment | FixedAugment | AdaAugment | DiffAugment:
    """Build the model of `fields["mode"]` (default ada, like the presets); errors as pydantic raises them."""
    return _ADAPTER.validate_python({"mode": "ada", **fields})


def applies(mode: str, field: str) -> bool:
    """Whether `augment.<field>` means something in `mode`."""
    return field in MODE_FIELDS.get(mode, ())


def inapplicable_message(mode: str, field: str) -> str:
    return (f"augment.{field} does not apply to augment.mode={mode}; mode {mode} takes: "
            f"{', '.join(MODE_FIELDS[mode])}")


def drop_inapplicable(d: dict[str, Any], keep: frozenset[str] | set[str] = frozenset(), strict: bool = True) -> dict[str, Any]:
    """`d` (an augment dict) without the fields its mode does not take.

    Fields in `keep` were set on purpose (an override of this step): with `strict` one that does not apply is a
    ValueError naming the mode and its fields; without, it is dropped like the others.  An unknown mode is a
    ValueError listing the modes.
    """
    mode = d.get("mode", "ada")
    if mode not in MODE_FIELDS:
        raise ValueError(f"augment.mode: must be one of {', '.join(map(repr, MODES[:-1]))} or {MODES[-1]!r} (got {mode!r})")
    for key in d:
        if strict and key in keep and key in ALL_FIELDS and not applies(mode, key):
            raise ValueError(inapplicable_message(mode, key))
    return {k: v for k, v in d.items() if applies(mode, k) or k not in ALL_FIELDS}


def is_legacy(d: Any) -> bool:
    """A pre-split augment dict: it carries every field of every mode at once."""
    return isinstance(d, dict) and _LEGACY_FIELDS <= set(d)
