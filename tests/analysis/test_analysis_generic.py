"""The seed statistics behind the generic figures (the contract analysis/aggregate.py shares) and sweep_axes."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.figures_generic import seed_stats, sweep_axes


def test_one_seed_is_marked_single() -> None:
    s = seed_stats([3.0])
    assert (s.median, s.lo, s.hi, s.n, s.kind) == (3.0, 3.0, 3.0, 1, "single")


def test_two_seeds_give_min_max() -> None:
    s = seed_stats([5.0, 3.0, None])
    assert (s.median, s.lo, s.hi, s.n, s.kind) == (4.0, 3.0, 5.0, 2, "min-max")


def test_bootstrap_interval_of_the_median_is_reproducible_and_about_right() -> None:
    rng = np.random.default_rng(123)
    values = rng.normal(10.0, 1.0, size=50)
    a, b = seed_stats(values), seed_stats(list(values))
    assert a == b and a.kind == "bootstrap95" and a.n == 50
    assert a.lo < a.median < a.hi and a.lo < 10.0 < a.hi
    # the median's standard error for N(0, 1) is ~1.2533 / sqrt(n); a 95% interval is ~3.92 of them wide
    expected = 3.92 * 1.2533 / np.sqrt(50)
    assert a.hi - a.lo == pytest.approx(expected, rel=0.45)


def test_three_seeds_interval_stays_within_the_data() -> None:
    s = seed_stats([1.0, 2.0, 4.0])
    assert s.kind == "bootstrap95" and s.median == 2.0 and 1.0 <= s.lo <= 2.0 <= s.hi <= 4.0


def test_sweep_axes_follow_recorded_order_and_drop_seeds_and_constants() -> None:
    record = {"spec": {"axes": {"augment.p": {}, "loss.r1_gamma": {}, "data.dataset_size": {}}, "variants": []},
              "axis_order": {"main": ["loss.r1_gamma", "augment.p", "data.dataset_size"], "variants": {}},
              "trials": [{"trial": i, "loss.r1_gamma": g, "augment.p": p, "data.dataset_size": 200, "run.seed": s}
                         for i, (g, p, s) in enumerate([(0.1, 0.2, 0), (0.1, 0.4, 1), (1.0, 0.2, 0)])]}
    assert sweep_axes(record) == ["loss.r1_gamma", "augment.p"]
