"""FID and KID from detector features (ADA §4 "Metrics"; Heusel et al. 2017, Bińkowski et al. 2018).

Pure numpy/scipy, no torch: these are the definitions every paper number rests
on, so they are kept free of any network or data plumbing and tested against
closed forms.

* FID = |mu_1 - mu_2|^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^{1/2}), the Fréchet distance
  between two Gaussians fitted to the features; the matrix square root is
  scipy.linalg.sqrtm's, real part (tiny imaginary parts are numerical noise).
* KID = the unbiased MMD^2 estimate with the cubic polynomial kernel
  k(x, y) = (x.y / d + 1)^3, averaged over random subsets of at most
  `subset_size` samples from each side, as the reference metrics do.

Everything is float64: FID subtracts nearly equal traces, and float32 loses
whole units of FID at 2048 dimensions.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg


def feature_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance (float64) of features [N, D]."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"need features of shape [N>=2, D], got {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1])


class StatsAccumulator:
    """Streaming mean/covariance in float64, so 50k x 2048 features never sit in memory at once.

    The covariance uses the same unbiased (N-1) normalisation as `np.cov`.
    """

    def __init__(self, dim: int) -> None:
        self.n = 0
        self._sum = np.zeros(dim, dtype=np.float64)
        self._outer = np.zeros((dim, dim), dtype=np.float64)

    def add(self, features: np.ndarray) -> None:
        f = np.asarray(features, dtype=np.float64)
        self.n += f.shape[0]
        self._sum += f.sum(axis=0)
        self._outer += f.T @ f

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        if self.n < 2:
            raise ValueError(f"need at least 2 feature vectors, got {self.n}")
        mu = self._sum / self.n
        sigma = (self._outer - self.n * np.outer(mu, mu)) / (self.n - 1)
        return mu, sigma


def fid_from_stats(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2)."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    if mu1.shape != mu2.shape or s1.shape != s2.shape:
        raise ValueError(f"feature statistics differ in shape: {mu1.shape}/{s1.shape} vs {mu2.shape}/{s2.shape}")
    with warnings.catch_warnings():
        # Singular covariances are normal here (dead ReLU features, fewer samples than
        # dimensions); sqrtm still returns the usable root the reference metrics use.
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        root = scipy.linalg.sqrtm(s1 @ s2)
    mean_term = float(np.square(mu1 - mu2).sum())
    return mean_term + float(np.trace(s1 + s2 - 2.0 * np.real(root)))


def kid_from_features(feats1: np.ndarray, feats2: np.ndarray, subsets: int, subset_size: int, seed: int = 0) -> float:
    """Unbiased MMD^2 with the cubic kernel, averaged over `subsets` random subsets.

    Each subset draws m = min(len(feats1), len(feats2), subset_size) samples
    without replacement from each side; seeded so a tick's KID is reproducible.
    """
    x_all = np.asarray(feats1, dtype=np.float64)
    y_all = np.asarray(feats2, dtype=np.float64)
    d = x_all.shape[1]
    m = min(x_all.shape[0], y_all.shape[0], subset_size)
    if m < 2:
        raise ValueError(f"KID needs at least 2 samples per side, got {m}")
    rng = np.random.default_rng(seed)
    total = 0.0
    for _ in range(subsets):
        x = x_all[rng.choice(x_all.shape[0], m, replace=False)]
        y = y_all[rng.choice(y_all.shape[0], m, replace=False)]
        kxx = (x @ x.T / d + 1.0) ** 3
        kyy = (y @ y.T / d + 1.0) ** 3
        kxy = (x @ y.T / d + 1.0) ** 3
        within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        total += within - 2.0 * kxy.sum() / (m * m)
    return float(total / subsets)
