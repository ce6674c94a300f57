"""analysis.aggregate on data with a known answer: the bootstrap interval, min-max at n = 2, the single run marked,
the seed-paired "A beats B" test, and n in the figures' legends."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
from analysis_fixtures import tick_frame, write_sweep_parts

from analysis import figures as F
from analysis import load_metrics
from analysis.aggregate import claim, excess_verdict, fmt_stat, interval, paired_difference, summarize


def test_bootstrap_interval_of_the_median_on_a_known_sample() -> None:
    # values 1..11: a resample's median is <= 2 with probability P(Bin(11, 2/11) >= 6) = 0.007 < 0.025 and <= 3
    # with P(Bin(11, 3/11) >= 6) = 0.051 > 0.025, so the 2.5 % quantile is exactly 3 (by symmetry the 97.5 % one
    # is 9); with 2000 resamples both margins are over 4 standard errors
    assert interval(np.arange(1.0, 12.0)) == (6.0, 3.0, 9.0, 11, "bootstrap95")
    # values 1..7: P(median <= 1) = 0.010, P(median <= 2) = 0.108 -> [2, 6]
    assert interval(np.arange(1.0, 8.0)) == (4.0, 2.0, 6.0, 7, "bootstrap95")
    # three distinct values: each end is the median of a resample with probability 7/27 > 0.025 -> [min, max]
    assert interval([4.0, 1.0, 2.0]) == (2.0, 1.0, 4.0, 3, "bootstrap95")


def test_bootstrap_interval_width_on_a_normal_sample() -> None:
    # the median of n normal draws has sd ~ 1.2533 / sqrt(n): for n = 2000 the 95 % interval is ~ +-0.055
    x = np.random.default_rng(0).standard_normal(2000)
    center, lo, hi, n, kind = interval(x)
    assert kind == "bootstrap95" and n == 2000 and lo < center < hi
    assert abs((hi - lo) / 2 - 1.96 * 1.2533 / np.sqrt(2000)) < 0.012   # tolerance: bootstrap and sample noise
    assert interval(x) == (center, lo, hi, n, kind)                  # fixed seed: the same data, the same interval


def test_two_runs_give_min_max_and_one_run_is_marked() -> None:
    assert interval([3.0, 5.0]) == (4.0, 3.0, 5.0, 2, "min-max")
    assert interval([3.0, float("nan")]) == (3.0, 3.0, 3.0, 1, "single")
    df = pd.DataFrame({"cfg": ["a", "a", "a", "b", "b", "c", "c"], "fid": [1.0, 2.0, 9.0, 3.0, 5.0, 7.0, None]})
    out = summarize(df, ["cfg"]).set_index("cfg")
    assert out.loc["a", ["center", "lo", "hi", "n"]].tolist() == [2.0, 1.0, 9.0, 3]
    assert list(out["interval_kind"]) == ["bootstrap95", "min-max", "single"]
    assert fmt_stat(out.loc["c"]) == "7 (n=1, single run)"
    assert fmt_stat(out.loc["b"]) == "4 [3, 5] (n=2, min-max)"
    assert fmt_stat(out.loc["a"]) == "2 [1, 9] (n=3, 95% CI)"
    # summarize computes all groups of one n at once: it must agree with interval() per group
    many = pd.DataFrame({"g": np.repeat(np.arange(40), 5), "fid": np.random.default_rng(1).normal(size=200)})
    got = summarize(many, ["g"])
    want = [interval(grp["fid"].to_numpy())[:3] for _, grp in many.groupby("g")]
    np.testing.assert_allclose(got[["center", "lo", "hi"]].to_numpy(), np.array(want))


def test_a_win_is_claimed_only_when_the_paired_interval_excludes_zero() -> None:
    rng = np.random.default_rng(3)
    seeds = range(6)
    base = rng.normal(10.0, 2.0, len(seeds))       # seed-to-seed spread far larger than the effect
    rows = [{"size": 250, "mode": "none", "seed": s, "fid": base[s]} for s in seeds]
    rows += [{"size": 250, "mode": "geom", "seed": s, "fid": base[s] - 1.0 + 0.05 * (s % 2)} for s in seeds]
    rows += [{"size": 2000, "mode": "none", "seed": s, "fid": base[s]} for s in seeds]
    rows += [{"size": 2000, "mode": "geom", "seed": s, "fid": base[s] + (0.5 if s % 2 else -0.5)} for s in seeds]
    d = paired_difference(pd.DataFrame(rows), ["size"], "mode", "geom", "none").set_index("size")
    assert bool(d.loc[250, "excludes_zero"]) and d.loc[250, "hi"] < 0 and d.loc[250, "n"] == 6
    assert claim(d.loc[250], "geom", "none").startswith("geom beats none")
    assert not bool(d.loc[2000, "excludes_zero"])
    assert "no difference claimed (interval includes 0)" in claim(d.loc[2000], "geom", "none")
    two = paired_difference(pd.DataFrame([r for r in rows if r["seed"] < 2]), ["size"], "mode", "geom", "none")
    assert not two["excludes_zero"].any()             # two seeds never support a claim, however large the gap
    assert "fewer than 3 paired seeds" in claim(two.iloc[0], "geom", "none")


def _fig7(tmp_path: Path, seeds: int):
    rows = [{"trial_id": f"{mode}_{size}_{seed}", "tick": 1, "seed": seed, "aug_mode": mode, "dataset_size": size,
             "fid": k * 1e5 / size + seed}
            for (mode, k), size, seed in itertools.product([("none", 3.0), ("ada", 1.0)], (1000, 10_000), range(seeds))]
    write_sweep_parts(tmp_path, "dataset_size_grid", [tick_frame(rows)])
    return F.fig7_fid_vs_size(load_metrics(tmp_path / "dataset_size_grid"))


def test_figures_put_n_in_the_legend_and_mark_a_single_run(tmp_path: Path) -> None:
    one = _fig7(tmp_path / "one", 1)
    texts = [t.get_text() for t in one.axes[0].get_legend().get_texts()]
    assert texts == ["no augmentation (baseline) (n=1, single run)", "ADA (n=1, single run)"]
    assert not one.axes[0].collections                         # nothing to shade for one run
    assert "single run, no interval" in " ".join(one._suptitle.get_text().split())
    three = _fig7(tmp_path / "three", 3)
    texts = [t.get_text() for t in three.axes[0].get_legend().get_texts()]
    assert texts == ["no augmentation (baseline) (n=3)", "ADA (n=3)"]
    assert len(three.axes[0].collections) == 2                 # one interval band per method
    band = three.axes[0].collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == 30.0 and band.max() == 302.0          # no augmentation, seeds 0..2: FID 30..32 and 300..302
    assert "95% bootstrap CI over seeds" in " ".join(three._suptitle.get_text().split())


def test_report_table_claims_a_win_only_from_the_paired_interval(tmp_path: Path) -> None:
    rows = []
    for size, seed in itertools.product((250, 2000), range(3)):
        base = 10.0 + 3 * seed                                   # seeds differ far more than the effect
        rows.append({"trial_id": f"none_{size}_{seed}", "tick": 1, "seed": seed, "dataset_size": size, "fid": base})
        delta = -0.5 if size == 250 else (0.5 if seed == 1 else -0.5)
        rows.append({"trial_id": f"geom_{size}_{seed}", "tick": 1, "seed": seed, "dataset_size": size,
                     "aug_mode": "fixed", "augpipe": "geom", "p_fixed": 0.5, "fid": base + delta})
    write_sweep_parts(tmp_path, "fixed_p_grid", [tick_frame(rows)])
    table = F.fig4_vs_baseline_table(load_metrics(tmp_path / "fixed_p_grid")).set_index("training set")
    assert table.loc["250", "verdict"].startswith("geom p=0.5 beats none: difference geom p=0.5 - none = -0.5 [-0.5, -0.5]")
    assert table.loc["2k", "verdict"].startswith("geom p=0.5 vs none: no difference claimed (interval includes 0)")
    assert table.loc["2k", "FID(aug) - FID(none)"] == "-0.5 [-0.5, 0.5] (n=3, 95% CI)"


def test_excess_over_a_control_is_claimed_only_above_the_measures_floor() -> None:
    control = pd.DataFrame({"seed": [0, 1, 2], "leak_color": [0.10, 0.12, 0.14]})
    small = control.assign(leak_color=control["leak_color"] + [0.03, 0.04, 0.05])    # all seeds agree, tiny excess
    large = control.assign(leak_color=control["leak_color"] + [0.50, 0.60, 0.70])
    below = control.assign(leak_color=control["leak_color"] - 0.05)
    mixed = control.assign(leak_color=control["leak_color"] + [-0.01, 0.0, 0.01])
    assert excess_verdict(small, control, "leak_color", "leaks") == "leaks: +0.04 [+0.03, +0.05] (n=3)"
    assert excess_verdict(small, control, "leak_color", "leaks", floor=0.3) == \
        "not shown (above the control but not above the measure's floor 0.3): +0.04 [+0.03, +0.05] (n=3)"
    assert excess_verdict(large, control, "leak_color", "leaks", floor=0.3) == "leaks: +0.6 [+0.5, +0.7] (n=3)"
    assert excess_verdict(below, control, "leak_color", "leaks", floor=0.3).startswith("below control: -0.05")
    assert excess_verdict(mixed, control, "leak_color", "leaks").startswith("not shown (interval includes 0)")
    assert excess_verdict(large.iloc[:2], control, "leak_color", "leaks").startswith(
        "not shown (fewer than 3 paired seeds)")
    assert excess_verdict(large.assign(seed=[5, 6, 7]), control, "leak_color", "leaks") == "no paired seeds"
