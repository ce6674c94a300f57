"""Anti-aliased resampling of a batch through per-image affine maps (docs/papers.md §3 "one resampling").

Like the reference, an image is upsampled 2x with a low-pass, sampled bilinearly
(grid_sample) on a 2x grid and downsampled 2x with a low-pass; the image is
extended by reflection (torch 'reflect': mirrored about the edge pixel centres).
Our own design choices, for speed:

* Low-pass: Keys' cubic (4 taps per polyphase branch, exact on linear ramps)
  to upsample, Lanczos-2 (a windowed sinc, 8 taps) to downsample; separable.
* No big padded canvas.  An infinitely reflect-padded image, upsampled with a
  symmetric kernel, is mirror-symmetric about original positions 0.5 and
  W - 0.5.  So we upsample only the span [0.5, W - 0.5] (2W - 2 samples) and let
  grid_sample's 'reflection' mode (which mirrors about the canvas edges) supply
  every far-away pixel exactly (we fold the coordinates ourselves, the same
  maths, so the sampler can use its cheaper 'zeros' mode).  Memory is ~4x the
  image instead of the reference's ~36x, and no shift is ever clipped by a
  padding limit.
* Separable filters as two large matmuls with a transposing copy between them,
  so the canvas and the 2x grid are held x-major ([N, C, W, H]); the grid's
  coordinates are swapped to match and the downsampling transposes back.
* The sampling grid is one affine map per image evaluated by broadcasting
  (no per-point matmul), folded in place.
* `grid_sample` wrapped in an autograd Function whose backward is itself
  differentiable (sampling is linear in the image; its adjoint's adjoint is the
  sampling again), because R1 needs double backward through the augmentation.

Coordinates: centred pixel units of the original image (origin at the image
centre, x right, y down); a matrix maps output positions to input positions.
"""

from __future__ import annotations

import torch

_BILINEAR, _ZEROS = 0, 0
_DOWN_TAPS = 8          # Lanczos-2 at distances 0.25, 0.75, 1.25, 1.75 (original pixels)
_EXTRA = _DOWN_TAPS // 2 - 1   # extra 2x-grid samples on each side feed the downsampling filter
MATMUL_MAX = 1100   # matmul beats shifted slices on CPU even at 256 px (1.5x, measured); slices beyond


def lanczos2(d: torch.Tensor) -> torch.Tensor:
    """Lanczos kernel with a=2 (sinc windowed by a wider sinc), support |d| < 2."""
    out = torch.sinc(d) * torch.sinc(d / 2.0)
    return torch.where(d.abs() < 2.0, out, torch.zeros_like(out))


def keys_cubic(d: torch.Tensor, a: float = -0.5) -> torch.Tensor:
    """Keys' cubic convolution kernel (a=-0.5): interpolating, reproduces linear ramps exactly."""
    d = d.abs()
    inner = (a + 2.0) * d**3 - (a + 3.0) * d**2 + 1.0
    outer = a * d**3 - 5.0 * a * d**2 + 8.0 * a * d - 4.0 * a
    return torch.where(d <= 1.0, inner, torch.where(d < 2.0, outer, torch.zeros_like(d)))


def _up_weights() -> list[list[float]]:
    """Taps on x[i-1..i+2] giving the values at i + 1/4 and i + 3/4 (Keys cubic), as python floats."""
    rows = []
    for t in (0.25, 0.75):
        w = keys_cubic(torch.tensor([t + 1.0, t, 1.0 - t, 2.0 - t], dtype=torch.float64))
        rows.append((w / w.sum()).tolist())
    return rows


def _down_weights() -> list[float]:
    """Low-pass at the original Nyquist over the 2x grid (Lanczos-2), unit DC gain."""
    d = (torch.arange(_DOWN_TAPS, dtype=torch.float64) - (_DOWN_TAPS - 1) / 2.0) / 2.0
    w = lanczos2(d)
    return (w / w.sum()).tolist()


def _taps(x: torch.Tensor, weights: list[float], dim: int, length: int, step: int = 1) -> torch.Tensor:
    """sum_k w_k * x[k + step*i] for i < length along `dim`: a tiny FIR as shifted slices.

    Shifted multiply-adds instead of conv2d: on CPU, conv2d's backward for a
    1-channel, 4-8 tap kernel is far slower than these elementwise passes.
    """
    out = None
    for k, wk in enumerate(weights):
        idx = [slice(None)] * x.ndim
        idx[dim] = slice(k, k + step * (length - 1) + 1, step)
        term = x[tuple(idx)] * wk
        out = term if out is None else out + term
    return out


def _upsample_dim(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Along `dim` (size S): the 2S-2 samples at original positions 0.75, 1.25, ..., S-0.75."""
    size = x.shape[dim]
    k = _UP_WEIGHTS
    xp = x.index_select(dim, mirror_index(torch.arange(-1, size + 1, device=x.device), size))
    a = _taps(xp, k[0], dim, size - 1)                  # positions i + 3/4 (original pixel-edge units)
    b = _taps(xp, k[1], dim, size - 1)                  # positions i + 5/4
    shape = list(a.shape)
    shape[dim] = 2 * (size - 1)
    return torch.stack([a, b], dim=dim + 1).reshape(shape)


def _as_matrix(op, size: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """The 1-D linear map `op` (acting along dim 1) as a matrix: row i is op applied to unit vector e_i."""
    eye = torch.eye(size, dtype=torch.float64, device=device)
    return op(eye, 1).to(dtype)


def _down_dim(x: torch.Tensor, dim: int) -> torch.Tensor:
    return _taps(x, _DOWN_WEIGHTS, dim, (x.shape[dim] - 2 * _EXTRA) // 2, step=2)


def _separable_t(x: torch.Tensor, op) -> torch.Tensor:
    """The 1-D map `op` along both spatial axes of x [N, C, A, B]; returns the result TRANSPOSED [N, C, B', A'].

    Small images: op along the last axis as one matmul with the map's matrix, one transposing copy,
    op along the other axis as a second matmul.  Both are single large BLAS calls (a left
    multiplication would be one tiny GEMM per image and channel, several times slower on CPU).
    The transposed layout costs nothing: the canvas and the 2x grid are simply stored
    x-major, and the grid's coordinates are swapped to match.  Large images: shifted slices
    (cost linear in size)."""
    a, b = x.shape[2], x.shape[3]
    if max(a, b) > MATMUL_MAX:
        return op(op(x, 3), 2).transpose(2, 3).contiguous()
    mb = _as_matrix(op, b, x.dtype, x.device)
    ma = mb if a == b else _as_matrix(op, a, x.dtype, x.device)
    return torch.matmul(torch.matmul(x, mb).transpose(2, 3).contiguous(), ma)


def upsample_span_t(x: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] -> [N, C, 2W-2, 2H-2]: the 2x image on the span between the edge pixel centres, x-major."""
    return _separable_t(x, _upsample_dim)


def downsample_valid_t(y: torch.Tensor) -> torch.Tensor:
    """x-major [N, C, 2W+2E, 2H+2E] -> [N, C, H, W]: low-pass then keep every second sample (no padding)."""
    return _separable_t(y, _down_dim)


class _Sample(torch.autograd.Function):
    """grid_sample (bilinear, points pre-folded inside) w.r.t. the image only; differentiable to any order."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(grid)
        ctx.in_shape = x.shape
        return torch.grid_sampler_2d(x, grid, _BILINEAR, _ZEROS, False)

    @staticmethod
    def backward(ctx, gy: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        (grid,) = ctx.saved_tensors
        return _SampleAdjoint.apply(gy, grid, ctx.in_shape), None


class _SampleAdjoint(torch.autograd.Function):
    """The transpose of `_Sample` (scatter of the output gradient onto the image)."""

    @staticmethod
    def forward(ctx, gy: torch.Tensor, grid: torch.Tensor, in_shape: torch.Size) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(grid)
        dummy = gy.new_empty(in_shape)
        gx, _ = torch.ops.aten.grid_sampler_2d_backward(gy.contiguous(), dummy, grid, _BILINEAR, _ZEROS,
                                                        False, [True, False])
        return gx

    @staticmethod
    def backward(ctx, ggx: torch.Tensor) -> tuple[torch.Tensor, None, None]:  # type: ignore[override]
        (grid,) = ctx.saved_tensors
        return _Sample.apply(ggx, grid), None, None


def _fold_(u: torch.Tensor, size: int) -> torch.Tensor:
    """In place: index coordinates (shifted by +0.5, so the canvas edges are 0 and `size`) mirrored
    about the canvas edges, clamped to the outermost pixel centres, as grid_sample [-1, 1] units.

    This is what grid_sample's 'reflection' mode does, done once on the grid so the sampler can run
    in its cheaper 'zeros' mode (never reached: every point ends up inside).  The mirror image is a
    triangle wave of period 2*size, which is even, so |u| replaces the modulo whenever |u| < 2*size
    (every realistic warp); only wilder ones pay for `remainder`.
    """
    if bool(u.abs().amax() >= 2.0 * size):
        u.remainder_(2.0 * size)
    else:
        u.abs_()
    d = u.sub_(size).abs_().clamp_(0.5, size - 0.5)       # distance from the mirror peak at `size`
    return d.mul_(-2.0 / size).add_(1.0)                  # = 2 * (folded index + 0.5) / size - 1


def sample_grid_t(g: torch.Tensor, h: int, w: int, dtype: torch.dtype) -> torch.Tensor:
    """grid_sample coordinates, x-major [N, 2W+2E, 2H+2E, 2], of the 2x output grid for matrices g [N, 3, 3],
    addressing the x-major canvas of `upsample_span_t` (so component 0 is the canvas y index).

    Output sample j of the 2x grid sits at original position (j - E + 0.5)/2;
    its source position s (centred units) is g @ (x, y, 1), i.e. canvas index
    2s + W - 1.5 on the upsampled span [0.5, W - 0.5].  Centring, g and the
    index map are one affine map per image (float64 2x3), evaluated by
    broadcasting over the grid axes, then mirrored (`_fold_`).
    """
    dev = g.device
    to_centred = torch.tensor([[0.5, 0.0, (0.5 - _EXTRA) / 2.0 - w / 2.0],
                               [0.0, 0.5, (0.5 - _EXTRA) / 2.0 - h / 2.0],
                               [0.0, 0.0, 1.0]], dtype=torch.float64, device=dev)
    # Canvas index + 0.5 (the fold's convention), rows ordered (y, x) for the x-major canvas.
    to_index = torch.tensor([[0.0, 2.0, h - 1.0], [2.0, 0.0, w - 1.0]], dtype=torch.float64, device=dev)
    theta = (to_index @ g @ to_centred).to(dtype)[:, :, :, None, None]    # [N, 2, 3, 1, 1], acts on (j, i, 1)
    jj = torch.arange(2 * w + 2 * _EXTRA, dtype=dtype, device=dev)[:, None]
    ii = torch.arange(2 * h + 2 * _EXTRA, dtype=dtype, device=dev)[None, :]
    u = theta[:, :, 0] * jj + (theta[:, :, 1] * ii + theta[:, :, 2])     # [N, 2, 2W+2E, 2H+2E]
    _fold_(u[:, 0], 2 * h - 2)
    _fold_(u[:, 1], 2 * w - 2)
    return u.permute(0, 2, 3, 1).contiguous()


def resample(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """x [N, C, H, W] resampled through the output->input maps g [N, 3, 3] (anti-aliased, reflect)."""
    n, c, h, w = x.shape
    if h < 2 or w < 2:
        raise ValueError(f"geometric augmentation needs images of at least 2x2 pixels, got {h}x{w}")
    up = upsample_span_t(x)                           # x-major canvas [N, C, 2W-2, 2H-2]
    y = _Sample.apply(up, sample_grid_t(g, h, w, x.dtype))   # x-major 2x output
    return downsample_valid_t(y)


def mirror_index(idx: torch.Tensor, size: int) -> torch.Tensor:
    """Integer positions folded into [0, size) with torch 'reflect' semantics (edge pixel not repeated)."""
    if size == 1:
        return torch.zeros_like(idx)
    period = 2 * (size - 1)
    m = torch.remainder(idx, period)
    return torch.where(m >= size, period - m, m)


def gather_integer(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Exact index-only warp for integer matrices g (flips, quarter turns, whole-pixel shifts)."""
    n, c, h, w = x.shape
    dev = g.device
    xs = torch.arange(w, dtype=torch.float64, device=dev) + 0.5 - w / 2.0
    ys = torch.arange(h, dtype=torch.float64, device=dev) + 0.5 - h / 2.0
    sx = g[:, 0, 0, None, None] * xs[None, None, :] + g[:, 0, 1, None, None] * ys[None, :, None] + g[:, 0, 2, None, None]
    sy = g[:, 1, 0, None, None] * xs[None, None, :] + g[:, 1, 1, None, None] * ys[None, :, None] + g[:, 1, 2, None, None]
    ix = mirror_index(torch.round(sx + w / 2.0 - 0.5).long(), w)
    iy = mirror_index(torch.round(sy + h / 2.0 - 0.5).long(), h)
    flat = (iy * w + ix).reshape(n, 1, h * w).to(x.device).expand(n, c, h * w)
    return x.reshape(n, c, h * w).gather(2, flat).reshape(n, c, h, w)


def is_integer_map(g: torch.Tensor, tol: float = 1e-9) -> torch.Tensor:
    """[N] bool: the 2x3 part is integer (the warp is an exact pixel permutation with reflection)."""
    a = g[:, :2, :]
    return ((a - torch.round(a)).abs() <= tol).flatten(1).all(dim=1)


def is_identity_map(g: torch.Tensor) -> torch.Tensor:
    eye = torch.eye(3, dtype=g.dtype, device=g.device)
    return (g == eye).flatten(1).all(dim=1)


_UP_WEIGHTS = _up_weights()       # immutable module constants (computed once, never mutated)
_DOWN_WEIGHTS = _down_weights()
