"""Dotted config keys: the one spelling of a nested config as {"loss.r1_gamma": 0.1, ...}.

`--set`, the trackers' params, the resume check and the verdict table's "settings differ in …" line all name a
config field by its dotted key, and `config_json` in trials.parquet is the nested form; one function turns the
second into the first so that `trainer`, `sweeps` and `analysis` (which may not import `trainer`) agree.
"""

from __future__ import annotations

from typing import Any


def flatten_dotted(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested config dict as {dotted key: leaf value}, the form `--set` and trackers' params use."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten_dotted(v, key + "."))
        else:
            out[key] = v
    return out
