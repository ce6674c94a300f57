"""The offline FID detector: a small CNN trained to recognise the procedural data's generative factors.

What its FID means.  The network is trained (deterministically, once per
resolution and version, then cached) to predict the known factors of the
embedded procedural images (shape, count, palette, ground, ... as listed in
`trainer.data.procedural.FACTORS`); its 128-d penultimate layer (scaled to unit
mean square) is the feature space.  A Fréchet distance there measures how differently real and generated
images populate the factors the network had to learn, plus whatever image
statistics those features happen to carry: it rises when G drops or mixes
factors (mode collapse, wrong palettes, broken shapes) and falls as G matches
the factor distribution.

What it does not mean.  It is not Inception FID: its scale, its zero-point noise
and its sensitivities differ, so its numbers are comparable only with other
`offline` numbers at the same resolution and version (the `detector` column says
which), never with the papers' FIDs.  It is blind to anything the factors do not
require (fine texture, artefacts the classifier ignores) and knows nothing of
ImageNet semantics.  It exists so that the embedded dataset, CI and air-gapped
machines get a meaningful quality curve without a 100 MB download.

Its training images come from a fixed procedural seed of their own, so the
detector does not depend on which seed or subset a run trains on.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import numpy as np
import torch

from trainer.metrics.cache import load_torch, save_torch
from trainer.metrics.detectors import Detector, as_rgb
from trainer.metrics.tiny_cnn import TinyCNN, deterministic_cpu, fit, predict, work_resolution

VERSION = 2   # 2: features scaled to unit mean square
TRAIN_SEED = 917_2020   # procedural seed of the detector's own training images
INIT_SEED = 0
N_TRAIN = 3000
N_CHECK = 500
EPOCHS = 5


class FactorSource(Protocol):
    """What the detector needs from trainer.data.procedural (injectable for tests)."""

    FACTORS: dict[str, int]

    def generate(self, seed: int, start: int, count: int, resolution: int) -> tuple[np.ndarray, dict[str, np.ndarray]]: ...


def _default_source() -> ModuleType:
    from trainer.data import procedural

    return procedural


def source_for(dataset_name: str) -> FactorSource | None:
    """The factor source of a procedural dataset's domain: None (domain a, the default) or domain b's.

    Each domain's detector learns that domain's own images (its cache key hashes them), so a run on domain b
    gets features of its shapes and palettes; FIDs of different domains are never comparable anyway."""
    if dataset_name.startswith("procedural-b-"):
        from trainer.data.procedural import DomainSource
        return DomainSource("b")
    return None


def _images_and_labels(source: FactorSource, start: int, count: int, resolution: int) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = source.generate(TRAIN_SEED, start, count, resolution)
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    y = torch.stack([torch.as_tensor(np.asarray(labels[name]), dtype=torch.long) for name in source.FACTORS], dim=1)
    return x, y


def fingerprint(source: FactorSource, resolution: int) -> str:
    """Hash of the factor table and a few training images: a changed generator invalidates the cache."""
    h = hashlib.sha1(repr(sorted(source.FACTORS.items())).encode())
    images, labels = source.generate(TRAIN_SEED, 0, 4, resolution)
    h.update(np.ascontiguousarray(images).tobytes())
    for name in sorted(labels):
        h.update(np.ascontiguousarray(labels[name]).tobytes())
    return h.hexdigest()[:10]


def train_offline_detector(source: FactorSource, resolution: int, *, n_train: int = N_TRAIN,
                           epochs: int = EPOCHS) -> tuple[TinyCNN, dict[str, Any]]:
    """Train the factor classifier on CPU, deterministically.

    Returns the network and {"accuracy": held-out accuracy per factor,
    "feature_scale": s}.  Features are multiplied by s so that their mean square
    on held-out images is 1: KID's cubic kernel (x.y/d + 1)^3 is not scale
    invariant and was designed for Inception features of about that size;
    unscaled, this network's larger activations make KID's variance explode.
    """
    x, y = _images_and_labels(source, 0, n_train + N_CHECK, resolution)
    work_res = work_resolution(resolution)
    with deterministic_cpu(INIT_SEED):
        net = TinyCNN(3, work_res, list(source.FACTORS.values()))
        xw = torch.nn.functional.interpolate(x, size=(work_res, work_res), mode="area") if work_res != resolution else x
        fit(net, xw[:n_train], y[:n_train], epochs=epochs, seed=INIT_SEED)
        preds = predict(net, xw[n_train:])
        with torch.no_grad():
            scale = float(net.features(xw[n_train:]).square().mean().rsqrt())
    accuracy = {name: float((p == y[n_train:, i]).float().mean()) for i, (name, p) in enumerate(zip(source.FACTORS, preds))}
    return net, {"accuracy": accuracy, "feature_scale": scale}


class OfflineDetector(Detector):
    """128-d penultimate features of the factor classifier; trained or loaded from cache on first use."""

    name = "offline"
    feature_dim = 128

    def __init__(self, resolution: int, metrics_dir: Path, device: torch.device, source: FactorSource | None = None) -> None:
        super().__init__(device)
        self.resolution = resolution
        self.metrics_dir = Path(metrics_dir)
        self._source = source
        self._key: str | None = None
        self._net: TinyCNN | None = None
        self.accuracy: dict[str, float] = {}
        self.feature_scale = 1.0

    @property
    def source(self) -> FactorSource:
        if self._source is None:
            self._source = _default_source()
        return self._source

    @property
    def cache_key(self) -> str:
        if self._key is None:
            self._key = f"offline-v{VERSION}-r{self.resolution}-{fingerprint(self.source, self.resolution)}"
        return self._key

    def weights_path(self) -> Path:
        return self.metrics_dir / "detectors" / f"{self.cache_key}.pt"

    def network(self) -> TinyCNN:
        """The trained network (from the cache, else trained now and cached atomically)."""
        if self._net is not None:
            return self._net
        path = self.weights_path()
        saved = load_torch(path)
        if saved is not None:
            net = TinyCNN(3, int(saved["work_res"]), saved["head_sizes"])
            net.load_state_dict(saved["state_dict"])
            info = {"accuracy": dict(saved["accuracy"]), "feature_scale": float(saved["feature_scale"])}
        else:
            net, info = train_offline_detector(self.source, self.resolution)
            save_torch(path, {"state_dict": net.state_dict(), "work_res": net.work_res,
                              "head_sizes": list(net.head_sizes), **info})
        self.accuracy, self.feature_scale = info["accuracy"], info["feature_scale"]
        self._net = net.eval().to(self.device)
        return self._net

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network().features(as_rgb(x)) * self.feature_scale
