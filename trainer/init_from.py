"""`run.init_from`: start a run from another run's trained networks (ADA §4.2 transfer learning).

Not `--resume`.  A resume continues one run exactly (its optimisers, p, data
order, kimg); a transfer starts a *new* run whose G, D and G_ema begin as the
source's, from kimg 0, with fresh Adam state and the run's own augmentation
settings (p starts at `augment.p`), as the reference's `--resume=PKL` does for
transfer.  Everything else -- data, augmentation, Freeze-D, budget, seed -- is
the run's config.

Sources: one of our checkpoint directories (config.json + state.pt), a
`python -m trainer` run directory (its latest checkpoint) or a Ray trial
directory of a sweep (its newest checkpoint_*), or an NVlabs network pickle
(`*.pkl`: a stylegan2-ada-pytorch snapshot or released network), read by
`trainer.nvlabs_config` without running any code it carries.  The pickle must
hold D as well as G and G_ema: the reference's transfer starts D from the
source too, so a G-only pickle is refused.  `source_file` is the single place
that maps a path to what is read and hashed.

Provenance: `run.init_sha256` is the SHA-256 of the source's weights file
(state.pt, or the .pkl file itself).  The entry points fill it in before
anything runs (`with_source_hash`), so config.json, every trial's config_json and the `init_sha256` column of the
results say which bytes a run started from; a hash given by the user pins the
source, and a file that changed since is refused.

Architecture: the source's model fields (all but `freeze_d` and `amp_blocks`,
which change no parameter) and `data.resolution` must equal the run's; a
mismatch is one line naming every field that differs.  A pickle's are those
`nvlabs_config` derives from its networks' constructor kwargs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from resultsformat.layout import CONFIG_FILE, STATE_FILE, find_checkpoint_dir
from trainer.config import TrainConfig, apply_overrides
from trainer.errors import UserInputError

# Model fields that do not change a parameter's shape or meaning: a source may differ in these.
_FREE_MODEL_FIELDS = frozenset({"freeze_d", "amp_blocks"})


def source_dir(path: Path) -> Path:
    """The checkpoint directory PATH names: itself, a run dir's checkpoints/latest, or a Ray trial's newest checkpoint_*."""
    found = find_checkpoint_dir(path)
    if found is not None:
        return found
    raise UserInputError(f"run.init_from={path}: no checkpoint here (expected {CONFIG_FILE} + {STATE_FILE}, checkpoints/latest/ "
                         f"or checkpoint_*/ of a sweep trial)")


def source_file(init_from: str) -> Path:
    """The file whose bytes are the source's weights (what is hashed and loaded); UserInputError when there is none."""
    path = Path(init_from)
    if not path.exists():
        raise UserInputError(f"run.init_from={init_from}: no such file or directory")
    if _is_pickle(path):
        return path
    if not path.is_dir():
        raise UserInputError(f"run.init_from={init_from}: not a checkpoint directory, run folder, sweep trial folder "
                             f"or NVlabs network pickle (.pkl)")
    return source_dir(path) / STATE_FILE


def _is_pickle(path: Path) -> bool:
    return path.suffix == ".pkl" and path.is_file()


def _pickle_config(path: Path, init_from: str) -> TrainConfig:
    """The model/resolution config of NVlabs pickle PATH; refuses a pickle without G or D (transfer starts all three)."""
    from trainer.nvlabs_config import config_from_pickle   # torch: only where a pickle is read
    from trainer.nvlabs_pickle import read_network_pickle
    pkl = read_network_pickle(path)
    missing = [name for name in ("G", "D") if getattr(pkl, name) is None]
    if missing:
        raise UserInputError(f"run.init_from={init_from}: the pickle has no {' or '.join(missing)} (a released G-only "
                             f"network?); transfer learning starts G, D and G_ema from the source, so it needs all three")
    return config_from_pickle(pkl)[0]


def _source_config(state: Path, init_from: str) -> TrainConfig:
    if _is_pickle(state):
        return _pickle_config(state, init_from)
    return TrainConfig.from_json((state.parent / CONFIG_FILE).read_text())


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError as exc:
        raise UserInputError(f"run.init_from: cannot read {path}: {exc.strerror or exc}") from None
    return h.hexdigest()


def _arch(cfg: TrainConfig) -> dict[str, Any]:
    model = {f"model.{k}": v for k, v in cfg.model.model_dump().items() if k not in _FREE_MODEL_FIELDS}
    return {**model, "data.resolution": cfg.data.resolution}


def check_architecture(source: TrainConfig, run: TrainConfig, init_from: str) -> None:
    """UserInputError naming every architecture field in which the source's config differs from the run's."""
    a, b = _arch(source), _arch(run)
    diff = [f"{k} ({a.get(k)!r} in the source, {b.get(k)!r} here)" for k in a if a.get(k) != b.get(k)]
    if diff:
        raise UserInputError(f"run.init_from={init_from}: the source's architecture differs from this run's: "
                             + ", ".join(diff))


def with_source_hash(cfg: TrainConfig) -> TrainConfig:
    """CFG with run.init_sha256 set from the source (checked: it exists, matches a pinned hash, and its architecture
    matches); CFG itself when it has no run.init_from.  Reads the source's config.json and hashes its state.pt
    (or reads a pickle's networks' kwargs and hashes the .pkl)."""
    init = cfg.run.init_from
    if init is None:
        return cfg
    state = source_file(init)
    check_architecture(_source_config(state, init), cfg, init)
    digest = file_sha256(state)
    if cfg.run.init_sha256 is not None and cfg.run.init_sha256 != digest:
        raise UserInputError(f"run.init_from={init}: its weights ({state}) have SHA-256 {digest[:16]}…, not the "
                             f"run.init_sha256 {cfg.run.init_sha256[:16]}… this run was set up with: the source changed")
    return cfg if cfg.run.init_sha256 == digest else apply_overrides(cfg, {"run.init_sha256": digest})


def _source_weights(cfg: TrainConfig) -> dict[str, dict[str, Any]]:
    """{"G", "D", "G_ema"} state dicts of the source, after checking its hash and architecture against CFG."""
    from trainer.checkpoint import read_checkpoint   # torch: only where weights are loaded
    with_source_hash(cfg)   # refuses a source that changed since the run was set up, or whose architecture differs
    path = source_file(str(cfg.run.init_from))
    if _is_pickle(path):
        from trainer.nvlabs_config import load_pickle_networks
        _, nets = load_pickle_networks(path, ("G", "D", "G_ema"))
        return {name: net.state_dict() for name, net in nets.items()}
    _, state = read_checkpoint(path.parent)
    return state["nets"]


def load_source_networks(nets: dict[str, Any], cfg: TrainConfig) -> None:
    """Copy the source's G, D and G_ema weights into NETS (the run's freshly built modules); nothing else is taken."""
    if cfg.run.init_from is None:
        return
    weights = _source_weights(cfg)
    for name, module in nets.items():
        try:
            module.load_state_dict(weights[name])
        except (KeyError, RuntimeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UserInputError(f"run.init_from={cfg.run.init_from}: {name}'s parameters do not fit this run's "
                                 f"(image channels or layers differ): {first}") from None

