"""Batch normalization in hidden blocks (Ioffe & Szegedy 2015).

The norm goes into a block slot, ``pre_norm`` (before the activation, the original
placement) or ``post_norm`` (after it), so combining with dropout gives the same network
whatever the recipe order: dropout's slot always comes last in a block. Where dropout
feeds a batch norm, train and eval variances differ (Li et al. 2019); see
:func:`vaereg.variance_shift` to measure it and dropout's ``blocks = "last"`` to avoid it.
"""
from __future__ import annotations

from typing import Literal

import attrs
from torch import nn

from vaereg import Block, hidden_blocks, hookimpl, in_range, option, positive


@attrs.frozen
class BatchNormOptions:
    where: Literal["encoder", "decoder", "both"] = option("both", "which part gets batch norm")
    position: Literal["before", "after"] = option(
        "before", "before the activation (pre_norm slot) or after it (post_norm slot)")
    momentum: float = option(0.1, "weight of each batch in the running statistics",
                             check=in_range(0, 1, low_open=True))
    eps: float = option(1e-5, "added to the variance before dividing", check=positive)


def make_batchnorm(block: Block, momentum: float, eps: float) -> nn.Module:
    """BatchNorm2d for image-shaped blocks, BatchNorm1d otherwise."""
    cls = nn.BatchNorm2d if block.spatial else nn.BatchNorm1d
    return cls(block.features, eps=eps, momentum=momentum)


def inject_batchnorm(model: nn.Module, where: str = "both", position: str = "before",
                     momentum: float = 0.1, eps: float = 1e-5) -> nn.Module:
    """Fill a norm slot of the model's hidden blocks; returns the model."""
    options = BatchNormOptions(where=where, position=position, momentum=momentum, eps=eps)
    slot = "pre_norm" if options.position == "before" else "post_norm"
    for block in hidden_blocks(model, options.where):
        setattr(block, slot, make_batchnorm(block, options.momentum, options.eps))
    return model


@attrs.define(eq=False)  # identity equality: a recipe may run two equal instances
class BatchNorm:
    Options = BatchNormOptions
    options: BatchNormOptions

    @hookimpl
    def build_layers(self, model: nn.Module) -> None:
        inject_batchnorm(model, **attrs.asdict(self.options))
