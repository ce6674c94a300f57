"""Per-image random draws from an optional explicit generator (augmentation replays exactly).

Every random number of the pipeline comes through one `Draws` object, so a
given `torch.Generator` replays a batch's augmentation exactly.  Numbers are
drawn on the generator's own device (a CPU generator cannot fill a CUDA tensor)
and then moved to the images' device.
"""

from __future__ import annotations

import torch


class Draws:
    """Random tensors on `device`, drawn from `generator` (or the device's default RNG)."""

    def __init__(self, device: torch.device, generator: torch.Generator | None = None) -> None:
        self.device = device
        self.generator = generator
        self._src = generator.device if generator is not None else device

    def rand(self, *shape: int) -> torch.Tensor:
        """U[0, 1) float32."""
        return torch.rand(shape, generator=self.generator, device=self._src).to(self.device)

    def randn(self, *shape: int) -> torch.Tensor:
        """N(0, 1) float32."""
        return torch.randn(shape, generator=self.generator, device=self._src).to(self.device)

    def randint(self, low: int, high: int, *shape: int) -> torch.Tensor:
        """Integers uniform in [low, high) (int64)."""
        return torch.randint(low, high, shape, generator=self.generator, device=self._src).to(self.device)

    def randn_like(self, x: torch.Tensor) -> torch.Tensor:
        """N(0, 1) with x's shape, dtype and device (per-pixel noise)."""
        return torch.randn(x.shape, generator=self.generator, device=self._src, dtype=x.dtype).to(x.device)

    def gate(self, n: int, prob: float) -> torch.Tensor:
        """One bool per image: True with probability `prob` (ADA: apply when rand < p)."""
        return self.rand(n) < prob
