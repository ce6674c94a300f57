"""Transfer verdict rows (analysis.verdicts) on hand-made runs with known answers, written and read as the store does.

One training set, ADA or none x Freeze-D 0 or 1 x from scratch or from a source, 5 seeds.  Per seed s the
scratch baseline ends at FID 10 + 0.3 s (its best, two ticks earlier, as much lower as every other run's: final
and best verdicts agree); every other configuration's FID is that plus a known per-seed offset:
- scratch: ADA -1, Freeze-D changes nothing (offset 0 in every seed -> "no difference", an interval of 0s);
- source, none: -3 (Freeze-D 0) and -4 (Freeze-D 1) -> better than scratch, and Freeze-D 1 better than 0;
- source, ADA, Freeze-D 0: scratch ADA's -1 plus -0.3, +0.2, -0.1, +0.4, -0.2 -> no difference (the interval holds 0);
- source, ADA, Freeze-D 1: 0.5 above Freeze-D 0 -> Freeze-D worse, and worse than scratch ADA.
A verdict that paired a source run with a scratch run of another augmentation or Freeze-D would fail these tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from analysis.load import load_metrics, load_trials
from analysis.verdicts import verdict_table
from tests.analysis.analysis_fixtures import tick_frame, write_sweep_parts

SOURCE = "/cache/sources/abc123/run"
NOISE = [-0.3, 0.2, -0.1, 0.4, -0.2]
ADA = {"aug_mode": "ada", "augpipe": "bgc", "heuristic": "rt", "ada_target": 0.6}
RUNS = {  # (aug, freeze_d, init_from) -> offset per seed
    ("none", 0, None): [0.0] * 5, ("none", 1, None): [0.0] * 5,
    ("ada", 0, None): [-1.0] * 5, ("ada", 1, None): [-1.0] * 5,
    ("none", 0, SOURCE): [-3.0] * 5, ("none", 1, SOURCE): [-4.0] * 5,
    ("ada", 0, SOURCE): [-1.0 + n for n in NOISE], ("ada", 1, SOURCE): [-0.5 + n for n in NOISE],
}


def _write(root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, trials = [], []
    for (aug, freeze, src), offsets in RUNS.items():
        cfg = ADA if aug == "ada" else {"aug_mode": "none"}
        for s, off in enumerate(offsets):
            tid = f"{aug}_f{freeze}_{'src' if src else 'scratch'}_{s}"
            base = 10.0 + 0.3 * s + off
            rows += [{"trial_id": tid, "seed": s, "tick": t + 1, "fid": f, "init_from": src, "dataset_size": 500,
                      **cfg}
                     for t, f in enumerate([base - 1.0, base + 5.0, base])]
            config = {"model": {"freeze_d": freeze}, "loss": {"r1_gamma": 0.1}, "augment": {"mode": aug},
                      "run": {"seed": s, "init_from": src, "init_sha256": "ab" * 32 if src else None},
                      "data": {"dataset_size": 500}}
            trials.append({"trial_id": tid, "status": "TERMINATED", "config_json": json.dumps(config)})
    write_sweep_parts(root, "transfer_grid", [tick_frame(rows)], pd.DataFrame(trials))
    return load_metrics(root), load_trials(root)


def _rows(table: pd.DataFrame, comparison: str) -> dict[str, tuple[str, str, str, str]]:
    sub = table[table["comparison"] == comparison]
    return {str(r["A"]): (str(r["B"]), str(r["final FID A - B"]), str(r["final"]), str(r["best"]))
            for _, r in sub.iterrows()}


def test_transfer_and_freeze_d_verdicts(tmp_path: Path) -> None:
    table = verdict_table(*_write(tmp_path))
    ada = "ADA rt 0.6 (bgc)"
    src = _rows(table, "from the source vs from scratch")
    assert src == {
        "from run, none, freeze_d=0": ("from scratch, none, freeze_d=0", "-3 [-3, -3]", "better", "better"),
        "from run, none, freeze_d=1": ("from scratch, none, freeze_d=1", "-4 [-4, -4]", "better", "better"),
        f"from run, {ada}, freeze_d=0": (f"from scratch, {ada}, freeze_d=0", src[f"from run, {ada}, freeze_d=0"][1],
                                         "no difference", "no difference"),
        f"from run, {ada}, freeze_d=1": (f"from scratch, {ada}, freeze_d=1", src[f"from run, {ada}, freeze_d=1"][1],
                                         "worse", "worse"),
    }
    assert src[f"from run, {ada}, freeze_d=0"][1].startswith("-0.1 [")
    assert src[f"from run, {ada}, freeze_d=1"][1].startswith("+0.4 [")
    frz = _rows(table, "Freeze-D 1 vs 0")
    assert frz == {
        "freeze_d=1, none, from scratch": ("freeze_d=0, none, from scratch", "+0 [+0, +0]", "no difference", "no difference"),
        f"freeze_d=1, {ada}, from scratch": (f"freeze_d=0, {ada}, from scratch", "+0 [+0, +0]", "no difference",
                                            "no difference"),
        "freeze_d=1, none, from run": ("freeze_d=0, none, from run", "-1 [-1, -1]", "better", "better"),
        f"freeze_d=1, {ada}, from run": (f"freeze_d=0, {ada}, from run", "+0.5 [+0.5, +0.5]", "worse", "worse"),
    }
    assert (table[table["comparison"].str.startswith("from the source")]["n"] == 5).all()
    # the augmentation rows still pair like with like (ADA vs none within each start x Freeze-D) and say which
    vs_none = _rows(table, "ADA vs none")
    assert vs_none[f"{ada}, from scratch, freeze_d=1"] == ("none, from scratch, freeze_d=1", "-1 [-1, -1]", "better", "better")
    assert vs_none[f"{ada}, from run, freeze_d=0"][1:] == ("+1.9 [+1.7, +2.4]", "worse", "worse")
    assert len(vs_none) == 4 and set(table["training set"]) == {"500"}
    assert list(table["comparison"]) == ["ADA vs none"] * 4 + ["from the source vs from scratch"] * 4 + ["Freeze-D 1 vs 0"] * 4


def test_a_source_run_with_other_settings_is_not_paired(tmp_path: Path) -> None:
    """Source runs at another r1_gamma than every scratch run: one refusal line naming the key, no verdict."""
    metrics, trials = _write(tmp_path)
    keep = trials["trial_id"].str.contains("_f0_") & trials["trial_id"].str.startswith("none")
    ids = set(trials.loc[keep, "trial_id"])
    cj = [json.dumps({**json.loads(t), "loss": {"r1_gamma": 2.0}}) if "_src_" in i else t
          for i, t in zip(trials["trial_id"], trials["config_json"])]
    trials = trials.assign(config_json=cj)[trials["trial_id"].isin(ids)]
    table = verdict_table(metrics[metrics["trial_id"].isin(ids)], trials)
    row = table[table["comparison"] == "from the source vs from scratch"].iloc[0]
    assert row["final"] == "not paired: settings differ in loss.r1_gamma (2.0 vs 0.1)" and row["n"] == 0


def test_source_with_freeze_d_pairs_with_scratch_at_freeze_d_0(tmp_path: Path) -> None:
    """The tiny grid runs scratch at Freeze-D 0 only (freezing a random D is not an arm): a source run with
    Freeze-D 1 is compared with that scratch run, as ADA Fig 9 does, and B's label says Freeze-D 0."""
    metrics, trials = _write(tmp_path)
    ids = set(trials.loc[~(trials["trial_id"].str.contains("_f1_scratch")), "trial_id"])
    table = verdict_table(metrics[metrics["trial_id"].isin(ids)], trials[trials["trial_id"].isin(ids)])
    src = _rows(table, "from the source vs from scratch")
    assert src["from run, none, freeze_d=1"] == ("from scratch, none, freeze_d=0", "-4 [-4, -4]", "better", "better")
    ada = "ADA rt 0.6 (bgc)"
    assert src[f"from run, {ada}, freeze_d=1"][0] == f"from scratch, {ada}, freeze_d=0"
    assert not table["final"].astype(str).str.startswith("not paired").any()
