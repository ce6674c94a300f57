"""MetricSuite end to end on the embedded procedural data (via trainer.data.load_dataset), and the real-statistics cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trainer.config import MetricsConfig
from trainer.metrics import RESULT_KEYS, MetricSuite
from trainer.metrics.detectors import RandomDetector
from trainer.metrics.real_stats import real_stats, stats_path, uint8_to_float

CFG = MetricsConfig(detector="auto", fid_samples=300, fid_real=1000, kid_subsets=5, kid_subset_size=100,
                    dout_samples=64, leak_samples=200, hist_bins=16, hist_range=4.0)


def _reals_generator(images, start: int, blur: bool = False):
    """generate(n) that serves held-out reals (the best a G could do), or blurred ones (a blurry G)."""
    state = {"next": start}

    def generate(n: int) -> torch.Tensor:
        idx = np.arange(state["next"], state["next"] + n) % len(images)
        state["next"] += n
        x = uint8_to_float(images.batch(idx))
        return torch.nn.functional.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False) if blur else x
    return generate


def _d(x: torch.Tensor) -> torch.Tensor:
    return x.mean(dim=(1, 2, 3)) * 10


@pytest.fixture(scope="module")
def suite(procedural_bundle, cache_dir) -> MetricSuite:
    return MetricSuite(CFG, procedural_bundle, torch.device("cpu"), cache_dir=cache_dir, seed=0)


def test_evaluate_returns_exactly_the_contract_keys(suite, procedural_bundle) -> None:
    assert suite.detector_name == "offline"
    row = suite.evaluate(_reals_generator(procedural_bundle.val, 0), _d)
    assert tuple(row) == RESULT_KEYS
    assert row["detector"] == "offline"
    for key in ("fid", "kid", "D_real_train", "D_real_val", "D_fake", "d_gap_train_val", "leak_rot", "leak_color",
                "leak_blank", "time_fid_s", "time_leak_s"):
        assert isinstance(row[key], float), key
    # held-out reals are the "generated" images: D cannot tell train from fake beyond noise, so r_v is left null
    assert row["r_v"] is None and isinstance(row["fid_ref_size"], int)
    assert len(row["D_hist_fake"]) == 16 and len(row["D_hist_edges"]) == 17
    # held-out reals as "generated" images: nothing leaks
    assert abs(row["leak_rot"]) < 0.03 and abs(row["leak_blank"]) < 0.01 and row["leak_color"] < 0.15
    assert row["time_fid_s"] > 0 and row["time_leak_s"] > 0
    assert set(suite.last_timings) == {"fid", "dout", "leak"}


def test_fid_and_kid_rank_reals_below_blurred_images(suite, procedural_bundle) -> None:
    clean = suite.evaluate(_reals_generator(procedural_bundle.val, 0), _d)
    blurred = suite.evaluate(_reals_generator(procedural_bundle.val, 0, blur=True), _d)
    # measured at 300 samples: clean ~13 (small-sample bias), blurred ~75
    assert blurred["fid"] > 3 * clean["fid"] and blurred["kid"] > clean["kid"] + 0.05
    assert abs(clean["kid"]) < 0.05


def test_disabled_parts_are_none(procedural_bundle, cache_dir) -> None:
    cfg = CFG.model_copy(update={"detector": "random", "kid": False, "leakage": ("color",)})
    row = MetricSuite(cfg, procedural_bundle, torch.device("cpu"), cache_dir=cache_dir).evaluate(
        _reals_generator(procedural_bundle.val, 0), _d)
    assert row["detector"] == "random" and row["kid"] is None
    assert row["leak_rot"] is None and row["leak_blank"] is None and isinstance(row["leak_color"], float)


def test_bad_generator_output_is_refused(suite) -> None:
    with pytest.raises(ValueError, match="generate"):
        suite.evaluate(lambda n: torch.zeros(n + 1, 3, 16, 16), _d)


def test_real_statistics_are_cached_and_reused(bundle, metrics_dir) -> None:
    det = RandomDetector("cpu")
    full = bundle.full
    before = full.calls
    first = real_stats(full, det, dataset_name=bundle.name, resolution=16, count=700, metrics_dir=metrics_dir)
    computed = full.calls - before
    assert computed == 3                                   # 700 images in batches of <= 256
    assert stats_path(metrics_dir, bundle.name, det, 16, 700, 10_000).is_file()
    second = real_stats(full, det, dataset_name=bundle.name, resolution=16, count=700, metrics_dir=metrics_dir)
    assert full.calls - before == computed                 # nothing recomputed
    np.testing.assert_array_equal(first.sigma, second.sigma)
    assert first.kid_features.shape == (700, 256) and second.count == 700
    real_stats(full, det, dataset_name=bundle.name, resolution=16, count=600, metrics_dir=metrics_dir)
    assert full.calls - before == computed + 3             # another count is another entry
