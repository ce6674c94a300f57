"""The training loop: tick rows, determinism, resume continuity, divergence, augmentation modes, ADA's p."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from fast_config import DESIGN_COLUMNS, fast_overrides

import trainer.d_inputs as augmenter_mod
import trainer.step as step_mod
from trainer.checkpoint import STATE_FILE
from trainer.config import apply_overrides, preset
from trainer.errors import UserInputError
from trainer.hooks import CollectingHooks
from trainer.loop import TrainingDiverged, train

def _cfg(**extra: Any):
    return apply_overrides(preset("smoke"), fast_overrides(**extra))


def _run(cfg, **hooks_kw: Any) -> tuple[list[dict[str, Any]], CollectingHooks]:
    hooks = CollectingHooks(**hooks_kw)
    return train(cfg, hooks), hooks


def test_rows_have_design_columns_and_metrics_on_last_tick() -> None:
    rows, hooks = _run(_cfg())
    assert [r["tick"] for r in rows] == [1, 2, 3] and hooks.rows == rows
    for r in rows:
        assert set(r) == set(DESIGN_COLUMNS)     # exactly the declared columns: nothing undeclared
        assert r["scale"] == "smoke" and r["dataset_size"] == 200 and r["aug_mode"] == "none"
        assert r["p"] is None and -1 <= r["r_t"] <= 1
    assert rows[0]["fid"] is None and rows[1]["fid"] is None       # every_ticks=1000: only the last tick measures
    assert rows[-1]["fid"] is not None and rows[-1]["detector"] is not None
    assert rows[-1]["kimg"] >= 0.384 and rows[0]["kimg"] >= 0.128
    assert len(hooks.samples) == 1 and hooks.samples[0].shape == (32, 32, 3) and hooks.samples[0].dtype.name == "uint8"


def test_same_seed_same_losses_other_seed_differs() -> None:
    a, _ = _run(_cfg())
    b, _ = _run(_cfg())
    c, _ = _run(_cfg(**{"run.seed": 1}))
    key = [(r["loss_G"], r["loss_D"], r["loss_r1"], r["r_t"]) for r in a]
    assert key == [(r["loss_G"], r["loss_D"], r["loss_r1"], r["r_t"]) for r in b]
    assert [r["loss_G"] for r in a] != [r["loss_G"] for r in c]


@pytest.mark.parametrize(("mode", "arch"), [("fixed", "dcgan"), ("ada", "dcgan"), ("diffaugment", "stylegan2")])
def test_resume_continues_exactly(tmp_path: Path, mode: str, arch: str) -> None:
    # stylegan2 also exercises the synthesis-noise stream and lazy R1 across the checkpoint
    per_mode = {"fixed": {"augment.p": 0.3}, "ada": {"augment.p": 0.3, "augment.ada_kimg": 2.0}, "diffaugment": {}}[mode]
    cfg = _cfg(**{"run.checkpoint_ticks": 1, "augment.mode": mode, **per_mode,
                  "model.arch": arch, "model.z_dim": 32, "model.w_dim": 32, "loss.r1_interval": 4})
    full, hooks = _run(cfg, checkpoint_dir=tmp_path)
    ckpt = tmp_path / "tick000002"
    state = torch.load(ckpt / STATE_FILE, weights_only=True)            # no pickled code in a checkpoint
    assert state["progress"]["tick"] == 2 and "G_ema" in state["nets"] and state["opt_D"]["state"]
    resumed = train(cfg, CollectingHooks(), resume=ckpt)
    assert [r["tick"] for r in resumed] == [3]
    for k in ("loss_G", "loss_D", "loss_r1", "r_t", "p", "kimg", "fid"):
        assert resumed[0][k] == full[2][k], k


def test_resume_refuses_changed_config_but_allows_longer_run(tmp_path: Path) -> None:
    cfg = _cfg(**{"run.checkpoint_ticks": 1})
    _run(cfg, checkpoint_dir=tmp_path, stop_after_ticks=1)
    with pytest.raises(UserInputError, match=r"loss\.g_lr"):
        train(apply_overrides(cfg, {"loss.g_lr": 0.001}), CollectingHooks(), resume=tmp_path / "tick000001")
    rows = train(apply_overrides(cfg, {"run.total_kimg": 0.512}), CollectingHooks(), resume=tmp_path / "tick000001")
    assert [r["tick"] for r in rows] == [2, 3, 4]


def test_should_stop_returns_early_cleanly() -> None:
    rows, hooks = _run(_cfg(), stop_after_ticks=1)
    assert len(rows) == 1 and len(hooks.rows) == 1


def test_nan_loss_raises_training_diverged_naming_tick_and_kimg(monkeypatch: pytest.MonkeyPatch) -> None:
    real = step_mod.g_step_loss
    calls = {"n": 0}

    def poisoned(*args: Any, **kw: Any) -> torch.Tensor:
        calls["n"] += 1
        out = real(*args, **kw)
        return out * float("nan") if calls["n"] == 12 else out    # step 12 of batch 16 = tick 2
    monkeypatch.setattr(step_mod, "g_step_loss", poisoned)
    with pytest.raises(TrainingDiverged, match=r"loss_G became nan during tick 2 at kimg 0\.192"):
        train(_cfg(), CollectingHooks())


def test_mode_none_never_builds_or_runs_augmentation(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    monkeypatch.setattr(augmenter_mod, "_make_pipe", lambda spec, p: built.append(spec))
    monkeypatch.setattr(augmenter_mod.Augmenter, "__call__", lambda self, x: pytest.fail("augmentation ran in mode none"))
    rows, _ = _run(_cfg(**{"augment.mode": "none"}))
    assert built == [] and all(r["p"] is None for r in rows)


def test_fixed_p_stays_put() -> None:
    rows, _ = _run(_cfg(**{"augment.mode": "fixed", "augment.p": 0.35}))
    assert [r["p"] for r in rows] == [0.35] * 3 and rows[0]["p_fixed"] == 0.35


def test_ada_rv_heuristic_probes_validation_reals() -> None:
    rows, _ = _run(_cfg(**{"augment.mode": "ada", "augment.heuristic": "rv", "augment.ada_interval": 1,
                           "run.batch": 64, "run.total_kimg": 1.024, "run.tick_kimg": 0.512}))
    # one meaning per column: the controller's pooled probe is r_v_ctrl (formed once 1024 probe logits per set are in:
    # 16 probes of 64, after the second tick's last minibatch); r_v is the metric suite's, null off metric ticks
    assert rows[0]["fid"] is None and rows[0]["r_v_ctrl"] is None and rows[0]["r_v"] is None
    assert rows[-1]["fid"] is not None and rows[-1]["r_v_ctrl"] is not None
    assert rows[0]["heuristic"] == "rv" and all(r["p"] is not None for r in rows)
    with pytest.raises(UserInputError, match="val_size"):
        train(_cfg(**{"augment.mode": "ada", "augment.heuristic": "rv", "data.val_size": 0}), CollectingHooks())


@pytest.mark.e2e
def test_ada_raises_p_on_a_small_dataset() -> None:
    # 200 images and a fresh G: D separates its reals confidently (r_t > target), so p must climb at
    # ADA's rate: batch * interval / (ada_kimg * 1000) per update, i.e. at most 0.8/20 = 0.04 per 0.8-kimg tick.
    cfg = _cfg(**{"augment.mode": "ada", "augment.ada_kimg": 20.0, "augment.ada_target": 0.6, "data.dataset_size": 200,
                  "model.channel_base": 1024, "model.channel_max": 64, "run.batch": 32,
                  "run.total_kimg": 1.6, "run.tick_kimg": 0.8})
    rows, _ = _run(cfg)
    ps, rts = [r["p"] for r in rows], [r["r_t"] for r in rows]
    assert rts[0] > 0.6 and 0 < ps[0] < ps[1], (ps, rts)
    assert 0.05 < ps[1] <= 0.08 + 1e-9, ps


@pytest.mark.e2e
def test_smoke_fid_falls_below_60_percent_of_first() -> None:
    # The smoke preset's model, data and optimiser (offline detector: auto on procedural data), with finer ticks
    # so the first FID is taken early; seeded, so the curve is reproducible on CPU.
    cfg = apply_overrides(preset("smoke"), {"run.total_kimg": 10.0, "run.tick_kimg": 2.0, "metrics.leakage": [],
                                            "metrics.kid": False, "metrics.fid_samples": 500, "metrics.sample_grid": 0})
    rows, _ = _run(cfg)
    fids = [r["fid"] for r in rows]
    assert rows[0]["detector"].startswith("offline"), rows[0]["detector"]
    assert fids[-1] < 0.6 * fids[0], fids


def test_optimisers_use_the_configured_learning_rates_and_betas() -> None:
    # R1 is D's own lazy phase every 16 minibatches: D's Adam is rescaled by 16/17 (trainer/phases.py); the smoke
    # G has no path-length regulariser, so its Adam keeps the configured values
    from trainer.device import resolve_device
    from trainer.state import TrainState
    cfg = _cfg(**{"loss.d_lr": 0.003, "loss.g_lr": 0.001, "loss.beta1": 0.5, "loss.beta2": 0.99, "loss.r1_interval": 16,
                  "loss.r1_gamma": 1.0})
    st = TrainState(cfg, resolve_device(cfg.run), resolution=16, channels=3, train_size=8)
    (gd,), (gg,) = st.opt_D.param_groups, st.opt_G.param_groups
    assert (gd["lr"], gd["betas"]) == (0.003 * 16 / 17, (0.5 ** (16 / 17), 0.99 ** (16 / 17)))
    assert (gg["lr"], gg["betas"]) == (0.001, (0.5, 0.99))
