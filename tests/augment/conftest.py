"""Shared fixtures for the augmentation tests: a smooth test image batch (one torch thread: tests/conftest.py)."""

from __future__ import annotations

import pytest
import torch


def smooth_batch(n: int, c: int = 3, size: int = 32, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Low-frequency images in [-1, 1]: resampling errors stay tiny, so exactness tests are meaningful."""
    yy, xx = torch.meshgrid(torch.arange(size, dtype=torch.float64) + 0.5,
                            torch.arange(size, dtype=torch.float64) + 0.5, indexing="ij")
    imgs = []
    for i in range(n):
        chans = [0.6 * torch.sin(xx / (4.0 + i + k) + k) * torch.cos(yy / (5.0 + k) - i) for k in range(c)]
        imgs.append(torch.stack(chans))
    return torch.stack(imgs).to(dtype)


@pytest.fixture
def smooth():
    """The `smooth_batch` factory (conftest modules are not importable by name)."""
    return smooth_batch
