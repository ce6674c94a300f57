"""Freeze-D (Mo et al. 2020; ADA §4.2 transfer learning): the first K layers of D, from the input, are not trained.

Counting follows the reference's `--freezed=K`: every convolution of D's
resolution blocks is one layer, in the order the image meets them -- the
fromRGB 1x1 conv, then per block conv0, conv1 and the 1x1 skip -- so at 16 px
the StyleGAN2 D has 1 + 2 x 3 = 7 layers, at 256 px 1 + 6 x 3 = 19.  The 4x4
epilogue (minibatch std, conv, fc, out) is never counted, as in the reference.
The DCGAN D counts its strided convs the same way (2 at 16 px); its final 4x4
conv to the logit is its epilogue.

A frozen layer keeps `requires_grad=False` and is left out of D's optimiser, so
it gets no gradient and no Adam state: its weights stay bit for bit what
`run.init_from` (or the initialisation) gave them.  Gradients still flow through
it to the input, which R1 needs.
"""

from __future__ import annotations

from torch import nn

from trainer.errors import UserInputError
from trainer.networks.stylegan2 import DiscriminatorBlock

# Children of D that hold its resolution blocks (the epilogue is everything else).
_BLOCK_PREFIXES = ("fromrgb", "blocks", "body")


def _in_a_block(D: nn.Module, name: str) -> bool:
    """Whether module NAME of D sits in a resolution block: the stylegan2 D names its blocks b<res> after the
    reference (b<res>.fromrgb, .conv0, .conv1, .skip; its 4x4 epilogue b4 is not a block), the dcgan D `body`."""
    top = name.split(".")[0]
    return top in _BLOCK_PREFIXES or isinstance(getattr(D, top, None), DiscriminatorBlock)


def d_layers(D: nn.Module) -> list[tuple[str, nn.Module]]:
    """D's countable layers, from the input: (name, module) of each module under its resolution blocks that owns parameters."""
    return [(name, m) for name, m in D.named_modules()
            if name and _in_a_block(D, name) and any(True for _ in m.parameters(recurse=False))]


def check_freeze(D: nn.Module, k: int) -> None:
    """UserInputError when K exceeds D's number of layers."""
    n = len(d_layers(D))
    if k > n:
        raise UserInputError(f"model.freeze_d={k} exceeds D's {n} layers at this resolution and architecture "
                             f"(fromRGB and the convs of its resolution blocks); use 0..{n}")


def d_trainable_params(D: nn.Module, k: int) -> list[nn.Parameter]:
    """Freeze D's first K layers (requires_grad off) and return the parameters D's optimiser should hold: the rest.

    UserInputError when K exceeds D's depth.  Called where TrainState builds D's optimiser."""
    check_freeze(D, k)
    for _, m in d_layers(D)[:k]:
        for p in m.parameters(recurse=False):
            p.requires_grad_(False)
    return [p for p in D.parameters() if p.requires_grad]
