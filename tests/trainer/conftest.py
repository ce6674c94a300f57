"""Fixtures for the trainer tests (one torch thread per test comes from tests/conftest.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))   # lets the test modules import fast_config
