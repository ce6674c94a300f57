"""Shared fixtures of the metrics tests: one cache dir per session (trained nets are reused), data stand-ins.

Torch runs single-threaded (tests/conftest.py `_one_thread`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from metrics_standin import Bundle, StandInSource, standin_bundle  # noqa: E402


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("metrics-cache")


@pytest.fixture(scope="session")
def bundle() -> Bundle:
    return standin_bundle()


@pytest.fixture(scope="session")
def source() -> StandInSource:
    return StandInSource()


@pytest.fixture(scope="session")
def metrics_dir(cache_dir: Path) -> Path:
    """Where MetricSuite(cache_dir=cache_dir) keeps its files, so direct uses and suites share trained nets."""
    return cache_dir / "metrics"


@pytest.fixture(scope="session")
def procedural_bundle(cache_dir: Path):
    """The real embedded dataset through trainer.data.load_dataset at 16 px: full 3000, train 500, val 500."""
    from trainer.config import DataConfig
    from trainer.data import load_dataset

    cfg = DataConfig(resolution=16, dataset_size=500, val_size=500, procedural_count=3000)
    return load_dataset(cfg, cache_dir=cache_dir)


@pytest.fixture(scope="session")
def procedural_b_bundle(cache_dir: Path):
    """Domain b of the embedded dataset (procedural:domain=b), the same sizes as procedural_bundle."""
    from trainer.config import DataConfig
    from trainer.data import load_dataset

    cfg = DataConfig(source="procedural:domain=b", resolution=16, dataset_size=500, val_size=500, procedural_count=3000)
    return load_dataset(cfg, cache_dir=cache_dir)
