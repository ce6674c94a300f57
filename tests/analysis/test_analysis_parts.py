"""A sweep run in parts: `runs/<part>/<sweep>/` folders (one `--storage` per launch) read as one storage root.

Two launches of one sweep cannot share a storage root, so a sweep split with `--set` pins leaves one folder per
part; docs/tiny-results.md's plan reads them all with `python -m analysis.report runs/`."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis import load_metrics, load_trials
from analysis.aggregate import summarize
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


def _launch(root: Path, part: str, trials: pd.DataFrame, ticks: int, suffix: str = "",
            pins: list[str] | None = None) -> None:
    """TRIALS launched into PART (with SUFFIX on the trial ids, as Ray gives new ones), TICKS ticks, pinned by PINS."""
    write_sweep(root / part, "leakage_grid", trials.assign(trial_id=trials["trial_id"] + suffix,
                                                           trial_index=range(len(trials))), ticks)
    if pins is not None:
        path = root / part / "leakage_grid" / "sweep.json"
        record = json.loads(path.read_text())
        path.write_text(json.dumps({**record, "set": pins}))


def test_a_run_two_parts_hold_counts_once(parts: tuple[Path, pd.DataFrame], tmp_path: Path) -> None:
    # an aborted launch left beside its finished re-run: its seeds must not count as more seeds
    _, trials = parts
    root = tmp_path / "runs"
    first = trials                                              # 2 seeds of every configuration
    _launch(root, "part_a", first, 8)
    _launch(root, "aborted", first, 3, suffix="_again")
    m = load_metrics(root)
    assert set(m["trial_id"]) == set(first["trial_id"])            # the longer runs are the ones kept
    assert m.groupby(["augpipe", "p_fixed", "seed"], observed=True)["trial_id"].nunique().max() == 1
    notes = m.attrs["notes"]
    assert len(notes) == len(first) and all("part aborted" in n and "repeats the run of part part_a" in n for n in notes)
    # the figure statistics see each seed once: n is the number of seeds
    last = m.sort_values("tick").groupby("trial_id").tail(1)
    assert set(summarize(last, ["augpipe", "p_fixed"], "fid")["n"]) == {2}
    # and the report says what it did, on the page and on stderr
    from analysis.report import render_report
    index = render_report(root, tmp_path / "report", formats=("png",), workers=1)
    assert "repeats the run of part part_a" in index.read_text()


def test_parts_with_different_pins_are_different_runs(parts: tuple[Path, pd.DataFrame], tmp_path: Path) -> None:
    # same columns and seed, but another --set pin (e.g. an R1 weight no column shows): both are kept
    _, trials = parts
    root = tmp_path / "runs"
    first = trials.iloc[: len(trials) // 2].reset_index(drop=True)
    _launch(root, "part_a", first, 8)
    _launch(root, "r1_high", first, 3, suffix="_again", pins=["loss.r1_gamma=1.0"])
    m = load_metrics(root)
    assert len(set(m["trial_id"])) == 2 * len(first) and m.attrs["notes"] == []
