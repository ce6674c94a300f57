"""Rotation leak: generated images that come out rotated by 90/180/270 degrees (beyond the papers).

ADA Fig 3 shows that `rotate90` applied with p -> 1 leaks: G starts producing
sideways and upside-down images, because D can no longer tell that "up" matters.
A small classifier, trained self-supervised on the reals (rotate each by
k * 90 degrees, predict k; Gidaris et al. 2018), recognises which way is up for
this dataset.  leak_rot = fraction of generated images it classifies as rotated
(k != 0) - the same fraction for held-out reals.  With a perfect classifier a
fraction q of rotated images among otherwise real ones gives exactly q; a
classifier that misses a rotation with rate m and flags an upright real with
rate f gives q (1 - m - f), so calibration tests check ~q within a tolerance.

The classifier is trained once per dataset (name, resolution, channels,
version) on a seeded choice of reals, deterministically on CPU, and cached.
Datasets without a canonical "up" make this measure meaningless (the
classifier cannot learn it; `accuracy` tells).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from trainer.metrics.cache import cache_file, load_torch, save_torch
from trainer.metrics.real_stats import uint8_to_float
from trainer.metrics.tiny_cnn import TinyCNN, deterministic_cpu, fit, predict, to_work_res, work_resolution

VERSION = 1
EPOCHS = 3
INIT_SEED = 1


def all_rotations(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Every image in its four rotations, and the labels k (counter-clockwise quarter turns)."""
    xs = torch.cat([torch.rot90(x, k, dims=(2, 3)) for k in range(4)])
    ks = torch.arange(4).repeat_interleave(x.shape[0])
    return xs, ks


def train_rotation_classifier(reals: torch.Tensor, check: torch.Tensor) -> tuple[TinyCNN, float]:
    """Train on all rotations of `reals` (float [-1, 1], CPU); accuracy on all rotations of `check`."""
    work_res = work_resolution(reals.shape[-1])
    with deterministic_cpu(INIT_SEED):
        net = TinyCNN(reals.shape[1], work_res, [4])
        xs, ks = all_rotations(to_work_res(reals, work_res))
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
    def rotated(self, x: torch.Tensor) -> torch.Tensor:
        """bool [N] on CPU: predicted k != 0."""
        net = self.network()
        if x.shape[1] != net.in_channels:
            x = x.expand(-1, net.in_channels, -1, -1) if x.shape[1] == 1 else x.mean(dim=1, keepdim=True)
        return (predict(net, x.to(self.device, torch.float32))[0] != 0).cpu()
