"""Figures for any sweep outside the catalogue, drawn from the axes its `sweep.json` records.

A custom sweep (a sweep file, or a named sweep changed by `--grid`) has no
paper figure, but it has axes: the keys its spec varies.  From them we draw
what a researcher looks at first:

- final FID (the FID at each trial's last metric tick) against each varied
  axis, one line per level of the next axis, one panel per combination of the
  rest, the median over seeds with an interval; a variant that lacks the x axis
  (e.g. a no-augmentation baseline) is a dashed horizontal line in its line's
  colour;
- FID over training, one line per configuration (seeds pooled into a band);
- a heatmap of the median final FID when exactly two axes vary.

Seeds are reduced to a point and an interval by `analysis.aggregate.interval`
(median; a 95% bootstrap interval of the median for n >= 3 with a fixed seed;
min-max for n = 2; n = 1 marked as a single run), through `seed_stats`, which
only gives the figures a named tuple.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.aggregate import interval
from analysis.errors import MissingData
from analysis.plotting import color, panels, single, suptitle
from analysis.tidy import fid_label, one_detector, per_trial

SEED_KEY = "run.seed"
INIT_KEY = "run.init_from"   # the transfer-learning axis (transfer_grid): scratch against a source network
NOT_SET = "-"          # the dry-run table's cell for a key that does not apply to a trial's variant
MAX_LINES = 10


@dataclass(frozen=True)
class SeedStat:
    """One configuration's value over seeds: median and interval, with how the interval was made."""

    median: float
    lo: float
    hi: float
    n: int
    kind: str   # "bootstrap95" | "min-max" | "single" | "none" (analysis.aggregate.IntervalKind)


def seed_stats(values: Any) -> SeedStat:
    """Median over seeds and its interval, as `analysis.aggregate.interval` defines them (None/NaN dropped)."""
    v = [float(x) for x in values if x is not None and not pd.isna(x)]
    return SeedStat(*interval(v))


def _interval_note(ns: list[int]) -> str:
    kinds = sorted({"bootstrap 95% CI of the median" if n >= 3 else "min-max" if n == 2 else "single run" for n in ns})
    return f"median over seeds (n = {min(ns)}" + (f"-{max(ns)}" if max(ns) != min(ns) else "") + f"); bars: {', '.join(kinds)}"


def sweep_axes(record: dict[str, Any]) -> list[str]:
    """The keys the sweep varies (spec axes, then variant axes, then --grid axes), seeds excluded, in spec order."""
    spec = record.get("spec") or {}
    order = record.get("axis_order") or {}   # sweep.json sorts its keys; the launcher records the spec's order
    keys = list(order.get("main") or spec.get("axes", {}))
    for var in spec.get("variants", []):
        keys += [k for k in (order.get("variants", {}).get(var.get("name")) or var.get("axes", {})) if k not in keys]
    rows = record.get("trials", [])
    return [k for k in keys if k != SEED_KEY and len({json.dumps(r.get(k), default=str) for r in rows}) > 1]


def trial_table(metrics: pd.DataFrame, record: dict[str, Any], detector: str | None) -> tuple[pd.DataFrame, list[str]]:
    """Per trial: final FID, variant and the value of each varied axis ('-' where the variant lacks it)."""
    axes = sweep_axes(record)
    finals = per_trial(metrics, "final", detector)
    if finals.empty:
        raise MissingData(f"no FID in sweep {record.get('sweep')}", str(record.get("sweep")))
    index_of = metrics.drop_duplicates("trial_id").set_index("trial_id")["trial_index"]
    finals = finals.assign(trial_index=finals["trial_id"].map(index_of).astype(int))
    table = pd.DataFrame([{"trial_index": int(r["trial"]), "variant": r.get("variant", "main"),
                           **{k: _cell(k, r.get(k, NOT_SET)) for k in axes}} for r in record.get("trials", [])])
    out = finals[["trial_index", "fid", "kimg"]].merge(table, on="trial_index", how="inner")
    out.attrs.update(finals.attrs)
    return out, axes


def _cell(key: str, value: Any) -> Any:
    """An axis value as figures show it: None as a level of its own (a merge would make it NaN and drop it), and a
    transfer source (run.init_from) as 'scratch' or 'from <its folder>' rather than a long path."""
    if key == INIT_KEY:
        return "scratch" if value is None else f"from {str(value).rstrip('/').rsplit('/', 1)[-1]}"
    return "None" if value is None else value


def _levels(series: pd.Series) -> list[Any]:
    vals = [v for v in series.unique() if v != NOT_SET]
    try:
        return sorted(vals, key=float)
    except (TypeError, ValueError):
        return sorted(vals, key=str)


def _numeric(levels: list[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in levels)


def _x_positions(ax: Any, key: str, levels: list[Any]) -> dict[Any, float]:
    """Numeric axes keep their values (log scale when they span >= 20x); others become evenly spaced categories."""
    if _numeric(levels) and len(levels) > 1:
        vals = [float(v) for v in levels]
        if min(vals) > 0 and max(vals) / min(vals) >= 20:
            ax.set_xscale("log")
        ax.set_xticks(vals, [f"{v:g}" for v in vals])
        ax.minorticks_off()
        return {v: float(v) for v in levels}
    ax.set_xticks(range(len(levels)), [str(v) for v in levels])
    return {v: float(i) for i, v in enumerate(levels)}


def _short(key: str) -> str:
    return key.split(".")[-1]


def fid_vs_axis(trials: pd.DataFrame, axes: list[str], x: str, name: str) -> Figure:
    """Final FID against axis X: one line per level of the next axis, one panel per combination of the others."""
    i = axes.index(x)
    line = axes[(i + 1) % len(axes)] if len(axes) > 1 else None
    rest = [a for a in axes if a not in (x, line)]
    combos = list(itertools.product(*(_levels(trials[a]) for a in rest))) or [()]
    fig, axs = panels(len(combos), width=5.2, height=3.8)
    ns: list[int] = []
    for ax, combo in zip(axs, combos):
        sub = trials
        for a, v in zip(rest, combo):
            sub = sub[sub[a].isin([v, NOT_SET])]
        ns += _draw_lines(ax, sub, x, line)
        ax.set_xlabel(x)
        ax.set_ylabel(fid_label(trials.attrs.get("detector"), "final", trials.attrs.get("fid_note")))
        ax.set_title(", ".join(f"{_short(a)} = {v}" for a, v in zip(rest, combo)) or f"lines: {line or 'one configuration'}",
                     fontsize=9)
        ax.legend(fontsize=7, title=line, title_fontsize=7)
    return suptitle(fig, f"{name}: final FID (last metric tick) vs {x}, lower is better. {_interval_note(ns)}", fontsize=10)


def _draw_lines(ax: Any, sub: pd.DataFrame, x: str, line: str | None) -> list[int]:
    """Median + interval per x for each line level; rows without X (a variant) as dashed horizontal references."""
    ns: list[int] = []
    on_x = sub[sub[x] != NOT_SET]
    xs = _levels(on_x[x])
    pos = _x_positions(ax, x, xs)
    levels = _levels(on_x[line]) if line else [None]
    for j, lvl in enumerate(levels[:MAX_LINES]):
        rows = on_x if line is None else on_x[on_x[line] == lvl]
        stats = [(pos[v], seed_stats(rows.loc[rows[x] == v, "fid"])) for v in xs if (rows[x] == v).any()]
        px = [p for p, _ in stats]
        med = np.array([s.median for _, s in stats])
        err = np.array([[s.median - s.lo for _, s in stats], [s.hi - s.median for _, s in stats]])
        label = f"{lvl}" if line else "median"
        ax.errorbar(px, med, yerr=err, color=color(j), marker="o", markersize=4, capsize=3, label=label)
        for (p, s) in stats:
            if s.n == 1:
                ax.plot([p], [s.median], marker="o", mfc="white", color=color(j), markersize=6)
        ns += [s.n for _, s in stats]
        off = sub[(sub[x] == NOT_SET) & ((sub[line] == lvl) if line else True)]
        for k, (variant, grp) in enumerate(off.groupby("variant")):
            s = seed_stats(grp["fid"])
            ax.axhline(s.median, color=color(j), linestyle="--", linewidth=1, label=f"{variant}" + (f" ({lvl})" if line else ""))
            ns.append(s.n)
    if line:   # a variant without the line axis (e.g. a baseline at each x): its own dashed line
        ns += _variant_lines(ax, on_x[on_x[line] == NOT_SET], x, pos, len(levels))
    return ns


def _variant_lines(ax: Any, rows: pd.DataFrame, x: str, pos: dict[Any, float], first_color: int) -> list[int]:
    ns: list[int] = []
    for k, (variant, grp) in enumerate(rows.groupby("variant")):
        stats = [(pos[v], seed_stats(grp.loc[grp[x] == v, "fid"])) for v in _levels(grp[x]) if v in pos]
        err = np.array([[s.median - s.lo for _, s in stats], [s.hi - s.median for _, s in stats]])
        ax.errorbar([p for p, _ in stats], [s.median for _, s in stats], yerr=err, color=color(first_color + k),
                    linestyle="--", marker="s", markersize=4, capsize=3, label=str(variant))
        ns += [s.n for _, s in stats]
    return ns


def fid_heatmap(trials: pd.DataFrame, axes: list[str], name: str) -> Figure:
    """Median final FID over the two varied axes, each cell annotated with its value and n."""
    a, b = axes
    rows = trials[(trials[a] != NOT_SET) & (trials[b] != NOT_SET)]
    ya, xb = _levels(rows[a]), _levels(rows[b])
    grid = np.full((len(ya), len(xb)), np.nan)
    counts = np.zeros_like(grid, dtype=int)
    for i, va in enumerate(ya):
        for j, vb in enumerate(xb):
            s = seed_stats(rows.loc[(rows[a] == va) & (rows[b] == vb), "fid"])
            grid[i, j], counts[i, j] = s.median, s.n
    fig, ax = single(None, width=max(7.0, 1.3 * len(xb) + 3), height=0.8 * len(ya) + 2.4)
    im = ax.imshow(grid, cmap="viridis_r", aspect="auto")
    fig.colorbar(im, ax=ax, label=fid_label(trials.attrs.get("detector"), "median final"))
    ax.set_xticks(range(len(xb)), [str(v) for v in xb])
    ax.set_yticks(range(len(ya)), [str(v) for v in ya])
    ax.set_xlabel(b)
    ax.set_ylabel(a)
    best = np.nanmin(grid)
    for i, j in itertools.product(range(len(ya)), range(len(xb))):
        if not np.isnan(grid[i, j]):
            txt = f"{grid[i, j]:.3g}\nn={counts[i, j]}"
            ax.text(j, i, txt, ha="center", va="center", fontsize=8, fontweight="bold" if grid[i, j] == best else "normal",
                    color="white" if grid[i, j] > np.nanmean(grid) else "black")
    others = sorted(set(trials["variant"]) - set(rows["variant"]))
    ax.set_title(f"{name}: median final FID over seeds (lower is better, best in bold)"
                 + (f"\nvariants without both axes not shown: {', '.join(others)}" if others else ""), fontsize=9)
    return fig


def fid_over_training(metrics: pd.DataFrame, trials: pd.DataFrame, axes: list[str], name: str,
                      detector: str | None) -> Figure:
    """FID over training, one line per configuration (median over seeds at each kimg, min-max band)."""
    rows, det = one_detector(metrics[metrics["fid"].notna()], detector)
    cfg_cols = ["variant", *axes]
    key = trials.set_index("trial_index")[cfg_cols].map(str).agg(" ".join, axis=1)
    labels = trials.set_index("trial_index")[cfg_cols].apply(
        lambda r: ", ".join(f"{_short(k)}={v}" for k, v in r.items() if v != NOT_SET and k != "variant")
        + ("" if r["variant"] == "main" else f" [{r['variant']}]"), axis=1)
    rows = rows.assign(config=rows["trial_index"].map(key), label=rows["trial_index"].map(labels))
    configs = list(dict.fromkeys(rows.sort_values("trial_index")["config"]))
    per_panel = MAX_LINES
    chunks = [configs[i:i + per_panel] for i in range(0, len(configs), per_panel)]
    fig, axs = panels(len(chunks), ncols=min(2, len(chunks)), width=6.2, height=4.2)
    for ax, chunk in zip(axs, chunks):
        for j, cfg in enumerate(chunk):
            g = rows[rows["config"] == cfg]
            st = g.groupby("kimg")["fid"].agg(median="median", lo="min", hi="max").reset_index()
            ax.plot(st["kimg"], st["median"], color=color(j), label=g["label"].iloc[0], marker=".", markersize=3)
            if (st["hi"] > st["lo"]).any():
                ax.fill_between(st["kimg"], st["lo"], st["hi"], color=color(j), alpha=0.15, linewidth=0)
        ax.set_xlabel("kimg (thousands of real images shown to D)")
        ax.set_ylabel(fid_label(det))
        ax.legend(fontsize=7)
    return suptitle(fig, f"{name}: FID over training per configuration (median over seeds, band min-max)", fontsize=10)


FigureJob = tuple[str, str, Any]   # (file stem, caption, zero-argument function drawing the Figure)


def generic_sweeps(configs: dict[str, dict | None]) -> list[str]:
    """Sweeps that get generic figures: outside the catalogue, with a sweep.json recording their axes."""
    from analysis.figures import CATALOG_SWEEPS
    return [s for s, rec in configs.items() if s not in CATALOG_SWEEPS and rec and rec.get("trials")]


def generic_figures(metrics: pd.DataFrame, configs: dict[str, dict | None]) -> list[FigureJob]:
    """Every generic figure of every non-catalogue sweep, one set per FID detector (detectors are never mixed)."""
    from analysis.tidy import detectors
    jobs: list[FigureJob] = []
    for sweep in generic_sweeps(configs):
        record = configs[sweep] or {}
        rows = metrics[metrics["sweep"] == sweep]
        dets = detectors(rows)
        for det in dets:
            suffix = f"__{det}" if len(dets) > 1 else ""
            try:
                trials, axes = trial_table(rows, record, det)
            except MissingData:
                continue
            for x in axes:
                jobs.append((f"{sweep}_fid_vs_{_short(x)}{suffix}", f"{sweep}: final FID vs {x}",
                             lambda t=trials, a=axes, x=x: fid_vs_axis(t, a, x, sweep)))
            jobs.append((f"{sweep}_fid_over_training{suffix}", f"{sweep}: FID over training per configuration",
                         lambda t=trials, a=axes, d=det, r=rows: fid_over_training(r, t, a, sweep, d)))
            if len(axes) == 2:
                jobs.append((f"{sweep}_fid_heatmap{suffix}", f"{sweep}: median final FID, {axes[0]} x {axes[1]}",
                             lambda t=trials, a=axes: fid_heatmap(t, a, sweep)))
    return jobs
