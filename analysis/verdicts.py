"""The verdict table: one row for every comparison a catalog sweep exists to make, read first in every report.

Both papers' headline is a comparison (ADA Fig 1a, 4, 5, 7; DiffAugment Fig 1 and its data-fraction tables):
augmentation against none with little data, fixed p against none, ADA against the best fixed p.  Each row
pairs runs on the training seed and reduces the per-seed differences FID(A) - FID(B) with
`analysis.aggregate.paired_difference` (median, 95 % bootstrap interval for n >= 3), for the final FID and
for the best FID of each run, and says:

- "better"  where n >= 3 paired seeds and the interval lies below 0 (A's FID is lower);
- "worse"   where n >= 3 and the interval lies above 0;
- "no difference" otherwise (the interval holds 0, or fewer than 3 paired seeds, said in the cell).

A verdict compares like with like: runs are paired only when their settings agree in everything but the
compared axis (the augment section) and the seed.  Settings are the trial's `config_json` (the whole
config; keys that cannot change a run's outcome, `IGNORED`, left out), or its tick rows' config columns
where no config was recorded.  An augmented configuration with a baseline at its size whose settings differ
gets one "not paired" row naming the keys that differ, instead of a verdict.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from analysis.aggregate import paired_difference
from analysis.errors import MissingData
from analysis.tidy import CONFIG, FidWhich, detectors, per_trial

# the compared axis: the augment section (nested config) or its flat tick columns; and the seed, paired on
AUG_FLAT = ("aug_mode", "augpipe", "p_fixed", "ada_target", "heuristic", "diffaug_policy", "apply_to")
SEED_KEYS = ("run.seed", "seed")
# where a run computes, not what it computes, and bookkeeping: never a reason to refuse a pair
IGNORED = ("run.threads", "run.device", "run.checkpoint_ticks", "run.compile", "metrics.detector_path",
           "sweep", "trial_id", "schema_version")
AUG_COLS = list(AUG_FLAT)
MODE_NAMES = {"fixed": "fixed p", "ada": "ADA", "diffaugment": "DiffAugment"}
ORDER = ("fixed p vs none", "ADA vs none", "DiffAugment vs none", "ADA vs best fixed p")
VERDICT_COLS = ["comparison", "training set", "A", "B", "final FID A - B", "best FID A - B", "n",
                "final", "best"]


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _is_compared(key: str) -> bool:
    return key.startswith("augment.") or key in AUG_FLAT or key in SEED_KEYS or key in IGNORED


def settings(trials: pd.DataFrame, configs: pd.DataFrame | None) -> pd.Series:
    """Per trial (index of TRIALS): its settings less the compared axis and the seed, as a sorted JSON string."""
    by_id: dict[tuple[str, str], str] = {}
    if configs is not None and "config_json" in configs:
        for sweep, tid, text in configs[["sweep", "trial_id", "config_json"]].itertuples(index=False):
            if isinstance(text, str) and text:
                by_id[(str(sweep), str(tid))] = text
    out = []
    cols = [c for c in CONFIG if c in trials and not _is_compared(c)]
    for rec in trials.to_dict("records"):
        text = by_id.get((str(rec["sweep"]), str(rec["trial_id"])))
        flat: dict[str, Any] | None = None
        if text is not None:
            try:
                loaded = json.loads(text)
                flat = _flatten(loaded) if isinstance(loaded, dict) else None
            except json.JSONDecodeError:
                flat = None
        if flat is None:
            flat = {c: rec[c] for c in cols}
        kept = {k: (None if isinstance(v, float) and pd.isna(v) else v) for k, v in flat.items() if not _is_compared(k)}
        out.append(json.dumps(kept, sort_keys=True, default=str))
    return pd.Series(out, index=trials.index, dtype=object)


def arm_label(row: pd.Series) -> str:
    """What an augmented (or baseline) configuration is, in words: 'geom p=0.2', 'ADA rt 0.6 (bgc)', ..."""
    mode = row["aug_mode"]
    where = "" if pd.isna(row.get("apply_to")) or row.get("apply_to") in ("both", None) else f" [{row['apply_to']}]"
    if mode == "none":
        return "none"
    if mode == "fixed":
        return f"{row['augpipe']} p={float(row['p_fixed']):g}{where}"
    if mode == "ada":
        return f"ADA {row['heuristic']} {float(row['ada_target']):g} ({row['augpipe']}){where}"
    return f"DiffAugment {row['diffaug_policy']}{where}"


def _verdict(d: pd.Series | None) -> str:
    if d is None:
        return "no paired seeds"
    if d["interval_kind"] != "bootstrap95":
        return f"no difference (n = {int(d['n'])} < 3)"
    if not bool(d["excludes_zero"]):
        return "no difference"
    return "better" if d["center"] < 0 else "worse"


def _diff(a: pd.DataFrame, b: pd.DataFrame) -> pd.Series | None:
    both = pd.concat([a.assign(_arm="a"), b.assign(_arm="b")], ignore_index=True)
    d = paired_difference(both, [], "_arm", "a", "b")
    return None if d.empty else d.iloc[0]


def _cell(d: pd.Series | None) -> str:
    if d is None:
        return "-"
    return f"{d['center']:+.3g} [{d['lo']:+.3g}, {d['hi']:+.3g}]"


def _row(comparison: str, size: str, a_label: str, b_label: str, fa: pd.DataFrame, fb: pd.DataFrame,
         ba: pd.DataFrame, bb: pd.DataFrame) -> dict[str, Any]:
    df, db = _diff(fa, fb), _diff(ba, bb)
    n = 0 if df is None else int(df["n"])
    return {"comparison": comparison, "training set": size, "A": a_label, "B": b_label,
            "final FID A - B": _cell(df), "best FID A - B": _cell(db), "n": n, "final": _verdict(df),
            "best": _verdict(db)}


def _refusal(comparison: str, size: str, a_label: str, b_label: str, mine: str, theirs: str) -> dict[str, Any]:
    a, b = json.loads(mine), json.loads(theirs)
    keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    what = ", ".join(f"{k} ({a.get(k)} vs {b.get(k)})" for k in keys[:3]) + (" ..." if len(keys) > 3 else "")
    line = f"not paired: settings differ in {what}"
    return {"comparison": comparison, "training set": size, "A": a_label, "B": b_label, "final FID A - B": "-",
            "best FID A - B": "-", "n": 0, "final": line, "best": line}


def verdict_rows(final: pd.DataFrame, best: pd.DataFrame) -> pd.DataFrame:
    """The verdict table from per-trial FIDs (final and best; same trials, a `setting` column each)."""
    best = best.set_index(["sweep", "trial_id"])["fid"]
    final = final.assign(_best=[best.get((s, t)) for s, t in zip(final["sweep"], final["trial_id"])])
    final = final.assign(_arm=final.apply(arm_label, axis=1))
    rows: list[dict[str, Any]] = []
    for size, at_size in final.groupby("size_label", observed=True, sort=False):
        base_all = at_size[at_size["aug_mode"] == "none"]
        for setting, g in at_size.groupby("setting", sort=False):
            base = g[g["aug_mode"] == "none"]
            for arm, a in g[g["aug_mode"] != "none"].groupby("_arm", sort=True):
                comparison = f"{MODE_NAMES.get(str(a['aug_mode'].iloc[0]), 'augmented')} vs none"
                if len(base):
                    rows.append(_row(comparison, str(size), arm, "none", a, base,
                                     a.assign(fid=a["_best"]), base.assign(fid=base["_best"])))
                elif len(base_all):
                    rows.append(_refusal(comparison, str(size), arm, "none", setting,
                                         str(base_all["setting"].iloc[0])))
            rows.extend(_ada_vs_best_fixed(g, str(size)))
    out = pd.DataFrame(rows, columns=VERDICT_COLS)
    rank = out["comparison"].map({c: i for i, c in enumerate(ORDER)}).fillna(len(ORDER))
    return out.assign(_r=rank).sort_values("_r", kind="stable").drop(columns="_r").reset_index(drop=True)


def _ada_vs_best_fixed(g: pd.DataFrame, size: str) -> list[dict[str, Any]]:
    """Each ADA configuration against the fixed-p configuration of the lowest median final FID (ADA Fig 5)."""
    fixed, ada = g[g["aug_mode"] == "fixed"], g[g["aug_mode"] == "ada"]
    if fixed.empty or ada.empty:
        return []
    medians = fixed.groupby("_arm")["fid"].median()
    top = str(medians.idxmin())
    b = fixed[fixed["_arm"] == top]
    return [_row("ADA vs best fixed p", size, arm, f"{top} (best fixed p)", a, b, a.assign(fid=a["_best"]),
                 b.assign(fid=b["_best"])) for arm, a in ada.groupby("_arm", sort=True)]


def verdict_table(metrics: pd.DataFrame, configs: pd.DataFrame | None = None) -> pd.DataFrame:
    """The report's verdict table from tick rows (and the trials table's config_json), one block per detector.

    MissingData when no comparison can be formed (no augmented run with a baseline or a fixed p beside it)."""
    frames = []
    for det in detectors(metrics) or [None]:
        final = per_trial(metrics, "final", det)
        best = per_trial(metrics, "best", det)
        if final.empty:
            continue
        final = final.assign(setting=settings(final, configs))
        out = verdict_rows(final, best)
        if len(detectors(metrics)) > 1:
            out.insert(0, "detector", det)
        frames.append(out)
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=VERDICT_COLS)
    if table.empty:
        raise MissingData("no comparison to make: no augmented run beside a no-augmentation baseline or fixed-p "
                          "runs with the same settings", "fixed_p_grid (or dataset_size_grid, diffaugment_grid)")
    return table


def verdict_text(table: pd.DataFrame) -> str:
    """The table as the plain text `python -m analysis.report` prints."""
    with pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", 250,
                           "display.max_colwidth", 90):
        return table.to_string(index=False)


VERDICT_COLORS = {"better": "#d8f0d8", "worse": "#f6d6d6"}


def draw_verdicts(ax: Any, table: pd.DataFrame) -> Any:
    """The verdict table on AX (axis off), verdict cells green where better and red where worse."""
    ax.axis("off")
    cells = table.astype(str).to_numpy().tolist()
    t = ax.table(cellText=cells, colLabels=list(table.columns), loc="upper center", cellLoc="left")
    t.auto_set_font_size(False)
    t.set_fontsize(7)
    t.auto_set_column_width(list(range(len(table.columns))))
    for (r, c), cell in t.get_celld().items():
        if r > 0 and table.columns[c] in ("final", "best"):
            cell.set_facecolor(VERDICT_COLORS.get(cells[r - 1][c], "white"))
    return ax


def verdict_figure(table: pd.DataFrame) -> Any:
    """A figure sized to the table (0.22 in per row)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 0.6 + 0.22 * (len(table) + 1)))
    draw_verdicts(fig.add_subplot(), table)
    return fig
