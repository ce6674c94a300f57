"""The single-run directory of `python -m trainer` (docs/architecture.md "Public surface": one training run without Ray).

Layout:
  DIR/config.json                the run's config
  DIR/metrics.parquet            all tick rows so far, in the results format (resultsformat; identity
                                 columns sweep=None, trial_id="single", attempt=0)
  DIR/checkpoints/latest/        config.json + state.pt of the newest checkpoint
  DIR/samples/tick<NNNNNN>.png   sample grid at each metrics tick
Every file is replaced atomically; the checkpoint directory is swapped by two
renames, and a crash between them leaves `latest.old`, which resume accepts.
"""

from __future__ import annotations

import shutil
import signal
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from resultsformat import TICK_COLUMNS, conform, parquet_bytes
from resultsformat.layout import (CHECKPOINTS_DIR, LATEST_CHECKPOINT, PENDING_CHECKPOINT, PREVIOUS_CHECKPOINT, SAMPLES_DIR,
                                  SINGLE_RUN_FILE, sample_file)
from trainer.atomic import atomic_write_bytes
from trainer.hooks import TickReport
from trainer.samples import save_png

IDENTITY = {"sweep": None, "trial_id": "single", "attempt": 0}


def write_parquet(rows: list[dict[str, Any]], path: Path) -> None:
    atomic_write_bytes(path, parquet_bytes(conform(rows, TICK_COLUMNS, str(path))))


def read_rows(path: Path, up_to_tick: int) -> list[dict[str, Any]]:
    """Rows of an existing metrics.parquet with tick <= up_to_tick (later ones are re-run after a resume)."""
    if not path.is_file():
        return []
    df = pd.read_parquet(path)
    df = df[df["tick"] <= up_to_tick]
    return [{k: (None if _is_missing(v) else v) for k, v in r.items()} for r in df.to_dict("records")]


def _is_missing(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


class RunDirHooks:
    """Hooks that persist every tick into a run directory and print one progress line; Ctrl-C stops cleanly."""

    def __init__(self, run_dir: Path, rows: list[dict[str, Any]] | None = None,
                 printer: Callable[[str], None] = print) -> None:
        self.run_dir = run_dir
        self.rows: list[dict[str, Any]] = list(rows or [])
        self.printer = printer
        self._stop = False

    def install_sigint(self) -> None:
        """First Ctrl-C: finish the current step and return; the last checkpoint stays valid."""
        def handler(signum: int, frame: Any) -> None:
            self._stop = True
            signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGINT, handler)

    def should_stop(self) -> bool:
        return self._stop

    def on_tick(self, report: TickReport) -> None:
        row = {**IDENTITY, **report.row}
        self.rows.append(row)
        write_parquet(self.rows, self.run_dir / SINGLE_RUN_FILE)
        if report.samples is not None:
            (self.run_dir / SAMPLES_DIR).mkdir(exist_ok=True)
            save_png(report.samples, self.run_dir / SAMPLES_DIR / sample_file(row["tick"]))
        if report.save_checkpoint is not None:
            self._save_checkpoint(report.save_checkpoint)
        self.printer(progress_line(report.tracked(row)))

    def _save_checkpoint(self, save: Callable[[Path], None]) -> None:
        root = self.run_dir / CHECKPOINTS_DIR
        root.mkdir(exist_ok=True)
        tmp, latest, old = root / PENDING_CHECKPOINT, root / LATEST_CHECKPOINT, root / PREVIOUS_CHECKPOINT
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        save(tmp)
        shutil.rmtree(old, ignore_errors=True)
        if latest.exists():
            latest.rename(old)
        tmp.rename(latest)
        shutil.rmtree(old, ignore_errors=True)


def _fmt(v: Any, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def progress_line(row: dict[str, Any]) -> str:
    return (f"tick {row['tick']:>5}  kimg {row['kimg']:>9.3f}  img/s {_fmt(row.get('img_per_s'), '7.1f')}  "
            f"p {_fmt(row.get('p'), '.3f')}  fid {_fmt(row.get('fid'), '.2f')}  r_t {_fmt(row.get('r_t'), '+.3f')}  "
            f"loss_G {_fmt(row.get('loss_G'), '.3f')}  loss_D {_fmt(row.get('loss_D'), '.3f')}")
