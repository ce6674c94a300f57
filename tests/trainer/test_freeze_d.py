"""Freeze-D (model.freeze_d): the first K layers of D get no updates and no optimiser state; the rest train."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from trainer.config import apply_overrides, d_layer_count, preset
from trainer.device import resolve_device
from trainer.errors import UserInputError
from trainer.freeze import d_layers
from trainer.networks import build_networks
from trainer.state import TrainState
from trainer.step import minibatch_step


def _cfg(arch: str, k: int):
    o = {"model.arch": arch, "model.freeze_d": k, "model.channel_base": 256, "model.channel_max": 16, "run.batch": 8,
         "augment.mode": "none", "loss.r1_interval": 2, "run.threads": 1}
    if arch == "stylegan2":
        o.update({"model.z_dim": 16, "model.w_dim": 16, "model.mapping_layers": 1})
    return apply_overrides(preset("smoke"), o)


@pytest.mark.parametrize("arch,res", [("dcgan", 16), ("dcgan", 32), ("stylegan2", 16), ("stylegan2", 32)])
def test_layer_count_matches_the_reference_rule(arch: str, res: int) -> None:
    # reference: fromRGB + conv0, conv1, skip per block for StyleGAN2 (16 px: 1 + 2 x 3 = 7); DCGAN one conv per block
    _, D = build_networks(_cfg(arch, 0).model, resolution=res, channels=3, seed=0)
    names = [n for n, _ in d_layers(D)]
    assert len(names) == d_layer_count(arch, res) == {"dcgan": {16: 2, 32: 3}, "stylegan2": {16: 7, 32: 10}}[arch][res]
    if arch == "stylegan2":
        assert names[:4] == [f"b{res}.fromrgb", f"b{res}.conv0", f"b{res}.conv1", f"b{res}.skip"]   # the reference's names


@pytest.mark.parametrize("arch,k", [("dcgan", 1), ("stylegan2", 4)])
def test_frozen_layers_stay_bitwise_and_the_rest_move(arch: str, k: int) -> None:
    cfg = _cfg(arch, k)
    st = TrainState(cfg, resolve_device(cfg.run), resolution=16, channels=3, train_size=16)
    layers = d_layers(st.D)
    frozen = {id(p) for _, m in layers[:k] for p in m.parameters(recurse=False)}
    before = {n: p.detach().clone() for n, p in st.D.named_parameters()}
    reals = torch.rand(8, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    for _ in range(4):   # includes R1 steps (r1_interval 2): gradients flow through frozen layers to the input
        minibatch_step(st, reals)
    for n, p in st.D.named_parameters():
        if id(p) in frozen:
            assert torch.equal(p, before[n]), n
            assert p.grad is None, n
        elif n.endswith("weight"):
            assert not torch.equal(p, before[n]), n
    held = {id(p) for g in st.opt_D.param_groups for p in g["params"]}
    assert held.isdisjoint(frozen) and len(held) == sum(1 for _ in st.D.parameters()) - len(frozen)
    assert all(id(p) not in frozen for p in st.opt_D.state)


def test_freeze_zero_trains_every_layer() -> None:
    cfg = _cfg("dcgan", 0)
    st = TrainState(cfg, resolve_device(cfg.run), resolution=16, channels=3, train_size=16)
    assert sum(len(g["params"]) for g in st.opt_D.param_groups) == sum(1 for _ in st.D.parameters())


def test_k_beyond_depth_is_refused_in_config() -> None:
    with pytest.raises(UserInputError, match=r"model.freeze_d=3 exceeds D's 2 layers"):
        _cfg("dcgan", 3)
    _cfg("stylegan2", 7)   # all 7 layers of the 16 px StyleGAN2 D may be frozen


def test_cli_k_beyond_depth_is_one_line_exit_2(tmp_path) -> None:
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "trainer", "--preset", "smoke", "--out", str(out), "--set", "model.freeze_d=9"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "model.freeze_d=9 exceeds D's 2 layers" in r.stderr
    assert not out.exists()
