"""`analysis.report --until-kimg N`: each trial read as it stood when it first reached N kimg.

Hand-made rows with known FIDs: trial a was extended to 40 kimg, trial b stopped at 20 (a sweep mid-extension)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.budget import mixed_budget_notes, read_at_kimg
from analysis.load import load_metrics, load_trials
from analysis.report import main
from analysis.tidy import per_trial
from analysis_fixtures import tick_frame, write_sweep_parts

# FID at every tick (kimg = 4 * tick): a is best at tick 4, then worse; b falls to its end
FID_A = [9.0, 7.0, 6.0, 5.0, 5.5, 6.5, 7.5, 8.0, 8.5, 9.0]
FID_B = [9.5, 8.0, 7.0, 6.5, 6.0]


def _sweep(root: Path) -> Path:
    rows = tick_frame([{"trial_id": "a", "trial_index": 0, "tick": t + 1, "fid": f} for t, f in enumerate(FID_A)]
                      + [{"trial_id": "b", "trial_index": 1, "seed": 1, "tick": t + 1, "fid": f}
                         for t, f in enumerate(FID_B)])
    trials = pd.DataFrame({"trial_id": ["a", "b"], "trial_index": [0, 1], "status": ["TERMINATED", "RUNNING"],
                           "best_fid": [min(FID_A), min(FID_B)], "final_fid": [FID_A[-1], FID_B[-1]],
                           "final_kimg": [40.0, 20.0]})
    return write_sweep_parts(root, "s", [rows], trials)


def test_every_trial_is_cut_at_its_first_tick_at_or_past_n_and_its_fids_follow(tmp_path: Path) -> None:
    sdir = _sweep(tmp_path)
    metrics, trials = load_metrics(sdir), load_trials(sdir)
    cut, table, notes = read_at_kimg(metrics, trials, 22.0)          # between ticks: a keeps its tick at 24 kimg
    assert cut.groupby("trial_id")["kimg"].max().to_dict() == {"a": 24.0, "b": 20.0}
    by = table.set_index("trial_id")
    assert by.loc["a", ["best_fid", "final_fid", "final_kimg"]].tolist() == [5.0, 6.5, 24.0]   # not 9.0 at 40
    assert by.loc["b", ["best_fid", "final_fid", "final_kimg"]].tolist() == [6.0, 6.0, 20.0]
    assert "4 rows in all" in notes[0]
    assert per_trial(cut).attrs["fid_note"] == "runs read at 22 kimg"         # every final/best FID axis says so
    assert per_trial(metrics).attrs["fid_note"] is None
    assert notes[1].startswith("1 trial(s) end before 22 kimg (at 20-20)") and "s/b" in notes[1]
    cut, table, notes = read_at_kimg(metrics, trials, 20.0)           # exactly on a tick: both at 20, nobody short
    assert cut.groupby("trial_id")["kimg"].max().to_dict() == {"a": 20.0, "b": 20.0}
    assert table.set_index("trial_id").loc["a", "final_fid"] == 5.5 and len(notes) == 1
    cut, table, _ = read_at_kimg(metrics, trials, 1000.0)             # past every end: nothing is cut
    assert len(cut) == len(metrics) and table["final_fid"].tolist() == [9.0, 6.0]


def test_the_flag_on_the_command_line_and_its_bad_values(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    sdir = _sweep(tmp_path)
    assert main([str(sdir), "--out", str(tmp_path / "r"), "--until-kimg", "20"]) == 0
    err = capsys.readouterr().err
    assert "note: read at 20 kimg (--until-kimg)" in err
    assert "read at 20 kimg" in (tmp_path / "r" / "index.html").read_text()
    for bad in ("0", "-4", "nan", "inf", "four"):
        with pytest.raises(SystemExit) as exc:
            main([str(sdir), "--out", str(tmp_path / f"bad{bad}"), "--until-kimg", bad])
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "--until-kimg" in err, err
        assert not (tmp_path / f"bad{bad}").exists()


def test_a_report_without_the_flag_says_when_final_fids_stand_at_different_budgets(tmp_path: Path,
                                                                                  capsys: pytest.CaptureFixture) -> None:
    """a at 40 kimg, b at 20: the page says its final-FID figures compare budgets, and names the cut; after the cut,
    or with every trial at one budget, it says nothing."""
    sdir = _sweep(tmp_path)
    metrics, trials = load_metrics(sdir), load_trials(sdir)
    note = ("s: the trials' final FIDs stand at 20 to 40 kimg (1 of 2 at 20), so figures of final and best FID "
            "compare budgets as well as runs; --until-kimg 20 reads every trial at one")
    assert mixed_budget_notes(metrics) == [note]
    assert mixed_budget_notes(read_at_kimg(metrics, trials, 20.0)[0]) == []
    assert mixed_budget_notes(metrics[metrics["kimg"] <= 20.0]) == []
    assert main([str(sdir), "--out", str(tmp_path / "r")]) == 0
    assert f"note: {note}" in capsys.readouterr().err and "--until-kimg 20 reads" in (tmp_path / "r" / "index.html").read_text()
