"""The statistics channel (trainer/stats.py): one report line feeds the tick row, the ADA controller and the trackers.

Each test here names what it would catch: r_t summed in two places (the controller's reading and the tick row's
would part as soon as one of them misses a D pass), a declared column that nothing reports, and an undeclared name
that vanishes instead of reaching the trackers.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
from fast_config import fast_overrides

from trainer.checkpoint import read_checkpoint
from trainer.config import apply_overrides, preset
from resultsformat import reported_names
from trainer.hooks import CollectingHooks, TickReport
from trainer.loop import train


def _cfg(**extra: Any):
    return apply_overrides(preset("smoke"), fast_overrides(**extra))


def test_the_controller_reads_the_r_t_of_the_tick_row_for_the_same_window(tmp_path: Path) -> None:
    # 8 minibatches per tick (batch 16, 0.128 kimg) and one ADA decision every 8: the controller's window is the
    # tick.  R1 every 4 minibatches, so each window holds Dmain's and Dreg's real logits; a second accumulation
    # that misses a pass (or sees other logits) gives another r_t.
    cfg = _cfg(**{"augment.mode": "ada", "augment.p": 0.0, "augment.ada_interval": 8, "augment.ada_kimg": 2.0,
                  "loss.r1_interval": 4, "run.checkpoint_ticks": 1})
    rows = train(cfg, CollectingHooks(checkpoint_dir=tmp_path))
    assert [r["tick"] for r in rows] == [1, 2, 3]
    for r in rows:
        controller = read_checkpoint(tmp_path / f"tick{r['tick']:06d}")[1]["augment"]["controller"]
        assert controller["calls"] == 8 * r["tick"] and controller["since"] == 0   # a decision at every tick's end
        assert controller["r_t"] == r["r_t"], (r["tick"], controller["r_t"], r["r_t"])   # exactly: sign counts


def test_the_path_length_penalty_reaches_its_column_through_its_one_report() -> None:
    from trainer.device import resolve_device
    from trainer.state import TrainState
    from trainer.stats import Window
    from trainer.step import minibatch_step
    cfg = _cfg(**{"model.arch": "stylegan2", "model.z_dim": 32, "model.w_dim": 32, "loss.pl_weight": 2.0,
                  "loss.pl_interval": 2})
    st = TrainState(cfg, resolve_device(cfg.run), resolution=16, channels=3, train_size=16)
    seen = st.stats.attach(Window())
    reals = torch.rand(16, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    for _ in range(4):
        minibatch_step(st, reals)
    assert seen.count("pl_penalty") == 2 and seen.mean("pl_penalty") > 0   # Greg on minibatches 0 and 2
    assert seen.count("loss_G") == 4 and seen.count("r_t") == 4 * 16 + 16    # Dmain x4 + Dreg once (interval 16)
    rows = train(cfg, CollectingHooks())
    assert all(math.isfinite(r["pl_penalty"]) and r["pl_penalty"] > 0 for r in rows)


def test_a_reported_name_without_a_column_reaches_the_report_and_not_the_row(monkeypatch: pytest.MonkeyPatch) -> None:
    # the rule: names resultsformat declares `reported` become columns; any other name goes to TickReport.stats
    # (the trackers and the progress line), never silently nowhere and never into the Parquet rows
    import trainer.loop as loop_mod
    real = loop_mod.minibatch_step

    def step_reporting_more(state: Any, *args: Any) -> Any:
        out = real(state, *args)
        state.stats.report("example_stat", torch.tensor([1.0, 3.0]))   # two observations: mean 2
        return out
    monkeypatch.setattr(loop_mod, "minibatch_step", step_reporting_more)
    reports: list[TickReport] = []

    class Hooks(CollectingHooks):
        def on_tick(self, report: TickReport) -> None:
            reports.append(report)
            super().on_tick(report)
    rows = train(_cfg(), Hooks())
    assert all("example_stat" not in r for r in rows)                          # no column declared: not in the row
    assert [rep.stats["example_stat"] for rep in reports] == [2.0, 2.0, 2.0]   # ... but the trackers get it
    assert [rep.tracked()["example_stat"] for rep in reports] == [2.0, 2.0, 2.0]
    for rep in reports:   # the declared ones are the row's columns, the same numbers
        assert {k: rep.stats.get(k) for k in reported_names()} == {k: rep.row[k] for k in reported_names()}


def test_p_has_one_holder_stored_once_and_a_checkpoint_with_p_twice_still_loads() -> None:
    from trainer.d_inputs import Augmenter
    cfg = _cfg(**{"augment.mode": "ada", "augment.p": 0.2, "augment.ada_interval": 1, "augment.ada_kimg": 0.1})
    aug = Augmenter(cfg.augment, 16, torch.Generator(), torch.device("cpu"))
    assert aug.pipe.prob is aug.prob and aug.controller._p is aug.prob      # one object: the pipe draws with what moves
    aug.controller.observe(real_logits=torch.ones(16))                       # r_t 1 > target: up by 16 / 100
    aug.after_minibatch()
    assert aug.pipe.p == aug.controller.p == aug.p == pytest.approx(0.36)
    state = aug.state_dict()
    assert "p" not in state and state["controller"]["p"] == aug.p            # stored once
    older = {"p": aug.p, "controller": state["controller"]}                  # checkpoints so far: p twice, equal
    again = Augmenter(cfg.augment, 16, torch.Generator(), torch.device("cpu"))
    again.load_state_dict(older)
    assert again.pipe.p == again.p == aug.p and again.controller.state_dict() == state["controller"]
    aug.controller.load_state_dict({**state["controller"], "p": 7.0})        # clamped where p is held: [0, 1]
    assert aug.pipe.p == 1.0
    fixed = Augmenter(_cfg(**{"augment.mode": "fixed", "augment.p": 0.3}).augment, 16, torch.Generator(), torch.device("cpu"))
    assert fixed.state_dict() == {"p": 0.3, "controller": {}}
