"""`sweeps.status runs/` follows a sweep run in parts (`runs/<part>/<sweep>/`), as `analysis.report runs/` does.

docs/tiny-results.md plans each shape as several launches, one `--storage runs/<part>` each; before this, status
on `runs/` answered "no sweep here" and a user had to ask each part in turn."""

from __future__ import annotations

from pathlib import Path

import pytest

from sweeps.status import find_stores, main, render
from sweeps.store import SWEEP_FILE, SweepStore


def _sweep(parent: Path, name: str, done: int, total: int) -> None:
    store = SweepStore(str(parent), name)
    store.write_json(SWEEP_FILE, {"trials": [{"trial": i} for i in range(total)]})
    for i in range(done):
        store.write_status(f"t{i}", {"trial_index": i, "status": "TERMINATED", "attempt": 0})


def test_a_root_of_parts_lists_every_part(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _sweep(tmp_path / "s1_250", "overfitting", 6, 6)
    _sweep(tmp_path / "s1_50k", "overfitting", 1, 3)
    _sweep(tmp_path / "s3_250", "fixed_p_grid", 2, 6)
    (tmp_path / "notes").mkdir()                       # a folder without a sweep is passed over
    stores = find_stores(str(tmp_path))
    assert [(Path(s.uri).parent.name, s.sweep) for s in stores] == [
        ("s1_250", "overfitting"), ("s1_50k", "overfitting"), ("s3_250", "fixed_p_grid")]
    text, ended = render(str(tmp_path))
    totals = [line for line in text.splitlines() if line.startswith("total:")]
    assert [t.split(";")[0] for t in totals] == [
        "total: 6/6 done, 0 running, 0 errored", "total: 1/3 done, 0 running, 0 errored",
        "total: 2/6 done, 0 running, 0 errored"]
    assert not ended                                   # two parts still have pending trials
    assert main([str(tmp_path)]) == 0
    assert capsys.readouterr().out.count("sweep overfitting (") == 2


def test_a_root_with_a_sweep_of_its_own_does_not_descend(tmp_path: Path) -> None:
    _sweep(tmp_path, "fixed_p_grid", 1, 1)
    _sweep(tmp_path / "old", "overfitting", 1, 1)      # a part folder beside a sweep is not this root's sweep
    assert [s.sweep for s in find_stores(str(tmp_path))] == ["fixed_p_grid"]
    assert [s.sweep for s in find_stores(str(tmp_path / "fixed_p_grid"))] == ["fixed_p_grid"]


def test_no_sweep_two_levels_down_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "part" / "empty").mkdir(parents=True)
    assert main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no sweep here" in err
