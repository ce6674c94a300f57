"""The named sweeps expand to the papers' grids at every scale, and every trial config validates."""

from __future__ import annotations

import collections

import pytest

from sweeps.catalog import (PAPER_ADA, PAPER_DIFFAUG_POLICY, SWEEPS, TINY_ADA, TINY_DIFFAUG_POLICY, TINY_TRANSFER_ADA,
                            get_sweep)
from sweeps.spec import SCALES, Axis, Resources, SweepSpec, Variant, expand, trial_row, varying_columns
from trainer.config import TrainConfig, validate_config
from trainer.errors import UserInputError

SEEDS = {"smoke": 1, "tiny": 3, "paper": 3}   # seeds are an axis of every sweep (ADA reports medians of 3 runs)
EXPECTED_COUNTS = {
    ("fixed_p_grid", "smoke"): 2 * 3 * 2 + 2,
    ("fixed_p_grid", "tiny"): 3 * (2 * 3 * 1 + 2),
    ("fixed_p_grid", "paper"): 3 * (3 * 11 * 8 + 3),
    ("ada_target_grid", "smoke"): 1 * 2 * 2,
    ("ada_target_grid", "tiny"): 3 * (2 * 1 * 1),
    ("ada_target_grid", "paper"): 3 * (3 * 2 * 7 + 3 * 2),
    ("dataset_size_grid", "smoke"): 2 * 3,
    ("dataset_size_grid", "tiny"): 3 * (4 * 3),
    ("dataset_size_grid", "paper"): 3 * (9 * 3),
    ("leakage_grid", "smoke"): 3 + 1,
    ("leakage_grid", "tiny"): 3 * (2 * 2 + 1),
    ("leakage_grid", "paper"): 3 * (3 * 10 + 1),
    ("overfitting", "smoke"): 2,
    ("overfitting", "tiny"): 3 * (2 + 2),
    ("overfitting", "paper"): 3 * (2 + 2),
    ("diffaugment_grid", "smoke"): 2 * 2 + 2 + 2,
    ("diffaugment_grid", "tiny"): 3 * (1 + 1 + 2),
    ("diffaugment_grid", "paper"): 3 * (3 * 5 + 3 + 3 * 2 * 2),
    ("transfer_grid", "smoke"): 1 * 2 * 2 + 1 * 2,          # from the source x Freeze-D {0, 1}, and from scratch
    ("transfer_grid", "tiny"): 3 * (2 * 2 * 2 + 2 * 2),
    ("transfer_grid", "paper"): 3 * (3 * 2 * 2 * 2),
}


def _values(trials, getter) -> set:
    return {getter(t.config) for t in trials}


@pytest.mark.parametrize(("name", "scale"), sorted(EXPECTED_COUNTS))
def test_counts_and_every_config_validates(name: str, scale: str) -> None:
    trials = expand(get_sweep(name), scale)
    assert len(trials) == EXPECTED_COUNTS[(name, scale)]
    assert [t.index for t in trials] == list(range(len(trials)))
    dumps = [t.config.model_dump_json() for t in trials]
    assert len(set(dumps)) == len(dumps), "two trials with the same config"
    for t in trials:
        assert isinstance(validate_config(t.config.model_dump(mode="json")), TrainConfig)
        assert t.config.preset == scale


def test_fixed_p_grid_values() -> None:
    smoke = expand(get_sweep("fixed_p_grid"), "smoke")
    main = [t for t in smoke if t.variant == "main"]
    assert _values(main, lambda c: c.augment.augpipe) == {"blit", "geom", "color"}
    assert _values(main, lambda c: c.augment.p) == {0.3, 0.7}
    assert _values(main, lambda c: c.augment.mode) == {"fixed"}
    base = [t for t in smoke if t.variant == "baseline"]
    assert sorted(t.config.data.dataset_size for t in base) == [2000, 10_000]
    assert _values(base, lambda c: c.augment.mode) == {"none"}
    tiny = expand(get_sweep("fixed_p_grid"), "tiny")   # docs/tiny-results.md: the shape needs 250 images at tiny
    assert _values(tiny, lambda c: c.data.dataset_size) == {250, 2000} and _values(tiny, lambda c: c.run.total_kimg) == {400.0}
    assert _values([t for t in tiny if t.variant == "main"], lambda c: c.augment.p) == {0.5}
    paper = expand(get_sweep("fixed_p_grid"), "paper")
    assert _values(paper, lambda c: getattr(c.augment, "augpipe", None)) >= {"blit", "geom", "color", "filter", "noise", "cutout", "bgcfnc"}
    assert _values([t for t in paper if t.variant == "main"], lambda c: c.augment.p) == {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8}
    assert _values(paper, lambda c: c.data.dataset_size) == {2000, 10_000, 50_000}
    assert _values(paper, lambda c: c.model.arch) == {"stylegan2"}


def test_ada_target_grid_values() -> None:
    paper = expand(get_sweep("ada_target_grid"), "paper")
    ada = [t for t in paper if t.config.augment.mode == "ada"]
    assert _values(ada, lambda c: c.augment.heuristic) == {"rt", "rv"}
    assert _values(ada, lambda c: c.augment.ada_target) == {0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}
    fixed = [t for t in paper if t.variant == "fixed_p"]
    assert _values(fixed, lambda c: (c.augment.mode, c.augment.p)) == {("fixed", 0.2), ("fixed", 0.5)}
    # tiny: ADA's p curves per size (Fig 5c), driven by r_v with a low target (the tiny D's r_t never reaches
    # 0.6), p's speed scaled to the short budget
    tiny = expand(get_sweep("ada_target_grid"), "tiny")
    assert {(c.data.dataset_size, c.augment.heuristic, c.augment.ada_target, c.augment.ada_kimg, c.run.total_kimg)
            for c in (t.config for t in tiny)} == {(n, "rt", 0.6, 500.0, 300.0) for n in (2000, 50_000)}


def test_dataset_size_grid_has_140k_as_70k_mirrored() -> None:
    paper = expand(get_sweep("dataset_size_grid"), "paper")
    sizes = collections.Counter((t.config.data.dataset_size, t.config.data.mirror) for t in paper)
    assert sizes[(70_000, True)] == 3 * 3 and sizes[(70_000, False)] == 3 * 3
    assert {s for s, _ in sizes} == {1000, 2000, 5000, 10_000, 20_000, 30_000, 50_000, 70_000}
    assert _values(paper, lambda c: c.augment.mode) == {"none", "ada", "diffaugment"}
    assert _values(paper, lambda c: c.run.seed) == {0, 1, 2}


def test_leakage_grid_p_steps_of_a_tenth() -> None:
    paper = expand(get_sweep("leakage_grid"), "paper")
    fixed = [t for t in paper if t.variant == "main"]
    assert _values(fixed, lambda c: c.augment.augpipe) == {"scale", "rotate90", "color"}
    assert sorted(_values(fixed, lambda c: c.augment.p)) == [round(0.1 * i, 1) for i in range(1, 11)]
    tiny = expand(get_sweep("leakage_grid"), "tiny")     # the leaking end of the p axis, one non-leaking transform
    assert {(c.augment.augpipe, c.augment.p) for c in (t.config for t in tiny if t.variant == "main")} == {
        (a, p) for a in ("scale", "rotate90") for p in (0.5, 1.0)}


@pytest.mark.parametrize("scale", SCALES)
def test_leakage_grid_has_one_p0_control_per_seed_at_every_scale(scale: str) -> None:
    trials = expand(get_sweep("leakage_grid"), scale)
    control = [t for t in trials if t.variant == "control"]
    assert [t.config.augment.mode for t in control] == ["none"] * len(control)
    assert sorted(t.config.run.seed for t in control) == sorted(_values(trials, lambda c: c.run.seed))
    assert 0.0 not in _values([t for t in trials if t.variant == "main"], lambda c: c.augment.p)   # no duplicates


def test_overfitting_measures_every_tick_without_augmentation() -> None:
    for scale in SCALES:
        trials = expand(get_sweep("overfitting"), scale)
        main = [t for t in trials if t.variant == "main"]
        assert _values(main, lambda c: (c.augment.mode, c.metrics.every_ticks)) == {("none", 1)}
        # the augmented controls: ADA and DiffAugment on the smallest set of the scale, also measured every tick
        aug = [t for t in trials if t.variant == "augmented"]
        small = {"smoke": None, "tiny": 250, "paper": 2000}[scale]
        assert {(c.augment.mode, c.data.dataset_size, c.metrics.every_ticks) for c in (t.config for t in aug)} == (
            set() if scale == "smoke" else {("ada", small, 1), ("diffaugment", small, 1)})
    assert _values(expand(get_sweep("overfitting"), "paper"), lambda c: c.data.dataset_size) == {2000, 20_000, 50_000}
    # tiny: 250 images, where this G's D memorises its set within 300 kimg (docs/tiny-results.md, section 1)
    tiny = expand(get_sweep("overfitting"), "tiny")
    assert {(c.data.dataset_size, c.augment.mode, c.run.total_kimg) for c in (t.config for t in tiny)} == {
        (250, "none", 300.0), (50_000, "none", 300.0), (250, "ada", 300.0), (250, "diffaugment", 300.0)}
    assert {(t.config.augment.augpipe, t.config.augment.heuristic, t.config.augment.target)
            for t in tiny if t.config.augment.mode == "ada"} == {("bgc", "rt", 0.6)}


def test_diffaugment_fractions_and_ablation() -> None:
    paper = expand(get_sweep("diffaugment_grid"), "paper")
    assert _values(paper, lambda c: c.data.dataset_size) == {70_000, 14_000, 7000}
    main = [t for t in paper if t.variant == "main"]
    assert _values(main, lambda c: c.augment.diffaug_policy) == {"translation", "cutout", "color", "translation,cutout",
                                                                  "color,translation,cutout"}
    assert _values(main, lambda c: c.augment.apply_to) == {"both"}
    abl = [t for t in paper if t.variant == "ablation"]
    assert _values(abl, lambda c: (c.augment.diffaug_policy, c.augment.apply_to)) == {
        (p, a) for p in ("color,translation,cutout", "cutout") for a in ("reals_only", "d_only")}
    tiny = expand(get_sweep("diffaugment_grid"), "tiny")     # the ablation at 10%: both / reals only / D only / none
    full = tiny[0].config.data.procedural_count
    assert {(c.data.dataset_size, c.augment.mode, getattr(c.augment, "apply_to", None)) for c in (t.config for t in tiny)} == {
        (full // 10, "diffaugment", "both"), (full // 10, "none", None),
        (full // 10, "diffaugment", "reals_only"), (full // 10, "diffaugment", "d_only")}


def test_set_pins_an_axis_and_merges_duplicates() -> None:
    trials = expand(get_sweep("fixed_p_grid"), "smoke", ["augment.augpipe=blit", "data.dataset_size=200", "run.total_kimg=2",
                                                               "run.tick_kimg=1"])
    assert [(t.variant, getattr(t.config.augment, "p", None)) for t in trials] == [("main", 0.3), ("main", 0.7), ("baseline", None)]
    assert _values(trials, lambda c: (c.data.dataset_size, c.run.total_kimg)) == {(200, 2.0)}
    assert varying_columns(trials) == ["augment.p", "augment.mode"]
    assert trial_row(trials[2], ["augment.p", "augment.mode"]) == {"trial": 2, "variant": "baseline", "augment.p": "-",
                                                                   "augment.mode": "none", "workers": 1, "cpu": 1.0, "gpu": 0.0}


@pytest.mark.parametrize(("sets", "needle"), [
    (["augment.nope=1"], "augment.nope"),
    (["augment.p=1.5"], "augment.p"),
    (["augment.augpipe=sparkle"], "sparkle"),
    (["run.total_kimg"], "key=value"),
])
def test_bad_overrides_name_the_culprit(sets: list[str], needle: str) -> None:
    with pytest.raises(UserInputError, match=needle):
        expand(get_sweep("fixed_p_grid"), "smoke", sets)


def test_unknown_names() -> None:
    with pytest.raises(UserInputError, match="known sweeps: fixed_p_grid"):
        get_sweep("fixed_p")
    with pytest.raises(UserInputError, match="allowed: smoke, tiny, paper"):
        expand(get_sweep("fixed_p_grid"), "huge")


def test_spec_is_strict() -> None:
    res = {s: Resources() for s in SCALES}
    with pytest.raises(ValueError, match="extra"):
        SweepSpec(name="x", description="d", figure="f", resources=res, axez={})
    with pytest.raises(ValueError, match="unknown main axes"):
        SweepSpec(name="x", description="d", figure="f", resources=res, variants=(Variant(name="v", over=("augment.p",)),))
    with pytest.raises(ValueError, match="resources missing"):
        SweepSpec(name="x", description="d", figure="f", resources={"smoke": Resources()})
    spec = SweepSpec(name="x", description="d", figure="f", resources=res,
                     axes={"augment.nonsense": Axis(smoke=(1,), tiny=(1,), paper=(1,))})
    with pytest.raises(UserInputError, match="augment.nonsense"):
        expand(spec, "smoke")
    with pytest.raises(Exception):
        SWEEPS["fixed_p_grid"].name = "other"   # frozen


@pytest.mark.parametrize("name", sorted(SWEEPS))
@pytest.mark.parametrize("scale", SCALES)
def test_every_sweep_has_seeds_at_every_scale(name: str, scale: str) -> None:
    trials = expand(get_sweep(name), scale)
    per_config = collections.defaultdict(set)
    for t in trials:
        per_config[t.config.model_copy(update={"run": t.config.run.model_copy(update={"seed": 0})}).model_dump_json()].add(
            t.config.run.seed)
    assert set(map(frozenset, per_config.values())) == {frozenset(range(SEEDS[scale]))}


def test_seeds_flag_sets_the_count_and_keeps_the_data_subset() -> None:
    trials = expand(get_sweep("fixed_p_grid"), "tiny", ["augment.augpipe=geom", "data.dataset_size=250"], seeds=5)
    main = [t for t in trials if t.variant == "main"]
    assert sorted(t.config.run.seed for t in main) == [0, 1, 2, 3, 4]
    # the seed axis varies the training seed only: every seed trains on the same data subset
    assert {(t.config.data.subset_seed, t.config.data.dataset_size) for t in main} == {(main[0].config.data.subset_seed, 250)}
    assert len(expand(get_sweep("fixed_p_grid"), "paper", seeds=1)) == EXPECTED_COUNTS[("fixed_p_grid", "paper")] // 3
    for bad in (0, -1, 101, True):
        with pytest.raises(UserInputError, match="--seeds"):
            expand(get_sweep("fixed_p_grid"), "smoke", seeds=bad)


@pytest.mark.parametrize("name", sorted(SWEEPS))
def test_tiny_ada_uses_the_heuristic_that_engages_unless_it_is_swept(name: str) -> None:
    """Tiny ADA is the one named setting, TINY_ADA (the paper's: r_t, 0.6, 500 kimg), wherever it is not swept;
    transfer_grid's 150-kimg runs use TINY_TRANSFER_ADA, the same heuristic and target at 100 kimg (sweeps/catalog.py)."""
    spec = get_sweep(name)
    swept = {k for k in spec.axes if k in ("augment.heuristic", "augment.ada_target") and len(spec.axes[k].tiny) > 1}
    for var in spec.variants:
        swept |= {k for k, a in var.axes.items() if k in ("augment.heuristic", "augment.ada_target") and len(a.tiny) > 1}
    ada = [t.config.augment for t in expand(spec, "tiny") if t.config.augment.mode == "ada"]
    named = [TINY_TRANSFER_ADA] if name == "transfer_grid" else [TINY_ADA, PAPER_ADA]
    if not swept:
        assert {(a.heuristic, a.ada_target, a.ada_kimg) for a in ada} <= {
            (n["augment.heuristic"], n["augment.ada_target"], n["augment.ada_kimg"]) for n in named}


def test_a_tiny_departure_keeps_the_papers_setting_beside_it() -> None:
    """One row while tiny uses the paper's setting; the paper's row joins any departure (sweeps/catalog.py)."""
    from sweeps.catalog import _with_paper

    assert PAPER_ADA == {"augment.mode": "ada", "augment.heuristic": "rt", "augment.ada_target": 0.6,
                         "augment.ada_kimg": 500.0}
    assert PAPER_DIFFAUG_POLICY == "color,translation,cutout"
    assert _with_paper(PAPER_ADA, PAPER_ADA) == (PAPER_ADA,)
    assert _with_paper("translation,cutout", PAPER_DIFFAUG_POLICY) == ("translation,cutout", PAPER_DIFFAUG_POLICY)
    tiny = expand(get_sweep("dataset_size_grid"), "tiny", seeds=1)
    policies = {t.config.augment.diffaug_policy for t in tiny if t.config.augment.mode == "diffaugment"}
    assert policies == set(_with_paper(TINY_DIFFAUG_POLICY, PAPER_DIFFAUG_POLICY))


def test_pinning_a_mode_merges_trials_that_differ_only_in_fields_the_mode_ignores() -> None:
    # docs/tiny-results.md "Re-run on seeds": the no-augmentation runs of a grid over augpipe x p are one run per seed
    none = expand(get_sweep("fixed_p_grid"), "tiny", ["data.dataset_size=250", "augment.mode=none"])
    assert [(t.config.augment.mode, t.config.run.seed) for t in none] == [("none", s) for s in range(3)]
    # and the ADA axis value that also sets heuristic / target does not keep a second "none" trial alive
    over = expand(get_sweep("overfitting"), "tiny", ["augment.mode=none"])
    assert sorted((t.config.data.dataset_size, t.config.run.seed) for t in over) == [
        (n, s) for n in (250, 50_000) for s in range(3)]
    # fields that act in the mode still keep trials apart
    assert len(expand(get_sweep("fixed_p_grid"), "tiny", ["data.dataset_size=250", "augment.augpipe=geom"])) == 6
