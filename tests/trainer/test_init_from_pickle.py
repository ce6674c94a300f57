"""run.init_from=PATH.pkl: a run starts from an NVlabs pickle's G, D and G_ema (read without running its code), its
architecture must be the run's, a pickle without D is refused, and config.json records the path and the SHA-256 of
the .pkl's bytes (trainer/init_from.py on top of trainer/nvlabs_config.py)."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from fast_config import fast_overrides
from golden_weights import FIXTURES, inputs
from nvlabs_format import network, small32, write_snapshot

from trainer.__main__ import main
from trainer.config import apply_overrides, preset
from trainer.device import resolve_device
from trainer.init_from import load_source_networks, with_source_hash
from trainer.nvlabs_config import load_pickle_networks
from trainer.state import TrainState

# the run config nvlabs_config derives from small32's kwargs (z 64, w 64, 2 mapping layers, mbstd 4 are smoke's)
SMALL32 = {"model.arch": "stylegan2", "model.channel_base": 1024, "model.channel_max": 64, "model.conv_clamp": 256,
           "data.resolution": 32}


def _sets(**extra: Any) -> list[str]:
    o = fast_overrides(**{**SMALL32, **extra})
    return [a for k, v in o.items() for a in ("--set", f"{k}={'[]' if v == [] else v}")]


@pytest.fixture(scope="module")
def pkl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A snapshot of the small32 fixture whose G_ema differs from G (so each is seen to come from its own record)."""
    G, D, G_kw, D_kw = small32()
    ema = {k: (v * 0.5 if k.endswith("weight") else v) for k, v in G.items()}
    path = tmp_path_factory.mktemp("pkl") / "network-snapshot-000200.pkl"
    return write_snapshot(path, network("Generator", G, G_kw), network("Discriminator", D, D_kw),
                          extra={"G_ema": network("Generator", ema, G_kw)})


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_g_d_and_g_ema_start_as_the_pickles(pkl: Path) -> None:
    cfg = with_source_hash(apply_overrides(preset("smoke"), {**fast_overrides(**SMALL32), "run.init_from": str(pkl)}))
    assert cfg.run.init_sha256 == hashlib.sha256(pkl.read_bytes()).hexdigest()
    st = TrainState(cfg, resolve_device(cfg.run), resolution=32, channels=3, train_size=200)
    load_source_networks(st.nets(), cfg)
    _, want = load_pickle_networks(pkl, ("G", "D", "G_ema"))
    for name, net in st.nets().items():
        for k, v in want[name].state_dict().items():
            assert torch.equal(net.state_dict()[k], v), (name, k)
    assert not torch.equal(st.G.state_dict()["synthesis.b8.conv0.weight"], st.G_ema.state_dict()["synthesis.b8.conv0.weight"])
    golden = np.load(FIXTURES / "small32.npz")   # the run's D computes the reference's logits on the fixture's reals
    _, reals = inputs("small32")
    with torch.no_grad():
        got = st.D.float()(torch.from_numpy(reals)).reshape(-1)
    want_logits = torch.from_numpy(golden["out.d_real"]).reshape(-1)
    assert float(((got - want_logits).abs() / want_logits.abs().clamp_min(1e-3)).max()) < 1e-4


def test_cli_run_from_a_pickle_records_path_and_hash(pkl: Path, tmp_path: Path) -> None:
    # With a learning rate of ~0, G and D end where they started: the pickle's weights (a from-scratch run would not)
    out = tmp_path / "t"
    sets = _sets(**{"run.total_kimg": 0.128, "loss.g_lr": 1e-12, "loss.d_lr": 1e-12})
    assert main(["--preset", "smoke", "--out", str(out), *sets, "--set", f"run.init_from={pkl}"]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["run"]["init_from"] == str(pkl)
    assert cfg["run"]["init_sha256"] == hashlib.sha256(pkl.read_bytes()).hexdigest()
    _, want = load_pickle_networks(pkl, ("G", "D"))
    got = torch.load(out / "checkpoints" / "latest" / "state.pt", weights_only=True)
    for name in ("G", "D"):
        for k, v in want[name].state_dict().items():
            if v.is_floating_point() and not k.endswith("w_avg"):   # w_avg moves with every mapping call (beta 0.995)
                torch.testing.assert_close(got["nets"][name][k].float(), v, rtol=0, atol=1e-6, msg=f"{name}.{k}")
    assert got["progress"]["cur_nimg"] == 128


def test_mismatch_g_only_and_garbage_pickles_are_one_line(pkl: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--preset", "smoke", "--out", str(tmp_path / "a"), *_sets(**{"model.channel_max": 32,
                 "data.resolution": 16}), "--set", f"run.init_from={pkl}"]) == 2
    line = _one_error_line(capsys)
    assert "model.channel_max (64 in the source, 32 here)" in line and "data.resolution (32 in the source, 16 here)" in line
    assert "model.z_dim" not in line
    G, _, G_kw, _ = small32()
    released = tmp_path / "released-G-only.pkl"
    write_snapshot(released, None, None, extra={"G_ema": network("Generator", G, G_kw)})
    assert main(["--preset", "smoke", "--out", str(tmp_path / "b"), *_sets(), "--set", f"run.init_from={released}"]) == 2
    assert "the pickle has no G or D" in _one_error_line(capsys)
    garbage = tmp_path / "garbage.pkl"
    garbage.write_bytes(pickle.dumps({"weights": [1, 2]})[:-3])
    assert main(["--preset", "smoke", "--out", str(tmp_path / "c"), *_sets(), "--set", f"run.init_from={garbage}"]) == 2
    assert "not a readable network pickle" in _one_error_line(capsys)
    assert not any((tmp_path / n).exists() for n in "abc")
