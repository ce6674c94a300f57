"""run.init_from (transfer learning): a new run starts from a source's G, D and G_ema at kimg 0, with fresh optimisers
and its own augmentation; config.json and the tick rows record the source and the SHA-256 of its weights; a source
whose architecture differs, a changed source and an unreadable pickle are one line and exit 2."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
from fast_config import fast_overrides

from trainer.__main__ import main
from trainer.config import apply_overrides, preset
from trainer.device import resolve_device
from trainer.errors import UserInputError
from trainer.init_from import load_source_networks, source_dir, with_source_hash
from trainer.state import TrainState


def _sets(**extra: Any) -> list[str]:
    return [a for k, v in fast_overrides(**extra).items() for a in ("--set", f"{k}={'[]' if v == [] else v}")]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished `python -m trainer` run (3 ticks of the fast config, no augmentation)."""
    out = tmp_path_factory.mktemp("src") / "run"
    assert main(["--preset", "smoke", "--out", str(out), *_sets()]) == 0
    return out


def _sha(source: Path) -> str:
    return hashlib.sha256((source / "checkpoints" / "latest" / "state.pt").read_bytes()).hexdigest()


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_networks_come_from_the_source_and_nothing_else(source: Path) -> None:
    cfg = apply_overrides(preset("smoke"), {**fast_overrides(**{"augment.mode": "fixed", "augment.p": 0.3,
                                                                "run.seed": 5}), "run.init_from": str(source)})
    st = TrainState(cfg, resolve_device(cfg.run), resolution=16, channels=3, train_size=200)
    load_source_networks(st.nets(), cfg)
    saved = torch.load(source / "checkpoints" / "latest" / "state.pt", weights_only=True)
    for name, net in st.nets().items():
        for k, v in net.state_dict().items():
            assert torch.equal(v, saved["nets"][name][k]), (name, k)
    assert st.cur_nimg == 0 and st.tick == 0
    assert st.opt_D.state_dict()["state"] == {} and st.opt_G.state_dict()["state"] == {}
    assert st.aug.p == 0.3                      # the run's own augmentation, not the source's (none)
    assert not torch.equal(saved["nets"]["G"]["project.weight"],
                           TrainState(apply_overrides(cfg, {"run.init_from": None}), resolve_device(cfg.run), resolution=16,
                                      channels=3, train_size=200).G.state_dict()["project.weight"])


def test_cli_records_source_and_hash(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "target"
    sets = _sets(**{"data.dataset_size": 100, "model.freeze_d": 1, "run.total_kimg": 0.128})
    assert main(["--preset", "smoke", "--out", str(out), *sets, "--set", f"run.init_from={source}"]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["run"]["init_from"] == str(source) and cfg["run"]["init_sha256"] == _sha(source)
    df = pd.read_parquet(out / "metrics.parquet")
    assert df["kimg"].tolist() == [0.128]       # from kimg 0, not the source's 0.384
    assert (df["init_from"] == str(source)).all() and (df["init_sha256"] == _sha(source)).all()


def test_the_training_loop_starts_from_the_source(source: Path, tmp_path: Path) -> None:
    # With a learning rate of ~0, G and D end where they started: the source's weights (a from-scratch run would not)
    out = tmp_path / "t"
    sets = _sets(**{"run.total_kimg": 0.128, "loss.g_lr": 1e-12, "loss.d_lr": 1e-12, "augment.mode": "fixed",
                    "augment.p": 0.2})
    assert main(["--preset", "smoke", "--out", str(out), *sets, "--set", f"run.init_from={source}"]) == 0
    src = torch.load(source / "checkpoints" / "latest" / "state.pt", weights_only=True)["nets"]
    got = torch.load(out / "checkpoints" / "latest" / "state.pt", weights_only=True)
    for net in ("G", "D"):
        for k, v in src[net].items():
            if v.is_floating_point() and "running_" not in k:   # BatchNorm statistics move with every forward
                torch.testing.assert_close(got["nets"][net][k], v, rtol=0, atol=1e-6, msg=f"{net}.{k}")
    assert got["progress"]["cur_nimg"] == 128 and got["augment"]["p"] == pytest.approx(0.2)


def test_relative_source_is_made_absolute(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(source.parent)
    cfg = with_source_hash(apply_overrides(preset("smoke"), fast_overrides(**{"run.init_from": source.name})))
    assert cfg.run.init_sha256 == _sha(source)
    out = tmp_path / "t"
    assert main(["--preset", "smoke", "--out", str(out), *_sets(**{"run.total_kimg": 0.128}), "--set",
                 f"run.init_from={source.name}"]) == 0
    assert json.loads((out / "config.json").read_text())["run"]["init_from"] == str(source)


def test_architecture_mismatch_names_the_fields(source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t"
    assert main(["--preset", "smoke", "--out", str(out), *_sets(**{"model.channel_max": 16, "model.z_dim": 32}),
                 "--set", f"run.init_from={source}"]) == 2
    line = _one_error_line(capsys)
    assert "model.z_dim (64 in the source, 32 here)" in line and "model.channel_max (32 in the source, 16 here)" in line
    assert "data.resolution" not in line and not out.exists()


def test_changed_source_pickle_and_missing_are_refused(source: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    base = _sets()
    assert main(["--preset", "smoke", "--out", str(tmp_path / "a"), *base, "--set", f"run.init_from={source}",
                 "--set", f"run.init_sha256={'0' * 64}"]) == 2
    assert "the source changed" in _one_error_line(capsys)
    pkl = tmp_path / "network-snapshot-000100.pkl"
    pkl.write_bytes(b"not a pickle")
    assert main(["--preset", "smoke", "--out", str(tmp_path / "b"), *base, "--set", f"run.init_from={pkl}"]) == 2
    assert "not a readable network pickle" in _one_error_line(capsys)
    assert main(["--preset", "smoke", "--out", str(tmp_path / "c"), *base, "--set", f"run.init_from={tmp_path}/nope"]) == 2
    assert "no such file or directory" in _one_error_line(capsys)
    assert not any((tmp_path / n).exists() for n in "abc")


def test_sweep_trial_folder_uses_its_newest_checkpoint(source: Path, tmp_path: Path) -> None:
    trial = tmp_path / "ray" / "run_trial_abc_00001"
    for n in ("checkpoint_000000", "checkpoint_000002", "checkpoint_000001"):
        shutil.copytree(source / "checkpoints" / "latest", trial / n)
    assert source_dir(trial) == trial / "checkpoint_000002"
    assert source_dir(source) == source / "checkpoints" / "latest"
    with pytest.raises(UserInputError, match="no checkpoint here"):
        source_dir(tmp_path)
