"""The golden fixtures' weights and inputs, made from a recipe instead of stored (tests/data/nvlabs/README.md).

Every parameter and buffer of the reference networks (names and shapes in
index.json's `G_state` / `D_state`, as the reference's `state_dict()` lists
them) is drawn from `numpy.random.RandomState(zlib.crc32(b"G.<name>"))` (or
`D.<name>`), at the scale the reference's own initialisation gives, with
biases and noise strengths moved off their initial constants so that a
miswired bias or noise input shows.  The fixture generator fed these very
arrays to the reference; the npz files hold its outputs and the one buffer
that comes from them (`G.mapping.w_avg`, the mean of `ws[:, 0]`).

The values are float32 and bit-reproducible: legacy RandomState streams are
fixed by numpy, and the only arithmetic is a float64 scale and shift before
the cast.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import numpy as np

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "nvlabs"
FILES = {"small32": "small32.npz", "paper256_narrow": "paper256_narrow_subset.npz"}
MAPPING_LR = 0.01   # the reference's mapping lr_multiplier: it stores mapping weights as randn / 0.01
PERTURB = 0.1       # std of the draw added to every bias and noise strength
STRIDE = 4          # paper256 keeps every 4th row and column of each image (plus every row's and column's mean)


def index() -> dict[str, Any]:
    return json.loads((FIXTURES / "index.json").read_text())


def fir_filter() -> np.ndarray:
    """The reference's resample_filter buffer: outer([1, 3, 3, 1]) normalised to sum 1 (exact in float32)."""
    f = np.array([1, 3, 3, 1], dtype=np.float64)
    return (np.outer(f, f) / np.outer(f, f).sum()).astype(np.float32)


def tensor(top: str, name: str, shape: list[int]) -> np.ndarray:
    """One reference tensor `name` of network `top` ('G' or 'D')."""
    leaf = name.rsplit(".", 1)[-1]
    parent = name.split(".")[-2] if "." in name else ""
    if leaf == "resample_filter":
        return fir_filter().reshape(shape)
    if leaf == "w_avg":      # the reference's initial zeros; each fixture stores the value its outputs used
        return np.zeros(shape, np.float32)
    draw = np.random.RandomState(zlib.crc32(f"{top}.{name}".encode())).standard_normal(shape)
    if leaf == "weight":     # N(0, 1) as stored: the reference applies its equalised-lr gains when it runs
        scale = 1 / MAPPING_LR if name.startswith("mapping.fc") else 1.0
        return np.asarray(draw * scale, dtype=np.float32)
    if leaf == "bias":       # the reference's bias_init (1 for the style affines, 0 elsewhere) plus a perturbation
        return np.asarray((1.0 if parent == "affine" else 0.0) + PERTURB * draw, dtype=np.float32)
    if leaf == "noise_strength":
        return np.asarray(PERTURB * draw, dtype=np.float32)
    if leaf in ("const", "noise_const"):
        return np.asarray(draw, dtype=np.float32)
    raise KeyError(f"no recipe for {top}.{name}")


def recipe(top: str, spec: dict[str, list[int]]) -> dict[str, np.ndarray]:
    """Every tensor in SPEC ({state-dict name: shape}) of network TOP."""
    return {name: tensor(top, name, shape) for name, shape in spec.items()}


def weights(fixture: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(G, D) state dicts of FIXTURE under the reference's names: the recipe, then what the npz stores (w_avg)."""
    entry = index()[fixture]
    npz = np.load(FIXTURES / FILES[fixture])
    nets = []
    for top in ("G", "D"):
        state = recipe(top, entry[f"{top}_state"])
        stored = {k[2:]: npz[k] for k in npz.files if k.startswith(f"{top}.")}
        assert set(stored) <= set(state), sorted(set(stored) - set(state))
        nets.append({**state, **stored})
    return nets[0], nets[1]


def inputs(fixture: str) -> tuple[np.ndarray, np.ndarray]:
    """z and reals: RandomState(42).randn(N, z_dim), then from the same state uniform(-1, 1) images, as float32."""
    c = index()[fixture]["config"]
    rs = np.random.RandomState(42)
    z = rs.randn(c["batch"], c["zdim"]).astype(np.float32)
    reals = rs.uniform(-1, 1, size=(c["batch"], 3, c["res"], c["res"])).astype(np.float32)
    return z, reals


def image_views(img: Any) -> dict[str, Any]:
    """What paper256 keeps of an NCHW image batch (torch): every STRIDE-th pixel, and the mean of every row and
    column (computed in float64), so every pixel of every image counts."""
    return {"stride4": img[:, :, ::STRIDE, ::STRIDE],
            "rowmean": img.double().mean(dim=3).float(),
            "colmean": img.double().mean(dim=2).float()}
