"""Detectors: determinism of the offline and random ones, and the Inception file's loading and error paths."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trainer.errors import UserInputError
from trainer.metrics.detectors import RandomDetector, make_detector, resolve_detector_name
from trainer.metrics.inception import INCEPTION_FILE, InceptionDetector, locate_inception
from trainer.metrics.offline_detector import OfflineDetector, train_offline_detector


def test_offline_detector_training_is_bit_deterministic(source) -> None:
    net_a, info_a = train_offline_detector(source, 16, n_train=300, epochs=1)
    net_b, info_b = train_offline_detector(source, 16, n_train=300, epochs=1)
    for (k, a), (_, b) in zip(net_a.state_dict().items(), net_b.state_dict().items()):
        assert torch.equal(a, b), k
    assert info_a == info_b
    x = torch.rand(8, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    assert torch.equal(net_a.features(x), net_b.features(x))


def test_offline_detector_learns_procedural_factors_and_is_cached(metrics_dir) -> None:
    """The real thing: trained on trainer.data.procedural at 16 px (the suite tests then load it from the cache)."""
    det = OfflineDetector(resolution=16, metrics_dir=metrics_dir, device=torch.device("cpu"))
    x = torch.rand(300, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    feats = det(x)
    assert feats.shape == (300, 128) and det.weights_path().is_file()
    # measured: palette 0.97, sun 0.98, count 0.90, ground 0.80, shape 0.60 (5 classes; 16 px is coarse)
    assert det.accuracy["palette"] > 0.9 and det.accuracy["sun"] > 0.9 and det.accuracy["shape"] > 0.4
    again = OfflineDetector(resolution=16, metrics_dir=metrics_dir, device=torch.device("cpu"))
    assert torch.equal(again(x), feats)     # loaded, not retrained (training would give the same, but slower)
    assert again.accuracy == det.accuracy and again.cache_key == det.cache_key


def test_random_detector_is_fixed_and_handles_grey_images() -> None:
    x = torch.rand(5, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    a, b = RandomDetector("cpu")(x), RandomDetector("cpu")(x)
    assert a.shape == (5, 256) and torch.equal(a, b)
    grey = x[:, :1]
    assert torch.equal(RandomDetector("cpu")(grey), RandomDetector("cpu")(grey.expand(-1, 3, -1, -1)))


def test_auto_picks_offline_for_procedural_and_inception_otherwise() -> None:
    assert resolve_detector_name("auto", "procedural-s0-n70000-r32") == "offline"
    assert resolve_detector_name("auto", "zip-ffhq256") == "inception"
    assert resolve_detector_name("random", "procedural-s0") == "random"


def test_missing_inception_offline_names_the_path(tmp_path) -> None:
    with pytest.raises(UserInputError) as info:
        locate_inception(tmp_path, None, url="http://127.0.0.1:9/inception.pt", timeout=5, hub_dir=tmp_path / "hub")
    msg = str(info.value)
    assert str(tmp_path / "detectors" / INCEPTION_FILE) in msg and "\n" not in msg
    assert not (tmp_path / "detectors" / INCEPTION_FILE).exists()
    with pytest.raises(UserInputError, match="nowhere.pt"):
        make_detector("inception", dataset_name="x", resolution=16, device=torch.device("cpu"), metrics_dir=tmp_path,
                      detector_path=str(tmp_path / "nowhere.pt"))


class _StandInInception(torch.nn.Module):
    """Same call signature as the reference TorchScript file; 'features' are the mean uint8 colour, tiled."""

    def forward(self, x: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        assert x.dtype == torch.uint8
        return x.float().mean(dim=(2, 3)).repeat(1, 683)[:, :2048]


@pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")   # the reference file *is* TorchScript
def test_torchscript_inception_file_is_loaded_and_fed_uint8(tmp_path) -> None:
    path = tmp_path / "detectors" / INCEPTION_FILE
    path.parent.mkdir()
    torch.jit.script(_StandInInception()).save(str(path))
    kind, found = locate_inception(tmp_path, None, url="http://127.0.0.1:9/never-used.pt")
    assert (kind, found) == ("torchscript", path)
    det = make_detector("inception", dataset_name="folder-x", resolution=16, device=torch.device("cpu"), metrics_dir=tmp_path)
    assert isinstance(det, InceptionDetector) and det.name == "inception" and det.feature_dim == 2048
    u8 = torch.randint(0, 256, (3, 1, 8, 8), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    feats = det(u8.float() / 127.5 - 1)              # grey -> RGB, [-1, 1] -> the same uint8 values
    assert feats.shape == (3, 2048)
    np.testing.assert_allclose(feats[:, 0].numpy(), u8.float().mean(dim=(1, 2, 3)).numpy(), rtol=1e-6)


@pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")
def test_wrong_weights_files_stop_the_run_when_the_detector_is_built(tmp_path) -> None:
    """Not at the first metrics tick, which at paper scale is hours into the run."""
    class Small(torch.nn.Module):
        def forward(self, x: torch.Tensor, return_features: bool = False) -> torch.Tensor:
            return x.float().mean(dim=(2, 3))

    class NoFeatureFlag(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.float().mean(dim=(2, 3))

    def build(path) -> None:
        make_detector("inception", dataset_name="x", resolution=16, device=torch.device("cpu"), metrics_dir=tmp_path,
                      detector_path=str(path))

    small, no_flag = tmp_path / "small.pt", tmp_path / "no_flag.pt"
    torch.jit.script(Small()).save(str(small))
    torch.jit.script(NoFeatureFlag()).save(str(no_flag))
    html, bad_pth = tmp_path / "page.pt", tmp_path / "weights.pth"
    html.write_text("<html>captive portal</html>")
    torch.save({"conv.weight": torch.zeros(2)}, bad_pth)
    for path, match in ((small, "not the FID Inception"), (no_flag, "fails on a probe image"),
                        (html, "not a TorchScript Inception file"), (bad_pth, "not torchvision's inception_v3")):
        with pytest.raises(UserInputError, match=match) as info:
            build(path)
        assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_torchvision_weights_in_the_hub_cache_are_the_offline_fallback(tmp_path) -> None:
    """Different weights from the reference file, so a different detector name (its FIDs never mix)."""
    hub_file = tmp_path / "hub" / "checkpoints" / "inception_v3_google-0cc3c7bd.pth"
    hub_file.parent.mkdir(parents=True)
    hub_file.write_bytes(b"stand-in")
    kind, found = locate_inception(tmp_path, None, url="http://127.0.0.1:9/inception.pt", timeout=5, hub_dir=tmp_path / "hub")
    assert (kind, found) == ("torchvision", hub_file)
    assert InceptionDetector(kind, found, torch.device("cpu")).name == "inception-torchvision"
