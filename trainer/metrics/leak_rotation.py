"""Rotation leak: generated images that come out rotated by 90/180/270 degrees (beyond the papers).

ADA Fig 3 shows that `rotate90` applied with p -> 1 leaks: G starts producing
sideways and upside-down images, because D can no longer tell that "up" matters.
A small classifier, trained self-supervised on the reals (rotate each by
k * 90 degrees, predict k; Gidaris et al. 2018), recognises which way is up for
this dataset.

Reading it against images of the same quality.  A classifier trained on clean
reals errs more on images that are upright but off its training distribution
(blurred, cut out, recoloured, a weak G's samples): counting "predicted rotated"
among generated images read 0.14 on upright reals with DiffAugment's colour,
translation and cutout applied, a leak that is not there.  So each image x is
shown in its four rotations rot(x, j), and each view implies an orientation
k_j = pred(rot(x, j)) - j (mod 4).  The views are images of x's own quality
whose rotations relative to x are known, so their disagreement measures the
classifier's error rate e on images like x: with errors spread over the wrong
labels, two views agree with probability A = (1 - e)^2 + e^2 / 3.  The fraction
of views implying "rotated" is F = e + q (1 - 4e/3) when a fraction q of the
images are rotated (uniformly by 90, 180 or 270 degrees), so

    q_hat = (F - e) / (1 - 4e/3),   e from A,

and leak_rot = q_hat(generated) - q_hat(held-out reals).  A bias of the
classifier toward one label cancels, because the four views turn it into
implied orientations spread over all four.  When e is close to 3/4 (the
classifier cannot read orientation at all: 1 - 4e/3 < MIN_INFORMATIVE) leak_rot
is None rather than a number.

What it detects: whole-image rotations by multiples of 90 degrees (tested with a
known fraction q).  What it does not: small rotations, flips (a vertical flip is
half-way between "up" and "down" for this classifier), and any change that
keeps the image upright (blur, noise, translation, scaling, colour, cutout, a
weak G; tested to read ~0).  Datasets without a canonical "up" make it
meaningless (the classifier cannot learn it; `accuracy` tells).

The classifier is trained once per dataset (name, resolution, channels,
version) on a seeded choice of reals, deterministically on CPU, and cached.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from trainer.metrics.cache import cache_file, load_torch, save_torch
from trainer.metrics.real_stats import uint8_to_float
from trainer.metrics.tiny_cnn import TinyCNN, deterministic_cpu, fit, predict, to_work_res, work_resolution

VERSION = 2            # 2: trained on clean and perturbed-upright reals; read through the four rotated views
EPOCHS = 3
PERTURBED_COPIES = 1     # perturbed copies of the training reals besides the clean one
INIT_SEED = 1
MIN_INFORMATIVE = 0.2   # 1 - 4e/3 below this: the classifier reads these images' orientation barely better than chance


def rotated_fraction(implied: np.ndarray) -> float | None:
    """q_hat of the module docstring from [N, 4] implied orientations (views j = 0..3), or None when uninformative."""
    if len(implied) == 0:
        return None
    counts = np.stack([(implied == k).sum(axis=1) for k in range(4)], axis=1)      # [N, 4] views per orientation
    agree = float(((counts * (counts - 1)) / 2).sum(axis=1).mean() / 6.0)          # pairs of views that agree
    e = 0.75 * (1.0 - np.sqrt(max(0.0, 1.0 - (4.0 / 3.0) * (1.0 - agree))))
    informative = 1.0 - 4.0 * e / 3.0
    if informative < MIN_INFORMATIVE:
        return None
    f = float((implied != 0).mean())
    return (f - e) / informative


def all_rotations(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Every image in its four rotations, and the labels k (counter-clockwise quarter turns)."""
    xs = torch.cat([torch.rot90(x, k, dims=(2, 3)) for k in range(4)])
    ks = torch.arange(4).repeat_interleave(x.shape[0])
    return xs, ks


def _blur(x: torch.Tensor) -> torch.Tensor:
    k = torch.tensor([1.0, 2.0, 1.0])
    k = (k[:, None] * k[None, :] / 16.0).expand(x.shape[1], 1, 3, 3).contiguous()
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), k, groups=x.shape[1])


def perturb_upright(x: torch.Tensor, gen: torch.Generator, prob: float = 0.35) -> torch.Tensor:
    """X with non-rotational changes, each applied to a random PROB of the images: blur, noise, a zero-filled
    shift of up to size/8, a size/2 zero square, colour (brightness, saturation, contrast) and a 1-1.25x zoom.

    The classifier learns "up" from images like these too, so that a G whose samples are upright but degraded
    (or carry a leak of another augmentation) does not read as rotated.  The test's negative controls use other
    settings and also a weak generator, which none of these imitates."""
    n, c, size = x.shape[0], x.shape[1], x.shape[-1]

    def pick() -> torch.Tensor:
        return (torch.rand(n, generator=gen) < prob).view(n, 1, 1, 1)
    x = torch.where(pick(), _blur(x), x)
    x = torch.where(pick(), x + torch.rand(n, 1, 1, 1, generator=gen) * 0.3 * torch.randn(x.shape, generator=gen), x)
    r = max(1, size // 8)
    shift = torch.randint(-r, r + 1, (2,), generator=gen).tolist()
    moved = torch.roll(x, shifts=shift, dims=(2, 3))
    rows, cols = torch.arange(size), torch.arange(size)
    keep = (((rows - shift[0]) >= 0) & ((rows - shift[0]) < size))[:, None] & \
        (((cols - shift[1]) >= 0) & ((cols - shift[1]) < size))[None, :]
    x = torch.where(pick(), moved * keep, x)
    cy, cx = torch.randint(0, size + 1, (2, n), generator=gen)
    inside = ((rows[None, :] - cy[:, None]).abs() < size // 4)[:, :, None] & \
        ((cols[None, :] - cx[:, None]).abs() < size // 4)[:, None, :]
    x = torch.where(pick() & inside[:, None], torch.zeros_like(x), x)
    mean = x.mean(dim=1, keepdim=True)
    col = (x - mean) * (torch.rand(n, 1, 1, 1, generator=gen) * 2) + mean if c > 1 else x
    col = col + (torch.rand(n, 1, 1, 1, generator=gen) - 0.5)
    m = col.mean(dim=(1, 2, 3), keepdim=True)
    col = (col - m) * (torch.rand(n, 1, 1, 1, generator=gen) + 0.5) + m
    x = torch.where(pick(), col, x)
    zoom = F.interpolate(x, scale_factor=1.25, mode="bilinear", align_corners=False)
    o = (zoom.shape[-1] - size) // 2
    x = torch.where(pick(), zoom[:, :, o:o + size, o:o + size], x)
    return x.clamp(-1.0, 1.0)


def train_rotation_classifier(reals: torch.Tensor, check: torch.Tensor) -> tuple[TinyCNN, float]:
    """Train on all rotations of `reals` (float [-1, 1], CPU) and of a perturbed copy (`perturb_upright`);
    accuracy on all rotations of the clean `check` images."""
    work_res = work_resolution(reals.shape[-1])
    with deterministic_cpu(INIT_SEED):
        net = TinyCNN(reals.shape[1], work_res, [4])
        gen = torch.Generator().manual_seed(INIT_SEED)
        both = torch.cat([reals] + [perturb_upright(reals, gen) for _ in range(PERTURBED_COPIES)])
        xs, ks = all_rotations(to_work_res(both, work_res))
        fit(net, xs, ks, epochs=EPOCHS, seed=INIT_SEED)
        cx, ck = all_rotations(to_work_res(check, work_res))
        acc = float((predict(net, cx)[0] == ck).float().mean()) if len(check) else float("nan")
    return net, acc


class RotationClassifier:
    """Predicts whether images are rotated; trained on `train_idx` of `images` or loaded from the cache."""

    def __init__(self, images: Any, train_idx: np.ndarray, check_idx: np.ndarray, *, dataset_name: str,
                 metrics_dir: Path, device: torch.device) -> None:
        self.images = images
        self.train_idx, self.check_idx = train_idx, check_idx
        self.path = cache_file(Path(metrics_dir), "rotation",
                               (dataset_name, f"r{images.resolution}", f"c{images.channels}", f"n{len(train_idx)}of{len(images)}", f"v{VERSION}"), ".pt")
        self.device = torch.device(device)
        self.accuracy = float("nan")
        self._net: TinyCNN | None = None

    def network(self) -> TinyCNN:
        if self._net is not None:
            return self._net
        saved = load_torch(self.path)
        if saved is not None:
            net = TinyCNN(int(saved["channels"]), int(saved["work_res"]), [4])
            net.load_state_dict(saved["state_dict"])
            self.accuracy = float(saved["accuracy"])
        else:
            reals = uint8_to_float(self.images.batch(self.train_idx))
            check = uint8_to_float(self.images.batch(self.check_idx))
            net, self.accuracy = train_rotation_classifier(reals, check)
            save_torch(self.path, {"state_dict": net.state_dict(), "work_res": net.work_res,
                                   "channels": net.in_channels, "accuracy": self.accuracy})
        self._net = net.eval().to(self.device)
        return self._net

    @torch.no_grad()
    def implied(self, x: torch.Tensor) -> torch.Tensor:
        """int [N, 4] on CPU: the orientation of each image implied by each of its four rotated views."""
        net = self.network()
        if x.shape[1] != net.in_channels:
            x = x.expand(-1, net.in_channels, -1, -1) if x.shape[1] == 1 else x.mean(dim=1, keepdim=True)
        x = x.to(self.device, torch.float32)
        views = [(predict(net, torch.rot90(x, j, dims=(2, 3)))[0].cpu() - j) % 4 for j in range(4)]
        return torch.stack(views, dim=1)
