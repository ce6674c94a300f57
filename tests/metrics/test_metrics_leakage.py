"""Calibration of the leakage measures: a known fraction q of altered reals reads as ~q (trainer/metrics/leak*.py).

"Generated" images here are held-out reals (never seen by the rotation
classifier nor used as the reference), of which the first q*n are rotated,
recoloured or blanked the way a leaking augmentation would.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from trainer.metrics.leak_blank import blank_flags
from trainer.metrics.leak_color import circular_w1, color_stats, hue_rotate
from trainer.metrics.leakage import LeakageMeter
from trainer.metrics.real_stats import uint8_to_float

N = 500
QS = (0.0, 0.25, 0.5, 1.0)
TOL_ROT = 0.08     # classifier misses and false alarms; measured error 0.00 on both datasets
TOL_BLANK = 0.03   # detection is exact for fills; reals have texture
TOL_COLOR = 0.12   # sampling floor of two 500-image samples (0.06-0.07 measured) plus clipping of rotated colours


@pytest.fixture(scope="module", params=["standin", "procedural"])
def data(request):
    """Both the synthetic stand-in and the real embedded dataset (trainer.data.procedural)."""
    return request.getfixturevalue("bundle" if request.param == "standin" else "procedural_bundle")


@pytest.fixture(scope="module")
def meter(data, metrics_dir) -> LeakageMeter:
    return LeakageMeter(("rot", "color", "blank"), data.full, dataset_name=data.name, metrics_dir=metrics_dir,
                        device=torch.device("cpu"), n_ref=N)


@pytest.fixture(scope="module")
def held_out(data) -> torch.Tensor:
    return uint8_to_float(data.val.batch(np.arange(N)))


def _leaks(meter: LeakageMeter, x: torch.Tensor) -> dict:
    col = meter.collector()
    for start in range(0, len(x), 256):
        col.add(x[start:start + 256])
    return meter.result(col)


def _rotate(x: torch.Tensor, q: float, gen: torch.Generator) -> torch.Tensor:
    out, n = x.clone(), int(q * len(x))
    ks = torch.randint(1, 4, (n,), generator=gen)
    for i in range(n):
        out[i] = torch.rot90(x[i], int(ks[i]), dims=(1, 2))
    return out


def _recolour(x: torch.Tensor, q: float, gen: torch.Generator) -> torch.Tensor:
    out, n = x.clone(), int(q * len(x))
    out[:n] = hue_rotate(x[:n], torch.rand(n, generator=gen) * 2 * math.pi)
    return out


def _blank(x: torch.Tensor, q: float, gen: torch.Generator) -> torch.Tensor:
    """Half cutout (a size/2 square of zeros, as ADA and DiffAugment), half translation by size/8 with zero fill."""
    out, n, size = x.clone(), int(q * len(x)), x.shape[-1]
    for i in range(n):
        if i % 2:
            py, px = (int(v) for v in torch.randint(0, size // 2 + 1, (2,), generator=gen))
            out[i, :, py:py + size // 2, px:px + size // 2] = 0.0
        else:
            shift = size // 8
            out[i] = torch.roll(x[i], shift, dims=2)
            out[i, :, :, :shift] = 0.0
    return out


@pytest.mark.parametrize("q", QS)
def test_rotation_leak_reads_the_rotated_fraction(meter, held_out, q) -> None:
    leak = _leaks(meter, _rotate(held_out, q, torch.Generator().manual_seed(1)))
    assert leak["leak_rot"] == pytest.approx(q, abs=TOL_ROT)
    assert meter.rotation.accuracy > 0.9


@pytest.mark.parametrize("q", QS)
def test_colour_leak_reads_the_recoloured_fraction(meter, held_out, q) -> None:
    leak = _leaks(meter, _recolour(held_out, q, torch.Generator().manual_seed(2)))
    assert leak["leak_color"] == pytest.approx(q, abs=TOL_COLOR)


@pytest.mark.parametrize("q", QS)
def test_blank_leak_reads_the_blanked_fraction(meter, held_out, q) -> None:
    leak = _leaks(meter, _blank(held_out, q, torch.Generator().manual_seed(3)))
    assert leak["leak_blank"] == pytest.approx(q, abs=TOL_BLANK)


def test_clean_reals_read_zero_on_every_measure(meter, held_out) -> None:
    leak = _leaks(meter, held_out)
    assert abs(leak["leak_rot"]) < 0.03 and abs(leak["leak_blank"]) < 0.01 and 0 <= leak["leak_color"] < 0.1


def test_colour_leak_grows_with_the_recoloured_fraction(meter, held_out) -> None:
    values = [_leaks(meter, _recolour(held_out, q, torch.Generator().manual_seed(4)))["leak_color"] for q in QS]
    assert values == sorted(values)


def test_circular_wasserstein_known_values() -> None:
    assert circular_w1(np.array([0.1]), np.array([0.3])) == pytest.approx(0.2)
    assert circular_w1(np.array([0.05]), np.array([0.95])) == pytest.approx(0.1)   # the short way round
    uniform = (np.arange(1000) + 0.5) / 1000
    assert circular_w1(np.zeros(1), uniform) == pytest.approx(0.25, abs=1e-3)


def test_hue_rotation_shifts_mean_hue_and_keeps_saturation_and_luma() -> None:
    x = torch.tensor([0.6, -0.2, -0.4]).view(1, 3, 1, 1).expand(1, 3, 4, 4).contiguous()
    turned = hue_rotate(x, torch.tensor([2 * math.pi / 3]))
    a, b = color_stats(x)[0], color_stats(turned)[0]
    assert (b[0] - a[0]) % 1.0 == pytest.approx(1 / 3, abs=1e-5) or (a[0] - b[0]) % 1.0 == pytest.approx(1 / 3, abs=1e-5)
    assert b[1:] == pytest.approx(a[1:], abs=1e-5)


def test_blank_detector_finds_fills_and_ignores_texture() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 32, 32, generator=gen) * 2 - 1
    x[1, :, 10:18, 3:11] = 0.3                # an 8 px = size/4 constant square
    x[2, :, :, -2:] = 0.0                     # a 2 px constant strip along the right edge
    x[3, :, 10:17, 3:10] = 0.3                # 7 px: too small
    assert blank_flags(x).tolist() == [False, True, True, False]
