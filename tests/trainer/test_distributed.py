"""run.workers=2 on CPU (gloo): two workers on half the batch each take the step one worker takes on the whole batch.

Tolerance: the workers' gradients are averaged in float32 (summation order differs from one worker's
batch mean) and Adam magnifies the rounding of near-zero gradients, so after 4 steps the two runs'
parameters differ by < 1e-3 of what training moved them (measured: 3e-5 for G, 2e-5 for D); workers that
step on their own half-batch gradients differ by 1.7e-2, per-worker BatchNorm statistics by 8e-3.  Equality needs
model.mbstd_group=0: minibatch-std groups stay within a worker (as in the reference), so with groups
the two D see different group statistics.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from fast_config import fast_overrides
from trainer.checkpoint import read_checkpoint
from trainer.config import apply_overrides, preset
from trainer.errors import UserInputError
from trainer.hooks import CollectingHooks
from trainer.networks import build_networks
from trainer.seeds import stream_seed
from trainer.spawn import train_workers


def _cfg(**extra: Any):
    base = {"run.batch": 64, "run.total_kimg": 0.256, "run.tick_kimg": 0.128, "run.checkpoint_ticks": 1,
            "model.mbstd_group": 0, "loss.r1_interval": 2}
    return apply_overrides(preset("smoke"), fast_overrides(**{**base, **extra}))


def _train(cfg, root: Path, **hooks_kw: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    hooks = CollectingHooks(checkpoint_dir=root, **hooks_kw)
    rows = train_workers(cfg, hooks)
    last = sorted(root.glob("tick*"))[-1]
    return rows, read_checkpoint(last)[1]


def _max_rel_diff(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k].double() - b[k].double()).abs().max() / (b[k].double().abs().max() + 1e-12))
               for k in a if a[k].is_floating_point())


def _norm(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    return sum(float((a[k].double() - b[k].double()).square().sum()) for k in a if a[k].is_floating_point()) ** 0.5


def _trained(cfg) -> dict[str, dict[str, torch.Tensor]]:
    G, D = build_networks(cfg.model, resolution=cfg.data.resolution, channels=3, seed=stream_seed(cfg.run.seed, "init"))
    return {"G": G.state_dict(), "D": D.state_dict()}


def test_two_workers_on_half_batches_match_one_worker_on_the_whole_batch(tmp_path: Path) -> None:
    rows1, one = _train(_cfg(), tmp_path / "one")
    rows2, two = _train(_cfg(**{"run.workers": 2}), tmp_path / "two")
    assert [r["kimg"] for r in rows2] == [r["kimg"] for r in rows1] == [0.128, 0.256]
    init = _trained(_cfg())
    for net in ("G", "D"):   # G's BatchNorm statistics are the whole batch's on both workers
        moved = _norm(one["nets"][net], init[net])
        assert moved > 0 and _norm(two["nets"][net], one["nets"][net]) < 1e-3 * moved, net
    assert _norm(two["nets"]["G_ema"], one["nets"]["G_ema"]) < 1e-3 * _norm(one["nets"]["G_ema"], init["G"])
    for key in ("loss_G", "loss_D", "r_t"):   # logged statistics are the whole batch's
        assert [r[key] for r in rows2] == pytest.approx([r[key] for r in rows1], rel=1e-4, abs=1e-6), key
    assert [r["img_per_s"] > 0 for r in rows2] == [True, True]
    assert len(two["ranks"]) == 2 and "ranks" not in one


def test_ada_p_is_the_gathered_statistics_and_resume_is_exact(tmp_path: Path) -> None:
    cfg = _cfg(**{"run.workers": 2, "run.total_kimg": 0.384, "augment.mode": "ada", "augment.ada_target": 0.1,
                  "augment.ada_interval": 1, "augment.ada_kimg": 1.0, "model.mbstd_group": 4})
    rows, full = _train(cfg, tmp_path / "full")
    assert [r["tick"] for r in rows] == [1, 2, 3]
    ps = [r["p"] for r in rows]
    assert ps[-1] > 0.1 and ps == sorted(ps)     # D is sure of the reals at once (r_t > 0.1): p climbs every minibatch
    # every worker's controller saw the gathered logits of the whole batch: one p, one r_t (a mean of mixed signs,
    # so each worker's own half would give another)
    controllers = [rank["augment"]["controller"] for rank in full["ranks"]]
    assert controllers[0] == controllers[1] and controllers[0]["p"] == pytest.approx(ps[-1])
    assert -1.0 < controllers[0]["r_t"] < 1.0
    _, first = _train(cfg, tmp_path / "part", stop_after_ticks=1)
    assert first["progress"]["tick"] == 1
    hooks = CollectingHooks(checkpoint_dir=tmp_path / "resumed")
    from trainer.spawn import train_workers as again
    resumed = again(cfg, hooks, resume=tmp_path / "part" / "tick000001")
    assert [r["tick"] for r in resumed] == [2, 3]
    for key in ("loss_G", "loss_D", "r_t", "p"):
        assert [r[key] for r in resumed] == [r[key] for r in rows[1:]], key
    end = read_checkpoint(tmp_path / "resumed" / "tick000003")[1]
    for net in ("G", "D", "G_ema"):
        assert _max_rel_diff(end["nets"][net], full["nets"][net]) == 0.0, net


def test_cli_refuses_a_batch_the_workers_cannot_split(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "trainer", "--preset", "smoke", "--set", "run.workers=3",
                          "--out", str(tmp_path / "r")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert "run.workers=3" in out.stderr and not (tmp_path / "r").exists()
    with pytest.raises(UserInputError, match="mbstd_group \\(4\\) does not divide the per-worker batch run.batch / run.workers = 6"):
        apply_overrides(preset("smoke"), {"run.batch": 12, "run.workers": 2})
