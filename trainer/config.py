"""Typed configuration of one training run, its presets, and `key=value` overrides.

Every component has one frozen pydantic model with `extra="forbid"`: a typo in a
sweep axis or a `--set` flag fails at once with the field's name instead of
silently training the wrong thing (the failure mode of untyped dicts).  Bounds
live on the fields, so validation happens where options are declared.

The scales (docs/architecture.md "Scales"): `smoke` proves the machinery in seconds per run,
`tiny` shows the papers' shapes on CPU in minutes, `paper` is ADA's paper256
setup.  A scale changes budget, data and widths, never what an option means.

This module imports neither torch nor ray, so the sweep driver can validate a
whole grid before anything heavy starts.
"""

from __future__ import annotations

import json
import math
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo

from resultsformat import SCHEMA_VERSION  # noqa: F401  (re-exported: the format owns its version)
from resultsformat.dotted import flatten_dotted  # noqa: F401  (re-exported: trainer.checkpoint, sweeps.trainable)
from trainer.augment_config import (AUGPIPE_SPECS, DIFFAUG_OPS, AdaAugment, AugmentConfig,  # noqa: F401 (re-exported)
                                    drop_inapplicable, is_legacy)
from trainer.errors import UserInputError

SOURCE_KINDS = ("procedural", "folder", "zip", "cifar10", "mnist", "npz")
PROCEDURAL_DOMAINS = ("domain=a", "domain=b")   # data.source=procedural:domain=b (trainer/data/procedural_b.py)
PRESETS = ("smoke", "tiny", "paper")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class DataConfig(_Frozen):
    """Which images, how many, and how they are split (docs/architecture.md "Datasets")."""

    source: str = Field("procedural", description="procedural | procedural:domain=b | folder:PATH | zip:PATH | cifar10:PATH | mnist:PATH | npz:PATH")
    dataset_size: int | None = Field(None, ge=1, le=10_000_000, description="Unique training images: seeded shuffle, then the first N; None = all")
    subset_seed: int = Field(0, ge=0, le=2**31 - 1, description="Seed of the subset shuffle; independent of run.seed so a subset is the same for every training seed")
    mirror: bool = Field(False, description="Double the training set with x-flips (ADA's 140k = 70k + flips)")
    val_size: int = Field(1000, ge=0, le=100_000, description="Held-out validation reals, disjoint from the training subset; 0 disables r_v")
    resolution: int = Field(32, ge=8, le=1024, description="Image side in pixels; a power of two")
    resize: bool = Field(False, description="Resize real images to `resolution` instead of refusing a mismatch")
    procedural_count: int = Field(70_000, ge=100, le=140_000, description="Size of the full procedural dataset (FID reference); validation images come from beyond it")
    procedural_seed: int = Field(0, ge=0, le=2**31 - 1, description="Seed that, with the image index, determines every procedural image")

    @field_validator("source")
    @classmethod
    def _source_kind(cls, v: str) -> str:
        kind, _, path = v.partition(":")
        if kind not in SOURCE_KINDS:
            raise ValueError(f"unknown data source kind {kind!r}; allowed: {', '.join(SOURCE_KINDS)} (as KIND:PATH, or 'procedural')")
        if kind == "procedural" and path not in ("", *PROCEDURAL_DOMAINS):
            raise ValueError(f"'procedural' takes no path, only a domain: {' or '.join(PROCEDURAL_DOMAINS)}")
        if v == "procedural:domain=a":
            return "procedural"   # one spelling per dataset: domain a is the default
        if kind != "procedural" and not path:
            raise ValueError(f"data source {kind!r} needs a path, as {kind}:PATH")
        return v

    @field_validator("resolution")
    @classmethod
    def _pow2(cls, v: int) -> int:
        if v & (v - 1):
            raise ValueError("resolution must be a power of two")
        return v

    @property
    def kind(self) -> str:
        return self.source.partition(":")[0]

    @property
    def path(self) -> str:
        return "" if self.kind == "procedural" else self.source.partition(":")[2]

    @property
    def procedural_domain(self) -> str:
        """'a' (the default warm landscapes) or 'b' (trainer/data/procedural_b.py) for procedural data."""
        return self.source.partition("domain=")[2] or "a"


class ModelConfig(_Frozen):
    """Generator and discriminator architecture and widths."""

    arch: Literal["stylegan2", "dcgan"] = Field("stylegan2", description="stylegan2: mapping net + modulated convs + residual D with minibatch std; dcgan: a classic balanced pair")
    z_dim: int = Field(512, ge=1, le=1024, description="Latent size")
    w_dim: int = Field(512, ge=1, le=1024, description="Intermediate latent size (stylegan2)")
    mapping_layers: int = Field(2, ge=1, le=8, description="Depth of the mapping network (ADA's paper256: 8)")
    channel_base: int = Field(16384, ge=64, le=65536, description="Width at resolution r is min(channel_base / r, channel_max)")
    channel_max: int = Field(512, ge=8, le=1024, description="Widest layer")
    mbstd_group: int = Field(4, ge=0, le=32, description="Minibatch-std group size in D; 0 disables it (ADA's paper256: 8)")
    amp_blocks: int | None = Field(None, ge=0, le=10, description="stylegan2 with AMP on: only the N highest-resolution blocks of G and D run in reduced precision, the rest in float32 (ADA's paper256: 4); None = autocast over the whole networks")
    conv_clamp: float | None = Field(None, gt=0.0, le=1e6, description="stylegan2: clamp every conv output to +-X, scaled with the layer's gain, so 16-bit activations cannot overflow (ADA's paper256: 256); None = no clamp, the reference's default")
    freeze_d: int = Field(0, ge=0, le=64, description="Freeze-D (ADA §4.2): the first N layers of D from the input (fromRGB, then each block's convs, "
                          "counted as the reference's --freezed) get no updates; 0 trains all; more than D has is an error")


class LossConfig(_Frozen):
    """Non-saturating logistic loss, lazy R1 and path length, EMA and optimiser settings (trainer/phases.py: the schedule)."""

    r1_gamma: float = Field(1.0, ge=0.0, le=1000.0, description="R1 weight on un-augmented reals (gradient through the augmentation)")
    r1_interval: int = Field(16, ge=1, le=64, description="Lazy regularisation: R1 as its own D step every N minibatches, scaled by N; D's Adam lr x N/(N+1), betas ** (N/(N+1))")
    g_lr: float = Field(0.0025, gt=0.0, le=1.0, description="Generator Adam learning rate")
    d_lr: float = Field(0.0025, gt=0.0, le=1.0, description="Discriminator Adam learning rate")
    beta1: float = Field(0.0, ge=0.0, lt=1.0, description="Adam beta1")
    beta2: float = Field(0.99, ge=0.0, lt=1.0, description="Adam beta2")
    ema_kimg: float = Field(10.0, ge=0.0, le=1000.0, description="Half-life of the EMA generator in kimg; 0 disables EMA")
    ema_rampup: float | None = Field(None, gt=0.0, le=10.0, description="EMA ramp-up: the half-life is at most cur_nimg x this early in training (the reference's cifar and auto configs: 0.05); None = the full half-life from the start (paper256)")
    pl_weight: float = Field(0.0, ge=0.0, le=100.0, description="Path-length regularisation weight (StyleGAN2 §3.2; ADA's paper256: 2); 0 disables it; stylegan2 only")
    pl_interval: int = Field(4, ge=1, le=64, description="Lazy path-length regularisation as its own G step every N minibatches, scaled by N; G's Adam lr x N/(N+1), betas ** (N/(N+1))")
    pl_batch_shrink: int = Field(2, ge=1, le=64, description="Path-length regularisation runs on batch // N latents")
    pl_decay: float = Field(0.01, gt=0.0, le=1.0, description="Decay of the running mean path length the penalty is measured from")
    style_mixing: float = Field(0.0, ge=0.0, le=1.0, description="Probability that a second latent takes over from a random crossover layer in training G calls (ADA's paper256: 0.9); stylegan2 only")


class MetricsConfig(_Frozen):
    """What is measured at metrics ticks and how many samples it costs."""

    detector: Literal["auto", "offline", "random", "inception"] = Field("auto", description="Feature network for FID/KID; auto = offline for procedural data, inception otherwise")
    detector_path: str | None = Field(None, description="Local weights file for the inception detector")
    every_ticks: int = Field(1, ge=1, le=10_000, description="Compute metrics every N ticks (and always at the last tick)")
    fid_samples: int = Field(2000, ge=2, le=100_000, description="Generated images for FID/KID")
    fid_real: int | None = Field(None, ge=2, le=10_000_000, description="Real images for the reference statistics; None = the full dataset")
    kid: bool = Field(True, description="Also compute KID")
    kid_subsets: int = Field(100, ge=1, le=1000, description="KID subsets")
    kid_subset_size: int = Field(1000, ge=2, le=10_000, description="Max images per KID subset")
    dout_samples: int = Field(512, ge=8, le=100_000, description="Reals (train and validation) and fakes scored by D for the D-output statistics")
    hist_bins: int = Field(32, ge=4, le=256, description="Bins of the D-output histograms on [-hist_range, hist_range]")
    hist_range: float = Field(8.0, gt=0.0, le=100.0, description="Half-width of the D-output histogram range, in logits")
    leakage: tuple[Literal["rot", "color", "blank"], ...] = Field(("rot", "color", "blank"), description="Leakage measures to compute")
    leak_samples: int = Field(1000, ge=8, le=100_000, description="Generated images for the leakage measures")
    sample_grid: int = Field(8, ge=0, le=32, description="Side of the PNG sample grid saved at metrics ticks; 0 = none")


class RunConfig(_Frozen):
    """Budget, batch, ticks, checkpoints, seed and device."""

    total_kimg: float = Field(25000.0, gt=0.0, le=1_000_000.0, description="Training length in thousands of real images shown to D")
    batch: int = Field(64, ge=2, le=4096, description="Minibatch size")
    tick_kimg: float = Field(4.0, gt=0.0, le=10_000.0, description="One tick (one metrics row) every N kimg; ADA uses 4")
    checkpoint_ticks: int = Field(5, ge=1, le=100_000, description="Checkpoint every N ticks (and at the end); checkpoints are copied synchronously by Ray, so not every tick")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Training seed (networks, latents, augmentation)")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto = cuda when available")
    amp: bool = Field(True, description="Mixed precision on CUDA (ignored on CPU)")
    channels_last: bool = Field(True, description="channels_last memory format on CUDA (ignored on CPU)")
    compile: bool = Field(False, description="torch.compile the networks")
    threads: int | None = Field(None, ge=1, le=256, description="torch intra-op threads; None = torch's default")
    workers: int = Field(1, ge=1, le=256, description="Data-parallel workers (GPUs, or CPU processes) of this run, each on batch / workers images (trainer/distributed.py)")
    init_from: str | None = Field(None, min_length=1, description="Transfer learning (ADA §4.2): path of a checkpoint, "
                                  "`python -m trainer` run folder, sweep trial folder or NVlabs network pickle (.pkl, with D) whose G, D and G_ema the run starts from, at kimg 0 with fresh optimisers and this run's "
                                  "augmentation (not --resume); None = random initialisation")
    init_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the bytes of run.init_from's weights (its state.pt, or the .pkl), filled in "
                                    "when the run or sweep starts; when given, a source with other bytes is refused")

    @model_validator(mode="after")
    def _budget(self) -> "RunConfig":
        if self.tick_kimg > self.total_kimg:
            raise ValueError(f"run.tick_kimg ({self.tick_kimg}) exceeds run.total_kimg ({self.total_kimg})")
        if self.batch % self.workers:
            raise ValueError(f"run.batch ({self.batch}) does not split into run.workers={self.workers} equal parts")
        if self.init_sha256 is not None and self.init_from is None:
            raise ValueError("run.init_sha256 needs run.init_from (the hash is of that source's weights)")
        return self


class TrainConfig(_Frozen):
    """Everything that determines one training run; saved in every run dir and checkpoint."""

    preset: Literal["smoke", "tiny", "paper", "custom"] = Field("custom", description="Preset this config started from (informational)")
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    loss: LossConfig = Field(default_factory=LossConfig)
    augment: AugmentConfig = Field(default_factory=AdaAugment, description="One model per augmentation mode (trainer/augment_config.py)")
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    run: RunConfig = Field(default_factory=RunConfig)

    @field_validator("augment", mode="before")
    @classmethod
    def _augment_fields_of_its_mode(cls, v: Any) -> Any:
        """An old config.json (every mode's fields) loads as what it ran; otherwise a field of another mode is an error."""
        if isinstance(v, dict):
            return drop_inapplicable(v, keep=set() if is_legacy(v) else set(v))
        return v

    @model_validator(mode="after")
    def _stylegan2_only(self) -> "TrainConfig":
        lc = self.loss
        if self.model.arch != "stylegan2":
            for key, on in (("loss.pl_weight", lc.pl_weight > 0), ("loss.style_mixing", lc.style_mixing > 0)):
                if on:
                    raise ValueError(f"{key} needs model.arch=stylegan2 (it acts on the mapping network's w)")
        if lc.pl_weight > 0 and self.run.batch // lc.pl_batch_shrink < 1:
            raise ValueError(f"loss.pl_batch_shrink ({lc.pl_batch_shrink}) exceeds run.batch ({self.run.batch})")
        return self

    @model_validator(mode="after")
    def _per_worker_batch(self) -> "TrainConfig":
        per, group = self.run.batch // self.run.workers, self.model.mbstd_group
        if self.run.workers > 1 and group > 1 and per % min(group, per):
            raise ValueError(f"model.mbstd_group ({group}) does not divide the per-worker batch "
                             f"run.batch / run.workers = {per}")
        if self.run.workers > 1 and self.loss.pl_weight > 0 and per // self.loss.pl_batch_shrink < 1:
            raise ValueError(f"loss.pl_batch_shrink ({self.loss.pl_batch_shrink}) exceeds the per-worker batch {per}")
        return self

    @model_validator(mode="after")
    def _freeze_d_depth(self) -> "TrainConfig":
        depth = d_layer_count(self.model.arch, self.data.resolution)
        if self.model.freeze_d > depth:
            raise ValueError(f"model.freeze_d={self.model.freeze_d} exceeds D's {depth} layers ({self.model.arch} at "
                             f"{self.data.resolution} px, counted from the input as the reference's --freezed); use 0..{depth}")
        return self

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, text: str) -> "TrainConfig":
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            raise UserInputError(f"invalid config JSON: {_first_error(exc)}") from None


def d_layer_count(arch: str, resolution: int) -> int:
    """Layers of D that model.freeze_d counts (trainer/freeze.py): stylegan2 fromRGB + 3 convs per block, dcgan 1 per block."""
    blocks = max(0, int(math.log2(resolution)) - 2)   # one block per halving down to 4x4
    return 1 + 3 * blocks if arch == "stylegan2" else blocks


def _preset_dict(name: str) -> dict[str, Any]:
    if name == "smoke":
        return {
            "data": {"resolution": 16, "dataset_size": 2000, "val_size": 500, "procedural_count": 10_000},
            "model": {"arch": "dcgan", "z_dim": 64, "w_dim": 64, "channel_base": 1024, "channel_max": 64, "mbstd_group": 4},
            "loss": {"r1_gamma": 0.1, "g_lr": 0.0002, "d_lr": 0.0002, "beta1": 0.5, "beta2": 0.999, "ema_kimg": 0.5},
            "metrics": {"fid_samples": 1000, "fid_real": 5000, "kid_subsets": 20, "kid_subset_size": 500,
                        "dout_samples": 256, "leak_samples": 500, "sample_grid": 8, "every_ticks": 1},
            "run": {"total_kimg": 12.0, "batch": 64, "tick_kimg": 4.0, "checkpoint_ticks": 1, "threads": 1},
        }
    if name == "tiny":
        return {
            "data": {"resolution": 16, "dataset_size": 2000, "val_size": 1000, "procedural_count": 70_000},
            # A classic balanced DCGAN pair (widths 64/128/256 at 16/8/4 px), no R1 and no minibatch std: this D
            # memorises a 2k subset within 300 kimg on CPU (r_v ~0.3), the narrower, R1-regularised pair we had
            # first never got past r_v 0.13 -- see docs/tiny-results.md.
            "model": {"arch": "dcgan", "z_dim": 64, "w_dim": 64, "channel_base": 1024, "channel_max": 256, "mbstd_group": 0},
            "loss": {"r1_gamma": 0.0, "g_lr": 0.0002, "d_lr": 0.0002, "beta1": 0.5, "beta2": 0.999, "ema_kimg": 1.0},
            "metrics": {"fid_samples": 2000, "fid_real": 10_000, "kid_subsets": 50, "kid_subset_size": 1000,
                        "dout_samples": 1000, "leak_samples": 1000, "every_ticks": 5},
            "run": {"total_kimg": 300.0, "batch": 64, "tick_kimg": 4.0, "checkpoint_ticks": 10, "threads": 1},
        }
    if name == "paper":
        # ADA's paper256 configuration (docs/paper-config.md lists every number and its source; tests/trainer/
        # test_paper_preset.py checks them): FFHQ 256 from a dataset_tool zip, Inception FID over 50k.  ADA's
        # target 0.6, interval 4 and speed 500 kimg are AugmentConfig's defaults.
        return {
            "data": {"source": "zip:datasets/ffhq256.zip", "resolution": 256, "dataset_size": None, "val_size": 10_000},
            "model": {"arch": "stylegan2", "z_dim": 512, "w_dim": 512, "mapping_layers": 8, "channel_base": 16384, "channel_max": 512,
                      "mbstd_group": 8, "amp_blocks": 4, "conv_clamp": 256.0},
            "loss": {"r1_gamma": 1.0, "r1_interval": 16, "g_lr": 0.0025, "d_lr": 0.0025, "beta1": 0.0, "beta2": 0.99, "ema_kimg": 20.0,
                     "pl_weight": 2.0, "pl_interval": 4, "pl_batch_shrink": 2, "pl_decay": 0.01, "style_mixing": 0.9},
            "metrics": {"detector": "inception", "fid_samples": 50_000, "fid_real": None, "kid_subsets": 100, "kid_subset_size": 1000,
                        "dout_samples": 10_000, "leak_samples": 10_000, "every_ticks": 50},
            "run": {"total_kimg": 25_000.0, "batch": 64, "tick_kimg": 4.0, "checkpoint_ticks": 50},
        }
    raise UserInputError(f"unknown preset {name!r}; allowed: {', '.join(PRESETS)}")


def preset(name: str) -> TrainConfig:
    """The named preset as a validated config."""
    d = _preset_dict(name)
    d["preset"] = name
    return TrainConfig.model_validate(d)


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err.get("loc", ()))
    msg = err.get("msg", "invalid value")
    ctx = err.get("ctx") or {}
    if err.get("type") == "literal_error" and "expected" in ctx:
        msg = f"must be one of {ctx['expected']}"
    if err.get("type") == "extra_forbidden":
        msg = "unknown key"
    elif "input" in err and not isinstance(err["input"], (dict, list)):
        msg = f"{msg} (got {err['input']!r})"
    msg = msg.replace("Value error, ", "")
    if loc.startswith("augment.") and loc.split(".")[1] in ("none", "fixed", "ada", "diffaugment"):
        loc = "augment." + ".".join(loc.split(".")[2:])   # drop the union's tag: augment.fixed.p -> augment.p
    return f"{loc}: {msg}" if loc and not msg.startswith(loc + ".") else msg


def _parse_value(text: str) -> Any:
    """Parse an override's value as JSON where possible (numbers, bools, null, lists), else a string."""
    low = text.strip()
    if low in ("null", "None"):
        return None
    if low.lower() in ("true", "false"):
        return low.lower() == "true"
    try:
        return json.loads(low)
    except (json.JSONDecodeError, ValueError):
        return text


def _section_fields(ann: Any) -> dict[str, FieldInfo] | None:
    """The fields of a config section: a model's, or every member's for a union of models (augment); None for a value."""
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return dict(ann.model_fields)
    members = get_args(ann)
    if members and all(isinstance(m, type) and issubclass(m, BaseModel) for m in members):
        return {name: info for m in members for name, info in m.model_fields.items()}
    return None


def set_path(d: dict[str, Any], dotted: str, value: Any) -> None:
    """Set `a.b.c` in a nested dict, refusing keys the config does not have."""
    parts = dotted.split(".")
    node: dict[str, Any] = d
    fields = dict(TrainConfig.model_fields)
    for i, part in enumerate(parts):
        if part not in fields:
            where = ".".join(parts[:i]) or "config"
            raise UserInputError(f"unknown key {dotted!r}: {where} has no field {part!r}; allowed: {', '.join(sorted(fields))}")
        if i == len(parts) - 1:
            if value == "none" and type(None) in get_args(fields[part].annotation):
                value = None  # `key=none` on an optional field means "unset", e.g. data.dataset_size=none
            node[part] = value
            return
        section = _section_fields(fields[part].annotation)
        if section is None:
            raise UserInputError(f"unknown key {dotted!r}: {'.'.join(parts[:i + 1])} is a value, not a section")
        node = node.setdefault(part, {})
        fields = section


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """`key=value` strings as typed on a command line -> {dotted key: parsed value} (later ones win)."""
    pairs: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise UserInputError(f"bad override {item!r}: expected key=value, e.g. augment.p=0.4")
        pairs[key.strip()] = _parse_value(raw)
    return pairs


def apply_overrides(cfg: TrainConfig, overrides: dict[str, Any] | list[str], strict: bool = True) -> TrainConfig:
    """Return `cfg` with dotted-path overrides applied and the result validated.

    `overrides` is a mapping of dotted keys to values, or a list of `key=value`
    strings as typed on a command line.  Errors name the field and, for choice
    fields, the allowed values.  strict=False skips `augment.*` fields that the
    final mode does not take instead of refusing them.
    """
    if isinstance(overrides, list):
        overrides = parse_overrides(overrides)
    d = cfg.model_dump()
    for key, value in overrides.items():
        set_path(d, key, value)
    # Fields of the mode the config had before are dropped when an override switches the mode; a field set
    # here that the final mode does not take is an error (strict) or skipped (a sweep's layers, --set on
    # every trial of a grid that mixes modes).
    explicit = {k.split(".", 1)[1] for k in overrides if k.startswith("augment.")}
    try:
        d["augment"] = drop_inapplicable(d["augment"], keep=explicit, strict=strict)
    except ValueError as exc:
        raise UserInputError(f"invalid config: {exc}") from None
    try:
        return TrainConfig.model_validate(d)
    except ValidationError as exc:
        raise UserInputError(f"invalid config: {_first_error(exc)}") from None


def validate_config(d: dict[str, Any]) -> TrainConfig:
    """Validate a nested dict (e.g. a Ray trial's config) into a TrainConfig, with a one-line error."""
    try:
        return TrainConfig.model_validate(d)
    except ValidationError as exc:
        raise UserInputError(f"invalid config: {_first_error(exc)}") from None


# What `sweeps.launch --dry-run` shows once for every trial: the settings that make a scale what it is
# (for `paper`, ADA's paper256 numbers; docs/paper-config.md).
SUMMARY_KEYS = (
    "data.resolution", "run.batch", "run.workers", "run.total_kimg", "model.arch", "model.mapping_layers", "model.channel_base",
    "model.channel_max", "model.mbstd_group", "model.amp_blocks", "loss.g_lr", "loss.d_lr", "loss.beta1", "loss.beta2",
    "loss.r1_gamma", "loss.r1_interval", "loss.pl_weight", "loss.pl_interval", "loss.style_mixing", "loss.ema_kimg",
)


def shared_settings(configs: list[TrainConfig], skip: set[str] | frozenset[str] = frozenset()) -> str:
    """`key=value` for each SUMMARY_KEYS field that all `configs` share (and is not in `skip`), space-separated."""
    def get(cfg: TrainConfig, dotted: str) -> Any:
        section, _, name = dotted.partition(".")
        return getattr(getattr(cfg, section), name)
    parts = []
    for key in SUMMARY_KEYS:
        values = {json.dumps(get(c, key)) for c in configs}
        if key not in skip and len(values) == 1:
            v = get(configs[0], key)
            parts.append(f"{key}={v:g}" if isinstance(v, float) else f"{key}={v}")
    return " ".join(parts)


def ticks_total(cfg: TrainConfig) -> int:
    """Number of ticks a run of this config reports."""
    return max(1, math.ceil(cfg.run.total_kimg / cfg.run.tick_kimg - 1e-9))


def flat_columns(cfg: TrainConfig) -> dict[str, Any]:
    """The values of the config columns every tick row and trial row carries (declared in resultsformat/columns.py)."""
    a, dcfg = cfg.augment, cfg.data
    return {
        "schema_version": SCHEMA_VERSION,
        "seed": cfg.run.seed,
        "aug_mode": a.mode,
        "augpipe": getattr(a, "augpipe", None),
        "p_fixed": a.p if a.mode == "fixed" else None,   # in ada mode p is only the initial p
        "ada_target": a.target if a.mode == "ada" else None,
        "heuristic": getattr(a, "heuristic", None),
        "diffaug_policy": getattr(a, "diffaug_policy", None),
        "apply_to": getattr(a, "apply_to", None),
        "dataset": dcfg.source,
        "dataset_size": dcfg.dataset_size,
        "mirror": dcfg.mirror,
        "resolution": dcfg.resolution,
        "init_from": cfg.run.init_from,
        "init_sha256": cfg.run.init_sha256,
    }
