"""Riding out a results store that stops answering (issue #33): back off, keep rows, give up past a stated limit.

An S3 endpoint stops answering for a minute now and then (throttling, a network
partition, a restarted gateway); a paper-scale trial should not die of it.  While
writes fail, `sweeps.store.RowBuffer` keeps its rows in memory and tries again
after a backoff that doubles up to `MAX_BACKOFF_S`; trials keep training, and
checkpoints wait (a checkpoint must not reach Ray before its rows are durable).
Past `limit_s` of continuous failure the trial ends with `StoreUnreachable`, which
names the storage, and `--resume` continues it from its last checkpoint.

Only object stores get this patience: a local disk that refuses a write is full
or read-only, which waiting does not fix (sweeps.store.StorageFull).
"""

from __future__ import annotations

import os
import time

OUTAGE_LIMIT_S = 900.0   # a store unreachable this long ends the trial (GANAUG_STORAGE_OUTAGE_LIMIT_S overrides)
MAX_BACKOFF_S = 60.0
LIMIT_ENV = "GANAUG_STORAGE_OUTAGE_LIMIT_S"
FLUSH_ENV = "GANAUG_FLUSH_S"   # seconds between a running trial's flushes (tests shorten it)


def env_seconds(name: str, default: float) -> float:
    """A positive number of seconds from the environment, else DEFAULT."""
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default


class Outage:
    """The state of one writer's failing store: since when, the next try, the last error."""

    def __init__(self, limit_s: float | None = None) -> None:
        self.limit_s = env_seconds(LIMIT_ENV, OUTAGE_LIMIT_S) if limit_s is None else limit_s
        self.since: float | None = None
        self.next_try = 0.0
        self.backoff = 1.0
        self.error = ""
        self.failures = 0

    @property
    def down_s(self) -> float:
        return 0.0 if self.since is None else time.monotonic() - self.since

    def may_try(self) -> bool:
        return self.since is None or time.monotonic() >= self.next_try

    def failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        self.since = now if self.since is None else self.since
        self.failures += 1
        self.error = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        self.next_try = now + self.backoff
        self.backoff = min(self.backoff * 2, MAX_BACKOFF_S)

    def recovered(self) -> None:
        self.since, self.backoff, self.failures, self.error = None, 1.0, 0, ""

    def past_limit(self) -> bool:
        return self.since is not None and self.down_s >= self.limit_s
