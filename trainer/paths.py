"""Path-valued config fields, made absolute where the user typed them.

Why: a path means what it means in the directory the user launched from.  A
sweep ships every trial's config to Ray workers, and Ray Tune runs each function
trainable in its own working directory (a per-trial folder in the Ray session's
temp dir, or another machine altogether), so a relative `data.source=npz:x.npz`
or `--storage ./results` would be read or written somewhere else -- silently,
for writes.  Every entry point (`sweeps.launch`, `python -m trainer`,
`trainer.evaluate`, `sweeps.evaluate`) therefore resolves paths once, in its own
process, before it validates, writes or ships anything, and the config that is
saved (`config.json`, `sweep.json`) carries the absolute values.  A Ray trial
refuses a relative path instead of guessing (`unresolved_paths`).

`~` is expanded; URIs (`scheme://...`) are left as they are.
"""

from __future__ import annotations

import os
from typing import Any

from trainer.config import TrainConfig, apply_overrides

# Every config field that holds a filesystem path; tests/test_paths.py checks that no other field does.
# data.source holds KIND:PATH (or 'procedural', which has no path).
PATH_FIELDS = ("data.source", "metrics.detector_path", "run.init_from")
# run.init_from values that are not paths: a sweep's stand-in for a source network it is given later (sweeps.transfer)
PLACEHOLDER_PREFIX = "@"


def absolute_path(path: str, base: str | None = None) -> str:
    """PATH with `~` expanded, made absolute against BASE (default: this process's working directory); URIs unchanged."""
    if "://" in path:
        return path
    return os.path.normpath(os.path.join(base or os.getcwd(), os.path.expanduser(path)))


def is_resolved(path: str) -> bool:
    """True for an absolute local path or a URI: what may cross to another process."""
    return "://" in path or os.path.isabs(path)


def resolve_value(key: str, value: Any, base: str | None = None) -> Any:
    """The value of path field KEY made absolute (other keys, None and 'procedural' pass through)."""
    if key not in PATH_FIELDS or not isinstance(value, str) or not value or value.startswith(PLACEHOLDER_PREFIX):
        return value
    if key == "data.source":
        kind, sep, path = value.partition(":")
        return f"{kind}:{absolute_path(path, base)}" if sep and path and kind != "procedural" else value
    return absolute_path(value, base)


def resolve_set_items(items: list[str], base: str | None = None) -> list[str]:
    """`key=value` override strings with the path fields' values made absolute (so sweep.json shows them)."""
    out = []
    for item in items:
        key, sep, raw = item.partition("=")
        unset = raw.strip() in ("none", "null", "None")   # `key=none` unsets an optional field: not a path
        value = resolve_value(key.strip(), raw.strip(), base) if sep and not unset else raw
        out.append(f"{key}={value}" if sep and value != raw.strip() else item)
    return out


def config_value(cfg: TrainConfig, dotted: str) -> Any:
    """The value at a dotted key of CFG, e.g. data.source."""
    node: Any = cfg
    for part in dotted.split("."):
        node = getattr(node, part)
    return node


def resolve_paths(cfg: TrainConfig, base: str | None = None) -> TrainConfig:
    """CFG with every path field absolute (validated again); the same object when nothing changes."""
    changes = {k: resolve_value(k, config_value(cfg, k), base) for k in PATH_FIELDS}
    changes = {k: v for k, v in changes.items() if v != config_value(cfg, k)}
    return apply_overrides(cfg, changes) if changes else cfg


def unresolved_paths(cfg: TrainConfig) -> list[str]:
    """`key=value` of every path field that is still relative (empty when the config may be shipped)."""
    bad = []
    for key in PATH_FIELDS:
        value = config_value(cfg, key)
        path = value if key != "data.source" else "" if value.startswith("procedural") else value.partition(":")[2]
        if path and not is_resolved(path):
            bad.append(f"{key}={value}")
    return bad
