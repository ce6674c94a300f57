"""An S3 endpoint that stops answering mid-sweep (issue #33, item 1), on the moto server of test_sweeps_s3.

The server is SIGSTOPped (it keeps its state; a restarted in-memory server would have lost the bucket) and
SIGCONTed later.  Stated limits, shortened through their environment seams so the test takes seconds:
flush every 1 s (GANAUG_FLUSH_S), S3 requests give up after 1 s (GANAUG_S3_TIMEOUT_S), a trial gives up after
20 s of continuous failure (GANAUG_STORAGE_OUTAGE_LIMIT_S; the default is 900 s).

Each outage lasts until the sweep reports what the test waits for, never a fixed time: a tick on a loaded
2-core CI machine can take longer than any fixed outage, and then no tick fell inside it (the test once failed so).

1. A short outage, held until the progress line says "storage unreachable" (the first tick after the store
   stopped answering): the trial kept training, its rows waited in memory, and afterwards they reach the bucket;
   at the end every tick row of that attempt is in the bucket exactly once.
2. A long outage, held until the trial ends ERROR past the limit: a line names the bucket, exit 1; `--resume`
   after the outage finishes the trial with one row per tick.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from launch_helpers import kill_tree, run, sets, start, wait_for  # noqa: E402
from test_sweeps_s3 import _free_port, _try  # noqa: E402

pytestmark = pytest.mark.e2e

BUCKET = "ganaug-outage"
STORAGE = f"s3://{BUCKET}/runs"
ARGS = ["fixed_p_grid", "--storage", STORAGE, "--no-variant", "baseline", "--max-failures", "0",
        *sets("augment.augpipe=blit", "augment.p=0.3", "run.total_kimg=20", "run.checkpoint_ticks=100")]
LAST = 20   # ticks of 1 kimg: the first outage begins at tick 1 or 2, so it falls while the trial trains
LIMIT_S = 20   # long enough for a tick to fall inside the first outage on a loaded machine


@pytest.fixture()
def moto(monkeypatch):
    """A moto S3 server on 127.0.0.1 with one bucket, as a process the test can stop and continue."""
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "AKIAOUTAGE", "AWS_SECRET_ACCESS_KEY":
           "outage-secret", "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
           "AWS_EC2_METADATA_DISABLED": "true", "GANAUG_FLUSH_S": "1", "GANAUG_S3_TIMEOUT_S": "1",
           "GANAUG_STORAGE_OUTAGE_LIMIT_S": str(LIMIT_S)}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    try:
        import pyarrow.fs as pafs
        fs = pafs.S3FileSystem(endpoint_override=env["AWS_ENDPOINT_URL"], region="us-east-1", allow_bucket_creation=True)
        wait_for(lambda: _try(lambda: fs.create_dir(BUCKET) or True), 60, "the local S3 server")
        yield server
    finally:
        server.send_signal(signal.SIGCONT)
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)


def _store():
    from sweeps.store import SweepStore
    return SweepStore(STORAGE, "fixed_p_grid")


def _ticks(raw: bool = False) -> list[int]:
    rows = _try(lambda: _store().read_metrics(dedup=not raw))
    return sorted(rows["tick"].astype(int).tolist()) if rows is not None and len(rows) else []


def _outage_until(server: subprocess.Popen, cond, timeout: float, what: str, proc: subprocess.Popen) -> float:
    """Stop the server, keep it stopped until COND holds (a state the sweep reports), continue it; seconds stopped."""
    t0 = time.time()
    server.send_signal(signal.SIGSTOP)
    try:
        wait_for(cond, timeout, what, proc)
    finally:
        server.send_signal(signal.SIGCONT)
    return time.time() - t0


def _ticks_reported_unreachable(text: str) -> list[int]:
    """The ticks whose progress line said the store was unreachable (their rows waited in the trial's memory)."""
    return [int(m.group(1)) for m in re.finditer(r"trial t0000: tick (\d+) .*\(storage unreachable for", text)]


def test_outage_rows_wait_then_arrive_once_and_a_long_one_is_resumed(moto, tmp_path: Path) -> None:
    log = tmp_path / "launch1.log"
    proc = start(ARGS, log)
    try:
        wait_for(lambda: _ticks(), 180, "the first tick row in the bucket", proc)
        short = _outage_until(moto, lambda: _ticks_reported_unreachable(log.read_text()), LIMIT_S - 2,
                              "a progress line saying storage is unreachable", proc)                   # 1.
        waited = _ticks_reported_unreachable(log.read_text())
        t0 = time.time()
        wait_for(lambda: set(waited) <= set(_ticks()), 60, "the rows buffered in the outage, in the bucket", proc)
        caught_up = time.time() - t0
        long = _outage_until(moto, lambda: "trial t0000: ERROR" in log.read_text(), LIMIT_S + 60,
                             "the trial to give up past the outage limit", proc)                       # 2.
        rc = proc.wait(timeout=120)
    finally:
        kill_tree(proc)
    text = log.read_text()
    assert rc == 1, text[-3000:]
    assert f"results store {STORAGE}/fixed_p_grid unreachable for" in text, text[-3000:]
    assert long >= LIMIT_S, long
    before = _ticks()
    assert before and before[-1] < LAST
    t1 = time.time()
    assert run(["fixed_p_grid", "--storage", STORAGE, "--resume"], tmp_path / "launch2.log") == 0, \
        (tmp_path / "launch2.log").read_text()[-3000:]
    assert _ticks() == list(range(1, LAST + 1))
    raw = _store().read_metrics(dedup=False)
    assert not raw.duplicated(["tick", "attempt"]).any()                         # nothing written twice
    first = sorted(raw.loc[raw["attempt"] == 0, "tick"].astype(int))
    assert first == list(range(1, len(first) + 1)) and set(waited) <= set(first), (first, waited)
    print(f"s3 outage: {short:.1f} s held until ticks {waited} reported it, their rows in the bucket {caught_up:.1f} s "
          f"after; a {long:.1f} s outage ended the trial (limit {LIMIT_S} s) with ticks 1-{before[-1]} stored; "
          f"resume {time.time() - t1:.1f} s, raw rows {len(raw)} (attempt 0: {len(first)}), rows {len(_ticks())}")
