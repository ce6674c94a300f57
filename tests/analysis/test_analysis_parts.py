"""A sweep run in parts: `runs/<part>/<sweep>/` folders (one `--storage` per launch) read as one storage root.

Two launches of one sweep cannot share a storage root, so a sweep split with `--set` pins leaves one folder per
part; docs/tiny-results.md's plan reads them all with `python -m analysis.report runs/`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis import load_metrics, load_trials
from analysis.errors import ResultsError
from analysis.figures_samples import _last_png, sweep_folders
from analysis.load import sweep_configs
from analysis.synthetic import trial_grid, write_sweep


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    root = tmp_path_factory.mktemp("runs")
    trials = trial_grid(2)
    trials = trials[trials["sweep"] == "leakage_grid"].reset_index(drop=True)
    half = len(trials) // 2
    write_sweep(root / "part_a", "leakage_grid", trials.iloc[:half].reset_index(drop=True), 8, samples=True)
    write_sweep(root / "part_b", "leakage_grid", trials.iloc[half:].reset_index(drop=True), 8, seed=1, samples=True)
    return root, trials


def test_a_root_of_parts_reads_as_the_union_of_its_parts(parts: tuple[Path, pd.DataFrame]) -> None:
    root, trials = parts
    a, b = load_metrics(root / "part_a" / "leakage_grid"), load_metrics(root / "part_b" / "leakage_grid")
    both = load_metrics(root)
    assert len(both) == len(a) + len(b) and len(a) and len(b)
    assert set(both["trial_id"]) == set(trials["trial_id"]) == set(a["trial_id"]) | set(b["trial_id"])
    assert set(both["sweep"]) == {"leakage_grid"}
    assert set(load_trials(root)["trial_id"]) >= set(trials["trial_id"])


def test_each_parts_sweep_json_is_kept_and_samples_come_from_either_part(parts: tuple[Path, pd.DataFrame]) -> None:
    root, trials = parts
    assert sorted(sweep_configs(root)) == ["leakage_grid [part_a]", "leakage_grid [part_b]"]
    folders = sweep_folders(root)
    assert [Path(s.path).parent.name for s in folders["leakage_grid"]] == ["part_a", "part_b"]
    for trial_id in (trials["trial_id"].iloc[0], trials["trial_id"].iloc[-1]):   # one in each part
        img = _last_png(folders, "leakage_grid", str(trial_id))
        assert img is not None and img.shape[:2] == (128, 128)


def test_sweeps_one_level_down_win_and_an_empty_root_says_what_it_expected(parts: tuple[Path, pd.DataFrame],
                                                                          tmp_path: Path) -> None:
    root, _ = parts
    assert sweep_configs(root / "part_a") == {"leakage_grid": sweep_configs(root / "part_a")["leakage_grid"]}
    (tmp_path / "empty" / "nothing").mkdir(parents=True)
    with pytest.raises(ResultsError, match="<part>/<sweep>/metrics"):
        load_metrics(tmp_path / "empty")
