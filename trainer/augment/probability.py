"""The augmentation probability p: one holder, one clamp (ADA §2: p in [0, 1] gates every transform).

In an ADA run the pipe draws with p and the controller moves it; both hold the same `Probability`, so p lives in one
object, the checkpoint stores it once, and `clamp_probability` is the only place a probability is bounded (the
reference lets p exceed 1 and then leaks; we do not).  Torch-free.
"""

from __future__ import annotations

import math

from trainer.errors import UserInputError


def clamp_probability(value: float) -> float:
    """VALUE as a float in [0, 1]; NaN is refused in one line."""
    p = float(value)
    if math.isnan(p):
        raise UserInputError("augment p is NaN; expected a number in [0, 1]")
    return min(max(p, 0.0), 1.0)


class Probability:
    """A mutable probability, clamped to [0, 1] on every set."""

    __slots__ = ("_value",)

    def __init__(self, value: float = 0.0) -> None:
        self._value = clamp_probability(value)

    @property
    def value(self) -> float:
        return self._value

    @value.setter
    def value(self, v: float) -> None:
        self._value = clamp_probability(v)

    def __repr__(self) -> str:
        return f"Probability({self._value!r})"
