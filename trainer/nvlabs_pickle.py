"""Read NVlabs network pickles (stylegan2-ada-pytorch) without running any code stored in them.

A `network-snapshot-*.pkl` of stylegan2-ada-pytorch is a plain pickle of a dict
(`G`, `D`, `G_ema`, `augment_pipe`, `training_set_kwargs`; released networks
hold `G`, `D`, `G_ema`).  Its networks are "persistent" objects: each pickles
as a call of `torch_utils.persistence._reconstruct_persistent_obj(meta)`, where
`meta` holds `type`, `version`, `module_src` (the Python source of the module
that defined the class), `class_name` and `state` (the module's attribute
dict: `_parameters`, `_buffers`, `_modules`, `_init_kwargs`, ...).  NVlabs'
own loader executes `module_src`, so opening a pickle from the internet runs
whatever code it carries.

This reader never does.  Its `find_class` resolves only a fixed list of names:
the persistence hook (turned into an inert `PersistentRecord`), torch's tensor
and storage rebuild functions (storages go through
`torch.load(weights_only=True)`), `collections.OrderedDict`, sets, torch dtypes
and devices, numeric numpy scalars and dtypes, `dnnlib.util.EasyDict` (read as a dict) and torch.nn containers
(inert stand-ins).  Any other name is refused with one line naming it, before
anything is called.  `module_src` is dropped unread.
"""

from __future__ import annotations

import collections
import io
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trainer.errors import UserInputError

PERSISTENCE_HOOK = ("torch_utils.persistence", "_reconstruct_persistent_obj")
NN_CONTAINERS = ("Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict")
SNAPSHOT_KEYS = ("G", "D", "G_ema", "augment_pipe", "training_set_kwargs")


@dataclass(frozen=True)
class PersistentRecord:
    """What a persistent object of the pickle held, as data: its class name, constructor kwargs and attribute dict."""

    class_name: str
    version: int
    init_args: tuple[Any, ...]
    init_kwargs: dict[str, Any]
    state: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class NetworkPickle:
    """The networks of one NVlabs pickle (None where the pickle has none) and its dataset kwargs."""

    path: Path
    G: PersistentRecord | None
    D: PersistentRecord | None
    G_ema: PersistentRecord
    training_set_kwargs: dict[str, Any] | None


class InertModule:
    """Stand-in for a torch.nn container pickled inside a network: keeps its attribute dict, runs nothing."""

    def __setstate__(self, state: Any) -> None:
        self.__dict__["pickled_state"] = state if isinstance(state, dict) else {}


class InertDict(dict):
    """Stand-in for `dnnlib.util.EasyDict` (a dict with attribute access): the items, nothing else."""

    def __setstate__(self, state: Any) -> None:   # an EasyDict has no attributes of its own worth keeping
        pass


_CONTAINER_STANDINS = {name: type(f"Inert{name}", (InertModule,), {}) for name in NN_CONTAINERS}


def _storage_from_bytes(data: Any) -> Any:
    """torch pickles each storage as `torch.save` bytes; read them with torch's own weights-only loader."""
    if not isinstance(data, (bytes, bytearray)):
        raise pickle.UnpicklingError("storage payload is not bytes")
    return torch.load(io.BytesIO(bytes(data)), map_location="cpu", weights_only=True)


def _check_storage(storage: Any) -> None:
    if not isinstance(storage, (torch.TypedStorage, torch.UntypedStorage)):
        raise pickle.UnpicklingError(f"tensor storage is a {type(storage).__name__}, not a torch storage")


def _rebuild_tensor(storage: Any, storage_offset: Any, size: Any, stride: Any, *_ignored: Any) -> torch.Tensor:
    """torch._utils._rebuild_tensor_v2's arguments; requires_grad, backward hooks and metadata are dropped."""
    _check_storage(storage)
    if not (isinstance(storage_offset, int) and all(isinstance(s, int) for s in (*size, *stride))):
        raise pickle.UnpicklingError("tensor offset, size and stride must be integers")
    return torch._utils._rebuild_tensor(storage, storage_offset, tuple(size), tuple(stride))


def _rebuild_parameter(data: Any, *_ignored: Any) -> torch.Tensor:
    """A parameter is kept as its plain tensor (requires_grad, hooks and extra state dropped)."""
    if not isinstance(data, torch.Tensor):
        raise pickle.UnpicklingError("parameter data is not a tensor")
    return data


def _latin1_bytes(text: Any, encoding: Any = "latin1") -> bytes:
    """Protocol-2 pickles write bytes as `_codecs.encode(str, 'latin1')`; only that use is allowed."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("_codecs.encode is allowed only as protocol 2's latin1 bytes")
    return text.encode("latin1")


def _numpy_dtype(spec: Any, *_flags: Any) -> np.dtype:
    """numpy pickles a dtype as `numpy.dtype(spec, align, copy)`; object dtypes (which unpickle Python objects) are refused."""
    if not isinstance(spec, str) or np.dtype(spec).hasobject:
        raise pickle.UnpicklingError(f"numpy dtype {spec!r} is not a plain numeric dtype")
    return np.dtype(spec)


def _numpy_scalar(dtype: Any, data: Any = None) -> Any:
    """A numpy scalar (the reference keeps e.g. weight gains as numpy floats): numeric dtypes from raw bytes only."""
    if not isinstance(dtype, np.dtype) or dtype.hasobject or not isinstance(data, (bytes, bytearray)):
        raise pickle.UnpicklingError("numpy scalar that is not a numeric value from bytes")
    return np.frombuffer(bytes(data), dtype=dtype, count=1)[0]


def _persistent_record(meta: Any) -> PersistentRecord:
    """The persistence hook's replacement: the meta dict's facts, never its `module_src`."""
    if not isinstance(meta, dict) or meta.get("type") != "class" or not isinstance(meta.get("class_name"), str):
        raise pickle.UnpicklingError("persistent object whose meta is not {type: 'class', class_name: str, ...}")
    state = meta.get("state")
    state = dict(state) if isinstance(state, dict) else {}
    kwargs = state.get("_init_kwargs")
    args = state.get("_init_args")
    return PersistentRecord(class_name=meta["class_name"], version=int(meta.get("version") or 0),
                            init_args=tuple(args) if isinstance(args, (tuple, list)) else (),
                            init_kwargs=dict(kwargs) if isinstance(kwargs, dict) else {}, state=state)


_FUNCTIONS = {
    PERSISTENCE_HOOK: _persistent_record,
    ("torch.storage", "_load_from_bytes"): _storage_from_bytes,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("__builtin__", "set"): set,              # protocol-2 pickles name builtins by their Python 2 module
    ("__builtin__", "frozenset"): frozenset,
    ("torch", "device"): torch.device,
    ("_codecs", "encode"): _latin1_bytes,
    ("numpy", "dtype"): _numpy_dtype,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,       # numpy 1.x
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,      # numpy 2.x
    ("dnnlib.util", "EasyDict"): InertDict,
    ("dnnlib", "EasyDict"): InertDict,
}


class RestrictedUnpickler(pickle.Unpickler):
    """pickle.Unpickler that resolves only the names above; everything else is refused by name."""

    def __init__(self, file: Any, where: str) -> None:
        super().__init__(file)
        self.where = where

    def find_class(self, module: str, name: str) -> Any:
        key = (module, name)
        if key in _FUNCTIONS:
            return _FUNCTIONS[key]
        if module == "torch" and isinstance(getattr(torch, name, None), torch.dtype):
            return getattr(torch, name)
        if module.startswith("torch.nn.modules.") and name in _CONTAINER_STANDINS:
            return _CONTAINER_STANDINS[name]
        if module.startswith("dnnlib.tflib"):
            raise UserInputError(f"{self.where}: a TensorFlow-era pickle ({module}.{name}); only stylegan2-ada-pytorch "
                                 f"pickles are supported (convert it with that repository's legacy.py first)")
        raise UserInputError(f"{self.where}: refusing to load {module}.{name} from the pickle (only torch tensors, "
                             f"containers and stylegan2-ada-pytorch persistent networks are read; nothing in it is executed)")


def load_restricted(path: Path) -> Any:
    """The object in pickle file PATH, read with `RestrictedUnpickler`; UserInputError when it cannot be."""
    path = Path(path)
    if not path.is_file():
        raise UserInputError(f"{path}: no such file")
    try:
        with path.open("rb") as f:
            return RestrictedUnpickler(f, str(path)).load()
    except UserInputError:
        raise
    except Exception as exc:  # truncated, not a pickle, or a malformed object: the user chose the file
        msg = str(exc).splitlines()[0] if str(exc) else ""
        raise UserInputError(f"{path}: not a readable network pickle ({type(exc).__name__}: {msg})") from None


def read_network_pickle(path: Path) -> NetworkPickle:
    """The networks of an NVlabs snapshot or released-network pickle, as inert records."""
    path = Path(path)
    data = load_restricted(path)
    if not isinstance(data, dict) or "G_ema" not in data:
        raise UserInputError(f"{path}: not an NVlabs network pickle (expected a dict with {', '.join(SNAPSHOT_KEYS)}; "
                             f"found {type(data).__name__})")
    nets: dict[str, PersistentRecord | None] = {}
    for name in ("G", "D", "G_ema"):
        obj = data.get(name)
        if obj is not None and not isinstance(obj, PersistentRecord):
            raise UserInputError(f"{path}: {name} is a {type(obj).__name__}, not a stylegan2-ada-pytorch network")
        nets[name] = obj
    G_ema = nets["G_ema"]
    if G_ema is None:
        raise UserInputError(f"{path}: G_ema is empty (None); generating needs the pickle's G_ema network")
    ts = data.get("training_set_kwargs")
    return NetworkPickle(path=path, G=nets["G"], D=nets["D"], G_ema=G_ema,
                         training_set_kwargs=dict(ts) if isinstance(ts, dict) else None)


def _module_state(obj: Any) -> dict[str, Any] | None:
    if isinstance(obj, PersistentRecord):
        return obj.state
    if isinstance(obj, InertModule):
        return obj.__dict__.get("pickled_state", {})
    return None


def class_names(record: PersistentRecord) -> set[str]:
    """Class names of RECORD and every submodule under it."""
    out = {record.class_name}
    for sub in (record.state.get("_modules") or {}).values():
        if isinstance(sub, PersistentRecord):
            out |= class_names(sub)
        elif isinstance(sub, InertModule):
            out.add(type(sub).__name__)
    return out


def reference_state(record: PersistentRecord) -> dict[str, torch.Tensor]:
    """RECORD's parameters and persistent buffers under the names its state_dict() would give (`mapping.w_avg`, ...)."""
    out: dict[str, torch.Tensor] = {}
    _collect(record, "", out)
    return out


def _collect(obj: Any, prefix: str, out: dict[str, torch.Tensor]) -> None:
    state = _module_state(obj)
    if state is None:
        raise UserInputError(f"submodule {prefix.rstrip('.') or '<root>'} is a {type(obj).__name__}, not a network module")
    skip = state.get("_non_persistent_buffers_set") or set()
    tensors = list((state.get("_parameters") or {}).items())
    tensors += [(k, v) for k, v in (state.get("_buffers") or {}).items() if k not in skip]
    for name, t in tensors:
        if t is None:
            continue
        if not isinstance(t, torch.Tensor):
            raise UserInputError(f"{prefix}{name} is a {type(t).__name__}, not a tensor")
        out[prefix + name] = t.detach()
    for name, sub in (state.get("_modules") or {}).items():
        if sub is not None:
            _collect(sub, f"{prefix}{name}.", out)
