"""FIR up- and downsampling of StyleGAN2 (Karras et al. 2020, App. B; ADA's networks), in plain PyTorch.

Why a FIR filter instead of bilinear interpolation or average pooling: resampling
with the binomial low-pass [1, 3, 3, 1] (outer product, normalised to unit DC
gain) is what the reference networks compute, so weights trained there give the
same images here.  The reference runs these through its `upfirdn2d` kernel; the
same arithmetic is a depthwise convolution:

- 2x upsampling = insert a zero after every sample, pad, filter with gain 4
  (each output sample receives a quarter of the filter's taps).  That is one
  depthwise transposed convolution with stride 2.
- 2x downsampling = pad, filter with gain 1, keep every second sample: one
  depthwise convolution with stride 2.
- a 3x3 convolution with upsampling runs the transposed convolution first and
  filters its (2H + 1)-sample output, padded by 1, back to 2H (gain 4); with
  downsampling it filters (padded by 2) and then convolves with stride 2.

The paddings follow upfirdn2d's rule for a 4-tap filter (output a multiple or a
fraction of the input); tests/trainer/test_stylegan2_golden.py checks the whole
networks against the reference's outputs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

FIR_TAPS = (1.0, 3.0, 3.0, 1.0)


def fir_filter(taps: tuple[float, ...] = FIR_TAPS) -> torch.Tensor:
    """The 2-D filter [k, k] of the separable `taps`, normalised to sum 1 (float32)."""
    f = torch.tensor(taps, dtype=torch.float32)
    f = torch.outer(f, f)
    return f / f.sum()


def _depthwise(f: torch.Tensor, channels: int, dtype: torch.dtype, gain: float) -> torch.Tensor:
    # The filter is symmetric, so correlation (conv2d) and convolution agree.
    return (f * gain).to(dtype).expand(channels, 1, *f.shape)


def filter2d(x: torch.Tensor, f: torch.Tensor, pad: int, gain: float = 1.0, stride: int = 1) -> torch.Tensor:
    """Pad x by `pad` on every side, then filter each channel with `f` * gain (stride 2 decimates)."""
    c = x.shape[1]
    if pad < 0:
        x = F.pad(x, [pad] * 4)   # cropping
    # zero padding inside the convolution: no padded copy of x and no pad node in backward (~3% of a CPU step)
    return F.conv2d(x, _depthwise(f, c, x.dtype, gain), stride=stride, groups=c, padding=max(pad, 0))


def upsample2d(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] -> [N, C, 2H, 2W]: zero insertion and the filter at gain 4, as one transposed conv."""
    c = x.shape[1]
    return F.conv_transpose2d(x, _depthwise(f, c, x.dtype, 4.0), stride=2, padding=(f.shape[-1] - 2) // 2, groups=c)


def downsample2d(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] -> [N, C, H/2, W/2]: the filter at gain 1, then every second sample."""
    return filter2d(x, f, pad=(f.shape[-1] - 1) // 2, stride=2)


def conv2d_up(x: torch.Tensor, w: torch.Tensor, f: torch.Tensor, groups: int = 1) -> torch.Tensor:
    """A k x k convolution (padding k // 2 in the upsampled grid) of x upsampled 2x by the FIR filter.

    `w` is [O, I/groups, k, k] as for conv2d; the transposed convolution takes it as [I, O/groups, k, k].
    """
    o, ipg, kh, kw = w.shape
    if groups == 1:
        wt = w.transpose(0, 1)
    else:
        wt = w.reshape(groups, o // groups, ipg, kh, kw).transpose(1, 2).reshape(groups * ipg, o // groups, kh, kw)
    x = F.conv_transpose2d(x, wt, stride=2, groups=groups)
    # 2H + k - 2 samples now; upfirdn2d's padding (k // 2 + 3 - k per side for the 4-tap filter) leaves 2H
    return filter2d(x, f, pad=kw // 2 + 3 - kw, gain=4.0)


def conv2d_down(x: torch.Tensor, w: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """A k x k convolution (padding k // 2) followed by 2x FIR downsampling, computed filter-first.

    1x1: downsample, then convolve.  k x k: filter with padding k // 2 + 1, then convolve with stride 2.
    """
    k = w.shape[-1]
    if k == 1:
        return F.conv2d(downsample2d(x, f), w)
    x = filter2d(x, f, pad=k // 2 + (f.shape[-1] - 1) // 2)
    return F.conv2d(x, w, stride=2)
