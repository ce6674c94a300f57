"""The `paper` preset is ADA's paper256 configuration, number for number (docs/paper-config.md gives the sources)."""

from __future__ import annotations

import pytest
import torch

from trainer.config import apply_overrides, preset
from trainer.errors import UserInputError
from trainer.networks.stylegan2 import StyleGAN2Discriminator, StyleGAN2Generator, set_block_precision

# (dotted field, paper256 value) -- the table in docs/paper-config.md
PAPER256 = {
    "run.batch": 64,
    "run.total_kimg": 25_000.0,
    "model.arch": "stylegan2",
    "model.z_dim": 512,
    "model.w_dim": 512,
    "model.mapping_layers": 8,
    "model.channel_base": 16_384,       # fmaps 0.5 x 32768
    "model.channel_max": 512,
    "model.mbstd_group": 8,
    "model.amp_blocks": 4,              # num_fp16_res
    "model.conv_clamp": 256.0,          # conv_clamp (with fp16 on)
    "loss.g_lr": 0.0025,
    "loss.d_lr": 0.0025,
    "loss.beta1": 0.0,
    "loss.beta2": 0.99,
    "loss.r1_gamma": 1.0,
    "loss.r1_interval": 16,
    "loss.ema_kimg": 20.0,
    "loss.ema_rampup": None,            # ramp=None
    "loss.pl_weight": 2.0,
    "loss.pl_interval": 4,
    "loss.pl_batch_shrink": 2,
    "loss.pl_decay": 0.01,
    "loss.style_mixing": 0.9,
    "augment.mode": "ada",
    "augment.augpipe": "bgc",
    "augment.target": 0.6,   # ada_target unset resolves to the r_t target (trainer.config.augment)
    "augment.ada_interval": 4,
    "augment.ada_kimg": 500.0,
    "data.resolution": 256,
    "run.tick_kimg": 4.0,
}


def _get(cfg: object, dotted: str) -> object:
    for part in dotted.split("."):
        cfg = getattr(cfg, part)
    return cfg


def test_paper_preset_is_paper256_number_for_number() -> None:
    cfg = preset("paper")
    got = {k: _get(cfg, k) for k in PAPER256}
    assert got == PAPER256


def test_adam_eps_and_no_ema_rampup() -> None:
    # eps 1e-8 is fixed in trainer/state.py; paper256 has no EMA ramp-up (loss.ema_rampup None: the full half-life)
    from trainer.device import resolve_device
    from trainer.loss import update_ema
    from trainer.phases import ema_beta
    from trainer.state import TrainState
    cfg = apply_overrides(preset("paper"), {"data.resolution": 8, "model.channel_base": 64, "model.channel_max": 8,
                                            "run.device": "cpu", "run.batch": 8})
    st = TrainState(cfg, resolve_device(cfg.run), resolution=8, channels=3, train_size=8)
    assert st.opt_G.param_groups[0]["eps"] == 1e-8 and st.opt_D.param_groups[0]["eps"] == 1e-8
    assert cfg.loss.ema_rampup is None
    a, b = torch.nn.Linear(1, 1), torch.nn.Linear(1, 1)
    with torch.no_grad():
        a.weight.fill_(0.0)
        b.weight.fill_(1.0)
    update_ema(a, b, beta=ema_beta(64, cfg.loss.ema_kimg, cfg.loss.ema_rampup, 0))   # cur_nimg 0: a ramp-up would copy G
    assert a.weight.item() == pytest.approx(1 - 0.5 ** (64 / 20_000), rel=1e-5)   # float32 weights


def test_paper_networks_have_the_reference_parameter_counts() -> None:
    m = preset("paper").model
    with torch.device("meta"):     # shapes only: counting 49M parameters needs no memory or init
        G = StyleGAN2Generator(z_dim=m.z_dim, w_dim=m.w_dim, mapping_layers=m.mapping_layers, resolution=256,
                               img_channels=3, channel_base=m.channel_base, channel_max=m.channel_max)
        D = StyleGAN2Discriminator(resolution=256, img_channels=3, channel_base=m.channel_base,
                                   channel_max=m.channel_max, mbstd_group=m.mbstd_group)
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    assert (count(G), count(G.mapping), count(D)) == (24_767_458, 2_101_248, 24_001_089)
    assert G.num_ws == 14     # 13 convs + the last toRGB, the reference's layout at 256 px
    set_block_precision(G, D, torch.bfloat16, m.amp_blocks)
    assert [2 ** (i + 2) for i, b in enumerate(G.blocks) if b.amp_dtype == torch.bfloat16] == [32, 64, 128, 256]
    d_res = [256 // 2 ** i for i in range(len(D.blocks))]
    assert [r for r, b in zip(d_res, D.blocks) if b.amp_dtype == torch.bfloat16] == [256, 128, 64, 32]
    assert all(b.amp_dtype == torch.float32 for b in [*G.blocks[:3], *D.blocks[4:]])


@pytest.mark.parametrize("name", ["smoke", "tiny"])
def test_smoke_and_tiny_keep_the_stylegan2_regularisers_off(name: str) -> None:
    lc = preset(name).loss
    assert (lc.pl_weight, lc.style_mixing, preset(name).model.amp_blocks) == (0.0, 0.0, None)


def test_pl_and_style_mixing_need_stylegan2() -> None:
    for key in ("loss.pl_weight", "loss.style_mixing"):
        with pytest.raises(UserInputError, match=rf"{key} needs model\.arch=stylegan2"):
            apply_overrides(preset("smoke"), {key: 0.5})
    with pytest.raises(UserInputError, match="pl_batch_shrink"):
        apply_overrides(preset("paper"), {"run.batch": 2, "model.mbstd_group": 2, "loss.pl_batch_shrink": 4})


def test_every_sweeps_paper_dry_run_shows_the_paper256_values(tmp_path, capsys) -> None:
    from sweeps.catalog import SWEEPS
    from sweeps.launch import main
    for name in SWEEPS:
        rc = main([name, "--dry-run", "--scale", "paper", "--storage", str(tmp_path)])
        out, err = capsys.readouterr()
        # the table is printed first; then the FFHQ zip, absent here, is named and the exit code is 2
        assert rc == 2 and "ffhq256.zip" in err, (rc, err)
        title = out.splitlines()[0]
        for needle in ("model.mapping_layers=8", "model.mbstd_group=8", "model.amp_blocks=4", "loss.pl_weight=2",
                       "loss.style_mixing=0.9", "loss.r1_gamma=1 ", "loss.ema_kimg=20", "run.batch=64", "data.resolution=256"):
            assert needle in title, (name, needle, title)
