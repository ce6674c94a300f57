"""StyleGAN2 generator and residual discriminator as ADA's reference computes them (Karras et al. 2020, StyleGAN2 §2, §4; docs/papers.md §5).

Generator: the mapping network normalises z to unit second moment, runs
`mapping_layers` FC layers (lr multiplier 0.01, lrelu) to w, tracks the moving
average `w_avg` (beta 0.995) when asked to, and broadcasts w to one slot per
layer; truncation pulls the first `truncation_cutoff` slots towards `w_avg`.
Synthesis starts from a learned 4x4 constant; every block doubles the
resolution with a FIR-upsampling modulated 3x3 conv (trainer/networks/fir.py),
adds per-layer noise scaled by a learned strength, and in the "skip"
architecture adds its toRGB to the FIR-upsampled image of the block below.
Noise modes: "random" (fresh per call, drawn up front from a seeded generator),
"const" (each layer's stored `noise_const`) and "none".

Discriminator: the "resnet" architecture: fromRGB in the highest-resolution
block, then per block a 3x3 conv, a 3x3 conv with FIR downsampling and a 1x1
downsampling skip, summed with gain sqrt(1/2); an epilogue at 4x4 with
minibatch std (one channel), a conv and two FC layers giving one raw logit.

Module names follow the reference's state dict (`synthesis.b32.conv0.weight`,
`mapping.fc0.bias`, `b4.fc.weight`), so trainer/networks/reference_names.py
maps NVlabs weights onto these networks one to one; tests/trainer/
test_stylegan2_golden.py checks the outputs against the reference's.

Widths: min(channel_base / res, channel_max).  `conv_clamp` bounds every
conv's output (the reference uses 256 with fp16 on).  Plain PyTorch, no custom
CUDA ops.  Precision per block (`set_block_precision`): like the reference's
`num_fp16_res`, only the N highest-resolution blocks of G and D run under
autocast, the others in float32 (docs/paper-config.md says why the reduced type
is bf16 where the GPU has it); a reduced G block pre-normalises its modulated
convs as the reference does in fp16.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from trainer.errors import UserInputError
from trainer.networks.fir import fir_filter, upsample2d
from trainer.networks.layers import (EqConv2d, EqLinear, ModConv, ToRGB, block_precision, is_reduced, minibatch_std,
                                     reset_all, to_block_dtype)

MAPPING_LR_MUL = 0.01
W_AVG_BETA = 0.995       # the reference's decay of the tracked mean w (truncation's centre)
NOISE_MODES = ("random", "const", "none")


def channels_at(res: int, channel_base: int, channel_max: int) -> int:
    """Feature maps at resolution `res`."""
    return max(1, min(channel_base // res, channel_max))


def _block_resolutions(resolution: int) -> list[int]:
    return [2 ** i for i in range(2, int(math.log2(resolution)) + 1)]


class MappingNetwork(nn.Module):
    """z -> ws [N, num_ws, w_dim] through an MLP; z is normalised to unit second moment first (StyleGAN §2)."""

    def __init__(self, z_dim: int, w_dim: int, num_layers: int, num_ws: int) -> None:
        super().__init__()
        dims = [z_dim] + [w_dim] * num_layers
        self.num_layers, self.num_ws = num_layers, num_ws
        for idx, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
            setattr(self, f"fc{idx}", EqLinear(a, b, lr_mul=MAPPING_LR_MUL, activation=True))
        self.register_buffer("w_avg", torch.zeros(w_dim))

    @property
    def layers(self) -> list[EqLinear]:
        return [getattr(self, f"fc{idx}") for idx in range(self.num_layers)]

    def forward(self, z: torch.Tensor, truncation_psi: float = 1.0, truncation_cutoff: int | None = None,
                update_emas: bool = False) -> torch.Tensor:
        """ws for latents z; `update_emas` moves `w_avg` towards this batch's mean w (training G calls)."""
        z = z.float()
        x = z * (z.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()
        for layer in self.layers:
            x = layer(x)
        if update_emas:
            with torch.no_grad():
                self.w_avg.copy_(x.detach().mean(dim=0).lerp(self.w_avg, W_AVG_BETA))
        ws = x.unsqueeze(1).expand(-1, self.num_ws, -1)
        if truncation_psi != 1:
            cut = self.num_ws if truncation_cutoff is None else min(truncation_cutoff, self.num_ws)
            ws = torch.cat([self.w_avg.lerp(ws[:, :cut], truncation_psi), ws[:, cut:]], dim=1)
        return ws


class SynthesisBlock(nn.Module):
    """One resolution of the synthesis network: the constant (4x4) or an upsampling conv, a conv, toRGB."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, img_channels: int,
                 conv_clamp: float | None) -> None:
        super().__init__()
        self.first = in_channels == 0
        self.amp_dtype: torch.dtype | None = None   # set_block_precision: None = inherit the caller's autocast
        if self.first:
            self.const = nn.Parameter(torch.empty(out_channels, resolution, resolution))
        self.conv0 = None if self.first else ModConv(in_channels, out_channels, w_dim, resolution, up=True, conv_clamp=conv_clamp)
        self.conv1 = ModConv(out_channels, out_channels, w_dim, resolution, conv_clamp=conv_clamp)
        self.torgb = ToRGB(out_channels, img_channels, w_dim, conv_clamp=conv_clamp)
        self.register_buffer("resample_filter", fir_filter(), persistent=False)

    @property
    def num_conv(self) -> int:
        return 1 if self.first else 2

    num_noise = num_conv   # one noise input per conv

    @property
    def convs(self) -> list[ModConv]:
        return [self.conv1] if self.conv0 is None else [self.conv0, self.conv1]

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None, ws: torch.Tensor,
                noises: list[torch.Tensor | None], fused: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """`ws` [N, num_conv + 1, w_dim]: one w per conv, then the toRGB's; `img` stays float32."""
        device = ws.device
        with block_precision(self.amp_dtype, device):
            prenorm = is_reduced(self.amp_dtype, device)
            if x is None:
                x = self.const.unsqueeze(0).expand(ws.shape[0], -1, -1, -1)
            x = to_block_dtype(self.amp_dtype, x)
            for idx, (conv, noise) in enumerate(zip(self.convs, noises)):
                x = conv(x, ws[:, idx], noise, fused, prenorm)
            rgb = self.torgb(x, ws[:, self.num_conv], fused).float()
        if img is not None:
            rgb = upsample2d(img, self.resample_filter) + rgb
        return x, rgb


class SynthesisNetwork(nn.Module):
    """ws [N, num_ws, w_dim] -> images; block b reads its convs' slots and the next slot for its toRGB."""

    def __init__(self, *, w_dim: int, resolution: int, img_channels: int, channel_base: int, channel_max: int,
                 conv_clamp: float | None) -> None:
        super().__init__()
        self.resolution, self.w_dim = resolution, w_dim
        self.block_resolutions = _block_resolutions(resolution)
        ch = lambda r: channels_at(r, channel_base, channel_max)  # noqa: E731
        for res in self.block_resolutions:
            setattr(self, f"b{res}", SynthesisBlock(ch(res // 2) if res > 4 else 0, ch(res), w_dim, res, img_channels, conv_clamp))
        self.num_ws = sum(b.num_conv for b in self.blocks) + 1   # one per conv, plus the last toRGB's

    @property
    def blocks(self) -> list[SynthesisBlock]:
        return [getattr(self, f"b{res}") for res in self.block_resolutions]

    @torch.compiler.disable
    def draw_noise(self, n: int, generator: torch.Generator | None, device: torch.device) -> list[torch.Tensor]:
        """Every synthesis layer's noise [n, 1, r, r], in layer order, from `generator`.

        Drawn eagerly, outside torch.compile: a seeded `torch.randn(generator=...)` is a graph
        break, and one inside every layer made dynamo recompile per layer until it gave up.
        """
        out = []
        for res, block in zip(self.block_resolutions, self.blocks):
            out += [torch.randn((n, 1, res, res), generator=generator, device=device) for _ in range(block.num_conv)]
        return out

    def forward(self, ws: torch.Tensor, noise_generator: torch.Generator | None = None,
                noises: list[torch.Tensor] | None = None, *, noise_mode: str = "random") -> torch.Tensor:
        """`noises` (from `draw_noise`) may be passed in: drawing them before any traced op keeps a compiled
        G's synthesis one graph.  noise_mode "const" uses the stored noise images, "none" adds no noise."""
        if noise_mode not in NOISE_MODES:
            raise UserInputError(f"noise_mode {noise_mode!r} is not one of {', '.join(NOISE_MODES)}")
        ws = ws.float()
        layers = [conv for block in self.blocks for conv in block.convs]
        if noise_mode == "const":
            noises = [conv.noise_const for conv in layers]
        elif noise_mode == "none":
            noises = [None] * len(layers)
        elif noises is None:
            noises = self.draw_noise(ws.shape[0], noise_generator, ws.device)
        # Training uses the unfused form (ordinary convs); eval may use grouped convs (fewer kernel launches on GPU).
        fused = not self.training and ws.is_cuda
        x = img = None
        i = 0
        for block in self.blocks:
            x, img = block(x, img, ws[:, i:i + block.num_conv + 1], noises[i:i + block.num_conv], fused)
            i += block.num_conv
        return img


class StyleGAN2Generator(nn.Module):
    """G(z) -> images in roughly [-1, 1], NCHW; `G.mapping` and `G.synthesis` are its two halves."""

    def __init__(self, *, z_dim: int, w_dim: int, mapping_layers: int, resolution: int, img_channels: int,
                 channel_base: int, channel_max: int, conv_clamp: float | None = None) -> None:
        super().__init__()
        self.z_dim, self.w_dim, self.resolution, self.img_channels = z_dim, w_dim, resolution, img_channels
        self.synthesis = SynthesisNetwork(w_dim=w_dim, resolution=resolution, img_channels=img_channels,
                                          channel_base=channel_base, channel_max=channel_max, conv_clamp=conv_clamp)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(z_dim, w_dim, mapping_layers, self.num_ws)

    @property
    def blocks(self) -> list[SynthesisBlock]:
        return self.synthesis.blocks

    def reset_parameters(self, generator: torch.Generator) -> None:
        reset_all(self, generator)
        with torch.no_grad():
            const = self.synthesis.blocks[0].const
            const.copy_(torch.randn(const.shape, generator=generator))
            self.mapping.w_avg.zero_()

    def draw_noise(self, n: int, generator: torch.Generator | None, device: torch.device) -> list[torch.Tensor]:
        return self.synthesis.draw_noise(n, generator, device)

    def mapping_ws(self, z: torch.Tensor, update_emas: bool = False) -> torch.Tensor:
        """z [N, z_dim] -> ws [N, num_ws, w_dim]: the mapping's w in every layer's slot, untruncated."""
        return self.mapping(z, update_emas=update_emas)

    def forward(self, z: torch.Tensor, noise_generator: torch.Generator | None = None, *, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, noise_mode: str = "random", update_emas: bool = False) -> torch.Tensor:
        noises = self.draw_noise(z.shape[0], noise_generator, z.device) if noise_mode == "random" else None
        ws = self.mapping(z, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff, update_emas=update_emas)
        return self.synthesis(ws, noises=noises, noise_mode=noise_mode)


class DiscriminatorBlock(nn.Module):
    """Residual D block: (fromRGB,) conv, FIR-downsampling conv, plus a 1x1 downsampling skip, summed with gain sqrt(1/2)."""

    def __init__(self, in_channels: int, tmp_channels: int, out_channels: int, img_channels: int,
                 conv_clamp: float | None) -> None:
        super().__init__()
        self.amp_dtype: torch.dtype | None = None   # set_block_precision: None = inherit the caller's autocast
        if in_channels == 0:
            self.fromrgb = EqConv2d(img_channels, tmp_channels, 1, conv_clamp=conv_clamp)
        self.conv0 = EqConv2d(tmp_channels, tmp_channels, 3, conv_clamp=conv_clamp)
        self.conv1 = EqConv2d(tmp_channels, out_channels, 3, down=True, gain=math.sqrt(0.5), conv_clamp=conv_clamp)
        self.skip = EqConv2d(tmp_channels, out_channels, 1, bias=False, activation=False, down=True, gain=math.sqrt(0.5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: features, or the image for the first block."""
        with block_precision(self.amp_dtype, x.device):
            x = to_block_dtype(self.amp_dtype, x)
            if hasattr(self, "fromrgb"):
                x = self.fromrgb(x)
            return self.skip(x) + self.conv1(self.conv0(x))


class DiscriminatorEpilogue(nn.Module):
    """The 4x4 end of D, always float32: minibatch std, a conv, an FC layer and the output FC."""

    def __init__(self, channels: int, mbstd_group: int, conv_clamp: float | None) -> None:
        super().__init__()
        self.mbstd_group = mbstd_group
        extra = 1 if mbstd_group > 0 else 0
        self.conv = EqConv2d(channels + extra, channels, 3, conv_clamp=conv_clamp)
        self.fc = EqLinear(channels * 16, channels, activation=True)
        self.out = EqLinear(channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mbstd_group > 0:
            x = minibatch_std(x, self.mbstd_group)
        x = self.conv(x)
        x = self.fc(x.flatten(1).float())
        return self.out(x).squeeze(1)


class StyleGAN2Discriminator(nn.Module):
    """D(x) -> raw logits [N] (no sigmoid: the loss uses softplus)."""

    def __init__(self, *, resolution: int, img_channels: int, channel_base: int, channel_max: int, mbstd_group: int,
                 conv_clamp: float | None = None) -> None:
        super().__init__()
        ch = lambda r: channels_at(r, channel_base, channel_max)  # noqa: E731
        self.resolution, self.mbstd_group = resolution, mbstd_group
        self.block_resolutions = [r for r in reversed(_block_resolutions(resolution)) if r > 4]
        for res in self.block_resolutions:
            setattr(self, f"b{res}", DiscriminatorBlock(0 if res == resolution else ch(res), ch(res), ch(res // 2),
                                                        img_channels, conv_clamp))
        self.b4 = DiscriminatorEpilogue(ch(4), mbstd_group, conv_clamp)

    @property
    def blocks(self) -> list[DiscriminatorBlock]:
        return [getattr(self, f"b{res}") for res in self.block_resolutions]

    @property
    def fromrgb(self) -> EqConv2d:
        return self.blocks[0].fromrgb

    def reset_parameters(self, generator: torch.Generator) -> None:
        reset_all(self, generator)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        x = img
        for block in self.blocks:
            x = block(x)
        if self.blocks and self.blocks[0].amp_dtype is not None:
            x = x.float()   # the 4x4 epilogue runs in float32 whenever per-block precision is on
        return self.b4(x)


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
