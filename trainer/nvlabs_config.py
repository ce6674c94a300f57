"""An NVlabs pickle's constructor kwargs as our `TrainConfig`, and our networks loaded with its weights.

Loading weights into a config that does not match the pickle gives wrong
images without an error (the "wrong images after loading" reports of
NVlabs/stylegan2-ada-pytorch #279, #112, #74), so the config is never guessed:
it is read from the `init_kwargs` every persistent network carries, and every
option our `stylegan2` networks cannot compute is refused by name.  Defaults are
the reference's constructor defaults (its training/networks.py), since
`init_kwargs` holds only what the training script passed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError
from torch import nn

from trainer.config import ModelConfig, TrainConfig
from trainer.errors import UserInputError
from trainer.nvlabs_pickle import NetworkPickle, PersistentRecord, class_names, read_network_pickle, reference_state

G_CLASSES = frozenset({"Generator", "MappingNetwork", "SynthesisNetwork", "SynthesisBlock", "SynthesisLayer",
                       "ToRGBLayer", "FullyConnectedLayer", "Conv2dLayer"})
D_CLASSES = frozenset({"Discriminator", "DiscriminatorBlock", "DiscriminatorEpilogue", "MinibatchStdLayer",
                       "Conv2dLayer", "FullyConnectedLayer"})
# Options whose value changes the function computed: (key, reference default, the only value we compute).
_G_MAPPING_FIXED = (("embed_features", None), ("layer_features", None), ("activation", "lrelu"), ("lr_multiplier", 0.01))
_G_SYNTH_FIXED = (("architecture", "skip"), ("resample_filter", [1, 3, 3, 1]), ("use_noise", True), ("activation", "lrelu"))
_D_FIXED = (("architecture", "resnet"), ("cmap_dim", None))
_D_BLOCK_FIXED = (("architecture", "resnet"), ("activation", "lrelu"), ("resample_filter", [1, 3, 3, 1]))
_D_EPILOGUE_FIXED = (("activation", "lrelu"), ("architecture", "resnet"))
# Model fields and where the pickle keeps them (for error messages).
_FIELD_SOURCES = {"z_dim": "G.z_dim", "w_dim": "G.w_dim", "mapping_layers": "G.mapping_kwargs.num_layers",
                  "channel_base": "G.synthesis_kwargs.channel_base", "channel_max": "G.synthesis_kwargs.channel_max",
                  "mbstd_group": "D.epilogue_kwargs.mbstd_group_size", "amp_blocks": "G.synthesis_kwargs.num_fp16_res",
                  "conv_clamp": "G.synthesis_kwargs.conv_clamp"}


def _kw(d: Any, where: str) -> dict[str, Any]:
    if d is None:
        return {}
    if not isinstance(d, dict):
        raise UserInputError(f"{where} is a {type(d).__name__}, expected a dict of keyword arguments")
    return dict(d)


def _require(kwargs: dict[str, Any], fixed: tuple[tuple[str, Any], ...], where: str) -> None:
    for key, value in fixed:
        got = kwargs.get(key, value)
        if (list(got) if isinstance(got, tuple) else got) != value:
            raise UserInputError(f"{where}.{key}={got!r} is not supported (our stylegan2 networks compute only {value!r})")


def _check_classes(rec: PersistentRecord, name: str, allowed: frozenset[str], top: str, where: str) -> None:
    if rec.class_name != top:
        raise UserInputError(f"{where}: {name} is a {rec.class_name}, expected a stylegan2-ada-pytorch {top}")
    unknown = sorted(class_names(rec) - allowed)
    if unknown:
        raise UserInputError(f"{where}: {name} contains class {unknown[0]}, which our networks lack "
                             f"(supported: {', '.join(sorted(allowed))})")


def generator_options(rec: PersistentRecord, where: str) -> dict[str, Any]:
    """Model fields, resolution and channels from G's init_kwargs; refuses what our networks cannot compute."""
    kw = rec.init_kwargs
    if kw.get("c_dim", 0) != 0:
        raise UserInputError(f"{where}: G.c_dim={kw.get('c_dim')!r}: conditional networks are not supported (only c_dim=0)")
    res, ch = kw.get("img_resolution"), kw.get("img_channels", 3)
    if not isinstance(res, int) or res < 8 or res & (res - 1):
        raise UserInputError(f"{where}: G.img_resolution={res!r}: supported are powers of two from 8 to 1024")
    if ch not in (1, 3):
        raise UserInputError(f"{where}: G.img_channels={ch!r}: supported are 1 and 3")
    mapping = _kw(kw.get("mapping_kwargs"), f"{where}: G.mapping_kwargs")
    synth = _kw(kw.get("synthesis_kwargs"), f"{where}: G.synthesis_kwargs")
    _require(mapping, _G_MAPPING_FIXED, f"{where}: G.mapping_kwargs")
    _require(synth, _G_SYNTH_FIXED, f"{where}: G.synthesis_kwargs")
    z_dim = kw.get("z_dim")
    return {"resolution": res, "channels": ch, "z_dim": z_dim, "w_dim": kw.get("w_dim", z_dim),
            "mapping_layers": mapping.get("num_layers", 8), "channel_base": synth.get("channel_base", 32768),
            "channel_max": synth.get("channel_max", 512), "amp_blocks": synth.get("num_fp16_res", 0),
            "conv_clamp": synth.get("conv_clamp")}


def discriminator_options(rec: PersistentRecord, g_opts: dict[str, Any], where: str) -> int:
    """D's minibatch-std group size, after checking that D matches G's shared fields and our D's layers."""
    kw = rec.init_kwargs
    if kw.get("c_dim", 0) != 0:
        raise UserInputError(f"{where}: D.c_dim={kw.get('c_dim')!r}: conditional networks are not supported (only c_dim=0)")
    _require(kw, _D_FIXED, f"{where}: D")
    _require(_kw(kw.get("block_kwargs"), f"{where}: D.block_kwargs"), _D_BLOCK_FIXED, f"{where}: D.block_kwargs")
    epi = _kw(kw.get("epilogue_kwargs"), f"{where}: D.epilogue_kwargs")
    _require(epi, _D_EPILOGUE_FIXED, f"{where}: D.epilogue_kwargs")
    shared = {"img_resolution": ("resolution", None), "img_channels": ("channels", 3), "channel_base": ("channel_base", 32768),
              "channel_max": ("channel_max", 512), "num_fp16_res": ("amp_blocks", 0), "conv_clamp": ("conv_clamp", None)}
    for key, (ours, default) in shared.items():
        if kw.get(key, default) != g_opts[ours]:
            raise UserInputError(f"{where}: D.{key}={kw.get(key, default)!r} differs from G's {g_opts[ours]!r}; "
                                 f"our config has one {ours} for both networks")
    if epi.get("mbstd_num_channels", 1) not in (0, 1):
        raise UserInputError(f"{where}: D.epilogue_kwargs.mbstd_num_channels={epi['mbstd_num_channels']!r}: supported are 0 and 1")
    group = epi.get("mbstd_group_size", 4)
    if group is None:
        raise UserInputError(f"{where}: D.epilogue_kwargs.mbstd_group_size=None (whole minibatch) is not supported; "
                             f"supported are group sizes 1 to 32")
    return 0 if epi.get("mbstd_num_channels", 1) == 0 else group


def config_from_pickle(pkl: NetworkPickle) -> tuple[TrainConfig, int]:
    """(TrainConfig whose model and data.resolution sections are the pickle's, image channels)."""
    where = str(pkl.path)
    _check_classes(pkl.G_ema, "G_ema", G_CLASSES, "Generator", where)
    opts = generator_options(pkl.G_ema, where)
    mbstd = 4
    if pkl.D is not None:
        _check_classes(pkl.D, "D", D_CLASSES, "Discriminator", where)
        mbstd = discriminator_options(pkl.D, opts, where)
    model = {k: opts[k] for k in ("z_dim", "w_dim", "mapping_layers", "channel_base", "channel_max", "amp_blocks")}
    model.update(arch="stylegan2", mbstd_group=mbstd)
    if "conv_clamp" in ModelConfig.model_fields:
        model["conv_clamp"] = opts["conv_clamp"]
    elif opts["conv_clamp"] is not None:
        raise UserInputError(f"{where}: G.synthesis_kwargs.conv_clamp={opts['conv_clamp']!r}: this version has no conv clamp")
    try:
        mc = ModelConfig.model_validate(model)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]) if err.get("loc") else "model"
        raise UserInputError(f"{where}: {_FIELD_SOURCES.get(key, key)}={err.get('input')!r} is outside what our "
                             f"config supports (model.{key}: {err.get('msg', 'invalid')})") from None
    cfg = TrainConfig.model_validate({"data": {"resolution": opts["resolution"]}, "model": mc.model_dump()})
    return cfg, opts["channels"]


def load_pickle_networks(path: Path, names: tuple[str, ...] = ("G_ema",)) -> tuple[TrainConfig, dict[str, nn.Module]]:
    """(config, {name: our network with the pickle's weights, eval mode, float32 on the CPU}) for NAMES among G, D, G_ema."""
    from trainer.networks import build_networks
    from trainer.networks.reference_names import load_reference_state

    pkl = read_network_pickle(path)
    cfg, channels = config_from_pickle(pkl)
    out: dict[str, nn.Module] = {}
    for name in names:
        rec = getattr(pkl, name, None) if name in ("G", "D", "G_ema") else None
        if rec is None:
            raise UserInputError(f"{path}: has no {name} network (G, D and G_ema are read)")
        if name == "G":
            _check_classes(rec, name, G_CLASSES, "Generator", str(path))
        G, D = build_networks(cfg.model, resolution=cfg.data.resolution, channels=channels, seed=0)
        net = D if name == "D" else G
        try:
            load_reference_state(net, reference_state(rec))
        except (KeyError, ValueError, RuntimeError) as exc:   # UserInputError is a ValueError: prefixed with the file
            raise UserInputError(f"{path}: {name}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
        out[name] = net.eval().requires_grad_(False)
    return cfg, out
