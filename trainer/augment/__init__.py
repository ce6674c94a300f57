"""Differentiable augmentation for data-efficient GANs (docs/papers.md §1-§4).

- `diffaugment`: DiffAugment's color / translation / cutout (Zhao et al. 2020).
- `make_pipe` / `AugmentPipe`: ADA's pipeline (blit, geom, color, filter, noise,
  cutout and their cumulative specs, plus single transforms for leakage sweeps).
- `AdaController`: ADA's adaptive p from the r_t or r_v overfitting heuristic.
- `python -m trainer.augment.preview`: a picture grid of the transforms.
"""

from trainer.augment.controller import AdaController
from trainer.augment.diffaugment import diffaugment
from trainer.augment.pipe import AugmentPipe, make_pipe
from trainer.augment.specs import CATEGORIES, SPECS, TRANSFORMS

__all__ = ["AdaController", "AugmentPipe", "CATEGORIES", "SPECS", "TRANSFORMS", "diffaugment", "make_pipe"]
