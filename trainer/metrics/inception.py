"""The standard FID detector: Inception-v3 pool features (2048-d), as the reference metrics use it.

ADA, DiffAugment and nearly every GAN paper compute FID with one specific
network: a TorchScript translation of TensorFlow's 2015-12-05 Inception graph
(`inception-2015-12-05.pt`, published by NVIDIA).  Numbers are only comparable
with the papers' when exactly this file is used, so it is looked for in order:

1. `metrics.detector_path` (a `.pt` TorchScript file; a `.pth` is read as torchvision weights);
2. `<cache>/metrics/detectors/inception-2015-12-05.pt`;
3. a download from NVIDIA's URL into (2), atomically;
4. only if that fails: torchvision's ImageNet Inception weights, if already in the
   torch hub cache.  Those are *different* weights, so the detector is then named
   `inception-torchvision` and its FIDs never mix with `inception` ones.

If nothing works (an offline machine) a UserInputError names the exact path to
put the file at.  The network is loaded and run once on a probe image when the
detector is built, so a wrong or corrupt file also stops a run at its start,
not at its first metrics tick (hours in, at paper scale).  The TorchScript network takes uint8-range images of any size
and resizes them to 299 px itself (the reference feeds it that way, and
resizing here first would change the numbers); the torchvision network is fed
299 px bilinear resizes of the [-1, 1] images, the range its Google weights
were trained on.
"""

from __future__ import annotations

import http.client
import urllib.error
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

from trainer.errors import UserInputError
from trainer.metrics.cache import atomic_download
from trainer.metrics.detectors import Detector, as_rgb

INCEPTION_URL = "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt"
INCEPTION_FILE = "inception-2015-12-05.pt"
TORCHVISION_PATTERN = "inception_v3_google-*.pth"
FEATURE_DIM = 2048


def default_inception_path(metrics_dir: Path) -> Path:
    return Path(metrics_dir) / "detectors" / INCEPTION_FILE


def _torchvision_file(hub_dir: Path | None) -> Path | None:
    hub = Path(hub_dir) if hub_dir is not None else Path(torch.hub.get_dir())
    found = sorted((hub / "checkpoints").glob(TORCHVISION_PATTERN))
    return found[0] if found else None


def locate_inception(metrics_dir: Path, detector_path: str | None = None, *, url: str = INCEPTION_URL,
                     timeout: float = 60.0, hub_dir: Path | None = None) -> tuple[str, Path]:
    """(kind, path) of the Inception weights: kind is 'torchscript' or 'torchvision'."""
    if detector_path:
        path = Path(detector_path).expanduser()
        if not path.is_file():
            raise UserInputError(f"metrics.detector_path {str(path)!r} is not a file; point it at {INCEPTION_FILE} (from {INCEPTION_URL})")
        return ("torchvision" if path.suffix == ".pth" else "torchscript"), path
    target = default_inception_path(metrics_dir)
    if target.is_file():
        return "torchscript", target
    try:
        atomic_download(url, target, timeout)
        return "torchscript", target
    except (OSError, urllib.error.URLError, http.client.HTTPException, ValueError) as exc:
        reason = f"{type(exc).__name__}: {exc}"[:120]
    fallback = _torchvision_file(hub_dir)
    if fallback is not None:
        return "torchvision", fallback
    raise UserInputError(
        f"Inception weights for FID are missing and the download failed ({reason}); "
        f"put {INCEPTION_FILE} from {INCEPTION_URL} at {target} "
        "(or set metrics.detector_path=FILE, or use metrics.detector=random)")


class InceptionDetector(Detector):
    """Inception-v3 2048-d pool features; weights loaded on first use."""

    feature_dim = FEATURE_DIM

    def __init__(self, kind: str, path: Path, device: torch.device) -> None:
        super().__init__(device)
        self.kind = kind
        self.path = Path(path)
        self.name = "inception" if kind == "torchscript" else "inception-torchvision"
        self._net: torch.nn.Module | None = None

    @property
    def cache_key(self) -> str:
        return f"{self.name}-{self.path.name}-{self.path.stat().st_size}"

    def _load(self) -> torch.nn.Module:
        if self.kind == "torchscript":
            try:
                with warnings.catch_warnings():
                    # torch deprecates TorchScript, but the reference detector *is* a TorchScript file
                    warnings.filterwarnings("ignore", message=r".*torch\.jit", category=FutureWarning)
                    net = torch.jit.load(str(self.path), map_location=self.device)
            except RuntimeError as exc:
                raise UserInputError(f"{self.path} is not a TorchScript Inception file ({str(exc).splitlines()[0][:100]}); get it from {INCEPTION_URL}") from None
            return net.eval()
        import torchvision  # late: only this fallback needs it

        net = torchvision.models.inception_v3(weights=None, aux_logits=True, init_weights=False, transform_input=False)
        try:
            net.load_state_dict(torch.load(self.path, map_location="cpu", weights_only=True))
        except (RuntimeError, OSError, EOFError, ValueError) as exc:
            raise UserInputError(f"{self.path} is not torchvision's inception_v3 state dict ({str(exc).splitlines()[0][:100]})") from None
        net.fc = torch.nn.Identity()  # the 2048-d average-pool output is the FID feature
        return net.eval().to(self.device)

    def check(self) -> None:
        """Load the weights and run one small probe image: a wrong file fails here, with one line."""
        if self._net is None:
            self._net = self._load()
        try:
            self(torch.zeros(1, 3, 32, 32))
        except torch.cuda.OutOfMemoryError:
            raise
        except RuntimeError as exc:   # TorchScript reports a wrong signature or a failing graph this way
            last = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise UserInputError(f"{self.path} fails on a probe image, so it is not the FID Inception network ({last[:100]})") from None

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._net is None:
            self._net = self._load()
        x = as_rgb(x)
        if self.kind == "torchscript":
            u8 = (x * 127.5 + 128).clamp(0, 255).to(torch.uint8)  # the reference's float -> uint8 rounding
            feats = self._net(u8, return_features=True)
        else:
            feats = self._net(F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False))
        if feats.ndim != 2 or feats.shape[1] != FEATURE_DIM:
            raise UserInputError(f"{self.path} gives features of shape {tuple(feats.shape)}, not [N, {FEATURE_DIM}]: not the FID Inception network")
        return feats


def make_inception(metrics_dir: Path, device: torch.device, detector_path: str | None = None) -> InceptionDetector:
    kind, path = locate_inception(metrics_dir, detector_path)
    det = InceptionDetector(kind, path, device)
    det.check()
    return det
