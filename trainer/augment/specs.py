"""Names of ADA's transforms, categories and pipeline specs, and of DiffAugment's ops (docs/papers.md §1-§4).

One place that says which transform belongs to which category and what each
`augpipe` spec contains, so the config, the pipe, the preview and the tests
agree.  The single-transform specs exist for the leakage sweep (ADA Fig 3: one
transform at a time, p from 0 to 1).  Imports no torch: the config
(trainer/config/augment.py) validates against these names.
"""

from __future__ import annotations

from trainer.errors import UserInputError

# Category -> transforms, in the order the pipeline applies them.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "blit": ("xflip", "rotate90", "xint"),
    "geom": ("scale", "rotate", "aniso", "xfrac"),
    "color": ("brightness", "contrast", "lumaflip", "hue", "saturation"),
    "filter": ("imgfilter",),
    "noise": ("noise",),
    "cutout": ("cutout",),
}

TRANSFORMS: tuple[str, ...] = tuple(t for ts in CATEGORIES.values() for t in ts)
GEOMETRIC: frozenset[str] = frozenset(CATEGORIES["blit"] + CATEGORIES["geom"])
COLOUR: frozenset[str] = frozenset(CATEGORIES["color"])

_CUMULATIVE = {"b": "blit", "g": "geom", "c": "color", "f": "filter", "n": "noise"}


def _build_specs() -> dict[str, tuple[str, ...]]:
    specs: dict[str, tuple[str, ...]] = dict(CATEGORIES)
    for name in ("bg", "bgc", "bgcf", "bgcfn"):
        specs[name] = tuple(t for letter in name for t in CATEGORIES[_CUMULATIVE[letter]])
    specs["bgcfnc"] = specs["bgcfn"] + CATEGORIES["cutout"]
    for t in ("xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac",
              "brightness", "contrast", "lumaflip", "hue", "saturation"):
        specs[t] = (t,)
    return specs


SPECS: dict[str, tuple[str, ...]] = _build_specs()

# DiffAugment's ops, in the order a policy lists them by default (trainer/augment/diffaugment.py implements them).
DIFFAUG_OPS: tuple[str, ...] = ("color", "translation", "cutout")

# ADA's target per overfitting heuristic when `augment.ada_target` is unset (docs/papers.md §4).
DEFAULT_TARGETS: dict[str, float] = {"rt": 0.6, "rv": 0.5}


def transforms_of(spec: str) -> tuple[str, ...]:
    """The transforms a spec enables; UserInputError naming the valid specs otherwise."""
    if not isinstance(spec, str) or spec.strip() not in SPECS:
        raise UserInputError(f"unknown augment spec {spec!r}; valid: {', '.join(SPECS)}")
    return SPECS[spec.strip()]
