"""trainer/paths.py: every path-valued config field is made absolute where the user typed it; URIs stay URIs."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from trainer.config import TrainConfig, apply_overrides, preset
from trainer.paths import PATH_FIELDS, absolute_path, resolve_paths, resolve_set_items, unresolved_paths


def test_absolute_path_expands_home_and_keeps_uris(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert absolute_path("./results") == str(tmp_path / "results")
    assert absolute_path("runs/") == str(tmp_path / "runs")
    assert absolute_path("~/data/mnist") == str(tmp_path / "home" / "data" / "mnist")
    assert absolute_path("/abs/x") == "/abs/x"
    assert absolute_path("s3://bucket/gan-aug") == "s3://bucket/gan-aug"
    assert absolute_path("x", base="/elsewhere") == "/elsewhere/x"


def test_resolve_paths_makes_every_path_field_absolute(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = apply_overrides(preset("smoke"), {"data.source": "npz:data/x.npz", "metrics.detector_path": "w/inception.pt"})
    assert unresolved_paths(cfg) == ["data.source=npz:data/x.npz", "metrics.detector_path=w/inception.pt"]
    done = resolve_paths(cfg)
    assert done.data.source == f"npz:{tmp_path}/data/x.npz" and done.metrics.detector_path == f"{tmp_path}/w/inception.pt"
    assert unresolved_paths(done) == [] and resolve_paths(done) is done
    assert resolve_paths(preset("smoke")) == preset("smoke")                              # procedural: no path
    assert resolve_paths(preset("paper")).data.source == f"zip:{tmp_path}/datasets/ffhq256.zip"


def test_resolve_set_items_only_touches_path_fields(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    items = ["data.source=mnist:mn", "run.total_kimg=24", "metrics.detector_path=none", "data.source=procedural"]
    assert resolve_set_items(items) == [f"data.source=mnist:{tmp_path}/mn", "run.total_kimg=24",
                                        "metrics.detector_path=none", "data.source=procedural"]


def test_path_fields_are_every_field_that_names_a_file() -> None:
    """A new path-valued field must join PATH_FIELDS, or it would reach Ray trials relative."""
    named = []
    for section, field in TrainConfig.model_fields.items():
        sub = field.annotation
        for name, f in getattr(sub, "model_fields", {}).items():
            text = f"{name} {f.description or ''}"
            # "path length" (StyleGAN2's regulariser) names no file
            if re.search(r"\b(PATH|[Pp]ath|[Ff]ile|dir)\b(?![- ]length)", text):
                named.append(f"{section}.{name}")
    assert sorted(named) == sorted(PATH_FIELDS)
    assert os.path.isabs(absolute_path("."))
