"""Generator and discriminator construction from `ModelConfig` (StyleGAN2 as in ADA, or a DCGAN pair for CPU scales).

Both generators are called as `G(z, noise_generator=None)` and expose `z_dim`;
both discriminators return raw logits of shape [N].  Weights are initialised
from an explicit seed so two runs with the same `run.seed` start identical.
"""

from __future__ import annotations

import torch
from torch import nn

from trainer.config import ModelConfig
from trainer.networks.dcgan import DCGANDiscriminator, DCGANGenerator
from trainer.networks.stylegan2 import StyleGAN2Discriminator, StyleGAN2Generator, channels_at

__all__ = ["build_networks", "channels_at", "StyleGAN2Generator", "StyleGAN2Discriminator", "DCGANGenerator", "DCGANDiscriminator"]


def build_networks(cfg: ModelConfig, *, resolution: int, channels: int, seed: int) -> tuple[nn.Module, nn.Module]:
    """(G, D) for images of `resolution` px with `channels` channels, initialised from `seed` (CPU, float32)."""
    widths = dict(channel_base=cfg.channel_base, channel_max=cfg.channel_max)
    if cfg.arch == "stylegan2":
        G: nn.Module = StyleGAN2Generator(z_dim=cfg.z_dim, w_dim=cfg.w_dim, mapping_layers=cfg.mapping_layers,
                                          resolution=resolution, img_channels=channels, conv_clamp=cfg.conv_clamp, **widths)
        D: nn.Module = StyleGAN2Discriminator(resolution=resolution, img_channels=channels, mbstd_group=cfg.mbstd_group,
                                              conv_clamp=cfg.conv_clamp, **widths)
    else:
        G = DCGANGenerator(z_dim=cfg.z_dim, resolution=resolution, img_channels=channels, **widths)
        D = DCGANDiscriminator(resolution=resolution, img_channels=channels, mbstd_group=cfg.mbstd_group, **widths)
    gen = torch.Generator().manual_seed(seed)
    G.reset_parameters(gen)
    D.reset_parameters(gen)
    return G, D
