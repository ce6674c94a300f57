"""ADA Fig 1a per method (analysis.figures_size) draws the synthetic dataset_size_grid's known curves, at one size too.

The synthetic store's dataset_size_grid (no augmentation / ADA r_t 0.6 bgc / DiffAugment, three seeds) gets FIDs
and p set here to a known curve plus a per-seed offset centred on the middle seed, so the median over seeds at each
kimg is the curve itself and the seeds spread into a band.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import MissingData, load_metrics
from analysis import figures as F
from analysis.synthetic import write_store

SEEDS, TICKS = 3, 12
KIMG = np.array([4, 8, 12]) * 4.0   # metric ticks: every 4th and the last, 4 kimg per tick
SCALE = {"none": 1.0, "ada": 0.6, "diffaugment": 0.8}
ARMS = {"no augmentation (baseline)": "none", "ADA rt 0.6 (bgc)": "ada",
        "DiffAugment color,translation,cutout": "diffaugment"}
N_SUFFIX = re.compile(r" \(n=(\d+)\)$")


def _fid(mode: str, n_eff: np.ndarray | float, kimg: np.ndarray) -> np.ndarray:
    return 100.0 * SCALE[mode] * (1000.0 / np.asarray(n_eff, float)) ** 0.2 * 48.0 / kimg


def _p(kimg: np.ndarray) -> np.ndarray:
    return 0.5 * kimg / 48.0


@pytest.fixture(scope="module")
def metrics(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    root = tmp_path_factory.mktemp("sizes")
    write_store(root, seeds=SEEDS, ticks=TICKS, sweeps=("dataset_size_grid",), samples=False)
    m = load_metrics(root)
    m = m[m["mirror"].astype(bool).eq(False) & m["dataset_size"].isin([1_000, 10_000])].copy()
    n_eff, off = m["dataset_size"].to_numpy(float), m["seed"].to_numpy(float) - 1
    fid = np.array([_fid(mode, n, np.array([k]))[0] for mode, n, k in zip(m["aug_mode"], n_eff, m["kimg"])])
    m["fid"] = np.where(m["fid"].notna(), fid * (1 + 0.05 * off), np.nan)
    m["p"] = np.where(m["aug_mode"] == "ada", _p(m["kimg"].to_numpy(float)) + 0.02 * off, 0.0)
    return m


def _lines(ax) -> dict[str, object]:
    return {N_SUFFIX.sub("", ln.get_label()): ln for ln in ax.get_lines() if not ln.get_label().startswith("_")}


def _check(fig, sizes: list[int]) -> None:
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 2 * len(sizes)   # FID per size, then ADA's p per size
    for ax, size in zip(axes, sizes):
        lines = _lines(ax)
        assert set(lines) == set(ARMS) and f"{size:,}".replace(",", "") in ax.get_title().replace("k", "000")
        for label, mode in ARMS.items():
            np.testing.assert_allclose(lines[label].get_xdata(), KIMG)
            np.testing.assert_allclose(lines[label].get_ydata(), _fid(mode, size, KIMG), rtol=1e-9)
            assert lines[label].get_linestyle() == ("--" if mode == "none" else "-")
        assert len(ax.collections) == len(ARMS)   # one band per arm: the seeds differ
        assert ax.get_yscale() == "log"
        assert [N_SUFFIX.search(t.get_text()).group(1) for t in ax.get_legend().get_texts()] == ["3"] * 3
    for ax in axes[len(sizes):]:
        lines = _lines(ax)
        assert set(lines) == {"ADA rt 0.6 (bgc)"} and "p" in ax.get_title()
        np.testing.assert_allclose(lines["ADA rt 0.6 (bgc)"].get_xdata(), np.arange(1, TICKS + 1) * 4.0)
        np.testing.assert_allclose(lines["ADA rt 0.6 (bgc)"].get_ydata(), _p(np.arange(1, TICKS + 1) * 4.0))
        assert len(ax.collections) == 1


def test_per_method_curves_at_two_sizes(metrics: pd.DataFrame) -> None:
    _check(F.fig1a_per_method(metrics), [1_000, 10_000])


def test_one_size_is_enough(metrics: pd.DataFrame) -> None:
    """A sweep run in parts, one size per part: Fig 7 skips, this figure still draws."""
    one = metrics[metrics["dataset_size"] == 1_000]
    _check(F.fig1a_per_method(one), [1_000])
    with pytest.raises(MissingData, match="only one training-set size"):
        F.fig7_fid_vs_size(one)


def test_without_fids_is_missing_data_naming_the_sweep(metrics: pd.DataFrame) -> None:
    with pytest.raises(MissingData, match="python -m sweeps.launch dataset_size_grid"):
        F.fig1a_per_method(metrics.assign(fid=np.nan))


def test_one_method_alone_is_missing_data(metrics: pd.DataFrame) -> None:
    with pytest.raises(MissingData, match="one method only \\(ada\\)"):
        F.fig1a_per_method(metrics[metrics["aug_mode"] == "ada"])
