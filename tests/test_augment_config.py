"""One augmentation config model per mode: fields of another mode are refused, ADA's target follows the heuristic,
mode switches through layered overrides work, and config.json round-trips (old flat files included)."""

from __future__ import annotations

import json

import pytest

from sweeps.catalog import get_sweep
from sweeps.spec import expand
from trainer.config.augment import MODE_FIELDS, AdaAugment, FixedAugment, NoAugment, augment_config
from trainer.config import TrainConfig, apply_overrides, flat_columns, preset, validate_config
from trainer.errors import UserInputError

# A config.json as written before the per-mode split (every mode's field present; ada_target always 0.6).
OLD_CONFIG_JSON = """{"preset":"smoke","data":{"source":"procedural","dataset_size":2000,"subset_seed":0,"mirror":false,
"val_size":500,"resolution":16,"resize":false,"procedural_count":10000,"procedural_seed":0},"model":{"arch":"dcgan",
"z_dim":64,"w_dim":64,"mapping_layers":2,"channel_base":1024,"channel_max":64,"mbstd_group":4},"loss":{"r1_gamma":0.1,
"r1_interval":16,"g_lr":0.0002,"d_lr":0.0002,"beta1":0.5,"beta2":0.999,"ema_kimg":0.5},"augment":{"mode":"ada",
"augpipe":"bgc","p":0.0,"ada_target":0.6,"ada_interval":4,"ada_kimg":10.0,"heuristic":"rv",
"diffaug_policy":"color,translation,cutout","apply_to":"both"},"metrics":{"detector":"auto","detector_path":null,
"every_ticks":1,"fid_samples":1000,"fid_real":5000,"kid":true,"kid_subsets":20,"kid_subset_size":500,"dout_samples":256,
"hist_bins":32,"hist_range":8.0,"leakage":["rot","color","blank"],"leak_samples":500,"sample_grid":8},"run":{
"total_kimg":12.0,"batch":64,"tick_kimg":4.0,"checkpoint_ticks":1,"seed":0,"device":"auto","amp":true,
"channels_last":true,"compile":false,"threads":1}}"""


def test_rv_without_a_target_trains_at_the_papers_0_5() -> None:
    rv = apply_overrides(preset("smoke"), ["augment.heuristic=rv"])
    assert rv.augment.target == 0.5 and flat_columns(rv)["ada_target"] == 0.5
    rt = apply_overrides(rv, ["augment.heuristic=rt"])   # unset stays unset: switching back gives r_t's target
    assert rt.augment.target == 0.6 and flat_columns(rt)["ada_target"] == 0.6
    pinned = apply_overrides(rv, ["augment.ada_target=0.3"])
    assert pinned.augment.target == 0.3


def test_rv_default_reaches_the_controller() -> None:
    import torch
    from trainer.d_inputs import Augmenter
    cfg = apply_overrides(preset("smoke"), ["augment.heuristic=rv"])
    aug = Augmenter(cfg.augment, 8, torch.Generator(), torch.device("cpu"), make_pipe=lambda s, p: torch.nn.Identity())
    assert aug.controller.target == 0.5 and aug.controller.heuristic == "rv"


@pytest.mark.parametrize(("overrides", "mode", "field"), [
    (["augment.mode=none", "augment.p=0.3"], "none", "p"),
    (["augment.mode=diffaugment", "augment.augpipe=geom"], "diffaugment", "augpipe"),
    (["augment.mode=fixed", "augment.heuristic=rv"], "fixed", "heuristic"),
])
def test_a_field_of_another_mode_is_one_line_naming_the_mode_and_its_fields(overrides: list[str], mode: str, field: str) -> None:
    with pytest.raises(UserInputError) as info:
        apply_overrides(preset("smoke"), overrides)
    msg = str(info.value)
    assert "\n" not in msg and f"augment.{field} does not apply to augment.mode={mode}" in msg
    assert ", ".join(MODE_FIELDS[mode]) in msg


def test_a_plain_dict_with_a_field_of_another_mode_is_refused() -> None:
    d = preset("smoke").model_dump()
    d["augment"] = {"mode": "none", "p": 0.3}
    with pytest.raises(UserInputError) as info:
        validate_config(d)
    assert "augment.p does not apply to augment.mode=none" in str(info.value) and "\n" not in str(info.value)


def test_switching_mode_in_separate_steps_drops_the_old_modes_fields() -> None:
    fixed = apply_overrides(preset("smoke"), ["augment.mode=fixed", "augment.p=0.3", "augment.augpipe=geom"])
    diff = apply_overrides(fixed, ["augment.mode=diffaugment"])
    assert diff.augment.mode == "diffaugment" and not hasattr(diff.augment, "p")
    back = apply_overrides(diff, ["augment.mode=fixed"])
    assert isinstance(back.augment, FixedAugment) and back.augment.p == 0.0 and back.augment.augpipe == "bgc"
    ada = apply_overrides(fixed, ["augment.mode=ada"])   # fields both modes take carry over
    assert isinstance(ada.augment, AdaAugment) and ada.augment.p == 0.3 and ada.augment.augpipe == "geom"


def test_sweep_layers_keep_fields_for_a_mode_set_later() -> None:
    # base mode none + a scale's ADA speed (as the overfitting sweep had), then an axis switches to ada
    from sweeps.spec import Axis, Resources, SweepSpec

    spec = SweepSpec(name="layers", description="d", figure="f", base={"augment.mode": "none"},
                     scale_base={"tiny": {"augment.ada_kimg": 100.0}},
                     axes={"augment.mode": Axis(smoke=("ada",), tiny=("none", "ada"), paper=("ada",))},
                     resources={s: Resources(cpu=1.0, gpu=0.0) for s in ("smoke", "tiny", "paper")})
    ada = [t for t in expand(spec, "tiny") if t.config.augment.mode == "ada"]
    assert ada and all(t.config.augment.ada_kimg == 100.0 for t in ada)


def test_set_pins_the_trials_that_take_the_field_and_skips_the_others() -> None:
    trials = expand(get_sweep("fixed_p_grid"), "smoke", ["augment.augpipe=geom"])
    assert {t.config.augment.augpipe for t in trials if t.config.augment.mode == "fixed"} == {"geom"}
    assert any(isinstance(t.config.augment, NoAugment) for t in trials)   # the baseline is still there
    with pytest.raises(UserInputError, match="augment.diffaug_policy: no trial of this sweep takes it"):
        expand(get_sweep("fixed_p_grid"), "smoke", ["augment.diffaug_policy=translation"])
    with pytest.raises(UserInputError, match="augpipe"):
        expand(get_sweep("fixed_p_grid"), "smoke", ["augment.augpipe=zzz"])


@pytest.mark.parametrize("mode", ["none", "fixed", "ada", "diffaugment"])
def test_config_json_round_trips_per_mode(mode: str) -> None:
    cfg = apply_overrides(preset("smoke"), [f"augment.mode={mode}"])
    assert TrainConfig.from_json(cfg.to_json()) == cfg
    assert set(json.loads(cfg.to_json())["augment"]) == set(MODE_FIELDS[mode])


def test_an_old_flat_config_json_still_loads_as_what_it_ran() -> None:
    cfg = TrainConfig.from_json(OLD_CONFIG_JSON)
    assert isinstance(cfg.augment, AdaAugment)
    assert cfg.augment.heuristic == "rv" and cfg.augment.target == 0.6 and cfg.augment.ada_kimg == 10.0
    old = json.loads(OLD_CONFIG_JSON)
    old["augment"]["mode"] = "none"
    assert validate_config(old).augment == NoAugment()


def test_augment_config_builds_the_mode_model() -> None:
    assert augment_config(mode="fixed", p=0.5) == FixedAugment(p=0.5)
    assert augment_config() == AdaAugment()
