"""The three leakage measures together: one pass over held-out reals, then streaming over generated images.

Augmentation "leaks" when G learns to reproduce it (docs/papers.md §1, ADA Fig 3).
Each measure compares generated images with reals (see leak_rotation.py,
leak_color.py, leak_blank.py for definitions and calibration); this module
chooses the reals, computes their reference values once per suite, and turns
per-image values of generated chunks into `leak_rot`, `leak_color`, `leak_blank`.

Reals are split by a fixed seed into the rotation classifier's training images
and disjoint reference images (so the classifier's false-positive rate on the
reference is the one it will have on unseen images, like G's).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trainer.metrics.detectors import BATCH
from trainer.metrics.leak_blank import blank_flags
from trainer.metrics.leak_color import color_scale, color_stats, leak_color
from trainer.metrics.leak_rotation import RotationClassifier, rotated_fraction
from trainer.metrics.real_stats import uint8_to_float

KINDS = ("rot", "color", "blank")
SPLIT_SEED = 2020
N_ROT_TRAIN = 1000
N_ROT_CHECK = 256


def split_reals(total: int, n_train: int, n_ref: int) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint (classifier training, reference) indices; small datasets give each at most half."""
    perm = np.random.default_rng(SPLIT_SEED).permutation(total)
    n_ref = min(n_ref, total // 2)
    n_train = min(n_train, total - n_ref)
    return np.sort(perm[:n_train]), np.sort(perm[total - n_ref:])


@dataclass
class LeakCollector:
    """Per-image values of one set of images, accumulated chunk by chunk."""

    meter: "LeakageMeter"
    parts: dict[str, list[np.ndarray]] = field(default_factory=dict)
    count: int = 0

    def add(self, x: torch.Tensor) -> None:
        for kind, values in self.meter.per_image(x).items():
            self.parts.setdefault(kind, []).append(values)
        self.count += x.shape[0]

    def values(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v) for k, v in self.parts.items()}


class LeakageMeter:
    """Reference values from reals (lazily, once) and leak numbers for generated images."""

    def __init__(self, kinds: tuple[str, ...], images: Any, *, dataset_name: str, metrics_dir: Path,
                 device: torch.device, n_ref: int) -> None:
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown leakage kinds {sorted(unknown)}")
        self.kinds = tuple(kinds)
        self.images = images
        self.device = torch.device(device)
        train_idx, self.ref_idx = split_reals(len(images), N_ROT_TRAIN, n_ref)
        self.rotation = (RotationClassifier(images, train_idx, self.ref_idx[:N_ROT_CHECK], dataset_name=dataset_name,
                                            metrics_dir=metrics_dir, device=device) if "rot" in kinds else None)
        self._ref: dict[str, Any] | None = None

    def per_image(self, x: torch.Tensor) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        if "rot" in self.kinds and self.rotation is not None:
            out["rot"] = self.rotation.implied(x).numpy()
        if "color" in self.kinds:
            out["color"] = color_stats(x)
        if "blank" in self.kinds:
            out["blank"] = blank_flags(x).numpy()
        return out

    def collector(self) -> LeakCollector:
        return LeakCollector(self)

    @torch.no_grad()
    def reference(self) -> dict[str, Any]:
        """Per-kind reference of the held-out reals: rotated and blank fractions, colour sample and scale."""
        if self._ref is None:
            col = self.collector()
            for start in range(0, len(self.ref_idx), BATCH):
                col.add(uint8_to_float(self.images.batch(self.ref_idx[start:start + BATCH])).to(self.device))
            vals = col.values()
            ref: dict[str, Any] = {}
            if "rot" in vals:
                ref["rot"] = rotated_fraction(vals["rot"])
            if "blank" in vals:
                ref["blank"] = float(vals["blank"].mean())
            if "color" in vals:
                ref["color"] = vals["color"]
                ref["color_scale"] = color_scale(vals["color"])
            self._ref = ref
        return self._ref

    def result(self, gen: LeakCollector) -> dict[str, float | None]:
        """leak_rot, leak_color, leak_blank of the generated images in `gen` (None when disabled)."""
        ref = self.reference()
        vals = gen.values() if gen.count else {}
        out: dict[str, float | None] = {"leak_rot": None, "leak_color": None, "leak_blank": None}
        if "rot" in vals:
            q_gen = rotated_fraction(vals["rot"])
            out["leak_rot"] = q_gen - ref["rot"] if q_gen is not None and ref["rot"] is not None else None
        if "blank" in vals:
            out["leak_blank"] = float(vals["blank"].mean()) - ref["blank"]
        if "color" in vals:
            out["leak_color"] = float(leak_color(vals["color"], ref["color"], ref["color_scale"]))
        return out
