"""A compact StyleGAN2 generator and residual discriminator (Karras et al. 2020, StyleGAN2 §2, §4; used by ADA, docs/papers.md §5).

Generator: mapping network (z normalised, `mapping_layers` FC layers with lr
multiplier 0.01) -> w; synthesis from a learned 4x4 constant through
modulated/demodulated 3x3 convs with noise inputs, doubling resolution per
block (bilinear upsample + conv), with the "skip" output architecture: every
block adds its toRGB to the upsampled image.  Synthesis takes one w per layer
(`ws` [N, num_ws, w_dim], the reference's layout: each conv has its slot and a
block's toRGB shares the next block's first slot), so style mixing can hand
later layers to a second latent and path-length regularisation can take the
gradient per layer (trainer/mixing.py, trainer/path_length.py); `G(z)` simply
broadcasts one w to every slot.

Discriminator: the "resnet" architecture: fromRGB at full resolution, then per
block two 3x3 convs (the second after a 2x average-pool) plus a 1x1 skip, summed
with gain sqrt(1/2); an epilogue at 4x4 with minibatch std, a conv and two FC
layers producing one raw logit per image.

Widths: min(channel_base / res, channel_max), as in the reference configs.
No custom CUDA ops: plain PyTorch, so it runs (slowly) on CPU and under AMP.

Precision per block (`set_block_precision`): like the reference's
`num_fp16_res`, only the N highest-resolution blocks of G and D may run under
autocast, the others are forced to float32 (docs/paper-config.md says why the
reduced type is bf16 where the GPU has it).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from trainer.networks.layers import EqConv2d, EqLinear, ModConv, ToRGB, block_precision, minibatch_std, to_block_dtype, reset_all

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
        self.amp_dtype: torch.dtype | None = None   # set_block_precision: None = inherit the caller's autocast
        self.conv0 = None if first else ModConv(in_channels, out_channels, w_dim, up=True)
        self.conv1 = ModConv(out_channels, out_channels, w_dim)
        self.torgb = ToRGB(out_channels, img_channels, w_dim)

    @property
    def num_noise(self) -> int:
        return 1 if self.conv0 is None else 2

    def forward(self, x: torch.Tensor, img: torch.Tensor | None, ws: torch.Tensor,
                noises: list[torch.Tensor], fused: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """`ws` [N, num_noise + 1, w_dim]: one w per conv, then the toRGB's."""
        with block_precision(self.amp_dtype, x.device):
            x = to_block_dtype(self.amp_dtype, x)
            if self.conv0 is not None:
                x = self.conv0(x, ws[:, 0], noises[0], fused)
            x = self.conv1(x, ws[:, self.num_noise - 1], noises[-1], fused)
            rgb = self.torgb(x, ws[:, self.num_noise], fused)
            if img is not None:
                img = F.interpolate(to_block_dtype(self.amp_dtype, img), scale_factor=2, mode="bilinear", align_corners=False)
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
        self.num_ws = sum(b.num_noise for b in self.blocks) + 1   # one per conv, plus the last toRGB's

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

    def mapping_ws(self, z: torch.Tensor) -> torch.Tensor:
        """z [N, z_dim] -> ws [N, num_ws, w_dim]: the mapping's w in every layer's slot."""
        return self.mapping(z).unsqueeze(1).expand(-1, self.num_ws, -1)

    def synthesis(self, ws: torch.Tensor, noise_generator: torch.Generator | None = None,
                  noises: list[torch.Tensor] | None = None) -> torch.Tensor:
        """ws [N, num_ws, w_dim] -> images; block b reads its convs' slots and the next slot for its toRGB.

        `noises` (from `draw_noise`) may be passed in: drawing them before any traced op keeps a compiled
        G's synthesis one graph."""
        n = ws.shape[0]
        if noises is None:
            noises = self.draw_noise(n, noise_generator, ws.device)
        # Training uses the unfused form (ordinary convs); eval may use grouped convs (fewer kernel launches on GPU).
        fused = not self.training and ws.is_cuda
        x = self.const.unsqueeze(0).expand(n, -1, -1, -1)
        img = None
        i = 0
        for block in self.blocks:
            x, img = block(x, img, ws[:, i:i + block.num_noise + 1], noises[i:i + block.num_noise], fused)
            i += block.num_noise
        return img

    def forward(self, z: torch.Tensor, noise_generator: torch.Generator | None = None) -> torch.Tensor:
        noises = self.draw_noise(z.shape[0], noise_generator, z.device)
        return self.synthesis(self.mapping_ws(z), noises=noises)


class DiscriminatorBlock(nn.Module):
    """Residual D block: two convs (second downsamples) + a 1x1 downsampling skip, summed with gain sqrt(1/2)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.amp_dtype: torch.dtype | None = None   # set_block_precision: None = inherit the caller's autocast
        self.conv0 = EqConv2d(in_channels, in_channels, 3)
        self.conv1 = EqConv2d(in_channels, out_channels, 3, down=True, gain=math.sqrt(0.5))
        self.skip = EqConv2d(in_channels, out_channels, 1, bias=False, activation=False, down=True, gain=math.sqrt(0.5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with block_precision(self.amp_dtype, x.device):
            x = to_block_dtype(self.amp_dtype, x)
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
        # fromRGB belongs to the highest-resolution block, and shares its precision (as in the reference)
        first = self.blocks[0].amp_dtype if len(self.blocks) else None
        with block_precision(first, img.device):
            x = self.fromrgb(to_block_dtype(first, img))
        for block in self.blocks:
            x = block(x)
        if first is not None:
            x = x.float()   # the 4x4 epilogue runs in float32 whenever per-block precision is on
        if self.mbstd_group > 0:
            x = minibatch_std(x, self.mbstd_group)
        x = self.conv(x)
        x = self.fc(x.flatten(1).float())
        return self.out(x).squeeze(1)


def set_block_precision(G: nn.Module, D: nn.Module, amp_dtype: torch.dtype | None, amp_blocks: int) -> None:
    """Reduced precision (`amp_dtype`) in the `amp_blocks` highest-resolution blocks of G and D, float32 in the rest.

    The reference's mixed precision (ADA paper256: 4 blocks, i.e. 32..256 px at 256): the high-resolution
    blocks hold most of the FLOPs and gain most, while the low-resolution ones, where the activations are
    few and large, stay exact; like the reference, the 4x4 block never is reduced.  `amp_dtype` None
    sets every block to float32 (a CPU run or run.amp off).
    """
    lowest = max(G.resolution // 2 ** (amp_blocks - 1), 8) if amp_blocks > 0 else 2 * G.resolution
    g_res = _block_resolutions(G.resolution)
    d_res = [r for r in reversed(g_res) if r > 4]
    for blocks, resolutions in ((G.blocks, g_res), (D.blocks, d_res)):
        for block, res in zip(blocks, resolutions):
            block.amp_dtype = amp_dtype if (amp_dtype is not None and res >= lowest) else torch.float32
