"""FID and KID against closed forms and known orderings (trainer/metrics/fid_kid.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trainer.metrics.detectors import RandomDetector
from trainer.metrics.fid_kid import StatsAccumulator, feature_stats, fid_from_stats, kid_from_features
from trainer.metrics.real_stats import uint8_to_float


def _spd(rng: np.random.Generator, d: int) -> np.ndarray:
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def test_fid_of_a_set_against_itself_is_zero() -> None:
    feats = np.random.default_rng(0).normal(size=(2000, 16))
    mu, sigma = feature_stats(feats)
    assert abs(fid_from_stats(mu, sigma, mu, sigma)) < 1e-6


def test_fid_matches_closed_form_for_two_gaussians() -> None:
    rng = np.random.default_rng(1)
    d = 8
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = _spd(rng, d), _spd(rng, d)
    # Another route to Tr((S1 S2)^1/2): the square roots of the (real, positive) eigenvalues of the product itself.
    eig = np.linalg.eigvals(s1 @ s2)
    assert np.abs(eig.imag).max() < 1e-9 and eig.real.min() > 0
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2) - 2 * np.sqrt(eig.real).sum()
    assert fid_from_stats(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9, abs=1e-9)
    # Diagonal case by hand: |dmu|^2 + sum (sqrt(a) - sqrt(b))^2.
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    fid = fid_from_stats(np.zeros(3), np.diag(a), np.array([1.0, 2.0, 0.0]), np.diag(b))
    assert fid == pytest.approx(5.0 + 1.0 + 1.0 + 0.0, abs=1e-9)


def test_streaming_stats_equal_numpy_cov() -> None:
    feats = np.random.default_rng(2).normal(size=(700, 12)) * 3 + 5
    acc = StatsAccumulator(12)
    for start in range(0, 700, 256):
        acc.add(feats[start:start + 256])
    mu, sigma = acc.result()
    mu_ref, sigma_ref = feats.mean(axis=0), np.cov(feats, rowvar=False)
    np.testing.assert_allclose(mu, mu_ref, rtol=1e-12)
    np.testing.assert_allclose(sigma, sigma_ref, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(feature_stats(feats)[1], sigma_ref, rtol=1e-12, atol=1e-12)


def test_fid_grows_monotonically_with_gaussian_noise(bundle) -> None:
    det = RandomDetector("cpu")
    reals = uint8_to_float(bundle.full.batch(np.arange(600)))
    others = uint8_to_float(bundle.full.batch(np.arange(600, 1200)))
    mu_r, s_r = feature_stats(det(reals).numpy())
    gen = torch.Generator().manual_seed(0)
    fids = []
    for sigma in (0.0, 0.05, 0.1, 0.2, 0.4):
        noisy = (others + sigma * torch.randn(others.shape, generator=gen)).clamp(-1, 1)
        fids.append(fid_from_stats(*feature_stats(det(noisy).numpy()), mu_r, s_r))
    assert all(b > a for a, b in zip(fids, fids[1:])), fids
    assert fids[-1] > 5 * fids[0]


def test_kid_near_zero_for_one_distribution_and_positive_for_two() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(1000, 32)), rng.normal(size=(1000, 32))
    same = kid_from_features(a, b, subsets=20, subset_size=500, seed=0)
    shifted = kid_from_features(a, b + 0.3, subsets=20, subset_size=500, seed=0)
    assert abs(same) < 0.01      # measured spread over 20 draws: sd 0.0016, max |kid| 0.0033
    assert shifted > 0.2         # expected ~0.30 for a 0.3 shift in every dimension
    assert kid_from_features(a, b, 5, 100, seed=1) == kid_from_features(a, b, 5, 100, seed=1)


def _scipy_fid(a: np.ndarray, b: np.ndarray) -> float:
    """The reference recipe written out directly: np.cov, scipy.linalg.sqrtm of the product, real part."""
    import scipy.linalg

    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(s1 @ s2)
    return float(np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(root.real))


@pytest.mark.filterwarnings("ignore::scipy.linalg.LinAlgWarning")
@pytest.mark.parametrize("n", [1000, 40])     # full-rank, and fewer samples than dimensions (singular covariances)
def test_fid_matches_direct_scipy_on_random_features(n: int) -> None:
    rng = np.random.default_rng(n)
    d = 64
    mix = rng.normal(size=(d, d)) / np.sqrt(d)
    a = np.maximum(rng.normal(size=(n, d)) @ mix, 0)                 # ReLU-like, correlated, like pool features
    b = np.maximum((rng.normal(size=(n, d)) * 1.1 + 0.05) @ mix, 0)
    expected = _scipy_fid(a, b)
    assert fid_from_stats(*feature_stats(a), *feature_stats(b)) == pytest.approx(expected, rel=1e-6)
    acc = StatsAccumulator(d)                    # the suite's path: float32 features, streamed in chunks
    for start in range(0, n, 256):
        acc.add(b[start:start + 256].astype(np.float32))
    streamed = fid_from_stats(*feature_stats(a), *acc.result())
    assert streamed == pytest.approx(_scipy_fid(a, b.astype(np.float32).astype(np.float64)), rel=1e-6)


def test_fid_of_non_finite_statistics_is_nan_not_an_exception() -> None:
    mu, sigma = np.zeros(3), np.eye(3)
    assert np.isnan(fid_from_stats(mu + np.nan, sigma, mu, sigma))


def test_kid_equals_the_unbiased_mmd_written_out_pair_by_pair() -> None:
    """subset_size >= n: every subset is all samples (order is irrelevant), so KID is one exact MMD^2_u."""
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(30, 6)), rng.normal(size=(30, 6)) + 0.2
    k = lambda u, v: (u @ v / 6 + 1.0) ** 3   # noqa: E731
    m = 30
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    assert kid_from_features(x, y, subsets=3, subset_size=1000, seed=0) == pytest.approx(xx + yy - 2 * xy, rel=1e-12)
