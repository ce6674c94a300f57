"""Per-block mixed precision (the reference's num_fp16_res + conv_clamp), checked on CPU with bf16 autocast."""

from __future__ import annotations

import torch

from trainer.config import apply_overrides, preset
from trainer.device import DeviceSetup
from trainer.networks.layers import CONV_CLAMP
from trainer.state import TrainState
from trainer.step import minibatch_step

STEPS = 4
# bf16 keeps 8 bits of mantissa (relative error ~4e-3 per element); over the 4 steps of this seeded run the losses
# (0.3-2.2) differ from float32 by at most 0.0025 (measured); 0.02 leaves room across CPUs and torch builds.
LOSS_TOL = 0.02


def _cfg():
    # paper's model and loss (8 mapping layers, PL, style mixing, R1, ADA) at 16 px and small widths; the highest
    # resolution (16 px) reduced in G and D, 4 and 8 px in float32 (paper256: 32..256 px reduced, 4..16 px float32)
    return apply_overrides(preset("paper"), {
        "data.resolution": 16, "model.channel_base": 256, "model.channel_max": 32, "model.z_dim": 32, "model.w_dim": 32,
        "model.amp_blocks": 1, "run.batch": 16, "run.device": "cpu", "loss.pl_interval": 2, "loss.r1_interval": 2,
        "augment.p": 0.3})


def _run(amp_dtype: torch.dtype | None) -> tuple[TrainState, list[tuple[float, float]], dict[str, torch.dtype]]:
    st = TrainState(_cfg(), DeviceSetup(torch.device("cpu"), amp_dtype, False), resolution=16, channels=3, train_size=16)
    dtypes: dict[str, torch.dtype] = {}
    for name, mod in [("G_low", st.G.blocks[0].conv1), ("G_high", st.G.blocks[-1].conv1),
                      ("D_high", st.D.blocks[0].conv0), ("D_low", st.D.blocks[-1].conv0)]:
        mod.register_forward_hook(lambda m, i, o, name=name: None if dtypes.setdefault(name, o.dtype) else None)
    reals = torch.rand(16, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    losses = []
    for _ in range(STEPS):
        d, g = minibatch_step(st, reals)
        losses.append((float(d.loss_D), float(g)))
    return st, losses, dtypes


def test_bf16_blocks_train_close_to_float32_with_the_rest_in_float32() -> None:
    st16, low, dtypes = _run(torch.bfloat16)
    st32, full, dtypes32 = _run(None)
    assert dtypes == {"G_low": torch.float32, "G_high": torch.bfloat16, "D_high": torch.bfloat16, "D_low": torch.float32}
    assert set(dtypes32.values()) == {torch.float32}
    assert all(torch.isfinite(torch.tensor(pair)).all() for pair in low)
    for (d16, g16), (d32, g32) in zip(low, full):
        assert abs(d16 - d32) < LOSS_TOL and abs(g16 - g32) < LOSS_TOL, (low, full)
    assert low != full                      # the reduced blocks really ran in bf16
    assert float(st16.pl_mean) > 0 and abs(float(st16.pl_mean) - float(st32.pl_mean)) < 0.05 * float(st32.pl_mean)


def test_activations_are_clamped_in_the_reduced_blocks() -> None:
    st = TrainState(_cfg(), DeviceSetup(torch.device("cpu"), torch.bfloat16, False), resolution=16, channels=3, train_size=16)
    seen = []
    st.D.fromrgb.register_forward_hook(lambda m, i, o: seen.append(o))     # append returns None: output kept
    with torch.no_grad():
        logits = st.D(torch.full((16, 3, 16, 16), 1e6))     # would overflow fp16 without the clamp
    assert seen[0].dtype == torch.bfloat16 and float(seen[0].abs().max()) <= CONV_CLAMP
    assert torch.isfinite(logits).all()
