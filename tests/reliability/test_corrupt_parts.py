"""A truncated or garbage part in `metrics/` costs its own rows, not the sweep's (issue #33, item 4).

Each reader — `analysis.load_metrics`, `python -m sweeps.status`, `python -m analysis.report` and the store's own
compaction — names the bad file once and reads everything else.  Before, load_metrics and the report refused the
whole sweep (exit 2) and sweeps.status died with a raw `pyarrow.lib.ArrowInvalid` traceback.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from analysis.load import load_metrics
from analysis.errors import UnreadablePartWarning
from analysis.synthetic import write_store
from sweeps.status import main as status_main
from sweeps.store import SWEEP_FILE, SweepStore

ROOT = Path(__file__).resolve().parents[2]


def _row(tick: int) -> dict:
    return {"sweep": "fixed_p_grid", "tick": tick, "kimg": float(tick), "fid": 50.0 - tick, "scale": "smoke",
            "trial_index": 0}


def _store(tmp_path: Path) -> tuple[SweepStore, Path, Path]:
    """Two trials x 3 ticks, one part per tick; trial a's tick-2 part truncated, and a garbage file beside them."""
    store = SweepStore(str(tmp_path), "fixed_p_grid")
    store.write_json(SWEEP_FILE, {"trials": [{"trial": 0}, {"trial": 1}]})
    for i, trial in enumerate(("a", "b")):
        for tick in (1, 2, 3):
            store.write_rows([{**_row(tick), "trial_index": i}], trial_id=trial, attempt=0)
        store.write_status(trial, {"trial_index": i, "status": "TERMINATED", "attempt": 0})
    metrics = Path(store.path("metrics"))
    truncated = next(metrics.glob("a.a0.t000002.*.parquet"))
    truncated.write_bytes(truncated.read_bytes()[:40])
    garbage = metrics / "b.a0.t000009.deadbeef.parquet"
    garbage.write_bytes(b"not parquet at all\n" * 8)
    return store, truncated, garbage


def test_load_metrics_warns_once_per_bad_part_and_reads_the_rest(tmp_path: Path) -> None:
    store, truncated, garbage = _store(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = load_metrics(tmp_path / "fixed_p_grid")
    assert sorted(zip(m["trial_id"].astype(str), m["tick"].astype(int))) == [("a", 1), ("a", 3), ("b", 1), ("b", 2),
                                                                              ("b", 3)]
    named = [str(w.message) for w in caught if issubclass(w.category, UnreadablePartWarning)]
    assert len(named) == 2 and str(truncated) in named[0] + named[1] and str(garbage) in named[0] + named[1]
    assert m.attrs["skipped_parts"] == sorted(named, key=lambda n: n.split(" (")[0])


def test_status_names_the_bad_part_once_and_counts_the_rest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, truncated, garbage = _store(tmp_path)
    assert status_main([str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "ArrowInvalid" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 2 and all(ln.startswith("warning: skipped unreadable Parquet part") for ln in lines), err
    assert str(truncated) in err and str(garbage) in err
    assert "total: 2/2 done" in out


def test_compaction_keeps_going_and_leaves_the_bad_part_in_place(tmp_path: Path) -> None:
    store, truncated, garbage = _store(tmp_path)
    assert store.compact("a") == 2            # the merged part, and the unreadable one left as it was
    assert truncated.exists() and garbage.exists()
    rows = store.read_metrics()
    assert sorted(zip(rows["trial_id"], rows["tick"])) == [("a", 1), ("a", 3), ("b", 1), ("b", 2), ("b", 3)]
    assert len(rows.attrs["skipped_parts"]) == 2


def test_report_lists_the_skipped_part_and_draws_the_rest(tmp_path: Path) -> None:
    write_store(tmp_path / "store", seeds=1, ticks=4, sweeps=("dataset_size_grid",), samples=False)
    metrics = tmp_path / "store" / "dataset_size_grid" / "metrics"
    victim = sorted(metrics.glob("*.parquet"))[0]
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "analysis.report", str(tmp_path / "store" / "dataset_size_grid"),
                           "--out", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count(str(victim)) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert (out / "ada_fig7_fid_vs_size.png").stat().st_size > 1000
    assert f"skipped unreadable Parquet part {victim}" in (out / "index.html").read_text()
