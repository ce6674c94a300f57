"""Weights under the reference's names: NVlabs' StyleGAN2-ADA state dicts in and out of our stylegan2 networks.

Why: researchers start from, and compare against, NVlabs' snapshots and released
networks.  Our G and D name their modules as the reference does
(`synthesis.b32.conv0.weight`, `mapping.fc3.bias`, `mapping.w_avg`,
`b4.fc.weight`), so the mapping is one to one, keys without the pickle's
'G.'/'D.' prefix.  The only keys we do not store are the reference's
`resample_filter` buffers (the fixed [1, 3, 3, 1] FIR filter, rebuilt from
code here): on the way in each must equal ours, since a network trained with
another filter computes another function; on the way out they are written back.

A key missing on either side, or a shape that differs, is a `UserInputError`
naming the first offenders, so a config that does not match a pickle fails at
load instead of giving wrong images (NVlabs/stylegan2-ada-pytorch #279).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from trainer.errors import UserInputError
from trainer.networks.fir import fir_filter

FILTER_KEY = "resample_filter"
_SHOW = 4   # offenders named in an error line


def _filter_keys(net: nn.Module) -> list[str]:
    """The reference's resample_filter buffer names for `net`: every layer or block that resamples or holds a filter."""
    from trainer.networks.stylegan2 import DiscriminatorBlock   # local: stylegan2 need not know this module

    keys = [name for name, _ in net.named_buffers() if name.rsplit(".", 1)[-1] == FILTER_KEY]
    keys += [f"{name}.{FILTER_KEY}" for name, m in net.named_modules() if isinstance(m, DiscriminatorBlock)]
    return sorted(set(keys))


def _names(keys: list[str]) -> str:
    more = f" (+{len(keys) - _SHOW} more)" if len(keys) > _SHOW else ""
    return ", ".join(keys[:_SHOW]) + more


def load_reference_state(net: nn.Module, ref_state: Mapping[str, torch.Tensor]) -> None:
    """Copy a reference `G.state_dict()` / `D.state_dict()` (keys without 'G.'/'D.') into our Generator or Discriminator."""
    ours = net.state_dict()
    filters = set(_filter_keys(net))
    missing = sorted(k for k in ours if k not in ref_state)
    unexpected = sorted(k for k in ref_state if k not in ours and k not in filters)
    kind = type(net).__name__
    if missing or unexpected:
        parts = ([f"missing keys {_names(missing)}"] if missing else []) + ([f"unexpected keys {_names(unexpected)}"] if unexpected else [])
        raise UserInputError(f"reference weights do not fit our {kind}: {'; '.join(parts)}")
    want = fir_filter()
    for key in sorted(filters & set(ref_state)):
        f = torch.as_tensor(ref_state[key]).float().cpu()
        if f.shape != want.shape or not torch.allclose(f, want, atol=1e-6):
            raise UserInputError(f"reference weights do not fit our {kind}: {key} is not the [1, 3, 3, 1] FIR filter "
                                 f"(shape {list(f.shape)}), the only resampling filter supported")
    bad = [k for k in ours if tuple(ref_state[k].shape) != tuple(ours[k].shape)]
    if bad:
        k = bad[0]
        raise UserInputError(f"reference weights do not fit our {kind}: {k} has shape {list(ref_state[k].shape)}, "
                             f"ours {list(ours[k].shape)}" + (f" ({len(bad) - 1} more mismatches)" if len(bad) > 1 else ""))
    with torch.no_grad():
        for k, v in ours.items():
            v.copy_(torch.as_tensor(ref_state[k]).to(dtype=v.dtype, device=v.device))


def reference_state(net: nn.Module) -> dict[str, torch.Tensor]:
    """Our network's weights under the reference's names (CPU copies), filter buffers included: the inverse of
    `load_reference_state`."""
    out = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
    for key in _filter_keys(net):
        out[key] = fir_filter()
    return out
