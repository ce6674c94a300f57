"""Test helper: write pickles in stylegan2-ada-pytorch's persistent format without its code.

A persistent network pickles as a call of
`torch_utils.persistence._reconstruct_persistent_obj(meta)` with `meta` =
{type, version, module_src, class_name, state}, `state` being the module's
attribute dict (`_parameters`, `_buffers`, `_modules`, `_init_kwargs`, ...).
`fake_reference_modules` registers throwaway `torch_utils.persistence` and
`dnnlib.util` modules for the duration of a test, so that `pickle` can name that
function and EasyDict; `Persistent` objects reduce to it with such a meta dict.
"""

from __future__ import annotations

import collections
import pickle
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from golden_weights import index, weights

BUFFERS = ("w_avg", "noise_const", "resample_filter")   # the reference's buffers; everything else is a parameter


def _reconstruct_persistent_obj(meta: dict[str, Any]) -> Any:   # never called by the code under test
    raise AssertionError("the reference's persistence hook must not run")


class EasyDict(dict):
    """Pickles under dnnlib.util.EasyDict, as the reference's nested kwargs do."""


class Persistent:
    """Reduces to the persistence hook with a meta dict, as a persistent_class instance does."""

    def __init__(self, class_name: str, state: dict[str, Any], module_src: str = "# reference source\n") -> None:
        self.meta = dict(type="class", version=6, module_src=module_src, class_name=class_name, state=state)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_reconstruct_persistent_obj, (self.meta,))


class Hostile:
    """Reduces to an arbitrary global call (what a malicious pickle carries)."""

    def __init__(self, func: Any, *args: Any) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.func, self.args)


@contextmanager
def fake_reference_modules() -> Iterator[None]:
    """torch_utils.persistence and dnnlib.util in sys.modules while pickles are written."""
    names = ("torch_utils", "torch_utils.persistence", "dnnlib", "dnnlib.util")
    saved = {n: sys.modules.get(n) for n in names}
    mods = {n: types.ModuleType(n) for n in names}
    mods["torch_utils"].persistence = mods["torch_utils.persistence"]   # type: ignore[attr-defined]
    mods["dnnlib"].util = mods["dnnlib.util"]                            # type: ignore[attr-defined]
    mods["torch_utils.persistence"]._reconstruct_persistent_obj = _reconstruct_persistent_obj  # type: ignore[attr-defined]
    mods["dnnlib.util"].EasyDict = EasyDict                              # type: ignore[attr-defined]
    old = (_reconstruct_persistent_obj.__module__, EasyDict.__module__)
    _reconstruct_persistent_obj.__module__, EasyDict.__module__ = "torch_utils.persistence", "dnnlib.util"
    sys.modules.update(mods)
    try:
        yield
    finally:
        _reconstruct_persistent_obj.__module__, EasyDict.__module__ = old
        for n, m in saved.items():
            if m is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m


def class_of(path: str, top: str) -> str:
    """The reference's class for a submodule path such as synthesis.b8.conv0 (G) or b4.fc (D)."""
    last = path.split(".")[-1]
    if top == "Generator":
        table = {"mapping": "MappingNetwork", "synthesis": "SynthesisNetwork", "torgb": "ToRGBLayer",
                 "conv0": "SynthesisLayer", "conv1": "SynthesisLayer"}
        if last.startswith("fc") or last == "affine":
            return "FullyConnectedLayer"
        return "SynthesisBlock" if last.startswith("b") and last[1:].isdigit() else table[last]
    if last == "b4":
        return "DiscriminatorEpilogue"
    if last.startswith("b") and last[1:].isdigit():
        return "DiscriminatorBlock"
    return "FullyConnectedLayer" if last in ("fc", "out") else "Conv2dLayer"


def network(top: str, tensors: dict[str, np.ndarray], init_kwargs: dict[str, Any], module_src: str = "# src\n") -> Persistent:
    """A persistent TOP (Generator or Discriminator) holding TENSORS under their state_dict names."""
    tree: dict[str, Any] = {}
    for name, value in tensors.items():
        *mods, leaf = name.split(".")
        node = tree
        for m in mods:
            node = node.setdefault(m, {})
        node[leaf] = torch.from_numpy(np.array(value))
    return _module(top, "", tree, top, init_kwargs, module_src)


def _module(cls: str, path: str, tree: dict[str, Any], top: str, init_kwargs: dict[str, Any], src: str) -> Persistent:
    params, buffers, mods = collections.OrderedDict(), collections.OrderedDict(), collections.OrderedDict()
    for key, v in tree.items():
        if isinstance(v, dict):
            sub = f"{path}.{key}" if path else key
            mods[key] = _module(class_of(sub, top), sub, v, top, {}, src)
        elif key in BUFFERS:
            buffers[key] = v
        else:
            params[key] = torch.nn.Parameter(v, requires_grad=False)
    state = {"training": False, "_parameters": params, "_buffers": buffers, "_non_persistent_buffers_set": set(),
             "_modules": mods, "_forward_hooks": collections.OrderedDict(), "_init_args": (), "_init_kwargs": init_kwargs,
             "weight_gain": np.float64(0.125), "activation": "lrelu"}   # the reference keeps numpy scalars as attributes
    return Persistent(cls, state, src)


def reference_kwargs(index_entry: dict[str, Any], resolution: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """G and D init_kwargs as the reference's train.py passes them (nested kwargs as EasyDicts)."""
    g, d = index_entry["G_kwargs"], index_entry["D_kwargs"]
    G_kw = dict(z_dim=g["z_dim"], c_dim=0, w_dim=g["w_dim"], img_resolution=resolution, img_channels=3,
                mapping_kwargs=EasyDict(g["mapping_kwargs"]), synthesis_kwargs=EasyDict(g["synthesis_kwargs"]))
    D_kw = dict(c_dim=0, img_resolution=resolution, img_channels=3,
                **{k: (EasyDict(v) if isinstance(v, dict) else v) for k, v in d.items()})
    return G_kw, D_kw


def write_snapshot(path: Path, G: Any, D: Any, extra: dict[str, Any] | None = None, protocol: int = 3) -> Path:
    """A network-snapshot-*.pkl: dict(G, D, G_ema, augment_pipe, training_set_kwargs) (G_ema = G here)."""
    data = dict(G=G, D=D, G_ema=G, augment_pipe=None, training_set_kwargs=dict(resolution=32, xflip=False))
    data.update(extra or {})
    with fake_reference_modules():
        path.write_bytes(pickle.dumps(data, protocol=protocol))
    return path


def small32() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, Any], dict[str, Any]]:
    """(G tensors, D tensors, G init_kwargs, D init_kwargs) of the small32 golden fixture (golden_weights.py)."""
    G, D = weights("small32")
    return (G, D, *reference_kwargs(index()["small32"], resolution=32))
