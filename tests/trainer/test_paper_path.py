"""The paper preset's complete step (PL regularisation, style mixing, R1, ADA, 8 mapping layers) runs on CPU via the CLI.

The code path that costs the most money on a cluster is exercised here, shrunk only in what a scale may change
(data, resolution, widths, budget, metric sample counts), never in what the step does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import torch

from trainer.state import STREAMS, stream_seed

ROOT = Path(__file__).resolve().parents[2]

SHRINK = {
    "data.source": "procedural", "data.resolution": 32, "data.dataset_size": 200, "data.val_size": 64,
    "data.procedural_count": 1000, "model.channel_base": 512, "model.channel_max": 32,
    "metrics.detector": "random", "metrics.fid_samples": 32, "metrics.fid_real": 64, "metrics.kid": "false",
    "metrics.dout_samples": 16, "metrics.leakage": "[]", "metrics.leak_samples": 8, "metrics.sample_grid": 0,
    # 8 minibatches of 16: R1 at minibatch 0 (interval 16), PL at 0 and 4 (interval 4), ADA at 4 and 8 (interval 4)
    "run.batch": 16, "run.total_kimg": 0.128, "run.tick_kimg": 0.064, "run.checkpoint_ticks": 1, "run.threads": 1,
    "augment.p": 0.5, "augment.ada_kimg": 1,      # a visible p step per adjustment (paper: 500 kimg)
}


def test_paper_step_runs_on_cpu_through_the_cli(tmp_path: Path) -> None:
    out = tmp_path / "paper"
    argv = [sys.executable, "-m", "trainer", "--preset", "paper", "--out", str(out)]
    for k, v in SHRINK.items():
        argv += ["--set", f"{k}={v}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["preset"] == "paper" and cfg["model"]["mapping_layers"] == 8 and cfg["model"]["mbstd_group"] == 8
    assert cfg["loss"]["pl_weight"] == 2.0 and cfg["loss"]["style_mixing"] == 0.9 and cfg["augment"]["mode"] == "ada"
    rows = pd.read_parquet(out / "metrics.parquet").sort_values("tick")
    assert list(rows["tick"]) == [1, 2] and rows["loss_G"].notna().all() and rows["loss_D"].notna().all()
    assert rows["loss_r1"].iloc[0] > 0                       # R1 ran (minibatch 0)
    assert rows["p"].iloc[0] != 0.5 and rows["p"].iloc[1] != rows["p"].iloc[0]   # ADA adjusted p
    state = torch.load(out / "checkpoints" / "latest" / "state.pt", weights_only=True)
    assert float(state["path_length"]["mean"]) > 0           # PL ran and its running mean moved
    fresh = torch.Generator().manual_seed(stream_seed(0, "mixing")).get_state()
    assert "mixing" in STREAMS and not torch.equal(state["rng"]["mixing"], fresh)   # crossovers were drawn
