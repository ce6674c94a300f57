"""Objects of the procedural dataset: signed-distance shapes standing on the ground.

Part of the embedded default dataset (docs/architecture.md "Datasets"; see procedural.py).
Each shape is a signed distance field (negative inside, in units of the image
side) evaluated for a whole sub-batch of images at once; its anti-aliased
coverage is clip(0.5 - d * R, 0, 1).  Objects are lit from above (brighter at
the top, brighter on the sun's side) and cast a flat shadow on the ground away
from the sun, so "up" is visible in the objects themselves, not only in the sky.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

SHAPE_NAMES = ("box", "pyramid", "boulder", "tree", "dome")

def _cover(sd: np.ndarray, res: int) -> np.ndarray:
    return np.clip(0.5 - sd * res, 0.0, 1.0)


def _ellipse(du: np.ndarray, dv: np.ndarray, rx: np.ndarray, ry: np.ndarray) -> np.ndarray:
    """Approximate signed distance to an axis-aligned ellipse, accurate near its edge.

    With q^2 = (du/rx)^2 + (dv/ry)^2, the distance is about (q - 1) r, and near the
    edge (q ~ 1) q - 1 ~ (q^2 - 1) / 2.  Only the edge matters for anti-aliased
    coverage, and skipping the square root over every pixel saves a fifth of the
    rendering time.  du is [b,1,R] and dv [b,R,1], so only the sum is full-size.
    """
    r = 0.5 * np.minimum(rx, ry)
    return ((du / rx) ** 2 * r + ((dv / ry) ** 2 - 1.0) * r)


cover, ellipse_sd = _cover, _ellipse   # for other domains' shapes (procedural_b)


def _shape_sd(shape: int, du: np.ndarray, v: np.ndarray, by: np.ndarray, hw: np.ndarray, h: np.ndarray,
              res: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Signed distance of one shape class, and the trunk coverage for trees (else None).

    du = u - centre x; by = base (ground contact) y; hw = half width; h = height.
    """
    if shape == 0:      # box: a block / house
        return np.maximum(np.abs(du) - hw, np.abs(v - (by - 0.5 * h)) - 0.5 * h), None
    if shape == 1:      # pyramid: apex up, base on the ground
        top = by - h
        slope = h / np.sqrt(h * h + hw * hw)
        return np.maximum(v - by, (np.abs(du) - hw * (v - top) / h) * slope), None
    if shape == 2:      # boulder: an ellipse half sunk into the ground
        ry = np.minimum(0.5 * h, 0.9 * hw)
        return _ellipse(du, v - (by - 0.8 * ry), hw, ry), None
    if shape == 3:      # tree: a trunk under a round crown
        tw = np.maximum(0.2 * hw, 0.7 / res)
        trunk = np.maximum(np.abs(du) - tw, np.abs(v - (by - 0.25 * h)) - 0.25 * h)
        ry = 0.4 * h
        crown = _ellipse(du, v - (by - h + ry), hw, ry)
        return np.minimum(trunk, crown), _cover(trunk, res) * (1.0 - _cover(crown, res))
    # dome: the top half of an ellipse
    return np.maximum(_ellipse(du, v - by, hw, 0.8 * h), v - by), None


ShapeSD = Callable[..., tuple[np.ndarray, "np.ndarray | None"]]


def object_fields(p: dict[str, np.ndarray], u: np.ndarray, v: np.ndarray, res: int,
                  ground_line: Callable[[dict[str, np.ndarray], np.ndarray], np.ndarray],
                  shape_sd: ShapeSD | None = None, n_shapes: int = len(SHAPE_NAMES),
                  ) -> tuple[list[tuple[np.ndarray, np.ndarray, np.ndarray]], np.ndarray]:
    """Per object slot (back to front): (coverage, light, trunk share) as [B,R,R] fields; and the shadow field.

    shape_sd, n_shapes: another domain's shapes (procedural_b); default these, domain a's.

    Colours are applied later as per-image constants times these scalar fields,
    which keeps the per-pixel work single-channel (see procedural._render_chunk).
    """
    shape_sd = shape_sd or _shape_sd
    b = p["shape"].shape[0]
    g0 = p["ground"][:, None, None]
    side = np.where(p["sun"] == 1, 1.0, -1.0).astype(np.float32)[:, None, None]
    slots = []
    shadow = np.zeros((b, res, res), dtype=np.float32)
    for j in range(3):
        active = (p["count"] > j)[:, None, None]
        depth = p["obj_depth"][:, j, None, None]
        grow = 0.85 + 0.3 * depth                                   # nearer objects look bigger
        cx = p["obj_x"][:, j, None, None]
        hw = 0.5 * p["obj_w"][:, j, None, None] * grow
        h = p["obj_h"][:, j, None, None] * grow
        by = ground_line(p, cx) + depth * 0.4 * (1.0 - g0)
        du = u - cx
        sd = np.empty((b, res, res), dtype=np.float32)
        trunk = np.zeros((b, res, res), dtype=np.float32)
        for s in range(n_shapes):
            ids = np.nonzero(p["shape"] == s)[0]
            if ids.size == 0:
                continue
            sd_s, trunk_s = shape_sd(s, du[ids], v, by[ids], hw[ids], h[ids], res)
            sd[ids] = sd_s
            if trunk_s is not None:
                trunk[ids] = trunk_s
        alpha = _cover(sd, res) * active
        rel = np.clip((v - (by - h)) / h, 0.0, 1.0)                 # 0 at the top of the object, 1 at its base
        tex = np.sin(6.2832 * p["obj_tex_freq"][:, j, None, None] * rel + p["obj_tex_phase"][:, j, None, None])
        light = (p["obj_shade"][:, j, None, None] * (1.18 - 0.45 * rel + 0.06 * tex)
                 + (0.15 * side) * np.clip(du / hw, -1.0, 1.0))
        # Flat shadow on the ground, away from the sun: separable (a horizontal profile
        # times a vertical band), so it costs one full-size product per object.
        ry = np.maximum(1.2 / res, 0.04 * hw + 0.012)
        sx = np.clip(1.5 - np.abs(du + side * 0.45 * hw) / (1.2 * hw) * 1.5, 0.0, 1.0) * active
        sy = _cover(np.abs(v - (by + 0.3 * ry)) - ry, res)
        np.maximum(shadow, sx * sy, out=shadow)
        slots.append((alpha, light, trunk))
    return slots, shadow
