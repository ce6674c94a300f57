"""Resumable checkpoints: a directory with `config.json` and `state.pt` (nanoGPT: checkpoints carry their config).

`state.pt` holds only tensors, numbers, strings, lists and dicts, and is read
with `torch.load(weights_only=True)`, so loading a checkpoint never executes
pickled code.  Both files are written atomically (temp file in the same
directory + os.replace), so a crash mid-write leaves the previous file intact.

Resuming with a different config is refused (a silently changed option would
make the resumed run a different experiment), except `run.total_kimg`, which
may be extended to train longer.

Format versions: 1 until the stylegan2 networks became the reference's (trainer/networks/stylegan2.py: other module
names and another function), 2 since.  DCGAN's networks did not change, so its version-1 checkpoints still load; a
version-1 stylegan2 checkpoint is refused in one line rather than failing inside load_state_dict.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import torch

from resultsformat.layout import CONFIG_FILE, STATE_FILE
from trainer.atomic import atomic_write_bytes
from trainer.config import TrainConfig, flatten_dotted
from trainer.errors import UserInputError

FORMAT_VERSION = 2
PRE_REFERENCE_VERSION = 1   # stylegan2 before the reference's networks; still valid for dcgan
# Fields that may differ between a checkpoint and the resuming run.
RESUMABLE_CHANGES = frozenset({"run.total_kimg"})


def serialize_state(state: dict[str, Any]) -> bytes:
    """torch.save into memory: the slow part of a checkpoint, done once at the tick."""
    buf = io.BytesIO()
    torch.save({"format": FORMAT_VERSION, **state}, buf)
    return buf.getvalue()


def write_checkpoint(directory: Path, cfg: TrainConfig, state_bytes: bytes) -> None:
    """Write config.json and state.pt into an existing directory."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(directory / STATE_FILE, state_bytes)
    atomic_write_bytes(directory / CONFIG_FILE, cfg.to_json().encode())


def read_checkpoint(directory: Path, map_location: str | torch.device = "cpu") -> tuple[TrainConfig, dict[str, Any]]:
    """(config, state) of a checkpoint directory; UserInputError when it is missing or unreadable."""
    directory = Path(directory)
    cfg_path, state_path = directory / CONFIG_FILE, directory / STATE_FILE
    if not cfg_path.is_file() or not state_path.is_file():
        raise UserInputError(f"not a checkpoint directory: {directory} (needs {CONFIG_FILE} and {STATE_FILE})")
    cfg = TrainConfig.from_json(cfg_path.read_text())
    try:
        state = torch.load(state_path, map_location=map_location, weights_only=True)
    except Exception as exc:  # corrupted or foreign file: the user chose the path
        raise UserInputError(f"cannot read checkpoint {state_path}: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None
    version = state.get("format") if isinstance(state, dict) else None
    if version == PRE_REFERENCE_VERSION and cfg.model.arch == "stylegan2":
        raise UserInputError(f"checkpoint {state_path} predates the reference stylegan2 networks (format "
                             f"{version}, other layers and names); it cannot be resumed, evaluated or sampled: "
                             f"retrain it (format {FORMAT_VERSION})")
    if version not in (PRE_REFERENCE_VERSION, FORMAT_VERSION):
        raise UserInputError(f"checkpoint {state_path} has an unsupported format (expected version {FORMAT_VERSION})")
    return cfg, state


def read_checkpoint_config(directory: Path) -> TrainConfig:
    """Only the config of a checkpoint directory (cheap: state.pt is not read)."""
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        raise UserInputError(f"not a checkpoint directory: {directory} (needs {CONFIG_FILE} and {STATE_FILE})")
    return TrainConfig.from_json(path.read_text())


def read_progress(directory: Path) -> dict[str, Any]:
    """The progress counters of a checkpoint (tick, cur_nimg, ...), memory-mapping state.pt instead of reading it."""
    try:
        state = torch.load(Path(directory) / STATE_FILE, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:
        raise UserInputError(f"cannot read checkpoint {directory}/{STATE_FILE}: {type(exc).__name__}") from None
    return dict(state["progress"])


def check_resume_config(saved: TrainConfig, requested: TrainConfig, kimg_done: float) -> None:
    """Refuse to resume with a config that differs from the checkpoint's, naming the first differing field."""
    a, b = flatten_dotted(json.loads(saved.to_json())), flatten_dotted(json.loads(requested.to_json()))
    for key in list(a) + [k for k in b if k not in a]:
        if key in RESUMABLE_CHANGES or key == "preset":
            continue
        if a.get(key) != b.get(key):
            raise UserInputError(f"cannot resume: config field {key} differs from the checkpoint's "
                                 f"({a.get(key)!r} in the checkpoint, {b.get(key)!r} requested); only run.total_kimg may change")
    if requested.run.total_kimg * 1000 < kimg_done * 1000 - 1e-6:
        raise UserInputError(f"cannot resume: run.total_kimg={requested.run.total_kimg} is below the checkpoint's progress ({kimg_done:g} kimg)")
