"""The driver lease (sweeps.lease, issue #33 item 5) on a local folder and on the moto S3 server of test_sweeps_s3.

A live driver's lease refuses a second one with one line naming it (host, pid, start time); a lease whose driver
died does not: on this host at once (its pid is gone), from another host once it expired; the heartbeat renews it.
The end-to-end refusal of a second `sweeps.launch` is in tests/reliability/test_fault_last_tick.py.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from test_sweeps_s3 import BUCKET, s3_env  # noqa: E402,F401  (the moto server fixture)

from sweeps.lease import DriverLease, check_free  # noqa: E402
from sweeps.store import SweepStore  # noqa: E402
from trainer.errors import UserInputError  # noqa: E402


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _fake(store: SweepStore, host: str, pid: int, expires_in: float) -> None:
    now = time.time()
    store.write_json("driver.json", {"host": host, "pid": pid, "started_at": now - 3600, "renewed_at": now,
                                     "expires_at": now + expires_in, "token": "someone-else"})


def _held_and_renewed(store: SweepStore) -> None:
    """This process takes the (free) lease: a second driver is refused, the heartbeat renews it, release removes it."""
    lease = DriverLease(store, ttl_s=0.4)
    lease.acquire()
    try:
        for other in (lambda s: check_free(s), lambda s: DriverLease(s).acquire()):
            with pytest.raises(UserInputError) as refused:
                other(SweepStore(store.storage, store.sweep))
            line = str(refused.value)
            assert "\n" not in line and f"host {socket.gethostname()}, pid {os.getpid()}, started 20" in line, line
        first = store.read_json("driver.json")["renewed_at"]
        time.sleep(0.5)
        assert store.read_json("driver.json")["renewed_at"] > first           # the heartbeat renews it
    finally:
        lease.release()
    assert not store.exists("driver.json")
    check_free(store)


@pytest.mark.parametrize("where", ["local", "s3"])
def test_lease_refuses_a_live_driver_and_not_a_dead_one(where: str, tmp_path: Path, request) -> None:
    if where == "s3":
        request.getfixturevalue("s3_env")
        storage = f"s3://{BUCKET}/lease-{tmp_path.name}"
    else:
        storage = str(tmp_path)
    store = SweepStore(storage, "fixed_p_grid")
    _fake(store, "another-host", 4242, expires_in=600)         # a live driver elsewhere: refused
    with pytest.raises(UserInputError, match="host another-host, pid 4242, started 20"):
        check_free(store)
    _fake(store, "another-host", 4242, expires_in=-1)          # elsewhere, not renewed for a ttl: dead
    check_free(store)
    _fake(store, socket.gethostname(), _dead_pid(), expires_in=600)   # this host, pid gone: dead at once
    check_free(store)
    _held_and_renewed(store)                                   # replaces the dead lease


def test_dry_run_reads_a_folder_whose_driver_is_alive(tmp_path: Path) -> None:
    """`--dry-run` writes nothing, so a live driver on the folder does not refuse it (a launch is refused: above)."""
    from sweeps.plan import dry_run_table, make_plan

    store = SweepStore(str(tmp_path), "fixed_p_grid")
    _fake(store, socket.gethostname(), os.getpid(), expires_in=600)   # this process is alive: a live driver
    with pytest.raises(UserInputError):
        make_plan("fixed_p_grid", storage=str(tmp_path))
    plan = make_plan("fixed_p_grid", storage=str(tmp_path), check_data=False)
    assert len(plan.trials) == 14 and "trial" in dry_run_table(plan)
