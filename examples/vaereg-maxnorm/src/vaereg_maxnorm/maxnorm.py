"""Max-norm constraint (Srivastava et al. 2014, sec. 5.1): after every optimizer step,
each hidden unit's incoming weight vector is scaled back to an L2 norm <= ``max_norm``.

Written only against vaereg's public API, as any third-party plugin should be.
"""
from __future__ import annotations

from typing import Iterator, Literal

import attrs
import torch
from torch import Tensor, nn

import vaereg

TRANSPOSED = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


@attrs.frozen
class MaxNormOptions:
    max_norm: float = vaereg.option(3.0, "largest L2 norm of a hidden unit's incoming weights",
                                    check=vaereg.positive)
    where: Literal["encoder", "decoder", "both"] = vaereg.option(
        "both", "which part's hidden blocks are constrained")


def unit_weights(model: nn.Module, where: str = "both") -> Iterator[tuple[Tensor, int]]:
    """(weight, dimension that indexes output units) of each hidden block's linear slot."""
    for block in vaereg.hidden_blocks(model, where):
        layer = block.linear
        yield layer.weight, 1 if isinstance(layer, TRANSPOSED) else 0


def apply_max_norm(model: nn.Module, max_norm: float = 3.0, where: str = "both") -> nn.Module:
    """Rescale, in place, every unit whose incoming weights exceed ``max_norm``."""
    with torch.no_grad():
        for weight, dim in unit_weights(model, where):
            weight.copy_(torch.renorm(weight, 2, dim, max_norm))
    return model


def largest_unit_norm(model: nn.Module, where: str = "both") -> float:
    """The largest incoming-weight norm of any constrained unit."""
    with torch.no_grad():
        return max(float(weight.transpose(0, dim).flatten(1).norm(dim=1).max())
                   for weight, dim in unit_weights(model, where))


class MaxNorm:
    """Max-norm constraint on hidden units, applied after every optimizer step."""

    Options = MaxNormOptions
    requires = ("hidden_blocks",)

    def __init__(self, options: MaxNormOptions):
        self.options = options

    @vaereg.hookimpl
    def on_batch_end(self, trainer: vaereg.Trainer) -> None:
        apply_max_norm(trainer.model, **attrs.asdict(self.options))

    @vaereg.hookimpl
    def on_test_end(self, trainer: vaereg.Trainer, metrics: dict[str, float]) -> None:
        metrics["maxnorm/largest_norm"] = largest_unit_norm(trainer.model, self.options.where)
