"""The figures draw the data they are given: lines, x and y values and baselines read back from the Axes.

Every frame here is hand-made with known per-seed values (seed offsets -1, 0, +1,
so the median is the middle value), written through the store layout and loaded
with load_metrics, so the whole path from Parquet to Axes is covered.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from analysis_fixtures import tick_frame, write_sweep_parts

from analysis import MissingData, MixedDetectors, load_metrics
from analysis import figures as F
from analysis.tidy import fmt_count, per_trial, size_label

SEED_OFFSET = {0: -1.0, 1: 0.0, 2: 1.0}


def _load(tmp_path: Path, sweep: str, rows: list[dict]) -> pd.DataFrame:
    write_sweep_parts(tmp_path, sweep, [tick_frame(rows)])
    return load_metrics(tmp_path / sweep)


N_SUFFIX = re.compile(r" \(n=\d+(-\d+)?(, single run)?\)$")


def _labelled(ax) -> dict[str, object]:
    """Lines by legend label, without the ' (n=3)' every data line carries (analysis.aggregate)."""
    return {N_SUFFIX.sub("", ln.get_label()): ln for ln in ax.get_lines() if not ln.get_label().startswith("_")}


def test_size_labels_follow_the_papers() -> None:
    assert [fmt_count(n) for n in (500, 1000, 2000, 2500, 140_000, 1_000_000)] == ["500", "1k", "2k", "2.5k", "140k", "1M"]
    assert size_label(70_000, True) == "140k (70k + x-flips)" and size_label(2000, False) == "2k"


def _fig4_rows() -> list[dict]:
    rows = []
    for size, base in ((2000, 50.0), (10_000, 20.0)):
        for seed, off in SEED_OFFSET.items():
            tid = f"none_{size}_{seed}"
            rows += [{"trial_id": tid, "tick": 1, "seed": seed, "dataset_size": size, "fid": 300.0},
                     {"trial_id": tid, "tick": 2, "seed": seed, "dataset_size": size, "fid": 60.0 + off}]
            for (k, cat), p in itertools.product(enumerate(("blit", "geom")), (0.0, 0.4, 0.8)):
                tid = f"{cat}_{size}_{p}_{seed}"
                final = base - 10 * p * (k + 1) + off
                common = {"trial_id": tid, "seed": seed, "dataset_size": size, "aug_mode": "fixed",
                          "augpipe": cat, "p_fixed": p, "apply_to": "both"}
                rows += [{**common, "tick": 1, "fid": final - 5.0}, {**common, "tick": 2, "fid": final},
                         {**common, "tick": 3, "fid": None}]  # a tick without metrics: null FID
    return rows


@pytest.mark.parametrize("which", ["final", "best"])
def test_fig4_lines_per_category_and_baseline_per_size(tmp_path: Path, which: str) -> None:
    m = _load(tmp_path, "fixed_p_grid", _fig4_rows())
    fig = F.fig4_fid_vs_p(m, fid=which)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [("2k" in axes[0].get_title()), ("10k" in axes[1].get_title())] == [True, True]
    shift = -5.0 if which == "best" else 0.0
    for ax, base in zip(axes, (50.0, 20.0)):
        lines = _labelled(ax)
        assert set(lines) == {"blit", "geom", "no augmentation"}
        np.testing.assert_allclose(lines["blit"].get_xdata(), [0.0, 0.4, 0.8])
        np.testing.assert_allclose(lines["blit"].get_ydata(), np.array([base, base - 4, base - 8]) + shift)
        np.testing.assert_allclose(lines["geom"].get_ydata(), np.array([base, base - 8, base - 16]) + shift)
        np.testing.assert_allclose(lines["no augmentation"].get_ydata(), [60.0, 60.0])  # min(300, 60) = final
    assert "offline detector" in axes[0].get_ylabel() and which in axes[0].get_ylabel()


def test_per_trial_final_skips_null_ticks_and_best_is_the_minimum(tmp_path: Path) -> None:
    m = _load(tmp_path, "fixed_p_grid", _fig4_rows())
    final = per_trial(m, "final").set_index("trial_id")["fid"]
    best = per_trial(m, "best").set_index("trial_id")["fid"]
    assert final["geom_2000_0.8_2"] == pytest.approx(50 - 16 + 1) and best["geom_2000_0.8_2"] == pytest.approx(30.0)


def test_detectors_are_never_mixed(tmp_path: Path) -> None:
    rows = [{**r, "detector": "inception" if r["seed"] == 2 else "offline"} for r in _fig4_rows()]
    m = _load(tmp_path, "fixed_p_grid", rows)
    with pytest.raises(MixedDetectors, match="inception, offline"):
        F.fig4_fid_vs_p(m)
    fig = F.fig4_fid_vs_p(m, detector="inception")
    ax = fig.axes[0]
    np.testing.assert_allclose(_labelled(ax)["blit"].get_ydata(), [51.0, 47.0, 43.0])  # seed 2 only
    assert "inception detector" in ax.get_ylabel()


def _fig1_rows() -> list[dict]:
    rows = []
    for (size, mirror), (seed, off) in itertools.product([(70_000, True), (10_000, False)], SEED_OFFSET.items()):
        for t in (1, 2, 3, 4):
            rows.append({"trial_id": f"{size}_{seed}", "tick": t, "seed": seed, "dataset_size": size, "mirror": mirror,
                         "fid": 100.0 / t + (40.0 if size == 10_000 else 0.0) + off,
                         "D_real_train": 0.1 * t, "D_real_val": -0.1 * t, "D_fake": -0.2 * t,
                         "acc_real_train": 0.5 + 0.1 * t, "acc_real_val": 0.5})
    return rows


def test_fig1a_one_median_line_per_size(tmp_path: Path) -> None:
    m = _load(tmp_path, "overfitting", _fig1_rows())
    ax = F.fig1a_fid_over_training(m).axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["140k (70k + x-flips) (n=3)", "10k (n=3)"]
    lines = _labelled(ax)
    np.testing.assert_allclose(lines["10k"].get_xdata(), [4, 8, 12, 16])
    np.testing.assert_allclose(lines["10k"].get_ydata(), [140, 90, 40 + 100 / 3, 65])
    assert ax.get_xlabel() == "training progress (kimg)"


def test_fig1bc_and_diffaugment_accuracy_panels(tmp_path: Path) -> None:
    m = _load(tmp_path, "overfitting", _fig1_rows())
    axes = [ax for ax in F.fig1bc_d_outputs(m).axes if ax.get_visible()]
    assert len(axes) == 2 and "140k" in axes[0].get_title()
    lines = _labelled(axes[1])
    np.testing.assert_allclose(lines["validation reals"].get_ydata(), [-0.1, -0.2, -0.3, -0.4])
    np.testing.assert_allclose(lines["generated images"].get_ydata(), [-0.2, -0.4, -0.6, -0.8])
    acc = [ax for ax in F.fig_diffaug_accuracy(m).axes if ax.get_visible()]
    ys = sorted(tuple(np.round(ln.get_ydata(), 6)) for ln in acc[0].get_lines())
    assert ys == [(0.5, 0.5, 0.5, 0.5), (0.6, 0.7, 0.8, 0.9)]


def test_fig7_log_size_axis_one_line_per_method(tmp_path: Path) -> None:
    rows = []
    for (mode, k), size, (seed, off) in itertools.product([("none", 3.0), ("ada", 1.0), ("diffaugment", 1.5)],
                                                          (1000, 10_000), SEED_OFFSET.items()):
        rows.append({"trial_id": f"{mode}_{size}_{seed}", "tick": 1, "seed": seed, "aug_mode": mode,
                     "dataset_size": size, "fid": k * 1e5 / size + off})
    ax = F.fig7_fid_vs_size(_load(tmp_path, "dataset_size_grid", rows)).axes[0]
    assert ax.get_xscale() == "log"
    lines = _labelled(ax)
    assert set(lines) == {"no augmentation (baseline)", "ADA", "DiffAugment"}
    np.testing.assert_allclose(lines["ADA"].get_xdata(), [1000, 10_000])
    np.testing.assert_allclose(lines["no augmentation (baseline)"].get_ydata(), [300, 30])
    assert len(ax.collections) == 3  # one min-max band per method


def test_fig5ab_dashed_best_fixed_p(tmp_path: Path) -> None:
    rows = []
    for seed, off in SEED_OFFSET.items():
        for heur, target in itertools.product(("rt", "rv"), (0.4, 0.6)):
            rows.append({"trial_id": f"ada_{heur}_{target}_{seed}", "tick": 1, "seed": seed, "aug_mode": "ada",
                         "augpipe": "bgc", "heuristic": heur, "ada_target": target, "fid": 20 + 10 * target + off})
        for p, fid in ((0.2, 30.0), (0.5, 25.0)):
            rows.append({"trial_id": f"fixed_{p}_{seed}", "tick": 1, "seed": seed, "aug_mode": "fixed",
                         "augpipe": "bgc", "p_fixed": p, "fid": fid + off})
    fig = F.fig5ab_fid_vs_target(_load(tmp_path, "ada_target_grid", rows))
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 2 and "r_t" in axes[0].get_title() and "r_v" in axes[1].get_title()
    dashed = [ln for ln in axes[0].get_lines() if ln.get_linestyle() == "--"]
    assert len(dashed) == 1 and list(dashed[0].get_ydata()) == [25.0, 25.0]
    solid = _labelled(axes[0])["2k"]
    np.testing.assert_allclose(solid.get_xdata(), [0.4, 0.6])
    np.testing.assert_allclose(solid.get_ydata(), [24, 26])


def test_fig4_lines_start_at_the_baseline_when_p0_was_not_run(tmp_path: Path) -> None:
    rows = [{"trial_id": "base", "tick": 1, "aug_mode": "none", "dataset_size": 2000, "fid": 40.0}]
    for pipe, fid in (("blit", 30.0), ("geom", 35.0)):
        rows.append({"trial_id": pipe, "tick": 1, "aug_mode": "fixed", "augpipe": pipe, "p_fixed": 0.5,
                     "dataset_size": 2000, "fid": fid})
    fig = F.fig4_fid_vs_p(_load(tmp_path, "fixed_p_grid", rows))
    lines = _labelled([ax for ax in fig.axes if ax.get_visible()][0])
    np.testing.assert_allclose(lines["blit"].get_xdata(), [0.0, 0.5])
    np.testing.assert_allclose(lines["blit"].get_ydata(), [40.0, 30.0])
    np.testing.assert_allclose(lines["geom"].get_ydata(), [40.0, 35.0])


def test_fig4d_draws_no_augmentation_as_p0_at_the_same_size(tmp_path: Path) -> None:
    rows = []
    for tick in (1, 2, 3):
        rows.append({"trial_id": "none_2k", "tick": tick, "aug_mode": "none", "dataset_size": 2000, "fid": 10.0 - tick})
        rows.append({"trial_id": "none_50k", "tick": tick, "aug_mode": "none", "dataset_size": 50_000, "fid": 1.0})
        for p in (0.2, 0.5):
            rows.append({"trial_id": f"geom_{p}", "tick": tick, "aug_mode": "fixed", "augpipe": "geom", "p_fixed": p,
                         "dataset_size": 2000, "fid": 20.0 * p + 10.0 - 2 * tick})
    m = _load(tmp_path, "fixed_p_grid", rows)
    m["kimg"] = m["tick"] * 4.0
    ax = F.fig4d_fid_over_training(m).axes[0]
    lines = _labelled(ax)
    assert list(lines) == ["p = 0 (no augmentation)", "p = 0.2", "p = 0.5"]
    np.testing.assert_allclose(lines["p = 0 (no augmentation)"].get_xdata(), [4.0, 8.0, 12.0])
    np.testing.assert_allclose(lines["p = 0 (no augmentation)"].get_ydata(), [9.0, 8.0, 7.0])   # the 2k run, not 50k
    np.testing.assert_allclose(lines["p = 0.5"].get_ydata(), [18.0, 16.0, 14.0])
    assert "geom" in ax.get_title() and "2k" in ax.get_title()


def test_fig4d_keeps_a_real_p0_run_over_the_baseline(tmp_path: Path) -> None:
    rows = []
    for tick in (1, 2):
        rows.append({"trial_id": "none", "tick": tick, "aug_mode": "none", "dataset_size": 2000, "fid": 99.0})
        for p in (0.0, 0.4):
            rows.append({"trial_id": f"geom_{p}", "tick": tick, "aug_mode": "fixed", "augpipe": "geom", "p_fixed": p,
                         "dataset_size": 2000, "fid": 5.0 + p})
    lines = _labelled(F.fig4d_fid_over_training(_load(tmp_path, "fixed_p_grid", rows)).axes[0])
    assert list(lines) == ["p = 0", "p = 0.4"]
    np.testing.assert_allclose(lines["p = 0"].get_ydata(), [5.0, 5.0])


@pytest.mark.parametrize("heur", ["rt", "rv"])
def test_fig5cd_follows_the_heuristic_that_drove_ada(tmp_path: Path, heur: str) -> None:
    rows = []
    for size, slope in ((2000, 0.2), (50_000, 0.05)):
        for tick in (1, 2, 3):
            rows.append({"trial_id": f"ada_{size}", "tick": tick, "aug_mode": "ada", "augpipe": "bgc", "heuristic": heur,
                         "ada_target": 0.1, "dataset_size": size, "p": slope * tick, "r_t": 0.4,
                         # tick 1 is not a metric tick: only the controller's probe (r_v_ctrl); ticks 2, 3 measure
                         # r_v = (D_train - D_val) / (D_train - D_fake) = 0.01 * tick
                         **({"r_v_ctrl": 0.5} if tick == 1 else
                            {"r_v": 0.01 * tick, "D_real_train": 1.0, "D_real_val": 0.0, "D_fake": 1.0 - 100.0 / tick})})
    fig = F.fig5cd_p_and_rt(_load(tmp_path, "ada_target_grid", rows))
    axes = [ax for ax in fig.axes if ax.get_visible()]
    name = "r_v" if heur == "rv" else "r_t"
    assert name in axes[1].get_title() and name in axes[1].get_ylabel()
    p2k, p50k = _labelled(axes[0])["2k"], _labelled(axes[0])["50k"]
    np.testing.assert_allclose(p2k.get_ydata(), [0.2, 0.4, 0.6])
    np.testing.assert_allclose(p50k.get_ydata(), [0.05, 0.1, 0.15])
    want = [0.02, 0.03] if heur == "rv" else [0.4, 0.4, 0.4]
    np.testing.assert_allclose(_labelled(axes[1])["ADA, 2k"].get_ydata(), want)


def test_accuracy_of_a_long_run_is_a_centred_rolling_mean(tmp_path: Path) -> None:
    # 50 ticks -> a 3-tick window; a train accuracy alternating 0.4 / 0.8 becomes 0.533 / 0.667 inside the run
    rows = [{"trial_id": "a", "tick": t, "aug_mode": "none", "acc_real_train": 0.4 if t % 2 else 0.8,
             "acc_real_val": 0.5} for t in range(1, 51)]
    fig = F.fig_diffaug_accuracy(_load(tmp_path, "overfitting", rows))
    ax = [ax for ax in fig.axes if ax.get_visible()][0]
    train = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-"][0].get_ydata()
    np.testing.assert_allclose(train[1:5], [1.6 / 3, 2.0 / 3, 1.6 / 3, 2.0 / 3])
    np.testing.assert_allclose(train[0], 0.6)                       # the window shrinks at the ends
    assert "rolling mean over 3 ticks" in " ".join(fig._suptitle.get_text().split())   # the title wraps


def test_fig3_every_run_a_dot_and_a_median_line(tmp_path: Path) -> None:
    rows = [{"trial_id": f"r_{p}_{seed}", "tick": 1, "seed": seed, "aug_mode": "fixed", "augpipe": "rotate90",
             "p_fixed": p, "fid": 10 + 20 * p + off, "leak_rot": p / 2} for p in (0.0, 0.5, 1.0)
            for seed, off in SEED_OFFSET.items()]
    m = _load(tmp_path, "leakage_grid", rows)
    ax = F.fig3_fid_vs_p(m).axes[0]
    assert len(ax.collections[0].get_offsets()) == 9
    np.testing.assert_allclose(_labelled(ax)["median over seeds"].get_ydata(), [10, 20, 30])
    leak = [a for a in F.fig3_leakage_vs_p(m).axes if a.get_visible()]
    assert len(leak) == 1 and "rotation" in leak[0].get_ylabel()  # leak_color/leak_blank are all-null: no panel
    np.testing.assert_allclose(leak[0].get_lines()[0].get_ydata(), [0, 0.25, 0.5])


def test_leakage_table_calls_a_leak_only_against_the_paired_p0_control(tmp_path: Path) -> None:
    # rotate90: leak_rot 0 at p = 0, 0.5 + small per-seed noise at p = 1 (a leak); scaling: leak_rot noise
    # around 0.01 at every p (no leak); per-seed offsets make the paired differences known
    rows = []
    for seed, off in SEED_OFFSET.items():
        for p in (0.0, 1.0):
            rows.append({"trial_id": f"r_{p}_{seed}", "tick": 1, "seed": seed, "aug_mode": "fixed",
                         "augpipe": "rotate90", "p_fixed": p, "fid": 10 + 30 * p + off,
                         "leak_rot": (0.5 + 0.01 * off) * p})
            rows.append({"trial_id": f"s_{p}_{seed}", "tick": 1, "seed": seed, "aug_mode": "fixed",
                         "augpipe": "scale", "p_fixed": p, "fid": 10 + off, "leak_rot": 0.01 + 0.01 * off * (p - 0.5)})
    m = _load(tmp_path, "leakage_grid", rows)
    table = F.leakage_table(m).set_index(["transform", "p"])
    rot, sc = table.loc[("rotate90 (k·90°)", "1")], table.loc[("isotropic scaling", "1")]
    assert rot["FID"] == "40 [39, 41] (n=3, 95% CI)"
    assert rot["leak_rot"].startswith("0.5 [0.49, 0.51] (n=3")
    assert rot["leak_rot - p=0 (paired)"] == "leaks: +0.5 [+0.49, +0.51] (n=3)"
    assert sc["leak_rot - p=0 (paired)"].startswith("not shown (interval includes 0): +0 [-0.01, +0.01]")
    assert table.loc[("rotate90 (k·90°)", "0"), "leak_rot - p=0 (paired)"] == "control"
    assert "leak_color" not in table.columns        # all-null measures get no column
    # two seeds: no claim either way
    two = _load(tmp_path / "two", "leakage_grid", [r for r in rows if r["seed"] != 2])
    cell = F.leakage_table(two).set_index(["transform", "p"]).loc[("rotate90 (k·90°)", "1"), "leak_rot - p=0 (paired)"]
    assert cell.startswith("not shown (fewer than 3 paired seeds)")


def test_diffaugment_tables_label_fractions(tmp_path: Path) -> None:
    rows = []
    for (frac, size), (seed, off) in itertools.product([(1.0, 70_000), (0.2, 14_000), (0.1, 7_000)],
                                                       SEED_OFFSET.items()):
        rows.append({"trial_id": f"none_{size}_{seed}", "tick": 1, "seed": seed, "dataset_size": size,
                     "fid": 10 / frac + off})
        rows.append({"trial_id": f"t_{size}_{seed}", "tick": 1, "seed": seed, "dataset_size": size,
                     "aug_mode": "diffaugment", "diffaug_policy": "translation", "apply_to": "both", "fid": 5 / frac + off})
    for where, fid in (("reals_only", 20.0), ("d_only", 100.0)):
        rows.append({"trial_id": f"t_{where}", "tick": 1, "dataset_size": 70_000, "aug_mode": "diffaugment",
                     "diffaug_policy": "translation", "apply_to": where, "fid": fid})
    m = _load(tmp_path, "diffaugment_grid", rows)
    table = F.diffaug_policy_table(m)
    assert list(table.columns) == ["100%", "20%", "10%"] and list(table.index) == ["no augmentation", "translation"]
    np.testing.assert_allclose(table.to_numpy(), [[10, 50, 100], [5, 25, 50]])
    abl = F.diffaug_apply_to_table(m)
    assert list(abl.columns) == ["both", "reals_only", "d_only"]
    np.testing.assert_allclose(abl.loc["translation"].to_numpy(), [5, 20, 100])
    assert abl.attrs["baseline"] == 10.0
    ax = F.fig_diffaug_apply_to_bars(m).axes[0]
    assert [ln.get_ydata()[0] for ln in ax.get_lines() if ln.get_linestyle() == "--"] == [10.0]
    assert sorted(round(p.get_height(), 6) for p in ax.patches) == [5.0, 20.0, 100.0]


def test_leakage_control_without_augmentation_is_p0_of_every_transform(tmp_path: Path) -> None:
    # the catalog's control: one run per seed without augmentation, no fixed p = 0 runs
    rows = [{"trial_id": f"c_{seed}", "tick": 1, "seed": seed, "fid": 10 + off, "leak_rot": 0.001}
            for seed, off in SEED_OFFSET.items()]
    rows += [{"trial_id": f"{pipe}_{p}_{seed}", "tick": 1, "seed": seed, "aug_mode": "fixed", "augpipe": pipe,
              "p_fixed": p, "fid": 10 + 20 * p * (pipe == "rotate90") + off,
              "leak_rot": 0.001 + (0.9 + 0.01 * off) * (pipe == "rotate90") * (p == 1.0)}
             for pipe in ("scale", "rotate90") for p in (0.5, 1.0) for seed, off in SEED_OFFSET.items()]
    m = _load(tmp_path, "leakage_grid", rows)
    for ax in F.fig3_fid_vs_p(m).axes[:2]:
        assert len(ax.collections[0].get_offsets()) == 9                  # 3 seeds x p {0, 0.5, 1}
        np.testing.assert_allclose(_labelled(ax)["median over seeds"].get_xdata(), [0, 0.5, 1])
    table = F.leakage_table(m).set_index(["transform", "p"])
    assert table.loc[("isotropic scaling", "0"), "FID"] == table.loc[("rotate90 (k·90°)", "0"), "FID"] == \
        "10 [9, 11] (n=3, 95% CI)"
    assert table.loc[("rotate90 (k·90°)", "1"), "leak_rot - p=0 (paired)"] == "leaks: +0.9 [+0.89, +0.91] (n=3)"
    assert table.loc[("rotate90 (k·90°)", "0.5"), "leak_rot - p=0 (paired)"].startswith("not shown")


def test_diffaugment_ablation_claims_pair_seeds(tmp_path: Path) -> None:
    # at 7k images, 3 seeds: none FID 5, both 6, reals only 15, d only 25 (+ seed offset); reals only has a
    # blank-area excess of 0.3 over the baseline, the other placements none (seed noise 0.01 around the baseline)
    fids = {"none": 5.0, "both": 6.0, "reals_only": 15.0, "d_only": 25.0}
    rows = []
    for (where, fid), (seed, off) in itertools.product(fids.items(), SEED_OFFSET.items()):
        row = {"trial_id": f"{where}_{seed}", "tick": 1, "seed": seed, "dataset_size": 7000, "fid": fid + off,
               "leak_blank": (0.3 + 0.01 * off if where == "reals_only" else 0.01 * off * (where == "both"))}
        if where != "none":
            row.update(aug_mode="diffaugment", diffaug_policy="color,translation,cutout", apply_to=where)
        rows.append(row)
    m = _load(tmp_path, "diffaugment_grid", rows)
    t = F.diffaug_ablation_claims(m).set_index(["measure", "compared"])["verdict"]
    assert t[("FID", "reals_only - both")] == "both beats reals_only: difference reals_only - both = +9 [9, 9] (n = 3 paired seeds)"
    assert t[("FID", "d_only - both")].startswith("both beats d_only: difference d_only - both = +19")
    assert t[("FID", "both - no augmentation")].startswith("no augmentation beats both: difference both - no augmentation = +1")
    assert t[("leak_blank", "reals_only - no augmentation")] == "leaks: +0.3 [+0.29, +0.31] (n=3)"
    assert t[("leak_blank", "both - no augmentation")].startswith("not shown (interval includes 0)")
    assert t[("leak_blank", "d_only - no augmentation")].startswith("not shown (interval includes 0): +0 [+0, +0]")


def test_diffaugment_ablation_at_one_size_is_labelled_by_its_image_count(tmp_path: Path) -> None:
    # only the 10% runs exist (the tiny scale): the share of the full set cannot be read back, so no "100%"
    rows = [{"trial_id": "none", "tick": 1, "dataset_size": 7000, "fid": 5.0}]
    for where, fid in (("both", 6.0), ("reals_only", 15.0), ("d_only", 25.0)):
        rows.append({"trial_id": where, "tick": 1, "dataset_size": 7000, "aug_mode": "diffaugment",
                     "diffaug_policy": "color,translation,cutout", "apply_to": where, "fid": fid})
    m = _load(tmp_path, "diffaugment_grid", rows)
    assert list(F.diffaug_policy_table(m).columns) == ["7k images"]
    assert F.diffaug_apply_to_table(m).attrs["fraction"] == "7k images"
    fig = F.fig_diffaug_apply_to_bars(m)
    assert "(7k images; single run, no interval)" in " ".join(fig._suptitle.get_text().split())
    assert sorted(round(p.get_height(), 6) for p in fig.axes[0].patches) == [6.0, 15.0, 25.0]


def test_missing_data_names_the_sweep_to_run(tmp_path: Path) -> None:
    m = _load(tmp_path, "misc", [{"trial_id": "x", "tick": 1, "aug_mode": "ada", "fid": 5.0}])
    for spec in F.FIGURES:
        with pytest.raises(MissingData) as err:
            spec.draw(m, tmp_path, None)
        assert f"python -m sweeps.launch {spec.sweeps[0]}" in str(err.value), spec.name


def test_every_figure_draws_from_the_synthetic_study(synthetic_metrics: pd.DataFrame, synthetic_root: Path) -> None:
    for spec in F.FIGURES:
        fig = spec.draw(F.for_sweeps(synthetic_metrics, spec.sweeps), synthetic_root, None)
        assert any(ax.has_data() for ax in fig.axes), spec.name
    imgs = F.fig3_samples(F.for_sweeps(synthetic_metrics, ("leakage_grid",)), synthetic_root).axes
    assert sum(len(ax.get_images()) for ax in imgs) == 3 * 4  # 3 transforms x 4 chosen p


def test_figures_refuse_fids_against_reference_sets_of_different_sizes(tmp_path: Path) -> None:
    rows = [{"trial_id": f"{mode}_{size}_{ref}", "tick": 1, "aug_mode": mode, "dataset_size": size, "fid": 5.0,
             "fid_ref_size": ref} for mode in ("none", "ada") for size in (1000, 10_000) for ref in (10_000, 70_000)]
    m = _load(tmp_path, "dataset_size_grid", rows)
    with pytest.raises(MixedDetectors, match="reference sets of different sizes \\(10000, 70000 real images\\)"):
        F.fig7_fid_vs_size(m)
    F.fig7_fid_vs_size(m[m["fid_ref_size"] == 10_000])   # one reference: drawn
