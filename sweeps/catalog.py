"""The papers' grids as named sweeps (ADA Fig 1, 3, 4, 5, 7; DiffAugment Table 1 / Fig 1 and its data-fraction study).

Each entry is data (a `SweepSpec`), so `--dry-run` can print exactly what would
run and tests can assert on the grid.  Values marked (U) in docs/papers.md are
remembered rather than checked; they are ordinary axis values, easy to change.

Scale policy: `smoke` keeps 2-3 values per axis and 1 CPU per trial so that the
README's `python -m sweeps.launch fixed_p_grid` finishes in minutes on a 2-core
laptop; `tiny` keeps the few values per axis that show each paper's shape on a
2-core machine in one to two hours (docs/tiny-results.md: one trial of 300 kimg is
~15 min per core), with a quarter GPU per trial; `paper` uses the papers' full
axes, whole GPUs and ADA's paper256 preset.  The short tiny sweeps (leakage,
the DiffAugment ablation, ADA's p curves) lower `run.total_kimg`, because their
shapes appear long before D memorises its set.
The ADA speed (`augment.ada_kimg`, kimg for p to go 0 -> 1) is scaled with the
budget at `smoke`, because at 12 kimg the paper's 500 kimg would leave p at ~0;
tiny ADA runs the paper's setting, `TINY_ADA` (one named constant, like
`TINY_DIFFAUG_POLICY`; a departure keeps the paper's row beside it), except
transfer_grid's 150-kimg runs: `TINY_TRANSFER_ADA` (its comment says why).
"""

from __future__ import annotations

from resultsformat import sweep_names
from sweeps.spec import Axis, Resources, SweepSpec, Variant
from trainer.errors import UserInputError

_SINGLE = ("blit", "geom", "color", "filter", "noise", "cutout")
_CUMULATIVE = ("bg", "bgc", "bgcf", "bgcfn", "bgcfnc")
# Fig 4 at tiny uses 250 and 2k images: at 2k this G's FID is limited by G, not by the data (replaying the 2k training
# images scores 0.21 against the 2k-trained G's 1.04), so no p > 0 beats p = 0 there; at 250 images (replay: 1.23)
# the no-augmentation FID turns upward after ~280 kimg while geom at p = 0.5 keeps improving (docs/tiny-results.md).
_SIZES_FIG4 = Axis(smoke=(2000, 10_000), tiny=(250, 2000), paper=(2000, 10_000, 50_000))
_P_STEP_01 = tuple(round(0.1 * i, 1) for i in range(11))
_FULL_POLICY = "color,translation,cutout"
# ADA as the paper sets it (ADA §3, docs/papers.md §4): r_t, target 0.6, p crossing [0, 1] in 500 kimg.
PAPER_ADA = {"augment.mode": "ada", "augment.heuristic": "rt", "augment.ada_target": 0.6, "augment.ada_kimg": 500.0}
# TINY_ADA: the one tiny ADA setting, used by every tiny sweep that runs ADA without sweeping its heuristic (an axis
# value that sets all four keys).  It is the paper's: at 250 images r_t reads 0.72 without augmentation (above 0.6,
# so the paper's heuristic engages where D memorises), while at 2k and 50k it stays 0.45-0.5 through 400 kimg and
# p stays ~0 -- ADA's own behaviour on data that does not overfit.  The earlier tiny departure (r_v, target 0.1,
# 100 kimg) was chosen at 2k on the single-probe r_v, which raised p with nothing overfitting (issue 31,
# trainer/augment/controller.py); it pinned p near 1 at 250 images.  A tiny departure chosen from runs goes here,
# and `_with_paper` then keeps the paper's setting as a row beside it (docs/tiny-results.md says why).
TINY_ADA = dict(PAPER_ADA)
# DiffAugment's own small-data policy (data-efficient-gans, StyleGAN2 scripts): color,translation,cutout for CIFAR
# at 10-20 % of the data, 100-shot and AnimalFace, and the README's choice for "hundreds of images"; color,cutout
# for CIFAR at 100 %.  Its BigGAN CIFAR scripts use translation,cutout at 100, 20 and 10 % (cutout alone with CR at
# 100 %).  This network is StyleGAN2-like, so tiny uses the StyleGAN2 small-data policy; fixed colour is this
# dataset's worst category at 250 images (docs/tiny-results.md), so "translation,cutout" is the candidate departure.
PAPER_DIFFAUG_POLICY = _FULL_POLICY
TINY_DIFFAUG_POLICY = PAPER_DIFFAUG_POLICY


def _with_paper(tiny: object, paper: object) -> tuple:
    """The tiny setting, and the paper's beside it when tiny departs from it (one row when they agree)."""
    return (tiny,) if tiny == paper else (tiny, paper)


def _diffaug(policy: str) -> dict[str, str]:
    return {"augment.mode": "diffaugment", "augment.diffaug_policy": policy}


_TINY_ADA_ROWS = _with_paper(TINY_ADA, PAPER_ADA)
_TINY_DIFFAUG_ROWS = tuple(_diffaug(p) for p in _with_paper(TINY_DIFFAUG_POLICY, PAPER_DIFFAUG_POLICY))

_RESOURCES = {
    "smoke": Resources(cpu=1.0, gpu=0.0),
    "tiny": Resources(cpu=1.0, gpu=0.25),
    "paper": Resources(cpu=4.0, gpu=1.0),
}
# ADA's speed scaled with the budget (smoke: 12 kimg, tiny: 150-400 kimg, paper: 25 000 kimg).
_ADA_SPEED = {"smoke": {"augment.ada_kimg": 10.0}, "tiny": {"augment.ada_kimg": 100.0}}
# Seeds are an axis of every sweep: the ADA paper reports the median of 3 training runs, and one run of a tiny trial
# says nothing about the spread between runs.  `smoke` keeps one (it checks the machinery); `--seeds N` on
# sweeps.launch overrides the count.  run.seed is the training seed only: the data subset (data.subset_seed) stays.
_SEEDS = Axis(smoke=(0,), tiny=(0, 1, 2), paper=(0, 1, 2))

FIXED_P_GRID = SweepSpec(
    name=sweep_names.FIXED_P_GRID,
    description="FID against a fixed augmentation probability p, one line per augmentation category and dataset size, "
                "plus the no-augmentation baseline per size.",
    figure="ADA Fig 4a-c (and 4d: progress -> FID for several p)",
    base={"augment.mode": "fixed"},
    scale_base={"tiny": {"run.total_kimg": 400.0}},
    axes={
        "data.dataset_size": _SIZES_FIG4,
        "augment.augpipe": Axis(smoke=("blit", "geom", "color"), tiny=("blit", "geom", "color"),
                                paper=_SINGLE + _CUMULATIVE),
        "augment.p": Axis(smoke=(0.3, 0.7), tiny=(0.5,), paper=_P_STEP_01[1:9]),
    },
    variants=(Variant(name="baseline", set={"augment.mode": "none"}, over=("data.dataset_size",)),),
    seeds=_SEEDS,
    resources=_RESOURCES,
)

ADA_TARGET_GRID = SweepSpec(
    name=sweep_names.ADA_TARGET_GRID,
    description="FID against ADA's target for both overfitting heuristics (r_t, r_v) and several dataset sizes; "
                "fixed-p traces alongside for the p and r_t curves over training.",
    figure="ADA Fig 5a,b (target -> FID) and 5c,d (progress -> p, r_t)",
    base={"augment.mode": "ada", "augment.augpipe": "bgc"},
    scale_base={"smoke": _ADA_SPEED["smoke"],
                "tiny": {"augment.ada_kimg": TINY_ADA["augment.ada_kimg"], "run.total_kimg": 300.0}},
    axes={
        "data.dataset_size": Axis(smoke=(2000,), tiny=(2000, 50_000), paper=(2000, 10_000, 50_000)),
        "augment.heuristic": Axis(smoke=("rt", "rv"), tiny=(TINY_ADA["augment.heuristic"],), paper=("rt", "rv")),
        "augment.ada_target": Axis(smoke=(0.4, 0.7), tiny=(TINY_ADA["augment.ada_target"],),
                                   paper=(0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)),
    },
    variants=(Variant(name="fixed_p", set={"augment.mode": "fixed", "augment.augpipe": "bgc"}, over=("data.dataset_size",),
                      axes={"augment.p": Axis(smoke=(), tiny=(), paper=(0.2, 0.5))}),),
    seeds=_SEEDS,
    resources=_RESOURCES,
)

DATASET_SIZE_GRID = SweepSpec(
    name=sweep_names.DATASET_SIZE_GRID,
    description="FID against training-set size without augmentation, with ADA and with DiffAugment; "
                "140k is the full 70k plus x-flips.",
    figure="ADA Fig 1a (progress -> FID per size) and Fig 7 (size -> FID)",
    # tiny: four sizes from 250 (where this D memorises its set: docs/tiny-results.md section 1) to 50k, and 400 kimg,
    # the budget section 3's augmented curves were measured over (they still fall there; section 6 says so)
    scale_base={"smoke": _ADA_SPEED["smoke"], "tiny": {**_ADA_SPEED["tiny"], "run.total_kimg": 400.0}},
    axes={
        "data.dataset_size": Axis(
            smoke=(1000, 5000),
            tiny=(250, 1000, 5000, 50_000),
            paper=(1000, 2000, 5000, 10_000, 20_000, 30_000, 50_000, 70_000, {"data.dataset_size": 70_000, "data.mirror": True}),
        ),
        "augment.mode": Axis(smoke=("none", "ada", "diffaugment"), tiny=("none", *_TINY_ADA_ROWS, *_TINY_DIFFAUG_ROWS),
                             paper=("none", "ada", "diffaugment")),
    },
    seeds=_SEEDS,
    resources=_RESOURCES,
)

LEAKAGE_GRID = SweepSpec(
    name=sweep_names.LEAKAGE_GRID,
    description="Fixed p from 0 to 1 for single transforms: isotropic scaling never leaks, rotate90 and colour leak "
                "as p -> 1 (measured by FID and by the rotation / colour leakage metrics).",
    figure="ADA Fig 3",
    base={"augment.mode": "fixed"},
    scale_base={"tiny": {"run.total_kimg": 120.0}},
    axes={
        "augment.augpipe": Axis(smoke=("scale", "rotate90", "color"), tiny=("scale", "rotate90"),
                                paper=("scale", "rotate90", "color")),
        "augment.p": Axis(smoke=(1.0,), tiny=(0.5, 1.0), paper=_P_STEP_01[1:]),
    },
    # p = 0 at every scale, once per seed: the leak measures' own reading without augmentation (their negative
    # control), drawn as p = 0 of every transform.  A fixed pipe at p = 0 returns its input untouched and draws no
    # random numbers, so "scale at p = 0" and "rotate90 at p = 0" were the same run, bit for bit (measured on the
    # tiny leakage grid): one control per seed instead of one per transform saves 2 x 3 x 25 000 kimg at paper.
    variants=(Variant(name="control", set={"augment.mode": "none"}),),
    seeds=_SEEDS,
    resources=_RESOURCES,
)

OVERFITTING = SweepSpec(
    name=sweep_names.OVERFITTING,
    description="No augmentation at several sizes, D outputs (train / validation / generated, with histograms) "
                "measured every tick: validation reals drift toward generated as D overfits.",
    figure="ADA Fig 1b,c (and DiffAugment Fig 1: D accuracy on train vs validation)",
    base={"augment.mode": "none", "metrics.every_ticks": 1},
    # tiny runs 250 images, not the paper's 2k: this G's D separates 2k training from validation reals by only
    # ~0.2 logits in 400 kimg, while on 250 it memorises the set within ~250 kimg (r_v > 1) and the FID turns
    # upward -- the papers' picture, plainly, in 300 kimg (docs/tiny-results.md, section 1).
    scale_base={"tiny": {**_ADA_SPEED["tiny"], "run.total_kimg": 300.0},
                "paper": {"metrics.fid_samples": 10_000}},
    axes={"data.dataset_size": Axis(smoke=(1000, 5000), tiny=(250, 50_000), paper=(20_000, 50_000))},
    variants=(Variant(name="augmented", axes={
        "data.dataset_size": Axis(smoke=(), tiny=(250,), paper=(2000,)),
        "augment.mode": Axis(smoke=(), tiny=(*_TINY_ADA_ROWS, *_TINY_DIFFAUG_ROWS),
                             paper=("ada", "diffaugment"))}),),
    seeds=_SEEDS,
    resources=_RESOURCES,
)

DIFFAUGMENT_GRID = SweepSpec(
    name=sweep_names.DIFFAUGMENT_GRID,
    description="DiffAugment policies at 100% / 20% / 10% of the data against the no-augmentation baseline, and the "
                "ablation of where augmentation applies (reals only leaks, D only fails).",
    figure="DiffAugment data-fraction table, Table 1 ablation (U), Fig 1",
    base={"augment.mode": "diffaugment"},
    axes={
        "data.fraction": Axis(smoke=(1.0, 0.2), tiny=(0.1,), paper=(1.0, 0.2, 0.1)),
        "augment.diffaug_policy": Axis(
            smoke=("translation,cutout", _FULL_POLICY),
            tiny=_with_paper(TINY_DIFFAUG_POLICY, PAPER_DIFFAUG_POLICY),
            paper=("translation", "cutout", "color", "translation,cutout", _FULL_POLICY),
        ),
    },
    variants=(
        Variant(name="baseline", set={"augment.mode": "none"}, over=("data.fraction",)),
        Variant(name="ablation", over=("data.fraction",), axes={
            "augment.diffaug_policy": Axis(smoke=("cutout",), tiny=(_FULL_POLICY,), paper=(_FULL_POLICY, "cutout")),
            "augment.apply_to": Axis(smoke=("reals_only",), tiny=("reals_only", "d_only"), paper=("reals_only", "d_only")),
        }),
    ),
    scale_base={"tiny": {"run.total_kimg": 120.0}},
    full_size={"paper": 70_000},
    seeds=_SEEDS,
    resources=_RESOURCES,
)

# Transfer learning (ADA §4.2): targets are small subsets of procedural domain b at smoke and tiny (a user's dataset
# at paper, --set data.source=zip:...); "@source" is the source network, which sweeps/transfer.py replaces before Ray
# starts: at smoke and tiny the sweep trains it first on all of domain a (or reuses it, keyed by its config), at paper
# the user gives it (--grid run.init_from=none,PATH).  Freeze-D K counts D's layers as the reference's --freezed:
# the 16 px DCGAN D has 2 (K=1 freezes the first strided conv), the 256 px StyleGAN2 D 19 (K=10 (U)).
# The arms are the paper's (§4.2, Fig 9): from scratch, from the source, from the source with Freeze-D, each with and
# without ADA.  At smoke and tiny from scratch runs with Freeze-D 0 only (the `scratch` variant; the main grid starts
# every trial from the source): Freeze-D keeps a D's first layers as they start, which is transfer's point when they
# come from the source and means fixed random features from scratch -- an arm neither the paper nor Mo et al. run,
# and a quarter of the grid.  Paper keeps the full product, so that `--grid run.init_from=none,PATH` still gives it.
# TINY_TRANSFER_ADA: the paper's heuristic and target with p able to cross [0, 1] inside the budget.  The rule:
# `ada_kimg` <= 2/3 of `run.total_kimg`, so p can reach 1 if r_t stays above target for two thirds of the run (the
# paper's 500 kimg is 2 % of its 25 000-kimg budget).  At tiny's 150 kimg the paper's 500 caps p at 0.3 even with r_t
# above target from the first tick, so "does ADA add to transfer" would be answered by a p that cannot move; 100
# kimg (2/3 of 150, and the catalog's other tiny ADA speed, `_ADA_SPEED`) lets it.  The paper's row is not kept
# beside it: at 500 kimg it is the same controller at a fifth of the speed, and it would add half the grid again.
# Without augmentation r_t passes 0.6 at 250 images only after ~184 kimg from scratch (docs/tiny-results.md section
# 6), so from scratch ADA may not engage in 150 kimg; from the source D starts trained, and the report's p panel
# shows whether it does.
TINY_TRANSFER_ADA = {**TINY_ADA, "augment.ada_kimg": 100.0}
_TRANSFER_TINY_KIMG = 150.0
TRANSFER_GRID = SweepSpec(
    name=sweep_names.TRANSFER_GRID,
    description="Transfer learning: FID of small target sets trained from scratch against starting from a network "
                "trained on a large related set, with and without ADA and with and without Freeze-D.",
    figure="ADA §4.2 (transfer learning, Freeze-D; its Fig 9 (U))",
    scale_base={"smoke": {**_ADA_SPEED["smoke"], "data.source": "procedural:domain=b"},
                "tiny": {"data.source": "procedural:domain=b", "run.total_kimg": _TRANSFER_TINY_KIMG}},
    axes={
        "data.dataset_size": Axis(smoke=(500,), tiny=(250, 1000), paper=(1000, 5000, 10_000)),
        "augment.mode": Axis(smoke=("none", "ada"), tiny=("none", TINY_TRANSFER_ADA), paper=("none", "ada")),
        "model.freeze_d": Axis(smoke=(0, 1), tiny=(0, 1), paper=(0, 10)),
        "run.init_from": Axis(smoke=("@source",), tiny=("@source",), paper=(None, "@source")),
    },
    # at paper this is the main grid's own scratch, Freeze-D 0 run, and merges with it
    variants=(Variant(name="scratch", set={"run.init_from": None, "model.freeze_d": 0},
                      over=("data.dataset_size", "augment.mode")),),
    seeds=_SEEDS,
    resources=_RESOURCES,
)

SWEEPS: dict[str, SweepSpec] = {s.name: s for s in (
    FIXED_P_GRID, ADA_TARGET_GRID, DATASET_SIZE_GRID, LEAKAGE_GRID, OVERFITTING, DIFFAUGMENT_GRID, TRANSFER_GRID)}


def get_sweep(name: str) -> SweepSpec:
    """The named sweep, or a UserInputError listing the known names."""
    if name not in SWEEPS:
        raise UserInputError(f"unknown sweep {name!r}; known sweeps: {', '.join(SWEEPS)}")
    return SWEEPS[name]
