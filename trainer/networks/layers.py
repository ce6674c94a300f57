"""Equalised-learning-rate building blocks of StyleGAN2 (Karras et al. 2020, "Analyzing and Improving...", §2.2, App. B).

Why equalised learning rate: Adam normalises updates per parameter, so the
effective step of a weight is relative to its scale.  Storing every weight as
N(0, 1) / lr_mul and multiplying by lr_mul / sqrt(fan_in) at run time gives
all layers the same dynamic range and the same learning speed; the mapping
network uses lr_mul = 0.01 so its updates are 100x slower (StyleGAN §B).

Modulated convolution (StyleGAN2 §2.2): scale the input channels by the style,
convolve, then divide each output channel by the norm the modulated weights
would have (demodulation), which replaces AdaIN without its droplet artefacts.
Two equivalent formulations: `fused=True` builds per-sample weights and runs one
grouped convolution; `fused=False` scales activations before and after an
ordinary convolution (cheaper and friendlier to channels_last / AMP; used for
training, as in the reference).  A test checks they agree.

All layers initialise from an explicit `torch.Generator` (`reset_parameters`),
so a run's initial weights depend on the run seed only, never on global RNG.
"""

from __future__ import annotations

import math
from contextlib import AbstractContextManager, nullcontext

import torch
import torch.nn.functional as F
from torch import nn

from trainer.networks.fir import conv2d_down, conv2d_up, fir_filter

LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2.0)   # keeps activations' second moment under lrelu (He et al.)
CONV_CLAMP = 256.0            # the reference's conv clamp with fp16 on (ADA's paper256): bounds activations so fp16 cannot overflow


def lrelu_act(x: torch.Tensor, gain: float = LRELU_GAIN, clamp: float | None = CONV_CLAMP) -> torch.Tensor:
    """Leaky ReLU with StyleGAN's gain; optional clamp for mixed precision."""
    x = F.leaky_relu(x, LRELU_SLOPE) * gain
    return x.clamp(-clamp, clamp) if clamp is not None else x


class EqLinear(nn.Module):
    """Fully connected layer with equalised learning rate and a learning-rate multiplier."""

    def __init__(self, in_features: int, out_features: int, *, bias_init: float = 0.0,
                 lr_mul: float = 1.0, activation: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features))
        self.bias_init, self.lr_mul, self.activation = bias_init, lr_mul, activation
        self.weight_gain = lr_mul / math.sqrt(in_features)

    def reset_parameters(self, generator: torch.Generator) -> None:
        with torch.no_grad():
            self.weight.copy_(torch.randn(self.weight.shape, generator=generator) / self.lr_mul)
            self.bias.fill_(self.bias_init / self.lr_mul)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.weight * self.weight_gain, self.bias * self.lr_mul)
        return lrelu_act(x, clamp=None) if self.activation else x


class EqConv2d(nn.Module):
    """Plain (unmodulated) convolution with equalised learning rate and optional FIR downsampling; used by D.

    `gain` scales the activation (sqrt(1/2) on the two branches of a residual block) and, with it, the clamp.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int, *, bias: bool = True,
                 activation: bool = True, down: bool = False, gain: float = 1.0, conv_clamp: float | None = None) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel, kernel))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel * kernel)
        self.activation, self.down, self.gain, self.padding = activation, down, gain, kernel // 2
        self.conv_clamp = conv_clamp
        self.register_buffer("resample_filter", fir_filter(), persistent=False)

    def reset_parameters(self, generator: torch.Generator) -> None:
        with torch.no_grad():
            self.weight.copy_(torch.randn(self.weight.shape, generator=generator))
            if self.bias is not None:
                self.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = (self.weight * self.weight_gain).to(x.dtype)
        if self.down:
            x = conv2d_down(x, w, self.resample_filter)
        else:
            x = F.conv2d(x, w, padding=self.padding)
        if self.bias is not None:
            x = x + self.bias.to(x.dtype).reshape(1, -1, 1, 1)
        clamp = self.conv_clamp * self.gain if self.conv_clamp is not None else None
        if self.activation:
            return lrelu_act(x, gain=LRELU_GAIN * self.gain, clamp=clamp)
        x = x * self.gain if self.gain != 1.0 else x
        return x.clamp(-clamp, clamp) if clamp is not None else x


def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, *, demodulate: bool = True,
                     padding: int = 0, fused: bool = False, up: bool = False, resample_filter: torch.Tensor | None = None,
                     prenorm: bool = False) -> torch.Tensor:
    """Convolve x [N,I,H,W] with weight [O,I,k,k] modulated per sample by styles [N,I] (optionally 2x FIR-upsampled).

    Demodulation divides output channel o of sample n by
    sqrt(sum_{i,k} (w[o,i,k] * s[n,i])^2), so output activations have unit
    second moment whatever the style's magnitude.  `prenorm` (a block in reduced
    precision) first scales the weights by 1 / (sqrt(fan_in) max|w|) per output
    channel and the styles by 1 / max|s| per sample, as the reference does in
    fp16: demodulation cancels both factors, and the products cannot overflow.
    """
    n, i = styles.shape
    o, _, kh, kw = weight.shape
    if prenorm and demodulate:
        weight = weight * (1.0 / math.sqrt(i * kh * kw) / weight.abs().amax(dim=(1, 2, 3), keepdim=True))
        styles = styles / styles.abs().amax(dim=1, keepdim=True)
    dcoefs = None
    if demodulate:
        # sum over i,k of w^2 s^2 = s^2 @ (sum_k w^2)^T : a matmul instead of an [N,O,I,k,k] tensor.
        dcoefs = (styles.square() @ weight.square().sum(dim=(2, 3)).t() + 1e-8).rsqrt()   # [N, O]
    if up and resample_filter is None:
        raise ValueError("modulated_conv2d: up=True needs the resample filter")
    if not fused:
        x = x * styles.to(x.dtype).reshape(n, i, 1, 1)
        wx = weight.to(x.dtype)
        x = conv2d_up(x, wx, resample_filter) if up else F.conv2d(x, wx, padding=padding)
        return x * dcoefs.to(x.dtype).reshape(n, o, 1, 1) if dcoefs is not None else x
    w = weight.unsqueeze(0) * styles.reshape(n, 1, i, 1, 1)                 # [N, O, I, k, k]
    if dcoefs is not None:
        w = w * dcoefs.reshape(n, o, 1, 1, 1)
    w = w.reshape(n * o, i, kh, kw).to(x.dtype)
    x = x.reshape(1, n * i, x.shape[2], x.shape[3])
    out = conv2d_up(x, w, resample_filter, groups=n) if up else F.conv2d(x, w, padding=padding, groups=n)
    return out.reshape(n, o, out.shape[2], out.shape[3])


class ModConv(nn.Module):
    """Style-modulated conv + noise input + bias + lrelu: one synthesis layer of StyleGAN2 (`up`: 2x FIR upsampling).

    `noise_const` [res, res] is the fixed noise image of noise_mode="const" (drawn at init, saved with the weights).
    """

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, *, kernel: int = 3,
                 up: bool = False, conv_clamp: float | None = None) -> None:
        super().__init__()
        self.affine = EqLinear(w_dim, in_channels, bias_init=1.0)   # styles start at 1: identity modulation
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel, kernel))
        self.bias = nn.Parameter(torch.empty(out_channels))
        self.noise_strength = nn.Parameter(torch.empty(()))
        self.register_buffer("noise_const", torch.zeros(resolution, resolution))
        self.register_buffer("resample_filter", fir_filter(), persistent=False)
        self.up, self.padding, self.conv_clamp, self.resolution = up, kernel // 2, conv_clamp, resolution

    def reset_parameters(self, generator: torch.Generator) -> None:
        with torch.no_grad():
            self.weight.copy_(torch.randn(self.weight.shape, generator=generator))
            self.bias.zero_()
            self.noise_strength.zero_()   # noise starts off; G learns how much it wants (StyleGAN)
            self.noise_const.copy_(torch.randn(self.noise_const.shape, generator=generator))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor | None, fused: bool,
                prenorm: bool = False) -> torch.Tensor:
        """`noise`: [N, 1, H_out, W_out] drawn by the caller, `noise_const`, or None (noise_mode="none")."""
        styles = self.affine(w)
        x = modulated_conv2d(x, self.weight, styles, demodulate=True, padding=self.padding, fused=fused,
                             up=self.up, resample_filter=self.resample_filter, prenorm=prenorm)
        if noise is not None:
            x = x + noise.to(x.dtype) * self.noise_strength.to(x.dtype)
        return lrelu_act(x + self.bias.to(x.dtype).reshape(1, -1, 1, 1), clamp=self.conv_clamp)


class ToRGB(nn.Module):
    """1x1 modulated conv to image channels, without demodulation (StyleGAN2 skip architecture)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, conv_clamp: float | None = None) -> None:
        super().__init__()
        self.affine = EqLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, 1, 1))
        self.bias = nn.Parameter(torch.empty(out_channels))
        self.weight_gain = 1.0 / math.sqrt(in_channels)
        self.conv_clamp = conv_clamp

    def reset_parameters(self, generator: torch.Generator) -> None:
        with torch.no_grad():
            self.weight.copy_(torch.randn(self.weight.shape, generator=generator))
            self.bias.zero_()

    def forward(self, x: torch.Tensor, w: torch.Tensor, fused: bool) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain
        x = modulated_conv2d(x, self.weight, styles, demodulate=False, fused=fused)
        x = x + self.bias.to(x.dtype).reshape(1, -1, 1, 1)
        return x.clamp(-self.conv_clamp, self.conv_clamp) if self.conv_clamp is not None else x


def minibatch_std(x: torch.Tensor, group: int) -> torch.Tensor:
    """Append one feature map: the std over groups of samples, averaged over features (ProGAN §3).

    It lets D see batch-level variety, penalising a collapsed G.  The group is
    min(group, N); when N is not a multiple, groups of 1 (a constant map) are used
    so any batch size (e.g. the metrics' chunks) still works.
    """
    n, c, h, w = x.shape
    g = min(group, n) if group > 0 else 1
    if n % g:
        g = 1
    y = x.float().reshape(g, n // g, c, h, w)
    y = (y - y.mean(dim=0)).square().mean(dim=0)
    y = (y + 1e-8).sqrt().mean(dim=(1, 2, 3))                  # [N/g]
    y = y.reshape(1, n // g, 1, 1, 1).expand(g, n // g, 1, h, w).reshape(n, 1, h, w)
    return torch.cat([x, y.to(x.dtype)], dim=1)


def block_precision(amp_dtype: torch.dtype | None, device: torch.device) -> AbstractContextManager:
    """The precision scope of one network block (use with `to_block_dtype` on its inputs).

    None: inherit whatever autocast the caller set (whole-network AMP, or none).  float32: autocast
    off, so a low-resolution block stays exact after a reduced-precision one.  bf16/fp16: autocast in
    that type (weights stay float32; the clamps bound the activations).
    """
    if amp_dtype is None:
        return nullcontext()
    if amp_dtype == torch.float32:
        return torch.autocast(device_type=device.type, enabled=False)
    return torch.autocast(device_type=device.type, dtype=amp_dtype)


def is_reduced(amp_dtype: torch.dtype | None, device: torch.device) -> bool:
    """Whether a block with this precision setting computes in a 16-bit type (then the modulated convs pre-normalise)."""
    if amp_dtype is None:
        return torch.is_autocast_enabled(device.type)
    return amp_dtype in (torch.float16, torch.bfloat16)


def to_block_dtype(amp_dtype: torch.dtype | None, x: torch.Tensor) -> torch.Tensor:
    """A block input as its scope needs it: cast up to float32 in a float32 block, untouched otherwise."""
    return x.float() if amp_dtype == torch.float32 else x


def reset_all(module: nn.Module, generator: torch.Generator) -> None:
    """Initialise every equalised-lr layer of `module` from `generator`, in definition order.

    Each layer resets only its own parameters (its sub-layers are visited too),
    so the draw order, and hence the weights, are a function of the seed alone.
    """
    for m in module.modules():
        if isinstance(m, (EqLinear, EqConv2d, ModConv, ToRGB)):
            m.reset_parameters(generator)
