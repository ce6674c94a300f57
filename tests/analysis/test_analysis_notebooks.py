"""The per-sweep notebooks run top to bottom on synthetic results in the store layout.

They are executed with nbclient in a python3 kernel of this interpreter, with
GANAUG_RESULTS pointing at the synthetic storage root, so a renamed figure
function or a broken loader fails here rather than in a user's Jupyter.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[2] / "analysis" / "notebooks"
NAMES = ("fixed_p", "ada_target", "dataset_size", "leakage", "overfitting", "diffaugment")


def test_one_notebook_per_sweep_family_and_they_are_committed_without_outputs() -> None:
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == sorted(NAMES)
    for name in NAMES:
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert "GANAUG_RESULTS" in code and "load_metrics" in code
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_notebooks_execute_and_draw(synthetic_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """All six run in one kernel (cells concatenated, each notebook's setup cell reloads its data): one kernel
    start instead of six keeps this test inside the suite's time budget."""
    monkeypatch.setenv("GANAUG_RESULTS", str(synthetic_root))
    merged = nbformat.v4.new_notebook()
    for name in NAMES:
        for cell in nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4).cells:
            cell.metadata["notebook"] = name
            merged.cells.append(cell)
    NotebookClient(merged, timeout=180, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    for name in NAMES:
        cells = [c for c in merged.cells if c.cell_type == "code" and c.metadata["notebook"] == name]
        outputs = [o for c in cells for o in c.outputs]
        assert not [o for o in outputs if o.output_type == "error"], name
        images = [o for o in outputs if "image/png" in o.get("data", {})]
        n_figs = sum("F.fig" in c.source for c in cells)
        assert len(images) == n_figs >= 1, f"{name}: {len(images)} images for {n_figs} figure cells"
