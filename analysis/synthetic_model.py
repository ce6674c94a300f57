"""A synthetic stand-in for real sweeps: trial grids and tick-row curves with the papers' shapes.

Tests, the speed benchmark, the notebooks' CI run and the demo report all need
results in the store layout without training a GAN.  The curves here are
hand-made functions of the config that reproduce the qualitative findings the
figures exist to show (ADA §2-§4, DiffAugment §4): smaller sets overfit and
diverge sooner; validation D outputs drift toward generated ones; the best fixed
p falls as data grows; rotate90/colour leak above p≈0.8 while scaling never does;
ADA with r_t target 0.6 matches the best fixed p.  They are deterministic for a
seed, so tests can assert on values derived from the same formulas.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

FULL_SIZE = 70_000
FIG4_CATEGORIES = ("blit", "geom", "color", "filter", "noise", "cutout")
DEPTH = {"blit": 0.35, "geom": 0.45, "color": 0.30, "filter": 0.10, "noise": 0.05, "cutout": 0.08, "bgc": 0.55,
         "scale": 0.25, "rotate90": 0.30, "color1": 0.25}
POLICY_STRENGTH = {"color,translation,cutout": 1.0, "translation,cutout": 0.9, "translation": 0.7, "color": 0.4}


def _row(sweep: str, seed: int, size: int, mode: str = "none", mirror: bool = False, **kw: object) -> dict:
    base = {"sweep": sweep, "seed": seed, "dataset_size": size, "mirror": mirror, "aug_mode": mode, "augpipe": None,
            "p_fixed": None, "ada_target": None, "heuristic": None, "diffaug_policy": None, "apply_to": None}
    if mode != "none":
        base["apply_to"] = "both"
    base.update(kw)
    return base


def trial_grid(seeds: int = 2) -> pd.DataFrame:
    """One row per synthetic trial of every sweep (config columns only)."""
    rows: list[dict] = []
    for s in range(seeds):
        for size, mirror in [(70_000, True), (70_000, False), (50_000, False), (30_000, False), (20_000, False), (10_000, False)]:
            rows.append(_row("overfitting", s, size, "none", mirror))
            rows.append(_row("overfitting", s, size, "diffaugment", mirror, diffaug_policy="color,translation,cutout"))
        for size in (2_000, 10_000, 50_000):
            rows.append(_row("fixed_p_grid", s, size))
            for cat, p in itertools.product(FIG4_CATEGORIES, np.round(np.arange(0, 0.81, 0.1), 2)):
                rows.append(_row("fixed_p_grid", s, size, "fixed", augpipe=cat, p_fixed=float(p)))
            for heur, target in itertools.product(("rt", "rv"), (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)):
                rows.append(_row("ada_target_grid", s, size, "ada", augpipe="bgc", heuristic=heur, ada_target=target))
        for size, mirror in [(1_000, False), (2_000, False), (5_000, False), (10_000, False), (30_000, False),
                             (70_000, False), (70_000, True)]:
            rows.append(_row("dataset_size_grid", s, size, "none", mirror))
            rows.append(_row("dataset_size_grid", s, size, "ada", mirror, augpipe="bgc", heuristic="rt", ada_target=0.6))
            rows.append(_row("dataset_size_grid", s, size, "diffaugment", mirror, diffaug_policy="color,translation,cutout"))
        for pipe, p in itertools.product(("scale", "rotate90", "color"), np.round(np.arange(0, 1.01, 0.1), 2)):
            rows.append(_row("leakage_grid", s, 2_000, "fixed", augpipe=pipe, p_fixed=float(p)))
        for frac in (1.0, 0.2, 0.1):
            size = int(FULL_SIZE * frac)
            rows.append(_row("diffaugment_grid", s, size))
            for policy in POLICY_STRENGTH:
                rows.append(_row("diffaugment_grid", s, size, "diffaugment", diffaug_policy=policy))
        for policy, apply_to in itertools.product(("color,translation,cutout", "translation,cutout", "translation"),
                                                  ("reals_only", "d_only")):
            rows.append(_row("diffaugment_grid", s, FULL_SIZE, "diffaugment", diffaug_policy=policy, apply_to=apply_to))
    rows += transfer_rows(seeds)   # after every other sweep's: their trial ids stay what they were
    df = pd.DataFrame(rows)
    df["trial_id"] = [f"{sw}_{i:05d}" for i, sw in enumerate(df["sweep"])]
    return df


def _n_eff(trials: pd.DataFrame) -> np.ndarray:
    return trials["dataset_size"].to_numpy(float) * np.where(trials["mirror"].to_numpy(bool), 2, 1)


def best_p(n_eff: np.ndarray) -> np.ndarray:
    """The fixed p with the lowest FID: high for 2k, lower for 50k (ADA Fig 4)."""
    return np.clip(0.9 - 0.25 * np.log10(n_eff / 1000.0), 0.1, 0.9)


def _gain(n_eff: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + n_eff / 30_000.0)


def quality(trials: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per trial: final FID without noise, and the training fraction where it starts to diverge."""
    n = _n_eff(trials)
    mode = trials["aug_mode"].to_numpy(object)
    base = 100.0 * (n / 1000.0) ** -0.7
    u_div = np.clip(0.1 + 0.9 * np.sqrt(n / 140_000.0), 0.0, 1.0)
    noaug = base * (0.6 + 0.4 * ((1.0 - u_div) / 0.9) ** 2)
    fid = noaug.copy()
    pipe = trials["augpipe"].to_numpy(object)
    p = trials["p_fixed"].fillna(0).to_numpy(float)
    pstar = best_p(n)
    depth = np.array([DEPTH.get("color1" if (pp == "color" and sw == "leakage_grid") else pp, 0.0)
                      for pp, sw in zip(pipe, trials["sweep"])])
    fixed = mode == "fixed"
    leaky = np.isin(pipe, ["rotate90", "color"]) & (trials["sweep"].to_numpy(object) == "leakage_grid")
    pstar = np.where(trials["sweep"].to_numpy(object) == "leakage_grid", np.where(leaky, 0.8, 1.0), pstar)
    x = p / pstar
    benefit = depth * _gain(n) * (2 * x - x * x)
    fid = np.where(fixed, noaug * (1 - benefit) + np.where(leaky, base * 4.0 * np.clip(p - 0.8, 0, None), 0), fid)
    target = trials["ada_target"].fillna(0.6).to_numpy(float)
    t_best = np.where(trials["heuristic"].to_numpy(object) == "rv", 0.5, 0.6)
    ada_best = noaug * (1 - DEPTH["bgc"] * _gain(n))
    fid = np.where(mode == "ada", ada_best * (1 + 12.0 * (target - t_best) ** 2), fid)
    strength = np.array([POLICY_STRENGTH.get(pol, 0.0) if isinstance(pol, str) else 0.0
                         for pol in trials["diffaug_policy"]])
    apply_to = trials["apply_to"].to_numpy(object)
    dfa = noaug * (1 - 0.5 * strength * _gain(n)) + 0.4 * (n >= 70_000)
    dfa = np.where(apply_to == "reals_only", noaug * (1.5 + 2.0 * strength), dfa)
    dfa = np.where(apply_to == "d_only", noaug * 11.0, dfa)
    fid = np.where(mode == "diffaugment", dfa, fid)
    aug_delay = np.where(mode == "none", 0.0, 0.6)
    return fid, np.clip(u_div + aug_delay, 0, 1)


def overfit_degree(trials: pd.DataFrame) -> np.ndarray:
    """How far D memorises its training set by the end: 0 none, 1 complete (drives D outputs, r_t, r_v)."""
    n = _n_eff(trials)
    ov = np.clip(1.2 * (1 - np.sqrt(n / 140_000.0)), 0.05, 1.0)
    mode = trials["aug_mode"].to_numpy(object)
    p = trials["p_fixed"].fillna(0).to_numpy(float)
    ov = np.where(mode == "diffaugment", 0.1 * ov, ov)
    ov = np.where(mode == "fixed", ov * (1 - p), ov)
    return np.where(mode == "ada", 0.4 * ov, ov)


TRANSFER_SOURCE = "/cache/ganaug/sources/tiny-synthetic"
TRANSFER_SIZES = (250, 1000, 5000)
TRANSFER_ARMS = ((None, 0), (TRANSFER_SOURCE, 0), (TRANSFER_SOURCE, 1))   # (init_from, Freeze-D K): the paper's arms
_ADA = {"augpipe": "bgc", "heuristic": "rt", "ada_target": 0.6}


def transfer_rows(seeds: int) -> list[dict]:
    """transfer_grid's trials: target size x {none, ADA} x the three arms x seeds (freeze_d goes to config_json)."""
    return [_row("transfer_grid", s, size, mode, init_from=src, freeze_d=k, **(_ADA if mode == "ada" else {}))
            for s in range(seeds) for size in TRANSFER_SIZES for mode in ("none", "ada") for src, k in TRANSFER_ARMS]


def transfer_curve(trials: pd.DataFrame, u: np.ndarray) -> np.ndarray:
    """FID of each transfer trial (rows) at training fractions U (columns), before its seed offset.

    The floor is 20 at 250 images and falls as 1/sqrt(size); from the source x0.5, ADA x0.8, Freeze-D (from the
    source) x0.9.  Without augmentation FID turns upward after half the run, most on the smallest set (ADA: a fifth
    of that).  From scratch starts at 250, from the source at twice its floor + 10, and converges 3x faster."""
    n = trials["dataset_size"].to_numpy(float)
    src = trials["init_from"].notna().to_numpy()
    ada = (trials["aug_mode"] == "ada").to_numpy()
    floor = transfer_floor(trials)
    overfit = np.where(ada, 0.2, 1.0) * 250.0 / n
    start = np.where(src, 2 * floor + 10.0, 250.0)
    tau = np.where(src, 0.05, 0.15)
    u = np.asarray(u, float)[None, :]
    return (floor[:, None] * (1 + overfit[:, None] * np.clip(u - 0.5, 0, None) ** 2)
            + (start - floor)[:, None] * np.exp(-u / tau[:, None]))


def transfer_floor(trials: pd.DataFrame) -> np.ndarray:
    """The FID each transfer trial would settle at without overfitting (transfer_curve)."""
    n = trials["dataset_size"].to_numpy(float)
    src = trials["init_from"].notna().to_numpy()
    frozen = src & (trials["freeze_d"].to_numpy(float) > 0)
    ada = (trials["aug_mode"] == "ada").to_numpy()
    return 20.0 * np.sqrt(250.0 / n) * np.where(src, 0.5, 1.0) * np.where(ada, 0.8, 1.0) * np.where(frozen, 0.9, 1.0)


def transfer_seed_offset(trials: pd.DataFrame) -> np.ndarray:
    """Per trial: 5 % of its floor per seed, centred on the middle seed, so that the median over seeds is the curve."""
    seed = trials["seed"].to_numpy(float)
    return 0.05 * transfer_floor(trials) * (seed - seed.max() / 2)


def transfer_p(trials: pd.DataFrame, u: np.ndarray) -> np.ndarray:
    """ADA's p over training: rises to 0.5 sqrt(250 / size) from the source, half that from scratch; NaN without ADA."""
    n = trials["dataset_size"].to_numpy(float)
    top = 0.5 * np.sqrt(250.0 / n) * np.where(trials["init_from"].notna().to_numpy(), 1.0, 0.5)
    p = top[:, None] * (1 - np.exp(-np.asarray(u, float)[None, :] / 0.2))
    return np.where((trials["aug_mode"] == "ada").to_numpy()[:, None], p, np.nan)
