"""Differentiable augmentation for data-efficient GANs (docs/papers.md §1-§4).

- `diffaugment`: DiffAugment's color / translation / cutout (Zhao et al. 2020).
- `make_pipe` / `AugmentPipe`: ADA's pipeline (blit, geom, color, filter, noise,
  cutout and their cumulative specs, plus single transforms for leakage sweeps).
- `AdaController`: ADA's adaptive p from the r_t or r_v overfitting heuristic.
- `python -m trainer.augment.preview`: a picture grid of the transforms.

The names are imported lazily (PEP 562), so `trainer.augment.specs`, which is
torch-free, can be imported by the config without pulling in torch.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

# public name -> the submodule that defines it
_SOURCES = {"AdaController": "controller", "diffaugment": "diffaugment", "AugmentPipe": "pipe", "make_pipe": "pipe",
            "CATEGORIES": "specs", "SPECS": "specs", "TRANSFORMS": "specs"}

__all__ = ["AdaController", "AugmentPipe", "CATEGORIES", "SPECS", "TRANSFORMS", "diffaugment", "make_pipe"]


def __getattr__(name: str) -> Any:
    if name not in _SOURCES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_SOURCES[name]}"), name)
    setattr(sys.modules[__name__], name, value)   # bound once, as an eager import would have
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


class _Package(types.ModuleType):
    """Keeps `trainer.augment.diffaugment` the function, as the eager import did, when its submodule loads."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and name in _SOURCES and _SOURCES[name] == name:
            return   # the import system binding submodule `diffaugment` over the function of that name
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
