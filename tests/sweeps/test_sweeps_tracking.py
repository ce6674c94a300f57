"""`--log tensorboard --log mlflow --log wandb`: a real sweep's trials read back with each tool's own reader equal the Parquet.

- MLflow: the file store under the sweep folder, read with MlflowClient: one run per trial named
  `<sweep>/t<index>`, in the experiment named after the sweep, its params the trial config, and every tick's
  fid / kimg / p / loss_G the same as the Parquet row;
- TensorBoard: the event files under `<sweep>/tensorboard/<sweep>/t<index>`, read with TensorBoard's
  EventAccumulator, the same numbers;
- W&B: offline (no API key) under `<sweep>/wandb/`, each run's `.wandb` log read back record by record with
  W&B's own protobuf `Record` (wandb 0.31 has no Python reader of its log; the framing is LevelDB's log format,
  which `_wandb_records` undoes), the same run names, group and numbers;
- a tracker that cannot write prints one warning and the trial goes on (Trackers is the guard);
- a missing library is exit 2 naming the install command.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from launch_helpers import run, sets  # noqa: E402
from sweeps.launch import main  # noqa: E402
from sweeps.store import SweepStore  # noqa: E402
from sweeps.tracking import Trackers  # noqa: E402

COMPARED = ("fid", "kimg", "p", "loss_G")


@pytest.mark.e2e
def test_trackers_read_back_equal_the_parquet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    args = ["fixed_p_grid", "--storage", str(tmp_path), "--log", "mlflow", "--log", "tensorboard", "--log", "wandb",
            *sets("augment.augpipe=blit", "run.total_kimg=2")]
    assert run(args, tmp_path / "launch.log") == 0, (tmp_path / "launch.log").read_text()[-3000:]
    store = SweepStore(str(tmp_path), "fixed_p_grid")
    rows = store.read_metrics()
    assert len(rows) == 3 * 2

    import os
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    from mlflow.tracking import MlflowClient
    client = MlflowClient(tracking_uri="file://" + str(tmp_path / "fixed_p_grid" / "mlruns"))
    exp = client.get_experiment_by_name("fixed_p_grid")
    runs = {r.info.run_name: r for r in client.search_runs([exp.experiment_id])}
    assert sorted(runs) == ["fixed_p_grid/t0000", "fixed_p_grid/t0001", "fixed_p_grid/t0002"]

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    for (index, trial_id), trial in rows.groupby(["trial_index", "trial_id"]):
        wb_run, wb_history = _wandb_run(tmp_path / "fixed_p_grid" / "wandb", trial_id)
        assert (wb_run.display_name, wb_run.run_group, wb_run.project) == (f"fixed_p_grid/t{index:04d}", "fixed_p_grid",
                                                                          "fixed_p_grid")
        r = runs[f"fixed_p_grid/t{index:04d}"]
        assert r.info.status == "FINISHED" and r.data.tags["trial_id"] == trial_id
        assert r.data.params["run.total_kimg"] == "2.0"
        # the baseline (mode none) has no augpipe at all: one config model per augmentation mode
        assert r.data.params.get("augment.augpipe", "blit") == "blit"
        assert r.data.params["augment.mode"] == trial["aug_mode"].iloc[0]
        acc = EventAccumulator(str(tmp_path / "fixed_p_grid" / "tensorboard" / "fixed_p_grid" / f"t{index:04d}"))
        acc.Reload()
        for key in COMPARED:
            expect = {int(t): float(v) for t, v in zip(trial["tick"], trial[key]) if v == v}
            if not expect:   # p of the no-augmentation trial is null: nothing is logged for it
                assert key not in r.data.metrics and key not in acc.Tags()["scalars"]
                continue
            hist = {m.step: m.value for m in client.get_metric_history(r.info.run_id, key)}
            assert hist == pytest.approx(expect, rel=1e-12), (key, index)
            tb = {e.step: e.value for e in acc.Scalars(key)}
            assert tb == pytest.approx(expect, rel=1e-6), (key, index)   # TensorBoard keeps float32
            wb = {int(h["_step"]): float(h[key]) for h in wb_history if key in h}
            assert wb == pytest.approx(expect, rel=1e-12), (key, index)


def _wandb_records(path: Path) -> list:
    """The protobuf Records of a `.wandb` file: a 7-byte header, then LevelDB-log framing in 32 KiB blocks
    (checksum u32, length u16, type u8: 1 full, 2 first, 3 middle, 4 last)."""
    import struct

    from wandb.proto import wandb_internal_pb2 as pb
    data, pos, block, out, buf = path.read_bytes(), 7, 32768, [], b""
    assert data[:4] == b":W&B"
    while pos + 7 <= len(data):
        left = block - pos % block
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7]) if left >= 7 else (0, 0, 0)
        if left < 7 or (length == 0 and kind == 0):
            pos += left
            continue
        chunk, pos = data[pos + 7:pos + 7 + length], pos + 7 + length
        buf = chunk if kind in (1, 2) else buf + chunk
        if kind in (1, 4):
            rec = pb.Record()
            rec.ParseFromString(buf)
            out.append(rec)
    return out


def _wandb_run(root: Path, trial_id: str) -> tuple:
    """(the run record, history rows as dicts of parsed values) of the offline run with id TRIAL_ID."""
    import json
    files = sorted(root.glob(f"wandb/offline-run-*-{trial_id}/run-{trial_id}.wandb"))
    assert len(files) == 1, files
    records = _wandb_records(files[0])
    run_rec = next(r.run for r in records if r.WhichOneof("record_type") == "run")
    history = [{(i.key or "/".join(i.nested_key)): json.loads(i.value_json) for i in r.history.item}
               for r in records if r.WhichOneof("record_type") == "history"]
    return run_rec, history


def test_a_statistic_without_a_column_reaches_the_tracker(tmp_path: Path) -> None:
    # what SweepHooks hands the trackers: the tick row and every reported statistic (trainer/stats.py)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from trainer.hooks import TickReport
    report = TickReport(row={"tick": 2, "loss_G": 0.5, "r_t": None}, stats={"loss_G": 0.5, "r_t": None, "example_stat": 2.0})
    t = Trackers([{"kind": "tensorboard", "target": str(tmp_path)}], "s", "s/t0000", "abc", {"x": 1})
    t.log(2, report.tracked())
    t.finish("TERMINATED")
    acc = EventAccumulator(str(tmp_path / "s" / "t0000"))
    acc.Reload()
    assert sorted(acc.Tags()["scalars"]) == ["example_stat", "loss_G"]
    assert [(e.step, e.value) for e in acc.Scalars("example_stat")] == [(2, 2.0)]


def test_a_failing_tracker_warns_and_never_raises(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the MLflow store would be a folder")
    t = Trackers([{"kind": "mlflow", "target": f"file://{blocked}/mlruns"}], "s", "s/t0000", "abc", {"x": 1})
    t.log(1, {"fid": 3.0, "tick": 1})
    t.finish("TERMINATED")
    err = capsys.readouterr().err
    assert err.count("warning: --log mlflow failed and is off for this trial") == 1


def test_unknown_or_missing_tracker_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fixed_p_grid", "--log", "comet", "--dry-run", "--storage", str(tmp_path / "r")]) == 2
    assert "unknown tracker 'comet'; allowed: tensorboard, mlflow, wandb" in capsys.readouterr().err
    assert main(["fixed_p_grid", "--log", "mlflow", "--log", "mlflow", "--storage", str(tmp_path / "r")]) == 2
    assert "given twice" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
