"""Helpers of the end-to-end sweep tests: run `python -m sweeps.launch` as a real process, wait on the store, clean up.

Every Ray process a test starts descends from the launch process it spawned, so
cleanup kills exactly that process tree (by pid), never anything by name.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import psutil

ROOT = Path(__file__).resolve().parents[2]
# A trial of the real trainer that takes seconds: 200 images, 1-kimg ticks, few FID samples.
FAST = ["run.tick_kimg=1", "data.dataset_size=200", "metrics.fid_samples=100", "metrics.dout_samples=64",
        "metrics.leak_samples=64", "metrics.fid_real=500", "metrics.kid=false", "metrics.sample_grid=4"]


def sets(*items: str) -> list[str]:
    out: list[str] = []
    for item in [*FAST, *items]:
        out += ["--set", item]
    return out


def launch_env() -> dict[str, str]:
    env = dict(os.environ)
    env["TUNE_GLOBAL_CHECKPOINT_S"] = "1"   # Ray's experiment state is flushed every second: the resume test needs it
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start(args: list[str], log: Path, cwd: Path = ROOT) -> subprocess.Popen:
    """The launch as a process in CWD (its relative paths mean what they mean there); this checkout is importable."""
    out = open(log, "w")
    env = launch_env()
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.Popen([sys.executable, "-m", "sweeps.launch", *args], cwd=cwd, env=env,
                            stdout=out, stderr=subprocess.STDOUT)


def run(args: list[str], log: Path, timeout: float = 240, cwd: Path = ROOT) -> int:
    proc = start(args, log, cwd)
    try:
        return proc.wait(timeout=timeout)
    finally:
        kill_tree(proc)


def descendants(proc: subprocess.Popen) -> list[psutil.Process]:
    try:
        return psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def kill_tree(proc: subprocess.Popen, family: list[psutil.Process] | None = None) -> None:
    """SIGKILL the launch process and the Ray processes it started (known by pid)."""
    family = (family or []) + descendants(proc)
    for p in family:
        try:
            p.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=30)
    psutil.wait_procs(family, timeout=10)


def wait_for(cond: Callable[[], object], timeout: float, what: str, proc: subprocess.Popen | None = None) -> object:
    end = time.time() + timeout
    while time.time() < end:
        value = cond()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"launch exited ({proc.returncode}) while waiting for {what}")
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
