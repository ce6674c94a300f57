"""The results store on a real S3 endpoint: a local S3-compatible server (moto's server mode) on 127.0.0.1.

One sweep (fixed_p_grid, 2 trials, one at a time) runs with `--storage s3://bucket/prefix`; on the way its
first trial's worker is SIGKILLed (retried from the checkpoint Ray keeps in the bucket), then the driver is
SIGKILLed while the second trial runs, and `--resume` finishes it from the bucket.  Then everything a user
reads it with — `load_metrics`, `load_trials`, the notebooks' loading cell, `analysis.report s3://…` — must
see exactly one row per trial x tick, `sweeps.evaluate` must re-measure from the bucket, every part must have the
format's schema, and the distinctive fake credentials must appear in no log, object or report file.

The endpoint reaches pyarrow (ours and Ray's storage) through AWS_ENDPOINT_URL, as it would for MinIO.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from launch_helpers import ROOT, descendants, kill_tree, run, sets, start, wait_for  # noqa: E402

pytestmark = pytest.mark.e2e

KEY_ID, SECRET = "AKIAI20FAKEKEYID4242", "i20FakeSecretMustNeverLeak/Zq9xW7vU5tS3"
BUCKET = "ganaug-test"
STORAGE = f"s3://{BUCKET}/runs"
ARGS = ["fixed_p_grid", "--storage", STORAGE, "--max-concurrent", "1",
        *sets("augment.augpipe=blit", "augment.p=0.3", "run.total_kimg=6")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_env():
    """A moto S3 server on 127.0.0.1 with one bucket; AWS_* pointing at it for this process and its children."""
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        import pyarrow.fs as pafs
        fs = pafs.S3FileSystem(endpoint_override=env["AWS_ENDPOINT_URL"], region="us-east-1", allow_bucket_creation=True)
        wait_for(lambda: _try(lambda: fs.create_dir(BUCKET) or True), 60, "the local S3 server")
        yield fs
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)


def _try(fn):
    try:
        return fn()
    except OSError:
        return None


def _store():
    from sweeps.store import SweepStore
    return SweepStore(STORAGE, "fixed_p_grid")


def _status(index: int) -> dict:
    return next((r for r in _store().read_statuses().values() if r.get("trial_index") == index), None) or {}


def _reached(index: int, tick: int) -> bool:
    """Trial INDEX has a part in the bucket covering TICK (a tick part from it on, or a merged part up to it)."""
    from resultsformat.layout import parse_part_name
    trial_id = _status(index).get("trial_id")
    names = [p.rsplit("/", 1)[-1] for p in _store()._parts()]
    return any((n := parse_part_name(name)) and n.trial_id == trial_id and n.tick >= tick for name in names)


def _ray_state_has_checkpoint(index: int) -> bool:
    """Ray's experiment state in the bucket records a checkpoint of trial INDEX.

    Only then can a driver that dies resume the trial from it: our rows reach the bucket before Ray has even
    received the checkpoint of their tick, and the driver uploads its state after it has processed it, so
    killing the driver as soon as a row appears can leave a state that still has no checkpoint (seen in CI).
    """
    import json

    import pyarrow.fs as pafs
    trial_id = _status(index).get("trial_id")
    store = _store()
    infos = store.fs.get_file_info(pafs.FileSelector(store.path("ray"), allow_not_found=True))
    for info in infos:
        if info.base_name.startswith("experiment_state") and info.base_name.endswith(".json"):
            with store.fs.open_input_stream(info.path) as f:
                state = json.loads(f.read())
            if any(trial_id in (text := json.dumps(entry)) and "checkpoint_0" in text for entry in state["trial_data"]):
                return True
    return False


@pytest.fixture(scope="module")
def s3_sweep(s3_env, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sweep above, with a worker kill and a driver kill on the way; returns the folder holding its logs."""
    logs = tmp_path_factory.mktemp("s3_logs")
    proc = start(ARGS, logs / "launch1.log")
    try:
        wait_for(lambda: _reached(0, 2), 240, "trial 0's tick-2 row in the bucket", proc)
        os.kill(int(_status(0)["pid"]), signal.SIGKILL)                  # the worker dies; Ray retries the trial
        wait_for(lambda: _status(0).get("status") == "TERMINATED", 240, "trial 0 to finish after its retry", proc)
        wait_for(lambda: _status(1).get("status") == "RUNNING" and _reached(1, 2) and _ray_state_has_checkpoint(1), 240,
                 "trial 1's tick-2 row and a checkpoint of it in Ray's state in the bucket", proc)
        family = descendants(proc)
        proc.send_signal(signal.SIGKILL)                                  # the driver dies mid-sweep
        proc.wait(timeout=30)
    finally:
        kill_tree(proc, locals().get("family"))
    rc = run([*ARGS[:3], "--resume"], logs / "launch2.log", timeout=300)
    assert rc == 0, (logs / "launch2.log").read_text()[-3000:]
    return logs


def test_sweep_on_s3_survives_a_killed_worker_and_a_killed_driver(s3_sweep: Path) -> None:
    import pyarrow.fs as pafs
    store = _store()
    rows = store.read_metrics()
    assert sorted(zip(rows["trial_index"], rows["tick"])) == [(i, t) for i in (0, 1) for t in range(1, 7)]
    raw = store.read_metrics(dedup=False)
    retry0 = raw[(raw["trial_index"] == 0) & (raw["attempt"] == 1)]
    assert len(retry0) and retry0["tick"].min() >= 2, "trial 0's retry started from scratch, not its S3 checkpoint"
    resumed1 = raw[(raw["trial_index"] == 1) & (raw["attempt"] == 1)]
    assert len(resumed1) and resumed1["tick"].min() >= 2, "trial 1 restarted from scratch after --resume"
    trials = store.read_trials().sort_values("trial_index")
    assert trials["status"].tolist() == ["TERMINATED", "TERMINATED"] and trials["retries"].tolist() == [1, 1]
    # checkpoints live in the bucket, under ray/
    ckpts = [i.path for i in store.fs.get_file_info(pafs.FileSelector(store.path("ray"), recursive=True))
             if "/checkpoint_" in i.path]
    assert ckpts, "no Ray checkpoint in the bucket"


def test_every_part_on_s3_has_the_formats_schema(s3_sweep: Path) -> None:
    import pyarrow.parquet as pq

    from resultsformat import TICK_COLUMNS, TRIAL_COLUMNS, schema_problems
    store = _store()
    parts = store._parts()
    assert parts and len(parts) <= 2 * 2     # finished: one merged part per trial-attempt
    for p in parts:
        assert schema_problems(pq.read_schema(p, filesystem=store.fs), TICK_COLUMNS) == [], p
    assert schema_problems(pq.read_schema(store.path("trials.parquet"), filesystem=store.fs), TRIAL_COLUMNS) == []


def test_readers_and_report_read_s3_one_row_per_trial_and_tick(s3_sweep: Path, tmp_path: Path) -> None:
    from analysis import load_metrics, load_trials
    from analysis.report import render_report
    for uri in (STORAGE, f"{STORAGE}/fixed_p_grid"):
        m = load_metrics(uri)
        assert len(m) == 12 and m.groupby(["trial_id", "tick"]).size().max() == 1 and m["fid"].notna().all()
        assert len(load_trials(uri)) == 2
    # the notebooks' loading cell, as a notebook runs it
    cell = (ROOT / "analysis" / "notebooks" / "build_notebooks.py").read_text()
    assert 'RESULTS = os.environ.get("GANAUG_RESULTS"' in cell
    code = ("import os\nfrom analysis import load_metrics, load_trials\n"
            "RESULTS = os.environ.get('GANAUG_RESULTS')\nmetrics = load_metrics(RESULTS)\ntrials = load_trials(RESULTS)\n"
            "print(len(metrics), metrics.groupby(['trial_id', 'tick']).size().max(), len(trials))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "GANAUG_RESULTS": STORAGE},
                          capture_output=True, text=True, timeout=120)
    assert proc.stdout.split() == ["12", "1", "2"], proc.stderr[-2000:]
    proc = subprocess.run([sys.executable, "-m", "analysis.report", STORAGE, "--out", str(tmp_path / "report")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    html = (tmp_path / "report" / "index.html").read_text()
    assert "TERMINATED" in html and "fixed_p_grid" in html
    assert render_report(STORAGE, f"{STORAGE}/report-from-test", formats=("png",), workers=1) == f"{STORAGE}/report-from-test/index.html"


def test_sweeps_evaluate_reads_checkpoints_from_the_bucket_and_writes_back_to_it(s3_sweep: Path) -> None:
    """Re-measuring straight from the bucket: one draw with the logged settings reproduces each trial's logged final
    FID (so the right checkpoint came down, the retried and the resumed trial included), the part lands in the bucket
    where the readers join it, and no downloaded snapshot is left on local disk."""
    import tempfile

    from analysis import load_metrics
    before = set(Path(tempfile.gettempdir()).glob("ganaug-evaluate-*"))
    proc = subprocess.run([sys.executable, "-m", "sweeps.evaluate", f"{STORAGE}/fixed_p_grid", "--repeats", "1"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"wrote 2 rows to {STORAGE}/fixed_p_grid/evaluations/" in proc.stdout, proc.stdout
    assert set(Path(tempfile.gettempdir()).glob("ganaug-evaluate-*")) == before
    m = load_metrics(f"{STORAGE}/fixed_p_grid")
    last = m.sort_values("tick").groupby("trial_id").tail(1)
    assert len(last) == 2 and (last["tick"] == 6).all()
    assert (last["fid_eval"] == last["fid"]).all() and (last["fid_eval_repeats"] == 1).all(), last[["fid", "fid_eval"]]
    assert m.loc[m["tick"] < 6, "fid_eval"].isna().all()
    # bad input stays one line: a sweep name that is not there
    proc = subprocess.run([sys.executable, "-m", "sweeps.evaluate", f"{STORAGE}/no_such_sweep"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.strip() == f"error: {STORAGE}/no_such_sweep: not a sweep folder (no sweep.json); " \
        "pass <storage>/<sweep>", proc.stderr


def test_no_credentials_in_any_log_object_or_report(s3_sweep: Path, s3_env) -> None:
    """The launch logs, every object in the bucket (parts, records, sweep.json, Ray's state, the reports)."""
    import pyarrow.fs as pafs
    texts = {str(p): p.read_bytes() for p in s3_sweep.rglob("*") if p.is_file()}
    for info in s3_env.get_file_info(pafs.FileSelector(BUCKET, recursive=True)):
        if info.type == pafs.FileType.File:
            with s3_env.open_input_stream(info.path) as f:
                texts[info.path] = f.read()
    assert len(texts) > 20
    leaked = [name for name, data in texts.items() if KEY_ID.encode() in data or SECRET.encode() in data]
    assert leaked == []
