"""`python -m trainer.generate`: an NVlabs snapshot gives the reference's images (the golden small32 fixture), our
checkpoints, run dirs and trial dirs give G_ema's images, and bad input is one line, exit 2, nothing written."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from fast_config import fast_overrides
from golden_weights import FIXTURES, index, inputs, weights
from nvlabs_format import network, reference_kwargs, write_snapshot
from PIL import Image

from trainer.__main__ import main as train_main
from trainer.generate import generate_images, main, parse_seeds, to_uint8
from trainer.generator_source import load_generator


@pytest.fixture(scope="module")
def golden() -> dict[str, np.ndarray]:
    npz = np.load(FIXTURES / "small32.npz")
    return {k: npz[k] for k in npz.files}


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A network-snapshot pickle in the reference's format holding the small32 fixture's weights."""
    G_kw, D_kw = reference_kwargs(index()["small32"], resolution=32)
    G_w, D_w = weights("small32")
    G = network("Generator", G_w, G_kw)
    D = network("Discriminator", D_w, D_kw)
    return write_snapshot(tmp_path_factory.mktemp("pkl") / "network-snapshot-000000.pkl", G, D)


def test_a_snapshot_gives_the_references_images(snapshot: Path, golden: dict[str, np.ndarray], tmp_path: Path) -> None:
    loaded = load_generator(snapshot)
    z = torch.from_numpy(inputs("small32")[0])
    with torch.no_grad():
        ws = loaded.G.mapping(z)
        img = loaded.G.synthesis(ws, noise_mode="const")
    assert float((ws - torch.from_numpy(golden["out.ws"])).abs().max()) < 1e-4
    assert float((img - torch.from_numpy(golden["out.img_const"])).abs().max()) < 1e-4
    # the PNG path: the fixture's images quantised as the reference's generate.py does, against ours
    ours, ref = to_uint8(img.numpy()).astype(int), to_uint8(golden["out.img_const"]).astype(int)
    assert np.abs(ours - ref).max() <= 1


def test_generate_writes_pngs_and_npz_from_a_snapshot(snapshot: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main([str(snapshot), "--seeds", "0-2", "--trunc", "0.7", "--out", str(out), "--npz"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["images.npz", "seed0000.png", "seed0001.png", "seed0002.png"]
    npz = np.load(out / "images.npz")
    assert npz["seeds"].dtype == np.int64 and npz["seeds"].tolist() == [0, 1, 2]
    assert npz["images"].dtype == np.float32 and npz["images"].shape == (3, 3, 32, 32)
    loaded = load_generator(snapshot)
    z1 = torch.from_numpy(np.random.RandomState(1).randn(1, 64)).float()   # the reference's latent for seed 1
    with torch.no_grad():
        want = loaded.G(z1, truncation_psi=0.7, noise_mode="const")[0].numpy()
    assert np.abs(npz["images"][1] - want).max() < 1e-6
    png = np.asarray(Image.open(out / "seed0001.png"))
    assert png.shape == (32, 32, 3) and np.array_equal(png, to_uint8(want[None])[0])
    again = generate_images(loaded.G, "stylegan2", [1], 0.7, "random")
    assert np.array_equal(again, generate_images(loaded.G, "stylegan2", [1], 0.7, "random"))  # seeded noise
    assert not np.array_equal(again[0], want)


def test_our_checkpoints_run_dirs_and_trial_dirs(tmp_path: Path) -> None:
    run = tmp_path / "run"
    sets = [a for k, v in fast_overrides(**{"run.total_kimg": 0.128}).items() for a in ("--set", f"{k}={'[]' if v == [] else v}")]
    assert train_main(["--preset", "smoke", "--out", str(run), *sets]) == 0
    trial = tmp_path / "trial0000_x"
    shutil.copytree(run / "checkpoints" / "latest", trial / "checkpoint_000003")
    outs = {}
    for name, path in (("run", run), ("ckpt", run / "checkpoints" / "latest"), ("trial", trial)):
        outs[name] = tmp_path / f"out_{name}"
        assert main([str(path), "--seeds", "3,5", "--out", str(outs[name]), "--npz"]) == 0
    imgs = [np.load(o / "images.npz")["images"] for o in outs.values()]
    assert imgs[0].shape == (2, 3, 16, 16) and all(np.array_equal(imgs[0], i) for i in imgs[1:])
    state = torch.load(run / "checkpoints" / "latest" / "state.pt", weights_only=True)
    G = load_generator(run).G
    G.load_state_dict(state["nets"]["G_ema"])      # the weights generate used are G_ema's
    z = torch.from_numpy(np.random.RandomState(5).randn(1, G.z_dim)).float()
    with torch.no_grad():
        assert np.abs(imgs[0][1] - G(z)[0].numpy()).max() < 1e-6


@pytest.mark.parametrize("argv, match", [
    (["--seeds", "7-3"], "empty range"),
    (["--seeds", "a,b"], "expected a range"),
    (["--seeds", "1,1"], "repeated"),
    (["--seeds", "0-2", "--trunc", "nan"], "finite"),
    (["--seeds", "0-2", "--noise-mode", "loud"], "invalid choice"),
    (["--seeds", "0", "--out", "{tmp}/file.txt/sub"], "cannot write under"),
    (["--seeds", "0", "--out", "{tmp}/file.txt"], "exists and is not a directory"),
])
def test_bad_options_are_one_line_and_write_nothing(snapshot: Path, tmp_path: Path, argv: list[str], match: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    (tmp_path / "file.txt").write_text("x")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main([str(snapshot), *argv] + ([] if "--out" in argv else ["--out", str(out)])) == 2
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1 and not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_bad_networks_are_one_line_and_write_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.pkl"
    junk.write_bytes(b"\x80\x04garbage")
    empty = tmp_path / "emptydir"
    empty.mkdir()
    for net, match in ((tmp_path / "missing.pkl", "no such file"), (junk, "not a readable network pickle"),
                       (empty, "no checkpoint here")):
        out = tmp_path / "out"
        assert main([str(net), "--seeds", "0", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert match in err and err.count("\n") == 1, err
        assert not out.exists()


def test_seed_syntax_is_the_references() -> None:
    assert parse_seeds("0-7") == list(range(8)) and parse_seeds("1,3,5") == [1, 3, 5] and parse_seeds("42") == [42]
