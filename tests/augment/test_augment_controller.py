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
    c = AdaController(0.5, interval=1, speed_kimg=1.0, heuristic="rv", p_init=0.5)
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
    c = AdaController(0.5, interval=1, speed_kimg=1.0, heuristic="rv", p_init=0.5)
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
