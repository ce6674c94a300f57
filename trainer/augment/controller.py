"""ADA's adaptive controller for the augmentation probability p (docs/papers.md §4, ADA §3).

The training loop calls `observe(...)` after every D step and `update(batch)`
once per minibatch; every `interval`-th update turns the accumulated logits
into the overfitting heuristic and nudges p:
    r_t = E[sign(D(augmented reals))]                          (target 0.6)
    r_v = (E[D_train] - E[D_val]) / (E[D_train] - E[D_fake])   (target 0.5)
    p  += sign(r - target) * batch * interval / (speed_kimg * 1000), clamped to [0, 1]
so p can cross [0, 1] in speed_kimg thousand images.  All state lives in the
object (Ray reuses worker processes) and round-trips through `state_dict`,
counters included, so a resumed run continues the same p sequence (the
reference once reset them on resume).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch

from trainer.augment_config import DEFAULT_TARGETS
from trainer.errors import UserInputError

_STATS = ("sign", "train", "val", "fake")


def _empty() -> dict[str, list[float]]:
    return {k: [0.0, 0.0] for k in _STATS}      # name -> [sum, count]


class AdaController:
    """Adjusts p from D's outputs; see the module docstring."""

    def __init__(self, target: float | None = None, interval: int = 4, speed_kimg: float = 500.0,
                 heuristic: Literal["rt", "rv"] = "rt", p_init: float = 0.0) -> None:
        """`target` None means the paper's target for the heuristic (r_t 0.6, r_v 0.5)."""
        if heuristic not in ("rt", "rv"):
            raise UserInputError(f"unknown ADA heuristic {heuristic!r}; valid: rt, rv")
        if target is None:
            target = DEFAULT_TARGETS[heuristic]
        if not (isinstance(interval, int) and interval >= 1):
            raise UserInputError(f"ADA interval must be an integer >= 1, got {interval!r}")
        if not speed_kimg > 0:
            raise UserInputError(f"ADA speed_kimg must be > 0, got {speed_kimg!r}")
        if not math.isfinite(float(target)):
            raise UserInputError(f"ADA target must be finite, got {target!r}")
        self.target, self.interval, self.speed_kimg, self.heuristic = float(target), interval, float(speed_kimg), heuristic
        self._p = min(max(float(p_init), 0.0), 1.0)
        self._calls = 0
        self._acc = _empty()
        self._r_t: float | None = None
        self._r_v: float | None = None

    @property
    def p(self) -> float:
        return self._p

    @property
    def r_t(self) -> float | None:
        return self._r_t

    @property
    def r_v(self) -> float | None:
        return self._r_v

    def _add(self, name: str, values: torch.Tensor) -> None:
        v = values.detach().flatten().to(device="cpu", dtype=torch.float64)
        self._acc[name][0] += float(v.sum())
        self._acc[name][1] += float(v.numel())

    def observe(self, *, real_logits: torch.Tensor | None = None, train_logits: torch.Tensor | None = None,
                val_logits: torch.Tensor | None = None, fake_logits: torch.Tensor | None = None) -> None:
        """Accumulate one D step's raw logits (any of them may be missing)."""
        if real_logits is not None:
            self._add("sign", torch.sign(real_logits.detach()))
        for name, t in (("train", train_logits), ("val", val_logits), ("fake", fake_logits)):
            if t is not None:
                self._add(name, t)

    def _mean(self, name: str) -> float | None:
        total, count = self._acc[name]
        return total / count if count > 0 else None

    def _heuristics(self) -> tuple[float | None, float | None]:
        """r_t and r_v of the stats since the last adjustment (None where they cannot be formed)."""
        r_t = self._mean("sign")
        mt, mv, mf = self._mean("train"), self._mean("val"), self._mean("fake")
        r_v = None
        if mt is not None and mv is not None and mf is not None and mt != mf:
            r_v = (mt - mv) / (mt - mf)
        return r_t, r_v

    def update(self, batch_size: int) -> float:
        """Count one minibatch; every `interval`-th call adjust p from the stats since the last adjustment.

        p only moves on a heuristic formed from this interval's own stats: an interval with no
        observations (or with E[D_train] == E[D_fake] for r_v) leaves p where it is, rather than
        reusing a stale value.
        """
        self._calls += 1
        if self._calls % self.interval != 0:
            return self._p
        r_t, r_v = self._heuristics()
        self._r_t = r_t if r_t is not None else self._r_t
        self._r_v = r_v if r_v is not None else self._r_v
        r = r_t if self.heuristic == "rt" else r_v
        if r is not None:
            step = float(batch_size) * self.interval / (self.speed_kimg * 1000.0)
            sign = (r > self.target) - (r < self.target)
            self._p = min(max(self._p + sign * step, 0.0), 1.0)
        self._acc = _empty()
        return self._p

    def state_dict(self) -> dict[str, Any]:
        """Plain python values: p, counters, last heuristics and the open accumulators."""
        return {"p": self._p, "calls": self._calls, "r_t": self._r_t, "r_v": self._r_v,
                "acc": {k: list(v) for k, v in self._acc.items()},
                "target": self.target, "interval": self.interval, "speed_kimg": self.speed_kimg,
                "heuristic": self.heuristic}

    def load_state_dict(self, d: dict[str, Any]) -> None:
        """Restore the state of `state_dict` (settings stay those of this object's constructor)."""
        try:
            self._p = min(max(float(d["p"]), 0.0), 1.0)
            self._calls = int(d["calls"])
            self._r_t = None if d["r_t"] is None else float(d["r_t"])
            self._r_v = None if d["r_v"] is None else float(d["r_v"])
            self._acc = {k: [float(d["acc"][k][0]), float(d["acc"][k][1])] for k in _STATS}
        except (KeyError, TypeError, IndexError, ValueError) as err:
            raise UserInputError(f"bad AdaController state: missing or malformed {err}") from None
