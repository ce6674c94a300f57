"""FID and KID from detector features (ADA §4 "Metrics"; Heusel et al. 2017, Bińkowski et al. 2018).

These are the definitions every paper number rests on, so they are kept free
of any network or data plumbing (numpy arrays in, floats out) and tested
against closed forms and a direct scipy.linalg.sqrtm computation.

* FID = |mu_1 - mu_2|^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^{1/2}), the Fréchet distance
  between two Gaussians fitted to the features, with the real part of the
  principal matrix square root as the references take it.  Only the trace of
  that root enters, and Tr((S_1 S_2)^{1/2}) = sum_i sqrt(l_i) where l_i are the
  eigenvalues of the symmetric PSD matrix S_1^{1/2} S_2 S_1^{1/2} (similar to
  S_1 S_2); tiny negative l_i from rounding have a purely imaginary root, whose
  real part is 0.  Two symmetric eigendecompositions are 3-4x faster than
  scipy.linalg.sqrtm at Inception's 2048 dims and backward stable where sqrtm
  warns about singular products; the tests check agreement with sqrtm to 1e-6
  relative on full-rank and rank-deficient covariances.
* KID = the unbiased MMD^2 estimate with the cubic polynomial kernel
  k(x, y) = (x.y / d + 1)^3, averaged over random subsets of at most
  `subset_size` samples from each side, as the reference metrics do.

Everything is float64: FID subtracts nearly equal traces, and float32 loses
whole units of FID at 2048 dimensions.

The linear algebra runs in torch (CPU, float64), not numpy, so that it obeys
the run's thread budget (`torch.set_num_threads`, `run.threads`): numpy's
OpenBLAS starts one thread per core whatever the trainer asked for, and with
several trials per machine that oversubscription made a smoke metrics tick 4x
and a 2048-d FID 15x slower here (benchmarks/metrics.py).
"""

from __future__ import annotations

import numpy as np
import torch


def _f64(a: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a), dtype=torch.float64)


def feature_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance (float64) of features [N, D], as np.cov(rowvar=False)."""
    f = _f64(features)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"need features of shape [N>=2, D], got {tuple(f.shape)}")
    centred = f - f.mean(dim=0)
    return f.mean(dim=0).numpy(), (centred.T @ centred / (f.shape[0] - 1)).numpy()


class StatsAccumulator:
    """Streaming mean/covariance in float64, so 50k x 2048 features never sit in memory at once.

    The covariance uses the same unbiased (N-1) normalisation as `np.cov`.
    """

    def __init__(self, dim: int) -> None:
        self.n = 0
        self._sum = torch.zeros(dim, dtype=torch.float64)
        self._outer = torch.zeros(dim, dim, dtype=torch.float64)

    def add(self, features: np.ndarray) -> None:
        f = _f64(features)
        self.n += f.shape[0]
        self._sum += f.sum(dim=0)
        self._outer += f.T @ f

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        if self.n < 2:
            raise ValueError(f"need at least 2 feature vectors, got {self.n}")
        mu = self._sum / self.n
        sigma = (self._outer - self.n * torch.outer(mu, mu)) / (self.n - 1)
        return mu.numpy(), sigma.numpy()


def fid_from_stats(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2); NaN when a statistic is not finite."""
    m1, m2, s1, s2 = (_f64(a) for a in (mu1, mu2, sigma1, sigma2))
    if m1.shape != m2.shape or s1.shape != s2.shape:
        raise ValueError(f"feature statistics differ in shape: {tuple(m1.shape)}/{tuple(s1.shape)} vs {tuple(m2.shape)}/{tuple(s2.shape)}")
    if not all(bool(torch.isfinite(a).all()) for a in (m1, m2, s1, s2)):
        return float("nan")
    mean_term = float((m1 - m2).square().sum())
    return mean_term + float(s1.trace() + s2.trace()) - 2.0 * _trace_sqrt_product(s1, s2)


def _trace_sqrt_product(s1: torch.Tensor, s2: torch.Tensor) -> float:
    w, v = torch.linalg.eigh(s1)
    root1 = (v * w.clamp(min=0.0).sqrt()) @ v.T
    inner = root1 @ s2 @ root1
    lam = torch.linalg.eigvalsh((inner + inner.T) / 2.0)   # symmetrised: rounding makes it asymmetric in the last bits
    return float(lam.clamp(min=0.0).sqrt().sum())


def kid_from_features(feats1: np.ndarray, feats2: np.ndarray, subsets: int, subset_size: int, seed: int = 0) -> float:
    """Unbiased MMD^2 with the cubic kernel, averaged over `subsets` random subsets.

    Each subset draws m = min(len(feats1), len(feats2), subset_size) samples
    without replacement from each side; seeded so a tick's KID is reproducible.
    """
    x_all, y_all = _f64(feats1), _f64(feats2)
    d = x_all.shape[1]
    m = min(x_all.shape[0], y_all.shape[0], subset_size)
    if m < 2:
        raise ValueError(f"KID needs at least 2 samples per side, got {m}")
    rng = np.random.default_rng(seed)
    total = 0.0
    for _ in range(subsets):
        x = x_all[torch.from_numpy(rng.choice(x_all.shape[0], m, replace=False))]
        y = y_all[torch.from_numpy(rng.choice(y_all.shape[0], m, replace=False))]
        kxx = (x @ x.T / d + 1.0) ** 3
        kyy = (y @ y.T / d + 1.0) ** 3
        kxy = (x @ y.T / d + 1.0) ** 3
        within = (kxx.sum() - kxx.trace() + kyy.sum() - kyy.trace()) / (m * (m - 1))
        total += float(within - 2.0 * kxy.sum() / (m * m))
    return total / subsets
