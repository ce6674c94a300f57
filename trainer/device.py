"""Device choice and mixed-precision settings for one run (CUDA when asked/available; CPU runs unchanged).

AMP: bf16 autocast where the GPU supports it (no loss scaling needed), else
fp16 autocast with a GradScaler.  On CPU autocast is off: CPU bf16 is slower
than fp32 on most machines and would change results between CPU and GPU tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass

import torch

from trainer.config import RunConfig
from trainer.errors import UserInputError


@dataclass(frozen=True)
class DeviceSetup:
    device: torch.device
    amp_dtype: torch.dtype | None     # None = full precision
    channels_last: bool

    def autocast(self) -> AbstractContextManager:
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    @property
    def needs_scaler(self) -> bool:
        return self.amp_dtype == torch.float16


def resolve_device(run: RunConfig) -> DeviceSetup:
    """Turn run.device / amp / channels_last into a concrete setup; refuses `cuda` without a GPU."""
    if run.device == "cuda" and not torch.cuda.is_available():
        raise UserInputError("run.device=cuda but no CUDA device is available; use run.device=auto or cpu")
    use_cuda = run.device == "cuda" or (run.device == "auto" and torch.cuda.is_available())
    device = torch.device("cuda") if use_cuda else torch.device("cpu")
    amp_dtype = None
    if use_cuda and run.amp:
        amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return DeviceSetup(device=device, amp_dtype=amp_dtype, channels_last=use_cuda and run.channels_last)


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with `threads` torch intra-op threads (None: unchanged), restoring the count after.

    Ray reuses a worker process for the next trial (`reuse_actors=True`): a trial's thread count must not
    leak into the next one, whose config may ask for another or for torch's default.
    """
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
