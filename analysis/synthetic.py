"""Write synthetic sweeps in the results-store layout (metrics parts, trials.parquet, samples, sweep.json).

The layout, part names, columns and sweep.json keys are the results format's
(`resultsformat`), the same the real store writes: one merged part per finished
trial-attempt, every table conformed to the declared schema.  That includes
what makes reading it non-trivial: a retried trial whose second attempt
re-reports ticks with different values, a same-attempt duplicate told apart only
by `written_at`, metrics that are null between metric ticks, an ERROR trial with
no tick rows, histogram list columns, and PNG sample grids for the leakage sweep.
Used by the tests, `benchmarks/analysis.py`, the notebooks' CI run and the demo:

    python -m analysis.synthetic /tmp/results --seeds 3 --ticks 25
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.synthetic_model import (best_p, overfit_degree, quality, transfer_curve, transfer_p, transfer_seed_offset,
                                     trial_grid)
from resultsformat import SCHEMA_VERSION, TICK_COLUMNS, TRIAL_COLUMNS, conform, parquet_bytes
from resultsformat.layout import METRICS_DIR, SAMPLES_DIR, SWEEP_FILE, TRIALS_FILE, part_name, sample_file, sweep_json
from resultsformat.statuses import ERROR, TERMINATED

HIST_EDGES = np.linspace(-5.0, 5.0, 41)
KIMG_PER_TICK = 4.0
JUNK = 100.0  # what a superseded attempt adds to FID: any dedup bug shows up in every figure


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def tick_rows(trials: pd.DataFrame, ticks: int, metrics_every: int = 4, seed: int = 0) -> pd.DataFrame:
    """All tick rows (attempt 0, no retries) of the given trials, ticks 1..ticks."""
    rng = np.random.default_rng(seed)
    n_t = len(trials)
    tick = np.tile(np.arange(1, ticks + 1), n_t)
    idx = np.repeat(np.arange(n_t), ticks)
    rows = trials.iloc[idx].reset_index(drop=True)
    u = tick / ticks
    final, u_div = quality(trials)
    f_min = final / (1 + (1 - u_div) ** 2)
    fid = f_min[idx] * (1 + np.clip(u - u_div[idx], 0, None) ** 2) + 250 * np.exp(-u / 0.12)
    fid *= 1 + 0.03 * rng.standard_normal(len(u))
    is_metric = (tick % metrics_every == 0) | (tick == ticks)
    gap = overfit_degree(trials)[idx] * u ** 0.8
    n_eff = (trials["dataset_size"].to_numpy(float) * np.where(trials["mirror"].to_numpy(bool), 2, 1))[idx]
    mode = rows["aug_mode"].to_numpy(object)
    d_train, d_fake = 0.3 + 1.5 * gap, -0.3 - 1.5 * gap
    d_val = 0.3 - 1.1 * gap  # validation reals drift toward generated ones: D memorised its training set
    target = rows["ada_target"].fillna(0.6).to_numpy(float)
    tau = 0.08 + 0.15 * np.log10(n_eff / 1000.0)
    p_ada = np.clip(best_p(n_eff) * target / 0.6, 0, 1) * (1 - np.exp(-u / tau))
    p = np.select([mode == "ada", mode == "fixed"], [p_ada, rows["p_fixed"].fillna(0).to_numpy(float)], 0.0)
    r_t = np.where(mode == "ada", target * (1 - np.exp(-u / 0.05)), np.clip(0.1 + 0.9 * gap, 0, 1))
    noise = 0.02 * rng.standard_normal((3, len(u)))
    leak = _leak_columns(rows, is_metric, noise)
    out = rows.assign(
        attempt=0, schema_version=SCHEMA_VERSION, scale="smoke", dataset="procedural", resolution=16,
        tick=tick, kimg=tick * KIMG_PER_TICK, wall_s=tick * 12.0, img_per_s=330.0,
        time_train_s=10.0, time_metrics_s=np.where(is_metric, 2.0, 0.0), time_ckpt_s=0.0,
        p=p, r_t=np.clip(r_t + noise[0], -1, 1), r_v=(d_train - d_val) / (d_train - d_fake),
        loss_G=0.7 + gap, loss_D=1.2 - 0.4 * gap, loss_r1=0.05,
        D_real_train=d_train + noise[1], D_real_val=d_val + noise[2], D_fake=d_fake,
        acc_real_train=_sigmoid(1.5 * d_train), acc_real_val=_sigmoid(1.5 * d_val), acc_fake=_sigmoid(-1.5 * d_fake),
        fid=np.where(is_metric, fid, np.nan), kid=np.where(is_metric, fid / 1000.0, np.nan), detector="offline",
        written_at=1.7e9 + tick * 12.0, **leak,
    )
    return out


def _leak_columns(rows: pd.DataFrame, is_metric: np.ndarray, noise: np.ndarray) -> dict[str, np.ndarray]:
    """Rotation and colour leaks only for those transforms above p=0.8 (ADA Fig 3); blank never."""
    p = rows["p_fixed"].fillna(0).to_numpy(float)
    pipe = rows["augpipe"].to_numpy(object)
    excess = np.clip(p - 0.8, 0, None) / 0.2
    rot = np.where(pipe == "rotate90", 0.5 * excess, 0.0) + np.abs(noise[0]) * 0.5
    col = np.where(pipe == "color", 0.4 * excess, 0.0) + np.abs(noise[1]) * 0.5
    blank = np.abs(noise[2]) * 0.5
    return {k: np.where(is_metric, v, np.nan) for k, v in (("leak_rot", rot), ("leak_color", col), ("leak_blank", blank))}


def _hist_lists(mean: np.ndarray, present: np.ndarray) -> list[list[float] | None]:
    centres = (HIST_EDGES[:-1] + HIST_EDGES[1:]) / 2
    dens = np.exp(-0.5 * ((centres[None, :] - mean[:, None]) / 0.4) ** 2)
    dens /= dens.sum(axis=1, keepdims=True) * np.diff(HIST_EDGES)[None, :]
    return [d.tolist() if ok else None for d, ok in zip(dens, present)]


def add_histograms(rows: pd.DataFrame) -> pd.DataFrame:
    """D-output histograms (bumps of std 0.4 around the means) at metric ticks, as list columns (densities)."""
    present = rows["fid"].notna().to_numpy()
    extra = {f"D_hist_{k}": _hist_lists(rows[f"D_{k}"].to_numpy(float), present) for k in ("real_train", "real_val", "fake")}
    extra["D_hist_edges"] = [HIST_EDGES.tolist() if ok else None for ok in present]
    return rows.assign(**extra)


def retried(rows: pd.DataFrame) -> pd.DataFrame:
    """Extra raw rows for one trial: a crashed attempt 0 whose ticks after the checkpoint are junk, plus a stale duplicate."""
    ticks = int(rows["tick"].max())
    ckpt, crash = ticks // 3, (2 * ticks) // 3
    junk = rows[(rows["tick"] > ckpt) & (rows["tick"] <= crash)].copy()
    junk["fid"] += JUNK
    junk["D_real_val"] += 5.0
    junk["written_at"] -= 1e6
    stale = rows[rows["tick"] == ticks].copy()
    stale["fid"] += JUNK
    stale["written_at"] -= 1.0
    stale["attempt"] = 1
    return pd.concat([junk.assign(attempt=0), stale], ignore_index=True)


def _atomic_bytes(data: bytes, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _write_parts(sdir: Path, rows: pd.DataFrame, *, compacted: bool) -> None:
    """ROWS as the store would hold them: one part per trial-attempt, named and typed by the results format."""
    rows = rows.sort_values(["trial_id", "attempt", "tick"], kind="stable")
    table = conform(rows, TICK_COLUMNS, "synthetic tick rows")
    keys = list(zip(rows["trial_id"], rows["attempt"]))
    starts = [i for i in range(len(keys)) if i == 0 or keys[i] != keys[i - 1]] + [len(keys)]
    ticks = rows["tick"].to_numpy()
    for lo, hi in zip(starts[:-1], starts[1:]):
        trial_id, attempt = keys[lo]
        name = part_name(str(trial_id), int(attempt), int(ticks[hi - 1] if compacted else ticks[lo]), compacted=compacted)
        _atomic_bytes(parquet_bytes(table.slice(lo, hi - lo), small=not compacted), sdir / METRICS_DIR / name)


def _config_json(record: dict) -> str:
    """A trial's config as JSON: its columns, and Freeze-D nested as the real config has it (model.freeze_d), since no
    tick column holds it (analysis.figures_transfer reads it from here)."""
    cfg = {k: (None if pd.isna(v) else v) for k, v in record.items() if k != "freeze_d"}
    if not pd.isna(record.get("freeze_d", np.nan)):
        cfg["model"] = {"freeze_d": int(record["freeze_d"])}
    return json.dumps(cfg, default=str)


def _params(record: dict) -> dict:
    """sweep.json's params of a trial: Freeze-D, the one key no tick column holds (what a running sweep is read by)."""
    return {} if pd.isna(record.get("freeze_d", np.nan)) else {"model.freeze_d": int(record["freeze_d"])}


def transfer_curves(rows: pd.DataFrame, trials: pd.DataFrame, ticks: int) -> pd.DataFrame:
    """ROWS (tick_rows of transfer_grid's TRIALS) with the FID and p of synthetic_model.transfer_curve, noiseless but for
    a per-seed offset (so figures and tests can know the medians exactly)."""
    pos = trials.reset_index(drop=True).reset_index().set_index("trial_id")["index"]
    i = rows["trial_id"].map(pos).to_numpy(int)
    t = rows["tick"].to_numpy(int) - 1
    u = np.arange(1, ticks + 1) / ticks
    fid = transfer_curve(trials, u)[i, t] + transfer_seed_offset(trials)[i]
    return rows.assign(fid=np.where(rows["fid"].notna(), fid, np.nan), p=transfer_p(trials, u)[i, t],
                       kid=np.where(rows["fid"].notna(), fid / 1000.0, np.nan))


def _trials_table(trials: pd.DataFrame, rows: pd.DataFrame, retried_id: str) -> pd.DataFrame:
    g = rows.dropna(subset=["fid"]).groupby("trial_id", sort=False)
    out = trials.drop(columns=["freeze_d"], errors="ignore")
    out["status"] = TERMINATED
    out["error"] = None
    out["retries"] = np.where(out["trial_id"] == retried_id, 1, 0)
    out["attempt"] = out["retries"]
    out["config_json"] = [_config_json(r) for r in trials.to_dict("records")]
    out["best_fid"] = out["trial_id"].map(g["fid"].min())
    out["final_fid"] = out["trial_id"].map(g["fid"].last())
    out["final_kimg"] = float(rows["kimg"].max())
    err = out.iloc[[0]].assign(trial_id=f"{out['trial_id'].iloc[0]}_err", status=ERROR, retries=2, attempt=2,
                               error="RuntimeError: CUDA out of memory (synthetic)", best_fid=np.nan,
                               final_fid=np.nan, final_kimg=np.nan)
    return pd.concat([out, err], ignore_index=True)


def write_sweep(root: Path, name: str, trials: pd.DataFrame, ticks: int, *, seed: int = 0,
                samples: bool = False) -> int:
    """Write one sweep's directory; returns the number of raw tick rows written."""
    sdir = root / name
    trials = trials.reset_index(drop=True)
    rows = tick_rows(trials, ticks, seed=seed).drop(columns=["freeze_d"], errors="ignore")
    rows["trial_index"] = rows["trial_id"].map(pd.Series(trials.index, index=trials["trial_id"]))   # as sweep.json
    if name == "overfitting":
        rows = add_histograms(rows)
    if name == "transfer_grid":
        rows = transfer_curves(rows, trials, ticks)
    first = str(trials["trial_id"].iloc[0])
    extra = retried(rows[rows["trial_id"] == first])
    mask = (rows["trial_id"] == first) & (rows["tick"] > ticks // 3)
    rows.loc[mask, "attempt"] = 1
    # finished trials: one merged part per attempt; the stale same-attempt duplicate is a part left behind
    stale = extra["attempt"] == 1
    _write_parts(sdir, pd.concat([rows, extra[~stale]], ignore_index=True), compacted=True)
    _write_parts(sdir, extra[stale], compacted=False)
    trials_table = conform(_trials_table(trials, rows, first), TRIAL_COLUMNS, "synthetic trials")
    _atomic_bytes(parquet_bytes(trials_table), sdir / TRIALS_FILE)
    record = sweep_json(sweep=name, scale="smoke", set=[], seeds=None, spec={"name": name, "synthetic": True, "ticks": ticks},
                        command=f"python -m analysis.synthetic {sdir.parent}",
                        storage=str(sdir.parent), created_at=1.7e9, ray_path=None,
                        trials=[{"trial": i, "params": _params(r)} for i, r in enumerate(trials.to_dict("records"))])
    _atomic_bytes(json.dumps(record, indent=1).encode(), sdir / SWEEP_FILE)
    if samples:
        write_samples(sdir, rows[rows["tick"] == ticks])
    return len(rows) + len(extra)


def _tile(rot: int, hue: bool, rng: np.random.Generator) -> np.ndarray:
    img = np.zeros((16, 16, 3))
    img[:, :] = (0.55, 0.75, 0.95)
    for r in range(3, 9):
        img[r, 8 - (r - 3):8 + (r - 3)] = (0.7, 0.2, 0.15)
    img[9:15, 4:12] = (0.85, 0.8, 0.6) if not hue else (0.5, 0.2, 0.9)
    img[11:15, 7:9] = (0.3, 0.2, 0.1)
    img = img * (0.9 + 0.2 * rng.random())
    return np.rot90(img, rot)


def write_samples(sdir: Path, last_rows: pd.DataFrame) -> None:
    """4x4 sample grids of little houses: rotated / recoloured in proportion to the run's leak."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for row in last_rows.itertuples():
        rot, col = max(row.leak_rot - 0.05, 0.0) * 1.5, max(row.leak_color - 0.05, 0.0) * 1.5  # noise floor: no leak
        tiles = [_tile(int(rng.integers(1, 4)) if rng.random() < rot else 0, bool(rng.random() < col), rng)
                 for _ in range(16)]
        grid = np.vstack([np.hstack(tiles[r * 4:(r + 1) * 4]) for r in range(4)])
        path = sdir / SAMPLES_DIR / str(row.trial_id) / sample_file(row.tick)
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray((np.clip(grid, 0, 1) * 255).astype(np.uint8)).resize((128, 128), Image.NEAREST).save(path)


def write_store(root: str | Path, *, seeds: int = 2, ticks: int = 20, sweeps: tuple[str, ...] | None = None,
                samples: bool = True) -> int:
    """Write every synthetic sweep under ROOT; returns the raw tick-row count."""
    root = Path(root)
    grid = trial_grid(seeds)
    total = 0
    for i, (name, trials) in enumerate(grid.groupby("sweep", sort=True)):
        if sweeps is None or name in sweeps:
            total += write_sweep(root, str(name), trials.reset_index(drop=True), ticks, seed=i,
                                 samples=samples and name == "leakage_grid")
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write synthetic sweeps in the results-store layout.")
    parser.add_argument("root", help="storage root to create (one sub-directory per sweep)")
    parser.add_argument("--seeds", type=int, default=2, help="seeds per grid point")
    parser.add_argument("--ticks", type=int, default=20, help="ticks per trial")
    args = parser.parse_args(argv)
    n = write_store(args.root, seeds=args.seeds, ticks=args.ticks)
    print(json.dumps({"root": str(args.root), "tick_rows": n}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
