"""The transfer figures (analysis.figures_transfer) draw the synthetic transfer sweep's known curves.

analysis.synthetic writes transfer_grid as the store does (a retried trial, an ERROR trial, Freeze-D only in
each trial's config JSON); its FIDs are synthetic_model.transfer_curve plus a per-seed offset centred on the
middle seed, so the median over seeds is the curve itself and every plotted value is known.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import MissingData, load_metrics
from analysis import figures as F
from analysis.figures_transfer import arms, transfer_configs
from analysis.synthetic import write_store
from analysis.synthetic_model import TRANSFER_SIZES, transfer_curve, transfer_p

SEEDS, TICKS = 3, 12
METRIC_TICKS = np.array([4, 8, 12])   # every 4th tick and the last (analysis.synthetic)
ARMS = {  # legend label -> (init_from set, Freeze-D, ADA)
    "from scratch, no augmentation": (False, 0, False), "from scratch, ADA": (False, 0, True),
    "from the source, no augmentation": (True, 0, False), "from the source, ADA": (True, 0, True),
    "from the source, Freeze-D 1, no augmentation": (True, 1, False), "from the source, Freeze-D 1, ADA": (True, 1, True),
}
N_SUFFIX = re.compile(r" \(n=\d+\)$")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    root = tmp_path_factory.mktemp("transfer")
    write_store(root, seeds=SEEDS, ticks=TICKS, sweeps=("transfer_grid",), samples=False)
    return root, load_metrics(root)


def _trial(size: int, arm: tuple[bool, int, bool]) -> pd.DataFrame:
    src, k, ada = arm
    return pd.DataFrame({"dataset_size": [size], "init_from": ["/s" if src else None], "freeze_d": [k],
                         "aug_mode": ["ada" if ada else "none"]})


def _lines(ax) -> dict[str, object]:
    """Legend label (without ' (n=3)') -> its data line: plain lines, and error-bar plots (the container is labelled)."""
    found = {N_SUFFIX.sub("", ln.get_label()): ln for ln in ax.get_lines() if not ln.get_label().startswith("_")}
    return {**found, **{N_SUFFIX.sub("", c.get_label()): c.lines[0] for c in ax.containers}}


def test_arms_read_freeze_d_from_the_config_json(store: tuple[Path, pd.DataFrame]) -> None:
    root, metrics = store
    got = arms(metrics, transfer_configs(metrics, root))
    counts = got.groupby(["start", "freeze", "aug"]).size()
    assert counts.to_dict() == {(s, k, a): SEEDS * len(TRANSFER_SIZES) for s, k in
                                (("from scratch", 0), ("from the source", 0), ("from the source", 1))
                                for a in ("ADA", "no augmentation")}
    # without the config JSON and sweep.json, Freeze-D is said to be unknown, never pooled with K = 0
    assert set(arms(metrics, None)["freeze"]) == {"Freeze-D not recorded"}


def test_fid_over_training_draws_each_arm_median_with_a_band(store: tuple[Path, pd.DataFrame]) -> None:
    root, metrics = store
    fig = F.draw_over_training(metrics, root, None)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 2 * len(TRANSFER_SIZES)   # FID per size, then ADA's p per size
    for ax, size in zip(axes, TRANSFER_SIZES):
        lines = _lines(ax)
        assert set(lines) == set(ARMS) and "(n=3)" in ax.get_legend().get_texts()[0].get_text()
        for label, arm in ARMS.items():
            np.testing.assert_allclose(lines[label].get_xdata(), METRIC_TICKS * 4.0)
            np.testing.assert_allclose(lines[label].get_ydata(), transfer_curve(_trial(size, arm), METRIC_TICKS / TICKS)[0],
                                       rtol=1e-9)
            assert lines[label].get_linestyle() == ("-" if arm[2] else "--")
        assert len(ax.collections) == len(ARMS)   # one band per arm: the seeds differ
        assert f"{size:g}" in ax.get_title().replace("1k", "1000").replace("5k", "5000")
    p_axes = axes[len(TRANSFER_SIZES):]
    for ax, size in zip(p_axes, TRANSFER_SIZES):
        lines = _lines(ax)
        assert set(lines) == {k for k, a in ARMS.items() if a[2]}
        np.testing.assert_allclose(lines["from scratch, ADA"].get_ydata(),
                                   transfer_p(_trial(size, ARMS["from scratch, ADA"]), np.arange(1, TICKS + 1) / TICKS)[0])


@pytest.mark.parametrize("which", ["final", "best"])
def test_fid_vs_size_per_arm(store: tuple[Path, pd.DataFrame], which: str) -> None:
    root, metrics = store
    ax = [a for a in F.draw_fid_vs_size(metrics, root, None).axes if a.get_visible()][0 if which == "final" else 1]
    assert which in ax.get_title() and ax.get_ylabel().startswith(f"{which} FID (offline detector)")
    lines = _lines(ax)
    assert set(lines) == set(ARMS)
    u = METRIC_TICKS / TICKS
    for label, arm in ARMS.items():
        curves = np.vstack([transfer_curve(_trial(n, arm), u)[0] for n in TRANSFER_SIZES])
        expect = curves[:, -1] if which == "final" else curves.min(axis=1)
        np.testing.assert_allclose(lines[label].get_ydata(), expect, rtol=1e-9)
        ratio = np.asarray(lines[label].get_xdata(), float) / np.array(TRANSFER_SIZES)
        assert np.allclose(ratio, ratio[0]) and abs(np.log10(ratio[0])) < 0.1   # dodged sideways, alike at every size
    # the known shape: from the source below from scratch at every size, ADA below none, Freeze-D below no Freeze-D
    y = {k: np.asarray(v.get_ydata(), float) for k, v in lines.items()}
    assert (y["from the source, no augmentation"] < y["from scratch, no augmentation"]).all()
    assert (y["from the source, ADA"] < y["from the source, no augmentation"]).all()
    assert (y["from the source, Freeze-D 1, ADA"] < y["from the source, ADA"]).all()


def test_freeze_d_from_sweep_json_while_trials_parquet_is_not_written(store: tuple[Path, pd.DataFrame],
                                                                      tmp_path: Path) -> None:
    """A running sweep has sweep.json but no trials.parquet yet: Freeze-D comes from the trial's params there."""
    root, metrics = store
    configs = transfer_configs(metrics, root)
    running = {**configs, "trials": configs["trials"].assign(config_json=None)}
    assert arms(metrics, running).set_index("trial_id")["freeze"].to_dict() == \
        arms(metrics, configs).set_index("trial_id")["freeze"].to_dict()
    assert set(arms(metrics, running)["freeze"]) == {0, 1}


def test_no_source_run_is_missing_data_naming_the_sweep(store: tuple[Path, pd.DataFrame]) -> None:
    root, metrics = store
    scratch = metrics[metrics["init_from"].isna()]
    for draw in (F.draw_over_training, F.draw_fid_vs_size):
        with pytest.raises(MissingData, match="python -m sweeps.launch transfer_grid"):
            draw(scratch, root, None)
