"""Every column of the results: name, Arrow type, who produces it and what it means (one definition for all).

Three tables make up a sweep's results (see `layout`):

- tick rows (`metrics/*.parquet`, `metrics.parquet` of a single run): `TICK_COLUMNS`;
- one row per trial (`trials.parquet`): `TRIAL_COLUMNS`;
- re-measured FIDs (`evaluations/*.parquet`): `EVAL_COLUMNS`.

`load_metrics` adds `JOINED_COLUMNS` to the tick rows (an evaluation joined to
the tick it re-measures).  The README's column table is `markdown_table()`, and
a test holds the README to it.

A column's `group` says which code produces its value, so a producer can ask
for exactly its keys (the metric suite returns `names(TICK_COLUMNS, "metric")`).
`category` marks low-cardinality labels that readers turn into pandas
categoricals.  Adding a metric: one `Column(...)` line here, plus its producer.
`reported` marks a tick's mean of a value training code reports to its statistics
channel under the column's name (trainer/stats.py): such a column needs no other
code than its one report line; a reported name with no column goes to the
trackers only (`--log`), never into the Parquet rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from resultsformat.statuses import STATUSES, UNKNOWN

# Bump when a column changes meaning or type (never for an added column: readers fill absent columns with nulls).
SCHEMA_VERSION = 2   # 2: r_v is the metric suite's only, the controller's probe is r_v_ctrl (analysis/legacy_columns.py reads 1)

STR, INT, FLOAT, BOOL = pa.string(), pa.int64(), pa.float64(), pa.bool_()
FLOAT_LIST = pa.list_(pa.float64())


@dataclass(frozen=True)
class Column:
    """One column: its name, Arrow type, producer group, one-line meaning, whether readers make it categorical, and
    whether it is the tick's mean of a statistic reported under its name (module docstring)."""

    name: str
    type: pa.DataType
    group: str
    meaning: str
    category: bool = False
    reported: bool = False


_IDENTITY = (
    Column("sweep", STR, "identity", "sweep name (null in a single `python -m trainer` run)", True),
    Column("trial_id", STR, "identity", "Ray trial id (`single` for a `python -m trainer` run)", True),
    Column("trial_index", INT, "identity", "index of the trial in the expanded grid (the `--dry-run` table)"),
    Column("variant", STR, "identity", "block of the sweep the trial comes from"),
    Column("attempt", INT, "identity", "0 for the first run of a trial, +1 per retry or resume"),
)
_CONFIG = (
    Column("schema_version", INT, "config", "version of this format the row was written with"),
    Column("scale", STR, "config", "preset: smoke, tiny or paper", True),
    Column("seed", INT, "config", "training seed (`run.seed`)"),
    Column("aug_mode", STR, "config", "none, fixed, ada or diffaugment", True),
    Column("augpipe", STR, "config", "ADA augmentation pipeline (fixed and ada modes)", True),
    Column("p_fixed", FLOAT, "config", "augmentation probability of a fixed-p run"),
    Column("ada_target", FLOAT, "config", "ADA's target for its overfitting heuristic"),
    Column("heuristic", STR, "config", "ADA's overfitting heuristic: rt or rv", True),
    Column("diffaug_policy", STR, "config", "DiffAugment policy, e.g. color,translation,cutout", True),
    Column("apply_to", STR, "config", "where augmentation is applied: both, reals_only or d_only", True),
    Column("dataset", STR, "config", "`data.source`", True),
    Column("dataset_size", INT, "config", "distinct training images (null: the whole set)"),
    Column("mirror", BOOL, "config", "training set doubled with x-flips"),
    Column("resolution", INT, "config", "image side in pixels"),
    Column("init_from", STR, "config", "`run.init_from`: the network the run started from (transfer learning; null: from scratch)", True),
    Column("init_sha256", STR, "config", "SHA-256 of that source's weights file (`run.init_sha256`)"),
)
_PROGRESS = (
    Column("tick", INT, "progress", "tick number, from 1"),
    Column("kimg", FLOAT, "progress", "thousands of real images shown to D so far"),
    Column("wall_s", FLOAT, "progress", "training wall time so far, seconds (carried over a resume)"),
    Column("img_per_s", FLOAT, "progress", "training throughput of this tick"),
    Column("time_train_s", FLOAT, "progress", "seconds of this tick spent in D and G steps"),
    Column("time_metrics_s", FLOAT, "progress", "seconds of this tick spent measuring metrics"),
    Column("time_ckpt_s", FLOAT, "progress", "seconds of this tick spent serialising a checkpoint"),
    Column("time_data_s", FLOAT, "progress", "seconds of this tick spent fetching training images"),
)
_TRAINING = (
    Column("p", FLOAT, "training", "augmentation probability at the end of the tick (null without augmentation)"),
    Column("r_t", FLOAT, "training", "E[sign(D(augmented training reals))] over every D step of the tick (the only r_t)",
           reported=True),
    Column("r_v_ctrl", FLOAT, "training", "r_v from the ADA controller's probe: training G, training and validation reals "
           "and fakes pooled to 1 024 each, its last decision (rv runs; every tick, null before the first)"),
    Column("loss_G", FLOAT, "training", "mean G loss over the tick", reported=True),
    Column("loss_D", FLOAT, "training", "mean D loss over the tick", reported=True),
    Column("loss_r1", FLOAT, "training", "mean R1 penalty over the tick's R1 steps", reported=True),
    Column("pl_penalty", FLOAT, "training", "mean path-length penalty over the tick's Greg phases, before loss.pl_weight "
           "(null without them)", reported=True),
)
_METRIC = (
    Column("fid", FLOAT, "metric", "FID of G_ema at a metrics tick (null on other ticks)"),
    Column("kid", FLOAT, "metric", "KID of G_ema at a metrics tick"),
    Column("detector", STR, "metric", "feature detector of fid and kid: offline, inception or random", True),
    Column("fid_ref_size", INT, "metric", "real images behind FID's reference statistics (`metrics.fid_real`, capped by "
           "the dataset); figures never mix sizes"),
    Column("D_real_train", FLOAT, "metric", "mean raw D output on training reals"),
    Column("D_real_val", FLOAT, "metric", "mean raw D output on validation reals"),
    Column("D_fake", FLOAT, "metric", "mean raw D output on generated images"),
    Column("acc_real_train", FLOAT, "metric", "fraction of training reals D calls real"),
    Column("acc_real_val", FLOAT, "metric", "fraction of validation reals D calls real"),
    Column("acc_fake", FLOAT, "metric", "fraction of generated images D calls fake"),
    Column("D_hist_real_train", FLOAT_LIST, "metric", "histogram (densities) of D outputs on training reals"),
    Column("D_hist_real_val", FLOAT_LIST, "metric", "histogram (densities) of D outputs on validation reals"),
    Column("D_hist_fake", FLOAT_LIST, "metric", "histogram (densities) of D outputs on generated images"),
    Column("D_hist_edges", FLOAT_LIST, "metric", "bin edges of the three histograms"),
    Column("r_v", FLOAT, "metric", "ADA's (E[D_train] - E[D_val]) / (E[D_train] - E[D_fake]) from the metric suite's "
           "fixed sets at metric ticks; null elsewhere and when |E[D_train] - E[D_fake]| <= 3 standard errors"),
    Column("d_gap_train_val", FLOAT, "metric", "E[D_train] - E[D_val] in logits: r_v's numerator, from the same logits"),
    Column("leak_rot", FLOAT, "metric", "rotation leak of generated images (0: none)"),
    Column("leak_color", FLOAT, "metric", "colour leak of generated images (0: none)"),
    Column("leak_blank", FLOAT, "metric", "blank-image leak of generated images (0: none)"),
    Column("time_fid_s", FLOAT, "metric", "seconds of the metrics tick spent on FID/KID"),
    Column("time_leak_s", FLOAT, "metric", "seconds of the metrics tick spent on the leak measures"),
)
_STORE = (
    Column("written_at", FLOAT, "store", "Unix time the row's part was written (breaks dedup ties)"),
)

# What each leak measure reads when nothing leaks: the bound it stays under on every negative control (upright reals
# blurred, noised, re-framed, colour-jittered, a weak generator's samples, and for leak_rot also upright reals
# degraded by DiffAugment's colour, translation and cutout; tests/metrics/test_metrics_leakage.py asserts these very
# numbers).  An excess over a run's control smaller than this is no evidence of a leak: leak_color follows any shift
# of image-level colour (re-framing alone moves it by up to 0.27), and leak_rot reads ~0.05 on heavily degraded
# upright images (a G that imitates DiffAugment-degraded reals read 0.04-0.08 at tiny, rotating nothing).
LEAK_FLOORS: dict[str, float] = {"leak_rot": 0.09, "leak_color": 0.3, "leak_blank": 0.04}

TICK_COLUMNS: tuple[Column, ...] = _IDENTITY + _CONFIG + _PROGRESS + _TRAINING + _METRIC + _STORE

TRIAL_COLUMNS: tuple[Column, ...] = (
    _IDENTITY[0], _IDENTITY[2], _IDENTITY[1], _IDENTITY[3],
    Column("status", STR, "trial", f"{', '.join(STATUSES)} ({UNKNOWN} when derived from tick rows)"),
    Column("error", STR, "trial", "first line of the error of a failed trial"),
    Column("retries", INT, "trial", "how many times the trial was retried or resumed"),
    Column("attempt", INT, "trial", "the trial's newest attempt"),
    Column("fraction", FLOAT, "trial", "fraction of the full dataset (DiffAugment's data-fraction axis)"),
    Column("params_json", STR, "trial", "the grid values of this trial, JSON"),
    Column("config_json", STR, "trial", "the full TrainConfig, JSON"),
    Column("best_fid", FLOAT, "trial", "lowest logged FID"),
    Column("final_fid", FLOAT, "trial", "FID at the last metrics tick"),
    Column("final_kimg", FLOAT, "trial", "kimg at the last tick"),
    Column("ticks", INT, "trial", "tick rows the trial has"),
    *_CONFIG,
)

EVAL_COLUMNS: tuple[Column, ...] = (
    _IDENTITY[0], _IDENTITY[1], _PROGRESS[0], _PROGRESS[1], _METRIC[2],
    Column("fid_samples", INT, "evaluation", "generated images per FID draw"),
    Column("repeats", INT, "evaluation", "independent latent draws"),
    Column("fid", FLOAT, "evaluation", "mean FID over the draws"),
    Column("fid_std", FLOAT, "evaluation", "std of FID over the draws (null for one draw)"),
    Column("kid", FLOAT, "evaluation", "KID of the first draw"),
    Column("checkpoint", STR, "evaluation", "checkpoint measured, relative to the sweep folder"),
    _STORE[0],
)

# evaluation column -> the tick-row column `load_metrics` puts it in (on the tick it re-measures, same detector)
EVAL_JOIN = {"fid": "fid_eval", "fid_std": "fid_eval_std", "fid_samples": "fid_eval_samples", "repeats": "fid_eval_repeats"}
EVAL_KEY = ("sweep", "trial_id", "tick", "detector")
JOINED_COLUMNS: tuple[Column, ...] = (
    Column("fid_eval", FLOAT, "joined", "re-measured FID of this tick (`sweeps.evaluate`), else null"),
    Column("fid_eval_std", FLOAT, "joined", "its std over draws"),
    Column("fid_eval_samples", INT, "joined", "its samples per draw"),
    Column("fid_eval_repeats", INT, "joined", "its number of draws"),
)


def names(columns: tuple[Column, ...], *groups: str) -> tuple[str, ...]:
    """Column names, in order, of COLUMNS (only those of GROUPS when given)."""
    return tuple(c.name for c in columns if not groups or c.group in groups)


def reported_names(columns: tuple[Column, ...] = TICK_COLUMNS) -> tuple[str, ...]:
    """The columns that are a tick's mean of a reported statistic of the same name, in order."""
    return tuple(c.name for c in columns if c.reported)


def schema(columns: tuple[Column, ...]) -> pa.Schema:
    return pa.schema([(c.name, c.type) for c in columns])


def markdown_table(columns: tuple[Column, ...] = TICK_COLUMNS + JOINED_COLUMNS) -> str:
    """The README's column table: one line per column, generated here so it cannot drift."""
    lines = ["| column | type | meaning |", "|---|---|---|"]
    lines += [f"| `{c.name}` | {c.type} | {c.meaning} |" for c in columns]
    return "\n".join(lines)
