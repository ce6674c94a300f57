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

LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2.0)   # keeps activations' second moment under lrelu (He et al.)
CONV_CLAMP = 256.0            # bounds pre-activations so fp16 AMP cannot overflow (reference value)


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
    """Plain (unmodulated) convolution with equalised learning rate; used by the discriminator."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, *, bias: bool = True,
                 activation: bool = True, down: bool = False, gain: float = 1.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel, kernel))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel * kernel)
        self.activation, self.down, self.gain, self.padding = activation, down, gain, kernel // 2

    def reset_parameters(self, generator: torch.Generator) -> None:
        with torch.no_grad():
            self.weight.copy_(torch.randn(self.weight.shape, generator=generator))
            if self.bias is not None:
                self.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.down:
            # Low-pass then decimate before the conv: 4x fewer FLOPs than conv-then-pool
            # and the same receptive field up to the box filter (the reference uses a FIR blur).
            x = F.avg_pool2d(x, 2)
        x = F.conv2d(x, (self.weight * self.weight_gain).to(x.dtype), None, padding=self.padding)
        if self.bias is not None:
            x = x + self.bias.to(x.dtype).reshape(1, -1, 1, 1)
        # the clamp scales with the layer's gain, as in the reference (256 * sqrt(1/2) in a residual D block)
        if self.activation:
            return lrelu_act(x, gain=LRELU_GAIN * self.gain, clamp=CONV_CLAMP * self.gain)
        x = x * self.gain if self.gain != 1.0 else x
        return x.clamp(-CONV_CLAMP * self.gain, CONV_CLAMP * self.gain)


def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, *,
                     demodulate: bool = True, padding: int = 0, fused: bool = False) -> torch.Tensor:
    """Convolve x [N,I,H,W] with weight [O,I,k,k] modulated per sample by styles [N,I].

    Demodulation divides output channel o of sample n by
    sqrt(sum_{i,k} (w[o,i,k] * s[n,i])^2), so output activations have unit
    second moment whatever the style's magnitude.
    """
    n, i = styles.shape
    o, _, kh, kw = weight.shape
    dcoefs = None
    if demodulate:
        # sum over i,k of w^2 s^2 = s^2 @ (sum_k w^2)^T : a matmul instead of an [N,O,I,k,k] tensor.
        dcoefs = (styles.square() @ weight.square().sum(dim=(2, 3)).t() + 1e-8).rsqrt()   # [N, O]
    if not fused:
        x = x * styles.to(x.dtype).reshape(n, i, 1, 1)
        x = F.conv2d(x, weight.to(x.dtype), padding=padding)
        return x * dcoefs.to(x.dtype).reshape(n, o, 1, 1) if dcoefs is not None else x
    w = weight.unsqueeze(0) * styles.reshape(n, 1, i, 1, 1)                 # [N, O, I, k, k]
    if dcoefs is not None:
        w = w * dcoefs.reshape(n, o, 1, 1, 1)
    h, wd = x.shape[2], x.shape[3]
    out = F.conv2d(x.reshape(1, n * i, h, wd), w.reshape(n * o, i, kh, kw).to(x.dtype), padding=padding, groups=n)
    return out.reshape(n, o, out.shape[2], out.shape[3])


class ModConv(nn.Module):
    """Style-modulated conv + noise input + bias + lrelu: one synthesis layer of StyleGAN2."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, *, kernel: int = 3, up: bool = False) -> None:
        super().__init__()
        self.affine = EqLinear(w_dim, in_channels, bias_init=1.0)   # styles start at 1: identity modulation
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel, kernel))
        self.bias = nn.Parameter(torch.empty(out_channels))
        self.noise_strength = nn.Parameter(torch.empty(()))
        self.up, self.padding = up, kernel // 2

    def reset_parameters(self, generator: torch.Generator) -> None:
        with torch.no_grad():
            self.weight.copy_(torch.randn(self.weight.shape, generator=generator))
            self.bias.zero_()
            self.noise_strength.zero_()   # noise starts off; G learns how much it wants (StyleGAN)

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor, fused: bool) -> torch.Tensor:
        """`noise` [N, 1, H_out, W_out] is drawn by the caller (the generator draws all layers' noise up front)."""
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        styles = self.affine(w)
        x = modulated_conv2d(x, self.weight, styles, demodulate=True, padding=self.padding, fused=fused)
        x = x + noise.to(x.dtype) * self.noise_strength.to(x.dtype)
        return lrelu_act(x + self.bias.to(x.dtype).reshape(1, -1, 1, 1))


class ToRGB(nn.Module):
    """1x1 modulated conv to image channels, without demodulation (StyleGAN2 skip architecture)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int) -> None:
        super().__init__()
        self.affine = EqLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, 1, 1))
        self.bias = nn.Parameter(torch.empty(out_channels))
        self.weight_gain = 1.0 / math.sqrt(in_channels)

    def reset_parameters(self, generator: torch.Generator) -> None:
        with torch.no_grad():
            self.weight.copy_(torch.randn(self.weight.shape, generator=generator))
            self.bias.zero_()

    def forward(self, x: torch.Tensor, w: torch.Tensor, fused: bool) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain
        x = modulated_conv2d(x, self.weight, styles, demodulate=False, fused=fused)
        return (x + self.bias.to(x.dtype).reshape(1, -1, 1, 1)).clamp(-CONV_CLAMP, CONV_CLAMP)


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
