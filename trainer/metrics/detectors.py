"""Feature networks for FID/KID behind one interface, and the choice between them (docs/architecture.md "Metrics in every tick row").

ADA and DiffAugment report FID on Inception-v3 pool features; that network is a
100 MB download that an air-gapped machine or a CI run cannot fetch, and its
ImageNet features say little about 16 px procedural images.  So the detector is
pluggable and its name travels with every number (FIDs of different detectors
are never comparable, and the `detector` column keeps them apart):

* `inception` - the reference TorchScript Inception-v3 (see `inception.py`);
* `offline`   - a small CNN trained on the procedural data's known factors (see `offline_detector.py`);
* `random`    - a fixed-seed random conv net, for any dataset, no training, no download;
* `auto`      - `offline` for procedural data, `inception` otherwise.

Every detector takes float images in [-1, 1], NCHW, 1 or 3 channels, and returns
float32 features [N, D]; batches are cut to <= 256 images and run under no_grad.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

BATCH = 256


def as_rgb(x: torch.Tensor) -> torch.Tensor:
    """Grey images become three equal channels (what every RGB network expects)."""
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


def is_procedural(dataset_name: str) -> bool:
    """trainer.data names the embedded dataset 'procedural-...' (its statistics cache id)."""
    return dataset_name.startswith("procedural")


class Detector:
    """A feature network: `name` (reported with every FID), `feature_dim`, `cache_key`, and a call.

    `cache_key` identifies the exact weights (name, version, training data
    fingerprint); cached real-data statistics are keyed on it, so retraining or
    swapping weights can never reuse stale statistics.
    """

    name: str = ""
    feature_dim: int = 0

    def __init__(self, device: torch.device) -> None:
        self.device = torch.device(device)

    @property
    def cache_key(self) -> str:
        return self.name

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] not in (1, 3):
            raise ValueError(f"detector expects images [N, 1|3, H, W], got {tuple(x.shape)}")
        outs = [self._forward(x[i:i + BATCH].to(self.device, torch.float32)).float() for i in range(0, x.shape[0], BATCH)]
        return torch.cat(outs) if outs else torch.zeros(0, self.feature_dim, device=self.device)


class RandomDetector(Detector):
    """Three random 3x3 conv layers with leaky ReLU and pooling -> per-channel mean and std (256-d).

    Untrained but fixed: the weights come from a seeded CPU generator, so every
    machine and device gets the same network.  Random conv features are known to
    give a usable (if less sensitive) FID-like distance; it is the fallback for
    datasets with neither Inception weights nor known factors.  Inputs larger
    than 64 px are area-downsampled to 64 to bound the cost.
    """

    name = "random"
    feature_dim = 256
    SEED = 5_2020
    VERSION = 1
    MAX_RES = 64

    def __init__(self, device: torch.device) -> None:
        super().__init__(device)
        gen = torch.Generator().manual_seed(self.SEED)
        shapes = [(32, 3), (64, 32), (128, 64)]
        # He-style scale for leaky ReLU, so activations neither vanish nor explode with depth.
        self.weights = [(torch.randn(o, i, 3, 3, generator=gen) * (2.0 / (9 * i)) ** 0.5).to(self.device) for o, i in shapes]

    @property
    def cache_key(self) -> str:
        return f"random-v{self.VERSION}"

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        x = as_rgb(x)
        if x.shape[-1] > self.MAX_RES:
            x = F.interpolate(x, size=(self.MAX_RES, self.MAX_RES), mode="area")
        for i, w in enumerate(self.weights):
            x = F.leaky_relu(F.conv2d(x, w, padding=1), 0.2)
            if i < len(self.weights) - 1 and x.shape[-1] >= 4:
                x = F.avg_pool2d(x, 2)
        flat = x.flatten(2)
        return torch.cat([flat.mean(dim=2), flat.std(dim=2, unbiased=False)], dim=1)


def resolve_detector_name(choice: str, dataset_name: str) -> str:
    """What `auto` means for this dataset; other choices pass through."""
    if choice == "auto":
        return "offline" if is_procedural(dataset_name) else "inception"
    return choice


def make_detector(choice: str, *, dataset_name: str, resolution: int, device: torch.device,
                  metrics_dir: Path, detector_path: str | None = None) -> Detector:
    """Build the chosen detector.  Heavy work (training, loading weights) happens on first use.

    For `inception` the weights file is located (or downloaded) here, so a
    missing file stops a run at its start with a UserInputError, not hours
    later at its first metrics tick.
    """
    name = resolve_detector_name(choice, dataset_name)
    if name == "random":
        return RandomDetector(device)
    if name == "offline":
        from trainer.metrics.offline_detector import OfflineDetector, source_for

        return OfflineDetector(resolution=resolution, metrics_dir=metrics_dir, device=device, source=source_for(dataset_name))
    if name == "inception":
        from trainer.metrics.inception import make_inception

        return make_inception(metrics_dir=metrics_dir, device=device, detector_path=detector_path)
    from trainer.errors import UserInputError

    raise UserInputError(f"unknown metrics.detector {choice!r}; allowed: auto, offline, random, inception")
