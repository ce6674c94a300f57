"""The Parquet store: atomic immutable parts, newest attempt wins, compaction, URIs through pyarrow filesystems."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pandas as pd
import pytest

import pyarrow as pa

from resultsformat import TICK_COLUMNS, FormatError
from sweeps.store import RowBuffer, SweepStore, probe_writable, read_metrics
from trainer.errors import UserInputError


def _row(tick: int, p: float, **extra) -> dict:
    return {"tick": tick, "kimg": float(tick), "p": p, "fid": None if tick % 2 else 100.0 - tick,
            "D_hist_fake": [0.1, 0.9] if tick == 2 else None, **extra}


def test_retried_trial_newest_attempt_wins(tmp_path: Path) -> None:
    store = SweepStore(str(tmp_path), "sw")
    for tick in (1, 2, 3, 4):                         # attempt 0 reaches tick 4, checkpoint was at tick 2
        store.write_rows([_row(tick, 0.1 * tick)], trial_id="t1", attempt=0)
    for tick in (3, 4, 5):                            # the retry re-reports 3 and 4 with other values
        store.write_rows([_row(tick, 0.5 + tick)], trial_id="t1", attempt=1)
    store.write_rows([_row(1, 0.0)], trial_id="t2", attempt=0)
    df = read_metrics(tmp_path / "sw")
    assert list(zip(df["trial_id"], df["tick"])) == [("t1", 1), ("t1", 2), ("t1", 3), ("t1", 4), ("t1", 5), ("t2", 1)]
    t1 = df[df["trial_id"] == "t1"].set_index("tick")
    assert t1["attempt"].tolist() == [0, 0, 1, 1, 1]
    assert t1.loc[3, "p"] == pytest.approx(3.5) and t1.loc[2, "p"] == pytest.approx(0.2)
    assert t1.loc[2, "fid"] == 98.0 and pd.isna(t1.loc[3, "fid"])
    assert list(t1.loc[2, "D_hist_fake"]) == [0.1, 0.9]
    assert df["written_at"].dtype == float


def test_same_attempt_rewrite_keeps_the_newest_write(tmp_path: Path) -> None:
    store = SweepStore(str(tmp_path), "sw")
    store.write_rows([_row(1, 0.1)], trial_id="t", attempt=0)
    store.write_rows([_row(1, 0.2)], trial_id="t", attempt=0)
    df = store.read_metrics()
    assert len(df) == 1 and df["p"].iloc[0] == pytest.approx(0.2)


def test_compaction_keeps_rows_and_removes_small_parts(tmp_path: Path) -> None:
    store = SweepStore(str(tmp_path), "sw")
    for tick in (1, 2, 3):
        store.write_rows([_row(tick, 0.1)], trial_id="t", attempt=0)
    store.write_rows([_row(3, 0.7)], trial_id="t", attempt=1)
    store.write_rows([_row(1, 0.0)], trial_id="other", attempt=0)
    before = store.read_metrics()
    assert store.compact("t") == 2
    names = sorted(os.listdir(tmp_path / "sw" / "metrics"))
    assert len(names) == 3 and sum(n.startswith("t.a0.c000003.") for n in names) == 1
    assert sum(n.startswith("t.a1.t000003.") for n in names) == 1 and sum(n.startswith("other.a0.") for n in names) == 1
    after = store.read_metrics()
    pd.testing.assert_frame_equal(before, after)
    assert len(store.read_metrics(dedup=False)) == 5
    assert after.set_index(["trial_id", "tick"]).loc[("t", 3), "p"] == pytest.approx(0.7)


def test_concurrent_writers_never_collide(tmp_path: Path) -> None:
    store = SweepStore(str(tmp_path), "sw")

    def writer(tid: str) -> None:
        for tick in range(1, 21):
            store.write_rows([_row(tick, 0.0)], trial_id=tid, attempt=0)

    threads = [threading.Thread(target=writer, args=(f"t{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    df = store.read_metrics()
    assert len(df) == 80 and df.groupby("trial_id")["tick"].nunique().tolist() == [20] * 4
    assert not [n for n in os.listdir(tmp_path / "sw" / "metrics") if n.endswith(".tmp")]


def test_file_uri_goes_through_pyarrow_filesystem(tmp_path: Path) -> None:
    store = SweepStore(f"file://{tmp_path}", "sw")
    assert store.uri == f"file://{tmp_path}/sw"
    store.write_rows([_row(1, 0.3)], trial_id="t", attempt=0)
    store.write_status("t", {"status": "RUNNING", "attempt": 0, "trial_index": 0})
    store.write_json("sweep.json", {"a": 1})
    assert store.read_status("t")["status"] == "RUNNING"
    assert json.loads((tmp_path / "sw" / "sweep.json").read_text()) == {"a": 1}
    assert read_metrics(f"file://{tmp_path}/sw")["p"].tolist() == [0.3]
    assert store.read_statuses()["t"]["trial_index"] == 0


def test_probe_writable_creates_nothing(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(UserInputError, match="afile"):
        probe_writable(str(afile / "deeper" / "results"))
    probe_writable(str(tmp_path / "new" / "results"))
    assert sorted(os.listdir(tmp_path)) == ["afile"]
    with pytest.raises(UserInputError, match="--storage"):
        probe_writable("nosuchscheme://bucket/x")


def test_store_cost_per_row_is_small(tmp_path: Path) -> None:
    """One Parquet part per tick must cost far less than a tick of training (seconds): < 50 ms per row here."""
    import time
    store = SweepStore(str(tmp_path), "sw")
    floats = [c.name for c in TICK_COLUMNS if c.type == pa.float64()][:40]
    row = _row(2, 0.5, **{c: 1.0 for c in floats if c not in ("p", "fid", "kimg")})
    t0 = time.perf_counter()
    for tick in range(1, 51):
        store.write_rows([{**row, "tick": tick}], trial_id="t", attempt=0)
    per_row = (time.perf_counter() - t0) / 50
    assert per_row < 0.05
    assert len(store.read_metrics()) == 50


def test_undeclared_column_is_refused_not_written(tmp_path: Path) -> None:
    store = SweepStore(str(tmp_path), "sw")
    with pytest.raises(FormatError, match="undeclared column.*fid_typo"):
        store.write_rows([_row(1, 0.1, fid_typo=3.0)], trial_id="t", attempt=0)
    assert not (tmp_path / "sw" / "metrics").exists() or not os.listdir(tmp_path / "sw" / "metrics")


def test_null_attempt_rows_lose_to_attempt_zero_in_the_store_too(tmp_path: Path) -> None:
    import pyarrow.parquet as pq
    (tmp_path / "sw" / "metrics").mkdir(parents=True)
    pq.write_table(pa.table({"trial_id": ["t", "t"], "tick": [1, 1], "attempt": [None, 0], "written_at": [9.0, 1.0],
                             "p": [0.9, 0.1]}), tmp_path / "sw" / "metrics" / "hand.parquet")
    assert SweepStore(str(tmp_path), "sw").read_metrics()["p"].tolist() == [0.1]


def test_running_trial_holds_a_bounded_number_of_parts(tmp_path: Path) -> None:
    """One flush per tick (a paper tick is longer than the flush interval) and a checkpoint every 50 ticks."""
    store = SweepStore(str(tmp_path), "sw")
    buf = RowBuffer(store, "t", 0, flush_s=0.0, compact_every=8)
    most = 0
    for tick in range(1, 121):
        buf.add(_row(tick, 0.01 * tick))
        if tick % 50 == 0:
            buf.flush(compact=True)
        most = max(most, len(os.listdir(tmp_path / "sw" / "metrics")))
    assert most <= 8 + 1
    df = store.read_metrics(dedup=False)
    assert df["tick"].tolist() == list(range(1, 121))      # nothing lost, nothing doubled, even before dedup
    assert df["p"].tolist() == pytest.approx([0.01 * t for t in range(1, 121)])


def test_interrupted_compaction_loses_and_doubles_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed after the merged part is written and before the merged-away parts are deleted: read -> one row per tick."""
    store = SweepStore(str(tmp_path), "sw")
    for tick in (1, 2, 3):
        store.write_rows([_row(tick, 0.1 * tick)], trial_id="t", attempt=0)

    def killed(parts: list[str]) -> None:
        raise KeyboardInterrupt("killed between the two steps")
    monkeypatch.setattr(store, "_delete_parts", killed)
    with pytest.raises(KeyboardInterrupt):
        store.compact_attempt("t", 0)
    names = os.listdir(tmp_path / "sw" / "metrics")
    assert len(names) == 4 and sum(".c000003." in n for n in names) == 1     # merged part and its sources, both there
    assert len(store.read_metrics(dedup=False)) == 6
    df = store.read_metrics()
    assert df["tick"].tolist() == [1, 2, 3] and df["p"].tolist() == pytest.approx([0.1, 0.2, 0.3])
    from analysis import load_metrics
    assert load_metrics(tmp_path / "sw")["tick"].tolist() == [1, 2, 3]
    monkeypatch.undo()
    store.write_rows([_row(4, 0.4)], trial_id="t", attempt=0)
    assert store.compact_attempt("t", 0) == 1          # the next compaction merges the leftovers too
    merged = store.read_metrics(dedup=False)
    assert merged["tick"].tolist() == [1, 2, 3, 4] and len(os.listdir(tmp_path / "sw" / "metrics")) == 1
