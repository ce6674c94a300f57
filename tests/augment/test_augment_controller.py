"""AdaController (docs/papers.md §4): direction, step size, clamping, r_v, missing stats and resume."""

from __future__ import annotations

import pytest
import torch

from trainer.augment import AdaController
from trainer.errors import UserInputError


def _drive(c: AdaController, steps: int, sign: float, batch: int = 64) -> list[float]:
    ps = []
    for _ in range(steps):
        c.observe(real_logits=torch.full((batch,), sign))
        ps.append(c.update(batch))
    return ps


def test_moves_up_when_overfitting_by_the_specified_step() -> None:
    c = AdaController(0.6, interval=4, speed_kimg=500.0)
    ps = _drive(c, 8, +1.0)
    step = 64 * 4 / 500_000
    assert ps[:3] == [0.0, 0.0, 0.0] and ps[3] == pytest.approx(step) and ps[7] == pytest.approx(2 * step)
    assert c.r_t == pytest.approx(1.0)


def test_moves_down_and_clamps_at_both_ends() -> None:
    c = AdaController(0.6, interval=1, speed_kimg=0.1, p_init=0.5)
    ps = _drive(c, 10, -1.0)
    assert ps[-1] == 0.0 and c.r_t == pytest.approx(-1.0) and ps[0] < 0.5
    ps = _drive(c, 30, +1.0)
    assert ps[-1] == 1.0 and max(ps) == 1.0


def test_rt_uses_sign_mean_against_target() -> None:
    c = AdaController(0.6, interval=1, speed_kimg=1.0)
    c.observe(real_logits=torch.tensor([1.0, 2.0, 3.0, -1.0]))        # r_t = 0.5 < 0.6 -> down (stays 0)
    assert c.update(10) == 0.0 and c.r_t == pytest.approx(0.5)
    c.observe(real_logits=torch.tensor([1.0, 2.0, 3.0, 4.0, -1.0]))   # r_t = 0.6 -> no move
    assert c.update(10) == 0.0


def test_rv_heuristic_and_missing_stats() -> None:
    c = AdaController(0.5, interval=1, speed_kimg=1.0, heuristic="rv", p_init=0.5, rv_pool=8)
    c.observe(real_logits=torch.ones(4))
    assert c.update(100) == 0.5 and c.r_v is None                      # no val/fake logits: p stays
    c.observe(train_logits=torch.full((8,), 2.0), val_logits=torch.full((8,), -1.0), fake_logits=torch.full((8,), -2.0))
    assert c.update(100) == pytest.approx(0.6) and c.r_v == pytest.approx(0.75)    # (2+1)/(2+2) > 0.5: up
    c.observe(train_logits=torch.full((8,), 2.0), val_logits=torch.full((8,), 1.0), fake_logits=torch.full((8,), -2.0))
    assert c.update(100) == pytest.approx(0.5) and c.r_v == pytest.approx(0.25)    # below target: down


def test_state_dict_round_trip_continues_the_same_sequence() -> None:
    a = AdaController(0.6, interval=3, speed_kimg=1.0, p_init=0.5)
    g = torch.Generator().manual_seed(0)
    logits = [torch.randn(16, generator=g) + 0.85 for _ in range(40)]
    for t in logits[:17]:
        a.observe(real_logits=t)
        a.update(16)
    state = a.state_dict()
    assert all(isinstance(v, (int, float, str, dict, type(None))) for v in state.values())
    b = AdaController(0.6, interval=3, speed_kimg=1.0)
    b.load_state_dict(state)
    assert b.p == a.p and b.r_t == a.r_t
    seq_a, seq_b = [], []
    for t in logits[17:]:
        a.observe(real_logits=t)
        b.observe(real_logits=t)
        seq_a.append(a.update(16))
        seq_b.append(b.update(16))
    assert seq_a == seq_b and len(set(seq_a)) > 1


def test_default_targets_are_the_papers() -> None:
    assert AdaController().target == 0.6 and AdaController(heuristic="rv").target == 0.5
    assert AdaController(0.7, heuristic="rv").target == 0.7


def test_rv_does_not_reuse_a_stale_value() -> None:
    """An interval whose r_v cannot be formed (E[D_train] == E[D_fake]) leaves p alone, even though an
    earlier interval's r_v was above target."""
    c = AdaController(0.5, interval=1, speed_kimg=1.0, heuristic="rv", p_init=0.5, rv_pool=8)
    c.observe(train_logits=torch.full((8,), 2.0), val_logits=torch.full((8,), -1.0), fake_logits=torch.full((8,), -2.0))
    assert c.update(100) == pytest.approx(0.6)
    c.observe(train_logits=torch.full((8,), 1.0), val_logits=torch.full((8,), 0.0), fake_logits=torch.full((8,), 1.0))
    assert c.update(100) == pytest.approx(0.6) and c.r_v == pytest.approx(0.75)   # last formed value kept for logs
    assert c.update(100) == pytest.approx(0.6)                                    # no stats at all: p stays


def test_bad_arguments() -> None:
    with pytest.raises(UserInputError, match="heuristic"):
        AdaController(0.6, heuristic="rx")  # type: ignore[arg-type]
    with pytest.raises(UserInputError, match="interval"):
        AdaController(0.6, interval=0)
    with pytest.raises(UserInputError, match="AdaController state"):
        AdaController(0.6).load_state_dict({"p": 0.1})


def test_rv_pools_probes_until_rv_pool_and_steps_over_all_of_them() -> None:
    """Two 4-logit probes make one pool of 8: no decision after the first, one step covering both after the second."""
    c = AdaController(0.5, interval=1, speed_kimg=1.0, heuristic="rv", rv_pool=8)
    probe = dict(train_logits=torch.tensor([2.0, 2.1, 1.9, 2.0]), val_logits=torch.tensor([-1.0, -1.1, -0.9, -1.0]),
                 fake_logits=torch.full((4,), -2.0))
    c.observe(**probe)
    assert c.update(100) == 0.0 and c.r_v is None
    c.observe(**probe)
    assert c.update(100) == pytest.approx(0.2) and c.r_v == pytest.approx(0.75)


def test_rv_does_not_rise_on_an_insignificant_numerator() -> None:
    """r_v = 1.0 > 0.5, but D_train - D_val = 0.1 is within 3 standard errors (spread 1, 8 per set): p goes down."""
    c = AdaController(0.5, interval=1, speed_kimg=1.0, heuristic="rv", rv_pool=8, p_init=0.5)
    spread = torch.tensor([1.0, -1.0] * 4)
    c.observe(train_logits=0.1 + spread, val_logits=spread, fake_logits=torch.zeros(8))
    assert c.update(100) == pytest.approx(0.4) and c.r_v == pytest.approx(1.0)


def test_rv_state_round_trip_mid_pool() -> None:
    g = torch.Generator().manual_seed(1)
    probes = [{k: torch.randn(8, generator=g) + m for k, m in (("train_logits", 1.0), ("val_logits", 0.2),
                                                             ("fake_logits", -1.0))} for _ in range(30)]
    a = AdaController(0.5, interval=2, speed_kimg=1.0, heuristic="rv", rv_pool=24)
    for pr in probes[:13]:
        a.observe(**pr)
        a.update(8)
    b = AdaController(0.5, interval=2, speed_kimg=1.0, heuristic="rv", rv_pool=24)
    b.load_state_dict(a.state_dict())
    seq_a, seq_b = [], []
    for pr in probes[13:]:
        for c, seq in ((a, seq_a), (b, seq_b)):
            c.observe(**pr)
            seq.append(c.update(8))
    assert seq_a == seq_b and len(set(seq_a)) > 1 and a.state_dict() == b.state_dict()


def test_loads_a_version_1_state_dict() -> None:
    """A checkpoint from before the pooled r_v ([sum, count] accumulators, no "version") resumes: p, counters,
    heuristics and the open sign window carry over, so the next r_t decision is the one the old run would make."""
    old = {"p": 0.25, "calls": 6, "r_t": 0.7, "r_v": None, "target": 0.6, "interval": 4, "speed_kimg": 1.0,
           "heuristic": "rt", "acc": {"sign": [2.0, 2.0], "train": [0.0, 0.0], "val": [0.0, 0.0], "fake": [0.0, 0.0]}}
    c = AdaController(0.6, interval=4, speed_kimg=1.0)
    c.load_state_dict(old)
    assert c.p == 0.25 and c.r_t == 0.7
    c.observe(real_logits=torch.tensor([1.0, -1.0]))
    assert c.update(100) == 0.25                                 # call 7: no decision
    c.observe(real_logits=torch.tensor([1.0, 1.0]))
    assert c.update(100) == pytest.approx(0.25 + 100 * 4 / 1000) and c.r_t == pytest.approx(4 / 6)   # one interval
