"""DiffAugment's tables and bar charts: FID per policy x data fraction, and the apply_to ablation.

DiffAugment §4 reports FID at 100%, 20% and 10% of the data for each policy
(its Table 2 style), and ablates *where* augmentation is applied: to reals only
(G learns the augmented distribution: the augmentations leak), to D's step only
(G gets no useful gradient), or to reals and fakes in both D and G steps (the
method).  Fraction = dataset_size / the largest size in the sweep (taken as the
full set).  Cells are medians over seeds; `attrs["text"]` holds each cell as value [interval] (n) -- what the
report prints -- and the bars show the interval (analysis.aggregate).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.aggregate import claim, excess_verdict, fmt_stat, paired_difference
from analysis.plotting import color, interval_note, panels, suptitle, with_n
from analysis.tidy import LEAKS, FidWhich, fid_label, fmt_count, fraction_label, per_trial, require, spread
from resultsformat import LEAK_FLOORS

BASELINE = "no augmentation"
APPLY_TO = {"both": "reals + fakes, D and G steps (DiffAugment)", "reals_only": "reals only", "d_only": "D step only"}


def _policy(row_mode: str, policy: object) -> str:
    if row_mode == "none":
        return BASELINE
    return str(policy) if isinstance(policy, str) and row_mode == "diffaugment" else str(row_mode)


def diffaug_trials(metrics: pd.DataFrame, fid: FidWhich = "final", detector: str | None = None) -> pd.DataFrame:
    """Per-trial FID of baseline and DiffAugment runs with `policy`, `fraction` and `fraction_label` columns."""
    trials = per_trial(metrics, fid, detector)
    rows = require(trials[trials["aug_mode"].isin(["none", "diffaugment"])], "DiffAugment or baseline runs",
                   "diffaugment_grid")
    full = float(rows["n_eff"].max())
    rows = rows.assign(policy=[_policy(str(m), p) for m, p in zip(rows["aug_mode"], rows["diffaug_policy"])],
                       fraction=rows["n_eff"] / full,
                       apply_to=rows["apply_to"].astype(object).where(rows["apply_to"].notna(), "both"))
    if rows["n_eff"].nunique() > 1:
        rows["fraction_label"] = [fraction_label(f) if np.isfinite(f) else "100%" for f in rows["fraction"]]
    else:
        # one size only (e.g. the tiny ablation at 10%): the full set was not run, so a share of it cannot be
        # read from the results -- label the image count instead of a false "100%"
        rows["fraction_label"] = [f"{fmt_count(n)} images" if np.isfinite(n) else "all images" for n in rows["n_eff"]]
    rows.attrs["detector"] = trials.attrs.get("detector")
    return rows


def _policy_order(policies: pd.Index) -> list[str]:
    return [BASELINE] * (BASELINE in policies) + sorted(p for p in policies if p != BASELINE)


def diffaug_policy_table(metrics: pd.DataFrame, fid: FidWhich = "final", detector: str | None = None) -> pd.DataFrame:
    """FID (median over seeds): rows = policy (baseline first), columns = data fraction '100%', '20%', '10%'."""
    rows = diffaug_trials(metrics, fid, detector)
    rows = require(rows[rows["apply_to"] == "both"], "DiffAugment runs applied to both reals and fakes",
                   "diffaugment_grid")
    stats = spread(rows, ["policy", "fraction", "fraction_label"])
    table = stats.pivot_table(index="policy", columns="fraction", values="center", aggfunc="first")
    table = table[sorted(table.columns, reverse=True)]
    labels = dict(zip(stats["fraction"], stats["fraction_label"]))
    table.columns = [labels[f] for f in table.columns]
    table = table.reindex(_policy_order(table.index))
    table.columns.name, table.index.name = "data fraction", "policy"
    text = _text(stats.assign(fraction_label=stats["fraction_label"]), "policy", "fraction_label")
    table.attrs["text"] = text.reindex(index=table.index, columns=table.columns)
    return table


def _text(stats: pd.DataFrame, index: str, columns: str) -> pd.DataFrame:
    """The cells of a stats pivot as 'value [lo, hi] (n=…)' strings (analysis.aggregate.fmt_stat)."""
    cells = stats.assign(_cell=[fmt_stat(r) for _, r in stats.iterrows()])
    return cells.pivot_table(index=index, columns=columns, values="_cell", aggfunc="first")


def diffaug_apply_to_table(metrics: pd.DataFrame, fid: FidWhich = "final", detector: str | None = None) -> pd.DataFrame:
    """FID (median over seeds): rows = policy, columns = both / reals_only / d_only, at the fraction they were run."""
    rows = diffaug_trials(metrics, fid, detector)
    ablated = rows[rows["apply_to"].isin(["reals_only", "d_only"])]
    ablated = require(ablated, "apply_to ablation runs (reals_only / d_only)", "diffaugment_grid")
    frac = float(ablated["fraction"].max())
    at = rows[np.isclose(rows["fraction"], frac)]
    stats = spread(at[at["aug_mode"] == "diffaugment"], ["policy", "apply_to"])
    table = stats.pivot_table(index="policy", columns="apply_to", values="center", aggfunc="first")
    table = table[[c for c in APPLY_TO if c in table.columns]]
    table = table.loc[[p for p in table.index if p in set(ablated["policy"])]]
    base = at[at["aug_mode"] == "none"]["fid"]
    table.attrs.update(baseline=float(base.median()) if len(base) else None, fraction=str(at["fraction_label"].iloc[0]))
    table.columns.name, table.index.name = "applied to", "policy"
    table.attrs["text"] = _text(stats, "policy", "apply_to").reindex(index=table.index, columns=table.columns)
    return table


def diffaug_ablation_claims(metrics: pd.DataFrame, fid: FidWhich = "final", detector: str | None = None) -> pd.DataFrame:
    """The ablation's claims, each from runs paired on the training seed (analysis.aggregate), at its fraction:

    - FID: reals only vs both, D step only vs both, and both vs no augmentation ("beats" only where the
      interval of the paired difference excludes 0);
    - every leak measure of each placement against the same seeds without augmentation, the leak measures'
      control ("leaks" only where the excess's interval lies above the measure's floor, `LEAK_FLOORS`)."""
    rows = diffaug_trials(metrics, fid, detector)
    ablated = require(rows[rows["apply_to"].isin(["reals_only", "d_only"])],
                      "apply_to ablation runs (reals_only / d_only)", "diffaugment_grid")
    at = rows[np.isclose(rows["fraction"], float(ablated["fraction"].max()))]
    base = at[at["aug_mode"] == "none"]
    leaks = [c for c in LEAKS if c in at and at[c].notna().any()]
    out = []
    for policy in sorted(set(ablated["policy"])):
        arms = {w: at[(at["policy"] == policy) & (at["apply_to"] == w)] for w in APPLY_TO}
        pairs = [(w, "both", arms[w], arms["both"]) for w in ("reals_only", "d_only")] + \
                [("both", BASELINE, arms["both"], base)]
        for a, b, ra, rb in pairs:
            if ra.empty or rb.empty:
                continue
            both = pd.concat([ra.assign(arm=a), rb.assign(arm=b)])
            for _, d in paired_difference(both, [], "arm", a, b).iterrows():
                out.append({"policy": policy, "measure": "FID", "compared": f"{a} - {b}",
                            "verdict": claim(d, a, b)})
        if base.empty:
            continue
        for w, ra in arms.items():
            out += [{"policy": policy, "measure": col, "compared": f"{w} - {BASELINE}",
                     "verdict": excess_verdict(ra, base, col, "leaks", floor=LEAK_FLOORS[col])}
                    for col in leaks if not ra.empty]
    return pd.DataFrame(out, columns=["policy", "measure", "compared", "verdict"])


def _grouped_bars(ax, stats: pd.DataFrame, group: str, bar: str, groups: list, bars: list, names: dict) -> None:
    width = 0.8 / max(len(bars), 1)
    for j, b in enumerate(bars):
        s = stats[stats[bar] == b].set_index(group).reindex(groups)
        x = np.arange(len(groups)) + (j - (len(bars) - 1) / 2) * width
        err = [(s["center"] - s["lo"]).to_numpy(float), (s["hi"] - s["center"]).to_numpy(float)]
        ns = sorted({int(n) for n in s["n"].dropna()})
        n = f"n={ns[0]}" if len(ns) == 1 else f"n={ns[0]}-{ns[-1]}" if ns else "n=0"
        ax.bar(x, s["center"].to_numpy(float), width, yerr=err, capsize=2, color=color(j),
               label=f"{names.get(b, b)} ({n}{', single run' if ns == [1] else ''})")
    ax.set_xticks(np.arange(len(groups)))
    ax.set_xticklabels(groups)


def fig_diffaug_policy_bars(metrics: pd.DataFrame, *, fid: FidWhich = "final", detector: str | None = None) -> Figure:
    """FID per data fraction (groups) and policy (bars), baseline included: DiffAugment's main comparison."""
    rows = diffaug_trials(metrics, fid, detector)
    rows = require(rows[rows["apply_to"] == "both"], "DiffAugment runs", "diffaugment_grid")
    stats = spread(rows, ["fraction_label", "fraction", "policy"])
    groups = list(stats.sort_values("fraction", ascending=False)["fraction_label"].unique())
    fig, axes = panels(1, width=7.5, height=4.4)
    _grouped_bars(axes[0], stats, "fraction_label", "policy", groups, _policy_order(pd.Index(stats["policy"].unique())), {})
    axes[0].set_xlabel("fraction of the training data")
    axes[0].set_ylabel(fid_label(rows.attrs.get("detector"), fid, rows.attrs.get("fid_note")))
    axes[0].legend(fontsize=8, title="DiffAugment policy")
    axes[0].grid(alpha=0.3, axis="y")
    return suptitle(fig, f"DiffAugment: FID per policy and data fraction ({interval_note(stats)})")


def fig_diffaug_apply_to_bars(metrics: pd.DataFrame, *, fid: FidWhich = "final", detector: str | None = None) -> Figure:
    """The apply_to ablation: FID per policy (groups) when augmenting reals only / D only / both; dashed = no augmentation."""
    table = diffaug_apply_to_table(metrics, fid, detector)
    trials = diffaug_trials(metrics, fid, detector)
    at = trials[trials["fraction_label"] == table.attrs["fraction"]]
    stats = spread(at[(at["aug_mode"] == "diffaugment") & at["policy"].isin(table.index)], ["policy", "apply_to"])
    fig, axes = panels(1, width=7.5, height=4.4)
    ax = axes[0]
    _grouped_bars(ax, stats, "policy", "apply_to", list(table.index), list(table.columns), APPLY_TO)
    base = at[at["aug_mode"] == "none"]
    if not base.empty:   # the baseline's median dashed, its interval over seeds shaded, its n in the legend
        b = spread(base, [])
        ax.fill_between([0, 1], float(b["lo"].iloc[0]), float(b["hi"].iloc[0]), transform=ax.get_yaxis_transform(),
                        color="k", alpha=0.08, linewidth=0)   # a collection: ax.patches stays the bars
        ax.axhline(float(b["center"].iloc[0]), color="k", linestyle="--", linewidth=1.2, label=with_n(BASELINE, b))
    ax.set_ylim(0, 1.45 * float(stats["hi"].max()))  # headroom for the legend above the bars
    ax.set_xlabel("DiffAugment policy")
    ax.set_ylabel(fid_label(trials.attrs.get("detector"), fid, trials.attrs.get("fid_note")))
    ax.legend(fontsize=8, title="augmentation applied to", loc="upper left", ncol=2)
    ax.grid(alpha=0.3, axis="y")
    where = table.attrs["fraction"]
    return suptitle(fig, f"DiffAugment ablation: where to augment ({where if 'images' in where else where + ' of the data'}; "
                         f"{interval_note(stats)})")
