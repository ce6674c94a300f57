"""One driver per sweep folder: a lease object `<sweep>/driver.json`, renewed by a heartbeat, that expires.

Two drivers on one folder (two terminals, a re-run script, a second `--resume` while the first
still runs) would restore and train the same trials twice and race on trials.parquet.  A local
lock file would not do: the folder is often a bucket, reached from machines that share no disk.
So the driver writes a small JSON object naming itself (host, pid, start time, a random token)
and renews it every `ttl/4` seconds; another launch refuses while the lease is live.

A driver that died leaves its lease behind, and it must not block `--resume`:
- on the same host the lease is dead as soon as its pid is gone;
- elsewhere it is dead once `expires_at` has passed (ttl after the last renewal).

Taking a lease is create-if-absent: atomic on a local disk (hard link, as `SweepStore.put_if_absent`),
best effort on an object store (check, put, read back our token).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from resultsformat.layout import DRIVER_LEASE
from sweeps.store import SweepStore
from trainer.errors import UserInputError

LEASE_TTL_S = 120.0   # a lease not renewed for this long belongs to a dead driver (another host's)


def _when(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # another user's process: alive
        return True
    return True


def is_live(rec: dict[str, Any], now: float | None = None) -> bool:
    """Whether the lease REC belongs to a driver that may still run."""
    now = time.time() if now is None else now
    if float(rec.get("expires_at", 0)) <= now:
        return False
    if rec.get("host") == socket.gethostname():
        return _pid_alive(int(rec.get("pid", -1)))
    return True


def holder_text(store: SweepStore, rec: dict[str, Any]) -> str:
    """The one line that refuses a second driver, naming the first."""
    return (f"{store.uri} is driven by another launch (host {rec.get('host')}, pid {rec.get('pid')}, started "
            f"{_when(float(rec.get('started_at', 0)))}): wait for it to end or stop it; a driver that died releases "
            f"the folder at once on its own host, elsewhere {LEASE_TTL_S:g} s after its last heartbeat")


def check_free(store: SweepStore) -> None:
    """UserInputError naming the driver that holds STORE's folder, if one does (reads only: nothing is written)."""
    rec = store.read_json(DRIVER_LEASE)
    if isinstance(rec, dict) and is_live(rec):
        raise UserInputError(holder_text(store, rec))


class DriverLease:
    """This driver's lease on one sweep folder: `acquire`, then renewed by a thread until `release`."""

    def __init__(self, store: SweepStore, ttl_s: float = LEASE_TTL_S) -> None:
        self.store, self.ttl_s = store, ttl_s
        self.started_at = time.time()
        self.token = uuid.uuid4().hex
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _record(self) -> dict[str, Any]:
        now = time.time()
        return {"host": socket.gethostname(), "pid": os.getpid(), "started_at": self.started_at, "renewed_at": now,
                "expires_at": now + self.ttl_s, "token": self.token}

    def acquire(self) -> None:
        """Take the folder, or UserInputError naming its live driver; a dead driver's lease is replaced."""
        old = self.store.read_json(DRIVER_LEASE)
        if isinstance(old, dict):
            if is_live(old):
                raise UserInputError(holder_text(self.store, old))
            again = self.store.read_json(DRIVER_LEASE)   # remove exactly the dead lease we judged, not a new one
            if isinstance(again, dict) and again.get("token") == old.get("token"):
                self.store.delete(DRIVER_LEASE)
        if not self.store.put_if_absent(DRIVER_LEASE, self._record()) or not self._ours():
            rec = self.store.read_json(DRIVER_LEASE) or {}
            raise UserInputError(holder_text(self.store, rec))
        self._thread = threading.Thread(target=self._heartbeat, name="ganaug-driver-lease", daemon=True)
        self._thread.start()

    def _ours(self) -> bool:
        rec = self.store.read_json(DRIVER_LEASE)
        return isinstance(rec, dict) and rec.get("token") == self.token

    def _heartbeat(self) -> None:
        while not self._stop.wait(self.ttl_s / 4):
            try:
                if not self._ours():
                    print(f"warning: the lease on {self.store.uri} was taken by another launch; this driver no "
                          f"longer holds the folder", flush=True)
                    return
                self.store.write_json(DRIVER_LEASE, self._record())
            except OSError as exc:   # storage unreachable: retried at the next beat, the lease lasts ttl
                print(f"warning: lease on {self.store.uri} not renewed ({str(exc).splitlines()[0][:120]})", flush=True)

    def release(self) -> None:
        """Stop renewing and remove the lease if it is still ours (storage errors are ignored: it expires)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            if self._ours():
                self.store.delete(DRIVER_LEASE)
        except OSError:
            pass
