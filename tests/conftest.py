"""Session-wide test settings: a private cache dir, a headless plot backend, one torch thread per test.

The cache (procedural data, detector weights, real-data statistics) goes into one
temporary directory per test session, so tests never depend on what a developer's
own ~/.cache holds, yet the expensive pieces are built only once per session.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("MPLBACKEND", "Agg")
if "GANAUG_CACHE" not in os.environ:
    os.environ["GANAUG_CACHE"] = tempfile.mkdtemp(prefix="ganaug-test-cache-")


@pytest.fixture(scope="session")
def real_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two small real sweeps (fixed_p_grid: 3 trials, overfitting: 2) through `python -m sweeps.launch` into one root.

    Session-wide: the analysis tests draw from it and the results-format test validates what it wrote."""
    root = tmp_path_factory.mktemp("real_store")
    _launch("fixed_p_grid", root, "augment.augpipe=blit", "data.dataset_size=200")
    _launch("overfitting", root, "data.val_size=200")
    return root


def _launch(name: str, storage: Path, *extra: str) -> None:
    sys.path.insert(0, str(ROOT / "tests" / "sweeps"))
    from launch_helpers import FAST
    small = [s for s in FAST if not s.startswith("data.dataset_size=")] + ["run.total_kimg=2"]  # keeps overfitting's sizes
    sets = [a for s in [*small, *extra] for a in ("--set", s)]
    proc = subprocess.run([sys.executable, "-m", "sweeps.launch", name, "--storage", str(storage), *sets],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """One torch thread per test, restored after: the nets are tiny, other tests run alongside, determinism tests
    want one thread.  Only where the test module already imported torch (analysis tests must not need it)."""
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
