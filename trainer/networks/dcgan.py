"""A classic balanced DCGAN pair (Radford et al. 2016) for the CPU scales (docs/architecture.md "Scales").

G: z -> linear -> 4x4 map -> stride-2 transposed convs (BatchNorm + ReLU) -> the
last transposed conv emits the image, tanh.  D mirrors it: stride-2 4x4 convs
with LeakyReLU(0.2), optional minibatch std at 4x4, then one 4x4 conv to a logit.

D has no BatchNorm on purpose: BN couples the samples of a batch, which breaks
R1 (the gradient of one image's logit depends on the others) and lets D tell
augmented-real batches from fake batches by their statistics.
Widths follow the StyleGAN2 rule min(channel_base / res, channel_max), so one
pair of config fields means the same thing for both architectures.
Initial weights: N(0, 0.02) as in the DCGAN paper, BN scale N(1, 0.02), drawn
from an explicit generator.
"""

from __future__ import annotations

import torch
from torch import nn

from trainer.networks.layers import minibatch_std
from trainer.networks.stylegan2 import channels_at


def _dcgan_init(module: nn.Module, generator: torch.Generator) -> None:
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                m.weight.copy_(torch.randn(m.weight.shape, generator=generator) * 0.02)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(1.0 + 0.02 * torch.randn(m.weight.shape, generator=generator))
                m.bias.zero_()
                m.reset_running_stats()


class DCGANGenerator(nn.Module):
    """G(z) -> images in [-1, 1] (tanh), NCHW."""

    def __init__(self, *, z_dim: int, resolution: int, img_channels: int, channel_base: int, channel_max: int) -> None:
        super().__init__()
        self.z_dim, self.resolution, self.img_channels = z_dim, resolution, img_channels
        ch = lambda r: channels_at(r, channel_base, channel_max)  # noqa: E731
        self.project = nn.Linear(z_dim, ch(4) * 16, bias=False)
        self.bn0 = nn.BatchNorm2d(ch(4))
        layers: list[nn.Module] = []
        res = 4
        while res * 2 < resolution:
            layers += [nn.ConvTranspose2d(ch(res), ch(res * 2), 4, 2, 1, bias=False), nn.BatchNorm2d(ch(res * 2)), nn.ReLU()]
            res *= 2
        layers += [nn.ConvTranspose2d(ch(res), img_channels, 4, 2, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)
        self._c4 = ch(4)

    def reset_parameters(self, generator: torch.Generator) -> None:
        _dcgan_init(self, generator)

    def forward(self, z: torch.Tensor, noise_generator: torch.Generator | None = None) -> torch.Tensor:
        x = self.project(z).reshape(z.shape[0], self._c4, 4, 4)
        return self.body(torch.relu(self.bn0(x)))


class DCGANDiscriminator(nn.Module):
    """D(x) -> raw logits [N]; strided convs with LeakyReLU, no BatchNorm."""

    def __init__(self, *, resolution: int, img_channels: int, channel_base: int, channel_max: int, mbstd_group: int) -> None:
        super().__init__()
        ch = lambda r: channels_at(r, channel_base, channel_max)  # noqa: E731
        layers: list[nn.Module] = []
        c_in, res = img_channels, resolution
        while res > 4:
            layers += [nn.Conv2d(c_in, ch(res // 2), 4, 2, 1), nn.LeakyReLU(0.2)]
            c_in, res = ch(res // 2), res // 2
        self.body = nn.Sequential(*layers)
        self.mbstd_group = mbstd_group
        self.head = nn.Conv2d(c_in + (1 if mbstd_group > 0 else 0), 1, 4, 1, 0)

    def reset_parameters(self, generator: torch.Generator) -> None:
        _dcgan_init(self, generator)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        x = self.body(img)
        if self.mbstd_group > 0:
            x = minibatch_std(x, self.mbstd_group)
        return self.head(x).flatten()

