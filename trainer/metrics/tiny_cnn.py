"""A small convolutional classifier and its deterministic CPU training loop.

Shared by the offline FID detector (predicts the procedural data's factors) and
the rotation-leak classifier (predicts k of a k*90 degree rotation).  Both are
trained once and cached, and a metric whose feature network changed from one
run to the next would silently shift every number; so training is made
bit-reproducible: CPU only, one thread, `torch.use_deterministic_algorithms`,
seeded initialisation and a seeded batch order (the tests check bit for bit).
The global RNG, thread count and determinism flag are restored afterwards (Ray
reuses worker processes, so no global state may leak out of a metric).

Inputs are area-downsampled to at most `MAX_WORK_RES` px: these networks only
need coarse structure (factors, which way is up), and it keeps their training
under a minute on one core at any dataset resolution.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

MAX_WORK_RES = 32


def work_resolution(resolution: int) -> int:
    return min(resolution, MAX_WORK_RES)


def to_work_res(x: torch.Tensor, work_res: int) -> torch.Tensor:
    """Area-downsample (or bilinearly upsample) square images to `work_res`."""
    if x.shape[-1] == work_res:
        return x
    mode = "area" if x.shape[-1] > work_res else "bilinear"
    return F.interpolate(x, size=(work_res, work_res), mode=mode)


class TinyCNN(nn.Module):
    """Four 3x3 convs (three of stride 2), a flatten that keeps *where* things are, a feature layer, heads.

    The penultimate layer (`features`) is what the offline detector hands to FID.
    """

    def __init__(self, in_channels: int, work_res: int, head_sizes: Sequence[int], feature_dim: int = 128) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.work_res = work_res
        self.head_sizes = tuple(int(h) for h in head_sizes)
        self.trunk = nn.Sequential(
            nn.Conv2d(in_channels, 16, 3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(64, 64, 3, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(),
        )
        side = work_res
        for _ in range(3):  # a 3x3 stride-2 conv with padding 1 maps n to ceil(n / 2)
            side = (side + 1) // 2
        self.embed = nn.Sequential(nn.Linear(64 * side * side, feature_dim), nn.ReLU())
        self.head = nn.Linear(feature_dim, sum(self.head_sizes))
        self.feature_dim = feature_dim

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(self.trunk(to_work_res(x, self.work_res)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def split_logits(self, logits: torch.Tensor) -> list[torch.Tensor]:
        return list(torch.split(logits, list(self.head_sizes), dim=1))


@contextmanager
def deterministic_cpu(seed: int) -> Iterator[None]:
    """Single-threaded, deterministic, seeded torch for the duration; previous settings restored."""
    threads = torch.get_num_threads()
    det = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        torch.set_num_threads(1)
        torch.use_deterministic_algorithms(True)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield
    finally:
        torch.use_deterministic_algorithms(det, warn_only=warn_only)
        torch.set_num_threads(threads)


def fit(net: TinyCNN, images: torch.Tensor, labels: torch.Tensor, *, epochs: int, seed: int,
        batch: int = 64, lr: float = 3e-3) -> None:
    """Train `net` on CPU (multi-head cross-entropy; labels [N, heads]) deterministically.

    Call inside `deterministic_cpu` (the network must also be built there, so
    its initialisation is seeded).  Grad is enabled here because detectors are
    trained lazily, from inside the metrics' no_grad evaluation.
    """
    if labels.ndim == 1:
        labels = labels[:, None]
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    order_rng = np.random.default_rng(seed)
    net.train()
    with torch.enable_grad():
        _epochs(net, opt, images, labels, epochs, batch, order_rng)
    net.eval()


def _epochs(net: TinyCNN, opt: torch.optim.Optimizer, images: torch.Tensor, labels: torch.Tensor,
            epochs: int, batch: int, order_rng: np.random.Generator) -> None:
    for _ in range(epochs):
        order = torch.from_numpy(order_rng.permutation(images.shape[0]))
        for start in range(0, len(order), batch):
            idx = order[start:start + batch]
            logits = net.split_logits(net(images[idx]))
            loss = sum(F.cross_entropy(lg, labels[idx, h]) for h, lg in enumerate(logits))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()


@torch.no_grad()
def predict(net: TinyCNN, images: torch.Tensor, batch: int = 256) -> list[torch.Tensor]:
    """Arg-max class per head, [N] each, for images already on the net's device."""
    outs: list[list[torch.Tensor]] = [[] for _ in net.head_sizes]
    for start in range(0, images.shape[0], batch):
        for h, lg in enumerate(net.split_logits(net(images[start:start + batch]))):
            outs[h].append(lg.argmax(dim=1))
    return [torch.cat(o) for o in outs]
