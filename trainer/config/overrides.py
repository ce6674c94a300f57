"""`key=value` overrides on a config, as typed on a command line, a sweep axis or a sweep file.

Each dotted key is checked against the models' fields before anything is set, so
a typo names the key and the fields allowed there; the result is validated whole,
with errors as one line (trainer/config/error_line.py).
"""

from __future__ import annotations

import json
from typing import Any, get_args

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from trainer.config.augment import drop_inapplicable
from trainer.config.error_line import first_error
from trainer.config.models import TrainConfig
from trainer.errors import UserInputError


def parse_value(text: str) -> Any:
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
        pairs[key.strip()] = parse_value(raw)
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
        raise UserInputError(f"invalid config: {first_error(exc)}") from None


def validate_config(d: dict[str, Any]) -> TrainConfig:
    """Validate a nested dict (e.g. a Ray trial's config) into a TrainConfig, with a one-line error."""
    try:
        return TrainConfig.model_validate(d)
    except ValidationError as exc:
        raise UserInputError(f"invalid config: {first_error(exc)}") from None
