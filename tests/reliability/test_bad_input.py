"""Every bad input a user can type gets exit code 2, one line naming the culprit, and leaves nothing behind.

Issue #8's table: each case runs the real command line in a subprocess, exactly
as a user would, and checks (1) the exit code, (2) that stderr is a single line
with no traceback and names the culprit, and (3) that the storage / output
folder is still empty (no trial started, nothing half-written).
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from analysis.synthetic import write_store

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Case:
    name: str
    argv: tuple[str, ...]
    culprit: str  # a substring the one-line message must contain (case-insensitive)


def _png(path: Path, size: int, color: tuple[int, int, int] = (200, 120, 40)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size), color).save(path)


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of broken datasets and files, built once."""
    root = tmp_path_factory.mktemp("bad")
    (root / "empty").mkdir()
    for i in range(4):
        _png(root / "good16" / f"{i}.png", 16)
    for i in range(3):
        _png(root / "mixed" / f"{i}.png", 16)
    _png(root / "mixed" / "big.png", 32)
    _png(root / "corrupt" / "a.png", 16)
    (root / "corrupt" / "b.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not a png at all")
    (root / "textonly").mkdir()
    (root / "textonly" / "notes.txt").write_text("no images here\n")
    for i in range(3):
        _png(root / "nonsquare" / f"{i}.png", 16)
    Image.new("RGB", (16, 12)).save(root / "nonsquare" / "wide.png")
    with zipfile.ZipFile(root / "noimages.zip", "w") as zf:
        zf.writestr("dataset.json", '{"labels": null}')
        zf.writestr("readme.txt", "nothing")
    (root / "corrupt.zip").write_bytes(b"PK\x03\x04 truncated zip")
    np.savez(root / "small.npz", images=np.zeros((50, 16, 16, 3), np.uint8))
    np.savez(root / "noimages.npz", labels=np.arange(10))
    (root / "afile").write_text("a regular file, not a folder\n")
    (root / "results_empty").mkdir()
    write_store(root / "results_good", seeds=1, ticks=2, sweeps=("dataset_size_grid",), samples=False)
    (root / "results_corrupt" / "s" / "metrics").mkdir(parents=True)
    (root / "results_corrupt" / "s" / "metrics" / "part-0.parquet").write_bytes(b"PAR1 garbage garbage")
    (root / "cluster_typo.yaml").write_text(
        (ROOT / "cluster.yaml").read_text().replace("setup_commands:", "setup_comands:", 1)
    )
    with gzip.open(root / "bad-idx.gz", "wb") as f:
        f.write(b"\x00\x00\x08\x01" + b"\x00" * 8)  # IDX label header where images are expected
    return root


def _launch(*args: str) -> tuple[str, ...]:
    return ("-m", "sweeps.launch", *args)


def _trainer(*args: str) -> tuple[str, ...]:
    return ("-m", "trainer", *args)


def cases(b: str, store: str, out: str) -> list[Case]:
    smoke = ("--set", "run.total_kimg=1", "--set", "run.tick_kimg=1")
    return [
        # sweeps.launch
        Case("unknown sweep", _launch("fixed_q_grid", "--storage", store), "fixed_q_grid"),
        Case("unknown scale", _launch("fixed_p_grid", "--scale", "huge", "--storage", store), "huge"),
        Case("unknown key", _launch("fixed_p_grid", "--storage", store, "--set", "augment.pp=1"), "pp"),
        Case("out of range p", _launch("fixed_p_grid", "--storage", store, "--set", "augment.p=1.5"), "augment.p"),
        Case("wrong type", _launch("fixed_p_grid", "--storage", store, "--set", "run.batch=abc"), "run.batch"),
        Case("override without =", _launch("fixed_p_grid", "--storage", store, "--set", "run.batch"), "run.batch"),
        Case("missing dataset", _launch("fixed_p_grid", "--storage", store, "--set", f"data.source=folder:{b}/nope"), "nope"),
        Case("subset larger than dataset", _launch("overfitting", "--storage", store, "--set", f"data.source=npz:{b}/small.npz", "--set", "data.dataset_size=40"), "small.npz"),
        Case("storage under a file", _launch("fixed_p_grid", "--storage", f"{b}/afile/results"), "afile"),
        Case("storage unknown scheme", _launch("fixed_p_grid", "--storage", "ftp://host/results"), "ftp"),
        Case("max-concurrent zero", _launch("fixed_p_grid", "--storage", store, "--max-concurrent", "0"), "max-concurrent"),
        Case("unknown flag", _launch("fixed_p_grid", "--storage", store, "--colour"), "colour"),
        # trainer
        Case("unknown preset", _trainer("--preset", "large", "--out", out), "large"),
        Case("trainer bad set", _trainer("--preset", "smoke", "--out", out, "--set", "augment.mode=adaptive"), "augment.mode"),
        Case("missing folder", _trainer("--preset", "smoke", "--out", out, *smoke, "--set", f"data.source=folder:{b}/nope"), "nope"),
        Case("empty folder", _trainer("--preset", "smoke", "--out", out, *smoke, "--set", f"data.source=folder:{b}/empty"), "empty"),
        Case("corrupt image", _trainer("--preset", "smoke", "--out", out, *smoke, "--set", f"data.source=folder:{b}/corrupt", "--set", "data.val_size=0"), "b.png"),
        Case("mixed sizes", _trainer("--preset", "smoke", "--out", out, *smoke, "--set", f"data.source=folder:{b}/mixed", "--set", "data.val_size=0"), "mixed"),
        Case("non-image folder", _trainer("--preset", "smoke", "--out", out, *smoke, "--set", f"data.source=folder:{b}/textonly"), "textonly"),
        Case("non-square image", _trainer("--preset", "smoke", "--out", out, *smoke, "--set", f"data.source=folder:{b}/nonsquare", "--set", "data.val_size=0"), "wide.png"),
        Case("wrong resolution", _trainer("--preset", "smoke", "--out", out, *smoke, "--set", f"data.source=folder:{b}/good16", "--set", "data.resolution=32", "--set", "data.val_size=0"), "16"),
        Case("zip without images", _trainer("--preset", "smoke", "--out", out, *smoke, "--set", f"data.source=zip:{b}/noimages.zip"), "noimages.zip"),
        Case("corrupt zip", _trainer("--preset", "smoke", "--out", out, *smoke, "--set", f"data.source=zip:{b}/corrupt.zip"), "corrupt.zip"),
        Case("npz without images", _trainer("--preset", "smoke", "--out", out, *smoke, "--set", f"data.source=npz:{b}/noimages.npz"), "noimages.npz"),
        Case("bad idx file", _trainer("--preset", "smoke", "--out", out, *smoke, "--set", f"data.source=mnist:{b}/bad-idx.gz"), "bad-idx.gz"),
        Case("unwritable out", _trainer("--preset", "smoke", "--out", f"{b}/afile/run", *smoke), "afile"),
        Case("resume without checkpoint", _trainer("--resume", f"{b}/empty"), "no checkpoint found"),
        # analysis.report
        Case("report missing dir", ("-m", "analysis.report", f"{b}/nope", "--out", out), "nope"),
        Case("report empty dir", ("-m", "analysis.report", f"{b}/results_empty", "--out", out), "results_empty"),
        Case("report corrupt parquet", ("-m", "analysis.report", f"{b}/results_corrupt", "--out", out), "part-0.parquet"),
        Case("report unwritable out", ("-m", "analysis.report", f"{b}/results_good", "--out", f"{b}/afile/report"), "afile"),
        # cluster.yaml
        Case("cluster.yaml typo", ("-m", "sweeps.check_cluster", f"{b}/cluster_typo.yaml"), "setup_comands"),
    ]


CASE_NAMES = [c.name for c in cases("B", "S", "O")]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_bad_input_exits_2_with_one_line(name: str, bad: Path, tmp_path: Path) -> None:
    store, out = tmp_path / "store", tmp_path / "out"
    case = {c.name: c for c in cases(str(bad), str(store), str(out))}[name]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([sys.executable, *case.argv], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=180)
    err = proc.stderr.strip()
    assert proc.returncode == 2, f"{name}: exit {proc.returncode}\n{proc.stdout[-2000:]}\n{err[-3000:]}"
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, f"{name}: expected one line, got:\n{err}"
    assert case.culprit.lower() in lines[0].lower(), f"{name}: {lines[0]!r} does not name {case.culprit!r}"
    for folder in (store, out):
        leftovers = sorted(p.name for p in folder.rglob("*")) if folder.exists() else []
        assert leftovers == [], f"{name}: left {leftovers} in {folder}"
    print(f"{name}: exit 2: {lines[0]}")
