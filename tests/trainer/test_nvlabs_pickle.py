"""NVlabs pickles are read without running their code: weights and kwargs come back as data, hostile content is
refused by name, and what our networks cannot compute is one line naming the field (trainer/nvlabs_pickle.py,
trainer/nvlabs_config.py)."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from golden_weights import FIXTURES, inputs
from nvlabs_format import EasyDict, Hostile, Persistent, network, small32, write_snapshot

from trainer.errors import UserInputError
from trainer.nvlabs_config import config_from_pickle, load_pickle_networks
from trainer.nvlabs_pickle import read_network_pickle, reference_state


def snapshot(tmp_path: Path, *, g_kw: dict[str, Any] | None = None, d_kw: dict[str, Any] | None = None,
             src: str = "# src\n", protocol: int = 3, name: str = "network-snapshot-000000.pkl") -> Path:
    G, D, G_kw, D_kw = small32()
    G_kw.update(g_kw or {})
    D_kw.update(d_kw or {})
    return write_snapshot(tmp_path / name, network("Generator", G, G_kw, src), network("Discriminator", D, D_kw, src),
                          protocol=protocol)


@pytest.mark.parametrize("protocol", [2, 3, 4])
def test_weights_and_config_come_back_as_data(tmp_path: Path, protocol: int) -> None:
    G, D, _, _ = small32()
    pkl = read_network_pickle(snapshot(tmp_path, protocol=protocol))
    assert pkl.G_ema.class_name == "Generator" and pkl.D is not None and pkl.D.class_name == "Discriminator"
    assert pkl.training_set_kwargs == {"resolution": 32, "xflip": False}
    for rec, ref in ((pkl.G_ema, G), (pkl.D, D)):
        got = reference_state(rec)
        assert sorted(got) == sorted(ref)
        for k, v in ref.items():
            assert got[k].dtype == torch.float32 and torch.equal(got[k], torch.from_numpy(v)), k
    assert pkl.G_ema.state["weight_gain"] == 0.125 and isinstance(pkl.G_ema.state["weight_gain"], np.float64)
    cfg, channels = config_from_pickle(pkl)
    m = cfg.model
    assert (cfg.data.resolution, channels, m.arch, m.z_dim, m.w_dim, m.mapping_layers) == (32, 3, "stylegan2", 64, 64, 2)
    assert (m.channel_base, m.channel_max, m.mbstd_group, m.amp_blocks) == (1024, 64, 4, 0)
    if "conv_clamp" in type(m).model_fields:
        assert m.conv_clamp == 256


def test_embedded_module_src_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    src = f"open({str(marker)!r}, 'w').write('ran')\nclass Generator: pass\nclass Discriminator: pass\n"
    path = snapshot(tmp_path, src=src)
    assert src.encode() in path.read_bytes()     # the payload is really in the file
    cfg, _ = config_from_pickle(read_network_pickle(path))
    assert cfg.model.z_dim == 64 and not marker.exists()


def test_a_global_outside_the_safe_list_is_refused_before_it_is_called(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"G_ema": Hostile(os.system, f"touch {marker}")}))
    with pytest.raises(UserInputError, match=r"refusing to load (posix|os|nt)\.system"):
        read_network_pickle(path)
    assert not marker.exists()


def test_an_object_dtype_numpy_scalar_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "obj.pkl"
    path.write_bytes(pickle.dumps({"G_ema": None, "kind": np.dtype("O")}))
    with pytest.raises(UserInputError, match="not a readable network pickle .*not a plain numeric dtype"):
        read_network_pickle(path)


def test_a_tensorflow_era_pickle_is_named(tmp_path: Path) -> None:
    path = tmp_path / "tf.pkl"
    # the opcodes a TF-era pickle starts with: GLOBAL 'dnnlib.tflib.network Network'
    path.write_bytes(b"\x80\x02cdnnlib.tflib.network\nNetwork\nq\x00)\x81q\x01.")
    with pytest.raises(UserInputError, match="TensorFlow-era pickle"):
        read_network_pickle(path)


@pytest.mark.parametrize("content", [b"", b"not a pickle at all", None])
def test_truncated_or_foreign_files_are_one_line(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "x.pkl"
    if content is None:    # a real snapshot cut in half
        content = snapshot(tmp_path).read_bytes()[:100_000]
    path.write_bytes(content)
    with pytest.raises(UserInputError, match="not a readable network pickle") as exc:
        read_network_pickle(path)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("g_kw, d_kw, match", [
    ({"c_dim": 10}, {}, r"G\.c_dim=10: conditional networks are not supported"),
    ({"synthesis_kwargs": EasyDict(channel_base=1024, channel_max=64, architecture="orig", conv_clamp=256)}, {},
     r"G\.synthesis_kwargs\.architecture='orig' is not supported .*'skip'"),
    ({"synthesis_kwargs": EasyDict(channel_base=1024, channel_max=64, architecture="resnet", conv_clamp=256)}, {},
     r"architecture='resnet' is not supported"),
    ({}, {"architecture": "skip"}, r"D\.architecture='skip' is not supported .*'resnet'"),
    ({}, {"channel_max": 32}, r"D\.channel_max=32 differs from G's 64"),
    ({"mapping_kwargs": EasyDict(num_layers=2, lr_multiplier=1.0)}, {}, r"G\.mapping_kwargs\.lr_multiplier=1\.0"),
    ({"mapping_kwargs": EasyDict(num_layers=12)}, {}, r"G\.mapping_kwargs\.num_layers=12 is outside"),
    ({}, {"epilogue_kwargs": EasyDict(mbstd_group_size=None)}, r"mbstd_group_size=None"),
    ({"img_resolution": 48}, {}, r"G\.img_resolution=48"),
])
def test_what_we_cannot_compute_is_refused_by_field(tmp_path: Path, g_kw: dict[str, Any], d_kw: dict[str, Any],
                                                     match: str) -> None:
    pkl = read_network_pickle(snapshot(tmp_path, g_kw=g_kw, d_kw=d_kw))
    with pytest.raises(UserInputError, match=match):
        config_from_pickle(pkl)


def test_an_unknown_class_is_refused_by_name(tmp_path: Path) -> None:
    G, D, G_kw, D_kw = small32()
    g = network("Generator", G, G_kw)
    g.meta["state"]["_modules"]["mapping"].meta["class_name"] = "StyleGAN3MappingNetwork"
    path = write_snapshot(tmp_path / "odd.pkl", g, network("Discriminator", D, D_kw))
    with pytest.raises(UserInputError, match="contains class StyleGAN3MappingNetwork"):
        config_from_pickle(read_network_pickle(path))
    path = write_snapshot(tmp_path / "odd2.pkl", Persistent("SuperResolutionNet", {"_init_kwargs": {}}), None)
    with pytest.raises(UserInputError, match="G_ema is a SuperResolutionNet"):
        config_from_pickle(read_network_pickle(path))


def test_a_pickle_without_networks_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plain.pkl"
    path.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    with pytest.raises(UserInputError, match="not an NVlabs network pickle"):
        read_network_pickle(path)


def test_g_d_and_g_ema_load_with_the_references_outputs(tmp_path: Path) -> None:
    """What the transfer issue starts from: all three networks, D's logits on the fixture's images as the reference's."""
    golden = np.load(FIXTURES / "small32.npz")
    _, reals = inputs("small32")
    cfg, nets = load_pickle_networks(snapshot(tmp_path), ("G", "D", "G_ema"))
    assert cfg.model.mbstd_group == 4 and sorted(nets) == ["D", "G", "G_ema"]
    with torch.no_grad():
        for which, img in (("d_fake", golden["out.img_const"]), ("d_real", reals)):
            got = nets["D"](torch.from_numpy(img)).reshape(-1)
            want = torch.from_numpy(golden[f"out.{which}"]).reshape(-1)
            assert float(((got - want).abs() / want.abs().clamp_min(1e-3)).max()) < 1e-4, which


def test_weights_that_do_not_fit_the_kwargs_are_one_line(tmp_path: Path) -> None:
    G, D, G_kw, D_kw = small32()
    del G["mapping.fc1.bias"]
    path = write_snapshot(tmp_path / "cut.pkl", network("Generator", G, G_kw), network("Discriminator", D, D_kw))
    with pytest.raises(UserInputError, match=r"cut\.pkl: G_ema: .*missing keys mapping\.fc1\.bias") as exc:
        load_pickle_networks(path)
    assert "\n" not in str(exc.value)
