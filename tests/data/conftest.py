"""Fixtures of the data tests; the format writers live in datafiles.py (importable from these tests)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture()
def cache(tmp_path: Path) -> Path:
    """A fresh cache dir per test, so cache reuse and rebuilds are observable."""
    return tmp_path / "cache"
