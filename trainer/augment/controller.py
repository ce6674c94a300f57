"""ADA's adaptive controller for the augmentation probability p (docs/papers.md §4, ADA §3).

Its window receives D's real logits' signs after every D step and the logits
of each r_v probe (the statistics channel, or `observe(...)` by hand), and the
training loop calls `update(batch)` once per minibatch.  p moves by
    p += sign * images_since_last_decision / (speed_kimg * 1000), clamped to [0, 1]
so p can cross [0, 1] in speed_kimg thousand images, at either heuristic:

r_t = E[sign(D(augmented reals))] (target 0.6), the paper's rule as published:
every `interval`-th update compares the interval's r_t with the target
(sign = +1 above, -1 below, 0 on it).  Its estimator is a mean of +-1 values,
variance (1 - r_t^2) / n with n = batch * interval (0.058^2 at r_t = 0.38,
n = 256).  What r_t can and cannot tell apart: it measures how far D's logits on
reals sit on the "real" side of its decision boundary, nothing else.  With D's
real logits ~ N(mu, sigma), r_t = 2 Phi(mu / sigma) - 1, which passes 0.6 at
mu / sigma = 0.84 whether or not validation images score the same: a D that
separates reals from fakes confidently and generalises raises p exactly like
one that memorises.  Only a D whose real logits sit near its boundary keeps
p at 0.

r_v = (E[D_train] - E[D_val]) / (E[D_train] - E[D_fake]) (target 0.5) is a
ratio of two small differences; formed from one 64-image probe per interval it
reads noise as overfitting and, since its denominator shrinks as augmentation
makes D's job harder, ratchets p up with nothing overfitting (at tiny's target
0.1, p 0.63-0.82 after 300 kimg at real-fake gaps of 0.02-0.05 logit with train
and val logits from one distribution, tests/augment/test_augment_controller_signal.py).  So
here the probes are pooled until each of train, val and fake holds `rv_pool`
logits (1024: 16 probes of 64, 4 kimg at batch 64 and interval 4), and p rises
only when the numerator is significant AND the pooled ratio exceeds the target:
    up    iff  D_train - D_val > z * se  and  r_v > target
    same  iff  r_v == target, or E[D_train] == E[D_fake] (r_v not formed)
    down  otherwise
with se^2 = s_train^2 / n_train + s_val^2 / n_val (sample variances of the pool;
train and val are drawn independently) and z = `rv_z` (3: a one-sided test whose
false-rise rate per decision is Phi(-3) = 0.13 % when train and val logits share
a distribution).  At spread sigma = 1 and rv_pool = 1024, se = 0.044 logit, so
p rises only on a train-val gap above ~0.13 logit; at equilibrium r_v sits at
or slightly above the target.  r_v_ctrl in the tick row is this pooled ratio.

Its inputs come from the statistics channel (trainer/stats.py): `window` collects
the names `NAMES` (r_t's signs and the probe's logits, each reported once where
it is computed), and `observe(...)` feeds the same window by hand.  p itself is a
`Probability` (trainer/augment/probability.py), shared with the pipe that draws
with it, so p has one holder and one clamp.

All state lives in the object (Ray reuses worker processes) and round-trips
through `state_dict`, counters and open pools included, so a resumed run
continues the same p sequence (the reference once reset them on resume).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch

from trainer.augment.probability import Probability
from trainer.augment.specs import DEFAULT_TARGETS
from trainer.errors import UserInputError
from trainer.stats import Window, moments

# channel name -> its key in the state dict's "acc" (the keys of every checkpoint so far)
NAMES = {"r_t": "sign", "probe_train": "train", "probe_val": "val", "probe_fake": "fake"}
_POOL = ("probe_train", "probe_val", "probe_fake")
RV_POOL = 1024     # logits per set (train, val, fake) pooled before an r_v decision
RV_Z = 3.0         # one-sided z of the test on D_train - D_val
STATE_VERSION = 2  # 1 (no key): acc held [sum, count], r_v decided every interval


class AdaController:
    """Adjusts p from D's outputs; see the module docstring."""

    def __init__(self, target: float | None = None, interval: int = 4, speed_kimg: float = 500.0,
                 heuristic: Literal["rt", "rv"] = "rt", p_init: float | Probability = 0.0,
                 rv_pool: int = RV_POOL, rv_z: float = RV_Z) -> None:
        """`target` None means the paper's target for the heuristic (r_t 0.6, r_v 0.5).  `p_init` a float starts
        a p of the controller's own; a `Probability` is moved in place (the one a pipe draws with)."""
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
        if not (isinstance(rv_pool, int) and rv_pool >= 1) or not (math.isfinite(rv_z) and rv_z >= 0):
            raise UserInputError(f"ADA rv_pool must be an integer >= 1 and rv_z finite >= 0, got {rv_pool!r}, {rv_z!r}")
        self.target, self.interval, self.speed_kimg, self.heuristic = float(target), interval, float(speed_kimg), heuristic
        self.rv_pool, self.rv_z = rv_pool, float(rv_z)
        self._p = p_init if isinstance(p_init, Probability) else Probability(p_init)
        self._calls = 0
        self._since = 0            # minibatches since p last had a decision (its step covers all of them)
        self.window = Window(NAMES)   # attached to the run's statistics channel by trainer/state.py
        self._r_t: float | None = None
        self._r_v: float | None = None

    @property
    def p(self) -> float:
        return self._p.value

    @property
    def r_t(self) -> float | None:
        return self._r_t

    @property
    def r_v(self) -> float | None:
        return self._r_v

    def observe(self, *, real_logits: torch.Tensor | None = None, train_logits: torch.Tensor | None = None,
                val_logits: torch.Tensor | None = None, fake_logits: torch.Tensor | None = None) -> None:
        """Accumulate one D step's raw logits (any of them may be missing) without a channel; training reports
        them to the channel instead (trainer/step.py, trainer/loop.py)."""
        if real_logits is not None:
            self.window.add("r_t", moments(torch.sign(real_logits.detach())))
        for name, t in zip(_POOL, (train_logits, val_logits, fake_logits)):
            if t is not None:
                self.window.add(name, moments(t))

    def _rv_sign(self) -> int | None:
        """+1 / 0 / -1 for p from the pooled r_v (module docstring); None while the pool is short or r_v is not formed."""
        w = self.window
        if min(w.count(k) for k in _POOL) < self.rv_pool:
            return None
        mt, mv, mf = w.mean("probe_train"), w.mean("probe_val"), w.mean("probe_fake")
        assert mt is not None and mv is not None and mf is not None
        if mt == mf:
            return 0
        num = mt - mv
        self._r_v = num / (mt - mf)
        if self._r_v == self.target:
            return 0
        significant = num > self.rv_z * math.sqrt(w.var_of_mean("probe_train") + w.var_of_mean("probe_val"))
        return 1 if significant and self._r_v > self.target else -1

    def update(self, batch_size: int) -> float:
        """Count one minibatch; every `interval`-th call decide on p (module docstring).

        p only moves on a heuristic formed from its own window's stats: an r_t window with no
        observations, or an r_v pool whose E[D_train] == E[D_fake], leaves p where it is (the
        images it covered are dropped from the next step) rather than reusing a stale value.
        """
        self._calls += 1
        self._since += 1
        if self._calls % self.interval != 0:
            return self.p
        r_t = self.window.mean("r_t")
        self._r_t = r_t if r_t is not None else self._r_t
        self.window.reset("r_t")
        if self.heuristic == "rt":
            sign = None if r_t is None else (r_t > self.target) - (r_t < self.target)
        else:
            pooled = min(self.window.count(k) for k in _POOL)
            sign = self._rv_sign()
            if sign is None and pooled > 0:
                return self.p                     # keep pooling; the step will cover these minibatches
        if sign is not None:
            step = float(batch_size) * self._since / (self.speed_kimg * 1000.0)
            self._p.value = self._p.value + sign * step
        self.window.reset(*_POOL)
        self._since = 0
        return self.p

    def state_dict(self) -> dict[str, Any]:
        """Plain python values: p, counters, last heuristics and the open accumulators."""
        return {"version": STATE_VERSION, "p": self.p, "calls": self._calls, "since": self._since,
                "r_t": self._r_t, "r_v": self._r_v, "acc": {key: list(self.window.acc[n]) for n, key in NAMES.items()},
                "target": self.target, "interval": self.interval, "speed_kimg": self.speed_kimg,
                "heuristic": self.heuristic, "rv_pool": self.rv_pool, "rv_z": self.rv_z}

    def load_state_dict(self, d: dict[str, Any]) -> None:
        """Restore the state of `state_dict` (settings stay those of this object's constructor).

        A version-1 state (no "version": [sum, count] accumulators) loads too: its sign window carries on
        (a sign's square is 1), its r_v window's logits are dropped (their squares were never kept), and
        the minibatches since the last decision are those since the last interval boundary."""
        try:
            p, calls = float(d["p"]), int(d["calls"])
            r_t = None if d["r_t"] is None else float(d["r_t"])
            r_v = None if d["r_v"] is None else float(d["r_v"])
            if d.get("version", 1) == 1:
                sign = [float(d["acc"]["sign"][0]), float(d["acc"]["sign"][1])]
                acc = {n: [0.0, 0.0, 0.0] for n in NAMES} | {"r_t": [sign[0], sign[1], sign[1]]}
                since = calls % self.interval
            else:
                acc = {n: [float(x) for x in d["acc"][key][:3]] for n, key in NAMES.items()}
                if any(len(v) != 3 for v in acc.values()):
                    raise ValueError("acc")
                since = int(d["since"])
        except (KeyError, TypeError, IndexError, ValueError) as err:
            raise UserInputError(f"bad AdaController state: missing or malformed {err}") from None
        self._p.value = p
        self._calls, self._since, self._r_t, self._r_v, self.window.acc = calls, since, r_t, r_v, acc
