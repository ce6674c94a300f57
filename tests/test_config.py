"""Typed configuration: presets, overrides, bounds, JSON round trip, flat columns."""

from __future__ import annotations

import pytest

from trainer.config import (
    PRESETS,
    SCHEMA_VERSION,
    TrainConfig,
    apply_overrides,
    flat_columns,
    preset,
    ticks_total,
    validate_config,
)
from trainer.errors import UserInputError


@pytest.mark.parametrize("name", PRESETS)
def test_presets_validate_and_round_trip(name: str) -> None:
    cfg = preset(name)
    assert cfg.preset == name
    assert TrainConfig.from_json(cfg.to_json()) == cfg


def test_scales_differ_in_budget_not_meaning() -> None:
    smoke, tiny, paper = (preset(n) for n in PRESETS)
    assert smoke.run.total_kimg < tiny.run.total_kimg < paper.run.total_kimg
    assert paper.data.resolution == 256 and paper.metrics.detector == "inception"
    assert paper.metrics.fid_samples == 50_000
    # the augmentation defaults mean the same thing at every scale
    assert smoke.augment == tiny.augment == paper.augment


def test_override_sets_nested_values_and_parses_types() -> None:
    cfg = apply_overrides(preset("smoke"), ["augment.mode=fixed", "augment.p=0.4", "data.mirror=true", "data.dataset_size=null"])
    assert cfg.augment.mode == "fixed" and cfg.augment.p == pytest.approx(0.4)
    assert cfg.data.mirror is True and cfg.data.dataset_size is None
    cfg2 = apply_overrides(cfg, {"augment.mode": "diffaugment", "augment.diffaug_policy": " translation , cutout "})
    assert cfg2.augment.diffaug_policy == "translation,cutout"


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ("augment.mode=foo", "augment.mode"),
        ("augment.pp=1", "'pp'"),
        ("augment.p=2", "augment.p"),
        ("run.batch=x", "run.batch"),
        ("data.source=bogus:x", "bogus"),
        ("augment.augpipe=zzz", "bgc"),
        ("data.resolution=24", "power of two"),
        ("augment.p.x=1", "not a section"),
        ("nonsense", "key=value"),
        ("augment.diffaug_policy=color,flip", "does not apply to augment.mode=ada"),
        ("run.tick_kimg=50", "total_kimg"),
    ],
)
def test_bad_overrides_name_the_field(override: str, needle: str) -> None:
    with pytest.raises(UserInputError) as info:
        apply_overrides(preset("smoke"), [override])
    msg = str(info.value)
    assert needle in msg
    assert "\n" not in msg


def test_choice_errors_list_allowed_values() -> None:
    with pytest.raises(UserInputError, match="'none', 'fixed', 'ada' or 'diffaugment'"):
        apply_overrides(preset("smoke"), ["augment.mode=adaptive"])


def test_configs_are_frozen() -> None:
    cfg = preset("smoke")
    with pytest.raises(Exception):
        cfg.run.batch = 3  # type: ignore[misc]


def test_validate_config_from_plain_dict() -> None:
    d = preset("tiny").model_dump()
    assert validate_config(d) == preset("tiny")
    d["augment"]["heuristic"] = "rx"
    with pytest.raises(UserInputError, match="augment.heuristic"):
        validate_config(d)


def test_flat_columns_follow_the_mode() -> None:
    fixed = flat_columns(apply_overrides(preset("smoke"), ["augment.mode=fixed", "augment.p=0.3", "augment.augpipe=geom"]))
    assert fixed["aug_mode"] == "fixed" and fixed["p_fixed"] == pytest.approx(0.3) and fixed["augpipe"] == "geom"
    assert fixed["ada_target"] is None and fixed["diffaug_policy"] is None
    none = flat_columns(apply_overrides(preset("smoke"), ["augment.mode=none"]))
    assert none["augpipe"] is None and none["apply_to"] is None and none["p_fixed"] is None
    assert none["schema_version"] == SCHEMA_VERSION


def test_ticks_total() -> None:
    cfg = apply_overrides(preset("smoke"), ["run.total_kimg=12", "run.tick_kimg=4"])
    assert ticks_total(cfg) == 3
    assert ticks_total(apply_overrides(cfg, ["run.total_kimg=13"])) == 4


def test_none_is_a_value_for_choices_and_unset_for_optionals() -> None:
    cfg = apply_overrides(preset("smoke"), ["augment.mode=none", "data.dataset_size=none"])
    assert cfg.augment.mode == "none"
    assert cfg.data.dataset_size is None
