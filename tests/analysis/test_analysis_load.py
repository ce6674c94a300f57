"""load_metrics / load_trials: newest attempt wins, typed columns, both path shapes, one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import ResultsError, load_metrics, load_trials
from analysis.synthetic import JUNK
from analysis_fixtures import tick_frame, write_sweep_parts


def _retried_parts() -> list[pd.DataFrame]:
    first = tick_frame([{"trial_id": "A", "tick": t, "attempt": 0, "fid": 10.0 * t, "written_at": 100.0 + t}
                        for t in (1, 2, 3, 4)])
    # attempt 1 resumed from tick 2's checkpoint and re-reported ticks 3, 4 with different values ...
    second = tick_frame([{"trial_id": "A", "tick": t, "attempt": 1, "fid": 100.0 + t, "written_at": 200.0 + t}
                         for t in (3, 4)])
    # ... and tick 4 of attempt 1 was written twice; the later write_at wins the tie
    stale = tick_frame([{"trial_id": "A", "tick": 4, "attempt": 1, "fid": 999.0, "written_at": 150.0}])
    other = tick_frame([{"trial_id": "B", "tick": t, "fid": 50.0} for t in (1, 2)])
    return [second, other, first, stale]


def test_newest_attempt_wins_and_ties_break_on_written_at(tmp_path: Path) -> None:
    write_sweep_parts(tmp_path, "fixed_p_grid", _retried_parts())
    df = load_metrics(tmp_path / "fixed_p_grid")
    a = df[df["trial_id"] == "A"]
    assert a["tick"].tolist() == [1, 2, 3, 4]
    assert a["fid"].tolist() == [10.0, 20.0, 103.0, 104.0]
    assert a["attempt"].tolist() == [0, 0, 1, 1]
    assert len(df) == 6 and not df.duplicated(["sweep", "trial_id", "tick"]).any()


def test_null_attempt_is_older_than_attempt_zero(tmp_path: Path) -> None:
    """The format's explicit rule: a row without an attempt is superseded by any numbered attempt, even a later write."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from resultsformat import dedup_newest
    rows = pa.table({"sweep": ["s"] * 4, "trial_id": ["A"] * 4, "tick": [1, 1, 2, 2], "attempt": [None, 0, None, None],
                     "written_at": [9.0, 1.0, 1.0, 2.0], "fid": [1.0, 2.0, 3.0, 4.0]})
    assert dedup_newest(rows).column("fid").to_pylist() == [2.0, 4.0]
    sdir = tmp_path / "s" / "metrics"
    sdir.mkdir(parents=True)
    pq.write_table(rows, sdir / "hand.parquet")
    assert load_metrics(tmp_path / "s")["fid"].tolist() == [2.0, 4.0]


def test_columns_are_typed_missing_ones_added_extra_ones_kept(tmp_path: Path) -> None:
    sdir = write_sweep_parts(tmp_path, "fixed_p_grid", _retried_parts())
    # a part written by another tool (not through the format): an undeclared column, absent ones; readers cope
    foreign = tick_frame([{"trial_id": "B", "tick": 3, "fid": 50.0, "extra_col": "x"}]).drop(columns=["detector"])
    foreign.to_parquet(sdir / "metrics" / "foreign.parquet", index=False)
    df = load_metrics(tmp_path)
    assert str(df["tick"].dtype) == "Int64" and str(df["dataset_size"].dtype) == "Int64"
    assert df["fid"].dtype == np.float64 and str(df["mirror"].dtype) == "boolean"
    assert isinstance(df["aug_mode"].dtype, pd.CategoricalDtype)
    assert df["leak_rot"].isna().all() and df["D_real_val"].isna().all()  # absent in the parts: all-null
    assert df.loc[(df["trial_id"] == "B") & (df["tick"] == 3), "extra_col"].tolist() == ["x"]
    assert df["sweep"].astype(str).unique().tolist() == ["fixed_p_grid"]


def test_storage_root_concatenates_sweeps_and_fills_sweep_from_dir(tmp_path: Path) -> None:
    write_sweep_parts(tmp_path, "s1", [tick_frame([{"trial_id": "A", "tick": 1, "fid": 1.0}])])
    (tmp_path / "s2" / "metrics").mkdir(parents=True)
    tick_frame([{"trial_id": "A", "tick": 1, "fid": 2.0}]).to_parquet(tmp_path / "s2" / "metrics" / "p.parquet")
    df = load_metrics(str(tmp_path))
    assert df[["sweep", "fid"]].astype({"sweep": str}).values.tolist() == [["s1", 1.0], ["s2", 2.0]]


def test_synthetic_retried_trial_keeps_the_good_values(synthetic_metrics: pd.DataFrame) -> None:
    assert not synthetic_metrics.duplicated(["sweep", "trial_id", "tick"]).any()
    assert synthetic_metrics["fid"].max() < JUNK  # every junk row came from a superseded attempt
    first = synthetic_metrics[synthetic_metrics["trial_id"] == "fixed_p_grid_00012"]
    assert first["attempt"].max() == 1 and len(first) == 8


@pytest.mark.parametrize("case", ["missing", "empty", "corrupt", "file"])
def test_bad_paths_raise_one_line_results_error(tmp_path: Path, case: str) -> None:
    path = tmp_path / "results"
    if case == "empty":
        path.mkdir()
    elif case == "corrupt":
        (path / "s" / "metrics").mkdir(parents=True)
        (path / "s" / "metrics" / "part-0.parquet").write_bytes(b"not parquet at all")
    elif case == "file":
        path.write_text("x")
    with pytest.raises(ResultsError) as err:
        load_metrics(path)
    msg = str(err.value)
    assert "\n" not in msg and isinstance(err.value, ValueError)
    assert ("part-0.parquet" in msg) if case == "corrupt" else (str(path) in msg)


def test_load_trials_reads_trials_parquet_or_derives_it(tmp_path: Path) -> None:
    trials = pd.DataFrame({"trial_id": ["A", "C"], "status": ["TERMINATED", "ERROR"], "error": [None, "boom"],
                           "retries": [1, 3], "attempt": [1, 3], "config_json": ['{"a": 1}', None],
                           "best_fid": [10.0, None], "final_fid": [104.0, None], "final_kimg": [16.0, None]})
    write_sweep_parts(tmp_path, "with", _retried_parts(), trials)
    write_sweep_parts(tmp_path, "without", _retried_parts())
    df = load_trials(tmp_path)
    w = df[df["sweep"] == "with"].set_index("trial_id")
    assert w.loc["C", "status"] == "ERROR" and w.loc["C", "error"] == "boom" and w.loc["A", "retries"] == 1
    d = df[df["sweep"] == "without"].set_index("trial_id")
    assert set(d["status"]) == {"UNKNOWN"}
    assert d.loc["A", "best_fid"] == 10.0 and d.loc["A", "final_fid"] == 104.0 and d.loc["B", "final_fid"] == 50.0


def test_import_analysis_pulls_in_no_torch_ray_or_matplotlib() -> None:
    code = ("import sys, analysis; light = 'matplotlib' not in sys.modules; import analysis.report; "
            "bad = [m for m in ('torch', 'ray', 'trainer', 'sweeps') if m in sys.modules]; "
            "print(bad, light); sys.exit(1 if bad or not light else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_live_sweep_status_records_fill_the_derived_trials(tmp_path: Path) -> None:
    sdir = write_sweep_parts(tmp_path, "live", _retried_parts())
    (sdir / "trials").mkdir()
    (sdir / "trials" / "A.json").write_text('{"trial_id": "A", "status": "RUNNING", "attempt": 1}')
    (sdir / "trials" / "B.json").write_text('{"trial_id": "B", "status": "ERROR", "attempt": 2, "error": "OOM"}')
    (sdir / "metrics" / "gone.parquet").symlink_to(tmp_path / "nowhere.parquet")  # compacted away mid-listing
    df = load_trials(sdir).set_index("trial_id")
    assert df.loc["A", "status"] == "RUNNING" and df.loc["B", "status"] == "ERROR" and df.loc["B", "error"] == "OOM"
    assert df.loc["B", "retries"] == 2 and df.loc["A", "final_fid"] == 104.0


def _write_evaluations(sdir: Path, rows: list[dict], name: str) -> None:
    (sdir / "evaluations").mkdir(exist_ok=True)
    pd.DataFrame(rows).to_parquet(sdir / "evaluations" / f"{name}.parquet", index=False)


def _eval(trial: str, tick: int, fid: float, samples: int, repeats: int, written: float, detector: str = "offline") -> dict:
    return {"sweep": "fixed_p_grid", "trial_id": trial, "tick": tick, "kimg": 4.0 * tick, "detector": detector,
            "fid_samples": samples, "repeats": repeats, "fid": fid, "fid_std": 0.01 * repeats, "kid": None,
            "checkpoint": f"ray/{trial}/checkpoint_000001", "written_at": written}


def test_evaluations_join_the_tick_they_remeasure_most_careful_first(tmp_path: Path) -> None:
    from analysis.tidy import per_trial

    ticks = tick_frame([{"trial_id": t, "tick": k, "fid": f + k} for t, f in (("A", 1.0), ("B", 2.0)) for k in (1, 2)])
    sdir = write_sweep_parts(tmp_path, "fixed_p_grid", [ticks])
    # B's last tick is re-measured twice: the 10k x 3 one wins over the newer 2k x 1 one
    _write_evaluations(sdir, [_eval("A", 2, 0.5, 10_000, 3, 100.0), _eval("B", 2, 0.7, 10_000, 3, 100.0)], "careful")
    _write_evaluations(sdir, [_eval("B", 2, 9.9, 2000, 1, 200.0),
                              _eval("A", 2, 7.7, 10_000, 3, 300.0, detector="inception")], "quick")
    m = load_metrics(sdir)
    last = m[m["tick"] == 2].set_index("trial_id")
    assert last["fid_eval"].to_dict() == {"A": 0.5, "B": 0.7}   # the inception row re-measures nothing logged
    assert m.loc[m["tick"] == 1, "fid_eval"].isna().all() and (last["fid"] == [3.0, 4.0]).all()   # logged untouched
    assert str(m["fid_eval_samples"].dtype) == "Int64" and set(last["fid_eval_samples"]) == {10_000}
    trials = per_trial(m, "final").set_index("trial_id")
    assert trials["fid"].to_dict() == {"A": 0.5, "B": 0.7} and trials.attrs["fid_note"] == "re-measured: 10 000 samples x 3 draws"
    assert per_trial(m, "best").attrs["fid_note"] is None   # best FID is a logged-curve statistic


def test_final_fid_is_remeasured_for_all_trials_or_none(tmp_path: Path) -> None:
    from analysis.tidy import fid_label, per_trial

    ticks = tick_frame([{"trial_id": t, "tick": k, "fid": 5.0} for t in ("A", "B") for k in (1, 2)])
    sdir = write_sweep_parts(tmp_path, "fixed_p_grid", [ticks])
    _write_evaluations(sdir, [_eval("A", 2, 0.5, 10_000, 3, 100.0), _eval("B", 1, 0.6, 10_000, 3, 100.0)], "part")
    trials = per_trial(load_metrics(sdir), "final")   # B's re-measure is not of its final tick
    assert (trials["fid"] == 5.0).all() and trials.attrs["fid_note"] is None
    assert fid_label("offline", "final", None) == "final FID (offline detector)"
    assert fid_label("offline", "final", "re-measured", log=True) == "final FID (offline detector) (log scale)\nre-measured"


def test_corrupt_evaluation_part_is_a_one_line_results_error(tmp_path: Path) -> None:
    sdir = write_sweep_parts(tmp_path, "fixed_p_grid", [tick_frame([{"trial_id": "A", "tick": 1, "fid": 1.0}])])
    (sdir / "evaluations").mkdir()
    (sdir / "evaluations" / "bad.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(ResultsError, match="corrupt or unreadable Parquet file .*bad.parquet"):
        load_metrics(sdir)


def test_old_results_that_mixed_r_v_estimators_load_split(tmp_path: Path) -> None:
    """Before r_v_ctrl existed, r_v held the controller's probe off metric ticks: those values load as r_v_ctrl."""
    old = tick_frame([
        {"trial_id": "t", "tick": 1, "aug_mode": "ada", "r_v": 0.31},                         # controller probe
        {"trial_id": "t", "tick": 2, "aug_mode": "ada", "r_v": 0.25, "fid": 9.0, "D_real_train": 1.0,
         "D_real_val": 0.5, "D_fake": -1.0},                                                   # suite: 0.5 / 2
        {"trial_id": "t", "tick": 3, "aug_mode": "ada", "r_v": 0.40, "fid": 8.0, "D_real_train": 1.0,
         "D_real_val": 1.0, "D_fake": 1.0},                   # suite undefined (0/0): old code fell back to the probe
    ])
    new = tick_frame([{"trial_id": "u", "tick": 1, "aug_mode": "ada", "r_v": None, "r_v_ctrl": 0.2},
                      {"trial_id": "u", "tick": 2, "aug_mode": "ada", "r_v": 0.1, "r_v_ctrl": 0.3, "fid": 7.0,
                       "D_real_train": 2.0, "D_real_val": 1.8, "D_fake": 0.0, "d_gap_train_val": 0.2}])
    write_sweep_parts(tmp_path, "ada_target_grid", [old, new])
    m = load_metrics(tmp_path / "ada_target_grid").set_index(["trial_id", "tick"])
    assert m["r_v"].isna().tolist() == [True, False, True, True, False]
    assert m.loc[("t", 2), "r_v"] == 0.25 and m.loc[("u", 2), "r_v"] == pytest.approx(0.1)
    np.testing.assert_allclose(m["r_v_ctrl"].to_numpy(float), [0.31, np.nan, 0.40, 0.2, 0.3])
    np.testing.assert_allclose(m["d_gap_train_val"].to_numpy(float), [np.nan, 0.5, 0.0, np.nan, 0.2])
