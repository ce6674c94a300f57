"""A run's `run.threads` holds while it trains and is restored when it ends: Ray reuses worker processes, so one
trial's thread count must not leak into the next (here: two runs in one process, as in a reused worker)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
import torch
from fast_config import fast_overrides

from trainer.config import apply_overrides, preset
from trainer.hooks import CollectingHooks, TickReport
from trainer.loop import train


@dataclass
class ThreadHooks(CollectingHooks):
    seen: list[int] = field(default_factory=list)

    def on_tick(self, report: TickReport) -> None:
        self.seen.append(torch.get_num_threads())
        super().on_tick(report)


def _run(**extra: Any) -> ThreadHooks:
    hooks = ThreadHooks()
    train(apply_overrides(preset("smoke"), fast_overrides(**{"run.total_kimg": 0.128, **extra})), hooks)
    return hooks


def test_a_runs_thread_count_does_not_leak_into_the_next() -> None:
    torch.set_num_threads(2)   # the worker's own setting (the autouse fixture restores the session's after)
    first = _run(**{"run.threads": 1})
    assert first.seen == [1] and torch.get_num_threads() == 2
    second = _run(**{"run.threads": None})   # torch's default: whatever the worker had, not the previous trial's 1
    assert second.seen == [2] and torch.get_num_threads() == 2


def test_the_count_is_restored_when_a_run_fails() -> None:
    torch.set_num_threads(2)
    hooks = ThreadHooks()

    def boom(report: TickReport) -> None:
        raise RuntimeError("hook failed")
    hooks.on_tick = boom   # type: ignore[method-assign]
    cfg = apply_overrides(preset("smoke"), fast_overrides(**{"run.total_kimg": 0.128, "run.threads": 1}))
    with pytest.raises(RuntimeError, match="hook failed"):
        train(cfg, hooks)
    assert torch.get_num_threads() == 2
