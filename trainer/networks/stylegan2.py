"""A compact StyleGAN2 generator and residual discriminator (Karras et al. 2020, StyleGAN2 §2, §4; used by ADA, docs/papers.md §5).

Generator: mapping network (z normalised, `mapping_layers` FC layers with lr
multiplier 0.01) -> w, broadcast to every layer (no style mixing); synthesis
from a learned 4x4 constant through modulated/demodulated 3x3 convs with noise
inputs, doubling resolution per block (bilinear upsample + conv), with the
"skip" output architecture: every block adds its toRGB to the upsampled image.

Discriminator: the "resnet" architecture: fromRGB at full resolution, then per
block two 3x3 convs (the second after a 2x average-pool) plus a 1x1 skip, summed
with gain sqrt(1/2); an epilogue at 4x4 with minibatch std, a conv and two FC
layers producing one raw logit per image.

Widths: min(channel_base / res, channel_max), as in the reference configs.
No custom CUDA ops: plain PyTorch, so it runs (slowly) on CPU and under AMP.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from trainer.networks.layers import EqConv2d, EqLinear, ModConv, ToRGB, minibatch_std, reset_all

MAPPING_LR_MUL = 0.01


def channels_at(res: int, channel_base: int, channel_max: int) -> int:
    """Feature maps at resolution `res`."""
    return max(1, min(channel_base // res, channel_max))


def _block_resolutions(resolution: int) -> list[int]:
    return [2 ** i for i in range(2, int(math.log2(resolution)) + 1)]


class MappingNetwork(nn.Module):
    """z -> w through an MLP; z is normalised to unit second moment first (StyleGAN §2)."""

    def __init__(self, z_dim: int, w_dim: int, num_layers: int) -> None:
        super().__init__()
        dims = [z_dim] + [w_dim] * num_layers
        self.layers = nn.ModuleList(EqLinear(a, b, lr_mul=MAPPING_LR_MUL, activation=True) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = z * (z.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()
        for layer in self.layers:
            x = layer(x)
        return x


class SynthesisBlock(nn.Module):
    """One resolution of the synthesis network: (upsample) conv, conv, toRGB."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, img_channels: int, first: bool) -> None:
        super().__init__()
        self.first = first
        self.conv0 = None if first else ModConv(in_channels, out_channels, w_dim, up=True)
        self.conv1 = ModConv(out_channels, out_channels, w_dim)
        self.torgb = ToRGB(out_channels, img_channels, w_dim)

    @property
    def num_noise(self) -> int:
        return 1 if self.conv0 is None else 2

    def forward(self, x: torch.Tensor, img: torch.Tensor | None, w: torch.Tensor,
                noises: list[torch.Tensor], fused: bool) -> tuple[torch.Tensor, torch.Tensor]:
        if self.conv0 is not None:
            x = self.conv0(x, w, noises[0], fused)
        x = self.conv1(x, w, noises[-1], fused)
        rgb = self.torgb(x, w, fused)
        if img is not None:
            img = F.interpolate(img, scale_factor=2, mode="bilinear", align_corners=False)
            rgb = rgb + img
        return x, rgb


class StyleGAN2Generator(nn.Module):
    """G(z) -> images in roughly [-1, 1], NCHW."""

    def __init__(self, *, z_dim: int, w_dim: int, mapping_layers: int, resolution: int, img_channels: int,
                 channel_base: int, channel_max: int) -> None:
        super().__init__()
        self.z_dim, self.resolution, self.img_channels = z_dim, resolution, img_channels
        self.mapping = MappingNetwork(z_dim, w_dim, mapping_layers)
        ch = lambda r: channels_at(r, channel_base, channel_max)  # noqa: E731
        self.const = nn.Parameter(torch.empty(ch(4), 4, 4))
        self.blocks = nn.ModuleList(
            SynthesisBlock(ch(r // 2) if r > 4 else ch(4), ch(r), w_dim, img_channels, first=(r == 4))
            for r in _block_resolutions(resolution))

    def reset_parameters(self, generator: torch.Generator) -> None:
        reset_all(self, generator)
        with torch.no_grad():
            self.const.copy_(torch.randn(self.const.shape, generator=generator))

    @torch.compiler.disable
    def draw_noise(self, n: int, generator: torch.Generator | None, device: torch.device) -> list[torch.Tensor]:
        """Every synthesis layer's noise [n, 1, r, r], in layer order, from `generator`.

        Drawn eagerly, outside torch.compile: a seeded `torch.randn(generator=...)` is a graph
        break, and one inside every layer made dynamo recompile per layer until it gave up.
        """
        out = []
        for res, block in zip(_block_resolutions(self.resolution), self.blocks):
            out += [torch.randn((n, 1, res, res), generator=generator, device=device) for _ in range(block.num_noise)]
        return out

    def forward(self, z: torch.Tensor, noise_generator: torch.Generator | None = None) -> torch.Tensor:
        noises = self.draw_noise(z.shape[0], noise_generator, z.device)
        w = self.mapping(z)
        # Training uses the unfused form (ordinary convs); eval may use grouped convs (fewer kernel launches on GPU).
        fused = not self.training and z.is_cuda
        x = self.const.unsqueeze(0).expand(z.shape[0], -1, -1, -1)
        img = None
        i = 0
        for block in self.blocks:
            x, img = block(x, img, w, noises[i:i + block.num_noise], fused)
            i += block.num_noise
        return img


class DiscriminatorBlock(nn.Module):
    """Residual D block: two convs (second downsamples) + a 1x1 downsampling skip, summed with gain sqrt(1/2)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv0 = EqConv2d(in_channels, in_channels, 3)
        self.conv1 = EqConv2d(in_channels, out_channels, 3, down=True, gain=math.sqrt(0.5))
        self.skip = EqConv2d(in_channels, out_channels, 1, bias=False, activation=False, down=True, gain=math.sqrt(0.5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.skip(x) + self.conv1(self.conv0(x))


class StyleGAN2Discriminator(nn.Module):
    """D(x) -> raw logits [N] (no sigmoid: the loss uses softplus)."""

    def __init__(self, *, resolution: int, img_channels: int, channel_base: int, channel_max: int, mbstd_group: int) -> None:
        super().__init__()
        ch = lambda r: channels_at(r, channel_base, channel_max)  # noqa: E731
        self.mbstd_group = mbstd_group
        self.fromrgb = EqConv2d(img_channels, ch(resolution), 1)
        self.blocks = nn.ModuleList(DiscriminatorBlock(ch(r), ch(r // 2)) for r in reversed(_block_resolutions(resolution)) if r > 4)
        extra = 1 if mbstd_group > 0 else 0
        self.conv = EqConv2d(ch(4) + extra, ch(4), 3)
        self.fc = EqLinear(ch(4) * 16, ch(4), activation=True)
        self.out = EqLinear(ch(4), 1)

    def reset_parameters(self, generator: torch.Generator) -> None:
        reset_all(self, generator)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        x = self.fromrgb(img)
        for block in self.blocks:
            x = block(x)
        if self.mbstd_group > 0:
            x = minibatch_std(x, self.mbstd_group)
        x = self.conv(x)
        x = self.fc(x.flatten(1).float())
        return self.out(x).squeeze(1)
