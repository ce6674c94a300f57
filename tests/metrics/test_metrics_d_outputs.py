"""D-output statistics with stub discriminators whose logits are known (trainer/metrics/d_outputs.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trainer.config import MetricsConfig
from trainer.metrics import MetricSuite
from trainer.metrics.d_outputs import dout_stats, histogram

from metrics_standin import ArrayImageSet, Bundle


def test_constant_logits_give_exact_statistics() -> None:
    out = dout_stats(np.full(10, 3.0), np.full(7, 1.0), np.full(5, -2.0), bins=32, half_range=8.0)
    assert (out["D_real_train"], out["D_real_val"], out["D_fake"]) == (3.0, 1.0, -2.0)
    assert (out["acc_real_train"], out["acc_real_val"], out["acc_fake"]) == (1.0, 1.0, 1.0)
    assert out["r_v"] == pytest.approx((3.0 - 1.0) / (3.0 + 2.0))
    edges = out["D_hist_edges"]
    assert len(edges) == 33 and edges[0] == -8.0 and edges[-1] == 8.0
    # bins are 0.5 wide: 3.0 opens bin 22, 1.0 opens bin 18, -2.0 opens bin 12
    for key, b in (("D_hist_real_train", 22), ("D_hist_real_val", 18), ("D_hist_fake", 12)):
        expected = np.zeros(32)
        expected[b] = 1.0
        np.testing.assert_array_equal(out[key], expected)


def test_accuracy_sign_convention_and_clipping() -> None:
    out = dout_stats(np.array([1.0, -1.0, 0.0, 2.0]), None, np.array([-1.0, 0.0, 1.0, -3.0]), bins=4, half_range=2.0)
    assert out["acc_real_train"] == 0.5     # 0.0 is not > 0
    assert out["acc_fake"] == 0.5           # 0.0 is not < 0
    assert out["D_real_val"] is None and out["acc_real_val"] is None and out["D_hist_real_val"] is None
    assert out["r_v"] is None
    assert histogram(np.array([-100.0, 100.0, 0.1, -0.1]), bins=4, half_range=2.0) == [0.25, 0.25, 0.25, 0.25]
    assert sum(histogram(np.random.default_rng(0).normal(0, 5, 999), 16, 8.0)) == pytest.approx(1.0)


def test_r_v_undefined_when_train_equals_fake() -> None:
    assert dout_stats(np.zeros(4), np.ones(4), np.zeros(4), 8, 8.0)["r_v"] is None


def test_r_v_is_null_when_its_denominator_is_within_noise_and_the_gap_is_reported() -> None:
    rng = np.random.default_rng(0)
    n = 1000                                         # the suite's dout_samples
    train, val = rng.normal(0.02, 1.0, n), rng.normal(0.014, 1.0, n)
    # E[D_train] - E[D_fake] = 0.02 logits with logit sd 1: its standard error is ~0.045, so r_v would be a ratio
    # of noise (the real-data case: a 0.006-logit gap read r_v 0.30); the rule leaves it null
    fake = rng.normal(0.0, 1.0, n)
    out = dout_stats(train, val, fake, 8, 8.0)
    assert out["r_v"] is None
    assert out["d_gap_train_val"] == pytest.approx(train.mean() - val.mean())
    # the same gap with D clearly separating train from fake (1 logit, ~22 standard errors): r_v is defined
    out = dout_stats(train, val, fake - 1.0, 8, 8.0)
    assert out["r_v"] == pytest.approx((train.mean() - val.mean()) / (train.mean() - fake.mean() + 1.0))


def _tagged_bundle() -> Bundle:
    """Train images have a 255 tag pixel, validation images a 0 tag; the stub D reads the tag."""
    rng = np.random.default_rng(0)
    train = rng.integers(60, 200, (40, 3, 16, 16), dtype=np.uint8)
    val = rng.integers(60, 200, (30, 3, 16, 16), dtype=np.uint8)
    train[:, 0, 0, 0], val[:, 0, 0, 0] = 255, 0
    full = ArrayImageSet(np.concatenate([train, val]))
    return Bundle(train=ArrayImageSet(train), val=ArrayImageSet(val), full=full, name="tagged", resolution=16, channels=3, num_unique=40)


def _stub_d(x: torch.Tensor) -> torch.Tensor:
    tag = x[:, 0, 0, 0]
    return torch.where(tag > 0.99, 3.0, torch.where(tag < -0.99, 1.0, -2.0))


def test_suite_reports_stub_discriminator_statistics(cache_dir) -> None:
    cfg = MetricsConfig(detector="random", fid_samples=20, fid_real=None, kid=False, dout_samples=16, leakage=(),
                        hist_bins=32, hist_range=8.0)
    suite = MetricSuite(cfg, _tagged_bundle(), torch.device("cpu"), cache_dir=cache_dir)
    calls: list[int] = []
    gen = torch.Generator().manual_seed(0)

    def generate(n: int) -> torch.Tensor:
        calls.append(n)
        x = torch.rand(n, 3, 16, 16, generator=gen) - 0.5
        x[:, 0, 0, 0] = 0.0                # tag 0.0 -> the stub says fake (-2)
        return x

    row = suite.evaluate(generate, _stub_d)
    assert (row["D_real_train"], row["D_real_val"], row["D_fake"]) == (3.0, 1.0, -2.0)
    assert (row["acc_real_train"], row["acc_real_val"], row["acc_fake"]) == (1.0, 1.0, 1.0)
    assert row["r_v"] == pytest.approx(0.4) and row["d_gap_train_val"] == 2.0
    assert row["fid_ref_size"] == 70                   # fid_real=None: every image of the full set (40 + 30)
    assert row["D_hist_real_train"][22] == 1.0 and row["D_hist_fake"][12] == 1.0
    assert row["kid"] is None and row["leak_rot"] is None and row["time_leak_s"] is None
    assert sum(calls) == 20 and max(calls) <= 256
