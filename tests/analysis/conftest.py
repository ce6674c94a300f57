"""Session fixtures for the analysis tests: the full synthetic study in the store layout.

`synthetic_root` holds every sweep (2 seeds, 8 ticks) with a retried trial per
sweep, an ERROR trial, histogram columns and sample PNGs; it is written once.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Under a bare `pytest` (not `python -m pytest`) the repo root is not on sys.path, and this very
# directory, tests/analysis, would be imported as a namespace package shadowing the real `analysis`.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import matplotlib  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

matplotlib.use("Agg")

from analysis.synthetic import write_store  # noqa: E402


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synthetic_store")
    write_store(root, seeds=2, ticks=8)
    return root


@pytest.fixture(scope="session")
def synthetic_metrics(synthetic_root: Path) -> pd.DataFrame:
    from analysis import load_metrics

    return load_metrics(synthetic_root)
