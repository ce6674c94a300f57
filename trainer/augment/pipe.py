"""`AugmentPipe`: ADA's augmentation pipeline as a differentiable module (docs/papers.md §1, §3).

Usage: `pipe = make_pipe("bgc", p=0.2); y = pipe(x, generator=g)`.
- `pipe.p` is a settable float, clamped to [0, 1] on set (the reference lets p
  exceed 1 and then leaks; we do not); it reads and sets the pipe's `Probability`,
  which `make_pipe(spec, p)` shares when given one (ADA: the controller moves it).
- Every transform of the spec has one gate per image: it applies when
  rand < p; the others never run.  p = 0 returns the input object itself: an exact, free identity.
- Order: geometry (blit + geom, one matrix, one resampling) -> colour (one
  4x4 matrix) -> filter -> noise -> cutout.
- Differentiable w.r.t. the input to any order (R1 is taken through it).
- Debug switch for pictures and tests: `pipe.force(name, prob=1.0)` runs only
  transform `name` (any of `TRANSFORMS`, e.g. "rotate", "hue"), gated with
  probability `prob` regardless of p (for "rotate", each of the two slots fires
  with 1 - sqrt(1 - prob)).  `pipe.force(None)` returns to normal operation.
"""

from __future__ import annotations

import torch

from trainer.augment.color import apply_color, color_matrices
from trainer.augment.filters import apply_cutout, apply_imgfilter, apply_noise
from trainer.augment.geometric import apply_geometry, geometry_matrices
from trainer.augment.probability import Probability, clamp_probability
from trainer.augment.random_draws import Draws
from trainer.augment.specs import COLOUR, GEOMETRIC, TRANSFORMS, transforms_of
from trainer.errors import UserInputError


class AugmentPipe(torch.nn.Module):
    """ADA pipeline for one spec; see the module docstring for the contract."""

    def __init__(self, spec: str, p: float | Probability = 0.0) -> None:
        super().__init__()
        self.spec = spec
        self.enabled: frozenset[str] = frozenset(transforms_of(spec))
        self.prob = p if isinstance(p, Probability) else Probability(p)
        self._forced: tuple[str, float] | None = None

    @property
    def p(self) -> float:
        return self.prob.value

    @p.setter
    def p(self, value: float) -> None:
        self.prob.value = value

    def force(self, name: str | None, prob: float = 1.0) -> "AugmentPipe":
        """Run only transform `name`, gated with probability `prob` (ignores p); None clears. Returns self."""
        if name is None:
            self._forced = None
            return self
        if name not in TRANSFORMS:
            raise UserInputError(f"unknown transform {name!r}; valid: {', '.join(TRANSFORMS)}")
        self._forced = (name, clamp_probability(prob))
        return self

    def gate_probs(self) -> dict[str, float]:
        """Gate probability of every transform for the next call (p for the spec's transforms, or the forced one)."""
        if self._forced is not None:
            name, prob = self._forced
            return {t: (prob if t == name else 0.0) for t in TRANSFORMS}
        return {t: (self.p if t in self.enabled else 0.0) for t in TRANSFORMS}

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if x.ndim != 4:
            raise UserInputError(f"augment input must be NCHW, got shape {tuple(x.shape)}")
        probs = {t: q for t, q in self.gate_probs().items() if q > 0.0}
        if not probs:
            return x
        n, _, h, w = x.shape
        d = Draws(x.device, generator)
        if GEOMETRIC & probs.keys():
            x = apply_geometry(x, geometry_matrices(d, n, h, w, probs))
        if COLOUR & probs.keys():
            x = apply_color(x, color_matrices(d, n, probs))
        if "imgfilter" in probs:
            x = apply_imgfilter(x, d, probs["imgfilter"])
        if "noise" in probs:
            x = apply_noise(x, d, probs["noise"])
        if "cutout" in probs:
            x = apply_cutout(x, d, probs["cutout"])
        return x

    def extra_repr(self) -> str:
        return f"spec={self.spec!r}, p={self.p:.4f}"


def make_pipe(spec: str, p: float | Probability = 0.0) -> AugmentPipe:
    """The ADA pipeline named `spec` (blit, geom, color, ..., bgcfnc, or one transform) at probability p (a float,
    or a `Probability` the pipe then shares)."""
    return AugmentPipe(spec, p)
